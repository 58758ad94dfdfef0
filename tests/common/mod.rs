//! Test harness: starts the real `acscalling-service` on 127.0.0.1 (port 0) and talks to its
//! identity REST API. The service is stopped when the `Service` is dropped.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

pub mod browser;
pub mod netcut;
pub mod party;
pub mod rooms;
pub mod sipp;
pub mod sipphones;
pub mod sound;
pub mod video;
pub mod webhook;
pub mod xvfb;

pub const ACCESS_KEY: &str = "test-access-key-0123456789";

/// The service binary: $ACSCALLING_SERVICE_BIN, else next to the test executable's target dir.
pub fn service_bin() -> PathBuf {
    if let Ok(p) = std::env::var("ACSCALLING_SERVICE_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test exe path");
    // target/<profile>/deps/<test> → target/<profile>/acscalling-service
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir.join("acscalling-service");
    if !bin.exists() {
        let release = dir.file_name().is_some_and(|n| n == "release");
        let mut args = vec!["build", "-p", "acscalling-service"];
        if release {
            args.push("--release");
        }
        let status = Command::new(env!("CARGO"))
            .args(&args)
            .status()
            .expect("run cargo to build the service");
        assert!(status.success(), "building acscalling-service failed");
    }
    bin
}

pub struct Service {
    /// None for a service started by another process ([`Service::external`]).
    child: Option<Child>,
    /// Set when the service runs TLS: the CA to trust for its REST API.
    tls_ca: Option<PathBuf>,
    pub http_addr: String,
    pub ws_url: String,
    /// The PSTN gateway's SIP address, when the service runs one (`--sip-listen`).
    pub sip_addr: Option<String>,
    /// The gateway's SIP-over-TLS address (`--sip-listen-tls`).
    pub sip_tls_addr: Option<String>,
}

impl Service {
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts the service with TLS (https/wss) on the same port.
    pub fn start_tls(cert: &std::path::Path, key: &std::path::Path) -> Self {
        Self::start_tls_with(cert, key, &[])
    }

    /// [`Self::start_tls`] with more arguments (the same certificate serves SIP over TLS
    /// with `--sip-listen-tls`). [`Party`](party::Party) then connects with wss.
    pub fn start_tls_with(cert: &std::path::Path, key: &std::path::Path, extra: &[&str]) -> Self {
        let (c, k) = (cert.display().to_string(), key.display().to_string());
        let mut args = vec!["--tls-cert", &c, "--tls-key", &k];
        args.extend_from_slice(extra);
        let mut svc = Self::start_with(&args);
        svc.tls_ca = Some(cert.to_path_buf());
        svc
    }

    /// The agent's service URL: wss when the service runs TLS.
    pub fn agent_url(&self) -> String {
        match self.tls_ca {
            Some(_) => self.ws_url.replace("ws://", "wss://"),
            None => self.ws_url.clone(),
        }
    }

    /// A service with a SIP gateway whose trunk is `trunk` (a `--sip-trunk` value) and
    /// whose deployment caller id is +15550001000; `extra` flags follow.
    pub fn with_trunk(trunk: &str, extra: &[&str]) -> Self {
        let mut args = vec![
            "--sip-listen",
            "127.0.0.1:0",
            "--sip-trunk",
            trunk,
            "--pstn-caller-id",
            "+15550001000",
        ];
        args.extend_from_slice(extra);
        Self::start_with(&args)
    }

    pub fn start_with(extra: &[&str]) -> Self {
        Self::start_inner(extra, Stdio::inherit())
    }

    /// [`Service::start_with`], its log (stderr) written to `log` for the test to read.
    pub fn start_logged(extra: &[&str], log: &std::path::Path) -> Self {
        let f = std::fs::File::create(log).expect("service log file");
        Self::start_inner(extra, Stdio::from(f))
    }

    fn start_inner(extra: &[&str], stderr: Stdio) -> Self {
        let mut child = Command::new(service_bin())
            .args([
                "--listen",
                "127.0.0.1:0",
                "--media-ip",
                "127.0.0.1",
                "--media-port",
                "0",
                "--access-key",
                ACCESS_KEY,
                // Tests share nothing: a database of their own (a test of persistence
                // passes a file with --database, which comes later and wins).
                "--database",
                ":memory:",
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("start acscalling-service");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut line = String::new();
            let _ = r.read_line(&mut line);
            let _ = tx.send(line);
            // Keep draining so the service never blocks on a full pipe.
            let mut sink = Vec::new();
            let _ = r.read_to_end(&mut sink);
        });
        let line = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("the service printed its listening line");
        let http = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("http="))
            .unwrap_or_else(|| panic!("unexpected service banner: {line}"))
            .to_string();
        let sip_addr = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("sip="))
            .map(str::to_string);
        let sip_tls_addr = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("sip-tls="))
            .map(str::to_string);
        Service {
            child: Some(child),
            tls_ca: None,
            ws_url: format!("ws://{http}"),
            http_addr: http,
            sip_addr,
            sip_tls_addr,
        }
    }

    /// A service another process started, reached at `http_addr` (not stopped on drop).
    pub fn external(http_addr: &str) -> Self {
        Service {
            child: None,
            tls_ca: None,
            ws_url: format!("ws://{http_addr}"),
            http_addr: http_addr.to_string(),
            sip_addr: None,
            sip_tls_addr: None,
        }
    }

    /// The service's process id (None for an [`Service::external`] one).
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// POST with the access key; returns (status, body).
    pub fn post(&self, path: &str, body: &str) -> (u16, String) {
        self.request("POST", path, body)
    }

    /// `method` with the access key; returns (status, body).
    pub fn request(&self, method: &str, path: &str, body: &str) -> (u16, String) {
        let s = TcpStream::connect(&self.http_addr).expect("connect to the service");
        let req = format!(
            "{method} {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {ACCESS_KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.http_addr,
            body.len()
        );
        let mut raw = Vec::new();
        match &self.tls_ca {
            None => {
                let mut s = s;
                s.write_all(req.as_bytes()).expect("send request");
                let _ = s.read_to_end(&mut raw);
            }
            Some(ca) => {
                let mut tls = tls_stream(ca, s);
                tls.write_all(req.as_bytes()).expect("send request");
                // The server may close without close_notify: keep what arrived.
                let _ = tls.read_to_end(&mut raw);
            }
        }
        let resp = String::from_utf8_lossy(&raw).to_string();
        let status = resp
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = resp
            .split_once("\r\n\r\n")
            .map(|x| x.1.to_string())
            .unwrap_or_default();
        (status, body)
    }

    pub fn create_user(&self) -> String {
        let (st, body) = self.post("/identities", "{}");
        assert!(st == 200 || st == 201, "create user: {st} {body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        v["id"].as_str().expect("id").to_string()
    }

    pub fn token(&self, user: &str) -> String {
        self.token_for(user, None)
    }

    pub fn token_for(&self, user: &str, expires_in_secs: Option<u64>) -> String {
        let body = match expires_in_secs {
            Some(s) => format!("{{\"scopes\":[\"voip\"],\"expires_in_secs\":{s}}}"),
            None => "{\"scopes\":[\"voip\"]}".to_string(),
        };
        let (st, body) = self.post(&format!("/identities/{user}/token"), &body);
        assert_eq!(st, 200, "issue token: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        v["token"].as_str().expect("token").to_string()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        if let Some(c) = self.child.as_mut() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A service that dies and comes back as a crashed and restarted server does: the same
/// address (a fixed port) and the same store (a database file in a private temp folder,
/// removed when this is dropped).
pub struct RestartableService {
    dir: PathBuf,
    args: Vec<String>,
    svc: Option<Service>,
}

impl RestartableService {
    /// Starts the service with `extra` flags besides `--listen` and `--database`.
    pub fn start(extra: &[&str]) -> Self {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("acs-restart-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut args = vec![
            "--listen".to_string(),
            format!("127.0.0.1:{port}"),
            "--database".to_string(),
            dir.join("service.db").display().to_string(),
        ];
        args.extend(extra.iter().map(|a| a.to_string()));
        let mut s = RestartableService {
            dir,
            args,
            svc: None,
        };
        s.restart();
        s
    }

    /// The running service.
    pub fn service(&self) -> &Service {
        self.svc.as_ref().expect("the service is down")
    }

    /// Kills the service with SIGKILL (no goodbye to anyone) and reaps it.
    pub fn kill9(&mut self) {
        let svc = self.svc.take().expect("the service is down already");
        let pid = svc.pid().expect("a service of ours");
        let killed = Command::new("kill")
            .args(["-KILL", &pid.to_string()])
            .status()
            .expect("run kill");
        assert!(killed.success(), "kill -9 {pid}");
        drop(svc);
    }

    /// Starts the service again with the same flags (address and store).
    pub fn restart(&mut self) -> &Service {
        assert!(self.svc.is_none(), "the service is still running");
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        self.svc = Some(Service::start_with(&args));
        self.service()
    }
}

impl Drop for RestartableService {
    fn drop(&mut self) {
        drop(self.svc.take());
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Polls `f` every 10 ms until it is true or `timeout` passes.
pub fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = std::time::Instant::now() + timeout;
    while std::time::Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    f()
}

fn tls_stream(
    ca: &std::path::Path,
    sock: TcpStream,
) -> rustls::StreamOwned<rustls::ClientConnection, TcpStream> {
    use rustls_pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots
        .add(rustls_pki_types::CertificateDer::from_pem_file(ca).expect("CA pem"))
        .expect("CA cert");
    let provider = std::sync::Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("tls versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = rustls_pki_types::ServerName::try_from("127.0.0.1").expect("name");
    let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).expect("tls");
    rustls::StreamOwned::new(conn, sock)
}
