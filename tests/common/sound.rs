//! The private sound server of scripts/sound-server.sh for tests with real (cpal) devices, and
//! an independent ear and mouth on it: `pacat` plays a tone into a sink, `parec` records a
//! sink's monitor. A test that calls [`sound_server`] fails loudly if the server cannot start.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

static ENV: OnceLock<Vec<(String, String)>> = OnceLock::new();

fn script() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/sound-server.sh")
}

/// Tests share the server's sinks (a tone played into `acs_room` reaches every microphone on
/// it): one at a time. parking_lot's mutex does not poison, so a failed test frees it.
static SERIAL: parking_lot::Mutex<()> = parking_lot::Mutex::new(());

/// Starts the sound server (once per process; reused if already running), points this
/// process (cpal's PulseAudio host, pactl, pacat, parec) at it, and holds it for the caller
/// until the returned guard is dropped.
pub fn sound_server() -> parking_lot::MutexGuard<'static, ()> {
    let guard = SERIAL.lock();
    ENV.get_or_init(|| {
        let out = Command::new("bash")
            .arg(script())
            .arg("start")
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/sound-server.sh");
        assert!(
            out.status.success(),
            "the sound server did not start (real-device tests need it): {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let vars: Vec<(String, String)> = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.strip_prefix("export "))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.trim_matches('\'').to_string()))
            .collect();
        assert!(
            vars.iter().any(|(k, _)| k == "PULSE_SERVER"),
            "sound-server.sh printed no PULSE_SERVER"
        );
        for (k, v) in &vars {
            std::env::set_var(k, v);
        }
        vars
    });
    guard
}

/// Runs `pactl` with `args`; its stdout.
pub fn pactl(args: &[&str]) -> String {
    let out = Command::new("pactl")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run pactl");
    assert!(
        out.status.success(),
        "pactl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A tone played into a sink until dropped.
pub struct Tone {
    child: Child,
    stop: Arc<AtomicBool>,
    writer: Option<std::thread::JoinHandle<()>>,
}

/// Plays a sine of `freq` Hz (amplitude 0..1) into `sink` until the returned value is dropped.
pub fn play_tone(sink: &str, freq: f64, amplitude: f64) -> Tone {
    let mut child = Command::new("pacat")
        .args([
            "--playback",
            "-d",
            sink,
            "--raw",
            "--format=s16le",
            "--rate=48000",
            "--channels=1",
            "--latency-msec=40",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("start pacat");
    let mut stdin = child.stdin.take().expect("pacat stdin");
    let stop = Arc::new(AtomicBool::new(false));
    let s = stop.clone();
    let writer = std::thread::spawn(move || {
        let mut n: u64 = 0;
        let mut buf = Vec::with_capacity(960 * 2);
        while !s.load(Ordering::Relaxed) {
            buf.clear();
            for _ in 0..960 {
                let t = n as f64 / 48_000.0;
                let v =
                    (amplitude * 32767.0 * (2.0 * std::f64::consts::PI * freq * t).sin()) as i16;
                buf.extend_from_slice(&v.to_le_bytes());
                n += 1;
            }
            // The pipe blocks while pacat's buffer is full: that paces us.
            if stdin.write_all(&buf).is_err() {
                return;
            }
        }
    });
    Tone {
        child,
        stop,
        writer: Some(writer),
    }
}

impl Drop for Tone {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(w) = self.writer.take() {
            let _ = w.join();
        }
    }
}

/// Records `ms` of mono 48 kHz from `source` (e.g. `acs_spk.monitor`), after skipping the
/// first 100 ms (stream start-up).
pub fn record(source: &str, ms: u64) -> Vec<i16> {
    let mut child = Command::new("parec")
        .args([
            "-d",
            source,
            "--raw",
            "--format=s16le",
            "--rate=48000",
            "--channels=1",
            "--latency-msec=20",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("start parec");
    let mut out = child.stdout.take().expect("parec stdout");
    let skip = 48 * 100 * 2;
    let want = (48 * ms as usize) * 2;
    let mut raw = vec![0u8; skip + want];
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let r = out.read_exact(&mut raw).map(|_| raw);
        let _ = tx.send(r);
    });
    let got = rx.recv_timeout(Duration::from_millis(ms + 10_000));
    let _ = child.kill();
    let _ = child.wait();
    let raw = got
        .expect("parec delivered audio in time")
        .expect("read from parec");
    raw[skip..]
        .chunks_exact(2)
        .map(|b| i16::from_le_bytes([b[0], b[1]]))
        .collect()
}
