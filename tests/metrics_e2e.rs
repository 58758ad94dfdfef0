//! The service's `/metrics` (Prometheus text format) against real calls: it refuses a
//! scrape without the access key, counts calls, participants by state and signaling
//! connections as they come and go, and its SFU traffic counters and the SFU thread's CPU
//! time grow while media flows.

mod common;

use acscalling::protocol::CallState;
use common::party::Party;
use common::{wait_until, Service};
use std::collections::HashMap;
use std::io::{Read, Write};
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

/// Every sample of a scrape: `name{labels}` → value; checks the format on the way.
fn scrape(svc: &Service) -> HashMap<String, f64> {
    let (status, body) = svc.request("GET", "/metrics", "");
    assert_eq!(status, 200, "{body}");
    let mut out = HashMap::new();
    let mut typed = std::collections::HashSet::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("# TYPE name kind");
            assert!(["gauge", "counter"].contains(&kind), "{line}");
            typed.insert(name.to_string());
            continue;
        }
        if line.starts_with('#') || line.is_empty() {
            continue;
        }
        let (key, value) = line.rsplit_once(' ').expect("a sample: name value");
        let name = key.split('{').next().unwrap();
        assert!(typed.contains(name), "sample before its # TYPE: {line}");
        out.insert(key.to_string(), value.parse().expect("a number"));
    }
    out
}

fn get(m: &HashMap<String, f64>, key: &str) -> f64 {
    *m.get(key)
        .unwrap_or_else(|| panic!("no {key} in the scrape: {:?}", m.keys()))
}

#[test]
fn metrics_need_the_access_key_and_count_calls_participants_and_traffic() {
    let svc = Service::start();
    // Without the key, or with another: 401, nothing disclosed.
    let raw = |auth: &str| {
        let mut s = std::net::TcpStream::connect(&svc.http_addr).unwrap();
        write!(
            s,
            "GET /metrics HTTP/1.1\r\nHost: x\r\n{auth}Connection: close\r\n\r\n"
        )
        .unwrap();
        let mut resp = String::new();
        let _ = s.read_to_string(&mut resp);
        resp
    };
    for auth in ["", "Authorization: Bearer not-the-key\r\n"] {
        let resp = raw(auth);
        assert!(resp.starts_with("HTTP/1.1 401"), "{resp}");
        assert!(!resp.contains("acs_calls"), "{resp}");
    }

    let idle = scrape(&svc);
    assert_eq!(get(&idle, "acs_calls"), 0.0);
    assert_eq!(get(&idle, "acs_participants{state=\"Connected\"}"), 0.0);

    let alice = Party::new(&svc, "alice", 440.0, false);
    let bob = Party::new(&svc, "bob", 660.0, true);
    assert!(wait_until(T, || get(
        &scrape(&svc),
        "acs_signaling_connections"
    ) == 2.0));
    let call = alice.call(&bob.id);
    assert!(wait_until(T, || call.state() == CallState::Connected));
    let mut during = scrape(&svc);
    assert!(wait_until(T, || {
        during = scrape(&svc);
        get(&during, "acs_participants_media_connected") == 2.0
    }));
    assert_eq!(get(&during, "acs_calls"), 1.0);
    assert_eq!(get(&during, "acs_participants{state=\"Connected\"}"), 2.0);
    assert_eq!(get(&during, "acs_participants{state=\"Ringing\"}"), 0.0);
    bob.hears(440.0, 0.01).expect("bob hears alice");

    // Media flows: the SFU's counters grow (two Opus streams at 50 packets/s each way).
    std::thread::sleep(Duration::from_secs(1));
    let later = scrape(&svc);
    for key in [
        "acs_sfu_datagrams_received_total",
        "acs_sfu_received_bytes_total",
        "acs_sfu_datagrams_sent_total",
        "acs_sfu_sent_bytes_total",
    ] {
        let (a, b) = (get(&during, key), get(&later, key));
        println!("{key}: {a} -> {b}");
        assert!(b - a >= 50.0, "{key} grew by {} in 1 s of a call", b - a);
    }
    assert_eq!(get(&later, "acs_sfu_send_dropped_total"), 0.0);
    assert!(get(&later, "acs_thread_cpu_seconds_total{thread=\"acs-sfu\"}") >= 0.0);
    assert!(get(&later, "process_cpu_seconds_total") > 0.0);
    assert!(get(&later, "process_resident_memory_bytes") > 1e6);

    // Per stream (str0m's ingress statistics every 2 s): each party's audio m-line, labelled
    // with the call and the participant, with packets, jitter and loss.
    let stream = |m: &HashMap<String, f64>, who: &str, what: &str| {
        m.iter()
            .filter(|(k, _)| {
                k.starts_with(what)
                    && k.contains(&format!("participant=\"{who}\""))
                    && k.contains("kind=\"audio\"")
                    && k.contains(&format!("call=\"{}\"", call.call_id()))
            })
            .map(|(_, v)| *v)
            .fold(None, |a: Option<f64>, v| Some(a.map_or(v, |a| a.max(v))))
    };
    let mut streams = later.clone();
    assert!(wait_until(T, || {
        streams = scrape(&svc);
        [&alice.id, &bob.id].iter().all(|who| {
            stream(&streams, who, "acs_stream_packets_received_total").unwrap_or(0.0) > 50.0
        })
    }));
    for who in [&alice.id, &bob.id] {
        let jitter = stream(&streams, who, "acs_stream_jitter_seconds").expect("jitter");
        let loss = stream(&streams, who, "acs_stream_loss_ratio").expect("loss");
        println!("{who}: jitter {jitter} s, loss {loss}");
        assert!((0.0..0.1).contains(&jitter), "{who}: jitter {jitter}");
        assert!((0.0..=1.0).contains(&loss), "{who}: loss {loss}");
    }

    // The call ends and the parties leave: the gauges come back down.
    call.hang_up(false).unwrap();
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
    assert!(wait_until(T, || get(&scrape(&svc), "acs_calls") == 0.0));
    alice.agent.dispose();
    bob.agent.dispose();
    assert!(wait_until(T, || get(
        &scrape(&svc),
        "acs_signaling_connections"
    ) == 0.0));
    let after = scrape(&svc);
    assert_eq!(get(&after, "acs_participants{state=\"Connected\"}"), 0.0);
    assert_eq!(get(&after, "acs_participants_media_connected"), 0.0);
}
