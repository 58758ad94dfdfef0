//! Building and sending messages: Via, Contact, responses, in-dialog requests, and the
//! retransmission bookkeeping shared by the UAC and UAS halves.

use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::super::message::{self, Message, SipUri};
use super::super::{LegId, SipTransport, FIRST_INBOUND_LEG};
use super::{
    ClientTx, Endpoint, Leg, LegState, Linger, SipEvent, Transmit, ALLOW, T1, T2, TIMEOUT,
};

impl Endpoint {
    pub(super) fn random_hex(&mut self) -> String {
        // splitmix64: ids need to be unique and unguessable enough, not cryptographic.
        self.rand_state = self.rand_state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.rand_state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        format!("{:016x}", z ^ (z >> 31))
    }

    pub(super) fn branch(&mut self) -> String {
        format!("z9hG4bK{}", self.random_hex())
    }

    /// Our `host:port` for messages to `dest`: the TLS listener's port for TLS (without
    /// a listener, the UDP/TCP port: replies come back on the connection anyway).
    pub(super) fn local_hostport(&self, dest: SocketAddr, transport: SipTransport) -> String {
        let ip = (self.cfg.local_ip)(dest);
        let port = match (transport, self.cfg.local_tls_port) {
            (SipTransport::Tls, Some(p)) => p,
            _ => self.cfg.local_port,
        };
        match ip {
            IpAddr::V4(v4) => format!("{v4}:{port}"),
            IpAddr::V6(v6) => format!("[{v6}]:{port}"),
        }
    }

    pub(super) fn via(&mut self, dest: SocketAddr, transport: SipTransport) -> (String, String) {
        let branch = self.branch();
        let v = format!(
            "SIP/2.0/{} {};branch={branch};rport",
            transport.as_str(),
            self.local_hostport(dest, transport)
        );
        (v, branch)
    }

    pub(super) fn contact(&self, dest: SocketAddr, transport: SipTransport) -> String {
        format!(
            "<sip:gateway@{}{}>",
            self.local_hostport(dest, transport),
            transport.uri_param()
        )
    }

    /// A response to `req`: Via (with received/rport), From, To (+ `to_tag` when it has
    /// none), Call-ID, CSeq, Server.
    pub(super) fn response_to(
        &self,
        req: &Message,
        status: u16,
        source: SocketAddr,
        to_tag: Option<&str>,
    ) -> Message {
        let mut r = Message::response(status);
        for (i, via) in req.header_list("Via").into_iter().enumerate() {
            if i == 0 {
                r.push("Via", fix_top_via(&via, source));
            } else {
                r.push("Via", via);
            }
        }
        if let Some(f) = req.header("From") {
            r.push("From", f);
        }
        if let Some(t) = req.header("To") {
            match to_tag {
                Some(tag) if req.tag_in_to().is_none() && status > 100 => {
                    r.push("To", format!("{t};tag={tag}"));
                }
                _ => {
                    r.push("To", t);
                }
            }
        }
        for h in ["Call-ID", "CSeq"] {
            if let Some(v) = req.header(h) {
                r.push(h, v);
            }
        }
        r.push("Server", self.cfg.user_agent.clone());
        r
    }

    /// Sends a final response to a non-INVITE request and keeps it for retransmissions.
    pub(super) fn send_final(
        &mut self,
        req: &Message,
        r: Message,
        source: SocketAddr,
        transport: SipTransport,
        now: Instant,
    ) {
        let transmit = Transmit {
            transport,
            dest: source,
            data: r.to_bytes(),
        };
        self.transmits.push_back(transmit.clone());
        if let (Some(method), Some(branch)) = (
            req.method(),
            req.top_via().and_then(|v| v.branch().map(str::to_string)),
        ) {
            if method != "INVITE" {
                self.linger.insert(
                    format!("nist:{method}:{branch}"),
                    Linger {
                        transmit,
                        next: None,
                        interval: T1,
                        cap: T2,
                        until: now + TIMEOUT,
                        leg_on_timeout: None,
                    },
                );
            }
        }
    }

    pub(super) fn reply_bad_request(
        &mut self,
        req: &Message,
        source: SocketAddr,
        transport: SipTransport,
        why: &str,
    ) {
        if req.header("Via").is_none() {
            return;
        }
        let mut r = self.response_to(req, 400, source, None);
        r.push(
            "Warning",
            format!("399 gateway \"{}\"", why.replace('"', "'")),
        );
        self.transmits.push_back(Transmit {
            transport,
            dest: source,
            data: r.to_bytes(),
        });
    }

    pub(super) fn reply_unsupported(
        &mut self,
        req: &Message,
        method: &str,
        source: SocketAddr,
        transport: SipTransport,
        now: Instant,
    ) {
        const KNOWN: &[&str] = &[
            "REGISTER",
            "SUBSCRIBE",
            "NOTIFY",
            "REFER",
            "MESSAGE",
            "INFO",
            "UPDATE",
            "PRACK",
            "PUBLISH",
        ];
        let status = if KNOWN.contains(&method) { 405 } else { 501 };
        let mut r = self.response_to(req, status, source, None);
        r.push("Allow", ALLOW);
        self.send_final(req, r, source, transport, now);
    }

    /// Sends `transmit` now and again on Timer G/A until `until` (UDP), keyed for absorption.
    pub(super) fn linger_retransmit(
        &mut self,
        key: String,
        transmit: Transmit,
        cap: Duration,
        leg_on_timeout: Option<LegId>,
        now: Instant,
    ) {
        let next = (transmit.transport == SipTransport::Udp).then_some(now + T1);
        self.linger.insert(
            key,
            Linger {
                transmit,
                next,
                interval: T1,
                cap,
                until: now + TIMEOUT,
                leg_on_timeout,
            },
        );
    }

    /// Keeps `transmit` to resend whenever `key` is matched again, without a timer.
    pub(super) fn linger_absorb(&mut self, key: String, transmit: Transmit, now: Instant) {
        self.linger.insert(
            key,
            Linger {
                transmit,
                next: None,
                interval: T1,
                cap: T2,
                until: now + TIMEOUT,
                leg_on_timeout: None,
            },
        );
    }

    /// Starts a non-INVITE client transaction.
    pub(super) fn start_client_tx(
        &mut self,
        key: String,
        leg: Option<LegId>,
        transmit: Transmit,
        now: Instant,
    ) {
        self.transmits.push_back(transmit.clone());
        let next = (transmit.transport == SipTransport::Udp).then_some(now + T1);
        self.client_tx.insert(
            key,
            ClientTx {
                leg,
                transmit,
                next,
                interval: T1,
                deadline: now + TIMEOUT,
            },
        );
    }

    /// A request inside the dialog of `leg` (BYE): new branch, CSeq + 1, route set.
    pub(super) fn dialog_request(
        &mut self,
        id: LegId,
        method: &str,
    ) -> Option<(Message, Transmit)> {
        let (dest, transport) = {
            let leg = self.legs.get(&id)?;
            (self.dialog_dest(leg), leg.transport)
        };
        let (via, _) = self.via(dest, transport);
        let ua = self.cfg.user_agent.clone();
        let leg = self.legs.get_mut(&id)?;
        leg.local_cseq += 1;
        let mut m = Message::request(method, &leg.remote_target);
        m.push("Via", via)
            .push("Max-Forwards", "70")
            .push("From", leg.local_party.clone())
            .push("To", leg.remote_party.clone())
            .push("Call-ID", leg.call_id.clone())
            .push("CSeq", format!("{} {method}", leg.local_cseq));
        for r in &leg.route_set {
            m.push("Route", r.clone());
        }
        m.push("User-Agent", ua);
        let data = m.to_bytes();
        Some((
            m,
            Transmit {
                transport,
                dest,
                data,
            },
        ))
    }

    /// Where in-dialog requests of `leg` go: the first Route, else the remote target (when
    /// they are IP literals and we are on UDP), else the peer.
    pub(super) fn dialog_dest(&self, leg: &Leg) -> SocketAddr {
        if leg.transport.is_stream() || leg.id >= FIRST_INBOUND_LEG {
            // Inbound: symmetric (the INVITE's source), which also works behind NAT.
            return leg.peer;
        }
        let first = leg
            .route_set
            .first()
            .map(|r| message::NameAddr::parse(r).uri)
            .unwrap_or_else(|| leg.remote_target.clone());
        uri_addr(&first).unwrap_or(leg.peer)
    }

    pub(super) fn send_bye(&mut self, id: LegId, now: Instant) {
        let Some((_, transmit)) = self.dialog_request(id, "BYE") else {
            return;
        };
        let branch = match message::parse(&transmit.data)
            .ok()
            .and_then(|m| m.top_via())
            .and_then(|v| v.branch().map(str::to_string))
        {
            Some(b) => b,
            None => return,
        };
        if let Some(leg) = self.legs.get_mut(&id) {
            leg.state = LegState::Terminating;
        }
        self.start_client_tx(format!("BYE:{branch}"), Some(id), transmit, now);
    }

    /// Reports a leg's failure once and forgets it.
    pub(super) fn fail_leg(&mut self, id: LegId, status: u16, reason: &str) {
        if self.legs.remove(&id).is_some() {
            self.events.push_back(SipEvent::Failed {
                leg: id,
                status,
                reason: reason.to_string(),
            });
        }
    }

    pub(super) fn trunk_of_source(&self, ip: IpAddr) -> bool {
        self.cfg
            .trunks
            .iter()
            .any(|t| t.addr.is_some_and(|a| a.ip() == ip))
    }
}

/// The address of an IP-literal SIP URI (port 5060 by default).
pub(super) fn uri_addr(uri: &str) -> Option<SocketAddr> {
    let u = SipUri::parse(uri)?;
    let ip: IpAddr = u.host.parse().ok()?;
    Some(SocketAddr::new(ip, u.port.unwrap_or(5060)))
}

/// Adds `received` and fills `rport` (RFC 3581) on the top Via of a response.
fn fix_top_via(via: &str, source: SocketAddr) -> String {
    let mut parts: Vec<String> = via.split(';').map(|p| p.trim().to_string()).collect();
    let mut has_received = false;
    for p in parts.iter_mut().skip(1) {
        let lower = p.to_ascii_lowercase();
        if lower == "rport" || lower.starts_with("rport=") {
            *p = format!("rport={}", source.port());
        } else if lower.starts_with("received=") {
            *p = format!("received={}", source.ip());
            has_received = true;
        }
    }
    if !has_received {
        parts.push(format!("received={}", source.ip()));
    }
    parts.join(";")
}
