//! The service's `/dashboard` in real Chromium: the page holds no data and its data needs the
//! access key; with the key (given in the address's fragment) it shows a live call of two
//! native parties — both participants, their state and mute flag, each stream's bitrate,
//! loss and jitter charted over time — and the call going away when it ends. A wrong key
//! brings up the key form with the service's reason. A screenshot of the page with the call
//! is kept as a test artefact (`<target>/tmp/dashboard.png`).
//!
//! Needs `scripts/setup.sh` (chromium, web/node_modules).
mod common;

use acscalling::protocol::CallState;
use common::browser::*;
use common::party::Party;
use common::{wait_until, ACCESS_KEY};
use serde_json::{json, Value};
use std::io::{Read, Write};
use std::time::Duration;

/// `GET path` with `auth` (a whole header line or nothing): status line and body.
fn raw_get(svc: &common::Service, path: &str, auth: &str) -> (String, String) {
    let mut s = std::net::TcpStream::connect(&svc.http_addr).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    let _ = s.read_to_string(&mut resp);
    let (head, body) = resp.split_once("\r\n\r\n").unwrap_or((&resp, ""));
    (
        head.lines().next().unwrap_or("").to_string(),
        body.to_string(),
    )
}

fn data(svc: &common::Service) -> Value {
    let (status, body) = svc.request("GET", "/dashboard/data", "");
    assert_eq!(status, 200, "{body}");
    serde_json::from_str(&body).expect("JSON")
}

/// The participants of the one call in `d` that have at least `points` points of history
/// on every stream, and at least one stream each.
fn charted(d: &Value, points: usize) -> usize {
    d["calls"][0]["participants"]
        .as_array()
        .map(|ps| {
            ps.iter()
                .filter(|p| {
                    let s = p["streams"].as_array().unwrap();
                    !s.is_empty()
                        && s.iter()
                            .all(|s| s["history"].as_array().unwrap().len() >= points)
                })
                .count()
        })
        .unwrap_or(0)
}

/// Counts a canvas's pixels that are not its background (the drawn grid and lines).
const INKED: &str = "(sel) => { const c = document.querySelector(sel); if (!c) return -1; \
  const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data; let n = 0; \
  for (let i = 0; i < d.length; i += 4) if (d[i + 3] > 0 && !(d[i] > 220 && d[i + 1] > 220 && d[i + 2] > 220)) n++; \
  return n; }";

#[test]
fn the_dashboard_shows_live_calls_with_quality_charts_behind_the_access_key() {
    let svc = service();
    // The page is public and holds nothing; the data is behind the key.
    let (status, page) = raw_get(&svc, "/dashboard", "");
    assert!(status.contains(" 200"), "{status}");
    assert!(page.contains("/dashboard/data") && !page.contains(ACCESS_KEY));
    for auth in ["", "Authorization: Bearer not-the-key\r\n"] {
        let (status, body) = raw_get(&svc, "/dashboard/data", auth);
        assert!(status.contains(" 401"), "{status} {body}");
        assert!(!body.contains("calls\""), "{body}");
    }
    assert_eq!(data(&svc)["calls"], json!([]));

    let alice = Party::new(&svc, "Alice", NATIVE_HZ, false);
    let bob = Party::new(&svc, "Bob", BROWSER_HZ, true);
    let call = alice.call(&bob.id);
    assert!(wait_until(T, || call.state() == CallState::Connected));
    bob.hears(NATIVE_HZ, 0.01).expect("Bob hears Alice");
    call.set_muted(true).unwrap();
    // Three samples (2 s apart) of both parties' streams.
    assert!(
        wait_until(Duration::from_secs(30), || charted(&data(&svc), 3) == 2),
        "the data holds no history of both parties' streams: {:#}",
        data(&svc)
    );
    let d = data(&svc);
    let c = &d["calls"][0];
    assert_eq!(d["service"]["calls"], json!(1));
    assert_eq!(c["group"], json!(false));
    let who = |id: &str| {
        c["participants"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["id"] == json!(id))
            .unwrap_or_else(|| panic!("{id} not in {c:#}"))
            .clone()
    };
    let (a, b) = (who(&alice.id), who(&bob.id));
    assert_eq!(a["display_name"], json!("Alice"));
    assert_eq!(a["muted"], json!(true));
    assert_eq!(b["muted"], json!(false));
    for p in [&a, &b] {
        assert_eq!(p["state"], json!("Connected"), "{p:#}");
        assert_eq!(p["media_connected"], json!(true), "{p:#}");
        let audio = p["streams"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["kind"] == json!("audio"))
            .unwrap_or_else(|| panic!("no audio stream: {p:#}"))
            .clone();
        // Bob's audio is a tone at ~30 kbit/s; Alice is muted (a few silence frames), so
        // only Bob's packets and bitrate are bounded from below.
        assert!(audio["packets"].as_u64().unwrap() > 10, "{audio:#}");
        let last = audio["history"].as_array().unwrap().last().unwrap().clone();
        assert!(last["loss"].as_f64().unwrap() < 0.05, "{audio:#}");
        if p["id"] == json!(bob.id) {
            assert!(audio["packets"].as_u64().unwrap() > 100, "{audio:#}");
            assert!(last["kbps"].as_f64().unwrap() > 8.0, "{audio:#}");
        }
    }
    let history = d["service"]["history"].as_array().unwrap();
    assert!(history.len() >= 3, "{history:?}");
    assert!(history.last().unwrap()["participants"] == json!(2));
    assert!(history.last().unwrap()["kbps_in"].as_f64().unwrap() > 8.0);

    // The page, with the key in the fragment.
    let mut b = Browsers::start();
    b.open(
        "ops",
        &format!("http://{}/dashboard#key={ACCESS_KEY}", svc.http_addr),
        440.0,
    );
    let rows = b.wait_for(
        "ops",
        "(ids) => { const s = document.querySelector('section.call'); if (!s) return false; \
         const n = ids.filter((id) => s.querySelector(`tr[data-participant=\"${id}\"]`)).length; \
         const pts = [...s.querySelectorAll('canvas[data-chart=kbps]')].map((c) => Number(c.dataset.points || 0)); \
         return n === 2 && pts.length >= 2 && pts.every((p) => p >= 3) ? { n, pts } : false; }",
        json!([alice.id, bob.id]),
        T,
    );
    println!("dashboard rows: {rows}");
    let shown = b.eval(
        "ops",
        "async () => ({ url: location.href, calls: document.getElementById('nCalls').textContent, \
         text: document.querySelector('section.call').innerText, \
         form: document.getElementById('keyForm').hidden })",
        json!(null),
    );
    assert!(
        !shown["url"].as_str().unwrap().contains(ACCESS_KEY),
        "the key stays in the address: {shown}"
    );
    assert_eq!(shown["calls"], json!("1"));
    assert_eq!(shown["form"], json!(true));
    let text = shown["text"].as_str().unwrap();
    for needle in ["Alice", "Bob", "Connected", "muted", "unmuted", "audio"] {
        assert!(text.contains(needle), "{needle} not shown: {text}");
    }
    // The charts are drawn: lines, not an empty canvas.
    let bob_kbps = format!(
        "tr[data-participant=\"{}\"] [data-kind=audio] canvas[data-chart=kbps]",
        bob.id
    );
    let inked = b.eval("ops", INKED, json!(bob_kbps));
    assert!(
        inked.as_i64().unwrap() > 100,
        "Bob's bitrate chart: {inked} pixels drawn"
    );
    let service_inked = b.eval("ops", INKED, json!("#serviceChart"));
    assert!(
        service_inked.as_i64().unwrap() > 200,
        "service chart: {service_inked}"
    );
    let shot = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("dashboard.png");
    b.screenshot("ops", &shot);
    let png = std::fs::read(&shot).expect("the screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{}",
        png.len()
    );
    println!("dashboard screenshot: {}", shot.display());

    // The call ends: the page says so at its next poll.
    call.hang_up(false).unwrap();
    b.wait_for(
        "ops",
        "() => !document.querySelector('section.call') && document.getElementById('nCalls').textContent === '0'",
        json!(null),
        T,
    );
    assert_eq!(data(&svc)["calls"], json!([]));

    // A wrong key: the key form, with the service's reason; the board stays hidden.
    b.open(
        "intruder",
        &format!("http://{}/dashboard#key=not-the-key", svc.http_addr),
        440.0,
    );
    let refused = b.wait_for(
        "intruder",
        "() => !document.getElementById('keyForm').hidden && document.getElementById('keyError').textContent",
        json!(null),
        T,
    );
    assert_eq!(refused, json!("invalid access key"));
    let hidden = b.eval(
        "intruder",
        "async () => document.getElementById('board').hidden",
        json!(null),
    );
    assert_eq!(hidden, json!(true));
    // Typing the right key shows the board.
    b.fill("intruder", "#key", ACCESS_KEY);
    b.click("intruder", "#keySubmit");
    b.wait_for(
        "intruder",
        "() => !document.getElementById('board').hidden && document.body.dataset.updates",
        json!(null),
        T,
    );
}
