//! The send pipeline of one outgoing video stream: frames from a [`FrameBus`] (camera,
//! virtual camera, pushed frames) are H.264-encoded on a thread of their own and handed to
//! a sink (the transport's video sender).
//!
//! - Latest frame wins: when the encoder is busy, a newer frame replaces the waiting one
//!   (counted as skipped) — the frame rate drops instead of the latency growing.
//! - Keyframes on request (PLI/FIR from the receivers, a dropped send).
//! - Bitrate adaptation from receiver loss reports ([`RateController`]); the encoder is
//!   re-created with the new target (its next frame is then a keyframe).

use super::bus::{BusFrame, BusSubscription, FrameBus};
use super::h264::{EncodedVideo, H264Encoder, VideoContent};
use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Where encoded frames go. Returns false when the frame was dropped (the next one is
/// then made a keyframe so the receiver recovers).
pub type EncodedSink = Box<dyn Fn(EncodedVideo, Instant, Duration) -> bool + Send>;

/// Lowest and highest bitrates the controller moves between.
const MIN_BITRATE: u32 = 100_000;
const MAX_BITRATE: u32 = 4_000_000;

/// The starting (and highest) bitrate for a resolution and frame rate: ~0.1 bit per pixel
/// at 30 fps (640x360 → ~700 kbps, 1280x720 → ~2.8 Mbps).
pub fn bitrate_for(width: u32, height: u32, fps: f32) -> u32 {
    let bps = f64::from(width) * f64::from(height) * f64::from(fps.clamp(1.0, 60.0)) * 0.1;
    (bps as u32).clamp(MIN_BITRATE * 2, MAX_BITRATE)
}

/// RTP payload bytes per packet of a fragmented H.264 frame (what we estimate packets by).
const PACKET_PAYLOAD: u64 = 1100;

/// Packets a frame of `len` bytes takes (estimate: webrtc-rs packetizes out of our sight).
fn packets_for(len: usize) -> u64 {
    (len as u64).div_ceil(PACKET_PAYLOAD).max(1)
}

/// `nacked` of `sent` packets as an RFC 3550 fraction (0..=255); 0 when nothing was sent.
fn nack_fraction(nacked: u64, sent: u64) -> u8 {
    if sent == 0 {
        return 0;
    }
    (nacked.saturating_mul(256) / sent).min(255) as u8
}

/// Loss-based bitrate control (the receiver-report half of Google's congestion control):
/// more than 10% loss cuts the rate by half the loss, less than 2% raises it 8% per report,
/// up to the ceiling for the resolution.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateController {
    target: f64,
    ceiling: f64,
}

impl RateController {
    pub fn new(ceiling_bps: u32) -> Self {
        Self {
            target: f64::from(ceiling_bps),
            ceiling: f64::from(ceiling_bps),
        }
    }

    /// The current target in bits per second.
    pub fn target(&self) -> u32 {
        self.target as u32
    }

    /// A new ceiling (the resolution changed); the target follows it down, not up.
    pub fn set_ceiling(&mut self, ceiling_bps: u32) {
        self.ceiling = f64::from(ceiling_bps);
        self.target = self.target.min(self.ceiling);
    }

    /// One receiver report: `fraction_lost` is RFC 3550's 8-bit fraction.
    pub fn on_loss(&mut self, fraction_lost: u8) {
        let loss = f64::from(fraction_lost) / 256.0;
        if loss > 0.10 {
            self.target *= 1.0 - 0.5 * loss;
        } else if loss < 0.02 {
            self.target *= 1.08;
        }
        self.target = self.target.clamp(f64::from(MIN_BITRATE), self.ceiling);
    }
}

/// Counters of an outgoing stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EncodeStats {
    /// Frames encoded and handed to the sink.
    pub frames_encoded: u64,
    /// Frames the sink dropped (not connected, queue full).
    pub frames_dropped: u64,
    /// Frames replaced by a newer one while the encoder was busy, or skipped by its rate
    /// control.
    pub frames_skipped: u64,
    /// Keyframes sent.
    pub keyframes: u64,
    /// Keyframe requests received.
    pub keyframe_requests: u64,
    /// Encoded bytes.
    pub bytes: u64,
    /// Current bitrate target.
    pub bitrate_bps: u32,
    /// Reception reports received from the receivers, and the loss the last one reported
    /// (RFC 3550 fraction, 0..=255).
    pub loss_reports: u64,
    pub last_fraction_lost: u8,
    /// Packets the receivers asked to be resent (NACK), and the loss the rate controller
    /// last acted on: the larger of the report's (after repair) and the NACKed share of
    /// the packets sent since the previous report (before repair), 0..=255.
    pub nacked_packets: u64,
    pub last_loss_estimate: u8,
    /// Size of the last encoded frame.
    pub width: u32,
    pub height: u32,
    /// Time spent encoding, in microseconds (for CPU figures).
    pub encode_micros: u64,
}

#[derive(Default)]
struct Counters {
    frames_encoded: AtomicU64,
    frames_dropped: AtomicU64,
    frames_skipped: AtomicU64,
    keyframes: AtomicU64,
    keyframe_requests: AtomicU64,
    bytes: AtomicU64,
    bitrate: AtomicU32,
    loss_reports: AtomicU64,
    last_fraction_lost: AtomicU32,
    nacked: AtomicU64,
    last_loss_estimate: AtomicU32,
    size: AtomicU64,
    encode_micros: AtomicU64,
}

struct Shared {
    waiting: Mutex<Option<BusFrame>>,
    wake: Condvar,
    stop: AtomicBool,
    keyframe: AtomicBool,
    losses: Mutex<Vec<u8>>,
    counters: Counters,
}

/// A running send pipeline; dropping it stops the thread and unsubscribes.
pub struct VideoEncodePipeline {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    _subscription: BusSubscription,
}

impl VideoEncodePipeline {
    /// Subscribes to `bus` and encodes at most `max_fps` frames per second of `content`
    /// into `sink`.
    pub fn start(
        bus: &Arc<FrameBus>,
        max_fps: f32,
        content: VideoContent,
        sink: EncodedSink,
    ) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            waiting: Mutex::new(None),
            wake: Condvar::new(),
            stop: AtomicBool::new(false),
            keyframe: AtomicBool::new(true),
            losses: Mutex::new(Vec::new()),
            counters: Counters::default(),
        });
        let s = Arc::clone(&shared);
        let subscription = bus.subscribe(Arc::new(move |f: &BusFrame| {
            let replaced = s.waiting.lock().replace(f.clone()).is_some();
            if replaced {
                s.counters.frames_skipped.fetch_add(1, Ordering::Relaxed);
            }
            s.wake.notify_one();
        }));
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("acs-video-enc".into())
            .spawn(move || run(s, max_fps, content, sink))?;
        Ok(Self {
            shared,
            thread: Some(thread),
            _subscription: subscription,
        })
    }

    /// The receivers lost the picture: the next frame is a keyframe.
    pub fn request_keyframe(&self) {
        self.shared
            .counters
            .keyframe_requests
            .fetch_add(1, Ordering::Relaxed);
        self.shared.keyframe.store(true, Ordering::Release);
    }

    /// A receiver report's loss fraction (RFC 3550, 0..=255).
    pub fn on_loss_report(&self, fraction_lost: u8) {
        let c = &self.shared.counters;
        c.loss_reports.fetch_add(1, Ordering::Relaxed);
        c.last_fraction_lost
            .store(u32::from(fraction_lost), Ordering::Relaxed);
        self.shared.losses.lock().push(fraction_lost);
    }

    /// A NACK asked for `packets` of this stream again.
    pub fn on_nack(&self, packets: u32) {
        self.shared
            .counters
            .nacked
            .fetch_add(u64::from(packets), Ordering::Relaxed);
    }

    pub fn stats(&self) -> EncodeStats {
        let c = &self.shared.counters;
        let size = c.size.load(Ordering::Relaxed);
        EncodeStats {
            frames_encoded: c.frames_encoded.load(Ordering::Relaxed),
            frames_dropped: c.frames_dropped.load(Ordering::Relaxed),
            frames_skipped: c.frames_skipped.load(Ordering::Relaxed),
            keyframes: c.keyframes.load(Ordering::Relaxed),
            keyframe_requests: c.keyframe_requests.load(Ordering::Relaxed),
            bytes: c.bytes.load(Ordering::Relaxed),
            bitrate_bps: c.bitrate.load(Ordering::Relaxed),
            loss_reports: c.loss_reports.load(Ordering::Relaxed),
            last_fraction_lost: c.last_fraction_lost.load(Ordering::Relaxed) as u8,
            nacked_packets: c.nacked.load(Ordering::Relaxed),
            last_loss_estimate: c.last_loss_estimate.load(Ordering::Relaxed) as u8,
            width: (size >> 32) as u32,
            height: size as u32,
            encode_micros: c.encode_micros.load(Ordering::Relaxed),
        }
    }
}

impl Drop for VideoEncodePipeline {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        self.shared.wake.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(shared: Arc<Shared>, max_fps: f32, content: VideoContent, sink: EncodedSink) {
    let min_interval = Duration::from_secs_f32(1.0 / max_fps.clamp(1.0, 60.0));
    let mut encoder: Option<(H264Encoder, u32, (u32, u32))> = None;
    let mut rate: Option<RateController> = None;
    let mut last: Option<Instant> = None;
    let c = &shared.counters;
    // Packets sent (estimated from the frame sizes) and NACKed, at the last report.
    let mut packets_sent: u64 = 0;
    let mut at_report = (0u64, 0u64);
    loop {
        let frame = {
            let mut w = shared.waiting.lock();
            loop {
                if shared.stop.load(Ordering::Acquire) {
                    return;
                }
                if let Some(f) = w.take() {
                    break f;
                }
                shared.wake.wait_for(&mut w, Duration::from_millis(200));
            }
        };
        // Hold the frame rate: a source faster than max_fps loses the extra frames.
        if last.is_some_and(|t| frame.at.saturating_duration_since(t) < min_interval * 9 / 10) {
            c.frames_skipped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let size = (frame.frame.width, frame.frame.height);
        let ceiling = bitrate_for(size.0, size.1, max_fps);
        let rc = rate.get_or_insert_with(|| RateController::new(ceiling));
        rc.set_ceiling(ceiling);
        for loss in shared.losses.lock().drain(..) {
            // Reports count repaired packets as received: on a lossy path NACK/RTX hides
            // the loss from them while the retransmissions eat the bandwidth. The NACKed
            // share of what was sent since the last report is the loss before repair.
            let nacked = c.nacked.load(Ordering::Relaxed);
            let estimate = loss.max(nack_fraction(
                nacked - at_report.1,
                packets_sent - at_report.0,
            ));
            at_report = (packets_sent, nacked);
            c.last_loss_estimate
                .store(u32::from(estimate), Ordering::Relaxed);
            rc.on_loss(estimate);
        }
        let target = rc.target();
        // A new encoder when there is none, the size changed (OpenH264 would re-init
        // anyway) or the target moved by more than 15%.
        let rebuild = match &encoder {
            None => true,
            Some((_, rate, sz)) => {
                *sz != size
                    || (f64::from(target) - f64::from(*rate)).abs() > f64::from(*rate) * 0.15
            }
        };
        if rebuild {
            match H264Encoder::for_content(target, max_fps, content) {
                Ok(e) => encoder = Some((e, target, size)),
                Err(e) => {
                    log::warn!("video encoder: {e}");
                    return;
                }
            }
            c.bitrate.store(target, Ordering::Relaxed);
        }
        let Some((enc, _, _)) = encoder.as_mut() else {
            return;
        };
        if shared.keyframe.swap(false, Ordering::AcqRel) {
            enc.request_keyframe();
        }
        let started = Instant::now();
        let encoded = enc.encode(&frame.frame);
        c.encode_micros
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        match encoded {
            Ok(Some(e)) => {
                let duration = last
                    .map(|t| frame.at.saturating_duration_since(t))
                    .filter(|d| !d.is_zero())
                    .unwrap_or(min_interval);
                last = Some(frame.at);
                let (keyframe, bytes) = (e.keyframe, e.data.len() as u64);
                if sink(e, frame.at, duration) {
                    packets_sent += packets_for(bytes as usize);
                    c.frames_encoded.fetch_add(1, Ordering::Relaxed);
                    c.keyframes
                        .fetch_add(u64::from(keyframe), Ordering::Relaxed);
                    c.bytes.fetch_add(bytes, Ordering::Relaxed);
                    c.size.store(
                        (u64::from(size.0) << 32) | u64::from(size.1),
                        Ordering::Relaxed,
                    );
                } else {
                    c.frames_dropped.fetch_add(1, Ordering::Relaxed);
                    shared.keyframe.store(true, Ordering::Release);
                }
            }
            Ok(None) => {
                c.frames_skipped.fetch_add(1, Ordering::Relaxed);
            }
            Err(e) => {
                log::debug!("video encode: {e}");
                c.frames_skipped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::video::pattern::test_pattern;

    #[test]
    fn nacked_share_estimates_the_loss_before_repair() {
        assert_eq!(packets_for(0), 1);
        assert_eq!(packets_for(1100), 1);
        assert_eq!(packets_for(1101), 2);
        assert_eq!(nack_fraction(0, 0), 0);
        assert_eq!(nack_fraction(25, 100), 64);
        assert_eq!(nack_fraction(300, 100), 255, "re-NACKs cannot exceed 100%");
    }

    #[test]
    fn rate_control_backs_off_on_loss_and_recovers_to_the_ceiling() {
        let mut rc = RateController::new(1_000_000);
        rc.on_loss(0);
        assert_eq!(rc.target(), 1_000_000, "never above the ceiling");
        rc.on_loss(77); // 30%: -15%
        assert!(
            (849_000..=851_000).contains(&rc.target()),
            "{}",
            rc.target()
        );
        let t = rc.target();
        rc.on_loss(20); // ~8%: hold
        assert_eq!(rc.target(), t);
        for _ in 0..100 {
            rc.on_loss(255);
        }
        assert_eq!(rc.target(), MIN_BITRATE);
        for _ in 0..100 {
            rc.on_loss(0);
        }
        assert_eq!(rc.target(), 1_000_000);
        rc.set_ceiling(500_000);
        assert_eq!(rc.target(), 500_000);
    }

    #[test]
    fn bitrate_scales_with_the_picture() {
        assert!(bitrate_for(640, 360, 30.0) < bitrate_for(1280, 720, 30.0));
        assert_eq!(bitrate_for(8192, 8192, 60.0), MAX_BITRATE);
    }

    #[test]
    fn frames_from_the_bus_are_encoded_with_a_keyframe_first_and_on_request() {
        let bus = FrameBus::new();
        let out = Arc::new(Mutex::new(Vec::new()));
        let o = Arc::clone(&out);
        let p = VideoEncodePipeline::start(
            &bus,
            30.0,
            VideoContent::Camera,
            Box::new(move |e, _at, d| {
                o.lock().push((e.keyframe, d));
                true
            }),
        )
        .unwrap();
        for n in 0..20u32 {
            bus.publish(Arc::new(test_pattern(n, 320, 180).unwrap()));
            if n == 10 {
                std::thread::sleep(Duration::from_millis(50));
                p.request_keyframe();
            }
            std::thread::sleep(Duration::from_millis(34));
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while p.stats().frames_encoded < 15 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let st = p.stats();
        drop(p);
        let out = out.lock();
        assert!(out.len() >= 15, "{st:?}");
        assert!(out[0].0, "the first frame is a keyframe");
        assert!(
            out.iter().skip(1).any(|f| f.0),
            "a keyframe after the request: {st:?}"
        );
        assert_eq!((st.width, st.height), (320, 180));
        assert!(st.keyframe_requests == 1 && st.keyframes >= 2, "{st:?}");
    }
}
