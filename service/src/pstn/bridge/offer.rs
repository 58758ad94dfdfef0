//! The bridge's side of its SFU session: a str0m `Rtc` that offers like the SDK's transport
//! (and loadgen's light client), audio only: Opus with the RFC 6464 audio-level (id 1) and
//! mid (id 4) extensions, one sendrecv m-line (the phone's voice, and receive slot 0) and
//! `AUDIO_SLOTS - 1` recvonly ones. Full ICE, controlling, one host candidate.

use std::net::SocketAddr;
use std::sync::OnceLock;
use std::time::Instant;

use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::config::DtlsCert;
use str0m::media::{Direction, MediaKind, Mid};
use str0m::rtp::Extension;
use str0m::{Candidate, Rtc};

use crate::protocol::AUDIO_SLOTS;

/// An offer, the pending state to apply the answer to, and the `Rtc` it belongs to.
pub struct Offer {
    pub rtc: Rtc,
    pub sdp: String,
    pub pending: SdpPendingOffer,
    /// Audio mids in offer order: `[0]` sends the phone's voice and is receive slot 0.
    pub mids: [Mid; AUDIO_SLOTS],
}

/// One DTLS certificate for every bridge of the process: generating a key per leg costs
/// more than the rest of the setup and proves nothing (the SFU checks the fingerprint).
fn certificate() -> Result<DtlsCert, String> {
    static CERT: OnceLock<Option<DtlsCert>> = OnceLock::new();
    CERT.get_or_init(|| {
        let provider = str0m::crypto::from_feature_flags();
        let cert = provider.dtls_provider.generate_certificate();
        provider.install_process_default();
        cert
    })
    .clone()
    .ok_or_else(|| "cannot generate a DTLS certificate".to_string())
}

/// Builds the `Rtc` and its offer, with `local` as the host candidate.
pub fn make_offer(local: SocketAddr, now: Instant) -> Result<Offer, String> {
    let mut rtc = Rtc::builder()
        .set_dtls_cert(certificate()?)
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
    let mids: Vec<Mid> = (0..AUDIO_SLOTS)
        .map(|i| {
            let dir = if i == 0 {
                Direction::SendRecv
            } else {
                Direction::RecvOnly
            };
            api.add_media(MediaKind::Audio, dir, None, None, None)
        })
        .collect();
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
    let answer = SdpAnswer::from_sdp_string(sdp).map_err(|e| format!("SFU answer: {e}"))?;
    rtc.sdp_api()
        .accept_answer(pending, answer)
        .map_err(|e| format!("SFU answer: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offer_is_audio_only_with_the_sdk_shape() {
        let o = make_offer("127.0.0.1:5000".parse().unwrap(), Instant::now()).unwrap();
        assert_eq!(o.sdp.matches("m=audio").count(), AUDIO_SLOTS);
        assert_eq!(o.sdp.matches("m=video").count(), 0);
        assert_eq!(o.sdp.matches("a=sendrecv").count(), 1);
        assert_eq!(o.sdp.matches("a=recvonly").count(), AUDIO_SLOTS - 1);
        assert!(o
            .sdp
            .contains("urn:ietf:params:rtp-hdrext:ssrc-audio-level"));
        assert!(o.sdp.contains("opus/48000/2"));
        assert!(o.sdp.contains("127.0.0.1 5000 typ host"));
    }
}
