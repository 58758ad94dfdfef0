//! Video of a call, the host's side: the outgoing streams (camera, screen share) it starts
//! and stops, and the remote streams it subscribes into this client's receive slots. The
//! pipelines live in the call's media; the service hears of streams through the machine
//! (which fails a stream whose announcement is unanswered after the modality timeout).

use super::call::{Call, CallInner};
use super::local_video_stream::{LocalVideoStream, SourceWatch, VideoSourceKind};
use super::remote_video::{RemoteVideoStream, StreamOwner};
use crate::error::{Error, Result};
use crate::media::video::{DecodeStats, EncodeStats, FrameBus, ShareState};
use crate::protocol::{ClientMessage, VideoStreamKind};
use std::sync::Arc;

impl StreamOwner for CallInner {
    fn subscribe(self: Arc<Self>, stream: &RemoteVideoStream) -> Result<()> {
        Call(self).subscribe_video(stream)
    }
    fn unsubscribe(self: Arc<Self>, stream: &RemoteVideoStream) -> Result<()> {
        Call(self).unsubscribe_video(stream)
    }
    fn decode_stats(self: Arc<Self>, stream: &RemoteVideoStream) -> Option<DecodeStats> {
        self.media.decode_stats(stream)
    }
}

impl Call {
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
        self.0.media.local_video_stream(kind)
    }

    fn start_local(&self, kind: VideoStreamKind, stream: &LocalVideoStream) -> Result<()> {
        let fps = match stream.source() {
            VideoSourceKind::Virtual(cfg) => (cfg.fps as f32).clamp(1.0, 60.0),
            // The capture's own rate (a still screen sends only its changes anyway).
            VideoSourceKind::Screen(_) => stream
                .screen_capture_fps()
                .map_or(30.0, |f| (f as f32).clamp(1.0, 60.0)),
            _ => 30.0,
        };
        // The source's pauses and end reach the machine on the source's own thread, in
        // order (the machine decides what the host hears).
        let weak = Arc::downgrade(&self.0);
        let watch = stream.watch_source(Arc::new(move |state: &ShareState| {
            if let Some(inner) = weak.upgrade() {
                Call(inner).drive(|m, _| m.source_state(kind, state));
            }
        }));
        self.start_outgoing(kind, stream.bus(), fps, Some((stream.clone(), watch)))?;
        // A source paused (or ended) before the call took it.
        if let Some(state) = stream.share_state().filter(|s| *s != ShareState::Active) {
            self.drive(|m, _| m.source_state(kind, &state));
        }
        Ok(())
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
        local: Option<(LocalVideoStream, SourceWatch)>,
    ) -> Result<()> {
        self.require_live()?;
        if !(1.0..=60.0).contains(&max_fps) {
            return Err(Error::InvalidArgument(format!(
                "frame rate {max_fps} is not within 1..=60"
            )));
        }
        self.0.media.start_outgoing(kind, bus, max_fps, local)?;
        self.drive(|m, now| m.set_video(kind, true, now));
        Ok(())
    }

    /// Stops sending the `kind` stream (a no-op when it is not sent).
    pub fn stop_video(&self, kind: VideoStreamKind) -> Result<()> {
        if self.0.media.is_sending_video(kind) {
            // The machine first: the host's Stopped event names the stream still sent.
            self.drive(|m, now| m.set_video(kind, false, now));
            self.0.media.stop_outgoing(kind);
        }
        Ok(())
    }

    /// Whether this call sends a `kind` stream.
    pub fn is_sending_video(&self, kind: VideoStreamKind) -> bool {
        self.0.media.is_sending_video(kind)
    }

    /// The frame bus the `kind` stream is sent from (a local preview renders it).
    pub fn outgoing_video_frames(&self, kind: VideoStreamKind) -> Option<Arc<FrameBus>> {
        self.0.media.outgoing_frames(kind)
    }

    /// Encoder counters of the `kind` stream while it is sent.
    pub fn video_send_stats(&self, kind: VideoStreamKind) -> Option<EncodeStats> {
        self.0.media.video_send_stats(kind)
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
        if self.0.media.transport().is_none() {
            return Err(Error::InvalidState(
                "the call's media is not set up yet".into(),
            ));
        }
        let Some(slot) = self.0.media.take_slot(stream)? else {
            return Ok(());
        };
        self.send_subscribe(stream, slot, |call, s, err| {
            log::warn!(
                "subscribing to {}'s video failed: {err}",
                s.participant_id()
            );
            call.0.media.release_slot(s);
        });
        Ok(())
    }

    /// Asks the service to forward `stream` into our receive slot `slot`; `refused` runs
    /// with the service's reason if it says no.
    pub(crate) fn send_subscribe(
        &self,
        stream: &RemoteVideoStream,
        slot: usize,
        refused: impl FnOnce(&Call, &RemoteVideoStream, &str) + Send + 'static,
    ) {
        let (kind, participant) = (stream.kind(), stream.participant_id().to_string());
        let (call, s) = (self.clone(), stream.clone());
        self.request(
            move |req, call_id| ClientMessage::SubscribeVideo {
                req,
                call_id,
                participant,
                kind,
                slot: slot as u32,
            },
            move |r| {
                if let Err((_, err)) = r {
                    refused(&call, &s, &err);
                }
            },
        );
    }
}
