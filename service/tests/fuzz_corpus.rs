//! Replays the fuzz targets' committed inputs on stable: every file of the seed corpus
//! (`fuzz/corpus/<target>/`) and of the crashes found (`fuzz/artifacts/<target>/`) goes
//! through the same entry point as the fuzz target (`acscalling_service::fuzzing`), which
//! must not panic. Crashes that needed a fix also have a named case below.

use std::fs;
use std::path::{Path, PathBuf};

use acscalling_protocol::{ClientMessage, ServerMessage};
use acscalling_service::fuzzing;
use acscalling_service::sip::{message, sdp, SrtpPolicy};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The committed inputs of `target`: its seeds and its crash artifacts, if any.
fn inputs(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    for kind in ["corpus", "artifacts"] {
        let Ok(dir) = fs::read_dir(fuzz_dir().join(kind).join(target)) else {
            continue;
        };
        for entry in dir.flatten() {
            let path = entry.path();
            if path.is_file() {
                let data = fs::read(&path).expect("readable corpus file");
                out.push((path, data));
            }
        }
    }
    out.sort();
    out
}

/// Runs every committed input of `target` through `entry`, naming the file that panics.
fn replay(target: &str, entry: fn(&[u8])) {
    let inputs = inputs(target);
    assert!(!inputs.is_empty(), "no corpus for {target}");
    for (path, data) in inputs {
        let run = std::panic::catch_unwind(|| entry(&data));
        assert!(run.is_ok(), "{target}: {} panics", path.display());
    }
}

/// The seeds committed under `fuzz/corpus/<target>/` (not what a local run added).
fn seeds(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    inputs(target)
        .into_iter()
        .filter(|(p, _)| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("seed-"))
        })
        .collect()
}

#[test]
fn signaling_corpus() {
    replay("signaling", fuzzing::signaling);
}

#[test]
fn sip_message_corpus() {
    replay("sip_message", fuzzing::sip_message);
}

#[test]
fn sip_endpoint_corpus() {
    replay("sip_endpoint", fuzzing::sip_endpoint);
}

#[test]
fn sdp_corpus() {
    replay("sdp", fuzzing::sdp);
}

#[test]
fn phone_rtp_corpus() {
    replay("phone_rtp", fuzzing::phone_rtp);
}

#[test]
fn sfu_corpus() {
    replay("sfu", fuzzing::sfu);
}

/// The seeds are valid inputs (a seed the parser refuses starts the fuzzer nowhere).
#[test]
fn seeds_are_valid_inputs() {
    for (path, data) in seeds("signaling") {
        let client = serde_json::from_slice::<ClientMessage>(&data).is_ok();
        let server = serde_json::from_slice::<ServerMessage>(&data).is_ok();
        assert!(client || server, "{} is no message", path.display());
    }
    for (path, data) in seeds("sip_message") {
        assert!(
            message::parse(&data).is_ok(),
            "{} does not parse",
            path.display()
        );
    }
    for (path, data) in seeds("sdp") {
        let text = String::from_utf8(data).expect("SDP seeds are text");
        let rtp = "10.0.0.1:4000".parse().expect("an address");
        assert!(
            sdp::answer_offer(&text, rtp, 1, SrtpPolicy::Off).is_ok(),
            "{} is no offer we answer",
            path.display()
        );
    }
    for target in ["sip_endpoint", "phone_rtp", "sfu"] {
        for (path, data) in seeds(target) {
            let chunks = fuzzing::chunks(&data);
            let whole: usize = chunks.iter().map(|(_, b)| 3 + b.len()).sum();
            assert_eq!(whole, data.len(), "{} is not whole chunks", path.display());
        }
    }
}

/// fuzz/artifacts/sip_message/crash-content-length-overflow: a TCP message whose
/// Content-Length is usize::MAX overflowed the framing's header + body sum (a panic with
/// overflow checks, a wrapped length that cut the stream mid-header without them).
#[test]
fn sip_stream_with_content_length_near_usize_max_is_invalid() {
    let data = b"BYE sip:30 /IPS2.0\r\nl: 18446744073709551615\r\n\r\n";
    assert_eq!(message::frame_stream(data), message::Framing::Invalid);
    let crash = fs::read(fuzz_dir().join("artifacts/sip_message/crash-content-length-overflow"))
        .expect("the crash input is committed");
    assert_eq!(message::frame_stream(&crash), message::Framing::Invalid);
    fuzzing::sip_message(&crash);
}
