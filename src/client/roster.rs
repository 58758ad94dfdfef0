//! The roster of a call as plain data, and the diff of a roster update: a pure function
//! (roster + update → changes), unit-tested without a network. The driver mirrors the
//! changes onto its `RemoteParticipant` objects and turns them into the host's events.

use crate::protocol::{EndReason, ParticipantInfo, ParticipantState, VideoStreamKind};

/// One change of the roster, in the order the host sees its events.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RosterChange {
    /// Somebody joined (or was invited); their streams available now follow as `Video`.
    Added(ParticipantInfo),
    /// New data for an existing participant (display name, end reason): no event of its own.
    Updated(ParticipantInfo),
    State {
        id: String,
        state: ParticipantState,
    },
    Muted {
        id: String,
        muted: bool,
    },
    Video {
        id: String,
        kind: VideoStreamKind,
        available: bool,
    },
    /// Somebody left the roster with `reason`.
    Removed {
        id: String,
        reason: EndReason,
    },
}

fn streams(p: &ParticipantInfo) -> [(VideoStreamKind, bool); 2] {
    [
        (VideoStreamKind::Video, p.video),
        (VideoStreamKind::ScreenShare, p.screen_sharing),
    ]
}

/// Applies `update` (or its removal) to `roster` and returns what changed. Updates about
/// `self_id` are not roster entries (the local participant is not a remote one).
pub(crate) fn apply(
    roster: &mut Vec<ParticipantInfo>,
    self_id: &str,
    update: &ParticipantInfo,
    removed: bool,
) -> Vec<RosterChange> {
    let mut out = Vec::new();
    if update.id == self_id {
        return out;
    }
    let existing = roster.iter().position(|p| p.id == update.id);
    let id = || update.id.clone();
    match (existing, removed) {
        (None, true) => {}
        (Some(i), true) => {
            let p = roster.remove(i);
            for (kind, on) in streams(&p) {
                if on {
                    out.push(RosterChange::Video {
                        id: id(),
                        kind,
                        available: false,
                    });
                }
            }
            if p.state != ParticipantState::Disconnected {
                out.push(RosterChange::State {
                    id: id(),
                    state: ParticipantState::Disconnected,
                });
            }
            out.push(RosterChange::Removed {
                id: id(),
                reason: update.end_reason.unwrap_or_default(),
            });
        }
        (Some(i), false) => {
            let p = &mut roster[i];
            let before = std::mem::replace(p, update.clone());
            if before.end_reason.is_some() && update.end_reason.is_none() {
                p.end_reason = before.end_reason;
            }
            out.push(RosterChange::Updated(p.clone()));
            if before.state != update.state {
                out.push(RosterChange::State {
                    id: id(),
                    state: update.state,
                });
            }
            if before.muted != update.muted {
                out.push(RosterChange::Muted {
                    id: id(),
                    muted: update.muted,
                });
            }
            for ((kind, was), (_, now)) in streams(&before).into_iter().zip(streams(update)) {
                if was != now {
                    out.push(RosterChange::Video {
                        id: id(),
                        kind,
                        available: now,
                    });
                }
            }
        }
        (None, false) => {
            roster.push(update.clone());
            out.push(RosterChange::Added(update.clone()));
            for (kind, on) in streams(update) {
                if on {
                    out.push(RosterChange::Video {
                        id: id(),
                        kind,
                        available: true,
                    });
                }
            }
        }
    }
    out
}

/// A participant who is only invited: an entry of `Idle` state until the roster says more.
pub(crate) fn invited(id: &str) -> ParticipantInfo {
    ParticipantInfo {
        id: id.to_string(),
        display_name: String::new(),
        state: ParticipantState::Idle,
        muted: false,
        video: false,
        screen_sharing: false,
        end_reason: None,
        role: None,
    }
}

/// The removal of `id` with `reason` (an invitation refused or given up).
pub(crate) fn gone(id: &str, reason: EndReason) -> ParticipantInfo {
    ParticipantInfo {
        state: ParticipantState::Disconnected,
        end_reason: Some(reason),
        ..invited(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ParticipantState::*;

    fn info(id: &str, state: ParticipantState, muted: bool, video: bool) -> ParticipantInfo {
        ParticipantInfo {
            id: id.into(),
            display_name: format!("{id}-name"),
            state,
            muted,
            video,
            screen_sharing: false,
            end_reason: None,
            role: None,
        }
    }

    #[test]
    fn a_newcomer_is_added_with_its_available_streams() {
        let mut r = Vec::new();
        let ch = apply(&mut r, "me", &info("a", Connected, false, true), false);
        assert_eq!(
            ch,
            vec![
                RosterChange::Added(info("a", Connected, false, true)),
                RosterChange::Video {
                    id: "a".into(),
                    kind: VideoStreamKind::Video,
                    available: true
                }
            ]
        );
        assert_eq!(r.len(), 1);
    }

    #[test]
    fn updates_report_state_mute_and_video_in_that_order_and_nothing_when_equal() {
        let mut r = vec![info("a", Connecting, false, false)];
        let ch = apply(&mut r, "me", &info("a", Connected, true, true), false);
        assert_eq!(
            ch[1..],
            [
                RosterChange::State {
                    id: "a".into(),
                    state: Connected
                },
                RosterChange::Muted {
                    id: "a".into(),
                    muted: true
                },
                RosterChange::Video {
                    id: "a".into(),
                    kind: VideoStreamKind::Video,
                    available: true
                },
            ]
        );
        let again = apply(&mut r, "me", &info("a", Connected, true, true), false);
        assert!(matches!(again[..], [RosterChange::Updated(_)]));
    }

    #[test]
    fn removal_drops_streams_then_state_then_the_entry_with_its_reason() {
        let mut r = vec![info("a", Connected, false, true)];
        let ch = apply(&mut r, "me", &gone("a", EndReason::REMOVED), true);
        assert_eq!(
            ch,
            vec![
                RosterChange::Video {
                    id: "a".into(),
                    kind: VideoStreamKind::Video,
                    available: false
                },
                RosterChange::State {
                    id: "a".into(),
                    state: Disconnected
                },
                RosterChange::Removed {
                    id: "a".into(),
                    reason: EndReason::REMOVED
                },
            ]
        );
        assert!(r.is_empty());
        // Removing somebody unknown changes nothing.
        assert!(apply(&mut r, "me", &gone("a", EndReason::REMOVED), true).is_empty());
    }

    #[test]
    fn the_local_user_is_never_a_roster_entry() {
        let mut r = Vec::new();
        assert!(apply(&mut r, "me", &info("me", Connected, false, false), false).is_empty());
        assert!(r.is_empty());
    }
}
