//! Entry points of the fuzz targets (`../fuzz/fuzz_targets/`), one per input surface. The
//! regression tests (`tests/fuzz_corpus.rs`) replay the committed corpus and every crash
//! through these same functions on stable, so the two cannot drift.
//!
//! Each takes arbitrary bytes and must neither panic nor hang. Targets that feed a state
//! machine several inputs read `data` as [`chunks`]: a control byte (what to do around the
//! input: source, transport, time passing), a little-endian u16 length, then the bytes.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::SdpAnswer;
use str0m::media::{Direction, MediaKind};
use str0m::rtp::Extension;
use str0m::{Candidate, Rtc};
use tokio::sync::{mpsc, oneshot};

use crate::protocol::{ClientMessage, ServerMessage, AUDIO_SLOTS};
use crate::pstn::media::dtmf::DtmfReceiver;
use crate::pstn::media::g711::G711;
use crate::pstn::media::leg::{LegConfig, PhoneLegMedia, PTIME};
use crate::pstn::media::rtp::{self, TelephoneEvent};
use crate::sfu::engine::Engine;
use crate::sfu::mixer::CallMixer;
use crate::sfu::speakers::SpeakerDetector;
use crate::sfu::{CallKey, SessionId, SfuCommand};
use crate::sip::endpoint::{Endpoint, EndpointConfig, Trunk};
use crate::sip::{message, sdp, IpNet, SipTransport, SrtpPolicy, TrunkConfig, FIRST_INBOUND_LEG};

/// At most this many chunks are read from one input (keeps one run short).
const MAX_CHUNKS: usize = 64;

/// Splits `data` into (control byte, bytes) chunks: `ctl len_lo len_hi bytes…`; a length
/// past the end takes what is left.
pub fn chunks(data: &[u8]) -> Vec<(u8, &[u8])> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some((&ctl, tail)) = rest.split_first() {
        if out.len() == MAX_CHUNKS {
            break;
        }
        let (len, tail) = match tail {
            [lo, hi, tail @ ..] => (usize::from(u16::from_le_bytes([*lo, *hi])), tail),
            _ => (0, &[][..]),
        };
        let len = len.min(tail.len());
        out.push((ctl, &tail[..len]));
        rest = &tail[len..];
    }
    out
}

/// Builds one chunk (for seeds and tests): the inverse of [`chunks`].
pub fn chunk(ctl: u8, bytes: &[u8]) -> Vec<u8> {
    let len = u16::try_from(bytes.len()).unwrap_or(u16::MAX);
    let mut v = vec![ctl];
    v.extend_from_slice(&len.to_le_bytes());
    v.extend_from_slice(&bytes[..usize::from(len)]);
    v
}

/// Signaling: one WebSocket text frame, read as a client→service and as a
/// service→client message; what parses must serialize and read back equal.
pub fn signaling(data: &[u8]) {
    if let Ok(m) = serde_json::from_slice::<ClientMessage>(data) {
        let text = serde_json::to_vec(&m).expect("a parsed ClientMessage serializes");
        let again: ClientMessage = serde_json::from_slice(&text).expect("and reads back");
        assert_eq!(again, m);
    }
    if let Ok(m) = serde_json::from_slice::<ServerMessage>(data) {
        let text = serde_json::to_vec(&m).expect("a parsed ServerMessage serializes");
        let again: ServerMessage = serde_json::from_slice(&text).expect("and reads back");
        assert_eq!(again, m);
    }
}

/// SIP message syntax: the parser, the salvage of a broken message's headers for a 400,
/// TCP framing, and the header accessors the endpoint uses.
pub fn sip_message(data: &[u8]) {
    let _ = message::header_end(data);
    let _ = message::frame_stream(data);
    let _ = message::salvage(data);
    let Ok(m) = message::parse(data) else {
        return;
    };
    let _ = (m.method(), m.status(), m.call_id(), m.cseq(), m.body_text());
    let _ = (m.tag_in_from(), m.tag_in_to(), m.header_list("Route"));
    if let Some(via) = m.top_via() {
        let _ = via.branch();
    }
    if let Some(uri) = m.uri() {
        let _ = message::SipUri::parse(uri);
    }
    for name in ["From", "To", "Contact"] {
        if let Some(v) = m.header(name) {
            let na = message::NameAddr::parse(v);
            let _ = na.param("tag");
        }
    }
    let _ = message::parse(&m.to_bytes());
}

const TRUNK: ([u8; 4], u16) = ([192, 0, 2, 10], 5060);
const PHONE: ([u8; 4], u16) = ([198, 51, 100, 7], 5062);

/// The sans-IO SIP endpoint fed datagrams. Control byte: bit 0 from the trunk (else a
/// phone in the allowed range), bit 1 over TCP, bit 2 then 700 ms pass, bit 3 the hub then
/// answers the newest inbound leg and hangs up leg 1 (an outbound call placed first).
pub fn sip_endpoint(data: &[u8]) {
    let Ok(mut config) = TrunkConfig::parse("carrier=192.0.2.10:5060") else {
        return;
    };
    config.username = Some("alice".into());
    config.password = Some("secret".into());
    let allow = IpNet::parse("198.51.100.0/24").into_iter().collect();
    let mut ep = Endpoint::new(
        EndpointConfig {
            trunks: vec![Trunk {
                config,
                addr: Some(SocketAddr::from(TRUNK)),
            }],
            allow,
            user_agent: "fuzz-gw".into(),
            local_port: 5060,
            local_tls_port: None,
            local_ip: Box::new(|_| [10, 0, 0, 1].into()),
        },
        42,
    );
    let mut now = Instant::now();
    let _ = ep.dial(
        crate::sip::DialRequest {
            leg: 1,
            trunk: None,
            to: "+15550100".into(),
            caller_id: "+15550199".into(),
            sdp_offer: sdp::build_offer(SocketAddr::from(([10, 0, 0, 1], 4000)), 1),
        },
        now,
    );
    let mut inbound = FIRST_INBOUND_LEG;
    for (ctl, bytes) in chunks(data) {
        let source = SocketAddr::from(if ctl & 1 != 0 { TRUNK } else { PHONE });
        let transport = if ctl & 2 != 0 {
            SipTransport::Tcp
        } else {
            SipTransport::Udp
        };
        ep.handle_message(bytes, source, transport, now);
        while ep.poll_transmit().is_some() {}
        while let Some(ev) = ep.poll_event() {
            if let crate::sip::SipEvent::Incoming { leg, .. } = ev {
                inbound = leg;
            }
        }
        if ctl & 4 != 0 {
            now += Duration::from_millis(700);
            ep.handle_timeout(now);
        }
        if ctl & 8 != 0 {
            ep.answer(
                inbound,
                sdp::build_offer(SocketAddr::from(([10, 0, 0, 1], 4002)), 1),
                now,
            );
            ep.hang_up(1, now);
        }
    }
    ep.shutdown(now);
    while ep.poll_transmit().is_some() {}
}

/// The phone side's SDP reader: as the phone's answer to our offer and as the phone's
/// offer; an answer we build must be readable by our own reader.
pub fn sdp(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let _ = sdp::parse_answer(&text);
    let rtp = SocketAddr::from(([10, 0, 0, 1], 4000));
    for policy in [SrtpPolicy::Off, SrtpPolicy::Optional, SrtpPolicy::Mandatory] {
        if let Ok((answer, remote, keys)) = sdp::answer_offer(&text, rtp, 1, policy) {
            let ours = sdp::parse_answer(&answer).expect("our answer reads back");
            assert_eq!(ours.codec, remote.codec);
            // SRTP in the answer exactly when keys were agreed.
            assert_eq!(answer.contains("a=crypto:"), keys.is_some(), "{answer}");
        }
    }
}

/// The phone leg's RTP path: the packet parser, RFC 4733 telephone-events and the leg
/// (jitter buffer, G.711 decoding, DTMF receiver) fed datagrams. Control byte: bit 0 then
/// 20 ms pass (audio is played out), bit 1 the leg negotiated PCMA (first chunk only).
pub fn phone_rtp(data: &[u8]) {
    let chunks = chunks(data);
    let codec = match chunks.first() {
        Some((ctl, _)) if ctl & 2 != 0 => G711::Pcma,
        _ => G711::Pcmu,
    };
    let mut now = Instant::now();
    let Ok(mut leg) = PhoneLegMedia::new(LegConfig::new(codec, Some(101), 0x1234_5678), now) else {
        return;
    };
    let mut digits = DtmfReceiver::default();
    for (ctl, bytes) in chunks {
        if let Ok(p) = rtp::parse(bytes) {
            if let Some(ev) = TelephoneEvent::parse(p.payload) {
                let _ = digits.on_event(p.header.timestamp, ev);
            }
        }
        leg.on_rtp(bytes, now);
        if ctl & 1 != 0 {
            now += PTIME;
            while leg.poll_phone_audio(now).is_some() {}
            while leg.poll_transmit(now).is_some() {}
        }
        while leg.poll_event().is_some() {}
    }
}

/// The SFU's input paths: datagrams into the engine with one session joined (from the
/// session's address and from strangers: ICE/DTLS/RTP demultiplexing in the engine and
/// str0m), Opus payloads into the mixer, audio levels into the speaker detector. Control
/// byte: bit 0 from the joined client's address, bit 1 also as an Opus payload for the
/// mixer, bit 2 a level (the first byte, as i8) for the speaker detector, bit 3 then 20 ms
/// pass.
pub fn sfu(data: &[u8]) {
    let mut now = Instant::now();
    let sfu_addr = SocketAddr::from(([10, 0, 0, 1], 3478));
    let client_addr = SocketAddr::from(([10, 0, 0, 2], 5000));
    let stranger = SocketAddr::from(([10, 0, 0, 3], 5000));
    let (events, _events_rx) = mpsc::unbounded_channel();
    let mut engine = Engine::new(sfu_addr, events, Duration::from_millis(500), 3, 100, now);
    let _client = join(&mut engine, client_addr, now);
    let mut mixer = CallMixer::new().ok();
    if let Some(m) = mixer.as_mut() {
        let _ = m.set_speakers(&[SessionId(1)], now);
    }
    let mut speakers = SpeakerDetector::default();
    for (ctl, bytes) in chunks(data) {
        let source = if ctl & 1 != 0 { client_addr } else { stranger };
        engine.handle_datagram(bytes, source, now);
        if ctl & 2 != 0 {
            if let Some(m) = mixer.as_mut() {
                m.on_packet(SessionId(1), bytes);
            }
        }
        if ctl & 4 != 0 {
            let level = bytes.first().map(|b| *b as i8);
            speakers.on_level(SessionId(1), level, now);
        }
        if ctl & 8 != 0 {
            now += Duration::from_millis(20);
            engine.handle_timeout(now);
            engine.transmits().clear();
            if let Some(m) = mixer.as_mut() {
                while m.poll(now).is_some() {}
            }
            let _ = speakers.rank(now);
        }
    }
}

/// A str0m client at `addr` that joined call 1 as session 1 (offer and answer only: no
/// ICE or DTLS, so its media never flows; the engine's demultiplexing still runs).
fn join(engine: &mut Engine, addr: SocketAddr, now: Instant) -> Option<Rtc> {
    let mut rtc = Rtc::builder()
        .clear_codecs()
        .enable_opus(true, false)
        .clear_extension_map()
        .set_extension(1, Extension::AudioLevel)
        .set_extension(4, Extension::RtpMid)
        .build(now);
    rtc.add_local_candidate(Candidate::host(addr, "udp").ok()?);
    let mut change = rtc.sdp_api();
    change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
    for _ in 1..AUDIO_SLOTS {
        change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
    }
    let (offer, pending) = change.apply()?;
    let (reply, mut answer) = oneshot::channel();
    engine.handle_command(
        SfuCommand::AddSession {
            id: SessionId(1),
            call: CallKey(1),
            offer_sdp: offer.to_sdp_string(),
            echo: false,
            reply,
        },
        now,
    );
    let answer = answer.try_recv().ok()?.ok()?;
    let answer = SdpAnswer::from_sdp_string(&answer).ok()?;
    rtc.sdp_api().accept_answer(pending, answer).ok()?;
    Some(rtc)
}
