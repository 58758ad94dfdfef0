//! Audio devices: the public `AudioDevice` handle and the virtual microphones and speakers.
//!
//! Virtual microphones are read one 20 ms frame at a time by the engine's send thread;
//! virtual speakers are handed one frame per playout tick.

use super::mixer::downmix_i16;
use super::mixer::to_i16;
use super::wav::{load_mono_48k, WavSink};
use super::{AudioDevice, DeviceKind, MediaError, FRAME_SAMPLES, SAMPLE_RATE};
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// Most PCM a push microphone queues: 2 s.
pub const PUSH_QUEUE_MS: usize = 2000;

/// A callback speaker's frame handler.
type SpeakerCallback = Box<dyn Fn(&[i16]) + Send + Sync>;

static NEXT_VIRTUAL: AtomicU64 = AtomicU64::new(1);

fn next_virtual_id(kind: &str) -> String {
    format!(
        "virtual:{kind}:{}",
        NEXT_VIRTUAL.fetch_add(1, Ordering::Relaxed)
    )
}

pub(super) struct ToneState {
    freq_hz: f64,
    amplitude: f64,
    phase: f64,
    /// (on samples, period samples) for a burst microphone.
    burst: Option<(u64, u64)>,
    /// Samples produced so far.
    produced: u64,
}

pub(super) struct WavSource {
    samples: Vec<i16>,
    pos: usize,
    looped: bool,
}

pub(super) struct PullRing {
    buf: VecDeque<i16>,
    capacity: usize,
}

/// What a device does.
pub(super) enum Backend {
    Tone(Mutex<ToneState>),
    Wav(Mutex<WavSource>),
    Push(Mutex<VecDeque<i16>>),
    WavSpeaker(Mutex<WavSink>),
    PullSpeaker(Mutex<PullRing>),
    CallbackSpeaker(SpeakerCallback),
    /// A cpal device; `None` means "the host's default device".
    Cpal {
        cpal_id: Option<String>,
    },
}

pub(super) struct DeviceInner {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) kind: DeviceKind,
    pub(super) is_default: bool,
    pub(super) backend: Backend,
}

impl AudioDevice {
    pub(super) fn from_inner(inner: DeviceInner) -> Self {
        AudioDevice(Arc::new(inner))
    }

    fn new_virtual(kind_tag: &str, name: &str, kind: DeviceKind, backend: Backend) -> Self {
        Self::from_inner(DeviceInner {
            id: next_virtual_id(kind_tag),
            name: name.to_string(),
            kind,
            is_default: false,
            backend,
        })
    }

    /// Stable id: `virtual:<type>:<n>` (unique per instance) or `cpal:in:<cpal id>` /
    /// `cpal:out:<cpal id>` (`cpal:in:default` for the host default).
    pub fn id(&self) -> String {
        self.0.id.clone()
    }

    /// Human-readable name.
    pub fn name(&self) -> String {
        self.0.name.clone()
    }

    /// Microphone or speaker.
    pub fn kind(&self) -> DeviceKind {
        self.0.kind
    }

    /// Whether this is the system's default device of its kind.
    pub fn is_default(&self) -> bool {
        self.0.is_default
    }

    /// Whether this is a virtual (software) device.
    pub fn is_virtual(&self) -> bool {
        !matches!(self.0.backend, Backend::Cpal { .. })
    }

    /// Virtual microphone producing a continuous, phase-continuous sine tone.
    /// `amplitude` is relative to full scale (clamped to 0..=1).
    pub fn tone_microphone(name: &str, freq_hz: f32, amplitude: f32) -> Self {
        Self::new_virtual(
            "tone",
            name,
            DeviceKind::Microphone,
            Backend::Tone(Mutex::new(ToneState {
                freq_hz: f64::from(freq_hz),
                amplitude: f64::from(amplitude.clamp(0.0, 1.0)),
                phase: 0.0,
                burst: None,
                produced: 0,
            })),
        )
    }

    /// Virtual microphone producing tone bursts: `on_ms` of sine (starting at phase 0) at the
    /// start of every `period_ms`, silence otherwise; the first burst starts with the first
    /// frame. For latency benchmarks: a burst's first frame is the first one the sink gets
    /// with `audio_level < 127`, and its `capture_time` is the "mouth" time.
    pub fn tone_burst_microphone(
        name: &str,
        freq_hz: f32,
        amplitude: f32,
        on_ms: u32,
        period_ms: u32,
    ) -> Self {
        let per_ms = u64::from(SAMPLE_RATE / 1000);
        let period = (u64::from(period_ms) * per_ms).max(1);
        let on = (u64::from(on_ms) * per_ms).min(period);
        Self::new_virtual(
            "tone-burst",
            name,
            DeviceKind::Microphone,
            Backend::Tone(Mutex::new(ToneState {
                freq_hz: f64::from(freq_hz),
                amplitude: f64::from(amplitude.clamp(0.0, 1.0)),
                phase: 0.0,
                burst: Some((on, period)),
                produced: 0,
            })),
        )
    }

    /// Virtual microphone reading a WAV file (PCM16, any rate, 1–2 channels; resampled to
    /// 48 kHz and downmixed when opened). Not looped: silence after the end.
    /// Errors: `InvalidInput` for a missing or unusable file.
    pub fn wav_microphone(name: &str, path: &Path, looped: bool) -> Result<Self, MediaError> {
        let samples = load_mono_48k(path)?;
        Ok(Self::new_virtual(
            "wav",
            name,
            DeviceKind::Microphone,
            Backend::Wav(Mutex::new(WavSource {
                samples,
                pos: 0,
                looped,
            })),
        ))
    }

    /// Virtual microphone fed by the host with `push_pcm`; silence while its queue is empty.
    pub fn push_microphone(name: &str) -> Self {
        Self::new_virtual(
            "push",
            name,
            DeviceKind::Microphone,
            Backend::Push(Mutex::new(VecDeque::new())),
        )
    }

    /// Push 48 kHz interleaved PCM (1 or 2 channels) into a push microphone. The queue holds
    /// at most 2 s; returns the PCM frames (samples per channel) accepted, fewer when full.
    /// Errors: `InvalidInput` when this is not a push microphone or `channels` is not 1 or 2.
    pub fn push_pcm(&self, samples: &[i16], channels: u16) -> Result<usize, MediaError> {
        let Backend::Push(queue) = &self.0.backend else {
            return Err(MediaError::InvalidInput(format!(
                "push_pcm: {} is not a push microphone",
                self.0.id
            )));
        };
        if !(1..=2).contains(&channels) {
            return Err(MediaError::InvalidInput(format!(
                "push_pcm: {channels} channels, expected 1 or 2"
            )));
        }
        let cap = SAMPLE_RATE as usize * PUSH_QUEUE_MS / 1000;
        let mut q = queue.lock();
        let room = cap.saturating_sub(q.len());
        let frames = (samples.len() / usize::from(channels)).min(room);
        let take = &samples[..frames * usize::from(channels)];
        if channels == 1 {
            q.extend(take.iter().copied());
        } else {
            q.extend(downmix_i16(take, 2).into_iter().map(to_i16));
        }
        Ok(frames)
    }

    /// Virtual speaker writing everything it plays to a WAV file (48 kHz mono PCM16). The
    /// header is kept valid every ~100 ms and finalized when the engine stops / on drop.
    pub fn wav_speaker(name: &str, path: &Path) -> Result<Self, MediaError> {
        let sink = WavSink::create(path)?;
        Ok(Self::new_virtual(
            "wav-speaker",
            name,
            DeviceKind::Speaker,
            Backend::WavSpeaker(Mutex::new(sink)),
        ))
    }

    /// Virtual speaker keeping the last `capacity_ms` of what it played for `pull_pcm`.
    pub fn pull_speaker(name: &str, capacity_ms: u32) -> Self {
        let capacity = (SAMPLE_RATE as usize * capacity_ms as usize / 1000).max(FRAME_SAMPLES);
        Self::new_virtual(
            "pull",
            name,
            DeviceKind::Speaker,
            Backend::PullSpeaker(Mutex::new(PullRing {
                buf: VecDeque::with_capacity(capacity),
                capacity,
            })),
        )
    }

    /// Take up to `out.len()` mono 48 kHz samples played so far by a pull speaker, oldest
    /// first. Errors: `InvalidInput` when this is not a pull speaker.
    pub fn pull_pcm(&self, out: &mut [i16]) -> Result<usize, MediaError> {
        let Backend::PullSpeaker(ring) = &self.0.backend else {
            return Err(MediaError::InvalidInput(format!(
                "pull_pcm: {} is not a pull speaker",
                self.0.id
            )));
        };
        let mut r = ring.lock();
        let n = out.len().min(r.buf.len());
        for (o, s) in out.iter_mut().zip(r.buf.drain(..n)) {
            *o = s;
        }
        Ok(n)
    }

    /// Virtual speaker handing every played 20 ms frame to `cb` (on the playout thread: keep
    /// it short).
    #[allow(clippy::type_complexity)] // spelled out: it is the C API's contract
    pub fn callback_speaker(name: &str, cb: Box<dyn Fn(&[i16]) + Send + Sync>) -> Self {
        Self::new_virtual(
            "callback",
            name,
            DeviceKind::Speaker,
            Backend::CallbackSpeaker(cb),
        )
    }

    /// Fill `out` with the next frame of a virtual microphone. Returns false for devices that
    /// are not virtual microphones.
    pub(super) fn read_virtual_frame(&self, out: &mut [i16]) -> bool {
        match &self.0.backend {
            Backend::Tone(t) => {
                let mut t = t.lock();
                let step = 2.0 * std::f64::consts::PI * t.freq_hz / f64::from(SAMPLE_RATE);
                let amp = t.amplitude * 32767.0;
                for o in out.iter_mut() {
                    let on = match t.burst {
                        None => true,
                        Some((on, period)) => {
                            let pos = t.produced % period;
                            if pos == 0 {
                                t.phase = 0.0;
                            }
                            pos < on
                        }
                    };
                    *o = if on {
                        (amp * t.phase.sin()).round() as i16
                    } else {
                        0
                    };
                    t.phase += step;
                    t.produced += 1;
                }
                t.phase %= 2.0 * std::f64::consts::PI;
                true
            }
            Backend::Wav(w) => {
                let mut w = w.lock();
                for o in out.iter_mut() {
                    if w.pos >= w.samples.len() {
                        if w.looped && !w.samples.is_empty() {
                            w.pos = 0;
                        } else {
                            *o = 0;
                            continue;
                        }
                    }
                    *o = w.samples[w.pos];
                    w.pos += 1;
                }
                true
            }
            Backend::Push(q) => {
                let mut q = q.lock();
                let n = out.len().min(q.len());
                for (o, s) in out.iter_mut().zip(q.drain(..n)) {
                    *o = s;
                }
                out[n..].fill(0);
                true
            }
            _ => false,
        }
    }

    /// Hand one played frame to a virtual speaker. Returns false for non-virtual speakers.
    pub(super) fn play_virtual_frame(&self, frame: &[i16]) -> bool {
        match &self.0.backend {
            Backend::WavSpeaker(w) => {
                w.lock().write(frame);
                true
            }
            Backend::PullSpeaker(r) => {
                let mut r = r.lock();
                let len = r.buf.len();
                let over = (len + frame.len()).saturating_sub(r.capacity);
                r.buf.drain(..over.min(len));
                r.buf.extend(frame.iter().copied());
                true
            }
            Backend::CallbackSpeaker(cb) => {
                // A panicking host callback must not take the playout thread down.
                let call = std::panic::AssertUnwindSafe(|| cb(frame));
                if std::panic::catch_unwind(call).is_err() {
                    log::error!("speaker callback panicked");
                }
                true
            }
            _ => false,
        }
    }

    /// Make a WAV speaker's file valid as it stands (engine stop / speaker switch).
    pub(super) fn flush_virtual(&self) {
        if let Backend::WavSpeaker(w) = &self.0.backend {
            w.lock().flush();
        }
    }

    /// The cpal device this refers to (`Some(None)` = host default), or None when virtual.
    pub(crate) fn cpal_id(&self) -> Option<Option<&str>> {
        match &self.0.backend {
            Backend::Cpal { cpal_id } => Some(cpal_id.as_deref()),
            _ => None,
        }
    }
}

impl std::fmt::Debug for AudioDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AudioDevice")
            .field("id", &self.0.id)
            .field("name", &self.0.name)
            .field("kind", &self.0.kind)
            .finish()
    }
}
