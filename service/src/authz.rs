//! Who may do what on a call: the service's rule, written once here and checked by every
//! request handler under the hub's lock, in the same critical section as the change it
//! guards (so no one can leave or be removed between the check and the act).
//!
//! The rule:
//! 1. Any authenticated user may start a call (`StartCall`) to anyone, and may join a group
//!    call by its id (`JoinGroupCall`): the group id is the invitation, as in ACS.
//! 2. Only a *participant* acts on a call. A participant is the signaling connection that
//!    joined the call (started it, accepted it, or joined the group) and has not left or
//!    been removed. Hang up, end for everyone, mute, hold, video, video subscriptions, DTMF,
//!    ICE restart, adding participants and removing others all require it. Another device
//!    of the same user, an invitee whose phone still rings, a former participant and any
//!    other client get `403` with the reason, and the call is left as it was.
//! 3. Changing the roster — adding participants, removing another participant, ending the
//!    call for everyone, muting others — is open to every participant of an ordinary call.
//!    In a room the participant's role decides ([`role_allows`]): organizers and presenters
//!    change the roster, admit from the lobby and mute others; only organizers end the
//!    meeting for everyone. Somebody waiting in the lobby may only hang up and set up its
//!    own media.
//! 4. An invitee whose phone rings may only answer (`Accept`) or decline (`Reject`) its own
//!    invitation; anyone else who tries gets `403`.
//! 5. A call id that does not exist is `404`, not `403`: a stale or mistyped id is not a
//!    refusal.

use crate::calls::{ConnId, HubState};
use crate::protocol::{EndReason, ErrorBody, ParticipantState, Role};

/// What a client asks to do on an existing call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Action {
    HangUp,
    EndForEveryone,
    SetMuted,
    SetHold,
    SetVideo,
    SubscribeVideo,
    UnsubscribeVideo,
    SendDtmf,
    RestartIce,
    AddParticipant,
    RemoveParticipant,
    /// Admit from or turn away from a room's lobby.
    Admit,
    MuteOthers,
}

impl Action {
    /// How the refusal names the action.
    fn describe(self) -> &'static str {
        match self {
            Action::HangUp => "hang up",
            Action::EndForEveryone => "end the call for everyone",
            Action::SetMuted => "mute or unmute",
            Action::SetHold => "hold or resume",
            Action::SetVideo => "start or stop video",
            Action::SubscribeVideo => "subscribe to video",
            Action::UnsubscribeVideo => "unsubscribe from video",
            Action::SendDtmf => "send DTMF",
            Action::RestartIce => "restart ICE",
            Action::AddParticipant => "add participants",
            Action::RemoveParticipant => "remove participants",
            Action::Admit => "admit or reject people waiting in the lobby",
            Action::MuteOthers => "mute others",
        }
    }
}

fn forbidden(call_id: &str, action: Action, why: &str) -> ErrorBody {
    ErrorBody::new(
        EndReason::FORBIDDEN,
        format!(
            "not allowed to {} in call '{call_id}': {why}",
            action.describe()
        ),
    )
}

fn no_such_call(call_id: &str) -> ErrorBody {
    ErrorBody::new(EndReason::NOT_FOUND, format!("no call '{call_id}'"))
}

/// Rule 2 (and 3, 5): the participant `conn` acts as in `call_id` — its id and roster index —
/// or the refusal.
pub(crate) fn participant(
    st: &HubState,
    conn: ConnId,
    call_id: &str,
    action: Action,
) -> Result<(String, usize), ErrorBody> {
    let call = st.calls.get(call_id).ok_or_else(|| no_such_call(call_id))?;
    let Some(idx) = call.participants.iter().position(|p| p.conn == Some(conn)) else {
        let user = st.conns.get(&conn).map(|c| c.user_id.as_str());
        let why = match user.and_then(|u| call.find(u).map(|i| &call.participants[i])) {
            Some(p) if p.state == ParticipantState::Ringing => {
                "you are invited but have not joined (accept or reject the call)"
            }
            Some(_) => "this device did not join the call (another device of yours did)",
            None => "you are not a participant of this call",
        };
        return Err(forbidden(call_id, action, why));
    };
    // Somebody waiting in the lobby may only leave or set up its own media.
    if call.participants[idx].in_lobby
        && !matches!(
            action,
            Action::HangUp
                | Action::SetMuted
                | Action::SetVideo
                | Action::RestartIce
                | Action::UnsubscribeVideo
        )
    {
        return Err(forbidden(call_id, action, "you wait in the lobby"));
    }
    // Rule 3: in a room, the role decides (see `role_allows`); elsewhere every participant
    // may change the roster.
    if let Some(role) = call.participants[idx].role {
        if !role_allows(role, action) {
            return Err(forbidden(
                call_id,
                action,
                &format!("a room's {} may not", role_name(role)),
            ));
        }
    }
    Ok((call.participants[idx].id.clone(), idx))
}

/// What a room role may do: organizers everything; presenters all but ending the meeting
/// for everyone; attendees not change the roster; consumers only listen and watch (no video,
/// no roster changes; unmuting is refused by `set_muted`).
pub(crate) fn role_allows(role: Role, action: Action) -> bool {
    match action {
        Action::EndForEveryone => role == Role::Organizer,
        Action::AddParticipant | Action::RemoveParticipant | Action::Admit | Action::MuteOthers => {
            matches!(role, Role::Organizer | Role::Presenter)
        }
        Action::SetVideo | Action::SendDtmf => role != Role::Consumer,
        _ => true,
    }
}

pub(crate) fn role_name(role: Role) -> &'static str {
    match role {
        Role::Organizer => "organizer",
        Role::Presenter => "presenter",
        Role::Attendee => "attendee",
        Role::Consumer => "consumer",
    }
}

/// Rule 4: `user` is invited to `call_id` and its phone still rings — or the refusal.
pub(crate) fn invitee(st: &HubState, user: &str, call_id: &str) -> Result<(), ErrorBody> {
    let call = st.calls.get(call_id).ok_or_else(|| no_such_call(call_id))?;
    match call.find(user).map(|i| call.participants[i].state) {
        Some(ParticipantState::Ringing) => Ok(()),
        Some(_) => Err(ErrorBody::new(
            EndReason::FORBIDDEN,
            format!("call '{call_id}' was already answered or joined"),
        )),
        None => Err(ErrorBody::new(
            EndReason::FORBIDDEN,
            format!("not invited to call '{call_id}'"),
        )),
    }
}

impl HubState {
    /// [`participant`], answering the request `req` with the refusal when there is one.
    pub(crate) fn authorize(
        &self,
        conn: ConnId,
        req: u64,
        call_id: &str,
        action: Action,
    ) -> Option<(String, usize)> {
        match participant(self, conn, call_id, action) {
            Ok(me) => Some(me),
            Err(e) => {
                log::info!("connection {} refused: {}", conn.0, e.message);
                self.respond(conn, req, Err(e));
                None
            }
        }
    }
}
