//! A str0m-based test client: offers three audio m-lines (sendrecv, recvonly, recvonly),
//! runs its own I/O loop on a UDP socket in a thread, sends tagged "Opus" frames every
//! 20 ms on its first m-line and records what it receives per m-line.

use std::net::{SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use str0m::change::{SdpAnswer, SdpPendingOffer};
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Candidate, Event, Input, Output, Rtc};

/// One received frame.
#[derive(Debug, Clone)]
pub struct Received {
    pub mid_index: usize,
    pub tag: u8,
    pub seq: u32,
    pub at: Instant,
    pub audio_level: Option<i8>,
}

/// A prepared offer, before the answer is known.
pub struct Offer {
    rtc: Rtc,
    pending: SdpPendingOffer,
    socket: UdpSocket,
    mids: Vec<Mid>,
    pub sdp: String,
}

/// A running media client.
pub struct MediaClient {
    pub connected: Arc<AtomicBool>,
    pub sending: Arc<AtomicBool>,
    pub received: Arc<Mutex<Vec<Received>>>,
    /// When each sequence number was sent.
    pub sent: Arc<Mutex<Vec<Instant>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

fn build(socket: &UdpSocket) -> (Rtc, SdpPendingOffer, Vec<Mid>, String) {
    str0m::crypto::from_feature_flags().install_process_default();
    let mut rtc = Rtc::builder().build(Instant::now());
    let addr = socket.local_addr().unwrap();
    rtc.add_local_candidate(Candidate::host(addr, "udp").unwrap());
    let mut api = rtc.sdp_api();
    let mut mids = vec![api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None)];
    for _ in 1..3 {
        mids.push(api.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None));
    }
    let (offer, pending) = api.apply().unwrap();
    (rtc, pending, mids, offer.to_sdp_string())
}

/// An offer for tests that never connect media.
pub fn offer_only() -> String {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    build(&socket).3
}

impl Offer {
    pub fn new() -> Offer {
        let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
        let (rtc, pending, mids, sdp) = build(&socket);
        Offer {
            rtc,
            pending,
            socket,
            mids,
            sdp,
        }
    }

    /// Applies the SFU's answer and starts the I/O thread; frames carry `tag`.
    pub fn start(mut self, answer_sdp: &str, tag: u8) -> MediaClient {
        let answer = SdpAnswer::from_sdp_string(answer_sdp).unwrap();
        self.rtc
            .sdp_api()
            .accept_answer(self.pending, answer)
            .unwrap();
        let mut c = MediaClient {
            connected: Arc::new(AtomicBool::new(false)),
            sending: Arc::new(AtomicBool::new(true)),
            received: Arc::new(Mutex::new(Vec::new())),
            sent: Arc::new(Mutex::new(Vec::new())),
            stop: Arc::new(AtomicBool::new(false)),
            thread: None,
        };
        let (connected, sending, received, sent, stop) = (
            c.connected.clone(),
            c.sending.clone(),
            c.received.clone(),
            c.sent.clone(),
            c.stop.clone(),
        );
        let (mut rtc, socket, mids) = (self.rtc, self.socket, self.mids);
        let thread = std::thread::spawn(move || {
            let local: SocketAddr = socket.local_addr().unwrap();
            let mut buf = vec![0u8; 2000];
            let mut next_send = Instant::now();
            let mut seq: u32 = 0;
            while !stop.load(Ordering::Relaxed) && rtc.is_alive() {
                // Drain outputs.
                let timeout = loop {
                    match rtc.poll_output().unwrap() {
                        Output::Timeout(t) => break t,
                        Output::Transmit(t) => {
                            let _ = socket.send_to(&t.contents, t.destination);
                        }
                        Output::Event(Event::Connected) => connected.store(true, Ordering::SeqCst),
                        Output::Event(Event::MediaData(d)) => {
                            if let Some(i) = mids.iter().position(|m| *m == d.mid) {
                                if d.data.len() >= 5 {
                                    let s = u32::from_be_bytes([
                                        d.data[1], d.data[2], d.data[3], d.data[4],
                                    ]);
                                    received.lock().push(Received {
                                        mid_index: i,
                                        tag: d.data[0],
                                        seq: s,
                                        at: Instant::now(),
                                        audio_level: d.ext_vals.audio_level,
                                    });
                                }
                            }
                        }
                        Output::Event(_) => {}
                    }
                };
                let now = Instant::now();
                if connected.load(Ordering::Relaxed) && now >= next_send {
                    next_send += Duration::from_millis(20);
                    if sending.load(Ordering::Relaxed) {
                        if let Some(w) = rtc.writer(mids[0]) {
                            let pt = w
                                .payload_params()
                                .find(|p| p.spec().codec == str0m::format::Codec::Opus)
                                .map(|p| p.pt());
                            if let Some(pt) = pt {
                                let mut data = vec![tag];
                                data.extend_from_slice(&seq.to_be_bytes());
                                data.extend_from_slice(&[0u8; 40]);
                                let t =
                                    MediaTime::new(seq as u64 * 960, Frequency::FORTY_EIGHT_KHZ);
                                let _ = w.audio_level(-30, true).write(pt, now, t, data);
                                sent.lock().push(now);
                                seq += 1;
                            }
                        }
                        continue;
                    }
                }
                let mut wait = timeout
                    .saturating_duration_since(now)
                    .min(Duration::from_millis(5));
                if connected.load(Ordering::Relaxed) {
                    wait = wait.min(next_send.saturating_duration_since(now));
                }
                socket
                    .set_read_timeout(Some(wait.max(Duration::from_millis(1))))
                    .unwrap();
                match socket.recv_from(&mut buf) {
                    Ok((n, source)) => {
                        if let Ok(contents) = buf[..n].try_into() {
                            let _ = rtc.handle_input(Input::Receive(
                                Instant::now(),
                                Receive {
                                    proto: Protocol::Udp,
                                    source,
                                    destination: local,
                                    contents,
                                },
                            ));
                        }
                    }
                    Err(_) => {
                        let _ = rtc.handle_input(Input::Timeout(Instant::now()));
                    }
                }
            }
        });
        c.thread = Some(thread);
        c
    }
}

impl MediaClient {
    /// Waits until connected (or panics after `d`); returns how long it took.
    pub async fn wait_connected(&self, d: Duration) -> Duration {
        let t0 = Instant::now();
        while !self.connected.load(Ordering::SeqCst) {
            assert!(t0.elapsed() < d, "media did not connect");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        t0.elapsed()
    }

    /// Frames received from `tag` on m-line `mid_index`.
    pub fn count(&self, tag: u8, mid_index: usize) -> usize {
        self.received
            .lock()
            .iter()
            .filter(|r| r.tag == tag && r.mid_index == mid_index)
            .count()
    }

    pub fn clear(&self) {
        self.received.lock().clear();
    }
}

impl Drop for MediaClient {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
