//! State shared between the transport, its PeerConnection callbacks and its tasks; the
//! PeerConnection event handler; the per-track receive tasks.

use super::send::SendParams;
use super::video::RecvTracks;
use super::{RecvSlot, TransportEvents, TransportState, TransportStats};
use parking_lot::Mutex;
use rtc::rtp_transceiver::RTCRtpTransceiverId;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use webrtc::media_stream::track_remote::{TrackRemote, TrackRemoteEvent};
use webrtc::peer_connection::{
    PeerConnectionEventHandler, RTCIceGatheringState, RTCPeerConnectionState,
};

/// Encoding of `Option<TransportState>` in an atomic, for lock-free `state()`.
const NO_STATE: u8 = 0;

fn encode(state: TransportState) -> u8 {
    match state {
        TransportState::Connecting => 1,
        TransportState::Connected => 2,
        TransportState::Failed => 3,
        TransportState::Closed => 4,
        TransportState::Disconnected => 5,
    }
}

fn decode(v: u8) -> Option<TransportState> {
    match v {
        1 => Some(TransportState::Connecting),
        2 => Some(TransportState::Connected),
        3 => Some(TransportState::Failed),
        4 => Some(TransportState::Closed),
        5 => Some(TransportState::Disconnected),
        _ => None,
    }
}

pub(super) struct Shared {
    pub events: Arc<dyn TransportEvents>,
    created: Instant,
    pub gathering_complete: watch::Sender<bool>,
    /// Serialises state transitions and their callbacks, so `on_state` sees them in order.
    /// Only `emit_state` takes it; `state()` reads `state_now`.
    emitting: Mutex<()>,
    state_now: AtomicU8,
    connected: AtomicBool,
    connect_time: OnceLock<Duration>,
    /// Transceiver id -> receive slot, filled once the local description assigned the mids.
    slots: Mutex<HashMap<RTCRtpTransceiverId, RecvSlot>>,
    /// The video receive slots' tracks (for keyframe requests).
    pub video_tracks: RecvTracks,
    send_params: Mutex<Option<SendParams>>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    stopped: AtomicBool,
    pub packets_sent: AtomicU64,
    pub frames_dropped: AtomicU64,
    pub packets_received: AtomicU64,
}

impl Shared {
    pub fn new(events: Arc<dyn TransportEvents>, created: Instant) -> Self {
        Self {
            events,
            created,
            gathering_complete: watch::channel(false).0,
            emitting: Mutex::new(()),
            state_now: AtomicU8::new(NO_STATE),
            connected: AtomicBool::new(false),
            connect_time: OnceLock::new(),
            slots: Mutex::new(HashMap::new()),
            video_tracks: RecvTracks::default(),
            send_params: Mutex::new(None),
            tasks: Mutex::new(Vec::new()),
            stopped: AtomicBool::new(false),
            packets_sent: AtomicU64::new(0),
            frames_dropped: AtomicU64::new(0),
            packets_received: AtomicU64::new(0),
        }
    }

    /// Report a state change unless it is a repeat, comes after `Closed`, or is a
    /// `Connecting` that lost the race against a later state.
    pub fn emit_state(&self, state: TransportState) {
        let _order = self.emitting.lock();
        let current = decode(self.state_now.load(Ordering::Acquire));
        let allowed = match (current, state) {
            (Some(TransportState::Closed), _) => false,
            (Some(c), s) if c == s => false,
            (Some(_), TransportState::Connecting) => false,
            _ => true,
        };
        if !allowed {
            return;
        }
        if state == TransportState::Connected {
            let _ = self.connect_time.set(self.created.elapsed());
        }
        self.connected
            .store(state == TransportState::Connected, Ordering::Release);
        self.state_now.store(encode(state), Ordering::Release);
        self.events.on_state(state);
    }

    pub fn state(&self) -> Option<TransportState> {
        decode(self.state_now.load(Ordering::Acquire))
    }

    pub fn is_connected(&self) -> bool {
        self.connected.load(Ordering::Acquire)
    }

    pub fn connect_time(&self) -> Option<Duration> {
        self.connect_time.get().copied()
    }

    pub fn set_slots(&self, map: Vec<(RTCRtpTransceiverId, RecvSlot)>) {
        *self.slots.lock() = map.into_iter().collect();
    }

    fn slot_of(&self, transceiver: RTCRtpTransceiverId) -> Option<RecvSlot> {
        self.slots.lock().get(&transceiver).copied()
    }

    pub fn set_send_params(&self, params: SendParams) {
        *self.send_params.lock() = Some(params);
    }

    pub fn send_params(&self) -> Option<SendParams> {
        self.send_params.lock().clone()
    }

    pub fn stats(&self) -> TransportStats {
        TransportStats {
            packets_sent: self.packets_sent.load(Ordering::Relaxed),
            frames_dropped: self.frames_dropped.load(Ordering::Relaxed),
            packets_received: self.packets_received.load(Ordering::Relaxed),
        }
    }

    /// Keep a task's handle so `stop_tasks` can abort it.
    pub fn adopt_task(&self, handle: JoinHandle<()>) {
        let mut tasks = self.tasks.lock();
        if self.stopped.load(Ordering::Acquire) {
            handle.abort();
            return;
        }
        tasks.retain(|t| !t.is_finished());
        tasks.push(handle);
    }

    pub fn stop_tasks(&self) {
        let tasks = {
            let mut tasks = self.tasks.lock();
            self.stopped.store(true, Ordering::Release);
            std::mem::take(&mut *tasks)
        };
        for t in tasks {
            t.abort();
        }
    }
}

/// PeerConnection callbacks (run on webrtc's driver task: they must return quickly).
pub(super) struct Handler {
    shared: Arc<Shared>,
}

impl Handler {
    pub fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }
}

#[async_trait::async_trait]
impl PeerConnectionEventHandler for Handler {
    async fn on_ice_gathering_state_change(&self, state: RTCIceGatheringState) {
        if state == RTCIceGatheringState::Complete {
            self.shared.gathering_complete.send_replace(true);
        }
    }

    async fn on_connection_state_change(&self, state: RTCPeerConnectionState) {
        log::debug!("transport: PeerConnection {state}");
        match state {
            RTCPeerConnectionState::Connected => self.shared.emit_state(TransportState::Connected),
            RTCPeerConnectionState::Failed => self.shared.emit_state(TransportState::Failed),
            RTCPeerConnectionState::Closed => self.shared.emit_state(TransportState::Closed),
            // May recover by itself (ICE keeps checking) or after an ICE restart.
            RTCPeerConnectionState::Disconnected if self.shared.is_connected() => {
                self.shared.emit_state(TransportState::Disconnected)
            }
            _ => {}
        }
    }

    async fn on_track(&self, track: Arc<dyn TrackRemote>) {
        let shared = Arc::clone(&self.shared);
        let handle = tokio::spawn(receive(Arc::clone(&shared), track));
        shared.adopt_task(handle);
    }
}

/// Deliver every RTP packet of one remote track to `on_audio` (or `on_video_rtp`), with the
/// slot of the transceiver that received it. The slot comes from the receiver id in `OnOpen`,
/// which the driver always queues before the track's first packet.
async fn receive(shared: Arc<Shared>, track: Arc<dyn TrackRemote>) {
    let mut slot = None;
    let mut unmapped = 0u64;
    let mut video_ssrc = None;
    // The negotiated RFC 6464 id, looked up once (the answer is applied before any packet).
    let mut level_id: Option<Option<u8>> = None;
    while let Some(event) = track.poll().await {
        match event {
            TrackRemoteEvent::OnOpen(init) => {
                let transceiver = RTCRtpTransceiverId::from(init.receiver_id);
                slot = shared.slot_of(transceiver);
                if slot.is_none() {
                    log::warn!(
                        "transport: remote track on transceiver {transceiver} has no audio slot"
                    );
                }
            }
            TrackRemoteEvent::OnRtpPacket(packet) => match slot {
                Some(RecvSlot::Video(kind, i)) => {
                    shared.packets_received.fetch_add(1, Ordering::Relaxed);
                    if video_ssrc != Some(packet.header.ssrc) {
                        video_ssrc = Some(packet.header.ssrc);
                        shared
                            .video_tracks
                            .note(kind, i, &track, packet.header.ssrc);
                    }
                    shared.events.on_video_rtp(kind, i, &packet);
                }
                Some(RecvSlot::Audio(slot)) => {
                    shared.packets_received.fetch_add(1, Ordering::Relaxed);
                    if level_id.is_none() {
                        level_id = shared.send_params().map(|p| p.audio_level_id());
                    }
                    let level = level_id
                        .flatten()
                        .and_then(|id| packet.header.get_extension(id))
                        .and_then(|b| b.first().copied());
                    if let Some(l) = level {
                        shared.events.on_audio_level(slot, l & 0x7f);
                    }
                    shared.events.on_audio(
                        slot,
                        packet.header.sequence_number,
                        packet.header.timestamp,
                        &packet.payload,
                    );
                }
                None => {
                    unmapped += 1;
                    if unmapped == 1 {
                        log::warn!("transport: dropping RTP received before its track opened");
                    }
                }
            },
            TrackRemoteEvent::OnEnded => break,
            _ => {}
        }
    }
}
