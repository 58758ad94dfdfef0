//! End-to-end tests of the `acscalling` tool: the real service on 127.0.0.1 (started and
//! stopped here), the built binary run as a user would, its output and exit code checked.
//! The service binary comes from `cargo build -p acscalling-service` (the workspace build).

use acscalling::client::*;
use acscalling::media::audio::{tone_power, AudioDevice};
use acscalling::protocol::CallState;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

const ACCESS_KEY: &str = "cli-test-access-key-0123456789";

/// The service binary: $ACSCALLING_SERVICE_BIN, else beside this test's target directory.
fn service_bin() -> PathBuf {
    if let Ok(p) = std::env::var("ACSCALLING_SERVICE_BIN") {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test exe path");
    // target/<profile>/deps/<test> → target/<profile>/acscalling-service
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir.join("acscalling-service");
    assert!(
        bin.exists(),
        "{} is missing: build the service first with `cargo build -p acscalling-service` \
         (or `cargo build --workspace --all-targets`), with the same CARGO_TARGET_DIR",
        bin.display()
    );
    bin
}

/// The real service on 127.0.0.1, killed on drop.
struct Service {
    child: Child,
    http: String,
}

impl Service {
    fn start() -> Service {
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
                "--database",
                ":memory:",
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start acscalling-service");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut line = String::new();
            let _ = r.read_line(&mut line);
            let _ = tx.send(line);
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
        Service { child, http }
    }

    fn url(&self) -> String {
        format!("ws://{}", self.http)
    }

    fn post(&self, path: &str, body: &str) -> (u16, String) {
        let mut s = TcpStream::connect(&self.http).expect("connect to the service");
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {ACCESS_KEY}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.http,
            body.len()
        );
        s.write_all(req.as_bytes()).expect("send request");
        let mut raw = Vec::new();
        let _ = s.read_to_end(&mut raw);
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

    fn create_user(&self) -> String {
        let (st, body) = self.post("/identities", "{}");
        assert!(st == 200 || st == 201, "create user: {st} {body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        v["id"].as_str().expect("id").to_string()
    }

    fn token(&self, user: &str) -> String {
        let (st, body) = self.post(
            &format!("/identities/{user}/token"),
            r#"{"scopes":["voip"]}"#,
        );
        assert_eq!(st, 200, "issue token: {body}");
        let v: serde_json::Value = serde_json::from_str(&body).expect("json");
        v["token"].as_str().expect("token").to_string()
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The tool, with no connection settings from the environment of whoever runs the tests.
fn tool() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_acscalling"));
    for v in [
        "ACS_SERVICE_URL",
        "ACS_TOKEN",
        "ACS_CA_CERT",
        "ACS_ACCESS_KEY",
    ] {
        c.env_remove(v);
    }
    c.env("RUST_BACKTRACE", "1");
    c
}

/// The tool signed in as a new user of `svc`.
fn tool_for(svc: &Service) -> Command {
    let user = svc.create_user();
    let mut c = tool();
    c.env("ACS_SERVICE_URL", svc.url())
        .env("ACS_TOKEN", svc.token(&user));
    c
}

fn run(mut c: Command) -> (Output, String, String) {
    let out = c.output().expect("run acscalling");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    (out, stdout, stderr)
}

/// A failure the way the tool should fail: one clear line, a non-zero exit, no panic.
fn assert_clean_failure(out: &Output, stderr: &str, expected: &str) {
    assert!(
        !out.status.success(),
        "expected a failure; stderr: {stderr}"
    );
    assert!(
        stderr.contains("acscalling: error: ") && stderr.contains(expected),
        "stderr should say '{expected}': {stderr}"
    );
    assert!(!stderr.contains("panicked"), "a panic: {stderr}");
}

#[test]
fn devices_lists_the_virtual_devices() {
    let (out, stdout, stderr) = run({
        let mut c = tool();
        c.arg("devices");
        c
    });
    assert!(out.status.success(), "stderr: {stderr}");
    for want in [
        "Microphones:",
        "Speakers:",
        "Cameras:",
        "tone (440 Hz",
        "record (",
        "[virtual]",
    ] {
        assert!(stdout.contains(want), "no '{want}' in:\n{stdout}");
    }
    // The virtual camera is always there.
    let cams = stdout.split("Cameras:").nth(1).unwrap_or_default();
    assert!(cams.contains("[virtual]"), "no virtual camera:\n{stdout}");
}

#[test]
fn echo_test_hears_its_tone_come_back() {
    let svc = Service::start();
    let (out, stdout, stderr) = run({
        let mut c = tool_for(&svc);
        c.args(["echo-test", "--tone", "440", "--seconds", "3"]);
        c
    });
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    for want in [
        "calling the echo bot 8:echo123",
        "setup time: ",
        "heard the 440 Hz tone",
        "PASS: the 440 Hz tone came back",
        "statistics: rtt ",
        "totals: audio sent ",
    ] {
        assert!(stdout.contains(want), "no '{want}' in:\n{stdout}");
    }
}

#[test]
fn call_reaches_a_real_agent_who_hears_the_tone() {
    const FREQ: f32 = 660.0;
    let svc = Service::start();
    let bob = Bob::sign_in(&svc);
    let bob_id = bob.id.clone();
    let incoming = bob.incoming.clone();

    let mut c = tool_for(&svc);
    c.args([
        "call",
        &bob_id,
        "--tone",
        &FREQ.to_string(),
        "--seconds",
        "6",
        "--stats-interval-ms",
        "500",
        "--display-name",
        "CLI",
    ])
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let child = c.spawn().expect("run acscalling call");

    // Bob's call connects and he hears the tool's tone.
    assert!(
        wait_until(Duration::from_secs(20), || incoming
            .lock()
            .first()
            .is_some_and(|c| c.state() == CallState::Connected)),
        "bob's call never connected"
    );
    let bob_call = incoming.lock()[0].clone();
    let heard = bob.hears(FREQ);
    let names: Vec<String> = bob_call
        .remote_participants()
        .iter()
        .map(|p| p.display_name())
        .collect();
    let out = child.wait_with_output().expect("the tool ends");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        heard.is_ok(),
        "bob did not hear the tool's tone: {heard:?}\n{stdout}"
    );
    assert_eq!(names, ["CLI"], "bob's roster");
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    for want in [
        format!("calling {bob_id}"),
        "call state: Connected".to_string(),
        "connected: setup took ".to_string(),
        format!("+ {bob_id} (Bob) joined"),
        "] stats rtt ".to_string(),
        "call state: Disconnected (0/".to_string(),
        "statistics: rtt ".to_string(),
    ] {
        assert!(stdout.contains(&want), "no '{want}' in:\n{stdout}");
    }
    // The tool hung up after its 6 s: bob's call ends too.
    assert!(wait_until(Duration::from_secs(10), || bob_call.state()
        == CallState::Disconnected));
    drop(bob);
}

/// A real agent of a new user, answering calls at once with a 330 Hz tone and a speaker
/// the test listens to.
struct Bob {
    client: CallClient,
    agent: CallAgent,
    id: String,
    mic: AudioDevice,
    speaker: AudioDevice,
    incoming: Arc<parking_lot::Mutex<Vec<Call>>>,
}

impl Bob {
    fn sign_in(svc: &Service) -> Bob {
        let id = svc.create_user();
        let client = CallClient::new(CallClientOptions::default()).unwrap();
        let mic = AudioDevice::tone_microphone("bob-mic", 330.0, 0.5);
        let speaker = AudioDevice::pull_speaker("bob-spk", 10_000);
        let accept = CallOptions {
            microphone: Some(mic.clone()),
            speaker: Some(speaker.clone()),
            start_muted: false,
        };
        let incoming: Arc<parking_lot::Mutex<Vec<Call>>> = Arc::default();
        let inc = incoming.clone();
        let listener: AgentListener = Arc::new(move |_a, e| {
            if let AgentEvent::IncomingCall { call } = e {
                inc.lock().push(call.clone());
                call.accept(accept.clone()).unwrap();
            }
        });
        let agent = client
            .create_call_agent(CallAgentOptions {
                service_url: svc.url(),
                token: svc.token(&id),
                display_name: "Bob".into(),
                listener: Some(listener),
                token_refresher: None,
                ca_certificate: None,
                answer_transfers: false,
            })
            .unwrap();
        assert!(wait_until(Duration::from_secs(20), || agent
            .connection_state()
            == AgentConnectionState::Connected));
        Bob {
            client,
            agent,
            id,
            mic,
            speaker,
            incoming,
        }
    }

    fn options(&self) -> CallOptions {
        CallOptions {
            microphone: Some(self.mic.clone()),
            speaker: Some(self.speaker.clone()),
            start_muted: false,
        }
    }

    /// Waits up to 8 s for `freq` on Bob's speaker; the powers measured when it never comes.
    fn hears(&self, freq: f32) -> Result<(), Vec<f32>> {
        let mut powers = Vec::new();
        let heard = wait_until(Duration::from_secs(8), || {
            let p = tone_power(&listen(&self.speaker, 500), freq);
            powers.push(p);
            p > 0.01
        });
        heard.then_some(()).ok_or(powers)
    }
}

impl Drop for Bob {
    fn drop(&mut self) {
        self.client.shutdown();
    }
}

#[test]
fn join_shares_a_group_call_with_a_real_agent() {
    const FREQ: f32 = 550.0;
    const GROUP: &str = "5b0f3a52-6a43-4d0c-9a53-0c1b7c2f1e11";
    let svc = Service::start();
    let bob = Bob::sign_in(&svc);
    let bob_call = bob.agent.join(GROUP, bob.options()).unwrap();
    assert!(wait_until(Duration::from_secs(20), || bob_call.state()
        == CallState::Connected));
    let mut c = tool_for(&svc);
    c.args(["join", GROUP, "--tone", &FREQ.to_string(), "--seconds", "6"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = c.spawn().expect("run acscalling join");
    assert!(
        wait_until(Duration::from_secs(20), || bob_call
            .remote_participants()
            .iter()
            .any(
                |p| p.state() == acscalling::protocol::ParticipantState::Connected
            )),
        "the tool never joined bob's call"
    );
    let heard = bob.hears(FREQ);
    let out = child.wait_with_output().expect("the tool ends");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(
        heard.is_ok(),
        "bob did not hear the tool: {heard:?}\n{stdout}"
    );
    assert!(out.status.success(), "stdout:\n{stdout}\nstderr:\n{stderr}");
    for want in [
        format!("joining group call {GROUP}"),
        "call state: Connected".to_string(),
        format!("+ {} (Bob) joined", bob.id),
        "] stats rtt ".to_string(),
    ] {
        assert!(stdout.contains(&want), "no '{want}' in:\n{stdout}");
    }
    let _ = bob_call.hang_up(false);
}

/// Drops what `spk` played so far, waits `ms`, returns what it played meanwhile.
fn listen(spk: &AudioDevice, ms: u64) -> Vec<i16> {
    let mut junk = vec![0i16; 48_000 * 10];
    while spk.pull_pcm(&mut junk).unwrap() > 0 {}
    std::thread::sleep(Duration::from_millis(ms));
    let mut buf = vec![0i16; 48 * ms as usize * 2];
    let n = spk.pull_pcm(&mut buf).unwrap();
    buf.truncate(n);
    buf
}

fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    f()
}

#[test]
fn a_bad_token_is_a_clear_error() {
    let svc = Service::start();
    // Not a token at all: refused before connecting.
    let (out, _, stderr) = run({
        let mut c = tool();
        c.args(["call", "8:echo123", "--tone", "440", "--seconds", "1"])
            .env("ACS_SERVICE_URL", svc.url())
            .env("ACS_TOKEN", "not-a-token");
        c
    });
    assert_clean_failure(&out, &stderr, "bad token");
    // A well-formed token whose signature the service does not accept.
    let user = svc.create_user();
    let good = svc.token(&user);
    let (head, sig) = good.rsplit_once('.').unwrap();
    let flipped = if sig.starts_with('A') { "B" } else { "A" };
    let forged = format!("{head}.{flipped}{}", &sig[1..]);
    let (out, _, stderr) = run({
        let mut c = tool();
        c.args(["echo-test", "--tone", "440", "--seconds", "1"])
            .arg("--service-url")
            .arg(svc.url())
            .arg("--token")
            .arg(&forged);
        c
    });
    assert_clean_failure(&out, &stderr, "bad token");
}

#[test]
fn other_mistakes_are_clear_errors() {
    let svc = Service::start();
    // No token at all.
    let (out, _, stderr) = run({
        let mut c = tool();
        c.args(["call", "8:echo123", "--service-url", &svc.url()]);
        c
    });
    assert_clean_failure(&out, &stderr, "no token");
    // A bad id, a bad group id.
    let (out, _, stderr) = run({
        let mut c = tool_for(&svc);
        c.args(["call", "someone", "--tone", "440"]);
        c
    });
    assert_clean_failure(&out, &stderr, "bad id 'someone'");
    let (out, _, stderr) = run({
        let mut c = tool_for(&svc);
        c.args(["join", "not-a-uuid", "--tone", "440"]);
        c
    });
    assert_clean_failure(&out, &stderr, "bad group id");
    // An unknown user: the call ends before it connects.
    let (out, stdout, stderr) = run({
        let mut c = tool_for(&svc);
        c.args([
            "call",
            "8:acs:00000000-0000-4000-8000-000000000000",
            "--tone",
            "440",
            "--seconds",
            "2",
        ]);
        c
    });
    assert_clean_failure(&out, &stderr, "the call ended before it connected");
    assert!(stdout.contains("call state: Disconnected"), "{stdout}");
    // The service is down.
    let url = svc.url();
    let token = svc.token(&svc.create_user());
    drop(svc);
    let (out, _, stderr) = run({
        let mut c = tool();
        c.args(["echo-test", "--tone", "440", "--seconds", "1"])
            .env("ACS_SERVICE_URL", &url)
            .env("ACS_TOKEN", &token);
        c
    });
    assert_clean_failure(&out, &stderr, "cannot connect to the service");
}

#[test]
fn token_issues_a_user_and_a_token_with_the_access_key() {
    let svc = Service::start();
    let (out, stdout, stderr) = run({
        let mut c = tool();
        c.args(["token", "--export", "--service-url", &svc.url()])
            .env("ACS_ACCESS_KEY", ACCESS_KEY);
        c
    });
    assert!(out.status.success(), "stderr: {stderr}");
    assert!(stdout.contains("export ACS_USER='8:acs:"), "{stdout}");
    assert!(stdout.contains("export ACS_TOKEN='ey"), "{stdout}");
    // Without --dev-tokens the service has no /dev/token.
    let (out, _, stderr) = run({
        let mut c = tool();
        c.args(["token", "--dev", "--service-url", &svc.url()]);
        c
    });
    assert_clean_failure(&out, &stderr, "/dev/token");
}
