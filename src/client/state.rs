//! The call state the user sees, derived from what the service says, whether our media is
//! connected and whether we hold the call. Plain functions, unit-tested without a network.

use crate::protocol::CallState;

/// Inputs of the visible call state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CallStateInputs {
    /// Latest `CallState` from the service (`None` before it said anything).
    pub server: CallState,
    /// Our PeerConnection to the SFU is connected.
    pub media_connected: bool,
    /// We put the call on hold.
    pub local_hold: bool,
}

/// The state to show, for a call that has not ended.
pub(crate) fn visible_state(i: CallStateInputs) -> CallState {
    match i.server {
        CallState::Connected | CallState::RemoteHold if !i.media_connected => CallState::Connecting,
        CallState::Connected | CallState::RemoteHold if i.local_hold => CallState::LocalHold,
        s => s,
    }
}

/// Whether `state` is final.
pub(crate) fn is_terminal(state: CallState) -> bool {
    state == CallState::Disconnected
}

#[cfg(test)]
mod tests {
    use super::*;

    fn st(server: CallState, media: bool, hold: bool) -> CallState {
        visible_state(CallStateInputs {
            server,
            media_connected: media,
            local_hold: hold,
        })
    }

    #[test]
    fn connected_needs_media() {
        assert_eq!(
            st(CallState::Connected, false, false),
            CallState::Connecting
        );
        assert_eq!(st(CallState::Connected, true, false), CallState::Connected);
    }

    #[test]
    fn local_hold_wins_over_remote_hold() {
        assert_eq!(st(CallState::Connected, true, true), CallState::LocalHold);
        assert_eq!(st(CallState::RemoteHold, true, true), CallState::LocalHold);
        assert_eq!(
            st(CallState::RemoteHold, true, false),
            CallState::RemoteHold
        );
    }

    #[test]
    fn ringing_passes_through() {
        assert_eq!(st(CallState::Ringing, false, false), CallState::Ringing);
        assert!(is_terminal(CallState::Disconnected));
        assert!(!is_terminal(CallState::LocalHold));
    }
}
