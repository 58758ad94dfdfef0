//! Prints 1:1 call setup time and mouth-to-ear audio latency through the local service's SFU
//! (real WebRTC on loopback, Opus, virtual devices). Not a pass/fail test.
//!
//!     cargo bench --bench call_bench            # 20 calls, 50 latency probes
//!     cargo bench --bench call_bench -- 50 100  # calls, probes

#[path = "../tests/common/mod.rs"]
mod common;

use acscalling::client::*;
use acscalling::media::audio::AudioDevice;
use acscalling::protocol::CallState;
use common::{wait_until, Service};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// When Bob's listener saw the incoming call (for the setup breakdown).
static INCOMING_AT: Mutex<Option<Instant>> = Mutex::new(None);

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let calls = args.first().copied().unwrap_or(20);
    let probes = args.get(1).copied().unwrap_or(50);
    let svc = Service::start();
    let (a_id, b_id) = (svc.create_user(), svc.create_user());

    let client = CallClient::new(CallClientOptions::default()).unwrap();
    let a_mic = AudioDevice::push_microphone("bench-a-mic");
    // Alice's speaker timestamps the first loud frame of each call (first audio).
    let first_audio: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let fa = first_audio.clone();
    let a_spk = AudioDevice::callback_speaker(
        "bench-a-spk",
        Box::new(move |pcm: &[i16]| {
            let peak = pcm.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
            if peak > 3000 {
                let mut g = fa.lock();
                if g.is_none() {
                    *g = Some(Instant::now());
                }
            }
        }),
    );
    let b_mic = AudioDevice::tone_microphone("bench-b-mic", 660.0, 0.3);
    // Bob's speaker timestamps the first loud frame after each probe.
    let onset: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let o2 = onset.clone();
    let b_spk = AudioDevice::callback_speaker(
        "bench-b-spk",
        Box::new(move |pcm: &[i16]| {
            let peak = pcm.iter().map(|s| s.unsigned_abs()).max().unwrap_or(0);
            if peak > 3000 {
                let mut g = o2.lock();
                if g.is_none() {
                    *g = Some(Instant::now());
                }
            }
        }),
    );
    let b_connected: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let bc = b_connected.clone();
    let (bm, bs) = (b_mic.clone(), b_spk.clone());
    let bob = client
        .create_call_agent(CallAgentOptions {
            service_url: svc.ws_url.clone(),
            token: svc.token(&b_id),
            display_name: "Bob".into(),
            listener: Some(Arc::new(move |_a, ev| match ev {
                AgentEvent::IncomingCall { call } => {
                    *INCOMING_AT.lock() = Some(Instant::now());
                    let _ = call.accept(CallOptions {
                        microphone: Some(bm.clone()),
                        speaker: Some(bs.clone()),
                        start_muted: false,
                    });
                }
                AgentEvent::CallStateChanged {
                    state: CallState::Connected,
                    ..
                } => {
                    *bc.lock() = Some(Instant::now());
                }
                _ => {}
            })),
            token_refresher: None,
            ca_certificate: None,
            answer_transfers: false,
        })
        .unwrap();
    let a_connected: Arc<Mutex<Option<Instant>>> = Arc::new(Mutex::new(None));
    let ac = a_connected.clone();
    let alice = client
        .create_call_agent(CallAgentOptions {
            service_url: svc.ws_url.clone(),
            token: svc.token(&a_id),
            display_name: "Alice".into(),
            listener: Some(Arc::new(move |_a, ev| {
                if let AgentEvent::CallStateChanged {
                    state: CallState::Connected,
                    ..
                } = ev
                {
                    *ac.lock() = Some(Instant::now());
                }
            })),
            token_refresher: None,
            ca_certificate: None,
            answer_transfers: false,
        })
        .unwrap();
    let t = Duration::from_secs(20);
    assert!(wait_until(t, || alice.connection_state()
        == AgentConnectionState::Connected
        && bob.connection_state() == AgentConnectionState::Connected));

    let opts = CallOptions {
        microphone: Some(a_mic.clone()),
        speaker: Some(a_spk.clone()),
        start_muted: false,
    };
    let mut setup = Vec::new();
    let (mut to_incoming, mut to_alice, mut to_bob) = (Vec::new(), Vec::new(), Vec::new());
    let mut latency = Vec::new();
    let mut first = Vec::new();
    for i in 0..calls {
        *a_connected.lock() = None;
        *INCOMING_AT.lock() = None;
        *b_connected.lock() = None;
        let t0 = Instant::now();
        *first_audio.lock() = None;
        let call = alice
            .start_call(std::slice::from_ref(&b_id), opts.clone())
            .unwrap();
        let ok = wait_until(t, || {
            a_connected.lock().is_some() && b_connected.lock().is_some()
        });
        assert!(ok, "call {i} did not connect: {:?}", call.state());
        let done = a_connected.lock().unwrap().max(b_connected.lock().unwrap());
        setup.push(done.duration_since(t0).as_secs_f64() * 1000.0);
        let ms = |t: Instant| t.duration_since(t0).as_secs_f64() * 1000.0;
        if let Some(t) = *INCOMING_AT.lock() {
            to_incoming.push(ms(t));
        }
        to_alice.push(ms(a_connected.lock().unwrap()));
        to_bob.push(ms(b_connected.lock().unwrap()));
        if wait_until(Duration::from_secs(2), || first_audio.lock().is_some()) {
            first.push(ms(first_audio.lock().unwrap()));
        }
        if i == calls - 1 {
            // Mouth-to-ear probes on the last call: 20 ms tone bursts pushed into Alice's mic.
            std::thread::sleep(Duration::from_millis(300));
            let burst: Vec<i16> = (0..960)
                .map(|n| {
                    ((n as f32 * 2.0 * std::f32::consts::PI * 1000.0 / 48_000.0).sin() * 16_000.0)
                        as i16
                })
                .collect();
            for _ in 0..probes {
                *onset.lock() = None;
                std::thread::sleep(Duration::from_millis(150));
                *onset.lock() = None;
                let p0 = Instant::now();
                a_mic.push_pcm(&burst, 1).unwrap();
                if wait_until(Duration::from_secs(2), || onset.lock().is_some()) {
                    let at = onset.lock().unwrap();
                    latency.push(at.duration_since(p0).as_secs_f64() * 1000.0);
                }
            }
        }
        call.hang_up(false).unwrap();
        assert!(wait_until(t, || call.state() == CallState::Disconnected));
    }
    let n = setup.len();
    println!(
        "1:1 call setup (start -> Connected on both sides), {n} calls: median {:.1} ms, p95 {:.1} ms, max {:.1} ms",
        pct(&mut setup, 0.5),
        pct(&mut setup, 0.95),
        pct(&mut setup, 1.0)
    );
    println!(
        "  breakdown (medians from start): Bob's incoming-call event {:.1} ms, Alice Connected {:.1} ms, Bob Connected {:.1} ms",
        pct(&mut to_incoming, 0.5),
        pct(&mut to_alice, 0.5),
        pct(&mut to_bob, 0.5)
    );
    if !first.is_empty() {
        let m = first.len();
        println!(
            "first audio (start -> Alice's speaker plays Bob's tone), {m} calls: median {:.1} ms, p95 {:.1} ms",
            pct(&mut first, 0.5),
            pct(&mut first, 0.95)
        );
    }
    if latency.is_empty() {
        println!("mouth-to-ear: no probe was heard");
    } else {
        let m = latency.len();
        println!(
            "mouth-to-ear (push mic -> SFU -> playout callback), {m}/{probes} probes: median {:.1} ms, p95 {:.1} ms, min {:.1} ms",
            pct(&mut latency, 0.5),
            pct(&mut latency, 0.95),
            pct(&mut latency, 0.0)
        );
    }
    client.shutdown();
}
