//! The one path by which a participant gets a media session: reserve a session id under the
//! hub's lock, ask the SFU for it without the lock, re-lock, and either attach the answer or
//! roll the reservation back. `StartCall`, `Accept` and `JoinGroupCall` differ only in what
//! a failure undoes ([`Setup`]); everything else is shared here.

use parking_lot::MutexGuard;

use crate::calls::{ConnId, Hub, HubState, Kind, Participant};
use crate::protocol::{
    CallState, EndReason, ErrorBody, ParticipantState, ServerMessage, MAX_PREPARED_MEDIA,
};
use crate::refusals::{bad, not_in_call};
use crate::sfu::{CallKey, SessionId, SfuError, SfuHandle};

/// Where a joiner's media session comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MediaOffer {
    /// A new session from this WebRTC offer.
    Sdp(String),
    /// A session the same connection made ahead with `PrepareMedia`.
    Prepared(SessionId),
}

impl MediaOffer {
    /// What a call request carries: a prepared session when it names one, else its offer.
    pub fn of(offer_sdp: String, media: Option<u64>) -> Self {
        match media {
            Some(id) => Self::Prepared(SessionId(id)),
            None => Self::Sdp(offer_sdp),
        }
    }
}

/// Which request reserved the session, and so what a failure undoes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Setup {
    /// `StartCall`: the call was created for this session; a failure removes the call. If
    /// the caller left while the SFU answered, nobody is answered (its call is gone).
    NewCall,
    /// `Accept`: a ringing invitation was taken; a failure puts it back to ringing.
    Accept,
    /// `JoinGroupCall`: the joiner was added (or took its invitation's place); a failure
    /// removes it and ends the call if nobody is left.
    JoinGroup,
}

/// A media session reserved in the hub, waiting for the SFU's answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reservation {
    pub key: CallKey,
    pub session: SessionId,
    /// The participant's epoch (for its media timer).
    pub epoch: u64,
}

/// Who asked for media, in which call, by which request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Attach<'a> {
    pub setup: Setup,
    pub conn: ConnId,
    pub req: u64,
    pub call_id: &'a str,
    pub user: &'a str,
    pub reservation: Reservation,
}

impl Participant {
    /// A user joining with its own connection and a reserved media session.
    pub(crate) fn joining(
        id: &str,
        display_name: &str,
        conn: ConnId,
        session: SessionId,
        epoch: u64,
    ) -> Self {
        Self {
            conn: Some(conn),
            session: Some(session),
            state: ParticipantState::Connecting,
            setting_up: true,
            ..Self::ringing(id, display_name.to_string(), epoch)
        }
    }

    /// A user being rung (all of its connections ring; none joined yet).
    pub(crate) fn ringing(id: &str, display_name: String, epoch: u64) -> Self {
        Self {
            id: id.to_string(),
            display_name,
            kind: Kind::User,
            state: ParticipantState::Ringing,
            muted: false,
            video: false,
            screen_sharing: false,
            held: false,
            conn: None,
            session: None,
            media_connected: false,
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
}

impl HubState {
    /// The session a join request will use: a new id, or the connection's prepared session
    /// (taken out of the prepared set). `None` (answered with an error): the request named
    /// a prepared session this connection does not hold.
    pub(crate) fn media_session(
        &mut self,
        conn: ConnId,
        req: u64,
        media: &MediaOffer,
    ) -> Option<SessionId> {
        match media {
            MediaOffer::Sdp(_) => Some(SessionId(self.next())),
            MediaOffer::Prepared(id) => {
                if self.prepared.get(id) == Some(&conn) {
                    self.prepared.remove(id);
                    Some(*id)
                } else {
                    let e = ErrorBody::new(
                        EndReason::MEDIA_NOT_PREPARED,
                        format!("no prepared media session {}", id.0),
                    );
                    self.respond(conn, req, Err(e));
                    None
                }
            }
        }
    }

    /// A joiner whose media session was just created is `Connecting` (it sees this before
    /// anything else of the call).
    pub(crate) fn tell_connecting(&mut self, conn: ConnId, call_id: &str, idx: usize) {
        if let Some(p) = self
            .calls
            .get_mut(call_id)
            .and_then(|c| c.participants.get_mut(idx))
        {
            p.call_state = Some(CallState::Connecting);
        }
        self.send(
            conn,
            ServerMessage::CallState {
                call_id: call_id.to_string(),
                state: CallState::Connecting,
                end_reason: None,
            },
        );
    }

    /// Undoes a reservation whose SFU session could not be created, then answers `req` with
    /// `error`.
    pub(crate) fn roll_back(
        &mut self,
        sfu: &SfuHandle,
        a: &Attach<'_>,
        idx: usize,
        error: ErrorBody,
    ) {
        let (conn, req, call_id) = (a.conn, a.req, a.call_id);
        self.sessions.remove(&a.reservation.session);
        match a.setup {
            Setup::NewCall => {
                self.calls.remove(call_id);
                self.keys.remove(&a.reservation.key);
                self.respond(conn, req, Err(error));
            }
            Setup::Accept => {
                if let Some(p) = self
                    .calls
                    .get_mut(call_id)
                    .and_then(|c| c.participants.get_mut(idx))
                {
                    p.state = ParticipantState::Ringing;
                    p.conn = None;
                    p.session = None;
                }
                self.respond(conn, req, Err(error));
            }
            Setup::JoinGroup => {
                if let Some(call) = self.calls.get_mut(call_id) {
                    call.participants.remove(idx);
                }
                self.respond(conn, req, Err(error));
                self.end_if_alone(sfu, call_id, EndReason::LOCAL_HANGUP);
            }
        }
    }
}

impl Hub {
    /// `PrepareMedia`: a media session for this connection's next call, created outside any
    /// call (alone under a call key of its own), so ICE and DTLS finish before the call.
    pub async fn prepare_media(&self, conn: ConnId, req: u64, offer_sdp: String) {
        let (session, key) = {
            let mut st = self.state.lock();
            if !st.conns.contains_key(&conn) {
                return;
            }
            // A client that prepared and then offered anyway leaves sessions behind: the
            // oldest goes (ids grow with time).
            let mut held: Vec<SessionId> = st
                .prepared
                .iter()
                .filter(|(_, c)| **c == conn)
                .map(|(s, _)| *s)
                .collect();
            held.sort();
            while held.len() >= MAX_PREPARED_MEDIA {
                let oldest = held.remove(0);
                st.prepared.remove(&oldest);
                self.sfu.remove_session(oldest);
            }
            let session = SessionId(st.next());
            let key = CallKey(st.next());
            st.prepared.insert(session, conn);
            (session, key)
        };
        let answer = self.sfu.add_session(session, key, offer_sdp, false).await;
        let mut st = self.state.lock();
        if st.prepared.get(&session) != Some(&conn) {
            // The connection closed meanwhile.
            self.sfu.remove_session(session);
            return;
        }
        match answer {
            Ok(answer) => st.send(
                conn,
                ServerMessage::Response {
                    req,
                    error: None,
                    answer_sdp: Some(answer),
                    media_id: Some(session.0),
                },
            ),
            Err(e) => {
                st.prepared.remove(&session);
                st.respond(conn, req, Err(bad(e.to_string())));
            }
        }
    }

    /// Creates the reserved session in the SFU and attaches it: on success the request is
    /// answered with the SDP answer and the lock is handed back with the participant's
    /// index, for the request's own follow-up. On failure (SFU error, or the participant
    /// left meanwhile) the reservation is rolled back and `None` returned.
    pub(crate) async fn attach_media(
        &self,
        a: Attach<'_>,
        media: MediaOffer,
        echo: bool,
    ) -> Option<(MutexGuard<'_, HubState>, usize)> {
        let (setup, conn, req, call_id, r) = (a.setup, a.conn, a.req, a.call_id, a.reservation);
        // A new session answers with SDP; a prepared one (the client has its answer) says
        // whether it is connected already.
        let prepared = matches!(media, MediaOffer::Prepared(_));
        let (answer, connected) = match media {
            MediaOffer::Sdp(offer_sdp) => (
                self.sfu
                    .add_session(r.session, r.key, offer_sdp, echo)
                    .await
                    .map(Some),
                false,
            ),
            MediaOffer::Prepared(id) => match self.sfu.attach_session(id, r.key, echo).await {
                Ok(connected) => (Ok(None), connected),
                Err(e) => (Err(e), false),
            },
        };
        let mut st = self.state.lock();
        let Some(idx) = st.holder_of(call_id, a.user, r.session) else {
            // Left (or the connection closed) while the SFU answered.
            self.sfu.remove_session(r.session);
            st.sessions.remove(&r.session);
            match (setup, answer) {
                (Setup::NewCall, Ok(_)) => {}
                (Setup::NewCall, Err(e)) => st.respond(conn, req, Err(bad(e.to_string()))),
                _ => st.respond(conn, req, Err(not_in_call(call_id))),
            }
            return None;
        };
        match answer {
            Ok(answer) => {
                if connected {
                    if let Some(p) = st
                        .calls
                        .get_mut(call_id)
                        .and_then(|c| c.participants.get_mut(idx))
                    {
                        p.media_connected = true;
                    }
                }
                st.respond(conn, req, Ok(answer));
                Some((st, idx))
            }
            Err(e) => {
                // A prepared session that failed is of no further use: the client offers
                // anew.
                self.sfu.remove_session(r.session);
                let error = match (&e, prepared) {
                    (SfuError::BadOffer(_), true) => {
                        ErrorBody::new(EndReason::MEDIA_NOT_PREPARED, e.to_string())
                    }
                    _ => bad(e.to_string()),
                };
                st.roll_back(&self.sfu, &a, idx, error);
                None
            }
        }
    }
}

/// A hub on a fake SFU for the service's unit tests: the SFU's commands come out of a
/// channel the test reads and answers.
#[cfg(test)]
pub(crate) mod test_hub {
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver};

    use crate::calls::{ConnId, Hub, HubConfig, Outbound};
    use crate::identity::IdentityStore;
    use crate::protocol::ServerMessage;
    use crate::sfu::{SessionId, SfuCommand, SfuError, SfuHandle};

    pub(crate) fn hub() -> (Arc<Hub>, UnboundedReceiver<SfuCommand>) {
        let (sfu, commands) = SfuHandle::detached();
        let config = HubConfig {
            setup_timeout: Duration::from_secs(85),
            promote_timeout: Duration::from_secs(115),
            transfer_timeout: Duration::from_secs(60),
            lobby_timeout: Duration::from_secs(900),
            inactivity_timeout: Duration::from_secs(120),
            max_participants: 10,
            batch_roster_above: 100,
        };
        let identity = Arc::new(IdentityStore::new("test-key"));
        (Hub::new(sfu, config, identity), commands)
    }

    pub(crate) fn connect(hub: &Hub, user: &str) -> (ConnId, UnboundedReceiver<Outbound>) {
        let (tx, rx) = unbounded_channel();
        (hub.register(user, user, tx), rx)
    }

    pub(crate) fn messages(rx: &mut UnboundedReceiver<Outbound>) -> Vec<ServerMessage> {
        let mut out = Vec::new();
        while let Ok(m) = rx.try_recv() {
            if let Outbound::Message(m) = m {
                out.push(m);
            }
        }
        out
    }

    /// Takes the next `AddSession` from the fake SFU and answers it.
    pub(crate) async fn answer_add(
        commands: &mut UnboundedReceiver<SfuCommand>,
        answer: Result<String, SfuError>,
    ) -> SessionId {
        loop {
            match commands.recv().await.expect("an SFU command") {
                SfuCommand::AddSession { id, reply, .. } => {
                    let _ = reply.send(answer);
                    return id;
                }
                _ => continue,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tokio::sync::mpsc::UnboundedReceiver;

    use super::test_hub::{answer_add, connect, hub, messages};
    use super::*;
    use crate::calls::Outbound;
    use crate::protocol::ECHO_BOT_ID;
    use crate::sfu::{SfuCommand, SfuEvent};

    const GROUP: &str = "6f1d2c3b-4a59-4e6f-8a7b-9c0d1e2f3a4b";

    impl From<&str> for MediaOffer {
        fn from(sdp: &str) -> Self {
            MediaOffer::Sdp(sdp.to_string())
        }
    }

    fn removed_sessions(commands: &mut UnboundedReceiver<SfuCommand>) -> Vec<SessionId> {
        let mut out = Vec::new();
        while let Ok(c) = commands.try_recv() {
            if let SfuCommand::RemoveSession { id } = c {
                out.push(id);
            }
        }
        out
    }

    fn error_code(m: &ServerMessage) -> Option<i32> {
        match m {
            ServerMessage::Response { error, .. } => error.as_ref().map(|e| e.code),
            _ => None,
        }
    }

    #[tokio::test]
    async fn start_call_answers_then_connecting_then_roster() {
        let (hub, mut sfu) = hub();
        let (a, mut a_rx) = connect(&hub, "8:acs:a");
        let h = Arc::clone(&hub);
        let call = tokio::spawn(async move {
            h.start_call(
                a,
                1,
                "c1".into(),
                vec![ECHO_BOT_ID.into()],
                "offer".into(),
                None,
            )
            .await
        });
        answer_add(&mut sfu, Ok("answer".into())).await;
        call.await.expect("start_call");
        let msgs = messages(&mut a_rx);
        assert!(matches!(
            &msgs[0],
            ServerMessage::Response { req: 1, error: None, answer_sdp: Some(s), .. } if s == "answer"
        ));
        assert!(matches!(
            &msgs[1],
            ServerMessage::CallState {
                state: CallState::Connecting,
                ..
            }
        ));
        assert!(
            matches!(&msgs[2], ServerMessage::ParticipantUpdated { participant, .. } if participant.id == ECHO_BOT_ID)
        );
        assert!(matches!(&msgs[3], ServerMessage::Roster { .. }));
        let st = hub.state.lock();
        assert_eq!(st.calls["c1"].participants.len(), 2);
        assert_eq!(st.sessions.len(), 1);
    }

    #[tokio::test]
    async fn start_call_that_the_sfu_refuses_leaves_no_call() {
        let (hub, mut sfu) = hub();
        let (a, mut a_rx) = connect(&hub, "8:acs:a");
        let h = Arc::clone(&hub);
        let call = tokio::spawn(async move {
            h.start_call(
                a,
                7,
                "c1".into(),
                vec![ECHO_BOT_ID.into()],
                "bad".into(),
                None,
            )
            .await
        });
        answer_add(&mut sfu, Err(SfuError::BadOffer("no audio".into()))).await;
        call.await.expect("start_call");
        let msgs = messages(&mut a_rx);
        assert_eq!(msgs.len(), 1);
        assert_eq!(error_code(&msgs[0]), Some(EndReason::BAD_REQUEST.code));
        let st = hub.state.lock();
        assert!(st.calls.is_empty() && st.keys.is_empty() && st.sessions.is_empty());
    }

    #[tokio::test]
    async fn accept_that_the_sfu_refuses_rings_again() {
        let (hub, mut sfu) = hub();
        let (a, _a_rx) = connect(&hub, "8:acs:a");
        let (b, mut b_rx) = connect(&hub, "8:acs:b");
        let h = Arc::clone(&hub);
        let call = tokio::spawn(async move {
            h.start_call(
                a,
                1,
                "c1".into(),
                vec!["8:acs:b".into()],
                "offer".into(),
                None,
            )
            .await
        });
        let a_session = answer_add(&mut sfu, Ok("answer".into())).await;
        call.await.expect("start_call");
        messages(&mut b_rx);
        let h = Arc::clone(&hub);
        let accept = tokio::spawn(async move { h.accept(b, 2, "c1".into(), "bad".into()).await });
        answer_add(&mut sfu, Err(SfuError::BadOffer("no audio".into()))).await;
        accept.await.expect("accept");
        let msgs = messages(&mut b_rx);
        assert_eq!(msgs.len(), 1);
        assert_eq!(error_code(&msgs[0]), Some(EndReason::BAD_REQUEST.code));
        let st = hub.state.lock();
        let p = &st.calls["c1"].participants[1];
        assert_eq!(p.state, ParticipantState::Ringing);
        assert_eq!((p.conn, p.session), (None, None));
        assert_eq!(st.sessions.keys().copied().collect::<Vec<_>>(), [a_session]);
    }

    #[tokio::test]
    async fn group_join_that_the_sfu_refuses_ends_the_empty_call() {
        let (hub, mut sfu) = hub();
        let (a, mut a_rx) = connect(&hub, "8:acs:a");
        let h = Arc::clone(&hub);
        let join = tokio::spawn(async move {
            h.join_group_call(a, 3, GROUP.into(), "bad".into(), Default::default(), false)
                .await
        });
        answer_add(&mut sfu, Err(SfuError::BadOffer("no audio".into()))).await;
        join.await.expect("join");
        let msgs = messages(&mut a_rx);
        assert_eq!(msgs.len(), 1);
        assert_eq!(error_code(&msgs[0]), Some(EndReason::BAD_REQUEST.code));
        let st = hub.state.lock();
        assert!(st.calls.is_empty() && st.keys.is_empty() && st.sessions.is_empty());
    }

    #[tokio::test]
    async fn leaving_while_the_sfu_answers_releases_the_session() {
        let (hub, mut sfu) = hub();
        let (a, _a_rx) = connect(&hub, "8:acs:a");
        let h = Arc::clone(&hub);
        let join = tokio::spawn(async move {
            h.join_group_call(
                a,
                3,
                GROUP.into(),
                "offer".into(),
                Default::default(),
                false,
            )
            .await
        });
        // The connection closes before the SFU's answer arrives.
        let session = loop {
            match sfu.recv().await.expect("an SFU command") {
                SfuCommand::AddSession { id, reply, .. } => {
                    hub.unregister(a, EndReason::LOCAL_HANGUP);
                    let _ = reply.send(Ok("answer".into()));
                    break id;
                }
                _ => continue,
            }
        };
        join.await.expect("join");
        assert!(removed_sessions(&mut sfu).contains(&session));
        let st = hub.state.lock();
        assert!(st.calls.is_empty() && st.sessions.is_empty());
    }

    #[tokio::test]
    async fn accept_after_the_call_ended_is_not_in_call() {
        let (hub, mut sfu) = hub();
        let (a, _a_rx) = connect(&hub, "8:acs:a");
        let (b, mut b_rx) = connect(&hub, "8:acs:b");
        let h = Arc::clone(&hub);
        let call = tokio::spawn(async move {
            h.start_call(
                a,
                1,
                "c1".into(),
                vec!["8:acs:b".into()],
                "offer".into(),
                None,
            )
            .await
        });
        answer_add(&mut sfu, Ok("answer".into())).await;
        call.await.expect("start_call");
        let h = Arc::clone(&hub);
        let accept = tokio::spawn(async move { h.accept(b, 2, "c1".into(), "offer".into()).await });
        let session = loop {
            match sfu.recv().await.expect("an SFU command") {
                SfuCommand::AddSession { id, reply, .. } => {
                    // The caller hangs up while the SFU works on the callee's session.
                    hub.hang_up(a, 9, "c1", false);
                    let _ = reply.send(Ok("answer".into()));
                    break id;
                }
                _ => continue,
            }
        };
        accept.await.expect("accept");
        let last = messages(&mut b_rx).pop().expect("a response");
        assert_eq!(error_code(&last), Some(EndReason::NOT_FOUND.code));
        assert!(removed_sessions(&mut sfu).contains(&session));
        assert!(hub.state.lock().sessions.is_empty());
    }

    /// Takes the next `AttachSession` from the fake SFU and answers it.
    async fn answer_attach(
        commands: &mut UnboundedReceiver<SfuCommand>,
        answer: Result<bool, SfuError>,
    ) -> (SessionId, CallKey) {
        loop {
            match commands.recv().await.expect("an SFU command") {
                SfuCommand::AttachSession {
                    id, call, reply, ..
                } => {
                    let _ = reply.send(answer);
                    return (id, call);
                }
                _ => continue,
            }
        }
    }

    /// `PrepareMedia` for `conn`; returns the prepared session's id.
    async fn prepare(
        hub: &Arc<Hub>,
        sfu: &mut UnboundedReceiver<SfuCommand>,
        conn: ConnId,
        rx: &mut UnboundedReceiver<Outbound>,
    ) -> u64 {
        let h = Arc::clone(hub);
        let task = tokio::spawn(async move { h.prepare_media(conn, 5, "offer".into()).await });
        answer_add(sfu, Ok("answer".into())).await;
        task.await.expect("prepare");
        match messages(rx).pop() {
            Some(ServerMessage::Response {
                req: 5,
                error: None,
                answer_sdp: Some(a),
                media_id: Some(id),
            }) if a == "answer" => id,
            m => panic!("{m:?}"),
        }
    }

    #[tokio::test]
    async fn a_prepared_session_is_moved_into_the_call_and_connects_in_order() {
        let (hub, mut sfu) = hub();
        let (a, mut a_rx) = connect(&hub, "8:acs:a");
        let media = prepare(&hub, &mut sfu, a, &mut a_rx).await;
        // Not part of any call yet.
        assert!(hub.state.lock().sessions.is_empty());
        let h = Arc::clone(&hub);
        let call = tokio::spawn(async move {
            let media = MediaOffer::Prepared(SessionId(media));
            h.start_call(a, 1, "c1".into(), vec![ECHO_BOT_ID.into()], media, None)
                .await
        });
        // Already connected when attached: the caller hears Connecting, then the roster, then
        // its own Connected, never the other way round.
        let (id, key) = answer_attach(&mut sfu, Ok(true)).await;
        call.await.expect("start_call");
        assert_eq!(id, SessionId(media));
        let msgs = messages(&mut a_rx);
        assert!(
            matches!(
                &msgs[0],
                ServerMessage::Response {
                    req: 1,
                    error: None,
                    answer_sdp: None,
                    ..
                }
            ),
            "{msgs:?}"
        );
        let states: Vec<CallState> = msgs
            .iter()
            .filter_map(|m| match m {
                ServerMessage::CallState { state, .. } => Some(*state),
                _ => None,
            })
            .collect();
        assert_eq!(
            states,
            [CallState::Connecting, CallState::Connected],
            "{msgs:?}"
        );
        let connecting = msgs.iter().position(|m| {
            matches!(
                m,
                ServerMessage::CallState {
                    state: CallState::Connecting,
                    ..
                }
            )
        });
        let roster = msgs
            .iter()
            .position(|m| matches!(m, ServerMessage::Roster { .. }));
        assert!(connecting < roster, "{msgs:?}");
        let st = hub.state.lock();
        assert_eq!(st.calls["c1"].key, key);
        assert!(st.calls["c1"].participants[0].media_connected);
        assert!(st.prepared.is_empty());
    }

    #[tokio::test]
    async fn media_that_connects_while_the_join_is_answered_waits_for_its_follow_up() {
        let (hub, mut sfu) = hub();
        let (a, mut a_rx) = connect(&hub, "8:acs:a");
        let media = prepare(&hub, &mut sfu, a, &mut a_rx).await;
        let h = Arc::clone(&hub);
        let join = tokio::spawn(async move {
            let media = MediaOffer::Prepared(SessionId(media));
            h.join_group_call(a, 3, GROUP.into(), media, Default::default(), false)
                .await
        });
        // The SFU reports the session connected before it answers the move.
        loop {
            match sfu.recv().await.expect("an SFU command") {
                SfuCommand::AttachSession { id, reply, .. } => {
                    hub.on_sfu_event(SfuEvent::MediaConnected(id));
                    let _ = reply.send(Ok(false));
                    break;
                }
                _ => continue,
            }
        }
        join.await.expect("join");
        let msgs = messages(&mut a_rx);
        let states: Vec<CallState> = msgs
            .iter()
            .filter_map(|m| match m {
                ServerMessage::CallState { state, .. } => Some(*state),
                _ => None,
            })
            .collect();
        assert_eq!(
            states,
            [CallState::Connecting, CallState::Connected],
            "{msgs:?}"
        );
    }

    #[tokio::test]
    async fn an_unknown_or_foreign_prepared_session_is_refused_as_not_prepared() {
        let (hub, mut sfu) = hub();
        let (a, mut a_rx) = connect(&hub, "8:acs:a");
        let (b, mut b_rx) = connect(&hub, "8:acs:b");
        let bobs = prepare(&hub, &mut sfu, b, &mut b_rx).await;
        for media in [bobs, 999] {
            let media = MediaOffer::Prepared(SessionId(media));
            hub.start_call(a, 1, "c1".into(), vec![ECHO_BOT_ID.into()], media, None)
                .await;
            let msgs = messages(&mut a_rx);
            assert!(
                matches!(&msgs[..], [ServerMessage::Response { error: Some(e), .. }]
                    if (e.code, e.subcode) == (400, 10010)),
                "{msgs:?}"
            );
        }
        let st = hub.state.lock();
        assert!(st.calls.is_empty());
        assert_eq!(st.prepared.len(), 1, "Bob's stays his");
    }

    #[tokio::test]
    async fn a_dead_prepared_session_is_not_prepared_and_the_call_is_undone() {
        let (hub, mut sfu) = hub();
        let (a, mut a_rx) = connect(&hub, "8:acs:a");
        let media = prepare(&hub, &mut sfu, a, &mut a_rx).await;
        let h = Arc::clone(&hub);
        let call = tokio::spawn(async move {
            let media = MediaOffer::Prepared(SessionId(media));
            h.start_call(a, 1, "c1".into(), vec![ECHO_BOT_ID.into()], media, None)
                .await
        });
        answer_attach(&mut sfu, Err(SfuError::BadOffer("gone".into()))).await;
        call.await.expect("start_call");
        let msgs = messages(&mut a_rx);
        assert!(
            matches!(&msgs[..], [ServerMessage::Response { error: Some(e), .. }]
                if (e.code, e.subcode) == (400, 10010)),
            "{msgs:?}"
        );
        assert!(removed_sessions(&mut sfu).contains(&SessionId(media)));
        let st = hub.state.lock();
        assert!(st.calls.is_empty() && st.sessions.is_empty() && st.keys.is_empty());
    }

    #[tokio::test]
    async fn prepared_sessions_are_bounded_per_connection_and_end_with_it() {
        let (hub, mut sfu) = hub();
        let (a, mut a_rx) = connect(&hub, "8:acs:a");
        let mut ids = Vec::new();
        for _ in 0..MAX_PREPARED_MEDIA {
            ids.push(prepare(&hub, &mut sfu, a, &mut a_rx).await);
        }
        // One more: the oldest is removed from the SFU before the new one is added.
        let h = Arc::clone(&hub);
        let task = tokio::spawn(async move { h.prepare_media(a, 6, "offer".into()).await });
        match sfu.recv().await.expect("an SFU command") {
            SfuCommand::RemoveSession { id } => assert_eq!(id, SessionId(ids[0])),
            c => panic!("{c:?}"),
        }
        let newest = answer_add(&mut sfu, Ok("answer".into())).await;
        task.await.expect("prepare");
        ids.push(newest.0);
        let held: Vec<SessionId> = hub.state.lock().prepared.keys().copied().collect();
        assert_eq!(held.len(), MAX_PREPARED_MEDIA);
        assert!(!held.contains(&SessionId(ids[0])));
        hub.unregister(a, EndReason::LOCAL_HANGUP);
        let removed = removed_sessions(&mut sfu);
        for id in &ids[1..] {
            assert!(removed.contains(&SessionId(*id)), "{removed:?}");
        }
        assert!(hub.state.lock().prepared.is_empty());
    }
}
