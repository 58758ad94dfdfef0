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
