//! Inbound legs: the INVITE server transaction (RFC 3261 §17.2.1), the 2xx retransmitted
//! until its ACK (§13.3.1.4), CANCEL of a pending INVITE (§9.2).

use std::net::SocketAddr;
use std::time::Instant;

use super::super::message::{Message, NameAddr, SipUri};
use super::super::{LegId, SipEvent, SipTransport, FIRST_INBOUND_LEG};
use super::{Endpoint, Leg, LegState, Transmit, ALLOW, T2};

/// The INVITE server transaction of an inbound leg.
pub struct Uas {
    pub branch: String,
    pub invite: Message,
    pub source: SocketAddr,
    pub transport: SipTransport,
    /// Sent again when the INVITE is retransmitted.
    pub last_response: Option<Transmit>,
}

impl Uas {
    pub fn deadline(&self) -> Option<Instant> {
        None
    }
}

/// The user part of a URI (the number), or "".
fn user_of(uri: &str) -> String {
    SipUri::parse(uri).and_then(|u| u.user).unwrap_or_default()
}

impl Endpoint {
    pub(super) fn uas_on_invite(
        &mut self,
        msg: Message,
        branch: String,
        source: SocketAddr,
        transport: SipTransport,
        now: Instant,
    ) {
        // A retransmission of an INVITE in progress: repeat the last response.
        if let Some(last) = self
            .legs
            .values()
            .filter_map(|l| l.uas.as_ref())
            .find(|u| u.branch == branch)
            .map(|u| u.last_response.clone())
        {
            if let Some(t) = last {
                self.transmits.push_back(t);
            }
            return;
        }
        let local_tag = self.random_hex();
        if self.shutting_down {
            self.send_invite_final(&msg, 503, source, transport, &local_tag, now);
            return;
        }
        let allowed = self.cfg.allow.iter().any(|n| n.contains(source.ip()))
            || self.trunk_of_source(source.ip());
        if !allowed {
            log::info!("sip: INVITE from {source} refused: not an allowed source");
            self.send_invite_final(&msg, 403, source, transport, &local_tag, now);
            return;
        }
        let call_id = msg.call_id().unwrap_or("").to_string();
        let from_tag = msg.tag_in_from();
        if self
            .legs
            .values()
            .any(|l| l.call_id == call_id && l.remote_tag == from_tag && l.id >= FIRST_INBOUND_LEG)
        {
            // Same dialog id, new branch: a merged request (§8.2.2.2).
            self.send_invite_final(&msg, 482, source, transport, &local_tag, now);
            return;
        }
        let sdp = if msg.body.is_empty() {
            // A delayed offer would need us to offer in the 200: not supported.
            self.send_invite_final(&msg, 488, source, transport, &local_tag, now);
            return;
        } else {
            match msg.body_text() {
                Some(s) => s.to_string(),
                None => {
                    self.reply_bad_request(&msg, source, transport, "body is not UTF-8");
                    return;
                }
            }
        };
        let id = self.next_inbound;
        self.next_inbound += 1;
        let trying = self.response_to(&msg, 100, source, None);
        let trying = Transmit {
            transport,
            dest: source,
            data: trying.to_bytes(),
        };
        self.transmits.push_back(trying.clone());
        let from_uri = msg
            .header("From")
            .map(|f| NameAddr::parse(f).uri)
            .unwrap_or_default();
        let mut from = user_of(&from_uri);
        if from.is_empty() {
            from = "anonymous".to_string();
        }
        // The called number is the Request-URI's user; a trunk we registered to sends calls
        // to our Contact (`sip:gateway@us`), and then the number dialled is in To.
        let ruri_user = user_of(msg.uri().unwrap_or(""));
        let to_user = msg
            .header("To")
            .map(|t| user_of(&NameAddr::parse(t).uri))
            .unwrap_or_default();
        let digits = ruri_user.strip_prefix('+').unwrap_or(&ruri_user);
        let is_number = !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit());
        let to = if is_number || to_user.is_empty() {
            ruri_user
        } else {
            to_user
        };
        let remote_target = msg
            .header_list("Contact")
            .first()
            .map(|c| NameAddr::parse(c).uri)
            .unwrap_or_else(|| from_uri.clone());
        log::info!("sip: leg {id}: INVITE from {from} to {to} ({source})");
        let leg = Leg {
            id,
            state: LegState::Early,
            call_id,
            local_party: format!("{};tag={local_tag}", msg.header("To").unwrap_or("")),
            local_tag,
            remote_tag: from_tag,
            remote_party: msg.header("From").unwrap_or("").to_string(),
            remote_target,
            route_set: msg.header_list("Record-Route"),
            local_cseq: 0,
            peer: source,
            transport,
            local_sdp: None,
            uac: None,
            uas: Some(Uas {
                branch,
                invite: msg,
                source,
                transport,
                last_response: Some(trying),
            }),
            bye_pending: false,
        };
        self.legs.insert(id, leg);
        self.events.push_back(SipEvent::Incoming {
            leg: id,
            from,
            to,
            sdp_offer: sdp,
            source,
        });
    }

    /// A final response to an INVITE outside any leg (403, 482, 488, …), retransmitted
    /// until its ACK.
    fn send_invite_final(
        &mut self,
        req: &Message,
        status: u16,
        source: SocketAddr,
        transport: SipTransport,
        to_tag: &str,
        now: Instant,
    ) {
        self.send_invite_final_with(req, status, source, transport, to_tag, now, |_| {});
    }

    /// [`Endpoint::send_invite_final`] with extra headers added by `extra`.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn send_invite_final_with(
        &mut self,
        req: &Message,
        status: u16,
        source: SocketAddr,
        transport: SipTransport,
        to_tag: &str,
        now: Instant,
        extra: impl FnOnce(&mut Message),
    ) {
        let mut r = self.response_to(req, status, source, Some(to_tag));
        extra(&mut r);
        let transmit = Transmit {
            transport,
            dest: source,
            data: r.to_bytes(),
        };
        self.transmits.push_back(transmit.clone());
        let branch = req
            .top_via()
            .and_then(|v| v.branch().map(str::to_string))
            .unwrap_or_default();
        self.linger_retransmit(format!("ist:{branch}"), transmit, T2, None, now);
    }

    /// A response to the pending INVITE of an inbound leg (18x, 2xx), with our tag,
    /// Contact and the Record-Route copied.
    fn leg_response(&self, id: LegId, status: u16) -> Option<Message> {
        let leg = self.legs.get(&id)?;
        let uas = leg.uas.as_ref()?;
        let mut r = self.response_to(&uas.invite, status, uas.source, Some(&leg.local_tag));
        for rr in uas.invite.header_list("Record-Route") {
            r.push("Record-Route", rr);
        }
        r.push("Contact", self.contact(uas.source, uas.transport));
        Some(r)
    }

    fn pending_inbound(&self, id: LegId) -> bool {
        id >= FIRST_INBOUND_LEG
            && self
                .legs
                .get(&id)
                .is_some_and(|l| l.state == LegState::Early && l.uas.is_some())
    }

    /// 180 Ringing on an inbound leg.
    pub fn ring(&mut self, id: LegId, now: Instant) {
        let _ = now;
        if !self.pending_inbound(id) {
            log::debug!("sip: ring: leg {id} is not a pending inbound leg");
            return;
        }
        let Some(r) = self.leg_response(id, 180) else {
            return;
        };
        let Some(uas) = self.legs.get_mut(&id).and_then(|l| l.uas.as_mut()) else {
            return;
        };
        let t = Transmit {
            transport: uas.transport,
            dest: uas.source,
            data: r.to_bytes(),
        };
        uas.last_response = Some(t.clone());
        self.transmits.push_back(t);
    }

    /// 200 OK with our SDP, retransmitted until the ACK (Timer G), given up by Timer H.
    pub fn answer(&mut self, id: LegId, sdp_answer: String, now: Instant) {
        if !self.pending_inbound(id) {
            log::debug!("sip: answer: leg {id} is not a pending inbound leg");
            return;
        }
        let Some(mut r) = self.leg_response(id, 200) else {
            return;
        };
        r.push("Allow", ALLOW);
        r.set_body("application/sdp", &sdp_answer);
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        let Some(uas) = leg.uas.as_mut() else { return };
        let t = Transmit {
            transport: uas.transport,
            dest: uas.source,
            data: r.to_bytes(),
        };
        uas.last_response = Some(t.clone());
        let cseq = uas.invite.cseq().map_or(0, |c| c.0);
        leg.state = LegState::AwaitingAck;
        leg.local_sdp = Some(sdp_answer);
        let key = format!("2xx:{}:{cseq}", leg.call_id);
        self.transmits.push_back(t.clone());
        log::info!("sip: leg {id} answered");
        self.linger_retransmit(key, t, T2, Some(id), now);
    }

    /// A final non-2xx to a pending inbound INVITE; the leg ends.
    pub fn reject(&mut self, id: LegId, status: u16, now: Instant) {
        if !(300..700).contains(&status) {
            log::warn!("sip: reject of leg {id} with {status}: not a failure status");
            return;
        }
        if !self.pending_inbound(id) {
            log::debug!("sip: reject: leg {id} is not a pending inbound leg");
            return;
        }
        let Some(leg) = self.legs.remove(&id) else {
            return;
        };
        let Some(uas) = leg.uas else { return };
        log::info!("sip: leg {id} rejected with {status}");
        self.send_invite_final(
            &uas.invite,
            status,
            uas.source,
            uas.transport,
            &leg.local_tag,
            now,
        );
    }

    pub(super) fn uas_hang_up(&mut self, id: LegId, now: Instant) {
        let Some(state) = self.legs.get(&id).map(|l| l.state) else {
            return;
        };
        match state {
            LegState::Early => self.reject(id, 480, now),
            // No BYE before the ACK of our 200 (§15): it goes when the ACK comes.
            LegState::AwaitingAck => {
                if let Some(leg) = self.legs.get_mut(&id) {
                    leg.bye_pending = true;
                }
            }
            LegState::Established => self.send_bye(id, now),
            LegState::Terminating => {}
        }
    }

    pub(super) fn uas_on_ack(&mut self, id: LegId, now: Instant) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if leg.state != LegState::AwaitingAck {
            return;
        }
        leg.state = LegState::Established;
        if let Some(uas) = leg.uas.as_mut() {
            // INVITE retransmissions after the ACK are no longer expected.
            uas.last_response = None;
        }
        if leg.bye_pending {
            self.send_bye(id, now);
        }
    }

    pub(super) fn uas_on_cancel(
        &mut self,
        msg: &Message,
        branch: &str,
        source: SocketAddr,
        transport: SipTransport,
        now: Instant,
    ) {
        let found = self
            .legs
            .values()
            .find(|l| l.uas.as_ref().is_some_and(|u| u.branch == branch))
            .map(|l| (l.id, l.state));
        let status = if found.is_some() { 200 } else { 481 };
        let r = self.response_to(msg, status, source, None);
        self.send_final(msg, r, source, transport, now);
        if let Some((id, LegState::Early)) = found {
            if let Some(leg) = self.legs.remove(&id) {
                if let Some(uas) = leg.uas {
                    self.send_invite_final(
                        &uas.invite,
                        487,
                        uas.source,
                        uas.transport,
                        &leg.local_tag,
                        now,
                    );
                }
            }
            log::info!("sip: leg {id} cancelled by the caller");
            self.events.push_back(SipEvent::RemoteHangup { leg: id });
        }
    }
}
