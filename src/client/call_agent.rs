//! CallAgent: one identity connected to the service; starts and receives calls.

use super::call::{Call, CallContext, CallNotice, CallOptions, CallSink, StartCallOptions};
use super::device_manager::DeviceManager;
use super::dispatch::EventQueue;
use super::events::{AgentConnectionState, AgentEvent};
use super::link::Link;
use super::machine::Setup;
use super::phone::alternate_caller_id;
use crate::error::{Error, Result};
use crate::protocol::{
    CallState, ClientMessage, EndReason, Identifier, ServerMessage, TokenClaims, SCOPE_VOIP,
};
use crate::signaling::{Closed, Dial, Signaling, Welcome, HANDSHAKE_TIMEOUT};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Weak};
use std::time::Duration;
use tokio::runtime::Handle;
use tokio::sync::watch;

/// Receives an agent's events on the dispatch thread.
pub type AgentListener = Arc<dyn Fn(&CallAgent, &AgentEvent) + Send + Sync>;

/// What an agent needs of its CallClient.
pub(crate) struct AgentHost {
    pub rt: Handle,
    pub events: Arc<EventQueue>,
    pub devices: DeviceManager,
    /// Tells the client the agent (by object id) was disposed.
    pub forget: Box<dyn Fn(u64) + Send + Sync>,
}

/// Asks the host for a fresh token; `None` when it has none.
pub type TokenRefresher = Arc<dyn Fn() -> Option<String> + Send + Sync>;

/// Options of [`CallClient::create_call_agent`].
#[derive(Clone, Default)]
pub struct CallAgentOptions {
    /// `ws://127.0.0.1:PORT/signaling` (or `ws://host:port`, `/signaling` is appended).
    pub service_url: String,
    /// Access token (JWT) issued by the service's identity API.
    pub token: String,
    /// Name the other participants see.
    pub display_name: String,
    pub listener: Option<AgentListener>,
    pub token_refresher: Option<TokenRefresher>,
    /// PEM file with the CA certificate of a `wss://` service whose certificate is private or
    /// self-signed (public web roots are always trusted).
    pub ca_certificate: Option<std::path::PathBuf>,
    /// The host answers transfer requests itself (`Call::answer_transfer`); by default the
    /// SDK accepts them at once.
    pub answer_transfers: bool,
}

pub(crate) struct AgentInner {
    id: u64,
    host: AgentHost,
    user_id: String,
    display_name: String,
    service_url: String,
    ca_certificate: Option<std::path::PathBuf>,
    answer_transfers: bool,
    token: Mutex<String>,
    listener: Mutex<Option<AgentListener>>,
    refresher: Option<TokenRefresher>,
    link: watch::Sender<Link>,
    calls: Mutex<Vec<Call>>,
    disposed: AtomicBool,
    /// The service's session of this agent (for a resume after a dropped link), how long
    /// the service keeps it, and the last numbered message received on it.
    session: Mutex<Option<(String, Duration)>>,
    last_seq: Arc<AtomicU64>,
    /// The link closed by `dispose`, for a client shutdown to let its close frame out.
    closing: Mutex<Option<Arc<Signaling>>>,
}

/// Reconnect attempts: the first waits this long, each next one twice as long…
const RECONNECT_FIRST_DELAY: Duration = Duration::from_millis(100);
/// …up to this (each with ±25 % jitter, so that agents cut off together do not return in
/// lockstep).
const RECONNECT_MAX_DELAY: Duration = Duration::from_secs(2);
/// One reconnect attempt (connect + Hello/Welcome) may take this long: an attempt that
/// hangs on a cut link completes the moment the link returns, so it is not given up early.
const RECONNECT_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
/// The reconnect window when the service does not say (the seed's 120 s).
const DEFAULT_RESUME_WINDOW: Duration = Duration::from_secs(120);

/// The delay before reconnect attempt `n` (0-based), with jitter in `[0.75, 1.25)`.
fn reconnect_delay(n: u32, jitter: f64) -> Duration {
    let base = RECONNECT_FIRST_DELAY
        .saturating_mul(1u32 << n.min(16))
        .min(RECONNECT_MAX_DELAY);
    base.mul_f64(0.75 + 0.5 * jitter.clamp(0.0, 1.0))
}

/// An identity connected to the service. Cheap to clone.
#[derive(Clone)]
pub struct CallAgent(pub(crate) Arc<AgentInner>);

pub(crate) use crate::protocol::clock::unix_secs as unix_now;

/// Reads a token's claims (the service verifies the signature) and rejects what is
/// certainly unusable: not a JWT, no `voip` scope, expired.
pub fn parse_token(token: &str) -> Result<TokenClaims> {
    let claims: TokenClaims = jsonwebtoken::dangerous::insecure_decode_claims(token)
        .map_err(|e| Error::Unauthorized(format!("the token is not a valid access token: {e}")))?;
    if !claims.scope.split_whitespace().any(|s| s == SCOPE_VOIP) {
        return Err(Error::Unauthorized(
            "the token lacks the 'voip' scope".into(),
        ));
    }
    if claims.exp <= unix_now() {
        return Err(Error::Unauthorized(format!(
            "the token expired at {} (now {})",
            claims.exp,
            unix_now()
        )));
    }
    Ok(claims)
}

fn signaling_url(url: &str) -> Result<String> {
    let url = url.trim();
    if !(url.starts_with("ws://") || url.starts_with("wss://")) {
        return Err(Error::InvalidArgument(format!(
            "service url '{url}' must start with ws:// or wss://"
        )));
    }
    let rest = url.split_once("://").map(|x| x.1).unwrap_or("");
    if rest.is_empty() || rest.starts_with('/') {
        return Err(Error::InvalidArgument(format!(
            "service url '{url}' has no host"
        )));
    }
    Ok(if rest.contains('/') {
        url.to_string()
    } else {
        format!("{url}/signaling")
    })
}

impl CallAgent {
    pub(crate) fn create(host: AgentHost, o: CallAgentOptions) -> Result<Self> {
        let url = signaling_url(&o.service_url)?;
        let claims = parse_token(&o.token)?;
        let (link, _) = watch::channel(Link::Connecting);
        let agent = CallAgent(Arc::new(AgentInner {
            id: crate::object_id::next_object_id(),
            host,
            user_id: claims.sub.clone(),
            display_name: o.display_name,
            service_url: url,
            ca_certificate: o.ca_certificate,
            answer_transfers: o.answer_transfers,
            token: Mutex::new(o.token),
            listener: Mutex::new(o.listener),
            refresher: o.token_refresher,
            link,
            calls: Mutex::new(Vec::new()),
            disposed: AtomicBool::new(false),
            session: Mutex::new(None),
            last_seq: Arc::new(AtomicU64::new(0)),
            closing: Mutex::new(None),
        }));
        agent.emit(AgentEvent::ConnectionStateChanged {
            state: AgentConnectionState::Connecting,
            reason: EndReason::default(),
            message: String::new(),
        });
        let a = agent.clone();
        agent.0.host.rt.spawn(async move { a.connect().await });
        Ok(agent)
    }

    /// Connects (resuming the session when there is one) with new callbacks.
    async fn dial(&self, resume: bool, timeout: Duration) -> Result<(Arc<Signaling>, Welcome)> {
        let weak = Arc::downgrade(&self.0);
        let on_msg: Arc<dyn Fn(ServerMessage) + Send + Sync> = {
            let weak = weak.clone();
            Arc::new(move |m| {
                if let Some(inner) = weak.upgrade() {
                    CallAgent(inner).on_server_message(m);
                }
            })
        };
        let on_close = Box::new(move |closed: Closed| {
            if let Some(inner) = weak.upgrade() {
                CallAgent(inner).on_link_closed(closed);
            }
        });
        let token = self.0.token.lock().clone();
        let resume = if resume {
            self.0
                .session
                .lock()
                .as_ref()
                .map(|(session, _)| crate::protocol::Resume {
                    session: session.clone(),
                    last_seq: self.0.last_seq.load(Ordering::SeqCst),
                })
        } else {
            None
        };
        let dial = Dial {
            url: &self.0.service_url,
            token: &token,
            display_name: &self.0.display_name,
            ca_certificate: self.0.ca_certificate.as_deref(),
            resume,
            handshake_timeout: timeout,
            last_seq: Arc::clone(&self.0.last_seq),
        };
        let (sig, welcome) = Signaling::connect(dial, on_msg, on_close).await?;
        *self.0.session.lock() = welcome.session.clone().map(|s| {
            let window = match welcome.resume_window {
                Duration::ZERO => DEFAULT_RESUME_WINDOW,
                w => w,
            };
            (s, window)
        });
        Ok((sig, welcome))
    }

    async fn connect(self) {
        match self.dial(false, HANDSHAKE_TIMEOUT).await {
            Ok((sig, Welcome { local_ip, .. })) => {
                if self.0.disposed.load(Ordering::SeqCst) {
                    sig.close();
                    return;
                }
                self.0.link.send_replace(Link::Up(sig, local_ip));
                self.emit(AgentEvent::ConnectionStateChanged {
                    state: AgentConnectionState::Connected,
                    reason: EndReason::default(),
                    message: String::new(),
                });
                let token = self.0.token.lock().clone();
                self.schedule_refresh(&token);
            }
            Err(e) => {
                log::warn!("call agent cannot connect: {e}");
                self.on_link_down(reason_of(&e), e.to_string());
            }
        }
    }

    /// The connection ended: a link that dropped is reconnected and its session resumed;
    /// anything else (the service closed it with a reason, we closed it) is final.
    fn on_link_closed(&self, closed: Closed) {
        let up = matches!(*self.0.link.borrow(), Link::Up(..));
        let window = self.0.session.lock().as_ref().map(|s| s.1);
        match window {
            Some(window) if closed.lost && up && !self.0.disposed.load(Ordering::SeqCst) => {
                log::info!(
                    "link to the service lost ({}); reconnecting for up to {window:?}",
                    closed.message
                );
                self.0.link.send_replace(Link::Reconnecting);
                self.emit(AgentEvent::ConnectionStateChanged {
                    state: AgentConnectionState::Reconnecting,
                    reason: closed.reason,
                    message: closed.message,
                });
                for c in self.calls() {
                    c.on_signaling(false);
                }
                let agent = self.clone();
                let deadline = tokio::time::Instant::now() + window;
                self.0
                    .host
                    .rt
                    .spawn(async move { agent.reconnect(deadline).await });
            }
            _ => self.on_link_down(closed.reason, closed.message),
        }
    }

    /// Reconnects with backoff and jitter until the session is resumed, the service says no,
    /// or the reconnect window has passed.
    async fn reconnect(self, deadline: tokio::time::Instant) {
        let mut attempt = 0u32;
        loop {
            if self.0.disposed.load(Ordering::SeqCst) {
                return;
            }
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                self.on_link_down(
                    EndReason::INACTIVE,
                    "the connection to the service could not be restored within the reconnect \
                     window"
                        .into(),
                );
                return;
            }
            match self.dial(true, RECONNECT_ATTEMPT_TIMEOUT.min(left)).await {
                Ok((sig, welcome)) => {
                    if self.0.disposed.load(Ordering::SeqCst) {
                        sig.close();
                        return;
                    }
                    let resumed = welcome.resumed;
                    log::info!(
                        "reconnected to the service after {attempt} failed attempts (session {})",
                        if resumed { "resumed" } else { "not resumed" }
                    );
                    self.0.link.send_replace(Link::Up(sig, welcome.local_ip));
                    if !resumed {
                        // The service no longer has our session (it restarted, or the window
                        // passed there): connected (or held) group calls are joined again
                        // under their id; other calls are gone with the session.
                        let lost: Vec<Call> = {
                            let mut calls = self.0.calls.lock();
                            let (keep, lost) =
                                std::mem::take(&mut *calls).into_iter().partition(|c| {
                                    c.is_group()
                                        && matches!(
                                            c.state(),
                                            CallState::Connected | CallState::LocalHold
                                        )
                                });
                            *calls = keep;
                            lost
                        };
                        for c in lost {
                            c.end(EndReason::SESSION_LOST);
                        }
                        let window = self
                            .0
                            .session
                            .lock()
                            .as_ref()
                            .map_or(DEFAULT_RESUME_WINDOW, |(_, w)| *w);
                        for c in self.calls() {
                            c.rejoin(window);
                        }
                    }
                    self.emit(AgentEvent::ConnectionStateChanged {
                        state: AgentConnectionState::Connected,
                        reason: EndReason::default(),
                        message: String::new(),
                    });
                    for c in self.calls() {
                        c.on_signaling(true);
                    }
                    return;
                }
                Err(e @ (Error::Unauthorized(_) | Error::Service { .. })) => {
                    log::warn!("the service refused the reconnect: {e}");
                    self.on_link_down(reason_of(&e), e.to_string());
                    return;
                }
                Err(e) => {
                    let delay = reconnect_delay(attempt, rand::random::<f64>());
                    log::debug!("reconnect attempt {attempt} failed ({e}); next in {delay:?}");
                    attempt += 1;
                    tokio::time::sleep_until((tokio::time::Instant::now() + delay).min(deadline))
                        .await;
                }
            }
        }
    }

    /// Asks the host for a new token a minute before this one expires.
    fn schedule_refresh(&self, token: &str) {
        if self.0.refresher.is_none() {
            return;
        }
        let Ok(claims) = parse_token(token) else {
            return;
        };
        let lead = 60.min(claims.exp.saturating_sub(claims.iat) / 2);
        let wait = claims.exp.saturating_sub(unix_now()).saturating_sub(lead);
        let weak = Arc::downgrade(&self.0);
        self.0.host.rt.spawn(async move {
            tokio::time::sleep(Duration::from_secs(wait)).await;
            if let Some(inner) = weak.upgrade() {
                CallAgent(inner).queue_token_refresh();
            }
        });
    }

    fn on_link_down(&self, reason: EndReason, message: String) {
        let was_up = matches!(*self.0.link.borrow(), Link::Up(..) | Link::Reconnecting);
        let already_down = matches!(*self.0.link.borrow(), Link::Down(..));
        if already_down {
            return;
        }
        self.0
            .link
            .send_replace(Link::Down(reason, message.clone()));
        let calls: Vec<Call> = std::mem::take(&mut *self.0.calls.lock());
        for c in calls {
            c.end(reason);
        }
        if was_up || !self.0.disposed.load(Ordering::SeqCst) {
            self.emit(AgentEvent::ConnectionStateChanged {
                state: AgentConnectionState::Disconnected,
                reason,
                message,
            });
        }
    }

    fn on_server_message(&self, m: ServerMessage) {
        match m {
            ServerMessage::TransferRequested {
                call_id,
                transferor,
                target,
            } => {
                if let Some(c) = self.find_call(&call_id) {
                    c.on_transfer_requested(&transferor, &target, !self.0.answer_transfers);
                }
            }
            ServerMessage::MutedByOthers { call_id, by } => {
                if let Some(c) = self.find_call(&call_id) {
                    c.on_muted_by_others(&by);
                }
            }
            ServerMessage::TransferUpdated {
                call_id,
                state,
                target,
                end_reason,
            } => {
                if let Some(c) = self.find_call(&call_id) {
                    c.on_transfer_updated(state, &target, end_reason.unwrap_or_default());
                }
            }
            ServerMessage::IncomingCall {
                call_id,
                caller,
                others: _,
            } => {
                if self.find_call(&call_id).is_some() {
                    return;
                }
                let call = Call::incoming(self.call_context(), call_id, &caller);
                self.0.calls.lock().push(call.clone());
                self.emit(AgentEvent::IncomingCall { call });
            }
            ServerMessage::CallState {
                call_id,
                state,
                end_reason,
            } => {
                if let Some(c) = self.find_call(&call_id) {
                    c.on_server_state(state, end_reason.unwrap_or_default());
                }
            }
            ServerMessage::Roster {
                call_id,
                participants,
            } => {
                if let Some(c) = self.find_call(&call_id) {
                    c.on_participants(&participants, false);
                }
            }
            ServerMessage::ParticipantUpdated {
                call_id,
                participant,
            } => {
                if let Some(c) = self.find_call(&call_id) {
                    c.on_participants(std::slice::from_ref(&participant), false);
                }
            }
            ServerMessage::ParticipantsUpdated {
                call_id,
                participants,
            } => {
                if let Some(c) = self.find_call(&call_id) {
                    c.on_participants(&participants, false);
                }
            }
            ServerMessage::ParticipantRemoved {
                call_id,
                participant,
            } => {
                if let Some(c) = self.find_call(&call_id) {
                    c.on_participants(std::slice::from_ref(&participant), true);
                }
            }
            ServerMessage::ParticipantsRemoved {
                call_id,
                participants,
            } => {
                if let Some(c) = self.find_call(&call_id) {
                    c.on_participants(&participants, true);
                }
            }
            ServerMessage::AudioSlots {
                call_id,
                slots,
                mixed,
            } => {
                if let Some(c) = self.find_call(&call_id) {
                    c.on_audio_slots(&slots, &mixed);
                }
            }
            ServerMessage::DominantSpeakers {
                call_id,
                speakers,
                timestamp_ms,
            } => {
                if let Some(c) = self.find_call(&call_id) {
                    c.on_dominant_speakers(speakers, timestamp_ms);
                }
            }
            ServerMessage::DtmfReceived {
                call_id,
                participant,
                tone,
            } => {
                if let Some(c) = self.find_call(&call_id) {
                    c.on_dtmf_received(&participant, &tone);
                }
            }
            ServerMessage::MediaLost { call_id } => {
                if let Some(c) = self.find_call(&call_id) {
                    c.on_service_media_lost();
                }
            }
            ServerMessage::TokenExpiring { expires_in_secs } => {
                log::info!("the service says the token expires in {expires_in_secs} s");
                if self.0.refresher.is_some() {
                    self.queue_token_refresh();
                }
            }
            ServerMessage::Error { error } => {
                log::warn!(
                    "service error {}/{}: {}",
                    error.code,
                    error.subcode,
                    error.message
                );
            }
            ServerMessage::Welcome { .. } | ServerMessage::Response { .. } => {}
        }
    }

    pub(crate) fn find_call(&self, call_id: &str) -> Option<Call> {
        self.0
            .calls
            .lock()
            .iter()
            .find(|c| c.call_id() == call_id)
            .cloned()
    }

    pub(crate) fn forget_call(&self, call: &Call) {
        self.0
            .calls
            .lock()
            .retain(|c| c.object_id() != call.object_id());
    }

    /// Queues an event for the listener (delivered in order on the dispatch thread).
    pub(crate) fn emit(&self, event: AgentEvent) {
        let agent = self.clone();
        self.0
            .host
            .events
            .push(Box::new(move || agent.deliver(&event)));
    }

    /// Queues a call of the host's token refresher (host code runs on the dispatch thread).
    fn queue_token_refresh(&self) {
        let agent = self.clone();
        self.0
            .host
            .events
            .push(Box::new(move || agent.run_token_refresher()));
    }

    /// What a call of this agent needs of it.
    fn call_context(&self) -> CallContext {
        let sink: Weak<dyn CallSink> = Arc::downgrade(&self.0) as Weak<AgentInner>;
        CallContext {
            rt: self.0.host.rt.clone(),
            link: self.0.link.subscribe(),
            user_id: self.0.user_id.clone(),
            devices: self.0.host.devices.clone(),
            sink,
        }
    }

    /// Called on the dispatch thread.
    fn deliver(&self, event: &AgentEvent) {
        let listener = self.0.listener.lock().clone();
        if let Some(l) = listener {
            l(self, event);
        }
    }

    /// Called on the dispatch thread: asks the host's refresher, then applies the token.
    fn run_token_refresher(&self) {
        let Some(r) = self.0.refresher.clone() else {
            return;
        };
        match r() {
            Some(token) => {
                if let Err(e) = self.update_token(&token) {
                    log::warn!("the refreshed token was refused: {e}");
                }
            }
            None => log::warn!("the token refresher returned no token"),
        }
    }

    /// Replaces the agent's token (e.g. before it expires); sent to the service at once.
    pub fn update_token(&self, token: &str) -> Result<()> {
        let claims = parse_token(token)?;
        if claims.sub != self.0.user_id {
            return Err(Error::InvalidArgument(format!(
                "the token is for {}, this agent is {}",
                claims.sub, self.0.user_id
            )));
        }
        *self.0.token.lock() = token.to_string();
        if let Link::Up(sig, _) = &*self.0.link.borrow() {
            let t = token.to_string();
            sig.send(|req| ClientMessage::RefreshToken { req, token: t });
        }
        self.schedule_refresh(token);
        Ok(())
    }

    /// Sets or replaces the event listener.
    pub fn set_listener(&self, listener: Option<AgentListener>) {
        *self.0.listener.lock() = listener;
    }

    /// After `dispose`: whether its close frame went out (or there was none to send).
    pub(crate) fn is_closed(&self) -> bool {
        self.0
            .closing
            .lock()
            .as_ref()
            .is_none_or(|s| s.wait_flushed(std::time::Instant::now()))
    }

    /// After `dispose`: waits (blocking) until its close frame went out or `deadline`.
    pub(crate) fn wait_closed(&self, deadline: std::time::Instant) {
        let sig = self.0.closing.lock().take();
        if let Some(sig) = sig {
            sig.wait_flushed(deadline);
        }
    }

    /// The link to the service, as requests wait on it.
    pub(super) fn link_rx(&self) -> watch::Receiver<Link> {
        self.0.link.subscribe()
    }

    /// The client's runtime.
    pub(super) fn runtime(&self) -> &Handle {
        &self.0.host.rt
    }

    /// Fails when the agent was disposed.
    pub(super) fn check_live(&self) -> Result<()> {
        if self.0.disposed.load(Ordering::SeqCst) {
            return Err(Error::InvalidState("the call agent was disposed".into()));
        }
        Ok(())
    }

    /// Process-unique id of this object.
    pub fn object_id(&self) -> u64 {
        self.0.id
    }

    /// Raw id of the user this agent signed in as.
    pub fn user_id(&self) -> &str {
        &self.0.user_id
    }

    pub fn display_name(&self) -> &str {
        &self.0.display_name
    }

    pub fn connection_state(&self) -> AgentConnectionState {
        match &*self.0.link.borrow() {
            Link::Connecting => AgentConnectionState::Connecting,
            Link::Reconnecting => AgentConnectionState::Reconnecting,
            Link::Up(..) => AgentConnectionState::Connected,
            Link::Down(..) => AgentConnectionState::Disconnected,
        }
    }

    /// Calls that have not ended.
    pub fn calls(&self) -> Vec<Call> {
        self.0.calls.lock().clone()
    }

    /// Starts a call to `participants` (raw ids). Returns at once; progress arrives as events.
    pub fn start_call(&self, participants: &[String], options: CallOptions) -> Result<Call> {
        self.start_call_with_options(participants, options, &StartCallOptions::default())
    }

    /// [`CallAgent::start_call`], with the caller id phone-number targets see. A call to a
    /// phone number may show `EarlyMedia` (the network's ringback or announcement, played)
    /// before `Connected`, and its setup times out after 115 s.
    pub fn start_call_with_options(
        &self,
        participants: &[String],
        options: CallOptions,
        start: &StartCallOptions,
    ) -> Result<Call> {
        if self.0.disposed.load(Ordering::SeqCst) {
            return Err(Error::InvalidState("the call agent was disposed".into()));
        }
        if let Link::Down(reason, msg) = &*self.0.link.borrow() {
            return Err(match reason.code {
                401 => Error::Unauthorized(msg.clone()),
                _ => Error::Network(format!("not connected to the service: {msg}")),
            });
        }
        if participants.is_empty() {
            return Err(Error::InvalidArgument(
                "a call needs at least one participant".into(),
            ));
        }
        for t in participants {
            Identifier::parse(t).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        }
        let caller_id = alternate_caller_id(start.alternate_caller_id.as_deref())?;
        let call = Call::outgoing(
            self.call_context(),
            uuid::Uuid::new_v4().to_string(),
            false,
            options,
        )?;
        self.0.calls.lock().push(call.clone());
        call.start(Setup::Start {
            targets: participants.to_vec(),
            caller_id,
        });
        Ok(call)
    }

    /// Joins the group call `group_id` (a UUID shared by its participants; the first to join
    /// creates it). Returns at once; progress arrives as events. The call's id is the group id.
    pub fn join(&self, group_id: &str, options: CallOptions) -> Result<Call> {
        self.join_as(group_id, options, false)
    }

    /// Joins room `locator` — its id, or its link `http(s)://<service>/meet/<id>` — created
    /// with the service's `POST /rooms`. Returns at once; the service refuses (the call ends
    /// with 403 and a message) outside the room's validity window or for a user it does not
    /// list (404 for an unknown room). The joiner gets its listed role: a consumer joins
    /// muted and can neither unmute nor send video; attendees cannot add or remove others;
    /// only an organizer can end the meeting for everyone.
    pub fn join_room(&self, locator: &str, options: CallOptions) -> Result<Call> {
        let t = locator.trim();
        let id = match t.find("/meet/") {
            Some(i) => t[i + "/meet/".len()..].trim_end_matches('/'),
            None => t,
        };
        self.join_as(id, options, true)
    }

    fn join_as(&self, group_id: &str, options: CallOptions, room: bool) -> Result<Call> {
        if self.0.disposed.load(Ordering::SeqCst) {
            return Err(Error::InvalidState("the call agent was disposed".into()));
        }
        let gid = uuid::Uuid::parse_str(group_id.trim())
            .map_err(|_| Error::InvalidArgument(format!("group id '{group_id}' is not a UUID")))?
            .hyphenated()
            .to_string();
        if let Link::Down(reason, msg) = &*self.0.link.borrow() {
            return Err(match reason.code {
                401 => Error::Unauthorized(msg.clone()),
                _ => Error::Network(format!("not connected to the service: {msg}")),
            });
        }
        if self.find_call(&gid).is_some() {
            return Err(Error::InvalidState(format!("already in group call {gid}")));
        }
        let call = Call::outgoing(self.call_context(), gid, true, options)?;
        call.0.room.store(room, Ordering::SeqCst);
        self.0.calls.lock().push(call.clone());
        call.start(Setup::Join);
        Ok(call)
    }

    /// Ends every call and closes the connection. Idempotent.
    pub fn dispose(&self) {
        if self.0.disposed.swap(true, Ordering::SeqCst) {
            return;
        }
        let calls: Vec<Call> = std::mem::take(&mut *self.0.calls.lock());
        let sig = match &*self.0.link.borrow() {
            Link::Up(sig, _) => Some(sig.clone()),
            _ => None,
        };
        for c in calls {
            if let Some(sig) = &sig {
                let id = c.call_id().to_string();
                sig.send(|req| ClientMessage::HangUp {
                    req,
                    call_id: id,
                    for_everyone: false,
                });
            }
            c.end(EndReason::LOCAL_HANGUP);
        }
        if let Some(sig) = sig {
            sig.close();
            *self.0.closing.lock() = Some(sig);
        }
        self.0.link.send_replace(Link::Down(
            EndReason::LOCAL_HANGUP,
            "the call agent was disposed".into(),
        ));
        (self.0.host.forget)(self.0.id);
    }
}

/// The end reason of a failed connection attempt.
fn reason_of(e: &Error) -> EndReason {
    match e {
        Error::Unauthorized(_) => EndReason::UNAUTHORIZED,
        Error::Service { reason, .. } => *reason,
        _ => EndReason::SERVICE_UNAVAILABLE,
    }
}

impl CallSink for AgentInner {
    fn notify(self: Arc<Self>, call: &Call, notice: CallNotice) {
        CallAgent(self).emit(AgentEvent::from_notice(call.clone(), notice));
    }
    fn ended(self: Arc<Self>, call: &Call) {
        CallAgent(self).forget_call(call);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signaling_urls() {
        assert_eq!(
            signaling_url("ws://127.0.0.1:8080").unwrap(),
            "ws://127.0.0.1:8080/signaling"
        );
        assert_eq!(signaling_url("ws://h:1/custom").unwrap(), "ws://h:1/custom");
        assert!(signaling_url("http://x").is_err());
        assert!(signaling_url("ws://").is_err());
    }

    #[test]
    fn reconnect_delays_grow_to_a_cap_with_jitter() {
        assert_eq!(reconnect_delay(0, 0.5), Duration::from_millis(100));
        assert_eq!(reconnect_delay(1, 0.5), Duration::from_millis(200));
        assert_eq!(reconnect_delay(3, 0.5), Duration::from_millis(800));
        assert_eq!(reconnect_delay(5, 0.5), RECONNECT_MAX_DELAY);
        assert_eq!(reconnect_delay(40, 0.5), RECONNECT_MAX_DELAY);
        assert_eq!(reconnect_delay(0, 0.0), Duration::from_millis(75));
        assert!(reconnect_delay(0, 0.999) < Duration::from_millis(125));
    }

    #[test]
    fn garbage_tokens_are_unauthorized() {
        assert!(matches!(parse_token("abc"), Err(Error::Unauthorized(_))));
        assert!(matches!(parse_token("a.b.c"), Err(Error::Unauthorized(_))));
    }
}
