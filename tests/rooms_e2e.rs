//! Rooms: created with `POST /rooms` (validity window, participants with roles), joined by
//! id or link; the service enforces the roles and the window.

mod common;

use acscalling::client::*;
use acscalling::protocol::{CallState, EndReason, RoomResponse};
use common::party::Party;
use common::{wait_until, Service};
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn create_room(svc: &Service, body: &str) -> RoomResponse {
    let (st, resp) = svc.post("/rooms", body);
    assert_eq!(st, 201, "{resp}");
    serde_json::from_str(&resp).unwrap()
}

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
