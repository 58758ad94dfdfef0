//! Phone calls end to end: the SDK calls `4:+…` numbers through the service's SIP gateway
//! to a real SIP peer (SIPp, started by each test on 127.0.0.1), and phones call users.
//! Media is real: the SDK's Opus through the SFU into the phone bridge, G.711 to SIPp,
//! SIPp's RTP echo or its recorded announcement and DTMF back.

mod common;

use acscalling::client::*;
use acscalling::protocol::{CallState, EndReason, ParticipantState};
use common::party::Party;
use common::sipp::Sipp;
use common::{wait_until, Service};
use std::time::Duration;

const T: Duration = Duration::from_secs(20);
const PHONE: &str = "4:+15551234567";

fn mean_square(pcm: &[i16]) -> f64 {
    pcm.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / pcm.len().max(1) as f64
}

/// Tones of every `DtmfReceived` so far, with who sent them.
fn dtmf_received(party: &Party) -> Vec<(String, DtmfTone)> {
    party
        .events()
        .iter()
        .filter_map(|e| match e {
            AgentEvent::DtmfReceived {
                participant_id,
                tone,
                ..
            } => Some((participant_id.clone(), *tone)),
            _ => None,
        })
        .collect()
}

/// Whether the send of `request_id` completed, and how.
fn dtmf_sent(party: &Party, request_id: u64) -> Option<bool> {
    party.events().iter().find_map(|e| match e {
        AgentEvent::DtmfSendCompleted {
            request_id: r,
            result,
            ..
        } if *r == request_id => Some(result.is_ok()),
        _ => None,
    })
}

fn phone_of(call: &Call) -> Option<RemoteParticipant> {
    call.remote_participants()
        .into_iter()
        .find(|p| p.identifier() == PHONE)
}

#[test]
fn calling_a_phone_we_hear_our_voice_through_it_and_hang_up() {
    let mut sipp = Sipp::start("phone_answers.xml", &["-rtp_echo"]);
    let svc = Service::with_trunk(&sipp.trunk(), &[]);
    let alice = Party::new(&svc, "Alice", 700.0, false);
    let call = alice.call(PHONE);
    assert!(
        wait_until(T, || call.state() == CallState::Connected),
        "{:?} / sipp: {}",
        alice.call_log(),
        sipp.errors()
    );
    let states: Vec<CallState> = alice.call_states().iter().map(|s| s.0).collect();
    assert!(states.contains(&CallState::Ringing), "{states:?}");
    assert!(alice.saw_state(PHONE, ParticipantState::Ringing));
    assert!(wait_until(T, || phone_of(&call)
        .is_some_and(|p| p.state() == ParticipantState::Connected)));

    // Our 700 Hz goes out as Opus, is transcoded to G.711 for the phone, echoed by SIPp,
    // transcoded back and forwarded to us: we hear it, loud.
    alice
        .hears(700.0, 0.01)
        .unwrap_or_else(|p| panic!("700 Hz back through the phone: {p:?}"));

    // DTMF: our digits go out as RFC 4733 events; SIPp echoes the packets, so the bridge
    // receives them as the phone's key presses and we get them back as events, in order.
    let r1 = call.send_dtmf(DtmfTone::Num1).unwrap();
    let r2 = call.send_dtmf(DtmfTone::Pound).unwrap();
    assert!(wait_until(T, || dtmf_sent(&alice, r1) == Some(true)
        && dtmf_sent(&alice, r2) == Some(true)));
    assert!(
        wait_until(T, || dtmf_received(&alice).len() >= 2),
        "{:?}",
        dtmf_received(&alice)
    );
    assert_eq!(
        dtmf_received(&alice),
        vec![
            (PHONE.to_string(), DtmfTone::Num1),
            (PHONE.to_string(), DtmfTone::Pound)
        ]
    );

    call.hang_up(false).unwrap();
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
    assert_eq!(call.end_reason(), EndReason::LOCAL_HANGUP);
    // SIPp's scenario ends only once it got our BYE and answered it.
    sipp.assert_passed(Duration::from_secs(10));
}

#[test]
fn a_busy_phone_ends_the_call_with_486() {
    let mut sipp = Sipp::start("phone_busy.xml", &[]);
    let svc = Service::with_trunk(&sipp.trunk(), &[]);
    let alice = Party::new(&svc, "Alice", 700.0, false);
    let call = alice.call(PHONE);
    assert!(
        wait_until(T, || call.state() == CallState::Disconnected),
        "{:?}",
        alice.call_log()
    );
    assert_eq!(call.end_reason(), EndReason::new(486, 560486));
    assert!(wait_until(T, || alice.left_with(PHONE, EndReason::new(486, 560486))));
    sipp.assert_passed(Duration::from_secs(10));
}

#[test]
fn early_media_is_heard_then_the_phone_answers_and_hangs_up() {
    let mut sipp = Sipp::start("phone_early_media.xml", &[]);
    let svc = Service::with_trunk(&sipp.trunk(), &[]);
    let alice = Party::new(&svc, "Alice", 700.0, false);
    let call = alice.call(PHONE);
    assert!(
        wait_until(T, || call.state() == CallState::EarlyMedia),
        "{:?} / sipp: {}",
        alice.call_log(),
        sipp.errors()
    );
    assert!(alice.saw_state(PHONE, ParticipantState::EarlyMedia));
    // The carrier's announcement (SIPp's recorded G.711 speech) plays before the answer.
    let mut levels = Vec::new();
    let heard = wait_until(Duration::from_secs(3), || {
        let pcm = alice.listen(300);
        let level = mean_square(&pcm);
        levels.push(level);
        call.state() == CallState::EarlyMedia && level > 1.0e4
    });
    assert!(heard, "early media levels: {levels:?}");
    assert!(
        wait_until(T, || call.state() == CallState::Connected),
        "{:?}",
        alice.call_log()
    );
    // The phone presses 4 (SIPp plays a recorded RFC 4733 stream).
    assert!(
        wait_until(T, || dtmf_received(&alice)
            .contains(&(PHONE.to_string(), DtmfTone::Num4))),
        "{:?}",
        dtmf_received(&alice)
    );
    // The phone hangs up: our side of the 1:1 call ends as a remote hang-up.
    assert!(
        wait_until(T, || call.state() == CallState::Disconnected),
        "{:?}",
        alice.call_log()
    );
    assert_eq!(call.end_reason(), EndReason::REMOTE_HANGUP);
    assert!(wait_until(T, || alice.left_with(PHONE, EndReason::LOCAL_HANGUP)));
    sipp.assert_passed(Duration::from_secs(10));
}

#[test]
fn a_phone_calls_a_user_who_accepts_and_hears_through_it() {
    let svc = Service::start_with(&["--sip-listen", "127.0.0.1:0", "--sip-allow", "127.0.0.1"]);
    let sip = svc.sip_addr.clone().expect("the service printed sip=");
    let bob = Party::new(&svc, "Bob", 900.0, true);
    let (st, body) = svc.request(
        "PUT",
        &format!("/identities/{}/phone-numbers/+15551230001", bob.id),
        "",
    );
    assert_eq!(st, 200, "{body}");

    let mut sipp = Sipp::start(
        "phone_calls_in.xml",
        &["-rtp_echo", "-s", "+15551230001", &sip],
    );
    assert!(
        wait_until(T, || !bob.incoming.lock().is_empty()),
        "no incoming call; sipp: {}",
        sipp.errors()
    );
    let call = bob.incoming.lock()[0].clone();
    assert!(
        wait_until(T, || call.state() == CallState::Connected),
        "{:?} / sipp: {}",
        bob.call_log(),
        sipp.errors()
    );
    let caller = call.remote_participants();
    assert_eq!(caller.len(), 1);
    assert_eq!(caller[0].identifier(), "4:+15559876543");
    // SIPp echoes what it receives: Bob hears his own 900 Hz through the phone.
    bob.hears(900.0, 0.01)
        .unwrap_or_else(|p| panic!("900 Hz back through the phone: {p:?}"));
    // The phone hangs up after 6 s.
    assert!(
        wait_until(T, || call.state() == CallState::Disconnected),
        "{:?}",
        bob.call_log()
    );
    assert_eq!(call.end_reason(), EndReason::REMOTE_HANGUP);
    sipp.assert_passed(Duration::from_secs(10));
}

#[test]
fn calls_to_numbers_nobody_has_or_users_offline_are_refused_with_sip_statuses() {
    let svc = Service::start_with(&["--sip-listen", "127.0.0.1:0", "--sip-allow", "127.0.0.1"]);
    let sip = svc.sip_addr.clone().expect("the service printed sip=");
    // Nobody has +15551230002: 404.
    let mut sipp = Sipp::start("phone_calls_in_404.xml", &["-s", "+15551230002", &sip]);
    sipp.assert_passed(Duration::from_secs(15));
    // Carol has +15551230003 but no agent online: 480.
    let carol = svc.create_user();
    let (st, body) = svc.request(
        "PUT",
        &format!("/identities/{carol}/phone-numbers/15551230003"),
        "",
    );
    assert_eq!(st, 200, "{body}");
    let mut sipp = Sipp::start("phone_calls_in_480.xml", &["-s", "+15551230003", &sip]);
    sipp.assert_passed(Duration::from_secs(15));
}

#[test]
fn a_phone_joins_a_group_call_and_everyone_hears_it() {
    let mut sipp = Sipp::start("phone_answers.xml", &["-rtp_echo"]);
    let svc = Service::with_trunk(&sipp.trunk(), &[]);
    let alice = Party::new(&svc, "Alice", 700.0, false);
    let bob = Party::new(&svc, "Bob", 1100.0, false);
    let group = uuid::Uuid::new_v4().to_string();
    let a = alice.join(&group);
    let b = bob.join(&group);
    assert!(wait_until(T, || a.state() == CallState::Connected
        && b.state() == CallState::Connected));
    a.add_participant(PHONE).unwrap();
    assert!(
        wait_until(T, || phone_of(&b)
            .is_some_and(|p| p.state() == ParticipantState::Connected)),
        "bob's roster: {:?}",
        b.remote_participants()
            .iter()
            .map(|p| (p.identifier().to_string(), p.state()))
            .collect::<Vec<_>>()
    );
    // The phone hears the call (Alice and Bob mixed) and echoes it: Bob hears his own
    // 1100 Hz, which only the phone sends back to him.
    bob.hears(1100.0, 0.005)
        .unwrap_or_else(|p| panic!("bob's 1100 Hz back through the phone: {p:?}"));
    // Alice removes the phone: SIPp gets its BYE, the call goes on.
    let phone = phone_of(&a).expect("the phone is in alice's roster");
    a.remove_participant(&phone).unwrap();
    assert!(wait_until(T, || bob.left_with(PHONE, EndReason::REMOVED)));
    sipp.assert_passed(Duration::from_secs(10));
    assert_eq!(b.state(), CallState::Connected);
}
