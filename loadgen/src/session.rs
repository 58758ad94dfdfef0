//! One virtual device's media: a str0m `Rtc` on the offering side (full ICE, controlling),
//! shaped like the SDK's offer, and what it counts about what it receives.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::config::DtlsCert;
use str0m::format::Codec;
use str0m::media::{Direction, MediaData, MediaKind, MediaTime, Mid, Pt};
use str0m::rtp::Extension;
use str0m::{Candidate, Rtc};

use crate::audio::{self, Frames, TICKS_PER_FRAME};
use crate::protocol::AUDIO_SLOTS;

/// What a participant does with its microphone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Sends the tone, tagged with speaker index `k`'s level.
    Speaker(usize),
    /// Sends encoded silence (level -127), or nothing when `send` is false; with `dtx`
    /// only every [`DTX_EVERY`]th frame (400 ms).
    Muted { send: bool, dtx: bool },
}

/// A DTX sender sends one frame in this many (20 ms each).
pub const DTX_EVERY: u64 = 20;

/// Who the service says sits in a receive slot (from `AudioSlots`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SlotTag {
    #[default]
    Empty,
    Speaker(usize),
    Echo,
    /// A participant that is not one of the speakers.
    Other,
    /// The service's mix; bit k set: speaker k is in it.
    Mix(u64),
}

/// Cumulative counters of one session (snapshots are subtracted for a window).
#[derive(Debug, Clone, Default)]
pub struct Counters {
    pub sent: u64,
    pub received: u64,
    /// Gaps in the RTP sequence numbers of a receive stream (SFU → client wire loss).
    pub wire_lost: u64,
    /// Gaps in the RTP timestamps of one source in a slot: packets the sender sent that never
    /// arrived, wherever they were lost (includes `wire_lost`).
    pub e2e_lost: u64,
    /// Loud packets per speaker, where `AudioSlots` and the packet's level tag agree.
    pub heard: Vec<u64>,
    /// Loud packets whose level tag names another speaker than `AudioSlots` says.
    pub mislabeled: u64,
    /// Packets in a slot `AudioSlots` has not (yet) announced.
    pub unlabeled: u64,
    /// Datagrams the socket refused (would block).
    pub send_drops: u64,
}

impl Counters {
    /// `self - earlier`, counter by counter.
    pub fn since(&self, earlier: &Counters) -> Counters {
        Counters {
            sent: self.sent - earlier.sent,
            received: self.received - earlier.received,
            wire_lost: self.wire_lost - earlier.wire_lost,
            e2e_lost: self.e2e_lost - earlier.e2e_lost,
            heard: self
                .heard
                .iter()
                .enumerate()
                .map(|(k, h)| h - earlier.heard.get(k).copied().unwrap_or(0))
                .collect(),
            mislabeled: self.mislabeled - earlier.mislabeled,
            unlabeled: self.unlabeled - earlier.unlabeled,
            send_drops: self.send_drops - earlier.send_drops,
        }
    }
}

/// Receive state of one slot (one incoming SSRC: the SFU keeps one send stream per mid).
#[derive(Debug, Clone, Copy, Default)]
struct SlotRx {
    last_seq: Option<u64>,
    last_ts: Option<u64>,
}

/// An offer, the pending state to apply the answer to, and the `Rtc` it belongs to.
pub struct Offer {
    pub rtc: Rtc,
    pub sdp: String,
    pub pending: SdpPendingOffer,
    pub mids: [Mid; AUDIO_SLOTS],
}

/// Builds an `Rtc` like the SDK's transport: Opus only, audio-level (id 1) and mid (id 4)
/// extensions, AUDIO_SLOTS audio m-lines (the first sendrecv), one host candidate.
pub fn make_offer(local: SocketAddr, cert: &DtlsCert, now: Instant) -> Result<Offer, String> {
    let mut rtc = Rtc::builder()
        .set_dtls_cert(cert.clone())
        .clear_codecs()
        .enable_opus(true, false)
        .clear_extension_map()
        .set_extension(1, Extension::AudioLevel)
        .set_extension(4, Extension::RtpMid)
        .set_stats_interval(None)
        .build(now);
    let candidate = Candidate::host(local, "udp").map_err(|e| format!("candidate: {e}"))?;
    rtc.add_local_candidate(candidate);
    let mut api = rtc.sdp_api();
    let mut mids = Vec::with_capacity(AUDIO_SLOTS);
    for i in 0..AUDIO_SLOTS {
        let dir = if i == 0 {
            Direction::SendRecv
        } else {
            Direction::RecvOnly
        };
        mids.push(api.add_media(MediaKind::Audio, dir, None, None, None));
    }
    let (offer, pending) = api.apply().ok_or("offer: no changes")?;
    let mids: [Mid; AUDIO_SLOTS] = mids.try_into().map_err(|_| "offer: mids")?;
    Ok(Offer {
        rtc,
        sdp: offer.to_sdp_string(),
        pending,
        mids,
    })
}

/// Applies the SFU's answer.
pub fn apply_answer(rtc: &mut Rtc, pending: SdpPendingOffer, sdp: &str) -> Result<(), String> {
    let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| format!("answer: {e}"))?;
    rtc.sdp_api()
        .accept_answer(pending, answer)
        .map_err(|e| format!("answer: {e}"))
}

/// The host candidate address in an SDP (the SFU's media address).
pub fn host_candidate(sdp: &str) -> Option<SocketAddr> {
    sdp.lines().find_map(|l| {
        let rest = l.trim().strip_prefix("a=candidate:")?;
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.len() >= 8 && f[6] == "typ" && f[7] == "host" {
            format!("{}:{}", f[4], f[5]).parse().ok()
        } else {
            None
        }
    })
}

/// Who a session is, decided by signaling.
pub struct Setup {
    pub idx: usize,
    pub role: Role,
    pub mids: [Mid; AUDIO_SLOTS],
    /// When the join request went out (join time runs to media connected).
    pub join_sent: Instant,
    /// Speakers in the call.
    pub speakers: usize,
}

/// A session's media state inside a media thread.
pub struct Session {
    pub idx: usize,
    pub rtc: Rtc,
    pub local: SocketAddr,
    pub role: Role,
    pub mids: [Mid; AUDIO_SLOTS],
    pub join_sent: Instant,
    pub connected: bool,
    pub dead: bool,
    pub timeout: Instant,
    pub next_send: Instant,
    pt: Option<Pt>,
    frame_no: u64,
    ts_base: u64,
    slots: [SlotTag; AUDIO_SLOTS],
    rx: [SlotRx; AUDIO_SLOTS],
    speakers: usize,
    pub counters: Counters,
}

impl Session {
    /// A session whose answer has been applied.
    pub fn new(setup: Setup, rtc: Rtc, local: SocketAddr, now: Instant) -> Session {
        let Setup {
            idx,
            role,
            mids,
            join_sent,
            speakers,
        } = setup;
        Session {
            idx,
            rtc,
            local,
            role,
            mids,
            join_sent,
            connected: false,
            dead: false,
            timeout: now,
            next_send: now,
            pt: None,
            frame_no: 0,
            // A different residue modulo one frame per client (643 is coprime with 960), so a
            // switch to another source never looks like a whole number of lost frames.
            ts_base: (idx as u64).wrapping_mul(1_000_003) % (1 << 31),
            slots: [SlotTag::Empty; AUDIO_SLOTS],
            rx: [SlotRx::default(); AUDIO_SLOTS],
            speakers,
            counters: Counters {
                heard: vec![0; speakers],
                ..Counters::default()
            },
        }
    }

    /// Media connected: start the 20 ms clock at a per-client phase, so that clients do not
    /// all send in the same millisecond (real devices don't either).
    pub fn on_connected(&mut self, now: Instant) {
        self.connected = true;
        let phase_us = (self.idx as u64).wrapping_mul(7_777) % 20_000;
        self.next_send = now + Duration::from_micros(phase_us);
        self.pt = self.rtc.writer(self.mids[0]).and_then(|w| {
            w.payload_params()
                .find(|p| p.spec().codec == Codec::Opus)
                .map(|p| p.pt())
        });
    }

    /// Whether this session sends at all.
    pub fn sends(&self) -> bool {
        !matches!(self.role, Role::Muted { send: false, .. })
    }

    /// Writes the next 20 ms frame. Returns false when str0m refused it.
    pub fn send_frame(&mut self, frames: &Frames, now: Instant) -> bool {
        let Some(pt) = self.pt else {
            return false;
        };
        let i = (self.frame_no % frames.tone.len().max(1) as u64) as usize;
        let (data, level) = match self.role {
            Role::Speaker(k) => (frames.tone.get(i), audio::speaker_level(k)),
            Role::Muted { .. } => (frames.silence.get(i), audio::SILENCE_LEVEL),
        };
        let Some(data) = data.cloned() else {
            return false;
        };
        let ts = self.ts_base + self.frame_no * TICKS_PER_FRAME;
        self.frame_no += 1;
        if matches!(self.role, Role::Muted { dtx: true, .. })
            && !(self.frame_no - 1).is_multiple_of(DTX_EVERY)
        {
            return true;
        }
        let Some(w) = self.rtc.writer(self.mids[0]) else {
            return false;
        };
        let w = w.audio_level(level, level > audio::SILENCE_LEVEL);
        let ok = w
            .write(
                pt,
                now,
                MediaTime::new(ts, str0m::media::Frequency::FORTY_EIGHT_KHZ),
                data,
            )
            .is_ok();
        if ok {
            self.counters.sent += 1;
        }
        ok
    }

    /// The service moved sources between slots.
    pub fn set_slots(&mut self, slots: [SlotTag; AUDIO_SLOTS]) {
        for (i, tag) in slots.iter().enumerate() {
            if self.slots[i] != *tag {
                // A new source: its timestamps start elsewhere.
                self.rx[i].last_ts = None;
            }
        }
        self.slots = slots;
    }

    /// Counts one received frame.
    pub fn on_media(&mut self, data: &MediaData) {
        let Some(slot) = self.mids.iter().position(|m| *m == data.mid) else {
            return;
        };
        let start = **data.seq_range.start();
        let end = **data.seq_range.end();
        self.counters.received += end.saturating_sub(start) + 1;
        let rx = &mut self.rx[slot];
        match rx.last_seq {
            Some(last) if start > last => {
                self.counters.wire_lost += start - last - 1;
                rx.last_seq = Some(end);
            }
            Some(_) => {} // duplicate or late: str0m already delivered past it
            None => rx.last_seq = Some(end),
        }
        let ts = data
            .time
            .rebase(str0m::media::Frequency::FORTY_EIGHT_KHZ)
            .numer();
        if let Some(last) = rx.last_ts {
            let d = ts.wrapping_sub(last);
            // Only whole frames (up to 10 s) count; anything else is a source switch.
            if d > TICKS_PER_FRAME && d % TICKS_PER_FRAME == 0 && d <= 500 * TICKS_PER_FRAME {
                self.counters.e2e_lost += d / TICKS_PER_FRAME - 1;
            }
        }
        rx.last_ts = Some(ts);

        let level = data.ext_vals.audio_level.unwrap_or(audio::SILENCE_LEVEL);
        let tagged = audio::speaker_of_level(level, self.speakers);
        match (self.slots[slot], tagged) {
            (SlotTag::Empty, _) => self.counters.unlabeled += 1,
            // A loud mix carries every speaker in it (its level is the mix's, not a tag).
            (SlotTag::Mix(mask), _) => {
                if level > MIX_LOUD {
                    for (k, h) in self.counters.heard.iter_mut().enumerate() {
                        if k < 64 && mask & (1 << k) != 0 {
                            *h += 1;
                        }
                    }
                }
            }
            (SlotTag::Speaker(j), Some(k)) if j == k => self.counters.heard[k] += 1,
            (SlotTag::Echo, Some(k)) if self.role == Role::Speaker(k) => {
                self.counters.heard[k] += 1
            }
            (_, Some(_)) => self.counters.mislabeled += 1,
            (_, None) => {}
        }
    }
}

/// A mixed frame louder than this (dBov) counts as carrying its speakers.
const MIX_LOUD: i8 = -40;

/// The speakers participant `role` should hear: every speaker but itself (group call), or
/// only itself (echo call).
pub fn expected_speakers(role: Role, speakers: usize, echo: bool) -> Vec<usize> {
    let me = match role {
        Role::Speaker(k) => Some(k),
        Role::Muted { .. } => None,
    };
    if echo {
        return me.into_iter().collect();
    }
    (0..speakers).filter(|k| Some(*k) != me).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_has_the_sdk_shape() {
        let cert = str0m::crypto::from_feature_flags()
            .dtls_provider
            .generate_certificate()
            .expect("cert");
        let o = make_offer(
            "127.0.0.1:5000".parse().expect("addr"),
            &cert,
            Instant::now(),
        )
        .expect("offer");
        assert_eq!(o.sdp.matches("m=audio").count(), AUDIO_SLOTS);
        assert_eq!(o.sdp.matches("a=sendrecv").count(), 1);
        assert_eq!(o.sdp.matches("a=recvonly").count(), AUDIO_SLOTS - 1);
        assert!(o
            .sdp
            .contains("urn:ietf:params:rtp-hdrext:ssrc-audio-level"));
        assert!(o.sdp.contains("urn:ietf:params:rtp-hdrext:sdes:mid"));
        assert!(o.sdp.contains("opus/48000/2"));
        assert_eq!(
            host_candidate(&o.sdp),
            Some("127.0.0.1:5000".parse().expect("addr"))
        );
    }

    #[test]
    fn expected_speakers_exclude_self() {
        assert_eq!(expected_speakers(Role::Speaker(1), 3, false), vec![0, 2]);
        assert_eq!(
            expected_speakers(
                Role::Muted {
                    send: true,
                    dtx: false
                },
                3,
                false
            ),
            vec![0, 1, 2]
        );
        assert_eq!(expected_speakers(Role::Speaker(2), 3, true), vec![2]);
        assert!(expected_speakers(
            Role::Muted {
                send: true,
                dtx: false
            },
            3,
            true
        )
        .is_empty());
    }
}
