#![allow(dead_code)] // shared by tests/churn.rs and benches/churn.rs, each using a part
//! Churn through the C ABI, as a host does it: calls to the echo bot placed and hung up, and
//! clients (each with a connected agent) created and released; plus gauges of what the
//! process holds (RSS, threads, descriptors, UDP/TCP sockets, live handles). Used by
//! tests/churn.rs (pass/fail) and benches/churn.rs (figures).

use acscalling::ffi::agent::*;
use acscalling::ffi::call::*;
use acscalling::ffi::client::*;
use acscalling::ffi::devices::*;
use acscalling::ffi::*;
use std::ffi::{c_char, CString};
use std::ptr::{null, null_mut};
use std::time::{Duration, Instant};

/// What the process holds at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gauges {
    /// Resident set size (VmRSS), in KiB, after giving freed heap back to the system.
    pub rss_kib: u64,
    pub threads: usize,
    /// Open descriptors of every kind.
    pub fds: usize,
    /// Descriptors that are UDP (v4 or v6) sockets.
    pub udp: usize,
    /// Descriptors that are TCP (v4 or v6) sockets.
    pub tcp: usize,
    /// acs_debug_live_handle_count().
    pub handles: usize,
}

impl std::fmt::Display for Gauges {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "RSS {:.1} MiB, {} threads, {} fds, {} UDP + {} TCP sockets, {} handles",
            self.rss_kib as f64 / 1024.0,
            self.threads,
            self.fds,
            self.udp,
            self.tcp,
            self.handles
        )
    }
}

fn socket_inodes_in(table: &str) -> Vec<u64> {
    let Ok(text) = std::fs::read_to_string(table) else {
        return Vec::new();
    };
    // Columns: sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...
    text.lines()
        .skip(1)
        .filter_map(|l| l.split_whitespace().nth(9)?.parse().ok())
        .collect()
}

/// Reads the gauges. RSS is read after malloc_trim, which hands the heap's free pages back
/// to the kernel: what remains is memory in use (plus fragmentation and glibc's cache of
/// thread stacks), not free memory the allocator keeps for later.
pub fn gauges() -> Gauges {
    // SAFETY: malloc_trim only releases free memory of glibc's heaps.
    unsafe { libc::malloc_trim(0) };
    let rss_kib = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse().ok())
        })
        .unwrap_or(0);
    let threads = std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count());
    let mut fds = 0;
    let mut sockets = Vec::new();
    if let Ok(dir) = std::fs::read_dir("/proc/self/fd") {
        for e in dir.flatten() {
            fds += 1;
            if let Ok(t) = std::fs::read_link(e.path()) {
                let t = t.display().to_string();
                if let Some(n) = t.strip_prefix("socket:[").and_then(|r| r.strip_suffix(']')) {
                    if let Ok(n) = n.parse::<u64>() {
                        sockets.push(n);
                    }
                }
            }
        }
    }
    let count = |tables: &[&str]| {
        let inodes: Vec<u64> = tables.iter().flat_map(|t| socket_inodes_in(t)).collect();
        sockets.iter().filter(|s| inodes.contains(s)).count()
    };
    Gauges {
        rss_kib,
        threads,
        fds,
        udp: count(&["/proc/self/net/udp", "/proc/self/net/udp6"]),
        tcp: count(&["/proc/self/net/tcp", "/proc/self/net/tcp6"]),
        handles: acs_debug_live_handle_count(),
    }
}

fn check(st: acs_status, what: &str) {
    assert_eq!(st, ACS_OK, "{what} -> {st}: {}", last_error());
}

fn last_error() -> String {
    let mut buf = vec![0u8; 512];
    // SAFETY: a writable buffer of that size.
    unsafe { acs_last_error_message(buf.as_mut_ptr().cast(), buf.len()) };
    let end = buf.iter().position(|&b| b == 0).unwrap_or(0);
    String::from_utf8_lossy(&buf[..end]).into_owned()
}

fn wait_for(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    f()
}

/// A client with a connected agent and a tone microphone + pull speaker for its calls, all
/// held through C handles.
pub struct Host {
    client: *mut acs_call_client,
    dm: *mut acs_device_manager,
    mic: *mut acs_audio_device,
    speaker: *mut acs_audio_device,
    agent: *mut acs_call_agent,
}

// SAFETY: handles are numbers the library checks; they may be used from any thread.
unsafe impl Send for Host {}
// SAFETY: as above; every function behind them is thread-safe (the C API's contract).
unsafe impl Sync for Host {}

impl Host {
    /// Creates the client and its agent, and waits until the agent is connected.
    pub fn connect(service_url: &str, token: &str) -> Host {
        let url = CString::new(service_url).unwrap();
        let token = CString::new(token).unwrap();
        let mut h = Host {
            client: null_mut(),
            dm: null_mut(),
            mic: null_mut(),
            speaker: null_mut(),
            agent: null_mut(),
        };
        // SAFETY: valid pointers to outputs and NUL-terminated strings, as the header says.
        unsafe {
            check(acs_call_client_create(null(), &mut h.client), "client");
            check(
                acs_call_client_get_device_manager(h.client, &mut h.dm),
                "dm",
            );
            check(
                acs_device_manager_create_tone_microphone(
                    h.dm,
                    c"churn-mic".as_ptr(),
                    440.0,
                    0.3,
                    &mut h.mic,
                ),
                "mic",
            );
            check(
                acs_device_manager_create_pull_speaker(
                    h.dm,
                    c"churn-speaker".as_ptr(),
                    200,
                    &mut h.speaker,
                ),
                "speaker",
            );
            let mut o: acs_call_agent_options = std::mem::zeroed();
            check(
                acs_call_agent_options_init_sized(&mut o, std::mem::size_of_val(&o)),
                "options",
            );
            o.service_url = url.as_ptr();
            o.token = token.as_ptr();
            check(
                acs_call_client_create_call_agent(h.client, &o, &mut h.agent),
                "agent",
            );
        }
        let agent = h.agent;
        let connected = wait_for(Duration::from_secs(20), || {
            let mut st = 0;
            // SAFETY: a live handle and a writable output.
            let ok = unsafe { acs_call_agent_get_connection_state(agent, &mut st) } == ACS_OK;
            ok && st == ACS_AGENT_CONNECTION_CONNECTED
        });
        assert!(connected, "the agent did not connect");
        h
    }

    /// Calls the echo bot, waits for CONNECTED, hangs up, waits for DISCONNECTED and
    /// releases the call. Returns the setup time (start_call to CONNECTED).
    pub fn echo_call(&self) -> Duration {
        let ids: [*const c_char; 1] = [c"8:echo123".as_ptr()];
        let mut call: *mut acs_call = null_mut();
        let started = Instant::now();
        // SAFETY: live handles, a valid id array and a sized options struct.
        unsafe {
            let mut o: acs_call_options = std::mem::zeroed();
            check(
                acs_call_options_init_sized(&mut o, std::mem::size_of_val(&o)),
                "call options",
            );
            o.microphone = self.mic;
            o.speaker = self.speaker;
            check(
                acs_call_agent_start_call(self.agent, ids.as_ptr(), 1, &o, &mut call),
                "start_call",
            );
        }
        let state = |call| {
            let mut st = -1;
            // SAFETY: a live handle and a writable output.
            unsafe { acs_call_get_state(call, &mut st) };
            st
        };
        assert!(
            wait_for(Duration::from_secs(30), || state(call)
                == ACS_CALL_STATE_CONNECTED),
            "the echo call did not connect (state {})",
            state(call)
        );
        let setup = started.elapsed();
        check(acs_call_hang_up(call, false), "hang_up");
        assert!(
            wait_for(Duration::from_secs(30), || state(call)
                == ACS_CALL_STATE_DISCONNECTED),
            "the call did not end (state {})",
            state(call)
        );
        check(acs_call_release(call), "call release");
        setup
    }

    /// Releases every handle, the client last (which shuts it down).
    pub fn release(self) {
        check(acs_call_agent_release(self.agent), "agent release");
        check(acs_audio_device_release(self.speaker), "speaker release");
        check(acs_audio_device_release(self.mic), "mic release");
        check(acs_device_manager_release(self.dm), "dm release");
        check(acs_call_client_release(self.client), "client release");
    }
}

/// Figures of a churn run.
pub struct Churn {
    pub calls: usize,
    pub calls_elapsed: Duration,
    /// Setup time of every call, sorted.
    pub setups: Vec<Duration>,
    pub clients: usize,
    pub clients_elapsed: Duration,
}

impl Churn {
    pub fn median_setup(&self) -> Duration {
        self.setups
            .get(self.setups.len() / 2)
            .copied()
            .unwrap_or_default()
    }
    pub fn calls_per_second(&self) -> f64 {
        self.calls as f64 / self.calls_elapsed.as_secs_f64().max(1e-9)
    }
}

/// Places `calls` echo calls on `lanes` hosts at once (each host one call at a time), then
/// creates and releases `clients` hosts one after another. Tokens: one per lane, then one
/// per client (`token(i)`).
pub fn run(
    service_url: &str,
    token: &mut dyn FnMut() -> String,
    lanes: usize,
    calls: usize,
    clients: usize,
) -> Churn {
    let hosts: Vec<Host> = (0..lanes)
        .map(|_| Host::connect(service_url, &token()))
        .collect();
    let started = Instant::now();
    let mut setups: Vec<Duration> = std::thread::scope(|s| {
        let per_lane = calls.div_ceil(lanes.max(1));
        let workers: Vec<_> = hosts
            .iter()
            .enumerate()
            .map(|(i, h)| {
                let n = per_lane.min(calls.saturating_sub(i * per_lane));
                s.spawn(move || (0..n).map(|_| h.echo_call()).collect::<Vec<_>>())
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| w.join().expect("a call lane panicked"))
            .collect()
    });
    let calls_elapsed = started.elapsed();
    for h in hosts {
        h.release();
    }
    setups.sort();
    let tokens: Vec<String> = (0..clients).map(|_| token()).collect();
    let started = Instant::now();
    for t in &tokens {
        Host::connect(service_url, t).release();
    }
    Churn {
        calls,
        calls_elapsed,
        setups,
        clients,
        clients_elapsed: started.elapsed(),
    }
}

/// Waits (up to `timeout`) for threads, descriptors, sockets and handles to come back to
/// `base` (the library stops its threads and closes its sockets asynchronously after the
/// last release), and returns the gauges read last.
pub fn settle(base: &Gauges, timeout: Duration) -> Gauges {
    let mut g = gauges();
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if g.threads <= base.threads
            && g.fds <= base.fds
            && g.udp <= base.udp
            && g.tcp <= base.tcp
            && g.handles <= base.handles
        {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
        g = gauges();
    }
    g
}
