//! The receive pipeline of one incoming video slot: RTP packets → whole H.264 access units
//! ([`FrameAssembler`]) → OpenH264 → a [`FrameBus`] that renderers consume.
//!
//! The assembler waits a little for late or retransmitted (NACKed) packets; a frame that
//! cannot be completed is dropped, and from then on only a keyframe is decoded (the
//! pipeline asks the sender for one, and asks again every 500 ms until it arrives), so the
//! decoder never sees a broken reference chain.

use super::bus::FrameBus;
use super::h264::H264Decoder;
use bytes::Bytes;
use rtc::rtp::codec::h264::H264Packet;
use rtc::rtp::packetizer::Depacketizer;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How long an incomplete frame waits for its missing packets (NACK round trips).
const MAX_WAIT: Duration = Duration::from_millis(150);
/// Most packets buffered before the oldest incomplete frame is given up.
const MAX_BUFFERED: usize = 1024;
/// Packets queued between the transport and the decoder thread.
const QUEUE_PACKETS: usize = 2048;
/// A packet this far before the next expected one (no retransmission is that late) or
/// further ahead than the buffer holds starts a new sequence space: the slot's source
/// restarted (a new transport after the call was rejoined on a restarted service).
const RESYNC_BEHIND: u64 = 256;
const RESYNC_AHEAD: u64 = MAX_BUFFERED as u64;
/// Keyframe requests while waiting for one are repeated this often.
const KEYFRAME_RETRY: Duration = Duration::from_millis(500);

/// One RTP packet of a video slot, as the assembler needs it.
#[derive(Debug, Clone)]
pub struct VideoPacket {
    pub seq: u16,
    pub timestamp: u32,
    pub marker: bool,
    pub payload: Bytes,
    pub arrived: Instant,
}

/// A whole access unit (Annex B).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccessUnit {
    pub data: Vec<u8>,
    pub timestamp: u32,
    /// Contains an IDR picture or a sequence parameter set: decodable on its own.
    pub keyframe: bool,
}

/// Whether an Annex-B access unit starts a decodable sequence (SPS or IDR).
fn is_keyframe(annex_b: &[u8]) -> bool {
    let mut i = 0;
    while i + 3 < annex_b.len() {
        if annex_b[i] == 0 && annex_b[i + 1] == 0 && annex_b[i + 2] == 1 {
            let t = annex_b[i + 3] & 0x1f;
            if t == 5 || t == 7 {
                return true;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    false
}

/// Orders packets and cuts them into access units (same timestamp, ends with the marker).
#[derive(Default)]
pub struct FrameAssembler {
    buf: BTreeMap<u64, VideoPacket>,
    /// Extended sequence number where the next frame starts.
    next: Option<u64>,
    highest: Option<u64>,
    /// A frame was lost: deliver keyframes only until one arrives.
    pub need_keyframe: bool,
    /// Frames given up (incomplete) since creation.
    pub frames_lost: u64,
    depacketizer: H264Packet,
}

impl FrameAssembler {
    fn extend(&self, seq: u16) -> u64 {
        let Some(h) = self.highest else {
            return (1u64 << 32) + u64::from(seq);
        };
        let base = h & !0xffff;
        let cands = [base.wrapping_sub(0x10000), base, base + 0x10000];
        cands
            .into_iter()
            .map(|b| b + u64::from(seq))
            .min_by_key(|c| c.abs_diff(h))
            .unwrap_or(base + u64::from(seq))
    }

    /// Adds a packet; returns the access units it completed, in order.
    pub fn push(&mut self, p: VideoPacket, now: Instant) -> Vec<AccessUnit> {
        let mut ext = self.extend(p.seq);
        if let Some(h) = self.highest {
            if ext + RESYNC_BEHIND < self.next.unwrap_or(h) || ext > h + RESYNC_AHEAD {
                self.resync();
                ext = self.extend(p.seq);
            }
        }
        if self.next.is_some_and(|n| ext < n) {
            return Vec::new(); // too late: its frame was emitted or given up
        }
        self.highest = Some(self.highest.map_or(ext, |h| h.max(ext)));
        self.buf.insert(ext, p);
        self.drain(now)
    }

    /// Gives up incomplete frames that waited too long (call it periodically too).
    pub fn drain(&mut self, now: Instant) -> Vec<AccessUnit> {
        let mut out = Vec::new();
        while let Some((&first, _)) = self.buf.iter().next() {
            let start = *self.next.get_or_insert(first);
            match self.complete_frame(start) {
                Some(end) => {
                    let au = self.take_frame(start, end);
                    self.next = Some(end + 1);
                    if let Some(au) = au {
                        if self.need_keyframe && !au.keyframe {
                            continue; // undecodable until a keyframe
                        }
                        self.need_keyframe = false;
                        out.push(au);
                    }
                }
                None => {
                    let oldest = self.buf.values().next().map(|p| p.arrived);
                    let stale = oldest.is_some_and(|t| now.saturating_duration_since(t) > MAX_WAIT);
                    if !stale && self.buf.len() < MAX_BUFFERED {
                        break;
                    }
                    self.give_up_frame(start);
                }
            }
        }
        out
    }

    /// The last sequence number of the frame starting at `start`, if all of it is here.
    fn complete_frame(&self, start: u64) -> Option<u64> {
        let first = self.buf.get(&start)?;
        let ts = first.timestamp;
        let mut seq = start;
        loop {
            let p = self.buf.get(&seq)?;
            if p.timestamp != ts {
                // The marker was lost but the next frame began: this frame ends before.
                return if seq > start { Some(seq - 1) } else { None };
            }
            if p.marker {
                return Some(seq);
            }
            seq += 1;
        }
    }

    fn take_frame(&mut self, start: u64, end: u64) -> Option<AccessUnit> {
        let mut data = Vec::new();
        let mut ts = 0;
        let mut ok = true;
        for s in start..=end {
            let Some(p) = self.buf.remove(&s) else {
                ok = false;
                continue;
            };
            ts = p.timestamp;
            match self.depacketizer.depacketize(&p.payload) {
                Ok(b) => data.extend_from_slice(&b),
                Err(_) => ok = false,
            }
        }
        if !ok || data.is_empty() {
            self.lost();
            return None;
        }
        let keyframe = is_keyframe(&data);
        Some(AccessUnit {
            data,
            timestamp: ts,
            keyframe,
        })
    }

    /// Drops the frame at `start`: skips to the first packet of another timestamp, or, when
    /// the packet at `start` itself is missing, to the first packet buffered after it.
    fn give_up_frame(&mut self, start: u64) {
        let next_start = match self.buf.get(&start).map(|p| p.timestamp) {
            Some(ts) => self
                .buf
                .range(start..)
                .find(|(_, p)| p.timestamp != ts)
                .map(|(s, _)| *s),
            None => self.buf.range(start..).next().map(|(s, _)| *s),
        };
        match next_start {
            Some(n) => {
                self.buf = self.buf.split_off(&n);
                self.next = Some(n);
            }
            None => {
                self.next = self.highest.map(|h| h + 1);
                self.buf.clear();
            }
        }
        self.depacketizer = H264Packet::default();
        self.lost();
    }

    fn lost(&mut self) {
        self.frames_lost += 1;
        self.need_keyframe = true;
    }

    /// Forgets the old sequence space; decoding resumes at the new source's first keyframe.
    fn resync(&mut self) {
        self.buf.clear();
        self.next = None;
        self.highest = None;
        self.depacketizer = H264Packet::default();
        self.need_keyframe = true;
    }
}

/// Counters of one incoming stream.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeStats {
    pub packets: u64,
    /// Packets dropped because the decoder thread fell behind.
    pub packets_dropped: u64,
    pub frames_decoded: u64,
    /// Frames lost (incomplete, or undecodable while waiting for a keyframe).
    pub frames_lost: u64,
    pub keyframe_requests: u64,
    /// Time spent decoding, in microseconds.
    pub decode_micros: u64,
}

#[derive(Default)]
struct Counters {
    packets: AtomicU64,
    packets_dropped: AtomicU64,
    frames_decoded: AtomicU64,
    frames_lost: AtomicU64,
    keyframe_requests: AtomicU64,
    decode_micros: AtomicU64,
}

/// Asks the sender of the slot for a keyframe.
pub type KeyframeRequester = Box<dyn Fn() + Send>;

/// A running receive pipeline; dropping it stops its thread.
pub struct VideoDecodePipeline {
    tx: Option<SyncSender<VideoPacket>>,
    counters: Arc<Counters>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl VideoDecodePipeline {
    /// Starts a decoder thread publishing on `bus`.
    pub fn start(bus: Arc<FrameBus>, request_keyframe: KeyframeRequester) -> std::io::Result<Self> {
        let (tx, rx) = sync_channel(QUEUE_PACKETS);
        let counters = Arc::new(Counters::default());
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (Arc::clone(&counters), Arc::clone(&stop));
        let thread = std::thread::Builder::new()
            .name("acs-video-dec".into())
            .spawn(move || run(rx, bus, request_keyframe, c, s))?;
        Ok(Self {
            tx: Some(tx),
            counters,
            stop,
            thread: Some(thread),
        })
    }

    /// Hands a packet to the decoder thread (never blocks; dropped when it is behind).
    pub fn push(&self, p: VideoPacket) {
        self.counters.packets.fetch_add(1, Ordering::Relaxed);
        if let Some(tx) = &self.tx {
            if let Err(TrySendError::Full(_)) = tx.try_send(p) {
                self.counters
                    .packets_dropped
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub fn stats(&self) -> DecodeStats {
        let c = &self.counters;
        DecodeStats {
            packets: c.packets.load(Ordering::Relaxed),
            packets_dropped: c.packets_dropped.load(Ordering::Relaxed),
            frames_decoded: c.frames_decoded.load(Ordering::Relaxed),
            frames_lost: c.frames_lost.load(Ordering::Relaxed),
            keyframe_requests: c.keyframe_requests.load(Ordering::Relaxed),
            decode_micros: c.decode_micros.load(Ordering::Relaxed),
        }
    }
}

impl Drop for VideoDecodePipeline {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        self.tx = None;
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    rx: Receiver<VideoPacket>,
    bus: Arc<FrameBus>,
    request_keyframe: KeyframeRequester,
    c: Arc<Counters>,
    stop: Arc<AtomicBool>,
) {
    let mut decoder = match H264Decoder::new() {
        Ok(d) => d,
        Err(e) => {
            log::warn!("video decoder: {e}");
            return;
        }
    };
    let mut asm = FrameAssembler {
        need_keyframe: true,
        ..Default::default()
    };
    // When the last keyframe request went out; cleared by a decoded picture.
    let mut last_request: Option<Instant> = None;
    while !stop.load(Ordering::Acquire) {
        let units = match rx.recv_timeout(Duration::from_millis(50)) {
            Ok(p) => asm.push(p, Instant::now()),
            Err(RecvTimeoutError::Timeout) => asm.drain(Instant::now()),
            Err(RecvTimeoutError::Disconnected) => break,
        };
        for au in units {
            let started = Instant::now();
            let decoded = decoder.decode(&au.data);
            c.decode_micros
                .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
            match decoded {
                Ok(Some(frame)) => {
                    c.frames_decoded.fetch_add(1, Ordering::Relaxed);
                    last_request = None;
                    bus.publish(Arc::new(frame));
                }
                Ok(None) => {}
                Err(e) => {
                    log::debug!("video decode: {e}");
                    asm.need_keyframe = true;
                    asm.frames_lost += 1;
                }
            }
        }
        c.frames_lost.store(asm.frames_lost, Ordering::Relaxed);
        // Waiting for a keyframe: ask now, and again every KEYFRAME_RETRY until one decodes.
        let now = Instant::now();
        if asm.need_keyframe && last_request.is_none_or(|t| now.duration_since(t) >= KEYFRAME_RETRY)
        {
            last_request = Some(now);
            c.keyframe_requests.fetch_add(1, Ordering::Relaxed);
            request_keyframe();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pkt(seq: u16, ts: u32, marker: bool, payload: &[u8]) -> VideoPacket {
        VideoPacket {
            seq,
            timestamp: ts,
            marker,
            payload: Bytes::copy_from_slice(payload),
            arrived: Instant::now(),
        }
    }

    // Single-NAL payloads: 0x67 = SPS, 0x65 = IDR slice, 0x41 = non-IDR slice.
    const SPS: &[u8] = &[0x67, 1, 2, 3];
    const IDR: &[u8] = &[0x65, 9, 9, 9];
    const P: &[u8] = &[0x41, 7, 7, 7];

    #[test]
    fn whole_frames_come_out_in_order_across_reordering_and_wrap() {
        let mut a = FrameAssembler::default();
        let now = Instant::now();
        assert!(a.push(pkt(65534, 100, false, SPS), now).is_empty());
        // Second frame's packet arrives before the first frame's end.
        assert!(a.push(pkt(0, 200, true, P), now).is_empty());
        let out = a.push(pkt(65535, 100, true, IDR), now);
        assert_eq!(out.len(), 2);
        assert!(out[0].keyframe && !out[1].keyframe);
        assert_eq!(
            out[0].data,
            [0, 0, 0, 1, 0x67, 1, 2, 3, 0, 0, 0, 1, 0x65, 9, 9, 9]
        );
        assert_eq!(out[1].timestamp, 200);
        assert_eq!(a.frames_lost, 0);
    }

    #[test]
    fn a_lost_packet_drops_frames_until_the_next_keyframe() {
        let mut a = FrameAssembler::default();
        let t0 = Instant::now();
        assert_eq!(a.push(pkt(10, 100, true, IDR), t0).len(), 1);
        // seq 11 (frame 200) is lost; 12 belongs to frame 300.
        assert!(a.push(pkt(12, 300, true, P), t0).is_empty());
        // After MAX_WAIT the gap is given up; the P frame after it cannot be decoded.
        let later = t0 + MAX_WAIT + Duration::from_millis(1);
        assert!(a.drain(later).is_empty());
        assert!(a.need_keyframe);
        assert!(a.push(pkt(13, 400, true, P), later).is_empty());
        let out = a.push(pkt(14, 500, true, IDR), later);
        assert_eq!(out.len(), 1);
        assert!(out[0].keyframe && !a.need_keyframe);
        assert!(a.frames_lost >= 1);
        // A straggler from a given-up frame is ignored.
        assert!(a.push(pkt(11, 200, true, P), later).is_empty());
    }

    #[test]
    fn a_source_that_restarts_its_sequence_numbers_is_followed_from_its_next_keyframe() {
        for new_start in [40_000u16, 3, 60_000] {
            let mut a = FrameAssembler::default();
            let t0 = Instant::now();
            for s in 0..20u16 {
                let payload = if s == 0 { IDR } else { P };
                assert_eq!(
                    a.push(pkt(5000 + s, 100 * u32::from(s), true, payload), t0)
                        .len(),
                    1
                );
            }
            // A new transport: numbering starts elsewhere (before or after the old one).
            assert!(a.push(pkt(new_start, 7, true, P), t0).is_empty());
            assert!(a.need_keyframe, "from {new_start}: waits for a keyframe");
            let out = a.push(pkt(new_start.wrapping_add(1), 8, true, IDR), t0);
            assert_eq!(out.len(), 1, "from {new_start}");
            let out = a.push(pkt(new_start.wrapping_add(2), 9, true, P), t0);
            assert_eq!(out.len(), 1, "from {new_start}");
        }
        // Stragglers and small gaps stay in the old space.
        let mut a = FrameAssembler::default();
        let t0 = Instant::now();
        assert_eq!(a.push(pkt(100, 1, true, IDR), t0).len(), 1);
        assert!(a.push(pkt(60, 0, true, P), t0).is_empty());
        assert_eq!(a.push(pkt(101, 2, true, P), t0).len(), 1);
    }

    #[test]
    fn a_late_packet_within_the_wait_completes_its_frame() {
        let mut a = FrameAssembler::default();
        let t0 = Instant::now();
        assert!(a.push(pkt(1, 100, false, SPS), t0).is_empty());
        assert!(a.push(pkt(3, 100, true, P), t0).is_empty());
        let out = a.push(pkt(2, 100, false, IDR), t0 + Duration::from_millis(40));
        assert_eq!(out.len(), 1);
        assert_eq!(a.frames_lost, 0);
    }

    #[test]
    fn keyframes_are_recognised() {
        assert!(is_keyframe(&[0, 0, 0, 1, 0x67, 0, 0, 1, 0x65]));
        assert!(!is_keyframe(&[0, 0, 0, 1, 0x41, 1, 2]));
        assert!(!is_keyframe(&[]));
    }
}
