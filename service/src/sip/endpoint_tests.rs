//! Tests of the sans-IO [`Endpoint`] on synthetic time: no sockets, no sleeps.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::endpoint::{Endpoint, EndpointConfig, Transmit, Trunk};
use super::message::{self, Message};
use super::{DialRequest, IpNet, LegId, SipEvent, SipTransport, TrunkConfig, FIRST_INBOUND_LEG};
use crate::pstn::media::test_util::Rng;

const TRUNK: &str = "192.0.2.10:5060";
const PHONE: &str = "198.51.100.7:5062";
const OFFER: &str = "v=0\r\no=- 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n";

fn addr(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

struct Harness {
    ep: Endpoint,
    now: Instant,
}

fn harness(credentials: bool) -> Harness {
    harness_with("carrier=192.0.2.10:5060", credentials)
}

fn harness_with(spec: &str, credentials: bool) -> Harness {
    let mut config = TrunkConfig::parse(spec).unwrap();
    if credentials {
        config.username = Some("alice".into());
        config.password = Some("secret".into());
    }
    let ep = Endpoint::new(
        EndpointConfig {
            trunks: vec![Trunk {
                config,
                addr: Some(addr(TRUNK)),
            }],
            allow: vec![IpNet::parse("198.51.100.0/24").unwrap()],
            user_agent: "test-gw".into(),
            local_port: 5060,
            local_ip: Box::new(|_| "10.0.0.1".parse().unwrap()),
        },
        42,
    );
    Harness {
        ep,
        now: Instant::now(),
    }
}

impl Harness {
    fn sent(&mut self) -> Vec<(Transmit, Message)> {
        std::iter::from_fn(|| self.ep.poll_transmit())
            .map(|t| {
                let m = message::parse(&t.data).expect("we send parsable messages");
                (t, m)
            })
            .collect()
    }

    fn sent_one(&mut self) -> Message {
        let mut s = self.sent();
        assert_eq!(s.len(), 1, "{s:?}");
        s.remove(0).1
    }

    fn events(&mut self) -> Vec<SipEvent> {
        std::iter::from_fn(|| self.ep.poll_event()).collect()
    }

    /// Moves the clock to `now + d`, running every timer due on the way.
    fn advance(&mut self, d: Duration) {
        let target = self.now + d;
        while let Some(t) = self.ep.poll_timeout() {
            if t > target {
                break;
            }
            self.now = self.now.max(t);
            self.ep.handle_timeout(self.now);
        }
        self.now = target;
    }

    fn feed(&mut self, data: &[u8], from: &str) {
        self.ep
            .handle_message(data, addr(from), SipTransport::Udp, self.now);
    }

    fn dial(&mut self, leg: LegId) -> Message {
        self.ep
            .dial(
                DialRequest {
                    leg,
                    trunk: None,
                    to: "+15551234567".into(),
                    caller_id: "+15557654321".into(),
                    sdp_offer: OFFER.into(),
                },
                self.now,
            )
            .unwrap();
        self.sent_one()
    }
}

/// A response to `req` as a phone would send it.
fn reply(
    req: &Message,
    status: u16,
    to_tag: Option<&str>,
    extra: &[(&str, &str)],
    body: &str,
) -> Vec<u8> {
    let mut r = Message::response(status);
    for v in req.header_list("Via") {
        r.push("Via", v);
    }
    r.push("From", req.header("From").unwrap());
    let to = req.header("To").unwrap();
    match to_tag {
        Some(t) if req.tag_in_to().is_none() => r.push("To", format!("{to};tag={t}")),
        _ => r.push("To", to),
    };
    r.push("Call-ID", req.call_id().unwrap());
    r.push("CSeq", req.header("CSeq").unwrap());
    for (n, v) in extra {
        r.push(n, *v);
    }
    if !body.is_empty() {
        r.set_body("application/sdp", body);
    }
    r.to_bytes()
}

fn branch(m: &Message) -> String {
    m.top_via().unwrap().branch().unwrap().to_string()
}

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
