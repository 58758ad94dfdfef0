//! Prints what churn costs and whether it comes back: 1000 echo calls placed and ended, and
//! 100 clients created and released, through the C ABI in one process. RSS (after
//! malloc_trim), threads, descriptors, UDP/TCP sockets and live handles before and after,
//! calls per second and the median call setup time. Not a pass/fail test (tests/churn.rs
//! is).
//!
//!     cargo bench --workspace --bench churn                 # 1000 calls, 100 clients, 2 lanes
//!     cargo bench --workspace --bench churn -- 200 20 4     # calls, clients, parallel lanes

#[path = "../tests/common/churn.rs"]
mod churn;
#[path = "../tests/common/mod.rs"]
mod common;

use common::Service;
use std::time::Duration;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let calls = args.first().copied().unwrap_or(1000);
    let clients = args.get(1).copied().unwrap_or(100);
    let lanes = args.get(2).copied().unwrap_or(2).max(1);
    // One agent placing and ending ~40 calls a second is far past the per-connection
    // signaling rate limit a real user gets (20 msg/s, burst 100): this measures leaks, not
    // the limiter.
    let svc = Service::start_with(&["--signaling-rate-limit", "0", "--rest-rate-limit", "0"]);
    let mut token = || svc.token(&svc.create_user());

    // Warm-up (process-lifetime state: handle table, crypto provider, codec tables).
    churn::run(&svc.ws_url, &mut token, lanes, lanes * 2, 2);
    let before = churn::settle(&churn::gauges(), Duration::from_secs(5));
    let run = churn::run(&svc.ws_url, &mut token, lanes, calls, clients);
    let after = churn::settle(&before, Duration::from_secs(15));

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let pct = |p: f64| {
        let i = ((run.setups.len() as f64 - 1.0) * p).round() as usize;
        run.setups.get(i).map_or(0.0, |d| ms(*d))
    };
    println!(
        "churn: {calls} echo calls on {lanes} lanes, then {clients} clients created and released"
    );
    println!("  before: {before}");
    println!("  after:  {after}");
    println!(
        "  RSS delta: {:+.1} MiB ({:+.1} KiB per call)",
        (after.rss_kib as f64 - before.rss_kib as f64) / 1024.0,
        (after.rss_kib as f64 - before.rss_kib as f64) / calls.max(1) as f64
    );
    println!(
        "  calls: {:.1} s, {:.2} calls/s; setup median {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        run.calls_elapsed.as_secs_f64(),
        run.calls_per_second(),
        ms(run.median_setup()),
        pct(0.9),
        pct(1.0)
    );
    println!(
        "  clients: {:.1} s, {:.1} ms per client (create, connect, release)",
        run.clients_elapsed.as_secs_f64(),
        ms(run.clients_elapsed) / clients.max(1) as f64
    );
    let back = after.threads <= before.threads
        && after.fds <= before.fds
        && after.udp <= before.udp
        && after.tcp <= before.tcp
        && after.handles == 0;
    println!(
        "  threads, fds, sockets and handles back to the start: {}",
        if back { "yes" } else { "NO" }
    );
}
