//! The numbers of the C API's enum constants, checked at compile time against the Rust
//! enums they stand for: ACS_CALL_STATE_* against `protocol::CallState` (the ACS numbering),
//! ACS_PARTICIPANT_STATE_* against `protocol::ParticipantState`, and the other state and
//! kind constants likewise. The constants stay plain literals, so that cbindgen writes them
//! as `#define`s; a constant that drifts from its enum, or a variant without a constant
//! (the mapping functions match exhaustively), fails the build.

use super::agent::*;
use super::call::*;
use super::events::*;
use super::video_call::*;
use crate::client::{AgentConnectionState, CallDirection};
use crate::protocol::{CallState, ParticipantState, VideoStreamKind};

/// Defines `fn $name(enum) -> i32` mapping every variant to its C constant, and asserts at
/// compile time that each constant equals the variant's number.
macro_rules! c_numbers {
    ($(#[$doc:meta])* $name:ident($ty:ty) { $($variant:path => $c:ident),+ $(,)? }) => {
        $(#[$doc])*
        pub(crate) const fn $name(v: $ty) -> i32 {
            match v {
                $($variant => $c,)+
            }
        }
        $(const _: () = assert!(
            $c == $variant as i32,
            concat!(stringify!($c), " must equal ", stringify!($variant))
        );)+
    };
}

c_numbers! {
    /// ACS_CALL_STATE_* of a call state (the ACS numbering).
    call_state(CallState) {
        CallState::None => ACS_CALL_STATE_NONE,
        CallState::EarlyMedia => ACS_CALL_STATE_EARLY_MEDIA,
        CallState::Incoming => ACS_CALL_STATE_INCOMING,
        CallState::Connecting => ACS_CALL_STATE_CONNECTING,
        CallState::Ringing => ACS_CALL_STATE_RINGING,
        CallState::Connected => ACS_CALL_STATE_CONNECTED,
        CallState::LocalHold => ACS_CALL_STATE_LOCAL_HOLD,
        CallState::Disconnecting => ACS_CALL_STATE_DISCONNECTING,
        CallState::Disconnected => ACS_CALL_STATE_DISCONNECTED,
        CallState::InLobby => ACS_CALL_STATE_IN_LOBBY,
        CallState::RemoteHold => ACS_CALL_STATE_REMOTE_HOLD,
    }
}

c_numbers! {
    /// ACS_PARTICIPANT_STATE_* of a participant state (the ACS numbering).
    participant_state(ParticipantState) {
        ParticipantState::Idle => ACS_PARTICIPANT_STATE_IDLE,
        ParticipantState::EarlyMedia => ACS_PARTICIPANT_STATE_EARLY_MEDIA,
        ParticipantState::Connecting => ACS_PARTICIPANT_STATE_CONNECTING,
        ParticipantState::Connected => ACS_PARTICIPANT_STATE_CONNECTED,
        ParticipantState::Hold => ACS_PARTICIPANT_STATE_HOLD,
        ParticipantState::InLobby => ACS_PARTICIPANT_STATE_IN_LOBBY,
        ParticipantState::Disconnected => ACS_PARTICIPANT_STATE_DISCONNECTED,
        ParticipantState::Ringing => ACS_PARTICIPANT_STATE_RINGING,
    }
}

c_numbers! {
    /// ACS_AGENT_CONNECTION_* of an agent's connection state.
    connection_state(AgentConnectionState) {
        AgentConnectionState::Disconnected => ACS_AGENT_CONNECTION_DISCONNECTED,
        AgentConnectionState::Connected => ACS_AGENT_CONNECTION_CONNECTED,
        AgentConnectionState::Connecting => ACS_AGENT_CONNECTION_CONNECTING,
    }
}

c_numbers! {
    /// ACS_CALL_DIRECTION_* of a call direction.
    call_direction(CallDirection) {
        CallDirection::Outgoing => ACS_CALL_DIRECTION_OUTGOING,
        CallDirection::Incoming => ACS_CALL_DIRECTION_INCOMING,
    }
}

c_numbers! {
    /// ACS_VIDEO_STREAM_KIND_* of a video stream kind.
    video_stream_kind(VideoStreamKind) {
        VideoStreamKind::Video => ACS_VIDEO_STREAM_KIND_VIDEO,
        VideoStreamKind::ScreenShare => ACS_VIDEO_STREAM_KIND_SCREEN_SHARE,
    }
}

/// Every event kind, in the order they were added: agent and call events below 100, device
/// manager events from 100.
const EVENT_KINDS: [i32; 15] = [
    ACS_EVENT_AGENT_CONNECTION_STATE_CHANGED,
    ACS_EVENT_INCOMING_CALL,
    ACS_EVENT_CALL_STATE_CHANGED,
    ACS_EVENT_CALL_MUTE_CHANGED,
    ACS_EVENT_PARTICIPANT_ADDED,
    ACS_EVENT_PARTICIPANT_REMOVED,
    ACS_EVENT_PARTICIPANT_STATE_CHANGED,
    ACS_EVENT_PARTICIPANT_MUTE_CHANGED,
    ACS_EVENT_PARTICIPANT_SPEAKING_CHANGED,
    ACS_EVENT_DOMINANT_SPEAKERS_CHANGED,
    ACS_EVENT_REMOTE_VIDEO_STREAM_AVAILABILITY_CHANGED,
    ACS_EVENT_AUDIO_DEVICE_ADDED,
    ACS_EVENT_AUDIO_DEVICE_REMOVED,
    ACS_EVENT_CAMERA_ADDED,
    ACS_EVENT_CAMERA_REMOVED,
];

// Event kinds are the library's own numbers (ACS has none): each one distinct and never
// reused; agent and call events count up from 1 and stay below the device events' 100.
const _: () = {
    let mut i = 0;
    while i < EVENT_KINDS.len() {
        let k = EVENT_KINDS[i];
        assert!(k >= 1, "event kinds start at 1 (0 is no event)");
        let mut j = i + 1;
        while j < EVENT_KINDS.len() {
            assert!(
                EVENT_KINDS[j] != k,
                "two ACS_EVENT_* constants share a number"
            );
            j += 1;
        }
        i += 1;
    }
    assert!(ACS_EVENT_REMOTE_VIDEO_STREAM_AVAILABILITY_CHANGED < ACS_EVENT_AUDIO_DEVICE_ADDED);
    assert!(ACS_EVENT_AUDIO_DEVICE_ADDED == 100);
};
