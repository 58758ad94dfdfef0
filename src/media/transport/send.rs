//! The send side: a bounded queue fed from any thread, drained by one task that turns each
//! encoded frame into one RTP packet on slot 0.

use super::events::Shared;
use super::setup::{AUDIO_LEVEL_URI, MID_URI};
use super::{EncodedAudioFrame, MediaError};
use bytes::Bytes;
use parking_lot::Mutex;
use rtc::rtp::header::{Header, EXTENSION_PROFILE_TWO_BYTE};
use rtc::rtp::Packet;
use rtc::rtp_transceiver::rtp_sender::RTCRtpParameters;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use webrtc::media_stream::track_local::static_rtp::TrackLocalStaticRTP;
use webrtc::media_stream::track_local::TrackLocal;

/// Frames queued between the audio thread and the send task: 10 x 20 ms. A send task that
/// is 200 ms behind is better served by dropping than by adding latency.
const QUEUE_FRAMES: usize = 10;

/// What the answer settled for slot 0's sender.
#[derive(Debug, Clone)]
pub(super) struct SendParams {
    payload_type: u8,
    audio_level_id: Option<u8>,
    mid_id: Option<u8>,
}

impl SendParams {
    /// The negotiated RFC 6464 extension id (the SFU writes forwarded levels with it too).
    pub fn audio_level_id(&self) -> Option<u8> {
        self.audio_level_id
    }

    /// Opus payload type and extension ids from the negotiated sender parameters.
    pub fn from_negotiated(params: &RTCRtpParameters) -> Result<Self, MediaError> {
        let opus = params
            .codecs
            .iter()
            .find(|c| c.rtp_codec.mime_type.eq_ignore_ascii_case("audio/opus"))
            .ok_or_else(|| {
                let offered: Vec<_> = params
                    .codecs
                    .iter()
                    .map(|c| format!("{}/{}", c.rtp_codec.mime_type, c.payload_type))
                    .collect();
                MediaError::Transport(format!(
                    "answer did not accept Opus on mid 0 (negotiated: {offered:?})"
                ))
            })?;
        let ext_id = |uri: &str| {
            params
                .header_extensions
                .iter()
                .find(|e| e.uri == uri)
                .and_then(|e| u8::try_from(e.id).ok())
                .filter(|id| *id >= 1)
        };
        let audio_level_id = ext_id(AUDIO_LEVEL_URI);
        if audio_level_id.is_none() {
            log::warn!("transport: answer dropped the audio-level extension; SFU cannot rank us");
        }
        Ok(Self {
            payload_type: opus.payload_type,
            audio_level_id,
            mid_id: ext_id(MID_URI),
        })
    }

    /// One RTP packet for one frame: RFC 6464 level (V bit + -dBov) and mid "0".
    fn packet(
        &self,
        ssrc: u32,
        seq: u16,
        timestamp: u32,
        marker: bool,
        frame: EncodedAudioFrame,
    ) -> Packet {
        let mut header = Header {
            version: 2,
            marker,
            payload_type: self.payload_type,
            sequence_number: seq,
            timestamp,
            ssrc,
            ..Default::default()
        };
        let ids = [self.audio_level_id, self.mid_id];
        if ids.iter().flatten().any(|id| *id > 14) {
            // One-byte ids stop at 14 (RFC 8285); the answer chose bigger ones.
            header.extension = true;
            header.extension_profile = EXTENSION_PROFILE_TWO_BYTE;
        }
        if let Some(id) = self.audio_level_id {
            let level = (u8::from(frame.voice_activity) << 7) | frame.audio_level.min(127);
            let _ =
                header.set_extension(id, Bytes::from_static(&LEVEL_BYTES[level as usize..][..1]));
        }
        if let Some(id) = self.mid_id {
            let _ = header.set_extension(id, Bytes::from_static(b"0"));
        }
        Packet {
            header,
            payload: Bytes::from(frame.payload),
        }
    }
}

/// All 256 values of the one-byte audio-level payload, so a packet borrows instead of
/// allocating.
static LEVEL_BYTES: [u8; 256] = {
    let mut t = [0u8; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = i as u8;
        i += 1;
    }
    t
};

pub(super) struct SendQueue {
    tx: mpsc::Sender<EncodedAudioFrame>,
    shared: Arc<Shared>,
    /// Samples of frames dropped on a full queue, so the RTP clock keeps real time.
    skipped_samples: Arc<AtomicU32>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl SendQueue {
    pub fn start(shared: Arc<Shared>, track: Arc<TrackLocalStaticRTP>, ssrc: u32) -> Arc<Self> {
        let (tx, rx) = mpsc::channel(QUEUE_FRAMES);
        let skipped_samples = Arc::new(AtomicU32::new(0));
        let task = tokio::spawn(run(
            rx,
            track,
            Arc::clone(&shared),
            ssrc,
            Arc::clone(&skipped_samples),
        ));
        Arc::new(Self {
            tx,
            shared,
            skipped_samples,
            task: Mutex::new(Some(task)),
        })
    }

    /// Non-blocking: hand a frame to the send task or drop it.
    pub fn push(&self, frame: EncodedAudioFrame) {
        if !self.shared.is_connected() {
            self.shared.frames_dropped.fetch_add(1, Ordering::Relaxed);
            return;
        }
        match self.tx.try_send(frame) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(frame)) => {
                self.shared.frames_dropped.fetch_add(1, Ordering::Relaxed);
                self.skipped_samples.fetch_add(
                    frame.samples.wrapping_add(frame.skipped_before),
                    Ordering::Relaxed,
                );
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.shared.frames_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    pub fn stop(&self) {
        if let Some(task) = self.task.lock().take() {
            task.abort();
        }
    }
}

async fn run(
    mut rx: mpsc::Receiver<EncodedAudioFrame>,
    track: Arc<TrackLocalStaticRTP>,
    shared: Arc<Shared>,
    ssrc: u32,
    skipped_samples: Arc<AtomicU32>,
) {
    let mut seq: u16 = rand::random();
    let mut timestamp: u32 = rand::random();
    let mut first = true;
    while let Some(frame) = rx.recv().await {
        timestamp = timestamp
            .wrapping_add(skipped_samples.swap(0, Ordering::Relaxed))
            .wrapping_add(frame.skipped_before);
        let samples = frame.samples;
        let params = shared.send_params();
        match params {
            Some(params) if shared.is_connected() => {
                let packet = params.packet(ssrc, seq, timestamp, first, frame);
                if track.write_rtp(packet).await.is_ok() {
                    shared.packets_sent.fetch_add(1, Ordering::Relaxed);
                    seq = seq.wrapping_add(1);
                    first = false;
                } else {
                    shared.frames_dropped.fetch_add(1, Ordering::Relaxed);
                }
            }
            _ => {
                shared.frames_dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
        timestamp = timestamp.wrapping_add(samples);
    }
}
