//! The gateway over TLS against an in-process rustls server playing the trunk: the
//! trunk's certificate is verified, the INVITE names TLS, one connection carries the
//! transaction, and a lost connection is made again for the next call.

use std::path::PathBuf;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc::UnboundedReceiver;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

use super::message::{frame_stream, Framing};
use super::{sdp, tls, DialRequest, SipConfig, SipEvent, SipGateway, TrunkConfig};

const WAIT: Duration = Duration::from_secs(10);

struct Pki {
    dir: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    /// Another self-signed certificate: not the trunk's CA.
    other: PathBuf,
}

impl Pki {
    fn new(tag: &str) -> Pki {
        let dir = std::env::temp_dir().join(format!("sip-tls-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
        let other = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
        let pki = Pki {
            cert: dir.join("cert.pem"),
            key: dir.join("key.pem"),
            other: dir.join("other.pem"),
            dir,
        };
        std::fs::write(&pki.cert, ck.cert.pem()).unwrap();
        std::fs::write(&pki.key, ck.signing_key.serialize_pem()).unwrap();
        std::fs::write(&pki.other, other.cert.pem()).unwrap();
        pki
    }
}

impl Drop for Pki {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

async fn gateway(port: u16, ca: &std::path::Path) -> (SipGateway, UnboundedReceiver<SipEvent>) {
    let spec = format!("carrier=127.0.0.1:{port};transport=tls;ca={}", ca.display());
    let cfg = SipConfig {
        listen: "127.0.0.1:0".parse().unwrap(),
        listen_tls: None,
        trunks: vec![TrunkConfig::parse(&spec).unwrap()],
        allow: Vec::new(),
        user_agent: "tls-test".into(),
    };
    SipGateway::start(cfg).await.expect("gateway starts")
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

/// The next SIP message on `s`.
async fn read_message(s: &mut TlsStream<tokio::net::TcpStream>, buf: &mut Vec<u8>) -> String {
    let mut chunk = [0u8; 4096];
    loop {
        if let Framing::Message(n) = frame_stream(buf) {
            let m: Vec<u8> = buf.drain(..n).collect();
            return String::from_utf8(m).unwrap();
        }
        let n = tokio::time::timeout(WAIT, s.read(&mut chunk))
            .await
            .expect("a message in time")
            .unwrap();
        assert!(n > 0, "the gateway closed the connection");
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// A final response to `req` (Via, From, Call-ID, CSeq copied; To tagged).
fn response(req: &str, status: &str) -> String {
    let mut r = format!("SIP/2.0 {status}\r\n");
    for line in req.split("\r\n") {
        let name = line.split(':').next().unwrap_or("");
        match name {
            "Via" | "From" | "Call-ID" | "CSeq" => r.push_str(&format!("{line}\r\n")),
            "To" => r.push_str(&format!("{line};tag=trunk\r\n")),
            _ => {}
        }
    }
    r.push_str("Content-Length: 0\r\n\r\n");
    r
}

#[tokio::test]
async fn calls_go_over_verified_tls_and_the_connection_is_made_again() {
    let pki = Pki::new("trunk");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = TlsAcceptor::from(tls::server(&pki.cert, &pki.key).unwrap());
    let (gw, mut events) = gateway(port, &pki.cert).await;

    for leg in [1u64, 2] {
        dial(&gw, leg);
        // Leg 2: the first connection was closed by the trunk; a new one comes.
        let (tcp, _) = tokio::time::timeout(WAIT, listener.accept())
            .await
            .expect("the gateway connects")
            .unwrap();
        let mut s = acceptor.accept(tcp).await.expect("TLS handshake");
        let mut buf = Vec::new();
        let invite = read_message(&mut s, &mut buf).await;
        assert!(
            invite.starts_with("INVITE sip:+15551234567@127.0.0.1"),
            "{invite}"
        );
        assert!(invite.contains("Via: SIP/2.0/TLS "), "{invite}");
        assert!(invite.contains(";transport=tls>"), "{invite}");
        s.write_all(response(&invite, "486 Busy Here").as_bytes())
            .await
            .unwrap();
        let ack = read_message(&mut s, &mut buf).await;
        assert!(
            ack.starts_with("ACK "),
            "the ACK on the same connection: {ack}"
        );
        let ev = tokio::time::timeout(WAIT, events.recv()).await.unwrap();
        assert!(
            matches!(ev, Some(SipEvent::Failed { leg: l, status: 486, .. }) if l == leg),
            "{ev:?}"
        );
        // The trunk drops the connection; once the gateway saw it go, the next call
        // connects again. (A message written in the very instant the peer closes is lost
        // like on any stream; there is no retransmission over TLS.)
        s.shutdown().await.unwrap();
        drop(s);
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    gw.shutdown();
}

#[tokio::test]
async fn a_trunk_certificate_from_another_ca_fails_the_call_with_503() {
    let pki = Pki::new("wrong-ca");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = TlsAcceptor::from(tls::server(&pki.cert, &pki.key).unwrap());
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            // The gateway aborts the handshake: nothing to read.
            let _ = acceptor.accept(tcp).await;
        }
    });
    let (gw, mut events) = gateway(port, &pki.other).await;
    dial(&gw, 1);
    let ev = tokio::time::timeout(WAIT, events.recv()).await.unwrap();
    assert!(
        matches!(
            ev,
            Some(SipEvent::Failed {
                leg: 1,
                status: 503,
                ..
            })
        ),
        "{ev:?}"
    );
    gw.shutdown();
}
