//! acscalling-loadgen: N light virtual devices (str0m sans-IO sessions, a few media
//! threads) join one group call on acscalling-service; reports join times, loss, who heard
//! the speakers, and the service's CPU and memory. See loadgen/README.md.

use acscalling_protocol as protocol;

mod audio;
mod chart;
mod config;
mod identity;
mod media;
mod procstat;
mod report;
mod run;
mod sdk_probe;
mod service;
mod session;
mod signaling;

use std::sync::Arc;

use crate::config::{Config, Parsed, Target};
use crate::run::Endpoint;

fn main() {
    let cfg = match Config::parse(std::env::args().skip(1)) {
        Ok(Parsed::Run(c)) => *c,
        Ok(Parsed::Help(text)) => {
            print!("{text}");
            return;
        }
        Err(e) => {
            eprintln!("error: {e}\nFor more information, try '--help'.");
            std::process::exit(2);
        }
    };
    if cfg.nice != 0 {
        // Before any thread exists: threads inherit the main thread's niceness.
        let _ = std::process::Command::new("renice")
            .args([
                "-n",
                &cfg.nice.to_string(),
                "-p",
                &std::process::id().to_string(),
            ])
            .stdout(std::process::Stdio::null())
            .status();
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(cfg.signaling_threads)
        .thread_name("signaling")
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    match runtime.block_on(sweep(&cfg)) {
        Ok(all_hold) => std::process::exit(if all_hold { 0 } else { 1 }),
        Err(e) => {
            eprintln!("acscalling-loadgen: {e}");
            std::process::exit(2);
        }
    }
}

/// Runs every size (and muted mode); prints each result and, for several, a table.
/// Returns whether every run held.
async fn sweep(cfg: &Config) -> Result<bool, String> {
    let provider = str0m::crypto::from_feature_flags();
    // One DTLS certificate for every virtual device: generating one per session costs more
    // than the rest of a join on the client side and says nothing about the service.
    let cert = provider
        .dtls_provider
        .generate_certificate()
        .ok_or("cannot generate a DTLS certificate")?;
    provider.install_process_default();
    let frames = Arc::new(audio::Frames::encode()?);
    let mut results = Vec::new();
    for &n in &cfg.sizes {
        for &muted in &cfg.muted {
            let result = match &cfg.target {
                Target::Spawn(bin) => {
                    let svc = service::Service::start(
                        bin,
                        &cfg.access_key,
                        (n + cfg.sdk_clients).max(protocol::DEFAULT_MAX_PARTICIPANTS),
                        &cfg.service_args,
                        &cfg.service_log,
                    )?;
                    let ep = Endpoint {
                        http: svc.http.clone(),
                        pid: Some(svc.pid()),
                        media: svc.media,
                    };
                    let r =
                        run::run_once(cfg, &ep, n, muted, Arc::clone(&frames), cert.clone()).await;
                    svc.stop();
                    r?
                }
                Target::Running(http) => {
                    let ep = Endpoint {
                        http: http.clone(),
                        pid: cfg.service_pid,
                        media: None,
                    };
                    run::run_once(cfg, &ep, n, muted, Arc::clone(&frames), cert.clone()).await?
                }
            };
            println!("{}", result.human());
            println!("{}", result.json());
            results.push(result);
            // Let sockets and the service's state drain between runs.
            tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        }
    }
    if results.len() > 1 {
        let table = report::table(&results);
        println!("{table}");
        if let Some(path) = &cfg.chart {
            match std::fs::write(path, chart::html(&results, &table)) {
                Ok(()) => eprintln!("chart written to {}", path.display()),
                Err(e) => eprintln!("cannot write the chart to {}: {e}", path.display()),
            }
        }
    }
    Ok(results.iter().all(report::RunResult::holds))
}
