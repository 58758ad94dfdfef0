//! Outbound legs: INVITE client transaction, CANCEL, BYE, digest, forks; REGISTER.

use super::*;

#[test]
fn outbound_invite_retransmits_then_answers_acks_and_byes() {
    let mut h = harness(false);
    let inv = h.dial(1);
    assert_eq!(inv.method(), Some("INVITE"));
    assert_eq!(inv.uri(), Some("sip:+15551234567@192.0.2.10"));
    let via = inv.top_via().unwrap();
    assert!(via.branch().unwrap().starts_with("z9hG4bK"));
    assert_eq!(via.param("rport"), Some(None));
    assert!(inv.tag_in_from().is_some());
    assert_eq!(inv.cseq(), Some((1, "INVITE".into())));
    assert!(inv.header("Contact").unwrap().contains("10.0.0.1:5060"));
    assert_eq!(inv.header("Max-Forwards"), Some("70"));
    assert_eq!(inv.header("Content-Type"), Some("application/sdp"));
    assert_eq!(inv.body, OFFER.as_bytes());
    // Timer A: 0.5, 1.5, 3.5 s.
    h.advance(Duration::from_millis(3600));
    assert_eq!(h.sent().len(), 3);
    h.feed(&reply(&inv, 100, None, &[], ""), TRUNK);
    h.feed(&reply(&inv, 180, Some("p1"), &[], ""), TRUNK);
    assert_eq!(
        h.events(),
        vec![SipEvent::Progress {
            leg: 1,
            status: 180,
            sdp: None
        }]
    );
    h.advance(Duration::from_secs(60));
    assert!(
        h.sent().is_empty(),
        "no retransmission after a provisional, no Timer B"
    );
    assert!(h.events().is_empty());
    let ok = reply(
        &inv,
        200,
        Some("p1"),
        &[
            ("Contact", "<sip:phone@192.0.2.20:5070>"),
            ("Record-Route", "<sip:192.0.2.30;lr>, <sip:192.0.2.31;lr>"),
        ],
        "v=0\r\n",
    );
    h.feed(&ok, TRUNK);
    let (t, ack) = h.sent().remove(0);
    assert_eq!(ack.method(), Some("ACK"));
    assert_eq!(ack.uri(), Some("sip:phone@192.0.2.20:5070"));
    assert_ne!(branch(&ack), branch(&inv));
    assert_eq!(ack.cseq(), Some((1, "ACK".into())));
    assert_eq!(ack.tag_in_to().as_deref(), Some("p1"));
    // Route set = Record-Route reversed; sent to the first (loose) route.
    assert_eq!(
        ack.header_list("Route"),
        vec![
            "<sip:192.0.2.31;lr>".to_string(),
            "<sip:192.0.2.30;lr>".to_string()
        ]
    );
    assert_eq!(t.dest, addr("192.0.2.31:5060"));
    assert_eq!(
        h.events(),
        vec![SipEvent::Answered {
            leg: 1,
            sdp: "v=0\r\n".into()
        }]
    );
    // A retransmitted 200 gets the same ACK again, and no second event.
    h.feed(&ok, TRUNK);
    assert_eq!(h.sent_one().method(), Some("ACK"));
    assert!(h.events().is_empty());
    h.ep.hang_up(1, h.now);
    let bye = h.sent_one();
    assert_eq!(bye.method(), Some("BYE"));
    assert_eq!(bye.cseq(), Some((2, "BYE".into())));
    assert_eq!(bye.uri(), Some("sip:phone@192.0.2.20:5070"));
    assert_eq!(bye.header_list("Route").len(), 2);
    assert_eq!(bye.tag_in_to().as_deref(), Some("p1"));
    h.feed(&reply(&bye, 200, None, &[], ""), TRUNK);
    assert!(h.ep.is_idle());
    assert!(h.events().is_empty());
}

#[test]
fn timer_b_fails_the_leg_with_408() {
    let mut h = harness(false);
    h.dial(1);
    h.advance(Duration::from_millis(31_900));
    // Retransmissions at 0.5, 1.5, 3.5, 7.5, 15.5, 31.5 s.
    assert_eq!(h.sent().len(), 6);
    assert!(h.events().is_empty());
    h.advance(Duration::from_millis(200));
    assert_eq!(
        h.events(),
        vec![SipEvent::Failed {
            leg: 1,
            status: 408,
            reason: "Request Timeout".into()
        }]
    );
    assert!(h.ep.is_idle());
}

#[test]
fn busy_is_acked_on_the_same_branch_and_reported_once() {
    let mut h = harness(false);
    let inv = h.dial(1);
    let busy = reply(&inv, 486, Some("p"), &[], "");
    h.feed(&busy, TRUNK);
    let ack = h.sent_one();
    assert_eq!(ack.method(), Some("ACK"));
    assert_eq!(branch(&ack), branch(&inv));
    assert_eq!(ack.uri(), inv.uri());
    assert_eq!(ack.tag_in_to().as_deref(), Some("p"));
    assert_eq!(
        h.events(),
        vec![SipEvent::Failed {
            leg: 1,
            status: 486,
            reason: "Busy Here".into()
        }]
    );
    h.feed(&busy, TRUNK);
    assert_eq!(h.sent_one().method(), Some("ACK"));
    assert!(h.events().is_empty());
}

#[test]
fn digest_challenge_is_answered_once() {
    let mut h = harness(true);
    let inv = h.dial(1);
    let challenge = reply(
        &inv,
        407,
        Some("p"),
        &[(
            "Proxy-Authenticate",
            "Digest realm=\"carrier\", nonce=\"abc\", qop=\"auth\"",
        )],
        "",
    );
    h.feed(&challenge, TRUNK);
    let s = h.sent();
    assert_eq!(s.len(), 2);
    assert_eq!(s[0].1.method(), Some("ACK"));
    let inv2 = &s[1].1;
    assert_eq!(inv2.method(), Some("INVITE"));
    assert_eq!(inv2.cseq(), Some((2, "INVITE".into())));
    assert_ne!(branch(inv2), branch(&inv));
    assert_eq!(inv2.call_id(), inv.call_id());
    assert_eq!(inv2.tag_in_from(), inv.tag_in_from());
    let auth = inv2.header("Proxy-Authorization").unwrap();
    assert!(auth.contains("username=\"alice\""), "{auth}");
    assert!(
        auth.contains("qop=auth") && auth.contains("nc=00000001"),
        "{auth}"
    );
    assert!(h.events().is_empty());
    // A second challenge fails the call.
    let again = reply(
        inv2,
        407,
        Some("p"),
        &[(
            "Proxy-Authenticate",
            "Digest realm=\"carrier\", nonce=\"def\"",
        )],
        "",
    );
    h.feed(&again, TRUNK);
    assert_eq!(h.sent_one().method(), Some("ACK"));
    assert!(matches!(
        h.events()[..],
        [SipEvent::Failed { status: 407, .. }]
    ));
}

#[test]
fn challenge_without_credentials_fails() {
    let mut h = harness(false);
    let inv = h.dial(1);
    let c = reply(
        &inv,
        401,
        Some("p"),
        &[("WWW-Authenticate", "Digest realm=\"r\", nonce=\"n\"")],
        "",
    );
    h.feed(&c, TRUNK);
    assert_eq!(h.sent_one().method(), Some("ACK"));
    assert!(matches!(
        h.events()[..],
        [SipEvent::Failed { status: 401, .. }]
    ));
}

#[test]
fn cancel_while_ringing_reports_487_once() {
    let mut h = harness(false);
    let inv = h.dial(1);
    h.feed(&reply(&inv, 180, Some("p"), &[], ""), TRUNK);
    h.events();
    h.ep.hang_up(1, h.now);
    let cancel = h.sent_one();
    assert_eq!(cancel.method(), Some("CANCEL"));
    assert_eq!(branch(&cancel), branch(&inv));
    assert_eq!(cancel.uri(), inv.uri());
    assert_eq!(cancel.cseq(), Some((1, "CANCEL".into())));
    assert_eq!(cancel.tag_in_to(), None);
    // Hanging up twice sends nothing more.
    h.ep.hang_up(1, h.now);
    assert!(h.sent().is_empty());
    h.feed(&reply(&cancel, 200, None, &[], ""), TRUNK);
    let terminated = reply(&inv, 487, Some("p"), &[], "");
    h.feed(&terminated, TRUNK);
    assert_eq!(h.sent_one().method(), Some("ACK"));
    h.feed(&terminated, TRUNK);
    assert_eq!(h.sent_one().method(), Some("ACK"));
    assert_eq!(
        h.events(),
        vec![SipEvent::Failed {
            leg: 1,
            status: 487,
            reason: "Request Terminated".into()
        }]
    );
    assert!(h.ep.is_idle());
}

#[test]
fn cancel_waits_for_a_provisional() {
    let mut h = harness(false);
    let inv = h.dial(1);
    h.ep.hang_up(1, h.now);
    assert!(
        h.sent().is_empty(),
        "no CANCEL before a provisional (RFC 3261 §9.1)"
    );
    h.feed(&reply(&inv, 100, None, &[], ""), TRUNK);
    assert_eq!(h.sent_one().method(), Some("CANCEL"));
    // No final response ever: given up as cancelled after 64*T1.
    h.advance(Duration::from_secs(33));
    let events = h.events();
    assert_eq!(
        events,
        vec![SipEvent::Failed {
            leg: 1,
            status: 487,
            reason: "Request Terminated".into()
        }]
    );
    assert!(h.ep.is_idle());
}

#[test]
fn cancel_pending_without_any_response_ends_at_timer_b() {
    let mut h = harness(false);
    h.dial(1);
    h.ep.hang_up(1, h.now);
    h.advance(Duration::from_secs(33));
    assert!(matches!(
        h.events()[..],
        [SipEvent::Failed { status: 487, .. }]
    ));
}

#[test]
fn a_200_crossing_the_cancel_is_acked_and_byed() {
    let mut h = harness(false);
    let inv = h.dial(1);
    h.feed(&reply(&inv, 183, Some("p"), &[], "v=0\r\n"), TRUNK);
    assert_eq!(
        h.events(),
        vec![SipEvent::Progress {
            leg: 1,
            status: 183,
            sdp: Some("v=0\r\n".into())
        }]
    );
    h.ep.hang_up(1, h.now);
    let cancel = h.sent_one();
    h.feed(
        &reply(
            &inv,
            200,
            Some("p"),
            &[("Contact", "<sip:p@192.0.2.10:5060>")],
            "v=0\r\n",
        ),
        TRUNK,
    );
    let s = h.sent();
    let methods: Vec<_> = s
        .iter()
        .map(|(_, m)| m.method().unwrap().to_string())
        .collect();
    assert_eq!(methods, ["ACK", "BYE"]);
    h.feed(&reply(&cancel, 200, None, &[], ""), TRUNK);
    h.feed(&reply(&s[1].1, 200, None, &[], ""), TRUNK);
    assert_eq!(
        h.events(),
        vec![SipEvent::Failed {
            leg: 1,
            status: 487,
            reason: "Request Terminated".into()
        }]
    );
    assert!(h.ep.is_idle());
}

#[test]
fn remote_bye_ends_an_outbound_leg() {
    let mut h = harness(false);
    let inv = h.dial(1);
    h.feed(
        &reply(
            &inv,
            200,
            Some("p"),
            &[("Contact", "<sip:p@192.0.2.10>")],
            "v=0\r\n",
        ),
        TRUNK,
    );
    h.sent();
    h.events();
    let bye = format!(
        "BYE sip:gateway@10.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10;branch=z9hG4bKbye1\r\n\
         From: <sip:+15551234567@192.0.2.10>;tag=p\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: 5 BYE\r\n\
         Content-Length: 0\r\n\r\n",
        inv.header("From").unwrap(),
        inv.call_id().unwrap()
    );
    h.feed(bye.as_bytes(), TRUNK);
    let ok = h.sent_one();
    assert_eq!(ok.status(), Some(200));
    assert_eq!(ok.cseq(), Some((5, "BYE".into())));
    assert_eq!(h.events(), vec![SipEvent::RemoteHangup { leg: 1 }]);
    // The retransmitted BYE gets the same 200; an unknown dialog gets 481.
    h.feed(bye.as_bytes(), TRUNK);
    assert_eq!(h.sent_one().status(), Some(200));
    h.feed(bye.replace("bye1", "bye2").as_bytes(), TRUNK);
    assert_eq!(h.sent_one().status(), Some(481));
    assert!(h.events().is_empty());
    assert!(h.ep.is_idle());
}

#[test]
fn registers_with_digest_and_refreshes_at_half_the_expiry() {
    let mut h = harness_with("carrier=192.0.2.10:5060;register", true);
    h.ep.start_registrations(h.now);
    let reg = h.sent_one();
    assert_eq!(reg.method(), Some("REGISTER"));
    assert_eq!(reg.uri(), Some("sip:192.0.2.10"));
    assert_eq!(reg.header("Expires"), Some("3600"));
    assert!(reg.header("To").unwrap().contains("sip:alice@192.0.2.10"));
    // Retransmitted over UDP until answered (Timer E).
    h.advance(Duration::from_millis(600));
    assert_eq!(h.sent_one().method(), Some("REGISTER"));
    h.feed(
        &reply(
            &reg,
            401,
            Some("r"),
            &[("WWW-Authenticate", "Digest realm=\"carrier\", nonce=\"n1\"")],
            "",
        ),
        TRUNK,
    );
    let reg2 = h.sent_one();
    assert_eq!(reg2.cseq(), Some((2, "REGISTER".into())));
    assert_eq!(reg2.call_id(), reg.call_id());
    let auth = reg2.header("Authorization").unwrap();
    assert!(auth.contains("uri=\"sip:192.0.2.10\""), "{auth}");
    assert!(!h.ep.is_registered("carrier"));
    h.feed(
        &reply(
            &reg2,
            200,
            Some("r"),
            &[("Contact", "<sip:alice@10.0.0.1:5060>;expires=120")],
            "",
        ),
        TRUNK,
    );
    assert!(h.ep.is_registered("carrier"));
    h.advance(Duration::from_secs(59));
    assert!(h.sent().is_empty());
    h.advance(Duration::from_secs(2));
    let refresh = h.sent().remove(0).1;
    assert_eq!(refresh.method(), Some("REGISTER"));
    assert_eq!(refresh.cseq(), Some((3, "REGISTER".into())));
    // No answer at all: given up after Timer F, retried a minute later.
    h.advance(Duration::from_secs(33));
    h.sent();
    assert!(!h.ep.is_registered("carrier"));
    h.advance(Duration::from_secs(60));
    assert_eq!(
        h.sent()
            .first()
            .and_then(|(_, m)| m.method().map(str::to_string))
            .as_deref(),
        Some("REGISTER")
    );
}

#[test]
fn tcp_connect_failure_fails_the_leg_with_503() {
    let mut h = harness_with("carrier=192.0.2.10:5060;transport=tcp", false);
    let inv = h.dial(1);
    assert_eq!(inv.top_via().unwrap().transport, "TCP");
    assert!(inv.header("Contact").unwrap().contains(";transport=tcp"));
    // No retransmissions over TCP.
    h.advance(Duration::from_secs(5));
    assert!(h.sent().is_empty());
    h.ep.handle_transport_error(addr(TRUNK), h.now);
    assert_eq!(
        h.events(),
        vec![SipEvent::Failed {
            leg: 1,
            status: 503,
            reason: "transport error".into()
        }]
    );
    assert!(h.ep.is_idle());
}

#[test]
fn a_second_forked_2xx_is_acked_and_byed() {
    let mut h = harness(false);
    let inv = h.dial(1);
    let first = reply(
        &inv,
        200,
        Some("a"),
        &[("Contact", "<sip:a@192.0.2.10>")],
        "v=0\r\n",
    );
    h.feed(&first, TRUNK);
    assert_eq!(h.sent_one().method(), Some("ACK"));
    assert!(matches!(
        h.events()[..],
        [SipEvent::Answered { leg: 1, .. }]
    ));
    let second = reply(
        &inv,
        200,
        Some("b"),
        &[("Contact", "<sip:b@192.0.2.11>")],
        "v=0\r\n",
    );
    h.feed(&second, TRUNK);
    let s = h.sent();
    let got: Vec<_> = s
        .iter()
        .map(|(t, m)| {
            (
                m.method().unwrap().to_string(),
                m.tag_in_to().unwrap(),
                t.dest,
            )
        })
        .collect();
    let fork = addr("192.0.2.11:5060");
    assert_eq!(
        got,
        [
            ("ACK".into(), "b".into(), fork),
            ("BYE".into(), "b".into(), fork)
        ]
    );
    // Its retransmission gets the same ACK; the first dialog's 2xx still gets its own.
    h.feed(&second, TRUNK);
    assert_eq!(h.sent_one().tag_in_to().as_deref(), Some("b"));
    h.feed(&first, TRUNK);
    assert_eq!(h.sent_one().tag_in_to().as_deref(), Some("a"));
    h.feed(&reply(&s[1].1, 200, None, &[], ""), TRUNK);
    assert!(h.events().is_empty());
    assert_eq!(h.ep.leg_count(), 1);
}

#[test]
fn unanswered_bye_ends_the_leg_after_timer_f() {
    let mut h = harness(false);
    let inv = h.dial(1);
    h.feed(
        &reply(
            &inv,
            200,
            Some("p"),
            &[("Contact", "<sip:p@192.0.2.10>")],
            "v=0\r\n",
        ),
        TRUNK,
    );
    h.sent();
    h.events();
    h.ep.hang_up(1, h.now);
    assert_eq!(h.sent_one().method(), Some("BYE"));
    h.advance(Duration::from_millis(31_900));
    // Timer E: 0.5, 1.5, 3.5, 7.5, then every 4 s.
    assert_eq!(h.sent().len(), 10);
    assert!(!h.ep.is_idle());
    h.advance(Duration::from_millis(200));
    assert!(h.ep.is_idle());
    assert!(h.events().is_empty());
}
