//! [`PhoneLegMedia`]: the media of one phone leg, sans-IO.
//!
//! Towards the phone it sends one G.711 RTP packet every 20 ms from the pushed 48 kHz call
//! audio (a silence frame when none was pushed, so the phone's jitter buffer keeps running),
//! replaced by RFC 4733 telephone-event packets while a digit plays. From the phone it
//! takes G.711 and telephone-event RTP, and gives one 48 kHz frame per 20 ms through a
//! jitter buffer, DTMF digits as events, and a media timeout.
//!
//! No sockets, no clocks: every call that depends on time takes `now`, and
//! [`PhoneLegMedia::poll_timeout`] says when to call again.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use super::dtmf::{DtmfError, DtmfReceiver, DtmfSender, DtmfTiming};
use super::g711::G711;
use super::jitter::{Frame8k, JitterBuffer, JitterStats, TARGET_FRAMES};
use super::resample::{Downsampler, Upsampler, DOWN_DELAY_8K, FRAME_48K, FRAME_8K, UP_DELAY_48K};
use super::rtp::{self, RtpHeader, TelephoneEvent};
use super::srtp::{SrtpKeys, SrtpSession};

/// Packetisation time: the only one supported (SDP `a=ptime:20`).
pub const PTIME: Duration = Duration::from_millis(20);
/// Pushed frames waiting for their packet slot before the oldest is dropped (60 ms).
const MAX_TX_QUEUE: usize = 3;
/// A clock this far behind `now` (the caller stalled) skips ahead instead of bursting.
const MAX_BEHIND: Duration = Duration::from_millis(200);

/// Delay the leg adds to audio towards the phone: the resampler (the wait for the packet
/// slot, 0-20 ms, comes on top).
pub const TX_DELAY: Duration = Duration::from_micros(DOWN_DELAY_8K as u64 * 125);
/// Delay the leg adds to audio from the phone: the jitter buffer's target and the resampler.
pub const RX_DELAY: Duration =
    Duration::from_micros(TARGET_FRAMES * 20_000 + UP_DELAY_48K as u64 * 1_000 / 48);

/// What was negotiated for the leg.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LegConfig {
    pub codec: G711,
    /// RTP payload type of the codec (normally its static one, 0 or 8).
    pub payload_type: u8,
    /// Payload type of `telephone-event/8000`, if negotiated (used both ways).
    pub telephone_event_pt: Option<u8>,
    /// Must be [`PTIME`].
    pub ptime: Duration,
    /// Our SSRC.
    pub ssrc: u32,
    /// First RTP sequence number and timestamp we send (RFC 3550 wants them random).
    pub initial_sequence: u16,
    pub initial_timestamp: u32,
    /// [`LegEvent::MediaTimeout`] after this long without RTP from the phone.
    pub media_timeout: Duration,
    pub dtmf: DtmfTiming,
    /// SDES-SRTP keys: every packet both ways is SRTP (None: plain RTP).
    pub srtp: Option<SrtpKeys>,
}

impl LegConfig {
    /// Defaults: static payload type, 20 ms, 30 s media timeout, 100 ms digits with 100 ms
    /// gaps. The initial sequence number and timestamp are derived from `ssrc` (pass a
    /// random SSRC, or set them yourself).
    pub fn new(codec: G711, telephone_event_pt: Option<u8>, ssrc: u32) -> Self {
        let mix = u64::from(ssrc).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        Self {
            codec,
            payload_type: codec.static_payload_type(),
            telephone_event_pt,
            ptime: PTIME,
            ssrc,
            initial_sequence: (mix >> 48) as u16,
            initial_timestamp: (mix >> 16) as u32,
            media_timeout: Duration::from_secs(30),
            dtmf: DtmfTiming::default(),
            srtp: None,
        }
    }
}

/// Why a leg cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LegError {
    #[error("ptime {0:?} is not supported (20 ms only)")]
    UnsupportedPtime(Duration),
    #[error("payload type {0} is not a valid RTP payload type for the leg")]
    PayloadType(u8),
    #[error("{0}")]
    Srtp(String),
}

/// What happened on the leg.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegEvent {
    /// The phone sent a DTMF digit (reported once per digit).
    Dtmf(char),
    /// No RTP from the phone for `media_timeout` (reported once until RTP comes back).
    MediaTimeout,
}

/// Counters of the receive side.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RxStats {
    pub packets: u64,
    /// Not RTP, or malformed.
    pub invalid: u64,
    /// Payload type neither the codec nor telephone-event (comfort noise …).
    pub ignored: u64,
    /// Media payloads not 160 samples long (padded or cut to 20 ms).
    pub odd_size: u64,
    /// SRTP legs: packets that failed authentication (wrong key, plain RTP, replays).
    pub unauthenticated: u64,
    pub jitter: JitterStats,
}

pub struct PhoneLegMedia {
    cfg: LegConfig,
    // Towards the phone.
    down: Downsampler,
    tx_queue: VecDeque<Box<Frame8k>>,
    next_tx: Instant,
    seq: u16,
    timestamp: u32,
    marker: bool,
    dtmf_tx: DtmfSender,
    // From the phone.
    jitter: JitterBuffer,
    up: Upsampler,
    /// The upsampler's state is from an earlier stream.
    up_stale: bool,
    next_play: Instant,
    rx_ssrc: Option<u32>,
    dtmf_rx: DtmfReceiver,
    last_rx: Instant,
    timed_out: bool,
    rx: RxStats,
    events: VecDeque<LegEvent>,
    srtp: Option<SrtpSession>,
}

impl PhoneLegMedia {
    /// A leg whose packet and playout clocks start at `now`.
    pub fn new(cfg: LegConfig, now: Instant) -> Result<Self, LegError> {
        if cfg.ptime != PTIME {
            return Err(LegError::UnsupportedPtime(cfg.ptime));
        }
        // 64-95 would collide with RTCP (RFC 5761); > 127 does not fit.
        for pt in std::iter::once(cfg.payload_type).chain(cfg.telephone_event_pt) {
            if pt > 127 || (64..=95).contains(&pt) {
                return Err(LegError::PayloadType(pt));
            }
        }
        let srtp = cfg
            .srtp
            .as_ref()
            .map(SrtpSession::new)
            .transpose()
            .map_err(LegError::Srtp)?;
        Ok(Self {
            srtp,
            down: Downsampler::new(),
            tx_queue: VecDeque::new(),
            next_tx: now,
            seq: cfg.initial_sequence,
            timestamp: cfg.initial_timestamp,
            marker: true,
            dtmf_tx: DtmfSender::new(cfg.dtmf),
            jitter: JitterBuffer::new(),
            up: Upsampler::new(),
            up_stale: false,
            next_play: now,
            rx_ssrc: None,
            dtmf_rx: DtmfReceiver::default(),
            last_rx: now,
            timed_out: false,
            rx: RxStats::default(),
            events: VecDeque::new(),
            cfg,
        })
    }

    pub fn config(&self) -> &LegConfig {
        &self.cfg
    }

    pub fn rx_stats(&self) -> RxStats {
        RxStats {
            jitter: self.jitter.stats(),
            ..self.rx
        }
    }

    /// A datagram from the phone's RTP port.
    pub fn on_rtp(&mut self, datagram: &[u8], now: Instant) {
        let clear;
        let datagram = match self.srtp.as_mut() {
            None => datagram,
            Some(s) => match s.unprotect(datagram) {
                Some(c) => {
                    clear = c;
                    &clear[..]
                }
                None => {
                    self.rx.unauthenticated += 1;
                    return;
                }
            },
        };
        let Ok(packet) = rtp::parse(datagram) else {
            self.rx.invalid += 1;
            return;
        };
        let h = packet.header;
        self.rx.packets += 1;
        self.last_rx = now;
        self.timed_out = false;
        if self.rx_ssrc != Some(h.ssrc) {
            self.rx_ssrc = Some(h.ssrc);
            self.dtmf_rx.reset();
        }
        if h.payload_type == self.cfg.payload_type {
            let mut pcm = [0i16; FRAME_8K];
            if packet.payload.len() != FRAME_8K {
                self.rx.odd_size += 1;
            }
            self.cfg.codec.decode(packet.payload, &mut pcm);
            self.jitter.push(h.ssrc, h.sequence, &pcm);
        } else if Some(h.payload_type) == self.cfg.telephone_event_pt {
            let digit = TelephoneEvent::parse(packet.payload)
                .and_then(|e| self.dtmf_rx.on_event(h.timestamp, e));
            if let Some(d) = digit {
                self.events.push_back(LegEvent::Dtmf(d));
            }
        } else {
            self.rx.ignored += 1;
        }
    }

    /// One 20 ms frame (48 kHz mono) of what the phone must hear, pushed at the call's pace.
    pub fn push_call_audio(&mut self, pcm: &[i16; FRAME_48K]) {
        let mut frame = Box::new([0i16; FRAME_8K]);
        self.down.process(pcm, &mut frame);
        if self.tx_queue.len() >= MAX_TX_QUEUE {
            self.tx_queue.pop_front();
        }
        self.tx_queue.push_back(frame);
    }

    /// [`Self::push_call_audio`] for a caller that has the call's audio at 8 kHz already
    /// (an Opus decoder opened at 8 kHz): no resampling.
    pub fn push_call_audio_8k(&mut self, pcm: &Frame8k) {
        if self.tx_queue.len() >= MAX_TX_QUEUE {
            self.tx_queue.pop_front();
        }
        self.tx_queue.push_back(Box::new(*pcm));
    }

    /// Queues a DTMF digit (`0-9 * # A-D`) to send as RFC 4733 events.
    pub fn send_dtmf(&mut self, digit: char, now: Instant) -> Result<(), DtmfError> {
        self.check_timeout(now);
        if self.cfg.telephone_event_pt.is_none() {
            return Err(DtmfError::NotNegotiated);
        }
        self.dtmf_tx.queue(digit)
    }

    /// The next RTP datagram for the phone, if one is due; call until `None`.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Vec<u8>> {
        self.check_timeout(now);
        if now < self.next_tx {
            return None;
        }
        let behind = now - self.next_tx;
        if behind > MAX_BEHIND {
            // Skip the missed slots; the timestamp still counts them (it is the media clock).
            let skipped = (behind.as_micros() / PTIME.as_micros()) as u32;
            self.next_tx += PTIME * skipped;
            self.timestamp = self
                .timestamp
                .wrapping_add(skipped.wrapping_mul(FRAME_8K as u32));
            self.marker = true;
        }
        self.next_tx += PTIME;
        let slot_ts = self.timestamp;
        self.timestamp = self.timestamp.wrapping_add(FRAME_8K as u32);
        // The slot's audio is consumed even when a digit replaces it (no growing backlog).
        let frame = self.tx_queue.pop_front();
        let (header, payload) = match self.dtmf_tx.on_tick(slot_ts) {
            Some(p) => (
                self.header(p.marker, self.cfg.telephone_event_pt?, p.timestamp),
                p.event.to_bytes().to_vec(),
            ),
            None => {
                let mut payload = vec![self.cfg.codec.silence(); FRAME_8K];
                if let Some(f) = frame {
                    self.cfg.codec.encode(&f[..], &mut payload);
                }
                let marker = std::mem::take(&mut self.marker);
                (self.header(marker, self.cfg.payload_type, slot_ts), payload)
            }
        };
        self.seq = self.seq.wrapping_add(1);
        let datagram = header.to_datagram(&payload);
        match self.srtp.as_mut() {
            None => Some(datagram),
            // Cannot fail for our own packets before 2^48 of them.
            Some(s) => s.protect(&datagram),
        }
    }

    fn header(&self, marker: bool, payload_type: u8, timestamp: u32) -> RtpHeader {
        RtpHeader {
            marker,
            payload_type,
            sequence: self.seq,
            timestamp,
            ssrc: self.cfg.ssrc,
        }
    }

    /// The next 20 ms (48 kHz mono) of what the phone said, one per 20 ms while the phone
    /// sends media (concealed frames included); `None` when none is due or nothing plays.
    pub fn poll_phone_audio(&mut self, now: Instant) -> Option<Box<[i16; FRAME_48K]>> {
        let pcm = self.next_phone_frame(now)?;
        if std::mem::take(&mut self.up_stale) {
            self.up.reset();
        }
        let mut out = Box::new([0i16; FRAME_48K]);
        self.up.process(&pcm, &mut out);
        Some(out)
    }

    /// [`Self::poll_phone_audio`] without the resampling: the phone's 8 kHz frames, for a
    /// consumer that takes 8 kHz itself (an Opus encoder opened at 8 kHz).
    pub fn poll_phone_audio_8k(&mut self, now: Instant) -> Option<Frame8k> {
        self.next_phone_frame(now)
    }

    fn next_phone_frame(&mut self, now: Instant) -> Option<Frame8k> {
        self.check_timeout(now);
        if now.saturating_duration_since(self.next_play) > MAX_BEHIND {
            // The caller stalled: skip; the jitter buffer drops what no longer fits.
            self.next_play = now;
        }
        while now >= self.next_play {
            self.next_play += PTIME;
            match self.jitter.pop() {
                Some(pcm) => return Some(pcm),
                None => self.up_stale = true,
            }
        }
        None
    }

    pub fn poll_event(&mut self) -> Option<LegEvent> {
        self.events.pop_front()
    }

    /// When to call the `poll_*` methods next.
    pub fn poll_timeout(&self) -> Instant {
        let t = self.next_tx.min(self.next_play);
        if self.timed_out {
            t
        } else {
            t.min(self.last_rx + self.cfg.media_timeout)
        }
    }

    fn check_timeout(&mut self, now: Instant) {
        if !self.timed_out && now >= self.last_rx + self.cfg.media_timeout {
            self.timed_out = true;
            self.events.push_back(LegEvent::MediaTimeout);
        }
    }
}

#[cfg(test)]
#[path = "leg_tests.rs"]
mod tests;
