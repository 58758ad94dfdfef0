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
///
/// Our own hold is the local flag alone: the service's `LocalHold` only confirms a hold we
/// asked for, and it may arrive after we have already resumed (hold then resume at once),
/// so it counts as `Connected` here. Otherwise a late confirmation would flap the state
/// LocalHold → Connected → LocalHold → Connected.
pub(crate) fn visible_state(i: CallStateInputs) -> CallState {
    let server = match i.server {
        CallState::LocalHold => CallState::Connected,
        s => s,
    };
    match server {
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

    /// Feeds `steps` to the derivation in order and returns the visible states emitted
    /// (only changes, as `Call::update` emits them).
    fn emitted(steps: &[Step]) -> Vec<CallState> {
        let mut i = CallStateInputs {
            server: CallState::Connected,
            media_connected: true,
            local_hold: false,
        };
        let mut shown = visible_state(i);
        let mut out = Vec::new();
        for s in steps {
            match *s {
                Step::Local(hold) => i.local_hold = hold,
                Step::Server(state) => i.server = state,
            }
            let next = visible_state(i);
            if next != shown {
                shown = next;
                out.push(next);
            }
        }
        out
    }

    #[derive(Clone, Copy)]
    enum Step {
        /// `set_hold(bool)` by the host.
        Local(bool),
        /// The service's `CallState` for us.
        Server(CallState),
    }

    #[test]
    fn hold_then_resume_at_once_ends_connected_without_flapping() {
        use CallState::*;
        use Step::*;
        // The service's confirmations of hold and resume, arriving after both local calls,
        // between them, or not at all: every order shows one LocalHold, then Connected.
        let orders: [&[Step]; 4] = [
            &[
                Local(true),
                Local(false),
                Server(LocalHold),
                Server(Connected),
            ],
            &[
                Local(true),
                Server(LocalHold),
                Local(false),
                Server(Connected),
            ],
            &[
                Local(true),
                Server(LocalHold),
                Server(Connected),
                Local(false),
            ],
            &[Local(true), Local(false)],
        ];
        for steps in orders {
            assert_eq!(emitted(steps), vec![LocalHold, Connected]);
        }
        // Hold, resume, hold at once: ends held, whatever the service says late.
        let steps = [
            Local(true),
            Local(false),
            Local(true),
            Server(LocalHold),
            Server(Connected),
            Server(LocalHold),
        ];
        let out = emitted(&steps);
        assert_eq!(out.last(), Some(&LocalHold));
        assert_eq!(out, vec![LocalHold, Connected, LocalHold]);
    }

    #[test]
    fn remote_hold_arriving_around_our_hold() {
        use CallState::*;
        use Step::*;
        // The other side holds while we hold and resume: we end on RemoteHold.
        let steps = [Local(true), Server(RemoteHold), Local(false)];
        assert_eq!(emitted(&steps), vec![LocalHold, RemoteHold]);
    }

    #[test]
    fn ringing_passes_through() {
        assert_eq!(st(CallState::Ringing, false, false), CallState::Ringing);
        assert!(is_terminal(CallState::Disconnected));
        assert!(!is_terminal(CallState::LocalHold));
    }
}
