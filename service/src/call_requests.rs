//! The requests a participant makes on a call, SFU events and setup timers, as methods
//! of [`Hub`]. The roster bookkeeping they share lives in `calls.rs`.

use crate::authz::{self, Action};
use crate::refusals::bad;
use std::sync::Arc;

use crate::calls::{echo_participant, Call, ConnId, Hub, Participant};
use crate::media_setup::{Attach, MediaOffer, Reservation, Setup};
use crate::phone_calls::gone_info;
use crate::protocol::{
    CallState, EndReason, ErrorBody, Identifier, ParticipantState, ServerMessage,
};
use crate::sfu::CallKey;

/// What happens to one `StartCall` target.
enum TargetOutcome {
    Echo,
    Ring,
    /// A user with no agent connected but push targets: rings while they are notified.
    Push,
    Dial,
    Gone(EndReason),
}

impl Hub {
    /// `StartCall`: creates the call and the caller's media session, then rings targets.
    pub async fn start_call(
        self: &Arc<Self>,
        conn: ConnId,
        req: u64,
        call_id: String,
        targets: Vec<String>,
        media: MediaOffer,
        caller_id: Option<String>,
    ) {
        let Some((user, name)) = self.conn_user(conn) else {
            return;
        };
        // Validate and reserve the call id.
        let mut parsed: Vec<Identifier> = Vec::new();
        let mut from = None;
        let prepared = {
            let mut st = self.state.lock();
            let check = (|| {
                if call_id.trim().is_empty() {
                    return Err(bad("call_id is empty"));
                }
                if st.calls.contains_key(&call_id) {
                    return Err(bad(format!("call id '{call_id}' is in use")));
                }
                if targets.is_empty() {
                    return Err(bad("no targets"));
                }
                for t in &targets {
                    let id = Identifier::parse(t).map_err(|e| bad(e.to_string()))?;
                    if id.raw_id() == user {
                        return Err(bad("cannot call yourself"));
                    }
                    if !parsed.contains(&id) {
                        parsed.push(id);
                    }
                }
                if parsed
                    .iter()
                    .any(|t| matches!(t, Identifier::PhoneNumber(_)))
                {
                    if st.pstn.is_none() {
                        return Err(ErrorBody::new(
                            EndReason::NOT_FOUND,
                            "this service has no SIP trunk: phone numbers cannot be called",
                        ));
                    }
                    from = Some(self.numbers.caller_id_for(&user, caller_id.as_deref())?);
                }
                if parsed.len() + 1 > self.config.max_participants {
                    return Err(ErrorBody::new(
                        EndReason::CALL_FULL,
                        "too many participants",
                    ));
                }
                Ok(())
            })();
            match check {
                Err(e) => {
                    st.respond(conn, req, Err(e));
                    None
                }
                Ok(()) => {
                    let Some(session) = st.media_session(conn, req, &media) else {
                        return;
                    };
                    let key = CallKey(st.next());
                    let epoch = st.next();
                    let caller = Participant::joining(&user, &name, conn, session, epoch);
                    st.calls.insert(
                        call_id.clone(),
                        Call {
                            key,
                            participants: vec![caller],
                            group: false,
                            transfer: None,
                        },
                    );
                    st.keys.insert(key, call_id.clone());
                    st.sessions.insert(session, (call_id.clone(), user.clone()));
                    Some(Reservation {
                        key,
                        session,
                        epoch,
                    })
                }
            }
        };
        let Some(reservation) = prepared else {
            return;
        };
        let epoch = reservation.epoch;
        let echo = parsed.contains(&Identifier::EchoBot);
        let attach = Attach {
            setup: Setup::NewCall,
            conn,
            req,
            call_id: &call_id,
            user: &user,
            reservation,
        };
        let Some((mut st, idx)) = self.attach_media(attach, media, echo).await else {
            return;
        };

        st.tell_connecting(conn, &call_id, idx);
        self.spawn_media_timer(&call_id, &user, epoch);

        let caller_info = st
            .calls
            .get(&call_id)
            .and_then(|c| c.participants.first())
            .map(Participant::info);
        let mut last_failure = EndReason::NOT_FOUND;
        for target in &parsed {
            let raw = target.raw_id();
            let outcome = match target {
                Identifier::EchoBot => TargetOutcome::Echo,
                Identifier::PhoneNumber(_) => TargetOutcome::Dial,
                Identifier::CommunicationUser(id) => {
                    if st.user_live(id) {
                        TargetOutcome::Ring
                    } else if self.has_push_targets(id) {
                        TargetOutcome::Push
                    } else if st.user_conns.get(id).is_some_and(|c| !c.is_empty()) {
                        // Its session waits for a resume: the call rings when it is back.
                        TargetOutcome::Ring
                    } else if self.user_exists(id) {
                        TargetOutcome::Gone(EndReason::UNAVAILABLE)
                    } else {
                        TargetOutcome::Gone(EndReason::NOT_FOUND)
                    }
                }
            };
            let epoch = st.next();
            match outcome {
                TargetOutcome::Echo => {
                    let p = echo_participant(epoch);
                    let info = p.info();
                    if let Some(call) = st.calls.get_mut(&call_id) {
                        call.participants.push(p);
                    }
                    st.send(
                        conn,
                        ServerMessage::ParticipantUpdated {
                            call_id: call_id.clone(),
                            participant: info,
                        },
                    );
                }
                TargetOutcome::Ring | TargetOutcome::Push => {
                    let display_name = st
                        .user_conns
                        .get(&raw)
                        .and_then(|c| c.first())
                        .and_then(|c| st.conns.get(c))
                        .map(|c| c.display_name.clone())
                        .unwrap_or_default();
                    let p = Participant::ringing(&raw, display_name, epoch);
                    let info = p.info();
                    if let Some(call) = st.calls.get_mut(&call_id) {
                        call.participants.push(p);
                    }
                    st.send(
                        conn,
                        ServerMessage::ParticipantUpdated {
                            call_id: call_id.clone(),
                            participant: info,
                        },
                    );
                    self.spawn_ring_timer(&call_id, &raw, epoch, self.config.setup_timeout);
                }
                TargetOutcome::Dial => {
                    let from = from.clone().unwrap_or_default();
                    match self.dial_phone(&mut st, &call_id, &raw, from) {
                        Ok(idx) => {
                            let info = st.calls[&call_id].participants[idx].info();
                            st.send(
                                conn,
                                ServerMessage::ParticipantUpdated {
                                    call_id: call_id.clone(),
                                    participant: info,
                                },
                            );
                        }
                        Err(e) => {
                            last_failure = e.reason();
                            st.send(
                                conn,
                                ServerMessage::ParticipantRemoved {
                                    call_id: call_id.clone(),
                                    participant: gone_info(&raw, e.reason()),
                                },
                            );
                        }
                    }
                }
                TargetOutcome::Gone(reason) => {
                    last_failure = reason;
                    let info = gone_info(&raw, reason);
                    st.send(
                        conn,
                        ServerMessage::ParticipantRemoved {
                            call_id: call_id.clone(),
                            participant: info,
                        },
                    );
                }
            }
        }
        // Ring every invited user with the final list of others.
        let everyone: Vec<String> = st
            .calls
            .get(&call_id)
            .map(|c| c.participants.iter().map(|p| p.id.clone()).collect())
            .unwrap_or_default();
        if let Some(caller) = caller_info {
            let ringing: Vec<String> = st
                .calls
                .get(&call_id)
                .map(|c| {
                    c.participants
                        .iter()
                        .filter(|p| p.state == ParticipantState::Ringing)
                        .map(|p| p.id.clone())
                        .collect()
                })
                .unwrap_or_default();
            for callee in ringing {
                let others: Vec<String> = everyone
                    .iter()
                    .filter(|id| **id != callee && **id != caller.id)
                    .cloned()
                    .collect();
                st.send_user(
                    &callee,
                    &ServerMessage::IncomingCall {
                        call_id: call_id.clone(),
                        caller: caller.clone(),
                        others: others.clone(),
                    },
                );
                if !st.user_live(&callee) {
                    if let Some(idx) = st.calls.get(&call_id).and_then(|c| c.find(&callee)) {
                        let timeout = self.config.setup_timeout;
                        self.push_ring(&mut st, &call_id, idx, &caller, others, timeout);
                    }
                }
            }
        }
        let roster = st.roster(&call_id, &user);
        st.send(
            conn,
            ServerMessage::Roster {
                call_id: call_id.clone(),
                participants: roster,
            },
        );
        st.finish_setup(&call_id, &user);
        st.end_if_alone(&self.sfu, &call_id, last_failure);
    }

    fn user_exists(&self, id: &str) -> bool {
        self.identity.exists(id)
    }

    /// `Accept`: a ringing callee joins with its offer.
    pub async fn accept(
        self: &Arc<Self>,
        conn: ConnId,
        req: u64,
        call_id: String,
        media: MediaOffer,
    ) {
        let Some((user, _)) = self.conn_user(conn) else {
            return;
        };
        let prepared = {
            let mut st = self.state.lock();
            if let Err(e) = authz::invitee(&st, &user, &call_id) {
                st.respond(conn, req, Err(e));
                return;
            }
            let Some(session) = st.media_session(conn, req, &media) else {
                return;
            };
            let found = st.calls.get_mut(&call_id).and_then(|call| {
                let key = call.key;
                let idx = call.find(&user)?;
                let p = &mut call.participants[idx];
                // Leaves Ringing now so the ring timer and other devices cannot take it.
                p.state = ParticipantState::Connecting;
                p.setting_up = true;
                p.conn = Some(conn);
                p.session = Some(session);
                Some((key, p.epoch))
            });
            match found {
                Some((key, epoch)) => {
                    st.sessions.insert(session, (call_id.clone(), user.clone()));
                    Some(Reservation {
                        key,
                        session,
                        epoch,
                    })
                }
                None => None,
            }
        };
        let Some(reservation) = prepared else {
            return;
        };
        let epoch = reservation.epoch;
        let attach = Attach {
            setup: Setup::Accept,
            conn,
            req,
            call_id: &call_id,
            user: &user,
            reservation,
        };
        let Some((mut st, idx)) = self.attach_media(attach, media, false).await else {
            return;
        };
        // The user's other devices stop ringing.
        let answered_elsewhere = ServerMessage::CallState {
            call_id: call_id.clone(),
            state: CallState::Disconnected,
            end_reason: Some(EndReason::LOCAL_HANGUP),
        };
        for c in st.user_conns.get(&user).cloned().unwrap_or_default() {
            if c != conn {
                st.send(c, answered_elsewhere.clone());
            }
        }
        self.answer_inbound_legs(&mut st, &call_id);
        st.welcome_joiner(conn, &call_id, &user, idx);
        st.finish_setup(&call_id, &user);
        drop(st);
        self.spawn_media_timer(&call_id, &user, epoch);
    }

    /// `Reject`: a ringing callee declines.
    pub fn reject(&self, conn: ConnId, req: u64, call_id: &str) {
        let Some((user, _)) = self.conn_user(conn) else {
            return;
        };
        let mut st = self.state.lock();
        if let Err(e) = authz::invitee(&st, &user, call_id) {
            st.respond(conn, req, Err(e));
            return;
        }
        st.respond(conn, req, Ok(None));
        st.remove_participant(
            &self.sfu,
            call_id,
            &user,
            EndReason::DECLINED,
            EndReason::DECLINED,
        );
    }

    /// `RestartIce`: the participant's media path changed or was lost; its new ICE offer
    /// goes to its SFU session and the answer back in the Response.
    pub async fn restart_ice(&self, conn: ConnId, req: u64, call_id: &str, offer: String) {
        let session = {
            let st = self.state.lock();
            let Some((_, idx)) = st.authorize(conn, req, call_id, Action::RestartIce) else {
                return;
            };
            st.calls
                .get(call_id)
                .and_then(|c| c.participants.get(idx))
                .and_then(|p| p.session)
        };
        let result = match session {
            None => Err(bad("no media session to restart")),
            Some(s) => self.sfu.restart_ice(s, offer).await.map(Some).map_err(|e| {
                ErrorBody::new(EndReason::BAD_REQUEST, format!("ICE restart refused: {e}"))
            }),
        };
        self.state.lock().respond(conn, req, result);
    }

    /// `HangUp`: leave the call, or end it for everyone.
    pub fn hang_up(&self, conn: ConnId, req: u64, call_id: &str, for_everyone: bool) {
        let action = if for_everyone {
            Action::EndForEveryone
        } else {
            Action::HangUp
        };
        let mut st = self.state.lock();
        let Some((pid, _)) = st.authorize(conn, req, call_id, action) else {
            return;
        };
        st.respond(conn, req, Ok(None));
        if for_everyone {
            st.send(
                conn,
                ServerMessage::CallState {
                    call_id: call_id.to_string(),
                    state: CallState::Disconnected,
                    end_reason: Some(EndReason::LOCAL_HANGUP),
                },
            );
            st.end_call(
                &self.sfu,
                call_id,
                EndReason::ENDED_FOR_EVERYONE,
                Some(&pid),
            );
        } else {
            st.remove_participant(
                &self.sfu,
                call_id,
                &pid,
                EndReason::LOCAL_HANGUP,
                EndReason::LOCAL_HANGUP,
            );
        }
    }

    /// `SetMuted`: tells the others.
    pub fn set_muted(&self, conn: ConnId, req: u64, call_id: &str, muted: bool) {
        let mut st = self.state.lock();
        let Some((_, idx)) = st.authorize(conn, req, call_id, Action::SetMuted) else {
            return;
        };
        let consumer = st
            .calls
            .get(call_id)
            .and_then(|c| c.participants.get(idx))
            .is_some_and(|p| p.role == Some(crate::protocol::Role::Consumer));
        if consumer && !muted {
            st.respond(
                conn,
                req,
                Err(ErrorBody::new(
                    EndReason::FORBIDDEN,
                    format!(
                        "not allowed to unmute in call '{call_id}': a room's consumer listens only"
                    ),
                )),
            );
            return;
        }
        if let Some(p) = st
            .calls
            .get_mut(call_id)
            .and_then(|c| c.participants.get_mut(idx))
        {
            p.muted = muted;
            // Unmuting lifts a mute by others (`lobby.rs`): its audio goes through again.
            if let (false, Some(s)) = (muted, p.session) {
                self.sfu.set_audio_blocked(s, false);
            }
        }
        st.respond(conn, req, Ok(None));
        st.announce(call_id, idx);
    }

    /// `SetHold`: the SFU stops forwarding to and from the holder; states follow.
    pub fn set_hold(&self, conn: ConnId, req: u64, call_id: &str, hold: bool) {
        let mut st = self.state.lock();
        let Some((_, idx)) = st.authorize(conn, req, call_id, Action::SetHold) else {
            return;
        };
        let session = st
            .calls
            .get_mut(call_id)
            .and_then(|c| c.participants.get_mut(idx))
            .map(|p| {
                p.held = hold;
                p.state = match (hold, p.media_connected) {
                    (true, _) => ParticipantState::Hold,
                    (false, true) => ParticipantState::Connected,
                    (false, false) => ParticipantState::Connecting,
                };
                p.session
            });
        if let Some(Some(s)) = session {
            self.sfu.set_hold(s, hold);
        }
        st.respond(conn, req, Ok(None));
        st.announce(call_id, idx);
        st.update_call_states(call_id);
    }
}
