//! The SFU engine: every session's `Rtc`, routing, slots and mixing, with no socket and no
//! clock: datagrams and commands in (with `now`), datagrams to send out (`transmits`). The
//! driver (`driver.rs`) owns the socket and the clock.
//!
//! Incoming datagrams are demultiplexed by source address (learnt from the first STUN
//! request a session `accepts()`); audio from a session's first m-line is forwarded along
//! precomputed routes, so per-packet work is a few map look-ups and an `Arc` clone.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use str0m::config::DtlsCert;
use str0m::media::{KeyframeRequestKind, Mid};
use str0m::net::{Protocol, Receive};
use str0m::{Input, Output};
use tokio::sync::mpsc;

use super::outbox::Outbox;
use super::session::{Route, Session};
use super::slots::{self, CallView, MemberView, SlotSource};
use super::speakers::SpeakerDetector;
use super::video::{video_mids_of, VideoMids, VideoRouter};
use super::{CallKey, SessionId, SfuCommand, SfuEvent};
use crate::echo_bot::EchoQueue;
use crate::protocol::VideoStreamKind;

mod forward;
mod mixing;
#[cfg(test)]
mod tests;

/// Longest sleep when nothing is scheduled.
const IDLE: Duration = Duration::from_millis(100);
/// Due timeouts fed to one session in one poll before it goes back to the timer heap.
const MAX_IMMEDIATE_TIMEOUTS: u32 = 16;
/// How often speakers are re-ranked (dominant speakers, top-N forwarding).
const SPEAKER_TICK: Duration = Duration::from_millis(200);
/// Shortest time between two keyframe requests the SFU makes for a damaged frame.
const KEYFRAME_INTERVAL: Duration = Duration::from_millis(300);
/// Most speakers reported in a dominant-speakers list.
const DOMINANT_MAX: usize = 8;

/// Speaker state of one call.
#[derive(Default)]
struct CallSpeakers {
    detector: SpeakerDetector<SessionId>,
    /// Last dominant-speakers list reported.
    reported: Vec<SessionId>,
    /// The ranking the slots were last computed with.
    forwarded: Vec<SessionId>,
}

/// State of the SFU: sessions, calls, routes, speakers, mixers (no socket, no clock).
pub struct Engine {
    local_addr: SocketAddr,
    /// The time of the input being handled (the engine reads no clock).
    now: Instant,
    events: mpsc::UnboundedSender<SfuEvent>,
    echo_delay: Duration,
    sessions: HashMap<SessionId, Session>,
    /// Sessions per call in join order.
    calls: HashMap<CallKey, Vec<SessionId>>,
    by_addr: HashMap<SocketAddr, SessionId>,
    dirty: Vec<SessionId>,
    /// How many receive slots are forwarded into (top-N speakers in large calls).
    forwarded: usize,
    speakers: HashMap<CallKey, CallSpeakers>,
    next_tick: Instant,
    /// One DTLS certificate for every session (as SFUs do): generating one per join costs
    /// milliseconds on the join's critical path.
    dtls_cert: Option<DtlsCert>,
    /// Session timeouts, earliest first. An entry is stale when the session's timeout moved
    /// since (a newer entry exists then); stale entries are skipped when they come due.
    timers: BinaryHeap<Reverse<(Instant, SessionId)>>,
    /// Sessions with an echo queue (the echo bot's calls).
    echoing: Vec<SessionId>,
    /// Datagrams produced by this pass, sent together at its end.
    outbox: Outbox,
    /// Video subscriptions and routes.
    video: VideoRouter,
    /// When the SFU last asked a publisher for a keyframe of its own accord.
    keyframe_asked: HashMap<(SessionId, VideoStreamKind), Instant>,
    /// Fault injection: drop this fraction of datagrams from known addresses (0 = off),
    /// decided by a xorshift generator.
    loss: f64,
    loss_rng: u64,
    /// Calls with more members than this are mixed (see `mixing.rs`).
    mix_above: usize,
    /// The mixers of the mixed calls.
    mixers: HashMap<CallKey, mixing::CallMix>,
    /// Per-stream statistics for `/metrics`.
    quality: super::quality::QualityBoard,
}

impl Engine {
    /// An engine whose sessions are reached at `local_addr` (their host candidate).
    pub fn new(
        local_addr: SocketAddr,
        events: mpsc::UnboundedSender<SfuEvent>,
        echo_delay: Duration,
        forwarded: usize,
        mix_above: usize,
        now: Instant,
    ) -> Self {
        Self {
            local_addr,
            now,
            events,
            echo_delay,
            sessions: HashMap::new(),
            calls: HashMap::new(),
            by_addr: HashMap::new(),
            dirty: Vec::new(),
            forwarded,
            speakers: HashMap::new(),
            next_tick: now + SPEAKER_TICK,
            dtls_cert: str0m::crypto::from_feature_flags()
                .dtls_provider
                .generate_certificate(),
            timers: BinaryHeap::new(),
            echoing: Vec::new(),
            outbox: Outbox::default(),
            video: VideoRouter::default(),
            keyframe_asked: HashMap::new(),
            loss: 0.0,
            loss_rng: 0x9E37_79B9_7F4A_7C15,
            mix_above,
            mixers: HashMap::new(),
            quality: Default::default(),
        }
    }

    /// Reports per-stream statistics into `board` (shared with `/metrics`).
    pub fn with_quality(mut self, board: super::quality::QualityBoard) -> Self {
        self.quality = board;
        self
    }

    /// A datagram arrived from `source` at `now`.
    pub fn handle_datagram(&mut self, data: &[u8], source: SocketAddr, now: Instant) {
        self.now = now;
        self.on_datagram(data, source);
    }

    /// A command from signaling arrived at `now`.
    pub fn handle_command(&mut self, cmd: SfuCommand, now: Instant) {
        self.now = now;
        self.on_command(cmd);
    }

    /// Time passed: feeds due timeouts, plays due echo and mixed frames, and polls every
    /// session that has work, queueing what it transmits (see [`Engine::transmits`]).
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        self.on_time(now);
        self.drain();
    }

    /// The datagrams produced since the last time the driver sent them: it sends them and
    /// clears the queue.
    pub fn transmits(&mut self) -> &mut Outbox {
        &mut self.outbox
    }

    /// When [`Engine::handle_timeout`] must be called next at the latest.
    pub fn next_deadline(&self, now: Instant) -> Instant {
        let mut t = (now + IDLE).min(self.next_tick);
        if let Some(Reverse((due, _))) = self.timers.peek() {
            t = t.min(*due);
        }
        if let Some(due) = self.next_mix_due() {
            t = t.min(due);
        }
        for id in &self.echoing {
            if let Some(due) = self
                .sessions
                .get(id)
                .and_then(|s| s.echo.as_ref())
                .and_then(EchoQueue::next_due)
            {
                t = t.min(due);
            }
        }
        t
    }

    fn mark(&mut self, id: SessionId) {
        if let Some(s) = self.sessions.get_mut(&id) {
            if !s.dirty {
                s.dirty = true;
                self.dirty.push(id);
            }
        }
    }

    fn on_datagram(&mut self, data: &[u8], source: SocketAddr) {
        let Ok(contents) = data.try_into() else {
            return;
        };
        let input = Input::Receive(
            self.now,
            Receive {
                proto: Protocol::Udp,
                source,
                destination: self.local_addr,
                contents,
            },
        );
        let known = self.by_addr.get(&source).copied();
        // Simulated loss hits media only (RTP/RTCP, first byte 128..=191 per RFC 7983), not
        // ICE or DTLS: a lossy network still connects, as real ones do with retries.
        let media = data.first().is_some_and(|b| (128..=191).contains(b));
        if known.is_some() && media && self.loss > 0.0 && self.simulated_drop() {
            return;
        }
        let id = match known {
            Some(id) => id,
            None => {
                let Some((id, _)) = self.sessions.iter().find(|(_, s)| s.rtc.accepts(&input))
                else {
                    return;
                };
                self.by_addr.insert(source, *id);
                *id
            }
        };
        if let Some(s) = self.sessions.get_mut(&id) {
            if let Err(e) = s.rtc.handle_input(input) {
                log::debug!("session {}: input error {e}", id.0);
            }
        }
        // The sender at once (its media forwards now); its receivers after the batch.
        self.poll_session(id);
    }

    fn on_command(&mut self, cmd: SfuCommand) {
        match cmd {
            SfuCommand::AddSession {
                id,
                call,
                offer_sdp,
                echo,
                reply,
            } => {
                let echo = echo.then(|| EchoQueue::new(self.echo_delay));
                let result = Session::accept(
                    call,
                    &offer_sdp,
                    self.local_addr,
                    echo,
                    self.dtls_cert.as_ref(),
                    self.now,
                );
                let reply_value = match result {
                    Ok((session, answer)) => {
                        if session.echo.is_some() {
                            self.echoing.push(id);
                        }
                        let mids = VideoMids::of(&session.rtc, &video_mids_of(&answer));
                        self.video.add_session(id, mids);
                        self.sessions.insert(id, session);
                        self.calls.entry(call).or_default().push(id);
                        self.dirty.push(id);
                        log::info!("session {} added to call {}", id.0, call.0);
                        Ok(answer)
                    }
                    Err(e) => Err(e),
                };
                let _ = reply.send(reply_value);
            }
            SfuCommand::RestartIce {
                id,
                offer_sdp,
                reply,
            } => {
                let result = match self.sessions.get_mut(&id) {
                    Some(s) => s.restart_ice(&offer_sdp),
                    None => Err(super::SfuError::BadOffer("no such media session".into())),
                };
                if result.is_ok() {
                    log::info!("session {}: ICE restarted", id.0);
                    self.mark(id);
                }
                let _ = reply.send(result);
            }
            SfuCommand::AttachSession {
                id,
                call,
                echo,
                reply,
            } => {
                let _ = reply.send(self.attach_session(id, call, echo));
            }
            SfuCommand::RemoveSession { id } => {
                if let Some(mut s) = self.sessions.remove(&id) {
                    s.rtc.disconnect();
                    self.video.remove_session(id);
                    self.keyframe_asked.retain(|(s, _), _| *s != id);
                    self.echoing.retain(|x| *x != id);
                    self.by_addr.retain(|_, v| *v != id);
                    self.leave_call(id, s.call);
                    self.quality.lock().remove(&id);
                    log::info!("session {} removed", id.0);
                }
            }
            SfuCommand::SimulateLoss { percent } => self.loss = percent / 100.0,
            SfuCommand::SetVideoSlot {
                id,
                kind,
                slot,
                source,
            } => match self.video.set_slot(id, kind, slot, source) {
                Ok(Some(publisher)) => self.request_keyframe(publisher.session, publisher.kind),
                Ok(None) => {}
                Err(e) => log::warn!("video slot: {e}"),
            },
            SfuCommand::SetListenOnly { id, on } => {
                if let Some(s) = self.sessions.get_mut(&id) {
                    s.listen_only = on;
                }
            }
            SfuCommand::SetAudioBlocked { id, on } => {
                if let Some(s) = self.sessions.get_mut(&id) {
                    s.audio_blocked = on;
                }
            }
            SfuCommand::SetHold { id, hold } => {
                if let Some(s) = self.sessions.get_mut(&id) {
                    s.held = hold;
                    if let Some(q) = s.echo.as_mut() {
                        q.clear();
                    }
                    let call = s.call;
                    if hold {
                        if let Some(sp) = self.speakers.get_mut(&call) {
                            sp.detector.remove(id);
                        }
                    }
                    self.recompute_call(call);
                }
            }
        }
    }

    /// Takes `id` out of `call`'s members (the call is forgotten when it empties) and
    /// recomputes what the others receive.
    fn leave_call(&mut self, id: SessionId, call: CallKey) {
        if let Some(list) = self.calls.get_mut(&call) {
            list.retain(|x| *x != id);
            if list.is_empty() {
                self.calls.remove(&call);
                self.speakers.remove(&call);
                self.mixers.remove(&call);
            }
        }
        if let Some(sp) = self.speakers.get_mut(&call) {
            sp.detector.remove(id);
        }
        self.recompute_call(call);
    }

    /// Moves a prepared session into `call` (see [`SfuCommand::AttachSession`]).
    fn attach_session(
        &mut self,
        id: SessionId,
        call: CallKey,
        echo: bool,
    ) -> Result<bool, super::SfuError> {
        let gone = || super::SfuError::BadOffer("the prepared media session is gone".into());
        let s = self.sessions.get_mut(&id).ok_or_else(gone)?;
        if !s.rtc.is_alive() {
            return Err(gone());
        }
        let from = std::mem::replace(&mut s.call, call);
        if echo {
            s.echo = Some(EchoQueue::new(self.echo_delay));
        }
        let connected = s.connected;
        if echo && !self.echoing.contains(&id) {
            self.echoing.push(id);
        }
        if from != call {
            self.leave_call(id, from);
            self.calls.entry(call).or_default().push(id);
        }
        self.recompute_call(call);
        self.mark(id);
        log::info!(
            "session {} moved from call {} to call {}",
            id.0,
            from.0,
            call.0
        );
        Ok(connected)
    }

    /// Re-ranks every call's speakers: reports dominant-speaker changes and moves the
    /// forwarded top-N when the ranking changed.
    fn on_speaker_tick(&mut self, now: Instant) {
        let mut recompute = Vec::new();
        for (call, sp) in self.speakers.iter_mut() {
            let ranking = sp.detector.rank(now);
            let top: Vec<SessionId> = ranking.iter().take(DOMINANT_MAX).copied().collect();
            if top != sp.reported {
                sp.reported = top.clone();
                let _ = self.events.send(SfuEvent::DominantSpeakers {
                    call: *call,
                    speakers: top,
                });
            }
            // Receivers exclude themselves, so the top N+1 decide every receiver's slots.
            let head: Vec<SessionId> = ranking.iter().take(self.forwarded + 1).copied().collect();
            if head != sp.forwarded {
                sp.forwarded = head;
                let large = self
                    .calls
                    .get(call)
                    .is_some_and(|m| m.len() > self.forwarded + 1)
                    || self.mixers.contains_key(call);
                if large {
                    recompute.push(*call);
                }
            }
        }
        for call in recompute {
            self.recompute_call(call);
        }
    }

    /// Feeds timeouts to sessions whose timer expired and plays due echo frames.
    fn on_time(&mut self, now: Instant) {
        if now >= self.next_tick {
            self.next_tick = now + SPEAKER_TICK;
            self.on_speaker_tick(now);
        }
        self.on_mix_time(now);
        let mut due = Vec::new();
        while let Some(Reverse((t, id))) = self.timers.peek().copied() {
            if t > now {
                break;
            }
            self.timers.pop();
            let Some(s) = self.sessions.get_mut(&id) else {
                continue;
            };
            if s.scheduled != Some(t) {
                continue; // superseded by an earlier entry
            }
            s.scheduled = None;
            if s.timeout <= now {
                if let Err(e) = s.rtc.handle_input(Input::Timeout(now)) {
                    log::debug!("session {}: timeout error {e}", id.0);
                }
                due.push(id);
            } else {
                // The timeout moved later since this entry was made.
                let later = s.timeout;
                s.scheduled = Some(later);
                self.timers.push(Reverse((later, id)));
            }
        }
        for id in &self.echoing {
            let Some(s) = self.sessions.get_mut(id) else {
                continue;
            };
            if let (Some(q), Some(mid)) = (s.echo.as_mut(), s.audio_mids.first().copied()) {
                while let Some(f) = q.pop_due(now) {
                    let Some(mut w) = s.rtc.writer(mid) else {
                        break;
                    };
                    let Some(pt) = w.match_params(f.params) else {
                        break;
                    };
                    if let Some(level) = f.audio_level {
                        w = w.audio_level(level, level > -127);
                    }
                    let _ = w.write(pt, now, f.time, f.data);
                    if !due.contains(id) {
                        due.push(*id);
                    }
                }
            }
        }
        for id in due {
            self.mark(id);
        }
    }

    /// Polls every dirty session until it returns a timeout.
    fn drain(&mut self) {
        while let Some(id) = self.dirty.pop() {
            self.poll_session(id);
        }
    }

    fn poll_session(&mut self, id: SessionId) {
        let mut immediate = 0;
        loop {
            let Some(s) = self.sessions.get_mut(&id) else {
                return;
            };
            s.dirty = false;
            if !s.rtc.is_alive() {
                schedule(&mut self.timers, s, id, self.now + IDLE);
                if s.connected {
                    s.connected = false;
                    let _ = self.events.send(SfuEvent::MediaDisconnected(id));
                    let call = s.call;
                    self.recompute_call(call);
                }
                return;
            }
            match s.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    // str0m packetizes one written frame per medium per timeout: a session
                    // with frames waiting says "already due". Feed those timeouts now, so a
                    // written frame leaves in this pass (not one loop turn later) and a
                    // backlog cannot persist.
                    let now = self.now;
                    if t <= now && immediate < MAX_IMMEDIATE_TIMEOUTS {
                        immediate += 1;
                        if let Err(e) = s.rtc.handle_input(Input::Timeout(now)) {
                            log::debug!("session {}: timeout error {e}", id.0);
                        }
                        continue;
                    }
                    schedule(&mut self.timers, s, id, t);
                    return;
                }
                Ok(Output::Transmit(t)) => {
                    self.outbox.push(t.contents.into(), t.destination);
                }
                Ok(Output::Event(e)) => self.on_event(id, e),
                Err(e) => {
                    log::warn!("session {}: {e}", id.0);
                    s.rtc.disconnect();
                }
            }
        }
    }

    /// Whether the loss simulation drops the next datagram.
    fn simulated_drop(&mut self) -> bool {
        let mut x = self.loss_rng;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.loss_rng = x;
        ((x >> 11) as f64 / (1u64 << 53) as f64) < self.loss
    }

    /// Asks a publisher for a keyframe of its `kind` stream (PLI on its send m-line).
    fn request_keyframe(&mut self, publisher: SessionId, kind: VideoStreamKind) {
        let Some(mid) = self.video.inbound_mid(publisher, kind) else {
            return;
        };
        let Some(s) = self.sessions.get_mut(&publisher) else {
            return;
        };
        if let Some(mut w) = s.rtc.writer(mid) {
            if let Err(e) = w.request_keyframe(None, KeyframeRequestKind::Pli) {
                log::debug!("session {}: keyframe request: {e}", publisher.0);
            }
        }
        self.mark(publisher);
    }

    /// Recomputes slots and routes of a call after a membership, hold or media change.
    fn recompute_call(&mut self, call: CallKey) {
        if self.recompute_mixed(call) {
            return;
        }
        let Some(order) = self.calls.get(&call) else {
            return;
        };
        let members: Vec<MemberView> = order
            .iter()
            .filter_map(|id| {
                self.sessions.get(id).map(|s| MemberView {
                    session: *id,
                    active: s.connected && !s.held,
                    echo: s.echo.is_some(),
                })
            })
            .collect();
        let mut ranking = self
            .speakers
            .get(&call)
            .map(|sp| sp.detector.ranking().to_vec())
            .unwrap_or_default();
        let mut active = std::collections::HashSet::new();
        let view = CallView::build(&members, &mut active, &mut ranking, self.forwarded);
        for m in &members {
            if let Some(s) = self.sessions.get_mut(&m.session) {
                s.routes.clear();
            }
        }
        for m in &members {
            let Some(rx) = self.sessions.get_mut(&m.session) else {
                continue;
            };
            let new_slots = slots::assign(m, &view, &rx.slots);
            let changed = rx.slots != new_slots;
            rx.slots = new_slots;
            let mids: Vec<(usize, Option<Mid>)> =
                (0..new_slots.len()).map(|i| (i, rx.slot_mid(i))).collect();
            for (i, mid) in mids {
                if let (Some(SlotSource::Session(sender)), Some(mid)) = (new_slots[i], mid) {
                    if let Some(tx) = self.sessions.get_mut(&sender) {
                        tx.routes.push(Route {
                            receiver: m.session,
                            mid,
                        });
                    }
                }
            }
            if changed {
                let _ = self.events.send(SfuEvent::SlotsChanged {
                    id: m.session,
                    slots: new_slots,
                    mixed: Vec::new(),
                });
            }
        }
    }
}

/// Sets a session's timeout; a heap entry is added only when it is earlier than the live one
/// (a later one is re-armed when the live entry comes due).
fn schedule(
    timers: &mut BinaryHeap<Reverse<(Instant, SessionId)>>,
    s: &mut Session,
    id: SessionId,
    t: Instant,
) {
    s.timeout = t;
    if s.scheduled.is_none_or(|due| t < due) {
        s.scheduled = Some(t);
        timers.push(Reverse((t, id)));
    }
}
