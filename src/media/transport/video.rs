//! The video half of the transport: H.264 send tracks (camera, screen share) fed from any
//! thread through [`VideoSender`], receiver feedback (keyframe requests, loss) read from
//! the send tracks, and keyframe requests (PLI) written on the receive slots.

use super::events::Shared;
use super::feedback::{interpret, VideoFeedback};
use crate::media::video::EncodedVideo;
use crate::protocol::VideoStreamKind;
use bytes::Bytes;
use parking_lot::Mutex;
use rtc::media::Sample;
use rtc::rtcp::payload_feedbacks::picture_loss_indication::PictureLossIndication;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use webrtc::media_stream::track_local::static_sample::TrackLocalStaticSample;
use webrtc::media_stream::track_local::{TrackLocal, TrackLocalEvent};
use webrtc::media_stream::track_remote::TrackRemote;

/// Encoded frames queued between an encoder thread and the send task. Video frames are big
/// and late ones worthless: a short queue, and the encoder learns about drops (it then sends
/// a keyframe so the receiver recovers).
const QUEUE_FRAMES: usize = 4;

/// H.264 as Chromium offers it (constrained baseline 3.1, non-interleaved mode), with the
/// feedback the SFU and the receivers use: NACK, PLI and FIR.
pub(super) const H264_PT: u8 = 102;
/// Payload type of H.264 retransmissions (RTX, RFC 4588).
pub(super) const RTX_PT: u8 = 103;
pub(super) const H264_FMTP: &str =
    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f";

/// One encoded access unit on its way to the wire.
struct QueuedFrame {
    data: Vec<u8>,
    at: Instant,
    duration: Duration,
}

/// Counters of one send track.
#[derive(Debug, Default)]
pub(super) struct SendCounters {
    pub frames_sent: AtomicU64,
    pub frames_dropped: AtomicU64,
    pub bytes_sent: AtomicU64,
}

/// A video send track and its tasks.
pub(super) struct VideoTrack {
    pub kind: VideoStreamKind,
    pub track: Arc<TrackLocalStaticSample>,
    pub ssrc: u32,
    tx: mpsc::Sender<QueuedFrame>,
    rx: Mutex<Option<mpsc::Receiver<QueuedFrame>>>,
    pub counters: Arc<SendCounters>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
}

impl VideoTrack {
    pub fn new(kind: VideoStreamKind, track: Arc<TrackLocalStaticSample>, ssrc: u32) -> Arc<Self> {
        let (tx, rx) = mpsc::channel(QUEUE_FRAMES);
        Arc::new(Self {
            kind,
            track,
            ssrc,
            tx,
            rx: Mutex::new(Some(rx)),
            counters: Arc::new(SendCounters::default()),
            tasks: Mutex::new(Vec::new()),
        })
    }

    /// Starts the send and feedback tasks once the answer settled the payload type.
    pub fn start(self: &Arc<Self>, shared: Arc<Shared>, payload_type: u8) {
        let Some(rx) = self.rx.lock().take() else {
            return; // already started
        };
        let send = tokio::spawn(run_send(
            rx,
            Arc::clone(&self.track),
            self.ssrc,
            payload_type,
            Arc::clone(&self.counters),
        ));
        let feedback = tokio::spawn(run_feedback(
            Arc::clone(&self.track),
            shared,
            self.kind,
            self.ssrc,
        ));
        self.tasks.lock().extend([send, feedback]);
    }

    pub fn stop(&self) {
        for t in self.tasks.lock().drain(..) {
            t.abort();
        }
    }
}

/// Non-blocking handle to send one kind of video (camera or screen share) from any thread.
#[derive(Clone)]
pub struct VideoSender {
    track: Arc<VideoTrack>,
    shared: Arc<Shared>,
}

impl VideoSender {
    pub(super) fn new(track: Arc<VideoTrack>, shared: Arc<Shared>) -> Self {
        Self { track, shared }
    }

    /// Queues one encoded access unit. `duration` is the time to the next frame (it advances
    /// the RTP clock). Returns false when the frame was dropped (not connected yet, queue
    /// full, closed): the encoder should then make its next frame a keyframe.
    pub fn send(&self, frame: EncodedVideo, at: Instant, duration: Duration) -> bool {
        if !self.shared.is_connected() {
            self.track
                .counters
                .frames_dropped
                .fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let queued = QueuedFrame {
            data: frame.data,
            at,
            duration,
        };
        if self.track.tx.try_send(queued).is_err() {
            self.track
                .counters
                .frames_dropped
                .fetch_add(1, Ordering::Relaxed);
            return false;
        }
        true
    }

    /// Frames handed to the wire / dropped, and payload bytes sent.
    pub fn stats(&self) -> (u64, u64, u64) {
        let c = &self.track.counters;
        (
            c.frames_sent.load(Ordering::Relaxed),
            c.frames_dropped.load(Ordering::Relaxed),
            c.bytes_sent.load(Ordering::Relaxed),
        )
    }
}

async fn run_send(
    mut rx: mpsc::Receiver<QueuedFrame>,
    track: Arc<TrackLocalStaticSample>,
    ssrc: u32,
    payload_type: u8,
    counters: Arc<SendCounters>,
) {
    while let Some(f) = rx.recv().await {
        let len = f.data.len() as u64;
        let sample = Sample {
            data: Bytes::from(f.data),
            timestamp: f.at,
            duration: f.duration,
            packet_timestamp: 0,
            prev_dropped_packets: 0,
            prev_padding_packets: 0,
        };
        match track.write_sample(ssrc, payload_type, &sample, &[]).await {
            Ok(()) => {
                counters.frames_sent.fetch_add(1, Ordering::Relaxed);
                counters.bytes_sent.fetch_add(len, Ordering::Relaxed);
            }
            Err(e) => {
                counters.frames_dropped.fetch_add(1, Ordering::Relaxed);
                log::debug!("video send: {e}");
            }
        }
    }
}

/// Reads the feedback the [`feedback`](super::feedback) interceptor marked for this track.
async fn run_feedback(
    track: Arc<TrackLocalStaticSample>,
    shared: Arc<Shared>,
    kind: VideoStreamKind,
    ssrc: u32,
) {
    while let Some(event) = track.poll().await {
        let TrackLocalEvent::OnRtcpPacket(packets) = event else {
            continue;
        };
        interpret(&packets, ssrc, |f: VideoFeedback| {
            shared.events.on_video_feedback(kind, f)
        });
    }
}

/// A video receive slot's track and the SSRC it last received.
type SlotTrack = (VideoStreamKind, usize, Arc<dyn TrackRemote>, u32);

/// The receive slots' tracks, kept to write keyframe requests about what they receive.
#[derive(Default)]
pub(super) struct RecvTracks {
    tracks: Mutex<Vec<SlotTrack>>,
}

impl RecvTracks {
    /// Remembers (or updates) the track and the SSRC it last received on a slot.
    pub fn note(
        &self,
        kind: VideoStreamKind,
        slot: usize,
        track: &Arc<dyn TrackRemote>,
        ssrc: u32,
    ) {
        let mut t = self.tracks.lock();
        if let Some(e) = t.iter_mut().find(|e| e.0 == kind && e.1 == slot) {
            if e.3 != ssrc || !Arc::ptr_eq(&e.2, track) {
                e.2 = Arc::clone(track);
                e.3 = ssrc;
            }
        } else {
            t.push((kind, slot, Arc::clone(track), ssrc));
        }
    }

    /// Sends a PLI (from a task on `rt`) for what a slot receives. False when nothing was
    /// received there yet.
    pub fn request_keyframe(
        &self,
        rt: &tokio::runtime::Handle,
        kind: VideoStreamKind,
        slot: usize,
    ) -> bool {
        let found = self
            .tracks
            .lock()
            .iter()
            .find(|e| e.0 == kind && e.1 == slot)
            .map(|e| (Arc::clone(&e.2), e.3));
        let Some((track, media_ssrc)) = found else {
            return false;
        };
        rt.spawn(async move {
            let pli = PictureLossIndication {
                sender_ssrc: 0,
                media_ssrc,
            };
            if let Err(e) = track.write_rtcp(vec![Box::new(pli)]).await {
                log::debug!("video: PLI not sent: {e}");
            }
        });
        true
    }
}
