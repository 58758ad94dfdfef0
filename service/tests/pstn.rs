//! PSTN requests at the protocol level: phone-number assignment over REST, caller-id
//! rules, refusals when there is no trunk, DTMF refused without a phone. Calls through a
//! real SIP peer are in the workspace's `tests/pstn_e2e.rs`.

mod common;

use common::{dummy_offer, Service, KEY};
use serde_json::json;

fn start_call(req: u64, call_id: &str, target: &str, caller_id: Option<&str>) -> serde_json::Value {
    let mut m = json!({"type": "start_call", "req": req, "call_id": call_id, "targets": [target],
                       "offer_sdp": dummy_offer()});
    if let Some(c) = caller_id {
        m["caller_id"] = json!(c);
    }
    m
}

#[test]
fn phone_numbers_are_assigned_listed_and_removed_over_rest() {
    let svc = Service::start(&[]);
    let (a, b) = (svc.create_user(), svc.create_user());
    let path = |u: &str, n: &str| format!("/identities/{u}/phone-numbers/{n}");
    let (st, v) = svc.http("PUT", &path(&a, "4:15551110000"), Some(KEY), "");
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["phone_number"], "+15551110000");
    // Idempotent for its owner, a conflict for anyone else.
    assert_eq!(
        svc.http("PUT", &path(&a, "+15551110000"), Some(KEY), "").0,
        200
    );
    assert_eq!(
        svc.http("PUT", &path(&b, "+15551110000"), Some(KEY), "").0,
        409
    );
    assert_eq!(svc.http("PUT", &path(&a, "alice"), Some(KEY), "").0, 400);
    assert_eq!(
        svc.http("PUT", &path("8:acs:nobody", "+15551110001"), Some(KEY), "")
            .0,
        404
    );
    assert_eq!(svc.http("PUT", &path(&a, "+15551110001"), None, "").0, 401);
    assert_eq!(
        svc.http("PUT", &path(&a, "+15551110001"), Some("wrong"), "")
            .0,
        401
    );
    let (st, v) = svc.http(
        "GET",
        &format!("/identities/{a}/phone-numbers"),
        Some(KEY),
        "",
    );
    assert_eq!(st, 200);
    assert_eq!(v["phone_numbers"], json!(["+15551110000"]));
    assert_eq!(
        svc.http("DELETE", &path(&b, "+15551110000"), Some(KEY), "")
            .0,
        404
    );
    assert_eq!(
        svc.http("DELETE", &path(&a, "+15551110000"), Some(KEY), "")
            .0,
        204
    );
    let (_, v) = svc.http(
        "GET",
        &format!("/identities/{a}/phone-numbers"),
        Some(KEY),
        "",
    );
    assert_eq!(v["phone_numbers"], json!([]));
    // Deleting an identity frees its numbers.
    svc.http("PUT", &path(&a, "+15551110002"), Some(KEY), "");
    assert_eq!(
        svc.http("DELETE", &format!("/identities/{a}"), Some(KEY), "")
            .0,
        204
    );
    assert_eq!(
        svc.http("PUT", &path(&b, "+15551110002"), Some(KEY), "").0,
        200
    );
}

#[tokio::test]
async fn phone_calls_need_a_trunk_and_an_allowed_caller_id() {
    // No SIP at all: calling a number is refused with a reason.
    let svc = Service::start(&[]);
    let (_, mut alice) = svc.user("Alice").await;
    alice
        .send(start_call(1, "c1", "4:+15551234567", None))
        .await;
    let r = alice.expect("response").await;
    assert_eq!(r["error"]["code"], 404, "{r}");
    assert!(r["error"]["message"].as_str().unwrap().contains("SIP"));

    // A gateway without trunks, one deployment number.
    let svc = Service::start(&[
        "--sip-listen",
        "127.0.0.1:0",
        "--pstn-caller-id",
        "+15550001000",
    ]);
    let (alice_id, mut alice) = svc.user("Alice").await;
    alice
        .send(start_call(
            1,
            "c1",
            "4:+15551234567",
            Some("4:+15559999999"),
        ))
        .await;
    let r = alice.expect("response").await;
    assert_eq!(r["error"]["code"], 403, "someone else's number: {r}");
    alice
        .send(start_call(2, "c2", "4:+15551234567", Some("8:acs:x")))
        .await;
    let r = alice.expect("response").await;
    assert_eq!(r["error"]["code"], 400, "not a number: {r}");
    // Her own number is allowed once assigned.
    let (st, _) = svc.http(
        "PUT",
        &format!("/identities/{alice_id}/phone-numbers/+15559999999"),
        Some(KEY),
        "",
    );
    assert_eq!(st, 200);
    alice
        .send(start_call(
            3,
            "c3",
            "4:+15551234567",
            Some("4:+15559999999"),
        ))
        .await;
    let r = alice
        .expect_where("response 3", |m| m["type"] == "response" && m["req"] == 3)
        .await;
    assert!(r["error"].is_null(), "{r}");
    // No trunk to carry it: the phone leaves with a carrier failure and the call ends.
    let removed = alice.expect("participant_removed").await;
    assert_eq!(removed["participant"]["id"], "4:+15551234567");
    assert_eq!(removed["participant"]["end_reason"]["code"], 503);
    let end = alice.expect_call_state("c3", "Disconnected").await;
    assert_eq!(end["end_reason"]["code"], 503);
}

#[tokio::test]
async fn dtmf_needs_a_phone_in_the_call() {
    let svc = Service::start(&[]);
    let (_, mut alice) = svc.user("Alice").await;
    let (bob_id, _bob) = svc.user("Bob").await;
    alice
        .send(
            json!({"type": "start_call", "req": 1, "call_id": "c1", "targets": [bob_id],
                     "offer_sdp": dummy_offer()}),
        )
        .await;
    alice.expect("response").await;
    alice
        .send(json!({"type": "send_dtmf", "req": 2, "call_id": "c1", "tones": "12#"}))
        .await;
    let r = alice
        .expect_where("response 2", |m| m["type"] == "response" && m["req"] == 2)
        .await;
    assert_eq!(r["error"]["code"], 400, "{r}");
    alice
        .send(json!({"type": "send_dtmf", "req": 3, "call_id": "c1", "tones": "1x"}))
        .await;
    let r = alice
        .expect_where("response 3", |m| m["type"] == "response" && m["req"] == 3)
        .await;
    assert_eq!(r["error"]["code"], 400, "{r}");
    alice
        .send(json!({"type": "send_dtmf", "req": 4, "call_id": "nope", "tones": "1"}))
        .await;
    let r = alice
        .expect_where("response 4", |m| m["type"] == "response" && m["req"] == 4)
        .await;
    assert_eq!(r["error"]["code"], 404, "{r}");
}
