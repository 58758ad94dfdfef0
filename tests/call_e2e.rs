//! End-to-end 1:1 calls through the real service on loopback, with real WebRTC and Opus:
//! tones are measured on the far side's virtual speaker.

mod common;

use acscalling::client::*;
use acscalling::media::audio::{tone_power, tone_to_noise_db, FRAME_SAMPLES};
use acscalling::protocol::{CallState, EndReason, ParticipantState};
use common::party::Party;
use common::{wait_until, Service};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;

const T: Duration = Duration::from_secs(15);

fn hears(pcm: &[i16], freq: f32) -> f32 {
    tone_power(pcm, freq)
}

#[test]
fn alice_and_bob_hear_each_other_mute_hold_and_hang_up() {
    let svc = Service::start();
    let (a_id, b_id) = (svc.create_user(), svc.create_user());
    let alice = Party::for_user(&svc, "Alice", &a_id, 440.0, false);
    let bob = Party::for_user(&svc, "Bob", &b_id, 660.0, true);

    let call = alice
        .agent
        .start_call(std::slice::from_ref(&b_id), alice.options())
        .unwrap();
    assert!(
        wait_until(T, || call.state() == CallState::Connected),
        "alice: {:?}",
        alice.call_log()
    );
    let bcall = bob.incoming.lock()[0].clone();
    assert!(
        wait_until(T, || bcall.state() == CallState::Connected),
        "bob: {:?}",
        bob.call_log()
    );

    // Both hear the other's tone, not their own.
    let at_bob = bob.listen(800);
    let at_alice = alice.listen(800);
    assert!(
        hears(&at_bob, 440.0) > 0.01,
        "bob hears 440: {}",
        hears(&at_bob, 440.0)
    );
    assert!(hears(&at_bob, 660.0) < 0.001, "bob hears no 660");
    assert!(
        hears(&at_alice, 660.0) > 0.01,
        "alice hears 660: {}",
        hears(&at_alice, 660.0)
    );
    assert!(hears(&at_alice, 440.0) < 0.001, "alice hears no 440");

    // Mute: Bob sees the flag and hears silence.
    call.set_muted(true).unwrap();
    let ap = || bcall.remote_participants()[0].clone();
    assert!(wait_until(T, || ap().is_muted()));
    std::thread::sleep(Duration::from_millis(200));
    let (sent, received) = (
        call.audio_stats().frames_sent,
        bcall.audio_stats().frames_received,
    );
    assert!(hears(&bob.listen(1000), 440.0) < 0.001, "muted → silence");
    // Muted DTX: about one comfort frame per 400 ms crosses the wire (not 50 frames/s).
    let sent = call.audio_stats().frames_sent - sent;
    let received = bcall.audio_stats().frames_received - received;
    assert!((2..=5).contains(&sent), "muted frames sent in 1 s: {sent}");
    assert!(received <= 5, "muted frames received in 1 s: {received}");
    call.set_muted(false).unwrap();
    assert!(wait_until(T, || !ap().is_muted()));
    std::thread::sleep(Duration::from_millis(200));
    assert!(hears(&bob.listen(500), 440.0) > 0.01, "unmuted → tone back");

    // Hold: states on both sides, media stops both ways, resume brings it back.
    call.set_hold(true).unwrap();
    assert_eq!(call.state(), CallState::LocalHold);
    assert!(wait_until(T, || bcall.state() == CallState::RemoteHold));
    assert!(wait_until(T, || ap().state() == ParticipantState::Hold));
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        hears(&bob.listen(500), 440.0) < 0.001,
        "held → bob hears nothing"
    );
    call.set_hold(false).unwrap();
    assert!(wait_until(T, || call.state() == CallState::Connected));
    assert!(wait_until(T, || bcall.state() == CallState::Connected));
    std::thread::sleep(Duration::from_millis(200));
    assert!(hears(&bob.listen(500), 440.0) > 0.01, "resumed → tone back");

    // Hang up: both Disconnected with reasons.
    call.hang_up(false).unwrap();
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
    assert_eq!(call.end_reason(), EndReason::LOCAL_HANGUP);
    assert!(wait_until(T, || bcall.state() == CallState::Disconnected));
    assert_eq!(
        bcall.end_reason().code,
        0,
        "bob's reason: {:?}",
        bcall.end_reason()
    );
    assert!(wait_until(T, || bob
        .left()
        .iter()
        .any(|(id, r)| *id == a_id && r.code == 0)));
}

#[test]
fn echo_bot_plays_our_tone_back() {
    let svc = Service::start();
    let a = svc.create_user();
    let alice = Party::for_user(&svc, "Alice", &a, 523.0, false);
    let call = alice
        .agent
        .start_call(&["8:echo123".to_string()], alice.options())
        .unwrap();
    assert!(
        wait_until(T, || call.state() == CallState::Connected),
        "{:?}",
        alice.call_log()
    );
    // Nothing comes back before the bot's ~1 s delay; then our tone does. Several windows:
    // a loaded machine may need a moment before the echo settles in the jitter buffer.
    let early = alice.listen(500);
    assert!(
        hears(&early, 523.0) < 0.01,
        "echo too early: {}",
        hears(&early, 523.0)
    );
    std::thread::sleep(Duration::from_millis(800));
    let mut powers = Vec::new();
    let heard = wait_until(Duration::from_secs(8), || {
        let p = hears(&alice.listen(500), 523.0);
        powers.push(p);
        p > 0.01
    });
    assert!(heard, "echo powers: {powers:?}");
    call.hang_up(false).unwrap();
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
}

/// Every 20 ms of an echo call, once the echo has settled, is a clean tone: no crackle. The
/// caller's 1 kHz tone comes back through the bot, str0m, the jitter buffer and the decoder;
/// each played block's tone-to-noise ratio is measured (a clean Opus tone reads ~30 dB, a
/// decoder fed a broken stream ~1–5 dB). Waits are generous: only the signal is judged.
#[test]
fn echo_call_plays_a_clean_tone_in_every_block() {
    const FREQ: f32 = 1000.0;
    /// Blocks measured (3 s), after the first 100 ms of echo.
    const MEASURED_BLOCKS: usize = 150;
    const SKIPPED_BLOCKS: usize = 5;
    let svc = Service::start();
    let a = svc.create_user();
    let alice = Party::for_user(&svc, "Alice", &a, FREQ, false);
    let call = alice
        .agent
        .start_call(&["8:echo123".to_string()], alice.options())
        .unwrap();
    assert!(
        wait_until(T, || call.state() == CallState::Connected),
        "{:?}",
        alice.call_log()
    );
    // Everything played since the call's audio started, in whole 20 ms frames (the speaker
    // plays whole frames, holds 10 s, and `buf` takes all it holds).
    let mut played: Vec<i16> = Vec::new();
    let mut buf = vec![0i16; 48_000 * 10];
    let mut echo_start = None;
    let done = wait_until(Duration::from_secs(30), || {
        let n = alice.speaker.pull_pcm(&mut buf).unwrap();
        played.extend_from_slice(&buf[..n]);
        let blocks = played.chunks_exact(FRAME_SAMPLES);
        echo_start = echo_start.or_else(|| blocks.clone().position(|b| tone_power(b, FREQ) > 0.01));
        echo_start.is_some_and(|s| blocks.len() >= s + SKIPPED_BLOCKS + MEASURED_BLOCKS)
    });
    let stats = call.audio_stats();
    call.hang_up(false).unwrap();
    assert!(
        done,
        "echo started at block {echo_start:?}, {} blocks played",
        played.len() / FRAME_SAMPLES
    );
    let start = echo_start.unwrap_or_default() + SKIPPED_BLOCKS;
    let ratios: Vec<f32> = played
        .chunks_exact(FRAME_SAMPLES)
        .skip(start)
        .take(MEASURED_BLOCKS)
        .map(|b| tone_to_noise_db(b, FREQ))
        .collect();
    let worst = ratios
        .iter()
        .enumerate()
        .min_by(|x, y| x.1.total_cmp(y.1))
        .map(|(i, db)| (i, *db))
        .unwrap_or((0, f32::NAN));
    let bad: Vec<(usize, i32)> = ratios
        .iter()
        .enumerate()
        .filter(|(_, db)| **db < 20.0)
        .map(|(i, db)| (i, *db as i32))
        .collect();
    eprintln!(
        "echo tone-to-noise: worst {:.1} dB at block {} of {MEASURED_BLOCKS}; concealed {}, \
         dropped {}, underruns {}",
        worst.1, worst.0, stats.frames_concealed, stats.frames_dropped, stats.underruns
    );
    assert!(
        bad.is_empty(),
        "blocks (index after the first 100 ms of echo, dB) below 20 dB: {bad:?}; stats {stats:?}"
    );
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
}

#[test]
fn declined_unknown_and_offline_calls_end_with_reasons() {
    let svc = Service::start();
    let (a, b, c) = (svc.create_user(), svc.create_user(), svc.create_user());
    let alice = Party::for_user(&svc, "Alice", &a, 440.0, false);
    let bob = Party::for_user(&svc, "Bob", &b, 660.0, false);

    let call = alice
        .agent
        .start_call(std::slice::from_ref(&b), alice.options())
        .unwrap();
    assert!(wait_until(T, || call.state() == CallState::Ringing));
    assert!(wait_until(T, || !bob.incoming.lock().is_empty()));
    bob.incoming.lock()[0].reject().unwrap();
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
    assert_eq!(call.end_reason(), EndReason::DECLINED);

    let unknown = format!("8:acs:{}", uuid::Uuid::new_v4());
    let call = alice.agent.start_call(&[unknown], alice.options()).unwrap();
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
    assert_eq!(call.end_reason().code, 404);

    let call = alice.agent.start_call(&[c], alice.options()).unwrap();
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
    assert_eq!(call.end_reason().code, 480);

    assert!(alice
        .agent
        .start_call(&["bob".into()], alice.options())
        .is_err());
}

#[test]
fn service_down_and_forged_tokens_are_reported() {
    let svc = Service::start();
    let a = svc.create_user();
    let token = svc.token(&a);
    let client = CallClient::new(CallClientOptions::default()).unwrap();

    // Nothing listens on this port.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let agent = client
        .create_call_agent(CallAgentOptions {
            service_url: format!("ws://127.0.0.1:{port}"),
            token: token.clone(),
            ..Default::default()
        })
        .unwrap();
    assert!(wait_until(T, || agent.connection_state()
        == AgentConnectionState::Disconnected));

    // A token signed with another key.
    let mut forged = token.clone();
    let last = forged.pop().unwrap();
    forged.push(if last == 'A' { 'B' } else { 'A' });
    let reasons = Arc::new(Mutex::new(Vec::new()));
    let r2 = reasons.clone();
    let agent = client
        .create_call_agent(CallAgentOptions {
            service_url: svc.ws_url.clone(),
            token: forged,
            listener: Some(Arc::new(move |_a, ev| {
                if let AgentEvent::ConnectionStateChanged { state, reason, .. } = ev {
                    r2.lock().push((*state, *reason));
                }
            })),
            ..Default::default()
        })
        .unwrap();
    assert!(wait_until(T, || reasons.lock().iter().any(|(s, r)| *s
        == AgentConnectionState::Disconnected
        && r.code == 401)));
    assert_eq!(agent.connection_state(), AgentConnectionState::Disconnected);
    assert!(agent.start_call(&[a], CallOptions::default()).is_err());
    client.shutdown();
}

/// The state names in `party`'s log, in order (one agent's calls, one call at a time).
fn states(party: &Party) -> Vec<String> {
    party
        .call_log()
        .iter()
        .filter_map(|l| l.strip_prefix("call ")?.split(' ').next().map(String::from))
        .collect()
}

/// Whether `party`'s last call event so far is Disconnected (events arrive after the state).
fn ended(party: &Party) -> bool {
    states(party).last().map(String::as_str) == Some("Disconnected")
}

/// Every state-changed event is a change, and the sequences are the ones the header
/// documents: caller Ringing → [Connecting] → Connected; callee (created Incoming)
/// Connecting → Connected; echo bot and group join (created Connecting) → Connected.
/// Hold then resume at once shows one LocalHold, then Connected, however late the
/// service's confirmation arrives.
#[test]
fn state_events_are_changes_in_the_documented_order() {
    let svc = Service::start();
    let (a_id, b_id) = (svc.create_user(), svc.create_user());
    let alice = Party::for_user(&svc, "Alice", &a_id, 440.0, false);
    let bob = Party::for_user(&svc, "Bob", &b_id, 660.0, true);

    let call = alice
        .agent
        .start_call(std::slice::from_ref(&b_id), alice.options())
        .unwrap();
    assert_eq!(call.state(), CallState::Connecting, "created in Connecting");
    assert!(wait_until(T, || call.state() == CallState::Connected));
    let bcall = bob.incoming.lock()[0].clone();
    assert!(wait_until(T, || bcall.state() == CallState::Connected));
    for _ in 0..3 {
        call.set_hold(true).unwrap();
        call.set_hold(false).unwrap();
    }
    // Let every confirmation of the service arrive.
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(call.state(), CallState::Connected);
    call.hang_up(false).unwrap();
    assert!(wait_until(T, || ended(&bob)));
    assert!(wait_until(T, || ended(&alice)));

    let hold_resume = ["LocalHold", "Connected"].repeat(3);
    let mut want_alice = vec!["Ringing".to_string()];
    let got = states(&alice);
    if got.get(1).map(String::as_str) == Some("Connecting") {
        want_alice.push("Connecting".into());
    }
    want_alice.push("Connected".into());
    want_alice.extend(hold_resume.iter().map(|s| s.to_string()));
    want_alice.extend(["Disconnecting".into(), "Disconnected".into()]);
    assert_eq!(got, want_alice, "caller");
    // Bob sees the holds as RemoteHold; quick ones may merge on the wire, none repeats.
    let got = states(&bob);
    assert_eq!(got[..2], ["Connecting", "Connected"], "callee: {got:?}");
    assert_eq!(got.last().map(String::as_str), Some("Disconnected"));
    assert!(got.windows(2).all(|w| w[0] != w[1]), "callee: {got:?}");

    // The echo bot, then a group call joined alone.
    alice.clear_events();
    let call = alice
        .agent
        .start_call(&["8:echo123".to_string()], alice.options())
        .unwrap();
    assert_eq!(call.state(), CallState::Connecting);
    assert!(wait_until(T, || call.state() == CallState::Connected));
    call.hang_up(false).unwrap();
    assert!(wait_until(T, || ended(&alice)));
    assert_eq!(
        states(&alice),
        ["Connected", "Disconnecting", "Disconnected"],
        "echo bot"
    );

    alice.clear_events();
    let call = alice
        .agent
        .join(&uuid::Uuid::new_v4().to_string(), alice.options())
        .unwrap();
    assert_eq!(call.state(), CallState::Connecting);
    assert!(wait_until(T, || call.state() == CallState::Connected));
    call.hang_up(false).unwrap();
    assert!(wait_until(T, || ended(&alice)));
    assert_eq!(
        states(&alice),
        ["Connected", "Disconnecting", "Disconnected"],
        "group join"
    );
}

/// ACS's media statistics: a call samples its RTP, RTCP and ICE statistics and its engines
/// every interval the host sets, raises an event after each sample, and the sample says
/// what flows (audio both ways, camera video out and in).
#[test]
fn media_statistics_are_sampled_every_interval_and_describe_the_media() {
    use acscalling::protocol::VideoStreamKind;
    use common::video::PatternCamera;
    let svc = Service::start();
    let alice = Party::new(&svc, "Alice", 440.0, false);
    let bob = Party::new(&svc, "Bob", 660.0, true);
    let call = alice.call(&bob.id);
    assert!(wait_until(T, || call.state() == CallState::Connected));
    let bcall = bob.incoming.lock()[0].clone();
    // Alice sends a 320x180 camera at 15 fps; Bob receives it.
    let cam = PatternCamera::start(1, 320, 180, 15);
    call.start_video_from(VideoStreamKind::Video, cam.bus.clone(), 15.0)
        .unwrap();
    let mut stream = None;
    assert!(wait_until(T, || {
        stream = bcall
            .remote_participants()
            .iter()
            .flat_map(|p| p.video_streams())
            .find(|s| s.kind() == VideoStreamKind::Video && s.is_available());
        stream.is_some()
    }));
    stream.unwrap().subscribe().unwrap();

    alice.clear_events();
    call.set_media_statistics_interval(Some(Duration::from_millis(200)));
    bcall.set_media_statistics_interval(Some(Duration::from_millis(200)));
    let samples = |p: &Party| {
        p.events()
            .iter()
            .filter(|e| matches!(e, AgentEvent::MediaStatistics { .. }))
            .count()
    };
    let started = std::time::Instant::now();
    assert!(wait_until(T, || samples(&alice) >= 10 && samples(&bob) >= 10));
    let per_sec = samples(&alice) as f64 / started.elapsed().as_secs_f64();
    let a = call.media_statistics().expect("a sample");
    let b = bcall.media_statistics().expect("a sample");
    println!("alice: {a:?}\nbob: {b:?}\n{per_sec:.1} samples/s");
    // Every 200 ms, not every second (a lax bound: a loaded machine runs late).
    assert!(per_sec > 2.0, "{per_sec} samples per second");
    // Audio both ways: Opus at ~32 kbps in 50 packets a second.
    for s in [&a, &b] {
        assert!(
            s.audio_packets_sent > 50 && s.audio_packets_received > 50,
            "{s:?}"
        );
        assert!(s.audio_send_bitrate_bps > 8_000, "{s:?}");
        assert!(s.audio_receive_bitrate_bps > 8_000, "{s:?}");
        assert!(s.audio_frames_played > 50, "{s:?}");
        assert!((0.0..100.0).contains(&s.audio_jitter_ms), "{s:?}");
        assert!(s.audio_packets_lost >= 0, "{s:?}");
        let rtt = s.rtt_ms.expect("a round trip measured");
        assert!((0.0..100.0).contains(&rtt), "{s:?}");
    }
    // Alice's camera out, Bob's one video stream in.
    assert_eq!(
        (a.video_send_width, a.video_send_height),
        (320, 180),
        "{a:?}"
    );
    assert!(
        a.video_packets_sent > 0 && a.video_send_bitrate_bps > 0,
        "{a:?}"
    );
    assert!(a.video_send_fps > 5.0, "{a:?}");
    assert_eq!(b.video_receive_streams, 1, "{b:?}");
    assert!(
        b.video_packets_received > 0 && b.video_receive_bitrate_bps > 0,
        "{b:?}"
    );
    // Events stop when the host asks; the sample keeps being refreshed.
    call.set_media_statistics_interval(None);
    std::thread::sleep(Duration::from_millis(300));
    let n = samples(&alice);
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(
        samples(&alice),
        n,
        "no events after the interval was cleared"
    );
    assert!(call.media_statistics().unwrap().timestamp_ms > a.timestamp_ms);
    call.hang_up(false).unwrap();
}
