//! Phone calls through the service's SIP gateway, against a real SIP peer: SIPp (Debian's
//! `sip-tester` 3.6.1) answering `tests/sipp/phone_answers_at_once.xml` on 127.0.0.1 with
//! `-rtp_echo` (every RTP packet goes straight back to its sender). Starts the service
//! binary and SIPp itself, prints figures, stops both by pid. Not a pass/fail test.
//!
//!     cargo bench --bench pstn_bench                     # 20 calls, 50 probes, 50 legs, 10 s hold
//!     cargo bench --bench pstn_bench -- 20 50 100 10     # calls, probes, legs, hold seconds
//!     cargo bench --bench pstn_bench -- 0 0 50           # 0 skips a part
//!
//! `ACSCALLING_SERVICE_BIN=target/release/acscalling-service` runs a release service under an
//! SDK built by whatever profile runs the bench. Measured 6 Dec 2026 (2 cores, loaded; README
//! "Phone calls" → "Benchmarks"): INVITE 10–12 / Ringing 11–14 / Connected 21–22 ms median;
//! the gateway adds 24–30 ms one way; 50 legs at 0% RTP loss, service at 48–49% of a core.
//!
//! 1. **Post-dial delay**, CALLS calls one after another: from `start_call("4:+1555…")` to
//!    (a) SIPp receiving the INVITE (the timestamp of SIPp's `-trace_msg` log, the same wall
//!    clock), (b) the SDK's call Ringing (SIPp's 180), (c) Connected (SIPp's 200, sent right
//!    after the 180). (c) also holds the caller's own WebRTC setup with the SFU, which runs
//!    while the phone rings.
//! 2. **Mouth-to-ear added by the gateway**: 20 ms bursts of 1 kHz pushed into the SDK's
//!    microphone, the onset timestamped in its speaker callback, once through a phone that
//!    echoes (SIPp) and once through the echo bot `8:echo123` (`--echo-delay-ms 0`).
//!    *Baseline* round trip: the SDK's 20 ms capture tick and Opus encode, SRTP over
//!    loopback, the SFU, the echo bot returning the packet undecoded, the SFU, the SDK's
//!    jitter buffer (plays a frame at the next 20 ms playout tick, 2 ms margin) and decode.
//!    *Gateway* round trip: the same ends, but between the two SFU hops the phone bridge:
//!    the call's Opus decoded at 8 kHz in a per-slot playout queue on the bridge's 20 ms clock,
//!    mixed, G.711 (160 samples = one 20 ms packet), RTP to SIPp and back at once, the
//!    bridge's G.711 jitter buffer (playout starts at 2 frames = 40 ms), its 20 ms clock again,
//!    Opus NB encode, to the SFU. Added one-way = (gateway − baseline) / 2: the echo crosses
//!    the bridge once in each direction, so the difference is the sum of both directions'
//!    additions and half of it is their mean (the jitter buffer sits on phone → call only).
//!    The target: ≤ 30 ms added one way.
//! 3. **Concurrent legs**: LEGS SDK users (one `CallClient`, an agent each, a 440–660 Hz tone
//!    microphone) each call the echoing phone; over the hold window the bench reads the SDK's
//!    audio counters (RTP sequence numbers never received, of the phone's stream coming back)
//!    and counts *dropouts*, 20 ms speaker blocks more than 6 dB below the leg's median level
//!    (a G.711 packet lost between the bridge and SIPp is concealed by the bridge and only
//!    shows this way), plus the CPU of the service, SIPp and this process (/proc/<pid>/stat).
//!    The SDK's receive and send counters are printed too: when they are clean, dropouts
//!    come from inside the path (the bridge concealing, or clocks slipping against each other).
//!    Legs per core = legs / (service CPU in cores), when every leg stays under 1 % RTP loss
//!    and hears its tone; legs with ≥ 1 % dropouts are counted beside it.
//!    The SDK clients run in this process on the same two cores: on a small machine they,
//!    not the gateway, are the limit; `service/benches/phone_legs.rs` measures the bridge alone.

#[path = "../tests/common/mod.rs"]
mod common;

use acscalling::client::*;
use acscalling::media::audio::{AudioDevice, AudioStats};
use acscalling::protocol::CallState;
use common::sipp::Sipp;
use common::{wait_until, Service};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const PHONE: &str = "4:+15551234567";
const ECHO_BOT: &str = "8:echo123";
const T: Duration = Duration::from_secs(20);

/// The `p` quantile of `v` (sorts it); NaN when empty.
fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// "median X ms, p95 Y ms" of `v`.
fn summary(v: &mut [f64]) -> String {
    format!(
        "median {:.1} ms, p95 {:.1} ms, min {:.1} ms",
        pct(v, 0.5),
        pct(v, 0.95),
        pct(v, 0.0)
    )
}

/// Seconds since UTC midnight (SIPp runs with TZ=UTC and logs the time of day).
fn utc_secs_of_day(t: SystemTime) -> f64 {
    let d = t.duration_since(UNIX_EPOCH).unwrap_or_default();
    (d.as_secs() % 86_400) as f64 + f64::from(d.subsec_micros()) / 1e6
}

/// Per Call-ID, in order of first appearance, when SIPp first received its INVITE (seconds
/// since UTC midnight), from the `-trace_msg` log: each message follows a line
/// `----…---- YYYY-MM-DD HH:MM:SS.uuuuuu`, then `UDP message received …`.
fn invites_received(log: &str) -> Vec<(String, f64)> {
    let mut out: Vec<(String, f64)> = Vec::new();
    // The log starts with a separator: split after a newline put in front of it.
    let log = format!("\n{log}");
    for block in log
        .split("\n-----------------------------------------------")
        .skip(1)
    {
        let mut lines = block.lines();
        let Some(clock) = lines.next().and_then(|l| l.split_whitespace().nth(1)) else {
            continue;
        };
        let mut hms = clock.split(':').filter_map(|x| x.parse::<f64>().ok());
        let (Some(h), Some(m), Some(s)) = (hms.next(), hms.next(), hms.next()) else {
            continue;
        };
        if !lines.next().is_some_and(|l| l.contains("received")) {
            continue;
        }
        let mut lines = lines.skip_while(|l| l.trim().is_empty());
        if !lines.next().is_some_and(|l| l.starts_with("INVITE ")) {
            continue;
        }
        let call_id = lines.find_map(|l| l.strip_prefix("Call-ID:").map(|v| v.trim().to_string()));
        if let Some(id) = call_id {
            if !out.iter().any(|(c, _)| *c == id) {
                out.push((id, h * 3600.0 + m * 60.0 + s));
            }
        }
    }
    out
}

/// SIPp's `-trace_msg` log, read from its trace directory.
fn sipp_messages(sipp: &Sipp) -> String {
    std::fs::read_dir(sipp.log_dir())
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().ends_with("_messages.log"))
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect()
}

/// utime + stime of process `pid` in seconds (/proc/<pid>/stat fields 14 and 15, in
/// USER_HZ = 100 ticks per second, fixed by the Linux ABI).
fn cpu_secs(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(ticks as f64 / 100.0)
}

/// An agent of a new user on `client`, connected.
fn agent(client: &CallClient, svc: &Service, name: &str, listener: AgentListener) -> CallAgent {
    let id = svc.create_user();
    let agent = client
        .create_call_agent(CallAgentOptions {
            service_url: svc.ws_url.clone(),
            token: svc.token(&id),
            display_name: name.into(),
            listener: Some(listener),
            token_refresher: None,
            ca_certificate: None,
            answer_transfers: false,
        })
        .expect("create agent");
    assert!(
        wait_until(T, || agent.connection_state()
            == AgentConnectionState::Connected),
        "{name} did not connect"
    );
    agent
}

fn hang_up(call: &Call) {
    let _ = call.hang_up(false);
    wait_until(T, || call.state() == CallState::Disconnected);
}

fn ms_since(t0: Instant, t: Instant) -> f64 {
    t.duration_since(t0).as_secs_f64() * 1000.0
}

/// Part 1: `calls` calls one after another to the phone; prints the post-dial delays.
fn post_dial_delay(client: &CallClient, svc: &Service, sipp: &Sipp, calls: usize) {
    // (Ringing, Connected) instants of the current call.
    let marks: Arc<Mutex<(Option<Instant>, Option<Instant>)>> = Arc::default();
    let m = marks.clone();
    let listener: AgentListener = Arc::new(move |_a, ev| {
        if let AgentEvent::CallStateChanged { state, .. } = ev {
            let mut g = m.lock();
            match state {
                CallState::Ringing if g.0.is_none() => g.0 = Some(Instant::now()),
                CallState::Connected if g.1.is_none() => g.1 = Some(Instant::now()),
                _ => {}
            }
        }
    });
    let alice = agent(client, svc, "pdd", listener);
    let opts = CallOptions {
        microphone: Some(AudioDevice::tone_microphone("pdd-mic", 440.0, 0.3)),
        speaker: Some(AudioDevice::callback_speaker("pdd-spk", Box::new(|_| {}))),
        start_muted: false,
    };
    let (mut starts, mut ringing, mut connected) = (Vec::new(), Vec::new(), Vec::new());
    let mut failed = 0;
    for _ in 0..calls {
        *marks.lock() = (None, None);
        let (t0, wall0) = (Instant::now(), SystemTime::now());
        let call = alice
            .start_call(&[PHONE.to_string()], opts.clone())
            .expect("start_call");
        if !wait_until(T, || marks.lock().1.is_some()) {
            failed += 1;
            println!("  a call did not connect: {:?}", call.state());
        }
        let (r, c) = *marks.lock();
        starts.push(utc_secs_of_day(wall0));
        if let Some(r) = r {
            ringing.push(ms_since(t0, r));
        }
        if let Some(c) = c {
            connected.push(ms_since(t0, c));
        }
        hang_up(&call);
        std::thread::sleep(Duration::from_millis(100));
    }
    drop(alice);
    // SIPp writes its log as it goes; the calls' INVITEs are the first `calls` Call-IDs.
    std::thread::sleep(Duration::from_millis(200));
    let invites = invites_received(&sipp_messages(sipp));
    let mut to_invite: Vec<f64> = starts
        .iter()
        .zip(&invites)
        .map(|(s, (_, at))| ((at - s).rem_euclid(86_400.0)) * 1000.0)
        .collect();
    println!("post-dial delay, {calls} calls ({failed} did not connect), from start_call:");
    if to_invite.len() < calls {
        println!(
            "  (a) SIPp receives the INVITE: only {} INVITEs in SIPp's message log",
            invites.len()
        );
    }
    if !to_invite.is_empty() {
        println!(
            "  (a) SIPp receives the INVITE ({} calls): {}",
            to_invite.len(),
            summary(&mut to_invite)
        );
    }
    println!(
        "  (b) SDK sees Ringing (SIPp's 180), {} calls: {}",
        ringing.len(),
        summary(&mut ringing)
    );
    println!(
        "  (c) SDK sees Connected (SIPp's 200 right after the 180), {} calls: {}",
        connected.len(),
        summary(&mut connected)
    );
}

/// Part 2: round trips of `probes` tone bursts through `target` (which echoes).
fn round_trips(alice: &CallAgent, target: &str, probes: usize) -> (Vec<f64>, usize) {
    let mic = AudioDevice::push_microphone(&format!("m2e-mic-{target}"));
    let onset: Arc<Mutex<Option<Instant>>> = Arc::default();
    let o = onset.clone();
    let spk = AudioDevice::callback_speaker(
        &format!("m2e-spk-{target}"),
        Box::new(move |pcm: &[i16]| {
            let peak = pcm.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
            if peak > 3000 {
                o.lock().get_or_insert_with(Instant::now);
            }
        }),
    );
    let opts = CallOptions {
        microphone: Some(mic.clone()),
        speaker: Some(spk),
        start_muted: false,
    };
    let call = alice
        .start_call(&[target.to_string()], opts)
        .expect("start_call");
    if !wait_until(T, || call.state() == CallState::Connected) {
        println!("  {target}: the call did not connect ({:?})", call.state());
        hang_up(&call);
        return (Vec::new(), probes);
    }
    // Let media settle (ICE/DTLS done, jitter buffers started).
    std::thread::sleep(Duration::from_millis(1000));
    let burst: Vec<i16> = (0..960)
        .map(|n| ((n as f32 * std::f32::consts::TAU * 1000.0 / 48_000.0).sin() * 16_000.0) as i16)
        .collect();
    let (mut rt, mut missed) = (Vec::new(), 0);
    for _ in 0..probes {
        // Quiet long enough for the previous echo's tail to pass.
        std::thread::sleep(Duration::from_millis(400));
        *onset.lock() = None;
        let p0 = Instant::now();
        mic.push_pcm(&burst, 1).expect("push_pcm");
        if wait_until(Duration::from_secs(2), || onset.lock().is_some()) {
            rt.push(ms_since(p0, onset.lock().expect("onset")));
        } else {
            missed += 1;
        }
    }
    hang_up(&call);
    (rt, missed)
}

/// Part 2: prints the gateway's round trip, the baseline and the added one-way latency.
fn mouth_to_ear(client: &CallClient, svc: &Service, probes: usize) {
    let alice = agent(client, svc, "m2e", Arc::new(|_a, _ev| {}));
    let (mut base, base_missed) = round_trips(&alice, ECHO_BOT, probes);
    let (mut gw, gw_missed) = round_trips(&alice, PHONE, probes);
    println!("mouth-to-ear, 20 ms 1 kHz bursts, push microphone -> speaker callback onset:");
    println!(
        "  round trip through the gateway (SFU -> bridge -> G.711 -> SIPp echo -> bridge -> SFU), {}/{probes} heard: {}",
        gw.len(),
        summary(&mut gw)
    );
    println!(
        "  baseline round trip via the echo bot (delay 0, SFU only), {}/{probes} heard: {}",
        base.len(),
        summary(&mut base)
    );
    if gw.is_empty() || base.is_empty() {
        println!(
            "  added one-way: not measured ({gw_missed} gateway and {base_missed} baseline probes unheard)"
        );
        return;
    }
    // Quantiles of the difference of two independent distributions are not the differences
    // of their quantiles; median and p95 of each side are shown, the estimate uses medians.
    let mut added = |p: f64| (pct(&mut gw, p) - pct(&mut base, p)) / 2.0;
    println!(
        "  gateway's added one-way latency = (gateway - baseline) / 2: {:.1} ms from medians, {:.1} ms from p95s (target <= 30 ms)",
        added(0.5),
        added(0.95)
    );
}

/// One phone leg of part 3: the SDK user, its call and its speaker's block levels.
struct Leg {
    agent: CallAgent,
    call: Option<Call>,
    /// RMS of each speaker block while `recording`.
    levels: Arc<Mutex<Vec<f64>>>,
}

/// A leg whose speaker's median RMS stays under this did not get its tone back (the tone
/// microphone's 0.3 amplitude is an RMS of about 6950).
const HEARD_RMS: f64 = 1000.0;

/// Whether a leg's median speaker RMS shows its tone came back (false for NaN: no blocks).
fn heard(rms: f64) -> bool {
    rms >= HEARD_RMS
}

/// (RTP loss %, dropout %, median RMS) of one leg between two counter snapshots, `levels`
/// being its speaker blocks' RMS over the window.
/// RTP loss is the larger of the sequence gaps and the packets short of one per 20 ms
/// (`window_s` long): a bridge that sends nothing leaves no gap.
fn leg_loss(b: &AudioStats, a: &AudioStats, levels: &[f64], window_s: f64) -> (f64, f64, f64) {
    let got = a.frames_received.saturating_sub(b.frames_received) as f64;
    let lost = a.frames_lost.saturating_sub(b.frames_lost) as f64;
    let expected = window_s / 0.020;
    let loss = (100.0 * lost / (got + lost).max(1.0)).max(100.0 * (1.0 - got / expected));
    let mut sorted = levels.to_vec();
    let median = pct(&mut sorted, 0.5);
    let low = levels.iter().filter(|l| **l < median / 2.0).count();
    let dropouts = 100.0 * low as f64 / levels.len().max(1) as f64;
    (loss, dropouts, median)
}

/// Part 3: `k` concurrent phone legs held for `hold`; prints loss and CPU.
fn concurrent_legs(client: &CallClient, svc: &Service, sipp: &Sipp, k: usize, hold: Duration) {
    let recording = Arc::new(AtomicBool::new(false));
    let mut legs = Vec::with_capacity(k);
    for i in 0..k {
        let name = format!("leg{i}");
        let agent = agent(client, svc, &name, Arc::new(|_a, _ev| {}));
        legs.push(Leg {
            agent,
            call: None,
            levels: Arc::default(),
        });
    }
    let ramp0 = Instant::now();
    for (i, leg) in legs.iter_mut().enumerate() {
        let (lv, rec) = (leg.levels.clone(), recording.clone());
        let spk = AudioDevice::callback_speaker(
            &format!("leg{i}-spk"),
            Box::new(move |pcm: &[i16]| {
                if rec.load(Ordering::Relaxed) && !pcm.is_empty() {
                    let ms = pcm.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>();
                    lv.lock().push((ms / pcm.len() as f64).sqrt());
                }
            }),
        );
        let freq = 440.0 + (i % 12) as f32 * 20.0;
        let opts = CallOptions {
            microphone: Some(AudioDevice::tone_microphone(
                &format!("leg{i}-mic"),
                freq,
                0.3,
            )),
            speaker: Some(spk),
            start_muted: false,
        };
        match leg.agent.start_call(&[PHONE.to_string()], opts) {
            Ok(call) => leg.call = Some(call),
            Err(e) => println!("  leg {i}: start_call: {e}"),
        }
        // 20 calls per second.
        std::thread::sleep(Duration::from_millis(50));
    }
    let connected = |l: &Leg| {
        l.call
            .as_ref()
            .is_some_and(|c| c.state() == CallState::Connected)
    };
    wait_until(Duration::from_secs(60), || legs.iter().all(connected));
    let up: Vec<&Leg> = legs.iter().filter(|l| connected(l)).collect();
    println!(
        "concurrent legs: {}/{k} connected ({:.1} s ramp at 20 calls/s)",
        up.len(),
        ramp0.elapsed().as_secs_f64()
    );
    std::thread::sleep(Duration::from_secs(2));
    let pids = [
        ("service", svc.pid().unwrap_or(0)),
        ("SIPp", sipp.pid()),
        ("bench (SDK clients)", std::process::id()),
    ];
    let cpu0: Vec<Option<f64>> = pids.iter().map(|(_, p)| cpu_secs(*p)).collect();
    let before: Vec<AudioStats> = up.iter().map(|l| stats(l)).collect();
    let w0 = Instant::now();
    recording.store(true, Ordering::Relaxed);
    std::thread::sleep(hold);
    recording.store(false, Ordering::Relaxed);
    let window = w0.elapsed().as_secs_f64();
    let after: Vec<AudioStats> = up.iter().map(|l| stats(l)).collect();
    let cpu1: Vec<Option<f64>> = pids.iter().map(|(_, p)| cpu_secs(*p)).collect();
    let still = up.iter().filter(|l| connected(l)).count();

    let (mut losses, mut drops, mut levels) = (Vec::new(), Vec::new(), Vec::new());
    for ((l, b), a) in up.iter().zip(&before).zip(&after) {
        let (loss, d, level) = leg_loss(b, a, &l.levels.lock(), window);
        losses.push(loss);
        drops.push(d);
        levels.push(level);
    }
    let unheard = levels.iter().filter(|l| !heard(**l)).count();
    let bad = losses
        .iter()
        .zip(&levels)
        .filter(|(l, v)| **l >= 1.0 || !heard(**v))
        .count();
    let choppy = drops.iter().filter(|d| **d >= 1.0).count();
    let q = |v: &mut Vec<f64>| {
        format!(
            "median {:.2}%, p95 {:.2}%, max {:.2}%",
            pct(v, 0.5),
            pct(v, 0.95),
            pct(v, 1.0)
        )
    };
    println!(
        "  hold window {window:.1} s, {still}/{} still connected at its end",
        up.len()
    );
    println!(
        "  RTP loss per leg (SDK, the phone's stream: sequence gaps or short of 50/s): {}",
        q(&mut losses)
    );
    println!(
        "  dropouts per leg (20 ms speaker blocks > 6 dB under the leg's median): {}",
        q(&mut drops)
    );
    println!(
        "  tone back at the speaker: median RMS {:.0} over legs, {unheard} legs under {HEARD_RMS} (unheard)",
        pct(&mut levels, 0.5)
    );
    // Where dropouts come from: frames the SDK concealed or got late (jitter on the way,
    // or this process starved of CPU) versus none (then the bridge concealed G.711 packets).
    let delta = |f: fn(&AudioStats) -> u64| {
        let mut v: Vec<f64> = before
            .iter()
            .zip(&after)
            .map(|(b, a)| f(a).saturating_sub(f(b)) as f64)
            .collect();
        format!("{:.0}/{:.0}", pct(&mut v, 0.5), pct(&mut v, 1.0))
    };
    println!(
        "  SDK receive counters per leg over the window, median/max: concealed {}, late {}, underruns {}, received {}",
        delta(|s| s.frames_concealed),
        delta(|s| s.frames_late),
        delta(|s| s.underruns),
        delta(|s| s.frames_received)
    );
    println!(
        "  SDK send counter per leg, median/max: sent {}",
        delta(|s| s.frames_sent)
    );
    println!("  legs at >= 1% RTP loss or unheard: {bad}; legs with >= 1% dropouts: {choppy}");
    let mut svc_cores = None;
    for (((name, _), c0), c1) in pids.iter().zip(&cpu0).zip(&cpu1) {
        match (c0, c1) {
            (Some(c0), Some(c1)) => {
                let cores = (c1 - c0) / window;
                println!("  CPU {name}: {:.1}% of one core", cores * 100.0);
                if *name == "service" {
                    svc_cores = Some(cores);
                }
            }
            _ => println!("  CPU {name}: /proc not readable"),
        }
    }
    match svc_cores {
        Some(c) if bad == 0 && !up.is_empty() && c > 0.0 => println!(
            "  legs per core (service, linear from {} legs under 1% RTP loss, {choppy} of them with >= 1% dropouts): {:.0}",
            up.len(),
            up.len() as f64 / c
        ),
        Some(_) => {
            println!("  legs per core: not stated ({bad} legs at >= 1% loss, or no leg connected)")
        }
        None => println!("  legs per core: the service's CPU could not be read"),
    }
    for leg in &legs {
        if let Some(c) = &leg.call {
            let _ = c.hang_up(false);
        }
    }
    wait_until(T, || {
        legs.iter().all(|l| {
            l.call
                .as_ref()
                .is_none_or(|c| c.state() == CallState::Disconnected)
        })
    });
}

fn stats(leg: &Leg) -> AudioStats {
    leg.call.as_ref().map(Call::audio_stats).unwrap_or_default()
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let calls = args.first().copied().unwrap_or(20);
    let probes = args.get(1).copied().unwrap_or(50);
    let legs = args.get(2).copied().unwrap_or(50);
    let hold = Duration::from_secs(args.get(3).copied().unwrap_or(10) as u64);

    let sipp = Sipp::start_for(
        "phone_answers_at_once.xml",
        1_000_000,
        Duration::from_secs(3600),
        &["-rtp_echo", "-trace_msg", "-l", "100000"],
    );
    let trunk = format!("carrier={}", sipp.addr());
    let svc = Service::start_with(&[
        "--sip-listen",
        "127.0.0.1:0",
        "--sip-trunk",
        &trunk,
        "--pstn-caller-id",
        "+15550001000",
        "--echo-delay-ms",
        "0",
    ]);
    println!(
        "service pid {:?}, SIPp pid {} on {}, load average {}",
        svc.pid(),
        sipp.pid(),
        sipp.addr(),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    let client = CallClient::new(CallClientOptions::default()).expect("client");
    if calls > 0 {
        post_dial_delay(&client, &svc, &sipp, calls);
    }
    if probes > 0 {
        mouth_to_ear(&client, &svc, probes);
    }
    if legs > 0 {
        concurrent_legs(&client, &svc, &sipp, legs, hold);
    }
    client.shutdown();
    // Dropping them stops the service and SIPp by pid.
    drop(svc);
    drop(sipp);
}
