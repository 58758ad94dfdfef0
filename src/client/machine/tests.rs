//! The call lifecycle on synthetic time: no network, no sleeps.

use super::*;
use CallState::{
    Connected, Connecting, Disconnected, Disconnecting, Incoming, LocalHold, RemoteHold, Ringing,
};

pub(super) const ME: &str = "8:acs:me";

pub(super) fn t0() -> Instant {
    Instant::now()
}

pub(super) fn drain(m: &mut CallMachine) -> Vec<Output> {
    std::iter::from_fn(|| m.poll_output()).collect()
}

pub(super) fn states(out: &[Output]) -> Vec<(CallState, EndReason)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Notice(Notice::State { state, reason }) => Some((*state, *reason)),
            _ => None,
        })
        .collect()
}

pub(super) fn sends(out: &[Output]) -> Vec<Command> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send(c) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

pub(super) fn ok() -> EndReason {
    EndReason::default()
}

pub(super) fn person(id: &str, state: ParticipantState) -> ParticipantInfo {
    ParticipantInfo {
        id: id.into(),
        display_name: id.into(),
        state,
        muted: false,
        video: false,
        screen_sharing: false,
        end_reason: None,
        role: None,
    }
}

/// An outgoing 1:1 call whose setup began at `now`.
pub(super) fn placed(now: Instant) -> CallMachine {
    let mut m = CallMachine::outgoing(ME, false);
    m.start(
        Setup::Start {
            targets: vec!["8:acs:bob".into()],
            caller_id: None,
        },
        now,
    );
    m
}

/// A connected outgoing call (service Connected, media connected, transport ready).
pub(super) fn connected(now: Instant) -> CallMachine {
    let mut m = placed(now);
    m.setup_done(now);
    m.server_state(Connected, ok());
    m.media_connected_now();
    drain(&mut m);
    m
}

#[test]
fn outgoing_call_rings_then_connects_when_both_service_and_media_say_so() {
    let now = t0();
    let mut m = placed(now);
    let out = drain(&mut m);
    assert_eq!(
        sends(&out),
        vec![Command::Establish(Setup::Start {
            targets: vec!["8:acs:bob".into()],
            caller_id: None,
        })]
    );
    assert!(
        states(&out).is_empty(),
        "created Connecting: no redundant event"
    );
    m.server_state(Ringing, ok());
    m.server_state(Connected, ok());
    assert_eq!(
        states(&drain(&mut m)),
        vec![(Ringing, ok()), (Connecting, ok())]
    );
    m.media_connected_now();
    assert_eq!(states(&drain(&mut m)), vec![(Connected, ok())]);
    assert_eq!(
        m.poll_timeout(),
        None,
        "setup deadline cleared once connected"
    );
}

#[test]
fn one_to_one_setup_times_out_after_85_s_with_a_reason_that_says_what_was_missing() {
    let now = t0();
    let mut m = placed(now);
    m.server_state(Ringing, ok());
    drain(&mut m);
    let deadline = m.poll_timeout().unwrap();
    assert_eq!(deadline - now, Duration::from_secs(85));
    m.handle_timeout(deadline - Duration::from_millis(1));
    assert!(drain(&mut m).is_empty(), "nothing fires early");
    m.handle_timeout(deadline);
    let out = drain(&mut m);
    assert_eq!(states(&out), vec![(Disconnected, EndReason::MEDIA_TIMEOUT)]);
    assert_eq!(
        sends(&out),
        vec![Command::HangUp {
            for_everyone: false
        }]
    );
    assert!(out.contains(&Output::Media(MediaCommand::Release)));
    assert_eq!(m.poll_timeout(), None);

    // Media up but nobody answered: no answer.
    let mut m = placed(now);
    m.media_connected_now();
    m.server_state(Ringing, ok());
    m.handle_timeout(now + Duration::from_secs(85));
    assert_eq!(m.end_reason(), EndReason::NO_ANSWER);
}

#[test]
fn group_setup_times_out_after_85_s() {
    let now = t0();
    let mut m = CallMachine::outgoing(ME, true);
    m.start(Setup::Join, now);
    assert_eq!(m.poll_timeout().unwrap() - now, Duration::from_secs(85));
    m.handle_timeout(now + Duration::from_secs(85));
    assert!(m.is_ended());
    // A joined call that connected in time is not ended by the old deadline.
    let mut m = CallMachine::outgoing(ME, true);
    m.start(Setup::Join, now);
    m.server_state(Connected, ok());
    m.media_connected_now();
    m.handle_timeout(now + Duration::from_secs(200));
    assert_eq!(m.state(), Connected);
}

#[test]
fn incoming_call_accept_reject_and_double_accept() {
    let now = t0();
    let caller = person("8:acs:alice", ParticipantState::Connected);
    let mut m = CallMachine::incoming(ME, &caller);
    assert_eq!(m.state(), Incoming);
    assert_eq!(m.roster().len(), 1);
    drain(&mut m);
    m.accept(now).unwrap();
    assert!(matches!(m.accept(now), Err(Error::InvalidState(_))));
    let out = drain(&mut m);
    assert_eq!(states(&out), vec![(Connecting, ok())]);
    assert_eq!(sends(&out), vec![Command::Establish(Setup::Accept)]);
    assert!(m.reject().is_err(), "an accepted call is not rejected");

    let mut m = CallMachine::incoming(ME, &caller);
    drain(&mut m);
    m.reject().unwrap();
    let out = drain(&mut m);
    assert_eq!(sends(&out), vec![Command::Reject]);
    assert_eq!(states(&out), vec![(Disconnected, EndReason::DECLINED)]);
    assert!(m.accept(now).is_err());
    // Hanging up a ringing call rejects it.
    let mut m = CallMachine::incoming(ME, &caller);
    m.hang_up(false).unwrap();
    assert_eq!(m.end_reason(), EndReason::DECLINED);
}

#[test]
fn hang_up_is_disconnecting_until_the_service_answers() {
    let now = t0();
    let mut m = connected(now);
    m.hang_up(true).unwrap();
    let out = drain(&mut m);
    assert_eq!(states(&out), vec![(Disconnecting, ok())]);
    assert_eq!(
        sends(&out),
        vec![Command::HangUpAndWait { for_everyone: true }]
    );
    assert!(out.contains(&Output::Media(MediaCommand::Sending(false))));
    m.hang_up_done();
    assert_eq!(
        states(&drain(&mut m)),
        vec![(Disconnected, EndReason::LOCAL_HANGUP)]
    );
    assert!(matches!(m.hang_up(false), Err(Error::InvalidState(_))));
    // Ending twice tells the host once.
    m.end(EndReason::REMOTE_HANGUP);
    assert!(drain(&mut m).is_empty());
    assert_eq!(m.end_reason(), EndReason::LOCAL_HANGUP);
}

#[test]
fn the_service_ends_the_call_with_its_reason() {
    let mut m = connected(t0());
    m.server_state(Disconnected, EndReason::REMOTE_HANGUP);
    assert_eq!(
        states(&drain(&mut m)),
        vec![(Disconnected, EndReason::REMOTE_HANGUP)]
    );
    // Late messages change nothing.
    m.server_state(Connected, ok());
    m.media_connected_now();
    assert!(drain(&mut m).is_empty());
}

#[test]
fn mute_is_told_once_and_a_mute_before_setup_reaches_the_service_after_it() {
    let now = t0();
    let mut m = placed(now);
    drain(&mut m);
    assert!(m.set_muted(true).unwrap());
    assert!(!m.set_muted(true).unwrap());
    let out = drain(&mut m);
    assert_eq!(
        out,
        vec![
            Output::Media(MediaCommand::Muted(true)),
            Output::Send(Command::SetMuted(true)),
            Output::Notice(Notice::Muted(true)),
        ]
    );
    m.setup_done(now);
    assert_eq!(sends(&drain(&mut m)), vec![Command::SetMuted(true)]);
}

#[test]
fn hold_and_resume() {
    let now = t0();
    let mut m = connected(now);
    assert!(m.set_hold(false).is_err(), "resume needs a held call");
    m.set_hold(true).unwrap();
    let out = drain(&mut m);
    assert_eq!(states(&out), vec![(LocalHold, ok())]);
    assert_eq!(sends(&out), vec![Command::SetHold(true)]);
    assert!(out.contains(&Output::Media(MediaCommand::Playing(false))));
    // The service's late confirmation does not flap the state.
    m.set_hold(false).unwrap();
    m.server_state(LocalHold, ok());
    m.server_state(Connected, ok());
    assert_eq!(states(&drain(&mut m)), vec![(Connected, ok())]);
    // The other side holds.
    m.server_state(RemoteHold, ok());
    assert_eq!(states(&drain(&mut m)), vec![(RemoteHold, ok())]);
    assert!(
        placed(now).set_hold(true).is_err(),
        "a connecting call is not held"
    );
}

#[test]
fn a_rejoin_keeps_the_state_and_tells_the_restarted_service_hold_mute_and_video_again() {
    let now = t0();
    let mut m = connected(now);
    m.set_muted(true).unwrap();
    m.set_hold(true).unwrap();
    m.set_video(VideoStreamKind::Video, true, now);
    drain(&mut m);
    m.rejoin_started();
    assert_eq!(
        m.join_state(),
        JoinState {
            muted: true,
            video: true,
            screen_sharing: false
        }
    );
    // The restarted service sets the new join up: the host sees no Connecting.
    m.server_state(Connecting, ok());
    assert!(states(&drain(&mut m)).is_empty());
    assert_eq!(m.state(), LocalHold);
    m.rejoined(now);
    let sent = sends(&drain(&mut m));
    assert!(sent.contains(&Command::SetHold(true)), "{sent:?}");
    assert!(sent.contains(&Command::SetMuted(true)), "{sent:?}");
    assert!(
        sent.iter()
            .any(|c| matches!(c, Command::SetVideo { on: true, .. })),
        "{sent:?}"
    );
    m.server_state(Connected, ok());
    assert_eq!(m.state(), LocalHold);
    // Once joined, a later Connecting is shown again.
    m.set_hold(false).unwrap();
    m.server_state(Connecting, ok());
    assert_eq!(m.state(), Connecting);
}

#[test]
fn transport_failure_ends_the_call_and_leaves_it_in_the_service() {
    let mut m = connected(t0());
    m.media_failed();
    let out = drain(&mut m);
    assert_eq!(
        sends(&out),
        vec![Command::HangUp {
            for_everyone: false
        }]
    );
    assert_eq!(states(&out), vec![(Disconnected, EndReason::MEDIA_FAILED)]);
    m.media_failed();
    assert!(drain(&mut m).is_empty());
}

#[test]
fn setup_failure_ends_with_its_reason() {
    let mut m = placed(t0());
    m.setup_failed(EndReason::NOT_FOUND);
    assert_eq!(m.end_reason(), EndReason::NOT_FOUND);
    assert_eq!(m.poll_timeout(), None);
}

#[test]
fn media_gone_longer_than_120_s_ends_the_call_as_inactive_and_a_return_in_time_keeps_it() {
    let now = t0();
    let mut m = connected(now);
    m.media_interrupted(now + Duration::from_secs(10));
    assert_eq!(
        m.poll_timeout(),
        Some(now + Duration::from_secs(130)),
        "inactivity deadline"
    );
    m.handle_timeout(now + Duration::from_secs(129));
    assert!(!m.is_ended());
    m.handle_timeout(now + Duration::from_secs(130));
    let out = drain(&mut m);
    assert_eq!(states(&out), vec![(Disconnected, EndReason::INACTIVE)]);
    assert_eq!(
        sends(&out),
        vec![Command::HangUp {
            for_everyone: false
        }]
    );

    let mut m = connected(now);
    m.media_interrupted(now);
    m.media_connected_now();
    assert_eq!(m.poll_timeout(), None);
    m.handle_timeout(now + Duration::from_secs(500));
    assert_eq!(m.state(), Connected);
}

#[test]
fn video_started_before_setup_is_announced_after_it_and_fails_after_the_40_s_modality_timeout() {
    let now = t0();
    let mut m = placed(now);
    drain(&mut m);
    m.set_video(VideoStreamKind::Video, true, now);
    assert!(
        sends(&drain(&mut m)).is_empty(),
        "not before the transport exists"
    );
    let later = now + Duration::from_secs(1);
    m.setup_done(later);
    assert_eq!(
        sends(&drain(&mut m)),
        vec![Command::SetVideo {
            kind: VideoStreamKind::Video,
            on: true
        }]
    );
    assert_eq!(m.poll_timeout().unwrap() - later, Duration::from_secs(40));
    m.handle_timeout(later + Duration::from_secs(40));
    let out = drain(&mut m);
    assert!(out.contains(&Output::Media(MediaCommand::StopVideo(
        VideoStreamKind::Video
    ))));
    assert_eq!(
        sends(&out),
        vec![Command::SetVideo {
            kind: VideoStreamKind::Video,
            on: false
        }]
    );
    assert_eq!(
        outgoing(&out),
        vec![(
            OutgoingVideoState::Failed,
            EndReason::MODALITY_TIMEOUT,
            "the service did not answer in 40 s (modality timeout)".to_string()
        )]
    );
    assert!(!m.is_ended(), "a failed modality does not end the call");
}

/// The outgoing-video notices of `out`: (state, reason, message).
fn outgoing(out: &[Output]) -> Vec<(OutgoingVideoState, EndReason, String)> {
    out.iter()
        .filter_map(|o| match o {
            Output::Notice(Notice::OutgoingVideo {
                state,
                reason,
                message,
                ..
            }) => Some((*state, *reason, message.clone())),
            _ => None,
        })
        .collect()
}

#[test]
fn a_shared_source_that_pauses_resumes_and_ends_is_told_and_an_end_stops_the_stream() {
    let now = t0();
    let mut m = connected(now);
    let kind = VideoStreamKind::ScreenShare;
    let paused = ShareState::Paused("the window is minimised".into());
    // Paused before the service answered: Started waits for the resume.
    m.set_video(kind, true, now);
    drain(&mut m);
    m.source_state(kind, &paused);
    m.video_answer(kind, true, Ok(()));
    let out = drain(&mut m);
    assert_eq!(
        outgoing(&out),
        vec![(
            OutgoingVideoState::Paused,
            EndReason::default(),
            "the window is minimised".into()
        )]
    );
    m.source_state(kind, &paused);
    assert!(drain(&mut m).is_empty(), "told once");
    m.source_state(kind, &ShareState::Active);
    assert_eq!(
        outgoing(&drain(&mut m)),
        vec![(
            OutgoingVideoState::Started,
            EndReason::default(),
            String::new()
        )]
    );
    m.source_state(kind, &ShareState::Active);
    assert!(drain(&mut m).is_empty());
    m.source_state(kind, &ShareState::Ended("the window was closed".into()));
    let out = drain(&mut m);
    assert!(out.contains(&Output::Media(MediaCommand::StopVideo(kind))));
    assert_eq!(sends(&out), vec![Command::SetVideo { kind, on: false }]);
    assert_eq!(
        outgoing(&out),
        vec![(
            OutgoingVideoState::Failed,
            EndReason::SOURCE_ENDED,
            "the window was closed".into()
        )]
    );
    // A stream no longer sent hears nothing of its source.
    m.source_state(kind, &paused);
    assert!(drain(&mut m).is_empty());
}

#[test]
fn video_answers_accept_refuse_and_superseded() {
    let now = t0();
    let mut m = connected(now);
    let kind = VideoStreamKind::ScreenShare;
    m.set_video(kind, true, now);
    m.video_answer(kind, true, Ok(()));
    assert_eq!(m.poll_timeout(), None);
    assert_eq!(
        outgoing(&drain(&mut m)),
        vec![(
            OutgoingVideoState::Started,
            EndReason::default(),
            String::new()
        )]
    );
    // A second answer to the same start is ignored.
    m.video_answer(kind, true, Ok(()));
    assert!(drain(&mut m).is_empty());
    // The host stops it: Stopped.
    m.set_video(kind, false, now);
    assert_eq!(
        outgoing(&drain(&mut m)),
        vec![(
            OutgoingVideoState::Stopped,
            EndReason::LOCAL_HANGUP,
            String::new()
        )]
    );
    // Refused: the stream stops, Failed with the service's reason.
    m.set_video(kind, true, now);
    drain(&mut m);
    let why = "8:acs:carol is already sharing a screen in this call";
    m.video_answer(kind, true, Err((EndReason::FORBIDDEN, why.into())));
    let out = drain(&mut m);
    assert!(out.contains(&Output::Media(MediaCommand::StopVideo(kind))));
    assert_eq!(
        outgoing(&out),
        vec![(OutgoingVideoState::Failed, EndReason::FORBIDDEN, why.into())]
    );
    // An answer to a start the host already stopped changes nothing.
    m.set_video(kind, true, now);
    m.set_video(kind, false, now);
    drain(&mut m);
    m.video_answer(kind, true, Err((EndReason::FORBIDDEN, "late".into())));
    assert!(drain(&mut m).is_empty());
    // Stopping what is not sent says nothing.
    m.set_video(VideoStreamKind::Video, false, now);
    assert!(drain(&mut m).is_empty());
}

#[test]
fn an_invitee_rings_until_the_115_s_promote_timeout() {
    let now = t0();
    let mut m = connected(now);
    m.participant(&person("8:acs:bob", ParticipantState::Connected), false);
    drain(&mut m);
    assert!(!m.is_group());
    m.add_participant("8:acs:carol", None, now).unwrap();
    let out = drain(&mut m);
    assert_eq!(
        sends(&out),
        vec![Command::AddParticipant {
            target: "8:acs:carol".into(),
            caller_id: None
        }]
    );
    assert!(
        out.contains(&Output::Notice(Notice::Roster(RosterChange::Added(
            roster::invited("8:acs:carol")
        ))))
    );
    assert!(m.is_group(), "a third party makes a group call");
    assert!(
        m.add_participant("8:acs:carol", None, now).is_err(),
        "already in"
    );
    assert!(m.add_participant(ME, None, now).is_err(), "yourself");
    m.invite_answer("8:acs:carol", Ok(()));
    m.participant(&person("8:acs:carol", ParticipantState::Ringing), false);
    assert_eq!(m.poll_timeout().unwrap() - now, Duration::from_secs(115));
    m.handle_timeout(now + Duration::from_secs(115));
    let out = drain(&mut m);
    assert_eq!(
        sends(&out),
        vec![Command::RemoveParticipant("8:acs:carol".into())]
    );
    assert!(
        out.contains(&Output::Notice(Notice::Roster(RosterChange::Removed {
            id: "8:acs:carol".into(),
            reason: EndReason::NO_ANSWER
        })))
    );
    assert!(!m.is_ended());

    // An invitee who connects in time is no longer timed.
    m.add_participant("8:acs:dave", None, now).unwrap();
    m.participant(&person("8:acs:dave", ParticipantState::Connected), false);
    assert_eq!(m.poll_timeout(), None);
}

#[test]
fn a_refused_invitation_leaves_the_roster_with_the_reason() {
    let now = t0();
    let mut m = connected(now);
    m.add_participant("8:acs:zed", None, now).unwrap();
    drain(&mut m);
    m.invite_answer("8:acs:zed", Err(EndReason::NOT_FOUND));
    let out = drain(&mut m);
    assert!(
        out.contains(&Output::Notice(Notice::Roster(RosterChange::Removed {
            id: "8:acs:zed".into(),
            reason: EndReason::NOT_FOUND
        })))
    );
    assert!(m.roster().is_empty());
    assert_eq!(m.poll_timeout(), None);
    assert!(matches!(
        m.remove_participant("8:acs:zed"),
        Err(Error::NotFound(_))
    ));
    // Inviting needs a live call in a state that can grow.
    let mut m = CallMachine::incoming(ME, &person("8:acs:a", ParticipantState::Connected));
    assert!(m.add_participant("8:acs:b", None, now).is_err());
}

#[test]
fn nothing_happens_after_the_end() {
    let now = t0();
    let mut m = connected(now);
    m.end(EndReason::REMOTE_HANGUP);
    drain(&mut m);
    assert!(m.set_muted(true).is_err());
    assert!(m.set_hold(true).is_err());
    assert!(m.add_participant("8:acs:x", None, now).is_err());
    m.set_video(VideoStreamKind::Video, true, now);
    m.handle_timeout(now + Duration::from_secs(1000));
    m.setup_done(now);
    assert!(drain(&mut m).is_empty());
    assert_eq!(m.poll_timeout(), None);
}
