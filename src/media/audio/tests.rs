//! Engine tests through virtual devices: what a user hears at the far end.
//!
//! Engine A's sink feeds engine B's `receive_rtp` directly (payload, seq, timestamp), standing
//! in for RTP → SFU → RTP.

use super::*;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::thread::sleep;
use std::time::Duration;

/// Levels and VAD flags a sender's sink saw.
type Levels = Arc<Mutex<Vec<(u8, bool)>>>;

const MS: Duration = Duration::from_millis(1);
/// 100 ms windows hold whole cycles of 440 and 660 Hz, so each reads ~0 for the other.
const WINDOW: usize = 4800;

fn receiver(speaker: AudioDevice, slots: usize) -> Arc<AudioEngine> {
    Arc::new(
        AudioEngine::start(
            AudioDevice::push_microphone("idle"),
            speaker,
            slots,
            Box::new(|_| {}),
        )
        .unwrap(),
    )
}

/// Start engine A on `mic`, sending into `b`'s `slot`. Returns A and the levels it sent.
fn sender(mic: AudioDevice, b: &Arc<AudioEngine>, slot: usize) -> (AudioEngine, Levels) {
    let b = b.clone();
    let levels = Arc::new(Mutex::new(Vec::new()));
    let l2 = levels.clone();
    let mut seq: u16 = 40_000;
    let mut ts: u32 = 7;
    let sink = move |f: EncodedAudioFrame| {
        l2.lock().unwrap().push((f.audio_level, f.voice_activity));
        ts = ts.wrapping_add(f.skipped_before);
        b.receive_rtp(slot, seq, ts, &f.payload);
        seq = seq.wrapping_add(1);
        ts = ts.wrapping_add(f.samples);
    };
    let a = AudioEngine::start(
        mic,
        AudioDevice::pull_speaker("unused", 100),
        0,
        Box::new(sink),
    )
    .unwrap();
    (a, levels)
}

fn pull_all(spk: &AudioDevice) -> Vec<i16> {
    let mut out = Vec::new();
    let mut buf = [0i16; 4800];
    loop {
        let n = spk.pull_pcm(&mut buf).unwrap();
        if n == 0 {
            return out;
        }
        out.extend_from_slice(&buf[..n]);
    }
}

/// Highest power of `freq` over 100 ms windows.
fn max_power(samples: &[i16], freq: f32) -> f32 {
    samples
        .chunks_exact(WINDOW)
        .map(|w| tone_power(w, freq))
        .fold(0.0, f32::max)
}

/// Asserts that `freq` is clearly present somewhere and `absent` nowhere.
fn assert_tone(samples: &[i16], freq: f32, absent: &[f32]) {
    assert!(
        samples.len() >= 2 * WINDOW,
        "only {} samples played",
        samples.len()
    );
    let p = max_power(samples, freq);
    assert!(p > 0.02, "{freq} Hz power {p} too low");
    for &f in absent {
        let q = max_power(samples, f);
        assert!(q < 0.01, "{f} Hz should be absent, power {q}");
    }
}

fn assert_silent(samples: &[i16]) {
    assert!(
        samples.len() >= 2 * WINDOW,
        "only {} samples played",
        samples.len()
    );
    let peak = samples.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
    assert!(peak < 200, "expected silence, peak {peak}");
}

fn temp_path(name: &str) -> PathBuf {
    static N: AtomicU64 = AtomicU64::new(0);
    let dir = std::env::temp_dir().join(format!("acs-audio-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(format!("{}-{name}", N.fetch_add(1, Ordering::Relaxed)))
}

fn write_wav(path: &std::path::Path, rate: u32, channels: u16, freq: f32, secs: f32) {
    let spec = hound::WavSpec {
        channels,
        sample_rate: rate,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for i in 0..(rate as f32 * secs) as usize {
        let v =
            (12000.0 * (2.0 * std::f32::consts::PI * freq * i as f32 / rate as f32).sin()) as i16;
        for _ in 0..channels {
            w.write_sample(v).unwrap();
        }
    }
    w.finalize().unwrap();
}

#[test]
fn tone_reaches_the_far_speaker_and_mute_sends_silence() {
    let spk = AudioDevice::pull_speaker("far", 3000);
    let b = receiver(spk.clone(), 1);
    let (a, levels) = sender(AudioDevice::tone_microphone("tone", 440.0, 0.5), &b, 0);
    sleep(400 * MS);
    assert_tone(&pull_all(&spk), 440.0, &[660.0]);
    {
        let l = levels.lock().unwrap();
        let &(level, vad) = l.last().unwrap();
        assert!((8..=10).contains(&level), "-9 dBov expected, got {level}");
        assert!(vad);
    }
    a.set_muted(true);
    assert!(a.is_muted());
    sleep(150 * MS);
    pull_all(&spk);
    let sent_before = a.stats().frames_sent;
    let skipped_before = a.stats().frames_dtx_skipped;
    sleep(1000 * MS);
    assert_silent(&pull_all(&spk));
    // Muted DTX: one comfort frame per 400 ms (about 2.5 in a second), the rest skipped.
    let (sent, skipped) = (
        a.stats().frames_sent - sent_before,
        a.stats().frames_dtx_skipped - skipped_before,
    );
    assert!(
        (2..=4).contains(&sent),
        "comfort frames while muted: {sent}"
    );
    assert!(skipped >= 40, "muted frames skipped: {skipped}");
    assert_eq!(*levels.lock().unwrap().last().unwrap(), (127, false));
    let late_before = b.stats().frames_late;
    // Unmuting sends at once; the timestamp gaps were pauses, not late frames.
    a.set_muted(false);
    sleep(300 * MS);
    assert_tone(&pull_all(&spk), 440.0, &[660.0]);
    assert_eq!(b.stats().frames_late, late_before, "{:?}", b.stats());
    let s = b.stats();
    assert!(s.frames_received > 20 && s.frames_played > 20, "{s:?}");
    a.stop();
    a.stop(); // idempotent
}

#[test]
fn hold_plays_silence_and_stops_sending() {
    let spk = AudioDevice::pull_speaker("far", 3000);
    let b = receiver(spk.clone(), 1);
    let (a, _) = sender(AudioDevice::tone_microphone("tone", 440.0, 0.5), &b, 0);
    sleep(300 * MS);
    assert_tone(&pull_all(&spk), 440.0, &[660.0]);
    b.set_playing(false);
    sleep(100 * MS);
    pull_all(&spk);
    sleep(300 * MS);
    assert_silent(&pull_all(&spk));
    b.set_playing(true);
    sleep(300 * MS);
    assert_tone(&pull_all(&spk), 440.0, &[660.0]);
    a.set_sending(false);
    sleep(60 * MS);
    let sent = a.stats().frames_sent;
    sleep(200 * MS);
    assert_eq!(a.stats().frames_sent, sent, "hold sends nothing");
}

#[test]
fn wav_microphone_round_trip_resamples_and_downmixes() {
    let path = temp_path("in.wav");
    write_wav(&path, 16_000, 2, 440.0, 0.3);
    let mic = AudioDevice::wav_microphone("wav", &path, true).unwrap();
    assert!(mic.is_virtual() && mic.id().starts_with("virtual:wav:"));
    let spk = AudioDevice::pull_speaker("far", 3000);
    let b = receiver(spk.clone(), 1);
    let (_a, _) = sender(mic, &b, 0);
    sleep(500 * MS);
    assert_tone(&pull_all(&spk), 440.0, &[660.0]);
}

#[test]
fn wav_speaker_writes_a_valid_file_with_the_tone() {
    let path = temp_path("out.wav");
    let spk = AudioDevice::wav_speaker("file", &path).unwrap();
    let b = receiver(spk, 1);
    let (a, _) = sender(AudioDevice::tone_microphone("tone", 440.0, 0.5), &b, 0);
    sleep(400 * MS);
    // Valid while still being written.
    let live = hound::WavReader::open(&path).unwrap();
    assert!(live.len() > 0);
    a.stop();
    b.stop();
    let mut r = hound::WavReader::open(&path).unwrap();
    let spec = r.spec();
    assert_eq!(
        (spec.sample_rate, spec.channels, spec.bits_per_sample),
        (48_000, 1, 16)
    );
    let samples: Vec<i16> = r.samples::<i16>().map(|s| s.unwrap()).collect();
    assert_eq!(samples.len() % FRAME_SAMPLES, 0);
    assert_tone(&samples, 440.0, &[660.0]);
}

#[test]
fn push_microphone_sends_what_the_host_pushes() {
    let mic = AudioDevice::push_microphone("push");
    let stereo: Vec<i16> = (0..48_000)
        .flat_map(|i| {
            let v =
                (12000.0 * (2.0 * std::f32::consts::PI * 660.0 * i as f32 / 48_000.0).sin()) as i16;
            [v, v]
        })
        .collect();
    assert_eq!(mic.push_pcm(&stereo, 2).unwrap(), 48_000);
    let spk = AudioDevice::pull_speaker("far", 3000);
    let b = receiver(spk.clone(), 1);
    let (_a, _) = sender(mic.clone(), &b, 0);
    sleep(400 * MS);
    assert_tone(&pull_all(&spk), 660.0, &[440.0]);
    // The queue is bounded to 2 s.
    let big = vec![0i16; 48_000 * 3];
    assert!(mic.push_pcm(&big, 1).unwrap() <= 96_000);
    assert!(matches!(
        mic.push_pcm(&big, 3),
        Err(MediaError::InvalidInput(_))
    ));
    let tone = AudioDevice::tone_microphone("t", 440.0, 0.5);
    assert!(matches!(
        tone.push_pcm(&big, 1),
        Err(MediaError::InvalidInput(_))
    ));
    assert!(matches!(
        tone.pull_pcm(&mut [0; 10]),
        Err(MediaError::InvalidInput(_))
    ));
}

#[test]
fn tone_burst_microphone_alternates_tone_and_silence() {
    let mic = AudioDevice::tone_burst_microphone("burst", 440.0, 0.5, 100, 200);
    assert!(mic.id().starts_with("virtual:tone-burst:"));
    let mut pcm = vec![0i16; 4 * WINDOW];
    for f in pcm.chunks_exact_mut(FRAME_SAMPLES) {
        assert!(mic.read_virtual_frame(f));
    }
    let p: Vec<f32> = pcm
        .chunks_exact(WINDOW)
        .map(|w| tone_power(w, 440.0))
        .collect();
    assert!(p[0] > 0.1 && p[2] > 0.1, "{p:?}");
    assert!(p[1] == 0.0 && p[3] == 0.0, "{p:?}");
    assert_eq!(pcm[0], 0, "bursts start at phase 0");
}

#[test]
fn two_slots_are_mixed() {
    let spk = AudioDevice::pull_speaker("far", 3000);
    let b = receiver(spk.clone(), 2);
    let (_a1, _) = sender(AudioDevice::tone_microphone("a", 440.0, 0.3), &b, 0);
    let (_a2, _) = sender(AudioDevice::tone_microphone("b", 660.0, 0.3), &b, 1);
    let (_a3, _) = sender(AudioDevice::tone_microphone("c", 1000.0, 0.3), &b, 7); // no such slot
    sleep(500 * MS);
    let pcm = pull_all(&spk);
    assert!(max_power(&pcm, 440.0) > 0.01 && max_power(&pcm, 660.0) > 0.01);
    assert!(max_power(&pcm, 1000.0) < 0.005, "slot 7 must be ignored");
}

#[test]
fn switching_devices_mid_call_keeps_mute() {
    let spk = AudioDevice::pull_speaker("far", 3000);
    let b = receiver(spk.clone(), 1);
    let (a, _) = sender(AudioDevice::tone_microphone("a", 440.0, 0.5), &b, 0);
    a.set_muted(true);
    a.switch_microphone(AudioDevice::tone_microphone("b", 660.0, 0.5))
        .unwrap();
    assert!(a.is_muted());
    sleep(100 * MS);
    pull_all(&spk);
    sleep(300 * MS);
    assert_silent(&pull_all(&spk));
    a.set_muted(false);
    sleep(100 * MS);
    pull_all(&spk);
    sleep(300 * MS);
    assert_tone(&pull_all(&spk), 660.0, &[440.0]);
    let spk2 = AudioDevice::pull_speaker("new", 3000);
    b.switch_speaker(spk2.clone()).unwrap();
    sleep(300 * MS);
    assert_tone(&pull_all(&spk2), 660.0, &[440.0]);
    assert!(matches!(
        a.switch_microphone(spk2),
        Err(MediaError::InvalidInput(_))
    ));
}

#[test]
fn callback_speaker_gets_20ms_frames() {
    let frames = Arc::new(AtomicU64::new(0));
    let f2 = frames.clone();
    let spk = AudioDevice::callback_speaker(
        "cb",
        Box::new(move |pcm: &[i16]| {
            assert_eq!(pcm.len(), FRAME_SAMPLES);
            f2.fetch_add(1, Ordering::Relaxed);
        }),
    );
    let e =
        AudioEngine::start(AudioDevice::push_microphone("m"), spk, 1, Box::new(|_| {})).unwrap();
    sleep(300 * MS);
    e.stop();
    let n = frames.load(Ordering::Relaxed);
    assert!((8..=20).contains(&n), "{n} frames in 300 ms");
}

#[test]
fn bad_wav_files_are_errors() {
    let missing =
        AudioDevice::wav_microphone("x", std::path::Path::new("/nonexistent/x.wav"), false);
    // A file that cannot be opened is an I/O error; one that is not a WAV is bad input.
    assert!(matches!(missing, Err(MediaError::Io(_))));
    let garbage = temp_path("garbage.wav");
    std::fs::write(&garbage, b"this is not a wav file").unwrap();
    assert!(matches!(
        AudioDevice::wav_microphone("x", &garbage, false),
        Err(MediaError::InvalidInput(_))
    ));
    assert!(
        AudioDevice::wav_speaker("x", std::path::Path::new("/nonexistent/dir/out.wav")).is_err()
    );
}

#[test]
fn device_ids_are_unique_and_kinds_checked() {
    let a = AudioDevice::tone_microphone("a", 440.0, 0.5);
    let b = AudioDevice::tone_microphone("a", 440.0, 0.5);
    assert_ne!(a.id(), b.id());
    assert_eq!(a.kind(), DeviceKind::Microphone);
    assert_eq!(
        AudioDevice::pull_speaker("s", 100).kind(),
        DeviceKind::Speaker
    );
    let r = AudioEngine::start(a.clone(), b, 1, Box::new(|_| {}));
    assert!(matches!(r, Err(MediaError::InvalidInput(_))));
    fn assert_traits<T: Clone + Send + Sync>() {}
    assert_traits::<AudioDevice>();
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<AudioEngine>();
}

/// On this headless machine cpal lists devices it cannot open: listing works, opening the
/// default fails with `MediaError::Device`, nothing panics.
#[test]
fn real_devices_list_and_failing_default_is_an_error() {
    for kind in [DeviceKind::Microphone, DeviceKind::Speaker] {
        for d in system_devices(kind) {
            assert!(!d.is_virtual() && d.kind() == kind && d.id().starts_with("cpal:"));
        }
    }
    let mic = default_system_device(DeviceKind::Microphone);
    assert!(mic.is_default() && !mic.is_virtual());
    let r = AudioEngine::start(
        mic,
        AudioDevice::pull_speaker("s", 100),
        1,
        Box::new(|_| {}),
    );
    if std::env::var_os("ACS_AUDIO_HAVE_SOUND").is_none() {
        assert!(matches!(r, Err(MediaError::Device(_))), "{:?}", r.err());
    }
    let spk = default_system_device(DeviceKind::Speaker);
    let r = AudioEngine::start(AudioDevice::push_microphone("m"), spk, 1, Box::new(|_| {}));
    if std::env::var_os("ACS_AUDIO_HAVE_SOUND").is_none() {
        assert!(matches!(r, Err(MediaError::Device(_))), "{:?}", r.err());
    }
}

/// Benchmark, run with `cargo test --lib media::audio::tests::bench -- --ignored --nocapture`:
/// Opus cost per frame, and the engine's own added latency.
#[test]
#[ignore]
fn bench_codec_and_engine_latency() {
    use super::codec::{OpusDecoder, OpusEncoder};
    let mut enc = OpusEncoder::new().unwrap();
    let mut dec = OpusDecoder::new().unwrap();
    let mic = AudioDevice::tone_microphone("t", 440.0, 0.5);
    let mut frame = [0i16; FRAME_SAMPLES];
    let mut out = [0i16; FRAME_SAMPLES];
    let n = 1000;
    let (mut te, mut td) = (Duration::ZERO, Duration::ZERO);
    for _ in 0..n {
        mic.read_virtual_frame(&mut frame);
        let t = Instant::now();
        let p = enc.encode(&frame).unwrap();
        te += t.elapsed();
        let t = Instant::now();
        dec.decode(&p, &mut out).unwrap();
        td += t.elapsed();
    }
    println!(
        "opus: encode {} us/frame, decode {} us/frame, encoder lookahead {} samples",
        te.as_micros() / n,
        td.as_micros() / n,
        enc.lookahead()
    );

    // Onset latency over tone bursts: from each burst's first frame's capture_time (sink) to
    // the moment B's speaker callback gets the burst's first loud frame.
    let sent = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let heard = Arc::new(Mutex::new(Vec::<Instant>::new()));
    let h2 = heard.clone();
    let loud_before = std::sync::atomic::AtomicBool::new(false);
    let spk = AudioDevice::callback_speaker(
        "cb",
        Box::new(move |pcm: &[i16]| {
            let loud = tone_power(pcm, 440.0) > 0.005;
            if loud && !loud_before.swap(loud, Ordering::Relaxed) {
                h2.lock().unwrap().push(Instant::now());
            }
            loud_before.store(loud, Ordering::Relaxed);
        }),
    );
    let b = Arc::new(
        AudioEngine::start(AudioDevice::push_microphone("m"), spk, 1, Box::new(|_| {})).unwrap(),
    );
    let b2 = b.clone();
    let s2 = sent.clone();
    let mut seq = 0u16;
    let mut was_loud = false;
    let a = AudioEngine::start(
        AudioDevice::tone_burst_microphone("burst", 440.0, 0.5, 100, 300),
        AudioDevice::pull_speaker("x", 100),
        0,
        Box::new(move |f: EncodedAudioFrame| {
            let loud = f.audio_level < 127;
            if loud && !was_loud {
                s2.lock().unwrap().push(f.capture_time);
            }
            was_loud = loud;
            b2.receive_rtp(0, seq, u32::from(seq) * 960, &f.payload);
            seq = seq.wrapping_add(1);
        }),
    )
    .unwrap();
    sleep(3000 * MS);
    a.stop();
    b.stop();
    let (sa, sb) = (a.stats(), b.stats());
    let lat: Vec<u128> = sent
        .lock()
        .unwrap()
        .iter()
        .zip(heard.lock().unwrap().iter())
        .map(|(s, h)| h.duration_since(*s).as_micros())
        .collect();
    println!(
        "engine: capture->sink avg {} us; receive->speaker avg {} us, max {} us; \
         burst onset capture_time->speaker: {} bursts, avg {} us, max {} us; \
         B played {} concealed {} late {} underruns {}",
        sa.avg_capture_to_sink_us,
        sb.avg_receive_to_play_us,
        sb.max_receive_to_play_us,
        lat.len(),
        lat.iter().sum::<u128>() / lat.len().max(1) as u128,
        lat.iter().max().unwrap_or(&0),
        sb.frames_played,
        sb.frames_concealed,
        sb.frames_late,
        sb.underruns
    );
}
