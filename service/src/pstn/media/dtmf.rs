//! RFC 4733 DTMF: the sender's packet schedule and the receiver's once-per-digit report.
//!
//! Both are driven by the leg's 20 ms packet clock; neither knows about time otherwise.

use std::collections::VecDeque;
use std::time::Duration;

use super::resample::FRAME_8K;
use super::rtp::{digit_to_event, event_to_digit, TelephoneEvent};

/// Digits a sender holds before refusing more.
pub const MAX_QUEUED_DIGITS: usize = 64;
/// Volume sent in events (−dBm0), as common gateways do.
const VOLUME: u8 = 10;
/// Copies of the end packet (RFC 4733 §2.5.1.4).
const END_PACKETS: u32 = 3;
/// A timestamp older than the last digit's by more than this (10 s at 8 kHz) means the
/// phone restarted its stream; a closer one is a stale retransmission.
const STALE_WINDOW: u32 = 80_000;

/// Why a digit was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DtmfError {
    #[error("{0:?} is not a DTMF digit (0-9 * # A-D)")]
    InvalidDigit(char),
    #[error("too many digits queued")]
    QueueFull,
    #[error("telephone-event was not negotiated")]
    NotNegotiated,
}

/// Tone and pause lengths of sent digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfTiming {
    /// Tone length (rounded up to 20 ms, 20 ms … 2 s).
    pub tone: Duration,
    /// Pause from the end of a tone to the start of the next (rounded up to 20 ms; the
    /// end-packet retransmissions fall inside it).
    pub gap: Duration,
}

impl Default for DtmfTiming {
    fn default() -> Self {
        Self {
            tone: Duration::from_millis(100),
            gap: Duration::from_millis(100),
        }
    }
}

fn ticks(d: Duration) -> u32 {
    (d.as_micros().div_ceil(20_000)).min(100) as u32
}

/// One telephone-event packet to send in a 20 ms slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DtmfPacket {
    /// Set on the first packet of an event.
    pub marker: bool,
    /// The event's RTP timestamp: the slot where it started (same for all its packets).
    pub timestamp: u32,
    pub event: TelephoneEvent,
}

struct Active {
    event: u8,
    timestamp: u32,
    /// Packets sent so far.
    sent: u32,
}

/// Turns queued digits into RFC 4733 packets, one per 20 ms slot: the first with the marker
/// bit, then updates with growing duration at the same timestamp, then the end packet three
/// times; then `gap` before the next digit.
pub struct DtmfSender {
    queue: VecDeque<u8>,
    active: Option<Active>,
    tone_ticks: u32,
    gap_ticks: u32,
    /// Slots left to pause before the next digit.
    pause: u32,
}

impl DtmfSender {
    pub fn new(timing: DtmfTiming) -> Self {
        Self {
            queue: VecDeque::new(),
            active: None,
            tone_ticks: ticks(timing.tone).max(1),
            gap_ticks: ticks(timing.gap),
            pause: 0,
        }
    }

    /// Queues a digit (`0-9 * # A-D`).
    pub fn queue(&mut self, digit: char) -> Result<(), DtmfError> {
        let event = digit_to_event(digit).ok_or(DtmfError::InvalidDigit(digit))?;
        if self.queue.len() >= MAX_QUEUED_DIGITS {
            return Err(DtmfError::QueueFull);
        }
        self.queue.push_back(event);
        Ok(())
    }

    /// A digit is playing or queued.
    pub fn is_busy(&self) -> bool {
        self.active.is_some() || !self.queue.is_empty()
    }

    /// Called for every 20 ms slot with that slot's RTP timestamp: the packet to send instead
    /// of media in this slot, if any.
    pub fn on_tick(&mut self, timestamp: u32) -> Option<DtmfPacket> {
        if self.active.is_none() {
            if self.pause > 0 {
                self.pause -= 1;
                return None;
            }
            self.active = Some(Active {
                event: self.queue.pop_front()?,
                timestamp,
                sent: 0,
            });
        }
        let a = self.active.as_mut()?;
        let k = a.sent;
        a.sent += 1;
        let n = self.tone_ticks;
        let packet = DtmfPacket {
            marker: k == 0,
            timestamp: a.timestamp,
            event: TelephoneEvent {
                event: a.event,
                end: k + 1 >= n,
                volume: VOLUME,
                duration: (FRAME_8K as u32 * (k + 1).min(n)) as u16,
            },
        };
        if k + 1 >= n + END_PACKETS - 1 {
            self.active = None;
            self.pause = self.gap_ticks.saturating_sub(END_PACKETS - 1);
        }
        Some(packet)
    }
}

/// Reports each received digit once, whichever of its packets arrive first.
#[derive(Default)]
pub struct DtmfReceiver {
    /// RTP timestamp of the last reported event.
    last: Option<u32>,
}

impl DtmfReceiver {
    /// A telephone-event packet arrived: the digit, if it starts a new event. Events are told
    /// apart by their RTP timestamp, so a lost first packet, updates and the repeated end
    /// packets all report the digit once; late packets of an earlier event are ignored.
    pub fn on_event(&mut self, timestamp: u32, event: TelephoneEvent) -> Option<char> {
        let digit = event_to_digit(event.event)?;
        if let Some(last) = self.last {
            let behind = last.wrapping_sub(timestamp);
            if behind < STALE_WINDOW {
                return None; // same event (0) or an earlier one
            }
        }
        self.last = Some(timestamp);
        Some(digit)
    }

    /// Forgets the last event (the phone's stream changed).
    pub fn reset(&mut self) {
        self.last = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(sender: &mut DtmfSender, slots: u32) -> Vec<Option<DtmfPacket>> {
        (0..slots).map(|i| sender.on_tick(1000 + 160 * i)).collect()
    }

    #[test]
    fn a_digit_is_the_standard_sequence() {
        let mut s = DtmfSender::new(DtmfTiming::default());
        s.queue('7').unwrap();
        let out = run(&mut s, 12);
        let pkts: Vec<DtmfPacket> = out[..7].iter().map(|p| p.unwrap()).collect();
        // 100 ms: 5 packets with growing duration, the last of them with E; E twice more.
        let durations: Vec<u16> = pkts.iter().map(|p| p.event.duration).collect();
        assert_eq!(durations, [160, 320, 480, 640, 800, 800, 800]);
        let ends: Vec<bool> = pkts.iter().map(|p| p.event.end).collect();
        assert_eq!(ends, [false, false, false, false, true, true, true]);
        let markers: Vec<bool> = pkts.iter().map(|p| p.marker).collect();
        assert_eq!(markers, [true, false, false, false, false, false, false]);
        assert!(pkts
            .iter()
            .all(|p| p.timestamp == 1000 && p.event.event == 7));
        assert!(out[7..].iter().all(Option::is_none));
        assert!(!s.is_busy());
    }

    #[test]
    fn digits_are_separated_by_the_gap() {
        let mut s = DtmfSender::new(DtmfTiming::default());
        for d in "1#".chars() {
            s.queue(d).unwrap();
        }
        let out = run(&mut s, 20);
        let starts: Vec<usize> = (0..out.len())
            .filter(|i| out[*i].is_some_and(|p| p.marker))
            .collect();
        // Tone 5 slots + gap 5 slots (2 of them carry the repeated end packet).
        assert_eq!(starts, [0, 10]);
        let second = out[10].unwrap();
        assert_eq!((second.timestamp, second.event.event), (1000 + 1600, 11));
        assert_eq!(out.iter().filter(|p| p.is_some()).count(), 14);
    }

    #[test]
    fn custom_timing_and_refusals() {
        let mut s = DtmfSender::new(DtmfTiming {
            tone: Duration::from_millis(50), // rounds up to 60
            gap: Duration::ZERO,
        });
        assert_eq!(s.queue('x'), Err(DtmfError::InvalidDigit('x')));
        s.queue('a').unwrap();
        s.queue('b').unwrap();
        let out = run(&mut s, 12);
        let durs: Vec<Option<u16>> = out.iter().map(|p| p.map(|p| p.event.duration)).collect();
        let expect = [160, 320, 480, 480, 480, 160, 320, 480, 480, 480].map(Some);
        assert_eq!(durs[..10], expect);
        assert_eq!(out[5].unwrap().event.event, 13);
        for _ in 0..MAX_QUEUED_DIGITS {
            s.queue('0').unwrap();
        }
        assert_eq!(s.queue('0'), Err(DtmfError::QueueFull));
    }

    #[test]
    fn receiver_reports_once_even_without_the_first_packets() {
        let mut s = DtmfSender::new(DtmfTiming::default());
        for d in "55*".chars() {
            s.queue(d).unwrap();
        }
        let pkts: Vec<DtmfPacket> = run(&mut s, 40).into_iter().flatten().collect();
        let mut r = DtmfReceiver::default();
        let mut got = String::new();
        for (i, p) in pkts.iter().enumerate() {
            // Lose the first two packets of every digit.
            if i % 7 < 2 {
                continue;
            }
            got.extend(r.on_event(p.timestamp, p.event));
        }
        assert_eq!(got, "55*");
    }

    #[test]
    fn receiver_reports_on_end_packets_alone_and_ignores_stale_ones() {
        let end = |event| TelephoneEvent {
            event,
            end: true,
            volume: 10,
            duration: 800,
        };
        let mut r = DtmfReceiver::default();
        assert_eq!(r.on_event(u32::MAX - 100, end(1)), Some('1'));
        assert_eq!(r.on_event(u32::MAX - 100, end(1)), None);
        // Timestamps wrap.
        assert_eq!(r.on_event(1500, end(2)), Some('2'));
        // A late packet of the first digit.
        assert_eq!(r.on_event(u32::MAX - 100, end(1)), None);
        // Not DTMF (flash).
        assert_eq!(r.on_event(5000, end(16)), None);
        // The phone restarted its stream far back in time.
        assert_eq!(
            r.on_event(1500u32.wrapping_sub(1_000_000), end(3)),
            Some('3')
        );
        r.reset();
        assert_eq!(r.on_event(0, end(4)), Some('4'));
    }
}
