//! The phone side's SDP (RFC 4566 / RFC 3264 offer-answer), as far as a G.711 gateway
//! needs it: one audio stream, PCMU/PCMA, RFC 4733 telephone-event, hold detection.

use std::net::{IpAddr, SocketAddr};

use super::sdp_crypto::{first_usable, format_crypto, SdesCrypto};
use super::SrtpPolicy;
use crate::pstn::media::g711::G711;
use crate::pstn::media::srtp::{SrtpKey, SrtpKeys, SrtpSuite};

/// Payload type we offer for `telephone-event/8000`.
pub const TELEPHONE_EVENT_PT: u8 = 101;

/// Where and how to send the phone's audio, from its SDP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteMedia {
    pub addr: SocketAddr,
    pub codec: G711,
    pub payload_type: u8,
    pub telephone_event_pt: Option<u8>,
    /// The phone put the call on hold: `sendonly`/`inactive` or `c=0.0.0.0`.
    pub on_hold: bool,
    /// The m-line's profile is `RTP/SAVP` (or SAVPF): SRTP or nothing.
    pub savp: bool,
    /// The first `a=crypto` line we can use (RFC 4568).
    pub crypto: Option<SdesCrypto>,
}

/// Why an SDP could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdpError {
    #[error("no audio stream")]
    NoAudio,
    #[error("the audio stream was rejected (port 0)")]
    Rejected,
    #[error("no connection address")]
    NoConnection,
    #[error("neither PCMU nor PCMA offered")]
    NoCommonCodec,
    #[error("malformed SDP: {0}")]
    Malformed(String),
    #[error("bad SDES crypto: {0}")]
    Crypto(String),
    #[error("RTP/SAVP without a crypto suite we can do (AES_CM_128_HMAC_SHA1_80/32 with one inline key)")]
    NoCommonCrypto,
    #[error("the trunk requires SRTP and the SDP has no usable a=crypto")]
    SrtpRequired,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    SendRecv,
    SendOnly,
    RecvOnly,
    Inactive,
}

/// The first audio stream of an SDP.
struct Audio {
    addr: SocketAddr,
    /// Payload types in the m-line's order.
    formats: Vec<u8>,
    /// `a=rtpmap` entries: pt → encoding name/clock (lowercase).
    rtpmap: Vec<(u8, String)>,
    direction: Direction,
    /// The transport profile (`RTP/AVP`, `RTP/SAVP`, …).
    proto: String,
    /// Values of the `a=crypto:` lines, in order.
    crypto: Vec<String>,
}

fn parse_direction(attr: &str) -> Option<Direction> {
    match attr {
        "sendrecv" => Some(Direction::SendRecv),
        "sendonly" => Some(Direction::SendOnly),
        "recvonly" => Some(Direction::RecvOnly),
        "inactive" => Some(Direction::Inactive),
        _ => None,
    }
}

fn parse_connection(v: &str) -> Result<IpAddr, SdpError> {
    // c=IN IP4 192.0.2.1[/ttl]
    let mut it = v.split_whitespace();
    let (Some("IN"), Some(_), Some(addr)) = (it.next(), it.next(), it.next()) else {
        return Err(SdpError::Malformed(format!("c={v}")));
    };
    let addr = addr.split('/').next().unwrap_or("");
    addr.parse()
        .map_err(|_| SdpError::Malformed(format!("c={v}")))
}

/// The first audio m-section's lines, as read.
struct AudioLines {
    port: u16,
    formats: Vec<u8>,
    connection: Option<IpAddr>,
    rtpmap: Vec<(u8, String)>,
    direction: Option<Direction>,
    proto: String,
    crypto: Vec<String>,
}

fn parse_audio(sdp: &str) -> Result<Audio, SdpError> {
    let mut session_c: Option<IpAddr> = None;
    let mut session_dir = Direction::SendRecv;
    let mut audio: Option<AudioLines> = None;
    let mut in_audio = false;
    let mut seen_media = false;
    for line in sdp.lines() {
        let line = line.trim_end_matches('\r');
        let Some((kind, value)) = line.split_once('=') else {
            continue;
        };
        match kind {
            "m" => {
                seen_media = true;
                in_audio = false;
                if audio.is_some() {
                    continue;
                }
                let mut it = value.split_whitespace();
                if it.next() != Some("audio") {
                    continue;
                }
                let port: u16 = it
                    .next()
                    .and_then(|p| p.split('/').next())
                    .and_then(|p| p.parse().ok())
                    .ok_or_else(|| SdpError::Malformed(format!("m={value}")))?;
                let proto = it.next().unwrap_or("").to_string();
                let formats = it.filter_map(|f| f.parse().ok()).collect();
                audio = Some(AudioLines {
                    port,
                    formats,
                    connection: None,
                    rtpmap: Vec::new(),
                    direction: None,
                    proto,
                    crypto: Vec::new(),
                });
                in_audio = true;
            }
            "c" => {
                let ip = parse_connection(value)?;
                if !seen_media {
                    session_c = Some(ip);
                } else if in_audio {
                    if let Some(a) = audio.as_mut() {
                        a.connection = Some(ip);
                    }
                }
            }
            "a" => {
                if !seen_media {
                    if let Some(d) = parse_direction(value) {
                        session_dir = d;
                    }
                } else if in_audio {
                    let Some(a) = audio.as_mut() else { continue };
                    if let Some(d) = parse_direction(value) {
                        a.direction = Some(d);
                    } else if let Some(c) = value.strip_prefix("crypto:") {
                        a.crypto.push(c.to_string());
                    } else if let Some(map) = value.strip_prefix("rtpmap:") {
                        let mut it = map.split_whitespace();
                        if let (Some(pt), Some(enc)) = (it.next(), it.next()) {
                            if let Ok(pt) = pt.parse() {
                                a.rtpmap.push((pt, enc.to_ascii_lowercase()));
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    let a = audio.ok_or(SdpError::NoAudio)?;
    if a.port == 0 {
        return Err(SdpError::Rejected);
    }
    let ip = a.connection.or(session_c).ok_or(SdpError::NoConnection)?;
    Ok(Audio {
        addr: SocketAddr::new(ip, a.port),
        formats: a.formats,
        rtpmap: a.rtpmap,
        direction: a.direction.unwrap_or(session_dir),
        proto: a.proto,
        crypto: a.crypto,
    })
}

impl Audio {
    fn encoding(&self, pt: u8) -> Option<&str> {
        self.rtpmap
            .iter()
            .find(|(p, _)| *p == pt)
            .map(|(_, e)| e.as_str())
    }

    /// First PCMU/PCMA format in the m-line's order.
    fn g711(&self) -> Option<(G711, u8)> {
        self.formats.iter().find_map(|&pt| {
            let codec = match self.encoding(pt) {
                Some(e) if e.starts_with("pcmu/8000") => G711::Pcmu,
                Some(e) if e.starts_with("pcma/8000") => G711::Pcma,
                Some(_) => return None,
                None if pt == 0 => G711::Pcmu,
                None if pt == 8 => G711::Pcma,
                None => return None,
            };
            Some((codec, pt))
        })
    }

    fn telephone_event(&self) -> Option<u8> {
        self.formats.iter().copied().find(
            |&pt| matches!(self.encoding(pt), Some(e) if e.starts_with("telephone-event/8000")),
        )
    }

    fn remote_media(&self) -> Result<RemoteMedia, SdpError> {
        let (codec, payload_type) = self.g711().ok_or(SdpError::NoCommonCodec)?;
        let crypto = first_usable(&self.crypto).map_err(SdpError::Crypto)?;
        Ok(RemoteMedia {
            addr: self.addr,
            codec,
            payload_type,
            telephone_event_pt: self.telephone_event(),
            on_hold: self.addr.ip().is_unspecified()
                || matches!(self.direction, Direction::SendOnly | Direction::Inactive),
            savp: self.proto.to_ascii_uppercase().contains("SAVP"),
            crypto,
        })
    }
}

fn session_header(rtp: SocketAddr, session_version: u64) -> String {
    let family = if rtp.is_ipv4() { "IP4" } else { "IP6" };
    let ip = rtp.ip();
    format!(
        "v=0\r\no=- {session_version} {session_version} IN {family} {ip}\r\ns=-\r\nc=IN {family} {ip}\r\nt=0 0\r\n"
    )
}

/// The crypto suite and tag we offer.
const OFFER_SUITE: SrtpSuite = SrtpSuite::AesCm128HmacSha1_80;
const OFFER_TAG: u32 = 1;

/// Our offer: PCMU 0, PCMA 8, telephone-event/8000 on 101 (events 0-16), 20 ms, sendrecv.
pub fn build_offer(rtp: SocketAddr, session_version: u64) -> String {
    offer_with(rtp, session_version, "RTP/AVP", None)
}

/// [`build_offer`] as `policy` wants it: `mandatory` offers `RTP/SAVP` with an `a=crypto`
/// line, `optional` `RTP/AVP` with one (best effort, the way baresip's `srtp` mode does),
/// `off` neither. Returns the key it put in the offer.
pub fn build_offer_srtp(
    rtp: SocketAddr,
    session_version: u64,
    policy: SrtpPolicy,
) -> Result<(String, Option<SrtpKey>), String> {
    if policy == SrtpPolicy::Off {
        return Ok((build_offer(rtp, session_version), None));
    }
    let key = SrtpKey::generate()?;
    let proto = if policy == SrtpPolicy::Mandatory {
        "RTP/SAVP"
    } else {
        "RTP/AVP"
    };
    let crypto = format_crypto(OFFER_TAG, OFFER_SUITE, &key);
    Ok((
        offer_with(rtp, session_version, proto, Some(&crypto)),
        Some(key),
    ))
}

fn offer_with(rtp: SocketAddr, session_version: u64, proto: &str, crypto: Option<&str>) -> String {
    let mut s = session_header(rtp, session_version);
    s.push_str(&format!(
        "m=audio {} {proto} 0 8 {TELEPHONE_EVENT_PT}\r\n\
         a=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:{TELEPHONE_EVENT_PT} telephone-event/8000\r\n\
         a=fmtp:{TELEPHONE_EVENT_PT} 0-16\r\n\
         a=ptime:20\r\n\
         a=sendrecv\r\n",
        rtp.port()
    ));
    if let Some(c) = crypto {
        s.push_str(&format!("a={c}\r\n"));
    }
    s
}

/// The SRTP keys of an outbound leg once the phone answered: `offered` is the key of
/// [`build_offer_srtp`]. An answer without crypto is refused when `policy` is mandatory.
pub fn answer_keys(
    offered: Option<&SrtpKey>,
    policy: SrtpPolicy,
    answer: &RemoteMedia,
) -> Result<Option<SrtpKeys>, SdpError> {
    match (offered, answer.crypto) {
        (Some(local), Some(c)) => {
            if c.tag != OFFER_TAG || c.suite != OFFER_SUITE {
                return Err(SdpError::Crypto(format!(
                    "the answer picked tag {} {}, we offered tag {OFFER_TAG} {}",
                    c.tag,
                    c.suite.as_str(),
                    OFFER_SUITE.as_str()
                )));
            }
            Ok(Some(SrtpKeys {
                suite: c.suite,
                local: *local,
                remote: c.key,
            }))
        }
        _ if policy == SrtpPolicy::Mandatory => Err(SdpError::SrtpRequired),
        _ => Ok(None),
    }
}

/// Reads the phone's answer to [`build_offer`]: the first G.711 codec it kept.
pub fn parse_answer(sdp: &str) -> Result<RemoteMedia, SdpError> {
    parse_audio(sdp)?.remote_media()
}

/// Answers the phone's offer: the first of PCMU/PCMA it offered, its telephone-event
/// payload type echoed, the direction mirrored (its `sendonly` gets our `recvonly`).
///
/// SRTP: an `RTP/SAVP` offer is answered with SRTP on its first usable crypto line (none:
/// [`SdpError::NoCommonCrypto`], a 488); an `RTP/AVP` offer with crypto gets SRTP unless
/// `policy` is off; an offer without crypto is refused when `policy` is mandatory. The
/// keys are returned for the leg.
pub fn answer_offer(
    offer: &str,
    rtp: SocketAddr,
    session_version: u64,
    policy: SrtpPolicy,
) -> Result<(String, RemoteMedia, Option<SrtpKeys>), SdpError> {
    let audio = parse_audio(offer)?;
    if audio.proto.to_ascii_uppercase().starts_with("UDP/TLS") {
        // DTLS-SRTP (RFC 5764): not done.
        return Err(SdpError::NoCommonCrypto);
    }
    let remote = audio.remote_media()?;
    let use_srtp = match remote.crypto {
        Some(_) => remote.savp || policy != SrtpPolicy::Off,
        None if remote.savp => return Err(SdpError::NoCommonCrypto),
        None => false,
    };
    if !use_srtp && policy == SrtpPolicy::Mandatory {
        return Err(SdpError::SrtpRequired);
    }
    let keys = match remote.crypto.filter(|_| use_srtp) {
        Some(c) => Some((
            c.tag,
            SrtpKeys {
                suite: c.suite,
                local: SrtpKey::generate().map_err(SdpError::Crypto)?,
                remote: c.key,
            },
        )),
        None => None,
    };
    let mut s = session_header(rtp, session_version);
    let mut fmts = remote.payload_type.to_string();
    if let Some(te) = remote.telephone_event_pt {
        fmts.push_str(&format!(" {te}"));
    }
    let proto = if audio.proto.is_empty() {
        "RTP/AVP"
    } else {
        audio.proto.as_str()
    };
    s.push_str(&format!("m=audio {} {proto} {fmts}\r\n", rtp.port()));
    let name = match remote.codec {
        G711::Pcmu => "PCMU",
        G711::Pcma => "PCMA",
    };
    s.push_str(&format!("a=rtpmap:{} {name}/8000\r\n", remote.payload_type));
    if let Some(te) = remote.telephone_event_pt {
        s.push_str(&format!(
            "a=rtpmap:{te} telephone-event/8000\r\na=fmtp:{te} 0-16\r\n"
        ));
    }
    s.push_str("a=ptime:20\r\n");
    let dir = match audio.direction {
        Direction::SendRecv => "sendrecv",
        Direction::SendOnly => "recvonly",
        Direction::RecvOnly => "sendonly",
        Direction::Inactive => "inactive",
    };
    s.push_str(&format!("a={dir}\r\n"));
    if let Some((tag, k)) = &keys {
        s.push_str(&format!("a={}\r\n", format_crypto(*tag, k.suite, &k.local)));
    }
    Ok((s, remote, keys.map(|(_, k)| k)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    #[test]
    fn offer_round_trips_through_answer_offer() {
        let offer = build_offer(addr("10.0.0.1:4000"), 7);
        assert!(offer.contains("m=audio 4000 RTP/AVP 0 8 101\r\n"));
        assert!(offer.contains("o=- 7 7 IN IP4 10.0.0.1\r\n"));
        let (answer, remote, keys) =
            answer_offer(&offer, addr("10.0.0.2:5000"), 1, SrtpPolicy::Off).unwrap();
        assert_eq!(keys, None);
        assert_eq!(
            remote,
            RemoteMedia {
                addr: addr("10.0.0.1:4000"),
                codec: G711::Pcmu,
                payload_type: 0,
                telephone_event_pt: Some(101),
                on_hold: false,
                savp: false,
                crypto: None,
            }
        );
        let back = parse_answer(&answer).unwrap();
        assert_eq!(back.addr, addr("10.0.0.2:5000"));
        assert_eq!(back.codec, G711::Pcmu);
        assert_eq!(back.telephone_event_pt, Some(101));
    }

    #[test]
    fn picks_pcma_when_first_and_detects_hold() {
        let offer = "v=0\no=- 1 1 IN IP4 1.2.3.4\ns=-\nc=IN IP4 1.2.3.4\nt=0 0\n\
            m=video 5000 RTP/AVP 96\na=sendrecv\n\
            m=audio 6000 RTP/AVP 18 8 0 96\na=rtpmap:18 G729/8000\na=rtpmap:96 telephone-event/8000\n\
            a=sendonly\n";
        let (answer, remote, _) =
            answer_offer(offer, addr("[::1]:7000"), 3, SrtpPolicy::Off).unwrap();
        assert_eq!(remote.codec, G711::Pcma);
        assert_eq!(remote.payload_type, 8);
        assert_eq!(remote.telephone_event_pt, Some(96));
        assert!(remote.on_hold);
        assert!(answer.contains("m=audio 7000 RTP/AVP 8 96\r\n"));
        assert!(answer.contains("a=recvonly\r\n"));
        assert!(answer.contains("c=IN IP6 ::1\r\n"));
        let held = "v=0\r\nc=IN IP4 0.0.0.0\r\nm=audio 6000 RTP/AVP 0\r\n";
        assert!(parse_answer(held).unwrap().on_hold);
    }

    #[test]
    fn errors() {
        assert_eq!(parse_answer("v=0\r\n"), Err(SdpError::NoAudio));
        assert_eq!(
            parse_answer("v=0\r\nc=IN IP4 1.1.1.1\r\nm=audio 0 RTP/AVP 0\r\n"),
            Err(SdpError::Rejected)
        );
        assert_eq!(
            parse_answer("v=0\r\nm=audio 5 RTP/AVP 0\r\n"),
            Err(SdpError::NoConnection)
        );
        assert_eq!(
            parse_answer("v=0\r\nc=IN IP4 1.1.1.1\r\nm=audio 5 RTP/AVP 18\r\n"),
            Err(SdpError::NoCommonCodec)
        );
        assert!(matches!(
            parse_answer("v=0\r\nc=IN IP4 nope\r\nm=audio 5 RTP/AVP 0\r\n"),
            Err(SdpError::Malformed(_))
        ));
    }
}
