//! Rooms in the browser client (real Chromium, as tests/browser_e2e.rs drives it): the room's
//! link (`join_url`, `/meet/<id>`) opens the sample page, which joins that room; an unlisted
//! browser user waits in the lobby (call state InLobby) until a native organizer admits it,
//! then both hear each other, and the organizer mutes it. The other way round, a browser
//! organizer admits a native guest from the page and mutes everyone else.
//!
//! Needs `scripts/setup.sh` (chromium, web/node_modules). Run alone:
//! `cargo test --workspace --test browser_rooms_e2e`.
mod common;

use acscalling::client::{AgentEvent, Call, RemoteParticipant};
use acscalling::protocol::{CallState, ParticipantState, Role};
use common::browser::*;
use common::party::Party;
use common::wait_until;
use serde_json::json;
use std::time::Duration;

use common::rooms::create_room;

fn of(call: &Call, id: &str) -> Option<RemoteParticipant> {
    call.remote_participants()
        .into_iter()
        .find(|r| r.identifier() == id)
}

#[test]
fn a_browser_opens_the_meeting_link_waits_in_the_lobby_and_is_admitted() {
    // First: the browsers run one test at a time; nothing else starts before.
    let mut b = Browsers::start();
    let svc = service();
    // Only UUIDs are room links; nothing else under /meet/ is served.
    for bad in [
        "/meet/not-a-room",
        "/meet/..%2F..%2FCargo.toml",
        "/meet/../sample.js",
        "/meet/",
    ] {
        let (st, body) = svc.request("GET", bad, "");
        assert_eq!(st, 404, "GET {bad}: {body}");
    }

    let org = Party::new(&svc, "Olga", NATIVE_HZ, false);
    let room = create_room(
        &svc,
        &format!(
            r#"{{"lobby":true,"participants":[{{"id":"{}","role":"organizer"}}]}}"#,
            org.id
        ),
    );
    assert!(room.join_url.ends_with(&format!("/meet/{}", room.id)));
    let o = org.agent.join_room(&room.join_url, org.options()).unwrap();
    assert!(wait_until(T, || o.state() == CallState::Connected));

    // The link opens the sample page, which knows the room it is for.
    let (st, page) = svc.request("GET", &format!("/meet/{}", room.id), "");
    assert_eq!(st, 200);
    assert!(page.contains("/sample.js"), "{page}");
    b.open("guest", &room.join_url, BROWSER_HZ);
    let guest = sign_in_opened(&mut b, "guest");
    b.wait_for(
        "guest",
        "(id) => window.acsSample.meetRoom === id && document.getElementById('room').value.endsWith(id)",
        json!(room.id),
        T,
    );
    let t0 = std::time::Instant::now();
    b.click("guest", "#joinroom");
    b.eval(
        "guest",
        "async () => { window.mutedBy = []; \
         window.acsSample.call.on('mutedByOthers', (e) => window.mutedBy.push(e.by)); }",
        json!(null),
    );
    wait_call_state(&mut b, "guest", "InLobby");
    println!(
        "browser in the lobby {} ms after join",
        t0.elapsed().as_millis()
    );
    // The organizer sees it waiting, as an attendee-to-be.
    assert!(
        wait_until(T, || of(&o, &guest)
            .is_some_and(|p| p.state() == ParticipantState::InLobby)),
        "{:?}",
        org.participant_states()
    );
    assert_eq!(of(&o, &guest).unwrap().role(), Some(Role::Attendee));
    // Waiting: no roster, and the call stays in the lobby.
    std::thread::sleep(Duration::from_millis(1000));
    let st = b.eval(
        "guest",
        "async () => ({ state: window.acsSample.call.state, n: window.acsSample.call.remoteParticipants.length, \
           room: window.acsSample.call.isRoom })",
        json!(null),
    );
    assert_eq!(st, json!({ "state": 9, "n": 0, "room": true }), "{st}");

    // Admitted: Connected, both hear each other, the roster shows the organizer's role.
    let t1 = std::time::Instant::now();
    o.admit(&[of(&o, &guest).unwrap()]).unwrap();
    wait_call_state(&mut b, "guest", "Connected");
    println!(
        "admitted browser Connected {} ms after admit",
        t1.elapsed().as_millis()
    );
    assert!(wait_until(T, || of(&o, &guest)
        .is_some_and(|p| p.state() == ParticipantState::Connected)));
    b.wait_for(
        "guest",
        "(id) => [...document.querySelectorAll('#roster li')].some(li => \
         li.dataset.id === id && li.dataset.state === 'Connected' && li.dataset.role === 'organizer') \
         && window.acsSample.call.remoteParticipants[0].role === 'organizer'",
        json!(org.id),
        T,
    );
    org.hears(BROWSER_HZ, 0.01)
        .unwrap_or_else(|p| panic!("the organizer does not hear the admitted browser: {p:?}"));
    assert_browser_hears(&mut b, "guest", NATIVE_HZ);

    // The organizer mutes the browser: its call reports muted and says by whom; the
    // organizer no longer hears it.
    o.mute_participant(&of(&o, &guest).unwrap()).unwrap();
    let by = b.wait_for(
        "guest",
        "() => window.acsSample.call.isMuted && window.mutedBy.length > 0 \
         && document.getElementById('mute').textContent === 'Unmute' && window.mutedBy",
        json!(null),
        T,
    );
    assert_eq!(by, json!([org.id]));
    assert!(wait_until(T, || of(&o, &guest).is_some_and(|p| p.is_muted())));
    std::thread::sleep(Duration::from_millis(500));
    let p = acscalling::media::audio::tone_power(&org.listen(800), BROWSER_HZ);
    assert!(p < 0.001, "the muted browser is still heard: {p}");
    // It may unmute itself: heard again.
    b.click("guest", "#mute");
    org.hears(BROWSER_HZ, 0.01)
        .unwrap_or_else(|p| panic!("the organizer does not hear the unmuted browser: {p:?}"));

    b.click("guest", "#hangup");
    wait_call_state(&mut b, "guest", "Disconnected");
    assert!(wait_until(T, || of(&o, &guest).is_none()));
    assert_eq!(o.state(), CallState::Connected);
}

#[test]
fn a_browser_organizer_admits_a_native_guest_and_mutes_everyone_else() {
    // First: the browsers run one test at a time; nothing else starts before.
    let mut b = Browsers::start();
    let svc = service();
    let host = sign_in(&mut b, &svc, "host");
    let room = create_room(
        &svc,
        &format!(r#"{{"lobby":true,"participants":[{{"id":"{host}","role":"organizer"}}]}}"#),
    );
    // The organizer joins by the room's link typed into the page.
    b.fill("host", "#room", &room.join_url);
    b.click("host", "#joinroom");
    wait_call_state(&mut b, "host", "Connected");

    let gus = Party::new(&svc, "Gus", NATIVE_HZ, false);
    let g = gus.agent.join_room(&room.id, gus.options()).unwrap();
    assert!(wait_until(T, || g.state() == CallState::InLobby));
    // The page lists the guest waiting, with an Admit button; admitting somebody not
    // waiting is refused by the SDK.
    b.wait_for(
        "host",
        "(id) => [...document.querySelectorAll('#roster li')].some(li => \
         li.dataset.id === id && li.dataset.state === 'InLobby' && li.querySelector('button.admit'))",
        json!(gus.id),
        T,
    );
    let err = b
        .try_eval(
            "host",
            "async () => window.acsSample.call.admit('8:acs:nobody')",
            json!(null),
        )
        .expect_err("nobody waiting");
    assert!(err.contains("not waiting in the lobby"), "{err}");
    b.click("host", "#roster li button.admit");
    assert!(
        wait_until(T, || g.state() == CallState::Connected),
        "{:?}",
        gus.call_log()
    );
    b.wait_for(
        "host",
        "(id) => [...document.querySelectorAll('#roster li')].some(li => \
         li.dataset.id === id && li.dataset.state === 'Connected' && li.dataset.role === 'attendee')",
        json!(gus.id),
        T,
    );
    assert_eq!(of(&g, &host).unwrap().role(), Some(Role::Organizer));
    gus.hears(BROWSER_HZ, 0.01)
        .unwrap_or_else(|p| panic!("the admitted guest does not hear the browser: {p:?}"));
    assert_browser_hears(&mut b, "host", NATIVE_HZ);

    // "Mute everyone else": the native guest is told and muted; the browser no longer
    // hears it.
    b.click("host", "#muteall");
    assert!(
        wait_until(T, || g.is_muted()
            && gus.events().iter().any(|e| matches!(
                e,
                AgentEvent::MutedByOthers { by, .. } if *by == host
            ))),
        "{:?}",
        gus.call_log()
    );
    b.wait_for(
        "host",
        "(id) => window.acsSample.call.remoteParticipants.some(p => p.identifier === id && p.isMuted)",
        json!(gus.id),
        T,
    );
    std::thread::sleep(Duration::from_millis(500));
    let (muted, _) = browser_hears(&mut b, "host", NATIVE_HZ);
    // The guest may unmute itself: heard again, far above what came through muted.
    g.set_muted(false).unwrap();
    let loud = assert_browser_hears(&mut b, "host", NATIVE_HZ);
    assert!(
        muted < loud - 30.0,
        "muted guest {muted:.1} dB, unmuted {loud:.1} dB"
    );
    g.hang_up(false).unwrap();
}
