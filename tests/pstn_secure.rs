//! Phone calls over SIP/TLS with SDES-SRTP media, against `baresip` (Debian's 1.0, its
//! `srtp` module): the service dials baresip's TLS listener with `srtp=mandatory`, baresip
//! dials the service's TLS listener with `mediaenc=srtp-mand`, and a plain-RTP baresip is
//! refused when the trunk requires SRTP (and a SIPp phone that answers with plain RTP is hung
//! up on). Each side's audio is a tone; each side must hear
//! the other's, as in tests/pstn_interop.rs.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use acscalling::media::audio::tone_power;
use acscalling::protocol::{CallState, EndReason, ParticipantState};
use common::party::Party;
use common::sipp::Sipp;
use common::sipphones::{Baresip, BaresipSecurity};
use common::{wait_until, Service};

const T: Duration = Duration::from_secs(20);

/// Power of `freq` in `pcm` at `rate` Hz, normalised like `tone_power` (full scale = 1).
fn power_at(pcm: &[i16], rate: u32, freq: f64) -> f64 {
    let (mut re, mut im) = (0.0f64, 0.0f64);
    for (n, v) in pcm.iter().enumerate() {
        let ph = 2.0 * std::f64::consts::PI * freq * n as f64 / f64::from(rate);
        re += f64::from(*v) * ph.cos();
        im += f64::from(*v) * ph.sin();
    }
    let amp = 2.0 * (re * re + im * im).sqrt() / pcm.len().max(1) as f64 / 32768.0;
    amp * amp / 2.0
}

/// The last `secs` seconds of what baresip heard.
fn baresip_heard_tail(phone: &Baresip, secs: f64) -> (u32, Vec<i16>) {
    let (rate, pcm) = phone.heard();
    let n = (f64::from(rate) * secs) as usize;
    let start = pcm.len().saturating_sub(n);
    (rate, pcm[start..].to_vec())
}

/// A self-signed certificate for 127.0.0.1: (dir, cert.pem, key.pem, cert+key.pem).
struct Certificate {
    dir: PathBuf,
    cert: PathBuf,
    key: PathBuf,
    both: PathBuf,
}

impl Certificate {
    fn new(tag: &str) -> Certificate {
        let dir = std::env::temp_dir().join(format!("acs-sip-tls-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let ck = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
        let (cert, key, both) = (
            dir.join("cert.pem"),
            dir.join("key.pem"),
            dir.join("both.pem"),
        );
        let key_pem = ck.signing_key.serialize_pem();
        std::fs::write(&cert, ck.cert.pem()).unwrap();
        std::fs::write(&key, &key_pem).unwrap();
        std::fs::write(&both, format!("{}{key_pem}", ck.cert.pem())).unwrap();
        Certificate {
            dir,
            cert,
            key,
            both,
        }
    }
}

impl Drop for Certificate {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Both hear each other's tone: `party` hears `phone_freq`, the phone hears `party_freq`.
fn both_hear(party: &Party, phone: &Baresip, phone_freq: f32, party_freq: f64) {
    let mut powers = Vec::new();
    let heard = wait_until(Duration::from_secs(8), || {
        let p = tone_power(&party.listen(500), phone_freq);
        powers.push(p);
        p > 0.005
    });
    assert!(
        heard,
        "the SDK user hears {phone_freq} Hz from baresip: {powers:?}\n{}",
        phone.log()
    );
    let mut powers = Vec::new();
    let heard = wait_until(Duration::from_secs(8), || {
        let (rate, pcm) = baresip_heard_tail(phone, 1.0);
        let p = power_at(&pcm, rate, party_freq);
        powers.push(p);
        p > 0.005
    });
    assert!(
        heard,
        "baresip hears {party_freq} Hz from the SDK user: {powers:?}\n{}",
        phone.log()
    );
}

fn srtp_phone(number: &str, freq: u32, commands: &[&str], pem: Option<&Path>) -> Baresip {
    Baresip::start_secure(
        number,
        freq,
        commands,
        &BaresipSecurity {
            tls_cert_and_key: pem.map(Path::to_path_buf),
            mediaenc: Some("srtp-mand".into()),
        },
    )
}

#[test]
fn sdk_calls_baresip_over_tls_with_mandatory_srtp() {
    let cert = Certificate::new("out");
    let phone = srtp_phone("+15551234567", 523, &[], Some(&cert.both));
    // baresip's TLS listener is on its SIP port + 1.
    let trunk = format!(
        "carrier=127.0.0.1:{};transport=tls;ca={};srtp=mandatory",
        phone.port + 1,
        cert.cert.display()
    );
    let svc = Service::with_trunk(&trunk, &[]);
    let alice = Party::new(&svc, "Alice", 700.0, false);
    let call = alice.call("4:+15551234567");
    assert!(
        wait_until(T, || call.state() == CallState::Connected),
        "{:?}\nbaresip: {}",
        alice.call_log(),
        phone.log()
    );
    assert!(alice.saw_state("4:+15551234567", ParticipantState::Connected));
    // Port + 1 speaks only TLS, and `srtp-mand` makes baresip refuse media without SRTP
    // (the next test shows the other half: the service refuses media without it).
    both_hear(&alice, &phone, 523.0, 700.0);

    call.hang_up(false).unwrap();
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
    assert!(
        wait_until(T, || phone.log().contains("session closed")),
        "baresip saw the BYE: {}",
        phone.log()
    );
}

#[test]
fn baresip_calls_the_service_tls_listener_with_mandatory_srtp() {
    let cert = Certificate::new("in");
    let svc = Service::start_tls_with(
        &cert.cert,
        &cert.key,
        &[
            "--sip-listen",
            "127.0.0.1:0",
            "--sip-listen-tls",
            "127.0.0.1:0",
            "--sip-allow",
            "127.0.0.1",
        ],
    );
    let tls_addr = svc
        .sip_tls_addr
        .clone()
        .expect("the service printed sip-tls=");
    let bob = Party::new(&svc, "Bob", 900.0, true);
    let (st, body) = svc.request(
        "PUT",
        &format!("/identities/{}/phone-numbers/+15551230001", bob.id),
        "",
    );
    assert_eq!(st, 200, "{body}");
    let dial = format!("/dial sip:+15551230001@{tls_addr};transport=tls");
    let phone = srtp_phone("+15559876543", 523, &[&dial], Some(&cert.both));

    assert!(
        wait_until(T, || !bob.incoming.lock().is_empty()),
        "no incoming call\nbaresip: {}",
        phone.log()
    );
    let call = bob.incoming.lock()[0].clone();
    assert!(
        wait_until(T, || call.state() == CallState::Connected),
        "{:?}\nbaresip: {}",
        bob.call_log(),
        phone.log()
    );
    assert_eq!(call.remote_participants()[0].identifier(), "4:+15559876543");
    both_hear(&bob, &phone, 523.0, 900.0);

    call.hang_up(false).unwrap();
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
    assert_eq!(call.end_reason(), EndReason::LOCAL_HANGUP);
    assert!(
        wait_until(T, || phone.log().contains("session closed")),
        "baresip saw the BYE: {}",
        phone.log()
    );
}

#[test]
fn a_plain_rtp_phone_is_refused_when_the_trunk_requires_srtp() {
    let phone = Baresip::start("+15551234567", 523, &[]);
    let trunk = format!("carrier=127.0.0.1:{};srtp=mandatory", phone.port);
    let svc = Service::with_trunk(&trunk, &[]);
    let alice = Party::new(&svc, "Alice", 700.0, false);
    let call = alice.call("4:+15551234567");
    let not_acceptable = EndReason::new(488, 560488);
    assert!(
        wait_until(T, || alice.left_with("4:+15551234567", not_acceptable)),
        "the phone leaves with 488: {:?}\nbaresip: {}",
        alice.call_log(),
        phone.log()
    );
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
    assert_eq!(call.end_reason(), not_acceptable);
    assert!(!alice.saw_state("4:+15551234567", ParticipantState::Connected));
}

#[test]
fn a_plain_rtp_phone_calling_a_mandatory_srtp_trunk_gets_488() {
    // The trunk is the phone itself (127.0.0.1 is the trunk's address): its policy applies
    // to calls from it.
    let svc = Service::start_with(&[
        "--sip-listen",
        "127.0.0.1:0",
        "--sip-trunk",
        "carrier=127.0.0.1:9;srtp=mandatory",
    ]);
    let sip_addr = svc.sip_addr.clone().expect("sip=");
    let bob = Party::new(&svc, "Bob", 900.0, true);
    let (st, body) = svc.request(
        "PUT",
        &format!("/identities/{}/phone-numbers/+15551230001", bob.id),
        "",
    );
    assert_eq!(st, 200, "{body}");
    let dial = format!("/dial sip:+15551230001@{sip_addr}");
    let phone = Baresip::start("+15559876543", 523, &[&dial]);
    assert!(
        wait_until(T, || phone.log().contains("488")),
        "baresip was refused with 488: {}",
        phone.log()
    );
    assert!(bob.incoming.lock().is_empty(), "no call rang");
}

#[test]
fn a_phone_answering_with_plain_rtp_is_hung_up_on_when_the_trunk_requires_srtp() {
    // SIPp answers 200 with RTP/AVP and no crypto whatever we offered, then waits for
    // our BYE: the scenario passes only if the BYE comes.
    let mut sipp = Sipp::start("phone_answers.xml", &[]);
    let trunk = format!("carrier={};srtp=mandatory", sipp.addr());
    let svc = Service::with_trunk(&trunk, &[]);
    let alice = Party::new(&svc, "Alice", 700.0, false);
    let call = alice.call("4:+15551234567");
    let not_acceptable = EndReason::new(488, 560488);
    assert!(
        wait_until(T, || alice.left_with("4:+15551234567", not_acceptable)),
        "{:?} / sipp: {}",
        alice.call_log(),
        sipp.errors()
    );
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
    sipp.assert_passed(T);
}

#[test]
fn baresip_hangs_up_over_tls_to_the_service_tls_listener() {
    // With --sip-listen-tls our Contact names the TLS listener: baresip's BYE (sent when
    // it quits) reaches us there. (Without a TLS listener a trunk's requests can only come
    // on our own connection, which baresip does not reuse for a different address.)
    let cert = Certificate::new("bye");
    let phone = srtp_phone("+15551234567", 523, &[], Some(&cert.both));
    let trunk = format!(
        "carrier=127.0.0.1:{};transport=tls;ca={};srtp=mandatory",
        phone.port + 1,
        cert.cert.display()
    );
    let svc = Service::start_tls_with(
        &cert.cert,
        &cert.key,
        &[
            "--sip-listen",
            "127.0.0.1:0",
            "--sip-listen-tls",
            "127.0.0.1:0",
            "--sip-trunk",
            &trunk,
            "--pstn-caller-id",
            "+15550001000",
        ],
    );
    let alice = Party::new(&svc, "Alice", 700.0, false);
    let call = alice.call("4:+15551234567");
    assert!(
        wait_until(T, || call.state() == CallState::Connected),
        "{:?}\nbaresip: {}",
        alice.call_log(),
        phone.log()
    );
    both_hear(&alice, &phone, 523.0, 700.0);
    phone.terminate();
    assert!(
        wait_until(T, || call.state() == CallState::Disconnected),
        "the phone's BYE ended the call: {:?}\nbaresip: {}",
        alice.call_log(),
        phone.log()
    );
    assert_eq!(call.end_reason(), EndReason::REMOTE_HANGUP);
}
