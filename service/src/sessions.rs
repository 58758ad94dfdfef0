//! Resumable signaling sessions.
//!
//! A session is one agent's registration in the hub ([`ConnId`]) seen across the WebSocket
//! connections that carry it. Server messages are numbered per session and the last
//! [`REPLAY_FRAMES`] are kept, so that an agent whose link dropped can reconnect, name its
//! session and the last message it received (`Hello.resume`), and be sent exactly what it
//! missed. While no connection carries the session its calls go on; when none has resumed
//! it within the reconnect window its participants are removed (408/10006).
//!
//! One [`Outlet`] per session holds the hub's message queue and the replay log; the writer
//! task of the connection that currently carries the session holds it (a tokio mutex), so a
//! resuming connection takes it over as soon as the superseded writer lets go.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::{mpsc, Notify};

use crate::calls::{ConnId, Outbound};

/// Server messages kept per session for replay.
pub const REPLAY_FRAMES: usize = 4096;

/// The hub's queue for one session plus the frames already written, for replay.
pub struct Outlet {
    pub rx: mpsc::UnboundedReceiver<Outbound>,
    next_seq: u64,
    frames: VecDeque<(u64, String)>,
}

impl Outlet {
    pub fn new(rx: mpsc::UnboundedReceiver<Outbound>) -> Self {
        Self {
            rx,
            next_seq: 1,
            frames: VecDeque::new(),
        }
    }

    /// Numbers the next message and keeps its frame; returns the number.
    pub fn record(&mut self, frame: impl FnOnce(u64) -> String) -> String {
        let seq = self.next_seq;
        self.next_seq += 1;
        let text = frame(seq);
        if self.frames.len() == REPLAY_FRAMES {
            self.frames.pop_front();
        }
        self.frames.push_back((seq, text.clone()));
        text
    }

    /// The frames after `last_seq`, or `None` when some of them are no longer kept.
    pub fn missed_since(&self, last_seq: u64) -> Option<Vec<String>> {
        if last_seq + 1 >= self.next_seq {
            return Some(Vec::new());
        }
        let first = self.frames.front().map_or(self.next_seq, |f| f.0);
        if last_seq + 1 < first {
            return None;
        }
        Some(
            self.frames
                .iter()
                .filter(|(s, _)| *s > last_seq)
                .map(|(_, t)| t.clone())
                .collect(),
        )
    }
}

/// One resumable session.
pub struct Session {
    pub conn: ConnId,
    pub user: String,
    /// The hub's sender of the session's messages.
    pub tx: mpsc::UnboundedSender<Outbound>,
    pub outlet: Arc<tokio::sync::Mutex<Outlet>>,
    live: Mutex<Live>,
}

struct Live {
    /// Which connection carries the session (0: none).
    generation: u64,
    /// Wakes the carrying connection so that it ends (superseded by a resume).
    kick: Arc<Notify>,
    /// Set when the session ended for good (closed, timed out, resumed nowhere).
    ended: bool,
}

impl Session {
    /// Which connection carries the session now.
    pub fn generation(&self) -> u64 {
        self.live.lock().generation
    }

    /// Makes connection `generation` the carrier; the previous one is kicked out. Returns
    /// the notify that kicks this one, or `None` when the session has ended.
    pub fn carry(&self, generation: u64) -> Option<Arc<Notify>> {
        let mut live = self.live.lock();
        if live.ended {
            return None;
        }
        live.kick.notify_one();
        live.generation = generation;
        live.kick = Arc::new(Notify::new());
        Some(Arc::clone(&live.kick))
    }

    /// The carrying connection `generation` dropped: no connection carries the session now.
    /// False when another connection already took it over.
    pub fn drop_carrier(&self, generation: u64) -> bool {
        let mut live = self.live.lock();
        if live.generation != generation {
            return false;
        }
        live.generation = 0;
        true
    }

    /// Ends the session when no connection carries it (or when `generation` still does);
    /// true when it ended now.
    pub fn end_if_carried_by(&self, generation: u64) -> bool {
        let mut live = self.live.lock();
        if live.ended || live.generation != generation {
            return false;
        }
        live.ended = true;
        true
    }
}

/// Sessions by their secret key.
#[derive(Default)]
pub struct Sessions {
    by_key: Mutex<HashMap<String, Arc<Session>>>,
    generations: std::sync::atomic::AtomicU64,
}

impl Sessions {
    /// A number for a new connection (never 0).
    pub fn next_generation(&self) -> u64 {
        self.generations
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed)
            + 1
    }

    /// A new session for `conn`, carried by connection `generation`.
    pub fn open(
        &self,
        conn: ConnId,
        user: &str,
        tx: mpsc::UnboundedSender<Outbound>,
        rx: mpsc::UnboundedReceiver<Outbound>,
        generation: u64,
    ) -> (String, Arc<Session>) {
        let key = uuid::Uuid::new_v4().simple().to_string();
        let session = Arc::new(Session {
            conn,
            user: user.to_string(),
            tx,
            outlet: Arc::new(tokio::sync::Mutex::new(Outlet::new(rx))),
            live: Mutex::new(Live {
                generation,
                kick: Arc::new(Notify::new()),
                ended: false,
            }),
        });
        self.by_key.lock().insert(key.clone(), Arc::clone(&session));
        (key, session)
    }

    /// The live session `key` of `user`.
    pub fn find(&self, key: &str, user: &str) -> Option<Arc<Session>> {
        self.by_key
            .lock()
            .get(key)
            .filter(|s| s.user == user && !s.live.lock().ended)
            .cloned()
    }

    pub fn remove(&self, key: &str) {
        if let Some(s) = self.by_key.lock().remove(key) {
            s.live.lock().ended = true;
        }
    }

    pub fn len(&self) -> usize {
        self.by_key.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replay_gives_exactly_the_missed_frames() {
        let (_tx, rx) = mpsc::unbounded_channel();
        let mut o = Outlet::new(rx);
        for _ in 0..5 {
            o.record(|s| format!("m{s}"));
        }
        assert_eq!(o.missed_since(5).unwrap(), Vec::<String>::new());
        assert_eq!(o.missed_since(3).unwrap(), vec!["m4", "m5"]);
        assert_eq!(o.missed_since(0).unwrap().len(), 5);
    }

    #[test]
    fn replay_fails_when_frames_were_dropped() {
        let (_tx, rx) = mpsc::unbounded_channel();
        let mut o = Outlet::new(rx);
        for _ in 0..REPLAY_FRAMES + 10 {
            o.record(|s| format!("m{s}"));
        }
        assert!(o.missed_since(5).is_none());
        assert!(o.missed_since(10).is_some());
        assert_eq!(o.missed_since(10).unwrap().len(), REPLAY_FRAMES);
    }

    #[test]
    fn a_resume_kicks_the_previous_carrier() {
        let (tx, rx) = mpsc::unbounded_channel();
        let s = Sessions::default();
        let (key, session) = s.open(ConnId(1), "u", tx, rx, 1);
        assert!(s.find(&key, "other").is_none());
        let first = session.carry(1).unwrap();
        let second = session.carry(2).unwrap();
        // The first carrier was kicked: its notified() completes at once.
        futures_util::FutureExt::now_or_never(first.notified()).expect("kicked");
        assert!(
            !session.drop_carrier(1),
            "superseded carrier does not detach"
        );
        assert!(session.drop_carrier(2));
        assert!(session.end_if_carried_by(0));
        assert!(
            session.carry(3).is_none(),
            "an ended session is not carried"
        );
        drop(second);
        s.remove(&key);
        assert!(s.is_empty());
    }
}
