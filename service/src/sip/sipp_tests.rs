//! The gateway against the real SIPp (Debian's `sip-tester`) on 127.0.0.1: each test starts
//! the gateway and one sipp with a scenario of `service/tests/sipp/`, on free ports, and
//! kills sipp when done. Every wait has a timeout.
//!
//! Here rather than in `service/tests/` because the service is a binary without a lib
//! target.

use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::sync::mpsc::UnboundedReceiver;

use super::{
    sdp, sip_status_to_end_reason, DialRequest, IpNet, SipConfig, SipEvent, SipGateway,
    SipTransport, TrunkConfig,
};
use crate::protocol::EndReason;

const SIPP: &str = "sipp";
const WAIT: Duration = Duration::from_secs(15);

fn scenario(name: &str) -> String {
    format!("{}/tests/sipp/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// A port free on 127.0.0.1 for both UDP and TCP (sipp uses both with `-t t1`).
fn free_port() -> u16 {
    loop {
        let u = UdpSocket::bind("127.0.0.1:0").expect("bind udp");
        let port = u.local_addr().unwrap().port();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// A running sipp, killed on drop.
struct Sipp {
    child: Child,
    name: String,
    error_file: PathBuf,
}

impl Sipp {
    fn start(name: &str, args: &[String]) -> Sipp {
        Sipp::start_file(name, &scenario(name), args)
    }

    fn start_file(name: &str, file: &str, args: &[String]) -> Sipp {
        let dir = std::env::temp_dir().join(format!("acs-sipp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let error_file = dir.join(format!("{name}-{}.log", free_port()));
        let mut cmd = Command::new(SIPP);
        cmd.args(args)
            .args(["-sf", file, "-m", "1", "-nostdin", "-timeout", "20"])
            .arg("-trace_err")
            .arg("-error_file")
            .arg(&error_file)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd.spawn().unwrap_or_else(|e| {
            panic!("cannot run {SIPP} ({e}): install Debian's sip-tester to run the SIP tests")
        });
        Sipp {
            child,
            name: name.to_string(),
            error_file,
        }
    }

    /// sipp as a phone/carrier (UAS) on `port`.
    fn uas(name: &str, port: u16, tcp: bool, extra: &[&str]) -> Sipp {
        let mut args: Vec<String> = vec![
            "-i".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
        ];
        if tcp {
            args.extend(["-t".into(), "t1".into()]);
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        Sipp::start(name, &args)
    }

    /// sipp calling the gateway (UAC) from `ip`.
    fn uac(name: &str, gateway: SocketAddr, ip: &str, tcp: bool) -> Sipp {
        let mut args: Vec<String> = vec![
            gateway.to_string(),
            "-i".into(),
            ip.into(),
            "-p".into(),
            free_port().to_string(),
        ];
        if tcp {
            args.extend(["-t".into(), "t1".into()]);
        }
        Sipp::start(name, &args)
    }

    /// Waits for sipp to finish its one call; asserts it succeeded.
    async fn success(mut self) {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                let errors = std::fs::read_to_string(&self.error_file).unwrap_or_default();
                assert!(
                    status.success(),
                    "sipp {} failed ({status}):\n{errors}",
                    self.name
                );
                return;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "sipp {} did not finish",
                self.name
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Sipp {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

async fn gateway(
    trunk_port: u16,
    tcp: bool,
    credentials: bool,
) -> (SipGateway, UnboundedReceiver<SipEvent>) {
    let mut spec = format!("carrier=127.0.0.1:{trunk_port}");
    if tcp {
        spec.push_str(";transport=tcp");
    }
    if credentials {
        spec.push_str(";user=alice;password=secret");
    }
    let cfg = SipConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        listen_tls: None,
        trunks: vec![TrunkConfig::parse(&spec).unwrap()],
        allow: vec![IpNet::parse("127.0.0.1").unwrap()],
        user_agent: "acscalling-gateway-test".into(),
    };
    SipGateway::start(cfg).await.expect("gateway starts")
}

async fn next_event(events: &mut UnboundedReceiver<SipEvent>) -> SipEvent {
    tokio::time::timeout(WAIT, events.recv())
        .await
        .expect("an event in time")
        .expect("gateway running")
}

/// No further event for a short while (nothing reported twice).
async fn no_event(events: &mut UnboundedReceiver<SipEvent>) {
    if let Ok(Some(e)) = tokio::time::timeout(Duration::from_millis(700), events.recv()).await {
        panic!("unexpected event {e:?}");
    }
}

fn dial(gw: &SipGateway, leg: u64) {
    gw.dial(DialRequest {
        leg,
        trunk: None,
        to: "+15551234567".into(),
        caller_id: "+15557654321".into(),
        sdp_offer: sdp::build_offer("127.0.0.1:40000".parse().unwrap(), 1),
    })
    .unwrap();
}

/// Dials sipp's `scenario` and expects 180 then the answer; returns the answer's SDP.
async fn dial_answered(
    gw: &SipGateway,
    events: &mut UnboundedReceiver<SipEvent>,
    leg: u64,
) -> String {
    dial(gw, leg);
    loop {
        match next_event(events).await {
            SipEvent::Progress {
                leg: l,
                status: 180,
                ..
            } if l == leg => {}
            SipEvent::Answered { leg: l, sdp } if l == leg => return sdp,
            e => panic!("unexpected {e:?}"),
        }
    }
}

#[tokio::test]
async fn sipp_outbound_answered_then_remote_bye() {
    let port = free_port();
    let sipp = Sipp::uas("uas_answer_then_bye.xml", port, false, &[]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (gw, mut events) = gateway(port, false, false).await;
    let sdp = dial_answered(&gw, &mut events, 1).await;
    let media = sdp::parse_answer(&sdp).unwrap();
    assert_eq!(media.codec, crate::pstn::media::g711::G711::Pcma);
    assert_eq!(media.telephone_event_pt, Some(101));
    assert_eq!(
        next_event(&mut events).await,
        SipEvent::RemoteHangup { leg: 1 }
    );
    sipp.success().await;
    no_event(&mut events).await;
}

#[tokio::test]
async fn sipp_outbound_answered_then_we_hang_up() {
    let port = free_port();
    let sipp = Sipp::uas("uas_answer_expect_bye.xml", port, false, &[]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (gw, mut events) = gateway(port, false, false).await;
    dial_answered(&gw, &mut events, 2).await;
    gw.hang_up(2);
    sipp.success().await;
    no_event(&mut events).await;
}

#[tokio::test]
async fn sipp_outbound_over_tcp() {
    let port = free_port();
    let sipp = Sipp::uas("uas_answer_expect_bye.xml", port, true, &[]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (gw, mut events) = gateway(port, true, false).await;
    dial_answered(&gw, &mut events, 3).await;
    gw.hang_up(3);
    sipp.success().await;
    no_event(&mut events).await;
}

#[tokio::test]
async fn sipp_outbound_early_media() {
    let port = free_port();
    let sipp = Sipp::uas("uas_early_media.xml", port, false, &[]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (gw, mut events) = gateway(port, false, false).await;
    dial(&gw, 4);
    match next_event(&mut events).await {
        SipEvent::Progress {
            leg: 4,
            status: 183,
            sdp: Some(sdp),
        } => {
            assert_eq!(sdp::parse_answer(&sdp).unwrap().payload_type, 0);
        }
        e => panic!("expected 183 with SDP, got {e:?}"),
    }
    assert!(matches!(
        next_event(&mut events).await,
        SipEvent::Answered { leg: 4, .. }
    ));
    gw.hang_up(4);
    sipp.success().await;
}

#[tokio::test]
async fn sipp_outbound_failures() {
    for status in [486u16, 603, 404, 480] {
        let port = free_port();
        // uas_reject.xml refuses with 486; the other statuses from a copy.
        let xml = std::fs::read_to_string(scenario("uas_reject.xml"))
            .unwrap()
            .replace(
                "SIP/2.0 486 Busy Here",
                &format!("SIP/2.0 {status} Refused By Test"),
            );
        let file = std::env::temp_dir().join(format!("acs-uas-reject-{status}-{port}.xml"));
        std::fs::write(&file, xml).unwrap();
        let args: Vec<String> = ["-i", "127.0.0.1", "-p", &port.to_string()]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let sipp = Sipp::start_file("uas_reject.xml", file.to_str().unwrap(), &args);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let (gw, mut events) = gateway(port, false, false).await;
        dial(&gw, 10);
        match next_event(&mut events).await {
            SipEvent::Failed {
                leg: 10, status: s, ..
            } => {
                assert_eq!(s, status);
                let i = i32::from(status);
                assert_eq!(sip_status_to_end_reason(s), EndReason::new(i, 560_000 + i));
            }
            e => panic!("expected Failed {status}, got {e:?}"),
        }
        sipp.success().await;
        let _ = std::fs::remove_file(&file);
        no_event(&mut events).await;
        gw.shutdown();
    }
}

#[tokio::test]
async fn sipp_outbound_cancel_while_ringing() {
    let port = free_port();
    let sipp = Sipp::uas("uas_cancel.xml", port, false, &[]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (gw, mut events) = gateway(port, false, false).await;
    dial(&gw, 5);
    assert!(matches!(
        next_event(&mut events).await,
        SipEvent::Progress {
            leg: 5,
            status: 180,
            ..
        }
    ));
    gw.hang_up(5);
    assert_eq!(
        next_event(&mut events).await,
        SipEvent::Failed {
            leg: 5,
            status: 487,
            reason: "Request Terminated".into()
        }
    );
    sipp.success().await;
    no_event(&mut events).await;
}

#[tokio::test]
async fn sipp_outbound_digest_auth() {
    let port = free_port();
    let sipp = Sipp::uas("uas_auth.xml", port, false, &[]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (gw, mut events) = gateway(port, false, true).await;
    dial(&gw, 6);
    assert!(matches!(
        next_event(&mut events).await,
        SipEvent::Answered { leg: 6, .. }
    ));
    gw.hang_up(6);
    sipp.success().await;
}

/// Runs sipp's inbound call against `gw` and answers it.
async fn inbound_answered(gw: &SipGateway, events: &mut UnboundedReceiver<SipEvent>, tcp: bool) {
    let sipp = Sipp::uac("uac_inbound.xml", gw.local_addr(), "127.0.0.1", tcp);
    let leg = match next_event(events).await {
        SipEvent::Incoming {
            leg,
            from,
            to,
            sdp_offer,
            source,
        } => {
            assert_eq!(from, "+15552223333");
            assert_eq!(to, "+15550001111");
            assert_eq!(source.ip().to_string(), "127.0.0.1");
            let (answer, remote) = sdp::answer_offer(
                &sdp_offer,
                "127.0.0.1:40002".parse().unwrap(),
                1,
                super::SrtpPolicy::Off,
            )
            .map(|(a, r, _)| (a, r))
            .unwrap();
            assert_eq!(remote.codec, crate::pstn::media::g711::G711::Pcma);
            gw.ring(leg);
            gw.answer(leg, answer);
            leg
        }
        e => panic!("expected Incoming, got {e:?}"),
    };
    assert_eq!(next_event(events).await, SipEvent::RemoteHangup { leg });
    sipp.success().await;
}

#[tokio::test]
async fn sipp_inbound_answered_then_remote_bye() {
    let (gw, mut events) = gateway(5060, false, false).await;
    inbound_answered(&gw, &mut events, false).await;
    no_event(&mut events).await;
}

#[tokio::test]
async fn sipp_inbound_over_tcp() {
    let (gw, mut events) = gateway(5060, false, false).await;
    inbound_answered(&gw, &mut events, true).await;
}

#[tokio::test]
async fn sipp_inbound_rejected_busy() {
    let (gw, mut events) = gateway(5060, false, false).await;
    let sipp = Sipp::uac("uac_inbound_busy.xml", gw.local_addr(), "127.0.0.1", false);
    match next_event(&mut events).await {
        SipEvent::Incoming { leg, .. } => gw.reject(leg, 486),
        e => panic!("expected Incoming, got {e:?}"),
    }
    sipp.success().await;
    no_event(&mut events).await;
}

#[tokio::test]
async fn sipp_inbound_from_unknown_source_is_forbidden() {
    // 127.0.0.2 is on the loopback (127/8) but not in the allow list (127.0.0.1 only).
    let (gw, mut events) = gateway(5060, false, false).await;
    let sipp = Sipp::uac(
        "uac_inbound_forbidden.xml",
        gw.local_addr(),
        "127.0.0.2",
        false,
    );
    sipp.success().await;
    no_event(&mut events).await;
}

#[tokio::test]
async fn sipp_garbage_between_calls_does_not_break_the_next_call() {
    let (gw, mut events) = gateway(5060, false, false).await;
    let junk = UdpSocket::bind("127.0.0.1:0").unwrap();
    let garbage: [&[u8]; 6] = [
        b"\x00\x01\x02garbage",
        b"INVITE sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKg\r\nContent-Length: 999\r\n\r\n",
        b"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKnope\r\nCSeq: 1 INVITE\r\n\r\n",
        b"OPTIONS sip:x SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bKo\r\nFrom: <sip:a@b>;tag=\xff\r\n\r\n",
        b"\r\n\r\n",
        &[b'A'; 9000],
    ];
    for g in garbage {
        junk.send_to(g, gw.local_addr()).unwrap();
    }
    inbound_answered(&gw, &mut events, false).await;
    for g in garbage {
        junk.send_to(g, gw.local_addr()).unwrap();
    }
    // Garbage over TCP too: the connection is closed or answered, the gateway lives on.
    {
        use std::io::Write;
        let mut s = std::net::TcpStream::connect(gw.local_addr()).unwrap();
        let _ = s.write_all(b"NOT SIP AT ALL\r\nContent-Length: nope\r\n\r\n");
    }
    inbound_answered(&gw, &mut events, false).await;
    no_event(&mut events).await;
}

#[test]
fn transport_names() {
    assert_eq!(SipTransport::Udp.as_str(), "UDP");
    assert_eq!(SipTransport::Tcp.as_str(), "TCP");
}

#[tokio::test]
async fn sipp_register_with_digest() {
    let port = free_port();
    let sipp = Sipp::uas("uas_register.xml", port, false, &[]);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cfg = SipConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        listen_tls: None,
        trunks: vec![TrunkConfig::parse(&format!(
            "carrier=127.0.0.1:{port};user=alice;password=secret;register"
        ))
        .unwrap()],
        allow: Vec::new(),
        user_agent: "acscalling-gateway-test".into(),
    };
    let (_gw, mut events) = SipGateway::start(cfg).await.unwrap();
    sipp.success().await;
    no_event(&mut events).await;
}

#[tokio::test]
async fn tcp_trunk_that_refuses_connections_fails_with_503() {
    // A port nobody listens on (bound, then released).
    let port = free_port();
    let (gw, mut events) = gateway(port, true, false).await;
    dial(&gw, 7);
    match next_event(&mut events).await {
        SipEvent::Failed {
            leg: 7,
            status: 503,
            ..
        } => {}
        e => panic!("expected Failed 503, got {e:?}"),
    }
}

#[tokio::test]
async fn dial_refuses_unknown_trunks_and_inbound_ids() {
    let (gw, _events) = gateway(5060, false, false).await;
    let mut req = DialRequest {
        leg: 1,
        trunk: Some("nope".into()),
        to: "+1".into(),
        caller_id: "+2".into(),
        sdp_offer: String::new(),
    };
    assert_eq!(
        gw.dial(req.clone()),
        Err(super::SipError::UnknownTrunk("nope".into()))
    );
    req.trunk = None;
    req.leg = super::FIRST_INBOUND_LEG;
    assert_eq!(
        gw.dial(req),
        Err(super::SipError::BadLegId(super::FIRST_INBOUND_LEG))
    );
}
