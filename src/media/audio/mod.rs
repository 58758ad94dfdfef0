//! INTERFACE STUB — to be implemented (see the helper brief). Signatures are the contract.
use super::MediaError;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

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
#[derive(Clone)]
pub struct AudioDevice(Arc<()>);

impl AudioDevice {
    pub fn id(&self) -> String {
        unimplemented!()
    }
    pub fn name(&self) -> String {
        unimplemented!()
    }
    pub fn kind(&self) -> DeviceKind {
        unimplemented!()
    }
    pub fn is_default(&self) -> bool {
        unimplemented!()
    }
    pub fn is_virtual(&self) -> bool {
        unimplemented!()
    }
    /// Virtual microphone producing a sine tone.
    pub fn tone_microphone(_name: &str, _freq_hz: f32, _amplitude: f32) -> Self {
        unimplemented!()
    }
    /// Virtual microphone reading a WAV file (PCM16, any rate/channels, resampled), looped or not.
    pub fn wav_microphone(_name: &str, _path: &Path, _looped: bool) -> Result<Self, MediaError> {
        unimplemented!()
    }
    /// Virtual microphone fed by the host with `push_pcm`.
    pub fn push_microphone(_name: &str) -> Self {
        unimplemented!()
    }
    /// Push 48 kHz interleaved PCM (1 or 2 channels) into a push microphone. Returns frames accepted.
    pub fn push_pcm(&self, _samples: &[i16], _channels: u16) -> Result<usize, MediaError> {
        unimplemented!()
    }
    /// Virtual speaker writing everything it plays to a WAV file (48 kHz mono PCM16).
    pub fn wav_speaker(_name: &str, _path: &Path) -> Result<Self, MediaError> {
        unimplemented!()
    }
    /// Virtual speaker buffering what it plays (up to `capacity_ms`) for `pull_pcm`.
    pub fn pull_speaker(_name: &str, _capacity_ms: u32) -> Self {
        unimplemented!()
    }
    /// Take up to `out.len()` mono 48 kHz samples played so far by a pull speaker.
    pub fn pull_pcm(&self, _out: &mut [i16]) -> Result<usize, MediaError> {
        unimplemented!()
    }
    /// Virtual speaker handing every played 20 ms frame to `cb` (on the media thread).
    pub fn callback_speaker(_name: &str, _cb: Box<dyn Fn(&[i16]) + Send + Sync>) -> Self {
        unimplemented!()
    }
}

/// Devices the system offers (cpal), listed, not necessarily openable.
pub fn system_devices(_kind: DeviceKind) -> Vec<AudioDevice> {
    unimplemented!()
}

/// One encoded 20 ms Opus frame, ready for RTP.
#[derive(Debug, Clone)]
pub struct EncodedAudioFrame {
    pub payload: Vec<u8>,
    /// RTP timestamp increment (960 at 48 kHz).
    pub samples: u32,
    /// RFC 6464 level, -dBov 0..=127 (127 = silence).
    pub audio_level: u8,
    pub voice_activity: bool,
    pub capture_time: Instant,
}

/// Counters for tests and benchmarks.
#[derive(Debug, Clone, Default)]
pub struct AudioStats {
    pub frames_sent: u64,
    pub frames_received: u64,
    pub frames_played: u64,
    pub frames_concealed: u64,
}

/// The per-call audio pipeline: capture → Opus → `sink`; RTP payloads per slot → jitter buffer → decode → mix → speaker.
pub struct AudioEngine(());

impl AudioEngine {
    pub fn start(
        _microphone: AudioDevice,
        _speaker: AudioDevice,
        _slots: usize,
        _sink: Box<dyn FnMut(EncodedAudioFrame) + Send>,
    ) -> Result<Self, MediaError> {
        unimplemented!()
    }
    pub fn receive_rtp(&self, _slot: usize, _seq: u16, _timestamp: u32, _payload: &[u8]) {
        unimplemented!()
    }
    pub fn set_muted(&self, _muted: bool) {
        unimplemented!()
    }
    pub fn set_sending(&self, _sending: bool) {
        unimplemented!()
    }
    pub fn set_playing(&self, _playing: bool) {
        unimplemented!()
    }
    pub fn switch_microphone(&self, _mic: AudioDevice) -> Result<(), MediaError> {
        unimplemented!()
    }
    pub fn switch_speaker(&self, _speaker: AudioDevice) -> Result<(), MediaError> {
        unimplemented!()
    }
    pub fn stats(&self) -> AudioStats {
        unimplemented!()
    }
    pub fn stop(&self) {
        unimplemented!()
    }
}

/// Power of `freq_hz` in `samples` relative to full scale (Goertzel), 0.0..=1.0-ish.
pub fn tone_power(_samples: &[i16], _freq_hz: f32) -> f32 {
    unimplemented!()
}
