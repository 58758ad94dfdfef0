//! Video of a call: the outgoing streams (camera, screen share) encoded from a frame bus
//! into the transport, and the incoming ones — a remote stream subscribed into one of the
//! `VIDEO_SLOTS` camera slots (or the screen-share slot), decoded onto its frame bus.

use super::call::{Call, CallInner};
use super::events::AgentEvent;
use super::local_video_stream::{LocalVideoStream, VideoSourceKind};
use super::participant::RemoteParticipant;
use super::remote_video::RemoteVideoStream;
use crate::error::{Error, Result};
use crate::media::transport::{MediaTransport, VideoFeedback, VideoSender};
use crate::media::video::{
    DecodeStats, EncodeStats, FrameBus, VideoDecodePipeline, VideoEncodePipeline, VideoPacket,
};
use crate::protocol::{timeouts, ClientMessage, VideoStreamKind};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// One outgoing stream.
struct Outgoing {
    /// The local stream it comes from (kept alive: its source runs while someone holds it).
    local: Option<LocalVideoStream>,
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

/// The video state of a call.
#[derive(Default)]
pub(crate) struct CallVideo {
    outgoing: HashMap<VideoStreamKind, Outgoing>,
    incoming: HashMap<(VideoStreamKind, usize), Incoming>,
}

impl Call {
    /// Lets `p`'s streams find this call (to subscribe).
    pub(super) fn adopt(&self, p: &RemoteParticipant) {
        for s in p.video_streams() {
            *s.0.call.lock() = Arc::downgrade(&self.0);
        }
    }

    fn transport(&self) -> Option<Arc<MediaTransport>> {
        self.0.media_transport()
    }

    /// Sends `stream` as this call's camera video (ACS `startVideo`). Starting another
    /// stream replaces it; switching the stream's source keeps the call's video going with
    /// the new picture. The others see the stream become available.
    pub fn start_video(&self, stream: &LocalVideoStream) -> Result<()> {
        self.start_local(VideoStreamKind::Video, stream)
    }

    /// Shares `stream` as this call's screen share (one per call; ACS
    /// `startScreenSharing`), e.g. a game engine's render pushed as frames.
    pub fn start_screen_sharing(&self, stream: &LocalVideoStream) -> Result<()> {
        self.start_local(VideoStreamKind::ScreenShare, stream)
    }

    /// The local stream sent as `kind`, if any.
    pub fn local_video_stream(&self, kind: VideoStreamKind) -> Option<LocalVideoStream> {
        self.0
            .video
            .lock()
            .outgoing
            .get(&kind)
            .and_then(|o| o.local.clone())
    }

    fn start_local(&self, kind: VideoStreamKind, stream: &LocalVideoStream) -> Result<()> {
        let fps = match stream.source() {
            VideoSourceKind::Virtual(cfg) => (cfg.fps as f32).clamp(1.0, 60.0),
            _ => 30.0,
        };
        self.start_outgoing(kind, stream.bus(), fps, Some(stream.clone()))
    }

    /// Sends the frames published on `bus` as this call's `kind` stream (camera or screen
    /// share), at most `max_fps` per second. Replaces the stream of that kind if one is
    /// being sent (switching the source). The others see the stream become available.
    pub fn start_video_from(
        &self,
        kind: VideoStreamKind,
        bus: Arc<FrameBus>,
        max_fps: f32,
    ) -> Result<()> {
        self.start_outgoing(kind, bus, max_fps, None)
    }

    fn start_outgoing(
        &self,
        kind: VideoStreamKind,
        bus: Arc<FrameBus>,
        max_fps: f32,
        local: Option<LocalVideoStream>,
    ) -> Result<()> {
        self.require_live()?;
        if !(1.0..=60.0).contains(&max_fps) {
            return Err(Error::InvalidArgument(format!(
                "frame rate {max_fps} is not within 1..=60"
            )));
        }
        let sender = Arc::new(Mutex::new(
            self.transport().and_then(|t| t.video_sender(kind)),
        ));
        let s = Arc::clone(&sender);
        let pipeline = VideoEncodePipeline::start(
            &bus,
            max_fps,
            Box::new(move |frame, at, duration| {
                s.lock()
                    .as_ref()
                    .is_some_and(|v| v.send(frame, at, duration))
            }),
        )
        .map_err(|e| Error::Internal(format!("video encoder thread: {e}")))?;
        let previous = self.0.video.lock().outgoing.insert(
            kind,
            Outgoing {
                local,
                pipeline,
                sender,
                bus,
            },
        );
        drop(previous); // joins the old encoder thread, outside the lock
        self.announce_video(kind, true);
        Ok(())
    }

    /// Stops sending the `kind` stream (a no-op when it is not sent).
    pub fn stop_video(&self, kind: VideoStreamKind) -> Result<()> {
        let previous = self.0.video.lock().outgoing.remove(&kind);
        if previous.is_some() {
            drop(previous);
            if !self.is_ended() {
                self.announce_video(kind, false);
            }
        }
        Ok(())
    }

    /// Whether this call sends a `kind` stream.
    pub fn is_sending_video(&self, kind: VideoStreamKind) -> bool {
        self.0.video.lock().outgoing.contains_key(&kind)
    }

    /// The frame bus the `kind` stream is sent from (a local preview renders it).
    pub fn outgoing_video_frames(&self, kind: VideoStreamKind) -> Option<Arc<FrameBus>> {
        self.0
            .video
            .lock()
            .outgoing
            .get(&kind)
            .map(|o| Arc::clone(&o.bus))
    }

    /// Encoder counters of the `kind` stream while it is sent.
    pub fn video_send_stats(&self, kind: VideoStreamKind) -> Option<EncodeStats> {
        self.0
            .video
            .lock()
            .outgoing
            .get(&kind)
            .map(|o| o.pipeline.stats())
    }

    /// Tells the service (and so everyone) that a stream started or stopped. Fails the
    /// stream after the modality timeout (40 s) without an answer.
    fn announce_video(&self, kind: VideoStreamKind, on: bool) {
        let Some(agent) = self.agent() else { return };
        let super::call_agent::Link::Up(sig, _) = agent.0.link.borrow().clone() else {
            return;
        };
        if self.transport().is_none() {
            return; // the call is being set up: `on_transport_ready` announces it
        }
        let call_id = self.call_id().to_string();
        let weak = Arc::downgrade(&self.0);
        agent.0.client.0.handle.spawn(async move {
            let reply = tokio::time::timeout(
                Duration::from_secs(timeouts::MODALITY_SECS),
                sig.request(|req| ClientMessage::SetVideo {
                    req,
                    call_id,
                    kind,
                    on,
                }),
            )
            .await;
            let failed = match reply {
                Ok(Ok(Ok(_))) => None,
                Ok(Ok(Err(e))) => Some(e.message),
                Ok(Err(e)) => Some(e.to_string()),
                Err(_) => Some(format!(
                    "no answer in {} s (modality timeout)",
                    timeouts::MODALITY_SECS
                )),
            };
            if let (Some(why), true, Some(c)) = (failed, on, weak.upgrade()) {
                log::warn!("video {kind:?} could not be started: {why}");
                let _ = Call(c).stop_video(kind);
            }
        });
    }

    /// The transport exists and the service accepted the call: outgoing streams get their
    /// senders and are announced.
    pub(super) fn on_transport_ready(&self, transport: &MediaTransport) {
        let kinds: Vec<VideoStreamKind> = {
            let v = self.0.video.lock();
            for (kind, o) in &v.outgoing {
                *o.sender.lock() = transport.video_sender(*kind);
            }
            v.outgoing.keys().copied().collect()
        };
        for kind in kinds {
            self.announce_video(kind, true);
        }
    }

    /// Receives `stream` into a free slot of its kind.
    pub(crate) fn subscribe_video(&self, stream: &RemoteVideoStream) -> Result<()> {
        self.require_live()?;
        if !stream.is_available() {
            return Err(Error::InvalidState(format!(
                "{}'s {:?} stream is not available",
                stream.participant_id(),
                stream.kind()
            )));
        }
        if self.transport().is_none() {
            return Err(Error::InvalidState(
                "the call's media is not set up yet".into(),
            ));
        }
        let kind = stream.kind();
        let slot = {
            let mut v = self.0.video.lock();
            if stream.0.slot.lock().is_some() {
                return Ok(());
            }
            let Some(slot) = (0..kind.slots()).find(|s| !v.incoming.contains_key(&(kind, *s)))
            else {
                return Err(Error::LimitReached(format!(
                    "all {} incoming {} slots are in use: unsubscribe a stream first",
                    kind.slots(),
                    match kind {
                        VideoStreamKind::Video => "video",
                        VideoStreamKind::ScreenShare => "screen-share",
                    }
                )));
            };
            let weak: Weak<CallInner> = Arc::downgrade(&self.0);
            let pipeline = VideoDecodePipeline::start(
                stream.frames(),
                Box::new(move || {
                    if let Some(t) = weak.upgrade().and_then(|c| c.media_transport()) {
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
            *stream.0.slot.lock() = Some(slot);
            slot
        };
        let participant = stream.participant_id().to_string();
        let (call, s) = (self.clone(), stream.clone());
        self.request(
            move |req, call_id| ClientMessage::SubscribeVideo {
                req,
                call_id,
                participant,
                kind,
                slot: slot as u32,
            },
            move |err| {
                log::warn!(
                    "subscribing to {}'s video failed: {err}",
                    s.participant_id()
                );
                call.release_slot(&s);
            },
        );
        Ok(())
    }

    /// Stops receiving `stream`.
    pub(crate) fn unsubscribe_video(&self, stream: &RemoteVideoStream) -> Result<()> {
        let Some(slot) = self.release_slot(stream) else {
            return Ok(());
        };
        let kind = stream.kind();
        self.request(
            move |req, call_id| ClientMessage::UnsubscribeVideo {
                req,
                call_id,
                kind,
                slot: slot as u32,
            },
            |err| log::debug!("unsubscribe: {err}"),
        );
        Ok(())
    }

    /// Frees a stream's slot and stops its decoder; returns the slot it had.
    fn release_slot(&self, stream: &RemoteVideoStream) -> Option<usize> {
        let slot = stream.0.slot.lock().take()?;
        let removed = {
            let mut v = self.0.video.lock();
            match v.incoming.get(&(stream.kind(), slot)) {
                Some(i) if Arc::ptr_eq(&i.stream.0, &stream.0) => {
                    v.incoming.remove(&(stream.kind(), slot))
                }
                _ => None,
            }
        };
        drop(removed); // joins the decoder thread outside the lock
        Some(slot)
    }

    /// Decoder counters of a subscribed stream.
    pub(crate) fn video_decode_stats(&self, stream: &RemoteVideoStream) -> Option<DecodeStats> {
        let slot = (*stream.0.slot.lock())?;
        self.0
            .video
            .lock()
            .incoming
            .get(&(stream.kind(), slot))
            .map(|i| i.pipeline.stats())
    }

    /// Streams that became unavailable lose their subscription (and their last frame).
    pub(super) fn release_unavailable_video(&self, events: &[AgentEvent]) {
        for e in events {
            if let AgentEvent::RemoteVideoStreamAvailabilityChanged {
                stream,
                available: false,
                ..
            } = e
            {
                if stream.is_subscribed() {
                    let _ = self.unsubscribe_video(stream);
                }
                stream.frames().clear_latest();
            }
        }
    }

    /// Stops every video pipeline (the call ended).
    pub(super) fn stop_all_video(&self) {
        let v = std::mem::take(&mut *self.0.video.lock());
        for i in v.incoming.values() {
            *i.stream.0.slot.lock() = None;
        }
        drop(v);
    }

    /// A video packet from the transport (one of its receive tasks).
    pub(super) fn on_video_rtp(&self, kind: VideoStreamKind, slot: usize, p: &rtc::rtp::Packet) {
        let v = self.0.video.lock();
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

    /// Receiver feedback about a stream we send.
    pub(super) fn on_video_feedback(&self, kind: VideoStreamKind, f: VideoFeedback) {
        let v = self.0.video.lock();
        if let Some(o) = v.outgoing.get(&kind) {
            match f {
                VideoFeedback::KeyframeRequest => o.pipeline.request_keyframe(),
                VideoFeedback::Loss { fraction_lost } => o.pipeline.on_loss_report(fraction_lost),
                VideoFeedback::Nack { packets } => o.pipeline.on_nack(packets),
            }
        }
    }

    /// Sends a request for this call; `on_error` runs (on the runtime) if it fails.
    fn request(
        &self,
        make: impl FnOnce(u64, String) -> ClientMessage + Send + 'static,
        on_error: impl FnOnce(String) + Send + 'static,
    ) {
        let Some(agent) = self.agent() else { return };
        let super::call_agent::Link::Up(sig, _) = agent.0.link.borrow().clone() else {
            on_error("not connected to the service".into());
            return;
        };
        let call_id = self.call_id().to_string();
        agent.0.client.0.handle.spawn(async move {
            match sig.request(|req| make(req, call_id)).await {
                Ok(Ok(_)) => {}
                Ok(Err(e)) => on_error(e.message),
                Err(e) => on_error(e.to_string()),
            }
        });
    }
}
