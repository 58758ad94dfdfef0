//! One run: ramp N participants into the call, let it settle, measure over the hold window,
//! leave, and compute the [`RunResult`].

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use str0m::config::DtlsCert;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::audio::{Frames, TICKS_PER_FRAME};
use crate::config::{CallMode, Config, MutedMedia};
use crate::media::{MediaCmd, MediaEvent, MediaThread, ThreadSnapshot};
use crate::procstat;
use crate::report::{RunResult, SignalingFigures, HEARD_MIN_PACKETS};
use crate::session::{expected_speakers, Counters};
use crate::signaling::{participant, RunCtx};

/// The service a run talks to.
pub struct Endpoint {
    pub http: String,
    pub pid: Option<u32>,
    pub media: Option<SocketAddr>,
}

/// What the run learnt from events so far.
#[derive(Default)]
struct Progress {
    connected: HashMap<usize, Duration>,
    answered: Vec<f64>,
    failed: HashMap<usize, String>,
    disconnected: HashSet<usize>,
}

impl Progress {
    fn on(&mut self, ev: MediaEvent) {
        match ev {
            MediaEvent::Answered { after } => self.answered.push(after.as_secs_f64() * 1e3),
            MediaEvent::Connected { idx, join } => {
                self.connected.insert(idx, join);
            }
            MediaEvent::Disconnected { idx } => {
                self.disconnected.insert(idx);
            }
            MediaEvent::Failed { idx, reason } => {
                self.failed.entry(idx).or_insert(reason);
            }
        }
    }
}

/// How often a progress line goes to stderr while a run joins and holds.
const PROGRESS_EVERY: Duration = Duration::from_secs(1);

/// One progress line on stderr (stdout keeps the report and the JSON lines).
fn progress(n: usize, phase: &str, p: &Progress, ctx: &RunCtx, loss: Option<(u64, u64)>) {
    use std::sync::atomic::Ordering::Relaxed;
    let loss = match loss {
        Some((lost, total)) if total > 0 => format!(
            ", loss so far {:.2}% ({lost}/{total} packets)",
            lost as f64 * 100.0 / total as f64
        ),
        _ => String::new(),
    };
    eprintln!(
        "[N={n}] {phase}: {} connected, {} failed, {} signaling messages ({} lost){loss}",
        p.connected.len(),
        p.failed.len(),
        ctx.stats.messages.load(Relaxed),
        ctx.stats.lost.load(Relaxed),
    );
}

/// Lost and expected packets so far (end to end, every session).
fn loss_so_far(snaps: &[ThreadSnapshot]) -> (u64, u64) {
    snaps
        .iter()
        .flat_map(|s| s.sessions.iter())
        .fold((0, 0), |(l, t), (_, c)| {
            (l + c.e2e_lost, t + c.received + c.e2e_lost)
        })
}

/// Handles events until `until`.
async fn drain_until(
    rx: &mut mpsc::UnboundedReceiver<MediaEvent>,
    p: &mut Progress,
    until: Instant,
) {
    while let Ok(Some(ev)) = tokio::time::timeout_at(until, rx.recv()).await {
        p.on(ev);
    }
}

async fn snapshot(threads: &[MediaThread]) -> Vec<ThreadSnapshot> {
    let mut out = Vec::new();
    for t in threads {
        let (reply, rx) = oneshot::channel();
        t.send(MediaCmd::Snapshot { reply });
        if let Ok(s) = rx.await {
            out.push(s);
        }
    }
    out
}

/// Runs `n` participants once.
pub async fn run_once(
    cfg: &Config,
    ep: &Endpoint,
    n: usize,
    muted: MutedMedia,
    frames: Arc<Frames>,
    cert: DtlsCert,
) -> Result<RunResult, String> {
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel();
    let mut threads = Vec::new();
    for i in 0..cfg.threads {
        threads.push(
            MediaThread::spawn(i, Arc::clone(&frames), ev_tx.clone())
                .map_err(|e| format!("media thread: {e}"))?,
        );
    }
    let group_id = cfg
        .group_id
        .clone()
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let ctx = Arc::new(RunCtx {
        http: ep.http.clone(),
        key: cfg.access_key.clone(),
        call: cfg.call,
        group_id,
        // Pairs: every caller speaks as speaker 0 (its callee hears only it).
        speakers: if cfg.call == CallMode::Pairs {
            1
        } else {
            cfg.speakers.min(n)
        },
        muted,
        local_ip: cfg.local_ip,
        cert,
        media: threads.iter().map(MediaThread::link).collect(),
        speaker_ids: Mutex::new(HashMap::new()),
        stats: Default::default(),
        last_seq: (0..n).map(|_| AtomicU64::new(0)).collect(),
        callees: (0..n.div_ceil(2)).map(|_| OnceLock::new()).collect(),
        media_addr: OnceLock::new(),
        events: ev_tx,
    });
    let load_before = procstat::load_average();
    let (stop_tx, stop_rx) = watch::channel(false);
    let t0 = Instant::now() + Duration::from_millis(100);
    let mut tasks = JoinSet::new();
    for idx in 0..n {
        let start = t0 + Duration::from_secs_f64(idx as f64 / cfg.ramp_per_sec);
        tasks.spawn(participant(Arc::clone(&ctx), idx, start, stop_rx.clone()));
    }
    let ramp_end = t0 + Duration::from_secs_f64(n as f64 / cfg.ramp_per_sec);
    let join_deadline = ramp_end + cfg.join_timeout;
    let mut p = Progress::default();
    let mut next_line = Instant::now() + PROGRESS_EVERY;
    while p.connected.len() + p.failed.len() < n {
        match tokio::time::timeout_at(join_deadline.min(next_line), ev_rx.recv()).await {
            Ok(Some(ev)) => p.on(ev),
            Ok(None) => break,
            Err(_) if Instant::now() >= join_deadline => break,
            Err(_) => {}
        }
        if Instant::now() >= next_line {
            progress(n, "joining", &p, &ctx, None);
            next_line += PROGRESS_EVERY;
        }
    }
    progress(n, "joined", &p, &ctx, None);
    let settle_end = Instant::now() + cfg.settle;
    drain_until(&mut ev_rx, &mut p, settle_end).await;

    // Hold window.
    let svc_a = procstat::sample(ep.pid);
    let own_a = procstat::sample(None);
    let drops_a = procstat::udp_drops();
    let rcvbuf_a = procstat::udp_rcvbuf_errors();
    let snap_a = snapshot(&threads).await;
    let hold_end = Instant::now() + cfg.hold;
    let probes = start_probes(cfg, &ctx);
    let mut tick = Instant::now();
    // A snapshot resets the threads' "worst since the previous snapshot" figures: the
    // progress snapshots' worst are kept and folded into the window's last one.
    let mut worst: Vec<(Duration, Duration, Duration)> = vec![Default::default(); threads.len()];
    while tick < hold_end {
        tick = (tick + PROGRESS_EVERY).min(hold_end);
        drain_until(&mut ev_rx, &mut p, tick).await;
        if tick >= hold_end {
            break;
        }
        let snaps = snapshot(&threads).await;
        for (w, s) in worst.iter_mut().zip(&snaps) {
            *w = (
                w.0.max(s.lag_max),
                w.1.max(s.oversleep_max),
                w.2.max(s.busy_max),
            );
        }
        let (lost_b, total_b) = loss_so_far(&snaps);
        let (lost_a, total_a) = loss_so_far(&snap_a);
        let phase = format!(
            "holding {:.0}/{:.0} s",
            cfg.hold.saturating_sub(hold_end - tick).as_secs_f64(),
            cfg.hold.as_secs_f64()
        );
        let window = (
            lost_b.saturating_sub(lost_a),
            total_b.saturating_sub(total_a),
        );
        progress(n, &phase, &p, &ctx, Some(window));
    }
    let mut snap_b = snapshot(&threads).await;
    for (s, w) in snap_b.iter_mut().zip(&worst) {
        s.lag_max = s.lag_max.max(w.0);
        s.oversleep_max = s.oversleep_max.max(w.1);
        s.busy_max = s.busy_max.max(w.2);
    }
    let svc_b = procstat::sample(ep.pid);
    let own_b = procstat::sample(None);
    let drops_b = procstat::udp_drops();
    let rcvbuf_b = procstat::udp_rcvbuf_errors();
    let service_rss = procstat::rss_mib(ep.pid);
    let loadgen_rss = procstat::rss_mib(None);
    let hold_secs = match (&svc_a, &svc_b, &own_a, &own_b) {
        (Some(a), Some(b), _, _) | (_, _, Some(a), Some(b)) => {
            b.at.saturating_duration_since(a.at).as_secs_f64()
        }
        _ => cfg.hold.as_secs_f64(),
    };

    let sdk = match probes {
        Some(Ok(h)) => Some(
            tokio::task::spawn_blocking(move || h.join())
                .await
                .ok()
                .and_then(Result::ok)
                .unwrap_or_else(|| crate::sdk_probe::ProbeReport {
                    errors: vec!["the SDK probe thread panicked".into()],
                    ..Default::default()
                }),
        ),
        Some(Err(e)) => Some(crate::sdk_probe::ProbeReport {
            errors: vec![format!("cannot start the SDK probes: {e}")],
            ..Default::default()
        }),
        None => None,
    };

    // Leave.
    let _ = stop_tx.send(true);
    let leave_deadline = Instant::now() + Duration::from_secs(15);
    while let Ok(Some(_)) = tokio::time::timeout_at(leave_deadline, tasks.join_next()).await {}
    tasks.abort_all();
    while let Ok(ev) = ev_rx.try_recv() {
        p.on(ev);
    }
    for t in threads {
        t.stop();
    }

    // Figures.
    let mut r = RunResult {
        n,
        speakers: ctx.speakers,
        muted: Some(muted),
        call: Some(cfg.call),
        threads: cfg.threads,
        load_before,
        hold_secs,
        service_rss,
        loadgen_rss,
        disconnects: p.disconnected.len(),
        sdk,
        ..RunResult::default()
    };
    r.joined = p.connected.len();
    let mut reasons: HashMap<String, usize> = HashMap::new();
    for idx in 0..n {
        if p.connected.contains_key(&idx) {
            continue;
        }
        let why = p
            .failed
            .get(&idx)
            .cloned()
            .unwrap_or_else(|| "media not connected before the join timeout".into());
        *reasons.entry(why).or_insert(0) += 1;
    }
    r.failed = n - r.joined;
    r.failures = reasons.into_iter().collect();
    r.failures.sort_by_key(|f| std::cmp::Reverse(f.1));
    r.join_ms = p
        .connected
        .values()
        .map(|d| d.as_secs_f64() * 1e3)
        .collect();
    r.join_ms.sort_by(f64::total_cmp);
    r.answer_ms = p.answered;
    r.answer_ms.sort_by(f64::total_cmp);
    if let (Some(a), Some(b)) = (&svc_a, &svc_b) {
        let (total, top) = procstat::cpu_between(a, b);
        r.service_cpu = Some(total);
        r.service_top_thread = top;
        r.service_threads = busiest_threads(a, b);
    }
    if let (Some(a), Some(b)) = (&own_a, &own_b) {
        let (total, top) = procstat::cpu_between(a, b);
        r.loadgen_cpu = Some(total);
        r.loadgen_top_thread = top;
    }
    window_counters(&mut r, &ctx, &snap_a, &snap_b);
    let media_port = ep
        .media
        .or_else(|| ctx.media_addr.get().copied())
        .map(|a| a.port());
    r.service_udp_drops = media_port.map(|port| {
        let get = |m: &HashMap<u16, u64>| m.get(&port).copied().unwrap_or(0);
        get(&drops_b).saturating_sub(get(&drops_a))
    });
    let ours: HashSet<u16> = snap_b
        .iter()
        .flat_map(|s| s.ports.iter().copied())
        .collect();
    r.loadgen_udp_drops = ours
        .iter()
        .map(|port| {
            let get = |m: &HashMap<u16, u64>| m.get(port).copied().unwrap_or(0);
            get(&drops_b).saturating_sub(get(&drops_a))
        })
        .sum();
    r.rcvbuf_errors = rcvbuf_a.zip(rcvbuf_b).map(|(a, b)| b.saturating_sub(a));
    let s = &ctx.stats;
    let ld = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
    r.signaling = SignalingFigures {
        messages: ld(&s.messages),
        bytes: ld(&s.bytes),
        roster: ld(&s.roster),
        audio_slots: ld(&s.audio_slots),
        dominant_speakers: ld(&s.dominant_speakers),
        call_state: ld(&s.call_state),
        errors: ld(&s.errors),
        undecodable: ld(&s.undecodable),
        lost: ld(&s.lost),
    };
    Ok(r)
}

/// Starts `--sdk-clients` real SDK clients in a group call (they listen for a third of the
/// hold window, at least 2 s).
fn start_probes(
    cfg: &Config,
    ctx: &RunCtx,
) -> Option<std::io::Result<std::thread::JoinHandle<crate::sdk_probe::ProbeReport>>> {
    if cfg.sdk_clients == 0 || cfg.call != CallMode::Group {
        return None;
    }
    let mut speakers: Vec<(usize, String)> = ctx
        .speaker_ids
        .lock()
        .map(|m| m.iter().map(|(id, k)| (*k, id.clone())).collect())
        .unwrap_or_default();
    speakers.sort();
    Some(crate::sdk_probe::spawn(crate::sdk_probe::ProbeConfig {
        http: ctx.http.clone(),
        key: ctx.key.clone(),
        group_id: ctx.group_id.clone(),
        clients: cfg.sdk_clients,
        speakers: speakers.into_iter().map(|(_, id)| id).collect(),
        listen: (cfg.hold / 3).max(Duration::from_secs(2)),
    }))
}

/// Service threads by CPU use over the window (busiest first, those above 1%).
fn busiest_threads(a: &procstat::CpuSample, b: &procstat::CpuSample) -> Vec<(String, f64)> {
    let secs = b.at.saturating_duration_since(a.at).as_secs_f64().max(1e-3);
    let mut v: Vec<(String, f64)> = b
        .threads
        .iter()
        .map(|(tid, (name, t))| {
            let before = a.threads.get(tid).map_or(0, |x| x.1);
            (
                name.clone(),
                t.saturating_sub(before) as f64 / 100.0 / secs * 100.0,
            )
        })
        .filter(|(_, p)| *p >= 1.0)
        .collect();
    v.sort_by(|x, y| y.1.total_cmp(&x.1));
    v
}

/// Sums hold-window counters over sessions present in both snapshots and decides who heard
/// every speaker it should.
fn window_counters(r: &mut RunResult, ctx: &RunCtx, a: &[ThreadSnapshot], b: &[ThreadSnapshot]) {
    let before: HashMap<usize, &Counters> = a
        .iter()
        .flat_map(|s| s.sessions.iter().map(|(i, c)| (*i, c)))
        .collect();
    let echo = ctx.call == CallMode::Echo;
    let mut total = Counters::default();
    let mut expected_packets = 0.0;
    let mut delivered = 0u64;
    let per_speaker = r.hold_secs * 1000.0 / (TICKS_PER_FRAME as f64 / 48.0);
    for (idx, c) in b.iter().flat_map(|s| s.sessions.iter()) {
        let Some(c0) = before.get(idx) else {
            continue;
        };
        let d = c.since(c0);
        total.sent += d.sent;
        total.received += d.received;
        total.wire_lost += d.wire_lost;
        total.e2e_lost += d.e2e_lost;
        total.mislabeled += d.mislabeled;
        total.unlabeled += d.unlabeled;
        total.send_drops += d.send_drops;
        r.evaluated += 1;
        let expected = expected_speakers(ctx.role(*idx), ctx.speakers, echo);
        expected_packets += expected.len() as f64 * per_speaker;
        delivered += expected
            .iter()
            .map(|k| d.heard.get(*k).copied().unwrap_or(0))
            .sum::<u64>();
        if expected
            .iter()
            .all(|k| d.heard.get(*k).copied().unwrap_or(0) >= HEARD_MIN_PACKETS)
        {
            r.heard_all += 1;
        }
    }
    r.window = total;
    r.speaker_delivery = (expected_packets > 0.0).then(|| delivered as f64 / expected_packets);
    let mut hist = vec![0u64; crate::media::LAG_BUCKETS_MS.len() + 1];
    for (sb, sa) in b.iter().zip(a.iter()) {
        for (i, h) in hist.iter_mut().enumerate() {
            *h += sb.lag_hist[i].saturating_sub(sa.lag_hist[i]);
        }
        r.skipped += sb.skipped.saturating_sub(sa.skipped);
        r.lag_max_ms = r.lag_max_ms.max(sb.lag_max.as_secs_f64() * 1e3);
        r.oversleep_max_ms = r.oversleep_max_ms.max(sb.oversleep_max.as_secs_f64() * 1e3);
        r.busy_max_ms = r.busy_max_ms.max(sb.busy_max.as_secs_f64() * 1e3);
    }
    r.lag_hist = hist;
}
