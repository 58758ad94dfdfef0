//! Group-call requests: join by group id, invite (add) a participant — which promotes a
//! 1:1 call to a group call — and remove a participant.

use std::sync::Arc;

use crate::authz::Action;
use crate::calls::{Call, ConnId, Hub, HubState, Participant};
use crate::media_setup::{Attach, MediaOffer, Reservation, Setup};
use crate::protocol::{
    EndReason, ErrorBody, Identifier, JoinState, ParticipantState, ServerMessage, VideoStreamKind,
};
use crate::refusals::{bad, not_in_call};
use crate::sfu::CallKey;

fn call_full(max: usize) -> ErrorBody {
    ErrorBody::new(
        EndReason::CALL_FULL,
        format!("the call is full ({max} participants)"),
    )
}

impl HubState {
    /// Display name of a connected user (its first connection), or "".
    fn display_name_of(&self, user: &str) -> String {
        self.user_conns
            .get(user)
            .and_then(|c| c.first())
            .and_then(|c| self.conns.get(c))
            .map(|c| c.display_name.clone())
            .unwrap_or_default()
    }

    /// Participants that count against the call limit (everyone in the roster).
    fn occupancy(&self, call_id: &str) -> usize {
        self.calls.get(call_id).map_or(0, |c| c.participants.len())
    }
}

impl Hub {
    /// `JoinGroupCall`: joins (or creates) the group call `group_id` with this offer, muted
    /// or sending video from the start when `state` says so.
    pub async fn join_group_call(
        self: &Arc<Self>,
        conn: ConnId,
        req: u64,
        group_id: String,
        media: MediaOffer,
        state: JoinState,
        room: bool,
    ) {
        let Some((user, name)) = self.conn_user(conn) else {
            return;
        };
        let entry = if room {
            match self.rooms.entry_of(group_id.trim(), &user) {
                Ok(r) => Some(r),
                Err(e) => {
                    let reason = match e {
                        crate::rooms::RoomRefusal::Unknown(_) => EndReason::NOT_FOUND,
                        _ => EndReason::FORBIDDEN,
                    };
                    log::info!("{user} may not join room {group_id}: {e}");
                    self.state.lock().respond(
                        conn,
                        req,
                        Err(ErrorBody::new(reason, e.to_string())),
                    );
                    return;
                }
            }
        } else {
            None
        };
        let in_lobby = entry == Some(crate::rooms::Entry::Lobby);
        let role = entry.map(|e| match e {
            crate::rooms::Entry::Listed(r) => r,
            crate::rooms::Entry::Lobby => crate::protocol::Role::Attendee,
        });
        let listen_only = role == Some(crate::protocol::Role::Consumer);
        let prepared = {
            let mut st = self.state.lock();
            let check = (|| {
                if uuid::Uuid::parse_str(group_id.trim()).is_err() {
                    return Err(bad(format!("group id '{group_id}' is not a UUID")));
                }
                if let Some(call) = st.calls.get(&group_id) {
                    if !call.group {
                        return Err(ErrorBody::new(
                            EndReason::FORBIDDEN,
                            format!("'{group_id}' is not a group call"),
                        ));
                    }
                    if let Some(i) = call.find(&user) {
                        if call.participants[i].state != ParticipantState::Ringing {
                            return Err(bad("already in this call"));
                        }
                    } else if call.participants.len() >= self.config.max_participants {
                        return Err(call_full(self.config.max_participants));
                    }
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
                    let epoch = st.next();
                    if !st.calls.contains_key(&group_id) {
                        let key = CallKey(st.next());
                        st.calls.insert(
                            group_id.clone(),
                            Call {
                                key,
                                participants: Vec::new(),
                                group: true,
                                transfer: None,
                            },
                        );
                        st.keys.insert(key, group_id.clone());
                    }
                    // Somebody waiting in the lobby is alone in an SFU call of its own until
                    // admitted: it hears nothing and nobody hears it (`lobby.rs` moves it in).
                    let lobby_key = in_lobby.then(|| CallKey(st.next()));
                    let call = st.calls.get_mut(&group_id).expect("inserted above");
                    let key = lobby_key.unwrap_or(call.key);
                    let mut me = Participant::joining(&user, &name, conn, session, epoch);
                    me.muted = state.muted || listen_only;
                    me.role = role;
                    if in_lobby {
                        me.in_lobby = true;
                        me.state = ParticipantState::InLobby;
                    }
                    me.set_sending(VideoStreamKind::Video, state.video && !listen_only);
                    me.set_sending(
                        VideoStreamKind::ScreenShare,
                        state.screen_sharing && !listen_only,
                    );
                    // An invited user who joins by id takes its invitation's place.
                    match call.find(&user) {
                        Some(i) => call.participants[i] = me,
                        None => call.participants.push(me),
                    }
                    st.sessions
                        .insert(session, (group_id.clone(), user.clone()));
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
        let attach = Attach {
            setup: Setup::JoinGroup,
            conn,
            req,
            call_id: &group_id,
            user: &user,
            reservation,
        };
        let Some((mut st, idx)) = self.attach_media(attach, media, false).await else {
            return;
        };
        if listen_only {
            // A consumer's media goes nowhere, whatever its client sends.
            if let Some(s) = st.calls[&group_id].participants[idx].session {
                self.sfu.set_listen_only(s, true);
            }
        }
        st.tell_connecting(conn, &group_id, idx);
        st.welcome_joiner(conn, &group_id, &user, idx);
        st.finish_setup(&group_id, &user);
        drop(st);
        if in_lobby {
            log::info!("call {group_id}: {user} waits in the lobby");
            self.spawn_lobby_timer(&group_id, &user, epoch);
        } else {
            log::info!("call {group_id}: {user} joins");
        }
        self.spawn_media_timer(&group_id, &user, epoch);
    }

    /// `AddParticipant`: rings `target` into the call; a 1:1 call becomes a group call.
    pub fn add_participant(
        self: &Arc<Self>,
        conn: ConnId,
        req: u64,
        call_id: &str,
        target: &str,
        caller_id: Option<String>,
    ) {
        let mut st = self.state.lock();
        let Some((me, _)) = st.authorize(conn, req, call_id, Action::AddParticipant) else {
            return;
        };
        if let Err(e) = self.invite(&mut st, Some((conn, req)), call_id, &me, target, caller_id) {
            st.respond(conn, req, Err(e));
        }
    }

    /// Rings `target` into `call_id` on behalf of `me` (a 1:1 call becomes a group call);
    /// `reply` is answered OK before the others hear of the invitee.
    pub(crate) fn invite(
        self: &Arc<Self>,
        st: &mut HubState,
        reply: Option<(ConnId, u64)>,
        call_id: &str,
        me: &str,
        target: &str,
        caller_id: Option<String>,
    ) -> Result<(), ErrorBody> {
        let check = (|| {
            let id = Identifier::parse(target).map_err(|e| bad(e.to_string()))?;
            let raw = id.raw_id();
            let call = st.calls.get(call_id).ok_or_else(|| not_in_call(call_id))?;
            if raw == me || call.find(&raw).is_some() {
                return Err(bad(format!("{raw} is already in the call")));
            }
            match &id {
                Identifier::EchoBot => {
                    return Err(bad("the echo bot can only be called on its own"));
                }
                Identifier::PhoneNumber(_) => {}
                Identifier::CommunicationUser(u) => {
                    if !self.identity.exists(u) {
                        return Err(ErrorBody::new(EndReason::NOT_FOUND, format!("no user {u}")));
                    }
                    if st.user_conns.get(u).is_none_or(|c| c.is_empty())
                        && !self.has_push_targets(u)
                    {
                        return Err(ErrorBody::new(
                            EndReason::UNAVAILABLE,
                            format!("{u} is not connected"),
                        ));
                    }
                }
            }
            if st.occupancy(call_id) >= self.config.max_participants {
                return Err(call_full(self.config.max_participants));
            }
            Ok(raw)
        })();
        let raw = check?;
        if raw.starts_with("4:") {
            return self.add_phone(st, reply, call_id, me, &raw, caller_id);
        }
        let epoch = st.next();
        let display_name = st.display_name_of(&raw);
        let Some(call) = st.calls.get_mut(call_id) else {
            return Err(not_in_call(call_id));
        };
        let promoting = !call.group;
        call.group = true;
        call.participants
            .push(Participant::ringing(&raw, display_name, epoch));
        let idx = call.participants.len() - 1;
        let inviter = call
            .participants
            .iter()
            .find(|p| p.id == me)
            .map(Participant::info);
        let others: Vec<String> = call
            .participants
            .iter()
            .filter(|p| p.id != me && p.id != raw)
            .map(|p| p.id.clone())
            .collect();
        if let Some((conn, req)) = reply {
            st.respond(conn, req, Ok(None));
        }
        if let Some(caller) = inviter {
            st.send_user(
                &raw,
                &ServerMessage::IncomingCall {
                    call_id: call_id.to_string(),
                    caller: caller.clone(),
                    others: others.clone(),
                },
            );
            if !st.user_live(&raw) {
                let timeout = if promoting {
                    self.config.promote_timeout
                } else {
                    self.config.setup_timeout
                };
                self.push_ring(st, call_id, idx, &caller, others, timeout);
            }
        }
        // Everyone joined (the inviter included) sees the invitee ringing.
        let info = st.calls[call_id].participants[idx].info();
        st.broadcast(
            call_id,
            Some(&raw),
            &ServerMessage::ParticipantUpdated {
                call_id: call_id.to_string(),
                participant: info,
            },
        );
        st.update_call_states(call_id);
        log::info!(
            "call {call_id}: {me} invites {raw}{}",
            if promoting {
                " (promoted to a group call)"
            } else {
                ""
            }
        );
        let timeout = if promoting {
            self.config.promote_timeout
        } else {
            self.config.setup_timeout
        };
        self.spawn_ring_timer(call_id, &raw, epoch, timeout);
        Ok(())
    }

    /// `AddParticipant` of a phone number: dials it into the call (a 1:1 call becomes a
    /// group call), with the caller id `me` may present.
    fn add_phone(
        self: &Arc<Self>,
        st: &mut HubState,
        reply: Option<(ConnId, u64)>,
        call_id: &str,
        me: &str,
        raw: &str,
        caller_id: Option<String>,
    ) -> Result<(), ErrorBody> {
        let from = self.numbers.caller_id_for(me, caller_id.as_deref())?;
        let idx = self.dial_phone(st, call_id, raw, from)?;
        let Some(call) = st.calls.get_mut(call_id) else {
            return Err(not_in_call(call_id));
        };
        let promoting = !call.group;
        call.group = true;
        let info = call.participants[idx].info();
        if let Some((conn, req)) = reply {
            st.respond(conn, req, Ok(None));
        }
        st.broadcast(
            call_id,
            None,
            &ServerMessage::ParticipantUpdated {
                call_id: call_id.to_string(),
                participant: info,
            },
        );
        st.update_call_states(call_id);
        log::info!(
            "call {call_id}: {me} adds phone {raw}{}",
            if promoting {
                " (promoted to a group call)"
            } else {
                ""
            }
        );
        Ok(())
    }

    /// `RemoveParticipant`: `target` leaves with `REMOVED` (an invitation is cancelled).
    pub fn remove_other(&self, conn: ConnId, req: u64, call_id: &str, target: &str) {
        let mut st = self.state.lock();
        let Some((me, _)) = st.authorize(conn, req, call_id, Action::RemoveParticipant) else {
            return;
        };
        let raw = match Identifier::parse(target) {
            Ok(id) => id.raw_id(),
            Err(e) => {
                st.respond(conn, req, Err(bad(e.to_string())));
                return;
            }
        };
        if raw == me {
            st.respond(conn, req, Err(bad("to leave the call, hang up")));
            return;
        }
        let state = st
            .calls
            .get(call_id)
            .and_then(|c| c.find(&raw).map(|i| c.participants[i].state));
        let Some(state) = state else {
            st.respond(
                conn,
                req,
                Err(ErrorBody::new(
                    EndReason::NOT_FOUND,
                    format!("{raw} is not in the call"),
                )),
            );
            return;
        };
        st.respond(conn, req, Ok(None));
        let self_reason = if state == ParticipantState::Ringing {
            EndReason::CANCELLED
        } else {
            EndReason::REMOVED
        };
        log::info!("call {call_id}: {me} removes {raw}");
        st.remove_participant(&self.sfu, call_id, &raw, EndReason::REMOVED, self_reason);
    }
}
