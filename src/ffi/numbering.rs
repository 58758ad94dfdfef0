//! The numbers of the C API's enum constants, checked at compile time against the Rust
//! enums they stand for: `c_numbers!` (used next to the constants: ACS_CALL_STATE_* against
//! `protocol::CallState`, the ACS numbering, in call.rs; ACS_PARTICIPANT_STATE_* likewise;
//! the other state and kind constants where they are defined). The constants stay plain
//! literals, so that cbindgen writes them as `#define`s; a constant that drifts from its
//! enum, or a variant without a constant (the mapping functions match exhaustively), fails
//! the build. The event kinds, which are our own numbers, are checked here.

use super::events::*;

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
pub(crate) use c_numbers;

/// Every event kind, in the order they were added: agent and call events below 100, device
/// manager events from 100.
const EVENT_KINDS: [i32; 19] = [
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
    ACS_EVENT_DTMF_RECEIVED,
    ACS_EVENT_DTMF_SEND_COMPLETED,
    ACS_EVENT_CALL_NETWORK_RECONNECT,
    ACS_EVENT_CALL_MEDIA_STATISTICS,
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
    assert!(ACS_EVENT_CALL_NETWORK_RECONNECT < ACS_EVENT_AUDIO_DEVICE_ADDED);
    assert!(ACS_EVENT_CALL_MEDIA_STATISTICS < ACS_EVENT_AUDIO_DEVICE_ADDED);
    assert!(ACS_EVENT_AUDIO_DEVICE_ADDED == 100);
};
