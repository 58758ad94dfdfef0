//! Which sender's audio goes into which receive slot of a receiver.
//!
//! Today the policy is join order; [`assign`] is the one place to change for a
//! top-N-by-level policy (the levels are already passed in).

use crate::protocol::AUDIO_SLOTS;

use super::SessionId;

/// What a receive slot carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotSource {
    /// Another participant's session.
    Session(SessionId),
    /// The echo bot playing back the receiver's own audio.
    Echo,
}

/// The receive slots of one participant.
pub type Slots = [Option<SlotSource>; AUDIO_SLOTS];

/// A member of a call as the slot policy sees it.
#[derive(Debug, Clone, Copy)]
pub struct MemberView {
    /// The member's session.
    pub session: SessionId,
    /// Media connected and not on hold: it may send and receive.
    pub active: bool,
    /// Whether the echo bot plays this member's audio back to it.
    pub echo: bool,
    /// Last RFC 6464 level (0 = loudest, -127 = silence), for a future top-N policy.
    #[allow(dead_code)]
    pub level: Option<i8>,
}

/// Slots of `receiver` given the call's members in join order.
///
/// An inactive receiver gets nothing; an echo session has the echo in slot 0; the other
/// active members fill the remaining slots in join order.
pub fn assign(receiver: &MemberView, members: &[MemberView]) -> Slots {
    let mut slots: Slots = [None; AUDIO_SLOTS];
    if !receiver.active {
        return slots;
    }
    let mut next = 0;
    if receiver.echo {
        slots[0] = Some(SlotSource::Echo);
        next = 1;
    }
    for m in members
        .iter()
        .filter(|m| m.active && m.session != receiver.session)
    {
        if next >= AUDIO_SLOTS {
            break;
        }
        slots[next] = Some(SlotSource::Session(m.session));
        next += 1;
    }
    slots
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(id: u64, active: bool) -> MemberView {
        MemberView {
            session: SessionId(id),
            active,
            echo: false,
            level: None,
        }
    }

    #[test]
    fn join_order_skips_self_and_inactive() {
        let members = [m(1, true), m(2, false), m(3, true), m(4, true), m(5, true)];
        let s = assign(&members[0], &members);
        assert_eq!(
            s,
            [
                Some(SlotSource::Session(SessionId(3))),
                Some(SlotSource::Session(SessionId(4))),
                Some(SlotSource::Session(SessionId(5))),
            ]
        );
        assert_eq!(assign(&members[1], &members), [None; AUDIO_SLOTS]);
    }

    #[test]
    fn echo_takes_slot_zero() {
        let mut me = m(1, true);
        me.echo = true;
        let s = assign(&me, &[me]);
        assert_eq!(s[0], Some(SlotSource::Echo));
        assert_eq!(s[1], None);
    }
}
