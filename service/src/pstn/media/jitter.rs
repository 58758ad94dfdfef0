//! A small jitter buffer for 8 kHz, 20 ms G.711 frames (already decoded to PCM).
//!
//! * Frames are ordered by extended (unwrapped) sequence number, so reordering and the
//!   16-bit wrap are handled; duplicates and frames that arrive after their turn are dropped.
//! * Playout starts once [`TARGET_FRAMES`] frames (40 ms) are buffered; above
//!   [`MAX_FRAMES`] (80 ms) the oldest frames are dropped, so the delay stays bounded.
//! * A missing frame is concealed by repeating the last one with a fade (−6 dB per frame),
//!   then silence. When nothing at all is buffered the playout point waits (the frame may
//!   be late, not lost); after [`IDLE_AFTER_FRAMES`] such frames (200 ms) the buffer goes
//!   idle and the next packet starts a fresh stream (resync). An SSRC change or a sequence
//!   jump of more than [`RESYNC_JUMP`] frames also resyncs.
//!
//! [`JitterBuffer::pop`] is called once per 20 ms by the leg's playout clock.

use std::collections::BTreeMap;

use super::resample::FRAME_8K;

/// Frames buffered before playout starts (40 ms).
pub const TARGET_FRAMES: u64 = 2;
/// Most frames kept (80 ms); older ones are dropped.
pub const MAX_FRAMES: u64 = 4;
/// Consecutive frames with nothing buffered before the buffer goes idle (200 ms).
pub const IDLE_AFTER_FRAMES: u32 = 10;
/// A sequence number this far from the playout point (either way) restarts the stream.
pub const RESYNC_JUMP: i64 = 50;
/// Gains of the 1st, 2nd, 3rd concealed frame in a row (then silence).
const FADE: [f32; 3] = [0.5, 0.25, 0.125];

pub type Frame8k = [i16; FRAME_8K];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No stream: waiting for a packet.
    Idle,
    /// Stream started: waiting for the target depth.
    Buffering,
    Playing,
}

/// Counters, for logs and tests.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct JitterStats {
    pub played: u64,
    pub concealed: u64,
    /// Arrived after their turn, or duplicates.
    pub late: u64,
    /// Dropped to keep the depth bounded.
    pub overflow: u64,
    pub resyncs: u64,
}

pub struct JitterBuffer {
    state: State,
    ssrc: u32,
    /// Extended sequence number of the newest frame received.
    highest: i64,
    /// Extended sequence number of the next frame to play.
    next: i64,
    frames: BTreeMap<i64, Box<Frame8k>>,
    last: Frame8k,
    /// Frames concealed in a row.
    missing: u32,
    /// Frames in a row with nothing buffered.
    starved: u32,
    stats: JitterStats,
}

impl Default for JitterBuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl JitterBuffer {
    pub fn new() -> Self {
        Self {
            state: State::Idle,
            ssrc: 0,
            highest: 0,
            next: 0,
            frames: BTreeMap::new(),
            last: [0; FRAME_8K],
            missing: 0,
            starved: 0,
            stats: JitterStats::default(),
        }
    }

    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Playing or about to (a stream is running).
    pub fn is_active(&self) -> bool {
        self.state != State::Idle
    }

    fn restart(&mut self, ssrc: u32, seq: u16) {
        if self.state != State::Idle {
            self.stats.resyncs += 1;
        }
        self.state = State::Buffering;
        self.ssrc = ssrc;
        self.highest = i64::from(seq);
        self.next = i64::from(seq);
        self.frames.clear();
        self.missing = 0;
        self.starved = 0;
    }

    /// A decoded 20 ms frame arrived.
    pub fn push(&mut self, ssrc: u32, seq: u16, frame: &Frame8k) {
        if self.state == State::Idle || ssrc != self.ssrc {
            self.restart(ssrc, seq);
        }
        // Unwrap relative to the newest sequence number seen.
        let delta = i64::from(seq.wrapping_sub(self.highest as u16) as i16);
        let mut ext = self.highest + delta;
        if (ext - self.next).abs() > RESYNC_JUMP {
            self.restart(ssrc, seq);
            ext = self.highest;
        }
        if ext < self.next || self.frames.contains_key(&ext) {
            self.stats.late += 1;
            return;
        }
        self.highest = self.highest.max(ext);
        self.frames.insert(ext, Box::new(*frame));
    }

    /// The next 20 ms to play, or `None` while idle or buffering.
    pub fn pop(&mut self) -> Option<Frame8k> {
        match self.state {
            State::Idle => return None,
            State::Buffering => {
                if ((self.highest + 1 - self.next) as u64) < TARGET_FRAMES {
                    return None;
                }
                self.state = State::Playing;
            }
            State::Playing => {}
        }
        // Bounded depth: drop the oldest frames (and the holes among them).
        while (self.highest + 1 - self.next) as u64 > MAX_FRAMES {
            if self.frames.remove(&self.next).is_some() {
                self.stats.overflow += 1;
            }
            self.next += 1;
        }
        if let Some(f) = self.frames.remove(&self.next) {
            self.next += 1;
            self.last = *f;
            self.missing = 0;
            self.starved = 0;
            self.stats.played += 1;
            return Some(*f);
        }
        if self.frames.is_empty() {
            // Nothing buffered: the frame may just be late, so keep the playout point.
            self.starved += 1;
            if self.starved >= IDLE_AFTER_FRAMES {
                self.state = State::Idle;
                self.frames.clear();
                return None;
            }
        } else {
            // Later frames are here: this one is lost.
            self.next += 1;
        }
        Some(self.conceal())
    }

    fn conceal(&mut self) -> Frame8k {
        self.stats.concealed += 1;
        let gain = FADE.get(self.missing as usize).copied().unwrap_or(0.0);
        self.missing += 1;
        // Fade within the frame from the previous gain to this one (no step at the edge).
        let from = if self.missing == 1 { 1.0 } else { gain * 2.0 };
        let mut out = [0i16; FRAME_8K];
        for (i, (o, s)) in out.iter_mut().zip(&self.last).enumerate() {
            let g = from + (gain - from) * (i as f32 / FRAME_8K as f32);
            *o = (f32::from(*s) * g) as i16;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A frame whose samples all carry `id` (so tests can see which frame came out).
    fn frame(id: i16) -> Frame8k {
        [id; FRAME_8K]
    }

    fn id(f: &Frame8k) -> i16 {
        f[0]
    }

    #[test]
    fn waits_for_the_target_then_plays_in_order() {
        let mut j = JitterBuffer::new();
        assert_eq!(j.pop(), None);
        j.push(1, 10, &frame(100));
        assert_eq!(j.pop(), None); // 20 ms buffered, target 40
        j.push(1, 12, &frame(102)); // 11 is late
        j.push(1, 11, &frame(101));
        let out: Vec<i16> = (0..3).map(|_| id(&j.pop().unwrap())).collect();
        assert_eq!(out, [100, 101, 102]);
        assert_eq!(j.stats().played, 3);
    }

    #[test]
    fn sequence_numbers_wrap() {
        let mut j = JitterBuffer::new();
        let mut got = Vec::new();
        for (k, seq) in (0xFFFCu16..=0xFFFF).chain(0..4).enumerate() {
            j.push(7, seq, &frame(k as i16 + 1000));
            got.extend(j.pop().map(|f| id(&f)));
        }
        assert_eq!(got, (1000..1007).collect::<Vec<_>>());
        assert_eq!(j.stats().late, 0);
    }

    #[test]
    fn a_lost_frame_is_concealed_with_a_fade() {
        let mut j = JitterBuffer::new();
        j.push(1, 0, &frame(1000));
        j.push(1, 1, &frame(1000));
        j.push(1, 3, &frame(3000)); // 2 is lost
        assert_eq!(id(&j.pop().unwrap()), 1000);
        assert_eq!(id(&j.pop().unwrap()), 1000);
        let c = j.pop().unwrap();
        assert_eq!(c[0], 1000); // starts where the last frame left off
        assert!(
            (490..=510).contains(&c[FRAME_8K - 1]),
            "{}",
            c[FRAME_8K - 1]
        );
        assert_eq!(id(&j.pop().unwrap()), 3000);
        j.push(1, 2, &frame(2000)); // too late now
        assert_eq!(j.stats().late, 1);
        assert_eq!(j.stats().concealed, 1);
    }

    #[test]
    fn a_late_frame_is_waited_for_not_skipped() {
        let mut j = JitterBuffer::new();
        j.push(1, 0, &frame(1));
        j.push(1, 1, &frame(2));
        assert_eq!(id(&j.pop().unwrap()), 1);
        assert_eq!(id(&j.pop().unwrap()), 2);
        let c = j.pop().unwrap(); // nothing buffered: conceal, keep the playout point
        assert_eq!(c[0], 2);
        j.push(1, 2, &frame(3));
        assert_eq!(id(&j.pop().unwrap()), 3);
        assert_eq!(j.stats().late, 0);
    }

    #[test]
    fn concealment_fades_to_silence_then_goes_idle_and_resyncs() {
        let mut j = JitterBuffer::new();
        j.push(1, 0, &frame(8000));
        j.push(1, 1, &frame(8000));
        j.pop();
        j.pop();
        let mut ends = Vec::new();
        for _ in 1..IDLE_AFTER_FRAMES {
            ends.push(j.pop().unwrap()[FRAME_8K - 1]);
        }
        assert!(
            ends.windows(2).all(|w| w[1].abs() <= w[0].abs()),
            "{ends:?}"
        );
        assert_eq!(*ends.last().unwrap(), 0);
        assert_eq!(j.pop(), None);
        assert!(!j.is_active());
        // The stream comes back with unrelated sequence numbers: a fresh start.
        j.push(1, 30_000, &frame(5));
        j.push(1, 30_001, &frame(6));
        assert_eq!(id(&j.pop().unwrap()), 5);
    }

    #[test]
    fn ssrc_change_and_jumps_resync() {
        let mut j = JitterBuffer::new();
        j.push(1, 100, &frame(1));
        j.push(1, 101, &frame(2));
        assert_eq!(id(&j.pop().unwrap()), 1);
        j.push(2, 5, &frame(50)); // new source
        j.push(2, 6, &frame(51));
        assert_eq!(id(&j.pop().unwrap()), 50);
        j.push(2, 7000, &frame(70)); // sequence jump
        j.push(2, 7001, &frame(71));
        assert_eq!(id(&j.pop().unwrap()), 70);
        assert_eq!(j.stats().resyncs, 2);
    }

    #[test]
    fn depth_stays_bounded() {
        let mut j = JitterBuffer::new();
        for seq in 0..10u16 {
            j.push(1, seq, &frame(seq as i16));
        }
        // A burst of 10 frames: only the newest MAX_FRAMES are kept.
        assert_eq!(id(&j.pop().unwrap()), 10 - MAX_FRAMES as i16);
        assert_eq!(j.stats().overflow, 10 - MAX_FRAMES);
    }
}
