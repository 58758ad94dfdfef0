//! Call transfer: Alice, in a 1:1 call with Bob, transfers Bob to Carol. Bob is asked
//! (accepted by default), Carol rings into the call, and when she answers Alice leaves with
//! 0/10015 while Bob and Carol talk. Refusals, a declining target and the transfer timeout
//! leave Alice and Bob's call as it was.

mod common;

use acscalling::client::*;
use acscalling::protocol::{CallState, EndReason, TransferState};
use common::party::{Party, PartySpec};
use common::{wait_until, Service};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(20);

/// (state, target, reason) of every transfer event `p` received.
fn transfers(p: &Party) -> Vec<(TransferState, String, EndReason)> {
    p.events()
        .into_iter()
        .filter_map(|e| match e {
            AgentEvent::TransferStateChanged {
                state,
                target,
                reason,
                ..
            } => Some((state, target, reason)),
            _ => None,
        })
        .collect()
}

fn states(p: &Party) -> Vec<TransferState> {
    transfers(p).into_iter().map(|t| t.0).collect()
}

fn requested(p: &Party) -> Vec<(String, String)> {
    p.events()
        .into_iter()
        .filter_map(|e| match e {
            AgentEvent::TransferRequested {
                transferor, target, ..
            } => Some((transferor, target)),
            _ => None,
        })
        .collect()
}

/// Alice calls Bob (who answers); both connected.
fn connected_call(svc: &Service, bob_spec: PartySpec) -> (Party, Party, Call, Call) {
    let alice = Party::new(svc, "Alice", 700.0, false);
    let bob = Party::with(svc, bob_spec);
    let call = alice.call(&bob.id);
    assert!(wait_until(T, || !bob.incoming.lock().is_empty()));
    let bobs = bob.incoming.lock()[0].clone();
    if bobs.state() == CallState::Incoming {
        bobs.accept(bob.options()).unwrap();
    }
    assert!(wait_until(T, || call.state() == CallState::Connected
        && bobs.state() == CallState::Connected));
    (alice, bob, call, bobs)
}

#[test]
fn alice_transfers_bob_to_carol_and_leaves_when_carol_answers() {
    let svc = Service::start();
    let (alice, bob, call, bobs) = connected_call(
        &svc,
        PartySpec {
            auto_accept: true,
            ..PartySpec::new("Bob", 1100.0)
        },
    );
    let carol = Party::new(&svc, "Carol", 900.0, true);
    let started = Instant::now();
    call.transfer(&carol.id).unwrap();
    assert!(
        wait_until(T, || call.state() == CallState::Disconnected),
        "alice {:?} / bob {:?}",
        transfers(&alice),
        transfers(&bob)
    );
    let took = started.elapsed();
    assert_eq!(call.end_reason(), EndReason::TRANSFERRED);
    assert_eq!(
        states(&alice),
        vec![
            TransferState::Requested,
            TransferState::Transferring,
            TransferState::Transferred
        ]
    );
    assert!(transfers(&alice).iter().all(|t| t.1 == carol.id));
    assert!(
        wait_until(T, || states(&bob).len() >= 3),
        "{:?}",
        transfers(&bob)
    );
    assert_eq!(states(&bob), states(&alice));
    assert_eq!(requested(&bob), vec![(alice.id.clone(), carol.id.clone())]);
    // Bob's call goes on with Carol: the same call, Alice gone with 0/10015.
    assert_eq!(bobs.state(), CallState::Connected);
    assert!(wait_until(T, || bob.left_with(&alice.id, EndReason::TRANSFERRED)));
    let carols = carol.incoming.lock()[0].clone();
    assert!(wait_until(T, || carols.state() == CallState::Connected));
    let ids: Vec<String> = carols
        .remote_participants()
        .iter()
        .map(|p| p.identifier().to_string())
        .collect();
    assert_eq!(ids, vec![bob.id.clone()], "Carol talks to Bob only");
    bob.hears(900.0, 0.005)
        .unwrap_or_else(|p| panic!("bob hears carol: {p:?}"));
    carol
        .hears(1100.0, 0.005)
        .unwrap_or_else(|p| panic!("carol hears bob: {p:?}"));
    println!(
        "transfer: request -> transferred (the transferor's call over) {:.1} ms",
        took.as_secs_f64() * 1e3
    );
    // A 1:1 call again: Carol hanging up ends Bob's call.
    carols.hang_up(false).unwrap();
    assert!(wait_until(T, || bobs.state() == CallState::Disconnected));
}

#[test]
fn a_target_that_declines_or_a_transferee_that_refuses_leaves_the_call_as_it_was() {
    let svc = Service::start();
    let (alice, bob, call, bobs) = connected_call(
        &svc,
        PartySpec {
            answer_transfers: true,
            ..PartySpec::new("Bob", 1100.0)
        },
    );
    // Nothing to answer yet.
    assert!(matches!(
        bobs.answer_transfer(true),
        Err(acscalling::error::Error::InvalidState(_))
    ));
    // Bob answers transfers himself: he refuses the first.
    let carol = Party::new(&svc, "Carol", 900.0, false);
    call.transfer(&carol.id).unwrap();
    assert!(wait_until(T, || !requested(&bob).is_empty()));
    bobs.answer_transfer(false).unwrap();
    assert!(
        bobs.answer_transfer(true).is_err(),
        "a request is answered once"
    );
    assert!(
        wait_until(T, || states(&alice).last() == Some(&TransferState::Failed)),
        "{:?}",
        transfers(&alice)
    );
    assert_eq!(
        transfers(&alice).last().unwrap().2,
        EndReason::TRANSFER_REFUSED
    );
    assert!(carol.incoming.lock().is_empty(), "Carol never rang");
    // He accepts the second; Carol declines.
    call.transfer(&carol.id).unwrap();
    assert!(wait_until(T, || requested(&bob).len() == 2));
    bobs.answer_transfer(true).unwrap();
    assert!(wait_until(T, || !carol.incoming.lock().is_empty()));
    let carols = carol.incoming.lock()[0].clone();
    carols.reject().unwrap();
    assert!(
        wait_until(T, || states(&alice)
            .iter()
            .filter(|s| **s == TransferState::Failed)
            .count()
            == 2),
        "{:?}",
        transfers(&alice)
    );
    assert_eq!(transfers(&alice).last().unwrap().2, EndReason::DECLINED);
    assert!(wait_until(T, || states(&bob)
        .iter()
        .filter(|s| **s == TransferState::Failed)
        .count()
        == 2));
    // Alice and Bob still talk, in the same call.
    assert_eq!(call.state(), CallState::Connected);
    assert_eq!(bobs.state(), CallState::Connected);
    alice
        .hears(1100.0, 0.005)
        .unwrap_or_else(|p| panic!("alice hears bob: {p:?}"));
    bob.hears(700.0, 0.005)
        .unwrap_or_else(|p| panic!("bob hears alice: {p:?}"));
    // Bad requests are refused: a target already in the call, the echo bot.
    call.transfer(&bob.id).unwrap();
    call.transfer("8:echo123").unwrap();
    assert!(
        wait_until(T, || transfers(&alice).len() >= 2 + 3 + 2),
        "{:?}",
        transfers(&alice)
    );
    assert!(transfers(&alice)
        .iter()
        .rev()
        .take(2)
        .all(|t| t.0 == TransferState::Failed && t.2 == EndReason::BAD_REQUEST));
    // Still a 1:1 call: Bob hanging up ends Alice's.
    bobs.hang_up(false).unwrap();
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
    assert_eq!(call.end_reason(), EndReason::REMOTE_HANGUP);
}

#[test]
fn a_transfer_nobody_answers_fails_after_the_transfer_timeout() {
    let svc = Service::start_with(&["--transfer-timeout-secs", "2"]);
    let (alice, bob, call, bobs) = connected_call(
        &svc,
        PartySpec {
            auto_accept: true,
            ..PartySpec::new("Bob", 1100.0)
        },
    );
    let carol = Party::new(&svc, "Carol", 900.0, false);
    let started = Instant::now();
    call.transfer(&carol.id).unwrap();
    assert!(wait_until(T, || !carol.incoming.lock().is_empty()));
    let carols = carol.incoming.lock()[0].clone();
    assert!(
        wait_until(T, || states(&alice).last() == Some(&TransferState::Failed)),
        "{:?}",
        transfers(&alice)
    );
    let took = started.elapsed();
    assert_eq!(
        transfers(&alice).last().unwrap().2,
        EndReason::TRANSFER_TIMEOUT
    );
    assert!(took >= Duration::from_millis(1900), "{took:?}");
    // Carol's ringing is cancelled; Alice and Bob go on.
    assert!(wait_until(T, || carols.state() == CallState::Disconnected));
    assert_eq!(call.state(), CallState::Connected);
    assert_eq!(bobs.state(), CallState::Connected);
    assert!(wait_until(T, || states(&bob).last() == Some(&TransferState::Failed)));
    alice
        .hears(1100.0, 0.005)
        .unwrap_or_else(|p| panic!("alice hears bob: {p:?}"));
}

/// Alice transfers Bob to a phone (SIPp answering and echoing): the phone rings into the
/// call, Alice leaves with 0/10015, Bob hears himself through the phone.
#[test]
fn alice_transfers_bob_to_a_phone_number() {
    let mut sipp = common::sipp::Sipp::start("phone_answers.xml", &["-rtp_echo"]);
    let svc = Service::with_trunk(&sipp.trunk(), &[]);
    let (alice, bob, call, bobs) = connected_call(
        &svc,
        PartySpec {
            auto_accept: true,
            ..PartySpec::new("Bob", 1100.0)
        },
    );
    const PHONE: &str = "4:+15551234567";
    call.transfer(PHONE).unwrap();
    assert!(
        wait_until(T, || call.state() == CallState::Disconnected),
        "alice {:?} / bob {:?} / sipp {}",
        transfers(&alice),
        transfers(&bob),
        sipp.errors()
    );
    assert_eq!(call.end_reason(), EndReason::TRANSFERRED);
    assert_eq!(
        transfers(&alice).last().unwrap().0,
        TransferState::Transferred
    );
    assert_eq!(transfers(&alice).last().unwrap().1, PHONE);
    assert_eq!(bobs.state(), CallState::Connected);
    bob.hears(1100.0, 0.01)
        .unwrap_or_else(|p| panic!("bob hears himself through the phone: {p:?}"));
    let ids: Vec<String> = bobs
        .remote_participants()
        .iter()
        .map(|p| p.identifier().to_string())
        .collect();
    assert_eq!(ids, vec![PHONE.to_string()]);
    bobs.hang_up(false).unwrap();
    assert!(wait_until(T, || bobs.state() == CallState::Disconnected));
    sipp.assert_passed(Duration::from_secs(10));
}

/// A phone calls Bob; Bob transfers the phone to Carol (a phone is not asked): Carol rings,
/// answers, hears herself through the phone's echo; Bob leaves with 0/10015.
#[test]
fn bob_transfers_a_phone_caller_to_carol() {
    let svc = Service::start_with(&["--sip-listen", "127.0.0.1:0", "--sip-allow", "127.0.0.1"]);
    let sip = svc.sip_addr.clone().expect("the service printed sip=");
    let bob = Party::new(&svc, "Bob", 1100.0, true);
    let carol = Party::new(&svc, "Carol", 900.0, true);
    let (st, body) = svc.request(
        "PUT",
        &format!("/identities/{}/phone-numbers/+15551230001", bob.id),
        "",
    );
    assert_eq!(st, 200, "{body}");
    let mut sipp = common::sipp::Sipp::start(
        "phone_calls_in.xml",
        &["-rtp_echo", "-s", "+15551230001", &sip],
    );
    assert!(
        wait_until(T, || !bob.incoming.lock().is_empty()),
        "sipp: {}",
        sipp.errors()
    );
    let call = bob.incoming.lock()[0].clone();
    assert!(wait_until(T, || call.state() == CallState::Connected));
    call.transfer(&carol.id).unwrap();
    assert!(
        wait_until(T, || call.state() == CallState::Disconnected),
        "bob {:?}",
        transfers(&bob)
    );
    assert_eq!(call.end_reason(), EndReason::TRANSFERRED);
    assert_eq!(
        states(&bob),
        vec![
            TransferState::Requested,
            TransferState::Transferring,
            TransferState::Transferred
        ]
    );
    let carols = carol.incoming.lock()[0].clone();
    assert!(wait_until(T, || carols.state() == CallState::Connected));
    carol
        .hears(900.0, 0.01)
        .unwrap_or_else(|p| panic!("carol hears herself through the phone: {p:?}"));
    // The phone hangs up (6 s after it was answered): Carol's call ends, 1:1 again.
    assert!(wait_until(T, || carols.state() == CallState::Disconnected));
    assert_eq!(carols.end_reason(), EndReason::REMOTE_HANGUP);
    sipp.assert_passed(Duration::from_secs(10));
}
