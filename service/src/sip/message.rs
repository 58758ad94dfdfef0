//! SIP messages (RFC 3261 §7): a small, lenient parser and a serializer.
//!
//! Hand-written rather than `rsip` because the endpoint needs only a handful of headers as
//! text, must answer malformed requests with 400 (so it needs whatever *could* be read),
//! and must never panic on input from the network. Header values are kept as text; the few
//! structured ones (Via, name-addr, CSeq, parameters) have helpers below.

use std::fmt::Write as _;

/// Largest message accepted on either transport.
pub const MAX_MESSAGE: usize = 64 * 1024;

/// Start line of a message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    Request { method: String, uri: String },
    Response { status: u16, reason: String },
}

/// A parsed SIP message. Header names are canonical (compact forms expanded).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub start: StartLine,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

/// Why a message could not be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("message larger than 64 KiB")]
    TooLarge,
    #[error("no blank line after the headers")]
    NoHeaderEnd,
    #[error("bad start line")]
    BadStartLine,
    #[error("bad header line")]
    BadHeader,
    #[error("header section is not UTF-8")]
    NotUtf8,
    #[error("Content-Length {0} larger than the body")]
    Truncated(usize),
    #[error("bad Content-Length")]
    BadContentLength,
}

fn canonical_name(name: &str) -> String {
    let lower = name.to_ascii_lowercase();
    let canon = match lower.as_str() {
        "v" | "via" => "Via",
        "f" | "from" => "From",
        "t" | "to" => "To",
        "i" | "call-id" => "Call-ID",
        "m" | "contact" => "Contact",
        "l" | "content-length" => "Content-Length",
        "c" | "content-type" => "Content-Type",
        "k" | "supported" => "Supported",
        "cseq" => "CSeq",
        "max-forwards" => "Max-Forwards",
        "route" => "Route",
        "record-route" => "Record-Route",
        "www-authenticate" => "WWW-Authenticate",
        "proxy-authenticate" => "Proxy-Authenticate",
        "authorization" => "Authorization",
        "proxy-authorization" => "Proxy-Authorization",
        "expires" => "Expires",
        "allow" => "Allow",
        "require" => "Require",
        _ => return name.to_string(),
    };
    canon.to_string()
}

/// Finds the end of the header section: index just past the blank line.
pub fn header_end(data: &[u8]) -> Option<usize> {
    data.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
}

/// Reads `Content-Length` from a raw header section (for stream framing).
fn raw_content_length(head: &str) -> Result<Option<usize>, ParseError> {
    for line in head.split("\r\n").skip(1) {
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim();
            if name.eq_ignore_ascii_case("content-length") || name.eq_ignore_ascii_case("l") {
                return value
                    .trim()
                    .parse::<usize>()
                    .map(Some)
                    .map_err(|_| ParseError::BadContentLength);
            }
        }
    }
    Ok(None)
}

/// How a byte stream (TCP) splits into messages.
#[derive(Debug, PartialEq, Eq)]
pub enum Framing {
    /// Bytes to skip (keep-alive CRLFs) before a message starts.
    Skip(usize),
    /// The first `n` bytes are one whole message.
    Message(usize),
    /// More bytes needed.
    Incomplete,
    /// The stream cannot be framed (too large, bad Content-Length): close it.
    Invalid,
}

/// Frames the next message of a stream by its Content-Length (absent means 0 on streams).
pub fn frame_stream(buf: &[u8]) -> Framing {
    let lead = buf
        .iter()
        .take_while(|b| **b == b'\r' || **b == b'\n')
        .count();
    if lead > 0 {
        return Framing::Skip(lead);
    }
    let Some(end) = header_end(buf) else {
        return if buf.len() > MAX_MESSAGE {
            Framing::Invalid
        } else {
            Framing::Incomplete
        };
    };
    let head = String::from_utf8_lossy(&buf[..end]);
    match raw_content_length(&head) {
        Ok(cl) => match end.checked_add(cl.unwrap_or(0)) {
            // A Content-Length near usize::MAX would wrap the sum (found by fuzzing).
            Some(total) if total <= MAX_MESSAGE => {
                if buf.len() >= total {
                    Framing::Message(total)
                } else {
                    Framing::Incomplete
                }
            }
            _ => Framing::Invalid,
        },
        Err(_) => Framing::Invalid,
    }
}

/// Parses the start line and headers; lenient about what it does not need.
/// `datagram`: on UDP a missing Content-Length means "the rest"; on streams the framing
/// already cut the message.
pub fn parse(data: &[u8]) -> Result<Message, ParseError> {
    if data.len() > MAX_MESSAGE {
        return Err(ParseError::TooLarge);
    }
    let end = header_end(data).ok_or(ParseError::NoHeaderEnd)?;
    let head = std::str::from_utf8(&data[..end]).map_err(|_| ParseError::NotUtf8)?;
    let mut lines = head.split("\r\n");
    let first = lines.next().ok_or(ParseError::BadStartLine)?;
    let start = parse_start_line(first)?;
    let mut headers: Vec<(String, String)> = Vec::new();
    for line in lines {
        if line.is_empty() {
            continue;
        }
        if line.starts_with(' ') || line.starts_with('\t') {
            // Folded continuation line (RFC 3261 §7.3.1).
            let last = headers.last_mut().ok_or(ParseError::BadHeader)?;
            last.1.push(' ');
            last.1.push_str(line.trim());
            continue;
        }
        let (name, value) = line.split_once(':').ok_or(ParseError::BadHeader)?;
        let name = name.trim();
        if name.is_empty() || name.contains(' ') {
            return Err(ParseError::BadHeader);
        }
        headers.push((canonical_name(name), value.trim().to_string()));
    }
    let rest = &data[end..];
    let body = match headers.iter().find(|(n, _)| n == "Content-Length") {
        Some((_, v)) => {
            let n: usize = v.trim().parse().map_err(|_| ParseError::BadContentLength)?;
            if n > rest.len() {
                return Err(ParseError::Truncated(n));
            }
            rest[..n].to_vec()
        }
        None => rest.to_vec(),
    };
    Ok(Message {
        start,
        headers,
        body,
    })
}

/// Whatever can be read of a request that [`parse`] refused (bad UTF-8, bad header line,
/// wrong Content-Length): enough, with luck, to address a 400. Never a response.
pub fn salvage(data: &[u8]) -> Option<Message> {
    let data = &data[..data.len().min(MAX_MESSAGE)];
    let end = header_end(data).unwrap_or(data.len());
    let head = String::from_utf8_lossy(&data[..end]);
    let mut lines = head.split("\r\n");
    let start = parse_start_line(lines.next()?).ok()?;
    if matches!(start, StartLine::Response { .. }) {
        return None;
    }
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (canonical_name(n.trim()), v.trim().to_string()))
        .collect();
    Some(Message {
        start,
        headers,
        body: Vec::new(),
    })
}

fn parse_start_line(line: &str) -> Result<StartLine, ParseError> {
    if let Some(rest) = line.strip_prefix("SIP/2.0 ") {
        let (code, reason) = rest.split_once(' ').unwrap_or((rest, ""));
        let status: u16 = code.parse().map_err(|_| ParseError::BadStartLine)?;
        if !(100..700).contains(&status) {
            return Err(ParseError::BadStartLine);
        }
        return Ok(StartLine::Response {
            status,
            reason: reason.to_string(),
        });
    }
    let mut parts = line.split(' ');
    let (Some(method), Some(uri), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ParseError::BadStartLine);
    };
    if version != "SIP/2.0"
        || method.is_empty()
        || uri.is_empty()
        || !method
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b))
    {
        return Err(ParseError::BadStartLine);
    }
    Ok(StartLine::Request {
        method: method.to_string(),
        uri: uri.to_string(),
    })
}

impl Message {
    /// A request with no headers yet.
    pub fn request(method: &str, uri: &str) -> Message {
        Message {
            start: StartLine::Request {
                method: method.to_string(),
                uri: uri.to_string(),
            },
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    /// A response with no headers yet.
    pub fn response(status: u16) -> Message {
        Message {
            start: StartLine::Response {
                status,
                reason: reason_phrase(status).to_string(),
            },
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    pub fn method(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { method, .. } => Some(method),
            StartLine::Response { .. } => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match &self.start {
            StartLine::Response { status, .. } => Some(*status),
            StartLine::Request { .. } => None,
        }
    }

    pub fn uri(&self) -> Option<&str> {
        match &self.start {
            StartLine::Request { uri, .. } => Some(uri),
            StartLine::Response { .. } => None,
        }
    }

    /// First value of a header.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every value of a header, comma-separated lists split (for Via, Route, Record-Route,
    /// Contact).
    pub fn header_list(&self, name: &str) -> Vec<String> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .flat_map(|(_, v)| split_list(v))
            .collect()
    }

    pub fn push(&mut self, name: &str, value: impl Into<String>) -> &mut Self {
        self.headers.push((name.to_string(), value.into()));
        self
    }

    pub fn remove(&mut self, name: &str) {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
    }

    pub fn set_body(&mut self, content_type: &str, body: &str) {
        self.remove("Content-Type");
        self.push("Content-Type", content_type);
        self.body = body.as_bytes().to_vec();
    }

    pub fn call_id(&self) -> Option<&str> {
        self.header("Call-ID")
    }

    /// CSeq number and method.
    pub fn cseq(&self) -> Option<(u32, String)> {
        let v = self.header("CSeq")?;
        let mut it = v.split_whitespace();
        let n = it.next()?.parse().ok()?;
        let m = it.next()?.to_string();
        Some((n, m))
    }

    /// Top Via, parsed.
    pub fn top_via(&self) -> Option<Via> {
        self.header_list("Via").first().and_then(|v| Via::parse(v))
    }

    pub fn tag_in_from(&self) -> Option<String> {
        self.header("From")
            .and_then(|v| NameAddr::parse(v).param("tag"))
    }

    pub fn tag_in_to(&self) -> Option<String> {
        self.header("To")
            .and_then(|v| NameAddr::parse(v).param("tag"))
    }

    /// Body as text (SDP), if it is UTF-8 and not empty.
    pub fn body_text(&self) -> Option<&str> {
        if self.body.is_empty() {
            return None;
        }
        std::str::from_utf8(&self.body).ok()
    }

    /// The wire form, with Content-Length computed from the body.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = String::with_capacity(512);
        match &self.start {
            StartLine::Request { method, uri } => {
                let _ = write!(s, "{method} {uri} SIP/2.0\r\n");
            }
            StartLine::Response { status, reason } => {
                let _ = write!(s, "SIP/2.0 {status} {reason}\r\n");
            }
        }
        for (n, v) in &self.headers {
            if n.eq_ignore_ascii_case("Content-Length") {
                continue;
            }
            let _ = write!(s, "{n}: {v}\r\n");
        }
        let _ = write!(s, "Content-Length: {}\r\n\r\n", self.body.len());
        let mut out = s.into_bytes();
        out.extend_from_slice(&self.body);
        out
    }
}

/// Splits a header value at commas outside quotes and angle brackets.
pub fn split_list(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let (mut quoted, mut angle, mut escaped) = (false, false, false);
    let mut cur = String::new();
    for c in v.chars() {
        if escaped {
            escaped = false;
        } else if quoted && c == '\\' {
            escaped = true;
        } else if c == '"' {
            quoted = !quoted;
        } else if !quoted && c == '<' {
            angle = true;
        } else if !quoted && c == '>' {
            angle = false;
        } else if !quoted && !angle && c == ',' {
            let t = cur.trim();
            if !t.is_empty() {
                out.push(t.to_string());
            }
            cur.clear();
            continue;
        }
        cur.push(c);
    }
    let t = cur.trim();
    if !t.is_empty() {
        out.push(t.to_string());
    }
    out
}

/// `;name=value` parameters of a header value (after the URI for name-addr).
pub fn params(s: &str) -> Vec<(String, Option<String>)> {
    s.split(';')
        .skip(1)
        .filter_map(|p| {
            let p = p.trim();
            if p.is_empty() {
                return None;
            }
            Some(match p.split_once('=') {
                Some((k, v)) => (k.trim().to_ascii_lowercase(), Some(v.trim().to_string())),
                None => (p.to_ascii_lowercase(), None),
            })
        })
        .collect()
}

/// A From/To/Contact/Route value: `"Name" <uri>;params` or `uri;params`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameAddr {
    pub uri: String,
    /// Header parameters (after the `>` or, without brackets, after the URI).
    pub params: Vec<(String, Option<String>)>,
}

impl NameAddr {
    pub fn parse(v: &str) -> NameAddr {
        if let Some(lt) = v.find('<') {
            let rest = &v[lt + 1..];
            let (uri, after) = rest.split_once('>').unwrap_or((rest, ""));
            NameAddr {
                uri: uri.trim().to_string(),
                params: params(&format!("x{after}")),
            }
        } else {
            let v = v.trim();
            let uri = v.split(';').next().unwrap_or("").to_string();
            NameAddr {
                uri,
                params: params(v),
            }
        }
    }

    pub fn param(&self, name: &str) -> Option<String> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.clone())
    }
}

/// The parts of a SIP URI the gateway needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SipUri {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    pub params: Vec<(String, Option<String>)>,
}

impl SipUri {
    /// Parses `sip:user@host:port;params` (also `sips:`, and `tel:number`, as a user
    /// without a host).
    pub fn parse(uri: &str) -> Option<SipUri> {
        let uri = uri.trim();
        if let Some(tel) = uri.strip_prefix("tel:") {
            let number = tel.split(';').next().unwrap_or("").to_string();
            return Some(SipUri {
                user: Some(number),
                host: String::new(),
                port: None,
                params: Vec::new(),
            });
        }
        let rest = uri
            .strip_prefix("sip:")
            .or_else(|| uri.strip_prefix("sips:"))?;
        let rest = rest.split('?').next().unwrap_or("");
        let (userinfo, hostpart) = match rest.rfind('@') {
            Some(i) => (Some(&rest[..i]), &rest[i + 1..]),
            None => (None, rest),
        };
        let user = userinfo.map(|u| u.split(':').next().unwrap_or("").to_string());
        let hostport = hostpart.split(';').next().unwrap_or("");
        let (host, port) = split_host_port(hostport)?;
        Some(SipUri {
            user,
            host,
            port,
            params: params(hostpart),
        })
    }
}

/// Splits `host[:port]`, `[v6][:port]`.
pub fn split_host_port(s: &str) -> Option<(String, Option<u16>)> {
    let s = s.trim();
    if let Some(v6) = s.strip_prefix('[') {
        let (host, rest) = v6.split_once(']')?;
        let port = match rest.strip_prefix(':') {
            Some(p) => Some(p.parse().ok()?),
            None if rest.is_empty() => None,
            None => return None,
        };
        return Some((host.to_string(), port));
    }
    match s.split_once(':') {
        Some((h, p)) => Some((h.to_string(), Some(p.parse().ok()?))),
        None if !s.is_empty() => Some((s.to_string(), None)),
        None => None,
    }
}

/// A Via value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Via {
    /// `UDP`, `TCP`, …
    pub transport: String,
    pub host: String,
    pub port: Option<u16>,
    pub params: Vec<(String, Option<String>)>,
}

impl Via {
    pub fn parse(v: &str) -> Option<Via> {
        let v = v.trim();
        let (proto, rest) = v.split_once(char::is_whitespace)?;
        let transport = proto.rsplit('/').next()?.to_ascii_uppercase();
        if !proto.to_ascii_uppercase().starts_with("SIP/2.0/") {
            return None;
        }
        let rest = rest.trim();
        let sent_by = rest.split(';').next().unwrap_or("");
        let (host, port) = split_host_port(sent_by)?;
        Some(Via {
            transport,
            host,
            port,
            params: params(rest),
        })
    }

    pub fn param(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_deref())
    }

    pub fn branch(&self) -> Option<&str> {
        self.param("branch").flatten()
    }
}

/// The standard reason phrase of a status code.
pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        100 => "Trying",
        180 => "Ringing",
        181 => "Call Is Being Forwarded",
        182 => "Queued",
        183 => "Session Progress",
        200 => "OK",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        480 => "Temporarily Unavailable",
        481 => "Call/Transaction Does Not Exist",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        600 => "Busy Everywhere",
        603 => "Decline",
        604 => "Does Not Exist Anywhere",
        _ => match status / 100 {
            1 => "Progress",
            2 => "OK",
            3 => "Redirect",
            4 => "Client Error",
            5 => "Server Error",
            _ => "Global Failure",
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INVITE: &str = "INVITE sip:+15551234567@10.0.0.1 SIP/2.0\r\n\
        v: SIP/2.0/UDP 10.0.0.2:5060;branch=z9hG4bK1;rport, SIP/2.0/TCP [::1]:5070;branch=z9hG4bK0\r\n\
        From: \"A, B\" <sip:+1555@x>;tag=abc\r\n\
        To: <sip:+15551234567@10.0.0.1>\r\n\
        i: c1@x\r\n\
        CSeq: 7 INVITE\r\n\
        Content-Length: 4\r\n\r\nv=0\r\nEXTRA";

    #[test]
    fn parses_a_request_with_compact_and_multi_value_headers() {
        let m = parse(INVITE.as_bytes()).unwrap();
        assert_eq!(m.method(), Some("INVITE"));
        assert_eq!(m.call_id(), Some("c1@x"));
        assert_eq!(m.cseq(), Some((7, "INVITE".to_string())));
        assert_eq!(m.body, b"v=0\r");
        let vias = m.header_list("Via");
        assert_eq!(vias.len(), 2);
        let v = m.top_via().unwrap();
        assert_eq!(v.transport, "UDP");
        assert_eq!(v.port, Some(5060));
        assert_eq!(v.branch(), Some("z9hG4bK1"));
        assert_eq!(v.param("rport"), Some(None));
        assert_eq!(Via::parse(&vias[1]).unwrap().host, "::1");
        assert_eq!(m.tag_in_from().as_deref(), Some("abc"));
        assert_eq!(m.tag_in_to(), None);
        let u = SipUri::parse(m.uri().unwrap()).unwrap();
        assert_eq!(u.user.as_deref(), Some("+15551234567"));
        assert_eq!(u.host, "10.0.0.1");
    }

    #[test]
    fn serializes_and_reparses() {
        let mut m = Message::response(486);
        m.push("Call-ID", "x")
            .set_body("application/sdp", "v=0\r\n");
        let back = parse(&m.to_bytes()).unwrap();
        assert_eq!(back.status(), Some(486));
        assert_eq!(back.body, b"v=0\r\n");
    }

    #[test]
    fn rejects_truncated_and_frames_streams() {
        let short = INVITE.replace("Content-Length: 4", "Content-Length: 400");
        assert_eq!(parse(short.as_bytes()), Err(ParseError::Truncated(400)));
        let two = format!("\r\n\r\n{INVITE}");
        assert_eq!(frame_stream(two.as_bytes()), Framing::Skip(4));
        let msg = &two.as_bytes()[4..];
        let n = msg.len() - "\nEXTRA".len();
        assert_eq!(frame_stream(msg), Framing::Message(n));
        assert_eq!(frame_stream(&msg[..20]), Framing::Incomplete);
        assert_eq!(frame_stream(&vec![b'a'; MAX_MESSAGE + 1]), Framing::Invalid);
    }

    #[test]
    fn name_addr_and_lists() {
        let n = NameAddr::parse("\"Bob\" <sip:bob@h;transport=tcp>;tag=9");
        assert_eq!(n.uri, "sip:bob@h;transport=tcp");
        assert_eq!(n.param("tag").as_deref(), Some("9"));
        let n = NameAddr::parse("sip:bob@h;tag=9");
        assert_eq!(n.uri, "sip:bob@h");
        assert_eq!(n.param("tag").as_deref(), Some("9"));
        assert_eq!(
            split_list("<sip:a;lr>, \"x,y\" <sip:b>"),
            vec!["<sip:a;lr>".to_string(), "\"x,y\" <sip:b>".to_string()]
        );
    }
}
