//! Prints what video costs a client and how it arrives, through the local service's SFU
//! (real WebRTC on loopback, H.264 via OpenH264). Not a pass/fail test.
//!
//!     cargo bench --bench video_bench            # 10 s window
//!     cargo bench --bench video_bench -- 20      # seconds
//!
//! Client X (this process) sends a 1280x720 30 fps camera and receives six 640x360 30 fps
//! cameras, each rendered (converted to RGBA at 640x360) by a 30 Hz render loop. The six
//! senders run in a child process, so this process's CPU is X's alone (minus its test-pattern
//! generator, which stands for the camera and is reported apart). Every pattern carries its
//! capture time (wall-clock ms) as its frame counter: the receiver reads it back after decode
//! for glass-to-glass latency and lost frames.

#[path = "../tests/common/mod.rs"]
mod common;

use acscalling::client::*;
use acscalling::media::audio::AudioDevice;
use acscalling::media::video::{FrameBus, PixelFormat};
use acscalling::protocol::{CallState, VideoStreamKind};
use common::video::{Counter, CounterReader, PatternCamera, Seen};
use common::{wait_until, Service};
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(30);
const SENDERS: usize = 6;

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

/// CPU seconds per thread name of this process.
fn thread_cpu() -> HashMap<String, f64> {
    let tick = 100.0; // USER_HZ on Linux
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for e in dir.flatten() {
        let p = e.path();
        let name = std::fs::read_to_string(p.join("comm"))
            .unwrap_or_default()
            .trim()
            .to_string();
        let stat = std::fs::read_to_string(p.join("stat")).unwrap_or_default();
        // Fields after the ")" that ends the command: state is field 3, utime 14, stime 15.
        let Some(rest) = stat.rsplit_once(')').map(|x| x.1) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        let (u, s) = (
            f.get(11).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0),
            f.get(12).and_then(|x| x.parse::<f64>().ok()).unwrap_or(0.0),
        );
        let group = if name.starts_with("tokio") || name.starts_with("acs-runtime") {
            "acs-runtime (transport)".to_string()
        } else {
            name
        };
        *out.entry(group).or_insert(0.0) += (u + s) / tick;
    }
    out
}

/// Latency (ms) and counter gaps of frames read back, plus fps.
struct Arrival {
    fps: f64,
    latency_p50: f64,
    latency_p95: f64,
    lost_pct: f64,
}

fn arrival(seen: &[Seen], window: Duration, fps: f64) -> Arrival {
    let mut lat: Vec<f64> = seen
        .iter()
        .map(|s| f64::from(s.4.wrapping_sub(s.0) & 0xff_ffff))
        .filter(|l| *l < 10_000.0)
        .collect();
    let got = seen.len() as f64;
    let expected = window.as_secs_f64() * fps;
    Arrival {
        fps: got / window.as_secs_f64(),
        latency_p50: pct(&mut lat, 0.5),
        latency_p95: pct(&mut lat, 0.95),
        lost_pct: ((expected - got) / expected * 100.0).max(0.0),
    }
}

fn agent_for(svc: &Service, client: &CallClient, name: &str) -> (String, CallAgent) {
    let id = svc.create_user();
    let agent = client
        .create_call_agent(CallAgentOptions {
            service_url: svc.ws_url.clone(),
            token: svc.token(&id),
            display_name: name.into(),
            listener: None,
            token_refresher: None,
            ca_certificate: None,
            answer_transfers: false,
        })
        .unwrap();
    assert!(wait_until(T, || agent.connection_state()
        == AgentConnectionState::Connected));
    (id, agent)
}

fn join(agent: &CallAgent, group: &str, name: &str) -> Call {
    let call = agent
        .join(
            group,
            CallOptions {
                microphone: Some(AudioDevice::tone_microphone(
                    &format!("{name}-mic"),
                    440.0,
                    0.2,
                )),
                speaker: Some(AudioDevice::pull_speaker(&format!("{name}-spk"), 1_000)),
                start_muted: true,
            },
        )
        .unwrap();
    assert!(wait_until(T, || call.state() == CallState::Connected));
    call
}

fn camera_of(call: &Call, who: &str) -> RemoteVideoStream {
    let mut s = None;
    assert!(wait_until(T, || {
        s = call
            .remote_participants()
            .into_iter()
            .find(|p| p.identifier() == who)
            .map(|p| p.video_stream(VideoStreamKind::Video));
        s.as_ref().is_some_and(|s| s.is_available())
    }));
    s.unwrap()
}

/// The child: six 360p senders; one of them also receives X and reports how it arrives.
fn senders(http: &str, group: &str, x_id: &str) {
    let svc = Service::external(http);
    let client = CallClient::new(CallClientOptions::default()).unwrap();
    let mut keep = Vec::new();
    let mut ids = Vec::new();
    for i in 0..SENDERS {
        let (id, agent) = agent_for(&svc, &client, &format!("S{i}"));
        let call = join(&agent, group, &format!("S{i}"));
        let cam = PatternCamera::start_with(Counter::WallMillis, 640, 360, 30);
        call.start_video_from(VideoStreamKind::Video, cam.bus.clone(), 30.0)
            .unwrap();
        ids.push(id);
        keep.push((agent, call, cam));
    }
    let x = camera_of(&keep[0].1, x_id);
    let reader = CounterReader::on(&x.frames());
    x.subscribe().unwrap();
    println!("READY {}", ids.join(" "));
    let _ = std::io::stdout().flush();
    // The parent says when its window starts ("GO") and ends (stdin closes).
    let mut lines = BufReader::new(std::io::stdin()).lines();
    let _ = lines.next();
    reader.clear();
    let started = Instant::now();
    for _ in lines {}
    let window = started.elapsed();
    let seen = reader.seen.lock().clone();
    let a = arrival(&seen, window, 30.0);
    let st = x.stats();
    println!(
        "RESULT {:.1} {:.1} {:.1} {:.2} {} {}",
        a.fps, a.latency_p50, a.latency_p95, a.lost_pct, st.frames_lost, st.keyframe_requests
    );
    for (_, c, _) in &keep {
        let _ = c.hang_up(false);
    }
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--senders") {
        senders(&args[1], &args[2], &args[3]);
        return;
    }
    let secs: u64 = args.iter().find_map(|a| a.parse().ok()).unwrap_or(10);
    let window = Duration::from_secs(secs);
    let svc = Service::start();
    let group = uuid::Uuid::new_v4().to_string();

    let client = CallClient::new(CallClientOptions::default()).unwrap();
    let (x_id, agent) = agent_for(&svc, &client, "X");
    let call = join(&agent, &group, "X");
    let cam = PatternCamera::start_with(Counter::WallMillis, 1280, 720, 30);
    call.start_video_from(VideoStreamKind::Video, cam.bus.clone(), 30.0)
        .unwrap();

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--senders", &svc.http_addr, &group, &x_id])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start the senders");
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let sender_ids: Vec<String> = line
        .strip_prefix("READY ")
        .unwrap_or_else(|| panic!("senders: {line}"))
        .split_whitespace()
        .map(String::from)
        .collect();

    // Receive the six, each read back and rendered to RGBA by a 30 Hz render loop.
    let streams: Vec<RemoteVideoStream> =
        sender_ids.iter().map(|id| camera_of(&call, id)).collect();
    let readers: Vec<CounterReader> = streams
        .iter()
        .map(|s| CounterReader::on(&s.frames()))
        .collect();
    for s in &streams {
        s.subscribe().unwrap();
    }
    let buses: Vec<Arc<FrameBus>> = streams.iter().map(|s| s.frames()).collect();
    let stop = Arc::new(AtomicBool::new(false));
    let rendered = Arc::new(AtomicU64::new(0));
    let (st, rd) = (stop.clone(), rendered.clone());
    let render = std::thread::Builder::new()
        .name("render".into())
        .spawn(move || {
            let mut last = vec![u64::MAX; buses.len()];
            let mut rgba = vec![0u8; 640 * 360 * 4];
            let tick = Duration::from_secs_f64(1.0 / 30.0);
            let mut next = Instant::now();
            while !st.load(Ordering::Relaxed) {
                for (i, b) in buses.iter().enumerate() {
                    if let Some(f) = b.latest() {
                        if f.seq != last[i] && f.frame.width == 640 {
                            last[i] = f.seq;
                            f.frame
                                .export(PixelFormat::Rgba, &mut rgba, 640 * 4)
                                .unwrap();
                            rd.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
                next += tick;
                if let Some(d) = next.checked_duration_since(Instant::now()) {
                    std::thread::sleep(d);
                }
            }
        })
        .unwrap();

    // Warm up, then measure.
    assert!(wait_until(T, || readers.iter().all(|r| r.count() > 30)));
    std::thread::sleep(Duration::from_secs(2));
    for r in &readers {
        r.clear();
    }
    let child_in = child.stdin.take();
    let mut child_in = child_in.unwrap();
    let _ = writeln!(child_in, "GO");
    let cpu0 = thread_cpu();
    let sent0 = call.video_send_stats(VideoStreamKind::Video).unwrap();
    let dec0: Vec<_> = streams.iter().map(|s| s.stats()).collect();
    let rendered0 = rendered.load(Ordering::Relaxed);
    let t0 = Instant::now();
    std::thread::sleep(window);
    let elapsed = t0.elapsed();
    let cpu1 = thread_cpu();
    let sent1 = call.video_send_stats(VideoStreamKind::Video).unwrap();
    let dec1: Vec<_> = streams.iter().map(|s| s.stats()).collect();
    let rendered_n = rendered.load(Ordering::Relaxed) - rendered0;
    drop(child_in);
    let mut rest = String::new();
    let _ = out.read_to_string(&mut rest);
    let _ = child.wait();
    stop.store(true, Ordering::Relaxed);
    let _ = render.join();

    let e = elapsed.as_secs_f64();
    println!("video_bench: {secs} s window, client X = 1280x720@30 send + {SENDERS} x 640x360@30 receive + render (RGBA)");
    let mut by_thread: Vec<(String, f64)> = cpu1
        .iter()
        .map(|(k, v)| {
            (
                k.clone(),
                (v - cpu0.get(k).copied().unwrap_or(0.0)) / e * 100.0,
            )
        })
        .filter(|(_, v)| *v >= 0.05)
        .collect();
    by_thread.sort_by(|a, b| b.1.total_cmp(&a.1));
    let camera = by_thread
        .iter()
        .find(|(k, _)| k == "pattern-cam")
        .map_or(0.0, |x| x.1);
    let total: f64 = by_thread.iter().map(|x| x.1).sum();
    println!(
        "  client CPU: {:.1}% of one core without the test-pattern camera ({:.1}% with it)",
        total - camera,
        total
    );
    for (k, v) in &by_thread {
        println!("    {k:<26} {v:6.1}%");
    }
    let frames = sent1.frames_encoded - sent0.frames_encoded;
    println!(
        "  720p30 send: {:.1} fps encoded, {:.2} ms encode per frame, {:.0} kbps (target {} kbps), {} keyframes",
        frames as f64 / e,
        (sent1.encode_micros - sent0.encode_micros) as f64 / frames.max(1) as f64 / 1000.0,
        (sent1.bytes - sent0.bytes) as f64 * 8.0 / e / 1000.0,
        sent1.bitrate_bps / 1000,
        sent1.keyframes - sent0.keyframes
    );
    if let Some(r) = rest.lines().find_map(|l| l.strip_prefix("RESULT ")) {
        let f: Vec<&str> = r.split_whitespace().collect();
        println!(
            "  720p30 as received by a peer: {} fps, glass-to-glass p50 {} ms p95 {} ms, {}% frames missing, {} lost in decoder, {} keyframe requests",
            f[0], f[1], f[2], f[3], f[4], f[5]
        );
    }
    let mut all_lat = Vec::new();
    for (i, r) in readers.iter().enumerate() {
        let seen = r.seen.lock().clone();
        let a = arrival(&seen, elapsed, 30.0);
        let (d0, d1) = (&dec0[i], &dec1[i]);
        let n = d1.frames_decoded - d0.frames_decoded;
        println!(
            "  360p30 stream {i}: {:.1} fps, glass-to-glass p50 {:.0} ms p95 {:.0} ms, {:.2}% missing, decode {:.2} ms/frame, {} lost",
            a.fps,
            a.latency_p50,
            a.latency_p95,
            a.lost_pct,
            (d1.decode_micros - d0.decode_micros) as f64 / n.max(1) as f64 / 1000.0,
            d1.frames_lost - d0.frames_lost
        );
        all_lat.extend(
            seen.iter()
                .map(|s| f64::from(s.4.wrapping_sub(s.0) & 0xff_ffff)),
        );
    }
    println!(
        "  6 x 360p: glass-to-glass p50 {:.0} ms p95 {:.0} ms; rendered {:.1} frames/s in total (RGBA 640x360)",
        pct(&mut all_lat, 0.5),
        pct(&mut all_lat, 0.95),
        rendered_n as f64 / e
    );
    let _ = call.hang_up(false);
}
