//! `GET /dashboard`: a page for people — the live calls, their participants and charts of
//! each stream's quality over time, plus the service's load. The page itself holds no data
//! and is served to anyone; it asks for the access key (kept in the tab's `sessionStorage`,
//! or given in the address's fragment `#key=…`, which browsers never send) and polls
//! `GET /dashboard/data` with `Authorization: Bearer <access-key>`, like `/metrics`.
//!
//! The history behind the charts is kept here: every [`SAMPLE_EVERY`] a sampler reads what
//! the SFU measured of each incoming stream (`sfu::quality`) and the hub's roster, and keeps
//! the last [`STREAM_POINTS`] points of each stream (bitrate from the byte counter's
//! growth, loss, jitter) and [`SERVICE_POINTS`] of the service (calls, participants, SFU
//! CPU, traffic). A stream's points go when the stream does.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use parking_lot::Mutex;
use serde::Serialize;

use crate::identity::authorize;
use crate::sfu::quality::{StreamQuality, STATS_INTERVAL};
use crate::sfu::SessionId;
use crate::AppState;

/// How often the sampler adds a point (the SFU's statistics change this often).
pub const SAMPLE_EVERY: Duration = STATS_INTERVAL;
/// Points kept per stream: 3 minutes at one every 2 s.
pub const STREAM_POINTS: usize = 90;
/// Points kept of the service: 10 minutes.
pub const SERVICE_POINTS: usize = 300;

const PAGE: &str = include_str!("dashboard.html");

pub fn routes() -> Router<Arc<AppState>> {
    Router::new()
        .route("/dashboard", get(page))
        .route("/dashboard/data", get(data))
}

async fn page() -> Response {
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
            (header::X_FRAME_OPTIONS, "DENY"),
            (
                header::CONTENT_SECURITY_POLICY,
                "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; \
                 connect-src 'self'; img-src data:",
            ),
        ],
        PAGE,
    )
        .into_response()
}

async fn data(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    if let Err(r) = authorize(&state, &headers) {
        return *r;
    }
    let body = snapshot(&state);
    (
        StatusCode::OK,
        [(header::CACHE_CONTROL, "no-store")],
        axum::Json(body),
    )
        .into_response()
}

/// One point of a stream's chart.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct StreamPoint {
    /// Milliseconds since the Unix epoch.
    pub t: u64,
    /// Received bitrate since the previous point, kbit/s.
    pub kbps: f32,
    /// Fraction lost (0..=1) in the last receiver report.
    pub loss: f32,
    /// Interarrival jitter, ms.
    pub jitter_ms: f32,
}

/// One point of the service's chart.
#[derive(Debug, Clone, Copy, Serialize, PartialEq)]
pub struct ServicePoint {
    pub t: u64,
    pub calls: u32,
    pub participants: u32,
    /// The SFU thread's share of a core since the previous point (0..=1).
    pub sfu_cpu: f32,
    /// SFU traffic in and out since the previous point, kbit/s.
    pub kbps_in: f32,
    pub kbps_out: f32,
}

/// A stream's history: its points and the byte count of the last one.
struct Series {
    points: VecDeque<StreamPoint>,
    bytes: u64,
    at: Instant,
}

/// (session, m-line id)
type StreamKey = (SessionId, String);

/// What the sampler keeps between points.
#[derive(Default)]
struct History {
    service: VecDeque<ServicePoint>,
    streams: HashMap<StreamKey, Series>,
    /// When each live call was first seen (ms since the epoch).
    calls_seen: HashMap<String, u64>,
    /// The previous service sample: when, SFU CPU seconds, bytes in, bytes out.
    last: Option<(Instant, f64, u64, u64)>,
}

/// The dashboard's history, shared by the sampler and the data handler.
#[derive(Default)]
pub struct Dashboard {
    history: Mutex<History>,
}

use crate::protocol::clock::unix_ms;

fn push<T>(q: &mut VecDeque<T>, v: T, cap: usize) {
    if q.len() == cap {
        q.pop_front();
    }
    q.push_back(v);
}

impl Dashboard {
    /// Starts the sampler (ends with the runtime).
    pub fn spawn_sampler(state: &Arc<AppState>) {
        let weak = Arc::downgrade(state);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(SAMPLE_EVERY);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                let Some(state) = weak.upgrade() else { return };
                sample(&state);
            }
        });
    }
}

/// Adds a point to the service's history and to every live stream's.
fn sample(state: &AppState) {
    let now = Instant::now();
    let t = unix_ms();
    let (calls, participants, call_ids): (usize, usize, Vec<String>) = {
        let st = state.hub.state.lock();
        (
            st.calls.len(),
            st.calls.values().map(|c| c.participants.len()).sum(),
            st.calls.keys().cloned().collect(),
        )
    };
    let sfu_cpu = crate::metrics::named_thread_cpu_seconds(crate::sfu::THREAD_NAME);
    let c = state.hub.sfu.counters();
    let (bytes_in, bytes_out) = (c.bytes_in.load(Relaxed), c.bytes_out.load(Relaxed));
    let board: Vec<(StreamKey, u64, StreamQuality)> = {
        let board = state.hub.sfu.quality().lock();
        board
            .iter()
            .flat_map(|(s, streams)| {
                streams
                    .iter()
                    .map(move |(mid, q)| ((*s, mid.clone()), q.bytes, *q))
            })
            .collect()
    };

    let mut h = state.dashboard.history.lock();
    let (cpu_share, kbps_in, kbps_out) = match h.last {
        Some((at, cpu0, in0, out0)) => {
            let secs = now.duration_since(at).as_secs_f64().max(1e-3);
            (
                ((sfu_cpu - cpu0) / secs).max(0.0),
                bytes_in.saturating_sub(in0) as f64 * 8.0 / 1000.0 / secs,
                bytes_out.saturating_sub(out0) as f64 * 8.0 / 1000.0 / secs,
            )
        }
        None => (0.0, 0.0, 0.0),
    };
    h.last = Some((now, sfu_cpu, bytes_in, bytes_out));
    push(
        &mut h.service,
        ServicePoint {
            t,
            calls: calls as u32,
            participants: participants as u32,
            sfu_cpu: cpu_share as f32,
            kbps_in: kbps_in as f32,
            kbps_out: kbps_out as f32,
        },
        SERVICE_POINTS,
    );
    let live: HashSet<String> = call_ids.into_iter().collect();
    h.calls_seen.retain(|id, _| live.contains(id));
    for id in live {
        h.calls_seen.entry(id).or_insert(t);
    }
    let seen: HashSet<StreamKey> = board.iter().map(|(k, _, _)| k.clone()).collect();
    h.streams.retain(|k, _| seen.contains(k));
    for (key, bytes, q) in board {
        let series = h.streams.entry(key).or_insert_with(|| Series {
            points: VecDeque::new(),
            bytes,
            at: now,
        });
        let secs = now.duration_since(series.at).as_secs_f64();
        if secs > 0.0 {
            let kbps = bytes.saturating_sub(series.bytes) as f64 * 8.0 / 1000.0 / secs;
            push(
                &mut series.points,
                StreamPoint {
                    t,
                    kbps: kbps as f32,
                    loss: q.loss as f32,
                    jitter_ms: (q.jitter_seconds * 1000.0) as f32,
                },
                STREAM_POINTS,
            );
        }
        series.bytes = bytes;
        series.at = now;
    }
}

// ---- the data the page polls ----

#[derive(Debug, Serialize)]
pub struct Snapshot {
    pub now: u64,
    pub service: ServiceView,
    pub calls: Vec<CallView>,
}

#[derive(Debug, Serialize)]
pub struct ServiceView {
    pub calls: usize,
    pub participants: usize,
    pub connections: usize,
    pub phone_legs: usize,
    pub history: Vec<ServicePoint>,
}

#[derive(Debug, Serialize)]
pub struct CallView {
    pub id: String,
    pub group: bool,
    /// When the dashboard first saw the call (ms since the epoch; None until sampled).
    pub since: Option<u64>,
    pub participants: Vec<ParticipantView>,
}

#[derive(Debug, Serialize)]
pub struct ParticipantView {
    pub id: String,
    pub display_name: String,
    /// "user", "echo-bot" or "phone".
    pub kind: &'static str,
    pub state: &'static str,
    pub muted: bool,
    pub video: bool,
    pub screen_sharing: bool,
    pub held: bool,
    pub media_connected: bool,
    pub streams: Vec<StreamView>,
}

#[derive(Debug, Serialize)]
pub struct StreamView {
    pub mid: String,
    /// "audio" or "video".
    pub kind: &'static str,
    pub packets: u64,
    pub bytes: u64,
    pub jitter_ms: f64,
    pub loss: f64,
    pub nacks: u64,
    pub history: Vec<StreamPoint>,
}

/// The calls, their participants and streams with their history, and the service's.
pub fn snapshot(state: &AppState) -> Snapshot {
    // The hub's lock, then the SFU board's, then the history's: each taken alone.
    let (mut calls, service_counts, sessions) = {
        let st = state.hub.state.lock();
        let mut sessions: HashMap<(String, String), SessionId> = HashMap::new();
        let calls: Vec<CallView> = st
            .calls
            .iter()
            .map(|(id, call)| CallView {
                id: id.clone(),
                group: call.group,
                since: None,
                participants: call
                    .participants
                    .iter()
                    .map(|p| {
                        if let Some(s) = p.session {
                            sessions.insert((id.clone(), p.id.clone()), s);
                        }
                        ParticipantView {
                            id: p.id.clone(),
                            display_name: p.display_name.clone(),
                            kind: match p.kind {
                                crate::calls::Kind::User => "user",
                                crate::calls::Kind::EchoBot => "echo-bot",
                                crate::calls::Kind::Phone => "phone",
                            },
                            state: p.state.as_str(),
                            muted: p.muted,
                            video: p.video,
                            screen_sharing: p.screen_sharing,
                            held: p.held,
                            media_connected: p.media_connected,
                            streams: Vec::new(),
                        }
                    })
                    .collect(),
            })
            .collect();
        let participants = st.calls.values().map(|c| c.participants.len()).sum();
        (
            calls,
            (st.calls.len(), participants, st.conns.len(), st.legs.len()),
            sessions,
        )
    };
    let board: HashMap<SessionId, Vec<(String, StreamQuality)>> = {
        let board = state.hub.sfu.quality().lock();
        sessions
            .values()
            .filter_map(|s| {
                board.get(s).map(|streams| {
                    let mut v: Vec<(String, StreamQuality)> =
                        streams.iter().map(|(m, q)| (m.clone(), *q)).collect();
                    v.sort_by(|a, b| a.0.cmp(&b.0));
                    (*s, v)
                })
            })
            .collect()
    };
    let h = state.dashboard.history.lock();
    for call in &mut calls {
        call.since = h.calls_seen.get(&call.id).copied();
        for p in &mut call.participants {
            let Some(session) = sessions.get(&(call.id.clone(), p.id.clone())) else {
                continue;
            };
            let Some(streams) = board.get(session) else {
                continue;
            };
            p.streams = streams
                .iter()
                .map(|(mid, q)| StreamView {
                    mid: mid.clone(),
                    kind: q.kind,
                    packets: q.packets,
                    bytes: q.bytes,
                    jitter_ms: q.jitter_seconds * 1000.0,
                    loss: q.loss,
                    nacks: q.nacks,
                    history: h
                        .streams
                        .get(&(*session, mid.clone()))
                        .map(|s| s.points.iter().copied().collect())
                        .unwrap_or_default(),
                })
                .collect();
        }
    }
    // Oldest call first, then by id: a stable order for the page.
    calls.sort_by(|a, b| {
        (a.since.unwrap_or(u64::MAX), &a.id).cmp(&(b.since.unwrap_or(u64::MAX), &b.id))
    });
    let (n_calls, participants, connections, phone_legs) = service_counts;
    Snapshot {
        now: unix_ms(),
        service: ServiceView {
            calls: n_calls,
            participants,
            connections,
            phone_legs,
            history: h.service.iter().copied().collect(),
        },
        calls,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_series_keeps_its_last_points() {
        let mut q = VecDeque::new();
        for i in 0..(STREAM_POINTS + 5) {
            push(&mut q, i, STREAM_POINTS);
        }
        assert_eq!(q.len(), STREAM_POINTS);
        assert_eq!(q.front(), Some(&5));
        assert_eq!(q.back(), Some(&(STREAM_POINTS + 4)));
    }

    #[test]
    fn the_page_asks_for_the_key_and_polls_the_data_with_it() {
        assert!(PAGE.contains("/dashboard/data"));
        assert!(PAGE.contains("Authorization"));
        assert!(PAGE.contains("sessionStorage"));
    }
}
