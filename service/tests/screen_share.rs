//! One screen share per call at a time: a second participant's `SetVideo` for a screen share
//! is refused with 403 naming who shares; once that share stops, it is accepted.
mod common;

use common::{dummy_offer, Client, Service};
use serde_json::{json, Value};

async fn request(c: &mut Client, req: u64, msg: Value) -> Value {
    c.send(msg).await;
    c.expect_where(&format!("response {req}"), |m| {
        m["type"] == "response" && m["req"] == req
    })
    .await
}

fn share(req: u64, call: &str, on: bool) -> Value {
    json!({"type": "set_video", "req": req, "call_id": call, "kind": "screen_share", "on": on})
}

#[tokio::test]
async fn a_second_screen_share_is_refused_while_one_is_active() {
    let svc = Service::start(&[]);
    let (alice_id, mut alice) = svc.user("Alice").await;
    let (bob_id, mut bob) = svc.user("Bob").await;
    let call = "share-1";
    let r = request(
        &mut alice,
        1,
        json!({"type": "start_call", "req": 1, "call_id": call,
               "targets": [bob_id], "offer_sdp": dummy_offer()}),
    )
    .await;
    assert!(r.get("error").is_none(), "{r}");
    bob.expect("incoming_call").await;
    let r = request(
        &mut bob,
        2,
        json!({"type": "accept", "req": 2, "call_id": call, "offer_sdp": dummy_offer()}),
    )
    .await;
    assert!(r.get("error").is_none(), "{r}");

    // Alice shares; Bob's share is refused, naming Alice; Alice's camera is not affected.
    let r = request(&mut alice, 3, share(3, call, true)).await;
    assert!(r.get("error").is_none(), "{r}");
    let r = request(&mut bob, 4, share(4, call, true)).await;
    assert_eq!(r["error"]["code"], 403, "{r}");
    let msg = r["error"]["message"].as_str().unwrap_or("");
    assert!(
        msg.contains(&alice_id) && msg.contains("one screen share at a time"),
        "{msg}"
    );
    let r = request(
        &mut bob,
        5,
        json!({"type": "set_video", "req": 5, "call_id": call, "kind": "video", "on": true}),
    )
    .await;
    assert!(
        r.get("error").is_none(),
        "a camera is not a screen share: {r}"
    );
    // Alice may announce her own share again; once she stops, Bob may share.
    let r = request(&mut alice, 6, share(6, call, true)).await;
    assert!(r.get("error").is_none(), "{r}");
    let r = request(&mut alice, 7, share(7, call, false)).await;
    assert!(r.get("error").is_none(), "{r}");
    let r = request(&mut bob, 8, share(8, call, true)).await;
    assert!(r.get("error").is_none(), "{r}");
}
