//! Building the PeerConnection: codecs, header extensions, ICE settings, transceivers.

use super::events::{Handler, Shared};
use super::{transport_err, MediaError, TransportConfig};
use rtc::ice::mdns::MulticastDnsMode;
use rtc::peer_connection::configuration::media_engine::MIME_TYPE_OPUS;
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RTCRtpHeaderExtensionCapability, RtpCodecKind,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::MediaStreamTrack;
use webrtc::peer_connection::{
    configure_rtcp_reports, MediaEngine, PeerConnection, PeerConnectionBuilder, RTCBundlePolicy,
    RTCConfigurationBuilder, Registry, SettingEngineBuilder,
};
use webrtc::rtp_transceiver::{RTCRtpTransceiverDirection, RTCRtpTransceiverInit, RtpTransceiver};

/// RFC 6464 client-to-mixer audio level (the SFU ranks speakers by it).
pub(super) const AUDIO_LEVEL_URI: &str = "urn:ietf:params:rtp-hdrext:ssrc-audio-level";
/// RFC 8843 mid: lets the SFU route our packets without relying on SSRC signalling.
pub(super) const MID_URI: &str = "urn:ietf:params:rtp-hdrext:sdes:mid";

/// Opus as Chromium offers it: pt 111, 48 kHz stereo signalling, in-band FEC.
pub(super) const OPUS_PT: u8 = 111;
pub(super) const OPUS_CLOCK_RATE: u32 = 48_000;

/// ICE connectivity-check interval. The default (200 ms) delays DTLS by one full interval on
/// loopback; 5 ms gives ~15-20 ms from new() to Connected against str0m (see MEDIA-NOTES.md).
/// Only the checking phase runs at this rate; once connected ICE ticks at the keepalive
/// interval.
const ICE_CHECK_INTERVAL: Duration = Duration::from_millis(5);
/// Binding requests per candidate pair at that interval: 500 x 5 ms = 2.5 s before a pair
/// is given up, a bit longer than the default 7 x 200 ms.
const ICE_MAX_BINDING_REQUESTS: u16 = 500;

pub(super) struct Built {
    pub pc: Arc<dyn PeerConnection>,
    pub transceivers: Vec<Arc<dyn RtpTransceiver>>,
    pub local_track: Arc<TrackLocalStaticRTP>,
    pub ssrc: u32,
}

fn opus_codec() -> RTCRtpCodec {
    RTCRtpCodec {
        mime_type: MIME_TYPE_OPUS.to_owned(),
        clock_rate: OPUS_CLOCK_RATE,
        channels: 2,
        sdp_fmtp_line: "minptime=10;useinbandfec=1".to_owned(),
        rtcp_feedback: vec![],
    }
}

fn media_engine() -> Result<MediaEngine, MediaError> {
    let mut me = MediaEngine::default();
    // Opus only: the SDK sends nothing else, and G.711 for phones is transcoded in the service.
    me.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: opus_codec(),
            payload_type: OPUS_PT,
        },
        RtpCodecKind::Audio,
    )
    .map_err(|e| transport_err("register Opus", e))?;
    for uri in [AUDIO_LEVEL_URI, MID_URI] {
        me.register_header_extension(
            RTCRtpHeaderExtensionCapability {
                uri: uri.to_owned(),
            },
            RtpCodecKind::Audio,
            None,
        )
        .map_err(|e| transport_err("register header extension", e))?;
    }
    Ok(me)
}

pub(super) async fn build(cfg: &TransportConfig, shared: Arc<Shared>) -> Result<Built, MediaError> {
    let me = media_engine()?;
    // RTCP sender/receiver reports only: no NACK (audio), no TWCC.
    let registry = configure_rtcp_reports(Registry::new());

    let settings = SettingEngineBuilder::new()
        .with_ice_connection_attempts(Some(ICE_CHECK_INTERVAL), Some(ICE_MAX_BINDING_REQUESTS))
        .with_multicast_dns_mode(MulticastDnsMode::Disabled)
        // Loopback is a legitimate "interface that reaches the service" here (tests, a
        // service on the same host); webrtc skips loopback candidates unless told otherwise.
        .with_include_loopback_candidate(cfg.local_ip.is_loopback())
        .build();

    // No ICE servers: host candidates only. One transport for all m-lines.
    let config = RTCConfigurationBuilder::new()
        .with_bundle_policy(RTCBundlePolicy::MaxBundle)
        .build();

    let pc = PeerConnectionBuilder::new()
        .with_configuration(config)
        .with_media_engine(me)
        .with_setting_engine(settings)
        .with_interceptor_registry(registry)
        .with_handler(Arc::new(Handler::new(Arc::clone(&shared))))
        .with_udp_addrs(vec![SocketAddr::new(cfg.local_ip, 0)])
        .build()
        .await
        .map_err(|e| transport_err("build PeerConnection", e))?;
    let pc: Arc<dyn PeerConnection> = Arc::new(pc);

    let ssrc = loop {
        let s = rand::random::<u32>();
        if s != 0 {
            break s;
        }
    };
    let local_track = Arc::new(TrackLocalStaticRTP::new(MediaStreamTrack::new(
        format!("acs-{ssrc:08x}"),
        format!("acs-audio-{ssrc:08x}"),
        "microphone".to_owned(),
        RtpCodecKind::Audio,
        vec![RTCRtpEncodingParameters {
            rtp_coding_parameters: RTCRtpCodingParameters {
                ssrc: Some(ssrc),
                ..Default::default()
            },
            codec: opus_codec(),
            ..Default::default()
        }],
    )));

    let mut transceivers = Vec::with_capacity(cfg.audio_slots);
    let first = pc
        .add_transceiver_from_track(
            Arc::clone(&local_track) as _,
            Some(RTCRtpTransceiverInit {
                direction: RTCRtpTransceiverDirection::Sendrecv,
                streams: vec![],
                send_encodings: vec![],
            }),
        )
        .await
        .map_err(|e| transport_err("add sendrecv audio transceiver", e))?;
    transceivers.push(first);
    for _ in 1..cfg.audio_slots {
        let t = pc
            .add_transceiver_from_kind(
                RtpCodecKind::Audio,
                Some(RTCRtpTransceiverInit {
                    direction: RTCRtpTransceiverDirection::Recvonly,
                    streams: vec![],
                    send_encodings: vec![],
                }),
            )
            .await
            .map_err(|e| transport_err("add recvonly audio transceiver", e))?;
        transceivers.push(t);
    }

    Ok(Built {
        pc,
        transceivers,
        local_track,
        ssrc,
    })
}
