//! Video helpers for tests and benchmarks: a test-pattern camera publishing frames with
//! chosen counters on a frame bus, and a reader of the counters that arrive on another bus.
#![allow(dead_code)]

use acscalling::media::video::{read_counter, test_pattern, BusFrame, BusSubscription, FrameBus};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// What a pattern camera writes into its frames' counters.
#[derive(Clone, Copy)]
pub enum Counter {
    /// base, base+1, base+2, ...
    From(u32),
    /// Milliseconds since the Unix epoch, modulo 2^24 (a receiver in another process reads
    /// the capture time back: glass-to-glass latency).
    WallMillis,
}

/// Wall-clock milliseconds modulo 2^24 (the pattern's counter range).
pub fn wall_millis() -> u32 {
    let ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    (ms % (1 << 24)) as u32
}

/// A test-pattern camera: publishes frames at `fps` on its bus from a thread named
/// "pattern-cam" (so benchmarks can leave its CPU out).
pub struct PatternCamera {
    pub bus: Arc<FrameBus>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl PatternCamera {
    pub fn start(base: u32, w: u32, h: u32, fps: u32) -> Self {
        Self::start_with(Counter::From(base), w, h, fps)
    }

    pub fn start_with(counter: Counter, w: u32, h: u32, fps: u32) -> Self {
        let bus = FrameBus::new();
        let stop = Arc::new(AtomicBool::new(false));
        let (b, s) = (bus.clone(), stop.clone());
        let thread = std::thread::Builder::new()
            .name("pattern-cam".into())
            .spawn(move || {
                let start = Instant::now();
                let mut n = 0u32;
                while !s.load(Ordering::Relaxed) {
                    let c = match counter {
                        Counter::From(base) => base + n,
                        Counter::WallMillis => wall_millis(),
                    };
                    b.publish(Arc::new(test_pattern(c, w, h).unwrap()));
                    n += 1;
                    let due = start + Duration::from_secs_f64(f64::from(n) / f64::from(fps));
                    if let Some(d) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(d);
                    }
                }
            })
            .expect("pattern camera thread");
        PatternCamera {
            bus,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for PatternCamera {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// (counter, width, height, arrival, wall-clock ms at arrival) of a frame read back.
pub type Seen = (u32, u32, u32, Instant, u32);

/// Reads counters (and sizes) of the frames arriving on a bus.
pub struct CounterReader {
    pub seen: Arc<Mutex<Vec<Seen>>>,
    _sub: BusSubscription,
}

impl CounterReader {
    pub fn on(bus: &Arc<FrameBus>) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = seen.clone();
        let sub = bus.subscribe(Arc::new(move |f: &BusFrame| {
            if let Some(c) = read_counter(&f.frame) {
                s.lock()
                    .push((c, f.frame.width, f.frame.height, f.at, wall_millis()));
            }
        }));
        CounterReader { seen, _sub: sub }
    }

    pub fn count(&self) -> usize {
        self.seen.lock().len()
    }

    /// (counter, width, height) of the frames read in the last `window`.
    pub fn recent(&self, window: Duration) -> Vec<(u32, u32, u32)> {
        let now = Instant::now();
        self.seen
            .lock()
            .iter()
            .filter(|x| now.duration_since(x.3) <= window)
            .map(|x| (x.0, x.1, x.2))
            .collect()
    }

    pub fn clear(&self) {
        self.seen.lock().clear();
    }
}

// ---- video call parties ----

use super::party::{Party, PartySpec};
use super::{wait_until, Service};
use acscalling::client::{Call, RemoteVideoStream};
use acscalling::protocol::VideoStreamKind;

/// A party for video tests: a quiet tone, a short speaker buffer.
pub fn video_party(svc: &Service, name: &str) -> Party {
    Party::with(
        svc,
        PartySpec {
            amplitude: 0.3,
            speaker_ms: 2_000,
            ..PartySpec::new(name, 440.0)
        },
    )
}

/// Participant `who`'s stream of `kind` in `call`, once it is available (20 s at most).
pub fn stream_of(call: &Call, who: &str, kind: VideoStreamKind) -> RemoteVideoStream {
    let mut found = None;
    assert!(
        wait_until(Duration::from_secs(20), || {
            found = call
                .remote_participants()
                .into_iter()
                .find(|p| p.identifier() == who)
                .map(|p| p.video_stream(kind));
            found.as_ref().is_some_and(|s| s.is_available())
        }),
        "{who}'s {kind:?} became available"
    );
    found.unwrap()
}
