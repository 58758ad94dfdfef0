//! Signaling over the WebSocket against the real binary.
mod common;

use std::time::Duration;

use common::{dummy_offer, Client, Service};
use serde_json::json;

fn hello(token: &str) -> serde_json::Value {
    json!({"type": "hello", "protocol": 2, "token": token, "display_name": "x"})
}

#[tokio::test]
async fn hello_rejects_bad_tokens() {
    let svc = Service::start(&[]);
    let id = svc.create_user();
    let good = svc.token(&id);

    // Forged: same claims, signed with another key.
    let mut parts: Vec<&str> = good.split('.').collect();
    parts[2] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
    let forged = parts.join(".");
    for bad in [forged.as_str(), "garbage", ""] {
        let mut c = Client::connect(&svc).await;
        c.send(hello(bad)).await;
        let e = c.expect("error").await;
        assert_eq!(e["error"]["code"], 401, "{bad}");
        assert!(c.closed().await);
    }

    // Expired.
    let short = svc.token_with(&id, r#"{"expires_in_secs": 1}"#);
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let mut c = Client::connect(&svc).await;
    c.send(hello(&short)).await;
    assert_eq!(c.expect("error").await["error"]["code"], 401);

    // Without the voip scope.
    let chat = svc.token_with(&id, r#"{"scopes": ["chat"]}"#);
    let mut c = Client::connect(&svc).await;
    c.send(hello(&chat)).await;
    assert_eq!(c.expect("error").await["error"]["code"], 403);

    // Anything before Hello.
    let mut c = Client::connect(&svc).await;
    c.send(json!({"type": "ping", "req": 1})).await;
    assert_eq!(c.expect("error").await["error"]["code"], 400);
    assert!(c.closed().await);
}

#[tokio::test]
async fn malformed_messages_keep_the_connection() {
    let svc = Service::start(&[]);
    let (_, mut a) = svc.user("A").await;
    a.send_raw("not json").await;
    let e = a.expect("error").await;
    assert_eq!(e["error"]["code"], 400);
    a.send(json!({"type": "no_such_thing", "req": 3})).await;
    assert_eq!(a.expect("error").await["error"]["code"], 400);
    a.send(json!({"type": "ping", "req": 9})).await;
    let r = a.expect("response").await;
    assert_eq!(r["req"], 9);
    assert!(r.get("error").is_none());
}

#[tokio::test]
async fn token_expiry_warns_then_closes_unless_refreshed() {
    let svc = Service::start(&["--token-warning-secs", "1"]);
    let id = svc.create_user();
    let t = svc.token_with(&id, r#"{"expires_in_secs": 2}"#);
    let mut c = Client::connect(&svc).await;
    c.send(hello(&t)).await;
    c.expect("welcome").await;
    let w = c.expect("token_expiring").await;
    assert!(w["expires_in_secs"].as_u64().unwrap() <= 2);
    let e = c.expect("error").await;
    assert_eq!(e["error"]["code"], 401);
    assert!(c.closed().await);

    // Refreshed in time: stays open past the first expiry.
    let t = svc.token_with(&id, r#"{"expires_in_secs": 2}"#);
    let mut c = Client::connect(&svc).await;
    c.send(hello(&t)).await;
    c.expect("welcome").await;
    c.expect("token_expiring").await;
    let fresh = svc.token(&id);
    c.send(json!({"type": "refresh_token", "req": 1, "token": fresh}))
        .await;
    assert!(c.expect("response").await.get("error").is_none());
    tokio::time::sleep(Duration::from_millis(2500)).await;
    c.send(json!({"type": "ping", "req": 2})).await;
    assert_eq!(c.expect("response").await["req"], 2);
}

fn start_call(req: u64, call_id: &str, targets: &[&str]) -> serde_json::Value {
    json!({"type": "start_call", "req": req, "call_id": call_id, "targets": targets,
           "offer_sdp": dummy_offer()})
}

#[tokio::test]
async fn ring_and_reject() {
    let svc = Service::start(&[]);
    let (alice_id, mut alice) = svc.user("Alice").await;
    let (bob_id, mut bob) = svc.user("Bob").await;

    alice.send(start_call(1, "c1", &[&bob_id])).await;
    let r = alice.expect("response").await;
    assert!(r["answer_sdp"].as_str().unwrap().contains("a=ice-lite"));
    alice.expect_call_state("c1", "Connecting").await;

    let inc = bob.expect("incoming_call").await;
    assert_eq!(inc["call_id"], "c1");
    assert_eq!(inc["caller"]["id"], alice_id.as_str());
    assert_eq!(inc["caller"]["display_name"], "Alice");

    let upd = alice.expect("participant_updated").await;
    assert_eq!(upd["participant"]["id"], bob_id.as_str());
    assert_eq!(upd["participant"]["state"], "Ringing");
    alice.expect_call_state("c1", "Ringing").await;

    bob.send(json!({"type": "reject", "req": 5, "call_id": "c1"}))
        .await;
    assert_eq!(bob.expect("response").await["req"], 5);
    let removed = alice.expect("participant_removed").await;
    assert_eq!(removed["participant"]["end_reason"]["code"], 603);
    let end = alice.expect_call_state("c1", "Disconnected").await;
    assert_eq!(end["end_reason"]["code"], 603);
}

#[tokio::test]
async fn unknown_and_offline_targets_end_the_call() {
    let svc = Service::start(&[]);
    let (_, mut alice) = svc.user("Alice").await;

    alice.send(start_call(1, "c404", &["8:acs:nobody"])).await;
    alice.expect("response").await;
    let end = alice.expect_call_state("c404", "Disconnected").await;
    assert_eq!(end["end_reason"]["code"], 404);

    let offline = svc.create_user();
    alice.send(start_call(2, "c480", &[&offline])).await;
    alice.expect("response").await;
    let end = alice.expect_call_state("c480", "Disconnected").await;
    assert_eq!(end["end_reason"]["code"], 480);

    // Invalid requests get a failed Response.
    alice.send(start_call(3, "", &[&offline])).await;
    assert_eq!(alice.expect("response").await["error"]["code"], 400);
    alice.send(start_call(4, "c-bad", &["bob"])).await;
    assert_eq!(alice.expect("response").await["error"]["code"], 400);
    alice.send(start_call(5, "c-none", &[])).await;
    assert_eq!(alice.expect("response").await["error"]["code"], 400);
}

#[tokio::test]
async fn caller_hangup_cancels_ringing_callee() {
    let svc = Service::start(&[]);
    let (_, mut alice) = svc.user("Alice").await;
    let (bob_id, mut bob) = svc.user("Bob").await;
    alice.send(start_call(1, "c2", &[&bob_id])).await;
    alice.expect("response").await;
    bob.expect("incoming_call").await;
    alice.expect_call_state("c2", "Ringing").await;
    alice
        .send(json!({"type": "hang_up", "req": 2, "call_id": "c2", "for_everyone": false}))
        .await;
    assert_eq!(alice.expect("response").await["req"], 2);
    let end = alice.expect_call_state("c2", "Disconnected").await;
    assert_eq!(end["end_reason"]["code"], 0);
    assert_eq!(end["end_reason"]["subcode"], 0);
    let end = bob.expect_call_state("c2", "Disconnected").await;
    assert_eq!(end["end_reason"]["code"], 487);
}

#[tokio::test]
async fn setup_timeout_is_no_answer() {
    let svc = Service::start(&["--setup-timeout-secs", "1"]);
    let (_, mut alice) = svc.user("Alice").await;
    let (bob_id, mut bob) = svc.user("Bob").await;
    // Alice's media connects (as a real client's would), so only Bob's ringing times out.
    let offer = common::media::Offer::new();
    alice
        .send(
            json!({"type": "start_call", "req": 1, "call_id": "c3", "targets": [bob_id],
                     "offer_sdp": offer.sdp}),
        )
        .await;
    let answer = alice.expect("response").await["answer_sdp"]
        .as_str()
        .unwrap()
        .to_string();
    let _media = offer.start(&answer, 1);
    bob.expect("incoming_call").await;
    let end = alice.expect_call_state("c3", "Disconnected").await;
    assert_eq!(end["end_reason"]["code"], 408);
    assert_eq!(end["end_reason"]["subcode"], 10004);
    let end = bob.expect_call_state("c3", "Disconnected").await;
    assert_eq!(end["end_reason"]["code"], 408);
}

#[tokio::test]
async fn call_full() {
    let svc = Service::start(&["--max-participants", "2"]);
    let (_, mut alice) = svc.user("Alice").await;
    let (b, _bob) = svc.user("Bob").await;
    let (c, _carol) = svc.user("Carol").await;
    alice.send(start_call(1, "cf", &[&b, &c])).await;
    let r = alice.expect("response").await;
    assert_eq!(r["error"]["code"], 403);
    assert_eq!(r["error"]["subcode"], 10110);
}

#[tokio::test]
async fn media_timeout_when_media_never_connects() {
    let svc = Service::start(&["--setup-timeout-secs", "1"]);
    let (_, mut alice) = svc.user("Alice").await;
    alice.send(start_call(1, "mt", &["8:echo123"])).await;
    alice.expect("response").await;
    let end = alice.expect_call_state("mt", "Disconnected").await;
    assert_eq!(end["end_reason"]["code"], 408);
    assert_eq!(end["end_reason"]["subcode"], 10005);
}

#[tokio::test]
async fn every_connection_rings_and_answering_stops_the_others() {
    let svc = Service::start(&[]);
    let (_, mut alice) = svc.user("Alice").await;
    let bob_id = svc.create_user();
    let mut bob1 = Client::connect(&svc).await;
    bob1.send(hello(&svc.token(&bob_id))).await;
    bob1.expect("welcome").await;
    let mut bob2 = Client::connect(&svc).await;
    bob2.send(hello(&svc.token(&bob_id))).await;
    bob2.expect("welcome").await;

    alice.send(start_call(1, "c4", &[&bob_id])).await;
    alice.expect("response").await;
    bob1.expect("incoming_call").await;
    bob2.expect("incoming_call").await;
    bob1.send(json!({"type": "accept", "req": 2, "call_id": "c4", "offer_sdp": dummy_offer()}))
        .await;
    let r = bob1.expect("response").await;
    assert!(r["answer_sdp"].is_string(), "{r}");
    let roster = bob1.expect("roster").await;
    assert_eq!(roster["participants"].as_array().unwrap().len(), 1);
    bob2.expect_call_state("c4", "Disconnected").await;
    let u = alice
        .expect_where("bob connecting", |m| {
            m["type"] == "participant_updated" && m["participant"]["state"] == "Connecting"
        })
        .await;
    assert_eq!(u["participant"]["id"], bob_id.as_str());
    // Accepting twice fails.
    bob2.send(json!({"type": "accept", "req": 3, "call_id": "c4", "offer_sdp": dummy_offer()}))
        .await;
    assert!(bob2.expect("response").await["error"].is_object());
}

#[tokio::test]
async fn dropped_callee_connection_is_unavailable() {
    // A dropped link (no close frame) is held for a resume for the reconnect window (here
    // 1 s, 120 s by default); only then is the callee gone.
    let svc = Service::start(&["--inactivity-timeout-secs", "1"]);
    let (_, mut alice) = svc.user("Alice").await;
    let (bob_id, mut bob) = svc.user("Bob").await;
    alice.send(start_call(1, "c5", &[&bob_id])).await;
    alice.expect("response").await;
    bob.expect("incoming_call").await;
    drop(bob);
    let end = alice.expect_call_state("c5", "Disconnected").await;
    assert_eq!(end["end_reason"]["code"], 408);
    assert_eq!(end["end_reason"]["subcode"], 10006);
}

#[tokio::test]
async fn hang_up_for_everyone() {
    let svc = Service::start(&[]);
    let (_, mut alice) = svc.user("Alice").await;
    let (bob_id, mut bob) = svc.user("Bob").await;
    let (carol_id, mut carol) = svc.user("Carol").await;
    alice.send(start_call(1, "c6", &[&bob_id, &carol_id])).await;
    alice.expect("response").await;
    bob.expect("incoming_call").await;
    let inc = carol.expect("incoming_call").await;
    assert_eq!(inc["others"][0], bob_id.as_str());
    bob.send(json!({"type": "accept", "req": 2, "call_id": "c6", "offer_sdp": dummy_offer()}))
        .await;
    bob.expect("response").await;
    alice
        .send(json!({"type": "hang_up", "req": 3, "call_id": "c6", "for_everyone": true}))
        .await;
    let end = alice.expect_call_state("c6", "Disconnected").await;
    assert_eq!(end["end_reason"]["code"], 0);
    let end = bob.expect_call_state("c6", "Disconnected").await;
    assert_eq!(end["end_reason"]["subcode"], 5000);
    let end = carol.expect_call_state("c6", "Disconnected").await;
    assert_eq!(end["end_reason"]["code"], 487);
}
