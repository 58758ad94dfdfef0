//! Ordered delivery: one queue per CallClient of work for the host's listeners, drained
//! either by a library-owned dispatch thread or by the host (manual mode). Nothing is
//! delivered while an internal lock is held, so a listener may call back into the API.

use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How events reach the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DispatchMode {
    /// A library thread delivers events as they happen.
    Thread,
    /// Events queue until the host calls `CallClient::dispatch_events`.
    Manual,
}

/// Work for the dispatch thread: delivering an event to a listener, or asking the host's
/// token refresher (host code, so never on the runtime).
pub(crate) type Dispatch = Box<dyn FnOnce() + Send>;

/// The ordered queue of one CallClient.
pub(crate) struct EventQueue {
    items: Mutex<(VecDeque<Dispatch>, bool)>,
    ready: Condvar,
    pub(crate) mode: DispatchMode,
}

impl EventQueue {
    pub(crate) fn new(mode: DispatchMode) -> Arc<Self> {
        Arc::new(Self {
            items: Mutex::new((VecDeque::new(), false)),
            ready: Condvar::new(),
            mode,
        })
    }

    pub(crate) fn push(&self, item: Dispatch) {
        let mut g = self.items.lock();
        if g.1 {
            return; // closed
        }
        g.0.push_back(item);
        drop(g);
        self.ready.notify_all();
    }

    /// Stops accepting events and wakes the dispatch thread so it can exit.
    pub(crate) fn close(&self) {
        self.items.lock().1 = true;
        self.ready.notify_all();
    }

    /// Takes the next item, waiting up to `timeout`. `None` on timeout or when closed and empty.
    fn pop(&self, timeout: Option<Duration>) -> Option<Dispatch> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut g = self.items.lock();
        loop {
            if let Some(item) = g.0.pop_front() {
                return Some(item);
            }
            if g.1 {
                return None;
            }
            match deadline {
                Some(d) => {
                    if self.ready.wait_until(&mut g, d).timed_out() {
                        return g.0.pop_front();
                    }
                }
                None => self.ready.wait(&mut g),
            }
        }
    }

    /// Delivers queued events on the calling thread; waits up to `timeout` for the first.
    /// Returns how many were delivered.
    pub(crate) fn dispatch(&self, timeout: Duration) -> u32 {
        let mut n = 0;
        let mut wait = Some(timeout);
        while let Some(item) = self.pop(wait) {
            deliver(item);
            n += 1;
            wait = Some(Duration::ZERO);
        }
        n
    }

    /// Body of the library-owned dispatch thread.
    pub(crate) fn run_thread(self: Arc<Self>) {
        while let Some(item) = self.pop(None) {
            deliver(item);
        }
    }
}

fn deliver(item: Dispatch) {
    // A panicking host callback must not take the dispatch thread down with it.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(item));
}
