//! Outbound legs: the INVITE client transaction (RFC 3261 §17.1.1), CANCEL (§9), the ACK
//! of a 2xx (§13.2.2.4) and digest authentication (§22.2).

use std::time::{Duration, Instant};

use super::super::digest::Challenge;
use super::super::message::{self, Message, NameAddr};
use super::super::{DialRequest, LegId, SipError, SipEvent, SipTransport, FIRST_INBOUND_LEG};
use super::{Endpoint, Leg, LegState, Transmit, T1, TIMEOUT};

/// Where the CANCEL of an outbound INVITE stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cancel {
    None,
    /// Hung up before any provisional: the CANCEL waits for one (§9.1).
    Pending,
    /// Sent; if no final response comes by then, the leg is given up as cancelled.
    Sent {
        give_up: Instant,
    },
}

/// The INVITE client transaction of an outbound leg, until its final response.
pub struct Uac {
    /// The INVITE as sent (rebuilt with credentials after a challenge).
    pub invite: Message,
    pub branch: String,
    pub cseq: u32,
    pub transmit: Transmit,
    pub provisional: bool,
    /// Timer A (UDP only, before any provisional).
    pub next_retransmit: Option<Instant>,
    pub interval: Duration,
    /// Timer B (before any provisional).
    pub timer_b: Option<Instant>,
    pub cancel: Cancel,
    pub auth_tried: bool,
    pub trunk: usize,
}

impl Uac {
    pub fn deadline(&self) -> Option<Instant> {
        let give_up = match self.cancel {
            Cancel::Sent { give_up } => Some(give_up),
            _ => None,
        };
        [self.next_retransmit, self.timer_b, give_up]
            .into_iter()
            .flatten()
            .min()
    }
}

impl Endpoint {
    /// Places a call through a trunk.
    pub fn dial(&mut self, req: DialRequest, now: Instant) -> Result<(), SipError> {
        if req.leg >= FIRST_INBOUND_LEG || self.legs.contains_key(&req.leg) {
            return Err(SipError::BadLegId(req.leg));
        }
        let idx = match &req.trunk {
            None if self.cfg.trunks.is_empty() => return Err(SipError::NoTrunk),
            None => 0,
            Some(name) => self
                .cfg
                .trunks
                .iter()
                .position(|t| &t.config.name == name)
                .ok_or_else(|| SipError::UnknownTrunk(name.clone()))?,
        };
        if self.shutting_down {
            return Err(SipError::Stopped);
        }
        let trunk = self.cfg.trunks[idx].clone();
        let Some(dest) = trunk.addr else {
            self.events.push_back(SipEvent::Failed {
                leg: req.leg,
                status: 503,
                reason: format!("trunk host {} did not resolve", trunk.config.host),
            });
            return Ok(());
        };
        let transport = trunk.config.transport;
        let mut hostpart = trunk.config.domain();
        if trunk.config.domain.is_none() && trunk.config.port != 5060 {
            hostpart = format!("{hostpart}:{}", trunk.config.port);
        }
        let ruri = format!("sip:{}@{hostpart}", req.to);
        let from_user = if req.caller_id.is_empty() {
            trunk
                .config
                .username
                .clone()
                .unwrap_or_else(|| "anonymous".to_string())
        } else {
            req.caller_id.clone()
        };
        let local_tag = self.random_hex();
        let call_id = self.random_hex() + &self.random_hex();
        let local_party = format!("<sip:{from_user}@{hostpart}>;tag={local_tag}");
        let remote_party = format!("<{ruri}>");
        let (via, branch) = self.via(dest, transport);
        let mut m = Message::request("INVITE", &ruri);
        m.push("Via", via)
            .push("Max-Forwards", "70")
            .push("From", local_party.clone())
            .push("To", remote_party.clone())
            .push("Call-ID", call_id.clone())
            .push("CSeq", "1 INVITE")
            .push("Contact", self.contact(dest, transport))
            .push("Allow", super::ALLOW)
            .push("User-Agent", self.cfg.user_agent.clone())
            .set_body("application/sdp", &req.sdp_offer);
        let transmit = Transmit {
            transport,
            dest,
            data: m.to_bytes(),
        };
        self.transmits.push_back(transmit.clone());
        log::info!(
            "sip: leg {} INVITE {ruri} via trunk {}",
            req.leg,
            trunk.config.name
        );
        self.legs.insert(
            req.leg,
            Leg {
                id: req.leg,
                state: LegState::Early,
                call_id,
                local_tag,
                remote_tag: None,
                local_party,
                remote_party,
                remote_target: ruri,
                route_set: Vec::new(),
                local_cseq: 1,
                peer: dest,
                transport,
                local_sdp: Some(req.sdp_offer),
                uac: Some(Uac {
                    invite: m,
                    branch,
                    cseq: 1,
                    transmit: transmit.clone(),
                    provisional: false,
                    next_retransmit: (transport == SipTransport::Udp).then_some(now + T1),
                    interval: T1,
                    timer_b: Some(now + TIMEOUT),
                    cancel: Cancel::None,
                    auth_tried: false,
                    trunk: idx,
                }),
                uas: None,
                bye_pending: false,
            },
        );
        Ok(())
    }

    pub(super) fn uac_hang_up(&mut self, id: LegId, now: Instant) {
        let Some(state) = self.legs.get(&id).map(|l| l.state) else {
            return;
        };
        match state {
            LegState::Early => {
                let Some(uac) = self.legs.get_mut(&id).and_then(|l| l.uac.as_mut()) else {
                    return;
                };
                if uac.cancel != Cancel::None {
                    return;
                }
                if uac.provisional {
                    self.send_cancel(id, now);
                } else {
                    uac.cancel = Cancel::Pending;
                }
            }
            LegState::Established | LegState::AwaitingAck => self.send_bye(id, now),
            LegState::Terminating => {}
        }
    }

    fn send_cancel(&mut self, id: LegId, now: Instant) {
        let Some(uac) = self.legs.get_mut(&id).and_then(|l| l.uac.as_mut()) else {
            return;
        };
        let inv = &uac.invite;
        let mut m = Message::request("CANCEL", inv.uri().unwrap_or(""));
        if let Some(v) = inv.header_list("Via").first() {
            m.push("Via", v.clone());
        }
        m.push("Max-Forwards", "70");
        for h in ["From", "To", "Call-ID"] {
            if let Some(v) = inv.header(h) {
                m.push(h, v);
            }
        }
        m.push("CSeq", format!("{} CANCEL", uac.cseq));
        for r in inv.header_list("Route") {
            m.push("Route", r);
        }
        uac.cancel = Cancel::Sent {
            give_up: now + TIMEOUT,
        };
        let transmit = Transmit {
            transport: uac.transmit.transport,
            dest: uac.transmit.dest,
            data: m.to_bytes(),
        };
        let key = format!("CANCEL:{}", uac.branch);
        log::info!("sip: leg {id} CANCEL");
        self.start_client_tx(key, Some(id), transmit, now);
    }

    /// The ACK of a non-2xx final response: same branch as the INVITE (§17.1.1.3).
    fn ack_non_2xx(uac: &Uac, resp: &Message) -> Transmit {
        let inv = &uac.invite;
        let mut m = Message::request("ACK", inv.uri().unwrap_or(""));
        if let Some(v) = inv.header_list("Via").first() {
            m.push("Via", v.clone());
        }
        m.push("Max-Forwards", "70");
        if let Some(f) = inv.header("From") {
            m.push("From", f);
        }
        if let Some(t) = resp.header("To") {
            m.push("To", t);
        }
        if let Some(c) = inv.header("Call-ID") {
            m.push("Call-ID", c);
        }
        m.push("CSeq", format!("{} ACK", uac.cseq));
        for r in inv.header_list("Route") {
            m.push("Route", r);
        }
        Transmit {
            transport: uac.transmit.transport,
            dest: uac.transmit.dest,
            data: m.to_bytes(),
        }
    }

    pub(super) fn uac_on_invite_response(
        &mut self,
        msg: &Message,
        branch: &str,
        cseq: u32,
        status: u16,
        now: Instant,
    ) {
        let id = self
            .legs
            .values()
            .find(|l| {
                l.uac
                    .as_ref()
                    .is_some_and(|u| u.branch == branch && u.cseq == cseq)
            })
            .map(|l| l.id);
        let Some(id) = id else {
            // A retransmitted final response of a finished transaction: ACK it again.
            let call_id = msg.call_id().unwrap_or("").to_string();
            let key = if (200..300).contains(&status) {
                let tag = msg.tag_in_to().unwrap_or_default();
                format!("ack:{call_id}:{cseq}:{tag}")
            } else {
                format!("ict:{branch}")
            };
            if let Some(l) = self.linger.get(&key) {
                self.transmits.push_back(l.transmit.clone());
            } else if (200..300).contains(&status) {
                self.uac_forked_2xx(msg, &call_id, cseq, now);
            } else {
                log::debug!("sip: stray {status} to INVITE (branch {branch})");
            }
            return;
        };
        match status {
            100..=199 => self.uac_provisional(id, msg, status, now),
            200..=299 => self.uac_success(id, msg, cseq, now),
            _ => self.uac_failure(id, msg, branch, status, now),
        }
    }

    fn uac_provisional(&mut self, id: LegId, msg: &Message, status: u16, now: Instant) {
        let Some(uac) = self.legs.get_mut(&id).and_then(|l| l.uac.as_mut()) else {
            return;
        };
        let first = !uac.provisional;
        uac.provisional = true;
        uac.next_retransmit = None;
        uac.timer_b = None;
        let cancel = uac.cancel;
        if first && cancel == Cancel::Pending {
            self.send_cancel(id, now);
            return;
        }
        if status > 100 && cancel == Cancel::None {
            self.events.push_back(SipEvent::Progress {
                leg: id,
                status,
                sdp: msg.body_text().map(str::to_string),
            });
        }
    }

    fn uac_success(&mut self, id: LegId, msg: &Message, cseq: u32, now: Instant) {
        let (dest_default, transport) = match self.legs.get(&id) {
            Some(l) => (l.peer, l.transport),
            None => return,
        };
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let Some(uac) = leg.uac.take() else { return };
        leg.remote_tag = msg.tag_in_to();
        if let Some(t) = msg.header("To") {
            leg.remote_party = t.to_string();
        }
        if let Some(c) = msg.header_list("Contact").first() {
            leg.remote_target = NameAddr::parse(c).uri;
        }
        let mut rr = msg.header_list("Record-Route");
        rr.reverse();
        leg.route_set = rr;
        leg.state = LegState::Established;
        let dest = self.dialog_dest_of(id).unwrap_or(dest_default);
        // The ACK of a 2xx is its own transaction: new branch, to the remote target (§13.2.2.4).
        let (via, _) = self.via(dest, transport);
        let Some(leg) = self.legs.get(&id) else {
            return;
        };
        let mut m = Message::request("ACK", &leg.remote_target);
        m.push("Via", via)
            .push("Max-Forwards", "70")
            .push("From", leg.local_party.clone())
            .push("To", leg.remote_party.clone())
            .push("Call-ID", leg.call_id.clone())
            .push("CSeq", format!("{cseq} ACK"));
        for r in &leg.route_set {
            m.push("Route", r.clone());
        }
        let ack = Transmit {
            transport,
            dest,
            data: m.to_bytes(),
        };
        let call_id = leg.call_id.clone();
        let tag = leg.remote_tag.clone().unwrap_or_default();
        self.transmits.push_back(ack.clone());
        self.linger_absorb(format!("ack:{call_id}:{cseq}:{tag}"), ack, now);
        if uac.cancel != Cancel::None {
            // The 200 crossed our CANCEL: the call was answered, so end it with a BYE.
            log::info!("sip: leg {id}: 200 crossed the CANCEL, sending BYE");
            self.send_bye(id, now);
            self.events.push_back(SipEvent::Failed {
                leg: id,
                status: 487,
                reason: "Request Terminated".to_string(),
            });
            return;
        }
        log::info!("sip: leg {id} answered");
        self.events.push_back(SipEvent::Answered {
            leg: id,
            sdp: msg.body_text().unwrap_or("").to_string(),
        });
    }

    /// A 2xx from another branch of a forked INVITE (a second To tag) after the leg was
    /// answered: ACK it, then BYE that dialog (RFC 3261 §13.2.2.4), keeping the first.
    fn uac_forked_2xx(&mut self, msg: &Message, call_id: &str, cseq: u32, now: Instant) {
        let Some(leg) = self
            .legs
            .values()
            .find(|l| l.id < FIRST_INBOUND_LEG && l.call_id == call_id && l.uac.is_none())
        else {
            log::debug!("sip: stray 2xx to INVITE (Call-ID {call_id})");
            return;
        };
        let Some(tag) = msg.tag_in_to() else { return };
        if leg.remote_tag.as_deref() == Some(tag.as_str()) {
            return;
        }
        log::info!(
            "sip: leg {}: 2xx from a second fork (tag {tag}): ACK + BYE",
            leg.id
        );
        let (local_party, peer, transport) = (leg.local_party.clone(), leg.peer, leg.transport);
        let remote_party = msg.header("To").unwrap_or("").to_string();
        let target = msg
            .header_list("Contact")
            .first()
            .map(|c| NameAddr::parse(c).uri)
            .unwrap_or_default();
        let mut routes = msg.header_list("Record-Route");
        routes.reverse();
        let dest = if transport.is_stream() {
            peer
        } else {
            routes
                .first()
                .map(|r| NameAddr::parse(r).uri)
                .or_else(|| Some(target.clone()))
                .and_then(|u| super::messages::uri_addr(&u))
                .unwrap_or(peer)
        };
        let mut transmits = Vec::new();
        for (method, n) in [("ACK", cseq), ("BYE", cseq + 1)] {
            let (via, branch) = self.via(dest, transport);
            let mut m = Message::request(method, &target);
            m.push("Via", via)
                .push("Max-Forwards", "70")
                .push("From", local_party.clone())
                .push("To", remote_party.clone())
                .push("Call-ID", call_id.to_string())
                .push("CSeq", format!("{n} {method}"));
            for r in &routes {
                m.push("Route", r.clone());
            }
            let t = Transmit {
                transport,
                dest,
                data: m.to_bytes(),
            };
            transmits.push((branch, t));
        }
        let mut it = transmits.into_iter();
        if let Some((_, ack)) = it.next() {
            self.transmits.push_back(ack.clone());
            self.linger_absorb(format!("ack:{call_id}:{cseq}:{tag}"), ack, now);
        }
        if let Some((branch, bye)) = it.next() {
            self.start_client_tx(format!("BYE:{branch}"), None, bye, now);
        }
    }

    fn dialog_dest_of(&self, id: LegId) -> Option<std::net::SocketAddr> {
        self.legs.get(&id).map(|l| self.dialog_dest(l))
    }

    fn uac_failure(&mut self, id: LegId, msg: &Message, branch: &str, status: u16, now: Instant) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let Some(uac) = leg.uac.as_ref() else { return };
        let ack = Self::ack_non_2xx(uac, msg);
        self.transmits.push_back(ack.clone());
        self.linger_absorb(format!("ict:{branch}"), ack, now);
        if matches!(status, 401 | 407) && self.retry_with_credentials(id, msg, status, now) {
            return;
        }
        let cancelled = self
            .legs
            .get(&id)
            .and_then(|l| l.uac.as_ref())
            .is_some_and(|u| u.cancel != Cancel::None);
        let reason = match &msg.start {
            message::StartLine::Response { reason, .. } if !reason.is_empty() => reason.clone(),
            _ => message::reason_phrase(status).to_string(),
        };
        log::info!(
            "sip: leg {id} failed: {status} {reason}{}",
            if cancelled { " (cancelled)" } else { "" }
        );
        self.fail_leg(id, status, &reason);
    }

    /// Re-sends the INVITE with digest credentials, once. False when it cannot.
    fn retry_with_credentials(
        &mut self,
        id: LegId,
        msg: &Message,
        status: u16,
        now: Instant,
    ) -> bool {
        let (challenge_header, auth_header) = if status == 401 {
            ("WWW-Authenticate", "Authorization")
        } else {
            ("Proxy-Authenticate", "Proxy-Authorization")
        };
        let Some(challenge) = msg
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(challenge_header))
            .find_map(|(_, v)| Challenge::parse(v))
        else {
            return false;
        };
        let cnonce = self.random_hex();
        let (dest, transport) = match self.legs.get(&id).and_then(|l| l.uac.as_ref()) {
            Some(u) => (u.transmit.dest, u.transmit.transport),
            None => return false,
        };
        let (via, branch) = self.via(dest, transport);
        let Some(leg) = self.legs.get_mut(&id) else {
            return false;
        };
        let Some(uac) = leg.uac.as_mut() else {
            return false;
        };
        if uac.auth_tried || uac.cancel != Cancel::None {
            return false;
        }
        let trunk = &self.cfg.trunks[uac.trunk].config;
        let (Some(user), Some(password)) = (&trunk.username, &trunk.password) else {
            return false;
        };
        let uri = uac.invite.uri().unwrap_or("").to_string();
        let auth = challenge.authorization(user, password, "INVITE", &uri, &cnonce, 1);
        let cseq = uac.cseq + 1;
        let mut m = uac.invite.clone();
        m.remove("Via");
        m.remove("CSeq");
        m.remove("Authorization");
        m.remove("Proxy-Authorization");
        m.headers.insert(0, ("Via".to_string(), via));
        m.push("CSeq", format!("{cseq} INVITE"));
        m.push(auth_header, auth);
        let transmit = Transmit {
            transport,
            dest,
            data: m.to_bytes(),
        };
        self.transmits.push_back(transmit.clone());
        leg.local_cseq = cseq;
        uac.invite = m;
        uac.branch = branch;
        uac.cseq = cseq;
        uac.transmit = transmit;
        uac.provisional = false;
        uac.next_retransmit = (transport == SipTransport::Udp).then_some(now + T1);
        uac.interval = T1;
        uac.timer_b = Some(now + TIMEOUT);
        uac.auth_tried = true;
        log::info!("sip: leg {id}: {status} challenge, retrying with credentials");
        true
    }

    pub(super) fn uac_timeout(&mut self, id: LegId, now: Instant) {
        let Some(uac) = self.legs.get_mut(&id).and_then(|l| l.uac.as_mut()) else {
            return;
        };
        let cancelled = uac.cancel != Cancel::None;
        if let Cancel::Sent { give_up } = uac.cancel {
            if give_up <= now {
                self.fail_leg(id, 487, "Request Terminated");
                return;
            }
        }
        if uac.timer_b.is_some_and(|b| b <= now) {
            log::info!("sip: leg {id}: no response to INVITE (Timer B)");
            if cancelled {
                self.fail_leg(id, 487, "Request Terminated");
            } else {
                self.fail_leg(id, 408, "Request Timeout");
            }
            return;
        }
        if uac.next_retransmit.is_some_and(|t| t <= now) {
            self.transmits.push_back(uac.transmit.clone());
            uac.interval *= 2;
            uac.next_retransmit = Some(now + uac.interval);
        }
    }
}
