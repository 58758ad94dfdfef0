//! CPU cost of one phone leg's transcoding, per 20 ms, as the SFU will run it:
//!
//! * to the phone:   Opus decode (48 kHz mono) → 48→8 kHz → G.711 encode → RTP
//! * from the phone: RTP → G.711 decode → jitter buffer → 8→48 kHz → Opus encode
//!
//! Prints figures (not a pass/fail test): `cargo bench --workspace --bench pstn_media`.
//! Synthetic time: the leg is driven 20 ms per iteration as fast as the CPU allows.

use std::hint::black_box;
use std::time::{Duration, Instant};

use opus::{Application, Bandwidth, Channels, Decoder, Encoder};

use acscalling_service::pstn::media;

use media::g711::G711;
use media::jitter::TARGET_FRAMES;
use media::leg::{LegConfig, PhoneLegMedia, PTIME, RX_DELAY, TX_DELAY};
use media::resample::{FRAME_48K, FRAME_8K, UP_DELAY_48K};
use media::rtp::RtpHeader;

const FRAMES: usize = 3000; // 60 s of audio per direction
const WARMUP: usize = 100;

/// Speech-like test audio: a few harmonics with a syllable-rate envelope plus some noise.
fn speechish(rate: f64, samples: usize, seed: u64) -> Vec<i16> {
    let mut x = seed | 1;
    (0..samples)
        .map(|n| {
            let t = n as f64 / rate;
            let env = 0.55 + 0.45 * (2.0 * std::f64::consts::PI * 4.0 * t).sin();
            let f0 = 140.0 + 30.0 * (2.0 * std::f64::consts::PI * 0.7 * t).sin();
            let mut v = 0.0;
            for h in 1..=8 {
                let f = f0 * h as f64;
                if f < rate / 2.0 {
                    v += (2.0 * std::f64::consts::PI * f * t).sin() / h as f64;
                }
            }
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let noise = (x % 2001) as f64 / 1000.0 - 1.0;
            (env * 6000.0 * v + 300.0 * noise) as i16
        })
        .collect()
}

#[derive(Default)]
struct Times {
    opus_decode: Duration,
    to_phone: Duration,
    from_phone: Duration,
    opus_encode: Duration,
}

fn main() {
    // What the SFU receives from a WebRTC participant: Opus, encoded as the mixer does.
    let mut opus_src = Encoder::new(48_000, Channels::Mono, Application::Voip).unwrap();
    let call_pcm = speechish(48_000.0, FRAME_48K * 50, 1);
    let opus_packets: Vec<Vec<u8>> = call_pcm
        .chunks_exact(FRAME_48K)
        .map(|f| opus_src.encode_vec(f, 1500).unwrap())
        .collect();
    // What the phone sends: PCMA RTP.
    let phone_pcm = speechish(8_000.0, FRAME_8K * 50, 2);
    let phone_frames: Vec<Vec<u8>> = phone_pcm
        .chunks_exact(FRAME_8K)
        .map(|f| {
            let mut p = vec![0u8; FRAME_8K];
            G711::Pcma.encode(f, &mut p);
            p
        })
        .collect();

    let t0 = Instant::now();
    let mut leg = PhoneLegMedia::new(LegConfig::new(G711::Pcma, Some(101), 0x1234), t0).unwrap();
    let mut decoder = Decoder::new(48_000, Channels::Mono).unwrap();
    // The mixer's encoder settings: VoIP, libopus' default complexity.
    let mut encoder = Encoder::new(48_000, Channels::Mono, Application::Voip).unwrap();
    let complexity = encoder.get_complexity().unwrap_or(-1);

    let mut pcm = [0i16; FRAME_48K];
    let mut times = Times::default();
    let mut bytes = 0usize;
    let mut frames_out = 0usize;
    for i in 0..WARMUP + FRAMES {
        if i == WARMUP {
            times = Times::default();
            frames_out = 0;
        }
        let now = t0 + PTIME * i as u32;

        let a = Instant::now();
        let n = decoder
            .decode(&opus_packets[i % opus_packets.len()], &mut pcm, false)
            .unwrap();
        assert_eq!(n, FRAME_48K);
        let b = Instant::now();
        leg.push_call_audio(&pcm);
        while let Some(d) = leg.poll_transmit(now) {
            bytes += black_box(d).len();
        }
        let c = Instant::now();
        let rtp = RtpHeader {
            marker: i == 0,
            payload_type: 8,
            sequence: i as u16,
            timestamp: (i * FRAME_8K) as u32,
            ssrc: 0xCAFE,
        }
        .to_datagram(&phone_frames[i % phone_frames.len()]);
        let d = Instant::now();
        leg.on_rtp(&rtp, now);
        let heard = leg.poll_phone_audio(now);
        let e = Instant::now();
        if let Some(f) = heard {
            frames_out += 1;
            bytes += black_box(encoder.encode_vec(&f[..], 1500).unwrap()).len();
        }
        let f = Instant::now();
        times.opus_decode += b - a;
        times.to_phone += c - b;
        times.from_phone += e - d; // building the phone's datagram (c..d) is not the leg's
        times.opus_encode += f - e;
    }
    black_box(bytes);
    assert!(frames_out >= FRAMES - 1, "{frames_out}");

    let us = |d: Duration| d.as_secs_f64() * 1e6 / FRAMES as f64;
    let leg_only = us(times.to_phone) + us(times.from_phone);
    let total = leg_only + us(times.opus_decode) + us(times.opus_encode);
    let profile = if cfg!(debug_assertions) {
        "dev (debug assertions on)"
    } else {
        "release"
    };
    println!("pstn_media: one phone leg, per 20 ms frame, {FRAMES} frames, {profile} build");
    println!(
        "  Opus decode 48 kHz mono                   {:8.2} µs",
        us(times.opus_decode)
    );
    println!(
        "  48→8 kHz + G.711 encode + RTP (leg)       {:8.2} µs",
        us(times.to_phone)
    );
    println!(
        "  RTP + G.711 decode + jitter + 8→48 (leg)  {:8.2} µs",
        us(times.from_phone)
    );
    println!(
        "  Opus encode 48 kHz mono, complexity {complexity:<2}     {:8.2} µs",
        us(times.opus_encode)
    );
    println!("  leg without Opus                          {leg_only:8.2} µs");
    println!("  total per leg per 20 ms                   {total:8.2} µs");
    println!(
        "  legs per core (20 ms / total)             {:8.0}   (target >= 200)",
        20_000.0 / total
    );
    println!(
        "  legs per core without Opus                {:8.0}",
        20_000.0 / leg_only
    );
    // For comparison: phone audio has nothing above 4 kHz, so a narrowband (SILK-only)
    // encoder at a lower complexity loses nothing audible and costs much less.
    let heard: Vec<Box<[i16; FRAME_48K]>> = {
        let mut l = PhoneLegMedia::new(LegConfig::new(G711::Pcma, None, 1), t0).unwrap();
        let mut v = Vec::new();
        for i in 0..200 {
            let now = t0 + PTIME * i as u32;
            let d = RtpHeader {
                marker: false,
                payload_type: 8,
                sequence: i as u16,
                timestamp: (i * FRAME_8K) as u32,
                ssrc: 1,
            }
            .to_datagram(&phone_frames[i % phone_frames.len()]);
            l.on_rtp(&d, now);
            v.extend(l.poll_phone_audio(now));
        }
        v
    };
    println!("Opus encode of the phone's audio, other settings (for comparison):");
    for (complexity, bandwidth) in [
        (complexity, Bandwidth::Narrowband),
        (5, Bandwidth::Fullband),
        (5, Bandwidth::Narrowband),
        (1, Bandwidth::Narrowband),
    ] {
        let mut enc = Encoder::new(48_000, Channels::Mono, Application::Voip).unwrap();
        enc.set_complexity(complexity).unwrap();
        enc.set_max_bandwidth(bandwidth).unwrap();
        let start = Instant::now();
        for i in 0..FRAMES {
            let f = &heard[i % heard.len()];
            black_box(enc.encode_vec(&f[..], 1500).unwrap());
        }
        println!(
            "  complexity {complexity:<2} max bandwidth {:<12}        {:8.2} µs",
            format!("{bandwidth:?}"),
            us(start.elapsed())
        );
    }
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!("added algorithmic latency:");
    println!(
        "  to the phone:   resampler {:.1} ms + packet slot wait 0-20 ms (10 ms on average)",
        ms(TX_DELAY)
    );
    println!(
        "  from the phone: {:.1} ms = jitter target {} ms + resampler {:.1} ms",
        ms(RX_DELAY),
        TARGET_FRAMES * 20,
        UP_DELAY_48K as f64 / 48.0
    );
    println!(
        "  G.711 framing: {:.0} ms per packet each way (same as the Opus frame it replaces)",
        ms(PTIME)
    );
}
