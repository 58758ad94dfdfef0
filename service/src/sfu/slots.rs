//! Which sender's audio goes into which receive slot of a receiver.
//!
//! Small calls (everyone else fits into the forwarded slots) forward everyone; large calls
//! forward the loudest speakers ranked by [`super::speakers::SpeakerDetector`]. Either way a
//! sender that keeps its place keeps its slot, so receivers' jitter buffers are not reset.

use std::collections::HashSet;

use crate::protocol::AUDIO_SLOTS;

use super::SessionId;

/// What a receive slot carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SlotSource {
    /// Another participant's session.
    Session(SessionId),
    /// The echo bot playing back the receiver's own audio.
    Echo,
    /// The service's mix of several speakers (large calls; see `mixer.rs`).
    Mix,
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
}

/// What the slot policy knows about a whole call, computed once per recompute.
pub struct CallView<'a> {
    /// Members in join order.
    pub members: &'a [MemberView],
    /// Sessions of the active members.
    pub active: &'a HashSet<SessionId>,
    /// Active speakers, dominant first.
    pub ranking: &'a [SessionId],
    /// How many slots the service forwards into.
    pub forwarded: usize,
}

impl<'a> CallView<'a> {
    /// A view of `members` with `ranking` filtered to active members.
    pub fn build(
        members: &'a [MemberView],
        active: &'a mut HashSet<SessionId>,
        ranking: &'a mut Vec<SessionId>,
        forwarded: usize,
    ) -> Self {
        active.clear();
        active.extend(members.iter().filter(|m| m.active).map(|m| m.session));
        ranking.retain(|s| active.contains(s));
        CallView {
            members,
            active,
            ranking,
            forwarded,
        }
    }
}

/// Slots of `receiver` in `call`, given the receiver's current slots.
///
/// An inactive receiver gets nothing; an echo session has the echo in slot 0. When every
/// other active member fits, all of them are forwarded in join order. Otherwise the top
/// speakers are; while fewer people speak than there are slots, the previous occupants
/// stay (the last speakers, so a reply after a pause is not clipped).
pub fn assign(receiver: &MemberView, call: &CallView<'_>, previous: &Slots) -> Slots {
    let mut slots: Slots = [None; AUDIO_SLOTS];
    if !receiver.active {
        return slots;
    }
    let mut first = 0;
    if receiver.echo {
        slots[0] = Some(SlotSource::Echo);
        first = 1;
    }
    let room = call.forwarded.min(AUDIO_SLOTS).saturating_sub(first);
    let me = receiver.session;
    let count = call.active.len() - usize::from(call.active.contains(&me));
    let mut wanted: Vec<SessionId> = Vec::with_capacity(room);
    if count <= room {
        wanted.extend(
            call.members
                .iter()
                .filter(|m| m.active && m.session != me)
                .map(|m| m.session),
        );
    } else {
        wanted.extend(call.ranking.iter().filter(|s| **s != me).take(room));
        for p in previous[first..].iter().flatten() {
            if wanted.len() == room {
                break;
            }
            if let SlotSource::Session(s) = p {
                if *s != me && !wanted.contains(s) && call.active.contains(s) {
                    wanted.push(*s);
                }
            }
        }
    }
    // Keep senders in the slot they had; the rest fill the free slots in order.
    let mut placed = vec![false; wanted.len()];
    for (i, slot) in slots.iter_mut().enumerate().skip(first) {
        if let Some(SlotSource::Session(s)) = previous[i] {
            if let Some(w) = wanted.iter().position(|x| *x == s) {
                *slot = Some(SlotSource::Session(s));
                placed[w] = true;
            }
        }
    }
    let mut rest = wanted
        .iter()
        .zip(&placed)
        .filter(|(_, p)| !**p)
        .map(|(s, _)| *s);
    for slot in slots.iter_mut().skip(first).take(room) {
        if slot.is_none() {
            match rest.next() {
                Some(s) => *slot = Some(SlotSource::Session(s)),
                None => break,
            }
        }
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
        }
    }

    fn s(id: u64) -> Option<SlotSource> {
        Some(SlotSource::Session(SessionId(id)))
    }

    const EMPTY: Slots = [None; AUDIO_SLOTS];

    /// `assign` for `members[who]` with `ranking` and `forwarded`.
    fn run(
        members: &[MemberView],
        who: usize,
        ranking: &[SessionId],
        forwarded: usize,
        prev: &Slots,
    ) -> Slots {
        let mut active = HashSet::new();
        let mut ranking = ranking.to_vec();
        let view = CallView::build(members, &mut active, &mut ranking, forwarded);
        assign(&members[who], &view, prev)
    }

    #[test]
    fn small_call_forwards_everyone_in_join_order_skipping_self_and_inactive() {
        let members = [m(1, true), m(2, false), m(3, true), m(4, true), m(5, true)];
        let got = run(&members, 0, &[], 3, &EMPTY);
        assert_eq!(got, [s(3), s(4), s(5), None]);
        assert_eq!(run(&members, 1, &[], 3, &EMPTY), EMPTY);
    }

    #[test]
    fn echo_takes_slot_zero() {
        let mut me = m(1, true);
        me.echo = true;
        let got = run(&[me], 0, &[], 3, &EMPTY);
        assert_eq!(got[0], Some(SlotSource::Echo));
        assert_eq!(got[1], None);
    }

    #[test]
    fn large_call_forwards_the_top_speakers_but_not_the_receiver_itself() {
        let members: Vec<_> = (1..=10).map(|i| m(i, true)).collect();
        let ranking = [SessionId(7), SessionId(1), SessionId(4), SessionId(9)];
        let got = run(&members, 0, &ranking, 3, &EMPTY);
        assert_eq!(got, [s(7), s(4), s(9), None]);
        let got = run(&members, 5, &ranking, 3, &EMPTY);
        assert_eq!(got, [s(7), s(1), s(4), None]);
    }

    #[test]
    fn a_sender_keeps_its_slot_when_others_change() {
        let members: Vec<_> = (1..=10).map(|i| m(i, true)).collect();
        let prev = [s(7), s(4), s(9), None];
        // 4 stopped, 2 started: 7 and 9 stay where they were, 2 takes 4's slot.
        let ranking = [SessionId(9), SessionId(2), SessionId(7)];
        let got = run(&members, 0, &ranking, 3, &prev);
        assert_eq!(got, [s(7), s(2), s(9), None]);
    }

    #[test]
    fn last_speakers_stay_while_fewer_people_speak() {
        let members: Vec<_> = (1..=10).map(|i| m(i, true)).collect();
        let prev = [s(7), s(4), s(9), None];
        let got = run(&members, 0, &[SessionId(3)], 3, &prev);
        assert_eq!(got.iter().flatten().count(), 3);
        assert!(got.contains(&s(3)));
        // A previous occupant that left is not kept.
        let mut members = members;
        members[6].active = false;
        let got = run(&members, 0, &[SessionId(3)], 3, &prev);
        assert!(!got.contains(&s(7)));
        assert!(got.contains(&s(3)) && got.contains(&s(4)) && got.contains(&s(9)));
    }

    #[test]
    fn forwarded_count_is_capped_by_the_offered_slots() {
        let members: Vec<_> = (1..=10).map(|i| m(i, true)).collect();
        let ranking: Vec<_> = (2..=10).map(SessionId).collect();
        let got = run(&members, 0, &ranking, 99, &EMPTY);
        assert_eq!(got, [s(2), s(3), s(4), s(5)]);
        let got = run(&members, 0, &ranking, 1, &EMPTY);
        assert_eq!(got, [s(2), None, None, None]);
    }
}
