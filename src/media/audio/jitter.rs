//! Per-slot jitter buffer: sans-IO, driven by `insert` (packet arrivals) and `pop` (playout
//! ticks), with time passed in, so it is unit-tested with synthetic time.
//!
//! Latency policy: playout starts as soon as `target_frames` (initially 1) frames are buffered,
//! and the engine aligns its playout tick to `arrival + margin` when a stream (re)starts, so a
//! frame received is played at the next tick. A frame missing at its tick with nothing after it
//! is *late*, not lost: the tick waits for it (a bounded time) instead of concealing it,
//! and its lateness raises the margin (then the target depth); loss does not. Depth is capped by
//! dropping the oldest.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Frames concealed by PLC after an underrun before playing silence.
pub const MAX_CONCEALED_FRAMES: u32 = 3;
/// Default cap: 200 ms of 20 ms frames.
pub const DEFAULT_MAX_FRAMES: usize = 10;
/// Initial wait between a (re)starting stream's first arrival and its playout tick.
pub const INITIAL_MARGIN: Duration = Duration::from_millis(2);
/// Largest margin; beyond it the target depth grows by whole frames.
pub const MAX_MARGIN: Duration = Duration::from_millis(12);
const MARGIN_STEP: Duration = Duration::from_millis(3);
const MAX_TARGET_FRAMES: usize = 5;
/// Ticks a frame must have been waiting spare (beyond the target) before one is skipped.
const EXCESS_TICKS_BEFORE_TRIM: u32 = 25;
/// Ticks without an underrun before the margin (then the target) steps back down.
const CALM_TICKS_BEFORE_DECAY: u32 = 250;
const MARGIN_DECAY_STEP: Duration = Duration::from_millis(1);
/// How long a playout tick may wait for a late frame (the next in sequence, nothing after it
/// buffered) before concealing it, when the stream plays alone. One concealed frame of a
/// steady sound costs far more than a wait: Opus' SILK predictors then run off the signal for
/// ~300 ms (a 1 kHz tone fell from ~30 dB above its noise to 0–5 dB). Arrivals come a few ms
/// late even on an idle machine (2 cores, loopback: up to ~11 ms through the echo bot), and
/// 20–85 ms late in stalls of a loaded one. Holding the tick delays no one else then; a lost
/// frame is concealed as soon as the next one arrives, so only a stream that stops waits it
/// out. At most the playout thread's `MAX_BEHIND`, so the schedule is caught up, not reset.
pub const LATE_WAIT_ALONE: Duration = Duration::from_millis(100);
/// The same wait while other slots play: holding the tick delays their audio too, so it
/// covers an idle machine's jitter only. Shorter than a frame.
pub const LATE_WAIT_MIXED: Duration = Duration::from_millis(15);
/// A sequence jump larger than this (either way) is a new stream (SSRC change / restart).
const RESTART_JUMP: i64 = 500;
/// RTP timestamp ticks of one 20 ms frame at 48 kHz.
const FRAME_TICKS: u32 = 960;
/// A timestamp gap beyond this (10 minutes) is not a pause but garbage: ignored.
const MAX_PAUSE_TICKS: u32 = 48_000 * 600;

/// What `insert` did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InsertOutcome {
    /// Buffered behind frames already waiting.
    Buffered,
    /// Buffered, and playout can (re)start now: align the next tick to arrival + `margin()`.
    Started,
    /// Same sequence number already buffered: dropped.
    Duplicate,
    /// Its turn has passed: dropped.
    Late,
    /// The late frame a tick is waiting for ([`Playout::Wait`]): play it at once; it came after
    /// its tick, so the margin was raised and the following ticks align to arrival + `margin()`.
    Awaited,
}

/// What to play for this slot at a tick.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Playout {
    /// Decode this packet. `arrival` is when it was inserted. `skipped`: the frame after it,
    /// dropped to cut latency: decode it too and discard the output, so the decoder stays on
    /// the stream (a frame stepped over often throws Opus' SILK predictors off, for up to
    /// ~200 ms).
    Packet {
        payload: Vec<u8>,
        arrival: Instant,
        skipped: Option<Vec<u8>>,
    },
    /// Frame missing: conceal, from the next packet's in-band FEC when given.
    Conceal { fec: Option<Vec<u8>> },
    /// Nothing to play.
    Silence,
    /// The next frame is late: play nothing yet, and pop again when a frame arrives for this
    /// stream or at `until` (the frame is concealed then).
    Wait { until: Instant },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Idle,
    Buffering,
    Playing,
    /// Playing, and a tick is waiting for the next frame until this time.
    Late {
        until: Instant,
    },
    Rebuffering {
        concealed: u32,
    },
}

/// Counters of one jitter buffer.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JitterStats {
    pub inserted: u64,
    pub duplicates: u64,
    pub late: u64,
    pub lost: u64,
    pub overflow_dropped: u64,
    pub underruns: u64,
    pub restarts: u64,
    /// Sender pauses (DTX) ended: playout restarted without counting loss or lateness.
    pub pauses: u64,
    /// Late frames a tick waited for and played, instead of concealing them.
    pub waited: u64,
}

struct Entry {
    payload: Vec<u8>,
    arrival: Instant,
}

/// Jitter buffer for one RTP stream (one receive slot).
pub struct JitterBuffer {
    frames: BTreeMap<u64, Entry>,
    state: State,
    /// Extended (unwrapped) sequence number to play next.
    next_seq: u64,
    /// Last extended sequence number seen, for unwrapping.
    last_ext: Option<u64>,
    /// Extended sequence number and RTP timestamp of the newest packet inserted: a packet
    /// that follows it in sequence but not in time ends a sender's pause (DTX).
    newest: Option<(u64, u32)>,
    target_frames: usize,
    max_frames: usize,
    margin: Duration,
    /// Margin given back since the engine last asked: it moves its tick earlier by this much.
    phase_advance: Duration,
    /// Consecutive ticks with a spare frame waiting (latency above target).
    excess_ticks: u32,
    /// Consecutive ticks without an underrun.
    calm_ticks: u32,
    stats: JitterStats,
}

impl Default for JitterBuffer {
    fn default() -> Self {
        Self::new()
    }
}

impl JitterBuffer {
    /// Empty buffer: target 1 frame, cap 200 ms.
    pub fn new() -> Self {
        Self::with_max_frames(DEFAULT_MAX_FRAMES)
    }

    /// Empty buffer with a custom depth cap (frames).
    pub fn with_max_frames(max_frames: usize) -> Self {
        Self {
            frames: BTreeMap::new(),
            state: State::Idle,
            next_seq: 0,
            last_ext: None,
            newest: None,
            target_frames: 1,
            max_frames: max_frames.max(1),
            margin: INITIAL_MARGIN,
            phase_advance: Duration::ZERO,
            excess_ticks: 0,
            calm_ticks: 0,
            stats: JitterStats::default(),
        }
    }

    /// Wait to apply between a (re)starting stream's arrival and its playout tick.
    pub fn margin(&self) -> Duration {
        self.margin
    }

    /// Frames to buffer before playout starts.
    pub fn target_frames(&self) -> usize {
        self.target_frames
    }

    /// Frames currently buffered.
    pub fn len(&self) -> usize {
        self.frames.len()
    }

    /// Whether nothing is buffered.
    pub fn is_empty(&self) -> bool {
        self.frames.is_empty()
    }

    /// Whether the stream is currently being played (not idle, buffering or rebuffering).
    pub fn is_playing(&self) -> bool {
        matches!(self.state, State::Playing | State::Late { .. })
    }

    /// Whether a tick is waiting for this stream's late frame: any frame inserted now is news
    /// for it (the frame, or a later one that shows it was lost).
    pub fn is_waiting(&self) -> bool {
        matches!(self.state, State::Late { .. })
    }

    /// Counters.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// Forget the stream (hold, slot reassigned). Keeps adaptation and counters.
    pub fn reset(&mut self) {
        self.frames.clear();
        self.state = State::Idle;
        self.last_ext = None;
        self.newest = None;
    }

    /// Whether `ext` (stamped `timestamp`) comes after a pause of its sender: next in
    /// sequence after the newest packet, but at least one frame later in time than a
    /// contiguous frame would be. Senders in DTX (a muted SDK sends one frame per 400 ms)
    /// number their packets on and let the RTP clock run.
    fn ends_pause(&self, ext: u64, timestamp: u32) -> bool {
        let Some((newest, ts)) = self.newest else {
            return false;
        };
        if ext <= newest {
            return false;
        }
        let frames = u32::try_from(ext - newest).unwrap_or(u32::MAX);
        let expected = ts.wrapping_add(FRAME_TICKS.wrapping_mul(frames));
        let gap = timestamp.wrapping_sub(expected);
        (FRAME_TICKS..MAX_PAUSE_TICKS).contains(&gap)
    }

    fn unwrap_seq(&mut self, seq: u16) -> (u64, bool) {
        match self.last_ext {
            None => {
                let ext = (1u64 << 32) + u64::from(seq);
                self.last_ext = Some(ext);
                (ext, false)
            }
            Some(last) => {
                let diff = i64::from(seq.wrapping_sub(last as u16) as i16);
                if diff.abs() > RESTART_JUMP {
                    let ext = (1u64 << 32) + u64::from(seq);
                    self.last_ext = Some(ext);
                    return (ext, true);
                }
                let ext = (last as i64 + diff) as u64;
                if ext > last {
                    self.last_ext = Some(ext);
                }
                (ext, false)
            }
        }
    }

    /// A packet arrived at `now`. Frames are sequenced by `seq` (one 20 ms frame per
    /// packet); `timestamp` tells a sender's pause (DTX) from a late packet: the first packet
    /// after a pause starts playout afresh, without raising the margin or counting loss.
    pub fn insert(
        &mut self,
        seq: u16,
        timestamp: u32,
        payload: &[u8],
        now: Instant,
    ) -> InsertOutcome {
        let (ext, restart) = self.unwrap_seq(seq);
        if restart {
            self.stats.restarts += 1;
            self.frames.clear();
            self.state = State::Idle;
        } else if self.frames.is_empty()
            && self.state != State::Idle
            && self.ends_pause(ext, timestamp)
        {
            self.stats.pauses += 1;
            self.state = State::Idle;
        }
        if self.newest.is_none_or(|(newest, _)| ext > newest) {
            self.newest = Some((ext, timestamp));
        }
        let mut awaited = false;
        match self.state {
            State::Idle => {
                self.next_seq = ext;
                self.state = State::Buffering;
            }
            State::Buffering | State::Playing => {
                if ext < self.next_seq {
                    self.stats.late += 1;
                    return InsertOutcome::Late;
                }
            }
            State::Late { .. } => {
                if ext < self.next_seq {
                    self.stats.late += 1;
                    return InsertOutcome::Late;
                }
                if ext == self.next_seq {
                    // Played at once by the waiting tick; later ticks leave more room.
                    self.adapt_up();
                    self.stats.waited += 1;
                    self.state = State::Playing;
                    awaited = true;
                }
            }
            State::Rebuffering { .. } => {
                if ext < self.next_seq {
                    self.stats.late += 1;
                    return InsertOutcome::Late;
                }
                if ext == self.next_seq {
                    // The frame we concealed at the last tick came after all: arrivals are
                    // later than our tick phase, so wait longer from now on.
                    self.adapt_up();
                } else {
                    self.stats.lost += ext - self.next_seq;
                }
                self.next_seq = ext;
                self.state = State::Buffering;
            }
        }
        if self.frames.contains_key(&ext) {
            self.stats.duplicates += 1;
            return InsertOutcome::Duplicate;
        }
        self.stats.inserted += 1;
        self.frames.insert(
            ext,
            Entry {
                payload: payload.to_vec(),
                arrival: now,
            },
        );
        let mut dropped = false;
        while self.frames.len() > self.max_frames {
            self.frames.pop_first();
            self.stats.overflow_dropped += 1;
            dropped = true;
        }
        if dropped {
            // Continue from the oldest frame we kept.
            if let Some((&first, _)) = self.frames.first_key_value() {
                self.next_seq = self.next_seq.max(first);
            }
        }
        if awaited {
            return InsertOutcome::Awaited;
        }
        if self.state == State::Buffering && self.frames.len() >= self.target_frames {
            // Start from the oldest buffered frame.
            if let Some((&first, _)) = self.frames.first_key_value() {
                self.next_seq = first;
            }
            self.state = State::Playing;
            return InsertOutcome::Started;
        }
        InsertOutcome::Buffered
    }

    /// How much earlier the playout tick may now run (margin decayed after a calm period);
    /// reading it resets it.
    pub fn take_phase_advance(&mut self) -> Duration {
        std::mem::take(&mut self.phase_advance)
    }

    /// After a calm period, give back delay added by earlier underruns.
    fn decay(&mut self) {
        self.calm_ticks += 1;
        if self.calm_ticks < CALM_TICKS_BEFORE_DECAY {
            return;
        }
        self.calm_ticks = 0;
        if self.target_frames > 1 {
            // The spare frame this frees is trimmed by the excess rule.
            self.target_frames -= 1;
        } else if self.margin > INITIAL_MARGIN {
            let step = MARGIN_DECAY_STEP.min(self.margin - INITIAL_MARGIN);
            self.margin -= step;
            self.phase_advance += step;
        }
    }

    fn adapt_up(&mut self) {
        self.calm_ticks = 0;
        if self.margin < MAX_MARGIN {
            self.margin = (self.margin + MARGIN_STEP).min(MAX_MARGIN);
        } else {
            self.target_frames = (self.target_frames + 1).min(MAX_TARGET_FRAMES);
        }
    }

    /// Playout tick: what to play now. A late frame is waited for up to `max_wait` (see
    /// [`LATE_WAIT_ALONE`]): after [`Playout::Wait`], pop again (with the time then) when a
    /// frame arrives or the wait ends.
    pub fn pop(&mut self, now: Instant, max_wait: Duration) -> Playout {
        match self.state {
            State::Idle | State::Buffering => Playout::Silence,
            State::Rebuffering { concealed } => {
                if concealed < MAX_CONCEALED_FRAMES {
                    self.state = State::Rebuffering {
                        concealed: concealed + 1,
                    };
                    Playout::Conceal { fec: None }
                } else {
                    Playout::Silence
                }
            }
            State::Playing | State::Late { .. } => {
                let seq = self.next_seq;
                if let Some(e) = self.frames.remove(&seq) {
                    self.state = State::Playing;
                    self.next_seq += 1;
                    self.decay();
                    // Keep latency at target: a frame that stays spare for a while (after a
                    // sender burst, say) is skipped; a big excess is skipped at once.
                    if self.frames.len() >= self.target_frames {
                        self.excess_ticks += 1;
                    } else {
                        self.excess_ticks = 0;
                    }
                    let mut skipped = None;
                    if self.excess_ticks >= EXCESS_TICKS_BEFORE_TRIM
                        || self.frames.len() > self.target_frames + 3
                    {
                        self.excess_ticks = 0;
                        if let Some((k, next)) = self.frames.pop_first() {
                            self.stats.overflow_dropped += 1;
                            self.next_seq = k + 1;
                            skipped = Some(next.payload);
                        }
                    }
                    return Playout::Packet {
                        payload: e.payload,
                        arrival: e.arrival,
                        skipped,
                    };
                }
                match self.frames.first_key_value() {
                    None => {
                        // Late, or lost with nothing after it yet: wait before concealing.
                        let until = match self.state {
                            State::Late { until } => until,
                            _ => now + max_wait,
                        };
                        if now < until {
                            self.state = State::Late { until };
                            return Playout::Wait { until };
                        }
                        // Underrun: conceal now; if `seq` still arrives, it was late.
                        self.stats.underruns += 1;
                        self.calm_ticks = 0;
                        self.excess_ticks = 0;
                        self.state = State::Rebuffering { concealed: 1 };
                        Playout::Conceal { fec: None }
                    }
                    Some((&first, e)) => {
                        // Lost (a later frame is here): conceal, with FEC when it is the next one.
                        self.state = State::Playing;
                        self.stats.lost += 1;
                        let fec = (first == seq + 1).then(|| e.payload.clone());
                        self.next_seq = if first > seq + 3 { first } else { seq + 1 };
                        Playout::Conceal { fec }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
