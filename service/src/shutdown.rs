//! SIGINT/SIGTERM, caught by a thread of our own instead of tokio's `signal` feature.
//!
//! Why: cargo unifies features across the workspace, so tokio's `signal` feature in the
//! service would be compiled into libacscalling too, and every tokio runtime built with it
//! opens a process-wide Unix socket pair (the signal driver's self-pipe) that stays open
//! for the life of the host process, after its last CallClient is released. The service
//! only needs "stop when asked", which `sigwait` on a dedicated thread gives.

use std::sync::LazyLock;
use tokio::sync::Notify;

static SHUTDOWN: LazyLock<Notify> = LazyLock::new(Notify::new);

/// Blocks SIGINT and SIGTERM in the calling thread (and so in every thread it starts
/// afterwards: call it before building the runtime) and starts the thread that waits for
/// them. The first signal wakes [`requested`]; a second one exits at once.
pub fn install() -> std::io::Result<()> {
    // SAFETY: plain libc calls on a zero-initialised, then filled, local sigset_t.
    let set = unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        libc::sigaddset(&mut set, libc::SIGINT);
        libc::sigaddset(&mut set, libc::SIGTERM);
        let rc = libc::pthread_sigmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
        if rc != 0 {
            return Err(std::io::Error::from_raw_os_error(rc));
        }
        set
    };
    std::thread::Builder::new()
        .name("acs-signals".into())
        .spawn(move || {
            let mut seen = 0;
            loop {
                let mut sig: libc::c_int = 0;
                // SAFETY: `set` is a valid signal set; `sig` is written by sigwait.
                if unsafe { libc::sigwait(&set, &mut sig) } != 0 {
                    continue;
                }
                seen += 1;
                if seen > 1 {
                    std::process::exit(128 + sig);
                }
                // A stored permit: wakes `requested` even if nobody waits yet.
                SHUTDOWN.notify_one();
            }
        })?;
    Ok(())
}

/// Resolves once SIGINT or SIGTERM arrived (after [`install`]).
pub async fn requested() {
    SHUTDOWN.notified().await;
}
