//! CPU, memory and UDP drop figures from /proc (Linux).

use std::collections::HashMap;
use std::time::Instant;

/// Clock ticks per second of /proc/*/stat times (USER_HZ; 100 on every Linux we run on).
const TICKS_PER_SEC: f64 = 100.0;

/// CPU time of a process and of each of its threads at one instant.
#[derive(Debug, Clone)]
pub struct CpuSample {
    pub at: Instant,
    /// utime + stime of the whole process, in ticks.
    pub total: u64,
    /// Per thread id: (name, ticks).
    pub threads: HashMap<u32, (String, u64)>,
}

/// utime+stime (ticks) and the command name from a `stat` file's text.
fn parse_stat(text: &str) -> Option<(String, u64)> {
    let open = text.find('(')?;
    let close = text.rfind(')')?;
    let name = text.get(open + 1..close)?.to_string();
    let fields: Vec<&str> = text.get(close + 2..)?.split_whitespace().collect();
    // After "pid (comm) ": state is field 3, utime 14, stime 15 (1-based overall).
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some((name, utime + stime))
}

/// Samples `/proc/<pid>` (or `self`).
pub fn sample(pid: Option<u32>) -> Option<CpuSample> {
    let base = match pid {
        Some(p) => format!("/proc/{p}"),
        None => "/proc/self".to_string(),
    };
    let at = Instant::now();
    let (_, total) = parse_stat(&std::fs::read_to_string(format!("{base}/stat")).ok()?)?;
    let mut threads = HashMap::new();
    if let Ok(dir) = std::fs::read_dir(format!("{base}/task")) {
        for entry in dir.flatten() {
            let Some(tid) = entry.file_name().to_str().and_then(|s| s.parse().ok()) else {
                continue;
            };
            if let Some(t) = std::fs::read_to_string(entry.path().join("stat"))
                .ok()
                .and_then(|t| parse_stat(&t))
            {
                threads.insert(tid, t);
            }
        }
    }
    Some(CpuSample { at, total, threads })
}

/// CPU use between two samples, in % of one core, and the busiest thread (name, %).
pub fn cpu_between(a: &CpuSample, b: &CpuSample) -> (f64, Option<(String, f64)>) {
    let secs = b.at.saturating_duration_since(a.at).as_secs_f64().max(1e-3);
    let pct = |ticks: u64| ticks as f64 / TICKS_PER_SEC / secs * 100.0;
    let total = pct(b.total.saturating_sub(a.total));
    let top = b
        .threads
        .iter()
        .map(|(tid, (name, t))| {
            let before = a.threads.get(tid).map_or(0, |x| x.1);
            (name.clone(), pct(t.saturating_sub(before)))
        })
        .max_by(|x, y| x.1.total_cmp(&y.1));
    (total, top)
}

/// Resident set size in MiB (`VmRSS`).
pub fn rss_mib(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(p) => format!("/proc/{p}/status"),
        None => "/proc/self/status".to_string(),
    };
    let text = std::fs::read_to_string(path).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Datagrams dropped per local UDP port (the `drops` column of /proc/net/udp{,6}).
pub fn udp_drops() -> HashMap<u16, u64> {
    let mut out = HashMap::new();
    for file in ["/proc/net/udp", "/proc/net/udp6"] {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        for line in text.lines().skip(1) {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (Some(local), Some(drops)) = (f.get(1), f.last()) else {
                continue;
            };
            let Some(port) = local
                .rsplit(':')
                .next()
                .and_then(|p| u16::from_str_radix(p, 16).ok())
            else {
                continue;
            };
            if let Ok(d) = drops.parse::<u64>() {
                *out.entry(port).or_insert(0) += d;
            }
        }
    }
    out
}

/// Machine-wide UDP receive-buffer errors (`RcvbufErrors` in /proc/net/snmp).
pub fn udp_rcvbuf_errors() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/net/snmp").ok()?;
    let mut udp = text.lines().filter(|l| l.starts_with("Udp:"));
    let names: Vec<&str> = udp.next()?.split_whitespace().collect();
    let values: Vec<&str> = udp.next()?.split_whitespace().collect();
    let i = names.iter().position(|n| *n == "RcvbufErrors")?;
    values.get(i)?.parse().ok()
}

/// The 1-minute load average.
pub fn load_average() -> Option<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_stat_with_spaces_in_the_name() {
        let s = "42 (tokio runtime) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 3 0 1 2 3";
        assert_eq!(parse_stat(s), Some(("tokio runtime".into(), 300)));
    }

    #[test]
    fn samples_self() {
        let a = sample(None).expect("sample");
        assert!(!a.threads.is_empty());
        assert!(rss_mib(None).is_some_and(|r| r > 0.0));
    }
}
