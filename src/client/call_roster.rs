//! The roster of a call as the objects the host holds: the machine's roster changes mirrored
//! onto `RemoteParticipant`s, and the notices they make.

use super::events::OutgoingVideoState;
use super::local_video_stream::LocalVideoStream;
use super::participant::RemoteParticipant;
use super::phone::DtmfTone;
use super::remote_video::RemoteVideoStream;
use super::roster::RosterChange;
use crate::protocol::{CallState, EndReason, ParticipantState, VideoStreamKind};

/// Something a call tells its host (the agent adds the call and delivers it as an event).
#[derive(Clone)]
pub(crate) enum CallNotice {
    State(CallState, EndReason),
    Muted(bool),
    ParticipantAdded(RemoteParticipant),
    ParticipantRemoved(RemoteParticipant, EndReason),
    ParticipantState(RemoteParticipant, ParticipantState),
    ParticipantMuted(RemoteParticipant, bool),
    ParticipantSpeaking(RemoteParticipant, bool),
    DominantSpeakers,
    VideoAvailability(RemoteParticipant, RemoteVideoStream, bool),
    /// DTMF send `request` of `tone` was answered (`Err`: refused, with reason and message).
    DtmfSent(u64, DtmfTone, Result<(), (EndReason, String)>),
    /// The participant (raw id; the object when it is in the roster) pressed `tone`.
    DtmfReceived(String, Option<RemoteParticipant>, DtmfTone),
    /// The call started (true) or stopped (false) reconnecting: its signaling link or media
    /// path was lost, or both are back.
    NetworkReconnect(bool),
    /// A media statistics sample was taken (the host asked for them).
    MediaStatistics,
    /// An outgoing stream's state changed (see `AgentEvent::OutgoingVideoStateChanged`).
    OutgoingVideo {
        kind: VideoStreamKind,
        stream: Option<LocalVideoStream>,
        state: OutgoingVideoState,
        reason: EndReason,
        message: String,
    },
    /// A transfer of the call moved on.
    Transfer {
        state: crate::protocol::TransferState,
        target: String,
        reason: EndReason,
    },
    /// The other side asks to transfer this participant.
    TransferRequested {
        transferor: String,
        target: String,
    },
    /// Participant `by` (raw id) muted this one.
    MutedByOthers(String),
    /// A room action of this participant (admit, reject, mute others) was refused.
    ActionFailed {
        action: super::events::CallAction,
        participant: String,
        reason: EndReason,
        message: String,
    },
}

/// The participant objects of one call.
#[derive(Default)]
pub(crate) struct Participants(Vec<RemoteParticipant>);

/// What mirroring one roster change gives.
#[derive(Default)]
pub(crate) struct Mirrored {
    /// For the host.
    pub notice: Option<CallNotice>,
    /// A stream that stopped: its subscription and last frame go.
    pub unavailable: Option<RemoteVideoStream>,
    /// Somebody who left.
    pub left: Option<String>,
}

impl Participants {
    pub(crate) fn find(&self, id: &str) -> Option<RemoteParticipant> {
        self.0.iter().find(|p| p.identifier() == id).cloned()
    }

    pub(crate) fn list(&self) -> Vec<RemoteParticipant> {
        self.0.clone()
    }

    pub(crate) fn push(&mut self, p: RemoteParticipant) {
        self.0.push(p);
    }

    /// Mirrors `change`; `adopt` lets a newcomer's streams find their call.
    pub(crate) fn apply(
        &mut self,
        change: RosterChange,
        adopt: impl FnOnce(&RemoteParticipant),
    ) -> Mirrored {
        let mut out = Mirrored::default();
        match change {
            RosterChange::Added(info) => {
                let p = RemoteParticipant::from_info(&info);
                adopt(&p);
                self.0.push(p.clone());
                out.notice = Some(CallNotice::ParticipantAdded(p));
            }
            RosterChange::Updated(info) => {
                if let Some(p) = self.find(&info.id) {
                    p.mirror(&info);
                }
            }
            RosterChange::State { id, state } => {
                out.notice = self.find(&id).map(|p| {
                    p.set_state(state);
                    CallNotice::ParticipantState(p, state)
                });
            }
            RosterChange::Muted { id, muted } => {
                out.notice = self.find(&id).map(|p| {
                    p.set_muted(muted);
                    CallNotice::ParticipantMuted(p, muted)
                });
            }
            RosterChange::Video {
                id,
                kind,
                available,
            } => {
                if let Some(p) = self.find(&id) {
                    p.set_video_available(kind, available);
                    let stream = p.video_stream(kind);
                    if !available {
                        out.unavailable = Some(stream.clone());
                    }
                    out.notice = Some(CallNotice::VideoAvailability(p, stream, available));
                }
            }
            RosterChange::Removed { id, reason } => {
                if let Some(i) = self.0.iter().position(|p| p.identifier() == id) {
                    let p = self.0.remove(i);
                    p.mark_left(reason);
                    out.notice = Some(CallNotice::ParticipantRemoved(p, reason));
                    out.left = Some(id);
                }
            }
        }
        out
    }
}
