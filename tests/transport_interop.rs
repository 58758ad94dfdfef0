//! The SDK's media transport (webrtc 0.21) against a str0m 0.25 ice-lite answerer, the kind
//! of peer the service's SFU is.
//!
//! The answerer reflects: everything str0m receives on mid "0" is written back into mid "1"
//! (slot 1) and mid "0" (slot 0). Run with `-- --nocapture` to see the connect times.

use acscalling::media::audio::EncodedAudioFrame;
use acscalling::media::transport::{
    MediaTransport, TransportConfig, TransportEvents, TransportState,
};
use acscalling::media::MediaError;
use std::io::ErrorKind;
use std::net::{IpAddr, Ipv4Addr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc as std_mpsc, Arc, Once};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};
use str0m::change::SdpOffer;
use str0m::media::Mid;
use str0m::net::{Protocol, Receive};
use str0m::rtp::Extension;
use str0m::{Candidate, Event, Input, Output, Rtc, RtcConfig};
use tokio::sync::mpsc;

const LOOPBACK: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);
const WAIT: Duration = Duration::from_secs(5);

// ---------- what the transport reports ----------

#[derive(Debug)]
enum Seen {
    State(TransportState),
    Audio {
        slot: usize,
        seq: u16,
        timestamp: u32,
        payload: Vec<u8>,
    },
}

struct Recorder(mpsc::UnboundedSender<Seen>);

impl TransportEvents for Recorder {
    fn on_state(&self, state: TransportState) {
        let _ = self.0.send(Seen::State(state));
    }
    fn on_audio(&self, slot: usize, seq: u16, timestamp: u32, payload: &[u8]) {
        let _ = self.0.send(Seen::Audio {
            slot,
            seq,
            timestamp,
            payload: payload.to_vec(),
        });
    }
}

fn recorder() -> (Arc<Recorder>, mpsc::UnboundedReceiver<Seen>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Arc::new(Recorder(tx)), rx)
}

async fn wait_state(rx: &mut mpsc::UnboundedReceiver<Seen>, want: TransportState) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(Seen::State(s))) if s == want => return,
            Ok(Some(Seen::State(TransportState::Failed))) => panic!("transport failed"),
            Ok(Some(_)) => continue,
            Ok(None) => panic!("event channel closed before {want:?}"),
            Err(_) => panic!("no {want:?} within {WAIT:?}"),
        }
    }
}

// ---------- the str0m answerer ----------

/// What str0m saw on mid "0" for one frame.
#[derive(Debug, Clone)]
struct Received {
    payload: Vec<u8>,
    audio_level: Option<i8>,
    voice_activity: Option<bool>,
}

struct Answerer {
    answer: String,
    received: std_mpsc::Receiver<Received>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Answerer {
    /// Accept `offer` with an ice-lite str0m peer on 127.0.0.1 and drive it on a thread.
    fn start(offer: &str) -> Self {
        static CRYPTO: Once = Once::new();
        CRYPTO.call_once(|| str0m::crypto::from_feature_flags().install_process_default());

        let socket = UdpSocket::bind((LOOPBACK, 0)).expect("bind answerer socket");
        let addr = socket.local_addr().expect("answerer address");
        let mut rtc = RtcConfig::new()
            .set_ice_lite(true)
            .clear_extension_map()
            .set_extension(1, Extension::AudioLevel)
            .set_extension(4, Extension::RtpMid)
            .build(Instant::now());
        rtc.add_local_candidate(Candidate::host(addr, "udp").expect("host candidate"))
            .expect("candidate accepted");
        let offer = SdpOffer::from_sdp_string(offer).expect("str0m parses the offer");
        let answer = rtc
            .sdp_api()
            .accept_offer(offer)
            .expect("str0m accepts the offer")
            .to_sdp_string();

        let (tx, received) = std_mpsc::channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = Arc::clone(&stop);
        let thread = std::thread::spawn(move || reflect(rtc, socket, tx, stop2));
        Self {
            answer,
            received,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Answerer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The str0m run loop (as in str0m's examples/http-post.rs), reflecting mid "0" into
/// mids "1" and "0".
fn reflect(
    mut rtc: Rtc,
    socket: UdpSocket,
    seen: std_mpsc::Sender<Received>,
    stop: Arc<AtomicBool>,
) {
    let local = socket.local_addr().expect("local address");
    let mut buf = vec![0u8; 2000];
    let mid0 = Mid::from("0");
    let mid1 = Mid::from("1");
    while !stop.load(Ordering::Acquire) && rtc.is_alive() {
        let timeout = match rtc.poll_output() {
            Ok(Output::Timeout(t)) => t,
            Ok(Output::Transmit(t)) => {
                let _ = socket.send_to(&t.contents, t.destination);
                continue;
            }
            Ok(Output::Event(Event::MediaData(data))) => {
                if data.mid == mid0 {
                    let _ = seen.send(Received {
                        payload: data.data.to_vec(),
                        audio_level: data.ext_vals.audio_level,
                        voice_activity: data.ext_vals.voice_activity,
                    });
                    for out in [mid1, mid0] {
                        let Some(writer) = rtc.writer(out) else {
                            continue;
                        };
                        let Some(pt) = writer.match_params(data.params) else {
                            continue;
                        };
                        let writer = match data.ext_vals.audio_level {
                            Some(level) => writer
                                .audio_level(level, data.ext_vals.voice_activity.unwrap_or(false)),
                            None => writer,
                        };
                        if let Err(e) =
                            writer.write(pt, data.network_time, data.time, data.data.clone())
                        {
                            eprintln!("str0m write to {out}: {e}");
                        }
                    }
                }
                continue;
            }
            Ok(Output::Event(_)) => continue,
            Err(e) => {
                eprintln!("str0m: {e}");
                return;
            }
        };
        let wait = timeout
            .saturating_duration_since(Instant::now())
            .clamp(Duration::from_millis(1), Duration::from_millis(50));
        socket.set_read_timeout(Some(wait)).expect("read timeout");
        buf.resize(2000, 0);
        let input = match socket.recv_from(&mut buf) {
            Ok((n, source)) => {
                buf.truncate(n);
                match buf.as_slice().try_into() {
                    Ok(contents) => Input::Receive(
                        Instant::now(),
                        Receive {
                            proto: Protocol::Udp,
                            source,
                            destination: local,
                            contents,
                        },
                    ),
                    Err(_) => continue,
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                Input::Timeout(Instant::now())
            }
            Err(e) => {
                eprintln!("answerer socket: {e}");
                return;
            }
        };
        if let Err(e) = rtc.handle_input(input) {
            eprintln!("str0m input: {e}");
            return;
        }
    }
}

// ---------- helpers ----------

fn cfg(slots: usize) -> TransportConfig {
    TransportConfig {
        local_ip: LOOPBACK,
        audio_slots: slots,
        video: false,
    }
}

fn frame(i: u8) -> EncodedAudioFrame {
    EncodedAudioFrame {
        // Not real Opus (the transport does not look inside): a TOC-like byte and a marker.
        payload: vec![0xF8, i, i.wrapping_mul(3), 0xA5],
        samples: 960,
        skipped_before: 0,
        audio_level: 10 + i,
        voice_activity: i % 2 == 0,
        capture_time: Instant::now(),
    }
}

/// A connected transport and its answerer.
async fn connected(
    slots: usize,
) -> (
    MediaTransport,
    mpsc::UnboundedReceiver<Seen>,
    Answerer,
    Duration,
) {
    let (t, rx, a, connect, _) = connected_timed(slots).await;
    (t, rx, a, connect)
}

/// Also returns the phases: (offer ready, answer applied), both since `new()`.
async fn connected_timed(
    slots: usize,
) -> (
    MediaTransport,
    mpsc::UnboundedReceiver<Seen>,
    Answerer,
    Duration,
    (Duration, Duration),
) {
    let start = Instant::now();
    let (events, mut rx) = recorder();
    let transport = MediaTransport::new(cfg(slots), events)
        .await
        .expect("transport builds");
    let offer = transport.create_offer().await.expect("offer");
    let offered = start.elapsed();
    let answerer = Answerer::start(&offer);
    transport
        .apply_answer(answerer.answer.clone())
        .await
        .expect("str0m's answer applies");
    let applied = start.elapsed();
    wait_state(&mut rx, TransportState::Connecting).await;
    wait_state(&mut rx, TransportState::Connected).await;
    let connect = transport.connect_time().expect("connect time known");
    (transport, rx, answerer, connect, (offered, applied))
}

// ---------- tests ----------

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn offer_has_ordered_audio_slots_and_extensions() {
    let (events, _rx) = recorder();
    let transport = MediaTransport::new(cfg(3), events)
        .await
        .expect("transport");
    let offer = transport.create_offer().await.expect("offer");
    if std::env::var_os("SHOW_SDP").is_some() {
        println!("--- offer ---\n{offer}");
    }
    let sections: Vec<&str> = offer.split("m=").skip(1).collect();
    assert_eq!(sections.len(), 3, "one m-line per slot:\n{offer}");
    for (i, s) in sections.iter().enumerate() {
        assert!(s.starts_with("audio "), "m-line {i} is audio");
        assert!(
            s.contains(&format!("a=mid:{i}\r\n")),
            "m-line {i} has mid {i}"
        );
        assert!(s.contains("opus/48000/2"), "Opus offered");
        assert!(s.contains("urn:ietf:params:rtp-hdrext:ssrc-audio-level"));
        assert!(s.contains("urn:ietf:params:rtp-hdrext:sdes:mid"));
        let dir = if i == 0 { "a=sendrecv" } else { "a=recvonly" };
        assert!(s.contains(dir), "m-line {i} is {dir}");
    }
    // BUNDLE: webrtc puts the candidates in the first m-section only.
    assert!(
        sections[0].contains("typ host"),
        "host candidate on m-line 0"
    );
    assert!(
        offer.contains("127.0.0.1"),
        "candidate on the configured ip"
    );
    assert!(!offer.contains(".local"), "no mDNS candidates");
    transport.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audio_reflected_by_str0m_arrives_in_slots_1_and_0() {
    let (transport, mut rx, answerer, connect) = connected(3).await;
    if std::env::var_os("SHOW_SDP").is_some() {
        println!("--- answer ---\n{}", answerer.answer);
    }
    println!("connected in {connect:?}");

    // The audio send thread: a plain std thread ticking every 20 ms.
    const N: u8 = 10;
    let sender = transport.audio_sender();
    let sent: Vec<EncodedAudioFrame> = (0..N).map(frame).collect();
    let to_send = sent.clone();
    let audio_thread = std::thread::spawn(move || {
        for f in to_send {
            sender.send(f);
            std::thread::sleep(Duration::from_millis(20));
        }
    });

    let mut slots: [Vec<(u16, u32, Vec<u8>)>; 3] = Default::default();
    let deadline = tokio::time::Instant::now() + WAIT;
    while slots[0].len() < N as usize || slots[1].len() < N as usize {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(Seen::Audio {
                slot,
                seq,
                timestamp,
                payload,
            })) => slots[slot].push((seq, timestamp, payload)),
            Ok(Some(Seen::State(s))) => panic!("unexpected state {s:?} while streaming"),
            Ok(None) | Err(_) => panic!(
                "timed out: slot0 {} slot1 {} slot2 {} packets, stats {:?}",
                slots[0].len(),
                slots[1].len(),
                slots[2].len(),
                transport.stats()
            ),
        }
    }
    audio_thread.join().expect("audio thread");

    for slot in [0usize, 1] {
        let got = &slots[slot];
        let payloads: Vec<&Vec<u8>> = got.iter().map(|(_, _, p)| p).collect();
        let want: Vec<&Vec<u8>> = sent.iter().map(|f| &f.payload).collect();
        assert_eq!(payloads, want, "slot {slot}: payloads in order");
        for w in got.windows(2) {
            assert_eq!(
                w[1].0,
                w[0].0.wrapping_add(1),
                "slot {slot}: consecutive seq"
            );
            assert_eq!(
                w[1].1.wrapping_sub(w[0].1),
                960,
                "slot {slot}: timestamp advances by 960"
            );
        }
    }
    assert!(slots[2].is_empty(), "nothing forwarded into slot 2");

    // What str0m saw on mid "0": our payloads and RFC 6464 levels (str0m reports -dBov).
    let seen: Vec<Received> = answerer.received.try_iter().collect();
    assert_eq!(seen.len(), N as usize, "str0m saw every frame");
    for (f, r) in sent.iter().zip(&seen) {
        assert_eq!(r.payload, f.payload);
        assert_eq!(r.audio_level, Some(-(f.audio_level as i8)), "audio level");
        assert_eq!(r.voice_activity, Some(f.voice_activity), "voice activity");
    }

    let stats = transport.stats();
    assert_eq!(stats.packets_sent, N as u64);
    assert_eq!(stats.packets_received, 2 * N as u64);

    transport.close().await;
    wait_state(&mut rx, TransportState::Closed).await;
    transport.close().await; // idempotent
    assert_eq!(transport.state(), Some(TransportState::Closed));
    // Sending after close is a silent drop.
    transport.audio_sender().send(frame(99));
    tokio::time::sleep(Duration::from_millis(50)).await;
    while let Ok(ev) = rx.try_recv() {
        assert!(
            !matches!(ev, Seen::State(_)),
            "no state after Closed, got {ev:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_answers_are_errors_not_panics() {
    let (events, mut rx) = recorder();
    let transport = MediaTransport::new(cfg(2), events)
        .await
        .expect("transport");

    // Before any offer.
    let early = transport
        .apply_answer("v=0\r\n".into())
        .await
        .expect_err("answer without offer");
    assert!(matches!(early, MediaError::Transport(_)), "{early}");

    let _offer = transport.create_offer().await.expect("offer");
    for garbage in [
        "",
        "garbage",
        "v=0\r\nthis is not sdp\r\n",
        "v=0\r\no=- 1 1 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\n",
    ] {
        let err = transport
            .apply_answer(garbage.into())
            .await
            .expect_err("garbage answer must fail");
        assert!(matches!(err, MediaError::Transport(_)), "{err}");
        println!("answer {garbage:?} -> {err}");
    }
    assert!(
        !matches!(rx.try_recv(), Ok(Seen::State(TransportState::Connecting))),
        "no Connecting after a rejected answer"
    );
    assert!(
        MediaTransport::new(cfg(0), recorder().0).await.is_err(),
        "zero slots rejected"
    );
    // Dropped without close(): must not panic or hang.
    drop(transport);
    tokio::time::sleep(Duration::from_millis(20)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connect_time_over_20_runs() {
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let mut times = Vec::new();
    let (mut offers, mut ices) = (Vec::new(), Vec::new());
    for _ in 0..20 {
        let (transport, _rx, answerer, connect, (offered, applied)) = connected_timed(3).await;
        times.push(connect);
        offers.push(offered);
        ices.push(connect.saturating_sub(applied));
        transport.close().await;
        drop(answerer);
    }
    times.sort();
    offers.sort();
    ices.sort();
    println!(
        "phases (median): new()+create_offer {:.1} ms, apply_answer -> Connected {:.1} ms",
        ms(offers[offers.len() / 2]),
        ms(ices[ices.len() / 2])
    );
    let median = times[times.len() / 2];
    let p95 = times[(times.len() * 95).div_ceil(100) - 1];
    println!(
        "new() -> Connected over {} runs: median {:.1} ms, p95 {:.1} ms, min {:.1} ms, max {:.1} ms",
        times.len(),
        ms(median),
        ms(p95),
        ms(times[0]),
        ms(times[times.len() - 1])
    );
}

#[test]
fn local_ip_for_picks_the_routing_interface() {
    let ip = acscalling::media::transport::local_ip_for("127.0.0.1:9".parse().expect("addr"))
        .expect("route to loopback");
    assert_eq!(ip, LOOPBACK);
}
