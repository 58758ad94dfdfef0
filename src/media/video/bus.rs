//! The frame bus: how decoded or captured frames travel from one producer (a camera, the
//! virtual camera, host-pushed frames, a remote participant's decoder) to any number of
//! consumers (the call's encoder, renderers and their views), without copies.
//!
//! A producer calls [`FrameBus::publish`]; every subscriber's sink runs on the producer's
//! thread with a shared `Arc` of the frame, so sinks must be quick (copy the `Arc`, signal a
//! thread). The bus also keeps the latest frame for pull-style consumers (a render loop).

use super::VideoFrame;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;

/// A frame on the bus: the picture plus when its producer made it.
#[derive(Debug, Clone)]
pub struct BusFrame {
    pub frame: Arc<VideoFrame>,
    /// When the producer published it (capture time for sources, decode time for remote
    /// streams).
    pub at: Instant,
    /// Producer's sequence number, counting from 0.
    pub seq: u64,
}

/// A consumer's callback.
pub type FrameSink = Arc<dyn Fn(&BusFrame) + Send + Sync>;

/// One producer, many consumers, latest frame kept.
pub struct FrameBus {
    sinks: Mutex<Vec<(u64, FrameSink)>>,
    latest: Mutex<Option<BusFrame>>,
    next_sink: AtomicU64,
    published: AtomicU64,
}

impl std::fmt::Debug for FrameBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FrameBus")
            .field("sinks", &self.sinks.lock().len())
            .field("published", &self.published.load(Ordering::Relaxed))
            .finish()
    }
}

impl FrameBus {
    /// An empty bus.
    pub fn new() -> Arc<Self> {
        Arc::new(Self {
            sinks: Mutex::new(Vec::new()),
            latest: Mutex::new(None),
            next_sink: AtomicU64::new(1),
            published: AtomicU64::new(0),
        })
    }

    /// Hands `frame` to every subscriber (on this thread, outside the bus's locks) and keeps
    /// it as the latest frame, stamped now.
    pub fn publish(&self, frame: Arc<VideoFrame>) {
        self.publish_at(frame, Instant::now());
    }

    /// [`publish`](Self::publish) with the time the frame was made (a camera's capture time,
    /// a little before it reaches the bus).
    pub fn publish_at(&self, frame: Arc<VideoFrame>, at: Instant) {
        let seq = self.published.fetch_add(1, Ordering::AcqRel);
        let item = BusFrame { frame, at, seq };
        *self.latest.lock() = Some(item.clone());
        let sinks: Vec<FrameSink> = self.sinks.lock().iter().map(|(_, s)| s.clone()).collect();
        for sink in sinks {
            sink(&item);
        }
    }

    /// Forgets the latest frame (the producer stopped: a pull consumer sees nothing new).
    pub fn clear_latest(&self) {
        *self.latest.lock() = None;
    }

    /// The most recent frame, if any since the last [`clear_latest`](Self::clear_latest).
    pub fn latest(&self) -> Option<BusFrame> {
        self.latest.lock().clone()
    }

    /// How many frames were published so far.
    pub fn frames_published(&self) -> u64 {
        self.published.load(Ordering::Acquire)
    }

    /// Number of live subscriptions.
    pub fn subscriber_count(&self) -> usize {
        self.sinks.lock().len()
    }

    /// Adds a consumer; it receives frames until the returned guard is dropped.
    pub fn subscribe(self: &Arc<Self>, sink: FrameSink) -> BusSubscription {
        let id = self.next_sink.fetch_add(1, Ordering::Relaxed);
        self.sinks.lock().push((id, sink));
        BusSubscription {
            bus: Arc::downgrade(self),
            id,
        }
    }
}

/// Keeps a sink subscribed; dropping it unsubscribes.
#[derive(Debug)]
pub struct BusSubscription {
    bus: Weak<FrameBus>,
    id: u64,
}

impl Drop for BusSubscription {
    fn drop(&mut self) {
        if let Some(bus) = self.bus.upgrade() {
            bus.sinks.lock().retain(|(id, _)| *id != self.id);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;

    #[test]
    fn subscribers_get_frames_until_they_unsubscribe() {
        let bus = FrameBus::new();
        let seen = Arc::new(AtomicUsize::new(0));
        let s = Arc::clone(&seen);
        let sub = bus.subscribe(Arc::new(move |f: &BusFrame| {
            assert_eq!(f.frame.width, 4);
            s.fetch_add(1, Ordering::SeqCst);
        }));
        let frame = Arc::new(VideoFrame::black(4, 2).unwrap());
        bus.publish(Arc::clone(&frame));
        bus.publish(Arc::clone(&frame));
        assert_eq!(seen.load(Ordering::SeqCst), 2);
        assert_eq!(bus.latest().map(|f| f.seq), Some(1));
        drop(sub);
        assert_eq!(bus.subscriber_count(), 0);
        bus.publish(frame);
        assert_eq!(seen.load(Ordering::SeqCst), 2);
        assert_eq!(bus.frames_published(), 3);
        bus.clear_latest();
        assert!(bus.latest().is_none());
    }

    #[test]
    fn a_sink_may_subscribe_from_inside_a_callback() {
        let bus = FrameBus::new();
        let b2 = Arc::clone(&bus);
        let inner = Arc::new(Mutex::new(Vec::new()));
        let i2 = Arc::clone(&inner);
        let _sub = bus.subscribe(Arc::new(move |_f: &BusFrame| {
            // No deadlock: sinks run outside the bus's locks.
            let s = b2.subscribe(Arc::new(|_f: &BusFrame| {}));
            i2.lock().push(s);
        }));
        bus.publish(Arc::new(VideoFrame::black(2, 2).unwrap()));
        assert_eq!(bus.subscriber_count(), 2);
    }
}
