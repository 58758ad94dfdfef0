//! Rooms outlive the service: created on a service with a database file, they are there
//! (window, lobby, participants with roles) after a `kill -9` and a restart on the same file,
//! and can be joined with their roles; deleted and closed rooms stay gone, and a deleted
//! user's listing goes with it.

mod common;

use acscalling::client::*;
use acscalling::protocol::{CallState, Role, RoomResponse};
use common::party::Party;
use common::{wait_until, RestartableService, Service};
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

use common::rooms::{create_room, unix_now};

fn get_room(svc: &Service, id: &str) -> (u16, String) {
    svc.request("GET", &format!("/rooms/{id}"), "")
}

fn of(call: &Call, id: &str) -> Option<RemoteParticipant> {
    call.remote_participants()
        .into_iter()
        .find(|r| r.identifier() == id)
}

#[test]
fn rooms_survive_a_service_restart() {
    let mut svc = RestartableService::start(&[]);
    let (org, pres, con, gone, guest) = {
        let s = svc.service();
        (
            s.create_user(),
            s.create_user(),
            s.create_user(),
            s.create_user(),
            s.create_user(),
        )
    };
    let now = unix_now();
    let (kept, deleted, closed) = {
        let s = svc.service();
        let kept = create_room(
            s,
            &format!(
                r#"{{"lobby":true,"valid_from":{},"valid_until":{},"participants":[{{"id":"{org}","role":"organizer"}},{{"id":"{pres}","role":"presenter"}},{{"id":"{con}","role":"consumer"}},{{"id":"{gone}","role":"attendee"}}]}}"#,
                now - 60,
                now + 3600
            ),
        );
        assert!(kept.lobby);
        assert_eq!(kept.participants.len(), 4);
        let deleted = create_room(
            s,
            &format!(r#"{{"participants":[{{"id":"{org}","role":"organizer"}}]}}"#),
        );
        let (st, body) = s.request("DELETE", &format!("/rooms/{}", deleted.id), "");
        assert_eq!(st, 204, "{body}");
        // Created closed already: purged when the service loads its rooms.
        let closed = create_room(
            s,
            &format!(
                r#"{{"valid_from":{},"valid_until":{},"participants":[{{"id":"{org}","role":"organizer"}}]}}"#,
                now - 120,
                now - 60
            ),
        );
        assert_eq!(get_room(s, &closed.id).0, 200);
        // A deleted user leaves the room's list (in memory now, in the store by cascade).
        let (st, body) = s.request("DELETE", &format!("/identities/{gone}"), "");
        assert!(st == 200 || st == 204, "delete user: {st} {body}");
        (kept, deleted.id, closed.id)
    };
    let (st, before) = get_room(svc.service(), &kept.id);
    assert_eq!(st, 200, "{before}");
    let before: RoomResponse = serde_json::from_str(&before).unwrap();
    assert!(
        before.participants.iter().all(|p| p.id != gone),
        "{before:?}"
    );
    assert_eq!(before.participants.len(), 3);

    svc.kill9();
    let s = svc.restart();

    let (st, after) = get_room(s, &kept.id);
    assert_eq!(st, 200, "the room came back with the store: {after}");
    let after: RoomResponse = serde_json::from_str(&after).unwrap();
    assert_eq!(after, before);
    assert!(after.lobby);
    assert_eq!(
        (after.valid_from, after.valid_until),
        (kept.valid_from, kept.valid_until)
    );
    for id in [&deleted, &closed] {
        let (st, body) = get_room(s, id);
        assert_eq!(st, 404, "room {id}: {body}");
    }
    let (st, _) = s.request("DELETE", &format!("/rooms/{deleted}"), "");
    assert_eq!(st, 404, "a deleted room stays deleted");

    // The listed join with their roles, by id and by link.
    let o = Party::for_user(s, "Olga", &org, 700.0, false);
    let p = Party::for_user(s, "Pia", &pres, 900.0, false);
    let c = Party::for_user(s, "Cody", &con, 1100.0, false);
    let oc = o.agent.join_room(&after.id, o.options()).unwrap();
    let pc = p.agent.join_room(&after.join_url, p.options()).unwrap();
    let cc = c.agent.join_room(&after.id, c.options()).unwrap();
    for call in [&oc, &pc, &cc] {
        assert!(
            wait_until(T, || call.state() == CallState::Connected),
            "{:?}",
            call.state()
        );
    }
    assert!(wait_until(T, || of(&pc, &org).is_some()
        && of(&oc, &pres).is_some()
        && of(&oc, &con).is_some()));
    assert_eq!(of(&pc, &org).unwrap().role(), Some(Role::Organizer));
    assert_eq!(of(&oc, &pres).unwrap().role(), Some(Role::Presenter));
    assert_eq!(of(&oc, &con).unwrap().role(), Some(Role::Consumer));
    // The lobby flag came back too: somebody unlisted waits instead of being refused.
    let g = Party::for_user(s, "Gus", &guest, 1300.0, false);
    let gc = g.agent.join_room(&after.id, g.options()).unwrap();
    assert!(
        wait_until(T, || gc.state() == CallState::InLobby),
        "{:?}",
        gc.state()
    );
    gc.hang_up(false).unwrap();
    oc.hang_up(true).unwrap();
    assert!(wait_until(T, || pc.state() == CallState::Disconnected));
}
