//! SIP signalling of the telephony gateway: a user agent towards carriers and PBXs over
//! UDP, TCP and TLS (RFC 3261, RFC 5630 without `sips:`), placing and taking phone legs;
//! their media may be SDES-SRTP (RFC 4568) when the trunk asks.
//!
//! - [`endpoint::Endpoint`] is the sans-IO core: transactions, dialogs, digest auth,
//!   timers, fed with bytes + source + `now`, giving transmits, [`SipEvent`]s and its next
//!   deadline. Unit-tested on synthetic time.
//! - [`driver`] runs it on one UDP socket and a TCP listener (plus its connections) on the
//!   same port, and an optional TLS listener; [`SipGateway`] is the handle the hub uses.
//!   [`tls`] makes the rustls client and server configurations.
//! - [`sdp`] builds and reads the phone side's SDP, [`sdp_crypto`] its `a=crypto` lines.
//!
//! Not done yet: `sips:` URIs, DTLS-SRTP, SRTCP (we send no RTCP), DNS SRV/NAPTR (trunk names resolve once, by A/AAAA, at start),
//! delayed-offer INVITEs (answered 488), reliable provisionals (100rel: 420), re-INVITEs
//! are answered with our last SDP (hold is not reported to the hub), no session timers.

// Not wired into the hub yet: the hub codes against this API next.
#![allow(dead_code)]

pub mod connections;
pub mod digest;
pub mod driver;
pub mod endpoint;
pub mod message;
pub mod sdp;
pub mod sdp_crypto;
pub mod tls;

#[cfg(test)]
mod endpoint_tests;
#[cfg(test)]
mod sipp_tests;
#[cfg(test)]
mod tls_tests;

use std::net::{IpAddr, SocketAddr};

// Used by the hub once it is wired (and by the tests now).
#[allow(unused_imports)]
pub use driver::SipGateway;

use crate::protocol::EndReason;

/// Identifies one phone leg (one SIP dialog) between the hub and the gateway.
pub type LegId = u64;
/// Inbound legs get ids from here upward; the hub allocates outbound ids below it.
pub const FIRST_INBOUND_LEG: LegId = 1 << 63;

/// Transport of a trunk (and of a message).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SipTransport {
    Udp,
    Tcp,
    /// TLS over TCP (RFC 3261 §26.2; `SIP/2.0/TLS`, `;transport=tls` as RFC 5630 allows).
    Tls,
}

impl SipTransport {
    /// The Via token.
    pub fn as_str(self) -> &'static str {
        match self {
            SipTransport::Udp => "UDP",
            SipTransport::Tcp => "TCP",
            SipTransport::Tls => "TLS",
        }
    }

    /// A connection (TCP or TLS): no retransmissions, replies on the same connection.
    pub fn is_stream(self) -> bool {
        self != SipTransport::Udp
    }

    /// The URI parameter for a Contact on this transport.
    pub fn uri_param(self) -> &'static str {
        match self {
            SipTransport::Udp => "",
            SipTransport::Tcp => ";transport=tcp",
            SipTransport::Tls => ";transport=tls",
        }
    }
}

/// SDES-SRTP on a trunk's media.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SrtpPolicy {
    /// Plain RTP offered; an `RTP/SAVP` offer with crypto is still accepted.
    #[default]
    Off,
    /// `RTP/AVP` with an `a=crypto` line offered: SRTP if the phone answers with crypto.
    Optional,
    /// `RTP/SAVP` offered; a phone without SRTP is refused (488) or hung up on.
    Mandatory,
}

impl SrtpPolicy {
    pub fn parse(s: &str) -> Option<SrtpPolicy> {
        match s.to_ascii_lowercase().as_str() {
            "off" => Some(SrtpPolicy::Off),
            "optional" => Some(SrtpPolicy::Optional),
            "mandatory" => Some(SrtpPolicy::Mandatory),
            _ => None,
        }
    }
}

/// A carrier or PBX the gateway sends calls to (and accepts calls from).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrunkConfig {
    pub name: String,
    /// IP address or DNS name (resolved once at start).
    pub host: String,
    pub port: u16,
    pub transport: SipTransport,
    /// Digest credentials, used when the trunk challenges.
    pub username: Option<String>,
    pub password: Option<String>,
    /// Register to the trunk (REGISTER, refreshed at half the granted expiry).
    pub register: bool,
    /// Domain for Request-URIs, From and To (default: `host`).
    pub domain: Option<String>,
    /// TLS: PEM file of the CA(s) the trunk's certificate must chain to (default: the
    /// system's roots).
    pub ca: Option<String>,
    /// SDES-SRTP on the media of this trunk's calls.
    pub srtp: SrtpPolicy,
}

impl TrunkConfig {
    /// Parses `name=host:port[;transport=udp|tcp|tls][;ca=PEM][;user=U][;password=P]
    /// [;register][;domain=D][;srtp=off|optional|mandatory]` (host may be an IP, `[v6]`, or
    /// a name; port defaults to 5060, 5061 with TLS).
    pub fn parse(spec: &str) -> Result<TrunkConfig, String> {
        let (name, rest) = spec
            .split_once('=')
            .ok_or_else(|| format!("trunk {spec:?}: expected name=host:port"))?;
        let name = name.trim();
        if name.is_empty() {
            return Err(format!("trunk {spec:?}: empty name"));
        }
        let mut parts = rest.split(';');
        let hostport = parts.next().unwrap_or("").trim();
        let (host, port) = message::split_host_port(hostport)
            .ok_or_else(|| format!("trunk {name}: bad host:port {hostport:?}"))?;
        if host.is_empty() {
            return Err(format!("trunk {name}: empty host"));
        }
        let mut t = TrunkConfig {
            name: name.to_string(),
            host,
            port: port.unwrap_or(0),
            transport: SipTransport::Udp,
            username: None,
            password: None,
            register: false,
            domain: None,
            ca: None,
            srtp: SrtpPolicy::Off,
        };
        for p in parts {
            let p = p.trim();
            let (k, v) = p.split_once('=').map_or((p, None), |(k, v)| (k, Some(v)));
            match (k.to_ascii_lowercase().as_str(), v) {
                ("transport", Some(v)) if v.eq_ignore_ascii_case("udp") => {
                    t.transport = SipTransport::Udp
                }
                ("transport", Some(v)) if v.eq_ignore_ascii_case("tcp") => {
                    t.transport = SipTransport::Tcp
                }
                ("transport", Some(v)) if v.eq_ignore_ascii_case("tls") => {
                    t.transport = SipTransport::Tls
                }
                ("ca", Some(v)) if !v.is_empty() => t.ca = Some(v.to_string()),
                ("srtp", Some(v)) => {
                    t.srtp = SrtpPolicy::parse(v).ok_or_else(|| {
                        format!("trunk {name}: srtp={v:?}: expected off, optional or mandatory")
                    })?
                }
                ("user", Some(v)) => t.username = Some(v.to_string()),
                ("password", Some(v)) => t.password = Some(v.to_string()),
                ("domain", Some(v)) => t.domain = Some(v.to_string()),
                ("register", None) => t.register = true,
                ("", None) => {}
                _ => return Err(format!("trunk {name}: unknown option {p:?}")),
            }
        }
        if t.port == 0 {
            t.port = if t.transport == SipTransport::Tls {
                5061
            } else {
                5060
            };
        }
        if t.ca.is_some() && t.transport != SipTransport::Tls {
            return Err(format!("trunk {name}: ca= is for transport=tls"));
        }
        Ok(t)
    }

    /// Host part of the URIs sent to this trunk.
    pub fn domain(&self) -> String {
        match &self.domain {
            Some(d) => d.clone(),
            None if self.host.contains(':') => format!("[{}]", self.host),
            None => self.host.clone(),
        }
    }
}

/// An allowed source network for inbound calls: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IpNet {
    pub addr: IpAddr,
    pub prefix_len: u8,
}

impl IpNet {
    /// Parses `10.0.0.0/8`, `192.0.2.7` (a single host), `::1/128`.
    pub fn parse(s: &str) -> Result<IpNet, String> {
        let (a, p) = s.split_once('/').map_or((s, None), |(a, p)| (a, Some(p)));
        let addr: IpAddr = a.trim().parse().map_err(|_| format!("bad address {a:?}"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix_len = match p {
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("bad prefix length {p:?}"))?,
            None => max,
        };
        Ok(IpNet { addr, prefix_len })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
            v4 => v4,
        };
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix_len))
                    .unwrap_or(0);
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix_len))
                    .unwrap_or(0);
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

impl From<IpAddr> for IpNet {
    fn from(addr: IpAddr) -> IpNet {
        IpNet {
            addr,
            prefix_len: if addr.is_ipv4() { 32 } else { 128 },
        }
    }
}

/// Configuration of the gateway.
#[derive(Debug, Clone)]
pub struct SipConfig {
    /// UDP and TCP on the same port; port 0 = any (TCP then binds the port UDP got).
    pub listen: SocketAddr,
    /// A TLS listener for inbound calls (port 0 = any), with its certificate chain and
    /// key (PEM files).
    pub listen_tls: Option<TlsListen>,
    pub trunks: Vec<TrunkConfig>,
    /// Sources allowed to call in, besides the trunks' addresses.
    pub allow: Vec<IpNet>,
    /// `User-Agent` / `Server` header.
    pub user_agent: String,
}

/// Where and with what certificate the TLS listener runs.
#[derive(Debug, Clone)]
pub struct TlsListen {
    pub addr: SocketAddr,
    pub cert: std::path::PathBuf,
    pub key: std::path::PathBuf,
}

/// A call to place to a phone.
#[derive(Debug, Clone)]
pub struct DialRequest {
    /// Below [`FIRST_INBOUND_LEG`], allocated by the hub.
    pub leg: LegId,
    /// Trunk name; None: the first trunk.
    pub trunk: Option<String>,
    /// Called number, E.164 (`+15551234567`).
    pub to: String,
    /// Caller id, E.164.
    pub caller_id: String,
    pub sdp_offer: String,
}

/// What happened on a leg.
#[derive(Debug, Clone, PartialEq)]
pub enum SipEvent {
    /// 180/181/182/183 to our INVITE (183 with SDP = early media).
    Progress {
        leg: LegId,
        status: u16,
        sdp: Option<String>,
    },
    /// 2xx to our INVITE (the ACK was sent).
    Answered { leg: LegId, sdp: String },
    /// Final non-2xx, Timer B (408), transport error (503), CANCEL completed (487).
    Failed {
        leg: LegId,
        status: u16,
        reason: String,
    },
    /// BYE from the far end, or CANCEL of an inbound INVITE.
    RemoteHangup { leg: LegId },
    /// A call from a phone.
    Incoming {
        leg: LegId,
        /// Caller number: the user part of From (`+1…` when E.164).
        from: String,
        /// Called number: the user part of the Request-URI (or To).
        to: String,
        sdp_offer: String,
        source: SocketAddr,
    },
}

/// Why a gateway request was refused at once.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SipError {
    #[error("no trunk configured")]
    NoTrunk,
    #[error("unknown trunk {0:?}")]
    UnknownTrunk(String),
    #[error("leg id {0} is in the inbound range")]
    BadLegId(LegId),
    #[error("the gateway has stopped")]
    Stopped,
}

/// ACS-style end reason for a SIP final status: code = status, subcode = 560000 + status
/// (486 → (486, 560486); a timeout is 408 → (408, 560408)). 2xx is never passed here.
pub fn sip_status_to_end_reason(status: u16) -> EndReason {
    let status = i32::from(status);
    EndReason::new(status, 560_000 + status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trunk_specs() {
        let t = TrunkConfig::parse(
            "carrier=sip.example.com:5080;transport=tcp;user=u;password=p;register",
        )
        .unwrap();
        assert_eq!(t.name, "carrier");
        assert_eq!(t.host, "sip.example.com");
        assert_eq!(t.port, 5080);
        assert_eq!(t.transport, SipTransport::Tcp);
        assert_eq!(t.username.as_deref(), Some("u"));
        assert_eq!(t.password.as_deref(), Some("p"));
        assert!(t.register);
        let t = TrunkConfig::parse("pbx=10.0.0.5").unwrap();
        assert_eq!(
            (t.port, t.transport, t.register),
            (5060, SipTransport::Udp, false)
        );
        let t = TrunkConfig::parse("v6=[::1]:5070").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 5070));
        assert_eq!(t.domain(), "[::1]");
        assert!(TrunkConfig::parse("nohost").is_err());
        assert!(TrunkConfig::parse("x=h:notaport").is_err());
        assert!(TrunkConfig::parse("x=h:5060;bogus").is_err());
    }

    #[test]
    fn tls_and_srtp_options() {
        let t =
            TrunkConfig::parse("sec=sip.example.com;transport=tls;ca=/etc/ca.pem;srtp=mandatory")
                .unwrap();
        assert_eq!(
            (t.transport, t.port, t.ca.as_deref(), t.srtp),
            (
                SipTransport::Tls,
                5061,
                Some("/etc/ca.pem"),
                SrtpPolicy::Mandatory
            )
        );
        let t = TrunkConfig::parse("sec=10.0.0.1:5071;transport=TLS;srtp=optional").unwrap();
        assert_eq!((t.port, t.ca, t.srtp), (5071, None, SrtpPolicy::Optional));
        assert_eq!(TrunkConfig::parse("p=h").unwrap().srtp, SrtpPolicy::Off);
        assert_eq!(TrunkConfig::parse("p=h;transport=tcp").unwrap().port, 5060);
        let e = TrunkConfig::parse("p=h;srtp=yes").unwrap_err();
        assert!(e.contains("off, optional or mandatory"), "{e}");
        assert!(
            TrunkConfig::parse("p=h;ca=/x.pem").is_err(),
            "ca= without tls"
        );
        assert!(TrunkConfig::parse("p=h;transport=tls;ca=").is_err());
        assert!(TrunkConfig::parse("p=h;transport=sctp").is_err());
        assert_eq!(SipTransport::Tls.as_str(), "TLS");
        assert_eq!(SipTransport::Tls.uri_param(), ";transport=tls");
    }

    #[test]
    fn ip_nets() {
        let n = IpNet::parse("10.1.0.0/16").unwrap();
        assert!(n.contains("10.1.2.3".parse().unwrap()));
        assert!(!n.contains("10.2.0.1".parse().unwrap()));
        assert!(n.contains("::ffff:10.1.0.9".parse().unwrap()));
        assert!(IpNet::parse("0.0.0.0/0")
            .unwrap()
            .contains("8.8.8.8".parse().unwrap()));
        assert!(IpNet::parse("::1")
            .unwrap()
            .contains("::1".parse().unwrap()));
        assert!(IpNet::parse("1.2.3.4/33").is_err());
    }

    #[test]
    fn end_reasons() {
        assert_eq!(sip_status_to_end_reason(486), EndReason::new(486, 560486));
        assert_eq!(sip_status_to_end_reason(408), EndReason::new(408, 560408));
    }
}
