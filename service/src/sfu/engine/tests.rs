//! The engine driven without a socket or a clock: str0m clients exchange datagrams with it
//! in memory, on synthetic time.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::change::SdpAnswer;
use str0m::media::{Direction, Frequency, MediaKind, MediaTime, Mid};
use str0m::net::{Protocol, Receive};
use str0m::rtp::Extension;
use str0m::{Candidate, Event, Input, Output, Rtc};
use tokio::sync::{mpsc, oneshot};

use super::super::slots::SlotSource;
use super::super::{CallKey, SessionId, SfuCommand, SfuEvent};
use super::Engine;
use crate::protocol::AUDIO_SLOTS;

const SFU: ([u8; 4], u16) = ([10, 0, 0, 1], 3478);

/// A participant: a str0m `Rtc` at its own address, offering the client's audio m-lines
/// (its send in slot 0, receive-only slots after it).
struct Client {
    addr: SocketAddr,
    rtc: Rtc,
    send_mid: Mid,
    received: usize,
}

impl Client {
    fn join(engine: &mut Engine, id: u64, port: u16, now: Instant) -> Self {
        Self::join_key(engine, id, port, CallKey(1), now)
    }

    /// Joins under `call` (a key of its own: a prepared session outside calls).
    fn join_key(engine: &mut Engine, id: u64, port: u16, call: CallKey, now: Instant) -> Self {
        let addr = SocketAddr::from(([10, 0, 0, 2], port));
        let mut rtc = Rtc::builder()
            .clear_codecs()
            .enable_opus(true, false)
            .clear_extension_map()
            .set_extension(1, Extension::AudioLevel)
            .set_extension(4, Extension::RtpMid)
            .build(now);
        rtc.add_local_candidate(Candidate::host(addr, "udp").expect("candidate"));
        let mut change = rtc.sdp_api();
        let send_mid = change.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
        for _ in 1..AUDIO_SLOTS {
            change.add_media(MediaKind::Audio, Direction::RecvOnly, None, None, None);
        }
        let (offer, pending) = change.apply().expect("an offer");
        let (reply, mut answer) = oneshot::channel();
        engine.handle_command(
            SfuCommand::AddSession {
                id: SessionId(id),
                call,
                offer_sdp: offer.to_sdp_string(),
                echo: false,
                reply,
            },
            now,
        );
        let answer = answer.try_recv().expect("answered").expect("accepted");
        let answer = SdpAnswer::from_sdp_string(&answer).expect("answer SDP");
        rtc.sdp_api()
            .accept_answer(pending, answer)
            .expect("answer accepted");
        Self {
            addr,
            rtc,
            send_mid,
            received: 0,
        }
    }

    /// Runs the client up to `now`: its datagrams go into the engine.
    fn step(&mut self, engine: &mut Engine, now: Instant) {
        let _ = self.rtc.handle_input(Input::Timeout(now));
        loop {
            match self.rtc.poll_output().expect("client output") {
                Output::Timeout(_) => break,
                Output::Transmit(t) => engine.handle_datagram(&t.contents, self.addr, now),
                Output::Event(Event::MediaData(_)) => self.received += 1,
                Output::Event(_) => {}
            }
        }
    }

    fn deliver(&mut self, data: &[u8], now: Instant) {
        let Ok(contents) = data.try_into() else {
            return;
        };
        let _ = self.rtc.handle_input(Input::Receive(
            now,
            Receive {
                proto: Protocol::Udp,
                source: SocketAddr::from(SFU),
                destination: self.addr,
                contents,
            },
        ));
    }

    /// Sends one 20 ms Opus frame with an audio level.
    fn speak(&mut self, now: Instant, n: u64) {
        let Some(w) = self.rtc.writer(self.send_mid) else {
            return;
        };
        let Some(pt) = w.payload_params().next().map(|p| p.pt()) else {
            return;
        };
        let w = w.audio_level(-20, true);
        let _ = w.write(
            pt,
            now,
            MediaTime::new(n * 960, Frequency::FORTY_EIGHT_KHZ),
            vec![0xF8, 0xFF, 0xFE],
        );
    }
}

/// One pass: clients run, the engine runs, its transmits reach the clients.
fn pass(engine: &mut Engine, clients: &mut [Client], now: Instant) {
    for c in clients.iter_mut() {
        c.step(engine, now);
    }
    engine.handle_timeout(now);
    let out = engine.transmits();
    for (data, to) in out.packets() {
        if let Some(c) = clients.iter_mut().find(|c| c.addr == *to) {
            c.deliver(data, now);
        }
    }
    out.clear();
}

fn engine(now: Instant) -> (Engine, mpsc::UnboundedReceiver<SfuEvent>) {
    str0m::crypto::from_feature_flags().install_process_default();
    let (events, rx) = mpsc::unbounded_channel();
    let engine = Engine::new(
        SocketAddr::from(SFU),
        events,
        Duration::from_millis(500),
        3,
        100,
        now,
    );
    (engine, rx)
}

#[test]
fn two_sessions_connect_get_each_other_in_a_slot_and_hear_each_other() {
    let mut now = Instant::now();
    let (mut engine, mut events) = engine(now);
    let mut clients = vec![
        Client::join(&mut engine, 1, 5001, now),
        Client::join(&mut engine, 2, 5002, now),
    ];
    let mut connected = Vec::new();
    let mut slots = std::collections::HashMap::new();
    for _ in 0..400 {
        pass(&mut engine, &mut clients, now);
        while let Ok(ev) = events.try_recv() {
            match ev {
                SfuEvent::MediaConnected(id) => connected.push(id),
                SfuEvent::SlotsChanged { id, slots: s, .. } => {
                    slots.insert(id, s);
                }
                _ => {}
            }
        }
        if connected.len() == 2 {
            break;
        }
        now += Duration::from_millis(10);
    }
    connected.sort();
    assert_eq!(connected, [SessionId(1), SessionId(2)], "both connect");
    let hears = |me: u64, other: u64| {
        slots
            .get(&SessionId(me))
            .is_some_and(|s| s.contains(&Some(SlotSource::Session(SessionId(other)))))
    };
    assert!(hears(1, 2) && hears(2, 1), "slots: {slots:?}");

    // Audio of one is forwarded to the other along the route, and not back to itself.
    for n in 0..10 {
        now += Duration::from_millis(20);
        clients[0].speak(now, n);
        pass(&mut engine, &mut clients, now);
    }
    for _ in 0..5 {
        now += Duration::from_millis(20);
        pass(&mut engine, &mut clients, now);
    }
    assert!(clients[1].received > 0, "the listener receives audio");
    assert_eq!(clients[0].received, 0, "the speaker hears nothing");
}

/// Connects the clients, feeding events to `seen` until `done` says so (or 4 s pass).
fn run_until(
    engine: &mut Engine,
    clients: &mut [Client],
    events: &mut mpsc::UnboundedReceiver<SfuEvent>,
    now: &mut Instant,
    mut done: impl FnMut(&SfuEvent) -> bool,
) -> bool {
    for _ in 0..400 {
        pass(engine, clients, *now);
        while let Ok(ev) = events.try_recv() {
            if done(&ev) {
                return true;
            }
        }
        *now += Duration::from_millis(10);
    }
    false
}

#[test]
fn prepared_sessions_connect_alone_and_hear_each_other_once_attached_to_one_call() {
    let mut now = Instant::now();
    let (mut engine, mut events) = engine(now);
    // Two sessions prepared ahead, each alone under a key of its own.
    let mut clients = vec![
        Client::join_key(&mut engine, 1, 5001, CallKey(100), now),
        Client::join_key(&mut engine, 2, 5002, CallKey(200), now),
    ];
    let mut connected = Vec::new();
    assert!(run_until(
        &mut engine,
        &mut clients,
        &mut events,
        &mut now,
        |ev| {
            if let SfuEvent::MediaConnected(id) = ev {
                connected.push(*id);
            }
            connected.len() == 2
        }
    ));
    for n in 0..5 {
        now += Duration::from_millis(20);
        clients[0].speak(now, n);
        pass(&mut engine, &mut clients, now);
    }
    assert_eq!(clients[1].received, 0, "apart, nobody hears anybody");

    // Both move into call 1: connected already, so the reply says so, and the slots follow.
    for id in [1, 2] {
        let (reply, mut rx) = oneshot::channel();
        engine.handle_command(
            SfuCommand::AttachSession {
                id: SessionId(id),
                call: CallKey(1),
                echo: false,
                reply,
            },
            now,
        );
        assert!(
            matches!(rx.try_recv(), Ok(Ok(true))),
            "session {id} attached, connected"
        );
    }
    let mut slots = std::collections::HashMap::new();
    let hears = |slots: &std::collections::HashMap<SessionId, super::super::Slots>, me, other| {
        slots
            .get(&SessionId(me))
            .is_some_and(|s| s.contains(&Some(SlotSource::Session(SessionId(other)))))
    };
    assert!(run_until(
        &mut engine,
        &mut clients,
        &mut events,
        &mut now,
        |ev| {
            if let SfuEvent::SlotsChanged { id, slots: s, .. } = ev {
                slots.insert(*id, *s);
            }
            hears(&slots, 1, 2) && hears(&slots, 2, 1)
        }
    ));
    for n in 5..15 {
        now += Duration::from_millis(20);
        clients[0].speak(now, n);
        pass(&mut engine, &mut clients, now);
    }
    for _ in 0..5 {
        now += Duration::from_millis(20);
        pass(&mut engine, &mut clients, now);
    }
    assert!(
        clients[1].received > 0,
        "together, the listener receives audio"
    );

    // An unknown session cannot be attached.
    let (reply, mut rx) = oneshot::channel();
    engine.handle_command(
        SfuCommand::AttachSession {
            id: SessionId(9),
            call: CallKey(1),
            echo: false,
            reply,
        },
        now,
    );
    assert!(matches!(rx.try_recv(), Ok(Err(_))));
}
