//! Calls and their rosters: the state machine behind `StartCall`, `Accept`, `Reject`,
//! `HangUp`, mute and hold, fed by signaling requests, SFU events and timers.
//!
//! All of it sits behind one mutex ([`Hub`]); messages go out through each connection's
//! unbounded channel, so nothing blocks while the lock is held and every connection sees
//! its messages in the order they were produced.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use tokio::sync::mpsc::UnboundedSender;

use crate::echo_bot::ECHO_BOT_NAME;
use crate::identity::IdentityStore;
use crate::protocol::{
    CallState, EndReason, ErrorBody, ParticipantInfo, ParticipantState, ServerMessage, ECHO_BOT_ID,
};
use crate::sfu::{CallKey, SessionId, SfuHandle};

/// Identifies one signaling connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ConnId(pub u64);

/// What the hub asks a connection's writer task to do.
#[derive(Debug)]
pub enum Outbound {
    /// Send this message.
    Message(ServerMessage),
    /// Send `Error{error}` and close the connection.
    Close(ErrorBody),
    /// Send a WebSocket Ping (keep-alive; the agent's Pong counts as activity).
    Ping,
}

/// Limits the hub enforces.
#[derive(Debug, Clone)]
pub struct HubConfig {
    /// Ringing and media setup timeout.
    pub setup_timeout: Duration,
    /// Ringing timeout of a participant added to a 1:1 call (promotion to a group call).
    pub promote_timeout: Duration,
    /// A transfer not answered this long fails.
    pub transfer_timeout: Duration,
    /// Waiting in a room's lobby this long, not admitted, ends the wait.
    pub lobby_timeout: Duration,
    /// A participant whose media is lost and who sends no signaling this long is removed.
    pub inactivity_timeout: Duration,
    /// Most participants in a call.
    pub max_participants: usize,
    /// Calls with more participants than this get roster changes batched.
    pub batch_roster_above: usize,
}

/// How often batched roster changes of large calls go out.
const ROSTER_BATCH_PERIOD: Duration = Duration::from_millis(250);

/// A signaling connection of an authenticated user.
pub(crate) struct Conn {
    pub user_id: String,
    pub display_name: String,
    pub tx: UnboundedSender<Outbound>,
    /// A link carries it now (false while a dropped session waits for a resume).
    pub live: bool,
}

/// Who a participant is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    User,
    EchoBot,
    /// A phone on a SIP leg (`4:+…`); its media is a bridge session in the SFU.
    Phone,
}

/// A participant in a call's roster.
pub(crate) struct Participant {
    pub id: String,
    pub display_name: String,
    pub kind: Kind,
    pub state: ParticipantState,
    pub muted: bool,
    /// Sends camera video / shares its screen (what `SetVideo` said last).
    pub video: bool,
    pub screen_sharing: bool,
    pub held: bool,
    /// The connection that joined (None while ringing: all the user's connections ring).
    pub conn: Option<ConnId>,
    pub session: Option<SessionId>,
    pub media_connected: bool,
    /// Its join request is being answered: media that connects meanwhile waits for
    /// `finish_setup` (see `call_events.rs`).
    pub setting_up: bool,
    /// The SFU lost this participant's media; it is removed if it stays lost.
    pub media_lost: bool,
    /// Last `CallState` sent to this participant.
    pub call_state: Option<CallState>,
    /// Distinguishes this participant from a later one with the same id (stale timers).
    pub epoch: u64,
    /// The SIP leg of a phone participant.
    pub leg: Option<crate::sip::LegId>,
    /// Push notifications sent for this ringing user (one per push target).
    pub push: Vec<crate::push::PushRing>,
    /// Its role when the call is a room's.
    pub role: Option<crate::protocol::Role>,
    /// Waits in the room's lobby (state `InLobby`): its media goes nowhere and it hears
    /// nothing, it gets no roster, the others see it waiting (`lobby.rs`).
    pub in_lobby: bool,
}

impl Participant {
    pub fn info(&self) -> ParticipantInfo {
        ParticipantInfo {
            id: self.id.clone(),
            display_name: self.display_name.clone(),
            state: self.state,
            muted: self.muted,
            video: self.video,
            screen_sharing: self.screen_sharing,
            end_reason: None,
            role: self.role,
        }
    }

    /// Records that the participant started or stopped sending a `kind` stream.
    pub fn set_sending(&mut self, kind: crate::protocol::VideoStreamKind, on: bool) {
        match kind {
            crate::protocol::VideoStreamKind::Video => self.video = on,
            crate::protocol::VideoStreamKind::ScreenShare => self.screen_sharing = on,
        }
    }

    /// Whether the participant sends a `kind` stream.
    pub fn sends(&self, kind: crate::protocol::VideoStreamKind) -> bool {
        match kind {
            crate::protocol::VideoStreamKind::Video => self.video,
            crate::protocol::VideoStreamKind::ScreenShare => self.screen_sharing,
        }
    }

    /// Joined the call (not merely invited; a phone: answered).
    pub fn joined(&self) -> bool {
        match self.kind {
            Kind::User => self.state != ParticipantState::Ringing,
            Kind::Phone => self.state == ParticipantState::Connected,
            Kind::EchoBot => false,
        }
    }

    /// Counts as a connected other party for someone else's `CallState`.
    fn active(&self) -> bool {
        match self.kind {
            Kind::EchoBot => true,
            Kind::User => self.media_connected && !self.held && !self.in_lobby,
            Kind::Phone => self.state == ParticipantState::Connected,
        }
    }
}

/// A call: its roster in join order.
pub(crate) struct Call {
    pub key: CallKey,
    pub participants: Vec<Participant>,
    /// A group call (joined by group id, started with several targets, or promoted by an
    /// invite): it goes on while one participant remains; a 1:1 call ends with either side.
    pub group: bool,
    /// A transfer under way (one at a time).
    pub transfer: Option<crate::transfer::Transfer>,
}

impl Call {
    pub fn find(&self, id: &str) -> Option<usize> {
        self.participants.iter().position(|p| p.id == id)
    }
}

/// Everything behind the hub's lock.
#[derive(Default)]
pub(crate) struct HubState {
    pub next_id: u64,
    pub conns: HashMap<ConnId, Conn>,
    pub user_conns: HashMap<String, Vec<ConnId>>,
    pub calls: HashMap<String, Call>,
    /// SFU call key → call id.
    pub keys: HashMap<CallKey, String>,
    /// SFU session → (call id, participant id).
    pub sessions: HashMap<SessionId, (String, String)>,
    /// Calls with more participants than this get roster changes batched.
    pub batch_roster_above: usize,
    /// Roster changes of large calls waiting for the next batch, per call id: updates, and
    /// removals (state `Disconnected` with an end reason).
    pub pending_roster: HashMap<String, Vec<ParticipantInfo>>,
    /// The last `DominantSpeakers` of each call, for joiners (the SFU reports changes only).
    pub dominant: HashMap<String, ServerMessage>,
    /// The PSTN gateway, when SIP is configured (`phone_calls.rs`).
    pub pstn: Option<crate::phone_calls::Pstn>,
    /// Phone legs by SIP leg id.
    pub legs: HashMap<crate::sip::LegId, crate::phone_calls::Leg>,
    /// The service is shutting down: no new calls.
    pub draining: bool,
    /// Media sessions made ahead (`PrepareMedia`), not in any call yet, by owner.
    pub prepared: HashMap<SessionId, ConnId>,
}

impl HubState {
    pub fn next(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn send(&self, conn: ConnId, msg: ServerMessage) {
        if let Some(c) = self.conns.get(&conn) {
            let _ = c.tx.send(Outbound::Message(msg));
        }
    }

    pub fn send_user(&self, user: &str, msg: &ServerMessage) {
        for c in self.user_conns.get(user).into_iter().flatten() {
            self.send(*c, msg.clone());
        }
    }

    pub fn respond(&self, conn: ConnId, req: u64, result: Result<Option<String>, ErrorBody>) {
        let msg = match result {
            Ok(answer_sdp) => ServerMessage::Response {
                req,
                error: None,
                answer_sdp,
                media_id: None,
            },
            Err(e) => ServerMessage::Response {
                req,
                error: Some(e),
                answer_sdp: None,
                media_id: None,
            },
        };
        self.send(conn, msg);
    }

    /// Sends `msg` to every joined participant of `call` except `except`.
    pub fn broadcast(&self, call_id: &str, except: Option<&str>, msg: &ServerMessage) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        for p in &call.participants {
            if p.joined() && !p.in_lobby && Some(p.id.as_str()) != except {
                if let Some(c) = p.conn {
                    self.send(c, msg.clone());
                }
            }
        }
    }

    /// Tells the others that participant `idx` changed: at once in small calls, with the
    /// next batch in large ones (one message per change to everyone is N² messages when
    /// N people join).
    pub fn announce(&mut self, call_id: &str, idx: usize) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let Some(p) = call.participants.get(idx) else {
            return;
        };
        if call.participants.len() > self.batch_roster_above {
            let info = p.info();
            let pending = self.pending_roster.entry(call_id.to_string()).or_default();
            pending.retain(|x| x.id != info.id);
            pending.push(info);
            return;
        }
        let msg = ServerMessage::ParticipantUpdated {
            call_id: call_id.to_string(),
            participant: p.info(),
        };
        self.broadcast(call_id, Some(&p.id), &msg);
    }

    /// Roster of `call` as seen by `viewer` (everyone but the viewer; nobody while the
    /// viewer waits in the lobby).
    pub fn roster(&self, call_id: &str, viewer: &str) -> Vec<ParticipantInfo> {
        self.calls
            .get(call_id)
            .filter(|c| c.find(viewer).is_none_or(|i| !c.participants[i].in_lobby))
            .map(|c| {
                c.participants
                    .iter()
                    .filter(|p| p.id != viewer)
                    .map(Participant::info)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Index of `user` in `call_id` if it still holds `session` (it may have left, or its
    /// connection closed, while the SFU answered).
    pub fn holder_of(&self, call_id: &str, user: &str, session: SessionId) -> Option<usize> {
        self.calls.get(call_id).and_then(|c| {
            c.find(user)
                .filter(|i| c.participants[*i].session == Some(session))
        })
    }

    /// After a join was answered: the joiner gets the roster, the others learn it is in,
    /// and everyone's call state follows.
    pub fn welcome_joiner(&mut self, conn: ConnId, call_id: &str, user: &str, idx: usize) {
        let roster = self.roster(call_id, user);
        self.send(
            conn,
            ServerMessage::Roster {
                call_id: call_id.to_string(),
                participants: roster,
            },
        );
        let waits = self
            .calls
            .get(call_id)
            .and_then(|c| c.participants.get(idx))
            .is_some_and(|p| p.in_lobby);
        if let Some(d) = self.dominant.get(call_id).filter(|_| !waits) {
            self.send(conn, d.clone());
        }
        self.announce(call_id, idx);
        self.update_call_states(call_id);
    }

    /// Sends the batched roster changes of every large call: `ParticipantsUpdated`, then
    /// `ParticipantsRemoved`.
    pub fn flush_roster_batches(&mut self) {
        let batches: Vec<(String, Vec<ParticipantInfo>)> = self.pending_roster.drain().collect();
        for (call_id, changes) in batches {
            let (removed, updated): (Vec<_>, Vec<_>) = changes.into_iter().partition(is_removal);
            if !updated.is_empty() {
                let msg = ServerMessage::ParticipantsUpdated {
                    call_id: call_id.clone(),
                    participants: updated,
                };
                self.broadcast(&call_id, None, &msg);
            }
            if !removed.is_empty() {
                let msg = ServerMessage::ParticipantsRemoved {
                    call_id: call_id.clone(),
                    participants: removed,
                };
                self.broadcast(&call_id, None, &msg);
            }
        }
    }

    /// Sends each joined participant its `CallState` if it changed.
    pub fn update_call_states(&mut self, call_id: &str) {
        let mut out = Vec::new();
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        // Counts over everyone, minus the participant itself: O(n) for the whole call.
        let users =
            |f: &dyn Fn(&Participant) -> bool| call.participants.iter().filter(|p| f(p)).count();
        let active = users(&|q| q.active());
        let held = users(&|q| q.joined() && q.held);
        let ringing = users(&|q| q.state == ParticipantState::Ringing);
        let early = users(&|q| q.state == ParticipantState::EarlyMedia);
        let group = call.group;
        let desired: Vec<Option<CallState>> = call
            .participants
            .iter()
            .map(|p| {
                if !p.joined() {
                    return None;
                }
                let others_active = active - usize::from(p.active());
                let others_held = held - usize::from(p.held);
                Some(if p.in_lobby {
                    CallState::InLobby
                } else if p.held {
                    CallState::LocalHold
                } else if p.media_connected && others_active > 0 {
                    CallState::Connected
                } else if group {
                    // No RemoteHold in group calls; alone in one is still Connected.
                    if early > 0 {
                        CallState::EarlyMedia
                    } else if ringing > 0 {
                        CallState::Ringing
                    } else if p.media_connected {
                        CallState::Connected
                    } else {
                        CallState::Connecting
                    }
                } else if p.media_connected && others_held > 0 {
                    CallState::RemoteHold
                } else if early > 0 {
                    CallState::EarlyMedia
                } else if ringing > 0 {
                    CallState::Ringing
                } else {
                    CallState::Connecting
                })
            })
            .collect();
        for (p, want) in call.participants.iter_mut().zip(desired) {
            if let (Some(want), Some(conn)) = (want, p.conn) {
                if p.call_state != Some(want) {
                    p.call_state = Some(want);
                    out.push((conn, want));
                }
            }
        }
        for (conn, state) in out {
            self.send(
                conn,
                ServerMessage::CallState {
                    call_id: call_id.to_string(),
                    state,
                    end_reason: None,
                },
            );
        }
        self.transfer_progress(call_id);
    }

    /// Removes participant `pid` from `call_id` with `reason`, notifies everyone, and ends
    /// the call when nobody is left to talk to. The leaver gets `CallState{Disconnected,
    /// self_reason}`.
    pub fn remove_participant(
        &mut self,
        sfu: &SfuHandle,
        call_id: &str,
        pid: &str,
        reason: EndReason,
        self_reason: EndReason,
    ) {
        let Some(call) = self.calls.get_mut(call_id) else {
            return;
        };
        let Some(idx) = call.find(pid) else {
            return;
        };
        let p = call.participants.remove(idx);
        // Batching starts and stops at the same size as for updates (counting the leaver).
        // Removals are batched too: N leavers told one by one to everyone are N²/2 messages.
        let batched = call.participants.len() + 1 > self.batch_roster_above;
        if let Some(s) = p.session {
            sfu.remove_session(s);
            self.sessions.remove(&s);
        }
        if let Some(leg) = p.leg {
            self.release_leg(leg, reason);
        }
        let ended = ServerMessage::CallState {
            call_id: call_id.to_string(),
            state: CallState::Disconnected,
            end_reason: Some(self_reason),
        };
        if p.kind == Kind::User {
            match p.conn {
                Some(c) => self.send(c, ended),
                None => self.send_user(&p.id, &ended),
            }
        }
        let mut info = p.info();
        info.state = ParticipantState::Disconnected;
        info.end_reason = Some(reason);
        // A batched update must not bring the participant back after it left.
        if let Some(pending) = self.pending_roster.get_mut(call_id) {
            pending.retain(|x| x.id != info.id);
        }
        if batched {
            self.pending_roster
                .entry(call_id.to_string())
                .or_default()
                .push(info);
        } else {
            self.broadcast(
                call_id,
                None,
                &ServerMessage::ParticipantRemoved {
                    call_id: call_id.to_string(),
                    participant: info,
                },
            );
        }
        log::info!(
            "call {call_id}: {pid} left ({}/{})",
            reason.code,
            reason.subcode
        );
        self.transfer_participant_left(call_id, pid, reason);
        self.end_if_alone(sfu, call_id, reason);
    }

    /// Ends the call when no joined user remains (ringing ones are cancelled), or when one
    /// joined user remains with nobody else (its call ends with the last leaver's reason).
    pub fn end_if_alone(&mut self, sfu: &SfuHandle, call_id: &str, last_reason: EndReason) {
        let Some(call) = self.calls.get(call_id) else {
            return;
        };
        let joined = call.participants.iter().filter(|p| p.joined()).count();
        let users = call
            .participants
            .iter()
            .filter(|p| p.kind == Kind::User && p.joined())
            .count();
        let others = call.participants.len() - joined;
        let reason_for_rest = if users == 0 {
            // Nobody of ours is left: ringing users are cancelled, phone legs end with
            // a SIP status that says why (declined, no answer …).
            Some(last_reason)
        } else if joined == 1 && others == 0 && !call.group {
            Some(match last_reason {
                EndReason::LOCAL_HANGUP => EndReason::REMOTE_HANGUP,
                // The one left removed the other: its call ends as if it hung up.
                EndReason::REMOVED => EndReason::LOCAL_HANGUP,
                r => r,
            })
        } else {
            None
        };
        match reason_for_rest {
            Some(r) => self.end_call(sfu, call_id, r, None),
            None => self.update_call_states(call_id),
        }
    }

    /// Ends the call for everyone left: each gets `CallState{Disconnected, reason}` (ringing
    /// users get `CANCELLED`); `except` (already told) is skipped.
    pub fn end_call(
        &mut self,
        sfu: &SfuHandle,
        call_id: &str,
        reason: EndReason,
        except: Option<&str>,
    ) {
        self.dominant.remove(call_id);
        self.pending_roster.remove(call_id);
        let Some(call) = self.calls.remove(call_id) else {
            return;
        };
        self.keys.remove(&call.key);
        for p in call.participants {
            if let Some(s) = p.session {
                sfu.remove_session(s);
                self.sessions.remove(&s);
            }
            if let Some(leg) = p.leg {
                self.release_leg(leg, reason);
            }
            if p.kind != Kind::User || Some(p.id.as_str()) == except {
                continue;
            }
            let r = if p.state == ParticipantState::Ringing {
                EndReason::CANCELLED
            } else {
                reason
            };
            let msg = ServerMessage::CallState {
                call_id: call_id.to_string(),
                state: CallState::Disconnected,
                end_reason: Some(r),
            };
            match p.conn {
                Some(c) => self.send(c, msg),
                None => self.send_user(&p.id, &msg),
            }
        }
        log::info!("call {call_id} ended ({}/{})", reason.code, reason.subcode);
    }
}

/// A batched roster change that is a removal.
fn is_removal(info: &ParticipantInfo) -> bool {
    info.state == ParticipantState::Disconnected && info.end_reason.is_some()
}

/// The echo bot as a roster entry.
pub(crate) fn echo_participant(epoch: u64) -> Participant {
    Participant {
        id: ECHO_BOT_ID.to_string(),
        display_name: ECHO_BOT_NAME.to_string(),
        kind: Kind::EchoBot,
        state: ParticipantState::Connected,
        muted: false,
        video: false,
        screen_sharing: false,
        held: false,
        conn: None,
        session: None,
        media_connected: true,
        media_lost: false,
        setting_up: false,
        call_state: None,
        epoch,
        leg: None,
        push: Vec::new(),
        role: None,
        in_lobby: false,
    }
}

/// The shared call state plus the SFU it drives.
pub struct Hub {
    pub(crate) state: Mutex<HubState>,
    pub(crate) sfu: SfuHandle,
    pub(crate) config: HubConfig,
    pub(crate) identity: Arc<IdentityStore>,
    /// Phone numbers of users and of the deployment.
    pub numbers: Arc<crate::phone_numbers::NumberPlan>,
    /// Push targets of users (incoming calls while no agent is connected).
    pub push: Arc<crate::push::PushTargets>,
    /// Rooms (`/rooms`): group calls with a validity window and roles.
    pub rooms: Arc<crate::rooms::Rooms>,
}

impl Hub {
    /// A hub driving `sfu`, with an empty number plan.
    pub fn new(sfu: SfuHandle, config: HubConfig, identity: Arc<IdentityStore>) -> Arc<Self> {
        Self::with_numbers(sfu, config, identity, Arc::default())
    }

    /// A hub driving `sfu` with `numbers` as its number plan.
    pub fn with_numbers(
        sfu: SfuHandle,
        config: HubConfig,
        identity: Arc<IdentityStore>,
        numbers: Arc<crate::phone_numbers::NumberPlan>,
    ) -> Arc<Self> {
        let state = HubState {
            batch_roster_above: config.batch_roster_above,
            ..HubState::default()
        };
        Arc::new(Self {
            state: Mutex::new(state),
            sfu,
            config,
            identity,
            numbers,
            push: Arc::default(),
            rooms: Arc::default(),
        })
    }

    /// Sends batched roster changes every [`ROSTER_BATCH_PERIOD`] (on the current runtime).
    pub fn spawn_roster_batches(self: &Arc<Self>) {
        let hub = Arc::downgrade(self);
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(ROSTER_BATCH_PERIOD);
            loop {
                tick.tick().await;
                let Some(hub) = hub.upgrade() else {
                    break;
                };
                hub.state.lock().flush_roster_batches();
            }
        });
    }

    /// Registers an authenticated connection.
    pub fn register(
        &self,
        user_id: &str,
        display_name: &str,
        tx: UnboundedSender<Outbound>,
    ) -> ConnId {
        let mut st = self.state.lock();
        let id = ConnId(st.next());
        st.conns.insert(
            id,
            Conn {
                user_id: user_id.to_string(),
                display_name: display_name.to_string(),
                tx,
                live: true,
            },
        );
        st.user_conns
            .entry(user_id.to_string())
            .or_default()
            .push(id);
        id
    }

    /// Whether a link carries `conn` now (a dropped one waits for a resume): users with no
    /// live connection are notified by push.
    pub fn set_conn_live(&self, conn: ConnId, live: bool) {
        if let Some(c) = self.state.lock().conns.get_mut(&conn) {
            c.live = live;
        }
    }

    /// A connection ended: its participants leave with `reason` (and so do ringing
    /// invitations of its user when it was the user's last connection).
    pub fn unregister(&self, conn: ConnId, reason: EndReason) {
        let mut st = self.state.lock();
        let Some(c) = st.conns.remove(&conn) else {
            return;
        };
        let last = match st.user_conns.get_mut(&c.user_id) {
            Some(list) => {
                list.retain(|x| *x != conn);
                list.is_empty()
            }
            None => true,
        };
        if last {
            st.user_conns.remove(&c.user_id);
        }
        let prepared: Vec<SessionId> = st
            .prepared
            .iter()
            .filter(|(_, c)| **c == conn)
            .map(|(s, _)| *s)
            .collect();
        for s in prepared {
            st.prepared.remove(&s);
            self.sfu.remove_session(s);
        }
        let leaving: Vec<(String, String)> = st
            .calls
            .iter()
            .flat_map(|(cid, call)| {
                call.participants
                    .iter()
                    .filter(|p| {
                        p.conn == Some(conn)
                            || (last && p.id == c.user_id && p.state == ParticipantState::Ringing)
                    })
                    .map(move |p| (cid.clone(), p.id.clone()))
            })
            .collect();
        for (cid, pid) in leaving {
            st.remove_participant(&self.sfu, &cid, &pid, reason, reason);
        }
    }

    /// Closes every connection of `user` with `Error{reason}`; their participants leave.
    pub fn close_user(&self, user: &str, reason: EndReason, message: &str) {
        let conns: Vec<ConnId> = self
            .state
            .lock()
            .user_conns
            .get(user)
            .cloned()
            .unwrap_or_default();
        for c in conns {
            self.close_conn(c, reason, message);
        }
    }

    /// Closes one connection with `Error{reason}`; its participants leave with `reason`.
    pub fn close_conn(&self, conn: ConnId, reason: EndReason, message: &str) {
        let tx = self.state.lock().conns.get(&conn).map(|c| c.tx.clone());
        self.unregister(conn, reason);
        if let Some(tx) = tx {
            let _ = tx.send(Outbound::Close(ErrorBody::new(reason, message)));
        }
    }

    /// Graceful shutdown: refuses new calls, ends every call with
    /// [`EndReason::SERVICE_SHUTDOWN`] (phones get their BYE) and closes every connection
    /// with that reason and `message`, so that agents do not try to resume.
    pub fn shut_down(&self, message: &str) {
        let mut st = self.state.lock();
        st.draining = true;
        let calls: Vec<String> = st.calls.keys().cloned().collect();
        let n = calls.len();
        for id in calls {
            st.end_call(&self.sfu, &id, EndReason::SERVICE_SHUTDOWN, None);
        }
        let conns: Vec<_> = st.conns.values().map(|c| c.tx.clone()).collect();
        drop(st);
        log::info!(
            "shutting down: {n} calls ended, {} agents told",
            conns.len()
        );
        for tx in conns {
            let _ = tx.send(Outbound::Close(ErrorBody::new(
                EndReason::SERVICE_SHUTDOWN,
                message,
            )));
        }
    }

    /// Whether the service is shutting down (new calls are refused).
    pub fn is_draining(&self) -> bool {
        self.state.lock().draining
    }

    /// User id and display name of a connection.
    pub fn conn_user(&self, conn: ConnId) -> Option<(String, String)> {
        self.state
            .lock()
            .conns
            .get(&conn)
            .map(|c| (c.user_id.clone(), c.display_name.clone()))
    }
}
