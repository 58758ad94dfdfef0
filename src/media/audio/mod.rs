//! Audio pipeline: devices (virtual and cpal), Opus, jitter buffer, mixer and the per-call
//! engine. Internally everything is 48 kHz mono i16 in 20 ms frames.
//!
//! The public signatures here are the contract the call logic and the C API build on.

mod analysis;
mod codec;
mod cpal_backend;
mod devices;
mod engine;
pub mod jitter;
mod mixer;
mod processing;
mod wav;

#[cfg(test)]
mod tests;

use super::MediaError;
use std::sync::Arc;
use std::time::Instant;

pub use analysis::{audio_level, VOICE_ACTIVITY_LEVEL};
pub use devices::PUSH_QUEUE_MS;

/// Sample rate of every PCM buffer crossing the API.
pub const SAMPLE_RATE: u32 = 48_000;
/// Frame duration.
pub const FRAME_MS: u32 = 20;
/// Samples per mono 20 ms frame.
pub const FRAME_SAMPLES: usize = 960;

/// Microphone or speaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceKind {
    Microphone,
    Speaker,
}

/// An audio device: a real one (cpal) or a virtual one. Cheap to clone (Arc inside).
/// Methods are in `devices.rs`.
#[derive(Clone)]
pub struct AudioDevice(Arc<devices::DeviceInner>);

/// Devices the system offers (cpal's default host), listed, not necessarily openable.
/// Never panics; an empty list when the host cannot enumerate.
pub fn system_devices(kind: DeviceKind) -> Vec<AudioDevice> {
    cpal_backend::list(kind)
}

/// Opens and closes a capture stream on a cpal microphone (None = the default) to learn
/// whether it may be used; the device name, or why not.
pub(crate) fn probe_microphone(
    cpal_id: Option<&str>,
) -> Result<String, cpal_backend::ProbeFailure> {
    cpal_backend::probe_microphone(cpal_id)
}

/// The system's default device of `kind` (id `cpal:in:default` / `cpal:out:default`),
/// resolved when an engine opens it; opening fails with `MediaError::Device` when there is none.
pub fn default_system_device(kind: DeviceKind) -> AudioDevice {
    cpal_backend::default_device(kind)
}

/// One encoded 20 ms Opus frame, ready for RTP.
#[derive(Debug, Clone)]
pub struct EncodedAudioFrame {
    pub payload: Vec<u8>,
    /// RTP timestamp increment (960 at 48 kHz).
    pub samples: u32,
    /// Samples of frames not sent right before this one (muted DTX): the RTP clock runs on
    /// over them, so the receiver sees a timestamp gap, not loss.
    pub skipped_before: u32,
    /// RFC 6464 level, -dBov 0..=127 (127 = silence).
    pub audio_level: u8,
    /// `audio_level < VOICE_ACTIVITY_LEVEL`.
    pub voice_activity: bool,
    /// When the frame's last sample was captured (the send tick for virtual microphones).
    pub capture_time: Instant,
}

/// Counters for tests and benchmarks.
#[derive(Debug, Clone, Default)]
pub struct AudioStats {
    /// Frames handed to the sink.
    pub frames_sent: u64,
    /// Muted frames not sent (DTX: a muted microphone sends one comfort frame per
    /// `DTX_INTERVAL_FRAMES`).
    pub frames_dtx_skipped: u64,
    /// RTP payloads accepted by `receive_rtp` (all slots).
    pub frames_received: u64,
    /// Frames decoded from received packets and played (all slots).
    pub frames_played: u64,
    /// Frames concealed (PLC or FEC) (all slots).
    pub frames_concealed: u64,
    /// Packets that arrived after their playout turn (dropped).
    pub frames_late: u64,
    /// Sequence numbers never received.
    pub frames_lost: u64,
    /// Duplicates and frames dropped to cap the jitter buffer depth.
    pub frames_dropped: u64,
    /// Times a playing stream ran dry.
    pub underruns: u64,
    /// Mixed frames written to the speaker (one per playout tick).
    pub speaker_frames: u64,
    /// Mean time from a frame's capture to the sink call (encode), µs.
    pub avg_capture_to_sink_us: u64,
    /// Mean time a played packet waited between `receive_rtp` and the speaker, µs.
    pub avg_receive_to_play_us: u64,
    /// Longest such wait, µs.
    pub max_receive_to_play_us: u64,
}

/// Echo cancellation, noise suppression and automatic gain control, applied to what a real
/// (cpal) microphone captures before it is encoded. All on by default; virtual microphones are
/// never processed (they carry no room sound).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AudioProcessing {
    /// Remove what the speaker played from what the microphone hears.
    pub echo_cancellation: bool,
    /// Suppress stationary background noise.
    pub noise_suppression: bool,
    /// Adapt the microphone level towards a constant loudness.
    pub auto_gain: bool,
}

impl Default for AudioProcessing {
    fn default() -> Self {
        Self::ALL
    }
}

impl AudioProcessing {
    /// Everything on (the default).
    pub const ALL: Self = Self {
        echo_cancellation: true,
        noise_suppression: true,
        auto_gain: true,
    };
    /// Everything off: the microphone is sent as captured.
    pub const NONE: Self = Self {
        echo_cancellation: false,
        noise_suppression: false,
        auto_gain: false,
    };

    /// Whether any processing is on.
    pub fn any(&self) -> bool {
        self.echo_cancellation || self.noise_suppression || self.auto_gain
    }
}

/// The per-call audio pipeline: capture → Opus → `sink`; RTP payloads per slot → jitter buffer
/// → decode → mix → speaker. Methods are in `engine.rs`.
pub struct AudioEngine(engine::EngineInner);

/// Power of `freq_hz` in `samples` (48 kHz) by the Goertzel algorithm, relative to full scale:
/// a full-scale sine at `freq_hz` reads ≈ 0.5 (a sine of amplitude `a` in 0..1 reads ≈ a²/2),
/// silence reads 0.
pub fn tone_power(samples: &[i16], freq_hz: f32) -> f32 {
    analysis::tone_power(samples, freq_hz)
}

/// Ratio in dB of a tone at `freq_hz` to the rest of `samples` (48 kHz): distortion and noise
/// against the tone; a clean tone through Opus reads about 30 dB, silence `-inf`.
pub fn tone_to_noise_db(samples: &[i16], freq_hz: f32) -> f32 {
    analysis::tone_to_noise_db(samples, freq_hz)
}
