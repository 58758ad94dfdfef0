//! The media of one call: its audio engine (devices, Opus), its transport to the SFU (built
//! ahead while an incoming call rings), and its video pipelines — the outgoing streams
//! (camera, screen share) encoded into the transport and the subscribed incoming ones
//! decoded onto their frame buses. It knows nothing of the call's lifecycle: the call tells
//! it what to do (`MediaCommand`) and hears the transport's state through `MediaEvents`.

use super::link::{wait_up, Link};
use super::local_video_stream::{LocalVideoStream, SourceWatch};
use super::machine::MediaCommand;
use super::remote_video::RemoteVideoStream;
use crate::error::{Error, Result};
use crate::media::audio::{AudioDevice, AudioEngine, AudioProcessing, AudioStats};
use crate::media::transport::{
    AudioSender, MediaTransport, TransportConfig, TransportEvents, TransportState, VideoFeedback,
    VideoSender,
};
use crate::media::video::{
    DecodeStats, EncodeStats, FrameBus, VideoContent, VideoDecodePipeline, VideoEncodePipeline,
    VideoPacket,
};
use crate::protocol::{VideoStreamKind, AUDIO_SLOTS};
use crate::signaling::Signaling;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock, Weak};
use tokio::runtime::Handle;
use tokio::sync::watch;

/// What the transport tells the call (called from the transport's tasks; must not block).
pub(crate) trait MediaEvents: Send + Sync {
    fn on_transport_state(self: Arc<Self>, state: TransportState);
    /// A received packet's RFC 6464 level in `slot`.
    fn on_slot_level(self: Arc<Self>, slot: usize, level: u8);
}

struct Audio {
    engine: Arc<AudioEngine>,
    transport: Option<Arc<MediaTransport>>,
    /// The current transport's event sink (retired when a rejoin replaces the transport).
    sink: Option<Arc<TransportSink>>,
}

/// One outgoing stream.
struct Outgoing {
    /// The local stream it comes from (kept alive: its source runs while someone holds it).
    local: Option<LocalVideoStream>,
    /// The call hears the local stream's source pause and end while this is held.
    _watch: Option<SourceWatch>,
    pipeline: VideoEncodePipeline,
    /// The transport's sender once the call's media exists.
    sender: Arc<Mutex<Option<VideoSender>>>,
    bus: Arc<FrameBus>,
}

/// One subscribed incoming stream.
struct Incoming {
    stream: RemoteVideoStream,
    pipeline: VideoDecodePipeline,
}

#[derive(Default)]
struct Video {
    outgoing: HashMap<VideoStreamKind, Outgoing>,
    incoming: HashMap<(VideoStreamKind, usize), Incoming>,
}

/// Receives the transport's events for one call. The engine is set once the call's
/// devices are open (a transport prepared for an incoming call exists before that; no
/// audio can arrive before the answer anyway).
struct TransportSink {
    owner: Weak<dyn MediaEvents>,
    media: Weak<CallMedia>,
    engine: OnceLock<Arc<AudioEngine>>,
    /// A replaced transport's late events (its close, a last packet) are not the call's.
    retired: AtomicBool,
}

impl TransportSink {
    fn live(&self) -> bool {
        !self.retired.load(Ordering::SeqCst)
    }
}

impl TransportEvents for TransportSink {
    fn on_state(&self, state: TransportState) {
        if !self.live() {
            return;
        }
        if let Some(o) = self.owner.upgrade() {
            o.on_transport_state(state);
        }
    }
    fn on_audio(&self, slot: usize, seq: u16, timestamp: u32, payload: &[u8]) {
        if !self.live() {
            return;
        }
        if let Some(engine) = self.engine.get() {
            engine.receive_rtp(slot, seq, timestamp, payload);
        }
    }
    fn on_audio_level(&self, slot: usize, level: u8) {
        if !self.live() {
            return;
        }
        if let Some(o) = self.owner.upgrade() {
            o.on_slot_level(slot, level);
        }
    }
    fn on_video_rtp(&self, kind: VideoStreamKind, slot: usize, packet: &rtc::rtp::Packet) {
        if !self.live() {
            return;
        }
        if let Some(m) = self.media.upgrade() {
            m.on_video_rtp(kind, slot, packet);
        }
    }
    fn on_video_feedback(&self, kind: VideoStreamKind, feedback: VideoFeedback) {
        if !self.live() {
            return;
        }
        if let Some(m) = self.media.upgrade() {
            m.on_video_feedback(kind, feedback);
        }
    }
}

/// A transport built and offered ahead of time (for an incoming call, while it rings).
struct Prepared {
    transport: Arc<MediaTransport>,
    sink: Arc<TransportSink>,
    offer: String,
}

type PrepareTask = tokio::task::JoinHandle<Result<Prepared>>;

/// A transport whose offer is ready to send.
pub(crate) struct Offer {
    pub transport: Arc<MediaTransport>,
    pub sdp: String,
    pub signaling: Arc<Signaling>,
}

/// The media of one call.
pub(crate) struct CallMedia {
    owner: Weak<dyn MediaEvents>,
    audio: Mutex<Option<Audio>>,
    /// The transport being prepared while an incoming call rings.
    prepared: Mutex<Option<PrepareTask>>,
    /// Where the audio engine's encoded frames go once the transport exists.
    sender: Arc<Mutex<Option<AudioSender>>>,
    video: Mutex<Video>,
    /// Set once released: nothing starts again.
    released: Mutex<bool>,
}

/// Builds a transport on the link and creates its offer.
async fn prepare(
    link: &watch::Receiver<Link>,
    owner: Weak<dyn MediaEvents>,
    media: Weak<CallMedia>,
) -> Result<(Prepared, Arc<Signaling>)> {
    let (sig, local_ip) = wait_up(link).await?;
    let sink = Arc::new(TransportSink {
        owner,
        media,
        engine: OnceLock::new(),
        retired: AtomicBool::new(false),
    });
    let transport = Arc::new(
        MediaTransport::new(
            TransportConfig {
                local_ip,
                audio_slots: AUDIO_SLOTS,
                video: true,
            },
            sink.clone(),
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
            sink,
            offer,
        },
        sig,
    ))
}

impl CallMedia {
    pub(crate) fn new(owner: Weak<dyn MediaEvents>) -> Arc<Self> {
        Arc::new(CallMedia {
            owner,
            audio: Mutex::new(None),
            prepared: Mutex::new(None),
            sender: Arc::new(Mutex::new(None)),
            video: Mutex::new(Video::default()),
            released: Mutex::new(false),
        })
    }

    /// Opens the devices and starts the audio engine; frames flow once the transport exists.
    pub(crate) fn start_audio(
        &self,
        mic: AudioDevice,
        spk: AudioDevice,
        processing: AudioProcessing,
        muted: bool,
    ) -> Result<()> {
        let sender = self.sender.clone();
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
        if let Err(e) = engine.set_audio_processing(processing) {
            log::warn!("audio processing unavailable: {e}");
        }
        engine.set_muted(muted);
        *self.audio.lock() = Some(Audio {
            engine: Arc::new(engine),
            transport: None,
            sink: None,
        });
        Ok(())
    }

    /// Whether the devices are open (the call was placed or accepted).
    pub(crate) fn has_audio(&self) -> bool {
        self.audio.lock().is_some()
    }

    fn engine(&self) -> Option<Arc<AudioEngine>> {
        self.audio.lock().as_ref().map(|a| a.engine.clone())
    }

    /// The transport, once the call's media is set up.
    pub(crate) fn transport(&self) -> Option<Arc<MediaTransport>> {
        self.audio.lock().as_ref().and_then(|a| a.transport.clone())
    }

    /// Builds the transport and its offer while an incoming call rings, so that accepting
    /// only has to send the offer: the callee's media leg is the critical path of setup.
    pub(crate) fn prepare_ahead(self: &Arc<Self>, rt: &Handle, link: watch::Receiver<Link>) {
        let (owner, media) = (self.owner.clone(), Arc::downgrade(self));
        let task = rt.spawn(async move { prepare(&link, owner, media).await.map(|(p, _)| p) });
        *self.prepared.lock() = Some(task);
    }

    /// The transport (prepared ahead or built now) attached to the audio engine, with its
    /// offer. Fails when the link is down; `None` when the call was released meanwhile
    /// (whatever was built is closed). A transport the call had already (a rejoin after the
    /// service restarted) is retired and closed.
    pub(crate) async fn offer(
        self: &Arc<Self>,
        link: &watch::Receiver<Link>,
    ) -> Result<Option<Offer>> {
        let engine = self
            .engine()
            .ok_or_else(|| Error::InvalidState("the call has no media".into()))?;
        let ready = self.prepared.lock().take();
        let ready = match ready {
            Some(task) => match task.await {
                Ok(Ok(p)) => Some(p),
                _ => None,
            },
            None => None,
        };
        let (prepared, signaling) = match ready {
            Some(p) => (p, wait_up(link).await?.0),
            None => prepare(link, self.owner.clone(), Arc::downgrade(self)).await?,
        };
        let Prepared {
            transport,
            sink,
            offer,
        } = prepared;
        let _ = sink.engine.set(engine);
        let attached = {
            let mut a = self.audio.lock();
            match a.as_mut() {
                Some(a) if !*self.released.lock() => {
                    *self.sender.lock() = Some(transport.audio_sender());
                    if let Some(old) = a.sink.replace(sink) {
                        old.retired.store(true, Ordering::SeqCst);
                    }
                    Some(a.transport.replace(transport.clone()))
                }
                _ => None,
            }
        };
        let Some(replaced) = attached else {
            transport.close().await;
            return Ok(None);
        };
        if let Some(old) = replaced {
            old.close().await;
        }
        Ok(Some(Offer {
            transport,
            sdp: offer,
            signaling,
        }))
    }

    /// The service accepted the call: outgoing streams get their senders.
    pub(crate) fn on_transport_ready(&self, transport: &MediaTransport) {
        let v = self.video.lock();
        for (kind, o) in &v.outgoing {
            *o.sender.lock() = transport.video_sender(*kind);
        }
    }

    /// The media path just connected: the microphone's next frame goes out at once.
    pub(crate) fn send_audio_now(&self) {
        if let Some(e) = self.engine() {
            e.send_now();
        }
    }

    /// Carries out one of the call's media commands.
    pub(crate) fn apply(&self, command: MediaCommand, rt: &Handle) {
        match command {
            MediaCommand::Sending(on) => {
                if let Some(e) = self.engine() {
                    e.set_sending(on);
                }
            }
            MediaCommand::Playing(on) => {
                if let Some(e) = self.engine() {
                    e.set_playing(on);
                }
            }
            MediaCommand::Muted(on) => {
                if let Some(e) = self.engine() {
                    e.set_muted(on);
                }
            }
            MediaCommand::StopVideo(kind) => {
                self.stop_outgoing(kind);
            }
            MediaCommand::Release => self.release(rt),
        }
    }

    /// The call ended: devices, transport (also one prepared for a call that was rejected or
    /// cancelled while ringing) and video pipelines are released.
    fn release(&self, rt: &Handle) {
        *self.released.lock() = true;
        *self.sender.lock() = None;
        let v = std::mem::take(&mut *self.video.lock());
        for i in v.incoming.values() {
            i.stream.clear_slot();
        }
        drop(v); // joins the pipeline threads outside the lock
        if let Some(task) = self.prepared.lock().take() {
            rt.spawn(async move {
                if let Ok(Ok(p)) = task.await {
                    p.transport.close().await;
                }
            });
        }
        if let Some(a) = self.audio.lock().take() {
            a.engine.stop();
            if let Some(t) = a.transport {
                rt.spawn(async move { t.close().await });
            }
        }
    }

    // ---- audio ----

    pub(crate) fn switch_microphone(&self, device: &AudioDevice) -> Result<()> {
        let e = self
            .engine()
            .ok_or_else(|| Error::InvalidState("the call has no media yet".into()))?;
        Ok(e.switch_microphone(device.clone())?)
    }

    pub(crate) fn switch_speaker(&self, device: &AudioDevice) -> Result<()> {
        let e = self
            .engine()
            .ok_or_else(|| Error::InvalidState("the call has no media yet".into()))?;
        Ok(e.switch_speaker(device.clone())?)
    }

    pub(crate) fn set_audio_processing(&self, settings: AudioProcessing) -> Result<()> {
        let e = self
            .engine()
            .ok_or_else(|| Error::InvalidState("the call has no media yet".into()))?;
        Ok(e.set_audio_processing(settings)?)
    }

    pub(crate) fn audio_processing(&self) -> Option<(AudioProcessing, bool)> {
        self.engine()
            .map(|e| (e.audio_processing(), e.is_processing()))
    }

    pub(crate) fn audio_stats(&self) -> AudioStats {
        self.engine().map(|e| e.stats()).unwrap_or_default()
    }

    // ---- outgoing video ----

    /// Sends the frames published on `bus` as the `kind` stream (replacing the one of that
    /// kind); they reach the transport once it exists.
    pub(crate) fn start_outgoing(
        &self,
        kind: VideoStreamKind,
        bus: Arc<FrameBus>,
        max_fps: f32,
        local: Option<(LocalVideoStream, SourceWatch)>,
    ) -> Result<()> {
        let (local, _watch) = local.unzip();
        let sender = Arc::new(Mutex::new(
            self.transport().and_then(|t| t.video_sender(kind)),
        ));
        let s = Arc::clone(&sender);
        // A screen share is screen content (sharp text, a frame rate that gives way).
        let content = match kind {
            VideoStreamKind::Video => VideoContent::Camera,
            VideoStreamKind::ScreenShare => VideoContent::Screen,
        };
        let pipeline = VideoEncodePipeline::start(
            &bus,
            max_fps,
            content,
            Box::new(move |frame, at, duration| {
                s.lock()
                    .as_ref()
                    .is_some_and(|v| v.send(frame, at, duration))
            }),
        )
        .map_err(|e| Error::Internal(format!("video encoder thread: {e}")))?;
        let previous = self.video.lock().outgoing.insert(
            kind,
            Outgoing {
                local,
                _watch,
                pipeline,
                sender,
                bus,
            },
        );
        drop(previous); // joins the old encoder thread, outside the lock
        Ok(())
    }

    /// Stops the `kind` stream; false when it was not sent.
    pub(crate) fn stop_outgoing(&self, kind: VideoStreamKind) -> bool {
        let previous = self.video.lock().outgoing.remove(&kind);
        previous.is_some()
    }

    pub(crate) fn local_video_stream(&self, kind: VideoStreamKind) -> Option<LocalVideoStream> {
        self.video
            .lock()
            .outgoing
            .get(&kind)
            .and_then(|o| o.local.clone())
    }

    pub(crate) fn is_sending_video(&self, kind: VideoStreamKind) -> bool {
        self.video.lock().outgoing.contains_key(&kind)
    }

    pub(crate) fn outgoing_frames(&self, kind: VideoStreamKind) -> Option<Arc<FrameBus>> {
        self.video
            .lock()
            .outgoing
            .get(&kind)
            .map(|o| Arc::clone(&o.bus))
    }

    pub(crate) fn video_send_stats(&self, kind: VideoStreamKind) -> Option<EncodeStats> {
        self.video
            .lock()
            .outgoing
            .get(&kind)
            .map(|o| o.pipeline.stats())
    }

    /// Receiver feedback about a stream we send.
    fn on_video_feedback(&self, kind: VideoStreamKind, f: VideoFeedback) {
        let v = self.video.lock();
        if let Some(o) = v.outgoing.get(&kind) {
            match f {
                VideoFeedback::KeyframeRequest => o.pipeline.request_keyframe(),
                VideoFeedback::Loss { fraction_lost } => o.pipeline.on_loss_report(fraction_lost),
                VideoFeedback::Nack { packets } => o.pipeline.on_nack(packets),
            }
        }
    }

    // ---- incoming video ----

    /// Puts `stream` into a free receive slot of its kind and starts its decoder; returns
    /// the slot (`None`: it already has one).
    pub(crate) fn take_slot(self: &Arc<Self>, stream: &RemoteVideoStream) -> Result<Option<usize>> {
        let kind = stream.kind();
        let mut v = self.video.lock();
        if stream.slot().is_some() {
            return Ok(None);
        }
        let Some(slot) = (0..kind.slots()).find(|s| !v.incoming.contains_key(&(kind, *s))) else {
            return Err(Error::LimitReached(format!(
                "all {} incoming {} slots are in use: unsubscribe a stream first",
                kind.slots(),
                match kind {
                    VideoStreamKind::Video => "video",
                    VideoStreamKind::ScreenShare => "screen-share",
                }
            )));
        };
        let weak = Arc::downgrade(self);
        let pipeline = VideoDecodePipeline::start(
            stream.frames(),
            Box::new(move || {
                if let Some(t) = weak.upgrade().and_then(|m| m.transport()) {
                    t.request_keyframe(kind, slot);
                }
            }),
        )
        .map_err(|e| Error::Internal(format!("video decoder thread: {e}")))?;
        v.incoming.insert(
            (kind, slot),
            Incoming {
                stream: stream.clone(),
                pipeline,
            },
        );
        stream.set_slot(Some(slot));
        Ok(Some(slot))
    }

    /// Frees a stream's slot and stops its decoder; returns the slot it had.
    /// The streams received into slots, with their slot.
    pub(crate) fn subscribed_streams(&self) -> Vec<(RemoteVideoStream, usize)> {
        self.video
            .lock()
            .incoming
            .iter()
            .map(|((_, slot), i)| (i.stream.clone(), *slot))
            .collect()
    }

    pub(crate) fn release_slot(&self, stream: &RemoteVideoStream) -> Option<usize> {
        let slot = stream.take_slot()?;
        let removed = {
            let mut v = self.video.lock();
            match v.incoming.get(&(stream.kind(), slot)) {
                Some(i) if i.stream.same_as(stream) => v.incoming.remove(&(stream.kind(), slot)),
                _ => None,
            }
        };
        drop(removed); // joins the decoder thread outside the lock
        Some(slot)
    }

    /// Decoder counters of a subscribed stream.
    pub(crate) fn decode_stats(&self, stream: &RemoteVideoStream) -> Option<DecodeStats> {
        let slot = stream.slot()?;
        self.video
            .lock()
            .incoming
            .get(&(stream.kind(), slot))
            .map(|i| i.pipeline.stats())
    }

    /// A video packet from the transport (one of its receive tasks).
    fn on_video_rtp(&self, kind: VideoStreamKind, slot: usize, p: &rtc::rtp::Packet) {
        let v = self.video.lock();
        if let Some(i) = v.incoming.get(&(kind, slot)) {
            i.pipeline.push(VideoPacket {
                seq: p.header.sequence_number,
                timestamp: p.header.timestamp,
                marker: p.header.marker,
                payload: p.payload.clone(),
                arrived: std::time::Instant::now(),
            });
        }
    }
}
