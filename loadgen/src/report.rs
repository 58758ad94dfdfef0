//! The figures of one run and how they are printed: human-readable lines, one JSON line per
//! run (starting with `{`), and a table for a sweep.

use std::fmt::Write as _;

use serde_json::json;

use crate::config::{CallMode, MutedMedia};
use crate::media::LAG_BUCKETS_MS;
use crate::session::Counters;

/// Loud packets (0.5 s of audio) a client must get from a speaker to count as hearing it.
pub const HEARD_MIN_PACKETS: u64 = 25;

/// Signaling message counts over all participants.
#[derive(Debug, Clone, Default)]
pub struct SignalingFigures {
    pub messages: u64,
    pub bytes: u64,
    pub roster: u64,
    pub audio_slots: u64,
    pub dominant_speakers: u64,
    pub call_state: u64,
    pub errors: u64,
    pub undecodable: u64,
    /// Numbered messages that never arrived (gaps in `seq`).
    pub lost: u64,
}

/// Everything measured in one run.
#[derive(Debug, Clone, Default)]
pub struct RunResult {
    pub n: usize,
    pub speakers: usize,
    pub muted: Option<MutedMedia>,
    pub call: Option<CallMode>,
    pub threads: usize,
    pub load_before: Option<f64>,
    pub joined: usize,
    pub failed: usize,
    /// Distinct failure reasons with counts.
    pub failures: Vec<(String, usize)>,
    /// Sorted, in ms: JoinGroupCall sent → media connected.
    pub join_ms: Vec<f64>,
    /// Sorted, in ms: JoinGroupCall sent → Response with the answer.
    pub answer_ms: Vec<f64>,
    pub hold_secs: f64,
    pub service_cpu: Option<f64>,
    pub service_top_thread: Option<(String, f64)>,
    pub service_rss: Option<f64>,
    pub service_threads: Vec<(String, f64)>,
    pub loadgen_cpu: Option<f64>,
    pub loadgen_top_thread: Option<(String, f64)>,
    pub loadgen_rss: Option<f64>,
    /// Counters summed over the sessions present for the whole hold window.
    pub window: Counters,
    /// Sessions evaluated in the window, and how many heard every speaker they should.
    pub evaluated: usize,
    pub heard_all: usize,
    /// Speaker packets that arrived / speaker packets expected (all expected listeners).
    pub speaker_delivery: Option<f64>,
    pub service_udp_drops: Option<u64>,
    pub loadgen_udp_drops: u64,
    pub rcvbuf_errors: Option<u64>,
    pub lag_hist: Vec<u64>,
    pub lag_max_ms: f64,
    /// Worst poll oversleep and loop iteration of the media threads in the window.
    pub oversleep_max_ms: f64,
    pub busy_max_ms: f64,
    pub skipped: u64,
    pub disconnects: usize,
    pub signaling: SignalingFigures,
    /// What the real SDK clients found (`--sdk-clients`).
    pub sdk: Option<crate::sdk_probe::ProbeReport>,
}

/// The `p`-th percentile (0..=100) of sorted values.
pub fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (p / 100.0 * (sorted.len() - 1) as f64).round() as usize;
    sorted.get(rank.min(sorted.len() - 1)).copied()
}

impl RunResult {
    /// Lost packets (end to end) in % of what should have arrived.
    pub fn loss_pct(&self) -> Option<f64> {
        let w = &self.window;
        let total = w.received + w.e2e_lost;
        (total > 0).then(|| w.e2e_lost as f64 * 100.0 / total as f64)
    }

    /// Whether the run "holds": everyone joined, < 1% loss, everyone heard every speaker,
    /// and every real SDK client (if any) heard the speakers' tone.
    pub fn holds(&self) -> bool {
        self.failed == 0
            && self.loss_pct().is_some_and(|l| l < 1.0)
            && self.heard_all == self.evaluated
            && self.evaluated == self.n
            && self
                .sdk
                .as_ref()
                .is_none_or(|p| p.started > 0 && p.heard == p.started)
    }

    /// Whether the load generator itself could not keep its 20 ms clock (ticks skipped).
    pub fn loadgen_fell_behind(&self) -> bool {
        self.skipped > 0
    }

    /// Upper bound of the send-lag bucket holding the 99th percentile (`u64::MAX`: above the
    /// last bound).
    fn lag_p99_ms(&self) -> Option<u64> {
        let total: u64 = self.lag_hist.iter().sum();
        if total == 0 {
            return None;
        }
        let mut acc = 0;
        for (i, c) in self.lag_hist.iter().enumerate() {
            acc += c;
            if acc * 100 >= total * 99 {
                return Some(LAG_BUCKETS_MS.get(i).copied().unwrap_or(u64::MAX));
            }
        }
        None
    }

    /// Human-readable lines.
    pub fn human(&self) -> String {
        let f =
            |v: Option<f64>, unit: &str| v.map_or("n/a".to_string(), |v| format!("{v:.1}{unit}"));
        let thread = |t: &Option<(String, f64)>| {
            t.as_ref().map_or(String::new(), |(n, p)| {
                format!(" (busiest thread {n} {p:.1}%)")
            })
        };
        let mut s = String::new();
        let _ = writeln!(
            s,
            "== N={} speakers={} muted={} call={} media-threads={} (hold {:.1} s; load average before {})",
            self.n,
            self.speakers,
            self.muted.map_or("?", MutedMedia::name),
            self.call.map_or("group", CallMode::name),
            self.threads,
            self.hold_secs,
            f(self.load_before, "")
        );
        let _ = writeln!(
            s,
            "joined {}/{} ({} failed); join (request -> media connected) p50 {}, p95 {}, max {}; answer p50 {}, p95 {}",
            self.joined,
            self.n,
            self.failed,
            f(percentile(&self.join_ms, 50.0), " ms"),
            f(percentile(&self.join_ms, 95.0), " ms"),
            f(percentile(&self.join_ms, 100.0), " ms"),
            f(percentile(&self.answer_ms, 50.0), " ms"),
            f(percentile(&self.answer_ms, 95.0), " ms"),
        );
        for (reason, count) in self.failures.iter().take(5) {
            let _ = writeln!(s, "  failure x{count}: {reason}");
        }
        let _ = writeln!(
            s,
            "service: CPU {} of one core{}, RSS {}, media socket drops {}",
            f(self.service_cpu, "%"),
            thread(&self.service_top_thread),
            f(self.service_rss, " MiB"),
            self.service_udp_drops
                .map_or("n/a".to_string(), |d| d.to_string())
        );
        let _ = writeln!(
            s,
            "loadgen: CPU {}{}, RSS {}, send lag p99 {} ms, max {:.1} ms (worst oversleep {:.1} ms, loop {:.1} ms), skipped ticks {}, socket drops {}, machine RcvbufErrors {}",
            f(self.loadgen_cpu, "%"),
            thread(&self.loadgen_top_thread),
            f(self.loadgen_rss, " MiB"),
            match self.lag_p99_ms() {
                None => "?".to_string(),
                Some(u64::MAX) => format!(">= {}", LAG_BUCKETS_MS[LAG_BUCKETS_MS.len() - 1]),
                Some(v) => format!("< {v}"),
            },
            self.lag_max_ms,
            self.oversleep_max_ms,
            self.busy_max_ms,
            self.skipped,
            self.loadgen_udp_drops,
            self.rcvbuf_errors.map_or("n/a".to_string(), |d| d.to_string())
        );
        let w = &self.window;
        let _ = writeln!(
            s,
            "packets (hold window): sent {}, received {}, lost {} ({}) [SFU->client wire gaps {}], send refused {}, mislabeled {}, unlabeled {}, ICE disconnects {}",
            w.sent,
            w.received,
            w.e2e_lost,
            f(self.loss_pct(), "%"),
            w.wire_lost,
            w.send_drops,
            w.mislabeled,
            w.unlabeled,
            self.disconnects
        );
        let _ = writeln!(
            s,
            "heard every speaker: {}/{} clients (>= {} loud packets from each); speaker delivery {}",
            self.heard_all,
            self.evaluated,
            HEARD_MIN_PACKETS,
            f(self.speaker_delivery.map(|d| d * 100.0), "%")
        );
        if let Some(p) = &self.sdk {
            let _ = writeln!(
                s,
                "SDK clients: {}/{} connected (join p50 {}), heard the speakers' tone {}/{} (tone power {}), dominant speakers + speaking flags right {}/{}{}",
                p.connected,
                p.started,
                f(percentile(&sorted(&p.join_ms), 50.0), " ms"),
                p.heard,
                p.connected,
                p.tone_power
                    .iter()
                    .map(|x| format!("{x:.3}"))
                    .collect::<Vec<_>>()
                    .join(" "),
                p.speakers_ok,
                p.connected,
                if p.errors.is_empty() {
                    String::new()
                } else {
                    format!("; errors: {}", p.errors.join("; "))
                }
            );
        }
        let g = &self.signaling;
        let _ = writeln!(
            s,
            "signaling: {} messages ({:.1} MiB): roster {}, audio_slots {}, dominant_speakers {}, call_state {}, errors {}, undecodable {}, lost {}",
            g.messages,
            g.bytes as f64 / 1048576.0,
            g.roster,
            g.audio_slots,
            g.dominant_speakers,
            g.call_state,
            g.errors,
            g.undecodable,
            g.lost
        );
        let _ = write!(
            s,
            "verdict: {}",
            if self.holds() {
                "HOLDS"
            } else {
                "DOES NOT HOLD"
            }
        );
        s
    }

    /// One JSON object (one line).
    pub fn json(&self) -> String {
        let w = &self.window;
        json!({
            "n": self.n,
            "speakers": self.speakers,
            "muted": self.muted.map(MutedMedia::name),
            "call": self.call.map_or("group", CallMode::name),
            "media_threads": self.threads,
            "load_before": self.load_before,
            "joined": self.joined,
            "failed": self.failed,
            "failures": self.failures.iter().map(|(r, c)| json!({"reason": r, "count": c})).collect::<Vec<_>>(),
            "join_ms": {
                "p50": percentile(&self.join_ms, 50.0),
                "p95": percentile(&self.join_ms, 95.0),
                "max": percentile(&self.join_ms, 100.0),
            },
            "answer_ms": {
                "p50": percentile(&self.answer_ms, 50.0),
                "p95": percentile(&self.answer_ms, 95.0),
            },
            "hold_secs": self.hold_secs,
            "service": {
                "cpu_pct": self.service_cpu,
                "top_thread": self.service_top_thread.as_ref().map(|(n, p)| json!({"name": n, "cpu_pct": p})),
                "threads": self.service_threads.iter().map(|(n, p)| json!({"name": n, "cpu_pct": p})).collect::<Vec<_>>(),
                "rss_mib": self.service_rss,
                "udp_drops": self.service_udp_drops,
            },
            "loadgen": {
                "cpu_pct": self.loadgen_cpu,
                "top_thread": self.loadgen_top_thread.as_ref().map(|(n, p)| json!({"name": n, "cpu_pct": p})),
                "rss_mib": self.loadgen_rss,
                "udp_drops": self.loadgen_udp_drops,
                "send_lag_max_ms": self.lag_max_ms,
                "oversleep_max_ms": self.oversleep_max_ms,
                "loop_max_ms": self.busy_max_ms,
                "send_lag_p99_lt_ms": self.lag_p99_ms().filter(|v| *v != u64::MAX),
                "skipped_ticks": self.skipped,
            },
            "rcvbuf_errors": self.rcvbuf_errors,
            "packets": {
                "sent": w.sent,
                "received": w.received,
                "lost": w.e2e_lost,
                "wire_lost": w.wire_lost,
                "send_refused": w.send_drops,
                "mislabeled": w.mislabeled,
                "unlabeled": w.unlabeled,
            },
            "loss_pct": self.loss_pct(),
            "heard_all": self.heard_all,
            "evaluated": self.evaluated,
            "speaker_delivery": self.speaker_delivery,
            "ice_disconnects": self.disconnects,
            "signaling": {
                "messages": self.signaling.messages,
                "bytes": self.signaling.bytes,
                "roster": self.signaling.roster,
                "audio_slots": self.signaling.audio_slots,
                "dominant_speakers": self.signaling.dominant_speakers,
                "errors": self.signaling.errors,
                "lost": self.signaling.lost,
            },
            "sdk_clients": self.sdk.as_ref().map(|p| json!({
                "started": p.started,
                "connected": p.connected,
                "heard": p.heard,
                "speakers_ok": p.speakers_ok,
                "join_ms": p.join_ms,
                "tone_power": p.tone_power,
                "errors": p.errors,
            })),
            "holds": self.holds(),
            "loadgen_fell_behind": self.loadgen_fell_behind(),
        })
        .to_string()
    }
}

fn sorted(v: &[f64]) -> Vec<f64> {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v
}

/// The sweep table and the largest N that held.
pub fn table(results: &[RunResult]) -> String {
    let f = |v: Option<f64>, p: usize| v.map_or("n/a".to_string(), |v| format!("{v:.p$}"));
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:>5} {:>8} {:>7} {:>9} {:>9} {:>8} {:>9} {:>9} {:>8} {:>8} {:>9} {:>9} {:>6}",
        "N",
        "muted",
        "joined",
        "join p50",
        "join p95",
        "loss %",
        "svc CPU%",
        "svc top%",
        "RSS MiB",
        "lg CPU%",
        "heard all",
        "sdk heard",
        "holds"
    );
    for r in results {
        let _ = writeln!(
            s,
            "{:>5} {:>8} {:>7} {:>9} {:>9} {:>8} {:>9} {:>9} {:>8} {:>8} {:>9} {:>9} {:>6}",
            r.n,
            r.muted.map_or("?", MutedMedia::name),
            format!("{}/{}", r.joined, r.n),
            f(percentile(&r.join_ms, 50.0), 0),
            f(percentile(&r.join_ms, 95.0), 0),
            f(r.loss_pct(), 3),
            f(r.service_cpu, 1),
            f(r.service_top_thread.as_ref().map(|t| t.1), 1),
            f(r.service_rss, 1),
            f(r.loadgen_cpu, 1),
            format!("{}/{}", r.heard_all, r.evaluated),
            r.sdk
                .as_ref()
                .map_or("-".to_string(), |p| format!("{}/{}", p.heard, p.started)),
            match (r.holds(), r.loadgen_fell_behind()) {
                (true, _) => "yes",
                (false, false) => "no",
                (false, true) => "no*",
            }
        );
    }
    let best = results.iter().filter(|r| r.holds()).map(|r| r.n).max();
    if results.iter().any(RunResult::loadgen_fell_behind) {
        let _ = writeln!(
            s,
            "no*: the load generator fell behind its 20 ms clock in that run"
        );
    }
    let _ = write!(
        s,
        "largest N that holds (all joined, < 1% loss, everyone heard every speaker): {}",
        best.map_or("none".to_string(), |n| n.to_string())
    );
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let v = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(percentile(&v, 50.0), Some(3.0));
        assert_eq!(percentile(&v, 100.0), Some(5.0));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn loss_and_verdict() {
        let mut r = RunResult {
            n: 2,
            evaluated: 2,
            heard_all: 2,
            ..RunResult::default()
        };
        r.window.received = 990;
        r.window.e2e_lost = 10;
        assert_eq!(r.loss_pct(), Some(1.0));
        assert!(!r.holds());
        r.window.e2e_lost = 5;
        assert!(r.holds());
        assert!(r.json().starts_with('{'));
        assert!(table(&[r]).contains("largest N that holds"));
    }
}
