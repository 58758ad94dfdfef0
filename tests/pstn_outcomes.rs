//! Phone calls, what the carrier decides and what the phone sees: every SIP refusal maps to
//! its end reason, a phone that never answers is cancelled by the PSTN setup timeout (short
//! clock), the caller id the phone receives is the one the service allowed (including
//! numbers given by the configuration file), and a 1:1 phone call is promoted to a group
//! call by adding a user or another phone. SIPp (Debian `sip-tester`) is the carrier,
//! started by each test on 127.0.0.1.

mod common;

use acscalling::client::*;
use acscalling::protocol::{CallState, EndReason, ParticipantState};
use common::party::Party;
use common::sipp::Sipp;
use common::{wait_until, Service};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(20);
const PHONE: &str = "4:+15551234567";
const PHONE2: &str = "4:+15551234568";
/// The deployment caller id `Service::with_trunk` configures.
const CALLER_ID: &str = "+15550001000";

fn participant(call: &Call, who: &str) -> Option<RemoteParticipant> {
    call.remote_participants()
        .into_iter()
        .find(|p| p.identifier() == who)
}

fn roster(call: &Call) -> Vec<(String, ParticipantState)> {
    call.remote_participants()
        .iter()
        .map(|p| (p.identifier().to_string(), p.state()))
        .collect()
}

/// A carrier that refuses the INVITE with `status reason` and takes the ACK.
fn refusing_carrier(status: u16, reason: &str) -> String {
    format!(
        r#"<?xml version="1.0" encoding="ISO-8859-1" ?>
<!DOCTYPE scenario SYSTEM "sipp.dtd">
<scenario name="refuses {status}">
  <recv request="INVITE" crlf="true"/>
  <send><![CDATA[
SIP/2.0 100 Trying
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <send><![CDATA[
SIP/2.0 {status} {reason}
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <recv request="ACK" crlf="true"/>
</scenario>
"#
    )
}

/// `phone_answers.xml` that also fails unless the INVITE's From carries `+number`.
fn phone_checking_caller_id(number: &str) -> String {
    let xml = std::fs::read_to_string(common::sipp::scenario("phone_answers.xml")).unwrap();
    let digits = number.trim_start_matches('+');
    let check = format!(
        r#"<recv request="INVITE" crlf="true" rrs="true">
    <action>
      <ereg regexp="sip:\+{digits}@" search_in="hdr" header="From:" check_it="true" assign_to="from_ok"/>
    </action>
  </recv>"#
    );
    let out = xml
        .replace(r#"<recv request="INVITE" crlf="true" rrs="true"/>"#, &check)
        .replace(
            "</scenario>",
            "  <Reference variables=\"from_ok\"/>\n</scenario>",
        );
    assert_ne!(out, xml, "phone_answers.xml changed: update this test");
    out
}

#[test]
fn every_carrier_refusal_ends_the_call_with_its_sip_status() {
    // ACS's reasons for PSTN failures carry the SIP status as code and 560000 + status as
    // subcode: busy, declined, not found, incomplete number, unavailable, timeout, carrier
    // failure.
    let cases = [
        (486, "Busy Here"),
        (603, "Decline"),
        (404, "Not Found"),
        (484, "Address Incomplete"),
        (480, "Temporarily Unavailable"),
        (408, "Request Timeout"),
        (503, "Service Unavailable"),
    ];
    for (status, text) in cases {
        let mut sipp = Sipp::start_xml(&refusing_carrier(status, text), &[]);
        let svc = Service::with_trunk(&sipp.trunk(), &[]);
        let alice = Party::new(&svc, "Alice", 700.0, false);
        let call = alice.call(PHONE);
        assert!(
            wait_until(T, || call.state() == CallState::Disconnected),
            "{status}: {:?}",
            alice.call_log()
        );
        let want = EndReason::new(i32::from(status), 560_000 + i32::from(status));
        assert_eq!(call.end_reason(), want, "{status}");
        // The state is read from the call; events reach the host on the dispatch thread.
        assert!(
            wait_until(T, || alice.left_with(PHONE, want)),
            "{status}: {:?}",
            alice.left()
        );
        sipp.assert_passed(Duration::from_secs(10));
    }
}

#[test]
fn a_phone_that_never_answers_is_cancelled_by_the_pstn_setup_timeout() {
    // The seed's PSTN setup timeout is 115 s; the test shortens it to 2 s.
    let mut sipp = Sipp::start("phone_no_answer.xml", &[]);
    let svc = Service::with_trunk(&sipp.trunk(), &["--pstn-setup-timeout-secs", "2"]);
    let alice = Party::new(&svc, "Alice", 700.0, false);
    let started = Instant::now();
    let call = alice.call(PHONE);
    assert!(wait_until(T, || call.state() == CallState::Ringing));
    assert!(
        wait_until(T, || call.state() == CallState::Disconnected),
        "{:?}",
        alice.call_log()
    );
    let took = started.elapsed();
    assert!(
        took >= Duration::from_millis(1900),
        "cancelled after {took:?}, before the timeout"
    );
    let timeout = EndReason::new(408, 560_408);
    assert_eq!(call.end_reason(), timeout, "{:?}", alice.call_log());
    assert!(
        wait_until(T, || alice.left_with(PHONE, timeout)),
        "{:?}",
        alice.left()
    );
    // SIPp got our CANCEL, answered it and the INVITE (487), and got the ACK.
    sipp.assert_passed(Duration::from_secs(10));
}

#[test]
fn the_phone_sees_the_caller_id_the_service_allowed() {
    // The deployment's number by default.
    let mut sipp = Sipp::start_xml(&phone_checking_caller_id(CALLER_ID), &["-rtp_echo"]);
    let svc = Service::with_trunk(&sipp.trunk(), &[]);
    let alice = Party::new(&svc, "Alice", 700.0, false);
    let call = alice.call(PHONE);
    assert!(
        wait_until(T, || call.state() == CallState::Connected),
        "{:?} / sipp: {}",
        alice.call_log(),
        sipp.errors()
    );
    call.hang_up(false).unwrap();
    sipp.assert_passed(Duration::from_secs(10));
    drop(svc);

    // A configuration file gives the user a number of its own and one more it may present
    // without owning it; the user asks for the latter as alternate caller id.
    let mut sipp = Sipp::start_xml(&phone_checking_caller_id("+15557770009"), &["-rtp_echo"]);
    let dir = std::env::temp_dir().join(format!("acs-pstn-config-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("service.toml");
    std::fs::write(
        &file,
        format!(
            r#"
[sip]
listen = "127.0.0.1:0"

[[sip.trunks]]
name = "carrier"
host = "127.0.0.1"
port = {port}

[pstn]
caller_ids = ["{CALLER_ID}"]

[pstn.numbers]
"+15557770001" = "8:acs:reception"

[pstn.user_caller_ids]
"8:acs:reception" = ["+15557770009"]
"#,
            port = sipp.port
        ),
    )
    .unwrap();
    let svc = Service::start_with(&["--config", file.to_str().unwrap()]);
    let (st, body) = svc.request("GET", "/identities/8:acs:reception/phone-numbers", "");
    assert_eq!(st, 200, "{body}");
    assert!(body.contains("+15557770001"), "{body}");
    let reception = Party::for_user(&svc, "Reception", "8:acs:reception", 700.0, false);
    // A number it neither owns nor may present is refused before anything is dialled.
    let caller_id = |n: &str| StartCallOptions {
        alternate_caller_id: Some(n.to_string()),
    };
    let refused = reception
        .agent
        .start_call_with_options(
            &[PHONE.to_string()],
            reception.options(),
            &caller_id("4:+15557770002"),
        )
        .unwrap();
    assert!(wait_until(T, || refused.state() == CallState::Disconnected));
    assert_eq!(refused.end_reason().code, 403, "{:?}", reception.call_log());
    let call = reception
        .agent
        .start_call_with_options(
            &[PHONE.to_string()],
            reception.options(),
            &caller_id("4:+15557770009"),
        )
        .unwrap();
    assert!(
        wait_until(T, || call.state() == CallState::Connected),
        "{:?} / sipp: {}",
        reception.call_log(),
        sipp.errors()
    );
    call.hang_up(false).unwrap();
    sipp.assert_passed(Duration::from_secs(10));
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_one_to_one_phone_call_is_promoted_by_adding_a_user_and_another_phone() {
    // Two calls for SIPp: the first phone and, later, the second (both echo RTP).
    let mut sipp = Sipp::start_for(
        "phone_answers.xml",
        2,
        Duration::from_secs(60),
        &["-rtp_echo"],
    );
    let svc = Service::with_trunk(&sipp.trunk(), &[]);
    let alice = Party::new(&svc, "Alice", 700.0, false);
    let bob = Party::new(&svc, "Bob", 1100.0, true);
    let call = alice.call(PHONE);
    assert!(
        wait_until(T, || call.state() == CallState::Connected),
        "{:?} / sipp: {}",
        alice.call_log(),
        sipp.errors()
    );
    let call_id = call.call_id().to_string();

    // Alice adds Bob: the same call, now three parties.
    call.add_participant(&bob.id).unwrap();
    assert!(
        wait_until(T, || !bob.incoming.lock().is_empty()),
        "bob was not rung"
    );
    let b = bob.incoming.lock()[0].clone();
    assert!(wait_until(T, || b.state() == CallState::Connected));
    assert_eq!(b.call_id(), call_id, "promotion keeps the call");
    assert!(
        wait_until(T, || participant(&b, PHONE)
            .is_some_and(|p| p.state() == ParticipantState::Connected)
            && participant(&b, &alice.id).is_some()),
        "bob's roster: {:?}",
        roster(&b)
    );
    // Bob hears Alice, and his own tone echoed by the phone (which only the phone sends).
    bob.hears(700.0, 0.005)
        .unwrap_or_else(|p| panic!("bob hears alice: {p:?}"));
    bob.hears(1100.0, 0.005)
        .unwrap_or_else(|p| panic!("bob hears himself through the phone: {p:?}"));

    // Bob adds a second phone: everyone sees it connected.
    b.add_participant(PHONE2).unwrap();
    assert!(
        wait_until(T, || participant(&call, PHONE2)
            .is_some_and(|p| p.state() == ParticipantState::Connected)),
        "alice's roster: {:?} / sipp: {}",
        roster(&call),
        sipp.errors()
    );
    assert_eq!(call.remote_participants().len(), 3, "{:?}", roster(&call));

    // Alice leaves: Bob and the two phones go on; Bob hangs up, which ends the phones too
    // (SIPp's two scenarios end with our BYEs).
    call.hang_up(false).unwrap();
    assert!(wait_until(T, || bob
        .left_with(&alice.id, EndReason::LOCAL_HANGUP)
        || bob.left().iter().any(|(w, _)| w == &alice.id)));
    assert_eq!(b.state(), CallState::Connected, "{:?}", roster(&b));
    b.hang_up(false).unwrap();
    sipp.assert_passed(Duration::from_secs(15));
}

#[test]
fn a_phone_calling_in_is_heard_and_its_keys_raise_events() {
    // SIPp places the call with its bundled recordings: speech (G.711 A-law), then the keys
    // 1 and # as RFC 2833 events.
    let svc = Service::start_with(&["--sip-listen", "127.0.0.1:0", "--sip-allow", "127.0.0.1"]);
    let sip = svc.sip_addr.clone().expect("the service printed sip=");
    let bob = Party::new(&svc, "Bob", 900.0, true);
    let (st, body) = svc.request(
        "PUT",
        &format!("/identities/{}/phone-numbers/+15551230001", bob.id),
        "",
    );
    assert_eq!(st, 200, "{body}");
    let mut sipp = Sipp::start("phone_calls_in_pcap.xml", &["-s", "+15551230001", &sip]);
    assert!(
        wait_until(T, || !bob.incoming.lock().is_empty()),
        "no incoming call; sipp: {}",
        sipp.errors()
    );
    let call = bob.incoming.lock()[0].clone();
    assert!(wait_until(T, || call.state() == CallState::Connected));
    // The recorded speech is loud at Bob's speaker.
    let mut levels = Vec::new();
    let heard = wait_until(Duration::from_secs(3), || {
        let pcm = bob.listen(300);
        let ms = pcm.iter().map(|s| f64::from(*s).powi(2)).sum::<f64>() / pcm.len().max(1) as f64;
        levels.push(ms);
        ms > 1.0e4
    });
    assert!(heard, "the phone's speech: {levels:?}");
    let keys = || -> Vec<(String, DtmfTone)> {
        bob.events()
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
    };
    assert!(wait_until(T, || keys().len() >= 2), "{:?}", keys());
    let caller = "4:+15559876543".to_string();
    assert_eq!(
        keys(),
        vec![(caller.clone(), DtmfTone::Num1), (caller, DtmfTone::Pound)]
    );
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
    assert_eq!(call.end_reason(), EndReason::REMOTE_HANGUP);
    sipp.assert_passed(Duration::from_secs(10));
}
