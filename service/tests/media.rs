//! Media through the SFU with str0m test clients: forwarding, hold, and the echo bot.
mod common;

use std::time::{Duration, Instant};

use common::media::Offer;
use common::Service;
use serde_json::json;

#[tokio::test]
async fn forwarding_mute_and_hold() {
    let svc = Service::start(&[]);
    let (alice_id, mut alice) = svc.user("Alice").await;
    let (bob_id, mut bob) = svc.user("Bob").await;

    let a_offer = Offer::new();
    let t0 = Instant::now();
    alice
        .send(
            json!({"type": "start_call", "req": 1, "call_id": "m1", "targets": [bob_id],
                     "offer_sdp": a_offer.sdp}),
        )
        .await;
    let answer = alice.expect("response").await["answer_sdp"]
        .as_str()
        .unwrap()
        .to_string();
    let a_media = a_offer.start(&answer, 0xA);
    let setup = a_media.wait_connected(Duration::from_secs(10)).await;
    eprintln!(
        "SFU setup (StartCall sent -> media connected): {:?} (connect only {setup:?})",
        t0.elapsed()
    );

    bob.expect("incoming_call").await;
    let b_offer = Offer::new();
    bob.send(json!({"type": "accept", "req": 2, "call_id": "m1", "offer_sdp": b_offer.sdp}))
        .await;
    let answer = bob.expect("response").await["answer_sdp"]
        .as_str()
        .unwrap()
        .to_string();
    let b_media = b_offer.start(&answer, 0xB);
    b_media.wait_connected(Duration::from_secs(10)).await;
    alice.expect_call_state("m1", "Connected").await;
    bob.expect_call_state("m1", "Connected").await;
    let slots = bob.expect("audio_slots").await;
    assert_eq!(slots["slots"][0], alice_id.as_str());

    // A -> B on B's first m-line (slot 0), and B -> A.
    tokio::time::sleep(Duration::from_millis(600)).await;
    let ab = b_media.count(0xA, 0);
    let ba = a_media.count(0xB, 0);
    assert!(ab > 10, "B got {ab} frames from A");
    assert!(ba > 10, "A got {ba} frames from B");
    assert_eq!(b_media.count(0xA, 1) + b_media.count(0xA, 2), 0);
    assert!(
        b_media
            .received
            .lock()
            .iter()
            .any(|r| r.audio_level == Some(-30)),
        "audio level forwarded"
    );

    // Mute fan-out.
    alice
        .send(json!({"type": "set_muted", "req": 3, "call_id": "m1", "muted": true}))
        .await;
    let u = bob
        .expect_where("muted update", |m| {
            m["type"] == "participant_updated" && m["participant"]["muted"] == true
        })
        .await;
    assert_eq!(u["participant"]["id"], alice_id.as_str());

    // Hold by Bob: states and forwarding stop both ways.
    bob.send(json!({"type": "set_hold", "req": 4, "call_id": "m1", "hold": true}))
        .await;
    bob.expect_call_state("m1", "LocalHold").await;
    let u = alice
        .expect_where("hold update", |m| {
            m["type"] == "participant_updated" && m["participant"]["state"] == "Hold"
        })
        .await;
    assert_eq!(u["participant"]["id"], bob_id.as_str());
    alice.expect_call_state("m1", "RemoteHold").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    a_media.clear();
    b_media.clear();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(b_media.count(0xA, 0), 0, "held: B must not receive");
    assert_eq!(a_media.count(0xB, 0), 0, "held: A must not receive from B");

    // Resume.
    bob.send(json!({"type": "set_hold", "req": 5, "call_id": "m1", "hold": false}))
        .await;
    bob.expect_call_state("m1", "Connected").await;
    alice.expect_call_state("m1", "Connected").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(b_media.count(0xA, 0) > 5, "resumed: A -> B flows again");
    assert!(a_media.count(0xB, 0) > 5, "resumed: B -> A flows again");

    // Bob hangs up: Alice's call ends with REMOTE_HANGUP.
    bob.send(json!({"type": "hang_up", "req": 6, "call_id": "m1", "for_everyone": false}))
        .await;
    let end = alice.expect_call_state("m1", "Disconnected").await;
    assert_eq!(end["end_reason"]["subcode"], 4097);
}

#[tokio::test]
async fn echo_bot_returns_audio_after_the_delay() {
    let svc = Service::start(&["--echo-delay-ms", "1000"]);
    let (_, mut alice) = svc.user("Alice").await;
    let offer = Offer::new();
    alice
        .send(
            json!({"type": "start_call", "req": 1, "call_id": "e1", "targets": ["8:echo123"],
                     "offer_sdp": offer.sdp}),
        )
        .await;
    let answer = alice.expect("response").await["answer_sdp"]
        .as_str()
        .unwrap()
        .to_string();
    let roster = alice.expect("roster").await;
    assert_eq!(roster["participants"][0]["id"], "8:echo123");
    assert_eq!(roster["participants"][0]["display_name"], "Echo Bot");
    assert_eq!(roster["participants"][0]["state"], "Connected");
    let media = offer.start(&answer, 0xE);
    media.wait_connected(Duration::from_secs(10)).await;
    alice.expect_call_state("e1", "Connected").await;

    tokio::time::sleep(Duration::from_millis(2000)).await;
    let got: Vec<_> = media
        .received
        .lock()
        .iter()
        .filter(|r| r.tag == 0xE && r.mid_index == 0)
        .cloned()
        .collect();
    assert!(got.len() > 20, "echo frames: {}", got.len());
    let sent = media.sent.lock().clone();
    let mut delays: Vec<f64> = got
        .iter()
        .filter_map(|r| {
            sent.get(r.seq as usize)
                .map(|s| (r.at - *s).as_secs_f64() * 1000.0)
        })
        .collect();
    delays.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = delays[delays.len() / 2];
    eprintln!(
        "echo delay ms: min {:.1} median {:.1} max {:.1} over {} frames",
        delays[0],
        median,
        delays[delays.len() - 1],
        delays.len()
    );
    assert!(
        (950.0..1150.0).contains(&median),
        "median echo delay {median} ms"
    );
}

/// Joins `client` to ringing call `call_id` with real media tagged `tag`.
async fn accept_with_media(
    client: &mut common::Client,
    call_id: &str,
    tag: u8,
) -> common::media::MediaClient {
    client.expect("incoming_call").await;
    let offer = Offer::new();
    client
        .send(json!({"type": "accept", "req": 2, "call_id": call_id, "offer_sdp": offer.sdp}))
        .await;
    let answer = client.expect("response").await["answer_sdp"]
        .as_str()
        .unwrap()
        .to_string();
    let m = offer.start(&answer, tag);
    m.wait_connected(Duration::from_secs(10)).await;
    m
}

#[tokio::test]
async fn group_call_fills_receive_slots_in_join_order() {
    let svc = Service::start(&[]);
    let (alice_id, mut alice) = svc.user("Alice").await;
    let (bob_id, mut bob) = svc.user("Bob").await;
    let (carol_id, mut carol) = svc.user("Carol").await;
    let offer = Offer::new();
    alice
        .send(json!({"type": "start_call", "req": 1, "call_id": "g1",
                     "targets": [bob_id, carol_id], "offer_sdp": offer.sdp}))
        .await;
    let answer = alice.expect("response").await["answer_sdp"]
        .as_str()
        .unwrap()
        .to_string();
    let a = offer.start(&answer, 0xA);
    a.wait_connected(Duration::from_secs(10)).await;
    let b = accept_with_media(&mut bob, "g1", 0xB).await;
    let c = accept_with_media(&mut carol, "g1", 0xC).await;
    let slots = carol
        .expect_where("two slots", |m| {
            m["type"] == "audio_slots" && !m["slots"][1].is_null()
        })
        .await;
    assert_eq!(slots["slots"][0], alice_id.as_str());
    assert_eq!(slots["slots"][1], bob_id.as_str());

    tokio::time::sleep(Duration::from_millis(300)).await;
    a.clear();
    b.clear();
    c.clear();
    tokio::time::sleep(Duration::from_millis(500)).await;
    // Carol: Alice in slot 0, Bob in slot 1. Bob: Alice in slot 0, Carol in slot 1.
    // Alice: Bob in slot 0, Carol in slot 1.
    for (who, rx, tag, slot) in [
        ("carol", &c, 0xA, 0),
        ("carol", &c, 0xB, 1),
        ("bob", &b, 0xA, 0),
        ("bob", &b, 0xC, 1),
        ("alice", &a, 0xB, 0),
        ("alice", &a, 0xC, 1),
    ] {
        let n = rx.count(tag, slot);
        assert!(n > 10, "{who} got {n} frames of {tag:#x} in slot {slot}");
    }
    assert_eq!(
        c.count(0xC, 0) + c.count(0xC, 1) + c.count(0xC, 2),
        0,
        "no self-echo"
    );
}
