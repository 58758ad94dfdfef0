//! RTP (RFC 3550) fixed header and RFC 4733 telephone-event payload.
//!
//! Parsing never panics: every length is checked and any malformed packet is an error.
//! Serialisation writes the plain 12-byte header (no CSRC, extension or padding), which is
//! all a phone leg sends.

/// Errors of [`parse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RtpError {
    #[error("shorter than its header")]
    Truncated,
    #[error("RTP version {0}, not 2")]
    Version(u8),
    #[error("an RTCP packet (RFC 5761 demultiplexing)")]
    Rtcp,
    #[error("bad padding length")]
    Padding,
}

/// The fields of an RTP header that a phone leg uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpHeader {
    pub marker: bool,
    pub payload_type: u8,
    pub sequence: u16,
    pub timestamp: u32,
    pub ssrc: u32,
}

/// A parsed packet, borrowing its payload (CSRCs, extension and padding removed).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RtpPacket<'a> {
    pub header: RtpHeader,
    pub payload: &'a [u8],
}

/// Size of the fixed header.
pub const HEADER_LEN: usize = 12;

impl RtpHeader {
    /// Writes the header followed by `payload` into a new datagram.
    pub fn to_datagram(self, payload: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
        out.push(0x80); // V=2, P=0, X=0, CC=0
        out.push((u8::from(self.marker) << 7) | (self.payload_type & 0x7F));
        out.extend_from_slice(&self.sequence.to_be_bytes());
        out.extend_from_slice(&self.timestamp.to_be_bytes());
        out.extend_from_slice(&self.ssrc.to_be_bytes());
        out.extend_from_slice(payload);
        out
    }
}

/// Parses an RTP datagram.
pub fn parse(buf: &[u8]) -> Result<RtpPacket<'_>, RtpError> {
    if buf.len() < HEADER_LEN {
        return Err(RtpError::Truncated);
    }
    let version = buf[0] >> 6;
    if version != 2 {
        return Err(RtpError::Version(version));
    }
    // RTCP packet types 192..=223 sit where RTP would have marker + PT 64..=95 (RFC 5761).
    if (192..=223).contains(&buf[1]) {
        return Err(RtpError::Rtcp);
    }
    let padding = buf[0] & 0x20 != 0;
    let extension = buf[0] & 0x10 != 0;
    let csrc_count = usize::from(buf[0] & 0x0F);
    let header = RtpHeader {
        marker: buf[1] & 0x80 != 0,
        payload_type: buf[1] & 0x7F,
        sequence: u16::from_be_bytes([buf[2], buf[3]]),
        timestamp: u32::from_be_bytes([buf[4], buf[5], buf[6], buf[7]]),
        ssrc: u32::from_be_bytes([buf[8], buf[9], buf[10], buf[11]]),
    };
    let mut start = HEADER_LEN + 4 * csrc_count;
    if extension {
        let ext = buf.get(start..start + 4).ok_or(RtpError::Truncated)?;
        let words = usize::from(u16::from_be_bytes([ext[2], ext[3]]));
        start += 4 + 4 * words;
    }
    if start > buf.len() {
        return Err(RtpError::Truncated);
    }
    let mut end = buf.len();
    if padding {
        let pad = usize::from(buf[buf.len() - 1]);
        if pad == 0 || pad > end - start {
            return Err(RtpError::Padding);
        }
        end -= pad;
    }
    Ok(RtpPacket {
        header,
        payload: &buf[start..end],
    })
}

/// `a` is after `b` in RFC 1982 serial-number order (for sequence numbers and timestamps).
pub fn seq_newer(a: u16, b: u16) -> bool {
    a != b && a.wrapping_sub(b) < 0x8000
}

/// An RFC 4733 telephone-event payload (§2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TelephoneEvent {
    /// Event code: DTMF 0-9 = 0-9, * = 10, # = 11, A-D = 12-15.
    pub event: u8,
    /// E bit: the event has ended.
    pub end: bool,
    /// Power level in −dBm0 (0-63); DTMF uses ~10.
    pub volume: u8,
    /// Duration so far, in RTP timestamp units from the event's timestamp.
    pub duration: u16,
}

/// Size of one telephone-event payload.
pub const EVENT_LEN: usize = 4;

impl TelephoneEvent {
    pub fn to_bytes(self) -> [u8; EVENT_LEN] {
        let d = self.duration.to_be_bytes();
        [
            self.event,
            (u8::from(self.end) << 7) | (self.volume & 0x3F),
            d[0],
            d[1],
        ]
    }

    /// Parses the first event of a payload (later blocks only appear with RFC 2198
    /// redundancy, which a leg does not negotiate). `None` when shorter than 4 bytes.
    pub fn parse(payload: &[u8]) -> Option<Self> {
        let b: &[u8; EVENT_LEN] = payload.get(..EVENT_LEN)?.try_into().ok()?;
        Some(Self {
            event: b[0],
            end: b[1] & 0x80 != 0,
            volume: b[1] & 0x3F,
            duration: u16::from_be_bytes([b[2], b[3]]),
        })
    }
}

/// The RFC 4733 event code of a DTMF digit (`0-9 * # A-D`, letters in either case).
pub fn digit_to_event(digit: char) -> Option<u8> {
    match digit.to_ascii_uppercase() {
        d @ '0'..='9' => Some(d as u8 - b'0'),
        '*' => Some(10),
        '#' => Some(11),
        d @ 'A'..='D' => Some(d as u8 - b'A' + 12),
        _ => None,
    }
}

/// The DTMF digit of an RFC 4733 event code (`None` for non-DTMF events such as flash).
pub fn event_to_digit(event: u8) -> Option<char> {
    match event {
        0..=9 => Some((b'0' + event) as char),
        10 => Some('*'),
        11 => Some('#'),
        12..=15 => Some((b'A' + event - 12) as char),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::Rng;
    use super::*;

    #[test]
    fn header_round_trips() {
        let h = RtpHeader {
            marker: true,
            payload_type: 8,
            sequence: 0xFFFE,
            timestamp: 0xDEAD_BEEF,
            ssrc: 0x1234_5678,
        };
        let d = h.to_datagram(&[1, 2, 3]);
        assert_eq!(
            d,
            [0x80, 0x88, 0xFF, 0xFE, 0xDE, 0xAD, 0xBE, 0xEF, 0x12, 0x34, 0x56, 0x78, 1, 2, 3]
        );
        let p = parse(&d).unwrap();
        assert_eq!(p.header, h);
        assert_eq!(p.payload, &[1, 2, 3]);
    }

    #[test]
    fn csrcs_extension_and_padding_are_skipped() {
        let mut d = vec![0x80 | 0x20 | 0x10 | 2, 0x00, 0, 7, 0, 0, 0, 160, 0, 0, 0, 9];
        d.extend_from_slice(&[0xAA; 8]); // 2 CSRCs
        d.extend_from_slice(&[0xBE, 0xDE, 0, 1, 0x10, 0xFF, 0, 0]); // one-word extension
        d.extend_from_slice(&[5, 6, 7]); // payload
        d.extend_from_slice(&[0, 0, 3]); // 3 bytes of padding
        let p = parse(&d).unwrap();
        assert_eq!(p.header.sequence, 7);
        assert_eq!(p.header.timestamp, 160);
        assert_eq!(p.header.ssrc, 9);
        assert!(!p.header.marker);
        assert_eq!(p.payload, &[5, 6, 7]);
    }

    #[test]
    fn malformed_packets_are_errors() {
        let ok = RtpHeader {
            marker: false,
            payload_type: 0,
            sequence: 1,
            timestamp: 2,
            ssrc: 3,
        }
        .to_datagram(&[]);
        assert_eq!(parse(&ok).unwrap().payload, &[] as &[u8]);
        assert_eq!(parse(&ok[..11]), Err(RtpError::Truncated));
        assert_eq!(parse(&[]), Err(RtpError::Truncated));
        let mut v1 = ok.clone();
        v1[0] = 0x40;
        assert_eq!(parse(&v1), Err(RtpError::Version(1)));
        let mut rtcp = ok.clone();
        rtcp[1] = 200; // sender report
        assert_eq!(parse(&rtcp), Err(RtpError::Rtcp));
        let mut csrc = ok.clone();
        csrc[0] |= 0x0F; // 15 CSRCs that are not there
        assert_eq!(parse(&csrc), Err(RtpError::Truncated));
        let mut ext = ok.clone();
        ext[0] |= 0x10;
        assert_eq!(parse(&ext), Err(RtpError::Truncated));
        ext.extend_from_slice(&[0, 0, 0xFF, 0xFF]); // 65535 words promised
        assert_eq!(parse(&ext), Err(RtpError::Truncated));
        let mut pad = ok.clone();
        pad[0] |= 0x20;
        pad.push(0);
        assert_eq!(parse(&pad), Err(RtpError::Padding));
        *pad.last_mut().unwrap() = 2; // more padding than payload
        assert_eq!(parse(&pad), Err(RtpError::Padding));
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = Rng::new(0x5EED);
        let mut parsed = 0;
        for i in 0..200_000 {
            let len = rng.below(64) as usize;
            let mut buf: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
            if i % 2 == 0 && !buf.is_empty() {
                buf[0] = (buf[0] & 0x3F) | 0x80; // mostly version 2: exercise the deep paths
            }
            if let Ok(p) = parse(&buf) {
                parsed += 1;
                assert!(p.payload.len() + HEADER_LEN <= buf.len());
                let _ = TelephoneEvent::parse(p.payload);
            }
        }
        assert!(parsed > 1000, "{parsed}");
    }

    #[test]
    fn telephone_event_round_trips() {
        let e = TelephoneEvent {
            event: 11,
            end: true,
            volume: 10,
            duration: 800,
        };
        assert_eq!(e.to_bytes(), [11, 0x8A, 0x03, 0x20]);
        assert_eq!(TelephoneEvent::parse(&e.to_bytes()), Some(e));
        assert_eq!(TelephoneEvent::parse(&[1, 2, 3]), None);
        // The reserved bit is ignored.
        assert_eq!(
            TelephoneEvent::parse(&[5, 0x40 | 7, 0, 160]),
            Some(TelephoneEvent {
                event: 5,
                end: false,
                volume: 7,
                duration: 160
            })
        );
    }

    #[test]
    fn digits_map_to_events() {
        for (i, d) in "0123456789*#ABCD".chars().enumerate() {
            assert_eq!(digit_to_event(d), Some(i as u8));
            assert_eq!(event_to_digit(i as u8), Some(d));
        }
        assert_eq!(digit_to_event('b'), Some(13));
        assert_eq!(digit_to_event('E'), None);
        assert_eq!(digit_to_event('!'), None);
        assert_eq!(event_to_digit(16), None);
    }

    #[test]
    fn serial_order_wraps() {
        assert!(seq_newer(1, 0));
        assert!(seq_newer(0, 0xFFFF));
        assert!(!seq_newer(0xFFFF, 0));
        assert!(!seq_newer(5, 5));
    }
}
