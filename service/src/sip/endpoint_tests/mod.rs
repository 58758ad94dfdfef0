//! Tests of the sans-IO [`Endpoint`] on synthetic time: no sockets, no sleeps.
//! `outbound.rs`: our INVITEs, CANCEL, BYE, digest, forks, REGISTER. `inbound.rs`: phones
//! calling us, other requests, malformed and fuzzed input, shutdown.

mod inbound;
mod outbound;
mod tls;

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
    harness_full(spec, credentials, None)
}

fn harness_full(spec: &str, credentials: bool, local_tls_port: Option<u16>) -> Harness {
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
            local_tls_port,
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
