//! Call transfer (ACS `transfer`): one side of a 1:1 call (the transferor) moves the other
//! (the transferee) to a target user or phone number.
//!
//! The transferee is asked first (`TransferRequested`; a phone transferee cannot be asked
//! and accepts). Accepted, the target rings into the same call, invited by the transferee;
//! when the target's media connects the transferor leaves with `TRANSFERRED` and the call
//! goes on as a 1:1 call of the transferee and the target. A refusal, the target declining,
//! being busy or unreachable, either party leaving, or the transfer timeout (60 s) ends the
//! transfer as `Failed` with that reason and leaves the original call as it was. Both the
//! transferor and the transferee get every `TransferUpdated`.

use crate::authz::Action;
use crate::calls::{ConnId, Hub, HubState, Kind};
use crate::protocol::{EndReason, ErrorBody, Identifier, ServerMessage, TransferState};
use crate::refusals::bad;
use crate::sfu::SfuHandle;
use std::sync::Arc;

/// Where a transfer stands, kept on its call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    AskingTransferee,
    RingingTarget,
}

/// A transfer under way.
#[derive(Debug, Clone)]
pub(crate) struct Transfer {
    pub transferor: String,
    pub transferee: String,
    pub target: String,
    pub stage: Stage,
    /// Tells this transfer's timer from a later one's.
    pub epoch: u64,
    /// For the removals a completed or failed transfer makes.
    sfu: SfuHandle,
}

impl HubState {
    /// Sends `msg` to participant `pid` of `call_id` when it is a connected user.
    fn send_participant(&self, call_id: &str, pid: &str, msg: ServerMessage) {
        let conn = self
            .calls
            .get(call_id)
            .and_then(|c| c.find(pid).map(|i| &c.participants[i]))
            .filter(|p| p.kind == Kind::User)
            .and_then(|p| p.conn);
        if let Some(c) = conn {
            self.send(c, msg);
        }
    }

    /// Tells the transferor and the transferee where `t` stands.
    fn tell_transfer(
        &self,
        call_id: &str,
        t: &Transfer,
        state: TransferState,
        reason: Option<EndReason>,
    ) {
        for pid in [&t.transferor, &t.transferee] {
            self.send_participant(
                call_id,
                pid,
                ServerMessage::TransferUpdated {
                    call_id: call_id.to_string(),
                    state,
                    target: t.target.clone(),
                    end_reason: reason,
                },
            );
        }
    }

    /// Ends the transfer of `call_id` as failed with `reason`: the target, if it still rings,
    /// is cancelled; the call is 1:1 again.
    pub(crate) fn fail_transfer(&mut self, call_id: &str, reason: EndReason) {
        let Some(t) = self.calls.get_mut(call_id).and_then(|c| c.transfer.take()) else {
            return;
        };
        log::info!(
            "call {call_id}: transfer of {} to {} failed ({}/{})",
            t.transferee,
            t.target,
            reason.code,
            reason.subcode
        );
        self.tell_transfer(call_id, &t, TransferState::Failed, Some(reason));
        if t.stage == Stage::RingingTarget {
            let ringing = self
                .calls
                .get(call_id)
                .and_then(|c| c.find(&t.target).map(|i| &c.participants[i]))
                .is_some_and(|p| !p.joined());
            if ringing {
                let r = EndReason::CANCELLED;
                self.remove_participant(&t.sfu, call_id, &t.target, r, r);
            }
            if let Some(c) = self.calls.get_mut(call_id) {
                c.group = false;
            }
        }
    }

    /// A participant of `call_id` left with `reason`: a transfer it took part in fails.
    pub(crate) fn transfer_participant_left(
        &mut self,
        call_id: &str,
        pid: &str,
        reason: EndReason,
    ) {
        let involved = self
            .calls
            .get(call_id)
            .and_then(|c| c.transfer.as_ref())
            .is_some_and(|t| t.transferor == pid || t.transferee == pid || t.target == pid);
        if involved {
            self.fail_transfer(call_id, reason);
        }
    }

    /// After a change in `call_id`: a target whose media connected completes its transfer
    /// (the transferor leaves with `TRANSFERRED`).
    pub(crate) fn transfer_progress(&mut self, call_id: &str) {
        let done = self.calls.get(call_id).is_some_and(|c| {
            c.transfer.as_ref().is_some_and(|t| {
                t.stage == Stage::RingingTarget
                    && c.find(&t.target).is_some_and(|i| {
                        let p = &c.participants[i];
                        p.joined() && (p.media_connected || p.kind == Kind::Phone)
                    })
            })
        });
        if !done {
            return;
        }
        let Some(t) = self.calls.get_mut(call_id).and_then(|c| c.transfer.take()) else {
            return;
        };
        log::info!(
            "call {call_id}: {} transferred {} to {}",
            t.transferor,
            t.transferee,
            t.target
        );
        self.tell_transfer(call_id, &t, TransferState::Transferred, None);
        let r = EndReason::TRANSFERRED;
        self.remove_participant(&t.sfu, call_id, &t.transferor, r, r);
        if let Some(c) = self.calls.get_mut(call_id) {
            c.group = false;
        }
        self.update_call_states(call_id);
    }
}

impl Hub {
    /// `Transfer`: asks the other side of this 1:1 call to move to `target`.
    pub fn transfer(self: &Arc<Self>, conn: ConnId, req: u64, call_id: &str, target: &str) {
        let mut st = self.state.lock();
        let Some((me, _)) = st.authorize(conn, req, call_id, Action::AddParticipant) else {
            return;
        };
        let checked = (|| {
            let call = st
                .calls
                .get(call_id)
                .ok_or_else(|| bad(format!("no call {call_id}")))?;
            if call.group {
                return Err(bad("only a 1:1 call can be transferred"));
            }
            if call.transfer.is_some() {
                return Err(bad("a transfer of this call is under way"));
            }
            let other = call
                .participants
                .iter()
                .find(|p| p.id != me && p.joined())
                .ok_or_else(|| bad("nobody to transfer: the other side has not joined"))?;
            let id = Identifier::parse(target).map_err(|e| bad(e.to_string()))?;
            let raw = id.raw_id();
            match &id {
                Identifier::EchoBot => {
                    return Err(bad("a call cannot be transferred to the echo bot"))
                }
                Identifier::CommunicationUser(u) if !self.identity.exists(u) => {
                    return Err(ErrorBody::new(EndReason::NOT_FOUND, format!("no user {u}")))
                }
                _ => {}
            }
            if raw == me || raw == other.id {
                return Err(bad(format!("{raw} is already in the call")));
            }
            Ok((other.id.clone(), other.kind, raw))
        })();
        let (transferee, kind, raw) = match checked {
            Ok(x) => x,
            Err(e) => {
                st.respond(conn, req, Err(e));
                return;
            }
        };
        let epoch = st.next();
        let t = Transfer {
            transferor: me.clone(),
            transferee: transferee.clone(),
            target: raw.clone(),
            stage: Stage::AskingTransferee,
            epoch,
            sfu: self.sfu.clone(),
        };
        if let Some(c) = st.calls.get_mut(call_id) {
            c.transfer = Some(t.clone());
        }
        st.respond(conn, req, Ok(None));
        log::info!("call {call_id}: {me} transfers {transferee} to {raw}");
        st.tell_transfer(call_id, &t, TransferState::Requested, None);
        if kind == Kind::User {
            st.send_participant(
                call_id,
                &transferee,
                ServerMessage::TransferRequested {
                    call_id: call_id.to_string(),
                    transferor: me,
                    target: raw,
                },
            );
        } else {
            // A phone cannot be asked: it goes where it is sent.
            self.ring_target(&mut st, call_id);
        }
        self.spawn_transfer_timer(call_id, epoch);
    }

    /// `AnswerTransfer`: the transferee accepts (the target rings) or refuses.
    pub fn answer_transfer(self: &Arc<Self>, conn: ConnId, req: u64, call_id: &str, accept: bool) {
        let Some((user, _)) = self.conn_user(conn) else {
            return;
        };
        let mut st = self.state.lock();
        let asked = st
            .calls
            .get(call_id)
            .and_then(|c| c.transfer.as_ref())
            .is_some_and(|t| t.transferee == user && t.stage == Stage::AskingTransferee);
        if !asked {
            st.respond(
                conn,
                req,
                Err(bad(format!(
                    "no transfer of call {call_id} waits for {user}'s answer"
                ))),
            );
            return;
        }
        st.respond(conn, req, Ok(None));
        if accept {
            self.ring_target(&mut st, call_id);
        } else {
            st.fail_transfer(call_id, EndReason::TRANSFER_REFUSED);
        }
    }

    /// The transferee accepted: the target rings into the call, invited by the transferee.
    fn ring_target(self: &Arc<Self>, st: &mut HubState, call_id: &str) {
        let Some(t) = st.calls.get_mut(call_id).and_then(|c| {
            let t = c.transfer.as_mut()?;
            t.stage = Stage::RingingTarget;
            Some(t.clone())
        }) else {
            return;
        };
        st.tell_transfer(call_id, &t, TransferState::Transferring, None);
        if let Err(e) = self.invite(st, None, call_id, &t.transferee, &t.target, None) {
            log::info!(
                "call {call_id}: transfer target {} unreachable: {}",
                t.target,
                e.message
            );
            st.fail_transfer(call_id, e.reason());
        }
    }

    /// Fails transfer `epoch` of `call_id` if it has not completed within the timeout.
    fn spawn_transfer_timer(self: &Arc<Self>, call_id: &str, epoch: u64) {
        let (hub, call_id) = (Arc::clone(self), call_id.to_string());
        tokio::spawn(async move {
            tokio::time::sleep(hub.config.transfer_timeout).await;
            let mut st = hub.state.lock();
            let pending = st
                .calls
                .get(&call_id)
                .and_then(|c| c.transfer.as_ref())
                .is_some_and(|t| t.epoch == epoch);
            if pending {
                st.fail_transfer(&call_id, EndReason::TRANSFER_TIMEOUT);
            }
        });
    }
}
