//! A room's lobby and muting others.
//!
//! Somebody a room does not list joins a room made with `lobby` ([`crate::rooms`]) as an
//! attendee waiting in the lobby: its call state and participant state are `InLobby`, its
//! media session sits alone in an SFU call of its own (it hears nothing, nobody hears it),
//! it gets no roster and no call events, and the others see it in their roster waiting.
//! Organizers and presenters admit one, several or everyone waiting (its session moves into
//! the call, it gets the roster and becomes Connected) or turn one away (`LOBBY_REJECTED`);
//! nobody admitting within the lobby timeout ends the wait (`LOBBY_TIMEOUT`).
//!
//! Muting others (ACS `mute` of a remote participant, `muteAllRemoteParticipants`): the
//! muted participant is told (`MutedByOthers`: its SDK mutes the microphone) and the SFU
//! drops its audio until it unmutes itself, which it may do unless it is a consumer.

use std::sync::Arc;

use crate::authz::Action;
use crate::calls::{ConnId, Hub, Kind};
use crate::protocol::{EndReason, ErrorBody, Identifier, ParticipantState, ServerMessage};
use crate::refusals::bad;

/// The raw id of a participant named in a request (`8:acs:…`, `4:+…`), or the refusal.
fn raw_id(id: &str) -> Result<String, ErrorBody> {
    Identifier::parse(id)
        .map(|i| i.raw_id())
        .map_err(|e| bad(format!("'{id}': {e}")))
}

fn not_waiting(id: &str) -> ErrorBody {
    ErrorBody::new(
        EndReason::NOT_FOUND,
        format!("{id} is not waiting in the lobby"),
    )
}

impl Hub {
    /// `AdmitParticipants`: moves the named people (or everyone) waiting in the lobby into
    /// the call.
    pub async fn admit(
        self: &Arc<Self>,
        conn: ConnId,
        req: u64,
        call_id: &str,
        ids: &[String],
        all: bool,
    ) {
        let (key, admitted) = {
            let mut st = self.state.lock();
            let Some((me, _)) = st.authorize(conn, req, call_id, Action::Admit) else {
                return;
            };
            let call = st.calls.get_mut(call_id).expect("authorized");
            let chosen: Result<Vec<usize>, ErrorBody> = if all {
                Ok((0..call.participants.len())
                    .filter(|i| call.participants[*i].in_lobby)
                    .collect())
            } else if ids.is_empty() {
                Err(bad("name the participants to admit, or admit all"))
            } else {
                ids.iter()
                    .map(|id| {
                        let raw = raw_id(id)?;
                        call.find(&raw)
                            .filter(|i| call.participants[*i].in_lobby)
                            .ok_or_else(|| not_waiting(&raw))
                    })
                    .collect()
            };
            let chosen = match chosen {
                Ok(c) => c,
                Err(e) => {
                    st.respond(conn, req, Err(e));
                    return;
                }
            };
            let mut admitted = Vec::new();
            for i in chosen {
                let p = &mut call.participants[i];
                p.in_lobby = false;
                p.state = if p.media_connected {
                    ParticipantState::Connected
                } else {
                    ParticipantState::Connecting
                };
                log::info!("call {call_id}: {me} admits {} from the lobby", p.id);
                admitted.push((p.id.clone(), p.session, p.conn));
            }
            (call.key, admitted)
        };
        // Into the call's SFU session group first, so that the admitted hear the others
        // from the moment they are told they are in.
        for (_, session, _) in &admitted {
            if let Some(s) = session {
                if let Err(e) = self.sfu.attach_session(*s, key, false).await {
                    log::warn!("call {call_id}: admitted session {} not moved: {e}", s.0);
                }
            }
        }
        let mut st = self.state.lock();
        st.respond(conn, req, Ok(None));
        for (id, _, pconn) in admitted {
            let Some(idx) = st.calls.get(call_id).and_then(|c| c.find(&id)) else {
                continue;
            };
            if let Some(c) = pconn {
                let roster = st.roster(call_id, &id);
                st.send(
                    c,
                    ServerMessage::Roster {
                        call_id: call_id.to_string(),
                        participants: roster,
                    },
                );
                if let Some(d) = st.dominant.get(call_id) {
                    st.send(c, d.clone());
                }
            }
            st.announce(call_id, idx);
        }
        st.update_call_states(call_id);
    }

    /// `RejectParticipant`: turns somebody waiting in the lobby away (`LOBBY_REJECTED`).
    pub fn reject_from_lobby(&self, conn: ConnId, req: u64, call_id: &str, id: &str) {
        let mut st = self.state.lock();
        let Some((me, _)) = st.authorize(conn, req, call_id, Action::Admit) else {
            return;
        };
        let waiting = raw_id(id).and_then(|raw| {
            let call = &st.calls[call_id];
            call.find(&raw)
                .filter(|i| call.participants[*i].in_lobby)
                .map(|_| raw.clone())
                .ok_or_else(|| not_waiting(&raw))
        });
        match waiting {
            Err(e) => st.respond(conn, req, Err(e)),
            Ok(raw) => {
                log::info!("call {call_id}: {me} turns {raw} away from the lobby");
                st.respond(conn, req, Ok(None));
                let r = EndReason::LOBBY_REJECTED;
                st.remove_participant(&self.sfu, call_id, &raw, r, r);
            }
        }
    }

    /// Ends the wait of `pid` (joined with `epoch`) when nobody admitted it within the lobby
    /// timeout.
    pub(crate) fn spawn_lobby_timer(self: &Arc<Self>, call_id: &str, pid: &str, epoch: u64) {
        let (hub, call_id, pid) = (Arc::clone(self), call_id.to_string(), pid.to_string());
        tokio::spawn(async move {
            tokio::time::sleep(hub.config.lobby_timeout).await;
            let mut st = hub.state.lock();
            let waits = st.calls.get(&call_id).is_some_and(|c| {
                c.find(&pid).is_some_and(|i| {
                    let p = &c.participants[i];
                    p.epoch == epoch && p.in_lobby
                })
            });
            if waits {
                log::info!("call {call_id}: nobody admitted {pid} from the lobby in time");
                let r = EndReason::LOBBY_TIMEOUT;
                st.remove_participant(&hub.sfu, &call_id, &pid, r, r);
            }
        });
    }

    /// `MuteParticipants`: mutes the named participants, or everyone else when none is
    /// named. Users only (a phone cannot be told; the echo bot does not speak).
    pub fn mute_others(&self, conn: ConnId, req: u64, call_id: &str, ids: &[String]) {
        let mut st = self.state.lock();
        let Some((me, my_idx)) = st.authorize(conn, req, call_id, Action::MuteOthers) else {
            return;
        };
        let call = &st.calls[call_id];
        let targets: Result<Vec<usize>, ErrorBody> = if ids.is_empty() {
            Ok((0..call.participants.len())
                .filter(|i| {
                    let p = &call.participants[*i];
                    *i != my_idx && p.kind == Kind::User && p.joined() && !p.in_lobby
                })
                .collect())
        } else {
            ids.iter()
                .map(|id| {
                    let raw = raw_id(id)?;
                    let i = call.find(&raw).ok_or_else(|| {
                        ErrorBody::new(
                            EndReason::NOT_FOUND,
                            format!("{raw} is not in call '{call_id}'"),
                        )
                    })?;
                    let p = &call.participants[i];
                    if i == my_idx {
                        Err(bad("mute yourself with SetMuted"))
                    } else if p.kind != Kind::User {
                        Err(bad(format!("{raw} is not a user: only users can be muted")))
                    } else if !p.joined() || p.in_lobby {
                        Err(bad(format!("{raw} has not joined the call")))
                    } else {
                        Ok(i)
                    }
                })
                .collect()
        };
        let targets = match targets {
            Ok(t) => t,
            Err(e) => {
                st.respond(conn, req, Err(e));
                return;
            }
        };
        st.respond(conn, req, Ok(None));
        for i in targets {
            let p = &mut st.calls.get_mut(call_id).expect("authorized").participants[i];
            if p.muted {
                continue;
            }
            p.muted = true;
            let (pconn, session) = (p.conn, p.session);
            log::info!("call {call_id}: {me} mutes {}", p.id);
            if let Some(s) = session {
                self.sfu.set_audio_blocked(s, true);
            }
            if let Some(c) = pconn {
                st.send(
                    c,
                    ServerMessage::MutedByOthers {
                        call_id: call_id.to_string(),
                        by: me.clone(),
                    },
                );
            }
            st.announce(call_id, i);
        }
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::mpsc::UnboundedReceiver;

    use super::*;
    use crate::media_setup::test_hub::{answer_add, connect, hub, messages};
    use crate::sfu::{SessionId, SfuCommand};

    const GROUP: &str = "0b6f5f0e-8d7c-4a2b-9e1f-3c4d5e6f7a8b";

    async fn join(
        hub: &Arc<Hub>,
        sfu: &mut UnboundedReceiver<SfuCommand>,
        conn: ConnId,
    ) -> SessionId {
        let h = Arc::clone(hub);
        let t = tokio::spawn(async move {
            h.join_group_call(
                conn,
                1,
                GROUP.into(),
                "offer".into(),
                Default::default(),
                false,
            )
            .await
        });
        let id = answer_add(sfu, Ok("answer".into())).await;
        t.await.unwrap();
        id
    }

    fn blocked(sfu: &mut UnboundedReceiver<SfuCommand>) -> Vec<(SessionId, bool)> {
        let mut out = Vec::new();
        while let Ok(c) = sfu.try_recv() {
            if let SfuCommand::SetAudioBlocked { id, on } = c {
                out.push((id, on));
            }
        }
        out
    }

    fn error_code(msgs: &[ServerMessage], req: u64) -> Option<Option<i32>> {
        msgs.iter().find_map(|m| match m {
            ServerMessage::Response { req: r, error, .. } if *r == req => {
                Some(error.as_ref().map(|e| e.code))
            }
            _ => None,
        })
    }

    /// The service's part of muting others, which a client that ignores `MutedByOthers`
    /// cannot undo: the SFU drops the muted participant's audio until it unmutes itself.
    #[tokio::test]
    async fn the_muted_is_told_and_its_audio_dropped_until_it_unmutes() {
        let (hub, mut sfu) = hub();
        let (a, mut a_rx) = connect(&hub, "8:acs:alice");
        let (b, mut b_rx) = connect(&hub, "8:acs:bob");
        join(&hub, &mut sfu, a).await;
        let sb = join(&hub, &mut sfu, b).await;
        messages(&mut a_rx);
        messages(&mut b_rx);
        blocked(&mut sfu);

        // Refused: oneself, somebody not in the call, a malformed id.
        hub.mute_others(a, 2, GROUP, &["8:acs:alice".into()]);
        hub.mute_others(a, 3, GROUP, &["8:acs:carol".into()]);
        hub.mute_others(a, 4, GROUP, &["nobody".into()]);
        let got = messages(&mut a_rx);
        assert_eq!(error_code(&got, 2), Some(Some(400)), "{got:?}");
        assert_eq!(error_code(&got, 3), Some(Some(404)), "{got:?}");
        assert_eq!(error_code(&got, 4), Some(Some(400)), "{got:?}");
        assert!(blocked(&mut sfu).is_empty());

        hub.mute_others(a, 5, GROUP, &["8:acs:bob".into()]);
        assert_eq!(error_code(&messages(&mut a_rx), 5), Some(None));
        let told = messages(&mut b_rx);
        assert!(
            told.iter().any(|m| matches!(
                m,
                ServerMessage::MutedByOthers { call_id, by } if call_id == GROUP && by == "8:acs:alice"
            )),
            "{told:?}"
        );
        assert_eq!(blocked(&mut sfu), vec![(sb, true)]);
        // Muting everyone again changes nothing for the already muted.
        hub.mute_others(a, 6, GROUP, &[]);
        assert!(blocked(&mut sfu).is_empty());
        assert!(!messages(&mut b_rx)
            .iter()
            .any(|m| matches!(m, ServerMessage::MutedByOthers { .. })));

        // Bob unmutes himself: his audio goes through again.
        hub.set_muted(b, 7, GROUP, false);
        assert_eq!(blocked(&mut sfu), vec![(sb, false)]);
    }
}
