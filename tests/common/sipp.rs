//! A real SIP phone/carrier for end-to-end tests: SIPp (Debian's `sip-tester`) running one
//! of the scenarios in `tests/sipp/`, on 127.0.0.1, stopped by its pid when dropped.
#![allow(dead_code)]

use std::net::UdpSocket;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// A free UDP port on 127.0.0.1 (bound and released: another process may take it, rarely).
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("a free UDP port")
}

/// Four consecutive free UDP ports from an even one: SIPp's media binds audio RTP and RTCP
/// there and video RTP and RTCP at the next two (all four held at once while checked).
pub fn free_media_port() -> u16 {
    for _ in 0..200 {
        let p = free_udp_port() & !1;
        if p > 1024 && p < 65530 {
            let held: Vec<_> = (p..p + 4)
                .map(|q| UdpSocket::bind(("127.0.0.1", q)))
                .collect();
            if held.iter().all(Result::is_ok) {
                return p;
            }
        }
    }
    panic!("no free media port quadruple");
}

pub struct Sipp {
    child: Child,
    pub port: u16,
    pub media_port: u16,
    log_dir: PathBuf,
    /// A scenario written for this run by [`Sipp::start_xml`], removed on drop.
    scenario_file: Option<PathBuf>,
}

/// Path of a scenario in `tests/sipp/`.
pub fn scenario(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name)
}

impl Sipp {
    /// Starts `sipp` with scenario `name` listening on a free port; `extra` arguments follow
    /// (a UAC scenario passes the target `host:port` in them). SIPp's trace files go to a
    /// temporary directory, shown when the test fails.
    pub fn start(name: &str, extra: &[&str]) -> Sipp {
        Sipp::start_for(name, 1, Duration::from_secs(60), extra)
    }

    /// Like [`Sipp::start`], for `calls` calls (`-m`) and a global `timeout` (benchmarks run
    /// many calls through one SIPp).
    pub fn start_for(name: &str, calls: usize, timeout: Duration, extra: &[&str]) -> Sipp {
        Self::spawn(scenario(name), calls, timeout, extra)
    }

    /// Like [`Sipp::start`] with the scenario's XML given as text (a test that varies it).
    pub fn start_xml(xml: &str, extra: &[&str]) -> Sipp {
        let path = std::env::temp_dir().join(format!(
            "sipp-scenario-{}-{}.xml",
            std::process::id(),
            free_udp_port()
        ));
        std::fs::write(&path, xml).expect("write the sipp scenario");
        let mut sipp = Self::spawn(path.clone(), 1, Duration::from_secs(60), extra);
        sipp.scenario_file = Some(path);
        sipp
    }

    /// Starts SIPp; when one of its ports was taken between our check and its bind (other
    /// tests run beside), starts it again on fresh ports.
    fn spawn(scenario: PathBuf, calls: usize, timeout: Duration, extra: &[&str]) -> Sipp {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let mut sipp = Self::spawn_once(scenario.clone(), calls, timeout, extra);
            let exited = matches!(sipp.child.try_wait(), Ok(Some(_)));
            let errors = sipp.errors();
            let port_taken = errors.contains("Unable to bind") || errors.contains("already in use");
            if !(exited && port_taken) || attempt >= 5 {
                return sipp;
            }
            eprintln!("sipp could not bind its ports (attempt {attempt}), again: {errors}");
            let _ = std::fs::remove_dir_all(&sipp.log_dir);
        }
    }

    fn spawn_once(scenario: PathBuf, calls: usize, timeout: Duration, extra: &[&str]) -> Sipp {
        let port = free_udp_port();
        let media_port = free_media_port();
        let log_dir = std::env::temp_dir().join(format!("sipp-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&log_dir).expect("sipp log dir");
        let child = Command::new("sipp")
            .current_dir(&log_dir)
            // Trace timestamps in UTC, comparable with the system clock (benches/pstn_bench.rs).
            .env("TZ", "UTC")
            .arg("-sf")
            .arg(scenario)
            .args(["-i", "127.0.0.1", "-mi", "127.0.0.1"])
            .args(["-p", &port.to_string(), "-mp", &media_port.to_string()])
            .args(["-m", &calls.to_string(), "-nostdin", "-trace_err"])
            .args(["-timeout", &format!("{}s", timeout.as_secs().max(1))])
            .args(["-timeout_error"])
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sipp (Debian package sip-tester; scripts/setup.sh installs it)");
        // SIPp binds its port at once; give it a moment before anyone sends.
        std::thread::sleep(Duration::from_millis(150));
        Sipp {
            child,
            port,
            media_port,
            log_dir,
            scenario_file: None,
        }
    }

    /// `127.0.0.1:port`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The `--sip-trunk` value that makes this SIPp the carrier.
    pub fn trunk(&self) -> String {
        format!("carrier={}", self.addr())
    }

    /// SIPp's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Where SIPp writes its trace files (`-trace_msg`, `-trace_stat`, …).
    pub fn log_dir(&self) -> &std::path::Path {
        &self.log_dir
    }

    /// Waits for SIPp to finish its scenario; `None` on timeout.
    pub fn wait(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let end = Instant::now() + timeout;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            if Instant::now() > end {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits for the scenario to end and asserts that it passed (exit code 0), showing
    /// SIPp's error log otherwise.
    pub fn assert_passed(&mut self, timeout: Duration) {
        let st = self.wait(timeout);
        assert!(
            st.is_some_and(|s| s.success()),
            "sipp scenario failed ({st:?}): {}",
            self.errors()
        );
    }

    /// SIPp's error log so far.
    pub fn errors(&self) -> String {
        let mut out = String::new();
        if let Ok(dir) = std::fs::read_dir(&self.log_dir) {
            for e in dir.flatten() {
                if let Ok(s) = std::fs::read_to_string(e.path()) {
                    out.push_str(&s);
                }
            }
        }
        out
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.log_dir);
        if let Some(f) = &self.scenario_file {
            let _ = std::fs::remove_file(f);
        }
    }
}
