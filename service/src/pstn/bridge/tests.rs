//! Bridges through the real SFU on loopback, with plain UDP sockets as the phones.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::timeout;

use super::*;
use crate::pstn::media::dtmf::{DtmfReceiver, DtmfSender, DtmfTiming};
use crate::pstn::media::resample::FRAME_8K;
use crate::pstn::media::rtp::{self, RtpHeader, TelephoneEvent};
use crate::pstn::media::test_util::{db, mean_square, power_at, tone};
use crate::sfu::{self, CallKey, SessionId, SfuEvent, SfuHandle};

const EVENT_PT: u8 = 101;
const AMP: f64 = 8_000.0;
/// Power of the phones' tones.
const TONE_POWER: f64 = AMP * AMP / 2.0;
const WAIT: Duration = Duration::from_secs(5);

type Events = mpsc::UnboundedReceiver<BridgeEvent>;

async fn start_sfu() -> (SfuHandle, mpsc::UnboundedReceiver<SfuEvent>) {
    sfu::start(
        "127.0.0.1:0".parse().unwrap(),
        Duration::from_millis(1000),
        3,
        100,
    )
    .await
    .expect("SFU")
}

/// A bridge in `call` whose SFU session is set up (not yet connected).
async fn bridge(
    sfu: &SfuHandle,
    leg: u64,
    call: CallKey,
    events: &mpsc::UnboundedSender<BridgeEvent>,
) -> PhoneBridge {
    bridge_with(sfu, leg, call, events, BridgeOptions::default()).await
}

async fn bridge_with(
    sfu: &SfuHandle,
    leg: u64,
    call: CallKey,
    events: &mpsc::UnboundedSender<BridgeEvent>,
    options: BridgeOptions,
) -> PhoneBridge {
    let cfg = BridgeConfig {
        rtp_ip: "127.0.0.1".parse().unwrap(),
        sfu_addr: sfu.local_addr(),
    };
    let b = PhoneBridge::start_with(leg, cfg, options, events.clone())
        .await
        .expect("bridge");
    let answer = sfu
        .add_session(SessionId(leg), call, b.sfu_offer(), false)
        .await
        .expect("SFU accepts the bridge's offer");
    b.set_sfu_answer(answer);
    b
}

/// Waits for the first event of `leg` that `pick` accepts (others are dropped).
async fn wait_event(
    events: &mut Events,
    leg: u64,
    pick: impl Fn(&BridgeEventKind) -> bool,
) -> BridgeEventKind {
    timeout(WAIT, async {
        loop {
            let e = events.recv().await.expect("events");
            if e.leg == leg && pick(&e.kind) {
                return e.kind;
            }
        }
    })
    .await
    .expect("event in time")
}

/// A phone: sends a tone as G.711 RTP every 20 ms to `dest`, and the digits it is given
/// as RFC 4733 events instead of audio (one SSRC, one sequence space, like a real phone).
struct PhoneSender {
    digits: mpsc::UnboundedSender<char>,
    task: JoinHandle<()>,
}

impl Drop for PhoneSender {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn phone_sender(sock: Arc<UdpSocket>, dest: SocketAddr, codec: G711, freq: f64) -> PhoneSender {
    let (digits, mut digit_rx) = mpsc::unbounded_channel();
    let task = tokio::spawn(async move {
        let pcm = tone(freq, 8_000.0, AMP, FRAME_8K * 50);
        let mut dtmf = DtmfSender::new(DtmfTiming::default());
        let mut tick = tokio::time::interval(Duration::from_millis(20));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        for k in 0u32.. {
            tick.tick().await;
            while let Ok(d) = digit_rx.try_recv() {
                dtmf.queue(d).unwrap();
            }
            let ts = k.wrapping_mul(FRAME_8K as u32);
            let (pt, marker, ts, payload) = match dtmf.on_tick(ts) {
                Some(p) => (EVENT_PT, p.marker, p.timestamp, p.event.to_bytes().to_vec()),
                None => {
                    let i = (k as usize % 50) * FRAME_8K;
                    let mut payload = vec![0u8; FRAME_8K];
                    codec.encode(&pcm[i..i + FRAME_8K], &mut payload);
                    (codec.static_payload_type(), k == 0, ts, payload)
                }
            };
            let d = RtpHeader {
                marker,
                payload_type: pt,
                sequence: k as u16,
                timestamp: ts,
                ssrc: 0x5EED,
            }
            .to_datagram(&payload);
            let _ = sock.send_to(&d, dest).await;
        }
    });
    PhoneSender { digits, task }
}

/// What a phone's socket receives: decoded G.711 and telephone events.
struct Heard {
    pcm: Vec<i16>,
    digits: String,
}

/// Reads `frames` G.711 packets of `codec` from `sock` (telephone events are collected too).
async fn hear(sock: &UdpSocket, codec: G711, frames: usize, dtmf: &mut DtmfReceiver) -> Heard {
    let mut h = Heard {
        pcm: Vec::new(),
        digits: String::new(),
    };
    let mut buf = [0u8; 1500];
    timeout(WAIT, async {
        while h.pcm.len() < frames * FRAME_8K {
            let n = sock.recv(&mut buf).await.expect("recv");
            let p = rtp::parse(&buf[..n]).expect("the bridge sends valid RTP");
            if p.header.payload_type == codec.static_payload_type() {
                let mut pcm = [0i16; FRAME_8K];
                assert_eq!(p.payload.len(), FRAME_8K);
                codec.decode(p.payload, &mut pcm);
                h.pcm.extend_from_slice(&pcm);
            } else if p.header.payload_type == EVENT_PT {
                let e = TelephoneEvent::parse(p.payload).expect("a telephone event");
                if let Some(d) = dtmf.on_event(p.header.timestamp, e) {
                    h.digits.push(d);
                }
            } else {
                panic!("unexpected payload type {}", p.header.payload_type);
            }
        }
    })
    .await
    .expect("the phone hears RTP in time");
    h
}

/// Listens (200 ms windows) until the tone `freq` is heard at about its power; returns the
/// window's tone power relative to the sent tone (dB) and its purity (dB of the total).
async fn wait_for_tone(sock: &UdpSocket, codec: G711, freq: f64) -> (f64, f64) {
    let mut dtmf = DtmfReceiver::default();
    let mut last = (f64::NEG_INFINITY, f64::NEG_INFINITY);
    for _ in 0..25 {
        let h = hear(sock, codec, 10, &mut dtmf).await;
        let p = power_at(&h.pcm, freq, 8_000.0);
        last = (db(p / TONE_POWER), db(p / mean_square(&h.pcm)));
        if last.0 > -3.0 && last.1 > -1.0 {
            return last;
        }
    }
    panic!("{freq} Hz never heard well: {last:?} dB");
}

/// Drops what a socket has queued.
fn drain(sock: &UdpSocket) {
    let mut buf = [0u8; 1500];
    while sock.try_recv(&mut buf).is_ok() {}
}

async fn phone_socket() -> Arc<UdpSocket> {
    Arc::new(UdpSocket::bind("127.0.0.1:0").await.unwrap())
}

/// Two connected bridges in one call, each with a phone that sends a tone: A 1 kHz PCMU,
/// B 600 Hz PCMA.
struct Call {
    sfu: SfuHandle,
    sfu_events: mpsc::UnboundedReceiver<SfuEvent>,
    events: Events,
    a: PhoneBridge,
    b: PhoneBridge,
    phone_a: Arc<UdpSocket>,
    phone_b: Arc<UdpSocket>,
    send_a: PhoneSender,
    _send_b: PhoneSender,
}

async fn call() -> Call {
    call_with(BridgeOptions::default()).await
}

async fn call_with(options: BridgeOptions) -> Call {
    let (sfu, sfu_events) = start_sfu().await;
    let (tx, mut events) = mpsc::unbounded_channel();
    let a = bridge_with(&sfu, 1, CallKey(7), &tx, options).await;
    let b = bridge_with(&sfu, 2, CallKey(7), &tx, options).await;
    let mut connected = Vec::new();
    timeout(WAIT, async {
        while connected.len() < 2 {
            let e = events.recv().await.expect("events");
            assert_eq!(e.kind, BridgeEventKind::SfuConnected, "{e:?}");
            connected.push(e.leg);
        }
    })
    .await
    .expect("both bridges connect");
    let (phone_a, phone_b) = (phone_socket().await, phone_socket().await);
    a.set_remote(phone_a.local_addr().unwrap(), G711::Pcmu, 0, Some(EVENT_PT));
    b.set_remote(phone_b.local_addr().unwrap(), G711::Pcma, 8, Some(EVENT_PT));
    let send_a = phone_sender(phone_a.clone(), a.rtp_addr(), G711::Pcmu, 1000.0);
    let send_b = phone_sender(phone_b.clone(), b.rtp_addr(), G711::Pcma, 600.0);
    Call {
        sfu,
        sfu_events,
        events,
        a,
        b,
        phone_a,
        phone_b,
        send_a,
        _send_b: send_b,
    }
}

#[tokio::test]
async fn two_phones_hear_each_other_through_the_sfu() {
    two_phones(PcmRate::Wide48k).await;
}

#[tokio::test]
async fn two_phones_hear_each_other_with_8k_codecs() {
    two_phones(PcmRate::Narrow8k).await;
}

async fn two_phones(pcm_rate: PcmRate) {
    let mut c = call_with(BridgeOptions { pcm_rate }).await;
    // B's phone hears A's 1 kHz (PCMU in, PCMA out), A's phone B's 600 Hz.
    let (p, purity) = wait_for_tone(&c.phone_b, G711::Pcma, 1000.0).await;
    println!("{pcm_rate:?} A→B: 1 kHz at {p:.1} dB, {purity:.2} dB of the total");
    let (p, purity) = wait_for_tone(&c.phone_a, G711::Pcmu, 600.0).await;
    println!("{pcm_rate:?} B→A: 600 Hz at {p:.1} dB, {purity:.2} dB of the total");
    // A steady tone keeps flowing (SILK's VAD once took it for background noise after a
    // second): one second of it, two seconds in.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    drain(&c.phone_b);
    let h = hear(&c.phone_b, G711::Pcma, 50, &mut DtmfReceiver::default()).await;
    let p = db(power_at(&h.pcm, 1000.0, 8_000.0) / TONE_POWER);
    assert!(p > -2.0, "{pcm_rate:?}: 1 kHz at {p:.1} dB over 1 s");
    // Nobody hears itself.
    let h = hear(&c.phone_a, G711::Pcmu, 10, &mut DtmfReceiver::default()).await;
    assert!(db(power_at(&h.pcm, 1000.0, 8_000.0) / TONE_POWER) < -30.0);
    // The phones' levels reach the SFU's speaker ranking.
    timeout(WAIT, async {
        loop {
            if let Some(SfuEvent::DominantSpeakers { speakers, .. }) = c.sfu_events.recv().await {
                if speakers.contains(&SessionId(1)) && speakers.contains(&SessionId(2)) {
                    return;
                }
            }
        }
    })
    .await
    .expect("both phones rank as speakers");
    c.a.close();
    c.b.close();
    timeout(WAIT, c.a.closed()).await.unwrap();
    timeout(WAIT, c.b.closed()).await.unwrap();
    while let Ok(e) = c.events.try_recv() {
        assert!(!matches!(e.kind, BridgeEventKind::Failed(_)), "{e:?}");
    }
}

#[tokio::test]
async fn dtmf_both_ways() {
    let mut c = call().await;
    wait_for_tone(&c.phone_a, G711::Pcmu, 600.0).await;
    c.a.send_dtmf('1').unwrap();
    c.a.send_dtmf('#').unwrap();
    assert!(c.a.send_dtmf('x').is_err());
    let mut dtmf = DtmfReceiver::default();
    let mut digits = String::new();
    // 2 digits: 2 × (100 ms tone + 100 ms gap) = 20 packets; listen for 40.
    for _ in 0..4 {
        digits += &hear(&c.phone_a, G711::Pcmu, 10, &mut dtmf).await.digits;
    }
    assert_eq!(digits, "1#");
    // The phone presses 5: reported once.
    c.send_a.digits.send('5').unwrap();
    let e = wait_event(&mut c.events, 1, |k| matches!(k, BridgeEventKind::Dtmf(_))).await;
    assert_eq!(e, BridgeEventKind::Dtmf('5'));
    tokio::time::sleep(Duration::from_millis(300)).await;
    while let Ok(e) = c.events.try_recv() {
        assert!(!matches!(e.kind, BridgeEventKind::Dtmf(_)), "{e:?}");
    }
}

#[tokio::test]
async fn a_new_remote_address_gets_the_audio() {
    let c = call().await;
    wait_for_tone(&c.phone_b, G711::Pcma, 1000.0).await;
    let moved = phone_socket().await;
    // The 200 after a 183: another address, and another codec too.
    c.b.set_remote(moved.local_addr().unwrap(), G711::Pcmu, 0, None);
    wait_for_tone(&moved, G711::Pcmu, 1000.0).await;
    assert_eq!(
        c.b.send_dtmf('1'),
        Err("telephone-event was not negotiated".into())
    );
    // The old address hears nothing more (what was in flight aside).
    tokio::time::sleep(Duration::from_millis(60)).await;
    drain(&c.phone_b);
    let mut buf = [0u8; 1500];
    let late = timeout(Duration::from_millis(200), c.phone_b.recv(&mut buf)).await;
    assert!(late.is_err(), "the old address still gets RTP");
}

/// The SFU-side port, from the host candidate in the offer.
fn offer_port(offer: &str) -> u16 {
    offer
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.strip_prefix("a=candidate:")?.split_whitespace().collect();
            f.get(5)?.parse().ok()
        })
        .expect("a host candidate")
}

#[tokio::test]
async fn close_frees_both_sockets() {
    let (sfu, _sfu_events) = start_sfu().await;
    let (tx, mut events) = mpsc::unbounded_channel();
    let a = bridge(&sfu, 1, CallKey(1), &tx).await;
    assert_eq!(
        wait_event(&mut events, 1, |_| true).await,
        BridgeEventKind::SfuConnected
    );
    let rtp = a.rtp_addr();
    let sfu_side = SocketAddr::new(rtp.ip(), offer_port(&a.sfu_offer()));
    assert!(std::net::UdpSocket::bind(rtp).is_err());
    let clone = a.clone();
    a.close();
    a.close();
    timeout(WAIT, clone.closed()).await.expect("the task ends");
    std::net::UdpSocket::bind(rtp).expect("the RTP port is free again");
    std::net::UdpSocket::bind(sfu_side).expect("the SFU-side port is free again");
    assert!(clone.send_dtmf('1').is_err());
    clone.set_remote(rtp, G711::Pcmu, 0, None); // ignored, no panic
                                                // Dropping every handle ends a bridge too.
    let b = bridge(&sfu, 2, CallKey(1), &tx).await;
    let rtp = b.rtp_addr();
    drop(b);
    timeout(WAIT, async {
        while std::net::UdpSocket::bind(rtp).is_err() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("a dropped bridge frees its port");
}

#[tokio::test]
async fn bad_input_is_reported_not_fatal() {
    let c = call().await;
    let (tx, mut events) = mpsc::unbounded_channel();
    let cfg = BridgeConfig {
        rtp_ip: "127.0.0.1".parse().unwrap(),
        sfu_addr: c.sfu.local_addr(),
    };
    // A garbage answer.
    let g = PhoneBridge::start(9, cfg, tx).await.unwrap();
    g.set_sfu_answer("v=0\r\nthis is not SDP".into());
    let e = wait_event(&mut events, 9, |_| true).await;
    assert!(
        matches!(e, BridgeEventKind::Failed(ref m) if m.contains("SFU answer")),
        "{e:?}"
    );
    // A second answer has no offer to go with.
    g.set_sfu_answer(c.a.sfu_offer());
    let e = wait_event(&mut events, 9, |_| true).await;
    assert!(matches!(e, BridgeEventKind::Failed(_)), "{e:?}");
    // A payload type in the RTCP range.
    g.set_remote(c.phone_a.local_addr().unwrap(), G711::Pcmu, 72, None);
    let e = wait_event(&mut events, 9, |_| true).await;
    assert!(
        matches!(e, BridgeEventKind::Failed(ref m) if m.contains("72")),
        "{e:?}"
    );
    // Garbage datagrams into a live bridge's RTP port: the call goes on.
    let junk = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut rng = crate::pstn::media::test_util::Rng::new(3);
    for i in 0..300usize {
        let len = rng.below(300) as usize;
        let mut d: Vec<u8> = (0..len).map(|_| rng.next() as u8).collect();
        if i % 2 == 0 && len > 12 {
            d[0] = 0x80; // looks like RTP: version 2
        }
        junk.send_to(&d, c.a.rtp_addr()).await.unwrap();
    }
    wait_for_tone(&c.phone_b, G711::Pcma, 1000.0).await;
    g.close();
    timeout(WAIT, g.closed()).await.unwrap();
}

#[tokio::test]
async fn hold_silences_both_ways_and_resumes() {
    let c = call().await;
    wait_for_tone(&c.phone_b, G711::Pcma, 1000.0).await;
    c.a.set_hold(true);
    // A's phone gets silence (still RTP: its playout keeps running), B's phone no more of A.
    tokio::time::sleep(Duration::from_millis(200)).await;
    drain(&c.phone_a);
    drain(&c.phone_b);
    let mut dtmf = DtmfReceiver::default();
    let to_a = hear(&c.phone_a, G711::Pcmu, 10, &mut dtmf).await;
    assert!(
        to_a.pcm.iter().all(|s| s.abs() < 100),
        "A's phone hears the call on hold"
    );
    let to_b = hear(&c.phone_b, G711::Pcma, 10, &mut dtmf).await;
    assert!(db(power_at(&to_b.pcm, 1000.0, 8_000.0) / TONE_POWER) < -30.0);
    c.a.set_hold(false);
    wait_for_tone(&c.phone_b, G711::Pcma, 1000.0).await;
    wait_for_tone(&c.phone_a, G711::Pcmu, 600.0).await;
}
