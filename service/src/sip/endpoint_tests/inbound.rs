//! Inbound legs and other requests; malformed and fuzzed input; shutdown.

use super::*;

fn invite_from_phone(branch: &str, call_id: &str) -> String {
    format!(
        "INVITE sip:+15550001111@10.0.0.1:5060 SIP/2.0\r\n\
         Via: SIP/2.0/UDP 198.51.100.7:5062;branch={branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: \"Bob\" <sip:+15552223333@198.51.100.7>;tag=b1\r\n\
         To: <sip:+15550001111@10.0.0.1>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: 10 INVITE\r\n\
         Contact: <sip:bob@198.51.100.7:5062>\r\n\
         Content-Type: application/sdp\r\n\
         Content-Length: {}\r\n\r\n{OFFER}",
        OFFER.len()
    )
}

fn ack_for(resp: &Message, branch: &str) -> String {
    format!(
        "ACK sip:gateway@10.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.7:5062;branch={branch}\r\n\
         From: {}\r\nTo: {}\r\nCall-ID: {}\r\nCSeq: {} ACK\r\nContent-Length: 0\r\n\r\n",
        resp.header("From").unwrap(),
        resp.header("To").unwrap(),
        resp.call_id().unwrap(),
        resp.cseq().unwrap().0
    )
}

#[test]
fn inbound_call_rings_answers_until_ack_then_remote_bye() {
    let mut h = harness(false);
    let invite = invite_from_phone("z9hG4bKin1", "in-1@phone");
    h.feed(invite.as_bytes(), PHONE);
    let (t, trying) = h.sent().remove(0);
    assert_eq!(trying.status(), Some(100));
    assert_eq!(t.dest, addr(PHONE));
    let via = trying.top_via().unwrap();
    assert_eq!(via.param("rport"), Some(Some("5062")));
    assert_eq!(via.param("received"), Some(Some("198.51.100.7")));
    let leg = FIRST_INBOUND_LEG;
    assert_eq!(
        h.events(),
        vec![SipEvent::Incoming {
            leg,
            from: "+15552223333".into(),
            to: "+15550001111".into(),
            sdp_offer: OFFER.into(),
            source: addr(PHONE),
        }]
    );
    // A retransmitted INVITE is absorbed: the last response again, no new event.
    h.feed(invite.as_bytes(), PHONE);
    assert_eq!(h.sent_one().status(), Some(100));
    assert!(h.events().is_empty());
    h.ep.ring(leg, h.now);
    let ringing = h.sent_one();
    assert_eq!(ringing.status(), Some(180));
    let tag = ringing.tag_in_to().expect("18x carries our tag");
    h.ep.answer(leg, "v=0\r\nanswer\r\n".into(), h.now);
    let ok = h.sent_one();
    assert_eq!(ok.status(), Some(200));
    assert_eq!(ok.tag_in_to(), Some(tag));
    assert_eq!(ok.body, b"v=0\r\nanswer\r\n");
    assert!(ok.header("Contact").is_some());
    // Timer G: 0.5, 1.5, 3.5 s.
    h.advance(Duration::from_millis(3600));
    assert_eq!(h.sent().len(), 3);
    h.feed(ack_for(&ok, "z9hG4bKack1").as_bytes(), PHONE);
    h.advance(Duration::from_secs(40));
    assert!(h.sent().is_empty());
    assert!(h.events().is_empty());
    // The phone hangs up.
    let bye = format!(
        "BYE sip:gateway@10.0.0.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.7:5062;branch=z9hG4bKbye\r\n\
         From: {}\r\nTo: {}\r\nCall-ID: in-1@phone\r\nCSeq: 11 BYE\r\nContent-Length: 0\r\n\r\n",
        ok.header("From").unwrap(),
        ok.header("To").unwrap()
    );
    h.feed(bye.as_bytes(), PHONE);
    assert_eq!(h.sent_one().status(), Some(200));
    assert_eq!(h.events(), vec![SipEvent::RemoteHangup { leg }]);
    assert!(h.ep.is_idle());
}

#[test]
fn inbound_200_without_ack_times_out_with_bye() {
    let mut h = harness(false);
    h.feed(invite_from_phone("z9hG4bKin2", "in-2").as_bytes(), PHONE);
    h.sent();
    h.events();
    h.ep.answer(FIRST_INBOUND_LEG, "v=0\r\n".into(), h.now);
    h.advance(Duration::from_millis(31_900));
    // Retransmissions at 0.5, 1.5, 3.5, 7.5, then every 4 s (T2) up to 31.5.
    assert_eq!(h.sent().len(), 1 + 10);
    h.advance(Duration::from_millis(200));
    let bye = h.sent_one();
    assert_eq!(bye.method(), Some("BYE"));
    assert_eq!(bye.uri(), Some("sip:bob@198.51.100.7:5062"));
    assert_eq!(
        bye.header("To").unwrap(),
        "\"Bob\" <sip:+15552223333@198.51.100.7>;tag=b1"
    );
    assert_eq!(
        h.events(),
        vec![SipEvent::RemoteHangup {
            leg: FIRST_INBOUND_LEG
        }]
    );
}

#[test]
fn local_hang_up_before_ack_waits_for_it() {
    let mut h = harness(false);
    h.feed(invite_from_phone("z9hG4bKin3", "in-3").as_bytes(), PHONE);
    h.sent();
    h.ep.answer(FIRST_INBOUND_LEG, "v=0\r\n".into(), h.now);
    let ok = h.sent_one();
    h.ep.hang_up(FIRST_INBOUND_LEG, h.now);
    assert!(h.sent().is_empty());
    h.feed(ack_for(&ok, "z9hG4bKack3").as_bytes(), PHONE);
    let bye = h.sent_one();
    assert_eq!(bye.method(), Some("BYE"));
    h.feed(&reply(&bye, 200, None, &[], ""), PHONE);
    assert!(h.ep.is_idle());
}

#[test]
fn inbound_from_unknown_source_is_forbidden() {
    let mut h = harness(false);
    h.feed(
        invite_from_phone("z9hG4bKx", "x").as_bytes(),
        "203.0.113.9:5060",
    );
    let r = h.sent_one();
    assert_eq!(r.status(), Some(403));
    assert!(h.events().is_empty());
    // The trunk's address is allowed without an allow entry.
    h.feed(
        invite_from_phone("z9hG4bKy", "y").as_bytes(),
        "192.0.2.10:5999",
    );
    assert_eq!(h.sent_one().status(), Some(100));
    assert_eq!(h.events().len(), 1);
}

#[test]
fn a_call_to_our_registered_contact_is_for_the_number_in_to() {
    // A trunk we registered to sends calls to our Contact (`sip:gw@us`): the number
    // dialled is the To's user. A number in the Request-URI still wins over To.
    let mut h = harness(false);
    let to_contact = invite_from_phone("z9hG4bKreg", "reg-1").replacen(
        "INVITE sip:+15550001111@",
        "INVITE sip:gw@",
        1,
    );
    h.feed(to_contact.as_bytes(), PHONE);
    assert_eq!(h.sent_one().status(), Some(100));
    assert!(matches!(
        &h.events()[..],
        [SipEvent::Incoming { to, .. }] if to == "+15550001111"
    ));
    let both = invite_from_phone("z9hG4bKreg2", "reg-2").replacen(
        "INVITE sip:+15550001111@",
        "INVITE sip:+15550009999@",
        1,
    );
    h.feed(both.as_bytes(), PHONE);
    assert_eq!(h.sent_one().status(), Some(100));
    assert!(matches!(
        &h.events()[..],
        [SipEvent::Incoming { to, .. }] if to == "+15550009999"
    ));
}

#[test]
fn inbound_cancel_and_reject() {
    let mut h = harness(false);
    h.feed(invite_from_phone("z9hG4bKc", "c-1").as_bytes(), PHONE);
    h.sent();
    h.events();
    let cancel = "CANCEL sip:+15550001111@10.0.0.1:5060 SIP/2.0\r\n\
        Via: SIP/2.0/UDP 198.51.100.7:5062;branch=z9hG4bKc;rport\r\n\
        From: \"Bob\" <sip:+15552223333@198.51.100.7>;tag=b1\r\nTo: <sip:+15550001111@10.0.0.1>\r\n\
        Call-ID: c-1\r\nCSeq: 10 CANCEL\r\nContent-Length: 0\r\n\r\n";
    h.feed(cancel.as_bytes(), PHONE);
    let s = h.sent();
    let statuses: Vec<_> = s
        .iter()
        .map(|(_, m)| (m.status().unwrap(), m.cseq().unwrap().1))
        .collect();
    assert_eq!(
        statuses,
        [(200, "CANCEL".to_string()), (487, "INVITE".to_string())]
    );
    assert_eq!(
        h.events(),
        vec![SipEvent::RemoteHangup {
            leg: FIRST_INBOUND_LEG
        }]
    );
    // The 487 is retransmitted until its ACK.
    h.advance(Duration::from_millis(600));
    assert_eq!(h.sent_one().status(), Some(487));
    h.feed(ack_for(&s[1].1, "z9hG4bKc").as_bytes(), PHONE);
    h.advance(Duration::from_secs(40));
    assert!(h.sent().is_empty());

    // Reject with 486.
    h.feed(invite_from_phone("z9hG4bKr", "r-1").as_bytes(), PHONE);
    h.sent();
    let leg = match h.events()[..] {
        [SipEvent::Incoming { leg, .. }] => leg,
        ref e => panic!("{e:?}"),
    };
    assert_eq!(leg, FIRST_INBOUND_LEG + 1);
    h.ep.reject(leg, 486, h.now);
    let busy = h.sent_one();
    assert_eq!(busy.status(), Some(486));
    assert!(busy.tag_in_to().is_some());
    // hang_up on an unanswered inbound leg answers 480.
    h.feed(invite_from_phone("z9hG4bKh", "h-1").as_bytes(), PHONE);
    h.sent();
    h.events();
    h.ep.hang_up(FIRST_INBOUND_LEG + 2, h.now);
    assert_eq!(h.sent_one().status(), Some(480));
}

#[test]
fn options_reinvite_and_unknown_methods() {
    let mut h = harness(false);
    let req = |method: &str, branch: &str, to_tag: &str| {
        format!(
            "{method} sip:gw@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.7:5062;branch={branch}\r\n\
             From: <sip:a@x>;tag=f\r\nTo: <sip:gw@10.0.0.1>{to_tag}\r\nCall-ID: o-1\r\nCSeq: 1 {method}\r\n\
             Content-Length: 0\r\n\r\n"
        )
    };
    h.feed(req("OPTIONS", "z9hG4bK1", "").as_bytes(), PHONE);
    assert_eq!(h.sent_one().status(), Some(200));
    h.feed(req("REGISTER", "z9hG4bK2", "").as_bytes(), PHONE);
    assert_eq!(h.sent_one().status(), Some(405));
    h.feed(req("FROBNICATE", "z9hG4bK3", "").as_bytes(), PHONE);
    assert_eq!(h.sent_one().status(), Some(501));
    h.feed(req("INVITE", "z9hG4bK4", ";tag=nope").as_bytes(), PHONE);
    assert_eq!(h.sent_one().status(), Some(481));
    h.feed(req("ACK", "z9hG4bK5", ";tag=nope").as_bytes(), PHONE);
    assert!(h.sent().is_empty());
    // An INVITE requiring an extension (100rel) gets 420 with Unsupported, until ACKed.
    let invite = invite_from_phone("z9hG4bKreq", "req-1").replace(
        "Max-Forwards: 70\r\n",
        "Max-Forwards: 70\r\nRequire: 100rel\r\n",
    );
    h.feed(invite.as_bytes(), PHONE);
    let r = h.sent_one();
    assert_eq!(r.status(), Some(420));
    assert_eq!(r.header("Unsupported"), Some("100rel"));
    h.feed(ack_for(&r, "z9hG4bKreq").as_bytes(), PHONE);
    h.advance(Duration::from_secs(1));
    assert!(h.sent().is_empty());
    assert!(h.events().is_empty());

    // A re-INVITE in an established inbound dialog gets our last SDP.
    h.feed(invite_from_phone("z9hG4bKre", "re-1").as_bytes(), PHONE);
    h.sent();
    h.ep.answer(FIRST_INBOUND_LEG, "v=0\r\nours\r\n".into(), h.now);
    let ok = h.sent_one();
    h.feed(ack_for(&ok, "z9hG4bKack").as_bytes(), PHONE);
    let reinvite = invite_from_phone("z9hG4bKre2", "re-1")
        .replace("CSeq: 10", "CSeq: 11")
        .replace(
            "To: <sip:+15550001111@10.0.0.1>",
            &format!("To: {}", ok.header("To").unwrap()),
        );
    h.feed(reinvite.as_bytes(), PHONE);
    let ok2 = h.sent_one();
    assert_eq!(ok2.status(), Some(200));
    assert_eq!(ok2.body, b"v=0\r\nours\r\n");
    assert_eq!(ok2.cseq(), Some((11, "INVITE".into())));
    h.feed(ack_for(&ok2, "z9hG4bKack2").as_bytes(), PHONE);
    h.advance(Duration::from_secs(5));
    assert!(h.sent().is_empty(), "the ACK stopped the retransmissions");
    assert_eq!(h.events().len(), 1, "only the Incoming");
}

#[test]
fn malformed_requests_get_400_or_are_dropped() {
    let mut h = harness(false);
    let invite = invite_from_phone("z9hG4bKm", "m-1");
    // Content-Length larger than the body.
    let truncated = &invite.as_bytes()[..invite.len() - 10];
    h.feed(truncated, PHONE);
    assert_eq!(h.sent_one().status(), Some(400));
    // Bad UTF-8 in a header.
    let mut bad = invite.clone().into_bytes();
    let pos = invite.find("Bob").unwrap();
    bad[pos] = 0xFF;
    h.feed(&bad, PHONE);
    assert_eq!(h.sent_one().status(), Some(400));
    // No Call-ID.
    h.feed(invite.replace("Call-ID: m-1\r\n", "").as_bytes(), PHONE);
    assert_eq!(h.sent_one().status(), Some(400));
    // Garbage and responses to nothing: dropped.
    h.feed(b"\x00\x01garbage", PHONE);
    h.feed(b"SIP/2.0 200 OK\r\n\r\n", PHONE);
    h.feed(&vec![b'A'; 70_000], PHONE);
    assert!(h.sent().is_empty());
    assert!(h.events().is_empty());
    // And the endpoint still works.
    h.feed(invite.as_bytes(), PHONE);
    assert_eq!(h.sent_one().status(), Some(100));
    assert_eq!(h.events().len(), 1);
}

#[test]
fn fuzzed_messages_never_panic_or_wedge_the_endpoint() {
    let mut h = harness(true);
    let mut rng = Rng::new(0x5eed);
    let inv = h.dial(1);
    let seeds: Vec<Vec<u8>> = vec![
        invite_from_phone("z9hG4bKf", "f-1").into_bytes(),
        reply(&inv, 180, Some("p"), &[], ""),
        reply(&inv, 200, Some("p"), &[("Contact", "<sip:p@192.0.2.10>"), ("Record-Route", "<sip:192.0.2.9;lr>")], "v=0\r\n"),
        reply(&inv, 401, Some("p"), &[("WWW-Authenticate", "Digest realm=\"r\", nonce=\"n\", qop=\"auth\"")], ""),
        b"CANCEL sip:x@10.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 198.51.100.7;branch=z9hG4bKf\r\nFrom: <sip:a@b>;tag=b1\r\nTo: <sip:c@d>\r\nCall-ID: f-1\r\nCSeq: 10 CANCEL\r\n\r\n".to_vec(),
        b"BYE sip:x@10.0.0.1 SIP/2.0\r\nv: SIP/2.0/TCP [::1]:5060;branch=z9hG4bKq\r\nf: <sip:a@b>;tag=b1\r\nt: <sip:c@d>;tag=x\r\ni: f-1\r\nCSeq: 11 BYE\r\nl: 0\r\n\r\n".to_vec(),
    ];
    let tokens: [&[u8]; 10] = [
        b"\r\n",
        b":",
        b";",
        b"<",
        b">",
        b"\"",
        b",",
        b"\xc3",
        b"Content-Length: 99999\r\n",
        b"SIP/2.0",
    ];
    for i in 0..5000u32 {
        let mut m = seeds[rng.below(seeds.len() as u64) as usize].clone();
        for _ in 0..1 + rng.below(6) {
            if m.is_empty() {
                break;
            }
            let pos = rng.below(m.len() as u64) as usize;
            match rng.below(5) {
                0 => m[pos] = rng.next() as u8,
                1 => {
                    let end = (pos + 1 + rng.below(40) as usize).min(m.len());
                    m.drain(pos..end);
                }
                2 => {
                    let t = tokens[rng.below(tokens.len() as u64) as usize];
                    m.splice(pos..pos, t.iter().copied());
                }
                3 => m.truncate(pos),
                _ => {
                    let copy: Vec<u8> = m[pos..].iter().take(30).copied().collect();
                    m.splice(pos..pos, copy);
                }
            }
        }
        let from = if i % 2 == 0 { PHONE } else { TRUNK };
        h.feed(&m, from);
        for (_, msg) in h.sent() {
            let _ = msg;
        }
        h.events();
        if i % 97 == 0 {
            h.advance(Duration::from_millis(700));
            // Whatever legs the noise created, the hub may act on them.
            h.ep.answer(
                FIRST_INBOUND_LEG + u64::from(i % 3),
                "v=0\r\n".into(),
                h.now,
            );
            h.ep.hang_up(1, h.now);
        }
    }
    // Let everything settle, then a clean call still works end to end.
    h.advance(Duration::from_secs(120));
    h.sent();
    h.events();
    let invite = invite_from_phone("z9hG4bKclean", "clean-1");
    h.feed(invite.as_bytes(), PHONE);
    assert_eq!(h.sent_one().status(), Some(100));
    assert!(matches!(h.events()[..], [SipEvent::Incoming { .. }]));
}

#[test]
fn shutdown_cancels_byes_and_refuses() {
    let mut h = harness(false);
    let answered = h.dial(1);
    h.feed(
        &reply(
            &answered,
            200,
            Some("p"),
            &[("Contact", "<sip:p@192.0.2.10>")],
            "v=0\r\n",
        ),
        TRUNK,
    );
    h.sent();
    let ringing = h.dial(2);
    h.feed(&reply(&ringing, 180, Some("q"), &[], ""), TRUNK);
    h.feed(invite_from_phone("z9hG4bKsd", "sd-1").as_bytes(), PHONE);
    h.sent();
    h.events();
    h.ep.shutdown(h.now);
    let mut got: Vec<String> = h
        .sent()
        .iter()
        .map(|(_, m)| match m.method() {
            Some(method) => method.to_string(),
            None => m.status().unwrap().to_string(),
        })
        .collect();
    got.sort();
    assert_eq!(got, ["480", "BYE", "CANCEL"]);
    // New calls are refused while stopping.
    h.feed(invite_from_phone("z9hG4bKsd2", "sd-2").as_bytes(), PHONE);
    assert_eq!(h.sent_one().status(), Some(503));
    assert!(h
        .ep
        .dial(
            DialRequest {
                leg: 3,
                trunk: None,
                to: "+1".into(),
                caller_id: "+2".into(),
                sdp_offer: OFFER.into(),
            },
            h.now
        )
        .is_err());
}
