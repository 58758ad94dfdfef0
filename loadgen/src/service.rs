//! Starting and stopping an `acscalling-service` for a run.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

/// A service this tool started.
pub struct Service {
    child: Child,
    /// Kept open: the service's stdout stays a valid pipe.
    _stdout: BufReader<ChildStdout>,
    pub http: String,
    pub media: Option<SocketAddr>,
}

impl Service {
    /// Starts `bin` on 127.0.0.1 with `key`, room for `max_participants`, plus `extra` args;
    /// waits for its `listening http=… media=…` line.
    pub fn start(
        bin: &Path,
        key: &str,
        max_participants: usize,
        extra: &[String],
        log: &Path,
    ) -> Result<Service, String> {
        let stderr = std::fs::File::create(log)
            .map_err(|e| format!("service log {}: {e}", log.display()))?;
        // The service inherits this tool's niceness (`--nice` renices us before anything
        // starts): both get the same share, neither starves the other.
        let mut cmd = Command::new(bin);
        cmd.args([
            "--listen",
            "127.0.0.1:0",
            "--media-ip",
            "127.0.0.1",
            "--media-port",
            "0",
            "--access-key",
            key,
            "--max-participants",
            &max_participants.to_string(),
            "--database",
            ":memory:",
        ])
        .args(extra)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr);
        if std::env::var_os("RUST_LOG").is_none() {
            // Per-session info lines are noise at this scale.
            cmd.env("RUST_LOG", "warn");
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let Some(out) = child.stdout.take() else {
            let _ = child.kill();
            return Err("service stdout missing".into());
        };
        let mut stdout = BufReader::new(out);
        let mut line = String::new();
        let read = stdout.read_line(&mut line);
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|w| w.strip_prefix(name))
                .map(str::to_string)
        };
        let http = match (read, field("http=")) {
            (Ok(n), Some(h)) if n > 0 => h,
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!(
                    "service did not start (see {}): '{}'",
                    log.display(),
                    line.trim()
                ));
            }
        };
        let media = field("media=").and_then(|m| m.parse().ok());
        Ok(Service {
            child,
            _stdout: stdout,
            http,
            media,
        })
    }

    /// The service's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then SIGKILL after 5 s.
    pub fn stop(mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
