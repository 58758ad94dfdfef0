//! How many transcoded phone legs one core carries: N [`PhoneBridge`]s through one real
//! in-process SFU, in 1:1 calls (legs 2k and 2k+1), each fed by a simulated phone that
//! sends a 1 kHz PCMU tone every 20 ms. Prints figures, no pass/fail:
//!
//! ```sh
//! cargo bench --workspace --bench phone_legs                    # 50, 100, 200 legs, 10 s
//! PHONE_LEGS=100,300 PHONE_LEGS_SECS=20 cargo bench --workspace --bench phone_legs
//! ```
//!
//! CPU is read per thread from /proc/self/task: the bridges run on the tokio workers (named
//! `bridges`), the SFU on its own thread (`acs-sfu`), the phones on `phones`; only the
//! workers count as the bridges' cost. A second part times the sans-IO pieces of one leg per 20 ms (what the
//! rest is: str0m, SRTP, sockets and tokio).

use std::collections::HashMap;
use std::hint::black_box;
use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use acscalling_protocol as protocol;

use acscalling_service::{pstn, sfu};

use pstn::bridge::downlink::CallDownlink;
use pstn::bridge::uplink::PhoneUplink;
use pstn::bridge::{
    BridgeConfig, BridgeEvent, BridgeEventKind, BridgeOptions, PcmRate, PhoneBridge,
};
use pstn::media::g711::G711;
use pstn::media::leg::{LegConfig, PhoneLegMedia, PTIME};
use pstn::media::resample::{FRAME_48K, FRAME_8K};
use pstn::media::rtp::{self, RtpHeader};
use sfu::{CallKey, SessionId};

const TONE_HZ: f64 = 1000.0;
const AMP: f64 = 8000.0;

/// utime + stime of every thread of the process, by thread name, in seconds.
fn thread_cpu() -> HashMap<String, f64> {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    let mut by_name = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return by_name;
    };
    for t in dir.flatten() {
        let Ok(stat) = std::fs::read_to_string(t.path().join("stat")) else {
            continue;
        };
        // "tid (comm) state …": the fields after the comm's closing parenthesis.
        let Some(close) = stat.rfind(')') else {
            continue;
        };
        let name = stat[stat.find('(').unwrap_or(0) + 1..close].to_string();
        let f: Vec<&str> = stat[close + 2..].split_whitespace().collect();
        let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        // utime and stime are fields 14 and 15 of stat, 11 and 12 after the comm.
        *by_name.entry(name).or_insert(0.0) += (ticks(11) + ticks(12)) / hz;
    }
    by_name
}

fn cpu_of(snapshot: &HashMap<String, f64>, pick: impl Fn(&str) -> bool) -> f64 {
    snapshot
        .iter()
        .filter(|(n, _)| pick(n))
        .map(|(_, v)| *v)
        .sum()
}

/// What the phones counted.
#[derive(Debug, Default, Clone, Copy)]
struct PhoneCounts {
    sent: u64,
    received: u64,
    /// Sequence gaps in what the bridges sent to the phones.
    lost: u64,
    /// Received frames that carried the other phone's tone (loud).
    loud: u64,
}

/// Simulated phones on one thread: each sends the tone to its bridge every 20 ms and counts
/// what comes back.
fn run_phones(
    sockets: Vec<(UdpSocket, SocketAddr)>,
    stop: Arc<AtomicBool>,
    counts: Arc<parking_lot::Mutex<PhoneCounts>>,
) {
    let pcm: Vec<i16> = (0..FRAME_8K * 50)
        .map(|i| {
            (AMP * (2.0 * std::f64::consts::PI * TONE_HZ * i as f64 / 8000.0).sin()).round() as i16
        })
        .collect();
    let frames: Vec<Vec<u8>> = pcm
        .chunks_exact(FRAME_8K)
        .map(|f| {
            let mut p = vec![0u8; FRAME_8K];
            G711::Pcmu.encode(f, &mut p);
            p
        })
        .collect();
    let mut last_seq: Vec<Option<u16>> = vec![None; sockets.len()];
    let mut buf = [0u8; 1500];
    let mut pcm_rx = [0i16; FRAME_8K];
    let start = Instant::now();
    let mut next = start;
    let mut k = 0u32;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now < next {
            std::thread::sleep(next - now);
        }
        next += PTIME;
        let mut c = PhoneCounts::default();
        for (i, (s, dest)) in sockets.iter().enumerate() {
            let d = RtpHeader {
                marker: k == 0,
                payload_type: 0,
                sequence: k as u16,
                timestamp: k.wrapping_mul(FRAME_8K as u32),
                ssrc: 0x1000 + i as u32,
            }
            .to_datagram(&frames[k as usize % frames.len()]);
            if s.send_to(&d, dest).is_ok() {
                c.sent += 1;
            }
            while let Ok(n) = s.recv(&mut buf) {
                let Ok(p) = rtp::parse(&buf[..n]) else {
                    continue;
                };
                c.received += 1;
                if let Some(last) = last_seq[i] {
                    let gap = p.header.sequence.wrapping_sub(last);
                    if (2..1000).contains(&gap) {
                        c.lost += u64::from(gap - 1);
                    }
                }
                last_seq[i] = Some(p.header.sequence);
                if p.header.payload_type == 0 && p.payload.len() == FRAME_8K {
                    G711::Pcmu.decode(p.payload, &mut pcm_rx);
                    let ms =
                        pcm_rx.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / FRAME_8K as f64;
                    // Loud: within 10 dB of the tone's power.
                    if ms > AMP * AMP / 2.0 / 10.0 {
                        c.loud += 1;
                    }
                }
            }
        }
        k += 1;
        let mut t = counts.lock();
        t.sent += c.sent;
        t.received += c.received;
        t.lost += c.lost;
        t.loud += c.loud;
    }
}

struct Figures {
    legs: usize,
    secs: f64,
    bridges_cpu: f64,
    sfu_cpu: f64,
    phones_cpu: f64,
    counts: PhoneCounts,
    setup: Duration,
}

async fn run(legs: usize, secs: f64, pcm_rate: PcmRate) -> Result<Figures, String> {
    let (sfu, _sfu_events) = sfu::start(
        "127.0.0.1:0".parse().expect("addr"),
        Duration::from_secs(1),
        3,
        100,
    )
    .await
    .map_err(|e| format!("SFU: {e}"))?;
    let (tx, mut events) = tokio::sync::mpsc::unbounded_channel::<BridgeEvent>();
    let setup_start = Instant::now();
    let mut bridges = Vec::with_capacity(legs);
    let mut phones = Vec::with_capacity(legs);
    for leg in 0..legs {
        let cfg = BridgeConfig {
            rtp_ip: "127.0.0.1".parse().expect("ip"),
            sfu_addr: sfu.local_addr(),
        };
        let b = PhoneBridge::start_with(leg as u64, cfg, BridgeOptions { pcm_rate }, tx.clone())
            .await
            .map_err(|e| format!("bridge: {e}"))?;
        let answer = sfu
            .add_session(
                SessionId(leg as u64),
                CallKey(leg as u64 / 2),
                b.sfu_offer(),
                false,
            )
            .await
            .map_err(|e| format!("add_session: {e}"))?;
        b.set_sfu_answer(answer);
        let phone = UdpSocket::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        phone.set_nonblocking(true).map_err(|e| e.to_string())?;
        b.set_remote(
            phone.local_addr().map_err(|e| e.to_string())?,
            G711::Pcmu,
            0,
            Some(101),
        );
        phones.push((phone, b.rtp_addr()));
        bridges.push(b);
    }
    let mut connected = 0;
    while connected < legs {
        let e = tokio::time::timeout(Duration::from_secs(20), events.recv())
            .await
            .map_err(|_| format!("only {connected} of {legs} legs connected"))?
            .ok_or("events closed")?;
        match e.kind {
            BridgeEventKind::SfuConnected => connected += 1,
            BridgeEventKind::Failed(m) => return Err(format!("leg {}: {m}", e.leg)),
            _ => {}
        }
    }
    let setup = setup_start.elapsed();
    let stop = Arc::new(AtomicBool::new(false));
    let counts = Arc::new(parking_lot::Mutex::new(PhoneCounts::default()));
    let phones_thread = {
        let (stop, counts) = (stop.clone(), counts.clone());
        std::thread::Builder::new()
            .name("phones".into())
            .spawn(move || run_phones(phones, stop, counts))
            .map_err(|e| e.to_string())?
    };
    // Warm-up: jitter buffers fill, speakers get ranked.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let c0 = *counts.lock();
    let cpu0 = thread_cpu();
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs_f64(secs)).await;
    let cpu1 = thread_cpu();
    let elapsed = t0.elapsed().as_secs_f64();
    let c1 = *counts.lock();
    stop.store(true, Ordering::Relaxed);
    let _ = phones_thread.join();
    for b in &bridges {
        b.close();
    }
    for b in &bridges {
        let _ = tokio::time::timeout(Duration::from_secs(5), b.closed()).await;
    }
    let delta = |pick: fn(&str) -> bool| cpu_of(&cpu1, pick) - cpu_of(&cpu0, pick);
    let mut failures = 0;
    while let Ok(e) = events.try_recv() {
        if matches!(e.kind, BridgeEventKind::Failed(_)) {
            failures += 1;
        }
    }
    if failures > 0 {
        eprintln!("{failures} Failed events");
    }
    Ok(Figures {
        legs,
        secs: elapsed,
        bridges_cpu: delta(|n| n == "bridges"),
        sfu_cpu: delta(|n| n == "acs-sfu"),
        phones_cpu: delta(|n| n == "phones"),
        counts: PhoneCounts {
            sent: c1.sent - c0.sent,
            received: c1.received - c0.received,
            lost: c1.lost - c0.lost,
            loud: c1.loud - c0.loud,
        },
        setup,
    })
}

/// Time of the sans-IO pieces of one leg per 20 ms frame, in µs.
fn pieces(rate: PcmRate) -> Vec<(&'static str, f64)> {
    const FRAMES: usize = 2000;
    let t0 = Instant::now();
    let wide = rate == PcmRate::Wide48k;
    let mut leg = PhoneLegMedia::new(LegConfig::new(G711::Pcmu, Some(101), 1), t0).expect("leg");
    let mut uplink = PhoneUplink::new(rate.hz()).expect("encoder");
    let mut downlink = CallDownlink::new(protocol::AUDIO_SLOTS, rate.hz());
    let n = rate.hz() as usize / 50;
    let mut src =
        opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip).expect("encoder");
    let tone48: Vec<i16> = (0..FRAME_48K)
        .map(|i| (AMP * (2.0 * std::f64::consts::PI * 600.0 * i as f64 / 48_000.0).sin()) as i16)
        .collect();
    let opus_frame: Arc<[u8]> = Arc::from(src.encode_vec(&tone48, 1500).expect("encode"));
    let tone8: Vec<u8> = {
        let pcm: Vec<i16> = (0..FRAME_8K)
            .map(|i| (AMP * (2.0 * std::f64::consts::PI * 1000.0 * i as f64 / 8000.0).sin()) as i16)
            .collect();
        let mut p = vec![0u8; FRAME_8K];
        G711::Pcmu.encode(&pcm, &mut p);
        p
    };
    let mut t = [Duration::ZERO; 4];
    let mut mix = [0i16; FRAME_48K];
    for i in 0..FRAMES {
        let now = t0 + PTIME * i as u32;
        let d = RtpHeader {
            marker: false,
            payload_type: 0,
            sequence: i as u16,
            timestamp: (i * FRAME_8K) as u32,
            ssrc: 9,
        }
        .to_datagram(&tone8);
        let a = Instant::now();
        leg.on_rtp(&d, now);
        let heard: Option<Vec<i16>> = if wide {
            leg.poll_phone_audio(now).map(|f| f.to_vec())
        } else {
            leg.poll_phone_audio_8k(now).map(|f| f.to_vec())
        };
        let b = Instant::now();
        if let Some(f) = heard {
            black_box(uplink.encode(&f));
        }
        let c = Instant::now();
        downlink.push(0, (i * FRAME_48K) as u64, opus_frame.clone());
        black_box(downlink.mix(&mut mix[..n]));
        let d2 = Instant::now();
        if wide {
            leg.push_call_audio(&mix);
        } else {
            let mut f = [0i16; FRAME_8K];
            f.copy_from_slice(&mix[..FRAME_8K]);
            leg.push_call_audio_8k(&f);
        }
        while let Some(p) = leg.poll_transmit(now) {
            black_box(p);
        }
        let e = Instant::now();
        t[0] += b - a;
        t[1] += c - b;
        t[2] += d2 - c;
        t[3] += e - d2;
    }
    let us = |d: Duration| d.as_secs_f64() * 1e6 / FRAMES as f64;
    if wide {
        vec![
            ("phone RTP → G.711 decode → jitter → 8→48 kHz", us(t[0])),
            ("Opus encode at 48 kHz (NB, complexity 3) + level", us(t[1])),
            ("Opus decode at 48 kHz of 1 slot + mix", us(t[2])),
            ("48→8 kHz → G.711 encode → RTP", us(t[3])),
        ]
    } else {
        vec![
            ("phone RTP → G.711 decode → jitter", us(t[0])),
            ("Opus encode at 8 kHz (NB, complexity 3) + level", us(t[1])),
            ("Opus decode at 8 kHz of 1 slot + mix", us(t[2])),
            ("G.711 encode → RTP", us(t[3])),
        ]
    }
}

fn main() {
    let sizes: Vec<usize> = std::env::var("PHONE_LEGS")
        .unwrap_or_else(|_| "50,100,200".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let secs: f64 = std::env::var("PHONE_LEGS_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10.0);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bridges")
        .enable_all()
        .build()
        .expect("runtime");
    let profile = if cfg!(debug_assertions) {
        "dev (debug assertions on)"
    } else {
        "release"
    };
    println!(
        "phone_legs: 1:1 calls of phone legs through one SFU, {secs} s windows, {profile} build"
    );
    let rates = match std::env::var("PHONE_LEGS_RATE").ok().as_deref() {
        Some("48") => vec![PcmRate::Wide48k],
        Some("8") => vec![PcmRate::Narrow8k],
        _ => vec![PcmRate::Wide48k, PcmRate::Narrow8k],
    };
    println!(
        "{:>9} {:>5} {:>7} {:>11} {:>9} {:>9} {:>6} {:>8} {:>7} {:>7} {:>7}",
        "PCM",
        "legs",
        "setup s",
        "bridge µs/s",
        "legs/core",
        "bridges %",
        "SFU %",
        "phones %",
        "rx pps",
        "loss %",
        "loud %"
    );
    for &rate in &rates {
        for &n in &sizes {
            let n = n + n % 2;
            match rt.block_on(run(n, secs, rate)) {
                Ok(f) => print_row(rate, &f),
                Err(e) => println!("{:>9} {n:>5} failed: {e}", format!("{rate:?}")),
            }
        }
    }
    println!("  bridge µs/s: CPU of the bridges' tokio workers per leg per second of call");
    println!("  rx pps: packets per second each phone got from its bridge (50 expected)");
    println!("  loss %: RTP sequence gaps in what the bridges sent the phones");
    println!(
        "  loud %: share of the 20 ms frames the phones got that carry the other phone's tone"
    );
    for rate in [PcmRate::Wide48k, PcmRate::Narrow8k] {
        println!("one leg's sans-IO pieces, per 20 ms frame, {rate:?}:");
        let mut sum = 0.0;
        for (what, us) in pieces(rate) {
            sum += us;
            println!("  {what:<50} {us:8.2} µs");
        }
        println!(
            "  {:<50} {:8.2} µs  (= {:.0} µs per leg per second; the rest of the measured \
             cost is str0m/SRTP, sockets and tokio)",
            "sum",
            sum,
            sum * 50.0
        );
    }
}

fn print_row(rate: PcmRate, f: &Figures) {
    // Core-seconds per second of call, per leg.
    let per_leg = f.bridges_cpu / f.secs / f.legs as f64;
    let c = &f.counts;
    println!(
        "{:>9} {:>5} {:>7.2} {:>11.0} {:>9.0} {:>9.1} {:>6.1} {:>8.1} {:>7.1} {:>7.3} {:>7.1}",
        format!("{rate:?}"),
        f.legs,
        f.setup.as_secs_f64(),
        per_leg * 1e6,
        1.0 / per_leg.max(1e-9),
        f.bridges_cpu / f.secs * 100.0,
        f.sfu_cpu / f.secs * 100.0,
        f.phones_cpu / f.secs * 100.0,
        c.received as f64 / f.legs as f64 / f.secs,
        100.0 * c.lost as f64 / (c.received + c.lost).max(1) as f64,
        100.0 * c.loud as f64 / c.received.max(1) as f64,
    );
    let sent_pps = c.sent as f64 / f.legs as f64 / f.secs;
    if sent_pps < 49.0 {
        println!("          (the phones fell behind: {sent_pps:.1} packets/s each instead of 50)");
    }
}
