//! A room's lobby and muting others, from a participant's side: organizers and presenters
//! admit people waiting in the lobby ([`ParticipantState::InLobby`]) or turn them away, and
//! mute others; the service enforces who may (refusals come back as
//! [`AgentEvent::CallActionFailed`]). Being muted by someone else mutes the microphone and
//! raises [`AgentEvent::MutedByOthers`].
//!
//! [`AgentEvent::CallActionFailed`]: super::AgentEvent::CallActionFailed
//! [`AgentEvent::MutedByOthers`]: super::AgentEvent::MutedByOthers

use super::call::Call;
use super::call_roster::CallNotice;
use super::events::CallAction;
use super::participant::RemoteParticipant;
use crate::error::{Error, Result};
use crate::protocol::{ClientMessage, ParticipantState};

impl Call {
    /// Admits `participants` waiting in the lobby (ACS `admit`): they join as attendees.
    /// `NotFound` when one of them is not waiting in this call's lobby (as this client's
    /// roster shows it); a refusal by the service (a role that may not admit: 403) arrives
    /// as [`AgentEvent::CallActionFailed`](super::AgentEvent::CallActionFailed).
    pub fn admit(&self, participants: &[RemoteParticipant]) -> Result<()> {
        if participants.is_empty() {
            return Err(Error::InvalidArgument("nobody to admit".into()));
        }
        let ids = self.waiting(participants)?;
        let first = ids[0].clone();
        self.send_action(CallAction::Admit, first, move |req, call_id| {
            ClientMessage::AdmitParticipants {
                req,
                call_id,
                participants: ids,
                all: false,
            }
        })
    }

    /// Admits everyone waiting in the lobby (ACS `admitAll`); nobody waiting is not an
    /// error.
    pub fn admit_all(&self) -> Result<()> {
        self.send_action(CallAction::Admit, String::new(), |req, call_id| {
            ClientMessage::AdmitParticipants {
                req,
                call_id,
                participants: Vec::new(),
                all: true,
            }
        })
    }

    /// Turns `participant` away from the lobby (ACS `rejectParticipant`): its call ends
    /// with 403/10018.
    pub fn reject_participant(&self, participant: &RemoteParticipant) -> Result<()> {
        let id = self.waiting(std::slice::from_ref(participant))?.remove(0);
        let target = id.clone();
        self.send_action(CallAction::Reject, id, move |req, call_id| {
            ClientMessage::RejectParticipant {
                req,
                call_id,
                participant: target,
            }
        })
    }

    /// Mutes `participant` (ACS `RemoteParticipant.mute`): it is told, its microphone is
    /// muted, and the service drops its audio until it unmutes. `NotFound` when it is not
    /// in this call's roster.
    pub fn mute_participant(&self, participant: &RemoteParticipant) -> Result<()> {
        let id = participant.identifier().to_string();
        if self.participant(&id).is_none() {
            return Err(Error::NotFound(format!("{id} is not in this call")));
        }
        let target = id.clone();
        self.send_action(CallAction::MuteOthers, id, move |req, call_id| {
            ClientMessage::MuteParticipants {
                req,
                call_id,
                participants: vec![target],
            }
        })
    }

    /// Mutes every other user in the call (ACS `muteAllRemoteParticipants`).
    pub fn mute_all_remote_participants(&self) -> Result<()> {
        self.send_action(CallAction::MuteOthers, String::new(), |req, call_id| {
            ClientMessage::MuteParticipants {
                req,
                call_id,
                participants: Vec::new(),
            }
        })
    }

    /// The raw ids of `participants`, each waiting in this call's lobby.
    fn waiting(&self, participants: &[RemoteParticipant]) -> Result<Vec<String>> {
        participants
            .iter()
            .map(|p| {
                let id = p.identifier().to_string();
                match self.participant(&id) {
                    Some(q) if q.state() == ParticipantState::InLobby => Ok(id),
                    _ => Err(Error::NotFound(format!("{id} is not waiting in the lobby"))),
                }
            })
            .collect()
    }

    /// Sends the request `make` builds for a live call; a refusal becomes a notice.
    fn send_action(
        &self,
        action: CallAction,
        participant: String,
        make: impl FnOnce(u64, String) -> ClientMessage + Send + 'static,
    ) -> Result<()> {
        if self.0.ctx.sink.upgrade().is_none() {
            return Err(Error::InvalidState("the call agent is gone".into()));
        }
        if self.is_ended() {
            return Err(Error::InvalidState("the call has ended".into()));
        }
        let call = self.clone();
        self.request(make, move |r| {
            if let Err((reason, message)) = r {
                log::info!("{action:?} {participant} refused: {message}");
                call.notify(CallNotice::ActionFailed {
                    action,
                    participant,
                    reason,
                    message,
                });
            }
        });
        Ok(())
    }

    /// Participant `by` muted this one: the microphone follows, the host is told.
    pub(crate) fn on_muted_by_others(&self, by: &str) {
        self.drive(|m, _| m.muted_by_others());
        self.notify(CallNotice::MutedByOthers(by.to_string()));
    }
}
