//! The events a host receives: an agent's (calls, roster, video) and the device manager's.

use super::call::{Call, CallNotice};
pub use super::device_manager::DeviceListener;
pub use super::device_watch::DeviceEvent;
pub use super::dispatch::DispatchMode;
use super::local_video_stream::LocalVideoStream;
use super::participant::RemoteParticipant;
use super::phone::DtmfTone;
use super::remote_video::RemoteVideoStream;
use crate::protocol::{CallState, EndReason, ParticipantState, VideoStreamKind};

/// Connection state of a CallAgent to the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum AgentConnectionState {
    Disconnected = 0,
    Connected = 1,
    Connecting = 2,
    /// The link dropped; the agent reconnects and resumes its session (calls go on).
    Reconnecting = 3,
}

/// Where one of this client's outgoing video streams (camera video, screen share) stands,
/// as [`AgentEvent::OutgoingVideoStateChanged`] tells it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum OutgoingVideoState {
    /// The service accepted the stream: the others see it available. Also after a pause.
    Started = 1,
    /// Its source is paused (a shared window is minimised or off the screen): the others
    /// keep the last picture until it is back.
    Paused = 2,
    /// The host stopped it.
    Stopped = 3,
    /// It stopped by itself: the service refused it (403: somebody else is sharing a
    /// screen), did not answer in time (408/10011), or its source ended (0/10012: the shared
    /// window closed).
    Failed = 4,
}

/// What [`AgentEvent::PushNotification`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum PushNotificationResult {
    /// The service keeps the push target (`register_push_notification`).
    Registered = 1,
    /// The service refused the push target (`reason`, `message` say why).
    RegistrationFailed = 2,
    /// The target(s) were removed (`unregister_push_notification`).
    Unregistered = 3,
    UnregistrationFailed = 4,
    /// A handled notification's call no longer rings for this user (answered elsewhere,
    /// cancelled, timed out: 410/10013) or the notification was used before (409/10014).
    /// When the claim succeeds there is no such event: the incoming call is the answer.
    CallRefused = 5,
}

/// A request on other participants whose refusal [`AgentEvent::CallActionFailed`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum CallAction {
    /// [`Call::admit`](super::Call::admit), [`Call::admit_all`](super::Call::admit_all).
    Admit = 1,
    /// [`Call::reject_participant`](super::Call::reject_participant).
    Reject = 2,
    /// [`Call::mute_participant`](super::Call::mute_participant),
    /// [`Call::mute_all_remote_participants`](super::Call::mute_all_remote_participants).
    MuteOthers = 3,
}

/// Something that happened, delivered to the agent's listener.
#[derive(Clone)]
pub enum AgentEvent {
    /// The agent's connection to the service changed; `reason` says why when it dropped.
    ConnectionStateChanged {
        state: AgentConnectionState,
        reason: EndReason,
        message: String,
    },
    /// Somebody is calling; the call is in state `Incoming`.
    IncomingCall { call: Call },
    /// A transfer of `call` moved on (on the transferor's and the transferee's side):
    /// `Requested`, `Transferring`, then `Transferred` or `Failed` with `reason`.
    TransferStateChanged {
        call: Call,
        state: crate::protocol::TransferState,
        target: String,
        reason: EndReason,
    },
    /// The other side of `call` asks to transfer this participant to `target`. The SDK
    /// accepts at once unless the agent answers transfers itself
    /// (`CallAgentOptions::answer_transfers`: then `Call::answer_transfer`).
    TransferRequested {
        call: Call,
        transferor: String,
        target: String,
    },
    /// The answer to a push notification request of this agent; `url` is the target of
    /// (un)registrations (empty: all of them), `call_id` the call of a refused notification.
    PushNotification {
        result: PushNotificationResult,
        reason: EndReason,
        message: String,
        url: String,
        call_id: String,
    },
    /// A call changed state; `reason` is the end reason once `Disconnected`.
    CallStateChanged {
        call: Call,
        state: CallState,
        reason: EndReason,
    },
    /// The local participant was muted or unmuted.
    CallMuteChanged { call: Call, muted: bool },
    /// Participant `by` (raw id) muted this one (ACS `mutedByOthers`): the microphone is
    /// muted already ([`AgentEvent::CallMuteChanged`] came first); the service drops this
    /// participant's audio until it unmutes, which it may do unless it is a room's consumer.
    MutedByOthers { call: Call, by: String },
    /// The service refused `action` on `participant` (raw id; empty for "all"): 403 the
    /// role does not allow it (a room's attendee or consumer), 404 nobody by that id waits
    /// in the lobby or is in the call, 400 not a user, 503 no link to the service.
    CallActionFailed {
        call: Call,
        action: CallAction,
        participant: String,
        reason: EndReason,
        message: String,
    },
    /// A remote participant joined the roster.
    ParticipantAdded {
        call: Call,
        participant: RemoteParticipant,
    },
    /// A remote participant left the roster (see its end reason).
    ParticipantRemoved {
        call: Call,
        participant: RemoteParticipant,
        reason: EndReason,
    },
    /// A remote participant's state changed.
    ParticipantStateChanged {
        call: Call,
        participant: RemoteParticipant,
        state: ParticipantState,
    },
    /// A remote participant muted or unmuted.
    ParticipantMuteChanged {
        call: Call,
        participant: RemoteParticipant,
        muted: bool,
    },
    /// A remote participant started or stopped speaking (from the audio levels of the
    /// streams this client receives).
    ParticipantSpeakingChanged {
        call: Call,
        participant: RemoteParticipant,
        speaking: bool,
    },
    /// The call's dominant speakers changed: see [`Call::dominant_speakers`].
    DominantSpeakersChanged { call: Call },
    /// A remote participant started (`available`) or stopped sending a video stream. A
    /// stream that stops is unsubscribed.
    RemoteVideoStreamAvailabilityChanged {
        call: Call,
        participant: RemoteParticipant,
        stream: RemoteVideoStream,
        available: bool,
    },
    /// DTMF send `request_id` (what [`Call::send_dtmf`] returned) of `tone` was answered:
    /// `Ok` sent to the call's phone participants, or the reason and message of its
    /// refusal (400: the call has no phone participant; 503: no link to the service).
    DtmfSendCompleted {
        call: Call,
        request_id: u64,
        tone: DtmfTone,
        result: Result<(), (EndReason, String)>,
    },
    /// A phone participant pressed a key. `participant_id` is its raw id (`4:+…`);
    /// `participant` the roster's object, when it is in the roster.
    DtmfReceived {
        call: Call,
        participant: Option<RemoteParticipant>,
        participant_id: String,
        tone: DtmfTone,
    },
    /// The call is reconnecting (`reconnecting`: its signaling link or media path was lost;
    /// the call goes on and recovers by itself) or has recovered (false). ACS's
    /// `networkReconnect` user-facing diagnostic: Poor while reconnecting, Good after.
    NetworkReconnect { call: Call, reconnecting: bool },
    /// A media statistics sample of `call` was taken ([`Call::media_statistics`] reads it);
    /// every interval set with [`Call::set_media_statistics_interval`].
    MediaStatistics { call: Call },
    /// One of this client's outgoing streams started, paused, stopped or failed;
    /// `reason` and `message` say why (for `Failed`, `Paused`). `stream` is the local stream
    /// sent, when it was started from one.
    OutgoingVideoStateChanged {
        call: Call,
        kind: VideoStreamKind,
        stream: Option<LocalVideoStream>,
        state: OutgoingVideoState,
        reason: EndReason,
        message: String,
    },
}

impl AgentEvent {
    /// The event of `call`'s notice.
    pub(crate) fn from_notice(call: Call, notice: CallNotice) -> Self {
        match notice {
            CallNotice::Transfer {
                state,
                target,
                reason,
            } => AgentEvent::TransferStateChanged {
                call,
                state,
                target,
                reason,
            },
            CallNotice::TransferRequested { transferor, target } => AgentEvent::TransferRequested {
                call,
                transferor,
                target,
            },
            CallNotice::State(state, reason) => AgentEvent::CallStateChanged {
                call,
                state,
                reason,
            },
            CallNotice::Muted(muted) => AgentEvent::CallMuteChanged { call, muted },
            CallNotice::MutedByOthers(by) => AgentEvent::MutedByOthers { call, by },
            CallNotice::ActionFailed {
                action,
                participant,
                reason,
                message,
            } => AgentEvent::CallActionFailed {
                call,
                action,
                participant,
                reason,
                message,
            },
            CallNotice::ParticipantAdded(participant) => {
                AgentEvent::ParticipantAdded { call, participant }
            }
            CallNotice::ParticipantRemoved(participant, reason) => AgentEvent::ParticipantRemoved {
                call,
                participant,
                reason,
            },
            CallNotice::ParticipantState(participant, state) => {
                AgentEvent::ParticipantStateChanged {
                    call,
                    participant,
                    state,
                }
            }
            CallNotice::ParticipantMuted(participant, muted) => {
                AgentEvent::ParticipantMuteChanged {
                    call,
                    participant,
                    muted,
                }
            }
            CallNotice::ParticipantSpeaking(participant, speaking) => {
                AgentEvent::ParticipantSpeakingChanged {
                    call,
                    participant,
                    speaking,
                }
            }
            CallNotice::DominantSpeakers => AgentEvent::DominantSpeakersChanged { call },
            CallNotice::MediaStatistics => AgentEvent::MediaStatistics { call },
            CallNotice::NetworkReconnect(reconnecting) => {
                AgentEvent::NetworkReconnect { call, reconnecting }
            }
            CallNotice::DtmfSent(request_id, tone, result) => AgentEvent::DtmfSendCompleted {
                call,
                request_id,
                tone,
                result,
            },
            CallNotice::DtmfReceived(participant_id, participant, tone) => {
                AgentEvent::DtmfReceived {
                    call,
                    participant,
                    participant_id,
                    tone,
                }
            }
            CallNotice::OutgoingVideo {
                kind,
                stream,
                state,
                reason,
                message,
            } => AgentEvent::OutgoingVideoStateChanged {
                call,
                kind,
                stream,
                state,
                reason,
                message,
            },
            CallNotice::VideoAvailability(participant, stream, available) => {
                AgentEvent::RemoteVideoStreamAvailabilityChanged {
                    call,
                    participant,
                    stream,
                    available,
                }
            }
        }
    }
}
