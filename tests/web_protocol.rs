//! The browser SDK's copy of the protocol's numbers (web/src/protocol.ts) agrees with the
//! Rust protocol crate and the C header: states, stream kinds and connection states numbered
//! as `include/acscalling.h` says, every end reason of `protocol::EndReason` with the same
//! code and subcode (and no other), the protocol version, slot counts and the echo bot's id.
//! A state or reason added on one side and not the other fails here.

use std::collections::BTreeMap;
use std::path::Path;

fn read(rel: &str) -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(rel))
        .unwrap_or_else(|e| panic!("read {rel}: {e}"))
}

/// `export enum NAME { A = 0, ... }` of protocol.ts: member → value.
fn ts_enum(ts: &str, name: &str) -> BTreeMap<String, i64> {
    let start = ts
        .find(&format!("export enum {name} {{"))
        .unwrap_or_else(|| panic!("protocol.ts has no enum {name}"));
    let body = &ts[start..];
    let body = &body[body.find('{').unwrap() + 1..body.find('}').unwrap()];
    body.split(',')
        .map(str::trim)
        .filter(|m| !m.is_empty())
        .map(|m| {
            let (k, v) = m
                .split_once('=')
                .unwrap_or_else(|| panic!("{name}: member without a value: {m}"));
            (k.trim().to_string(), v.trim().parse().expect("a number"))
        })
        .collect()
}

/// `#define PREFIX<NAME> <value>` of the header: NAME → value.
fn header_consts(h: &str, prefix: &str) -> BTreeMap<String, i64> {
    h.lines()
        .filter_map(|l| l.strip_prefix("#define "))
        .filter_map(|l| l.strip_prefix(prefix))
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

/// `LocalHold` → `LOCAL_HOLD`.
fn upper_snake(camel: &str) -> String {
    let mut out = String::new();
    for (i, c) in camel.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_uppercase());
    }
    out
}

/// A TypeScript `export const NAME = <literal>;` as written.
fn ts_const<'a>(ts: &'a str, name: &str) -> &'a str {
    let at = ts
        .find(&format!("export const {name} = "))
        .unwrap_or_else(|| panic!("protocol.ts has no const {name}"));
    let rest = &ts[at + format!("export const {name} = ").len()..];
    rest[..rest.find(';').unwrap()].trim()
}

#[test]
fn the_browser_sdk_numbers_states_like_the_c_header() {
    let ts = read("web/src/protocol.ts");
    let h = read("include/acscalling.h");
    for (ts_name, prefix) in [
        ("CallState", "ACS_CALL_STATE_"),
        ("ParticipantState", "ACS_PARTICIPANT_STATE_"),
        ("ConnectionState", "ACS_AGENT_CONNECTION_"),
        ("VideoStreamKind", "ACS_VIDEO_STREAM_KIND_"),
    ] {
        let web: BTreeMap<String, i64> = ts_enum(&ts, ts_name)
            .into_iter()
            .map(|(k, v)| (upper_snake(&k), v))
            .collect();
        let c = header_consts(&h, prefix);
        assert!(!c.is_empty(), "the header defines no {prefix}*");
        assert_eq!(
            web, c,
            "web/src/protocol.ts {ts_name} vs {prefix}* of the header"
        );
    }
}

#[test]
fn the_browser_sdk_has_every_end_reason_of_the_protocol_and_no_other() {
    let ts = read("web/src/protocol.ts");
    let rs = read("protocol/src/lib.rs");
    // `    NAME: { code: 0, subcode: 4097 },` inside `export const EndReasons = {`.
    let block = &ts[ts.find("export const EndReasons = {").expect("EndReasons")..];
    let block = &block[..block.find("} as const").expect("end of EndReasons")];
    let web: BTreeMap<String, (i32, i32)> = block
        .lines()
        .filter_map(|l| {
            let (name, rest) = l.trim().split_once(": { code: ")?;
            let (code, rest) = rest.split_once(", subcode: ")?;
            let subcode = rest.split_once(' ')?.0;
            Some((
                name.to_string(),
                (code.parse().ok()?, subcode.parse().ok()?),
            ))
        })
        .collect();
    // `pub const NAME: EndReason = EndReason::new(code, subcode);` in the protocol crate.
    let rust: BTreeMap<String, (i32, i32)> = rs
        .lines()
        .filter_map(|l| {
            let rest = l.trim().strip_prefix("pub const ")?;
            let (name, rest) = rest.split_once(": EndReason = EndReason::new(")?;
            let (code, rest) = rest.split_once(", ")?;
            let subcode = rest.split_once(')')?.0;
            Some((
                name.to_string(),
                (code.parse().ok()?, subcode.parse().ok()?),
            ))
        })
        .collect();
    assert!(
        rust.len() >= 20,
        "read {} end reasons from the protocol crate",
        rust.len()
    );
    assert_eq!(
        web, rust,
        "web/src/protocol.ts EndReasons vs protocol::EndReason"
    );
    // The parse read what the crate means.
    assert_eq!(
        rust["SESSION_LOST"],
        (
            acscalling::protocol::EndReason::SESSION_LOST.code,
            acscalling::protocol::EndReason::SESSION_LOST.subcode
        )
    );
}

#[test]
fn the_browser_sdk_speaks_the_same_protocol_version_slots_and_echo_bot() {
    let ts = read("web/src/protocol.ts");
    use acscalling::protocol as p;
    assert_eq!(
        ts_const(&ts, "PROTOCOL_VERSION"),
        p::PROTOCOL_VERSION.to_string()
    );
    assert_eq!(ts_const(&ts, "AUDIO_SLOTS"), p::AUDIO_SLOTS.to_string());
    assert_eq!(ts_const(&ts, "VIDEO_SLOTS"), p::VIDEO_SLOTS.to_string());
    assert_eq!(
        ts_const(&ts, "ECHO_BOT_ID"),
        format!("\"{}\"", p::ECHO_BOT_ID)
    );
}
