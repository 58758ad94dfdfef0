//! Media threads: each drives many [`Session`]s (one UDP socket each) with one mio poll,
//! feeding str0m datagrams and timeouts and writing a 20 ms frame per sending session.
//!
//! The loop scans every session only when the earliest deadline it knows of has passed
//! (str0m timeouts and send ticks); datagrams touch only their own session.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::UdpSocket;
use mio::{Events, Interest, Poll, Token, Waker};
use str0m::net::{Protocol, Receive};
use str0m::{Event, IceConnectionState, Input, Output, Rtc};
use tokio::sync::{mpsc, oneshot};

use crate::audio::Frames;
use crate::protocol::AUDIO_SLOTS;
use crate::session::{Counters, Session, Setup, SlotTag};

const WAKER: Token = Token(usize::MAX);
const FRAME: Duration = Duration::from_millis(20);
/// A sender more than this late skips ahead instead of bursting.
const MAX_LAG: Duration = Duration::from_millis(100);
/// Longest poll when nothing is due.
const IDLE: Duration = Duration::from_millis(50);
/// Send-lag histogram upper bounds in ms (last bucket: above).
pub const LAG_BUCKETS_MS: [u64; 6] = [1, 2, 5, 10, 20, 50];

/// A session to start driving.
pub struct NewSession {
    pub setup: Setup,
    pub rtc: Rtc,
    pub socket: std::net::UdpSocket,
}

/// Requests to a media thread.
pub enum MediaCmd {
    Add(Box<NewSession>),
    Slots {
        idx: usize,
        slots: [SlotTag; AUDIO_SLOTS],
    },
    Remove {
        idx: usize,
    },
    Snapshot {
        reply: oneshot::Sender<ThreadSnapshot>,
    },
    Stop,
}

/// What media threads and participants tell the run.
#[derive(Debug)]
pub enum MediaEvent {
    /// The join's Response (with the SFU's answer) arrived `after` the request.
    Answered {
        after: Duration,
    },
    /// Media connected `join` after the join request was sent.
    Connected {
        idx: usize,
        join: Duration,
    },
    Disconnected {
        idx: usize,
    },
    /// The participant gave up.
    Failed {
        idx: usize,
        reason: String,
    },
}

/// A clonable way to send commands to a media thread.
#[derive(Clone)]
pub struct MediaLink {
    commands: std_mpsc::Sender<MediaCmd>,
    waker: Arc<Waker>,
}

impl MediaLink {
    /// Sends a command and wakes the thread.
    pub fn send(&self, cmd: MediaCmd) {
        if self.commands.send(cmd).is_ok() {
            let _ = self.waker.wake();
        }
    }
}

/// Counters of every session on one thread plus the thread's own timing.
#[derive(Debug, Clone, Default)]
pub struct ThreadSnapshot {
    pub sessions: Vec<(usize, Counters)>,
    /// Send ticks by lateness (see [`LAG_BUCKETS_MS`]), cumulative.
    pub lag_hist: [u64; LAG_BUCKETS_MS.len() + 1],
    /// Worst lateness since the previous snapshot.
    pub lag_max: Duration,
    /// Ticks skipped because the thread fell behind by more than 100 ms.
    pub skipped: u64,
    /// Local ports of this thread's sockets.
    pub ports: Vec<u16>,
    /// Longest time poll slept beyond what was asked, since the previous snapshot.
    pub oversleep_max: Duration,
    /// Longest loop iteration (receive + commands + scan), since the previous snapshot.
    pub busy_max: Duration,
}

/// A running media thread.
pub struct MediaThread {
    link: MediaLink,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl MediaThread {
    /// Spawns thread `n`.
    pub fn spawn(
        n: usize,
        frames: Arc<Frames>,
        events: mpsc::UnboundedSender<MediaEvent>,
    ) -> std::io::Result<MediaThread> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        let (tx, rx) = std_mpsc::channel();
        let handle = std::thread::Builder::new()
            .name(format!("media-{n}"))
            .spawn(move || {
                let mut d = Driver {
                    poll,
                    commands: rx,
                    events,
                    frames,
                    slots: Vec::new(),
                    free: Vec::new(),
                    by_idx: std::collections::HashMap::new(),
                    next_scan: Instant::now(),
                    snap: ThreadSnapshot::default(),
                    buf: vec![0u8; 2048],
                };
                d.run();
            })?;
        Ok(MediaThread {
            link: MediaLink {
                commands: tx,
                waker,
            },
            handle: Some(handle),
        })
    }

    /// A handle to send commands.
    pub fn link(&self) -> MediaLink {
        self.link.clone()
    }

    /// Sends a command and wakes the thread.
    pub fn send(&self, cmd: MediaCmd) {
        self.link.send(cmd);
    }

    /// Stops the thread and waits for it.
    pub fn stop(mut self) {
        self.send(MediaCmd::Stop);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

struct Entry {
    session: Session,
    socket: UdpSocket,
}

struct Driver {
    poll: Poll,
    commands: std_mpsc::Receiver<MediaCmd>,
    events: mpsc::UnboundedSender<MediaEvent>,
    frames: Arc<Frames>,
    slots: Vec<Option<Entry>>,
    free: Vec<usize>,
    by_idx: std::collections::HashMap<usize, usize>,
    next_scan: Instant,
    snap: ThreadSnapshot,
    buf: Vec<u8>,
}

impl Driver {
    fn run(&mut self) {
        let mut events = Events::with_capacity(1024);
        loop {
            let now = Instant::now();
            let wait = self.next_scan.saturating_duration_since(now).min(IDLE);
            if let Err(e) = self.poll.poll(&mut events, Some(wait)) {
                if e.kind() != ErrorKind::Interrupted {
                    eprintln!("media thread: poll: {e}");
                    return;
                }
            }
            let woke = Instant::now();
            let over = woke.saturating_duration_since(now + wait);
            self.snap.oversleep_max = self.snap.oversleep_max.max(over);
            for ev in events.iter() {
                if ev.token() == WAKER {
                    continue;
                }
                self.on_readable(ev.token().0);
            }
            if !self.drain_commands() {
                return;
            }
            if Instant::now() >= self.next_scan {
                self.scan(Instant::now());
            }
            self.snap.busy_max = self.snap.busy_max.max(woke.elapsed());
        }
    }

    /// Handles queued commands; false on Stop.
    fn drain_commands(&mut self) -> bool {
        while let Ok(cmd) = self.commands.try_recv() {
            match cmd {
                MediaCmd::Add(n) => self.add(*n),
                MediaCmd::Slots { idx, slots } => {
                    if let Some(e) = self.entry_by_idx(idx) {
                        e.session.set_slots(slots);
                    }
                }
                MediaCmd::Remove { idx } => {
                    if let Some(slot) = self.by_idx.remove(&idx) {
                        if let Some(mut e) = self.slots[slot].take() {
                            e.session.rtc.disconnect();
                            let _ = self.poll.registry().deregister(&mut e.socket);
                            self.free.push(slot);
                        }
                    }
                }
                MediaCmd::Snapshot { reply } => {
                    let mut s = self.snap.clone();
                    s.sessions = self
                        .slots
                        .iter()
                        .flatten()
                        .map(|e| (e.session.idx, e.session.counters.clone()))
                        .collect();
                    s.ports = self
                        .slots
                        .iter()
                        .flatten()
                        .map(|e| e.session.local.port())
                        .collect();
                    self.snap.lag_max = Duration::ZERO;
                    self.snap.oversleep_max = Duration::ZERO;
                    self.snap.busy_max = Duration::ZERO;
                    let _ = reply.send(s);
                }
                MediaCmd::Stop => return false,
            }
        }
        true
    }

    fn entry_by_idx(&mut self, idx: usize) -> Option<&mut Entry> {
        let slot = *self.by_idx.get(&idx)?;
        self.slots.get_mut(slot)?.as_mut()
    }

    fn add(&mut self, n: NewSession) {
        let now = Instant::now();
        let Ok(local) = n.socket.local_addr() else {
            return;
        };
        if n.socket.set_nonblocking(true).is_err() {
            return;
        }
        let mut socket = UdpSocket::from_std(n.socket);
        let slot = self.free.pop().unwrap_or(self.slots.len());
        if self
            .poll
            .registry()
            .register(&mut socket, Token(slot), Interest::READABLE)
            .is_err()
        {
            return;
        }
        let idx = n.setup.idx;
        let session = Session::new(n.setup, n.rtc, local, now);
        let entry = Entry { session, socket };
        if slot == self.slots.len() {
            self.slots.push(Some(entry));
        } else {
            self.slots[slot] = Some(entry);
        }
        self.by_idx.insert(idx, slot);
        // Start ICE now.
        self.timeout(slot, now);
    }

    fn on_readable(&mut self, slot: usize) {
        loop {
            let Some(Some(e)) = self.slots.get_mut(slot) else {
                return;
            };
            let (n, source) = match e.socket.recv_from(&mut self.buf) {
                Ok(x) => x,
                Err(err) if err.kind() == ErrorKind::WouldBlock => return,
                Err(err) if err.kind() == ErrorKind::Interrupted => continue,
                // ICMP errors (port unreachable) surface here: ignore, keep draining.
                Err(_) => continue,
            };
            let now = Instant::now();
            let Ok(contents) = self.buf[..n].try_into() else {
                continue;
            };
            let input = Input::Receive(
                now,
                Receive {
                    proto: Protocol::Udp,
                    source,
                    destination: e.session.local,
                    contents,
                },
            );
            if e.session.rtc.handle_input(input).is_err() {
                continue;
            }
            self.poll_session(slot);
        }
    }

    fn timeout(&mut self, slot: usize, now: Instant) {
        if let Some(Some(e)) = self.slots.get_mut(slot) {
            let _ = e.session.rtc.handle_input(Input::Timeout(now));
        }
        self.poll_session(slot);
    }

    /// Timeouts and send ticks for every session that is due; recomputes the next scan.
    fn scan(&mut self, now: Instant) {
        let mut next = now + IDLE;
        for slot in 0..self.slots.len() {
            let (due_timeout, due_send) = match &self.slots[slot] {
                Some(e) if !e.session.dead => (
                    e.session.timeout <= now,
                    e.session.connected && e.session.sends() && e.session.next_send <= now,
                ),
                _ => continue,
            };
            if due_send {
                self.tick(slot, now);
            }
            if due_timeout || due_send {
                self.timeout(slot, now);
            }
            if let Some(Some(e)) = self.slots.get(slot) {
                next = next.min(e.session.timeout);
                if e.session.connected && e.session.sends() {
                    next = next.min(e.session.next_send);
                }
            }
        }
        self.next_scan = next;
    }

    fn tick(&mut self, slot: usize, now: Instant) {
        let Some(Some(e)) = self.slots.get_mut(slot) else {
            return;
        };
        let s = &mut e.session;
        let lag = now.saturating_duration_since(s.next_send);
        let ms = lag.as_millis() as u64;
        let b = LAG_BUCKETS_MS
            .iter()
            .position(|ub| ms < *ub)
            .unwrap_or(LAG_BUCKETS_MS.len());
        self.snap.lag_hist[b] += 1;
        self.snap.lag_max = self.snap.lag_max.max(lag);
        s.send_frame(&self.frames, now);
        s.next_send += FRAME;
        if now.saturating_duration_since(s.next_send) > MAX_LAG {
            self.snap.skipped += 1;
            s.next_send = now + FRAME;
        }
    }

    fn poll_session(&mut self, slot: usize) {
        let Some(Some(e)) = self.slots.get_mut(slot) else {
            return;
        };
        loop {
            match e.session.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    e.session.timeout = t;
                    let mut due = t;
                    if e.session.connected && e.session.sends() {
                        due = due.min(e.session.next_send);
                    }
                    self.next_scan = self.next_scan.min(due);
                    return;
                }
                Ok(Output::Transmit(t)) => {
                    if let Err(err) = e.socket.send_to(&t.contents, t.destination) {
                        if err.kind() == ErrorKind::WouldBlock {
                            e.session.counters.send_drops += 1;
                        }
                    }
                }
                Ok(Output::Event(ev)) => on_event(&mut e.session, ev, &self.events),
                Err(err) => {
                    eprintln!("participant {}: rtc error: {err}", e.session.idx);
                    e.session.dead = true;
                    e.session.timeout = Instant::now() + Duration::from_secs(3600);
                    let _ = self
                        .events
                        .send(MediaEvent::Disconnected { idx: e.session.idx });
                    return;
                }
            }
        }
    }
}

fn on_event(s: &mut Session, ev: Event, events: &mpsc::UnboundedSender<MediaEvent>) {
    match ev {
        Event::Connected => {
            let now = Instant::now();
            s.on_connected(now);
            let _ = events.send(MediaEvent::Connected {
                idx: s.idx,
                join: now.saturating_duration_since(s.join_sent),
            });
        }
        Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
            let _ = events.send(MediaEvent::Disconnected { idx: s.idx });
        }
        Event::MediaData(d) => s.on_media(&d),
        _ => {}
    }
}

/// Binds one UDP socket for a session.
pub fn bind_socket(ip: std::net::IpAddr) -> std::io::Result<(std::net::UdpSocket, SocketAddr)> {
    let s = std::net::UdpSocket::bind(SocketAddr::new(ip, 0))?;
    let a = s.local_addr()?;
    Ok((s, a))
}
