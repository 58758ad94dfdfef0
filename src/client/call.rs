//! Call: one call of a CallAgent, its state machine, roster and media.

use super::call_agent::{AgentInner, CallAgent};
use super::call_group::{DominantSpeakers, SlotSpeech};
use super::events::AgentEvent;
use super::participant::RemoteParticipant;
use super::state::{is_terminal, visible_state, CallStateInputs};
use crate::error::{Error, Result};
use crate::media::audio::{AudioDevice, AudioEngine, AudioProcessing, DeviceKind};
use crate::media::transport::{
    AudioSender, MediaTransport, TransportConfig, TransportEvents, TransportState, VideoFeedback,
};
use crate::protocol::{
    timeouts, CallState, ClientMessage, EndReason, Identifier, ParticipantInfo, ParticipantState,
    VideoStreamKind, AUDIO_SLOTS,
};
use crate::signaling::{service_error, Signaling};
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use std::time::Duration;

/// Who placed the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum CallDirection {
    Outgoing = 0,
    Incoming = 1,
}

/// Options for starting or accepting a call.
#[derive(Clone, Default)]
pub struct CallOptions {
    /// Microphone for this call; `None` = the DeviceManager's selection (or system default).
    pub microphone: Option<AudioDevice>,
    /// Speaker for this call; `None` = the DeviceManager's selection (or system default).
    pub speaker: Option<AudioDevice>,
    /// Join muted.
    pub start_muted: bool,
}

pub(super) struct Data {
    pub(super) state: CallState,
    server: CallState,
    media_connected: bool,
    local_hold: bool,
    muted: bool,
    end_reason: EndReason,
    pub(super) participants: Vec<RemoteParticipant>,
    pub(super) dominant: DominantSpeakers,
}

struct Media {
    engine: Arc<AudioEngine>,
    transport: Option<Arc<MediaTransport>>,
}

pub(crate) struct CallInner {
    id: u64,
    call_id: String,
    direction: CallDirection,
    /// A group call: joined by group id, or promoted (an invite, or a third party in the
    /// roster). Never goes back: a promoted call stays a group call in the service too.
    pub(super) group: AtomicBool,
    agent: Weak<AgentInner>,
    pub(super) data: Mutex<Data>,
    /// Who is in which receive slot, and how loud (for `is_speaking`).
    pub(super) speech: Mutex<SlotSpeech>,
    media: Mutex<Option<Media>>,
    /// The transport being prepared while an incoming call rings.
    prepared: Mutex<Option<PrepareTask>>,
    /// Where the audio engine's encoded frames go once the transport exists.
    sender: Arc<Mutex<Option<AudioSender>>>,
    /// Outgoing and subscribed incoming video.
    pub(super) video: Mutex<super::call_video::CallVideo>,
}

impl CallInner {
    /// The transport, once the call's media is set up.
    pub(super) fn media_transport(&self) -> Option<Arc<MediaTransport>> {
        self.media.lock().as_ref().and_then(|m| m.transport.clone())
    }
}

/// A call. Cheap to clone; all clones are the same call.
#[derive(Clone)]
pub struct Call(pub(super) Arc<CallInner>);

/// Receives the transport's events for one call. The engine is set once the call's
/// devices are open (a transport prepared for an incoming call exists before that; no
/// audio can arrive before the answer anyway).
struct CallTransportEvents {
    call: Weak<CallInner>,
    engine: OnceLock<Arc<AudioEngine>>,
}

/// A transport built and offered ahead of time (for an incoming call, while it rings).
struct Prepared {
    transport: Arc<MediaTransport>,
    events: Arc<CallTransportEvents>,
    offer: String,
}

type PrepareTask = tokio::task::JoinHandle<Result<Prepared>>;

/// Builds a transport for `call` on `agent`'s link and creates its offer.
async fn prepare(agent: &CallAgent, call: Weak<CallInner>) -> Result<(Prepared, Arc<Signaling>)> {
    let (sig, local_ip) = agent.wait_link().await?;
    let events = Arc::new(CallTransportEvents {
        call,
        engine: OnceLock::new(),
    });
    let transport = Arc::new(
        MediaTransport::new(
            TransportConfig {
                local_ip,
                audio_slots: AUDIO_SLOTS,
                video: true,
            },
            events.clone(),
        )
        .await?,
    );
    let offer = match transport.create_offer().await {
        Ok(o) => o,
        Err(e) => {
            transport.close().await;
            return Err(e.into());
        }
    };
    Ok((
        Prepared {
            transport,
            events,
            offer,
        },
        sig,
    ))
}

impl TransportEvents for CallTransportEvents {
    fn on_state(&self, state: TransportState) {
        if let Some(c) = self.call.upgrade() {
            Call(c).on_media_state(state);
        }
    }
    fn on_audio(&self, slot: usize, seq: u16, timestamp: u32, payload: &[u8]) {
        if let Some(engine) = self.engine.get() {
            engine.receive_rtp(slot, seq, timestamp, payload);
        }
    }
    fn on_audio_level(&self, slot: usize, level: u8) {
        if let Some(c) = self.call.upgrade() {
            Call(c).on_slot_level(slot, level);
        }
    }
    fn on_video_rtp(&self, kind: VideoStreamKind, slot: usize, packet: &rtc::rtp::Packet) {
        if let Some(c) = self.call.upgrade() {
            Call(c).on_video_rtp(kind, slot, packet);
        }
    }
    fn on_video_feedback(&self, kind: VideoStreamKind, feedback: VideoFeedback) {
        if let Some(c) = self.call.upgrade() {
            Call(c).on_video_feedback(kind, feedback);
        }
    }
}

fn pick_device(
    agent: &CallAgent,
    chosen: Option<AudioDevice>,
    kind: DeviceKind,
) -> Result<AudioDevice> {
    let dm = &agent.0.client.0.device_manager;
    let dev = chosen.or_else(|| match kind {
        DeviceKind::Microphone => dm.selected_microphone(),
        DeviceKind::Speaker => dm.selected_speaker(),
    });
    let dev = dev.ok_or_else(|| {
        Error::Device(format!(
            "no {} is available: select one (a virtual device works without hardware)",
            if kind == DeviceKind::Microphone {
                "microphone"
            } else {
                "speaker"
            }
        ))
    })?;
    if dev.kind() != kind {
        return Err(Error::InvalidArgument(format!(
            "'{}' is not a {}",
            dev.name(),
            if kind == DeviceKind::Microphone {
                "microphone"
            } else {
                "speaker"
            }
        )));
    }
    Ok(dev)
}

impl Call {
    fn new(
        agent: &CallAgent,
        call_id: String,
        direction: CallDirection,
        state: CallState,
        group: bool,
    ) -> Self {
        Call(Arc::new(CallInner {
            id: super::next_object_id(),
            call_id,
            direction,
            group: AtomicBool::new(group),
            agent: agent.downgrade(),
            speech: Mutex::new(SlotSpeech::default()),
            data: Mutex::new(Data {
                state,
                server: state,
                media_connected: false,
                local_hold: false,
                muted: false,
                end_reason: EndReason::default(),
                participants: Vec::new(),
                dominant: DominantSpeakers::default(),
            }),
            media: Mutex::new(None),
            prepared: Mutex::new(None),
            sender: Arc::new(Mutex::new(None)),
            video: Mutex::new(Default::default()),
        }))
    }

    pub(crate) fn outgoing(
        agent: &CallAgent,
        targets: &[String],
        options: CallOptions,
    ) -> Result<Self> {
        if targets.is_empty() {
            return Err(Error::InvalidArgument(
                "a call needs at least one participant".into(),
            ));
        }
        for t in targets {
            Identifier::parse(t).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        }
        // Created in Connecting (as `begin_outgoing` leaves it): the host's first
        // state-changed event is then a real change (Ringing, or Connected).
        let call = Call::new(
            agent,
            uuid::Uuid::new_v4().to_string(),
            CallDirection::Outgoing,
            CallState::Connecting,
            false,
        );
        call.start_media(agent, options)?;
        Ok(call)
    }

    /// A call that joins the group call `group_id` (validated by the caller).
    pub(crate) fn joining(
        agent: &CallAgent,
        group_id: String,
        options: CallOptions,
    ) -> Result<Self> {
        let call = Call::new(
            agent,
            group_id,
            CallDirection::Outgoing,
            CallState::Connecting,
            true,
        );
        call.start_media(agent, options)?;
        Ok(call)
    }

    pub(crate) fn begin_join(&self) {
        self.set_server_state(CallState::Connecting);
        let group_id = self.0.call_id.clone();
        self.establish(move |req, offer_sdp| ClientMessage::JoinGroupCall {
            req,
            group_id,
            offer_sdp,
        });
    }

    pub(crate) fn incoming(agent: &CallAgent, call_id: String, caller: &ParticipantInfo) -> Self {
        let call = Call::new(
            agent,
            call_id,
            CallDirection::Incoming,
            CallState::Incoming,
            false,
        );
        let p = RemoteParticipant::from_info(caller);
        call.adopt(&p);
        call.0.data.lock().participants.push(p);
        // Build the transport and its offer while the call rings, so that accepting only
        // has to send the offer: the callee's media leg is the critical path of call setup.
        let (a, weak) = (agent.clone(), Arc::downgrade(&call.0));
        let task = agent
            .0
            .client
            .0
            .handle
            .spawn(async move { prepare(&a, weak).await.map(|(p, _)| p) });
        *call.0.prepared.lock() = Some(task);
        call
    }

    /// Opens the devices and starts the audio engine; frames flow once the transport exists.
    fn start_media(&self, agent: &CallAgent, options: CallOptions) -> Result<()> {
        let mic = pick_device(agent, options.microphone, DeviceKind::Microphone)?;
        let spk = pick_device(agent, options.speaker, DeviceKind::Speaker)?;
        let sender = self.0.sender.clone();
        let engine = AudioEngine::start(
            mic,
            spk,
            AUDIO_SLOTS,
            Box::new(move |frame| {
                if let Some(s) = &*sender.lock() {
                    s.send(frame);
                }
            }),
        )?;
        let processing = agent.0.client.0.device_manager.audio_processing();
        if let Err(e) = engine.set_audio_processing(processing) {
            log::warn!("audio processing unavailable: {e}");
        }
        let muted = options.start_muted || self.0.data.lock().muted;
        engine.set_muted(muted);
        self.0.data.lock().muted = muted;
        *self.0.media.lock() = Some(Media {
            engine: Arc::new(engine),
            transport: None,
        });
        Ok(())
    }

    pub(super) fn agent(&self) -> Option<CallAgent> {
        self.0.agent.upgrade().map(CallAgent)
    }

    pub(crate) fn begin_outgoing(&self, targets: Vec<String>) {
        self.set_server_state(CallState::Connecting);
        let call_id = self.0.call_id.clone();
        self.establish(move |req, offer_sdp| ClientMessage::StartCall {
            req,
            call_id,
            targets,
            offer_sdp,
        });
    }

    /// Builds the transport, sends the offer (in the message `make` builds) and applies the
    /// SFU's answer. Any failure ends the call with a reason.
    fn establish(&self, make: impl FnOnce(u64, String) -> ClientMessage + Send + 'static) {
        let Some(agent) = self.agent() else { return };
        let call = self.clone();
        let engine = match &*self.0.media.lock() {
            Some(m) => m.engine.clone(),
            None => return,
        };
        let rt = agent.0.client.0.handle.clone();
        rt.spawn(async move {
            let result: Result<()> = async {
                let ready = call.0.prepared.lock().take();
                let ready = match ready {
                    Some(task) => match task.await {
                        Ok(Ok(p)) => Some(p),
                        _ => None,
                    },
                    None => None,
                };
                let (prepared, sig) = match ready {
                    Some(p) => (p, agent.wait_link().await?.0),
                    None => prepare(&agent, Arc::downgrade(&call.0)).await?,
                };
                let Prepared {
                    transport,
                    events,
                    offer,
                } = prepared;
                let _ = events.engine.set(engine);
                *call.0.sender.lock() = Some(transport.audio_sender());
                let ended = {
                    let mut m = call.0.media.lock();
                    match m.as_mut() {
                        Some(m) => {
                            m.transport = Some(transport.clone());
                            false
                        }
                        None => true,
                    }
                };
                if ended || call.is_ended() {
                    transport.close().await;
                    return Ok(());
                }
                let reply = sig.request(|req| make(req, offer)).await?;
                let answer = reply.map_err(service_error)?.ok_or_else(|| {
                    Error::Internal("the service accepted the call without an SDP answer".into())
                })?;
                transport.apply_answer(answer).await?;
                call.on_transport_ready(&transport);
                // The service learns a mute chosen before the call was set up.
                if call.is_muted() {
                    let id = call.0.call_id.clone();
                    sig.send(|req| ClientMessage::SetMuted {
                        req,
                        call_id: id,
                        muted: true,
                    });
                }
                Ok(())
            }
            .await;
            if let Err(e) = result {
                log::warn!("call {} could not be set up: {e}", call.0.call_id);
                let reason = match &e {
                    Error::Service { reason, .. } => *reason,
                    Error::NotFound(_) => EndReason::NOT_FOUND,
                    Error::Unauthorized(_) => EndReason::UNAUTHORIZED,
                    Error::Network(_) | Error::Timeout(_) => EndReason::SERVICE_UNAVAILABLE,
                    _ => EndReason::MEDIA_FAILED,
                };
                call.end(reason);
            }
        });
        self.arm_setup_timeout();
    }

    fn arm_setup_timeout(&self) {
        let Some(agent) = self.agent() else { return };
        let weak = Arc::downgrade(&self.0);
        let secs = if self.0.group.load(Ordering::Relaxed) {
            timeouts::GROUP_SETUP_SECS
        } else {
            timeouts::ONE_TO_ONE_SETUP_SECS
        };
        agent.0.client.0.handle.spawn(async move {
            tokio::time::sleep(Duration::from_secs(secs)).await;
            let Some(c) = weak.upgrade().map(Call) else {
                return;
            };
            let (state, media) = {
                let d = c.0.data.lock();
                (d.state, d.media_connected)
            };
            if matches!(
                state,
                CallState::Connecting | CallState::Ringing | CallState::EarlyMedia
            ) {
                let reason = if media {
                    EndReason::NO_ANSWER
                } else {
                    EndReason::MEDIA_TIMEOUT
                };
                c.send_hang_up(false);
                c.end(reason);
            }
        });
    }

    fn on_media_state(&self, state: TransportState) {
        match state {
            TransportState::Connected => self.update(|d| d.media_connected = true),
            TransportState::Failed => {
                if !self.is_ended() {
                    self.send_hang_up(false);
                    self.end(EndReason::MEDIA_FAILED);
                }
            }
            TransportState::Connecting | TransportState::Closed => {}
        }
    }

    pub(crate) fn on_server_state(&self, state: CallState, reason: EndReason) {
        if is_terminal(state) {
            self.end(reason);
        } else {
            self.set_server_state(state);
        }
    }

    fn set_server_state(&self, state: CallState) {
        self.update(|d| d.server = state);
    }

    /// Changes call data and emits a state event if the visible state changed.
    fn update(&self, f: impl FnOnce(&mut Data)) {
        let changed = {
            let mut d = self.0.data.lock();
            if is_terminal(d.state) {
                return;
            }
            f(&mut d);
            let next = visible_state(CallStateInputs {
                server: d.server,
                media_connected: d.media_connected,
                local_hold: d.local_hold,
            });
            if next != d.state {
                d.state = next;
                Some(next)
            } else {
                None
            }
        };
        if let (Some(state), Some(agent)) = (changed, self.agent()) {
            agent.emit(AgentEvent::CallStateChanged {
                call: self.clone(),
                state,
                reason: EndReason::default(),
            });
        }
    }

    pub(crate) fn on_participant(&self, info: &ParticipantInfo, removed: bool) {
        let Some(agent) = self.agent() else { return };
        if info.id == agent.user_id() {
            return;
        }
        let mut events = Vec::new();
        {
            let mut d = self.0.data.lock();
            let existing = d
                .participants
                .iter()
                .position(|p| p.identifier() == info.id);
            if removed {
                if let Some(i) = existing {
                    let p = d.participants.remove(i);
                    for stream in p.available_video_streams() {
                        events.push(AgentEvent::RemoteVideoStreamAvailabilityChanged {
                            call: self.clone(),
                            participant: p.clone(),
                            stream,
                            available: false,
                        });
                    }
                    let reason = info.end_reason.unwrap_or_default();
                    if p.mark_left(reason) {
                        events.push(AgentEvent::ParticipantStateChanged {
                            call: self.clone(),
                            participant: p.clone(),
                            state: ParticipantState::Disconnected,
                        });
                    }
                    events.push(AgentEvent::ParticipantRemoved {
                        call: self.clone(),
                        participant: p,
                        reason,
                    });
                }
            } else if let Some(i) = existing {
                let p = d.participants[i].clone();
                let ch = p.apply(info);
                if let Some(state) = ch.state {
                    events.push(AgentEvent::ParticipantStateChanged {
                        call: self.clone(),
                        participant: p.clone(),
                        state,
                    });
                }
                if let Some(muted) = ch.muted {
                    events.push(AgentEvent::ParticipantMuteChanged {
                        call: self.clone(),
                        participant: p.clone(),
                        muted,
                    });
                }
                for (stream, available) in ch.video {
                    events.push(AgentEvent::RemoteVideoStreamAvailabilityChanged {
                        call: self.clone(),
                        participant: p.clone(),
                        stream,
                        available,
                    });
                }
            } else {
                let p = RemoteParticipant::from_info(info);
                self.adopt(&p);
                d.participants.push(p.clone());
                if d.participants.len() > 1 {
                    self.0.group.store(true, Ordering::Relaxed);
                }
                events.push(AgentEvent::ParticipantAdded {
                    call: self.clone(),
                    participant: p.clone(),
                });
                for stream in p.available_video_streams() {
                    events.push(AgentEvent::RemoteVideoStreamAvailabilityChanged {
                        call: self.clone(),
                        participant: p.clone(),
                        stream,
                        available: true,
                    });
                }
            }
            if removed {
                self.0.speech.lock().forget(&info.id);
            }
        }
        self.release_unavailable_video(&events);
        for e in events {
            agent.emit(e);
        }
    }

    /// Ends the call locally with `reason` (idempotent) and releases its media.
    pub(crate) fn end(&self, reason: EndReason) {
        {
            let mut d = self.0.data.lock();
            if is_terminal(d.state) {
                return;
            }
            d.state = CallState::Disconnected;
            d.end_reason = reason;
        }
        *self.0.sender.lock() = None;
        self.stop_all_video();
        let media = self.0.media.lock().take();
        let prepared = self.0.prepared.lock().take();
        let agent = self.agent();
        if let (Some(task), Some(a)) = (prepared, &agent) {
            // Rejected or cancelled while ringing: close what was prepared.
            a.0.client.0.handle.spawn(async move {
                if let Ok(Ok(p)) = task.await {
                    p.transport.close().await;
                }
            });
        }
        if let Some(m) = media {
            m.engine.stop();
            if let (Some(t), Some(a)) = (m.transport, &agent) {
                a.0.client.0.handle.spawn(async move { t.close().await });
            }
        }
        if let Some(a) = agent {
            a.forget_call(self);
            a.emit(AgentEvent::CallStateChanged {
                call: self.clone(),
                state: CallState::Disconnected,
                reason,
            });
        }
    }

    pub(super) fn send(&self, make: impl FnOnce(u64, String) -> ClientMessage) {
        if let Some(agent) = self.agent() {
            if let super::call_agent::Link::Up(sig, _) = &*agent.0.link.borrow() {
                let id = self.0.call_id.clone();
                sig.send(|req| make(req, id));
            }
        }
    }

    fn send_hang_up(&self, for_everyone: bool) {
        self.send(|req, call_id| ClientMessage::HangUp {
            req,
            call_id,
            for_everyone,
        });
    }

    pub(super) fn is_ended(&self) -> bool {
        is_terminal(self.0.data.lock().state)
    }

    pub(super) fn require_live(&self) -> Result<()> {
        if self.is_ended() {
            Err(Error::InvalidState("the call has ended".into()))
        } else {
            Ok(())
        }
    }

    // ---- public API ----

    /// Process-unique id of this object.
    pub fn object_id(&self) -> u64 {
        self.0.id
    }
    /// The call id shared by every participant.
    pub fn call_id(&self) -> &str {
        &self.0.call_id
    }
    pub fn direction(&self) -> CallDirection {
        self.0.direction
    }
    pub fn state(&self) -> CallState {
        self.0.data.lock().state
    }
    pub fn is_muted(&self) -> bool {
        self.0.data.lock().muted
    }
    /// Why the call ended (meaningful once `Disconnected`).
    pub fn end_reason(&self) -> EndReason {
        self.0.data.lock().end_reason
    }
    /// Remote participants currently in the roster.
    pub fn remote_participants(&self) -> Vec<RemoteParticipant> {
        self.0.data.lock().participants.clone()
    }

    /// Accepts an incoming call.
    pub fn accept(&self, options: CallOptions) -> Result<()> {
        if self.0.direction != CallDirection::Incoming || self.state() != CallState::Incoming {
            return Err(Error::InvalidState(
                "only a ringing incoming call can be accepted".into(),
            ));
        }
        let agent = self
            .agent()
            .ok_or_else(|| Error::InvalidState("the call agent is gone".into()))?;
        if self.0.media.lock().is_some() {
            return Err(Error::InvalidState(
                "the call is already being accepted".into(),
            ));
        }
        self.start_media(&agent, options)?;
        self.set_server_state(CallState::Connecting);
        let call_id = self.0.call_id.clone();
        self.establish(move |req, offer_sdp| ClientMessage::Accept {
            req,
            call_id,
            offer_sdp,
        });
        Ok(())
    }

    /// Declines an incoming call.
    pub fn reject(&self) -> Result<()> {
        if self.0.direction != CallDirection::Incoming || self.state() != CallState::Incoming {
            return Err(Error::InvalidState(
                "only a ringing incoming call can be rejected".into(),
            ));
        }
        self.send(|req, call_id| ClientMessage::Reject { req, call_id });
        self.end(EndReason::DECLINED);
        Ok(())
    }

    /// Leaves the call (or ends it for everyone).
    pub fn hang_up(&self, for_everyone: bool) -> Result<()> {
        self.require_live()?;
        if self.state() == CallState::Incoming {
            return self.reject();
        }
        self.update(|d| d.server = CallState::Disconnecting);
        if let Some(m) = &*self.0.media.lock() {
            m.engine.set_sending(false);
        }
        let Some(agent) = self.agent() else {
            self.end(EndReason::LOCAL_HANGUP);
            return Ok(());
        };
        let call = self.clone();
        let rt = agent.0.client.0.handle.clone();
        rt.spawn(async move {
            let link = agent.0.link.borrow().clone();
            if let super::call_agent::Link::Up(sig, _) = link {
                let id = call.0.call_id.clone();
                let _ = sig
                    .request(|req| ClientMessage::HangUp {
                        req,
                        call_id: id,
                        for_everyone,
                    })
                    .await;
            }
            call.end(EndReason::LOCAL_HANGUP);
        });
        Ok(())
    }

    /// Mutes or unmutes the local microphone in this call.
    pub fn set_muted(&self, muted: bool) -> Result<()> {
        self.require_live()?;
        {
            let mut d = self.0.data.lock();
            if d.muted == muted {
                return Ok(());
            }
            d.muted = muted;
        }
        if let Some(m) = &*self.0.media.lock() {
            m.engine.set_muted(muted);
        }
        self.send(|req, call_id| ClientMessage::SetMuted {
            req,
            call_id,
            muted,
        });
        if let Some(a) = self.agent() {
            a.emit(AgentEvent::CallMuteChanged {
                call: self.clone(),
                muted,
            });
        }
        Ok(())
    }

    /// Puts the call on hold (`true`) or resumes it (`false`).
    pub fn set_hold(&self, hold: bool) -> Result<()> {
        let state = self.state();
        let allowed = if hold {
            matches!(state, CallState::Connected | CallState::RemoteHold)
        } else {
            state == CallState::LocalHold
        };
        if !allowed {
            return Err(Error::InvalidState(format!(
                "cannot {} a call in state {state:?}",
                if hold { "hold" } else { "resume" }
            )));
        }
        if let Some(m) = &*self.0.media.lock() {
            m.engine.set_sending(!hold);
            m.engine.set_playing(!hold);
        }
        self.send(|req, call_id| ClientMessage::SetHold { req, call_id, hold });
        self.update(|d| d.local_hold = hold);
        Ok(())
    }

    /// Switches the microphone mid-call (the mute state is kept).
    pub fn set_microphone(&self, device: &AudioDevice) -> Result<()> {
        self.require_live()?;
        if device.kind() != DeviceKind::Microphone {
            return Err(Error::InvalidArgument(format!(
                "'{}' is not a microphone",
                device.name()
            )));
        }
        match &*self.0.media.lock() {
            Some(m) => Ok(m.engine.switch_microphone(device.clone())?),
            None => Err(Error::InvalidState("the call has no media yet".into())),
        }
    }

    /// Switches the speaker mid-call.
    pub fn set_speaker(&self, device: &AudioDevice) -> Result<()> {
        self.require_live()?;
        if device.kind() != DeviceKind::Speaker {
            return Err(Error::InvalidArgument(format!(
                "'{}' is not a speaker",
                device.name()
            )));
        }
        match &*self.0.media.lock() {
            Some(m) => Ok(m.engine.switch_speaker(device.clone())?),
            None => Err(Error::InvalidState("the call has no media yet".into())),
        }
    }

    /// Turns echo cancellation, noise suppression and gain control on or off in this call,
    /// at once (they apply to a real microphone; a virtual one is never processed).
    pub fn set_audio_processing(&self, settings: AudioProcessing) -> Result<()> {
        self.require_live()?;
        match &*self.0.media.lock() {
            Some(m) => Ok(m.engine.set_audio_processing(settings)?),
            None => Err(Error::InvalidState("the call has no media yet".into())),
        }
    }

    /// The call's audio processing settings, and whether the microphone is being processed
    /// now (None before media starts).
    pub fn audio_processing(&self) -> Option<(AudioProcessing, bool)> {
        self.0
            .media
            .lock()
            .as_ref()
            .map(|m| (m.engine.audio_processing(), m.engine.is_processing()))
    }

    /// Audio counters of this call (zero before media starts).
    pub fn audio_stats(&self) -> crate::media::audio::AudioStats {
        self.0
            .media
            .lock()
            .as_ref()
            .map(|m| m.engine.stats())
            .unwrap_or_default()
    }
}
