//! Real Chromium for end-to-end tests: builds the browser SDK (`npm run build` in web/),
//! then drives Debian's Chromium through `web/test/driver.mjs` (playwright-core), one JSON
//! command per line. The driver and its browsers are stopped when the [`Browsers`] is dropped
//! (stdin closed, then the driver's pid killed if it has not exited).
#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc;
use std::sync::Once;
use std::time::Duration;

/// How long one driver command may take (a call setup inside is far shorter).
const COMMAND_TIMEOUT: Duration = Duration::from_secs(60);

/// The repository's `web/` directory.
pub fn web_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("web")
}

/// Builds the SDK bundle once per test binary (type check + esbuild; ~1 s).
pub fn build_bundle() {
    static BUILD: Once = Once::new();
    BUILD.call_once(|| {
        let web = web_dir();
        assert!(
            web.join("node_modules").is_dir(),
            "web/node_modules is missing: run scripts/setup.sh (npm ci in web/)"
        );
        let out = Command::new("npm")
            .args(["run", "--silent", "build"])
            .current_dir(&web)
            .output()
            .expect("run npm (scripts/setup.sh installs it)");
        assert!(
            out.status.success(),
            "npm run build failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    });
}

/// Writes a looped-tone WAV for Chromium's fake microphone (48 kHz mono, 2 s).
pub fn tone_wav(freq: f32) -> PathBuf {
    let path = std::env::temp_dir().join(format!(
        "acs-browser-tone-{}-{}.wav",
        freq as u32,
        std::process::id()
    ));
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 48_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).expect("create wav");
    // A whole number of periods in 2 s: the loop joins without a click.
    for i in 0..96_000u32 {
        let t = i as f32 / 48_000.0;
        let s = (2.0 * std::f32::consts::PI * freq * t).sin() * 0.4;
        w.write_sample((s * i16::MAX as f32) as i16)
            .expect("write wav");
    }
    w.finalize().expect("finish wav");
    path
}

/// The driver process and the browsers it has open. One at a time per test binary: a few
/// Chromiums plus the service and native parties side by side on two cores starve each
/// other's audio and timers.
pub struct Browsers {
    _serial: std::sync::MutexGuard<'static, ()>,
    child: Child,
    stdin: Option<ChildStdin>,
    replies: mpsc::Receiver<Value>,
    next: u64,
}

impl Browsers {
    /// Builds the bundle and starts the driver.
    pub fn start() -> Browsers {
        static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let serial = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
        build_bundle();
        let web = web_dir();
        let mut child = Command::new("node")
            .arg(web.join("test/driver.mjs"))
            .current_dir(&web)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start node web/test/driver.mjs");
        let stdout = child.stdout.take().expect("driver stdout");
        let (tx, replies) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) => {
                        if tx.send(v).is_err() {
                            break;
                        }
                    }
                    Err(_) => eprintln!("driver: {line}"),
                }
            }
        });
        let ready = replies
            .recv_timeout(COMMAND_TIMEOUT)
            .expect("the browser driver started");
        assert_eq!(ready["value"], "ready", "{ready}");
        Browsers {
            _serial: serial,
            stdin: child.stdin.take(),
            child,
            replies,
            next: 1,
        }
    }

    /// Runs `cmd` with `args` (an object); the driver's value or its error.
    pub fn try_cmd(&mut self, cmd: &str, args: Value) -> Result<Value, String> {
        let id = self.next;
        self.next += 1;
        let mut msg = args;
        msg["id"] = json!(id);
        msg["cmd"] = json!(cmd);
        let stdin = self.stdin.as_mut().expect("driver stdin");
        writeln!(stdin, "{msg}").map_err(|e| format!("driver gone: {e}"))?;
        stdin.flush().map_err(|e| format!("driver gone: {e}"))?;
        loop {
            let reply = self
                .replies
                .recv_timeout(COMMAND_TIMEOUT)
                .map_err(|_| format!("no reply to {cmd} in {COMMAND_TIMEOUT:?}"))?;
            if reply["id"] != json!(id) {
                continue;
            }
            return if reply["ok"] == json!(true) {
                Ok(reply["value"].clone())
            } else {
                Err(reply["error"].as_str().unwrap_or("?").to_string())
            };
        }
    }

    /// [`Self::try_cmd`], panicking with the page's console on an error.
    pub fn cmd(&mut self, name: &str, cmd: &str, mut args: Value) -> Value {
        args["name"] = json!(name);
        match self.try_cmd(cmd, args) {
            Ok(v) => v,
            Err(e) => {
                let console = self
                    .try_cmd("console", json!({ "name": name }))
                    .unwrap_or_default();
                panic!("browser {name}: {cmd} failed: {e}\nconsole: {console:#}");
            }
        }
    }

    /// Opens browser `name` on `url` with a `freq` Hz tone as its microphone.
    pub fn open(&mut self, name: &str, url: &str, freq: f32) {
        self.open_with(name, url, freq, false);
    }

    /// [`Self::open`]; `insecure_tls` accepts a self-signed certificate (https tests).
    pub fn open_with(&mut self, name: &str, url: &str, freq: f32, insecure_tls: bool) {
        let wav = tone_wav(freq);
        self.cmd(
            name,
            "open",
            json!({ "url": url, "wav": wav.display().to_string(), "insecureTls": insecure_tls }),
        );
    }

    /// Opens browser `name` on `url` with real devices instead of fake ones: the sound
    /// server's microphones and speakers (call `sound::sound_server()` first) and real screen
    /// capture, in a kiosk window filling `screen` (headless, 1280x720, when None).
    pub fn open_real(&mut self, name: &str, url: &str, screen: Option<&super::xvfb::Xvfb>) {
        self.open_real_picking(name, url, screen, "Entire screen");
    }

    /// [`Self::open_real`] whose screen-capture picker takes the window titled `pick`.
    pub fn open_real_picking(
        &mut self,
        name: &str,
        url: &str,
        screen: Option<&super::xvfb::Xvfb>,
        pick: &str,
    ) {
        let env: serde_json::Map<String, Value> = ["PULSE_SERVER", "XDG_RUNTIME_DIR"]
            .iter()
            .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), json!(v))))
            .collect();
        let (w, h) = screen.map_or((1280, 720), |x| (x.width, x.height));
        self.cmd(
            name,
            "open",
            json!({ "url": url, "real": { "display": screen.map(|x| x.display.clone()),
                    "width": w, "height": h, "env": env, "pick": pick } }),
        );
    }

    /// Evaluates the async arrow function `f` with `arg` in the page.
    pub fn eval(&mut self, name: &str, f: &str, arg: Value) -> Value {
        self.cmd(name, "eval", json!({ "fn": f, "arg": arg }))
    }

    /// [`Self::eval`] returning the error message when the page throws.
    pub fn try_eval(&mut self, name: &str, f: &str, arg: Value) -> Result<Value, String> {
        self.try_cmd("eval", json!({ "name": name, "fn": f, "arg": arg }))
    }

    /// Waits until `f(arg)` in the page is truthy (at most `timeout`); its value.
    pub fn wait_for(&mut self, name: &str, f: &str, arg: Value, timeout: Duration) -> Value {
        self.cmd(
            name,
            "waitFor",
            json!({ "fn": f, "arg": arg, "timeoutMs": timeout.as_millis() as u64 }),
        )
    }

    pub fn click(&mut self, name: &str, selector: &str) {
        self.cmd(name, "click", json!({ "selector": selector }));
    }

    pub fn fill(&mut self, name: &str, selector: &str, value: &str) {
        self.cmd(
            name,
            "fill",
            json!({ "selector": selector, "value": value }),
        );
    }

    /// Chooses the option labelled `label` in the page's `<select>` `selector`.
    pub fn select(&mut self, name: &str, selector: &str, label: &str) {
        self.cmd(
            name,
            "select",
            json!({ "selector": selector, "label": label }),
        );
    }

    pub fn screenshot(&mut self, name: &str, path: &std::path::Path) {
        self.cmd(
            name,
            "screenshot",
            json!({ "path": path.display().to_string() }),
        );
    }

    pub fn close(&mut self, name: &str) {
        self.cmd(name, "close", json!({}));
    }
}

impl Drop for Browsers {
    fn drop(&mut self) {
        // Closing stdin makes the driver close every browser and exit.
        drop(self.stdin.take());
        let end = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < end {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---- what the browser tests share: the service, signing in on the sample page, what a
// page's call hears and shows ----

use super::{wait_until, Service};

pub const T: Duration = Duration::from_secs(20);
/// The browser's microphone tone and the native party's.
pub const BROWSER_HZ: f32 = 660.0;
pub const NATIVE_HZ: f32 = 440.0;

/// A service serving the browser client, with dev tokens and a short echo delay.
pub fn service() -> Service {
    let web = web_dir().display().to_string();
    Service::start_with(&["--web-dir", &web, "--dev-tokens", "--echo-delay-ms", "200"])
}

/// The tone measurement of web/test/audio_probe.js.
pub fn probe() -> String {
    std::fs::read_to_string(web_dir().join("test/audio_probe.js")).expect("audio_probe.js")
}

/// Opens the sample page in browser `name`, signs in with a dev token (the page's button)
/// and returns the browser user's id. Audio processing is off so the tone arrives as is.
pub fn sign_in(b: &mut Browsers, svc: &Service, name: &str) -> String {
    sign_in_with(b, svc, name, BROWSER_HZ)
}

/// [`sign_in`] with a `freq` Hz tone as the browser's microphone.
pub fn sign_in_with(b: &mut Browsers, svc: &Service, name: &str, freq: f32) -> String {
    b.open(name, &format!("http://{}/", svc.http_addr), freq);
    sign_in_opened(b, name)
}

/// Signs in on the sample page already open in browser `name` (see [`sign_in`]).
pub fn sign_in_opened(b: &mut Browsers, name: &str) -> String {
    b.click(name, "#signin");
    let id = b.wait_for(
        name,
        "() => window.acsSample.agent && window.acsSample.agent.userId",
        json!(null),
        T,
    );
    b.eval(
        name,
        "async () => { (await window.acsSample.client.getDeviceManager()).audioConstraints = \
         { echoCancellation: false, noiseSuppression: false, autoGainControl: false }; }",
        json!(null),
    );
    id.as_str().expect("user id").to_string()
}

/// Waits until the page's call is in `state` (a CallState name); the call's setup time
/// (created → Connected, ms) when it is Connected.
pub fn wait_call_state(b: &mut Browsers, name: &str, state: &str) -> Value {
    let got = b.try_cmd(
        "waitFor",
        json!({ "name": name, "timeoutMs": T.as_millis() as u64, "arg": state,
                "fn": "(s) => { const c = window.acsSample.call; \
         return c && document.getElementById('state').textContent === s \
         && { setup_ms: c.connectedAt !== undefined ? c.connectedAt - c.createdAt : null, \
              steps: c.setupTimings, reason: c.callEndReason }; }" }),
    );
    got.unwrap_or_else(|e| {
        let now = b.try_eval(
            name,
            "() => ({ state: document.getElementById('state').textContent, \
               reason: window.acsSample.call?.callEndReason ?? null, \
               log: document.getElementById('log')?.textContent?.slice(-600) ?? null })",
            json!(null),
        );
        let console = b.try_cmd("console", json!({ "name": name }));
        panic!("browser {name}: the call is not {state}: {e}; now {now:?}; console {console:?}")
    })
}

/// Levels (dB) of `freq` and of a control frequency in what the browser's call receives.
pub fn browser_hears(b: &mut Browsers, name: &str, freq: f32) -> (f64, f64) {
    let v = b.eval(name, &probe(), json!({ "freq": freq, "ms": 1500 }));
    (
        v["tone"].as_f64().unwrap_or(-999.0),
        v["control"].as_f64().unwrap_or(-999.0),
    )
}

/// The browser hears `freq` loud and clear: well above silence and above its surroundings.
/// Returns its level (dB).
pub fn assert_browser_hears(b: &mut Browsers, name: &str, freq: f32) -> f64 {
    let mut last = (0.0, 0.0);
    let heard = wait_until(Duration::from_secs(8), || {
        last = browser_hears(b, name, freq);
        last.0 > -60.0 && last.0 - last.1 > 20.0
    });
    assert!(
        heard,
        "browser {name} does not hear {freq} Hz: tone {:.1} dB, control {:.1} dB",
        last.0, last.1
    );
    println!(
        "browser {name} hears {freq} Hz at {:.1} dB (control {:.1} dB)",
        last.0, last.1
    );
    last.0
}

/// The browser does not hear `freq`: its level stays below `max` dB (codec noise and the
/// analyser's leakage from a loud tone nearby stay far below a tone that is really there).
pub fn assert_browser_silent_at(b: &mut Browsers, name: &str, freq: f32, max: f64) {
    let (tone, _) = browser_hears(b, name, freq);
    println!("browser {name}: {freq} Hz at {tone:.1} dB (must stay below {max:.1})");
    assert!(tone < max, "browser {name} hears {freq} Hz: {tone:.1} dB");
}

/// Mean R, G, B of what the page shows or captures: a `<video>` (`selector`) or the call's
/// local stream of `kind` (0 camera, 1 screen share), drawn on a 320x180 canvas.
pub const PAGE_RGB: &str = "async ({ selector, kind }) => { let v = selector && document.querySelector(selector); \
    let tmp = null; if (!v) { const s = window.acsSample.call.localVideoStreams.find(s => s.kind === kind); \
      tmp = v = document.createElement('video'); v.muted = true; \
      v.srcObject = new MediaStream([await s.mediaStreamTrack()]); await v.play(); } \
    const c = document.createElement('canvas'); c.width = 320; c.height = 180; \
    const g = c.getContext('2d'); g.drawImage(v, 0, 0, 320, 180); \
    const d = g.getImageData(0, 0, 320, 180).data; const m = [0, 0, 0]; \
    for (let i = 0; i < d.length; i += 4) { m[0] += d[i]; m[1] += d[i + 1]; m[2] += d[i + 2]; } \
    if (tmp) tmp.srcObject = null; return m.map(x => x / (d.length / 4)); }";

pub fn page_rgb(b: &mut Browsers, name: &str, selector: Option<&str>, kind: u32) -> [f64; 3] {
    let v = b.eval(
        name,
        PAGE_RGB,
        json!({ "selector": selector, "kind": kind }),
    );
    serde_json::from_value(v).expect("mean colour")
}

/// Mean R, G, B of an I420 frame as a renderer shows it (BT.601 limited range, clamped like
/// a browser does; compare colours in RGB: a saturated picture's YUV does not survive the
/// round trip through RGB).
pub fn mean_rgb(f: &acscalling::media::video::VideoFrame) -> [f64; 3] {
    let (w, h) = (f.width as usize, f.height as usize);
    let mut sum = [0f64; 3];
    let mut n = 0f64;
    for y in (0..h).step_by(4) {
        for x in (0..w).step_by(4) {
            let rgb = rgb_at(f, x, y);
            for i in 0..3 {
                sum[i] += rgb[i];
            }
            n += 1.0;
        }
    }
    sum.map(|c| c / n)
}

/// R, G, B of pixel (`x`, `y`) of an I420 frame (BT.601 limited range, clamped to 0..255).
pub fn rgb_at(f: &acscalling::media::video::VideoFrame, x: usize, y: usize) -> [f64; 3] {
    let (w, cw) = (f.width as usize, (f.width as usize).div_ceil(2));
    let yy = 1.164 * (f64::from(f.y[y * w + x]) - 16.0);
    let u = f64::from(f.u[(y / 2) * cw + x / 2]) - 128.0;
    let v = f64::from(f.v[(y / 2) * cw + x / 2]) - 128.0;
    [yy + 1.596 * v, yy - 0.392 * u - 0.813 * v, yy + 2.017 * u].map(|c| c.clamp(0.0, 255.0))
}

/// Browser `name` calls native `callee` from the sample page (its "Call" button): once both
/// sides are Connected, the page's setup figures ([`wait_call_state`]) and the native call.
pub fn browser_calls_native(
    b: &mut Browsers,
    name: &str,
    callee: &super::party::Party,
) -> (Value, acscalling::client::Call) {
    b.fill(name, "#target", &callee.id);
    b.click(name, "#call");
    let connected = wait_call_state(b, name, "Connected");
    assert!(
        wait_until(T, || callee.incoming.lock().first().is_some_and(|c| c
            .state()
            == acscalling::protocol::CallState::Connected)),
        "{} does not see the browser's call Connected",
        callee.id
    );
    let call = callee.incoming.lock()[0].clone();
    (connected, call)
}

/// `who`'s stream of `kind` as `call` sees it, once it is available (`what` says what
/// failed when it never is).
pub fn available_stream(
    call: &acscalling::client::Call,
    who: &str,
    kind: acscalling::protocol::VideoStreamKind,
    what: &str,
) -> acscalling::client::RemoteVideoStream {
    let mut stream = None;
    assert!(
        wait_until(T, || {
            stream = call
                .remote_participants()
                .into_iter()
                .find(|p| p.identifier() == who)
                .map(|p| p.video_stream(kind));
            stream.as_ref().is_some_and(|s| s.is_available())
        }),
        "{what}"
    );
    stream.expect("available")
}

/// Two mean colours are the same picture's (codec and scaling differences aside): no
/// channel further apart than `tolerance`.
pub fn assert_same_colour(what: &str, have: [f64; 3], want: [f64; 3], tolerance: f64) {
    println!("{what}: shown {have:.0?}, source {want:.0?}");
    assert!(
        have.iter()
            .zip(want)
            .all(|(a, b)| (a - b).abs() < tolerance),
        "{what}: shown {have:.0?}, source {want:.0?}"
    );
}
