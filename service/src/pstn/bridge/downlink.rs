//! Call → phone: the Opus the SFU forwards into each audio receive slot, played out on the
//! bridge's 20 ms clock (one decoder per slot, loss concealed) and summed into one frame.
//!
//! Sans-IO: frames go in with their RTP time, [`CallDownlink::mix`] is called once per 20 ms.
//! The decoders run at the rate the caller wants (48 kHz, or 8 kHz for the phone directly:
//! libopus then decodes at the low rate, cheaper than decoding at 48 kHz and resampling).
//! Each slot is a small adaptive playout queue keyed by the RTP time (48 kHz ticks):
//! * a missing frame with later ones queued was lost: Opus PLC, and play on;
//! * nothing queued (late or quiet): PLC without advancing, so a late frame still plays
//!   (the queue grows by one frame, up to [`MAX_DEPTH`]); after [`MAX_CONCEAL`] such frames
//!   the slot counts as quiet and stops playing until a frame comes;
//! * a jump of the RTP time by more than [`RESYNC`] is another source (the SFU moved a
//!   speaker into the slot): the queue and the decoder start over.

use std::collections::VecDeque;
use std::sync::Arc;

use opus::{Channels, Decoder};

use crate::pstn::media::resample::FRAME_48K;

/// RTP ticks (48 kHz) per 20 ms frame.
pub const TICKS: u64 = FRAME_48K as u64;
/// Frames queued in a slot before the oldest is dropped (80 ms: bounds the added delay).
pub const MAX_DEPTH: usize = 4;
/// Concealed frames in a row before a slot counts as quiet (100 ms).
pub const MAX_CONCEAL: u32 = 5;
/// An RTP time this far from the expected one is a new source (500 ms).
pub const RESYNC: u64 = 25 * TICKS;

/// Counters of one slot.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SlotStats {
    /// Frames decoded from packets.
    pub decoded: u64,
    /// Frames made up by Opus PLC (lost, late, or the end of a talk spurt).
    pub concealed: u64,
    /// Frames that came after their time had been concealed and played, or duplicates.
    pub late: u64,
    /// Frames dropped because the queue was full.
    pub dropped: u64,
    /// Source changes (RTP time jumps).
    pub resyncs: u64,
    /// Packets libopus refused (played as PLC).
    pub decode_errors: u64,
}

/// One receive slot's playout.
pub struct SlotPlayout {
    /// Output rate and 20 ms frame length.
    rate: u32,
    frame: usize,
    queue: VecDeque<(u64, Arc<[u8]>)>,
    /// RTP time of the frame to play next; None while the slot is quiet.
    next: Option<u64>,
    /// Frames concealed in a row.
    concealed_run: u32,
    /// Made on the first frame: most slots of a small call never carry anything.
    decoder: Option<Decoder>,
    stats: SlotStats,
}

impl SlotPlayout {
    /// A slot whose frames come out at `rate` (8, 12, 16, 24 or 48 kHz).
    pub fn new(rate: u32) -> Self {
        Self {
            rate,
            frame: rate as usize / 50,
            queue: VecDeque::new(),
            next: None,
            concealed_run: 0,
            decoder: None,
            stats: SlotStats::default(),
        }
    }

    pub fn stats(&self) -> SlotStats {
        self.stats
    }

    /// Whether the slot plays (or conceals) audio at the moment.
    pub fn is_active(&self) -> bool {
        self.next.is_some()
    }

    /// A frame forwarded into the slot, with its RTP time in 48 kHz ticks.
    pub fn push(&mut self, ts: u64, payload: Arc<[u8]>) {
        let reference = self.next.or_else(|| self.queue.back().map(|(t, _)| *t));
        if reference.is_some_and(|r| ts.abs_diff(r) > RESYNC) {
            self.resync();
        }
        if self.next.is_some_and(|n| ts < n) {
            self.stats.late += 1;
            return;
        }
        match self.queue.iter().rposition(|(t, _)| *t <= ts) {
            Some(i) if self.queue[i].0 == ts => {
                self.stats.late += 1;
                return;
            }
            Some(i) => self.queue.insert(i + 1, (ts, payload)),
            None => self.queue.push_front((ts, payload)),
        }
        while self.queue.len() > MAX_DEPTH {
            if let Some((t, _)) = self.queue.pop_front() {
                self.stats.dropped += 1;
                if let Some(n) = self.next.as_mut() {
                    *n = (*n).max(t + TICKS);
                }
            }
        }
    }

    fn resync(&mut self) {
        self.stats.resyncs += 1;
        self.queue.clear();
        self.next = None;
        self.concealed_run = 0;
        if let Some(d) = self.decoder.as_mut() {
            let _ = d.reset_state();
        }
    }

    /// The slot's next 20 ms, added (saturating) into `mix` (20 ms at the slot's rate).
    /// Returns whether it played.
    pub fn play_into(&mut self, mix: &mut [i16]) -> bool {
        let next = match (self.next, self.queue.front()) {
            (Some(n), _) => n,
            (None, Some((t, _))) => *t,
            (None, None) => return false,
        };
        self.next = Some(next);
        let payload = match self.queue.front() {
            Some((t, _)) if *t == next => {
                self.next = Some(next + TICKS);
                self.concealed_run = 0;
                self.queue.pop_front().map(|(_, p)| p)
            }
            Some(_) => {
                // A gap: the frame at `next` was lost; later ones are here.
                self.next = Some(next + TICKS);
                self.concealed_run += 1;
                None
            }
            None => {
                // Nothing yet: conceal and wait for it (it may only be late).
                self.concealed_run += 1;
                if self.concealed_run > MAX_CONCEAL {
                    self.next = None;
                    self.concealed_run = 0;
                    return false;
                }
                None
            }
        };
        let decoder = match self.decoder.as_mut() {
            Some(d) => d,
            None => match Decoder::new(self.rate, Channels::Mono) {
                Ok(d) => self.decoder.insert(d),
                Err(e) => {
                    log::warn!("bridge: opus decoder: {e}");
                    return false;
                }
            },
        };
        let mut buf = [0i16; FRAME_48K];
        let pcm = &mut buf[..self.frame];
        let decoded = match payload.as_deref() {
            Some(p) => match decoder.decode(p, pcm, false) {
                Ok(n) if n == pcm.len() => {
                    self.stats.decoded += 1;
                    true
                }
                // Not a 20 ms packet, or broken: conceal instead.
                _ => {
                    self.stats.decode_errors += 1;
                    false
                }
            },
            None => false,
        };
        if !decoded {
            if decoder.decode(&[], pcm, false).is_err() {
                return false;
            }
            self.stats.concealed += 1;
        }
        for (m, s) in mix.iter_mut().zip(pcm.iter()) {
            *m = m.saturating_add(*s);
        }
        true
    }
}

/// Every receive slot of the bridge's SFU session.
pub struct CallDownlink {
    slots: Vec<SlotPlayout>,
}

impl CallDownlink {
    /// `slots` slots, mixed at `rate`.
    pub fn new(slots: usize, rate: u32) -> Self {
        Self {
            slots: (0..slots).map(|_| SlotPlayout::new(rate)).collect(),
        }
    }

    /// A frame forwarded into slot `slot` (ignored if out of range).
    pub fn push(&mut self, slot: usize, ts: u64, payload: Arc<[u8]>) {
        if let Some(s) = self.slots.get_mut(slot) {
            s.push(ts, payload);
        }
    }

    /// The next 20 ms of the call, every slot summed into `mix` (20 ms at the rate; cleared
    /// first). Returns false when no slot played (`mix` is silence).
    pub fn mix(&mut self, mix: &mut [i16]) -> bool {
        mix.fill(0);
        let mut any = false;
        for s in &mut self.slots {
            any |= s.play_into(mix);
        }
        any
    }

    pub fn slot_stats(&self) -> Vec<SlotStats> {
        self.slots.iter().map(SlotPlayout::stats).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pstn::media::test_util::{db, power_at, tone};
    use opus::{Application, Encoder};

    fn encoded(freq: f64, frames: usize) -> Vec<Arc<[u8]>> {
        let mut enc = Encoder::new(48_000, Channels::Mono, Application::Voip).unwrap();
        tone(freq, 48_000.0, 8_000.0, FRAME_48K * frames)
            .chunks_exact(FRAME_48K)
            .map(|f| Arc::from(enc.encode_vec(f, 1500).unwrap()))
            .collect()
    }

    fn play(d: &mut CallDownlink, out: &mut Vec<i16>) -> bool {
        let mut mix = [0i16; FRAME_48K];
        let any = d.mix(&mut mix);
        out.extend_from_slice(&mix);
        any
    }

    #[test]
    fn two_slots_are_summed() {
        let a = encoded(600.0, 50);
        let b = encoded(1000.0, 50);
        let mut d = CallDownlink::new(4, 48_000);
        let mut out = Vec::new();
        for i in 0..50 {
            d.push(0, 1_000 + i as u64 * TICKS, a[i].clone());
            d.push(2, 77_777 + i as u64 * TICKS, b[i].clone());
            assert!(play(&mut d, &mut out));
        }
        let settled = &out[FRAME_48K * 5..];
        let expect = 8_000.0f64.powi(2) / 2.0;
        for f in [600.0, 1000.0] {
            let p = power_at(settled, f, 48_000.0);
            assert!(db(p / expect).abs() < 1.5, "{f}: {} dB", db(p / expect));
        }
        let s = d.slot_stats();
        assert_eq!((s[0].decoded, s[2].decoded, s[1].decoded), (50, 50, 0));
    }

    // The index is the frame number: it picks both the payload and its RTP time.
    #[allow(clippy::needless_range_loop)]
    #[test]
    fn loss_reorder_and_lateness() {
        let a = encoded(600.0, 40);
        let mut s = SlotPlayout::new(48_000);
        let mut mix = [0i16; FRAME_48K];
        let ts = |i: usize| 5_000 + i as u64 * TICKS;
        // 0..10 in order; 10 lost; 12 before 11; 20 arrives one tick late.
        for i in 0..10 {
            s.push(ts(i), a[i].clone());
            assert!(s.play_into(&mut mix));
        }
        s.push(ts(12), a[12].clone());
        assert!(s.play_into(&mut mix)); // 10: lost, concealed
        s.push(ts(11), a[11].clone());
        assert!(s.play_into(&mut mix)); // 11
        assert!(s.play_into(&mut mix)); // 12
        for i in 13..20 {
            s.push(ts(i), a[i].clone());
            assert!(s.play_into(&mut mix));
        }
        assert!(s.play_into(&mut mix)); // 20 not there yet: concealed, waits
        for i in 20..30 {
            s.push(ts(i), a[i].clone());
            assert!(s.play_into(&mut mix));
        }
        let st = s.stats();
        assert_eq!((st.decoded, st.concealed, st.late), (29, 2, 0), "{st:?}");
        // A duplicate of an old frame is late and not played.
        s.push(ts(29), a[29].clone());
        assert_eq!(s.stats().late, 1);
        assert!(s.play_into(&mut mix));
        assert_eq!((s.stats().decoded, s.stats().concealed), (29, 3));
    }

    #[test]
    fn quiet_slot_stops_and_restarts_on_a_new_source() {
        let a = encoded(600.0, 20);
        let mut s = SlotPlayout::new(48_000);
        let mut mix = [0i16; FRAME_48K];
        for (i, f) in a.iter().enumerate().take(10) {
            s.push(i as u64 * TICKS, f.clone());
            assert!(s.play_into(&mut mix));
        }
        for _ in 0..MAX_CONCEAL {
            assert!(s.play_into(&mut mix));
        }
        assert!(!s.play_into(&mut mix));
        assert!(!s.is_active());
        assert!(!s.play_into(&mut mix));
        // Another speaker, far away in RTP time.
        for (i, f) in a.iter().enumerate().skip(10) {
            s.push(9_000_000 + i as u64 * TICKS, f.clone());
            assert!(s.play_into(&mut mix));
        }
        let st = s.stats();
        assert_eq!((st.decoded, st.concealed), (20, u64::from(MAX_CONCEAL)));
        // A source change while playing resets the slot at once.
        s.push(100, a[0].clone());
        assert_eq!(s.stats().resyncs, 1);
        assert!(s.play_into(&mut mix));
        assert_eq!(s.stats().decoded, 21);
    }

    #[test]
    fn a_burst_is_bounded_and_garbage_is_concealed() {
        let a = encoded(600.0, 10);
        let mut s = SlotPlayout::new(48_000);
        let mut mix = [0i16; FRAME_48K];
        for (i, f) in a.iter().enumerate() {
            s.push(i as u64 * TICKS, f.clone());
        }
        assert_eq!(s.stats().dropped, (10 - MAX_DEPTH) as u64);
        assert!(s.play_into(&mut mix));
        s.push(10 * TICKS, Arc::from(&[0xFFu8; 3][..]));
        for _ in 0..MAX_DEPTH {
            assert!(s.play_into(&mut mix));
        }
        let st = s.stats();
        assert_eq!(st.decoded, MAX_DEPTH as u64, "{st:?}");
        assert_eq!(st.decode_errors + st.concealed, 2, "{st:?}");
    }
    #[test]
    fn decoding_at_8k_keeps_the_voice_band_without_aliases() {
        // What an SDK client sends: full band, here 1 kHz plus 6 kHz (above the phone's band).
        let mut enc = Encoder::new(48_000, Channels::Mono, Application::Voip).unwrap();
        enc.set_bitrate(opus::Bitrate::Bits(64_000)).unwrap();
        let low = tone(1000.0, 48_000.0, 6_000.0, FRAME_48K * 50);
        let high = tone(6000.0, 48_000.0, 6_000.0, FRAME_48K * 50);
        let mut d = CallDownlink::new(4, 8_000);
        let mut out = Vec::new();
        for (i, (l, h)) in low
            .chunks_exact(FRAME_48K)
            .zip(high.chunks_exact(FRAME_48K))
            .enumerate()
        {
            let pcm: Vec<i16> = l.iter().zip(h).map(|(a, b)| a + b).collect();
            d.push(
                1,
                i as u64 * TICKS,
                Arc::from(enc.encode_vec(&pcm, 1500).unwrap()),
            );
            let mut mix = [0i16; 160];
            assert!(d.mix(&mut mix));
            out.extend_from_slice(&mix);
        }
        let settled = &out[160 * 10..];
        let expect = 6_000.0f64.powi(2) / 2.0;
        let p1k = power_at(settled, 1000.0, 8_000.0);
        assert!(db(p1k / expect).abs() < 1.5, "{} dB", db(p1k / expect));
        // 6 kHz folded back would show at 2 kHz.
        let alias = power_at(settled, 2000.0, 8_000.0);
        assert!(
            db(alias / expect) < -30.0,
            "alias {} dB",
            db(alias / expect)
        );
    }
}
