//! Building the PeerConnection: codecs, header extensions, ICE settings, transceivers.

use super::events::{Handler, Shared};
use super::feedback::VideoFeedbackInterceptor;
use super::video::{VideoTrack, H264_FMTP, H264_PT, RTX_PT};
use super::{transport_err, MediaError, TransportConfig};
use crate::protocol::{VideoStreamKind, VIDEO_SLOTS};
use rtc::ice::mdns::MulticastDnsMode;
use rtc::interceptor::Slot;
use rtc::peer_connection::configuration::interceptor_registry::configure_nack;
use rtc::peer_connection::configuration::media_engine::{
    MIME_TYPE_H264, MIME_TYPE_OPUS, MIME_TYPE_RTX,
};
use rtc::rtp_transceiver::rtp_sender::{RTCPFeedback, TYPE_RTCP_FB_CCM, TYPE_RTCP_FB_NACK};
use rtc::rtp_transceiver::rtp_sender::{
    RTCRtpCodec, RTCRtpCodecParameters, RTCRtpCodingParameters, RTCRtpEncodingParameters,
    RTCRtpHeaderExtensionCapability, RTCRtpRtxParameters, RtpCodecKind,
};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
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
/// loopback (see MEDIA-NOTES.md). The controlling agent nominates a pair on the tick after its
/// first successful check, so the interval is paid twice before DTLS: 5 ms gave a 1:1 setup of
/// ~22 ms, 1 ms ~14 ms (call_bench). Only the checking phase runs at this rate (on a real
/// network about one check per millisecond of round trip per pair); once connected ICE ticks
/// at the keepalive interval.
const ICE_CHECK_INTERVAL: Duration = Duration::from_millis(1);
/// Binding requests per candidate pair at that interval: 2500 x 1 ms = 2.5 s before a pair
/// is given up, a bit longer than the default 7 x 200 ms.
const ICE_MAX_BINDING_REQUESTS: u16 = 2500;
/// Consent keep-alives while connected: often enough that a muted call with nothing to
/// receive still hears from the SFU well within [`ICE_DISCONNECTED_TIMEOUT`].
const ICE_KEEPALIVE: Duration = Duration::from_millis(250);
/// Nothing received this long: the transport reports `Disconnected` (the call shows it is
/// reconnecting and restarts ICE).
const ICE_DISCONNECTED_TIMEOUT: Duration = Duration::from_millis(2500);
/// ICE gives up only after the call's own reconnect window (120 s), which ends the call
/// with 408/10006 first: until then a returning network brings the media back.
const ICE_FAILED_TIMEOUT: Duration = Duration::from_secs(150);

pub(super) struct Built {
    pub pc: Arc<dyn PeerConnection>,
    /// Audio transceivers in slot order.
    pub transceivers: Vec<Arc<dyn RtpTransceiver>>,
    pub local_track: Arc<TrackLocalStaticRTP>,
    pub ssrc: u32,
    /// Video receive transceivers with their kind and slot.
    pub video_recv: Vec<(Arc<dyn RtpTransceiver>, VideoStreamKind, usize)>,
    /// Video send tracks (camera, screen share) with their transceivers.
    pub video_send: Vec<(Arc<dyn RtpTransceiver>, Arc<VideoTrack>)>,
}

/// Random non-zero SSRC.
fn new_ssrc() -> u32 {
    loop {
        let s = rand::random::<u32>();
        if s != 0 {
            break s;
        }
    }
}

fn h264_codec() -> RTCRtpCodec {
    let fb = |typ: &str, parameter: &str| RTCPFeedback {
        typ: typ.to_owned(),
        parameter: parameter.to_owned(),
    };
    RTCRtpCodec {
        mime_type: MIME_TYPE_H264.to_owned(),
        clock_rate: 90_000,
        channels: 0,
        sdp_fmtp_line: H264_FMTP.to_owned(),
        rtcp_feedback: vec![
            fb(TYPE_RTCP_FB_NACK, ""),
            fb(TYPE_RTCP_FB_NACK, "pli"),
            fb(TYPE_RTCP_FB_CCM, "fir"),
        ],
    }
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
    me.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: h264_codec(),
            payload_type: H264_PT,
        },
        RtpCodecKind::Video,
    )
    .map_err(|e| transport_err("register H.264", e))?;
    // RFC 4588 retransmissions: the SFU (str0m) resends NACKed packets only on an RTX stream.
    me.register_codec(
        RTCRtpCodecParameters {
            rtp_codec: RTCRtpCodec {
                mime_type: MIME_TYPE_RTX.to_owned(),
                clock_rate: 90_000,
                channels: 0,
                sdp_fmtp_line: format!("apt={H264_PT}"),
                rtcp_feedback: vec![],
            },
            payload_type: RTX_PT,
        },
        RtpCodecKind::Video,
    )
    .map_err(|e| transport_err("register RTX", e))?;
    me.register_header_extension(
        RTCRtpHeaderExtensionCapability {
            uri: MID_URI.to_owned(),
        },
        RtpCodecKind::Video,
        None,
    )
    .map_err(|e| transport_err("register header extension", e))?;
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
    let mut me = media_engine()?;
    // RTCP sender/receiver reports; NACK for video (audio has no nack feedback, so it gets
    // no retransmission buffer); no TWCC. Last, the interceptor that hands receiver feedback
    // about our video (keyframe requests, loss) to the video tracks.
    let registry = configure_rtcp_reports(Registry::new());
    let registry = if cfg.video {
        configure_nack(registry, &mut me)
            .with(Slot::from(14_000), VideoFeedbackInterceptor::default())
    } else {
        registry
    };

    let settings = SettingEngineBuilder::new()
        .with_ice_connection_attempts(Some(ICE_CHECK_INTERVAL), Some(ICE_MAX_BINDING_REQUESTS))
        .with_ice_timeouts(
            Some(ICE_DISCONNECTED_TIMEOUT),
            Some(ICE_FAILED_TIMEOUT),
            Some(ICE_KEEPALIVE),
        )
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

    let ssrc = new_ssrc();
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

    let (mut video_recv, mut video_send) = (Vec::new(), Vec::new());
    if cfg.video {
        // m-line order the SFU relies on: camera send, VIDEO_SLOTS camera receive slots,
        // screen-share send, one screen-share receive slot.
        for (kind, slots) in [
            (VideoStreamKind::Video, VIDEO_SLOTS),
            (VideoStreamKind::ScreenShare, 1),
        ] {
            let track = video_track(kind)?;
            let t = pc
                .add_transceiver_from_track(
                    Arc::clone(&track.track) as _,
                    Some(RTCRtpTransceiverInit {
                        direction: RTCRtpTransceiverDirection::Sendonly,
                        streams: vec![],
                        send_encodings: vec![],
                    }),
                )
                .await
                .map_err(|e| transport_err("add video send transceiver", e))?;
            video_send.push((t, track));
            for slot in 0..slots {
                let t = pc
                    .add_transceiver_from_kind(
                        RtpCodecKind::Video,
                        Some(RTCRtpTransceiverInit {
                            direction: RTCRtpTransceiverDirection::Recvonly,
                            streams: vec![],
                            send_encodings: vec![],
                        }),
                    )
                    .await
                    .map_err(|e| transport_err("add video receive transceiver", e))?;
                video_recv.push((t, kind, slot));
            }
        }
    }

    Ok(Built {
        pc,
        transceivers,
        local_track,
        ssrc,
        video_recv,
        video_send,
    })
}

/// A send track for `kind` with its own SSRC.
fn video_track(kind: VideoStreamKind) -> Result<Arc<VideoTrack>, MediaError> {
    let ssrc = new_ssrc();
    let label = match kind {
        VideoStreamKind::Video => "camera",
        VideoStreamKind::ScreenShare => "screen",
    };
    let track = TrackLocalStaticSample::new(
        std::time::Instant::now(),
        MediaStreamTrack::new(
            format!("acs-{label}-{ssrc:08x}"),
            format!("acs-{label}-{ssrc:08x}"),
            label.to_owned(),
            RtpCodecKind::Video,
            vec![RTCRtpEncodingParameters {
                rtp_coding_parameters: RTCRtpCodingParameters {
                    ssrc: Some(ssrc),
                    rtx: Some(RTCRtpRtxParameters { ssrc: new_ssrc() }),
                    ..Default::default()
                },
                codec: h264_codec(),
                ..Default::default()
            }],
        ),
    )
    .map_err(|e| transport_err("create video track", e))?;
    Ok(VideoTrack::new(kind, Arc::new(track), ssrc))
}
