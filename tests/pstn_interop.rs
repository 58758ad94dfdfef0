//! Phone calls with SIP software nobody here wrote: `baresip` is the phone, `kamailio` the
//! carrier's proxy in front of it (record-routing, so in-dialog requests take its route).
//! Each side's audio is a tone; each side must hear the other's.

mod common;

use acscalling::protocol::{CallState, EndReason, ParticipantState};
use common::party::Party;
use common::sipphones::{Baresip, Kamailio};
use common::{wait_until, Service};
use std::time::Duration;

const T: Duration = Duration::from_secs(20);

#[test]
fn sdk_calls_a_baresip_phone_through_kamailio_and_both_hear_each_other() {
    let phone = Baresip::start("+15551234567", 523, &[]);
    let proxy = Kamailio::start(phone.port);
    let trunk = format!("carrier={}", proxy.addr());
    let svc = Service::with_trunk(&trunk, &[]);
    let alice = Party::new(&svc, "Alice", 700.0, false);
    let call = alice.call("4:+15551234567");
    assert!(
        wait_until(T, || call.state() == CallState::Connected),
        "{:?}\nbaresip: {}\nkamailio: {}",
        alice.call_log(),
        phone.log(),
        proxy.log()
    );
    assert!(alice.saw_state("4:+15551234567", ParticipantState::Connected));

    // Alice hears baresip's 523 Hz sine.
    alice
        .hears(523.0, 0.005)
        .unwrap_or_else(|p| panic!("alice hears 523 Hz from baresip: {p:?}"));
    // Baresip hears Alice's 700 Hz (what it decoded, dumped by its sndfile module).
    phone
        .hears(700.0, 0.005)
        .unwrap_or_else(|p| panic!("baresip hears 700 Hz from alice: {p:?}"));

    call.hang_up(false).unwrap();
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
    assert!(
        wait_until(T, || phone.log().contains("session closed")),
        "baresip saw the BYE: {}",
        phone.log()
    );
}

#[test]
fn a_baresip_phone_calls_a_user_through_kamailio() {
    // The service first, so that baresip can dial it; kamailio forwards baresip's call to
    // the service's SIP port.
    let svc = Service::start_with(&["--sip-listen", "127.0.0.1:0", "--sip-allow", "127.0.0.1"]);
    let sip_port: u16 = svc
        .sip_addr
        .as_deref()
        .and_then(|a| a.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .expect("the service printed sip=");
    let bob = Party::new(&svc, "Bob", 900.0, true);
    let (st, body) = svc.request(
        "PUT",
        &format!("/identities/{}/phone-numbers/+15551230001", bob.id),
        "",
    );
    assert_eq!(st, 200, "{body}");
    let proxy = Kamailio::start(sip_port);
    let dial = format!("/dial sip:+15551230001@{}", proxy.addr());
    let phone = Baresip::start("+15559876543", 523, &[&dial]);

    assert!(
        wait_until(T, || !bob.incoming.lock().is_empty()),
        "no incoming call\nbaresip: {}\nkamailio: {}",
        phone.log(),
        proxy.log()
    );
    let call = bob.incoming.lock()[0].clone();
    assert!(
        wait_until(T, || call.state() == CallState::Connected),
        "{:?}\nbaresip: {}",
        bob.call_log(),
        phone.log()
    );
    assert_eq!(call.remote_participants()[0].identifier(), "4:+15559876543");
    bob.hears(523.0, 0.005)
        .unwrap_or_else(|p| panic!("bob hears 523 Hz from baresip: {p:?}"));
    phone
        .hears(900.0, 0.005)
        .unwrap_or_else(|p| panic!("baresip hears 900 Hz from bob: {p:?}"));

    // Bob hangs up: the BYE goes through kamailio's route to baresip.
    call.hang_up(false).unwrap();
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
    assert_eq!(call.end_reason(), EndReason::LOCAL_HANGUP);
    assert!(
        wait_until(T, || phone.log().contains("session closed")),
        "baresip saw the BYE: {}",
        phone.log()
    );
}

/// The service as a registered trunk client: it REGISTERs to kamailio, answering its digest
/// challenge (qop=auth); a baresip phone then calls a user's number through kamailio, which
/// finds the gateway only through that registration.
#[test]
fn the_gateway_registers_to_kamailio_with_digest_and_receives_calls_through_it() {
    let registrar = Kamailio::start_cfg("registrar.cfg", &[("@PASSWORD@", "s3cret")]);
    let trunk = format!(
        "carrier={};user=gw;password=s3cret;register",
        registrar.addr()
    );
    let svc = Service::start_with(&["--sip-listen", "127.0.0.1:0", "--sip-trunk", &trunk]);
    assert!(
        wait_until(T, || registrar
            .log()
            .contains("REGISTER from sip:gw@127.0.0.1: saved")),
        "no registration\nkamailio: {}",
        registrar.log()
    );
    assert!(
        registrar.log().contains("challenged"),
        "kamailio asked for credentials first: {}",
        registrar.log()
    );
    let bob = Party::new(&svc, "Bob", 900.0, true);
    let (st, body) = svc.request(
        "PUT",
        &format!("/identities/{}/phone-numbers/+15551230001", bob.id),
        "",
    );
    assert_eq!(st, 200, "{body}");
    let dial = format!("/dial sip:+15551230001@{}", registrar.addr());
    let phone = Baresip::start("+15559876543", 523, &[&dial]);
    assert!(
        wait_until(T, || !bob.incoming.lock().is_empty()),
        "no incoming call\nbaresip: {}\nkamailio: {}",
        phone.log(),
        registrar.log()
    );
    let call = bob.incoming.lock()[0].clone();
    assert!(
        wait_until(T, || call.state() == CallState::Connected),
        "{:?}\nbaresip: {}",
        bob.call_log(),
        phone.log()
    );
    assert_eq!(call.remote_participants()[0].identifier(), "4:+15559876543");
    bob.hears(523.0, 0.005)
        .unwrap_or_else(|p| panic!("bob hears 523 Hz from baresip: {p:?}"));
    call.hang_up(false).unwrap();
    assert!(
        wait_until(T, || phone.log().contains("session closed")),
        "baresip saw the BYE: {}",
        phone.log()
    );
}

#[test]
fn a_gateway_with_the_wrong_password_is_not_registered_and_gets_no_calls() {
    let registrar = Kamailio::start_cfg("registrar.cfg", &[("@PASSWORD@", "s3cret")]);
    let trunk = format!(
        "carrier={};user=gw;password=wrong;register",
        registrar.addr()
    );
    let _svc = Service::start_with(&["--sip-listen", "127.0.0.1:0", "--sip-trunk", &trunk]);
    // The first REGISTER is challenged, the answer with the wrong password too; the gateway
    // does not insist (one answer per challenge).
    assert!(
        wait_until(T, || registrar.log().matches("challenged").count() >= 2),
        "kamailio: {}",
        registrar.log()
    );
    std::thread::sleep(Duration::from_secs(1));
    let log = registrar.log();
    assert!(!log.contains("saved"), "{log}");
    assert!(
        log.matches("challenged").count() <= 3,
        "a REGISTER storm: {log}"
    );
    let dial = format!("/dial sip:+15551230001@{}", registrar.addr());
    let phone = Baresip::start("+15559876543", 523, &[&dial]);
    assert!(
        wait_until(T, || registrar
            .log()
            .contains("the gateway is not registered")),
        "kamailio: {}\nbaresip: {}",
        registrar.log(),
        phone.log()
    );
}

/// A group call with two SDK users and a baresip phone (dialled out from the call, through
/// kamailio): each of the three hears the two others.
#[test]
fn a_group_call_with_two_users_and_a_baresip_phone_everyone_hears_the_others() {
    let phone = Baresip::start("+15551234567", 523, &[]);
    let proxy = Kamailio::start(phone.port);
    let trunk = format!("carrier={}", proxy.addr());
    let svc = Service::with_trunk(&trunk, &[]);
    let alice = Party::new(&svc, "Alice", 700.0, false);
    let bob = Party::new(&svc, "Bob", 1100.0, false);
    let group = uuid::Uuid::new_v4().to_string();
    let a = alice.join(&group);
    let b = bob.join(&group);
    assert!(wait_until(T, || a.state() == CallState::Connected
        && b.state() == CallState::Connected));
    a.add_participant("4:+15551234567").unwrap();
    assert!(
        wait_until(T, || bob
            .saw_state("4:+15551234567", ParticipantState::Connected)),
        "bob: {:?} {:?} left {:?}\nalice: {:?} left {:?}\nbaresip: {}\nkamailio: {}",
        bob.call_log(),
        bob.participant_states(),
        bob.left(),
        alice.participant_states(),
        alice.left(),
        phone.log(),
        proxy.log()
    );
    for (who, party, freqs) in [
        ("alice", &alice, [523.0, 1100.0]),
        ("bob", &bob, [523.0, 700.0]),
    ] {
        for f in freqs {
            party
                .hears(f, 0.002)
                .unwrap_or_else(|p| panic!("{who} hears {f} Hz: {p:?}"));
        }
    }
    for f in [700.0, 1100.0] {
        phone
            .hears(f, 0.002)
            .unwrap_or_else(|p| panic!("baresip hears {f} Hz: {p:?}"));
    }
    a.hang_up(false).unwrap();
    b.hang_up(false).unwrap();
    assert!(
        wait_until(T, || phone.log().contains("session closed")),
        "baresip saw the BYE: {}",
        phone.log()
    );
}
