//! [`Endpoint`]: the sans-IO SIP user agent (RFC 3261 transactions and dialogs).
//!
//! Inputs: messages with their source, transport and `now` ([`Endpoint::handle_message`]),
//! the hub's commands ([`Endpoint::dial`], [`Endpoint::answer`], …), transport failures and
//! [`Endpoint::handle_timeout`]. Outputs: [`Endpoint::poll_transmit`],
//! [`Endpoint::poll_event`] and [`Endpoint::poll_timeout`]. No sockets, no clocks.
//!
//! Outbound legs live in `uac.rs`, inbound ones in `uas.rs`; this file holds the shared
//! state, the dispatch of incoming messages and the retransmission machinery.

mod messages;
mod register;
mod uac;
mod uas;

use std::collections::{HashMap, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use super::message::{self, Message, StartLine};
use super::{IpNet, LegId, SipEvent, SipTransport, TrunkConfig, FIRST_INBOUND_LEG};

/// RTT estimate (RFC 3261 §17.1.1.1).
pub const T1: Duration = Duration::from_millis(500);
/// Maximum retransmit interval for non-INVITE requests and INVITE responses.
pub const T2: Duration = Duration::from_secs(4);
/// Transaction timeout (Timers B, F, H; also how long completed transactions linger).
pub const TIMEOUT: Duration = Duration::from_secs(32);

const ALLOW: &str = "INVITE, ACK, CANCEL, BYE, OPTIONS";

/// A message to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    pub transport: SipTransport,
    pub dest: SocketAddr,
    pub data: Vec<u8>,
}

/// A trunk and the address its host resolved to (None: resolution failed).
#[derive(Debug, Clone)]
pub struct Trunk {
    pub config: TrunkConfig,
    pub addr: Option<SocketAddr>,
}

/// What the core needs to know about its surroundings.
pub struct EndpointConfig {
    pub trunks: Vec<Trunk>,
    pub allow: Vec<IpNet>,
    pub user_agent: String,
    /// Port we listen on (UDP and TCP).
    pub local_port: u16,
    /// Port of the TLS listener, if there is one (Via and Contact of TLS messages).
    pub local_tls_port: Option<u16>,
    /// Our address as seen from a destination (for Via and Contact).
    pub local_ip: Box<dyn Fn(SocketAddr) -> IpAddr + Send>,
}

/// A message sent again on a timer (UDP) and/or to absorb retransmissions until it expires.
struct Linger {
    transmit: Transmit,
    /// Next retransmission (UDP only) and its interval.
    next: Option<Instant>,
    interval: Duration,
    /// Cap of the interval (Timer A doubles without a cap; G, E, F cap at T2).
    cap: Duration,
    until: Instant,
    /// The leg whose 2xx this is: when it expires unacknowledged (Timer H) the dialog ends.
    leg_on_timeout: Option<LegId>,
}

/// A non-INVITE client transaction (BYE, CANCEL).
struct ClientTx {
    leg: Option<LegId>,
    transmit: Transmit,
    next: Option<Instant>,
    interval: Duration,
    deadline: Instant,
}

/// The SIP user agent core.
pub struct Endpoint {
    cfg: EndpointConfig,
    legs: HashMap<LegId, Leg>,
    next_inbound: LegId,
    /// Keyed by `METHOD:branch`.
    client_tx: HashMap<String, ClientTx>,
    /// Keys: `ict:branch` (ACK for a non-2xx), `ack:call-id:cseq:to-tag` (ACK for a 2xx),
    /// `ist:branch` (our non-2xx to an INVITE), `2xx:call-id:cseq` (our 2xx to an INVITE),
    /// `nist:method:branch` (our final to a non-INVITE request).
    linger: HashMap<String, Linger>,
    transmits: VecDeque<Transmit>,
    events: VecDeque<SipEvent>,
    registrations: Vec<register::Registration>,
    rand_state: u64,
    shutting_down: bool,
}

/// Where a leg (one dialog) stands, in either direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum LegState {
    /// Outbound: INVITE sent, no final response. Inbound: INVITE received, no final sent.
    Early,
    /// Inbound: 2xx sent, waiting for the ACK.
    AwaitingAck,
    Established,
    /// BYE sent, waiting for its response.
    Terminating,
}

/// One phone leg: a dialog and its pending INVITE transaction.
struct Leg {
    pub id: LegId,
    pub state: LegState,
    pub call_id: String,
    pub local_tag: String,
    pub remote_tag: Option<String>,
    /// Our From (outbound) / To (inbound) value, with our tag.
    pub local_party: String,
    /// The other party's header value (with its tag once known).
    pub remote_party: String,
    pub remote_target: String,
    pub route_set: Vec<String>,
    pub local_cseq: u32,
    /// Where in-dialog requests go when no usable Contact/Route says otherwise (and
    /// always over TCP, where the connection is).
    pub peer: SocketAddr,
    pub transport: SipTransport,
    pub local_sdp: Option<String>,
    pub uac: Option<uac::Uac>,
    pub uas: Option<uas::Uas>,
    /// Inbound: hung up while the 2xx waits for its ACK; BYE once it comes.
    pub bye_pending: bool,
}

impl Endpoint {
    pub fn new(cfg: EndpointConfig, seed: u64) -> Endpoint {
        Endpoint {
            cfg,
            legs: HashMap::new(),
            next_inbound: FIRST_INBOUND_LEG,
            client_tx: HashMap::new(),
            linger: HashMap::new(),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            registrations: Vec::new(),
            rand_state: seed | 1,
            shutting_down: false,
        }
    }

    /// Next message to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// Next event for the hub.
    pub fn poll_event(&mut self) -> Option<SipEvent> {
        self.events.pop_front()
    }

    /// No legs and no client transactions left (after [`Endpoint::shutdown`]).
    pub fn is_idle(&self) -> bool {
        self.legs.is_empty() && self.client_tx.is_empty()
    }

    /// Number of legs (calls in any state).
    pub fn leg_count(&self) -> usize {
        self.legs.len()
    }

    /// When [`Endpoint::handle_timeout`] must be called next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let legs = self.legs.values().filter_map(|l| {
            let a = l.uac.as_ref().and_then(|u| u.deadline());
            let b = l.uas.as_ref().and_then(|u| u.deadline());
            a.into_iter().chain(b).min()
        });
        let tx = self
            .client_tx
            .values()
            .map(|t| t.next.map_or(t.deadline, |n| n.min(t.deadline)));
        let linger = self
            .linger
            .values()
            .map(|l| l.next.map_or(l.until, |n| n.min(l.until)));
        legs.chain(tx)
            .chain(linger)
            .chain(self.registration_deadline())
            .min()
    }

    /// Runs the timers due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        // Retransmissions and expiries of lingering messages.
        let mut expired = Vec::new();
        for (key, l) in self.linger.iter_mut() {
            if l.until <= now {
                expired.push(key.clone());
                continue;
            }
            if let Some(next) = l.next {
                if next <= now {
                    self.transmits.push_back(l.transmit.clone());
                    l.interval = (l.interval * 2).min(l.cap);
                    l.next = Some(now + l.interval);
                }
            }
        }
        for key in expired {
            if let Some(l) = self.linger.remove(&key) {
                if let Some(leg) = l.leg_on_timeout {
                    self.on_2xx_unacknowledged(leg, now);
                }
            }
        }
        // Non-INVITE client transactions (Timers E and F).
        let mut done = Vec::new();
        for (key, t) in self.client_tx.iter_mut() {
            if t.deadline <= now {
                done.push(key.clone());
                continue;
            }
            if let Some(next) = t.next {
                if next <= now {
                    self.transmits.push_back(t.transmit.clone());
                    t.interval = (t.interval * 2).min(T2);
                    t.next = Some(now + t.interval);
                }
            }
        }
        for key in done {
            log::debug!("sip: {key} timed out");
            if let Some(t) = self.client_tx.remove(&key) {
                self.on_client_tx_failed(&key, t.leg, now);
            }
        }
        self.registration_timeouts(now);
        // INVITE client transactions of outbound legs.
        let ids: Vec<LegId> = self
            .legs
            .iter()
            .filter(|(_, l)| {
                l.uac
                    .as_ref()
                    .and_then(|u| u.deadline())
                    .is_some_and(|d| d <= now)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.uac_timeout(id, now);
        }
    }

    /// A message arrived.
    pub fn handle_message(
        &mut self,
        data: &[u8],
        source: SocketAddr,
        transport: SipTransport,
        now: Instant,
    ) {
        let msg = match message::parse(data) {
            Ok(m) => m,
            Err(e) => {
                log::debug!("sip: unparsable message from {source}: {e}");
                if let Some(m) = message::salvage(data) {
                    if m.method().is_some_and(|m| m != "ACK") {
                        self.reply_bad_request(&m, source, transport, &e.to_string());
                    }
                }
                return;
            }
        };
        // Mandatory headers (RFC 3261 §8.1.1).
        let valid = msg.top_via().is_some()
            && msg.call_id().is_some_and(|c| !c.is_empty())
            && msg.header("From").is_some()
            && msg.header("To").is_some()
            && match (msg.cseq(), msg.method()) {
                (Some((_, m)), Some(method)) => m == method,
                (Some(_), None) => true,
                (None, _) => false,
            };
        if !valid {
            log::debug!("sip: message from {source} lacks mandatory headers");
            if msg.method().is_some_and(|m| m != "ACK") {
                self.reply_bad_request(&msg, source, transport, "missing or bad mandatory header");
            }
            return;
        }
        if matches!(msg.start, StartLine::Response { .. }) {
            self.on_response(msg, now);
        } else {
            self.on_request(msg, source, transport, now);
        }
    }

    /// A TCP or TLS connection to `dest` could not be made or broke: what waited on it fails.
    pub fn handle_transport_error(&mut self, dest: SocketAddr, now: Instant) {
        let failed: Vec<LegId> = self
            .legs
            .values()
            .filter(|l| {
                l.transport.is_stream()
                    && l.state == LegState::Early
                    && l.uac.as_ref().is_some_and(|u| u.transmit.dest == dest)
            })
            .map(|l| l.id)
            .collect();
        for id in failed {
            self.fail_leg(id, 503, "transport error");
        }
        let keys: Vec<String> = self
            .client_tx
            .iter()
            .filter(|(_, t)| t.transmit.transport.is_stream() && t.transmit.dest == dest)
            .map(|(k, _)| k.clone())
            .collect();
        for key in keys {
            if let Some(t) = self.client_tx.remove(&key) {
                self.on_client_tx_failed(&key, t.leg, now);
            }
        }
    }

    /// Ends every leg (CANCEL, BYE, 480) before stopping.
    pub fn shutdown(&mut self, now: Instant) {
        self.shutting_down = true;
        for r in &mut self.registrations {
            r.next_at = None;
        }
        let ids: Vec<LegId> = self.legs.keys().copied().collect();
        for id in ids {
            self.hang_up(id, now);
        }
    }

    /// Hangs up a leg: CANCEL or BYE outbound, 480 or BYE inbound.
    pub fn hang_up(&mut self, leg: LegId, now: Instant) {
        let Some(l) = self.legs.get(&leg) else {
            log::debug!("sip: hang_up of unknown leg {leg}");
            return;
        };
        let _ = l;
        if leg < FIRST_INBOUND_LEG {
            self.uac_hang_up(leg, now);
        } else {
            self.uas_hang_up(leg, now);
        }
    }

    fn on_response(&mut self, msg: Message, now: Instant) {
        let (Some(via), Some((cseq, method)), Some(status)) =
            (msg.top_via(), msg.cseq(), msg.status())
        else {
            return;
        };
        let branch = via.branch().unwrap_or("").to_string();
        if method == "INVITE" {
            self.uac_on_invite_response(&msg, &branch, cseq, status, now);
            return;
        }
        let key = format!("{method}:{branch}");
        if status >= 200 {
            if let Some(t) = self.client_tx.remove(&key) {
                if method == "REGISTER" {
                    self.on_register_response(&msg, &branch, status, now);
                } else {
                    self.on_client_tx_done(&key, t.leg);
                }
            }
        } else if let Some(t) = self.client_tx.get_mut(&key) {
            // Proceeding: keep retransmitting at T2 (RFC 3261 §17.1.2.2).
            if t.transmit.transport == SipTransport::Udp {
                t.interval = T2;
                t.next = Some(now + T2);
            }
        }
    }

    /// A client transaction got no final response (Timer F or a transport error).
    fn on_client_tx_failed(&mut self, key: &str, leg: Option<LegId>, now: Instant) {
        if let Some(branch) = key.strip_prefix("REGISTER:") {
            self.on_register_timeout(branch, now);
        } else {
            self.on_client_tx_done(key, leg);
        }
    }

    fn on_client_tx_done(&mut self, key: &str, leg: Option<LegId>) {
        if key.starts_with("BYE:") {
            if let Some(id) = leg {
                if self
                    .legs
                    .get(&id)
                    .is_some_and(|l| l.state == LegState::Terminating)
                {
                    self.legs.remove(&id);
                }
            }
        }
    }

    fn on_request(
        &mut self,
        msg: Message,
        source: SocketAddr,
        transport: SipTransport,
        now: Instant,
    ) {
        let method = msg.method().unwrap_or("").to_string();
        let branch = msg
            .top_via()
            .and_then(|v| v.branch().map(str::to_string))
            .unwrap_or_default();
        if method == "ACK" {
            self.on_ack(&msg, &branch, now);
            return;
        }
        // A retransmission of a request we already answered finally.
        let key = if method == "INVITE" {
            format!("ist:{branch}")
        } else {
            format!("nist:{method}:{branch}")
        };
        if let Some(l) = self.linger.get(&key) {
            self.transmits.push_back(l.transmit.clone());
            return;
        }
        if method == "CANCEL" {
            self.uas_on_cancel(&msg, &branch, source, transport, now);
            return;
        }
        // We support no extensions: a request that requires one gets 420 (§8.2.2.3).
        let required: Vec<String> = msg
            .header_list("Require")
            .into_iter()
            .filter(|o| !o.is_empty())
            .collect();
        if !required.is_empty() {
            let unsupported = required.join(", ");
            log::info!("sip: {method} from {source} requires {unsupported}: 420");
            if method == "INVITE" {
                let tag = self.random_hex();
                self.send_invite_final_with(&msg, 420, source, transport, &tag, now, |r| {
                    r.push("Unsupported", unsupported.clone());
                });
            } else {
                let mut r = self.response_to(&msg, 420, source, None);
                r.push("Unsupported", unsupported);
                self.send_final(&msg, r, source, transport, now);
            }
            return;
        }
        if msg.tag_in_to().is_some() {
            self.on_in_dialog_request(&msg, &method, source, transport, now);
            return;
        }
        match method.as_str() {
            "INVITE" => self.uas_on_invite(msg, branch, source, transport, now),
            "OPTIONS" => {
                let tag = self.random_hex();
                let mut r = self.response_to(&msg, 200, source, Some(&tag));
                r.push("Allow", ALLOW).push("Accept", "application/sdp");
                self.send_final(&msg, r, source, transport, now);
            }
            "BYE" => {
                let r = self.response_to(&msg, 481, source, None);
                self.send_final(&msg, r, source, transport, now);
            }
            _ => self.reply_unsupported(&msg, &method, source, transport, now),
        }
    }

    fn on_in_dialog_request(
        &mut self,
        msg: &Message,
        method: &str,
        source: SocketAddr,
        transport: SipTransport,
        now: Instant,
    ) {
        let Some(id) = self.find_dialog(msg) else {
            let r = self.response_to(msg, 481, source, None);
            self.send_final(msg, r, source, transport, now);
            return;
        };
        match method {
            "BYE" => {
                let r = self.response_to(msg, 200, source, None);
                self.send_final(msg, r, source, transport, now);
                self.linger.retain(|_, l| l.leg_on_timeout != Some(id));
                if let Some(leg) = self.legs.remove(&id) {
                    // A BYE crossing ours ends the leg quietly: the hub already hung up.
                    if leg.state != LegState::Terminating {
                        self.events.push_back(SipEvent::RemoteHangup { leg: id });
                    }
                }
            }
            "INVITE" => self.on_reinvite(id, msg, source, transport, now),
            "OPTIONS" | "INFO" => {
                let r = self.response_to(msg, 200, source, None);
                self.send_final(msg, r, source, transport, now);
            }
            _ => self.reply_unsupported(msg, method, source, transport, now),
        }
    }

    /// A re-INVITE (hold, session refresh): answered with our last SDP for now.
    fn on_reinvite(
        &mut self,
        id: LegId,
        msg: &Message,
        source: SocketAddr,
        transport: SipTransport,
        now: Instant,
    ) {
        let Some(leg) = self.legs.get(&id) else {
            return;
        };
        let sdp = leg.local_sdp.clone();
        let contact = self.contact(source, transport);
        let mut r = self.response_to(msg, 200, source, None);
        r.push("Contact", contact).push("Allow", ALLOW);
        if let Some(sdp) = sdp {
            r.set_body("application/sdp", &sdp);
        }
        let (call_id, cseq) = (
            msg.call_id().unwrap_or("").to_string(),
            msg.cseq().map_or(0, |c| c.0),
        );
        let transmit = Transmit {
            transport,
            dest: source,
            data: r.to_bytes(),
        };
        self.transmits.push_back(transmit.clone());
        self.linger_retransmit(format!("2xx:{call_id}:{cseq}"), transmit, T2, None, now);
    }

    /// The leg whose dialog a request (with a To tag) belongs to.
    fn find_dialog(&self, msg: &Message) -> Option<LegId> {
        let call_id = msg.call_id()?;
        let to_tag = msg.tag_in_to()?;
        let from_tag = msg.tag_in_from();
        self.legs
            .values()
            .find(|l| {
                l.call_id == call_id
                    && l.local_tag == to_tag
                    && (l.remote_tag.is_none() || l.remote_tag == from_tag)
            })
            .map(|l| l.id)
    }

    fn on_ack(&mut self, msg: &Message, branch: &str, now: Instant) {
        // ACK of our non-2xx final: stop retransmitting it.
        if self.linger.remove(&format!("ist:{branch}")).is_some() {
            return;
        }
        let call_id = msg.call_id().unwrap_or("").to_string();
        let cseq = msg.cseq().map_or(0, |c| c.0);
        let acked_2xx = self
            .linger
            .remove(&format!("2xx:{call_id}:{cseq}"))
            .is_some();
        if let Some(id) = self.find_dialog(msg) {
            if acked_2xx {
                self.uas_on_ack(id, now);
            }
        }
    }

    /// Our 2xx to an INVITE was never acknowledged (Timer H): end the dialog.
    fn on_2xx_unacknowledged(&mut self, id: LegId, now: Instant) {
        let Some(leg) = self.legs.get_mut(&id) else {
            return;
        };
        if leg.state != LegState::AwaitingAck {
            return;
        }
        log::info!("sip: leg {id}: no ACK for our 200, hanging up");
        let hub_hung_up = leg.bye_pending;
        leg.state = LegState::Established;
        self.send_bye(id, now);
        if !hub_hung_up {
            self.events.push_back(SipEvent::RemoteHangup { leg: id });
        }
    }
}
