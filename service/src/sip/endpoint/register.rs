//! Registration to trunks marked `register` (RFC 3261 §10): REGISTER with digest
//! credentials when challenged, refreshed at half the granted expiry, retried a minute
//! after a failure.

use std::time::{Duration, Instant};

use super::super::digest::Challenge;
use super::super::message::{Message, NameAddr};
use super::{Endpoint, Transmit};

/// Expiry we ask for.
const REQUESTED_EXPIRES: u64 = 3600;
/// Wait before trying again after a failed registration.
const RETRY: Duration = Duration::from_secs(60);

/// The registration of one trunk.
pub struct Registration {
    pub trunk: usize,
    pub call_id: String,
    pub from_tag: String,
    pub cseq: u32,
    /// Branch of the REGISTER in flight.
    pub branch: Option<String>,
    pub auth_tried: bool,
    /// When to send the next REGISTER (None: one is in flight).
    pub next_at: Option<Instant>,
    pub registered: bool,
}

impl Endpoint {
    /// Starts registering to every trunk marked `register`.
    pub fn start_registrations(&mut self, now: Instant) {
        for idx in 0..self.cfg.trunks.len() {
            if !self.cfg.trunks[idx].config.register {
                continue;
            }
            let reg = Registration {
                trunk: idx,
                call_id: self.random_hex() + &self.random_hex(),
                from_tag: self.random_hex(),
                cseq: 0,
                branch: None,
                auth_tried: false,
                next_at: Some(now),
                registered: false,
            };
            self.registrations.push(reg);
        }
        self.registration_timeouts(now);
    }

    /// True when the trunk at `idx` holds a current registration.
    pub fn is_registered(&self, trunk: &str) -> bool {
        self.registrations
            .iter()
            .any(|r| r.registered && self.cfg.trunks[r.trunk].config.name == trunk)
    }

    pub(super) fn registration_deadline(&self) -> Option<Instant> {
        self.registrations.iter().filter_map(|r| r.next_at).min()
    }

    pub(super) fn registration_timeouts(&mut self, now: Instant) {
        for i in 0..self.registrations.len() {
            if self.registrations[i].next_at.is_some_and(|t| t <= now) {
                self.send_register(i, None, now);
            }
        }
    }

    fn send_register(&mut self, i: usize, auth: Option<(&str, String)>, now: Instant) {
        let trunk = self.cfg.trunks[self.registrations[i].trunk].clone();
        let Some(dest) = trunk.addr else {
            self.registrations[i].next_at = Some(now + RETRY);
            return;
        };
        let transport = trunk.config.transport;
        let domain = trunk.config.domain();
        let user = trunk
            .config
            .username
            .clone()
            .unwrap_or_else(|| "gateway".to_string());
        let (via, branch) = self.via(dest, transport);
        let contact = format!(
            "<sip:{user}@{}{}>",
            self.local_hostport(dest, transport),
            transport.uri_param()
        );
        let ua = self.cfg.user_agent.clone();
        let reg = &mut self.registrations[i];
        reg.cseq += 1;
        reg.branch = Some(branch.clone());
        reg.next_at = None;
        let mut m = Message::request("REGISTER", &format!("sip:{domain}"));
        m.push("Via", via)
            .push("Max-Forwards", "70")
            .push(
                "From",
                format!("<sip:{user}@{domain}>;tag={}", reg.from_tag),
            )
            .push("To", format!("<sip:{user}@{domain}>"))
            .push("Call-ID", reg.call_id.clone())
            .push("CSeq", format!("{} REGISTER", reg.cseq))
            .push("Contact", contact)
            .push("Expires", REQUESTED_EXPIRES.to_string())
            .push("User-Agent", ua);
        if let Some((name, value)) = auth {
            m.push(name, value);
        }
        let transmit = Transmit {
            transport,
            dest,
            data: m.to_bytes(),
        };
        log::debug!("sip: REGISTER to trunk {}", trunk.config.name);
        self.start_client_tx(format!("REGISTER:{branch}"), None, transmit, now);
    }

    /// A final response to one of our REGISTERs.
    pub(super) fn on_register_response(
        &mut self,
        msg: &Message,
        branch: &str,
        status: u16,
        now: Instant,
    ) {
        let Some(i) = self
            .registrations
            .iter()
            .position(|r| r.branch.as_deref() == Some(branch))
        else {
            return;
        };
        self.registrations[i].branch = None;
        let name = self.cfg.trunks[self.registrations[i].trunk]
            .config
            .name
            .clone();
        if (200..300).contains(&status) {
            // The granted expiry: our Contact's `expires`, else the Expires header.
            let expires = msg
                .header_list("Contact")
                .iter()
                .find_map(|c| NameAddr::parse(c).param("expires"))
                .or_else(|| msg.header("Expires").map(str::to_string))
                .and_then(|v| v.trim().parse::<u64>().ok())
                .unwrap_or(REQUESTED_EXPIRES)
                .max(2);
            let reg = &mut self.registrations[i];
            if !reg.registered {
                log::info!("sip: registered to trunk {name} for {expires} s");
            }
            reg.registered = true;
            reg.auth_tried = false;
            reg.next_at = Some(now + Duration::from_secs(expires / 2));
            return;
        }
        if matches!(status, 401 | 407) && !self.registrations[i].auth_tried {
            let (challenge_header, auth_header) = if status == 401 {
                ("WWW-Authenticate", "Authorization")
            } else {
                ("Proxy-Authenticate", "Proxy-Authorization")
            };
            let trunk = self.cfg.trunks[self.registrations[i].trunk].config.clone();
            let challenge = msg
                .headers
                .iter()
                .filter(|(n, _)| n.eq_ignore_ascii_case(challenge_header))
                .find_map(|(_, v)| Challenge::parse(v));
            if let (Some(c), Some(user), Some(password)) =
                (challenge, &trunk.username, &trunk.password)
            {
                let cnonce = self.random_hex();
                let uri = format!("sip:{}", trunk.domain());
                let auth = c.authorization(user, password, "REGISTER", &uri, &cnonce, 1);
                self.registrations[i].auth_tried = true;
                self.send_register(i, Some((auth_header, auth)), now);
                return;
            }
        }
        log::warn!("sip: registration to trunk {name} failed with {status}; retrying in 60 s");
        let reg = &mut self.registrations[i];
        reg.registered = false;
        reg.auth_tried = false;
        reg.next_at = Some(now + RETRY);
    }

    /// Our REGISTER got no final response (Timer F, or the connection failed).
    pub(super) fn on_register_timeout(&mut self, branch: &str, now: Instant) {
        if let Some(reg) = self
            .registrations
            .iter_mut()
            .find(|r| r.branch.as_deref() == Some(branch))
        {
            log::warn!("sip: REGISTER timed out; retrying in 60 s");
            reg.branch = None;
            reg.registered = false;
            reg.auth_tried = false;
            reg.next_at = Some(now + RETRY);
        }
    }
}
