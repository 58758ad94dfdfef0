//! The phone side's SDP (RFC 4566 / RFC 3264 offer-answer), as far as a G.711 gateway
//! needs it: one audio stream, PCMU/PCMA, RFC 4733 telephone-event, hold detection.

use std::net::{IpAddr, SocketAddr};

use crate::pstn::media::g711::G711;

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
                let _proto = it.next();
                let formats = it.filter_map(|f| f.parse().ok()).collect();
                audio = Some(AudioLines {
                    port,
                    formats,
                    connection: None,
                    rtpmap: Vec::new(),
                    direction: None,
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
        Ok(RemoteMedia {
            addr: self.addr,
            codec,
            payload_type,
            telephone_event_pt: self.telephone_event(),
            on_hold: self.addr.ip().is_unspecified()
                || matches!(self.direction, Direction::SendOnly | Direction::Inactive),
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

/// Our offer: PCMU 0, PCMA 8, telephone-event/8000 on 101 (events 0-16), 20 ms, sendrecv.
pub fn build_offer(rtp: SocketAddr, session_version: u64) -> String {
    let mut s = session_header(rtp, session_version);
    s.push_str(&format!(
        "m=audio {} RTP/AVP 0 8 {TELEPHONE_EVENT_PT}\r\n\
         a=rtpmap:0 PCMU/8000\r\n\
         a=rtpmap:8 PCMA/8000\r\n\
         a=rtpmap:{TELEPHONE_EVENT_PT} telephone-event/8000\r\n\
         a=fmtp:{TELEPHONE_EVENT_PT} 0-16\r\n\
         a=ptime:20\r\n\
         a=sendrecv\r\n",
        rtp.port()
    ));
    s
}

/// Reads the phone's answer to [`build_offer`]: the first G.711 codec it kept.
pub fn parse_answer(sdp: &str) -> Result<RemoteMedia, SdpError> {
    parse_audio(sdp)?.remote_media()
}

/// Answers the phone's offer: the first of PCMU/PCMA it offered, its telephone-event
/// payload type echoed, the direction mirrored (its `sendonly` gets our `recvonly`).
pub fn answer_offer(
    offer: &str,
    rtp: SocketAddr,
    session_version: u64,
) -> Result<(String, RemoteMedia), SdpError> {
    let audio = parse_audio(offer)?;
    let remote = audio.remote_media()?;
    let mut s = session_header(rtp, session_version);
    let mut fmts = remote.payload_type.to_string();
    if let Some(te) = remote.telephone_event_pt {
        fmts.push_str(&format!(" {te}"));
    }
    s.push_str(&format!("m=audio {} RTP/AVP {fmts}\r\n", rtp.port()));
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
    Ok((s, remote))
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
        let (answer, remote) = answer_offer(&offer, addr("10.0.0.2:5000"), 1).unwrap();
        assert_eq!(
            remote,
            RemoteMedia {
                addr: addr("10.0.0.1:4000"),
                codec: G711::Pcmu,
                payload_type: 0,
                telephone_event_pt: Some(101),
                on_hold: false,
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
        let (answer, remote) = answer_offer(offer, addr("[::1]:7000"), 3).unwrap();
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
