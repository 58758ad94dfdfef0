//! Calls with phone participants on synthetic time: early media, the PSTN setup timeout,
//! the alternate caller id, DTMF sent and received.

use super::tests::{connected, drain, ok, person, placed, sends, states, t0, ME};
use super::*;
use CallState::{Connected, Connecting, Disconnected, EarlyMedia, LocalHold, Ringing};

const PHONE: &str = "4:+15551234567";
const OUR_NUMBER: &str = "4:+15550001111";
/// A phone callee is busy (SIP 486), as ACS reports it.
const BUSY: EndReason = EndReason::new(486, 560486);

/// An outgoing call to a phone number, presenting `OUR_NUMBER`, whose setup began at `now`.
fn dialed(now: Instant) -> CallMachine {
    let mut m = CallMachine::outgoing(ME, false);
    m.start(
        Setup::Start {
            targets: vec![PHONE.into()],
            caller_id: Some(OUR_NUMBER.into()),
        },
        now,
    );
    m
}

fn media(out: &[Output]) -> Vec<MediaCommand> {
    out.iter()
        .filter_map(|o| match o {
            Output::Media(c) => Some(*c),
            _ => None,
        })
        .collect()
}

fn dtmf_notices(out: &[Output]) -> Vec<Notice> {
    out.iter()
        .filter_map(|o| match o {
            Output::Notice(n @ (Notice::DtmfSent { .. } | Notice::DtmfReceived { .. })) => {
                Some(n.clone())
            }
            _ => None,
        })
        .collect()
}

#[test]
fn the_caller_id_goes_with_the_call_and_a_phone_call_gets_the_115_s_pstn_setup_time() {
    let now = t0();
    let mut m = dialed(now);
    assert_eq!(
        sends(&drain(&mut m)),
        vec![Command::Establish(Setup::Start {
            targets: vec![PHONE.into()],
            caller_id: Some(OUR_NUMBER.into()),
        })]
    );
    assert_eq!(m.poll_timeout().unwrap() - now, Duration::from_secs(115));
    // A 1:1 call to a user keeps 85 s.
    assert_eq!(
        placed(now).poll_timeout().unwrap() - now,
        Duration::from_secs(85)
    );
}

#[test]
fn early_media_plays_what_the_carrier_sends_then_connects() {
    let now = t0();
    let mut m = dialed(now);
    m.setup_done(now);
    drain(&mut m);
    // The transport connects while the callee's network rings.
    m.media_connected_now();
    m.server_state(EarlyMedia, ok());
    let out = drain(&mut m);
    assert_eq!(states(&out), vec![(EarlyMedia, ok())]);
    assert_eq!(
        media(&out),
        vec![MediaCommand::Playing(true)],
        "ringback and announcements are heard in early media"
    );
    assert_eq!(m.state(), EarlyMedia);
    // Nothing stops playout on the way to Connected.
    m.server_state(Connected, ok());
    let out = drain(&mut m);
    assert_eq!(states(&out), vec![(Connected, ok())]);
    assert!(!media(&out).contains(&MediaCommand::Playing(false)));
    assert_eq!(
        m.poll_timeout(),
        None,
        "setup deadline cleared once connected"
    );
}

#[test]
fn early_media_before_the_transport_connects_still_plays_and_connected_waits_for_media() {
    let now = t0();
    let mut m = dialed(now);
    m.setup_done(now);
    drain(&mut m);
    m.server_state(Ringing, ok());
    m.server_state(EarlyMedia, ok());
    let out = drain(&mut m);
    assert_eq!(states(&out), vec![(Ringing, ok()), (EarlyMedia, ok())]);
    assert_eq!(media(&out), vec![MediaCommand::Playing(true)]);
    m.server_state(Connected, ok());
    assert_eq!(states(&drain(&mut m)), vec![(Connecting, ok())]);
    m.media_connected_now();
    assert_eq!(states(&drain(&mut m)), vec![(Connected, ok())]);
}

#[test]
fn early_media_then_busy_ends_with_the_carriers_reason() {
    let now = t0();
    let mut m = dialed(now);
    m.setup_done(now);
    m.media_connected_now();
    m.server_state(EarlyMedia, ok());
    drain(&mut m);
    m.server_state(Disconnected, BUSY);
    let out = drain(&mut m);
    assert_eq!(states(&out), vec![(Disconnected, BUSY)]);
    assert!(out.contains(&Output::Media(MediaCommand::Release)));
    assert_eq!(m.end_reason(), BUSY);
    assert_eq!(m.poll_timeout(), None);
}

#[test]
fn early_media_that_is_never_answered_times_out_as_no_answer() {
    let now = t0();
    let mut m = dialed(now);
    m.setup_done(now);
    m.media_connected_now();
    m.server_state(EarlyMedia, ok());
    drain(&mut m);
    m.handle_timeout(now + Duration::from_secs(114));
    assert!(!m.is_ended());
    m.handle_timeout(now + Duration::from_secs(115));
    let out = drain(&mut m);
    assert_eq!(states(&out), vec![(Disconnected, EndReason::NO_ANSWER)]);
    assert_eq!(
        sends(&out),
        vec![Command::HangUp {
            for_everyone: false
        }]
    );
}

#[test]
fn a_phone_participant_in_early_media_keeps_ringing_until_it_connects() {
    let now = t0();
    let mut m = connected(now);
    m.add_participant(PHONE, Some(OUR_NUMBER.into()), now)
        .unwrap();
    let out = drain(&mut m);
    assert_eq!(
        sends(&out),
        vec![Command::AddParticipant {
            target: PHONE.into(),
            caller_id: Some(OUR_NUMBER.into()),
        }]
    );
    m.participant(&person(PHONE, ParticipantState::EarlyMedia), false);
    let out = drain(&mut m);
    assert!(
        out.contains(&Output::Notice(Notice::Roster(RosterChange::State {
            id: PHONE.into(),
            state: ParticipantState::EarlyMedia,
        })))
    );
    assert_eq!(m.roster()[0].state, ParticipantState::EarlyMedia);
    // Still an invitation: the promote timeout applies.
    assert_eq!(m.poll_timeout().unwrap() - now, Duration::from_secs(115));
    m.participant(&person(PHONE, ParticipantState::Connected), false);
    drain(&mut m);
    assert_eq!(m.poll_timeout(), None, "connected: no longer an invitation");
}

#[test]
fn dtmf_is_sent_on_a_connected_call_and_each_send_gets_its_completion() {
    let now = t0();
    let mut m = connected(now);
    let first = m.send_dtmf(DtmfTone::Num5).unwrap();
    let second = m.send_dtmf(DtmfTone::Pound).unwrap();
    assert_ne!(first, second);
    assert_eq!(
        sends(&drain(&mut m)),
        vec![
            Command::SendDtmf {
                request: first,
                tone: DtmfTone::Num5
            },
            Command::SendDtmf {
                request: second,
                tone: DtmfTone::Pound
            },
        ]
    );
    let refused = (
        EndReason::BAD_REQUEST,
        "this call has no phone participant".to_string(),
    );
    m.dtmf_answer(first, DtmfTone::Num5, Ok(()));
    m.dtmf_answer(second, DtmfTone::Pound, Err(refused.clone()));
    assert_eq!(
        dtmf_notices(&drain(&mut m)),
        vec![
            Notice::DtmfSent {
                request: first,
                tone: DtmfTone::Num5,
                result: Ok(())
            },
            Notice::DtmfSent {
                request: second,
                tone: DtmfTone::Pound,
                result: Err(refused)
            },
        ]
    );
    // Held calls are still connected: DTMF goes to the phone leg, not through our media.
    m.set_hold(true).unwrap();
    assert_eq!(m.state(), LocalHold);
    assert!(m.send_dtmf(DtmfTone::Star).is_ok());
}

#[test]
fn dtmf_needs_a_connected_call() {
    let now = t0();
    let mut m = dialed(now);
    let e = m.send_dtmf(DtmfTone::Num1).unwrap_err();
    assert!(matches!(e, Error::InvalidState(_)), "{e}");
    m.server_state(EarlyMedia, ok());
    assert!(
        matches!(m.send_dtmf(DtmfTone::Num1), Err(Error::InvalidState(_))),
        "early media is not connected"
    );
    m.end(EndReason::LOCAL_HANGUP);
    assert!(matches!(
        m.send_dtmf(DtmfTone::Num1),
        Err(Error::InvalidState(_))
    ));
    assert!(sends(&drain(&mut m))
        .iter()
        .all(|c| !matches!(c, Command::SendDtmf { .. })));
}

#[test]
fn a_completion_arriving_after_the_end_is_still_told() {
    let mut m = connected(t0());
    let r = m.send_dtmf(DtmfTone::A).unwrap();
    m.end(EndReason::REMOTE_HANGUP);
    drain(&mut m);
    let gone = (EndReason::SERVICE_UNAVAILABLE, "link down".to_string());
    m.dtmf_answer(r, DtmfTone::A, Err(gone.clone()));
    assert_eq!(
        dtmf_notices(&drain(&mut m)),
        vec![Notice::DtmfSent {
            request: r,
            tone: DtmfTone::A,
            result: Err(gone)
        }]
    );
}

#[test]
fn tones_received_are_told_and_garbage_or_late_ones_dropped() {
    let mut m = connected(t0());
    m.dtmf_received(PHONE, "7");
    m.dtmf_received(PHONE, "#");
    m.dtmf_received(PHONE, "X");
    m.dtmf_received(PHONE, "12");
    assert_eq!(
        dtmf_notices(&drain(&mut m)),
        vec![
            Notice::DtmfReceived {
                participant: PHONE.into(),
                tone: DtmfTone::Num7
            },
            Notice::DtmfReceived {
                participant: PHONE.into(),
                tone: DtmfTone::Pound
            },
        ]
    );
    m.end(EndReason::LOCAL_HANGUP);
    drain(&mut m);
    m.dtmf_received(PHONE, "1");
    assert!(drain(&mut m).is_empty());
}
