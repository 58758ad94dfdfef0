//! SIP signalling of the telephony gateway: a user agent towards carriers and PBXs over
//! UDP and TCP (RFC 3261), placing and taking phone legs.
//!
//! - [`endpoint::Endpoint`] is the sans-IO core: transactions, dialogs, digest auth,
//!   timers, fed with bytes + source + `now`, giving transmits, [`SipEvent`]s and its next
//!   deadline. Unit-tested on synthetic time.
//! - [`driver`] runs it on one UDP socket and a TCP listener (plus its connections) on the
//!   same port; [`SipGateway`] is the handle the hub uses.
//! - [`sdp`] builds and reads the phone side's SDP.
//!
//! Not done yet: TLS/SRTP, DNS SRV/NAPTR (trunk names resolve once, by A/AAAA, at start),
//! delayed-offer INVITEs (answered 488), reliable provisionals (100rel: 420), re-INVITEs
//! are answered with our last SDP (hold is not reported to the hub), no session timers.

// Not wired into the hub yet: the hub codes against this API next.
#![allow(dead_code)]

pub mod digest;
pub mod driver;
pub mod endpoint;
pub mod message;
pub mod sdp;

#[cfg(test)]
mod endpoint_tests;
#[cfg(test)]
mod sipp_tests;

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
}

impl SipTransport {
    /// The Via token.
    pub fn as_str(self) -> &'static str {
        match self {
            SipTransport::Udp => "UDP",
            SipTransport::Tcp => "TCP",
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
}

impl TrunkConfig {
    /// Parses `name=host:port[;transport=tcp][;user=U][;password=P][;register][;domain=D]`
    /// (host may be an IP, `[v6]`, or a name; port defaults to 5060).
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
            port: port.unwrap_or(5060),
            transport: SipTransport::Udp,
            username: None,
            password: None,
            register: false,
            domain: None,
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
                ("user", Some(v)) => t.username = Some(v.to_string()),
                ("password", Some(v)) => t.password = Some(v.to_string()),
                ("domain", Some(v)) => t.domain = Some(v.to_string()),
                ("register", None) => t.register = true,
                ("", None) => {}
                _ => return Err(format!("trunk {name}: unknown option {p:?}")),
            }
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
    pub trunks: Vec<TrunkConfig>,
    /// Sources allowed to call in, besides the trunks' addresses.
    pub allow: Vec<IpNet>,
    /// `User-Agent` / `Server` header.
    pub user_agent: String,
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
