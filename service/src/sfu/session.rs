//! One participant's media session inside the SFU.

use std::time::Instant;

use str0m::change::SdpOffer;
use str0m::config::DtlsCert;
use str0m::media::{MediaKind, Mid};
use str0m::rtp::Extension;
use str0m::{Candidate, Rtc};

use super::slots::Slots;
use super::{CallKey, SessionId, SfuError};
use crate::echo_bot::EchoQueue;
use crate::protocol::AUDIO_SLOTS;

/// Where a sender's audio goes: a receiver and the mid of the receive slot.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub receiver: SessionId,
    pub mid: Mid,
}

/// A participant's `Rtc` plus what the SFU tracks about it.
pub struct Session {
    pub call: CallKey,
    pub rtc: Rtc,
    /// Audio mids in offer order: `[0]` is the participant's own send (and slot 0).
    pub audio_mids: Vec<Mid>,
    /// ICE+DTLS done and not lost since.
    pub connected: bool,
    /// DTLS completed once (ICE coming back reconnects the session).
    pub ever_connected: bool,
    pub held: bool,
    /// Receives but sends nothing to anyone (a room's consumer): its audio and video are
    /// dropped on arrival.
    pub listen_only: bool,
    /// Its audio is dropped on arrival (muted by another participant, until it unmutes).
    pub audio_blocked: bool,
    /// str0m's next timeout.
    pub timeout: Instant,
    /// When this session's live entry in the engine's timer heap is due (at most one live
    /// entry per session keeps the heap at about one entry per session).
    pub scheduled: Option<Instant>,
    /// Queued for `poll_output`.
    pub dirty: bool,
    /// Set when the echo bot is in this participant's call.
    pub echo: Option<EchoQueue>,
    /// Current receive slots.
    pub slots: Slots,
    /// Receivers of this participant's audio (recomputed on membership changes only).
    pub routes: Vec<Route>,
    /// In a mixed call: whose audio the mix in slot 0 carries for this participant.
    pub mixed: Vec<SessionId>,
}

impl Session {
    /// Builds an ice-lite `Rtc` (Opus only, audio-level + mid extensions) with the
    /// media address as its host candidate, and accepts `offer_sdp`. Returns the answer.
    /// Accepts the peer's ICE-restart offer (new ICE credentials, same m-lines) and returns
    /// the answer, with new credentials of ours.
    pub fn restart_ice(&mut self, offer_sdp: &str) -> Result<String, SfuError> {
        let offer =
            SdpOffer::from_sdp_string(offer_sdp).map_err(|e| SfuError::BadOffer(e.to_string()))?;
        let answer = self
            .rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| SfuError::BadOffer(e.to_string()))?;
        Ok(answer.to_sdp_string())
    }

    pub fn accept(
        call: CallKey,
        offer_sdp: &str,
        host: std::net::SocketAddr,
        echo: Option<EchoQueue>,
        dtls_cert: Option<&DtlsCert>,
        now: Instant,
    ) -> Result<(Session, String), SfuError> {
        let offer =
            SdpOffer::from_sdp_string(offer_sdp).map_err(|e| SfuError::BadOffer(e.to_string()))?;
        let mut builder = Rtc::builder();
        if let Some(cert) = dtls_cert {
            builder = builder.set_dtls_cert(cert.clone());
        }
        let mut rtc = builder
            .set_ice_lite(true)
            .clear_codecs()
            .enable_opus(true, false)
            .enable_h264(true)
            .clear_extension_map()
            .set_extension(1, Extension::AudioLevel)
            .set_extension(4, Extension::RtpMid)
            .set_stats_interval(Some(super::quality::STATS_INTERVAL))
            .build(now);
        let candidate =
            Candidate::host(host, "udp").map_err(|e| SfuError::BadOffer(e.to_string()))?;
        rtc.add_local_candidate(candidate);
        let answer = rtc
            .sdp_api()
            .accept_offer(offer)
            .map_err(|e| SfuError::BadOffer(e.to_string()))?;
        let answer_sdp = answer.to_sdp_string();
        let audio_mids = audio_mids_of(&answer_sdp)
            .into_iter()
            .filter(|m| rtc.media(*m).is_some_and(|m| m.kind() == MediaKind::Audio))
            .collect::<Vec<_>>();
        if audio_mids.is_empty() {
            return Err(SfuError::BadOffer("no audio m-line".into()));
        }
        Ok((
            Session {
                call,
                rtc,
                audio_mids,
                connected: false,
                ever_connected: false,
                held: false,
                listen_only: false,
                audio_blocked: false,
                timeout: now,
                scheduled: None,
                dirty: true,
                echo,
                slots: [None; AUDIO_SLOTS],
                routes: Vec::new(),
                mixed: Vec::new(),
            },
            answer_sdp,
        ))
    }

    /// The mid of receive slot `i`, if the participant offered that many.
    pub fn slot_mid(&self, i: usize) -> Option<Mid> {
        self.audio_mids.get(i).copied()
    }
}

/// The mids of the `m=audio` sections of an SDP, in order.
fn audio_mids_of(sdp: &str) -> Vec<Mid> {
    let mut mids = Vec::new();
    let mut in_audio = false;
    for line in sdp.lines() {
        let line = line.trim_end();
        if let Some(rest) = line.strip_prefix("m=") {
            in_audio = rest.starts_with("audio ");
        } else if in_audio {
            if let Some(mid) = line.strip_prefix("a=mid:") {
                mids.push(Mid::from(mid));
                in_audio = false;
            }
        }
    }
    mids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_audio_mids_in_order() {
        let sdp = "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:0\r\nm=video 9 x 96\r\na=mid:1\r\nm=audio 9 x 111\r\na=mid:2\r\n";
        let mids = audio_mids_of(sdp);
        assert_eq!(mids, vec![Mid::from("0"), Mid::from("2")]);
    }
}
