//! Real devices end to end: cpal's PulseAudio host on the private sound server of
//! scripts/sound-server.sh (started here). A tone played into a real "room" sink is captured by
//! a real microphone (the room's monitor), sent through the service, and heard in the other
//! party's real speaker (recorded from its monitor with parec). Mid-call device switches, a
//! vanished device, hot-plug events, permission and echo cancellation are checked the same way.

mod common;

use acscalling::client::*;
use acscalling::media::audio::{tone_power, AudioDevice, AudioProcessing};
use acscalling::media::permission::PermissionState;
use acscalling::protocol::CallState;
use common::party::Party;
use common::sound::{pactl, play_tone, record, sound_server};
use common::{wait_until, Service};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

/// The device list once it shows the sound server's devices: cpal falls back to ALSA when
/// the PulseAudio handshake takes over 2 s (a busy machine), and the library connects again on
/// the next listing, as a host's device list would refresh.
fn listed(list: impl Fn() -> Vec<AudioDevice>) -> Vec<AudioDevice> {
    let mut devices = Vec::new();
    wait_until(T, || {
        devices = list();
        devices.iter().any(|d| d.id().contains(":acs_"))
    });
    devices
}

fn find(list: &[AudioDevice], cpal_name: &str) -> AudioDevice {
    list.iter()
        .find(|d| d.id().ends_with(&format!(":{cpal_name}")))
        .unwrap_or_else(|| panic!("no device {cpal_name} in {list:?}"))
        .clone()
}

/// A party (its virtual devices unused: these calls choose real ones) and its user id.
fn party(svc: &Service, name: &str) -> (Party, String) {
    let p = Party::new(svc, name, 440.0, false);
    let id = p.id.clone();
    (p, id)
}

/// Alice calls Bob with the given devices; both calls once Connected.
fn connect(
    alice: &Party,
    bob: &Party,
    bob_id: &str,
    a: CallOptions,
    b: CallOptions,
) -> (Call, Call) {
    let call = alice
        .agent
        .start_call(&[bob_id.to_string()], a)
        .expect("start_call");
    assert!(wait_until(T, || !bob.incoming.lock().is_empty()));
    let bcall = bob.incoming.lock()[0].clone();
    bcall.accept(b).expect("accept");
    assert!(wait_until(T, || call.state() == CallState::Connected
        && bcall.state() == CallState::Connected));
    (call, bcall)
}

fn opts(mic: &AudioDevice, spk: &AudioDevice) -> CallOptions {
    CallOptions {
        microphone: Some(mic.clone()),
        speaker: Some(spk.clone()),
        start_muted: false,
    }
}

/// Power of `freq` in what `monitor` records over ~1 s, taking the best of a few tries
/// (the path needs a moment to fill after a change).
fn heard(monitor: &str, freq: f32) -> f32 {
    (0..3)
        .map(|_| tone_power(&record(monitor, 600), freq))
        .fold(0.0, f32::max)
}

fn pull(spk: &AudioDevice, ms: u64) -> Vec<i16> {
    let mut junk = vec![0i16; 48_000 * 10];
    while spk.pull_pcm(&mut junk).unwrap() > 0 {}
    std::thread::sleep(Duration::from_millis(ms));
    let mut buf = vec![0i16; 48 * ms as usize * 2];
    let n = spk.pull_pcm(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

#[test]
fn real_devices_are_listed_with_defaults_and_permission_is_granted() {
    let _sound = sound_server();
    let client = CallClient::new(CallClientOptions::default()).unwrap();
    let dm = client.device_manager();
    let mics = listed(|| dm.microphones());
    let spks = listed(|| dm.speakers());
    let room = find(&mics, "acs_room.monitor");
    assert!(room.is_default() && !room.is_virtual(), "{room:?}");
    let spk = find(&spks, "acs_spk");
    assert!(spk.is_default(), "acs_spk is the default sink");
    assert!(!find(&spks, "acs_spk2").is_default());
    assert_eq!(
        dm.selected_microphone().map(|d| d.id()),
        Some(room.id()),
        "without a selection the system default is selected"
    );
    let p = dm.ask_permission(MediaKind::Audio);
    assert_eq!(p.state, PermissionState::Granted, "{}", p.reason);
    let video = dm.ask_permission(MediaKind::Video);
    if dm.cameras().is_empty() {
        assert_eq!(video.state, PermissionState::NoDevice, "{}", video.reason);
        assert!(video.reason.contains("no camera"), "{}", video.reason);
    }
}

#[test]
fn a_real_microphone_is_heard_in_the_real_speaker_and_devices_switch_mid_call() {
    let _sound = sound_server();
    let svc = Service::start();
    let (alice, _) = party(&svc, "Alice");
    let (bob, bob_id) = party(&svc, "Bob");
    let mics = listed(|| alice.client.device_manager().microphones());
    let room = find(&mics, "acs_room.monitor");
    let room2 = find(&mics, "acs_room2.monitor");
    let spks = listed(|| bob.client.device_manager().speakers());
    let (spk, spk2) = (find(&spks, "acs_spk"), find(&spks, "acs_spk2"));
    let alice_ear = AudioDevice::pull_speaker("alice-ear", 5000);
    let bob_mouth = AudioDevice::tone_microphone("bob-mouth", 660.0, 0.3);

    // Noise suppression rightly treats a steady test tone as noise (it takes it down by
    // ~20 dB): this test is about the path, so Alice's calls keep the rest of the processing.
    alice
        .client
        .device_manager()
        .set_audio_processing(AudioProcessing {
            noise_suppression: false,
            ..AudioProcessing::ALL
        });
    let _voice = play_tone("acs_room", 440.0, 0.3);
    let _voice2 = play_tone("acs_room2", 520.0, 0.3);
    let (call, bcall) = connect(
        &alice,
        &bob,
        &bob_id,
        opts(&room, &alice_ear),
        opts(&bob_mouth, &spk),
    );
    // Alice's room reaches Bob's real speaker; Bob's tone reaches Alice. (Alice's capture
    // runs echo cancellation and gain control, which may take a moment to settle: typically
    // 3.6e-3 at once, once seen at 1.5e-4 in the first 2 s of a loaded suite run.)
    let mut p = 0.0;
    let reached = wait_until(T, || {
        p = heard("acs_spk.monitor", 440.0);
        p > 0.001
    });
    eprintln!(
        "Bob's speaker: 440 Hz power {p:.2e} (processing {:?})",
        call.audio_processing()
    );
    assert!(reached, "Bob's speaker plays Alice's room: {p}");
    assert!(
        heard("acs_spk2.monitor", 440.0) < p / 100.0,
        "acs_spk2 is silent"
    );
    assert!(tone_power(&pull(&alice_ear, 800), 660.0) > 0.001);

    // Bob switches speakers mid-call: the sound moves, the call stays up.
    bcall.set_speaker(&spk2).expect("switch speaker");
    let mut p2 = 0.0;
    assert!(
        wait_until(T, || {
            p2 = heard("acs_spk2.monitor", 440.0);
            p2 > 0.001
        }),
        "after the switch acs_spk2 plays: {p2}"
    );
    assert!(
        heard("acs_spk.monitor", 440.0) < p2 / 100.0,
        "acs_spk is silent now"
    );

    // Alice mutes, then switches microphones: still muted, then unmuted she is heard.
    call.set_muted(true).unwrap();
    call.set_microphone(&room2).expect("switch microphone");
    assert!(call.is_muted(), "the mute state survives the switch");
    let muted = heard("acs_spk2.monitor", 520.0);
    call.set_muted(false).unwrap();
    // Generous: after a mute the tone took a few seconds to come back in this setup.
    let unmuted_at = std::time::Instant::now();
    let mut unmuted = 0.0;
    wait_until(T, || {
        unmuted = heard("acs_spk2.monitor", 520.0);
        unmuted > 0.001
    });
    eprintln!(
        "unmuted: 520 Hz power {unmuted:.2e} after {:?}",
        unmuted_at.elapsed()
    );
    assert!(unmuted > 0.001, "room2 is heard once unmuted: {unmuted}");
    assert!(
        muted < unmuted / 100.0,
        "muted {muted} vs unmuted {unmuted}"
    );
    assert!(
        heard("acs_spk2.monitor", 440.0) < unmuted / 100.0,
        "room1 is no longer sent"
    );

    // A device that disappears cannot be chosen: a clear error, the call keeps its speaker.
    let hot_name = format!("acs_hotplug_{}", std::process::id());
    let module = pactl(&[
        "load-module",
        "module-null-sink",
        &format!("sink_name={hot_name}"),
        "rate=48000",
    ]);
    let hot = wait_for_device(&bob.client.device_manager(), &hot_name);
    pactl(&["unload-module", &module]);
    assert!(wait_until(T, || !bob
        .client
        .device_manager()
        .speakers()
        .iter()
        .any(|d| d.id() == hot.id())));
    let err = bcall
        .set_speaker(&hot)
        .expect_err("a vanished speaker cannot be opened");
    assert!(
        matches!(err, acscalling::error::Error::Device(_)),
        "a device error: {err}"
    );
    assert!(
        heard("acs_spk2.monitor", 520.0) > 0.001,
        "the old speaker still plays"
    );
    assert_eq!(bcall.state(), CallState::Connected);
    call.hang_up(false).unwrap();
}

fn wait_for_device(dm: &DeviceManager, cpal_name: &str) -> AudioDevice {
    let mut found = None;
    assert!(
        wait_until(T, || {
            found = dm
                .speakers()
                .into_iter()
                .find(|d| d.id().ends_with(&format!(":{cpal_name}")));
            found.is_some()
        }),
        "{cpal_name} appears"
    );
    found.unwrap()
}

#[test]
fn hot_plugged_devices_raise_events() {
    let _sound = sound_server();
    let client = CallClient::new(CallClientOptions::default()).unwrap();
    let dm = client.device_manager();
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let s = seen.clone();
    let listener: DeviceListener = Arc::new(move |_dm, ev| {
        s.lock().push(match ev {
            DeviceEvent::AudioDeviceAdded(d) => format!("+{}", d.id()),
            DeviceEvent::AudioDeviceRemoved(d) => format!("-{}", d.id()),
            DeviceEvent::CameraAdded(c) => format!("+{}", c.id()),
            DeviceEvent::CameraRemoved(c) => format!("-{}", c.id()),
        })
    });
    dm.set_listener(Some(listener)).unwrap();
    let sink = format!("acs_plug_{}", std::process::id());
    let module = pactl(&[
        "load-module",
        "module-null-sink",
        &format!("sink_name={sink}"),
        "rate=48000",
    ]);
    // The watcher notices within about a second: a speaker and its monitor (a microphone).
    // Ids are cpal's: `cpal:out:pulseaudio:<sink>`.
    let has = |sign: &'static str, kind: &'static str, suffix: String| {
        let seen = seen.clone();
        move || {
            seen.lock().iter().any(|e| {
                e.starts_with(&format!("{sign}cpal:{kind}:")) && e.ends_with(&format!(":{suffix}"))
            })
        }
    };
    assert!(
        wait_until(T, has("+", "out", sink.clone())),
        "{:?}",
        seen.lock()
    );
    assert!(wait_until(T, has("+", "in", format!("{sink}.monitor"))));
    pactl(&["unload-module", &module]);
    // refresh() checks at once (the watcher may have been first: either way the event comes).
    dm.refresh();
    assert!(
        wait_until(T, has("-", "out", sink.clone())),
        "{:?}",
        seen.lock()
    );
    // Virtual devices raise their events when created and removed.
    let v = dm.add_virtual_device(AudioDevice::push_microphone("v"));
    let exact = |e: String| {
        let seen = seen.clone();
        move || seen.lock().contains(&e)
    };
    assert!(wait_until(T, exact(format!("+{}", v.id()))));
    assert!(dm.remove_virtual_device(&v.id()));
    assert!(wait_until(T, exact(format!("-{}", v.id()))));
    let n = seen.lock().len();
    dm.set_listener(None).unwrap();
    assert_eq!(dm.refresh(), 0, "no listener: nothing to report");
    assert_eq!(seen.lock().len(), n);
}

/// Alice's speaker plays into her own room, so her microphone hears Bob (an echo) as well as
/// her own voice. With echo cancellation Bob no longer hears himself; Alice stays audible.
#[test]
fn echo_cancellation_removes_the_far_end_from_what_the_microphone_sends() {
    let _sound = sound_server();
    let svc = Service::start();
    let (alice, _) = party(&svc, "Alice");
    let (bob, bob_id) = party(&svc, "Bob");
    let mics = listed(|| alice.client.device_manager().microphones());
    let room = find(&mics, "acs_room.monitor");
    let room_spk = find(
        &listed(|| alice.client.device_manager().speakers()),
        "acs_room",
    );
    let bob_mouth = AudioDevice::tone_microphone("bob-mouth", 660.0, 0.3);
    let bob_ear = AudioDevice::pull_speaker("bob-ear", 5000);
    let _alice_voice = play_tone("acs_room", 440.0, 0.05);
    let (call, _bcall) = connect(
        &alice,
        &bob,
        &bob_id,
        opts(&room, &room_spk),
        opts(&bob_mouth, &bob_ear),
    );
    assert_eq!(
        call.audio_processing(),
        Some((AudioProcessing::ALL, true)),
        "processing is on by default for a real microphone"
    );
    let measure = |settle_ms: u64| {
        std::thread::sleep(Duration::from_millis(settle_ms));
        let pcm = pull(&bob_ear, 1500);
        (tone_power(&pcm, 660.0), tone_power(&pcm, 440.0))
    };
    call.set_audio_processing(AudioProcessing::NONE).unwrap();
    assert_eq!(
        call.audio_processing(),
        Some((AudioProcessing::NONE, false))
    );
    let (echo_off, voice_off) = measure(1000);
    let aec_only = AudioProcessing {
        echo_cancellation: true,
        ..AudioProcessing::NONE
    };
    call.set_audio_processing(aec_only).unwrap();
    let (echo_on, voice_on) = measure(4000);
    call.set_audio_processing(AudioProcessing::ALL).unwrap();
    let (echo_all, voice_all) = measure(4000);
    let db = |off: f32, on: f32| 10.0 * (off / on.max(1e-12)).log10();
    eprintln!(
        "AEC on a real loop: echo {echo_off:.2e} -> {echo_on:.2e} ({:.1} dB; all processing {:.1} dB); \
         near end {voice_off:.2e} -> {voice_on:.2e} (all processing {voice_all:.2e})",
        db(echo_off, echo_on),
        db(echo_off, echo_all)
    );
    assert!(
        echo_off > 1e-4,
        "without processing Bob hears his echo: {echo_off}"
    );
    assert!(
        db(echo_off, echo_on) > 15.0,
        "echo attenuated by {:.1} dB",
        db(echo_off, echo_on)
    );
    assert!(
        db(echo_off, echo_all) > 15.0,
        "echo attenuated by {:.1} dB with everything on",
        db(echo_off, echo_all)
    );
    // While Bob talks the suppressor also dips Alice (double talk against a steady tone);
    // once Bob is quiet Alice comes through as loud as without processing.
    // (Echo cancellation only: noise suppression rightly treats a steady tone as noise.)
    call.set_audio_processing(aec_only).unwrap();
    _bcall.set_muted(true).unwrap();
    let (_, voice_alone) = measure(2000);
    eprintln!(
        "near end with the far end quiet: {voice_alone:.2e} (no processing: {voice_off:.2e})"
    );
    assert!(
        voice_alone > voice_off / 4.0,
        "Alice is heard once Bob is quiet: {voice_off} -> {voice_alone} (during double talk {voice_on}, {voice_all})"
    );
    call.hang_up(false).unwrap();
}

/// The engine alone: each real microphone delivers what is played into its room, also after
/// a switch (frames' RFC 6464 levels: 127 is silence).
#[test]
fn the_engine_captures_each_real_microphone_and_switches() {
    use acscalling::media::audio::AudioEngine;
    let _sound = sound_server();
    let client = CallClient::new(CallClientOptions::default()).unwrap();
    let mics = listed(|| client.device_manager().microphones());
    let (room, room2) = (
        find(&mics, "acs_room.monitor"),
        find(&mics, "acs_room2.monitor"),
    );
    let _a = play_tone("acs_room", 440.0, 0.3);
    let _b = play_tone("acs_room2", 520.0, 0.3);
    let levels = Arc::new(Mutex::new(Vec::<u8>::new()));
    let l = levels.clone();
    let engine = AudioEngine::start(
        room2.clone(),
        AudioDevice::pull_speaker("s", 100),
        1,
        Box::new(move |f| l.lock().push(f.audio_level)),
    )
    .expect("open acs_room2.monitor");
    engine
        .set_audio_processing(AudioProcessing {
            noise_suppression: false,
            ..AudioProcessing::ALL
        })
        .unwrap();
    let loud = |levels: &Arc<Mutex<Vec<u8>>>| {
        levels.lock().clear();
        std::thread::sleep(Duration::from_millis(1000));
        let v = levels.lock().clone();
        (v.len(), v.iter().filter(|&&x| x < 40).count())
    };
    let (n, l2) = loud(&levels);
    assert!(n > 20 && l2 > n / 2, "room2: {l2} loud frames of {n}");
    engine.switch_microphone(room.clone()).unwrap();
    let (n, l1) = loud(&levels);
    assert!(
        n > 20 && l1 > n / 2,
        "room after the switch: {l1} loud frames of {n}"
    );
    engine.set_muted(true);
    engine.switch_microphone(room2.clone()).unwrap();
    assert!(engine.is_muted());
    // Muted DTX: one silent comfort frame per 400 ms, none loud.
    let (n, l2) = loud(&levels);
    assert!(
        (1..=4).contains(&n) && l2 == 0,
        "muted: {l2} loud frames of {n}"
    );
    engine.set_muted(false);
    let (n, l2) = loud(&levels);
    assert!(
        n > 20 && l2 > n / 2,
        "room2 unmuted: {l2} loud frames of {n}"
    );
}
