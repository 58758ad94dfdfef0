//! https/wss with `--tls-cert/--tls-key`. Uses the `openssl` and `curl` command-line tools
//! (present on the dev machines); the test is skipped with a message when they are absent.
mod common;

use std::process::Command;

use common::Service;

fn have(tool: &str) -> bool {
    Command::new(tool).arg("--version").output().is_ok()
        || Command::new(tool).arg("version").output().is_ok()
}

#[test]
fn serves_https_and_wss_upgrade() {
    if !have("openssl") || !have("curl") {
        eprintln!("SKIPPED: openssl or curl not installed");
        return;
    }
    let dir = std::env::temp_dir().join(format!("acs-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    let ok = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "1", "-subj", "/CN=localhost", "-keyout"])
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .unwrap()
        .status
        .success();
    assert!(ok, "openssl could not make a certificate");
    let svc = Service::start(&[
        "--tls-cert",
        cert.to_str().unwrap(),
        "--tls-key",
        key.to_str().unwrap(),
    ]);
    let base = format!("https://{}", svc.http);
    let health = Command::new("curl")
        .args(["-sk", "--max-time", "5", &format!("{base}/health")])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8_lossy(&health.stdout), "ok");
    let upgrade = Command::new("curl")
        .args(["-sk", "-i", "--http1.1", "--max-time", "2"])
        .args(["-H", "Connection: Upgrade", "-H", "Upgrade: websocket"])
        .args(["-H", "Sec-WebSocket-Version: 13"])
        .args(["-H", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=="])
        .arg(format!("{base}/signaling"))
        .output()
        .unwrap();
    let head = String::from_utf8_lossy(&upgrade.stdout);
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    // Plain http on the TLS port does not work.
    let plain = Command::new("curl")
        .args([
            "-s",
            "--max-time",
            "2",
            &format!("http://{}/health", svc.http),
        ])
        .output()
        .unwrap();
    assert_ne!(String::from_utf8_lossy(&plain.stdout), "ok");
    let _ = std::fs::remove_dir_all(&dir);
}
