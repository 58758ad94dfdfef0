//! Rooms: created with `POST /rooms` (validity window, participants with roles), joined by
//! id or link; the service enforces the roles and the window.

mod common;

use acscalling::client::*;
use acscalling::protocol::{CallState, EndReason, ParticipantState, Role, RoomResponse};
use common::party::Party;
use common::{wait_until, Service};
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

use common::rooms::{create_room, unix_now};

/// An organizer, a presenter, an attendee and a consumer meet: everyone hears the speakers,
/// nobody hears the consumer (whose media the service drops even if it sent any); the
/// consumer cannot unmute or send video; the attendee cannot remove anyone; the organizer
/// can, and ends the meeting for everyone.
#[test]
fn roles_are_enforced_by_the_service() {
    let svc = Service::start();
    let org = Party::new(&svc, "Olga", 700.0, false);
    let pres = Party::new(&svc, "Pia", 900.0, false);
    let att = Party::new(&svc, "Ari", 1100.0, false);
    let con = Party::new(&svc, "Cody", 1300.0, false);
    let stranger = Party::new(&svc, "Sam", 500.0, false);
    let room = create_room(
        &svc,
        &format!(
            r#"{{"participants":[{{"id":"{}","role":"organizer"}},{{"id":"{}","role":"presenter"}},{{"id":"{}","role":"attendee"}},{{"id":"{}","role":"consumer"}}]}}"#,
            org.id, pres.id, att.id, con.id
        ),
    );
    assert!(room.join_url.ends_with(&format!("/meet/{}", room.id)));
    let (st, got) = svc.request("GET", &format!("/rooms/{}", room.id), "");
    assert_eq!(st, 200, "{got}");
    assert_eq!(serde_json::from_str::<RoomResponse>(&got).unwrap(), room);

    // By id, and by link.
    let o = org.agent.join_room(&room.id, org.options()).unwrap();
    let p = pres
        .agent
        .join_room(&room.join_url, pres.options())
        .unwrap();
    let a = att.agent.join_room(&room.id, att.options()).unwrap();
    let c = con.agent.join_room(&room.id, con.options()).unwrap();
    for call in [&o, &p, &a, &c] {
        assert!(wait_until(T, || call.state() == CallState::Connected));
    }
    // Somebody the room does not list is refused.
    let s = stranger
        .agent
        .join_room(&room.id, stranger.options())
        .unwrap();
    assert!(wait_until(T, || s.state() == CallState::Disconnected));
    assert_eq!(s.end_reason().code, 403, "{:?}", s.end_reason());

    // Everyone hears the organizer; the organizer hears the presenter and the attendee but
    // not the consumer, whose microphone plays its tone all along.
    con.hears(700.0, 0.002)
        .unwrap_or_else(|q| panic!("the consumer hears the organizer: {q:?}"));
    for f in [900.0, 1100.0] {
        org.hears(f, 0.002)
            .unwrap_or_else(|q| panic!("the organizer hears {f} Hz: {q:?}"));
    }
    let heard = acscalling::media::audio::tone_power(&org.listen(2000), 1300.0);
    assert!(heard < 0.0005, "the consumer was heard: {heard}");
    // The others see the consumer muted.
    let seen = o
        .remote_participants()
        .into_iter()
        .find(|r| r.identifier() == con.id)
        .expect("the consumer is in the roster");
    assert!(seen.is_muted());

    // The consumer cannot unmute (the refusal leaves it muted) or start video.
    let _ = c.set_muted(false);
    std::thread::sleep(Duration::from_millis(500));
    assert!(seen.is_muted(), "the consumer got unmuted");
    // The attendee cannot remove anyone; the presenter can.
    let of = |call: &Call, id: &str| {
        call.remote_participants()
            .into_iter()
            .find(|r| r.identifier() == id)
            .unwrap()
    };
    let _ = a.remove_participant(&of(&a, &pres.id));
    std::thread::sleep(Duration::from_millis(500));
    assert!(o
        .remote_participants()
        .iter()
        .any(|r| r.identifier() == pres.id));
    p.remove_participant(&of(&p, &att.id)).unwrap();
    assert!(wait_until(T, || a.state() == CallState::Disconnected));
    assert_eq!(a.end_reason(), EndReason::REMOVED);
    // Only the organizer ends the meeting for everyone.
    p.hang_up(true).unwrap();
    assert!(wait_until(T, || p.state() == CallState::Disconnected));
    assert_eq!(
        o.state(),
        CallState::Connected,
        "a presenter cannot end it for everyone"
    );
    o.hang_up(true).unwrap();
    assert!(wait_until(T, || c.state() == CallState::Disconnected));
    assert_eq!(c.end_reason(), EndReason::ENDED_FOR_EVERYONE);
}

/// A room outside its validity window cannot be joined; an unknown room is 404; bad
/// requests are refused by the REST API.
#[test]
fn a_room_outside_its_window_or_unknown_cannot_be_joined() {
    let svc = Service::start();
    let alice = Party::new(&svc, "Alice", 700.0, false);
    let now = unix_now();
    let later = create_room(
        &svc,
        &format!(
            r#"{{"valid_from":{},"valid_until":{},"participants":[{{"id":"{}","role":"organizer"}}]}}"#,
            now + 3600,
            now + 7200,
            alice.id
        ),
    );
    let over = create_room(
        &svc,
        &format!(
            r#"{{"valid_from":{},"valid_until":{},"participants":[{{"id":"{}","role":"organizer"}}]}}"#,
            now - 7200,
            now - 3600,
            alice.id
        ),
    );
    for (room, what) in [(&later.id, "is open from"), (&over.id, "closed at")] {
        let call = alice.agent.join_room(room, alice.options()).unwrap();
        assert!(wait_until(T, || call.state() == CallState::Disconnected));
        assert_eq!(call.end_reason().code, 403, "{what}");
    }
    let unknown = uuid::Uuid::new_v4().to_string();
    let call = alice.agent.join_room(&unknown, alice.options()).unwrap();
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
    assert_eq!(call.end_reason(), EndReason::NOT_FOUND);
    for bad in [
        r#"{"valid_from":10,"valid_until":5}"#,
        r#"{"participants":[{"id":"4:+15551234567","role":"attendee"}]}"#,
        r#"{"participants":[{"id":"8:acs:00000000-0000-0000-0000-000000000000","role":"attendee"}]}"#,
        r#"{"participants":[{"id":"x","role":"boss"}]}"#,
        "not json",
    ] {
        let (st, body) = svc.post("/rooms", bad);
        assert!(st == 400 || st == 404, "{bad}: {st} {body}");
    }
    let (st, _) = svc.request("DELETE", &format!("/rooms/{}", later.id), "");
    assert_eq!(st, 204);
    let (st, _) = svc.request("GET", &format!("/rooms/{}", later.id), "");
    assert_eq!(st, 404);
}

fn of(call: &Call, id: &str) -> Option<RemoteParticipant> {
    call.remote_participants()
        .into_iter()
        .find(|r| r.identifier() == id)
}

fn action_failures(p: &Party) -> Vec<(CallAction, String, EndReason)> {
    p.events()
        .into_iter()
        .filter_map(|e| match e {
            AgentEvent::CallActionFailed {
                action,
                participant,
                reason,
                ..
            } => Some((action, participant, reason)),
            _ => None,
        })
        .collect()
}

/// The issue's meeting: an organizer, two attendees, and one unlisted person who waits in
/// the lobby (hearing nothing, heard by nobody, seeing no roster), seen waiting by the
/// others, is admitted by the organizer (an attendee may not) and then hears everyone and
/// is heard; a second unlisted person is turned away with 403/10018; a third waits out the
/// lobby timeout (408/10019). Roles show in the roster.
#[test]
fn unlisted_people_wait_in_the_lobby_until_admitted_or_turned_away() {
    let svc = Service::start_with(&["--lobby-timeout-secs", "10"]);
    let org = Party::new(&svc, "Olga", 700.0, false);
    let a1 = Party::new(&svc, "Ari", 900.0, false);
    let a2 = Party::new(&svc, "Abe", 1100.0, false);
    let guest = Party::new(&svc, "Gus", 1300.0, false);
    let turned = Party::new(&svc, "Tom", 500.0, false);
    let late = Party::new(&svc, "Lea", 1500.0, false);
    let room = create_room(
        &svc,
        &format!(
            r#"{{"lobby":true,"participants":[{{"id":"{}","role":"organizer"}},{{"id":"{}","role":"attendee"}},{{"id":"{}","role":"attendee"}}]}}"#,
            org.id, a1.id, a2.id
        ),
    );
    assert!(room.lobby);
    let o = org.agent.join_room(&room.join_url, org.options()).unwrap();
    let c1 = a1.agent.join_room(&room.id, a1.options()).unwrap();
    let c2 = a2.agent.join_room(&room.id, a2.options()).unwrap();
    for call in [&o, &c1, &c2] {
        assert!(wait_until(T, || call.state() == CallState::Connected));
    }
    let g = guest.agent.join_room(&room.id, guest.options()).unwrap();
    assert!(wait_until(T, || g.state() == CallState::InLobby));
    // The others see the guest waiting, as an attendee-to-be.
    assert!(wait_until(T, || of(&o, &guest.id)
        .is_some_and(|p| p.state() == ParticipantState::InLobby)));
    assert_eq!(of(&o, &guest.id).unwrap().role(), Some(Role::Attendee));
    assert_eq!(of(&o, &a1.id).unwrap().role(), Some(Role::Attendee));
    assert_eq!(of(&c1, &org.id).unwrap().role(), Some(Role::Organizer));
    // Waiting: no roster, nothing heard, not heard.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(g.state(), CallState::InLobby);
    assert!(
        g.remote_participants().is_empty(),
        "the lobby shows no roster"
    );
    let in_lobby = acscalling::media::audio::tone_power(&guest.listen(1500), 700.0);
    assert!(
        in_lobby < 0.0005,
        "the guest hears the meeting from the lobby: {in_lobby}"
    );
    let leaked = acscalling::media::audio::tone_power(&org.listen(1500), 1300.0);
    assert!(
        leaked < 0.0005,
        "the guest is heard from the lobby: {leaked}"
    );
    // The guest cannot admit itself or do anything but wait or leave.
    assert!(
        g.set_hold(true).is_err() || {
            std::thread::sleep(Duration::from_millis(300));
            g.state() == CallState::InLobby
        }
    );

    // An attendee may not admit; the refusal comes back as an event.
    let waiting = of(&c1, &guest.id).unwrap();
    c1.admit(&[waiting]).unwrap();
    assert!(wait_until(T, || !action_failures(&a1).is_empty()));
    let (action, who, reason) = action_failures(&a1).remove(0);
    assert_eq!(
        (action, who.as_str(), reason.code),
        (CallAction::Admit, guest.id.as_str(), 403)
    );
    assert_eq!(g.state(), CallState::InLobby);
    // Admitting somebody not in the lobby is refused locally.
    assert!(o.admit(&[of(&o, &a2.id).unwrap()]).is_err());

    // The organizer admits: the guest hears everyone and is heard.
    let t0 = std::time::Instant::now();
    o.admit(&[of(&o, &guest.id).unwrap()]).unwrap();
    assert!(wait_until(T, || g.state() == CallState::Connected));
    eprintln!("admitted → Connected in {:?}", t0.elapsed());
    assert!(wait_until(T, || of(&o, &guest.id)
        .is_some_and(|p| p.state() == ParticipantState::Connected)));
    assert!(wait_until(T, || g.remote_participants().len() == 3));
    for f in [700.0, 900.0, 1100.0] {
        guest
            .hears(f, 0.002)
            .unwrap_or_else(|q| panic!("the admitted guest hears {f} Hz: {q:?}"));
    }
    org.hears(1300.0, 0.002)
        .unwrap_or_else(|q| panic!("the organizer hears the admitted guest: {q:?}"));

    // Turned away: 403/10018 on its side and in everyone's roster.
    let t = turned.agent.join_room(&room.id, turned.options()).unwrap();
    assert!(wait_until(T, || of(&o, &turned.id).is_some()));
    o.reject_participant(&of(&o, &turned.id).unwrap()).unwrap();
    assert!(wait_until(T, || t.state() == CallState::Disconnected));
    assert_eq!(t.end_reason(), EndReason::LOBBY_REJECTED);
    assert!(wait_until(T, || of(&o, &turned.id).is_none()));

    // Nobody admits: the lobby timeout (10 s here) ends the wait.
    let l = late.agent.join_room(&room.id, late.options()).unwrap();
    assert!(wait_until(T, || l.state() == CallState::InLobby));
    assert!(wait_until(T, || l.state() == CallState::Disconnected));
    assert_eq!(l.end_reason(), EndReason::LOBBY_TIMEOUT);
    // Still one meeting of four.
    assert_eq!(o.remote_participants().len(), 3);
    assert_eq!(o.state(), CallState::Connected);
}

/// Admit all lets every waiting person in at once; a room without a lobby refuses unlisted
/// people (403) instead.
#[test]
fn admit_all_lets_everyone_waiting_in() {
    let svc = Service::start();
    let org = Party::new(&svc, "Olga", 700.0, false);
    let g1 = Party::new(&svc, "Gus", 900.0, false);
    let g2 = Party::new(&svc, "Gil", 1100.0, false);
    let room = create_room(
        &svc,
        &format!(
            r#"{{"lobby":true,"participants":[{{"id":"{}","role":"presenter"}}]}}"#,
            org.id
        ),
    );
    let o = org.agent.join_room(&room.id, org.options()).unwrap();
    assert!(wait_until(T, || o.state() == CallState::Connected));
    let c1 = g1.agent.join_room(&room.id, g1.options()).unwrap();
    let c2 = g2.agent.join_room(&room.id, g2.options()).unwrap();
    assert!(wait_until(T, || o
        .remote_participants()
        .iter()
        .filter(|p| p.state() == ParticipantState::InLobby)
        .count()
        == 2));
    // A presenter may admit.
    o.admit_all().unwrap();
    for c in [&c1, &c2] {
        assert!(wait_until(T, || c.state() == CallState::Connected));
    }
    g1.hears(1100.0, 0.002)
        .unwrap_or_else(|q| panic!("one admitted guest hears the other: {q:?}"));
    assert!(action_failures(&org).is_empty());
}

/// Muting others: an organizer mutes one attendee (who is told, is muted, and is no longer
/// heard even though its client keeps its tone), the attendee unmutes and is heard again;
/// "mute everyone" mutes all others; an attendee may not mute anyone (403 event); in an
/// ordinary group call anyone may.
#[test]
fn organizers_mute_others_who_may_unmute() {
    let svc = Service::start();
    let org = Party::new(&svc, "Olga", 700.0, false);
    let att = Party::new(&svc, "Ari", 900.0, false);
    let pres = Party::new(&svc, "Pia", 1100.0, false);
    let room = create_room(
        &svc,
        &format!(
            r#"{{"participants":[{{"id":"{}","role":"organizer"}},{{"id":"{}","role":"attendee"}},{{"id":"{}","role":"presenter"}}]}}"#,
            org.id, att.id, pres.id
        ),
    );
    let o = org.agent.join_room(&room.id, org.options()).unwrap();
    let a = att.agent.join_room(&room.id, att.options()).unwrap();
    let p = pres.agent.join_room(&room.id, pres.options()).unwrap();
    for call in [&o, &a, &p] {
        assert!(wait_until(T, || call.state() == CallState::Connected));
    }
    assert!(wait_until(T, || o.remote_participants().len() == 2));
    org.hears(900.0, 0.002)
        .unwrap_or_else(|q| panic!("the organizer hears the attendee: {q:?}"));

    // The attendee may not mute the organizer.
    a.mute_participant(&of(&a, &org.id).unwrap()).unwrap();
    assert!(wait_until(T, || !action_failures(&att).is_empty()));
    let (action, _, reason) = action_failures(&att).remove(0);
    assert_eq!((action, reason.code), (CallAction::MuteOthers, 403));
    assert!(!o.is_muted());

    o.mute_participant(&of(&o, &att.id).unwrap()).unwrap();
    assert!(wait_until(T, || a.is_muted()));
    assert!(wait_until(T, || att.events().iter().any(|e| matches!(
        e,
        AgentEvent::MutedByOthers { by, .. } if *by == org.id
    ))));
    assert!(wait_until(T, || of(&p, &att.id).is_some_and(|r| r.is_muted())));
    std::thread::sleep(Duration::from_millis(300));
    let heard = acscalling::media::audio::tone_power(&org.listen(1500), 900.0);
    assert!(heard < 0.0005, "the muted attendee is still heard: {heard}");
    // It may unmute itself, and is heard again.
    a.set_muted(false).unwrap();
    org.hears(900.0, 0.002)
        .unwrap_or_else(|q| panic!("the attendee is heard after unmuting: {q:?}"));

    // Mute everyone (a presenter may): both others muted, the presenter itself not.
    p.mute_all_remote_participants().unwrap();
    assert!(wait_until(T, || a.is_muted() && o.is_muted()));
    assert!(!p.is_muted());
    assert!(wait_until(T, || of(&a, &org.id).is_some_and(|r| r.is_muted())));

    // An ordinary group call: anyone may mute anyone.
    let x = Party::new(&svc, "Xia", 1300.0, false);
    let y = Party::new(&svc, "Yan", 1500.0, false);
    let gid = uuid::Uuid::new_v4().to_string();
    let cx = x.agent.join(&gid, x.options()).unwrap();
    let cy = y.agent.join(&gid, y.options()).unwrap();
    assert!(wait_until(T, || cx.state() == CallState::Connected
        && of(&cx, &y.id).is_some()));
    assert_eq!(of(&cx, &y.id).unwrap().role(), None);
    cx.mute_participant(&of(&cx, &y.id).unwrap()).unwrap();
    assert!(wait_until(T, || cy.is_muted()));
    let _ = cy;
}
