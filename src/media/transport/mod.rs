//! The media transport: one webrtc PeerConnection from the SDK to the service's SFU.
//!
//! The SDK always offers, the SFU (str0m, ice-lite) answers. Audio uses fixed receive slots:
//! m-line `i` (mid `"i"`) is slot `i`; slot 0 is sendrecv and carries the participant's own
//! audio, the others are recvonly and carry whatever the SFU forwards into them.
//!
//! With `video` on, m-lines follow the audio ones: camera send, `VIDEO_SLOTS` camera receive
//! slots, screen-share send, one screen-share receive slot (H.264, NACK/PLI/FIR).
//!
//! Module layout: `setup` builds the PeerConnection, `events` turns its callbacks into
//! [`TransportEvents`], `send` is the RTP send task behind [`AudioSender`], `video` the
//! H.264 tracks behind [`VideoSender`], `feedback` the receiver feedback about our video.

mod events;
mod feedback;
mod send;
mod setup;
mod video;

pub use feedback::VideoFeedback;
pub use video::VideoSender;

use super::audio::EncodedAudioFrame;
use super::MediaError;
use crate::protocol::VideoStreamKind;
use events::Shared;
use send::{SendParams, SendQueue};
use std::net::{IpAddr, SocketAddr, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use webrtc::peer_connection::{
    PeerConnection, RTCSessionDescription, RTCStatsReport, StatsSelector,
};
use webrtc::rtp_transceiver::RtpTransceiver;

/// How long `create_offer` waits for host candidate gathering (host-only: normally < 5 ms).
const GATHER_TIMEOUT: Duration = Duration::from_secs(5);

/// Transport settings.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Local address to gather a host candidate on (the interface that reaches the service).
    pub local_ip: IpAddr,
    /// Number of audio receive slots; m-line "0" is sendrecv, "1".."n-1" are recvonly.
    pub audio_slots: usize,
    /// Offer the video m-lines (camera and screen share, send and receive slots).
    pub video: bool,
}

/// A receive slot: an audio slot, or a camera / screen-share video slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RecvSlot {
    Audio(usize),
    Video(VideoStreamKind, usize),
}

/// Connection state of the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportState {
    Connecting,
    Connected,
    /// No packets from the SFU for a while (ICE consent lapsed): the path may come back by
    /// itself, or after an ICE restart; `Connected` again when it does.
    Disconnected,
    Failed,
    Closed,
}

/// Callbacks from the transport (called from its tasks; must not block).
pub trait TransportEvents: Send + Sync + 'static {
    fn on_state(&self, state: TransportState);
    fn on_audio(&self, slot: usize, seq: u16, timestamp: u32, payload: &[u8]);
    /// The RFC 6464 level of a packet received in `slot` (-dBov: 0 loudest, 127 silence),
    /// called before its `on_audio` when the packet carries one.
    fn on_audio_level(&self, _slot: usize, _level: u8) {}
    /// An RTP packet received in a video slot (H.264, to depacketize and decode).
    fn on_video_rtp(&self, _kind: VideoStreamKind, _slot: usize, _packet: &rtc::rtp::Packet) {}
    /// Receiver feedback about the video we send.
    fn on_video_feedback(&self, _kind: VideoStreamKind, _feedback: VideoFeedback) {}
}

/// Counters of the transport, for tests and benchmarks.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TransportStats {
    /// RTP packets handed to the PeerConnection by the send task.
    pub packets_sent: u64,
    /// Frames dropped by [`AudioSender::send`]: queue full, not connected yet, or closed.
    pub frames_dropped: u64,
    /// RTP packets delivered to [`TransportEvents::on_audio`] and
    /// [`TransportEvents::on_video_rtp`], all slots together.
    pub packets_received: u64,
}

/// Non-blocking handle to send audio frames from any thread.
#[derive(Clone)]
pub struct AudioSender(Arc<SendQueue>);

impl AudioSender {
    /// Queue one encoded frame for slot 0. Never blocks: the frame is dropped (and counted in
    /// [`TransportStats::frames_dropped`]) when the transport is not connected or the queue
    /// is full.
    pub fn send(&self, frame: EncodedAudioFrame) {
        self.0.push(frame);
    }
}

/// One PeerConnection to the service's SFU.
pub struct MediaTransport(Arc<Inner>);

struct Inner {
    pc: Arc<dyn PeerConnection>,
    shared: Arc<Shared>,
    queue: Arc<SendQueue>,
    /// The sendrecv transceiver of slot 0.
    send_transceiver: Arc<dyn RtpTransceiver>,
    /// All audio transceivers, in slot order.
    transceivers: Vec<Arc<dyn RtpTransceiver>>,
    /// Video receive transceivers with their kind and slot.
    video_recv: Vec<(Arc<dyn RtpTransceiver>, VideoStreamKind, usize)>,
    /// Video send transceivers and their tracks.
    video_send: Vec<(Arc<dyn RtpTransceiver>, Arc<video::VideoTrack>)>,
    runtime: tokio::runtime::Handle,
    closed: AtomicBool,
}

impl MediaTransport {
    /// Build the PeerConnection: Opus + audio-level + mid, host candidates on
    /// `cfg.local_ip` only, `cfg.audio_slots` audio transceivers (slot 0 sendrecv). Must be
    /// called inside a tokio runtime; the transport's tasks run on it.
    pub async fn new(
        cfg: TransportConfig,
        events: Arc<dyn TransportEvents>,
    ) -> Result<Self, MediaError> {
        if cfg.audio_slots == 0 {
            return Err(MediaError::Transport(
                "audio_slots must be at least 1 (slot 0 carries our own audio)".into(),
            ));
        }
        let shared = Arc::new(Shared::new(events, Instant::now()));
        let built = setup::build(&cfg, Arc::clone(&shared)).await?;
        let queue = SendQueue::start(Arc::clone(&shared), built.local_track, built.ssrc);
        Ok(Self(Arc::new(Inner {
            pc: built.pc,
            shared,
            queue,
            send_transceiver: built.transceivers[0].clone(),
            transceivers: built.transceivers,
            video_recv: built.video_recv,
            video_send: built.video_send,
            runtime: tokio::runtime::Handle::current(),
            closed: AtomicBool::new(false),
        })))
    }

    /// Create the offer, set it as local description, wait until host candidates are
    /// gathered (no trickle) and return the complete SDP.
    pub async fn create_offer(&self) -> Result<String, MediaError> {
        let mut gathered = self.0.shared.gathering_complete.subscribe();
        self.offer_and_gather(&mut gathered, "").await?;
        self.map_slots().await?;
        self.gathered_sdp().await
    }

    /// ICE restart (RFC 8445 §9): new ICE credentials on the same PeerConnection, so the
    /// media path is found again after the network changed or was lost; DTLS, SRTP and every
    /// m-line stay. Returns the offer to send to the SFU; its answer goes to
    /// [`Transport::apply_restart_answer`].
    pub async fn restart_ice_offer(&self) -> Result<String, MediaError> {
        self.0.shared.gathering_complete.send_replace(false);
        let mut gathered = self.0.shared.gathering_complete.subscribe();
        self.0
            .pc
            .restart_ice()
            .await
            .map_err(|e| transport_err("restart ICE", e))?;
        self.offer_and_gather(&mut gathered, " (ICE restart)")
            .await?;
        self.gathered_sdp().await
    }

    /// Creates an offer, sets it as the local description and waits (bounded) for ICE
    /// gathering to complete; `what` tells the errors apart.
    async fn offer_and_gather(
        &self,
        gathered: &mut tokio::sync::watch::Receiver<bool>,
        what: &str,
    ) -> Result<(), MediaError> {
        let pc = &self.0.pc;
        let offer = pc
            .create_offer(None)
            .await
            .map_err(|e| transport_err(&format!("create offer{what}"), e))?;
        pc.set_local_description(offer)
            .await
            .map_err(|e| transport_err(&format!("set local description{what}"), e))?;
        tokio::time::timeout(GATHER_TIMEOUT, gathered.wait_for(|done| *done))
            .await
            .map_err(|_| MediaError::Transport("ICE gathering did not complete in 5 s".into()))?
            .map_err(|_| MediaError::Transport("transport closed while gathering".into()))?;
        Ok(())
    }

    /// The local description once gathering is complete.
    async fn gathered_sdp(&self) -> Result<String, MediaError> {
        let desc =
            self.0.pc.local_description().await.ok_or_else(|| {
                MediaError::Transport("no local description after gathering".into())
            })?;
        Ok(desc.sdp)
    }

    /// Applies the SFU's answer to [`Transport::restart_ice_offer`].
    pub async fn apply_restart_answer(&self, sdp: String) -> Result<(), MediaError> {
        let desc =
            RTCSessionDescription::answer(sdp).map_err(|e| transport_err("parse answer SDP", e))?;
        self.0
            .pc
            .set_remote_description(desc)
            .await
            .map_err(|e| transport_err("set remote description (ICE restart)", e))
    }

    /// Apply the SFU's answer. On success the state becomes `Connecting`; `Connected` follows
    /// once ICE and DTLS are done.
    pub async fn apply_answer(&self, sdp: String) -> Result<(), MediaError> {
        let desc =
            RTCSessionDescription::answer(sdp).map_err(|e| transport_err("parse answer SDP", e))?;
        self.0
            .pc
            .set_remote_description(desc)
            .await
            .map_err(|e| transport_err("set remote description", e))?;
        let params = self.negotiated_send_params().await?;
        self.0.shared.set_send_params(params);
        for (t, track) in &self.0.video_send {
            match video_payload_type(t).await {
                Some(pt) => track.start(Arc::clone(&self.0.shared), pt),
                None => log::warn!(
                    "transport: the answer did not accept H.264 for {:?}",
                    track.kind
                ),
            }
        }
        self.0.shared.emit_state(TransportState::Connecting);
        Ok(())
    }

    /// Handle to send one kind of video from any thread (None without video m-lines).
    pub fn video_sender(&self, kind: VideoStreamKind) -> Option<VideoSender> {
        self.0
            .video_send
            .iter()
            .find(|(_, t)| t.kind == kind)
            .map(|(_, t)| VideoSender::new(Arc::clone(t), Arc::clone(&self.0.shared)))
    }

    /// Asks whoever sends into a video receive slot for a keyframe (PLI). False when the
    /// slot has received nothing yet.
    pub fn request_keyframe(&self, kind: VideoStreamKind, slot: usize) -> bool {
        self.0
            .shared
            .video_tracks
            .request_keyframe(&self.0.runtime, kind, slot)
    }

    /// Handle to send our own audio (slot 0) from any thread.
    pub fn audio_sender(&self) -> AudioSender {
        AudioSender(Arc::clone(&self.0.queue))
    }

    /// Close the PeerConnection. Idempotent; emits `Closed` once.
    pub async fn close(&self) {
        if self.0.closed.swap(true, Ordering::AcqRel) {
            return;
        }
        self.0.queue.stop();
        for (_, t) in &self.0.video_send {
            t.stop();
        }
        if let Err(e) = self.0.pc.close().await {
            log::debug!("transport: PeerConnection close: {e}");
        }
        self.0.shared.stop_tasks();
        self.0.shared.emit_state(TransportState::Closed);
    }

    /// Time from `new()` to `Connected`, once connected.
    pub fn connect_time(&self) -> Option<Duration> {
        self.0.shared.connect_time()
    }

    /// Last state reported through [`TransportEvents::on_state`], if any.
    pub fn state(&self) -> Option<TransportState> {
        self.0.shared.state()
    }

    /// The PeerConnection's W3C statistics (RTP streams, candidate pairs, RTCP reports).
    pub async fn rtc_stats(&self) -> RTCStatsReport {
        self.0
            .pc
            .get_stats(Instant::now(), StatsSelector::None)
            .await
    }

    /// Counters for tests and benchmarks.
    pub fn stats(&self) -> TransportStats {
        self.0.shared.stats()
    }

    /// After the local description is set: read every transceiver's mid and map it to its
    /// slot. The mids must be "0".."n-1" in creation order (the call logic and the SFU rely
    /// on slot i = mid i).
    async fn map_slots(&self) -> Result<(), MediaError> {
        let mut map = Vec::with_capacity(self.0.transceivers.len());
        for (slot, t) in self.0.transceivers.iter().enumerate() {
            let mid = t
                .mid()
                .await
                .map_err(|e| transport_err("read transceiver mid", e))?;
            if mid.as_deref() != Some(slot.to_string().as_str()) {
                return Err(MediaError::Transport(format!(
                    "audio transceiver {slot} got mid {mid:?}, expected \"{slot}\""
                )));
            }
            map.push((t.id(), RecvSlot::Audio(slot)));
        }
        for (t, kind, slot) in &self.0.video_recv {
            map.push((t.id(), RecvSlot::Video(*kind, *slot)));
        }
        self.0.shared.set_slots(map);
        Ok(())
    }

    /// Payload type and header-extension ids the answer settled for slot 0's sender.
    async fn negotiated_send_params(&self) -> Result<SendParams, MediaError> {
        let sender = self
            .0
            .send_transceiver
            .sender()
            .await
            .map_err(|e| transport_err("read sender", e))?
            .ok_or_else(|| MediaError::Transport("slot 0 has no sender".into()))?;
        let params = sender
            .get_parameters()
            .await
            .map_err(|e| transport_err("read sender parameters", e))?;
        SendParams::from_negotiated(&params.rtp_parameters)
    }
}

/// The payload type the answer settled for a video send transceiver.
async fn video_payload_type(t: &Arc<dyn RtpTransceiver>) -> Option<u8> {
    let sender = t.sender().await.ok()??;
    let params = sender.get_parameters().await.ok()?;
    params
        .rtp_parameters
        .codecs
        .iter()
        .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case("video/h264"))
        .map(|c| c.payload_type)
}

impl Drop for Inner {
    fn drop(&mut self) {
        // Without close(): stop our tasks; the PeerConnection's own drop stops its driver.
        self.queue.stop();
        for (_, t) in &self.video_send {
            t.stop();
        }
        self.shared.stop_tasks();
    }
}

/// The local address the OS would use to reach `service` (no packet is sent): the address to
/// put in [`TransportConfig::local_ip`].
pub fn local_ip_for(service: SocketAddr) -> Result<IpAddr, MediaError> {
    let any: SocketAddr = if service.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = UdpSocket::bind(any)?;
    socket.connect(service)?;
    Ok(socket.local_addr()?.ip())
}

fn transport_err(what: &str, e: impl std::fmt::Display) -> MediaError {
    MediaError::Transport(format!("{what}: {e}"))
}
