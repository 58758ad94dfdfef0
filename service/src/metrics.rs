//! `GET /metrics`: the service's state and traffic in the Prometheus text format (0.0.4),
//! behind the access key like the identity REST API (`Authorization: Bearer <access-key>`;
//! in a Prometheus scrape config: `authorization: { credentials: <access-key> }`).
//!
//! Gauges: live calls, participants by state, participants whose media is connected,
//! signaling connections, resumable sessions waiting, phone legs. Counters: the SFU's
//! datagrams and bytes in and out and the datagrams a full socket buffer dropped; CPU seconds
//! of every service thread by name (the SFU's is `acs-sfu`) and of the process; resident
//! memory.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::identity::authorize;
use crate::protocol::ParticipantState;
use crate::sfu::quality::StreamQuality;
use crate::sfu::SessionId;
use crate::AppState;

pub fn routes() -> Router<Arc<AppState>> {
    Router::new().route("/metrics", get(metrics))
}

async fn metrics(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&state, &headers) {
        return *r;
    }
    let body = render(&state);
    (
        StatusCode::OK,
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response()
}

/// What the hub holds, counted under its lock (one pass over the calls).
struct HubCounts {
    calls: usize,
    participants: BTreeMap<&'static str, usize>,
    media_connected: usize,
    connections: usize,
    phone_legs: usize,
}

fn hub_counts(state: &AppState) -> HubCounts {
    let st = state.hub.state.lock();
    let mut participants = BTreeMap::new();
    let mut media_connected = 0;
    for call in st.calls.values() {
        for p in &call.participants {
            *participants.entry(p.state.as_str()).or_insert(0) += 1;
            media_connected += usize::from(p.media_connected);
        }
    }
    HubCounts {
        calls: st.calls.len(),
        participants,
        media_connected,
        connections: st.conns.len(),
        phone_legs: st.legs.len(),
    }
}

fn render(state: &AppState) -> String {
    let hub = hub_counts(state);
    let mut out = String::with_capacity(4096);
    let mut metric = |name: &str, kind: &str, help: &str, samples: &[(String, f64)]| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        for (labels, value) in samples {
            let _ = writeln!(out, "{name}{labels} {value}");
        }
    };
    let one = |v: f64| vec![(String::new(), v)];
    metric(
        "acs_calls",
        "gauge",
        "Calls the service holds (ringing or connected).",
        &one(hub.calls as f64),
    );
    let by_state: Vec<(String, f64)> = ParticipantState::ALL
        .iter()
        .map(|s| {
            let name = s.as_str();
            let n = hub.participants.get(name).copied().unwrap_or(0);
            (format!("{{state=\"{name}\"}}"), n as f64)
        })
        .collect();
    metric(
        "acs_participants",
        "gauge",
        "Participants of the calls, by state.",
        &by_state,
    );
    metric(
        "acs_participants_media_connected",
        "gauge",
        "Participants whose media path to the SFU is connected.",
        &one(hub.media_connected as f64),
    );
    metric(
        "acs_signaling_connections",
        "gauge",
        "Open signaling WebSocket connections.",
        &one(hub.connections as f64),
    );
    metric(
        "acs_phone_legs",
        "gauge",
        "Phone (SIP) legs of the PSTN gateway.",
        &one(hub.phone_legs as f64),
    );
    let c = state.hub.sfu.counters();
    let counter = |a: &std::sync::atomic::AtomicU64| one(a.load(Relaxed) as f64);
    metric(
        "acs_sfu_datagrams_received_total",
        "counter",
        "Datagrams the SFU read from its media socket (ICE, DTLS, RTP, RTCP).",
        &counter(&c.datagrams_in),
    );
    metric(
        "acs_sfu_received_bytes_total",
        "counter",
        "Bytes the SFU read from its media socket.",
        &counter(&c.bytes_in),
    );
    metric(
        "acs_sfu_datagrams_sent_total",
        "counter",
        "Datagrams the SFU handed to its media socket.",
        &counter(&c.datagrams_out),
    );
    metric(
        "acs_sfu_sent_bytes_total",
        "counter",
        "Bytes the SFU handed to its media socket.",
        &counter(&c.bytes_out),
    );
    metric(
        "acs_sfu_send_dropped_total",
        "counter",
        "Datagrams dropped because the media socket's send buffer was full.",
        &counter(&c.send_dropped),
    );
    // Per stream the SFU receives: labelled by call, participant, kind and m-line.
    let streams = stream_samples(state);
    for (name, kind, help, pick) in [
        (
            "acs_stream_packets_received_total",
            "counter",
            "RTP packets the SFU received on a participant's stream.",
            (|q: &StreamQuality| q.packets as f64) as fn(&StreamQuality) -> f64,
        ),
        (
            "acs_stream_received_bytes_total",
            "counter",
            "Bytes the SFU received on a participant's stream.",
            |q| q.bytes as f64,
        ),
        (
            "acs_stream_jitter_seconds",
            "gauge",
            "Interarrival jitter (RFC 3550) of a participant's stream at the SFU.",
            |q| q.jitter_seconds,
        ),
        (
            "acs_stream_loss_ratio",
            "gauge",
            "Fraction of a participant's packets lost on the way to the SFU (last receiver report).",
            |q| q.loss,
        ),
        (
            "acs_stream_nacks_total",
            "counter",
            "Retransmissions the SFU asked of a participant's stream.",
            |q| q.nacks as f64,
        ),
    ] {
        let samples: Vec<(String, f64)> =
            streams.iter().map(|(l, q)| (l.clone(), pick(q))).collect();
        metric(name, kind, help, &samples);
    }
    let threads: Vec<(String, f64)> = thread_cpu_seconds()
        .into_iter()
        .map(|(name, secs)| (format!("{{thread=\"{}\"}}", escape(&name)), secs))
        .collect();
    metric(
        "acs_thread_cpu_seconds_total",
        "counter",
        "CPU time (user + system) of the service's threads, by thread name (summed over threads of one name).",
        &threads,
    );
    if let Some((cpu, rss)) = process_cpu_and_rss() {
        metric(
            "process_cpu_seconds_total",
            "counter",
            "CPU time (user + system) of the service process.",
            &one(cpu),
        );
        metric(
            "process_resident_memory_bytes",
            "gauge",
            "Resident memory of the service process.",
            &one(rss),
        );
    }
    out
}

/// Each stream the SFU measured, with its labels, in a stable order.
fn stream_samples(state: &AppState) -> Vec<(String, StreamQuality)> {
    let who: HashMap<SessionId, (String, String)> = state.hub.state.lock().sessions.clone();
    let board = state.hub.sfu.quality().lock();
    let mut out: Vec<(String, StreamQuality)> = Vec::new();
    for (session, streams) in board.iter() {
        let Some((call, participant)) = who.get(session) else {
            continue; // a prepared session outside calls, or one leaving
        };
        for (mid, q) in streams {
            let labels = format!(
                "{{call=\"{}\",participant=\"{}\",kind=\"{}\",mid=\"{}\"}}",
                escape(call),
                escape(participant),
                q.kind,
                escape(mid)
            );
            out.push((labels, *q));
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// A label value in the text format: backslash, quote and newline escaped.
fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Clock ticks per second of /proc's CPU times (USER_HZ), from sysconf.
fn ticks_per_sec() -> f64 {
    // SAFETY: sysconf reads a configuration value; it has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        hz as f64
    } else {
        100.0
    }
}

/// Bytes per page of /proc's `statm`, from sysconf.
fn page_size() -> f64 {
    // SAFETY: as in ticks_per_sec.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if size > 0 {
        size as f64
    } else {
        4096.0
    }
}

/// User + system ticks of a /proc `stat` line (fields 14 and 15; the name in parentheses may
/// hold spaces, so fields are counted after its closing parenthesis).
fn stat_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest starts at field 3 (state): utime is field 14 → index 11, stime index 12.
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

/// CPU seconds of this process's threads named `name`, summed (Linux /proc). The threads'
/// ids are remembered, so a caller that samples often (the dashboard, every 2 s) reads only
/// their `stat` files; the list is looked up again when one of them is gone.
pub(crate) fn named_thread_cpu_seconds(name: &str) -> f64 {
    static TIDS: parking_lot::Mutex<BTreeMap<String, Vec<String>>> =
        parking_lot::Mutex::new(BTreeMap::new());
    let hz = ticks_per_sec();
    let read = |tids: &[String]| -> Option<f64> {
        let mut total = 0.0;
        for tid in tids {
            let dir = std::path::Path::new("/proc/self/task").join(tid);
            let comm = std::fs::read_to_string(dir.join("comm")).ok()?;
            if comm.trim() != name {
                return None; // the id was reused by another thread
            }
            let stat = std::fs::read_to_string(dir.join("stat")).ok()?;
            total += stat_ticks(&stat)? as f64 / hz;
        }
        Some(total)
    };
    let mut cache = TIDS.lock();
    if let Some(v) = cache
        .get(name)
        .filter(|t| !t.is_empty())
        .and_then(|t| read(t))
    {
        return v;
    }
    let tids: Vec<String> = std::fs::read_dir("/proc/self/task")
        .into_iter()
        .flatten()
        .flatten()
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name))
        .map(|t| t.file_name().to_string_lossy().into_owned())
        .collect();
    let v = read(&tids).unwrap_or(0.0);
    cache.insert(name.to_string(), tids);
    v
}

/// CPU seconds of each thread of this process, summed by thread name (Linux /proc).
pub(crate) fn thread_cpu_seconds() -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let hz = ticks_per_sec();
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return out;
    };
    for t in tasks.flatten() {
        let dir = t.path();
        let (Ok(name), Ok(stat)) = (
            std::fs::read_to_string(dir.join("comm")),
            std::fs::read_to_string(dir.join("stat")),
        ) else {
            continue;
        };
        if let Some(ticks) = stat_ticks(&stat) {
            *out.entry(name.trim().to_string()).or_insert(0.0) += ticks as f64 / hz;
        }
    }
    out
}

/// The process's CPU seconds and resident bytes (Linux /proc).
fn process_cpu_and_rss() -> Option<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let cpu = stat_ticks(&stat)? as f64 / ticks_per_sec();
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: f64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some((cpu, pages * page_size()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_ticks_are_read_after_a_name_with_spaces_and_parentheses() {
        let line = "1234 (acs sfu (x)) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0 20 0 1 0";
        assert_eq!(stat_ticks(line), Some(300));
        assert_eq!(stat_ticks("garbage"), None);
    }

    #[test]
    fn this_process_has_threads_and_cpu_time() {
        let threads = thread_cpu_seconds();
        assert!(!threads.is_empty());
        assert!(process_cpu_and_rss().is_some_and(|(_, rss)| rss > 0.0));
    }

    #[test]
    fn a_named_threads_cpu_is_read_from_its_remembered_ids() {
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let s = std::sync::Arc::clone(&stop);
        let burner = std::thread::Builder::new()
            .name("acs-test-burn".into())
            .spawn(move || {
                let mut x = 0u64;
                while !s.load(std::sync::atomic::Ordering::Relaxed) {
                    x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
                }
            })
            .unwrap();
        let t0 = std::time::Instant::now();
        // Burn until /proc shows at least 0.05 s (a few ticks), then read it twice more.
        while named_thread_cpu_seconds("acs-test-burn") < 0.05 {
            assert!(t0.elapsed().as_secs() < 20, "the thread's CPU never showed");
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let first = named_thread_cpu_seconds("acs-test-burn");
        std::thread::sleep(std::time::Duration::from_millis(100));
        let again = named_thread_cpu_seconds("acs-test-burn");
        assert!(again >= first, "{first} -> {again}");
        let all = thread_cpu_seconds()["acs-test-burn"];
        assert!((all - again).abs() < 0.5, "{all} vs {again}");
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        burner.join().unwrap();
        // Gone: its id no longer answers, the lookup finds none.
        assert_eq!(named_thread_cpu_seconds("acs-test-burn"), 0.0);
        assert_eq!(named_thread_cpu_seconds("no-such-thread"), 0.0);
    }

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }
}
