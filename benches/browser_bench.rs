//! Prints call setup and first-audio times of browser ↔ native calls, side by side with
//! native ↔ native, through the local service (Debian's Chromium headless, driven by
//! playwright-core; see tests/common/browser.rs). Not a pass/fail test.
//!
//!     cargo bench --bench browser_bench          # 20 calls each way
//!     cargo bench --bench browser_bench -- 50    # calls each way
//!
//! Times are wall-clock (Unix ms) on both sides, which share the machine's clock: start =
//! the caller's startCall; Connected = each side's call state; first audio = the browser's
//! AnalyserNode first sees the native's tone.

#[path = "../tests/common/mod.rs"]
mod common;

use acscalling::protocol::CallState;
use common::browser::{web_dir, Browsers};
use common::party::Party;
use common::{wait_until, Service};
use serde_json::json;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const T: Duration = Duration::from_secs(20);

fn now_ms() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
        * 1000.0
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[((v.len() as f64 - 1.0) * p).round() as usize]
}

fn report(what: &str, v: &mut [f64]) {
    if v.is_empty() {
        println!("{what}: no samples");
        return;
    }
    println!(
        "{what}, {} calls: median {:.1} ms, p95 {:.1} ms, min {:.1} ms",
        v.len(),
        pct(v, 0.5),
        pct(v, 0.95),
        pct(v, 0.0)
    );
}

/// Page code: until the call's received audio carries `freq` Hz, polled every 5 ms;
/// returns the Unix ms it did (null after 5 s).
const FIRST_AUDIO: &str = "async (freq) => { const c = window.acsSample.call; \
  const ctx = new AudioContext(); await ctx.resume(); const an = ctx.createAnalyser(); \
  an.fftSize = 2048; an.smoothingTimeConstant = 0; \
  for (const t of c.remoteAudioStream.getAudioTracks()) ctx.createMediaStreamSource(new MediaStream([t])).connect(an); \
  const d = new Float32Array(an.frequencyBinCount); const k = Math.round(freq / (ctx.sampleRate / an.fftSize)); \
  const end = Date.now() + 5000; let at = null; \
  while (Date.now() < end) { an.getFloatFrequencyData(d); \
    if (Math.max(d[k - 1], d[k], d[k + 1]) > -50) { at = Date.now(); break; } \
    await new Promise(r => setTimeout(r, 5)); } \
  await ctx.close(); return at; }";

/// [`wait_until`] polling every millisecond (its 10 ms would round the native figures).
fn poll_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    f()
}

/// Waits until the browser agent's next call has its media connected ahead.
const PREPARED: &str = "async () => { if (!(await window.acsSample.agent.prepareMedia())) \
  throw new Error('the agent could not prepare media'); }";

fn main() {
    let calls: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(20);
    let web = web_dir().display().to_string();
    let svc = Service::start_with(&["--web-dir", &web, "--dev-tokens"]);
    let native = Party::new(&svc, "Native", 440.0, true);
    let mut b = Browsers::start();
    b.open("web", &format!("http://{}/", svc.http_addr), 660.0);
    b.click("web", "#signin");
    let web_id = b
        .wait_for(
            "web",
            "() => window.acsSample.agent && window.acsSample.agent.userId",
            json!(null),
            T,
        )
        .as_str()
        .expect("id")
        .to_string();
    b.eval(
        "web",
        "async () => { const a = window.acsSample.agent; \
         (await window.acsSample.client.getDeviceManager()).audioConstraints = \
           { echoCancellation: false, noiseSuppression: false, autoGainControl: false }; \
         a.on('incomingCall', ({ call }) => { window.acsSample.call = call; \
           window.incomingAt = Date.now(); call.accept(); }); }",
        json!(null),
    );

    // Browser → native.
    let (mut b_conn, mut n_conn, mut b_audio) = (Vec::new(), Vec::new(), Vec::new());
    let step_names = ["offer", "answer", "media", "microphone", "connected"];
    let mut steps: Vec<Vec<f64>> = vec![Vec::new(); step_names.len()];
    for i in 0..calls {
        let before = native.incoming.lock().len();
        // A signed-in agent has its next call's media connected ahead (as an app that
        // calls prepareMedia when its dial pad opens); back-to-back bench calls would
        // otherwise start before the agent made it.
        b.eval("web", PREPARED, json!(null));
        let r = b.eval(
            "web",
            "async (id) => { const start = Date.now(); \
             const c = window.acsSample.call = window.acsSample.agent.startCall([id]); \
             await new Promise(r => { const f = () => c.state === 5 ? r() : setTimeout(f, 1); f(); }); \
             return { start, connected: Date.now(), steps: c.setupTimings }; }",
            json!(native.id),
        );
        let start = r["start"].as_f64().unwrap_or(f64::NAN);
        for (k, name) in step_names.iter().enumerate() {
            if let Some(t) = r["steps"][name].as_f64() {
                steps[k].push(t);
            }
        }
        let mut native_at = None;
        poll_until(T, || {
            let connected = native
                .incoming
                .lock()
                .get(before)
                .is_some_and(|c| c.state() == CallState::Connected);
            if connected {
                native_at.get_or_insert(now_ms());
            }
            connected
        });
        let audio = b.eval("web", FIRST_AUDIO, json!(440.0));
        b_conn.push(r["connected"].as_f64().unwrap_or(f64::NAN) - start);
        if let Some(t) = native_at {
            n_conn.push(t - start);
        }
        if let Some(t) = audio.as_f64() {
            b_audio.push(t - start);
        }
        b.eval(
            "web",
            "async () => { await window.acsSample.call.hangUp(); }",
            json!(null),
        );
        let call = native.incoming.lock().get(before).cloned();
        if let Some(c) = call {
            wait_until(T, || c.state() == CallState::Disconnected);
        }
        if i == 0 {
            println!("first call done (browser warm-up included in the figures)");
        }
    }
    report("browser → native: browser Connected", &mut b_conn);
    report(
        "browser → native: native Connected (1 ms polling)",
        &mut n_conn,
    );
    report("browser → native: first audio at the browser", &mut b_audio);
    // Where the browser's setup goes (ms from the call's creation): offer made, the
    // service's answer applied, ICE + DTLS connected, microphone open, Connected.
    for (k, name) in step_names.iter().enumerate() {
        report(
            &format!("browser → native: browser step '{name}' done"),
            &mut steps[k],
        );
    }

    // Native → browser (the page accepts at once).
    let (mut n_conn, mut b_conn, mut b_audio) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..calls {
        b.eval(
            "web",
            "async () => { window.acsSample.call = undefined; }",
            json!(null),
        );
        b.eval("web", PREPARED, json!(null));
        let start = now_ms();
        let call = native.call(&web_id);
        let mut native_at = None;
        poll_until(T, || {
            let c = call.state() == CallState::Connected;
            if c {
                native_at.get_or_insert(now_ms());
            }
            c
        });
        let r = b.wait_for(
            "web",
            "() => { const c = window.acsSample.call; \
             return c && c.state === 5 && c.connectedAt !== undefined \
               && { connected: performance.timeOrigin + c.connectedAt }; }",
            json!(null),
            T,
        );
        let audio = b.eval("web", FIRST_AUDIO, json!(440.0));
        if let Some(t) = native_at {
            n_conn.push(t - start);
        }
        b_conn.push(r["connected"].as_f64().unwrap_or(f64::NAN) - start);
        if let Some(t) = audio.as_f64() {
            b_audio.push(t - start);
        }
        call.hang_up(false).unwrap();
        wait_until(T, || call.state() == CallState::Disconnected);
        b.wait_for(
            "web",
            "() => window.acsSample.call.state === 8",
            json!(null),
            T,
        );
    }
    report(
        "native → browser: native Connected (1 ms polling)",
        &mut n_conn,
    );
    report("native → browser: browser Connected", &mut b_conn);
    report("native → browser: first audio at the browser", &mut b_audio);

    // Native → native, the same way.
    let other = Party::new(&svc, "Native2", 660.0, true);
    let (mut a_conn, mut o_conn) = (Vec::new(), Vec::new());
    for _ in 0..calls {
        let before = other.incoming.lock().len();
        let start = now_ms();
        let call = native.call(&other.id);
        let (mut a_at, mut o_at) = (None, None);
        poll_until(T, || {
            if call.state() == CallState::Connected {
                a_at.get_or_insert(now_ms());
            }
            if other
                .incoming
                .lock()
                .get(before)
                .is_some_and(|c| c.state() == CallState::Connected)
            {
                o_at.get_or_insert(now_ms());
            }
            a_at.is_some() && o_at.is_some()
        });
        if let (Some(a), Some(o)) = (a_at, o_at) {
            a_conn.push(a - start);
            o_conn.push(o - start);
        }
        call.hang_up(false).unwrap();
        wait_until(T, || call.state() == CallState::Disconnected);
    }
    report("native → native: caller Connected", &mut a_conn);
    report("native → native: callee Connected", &mut o_conn);
}
