//! The service's command line as an operator meets it: help, clear errors for bad values,
//! the environment (`ACS_<FLAG>`), JSON log lines.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn service() -> Command {
    Command::new(env!("CARGO_BIN_EXE_acscalling-service"))
}

#[test]
fn help_lists_the_flags_and_their_environment_names() {
    let out = service().arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8_lossy(&out.stdout);
    for flag in [
        "--config",
        "--listen",
        "--media-port",
        "--sip-trunk",
        "--log-format",
    ] {
        assert!(help.contains(flag), "{flag} missing from\n{help}");
    }
    assert!(help.contains("ACS_MEDIA_PORT"), "{help}");
}

#[test]
fn a_bad_value_is_refused_with_the_flag_named_and_exit_code_2() {
    for (args, env, want) in [
        (vec!["--media-port", "70000"], None, "--media-port"),
        (
            vec!["--forwarded-speakers", "9"],
            None,
            "--forwarded-speakers",
        ),
        (vec!["--bogus"], None, "--bogus"),
        (vec![], Some(("ACS_LISTEN", "nowhere")), "--listen"),
    ] {
        let mut cmd = service();
        cmd.args(&args);
        if let Some((k, v)) = env {
            cmd.env(k, v);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?} {env:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(want), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    }
}

#[test]
fn json_logs_from_the_environment_are_one_object_per_line() {
    let mut child = service()
        .args(["--listen", "127.0.0.1:0", "--database", ":memory:"])
        .env("ACS_ACCESS_KEY", "cli-test-key")
        .env("ACS_LOG_FORMAT", "json")
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let start = Instant::now();
    let mut lines = Vec::new();
    for line in BufReader::new(stderr).lines() {
        let Ok(line) = line else { break };
        lines.push(line);
        if lines.len() >= 3 || start.elapsed() > Duration::from_secs(10) {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(!lines.is_empty(), "no log lines");
    for line in &lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(v["ts"].is_string() && v["level"] == "INFO", "{line}");
        assert!(
            v["target"].as_str().unwrap().starts_with("acscalling"),
            "{line}"
        );
        assert!(!v["msg"].as_str().unwrap().is_empty(), "{line}");
    }
    println!("{}", lines.join("\n"));
}
