//! Who may do what on a call, over raw signaling against the real binary: a client that is
//! not a participant gets 403 with a reason for every action, and the call does not change.
mod common;

use common::{dummy_offer, Client, Service};
use serde_json::{json, Value};

fn hello(token: &str) -> Value {
    json!({"type": "hello", "protocol": 2, "token": token, "display_name": "x"})
}

/// Message types that mean the call or its roster changed.
const CHANGES: &[&str] = &[
    "call_state",
    "roster",
    "participant_updated",
    "participants_updated",
    "participant_removed",
    "participants_removed",
    "incoming_call",
];

/// Sends a ping numbered `req` and returns every message that arrived before its response.
/// Messages the hub produced for a request answered earlier are queued before it, so this
/// shows everything the earlier requests caused.
async fn sync(c: &mut Client, req: u64) -> Vec<Value> {
    c.send(json!({"type": "ping", "req": req})).await;
    let mut before = Vec::new();
    loop {
        let m = c.next().await.expect("connection open");
        if m["type"] == "response" && m["req"] == req {
            return before;
        }
        before.push(m);
    }
}

fn changes(msgs: &[Value]) -> Vec<&Value> {
    msgs.iter()
        .filter(|m| CHANGES.contains(&m["type"].as_str().unwrap_or("")))
        .collect()
}

/// Sends `msg` (whose req is `req`) and returns the response to it.
async fn request(c: &mut Client, req: u64, msg: Value) -> Value {
    c.send(msg).await;
    c.expect_where(&format!("response {req}"), |m| {
        m["type"] == "response" && m["req"] == req
    })
    .await
}

/// Every action on call `call` that only a participant may take, numbered from `first`.
fn every_action(call: &str, first: u64, someone: &str) -> Vec<(u64, &'static str, Value)> {
    let n = |i: u64| first + i;
    vec![
        (
            n(0),
            "hang_up",
            json!({"type": "hang_up", "req": n(0), "call_id": call, "for_everyone": false}),
        ),
        (
            n(1),
            "end for everyone",
            json!({"type": "hang_up", "req": n(1), "call_id": call, "for_everyone": true}),
        ),
        (
            n(2),
            "set_muted",
            json!({"type": "set_muted", "req": n(2), "call_id": call, "muted": true}),
        ),
        (
            n(3),
            "set_hold",
            json!({"type": "set_hold", "req": n(3), "call_id": call, "hold": true}),
        ),
        (
            n(4),
            "set_video",
            json!({"type": "set_video", "req": n(4), "call_id": call, "kind": "video", "on": true}),
        ),
        (
            n(5),
            "subscribe_video",
            json!({"type": "subscribe_video", "req": n(5), "call_id": call, "participant": someone, "kind": "video", "slot": 0}),
        ),
        (
            n(6),
            "unsubscribe_video",
            json!({"type": "unsubscribe_video", "req": n(6), "call_id": call, "kind": "video", "slot": 0}),
        ),
        (
            n(7),
            "send_dtmf",
            json!({"type": "send_dtmf", "req": n(7), "call_id": call, "tones": "123"}),
        ),
        (
            n(8),
            "restart_ice",
            json!({"type": "restart_ice", "req": n(8), "call_id": call, "offer_sdp": dummy_offer()}),
        ),
        (
            n(9),
            "add_participant",
            json!({"type": "add_participant", "req": n(9), "call_id": call, "target": "8:echo123"}),
        ),
        (
            n(10),
            "remove_participant",
            json!({"type": "remove_participant", "req": n(10), "call_id": call, "target": someone}),
        ),
    ]
}

/// Sends every action and checks each is refused with 403 and a reason containing `why`.
async fn all_refused(c: &mut Client, who: &str, call: &str, first: u64, someone: &str, why: &str) {
    for (req, name, msg) in every_action(call, first, someone) {
        let r = request(c, req, msg).await;
        assert_eq!(r["error"]["code"], 403, "{who} {name}: {r}");
        let text = r["error"]["message"].as_str().unwrap_or_default();
        assert!(
            text.contains(why) && text.contains(call),
            "{who} {name}: {text}"
        );
    }
}

#[tokio::test]
async fn only_participants_act_on_a_call_and_refusals_change_nothing() {
    let svc = Service::start(&[]);
    let (alice_id, mut alice) = svc.user("Alice").await;
    let bob_id = svc.create_user();
    let mut bob = Client::connect(&svc).await;
    bob.send(hello(&svc.token(&bob_id))).await;
    bob.expect("welcome").await;
    // Bob's second device: it rings too, but does not answer.
    let mut bob2 = Client::connect(&svc).await;
    bob2.send(hello(&svc.token(&bob_id))).await;
    bob2.expect("welcome").await;
    let (carol_id, mut carol) = svc.user("Carol").await;
    let (_, mut mallory) = svc.user("Mallory").await;

    // A group call: Alice calls Bob and Carol; Bob answers, Carol's phone keeps ringing.
    let call = "authz-1";
    alice
        .send(json!({"type": "start_call", "req": 1, "call_id": call,
                     "targets": [bob_id, carol_id], "offer_sdp": dummy_offer()}))
        .await;
    assert!(alice.expect("response").await.get("error").is_none());
    bob.expect("incoming_call").await;
    bob2.expect("incoming_call").await;
    carol.expect("incoming_call").await;
    let r = request(
        &mut bob,
        2,
        json!({"type": "accept", "req": 2, "call_id": call, "offer_sdp": dummy_offer()}),
    )
    .await;
    assert!(r["answer_sdp"].is_string(), "{r}");
    bob2.expect_call_state(call, "Disconnected").await;
    for c in [&mut alice, &mut bob, &mut carol] {
        sync(c, 10).await;
    }

    // An outsider, a ringing invitee and the user's other device: 403 for every action.
    all_refused(
        &mut mallory,
        "mallory",
        call,
        100,
        &alice_id,
        "not a participant",
    )
    .await;
    all_refused(&mut carol, "carol", call, 200, &alice_id, "have not joined").await;
    all_refused(
        &mut bob2,
        "bob's other device",
        call,
        300,
        &alice_id,
        "another device",
    )
    .await;
    // Only invitees answer or decline.
    for (req, ty) in [(400, "accept"), (401, "reject")] {
        let r = request(
            &mut mallory,
            req,
            json!({"type": ty, "req": req, "call_id": call, "offer_sdp": dummy_offer()}),
        )
        .await;
        assert_eq!(r["error"]["code"], 403, "{ty}: {r}");
        assert!(r["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not invited"));
    }
    let r = request(
        &mut bob2,
        402,
        json!({"type": "accept", "req": 402, "call_id": call, "offer_sdp": dummy_offer()}),
    )
    .await;
    assert_eq!(r["error"]["code"], 403, "{r}");
    // A call that does not exist is 404, not 403.
    let r = request(
        &mut mallory,
        403,
        json!({"type": "set_muted", "req": 403, "call_id": "no-such-call", "muted": true}),
    )
    .await;
    assert_eq!(r["error"]["code"], 404, "{r}");

    // Nothing changed for anyone in the call.
    for (name, c) in [
        ("alice", &mut alice),
        ("bob", &mut bob),
        ("carol", &mut carol),
    ] {
        let seen = sync(c, 20).await;
        assert!(changes(&seen).is_empty(), "{name} saw {:?}", changes(&seen));
    }

    // The participants themselves may act (which also shows `sync` sees changes).
    let r = request(
        &mut bob,
        30,
        json!({"type": "set_muted", "req": 30, "call_id": call, "muted": true}),
    )
    .await;
    assert!(r.get("error").is_none(), "{r}");
    let u = alice
        .expect_where("bob muted", |m| {
            m["type"] == "participant_updated" && m["participant"]["id"] == bob_id.as_str()
        })
        .await;
    assert_eq!(u["participant"]["muted"], true);
    // Rule 3: any participant may remove another (Carol's invitation is cancelled).
    let r = request(
        &mut bob,
        31,
        json!({"type": "remove_participant", "req": 31, "call_id": call, "target": carol_id}),
    )
    .await;
    assert!(r.get("error").is_none(), "{r}");
    let end = carol.expect_call_state(call, "Disconnected").await;
    assert_eq!(end["end_reason"]["code"], 487, "{end}");

    // Alice is still in the call and can end it.
    let r = request(
        &mut alice,
        36,
        json!({"type": "hang_up", "req": 36, "call_id": call, "for_everyone": true}),
    )
    .await;
    assert!(r.get("error").is_none(), "{r}");
    alice.expect_call_state(call, "Disconnected").await;
}

#[tokio::test]
async fn an_outsider_cannot_end_or_change_a_one_to_one_call() {
    let svc = Service::start(&[]);
    let (alice_id, mut alice) = svc.user("Alice").await;
    let (bob_id, mut bob) = svc.user("Bob").await;
    let (_, mut mallory) = svc.user("Mallory").await;
    let call = "authz-2";
    alice
        .send(json!({"type": "start_call", "req": 1, "call_id": call,
                     "targets": [bob_id], "offer_sdp": dummy_offer()}))
        .await;
    alice.expect("response").await;
    bob.expect("incoming_call").await;
    request(
        &mut bob,
        2,
        json!({"type": "accept", "req": 2, "call_id": call, "offer_sdp": dummy_offer()}),
    )
    .await;
    sync(&mut alice, 3).await;
    sync(&mut bob, 3).await;
    all_refused(
        &mut mallory,
        "mallory",
        call,
        100,
        &alice_id,
        "not a participant",
    )
    .await;
    for (name, c) in [("alice", &mut alice), ("bob", &mut bob)] {
        let seen = sync(c, 4).await;
        assert!(changes(&seen).is_empty(), "{name} saw {:?}", changes(&seen));
    }
    // The outsider's add_participant did not promote the call: Bob's hang-up still ends it
    // for Alice (a group call would go on with her alone).
    request(
        &mut bob,
        5,
        json!({"type": "hang_up", "req": 5, "call_id": call, "for_everyone": false}),
    )
    .await;
    let end = alice.expect_call_state(call, "Disconnected").await;
    assert_eq!(end["end_reason"]["subcode"], 4097, "{end}");
}
