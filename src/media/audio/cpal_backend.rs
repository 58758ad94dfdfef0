//! Real devices through cpal: listing, and opening capture/playout streams that convert
//! between the device's format and our 48 kHz mono i16.
//!
//! The cpal callbacks only touch short-held mutexes around sample queues (no allocation on the
//! playout side, one small Vec per capture buffer).

use super::devices::{Backend, DeviceInner};
use super::mixer::{to_i16, LinearResampler};
use super::{AudioDevice, DeviceKind, MediaError, SAMPLE_RATE};
use cpal::traits::{DeviceTrait, HostTrait, StreamTrait};
use cpal::{FromSample, SampleFormat, SizedSample};
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

/// Most audio the capture and playout queues hold before dropping the oldest.
const RING_MS: usize = 200;
const RING_SAMPLES: usize = SAMPLE_RATE as usize * RING_MS / 1000;
/// How long opening a stream may take before cpal gives up (where the backend honours it).
const OPEN_TIMEOUT: Duration = Duration::from_secs(2);

fn dev_err(what: &str, e: impl std::fmt::Display) -> MediaError {
    MediaError::Device(format!("{what}: {e}"))
}

fn prefix(kind: DeviceKind) -> &'static str {
    match kind {
        DeviceKind::Microphone => "cpal:in:",
        DeviceKind::Speaker => "cpal:out:",
    }
}

/// The host's default device of `kind`, resolved when opened (may not be openable).
pub fn default_device(kind: DeviceKind) -> AudioDevice {
    AudioDevice::from_inner(DeviceInner {
        id: format!("{}default", prefix(kind)),
        name: "Default device".to_string(),
        kind,
        is_default: true,
        backend: Backend::Cpal { cpal_id: None },
    })
}

/// List the default host's devices of `kind`. Never panics; errors give an empty list.
pub fn list(kind: DeviceKind) -> Vec<AudioDevice> {
    std::panic::catch_unwind(|| list_inner(kind)).unwrap_or_default()
}

/// The host, kept for the process: every PulseAudio host is a server connection (with its
/// own thread), and the server limits its clients, so making one per enumeration (once a
/// second while devices are watched) would exhaust it; cpal would then silently fall back to
/// ALSA. A host that stops working, or an ALSA fallback once the server is reachable, is
/// replaced on the next use.
static HOST: std::sync::LazyLock<Mutex<Option<Arc<cpal::Host>>>> =
    std::sync::LazyLock::new(|| Mutex::new(None));

fn host() -> Arc<cpal::Host> {
    let mut g = HOST.lock();
    let pulse_wanted = cpal::available_hosts().contains(&cpal::HostId::PulseAudio);
    if let Some(h) = g.as_ref() {
        let fallback = pulse_wanted && h.id() != cpal::HostId::PulseAudio;
        if !fallback {
            return h.clone();
        }
    }
    let mut h = cpal::default_host();
    if pulse_wanted && h.id() != cpal::HostId::PulseAudio {
        // cpal gives up on the server after a 2 s handshake (seen on a busy machine just
        // after the server started): one more try before settling for the fallback.
        h = cpal::default_host();
        log::debug!(
            "audio host: {:?} (the PulseAudio server did not answer)",
            h.id()
        );
    }
    let h = Arc::new(h);
    *g = Some(h.clone());
    h
}

/// Forgets the host after a failure, so the next use connects anew.
fn reset_host() {
    *HOST.lock() = None;
}

fn list_inner(kind: DeviceKind) -> Vec<AudioDevice> {
    let host = host();
    let (devices, default) = match kind {
        DeviceKind::Microphone => (
            host.input_devices().map(|d| d.collect::<Vec<_>>()),
            host.default_input_device(),
        ),
        DeviceKind::Speaker => (
            host.output_devices().map(|d| d.collect::<Vec<_>>()),
            host.default_output_device(),
        ),
    };
    let default_id = default.and_then(|d| d.id().ok()).map(|id| id.to_string());
    let Ok(devices) = devices else {
        reset_host();
        return Vec::new();
    };
    devices
        .into_iter()
        .filter_map(|d| {
            let cpal_id = d.id().ok()?.to_string();
            let name = d
                .description()
                .map(|desc| desc.name().to_string())
                .unwrap_or_else(|_| cpal_id.clone());
            Some(AudioDevice::from_inner(DeviceInner {
                id: format!("{}{cpal_id}", prefix(kind)),
                name,
                kind,
                is_default: default_id.as_deref() == Some(cpal_id.as_str()),
                backend: Backend::Cpal {
                    cpal_id: Some(cpal_id),
                },
            }))
        })
        .collect()
}

/// Finds a device to open a stream on. Each stream gets a host (server connection) of its
/// own: PulseAudio streams sharing the enumeration host's connection failed to open
/// ("Invalid argument") once a third one was added in the same process.
fn find(kind: DeviceKind, cpal_id: Option<&str>) -> Result<cpal::Device, MediaError> {
    let host = cpal::default_host();
    let found = match cpal_id {
        None => match kind {
            DeviceKind::Microphone => host.default_input_device(),
            DeviceKind::Speaker => host.default_output_device(),
        },
        Some(id) => {
            let parsed: cpal::DeviceId = id.parse().map_err(|e| dev_err(id, e))?;
            host.device_by_id(&parsed)
        }
    };
    found.ok_or_else(|| {
        MediaError::Device(format!("no such device: {}", cpal_id.unwrap_or("default")))
    })
}

/// Pick 48 kHz in f32 or i16 when offered, else the device default.
fn choose_config(
    device: &cpal::Device,
    kind: DeviceKind,
) -> Result<cpal::SupportedStreamConfig, MediaError> {
    let ranges: Vec<_> = match kind {
        DeviceKind::Microphone => device.supported_input_configs().map(|r| r.collect()),
        DeviceKind::Speaker => device.supported_output_configs().map(|r| r.collect()),
    }
    .unwrap_or_default();
    let preferred = ranges.into_iter().find(|r| {
        matches!(r.sample_format(), SampleFormat::F32 | SampleFormat::I16)
            && r.channels() <= 2
            && r.contains_rate(SAMPLE_RATE)
    });
    if let Some(r) = preferred {
        return Ok(r.with_sample_rate(SAMPLE_RATE));
    }
    match kind {
        DeviceKind::Microphone => device.default_input_config(),
        DeviceKind::Speaker => device.default_output_config(),
    }
    .map_err(|e| dev_err("no usable stream configuration", e))
}

/// Captured 48 kHz mono samples, waited on by the send thread.
pub struct CaptureRing {
    buf: Mutex<VecDeque<i16>>,
    ready: Condvar,
}

impl CaptureRing {
    fn push(&self, samples: &[i16]) {
        let mut b = self.buf.lock();
        b.extend(samples.iter().copied());
        let over = b.len().saturating_sub(RING_SAMPLES);
        b.drain(..over);
        drop(b);
        self.ready.notify_one();
    }

    /// Wait up to `timeout` for a full frame; false (and `out` untouched) on timeout.
    pub fn wait_frame(&self, out: &mut [i16], timeout: Duration) -> bool {
        let mut b = self.buf.lock();
        if b.len() < out.len() {
            let _ = self
                .ready
                .wait_while_for(&mut b, |b| b.len() < out.len(), timeout);
        }
        if b.len() < out.len() {
            return false;
        }
        let n = out.len();
        for (o, s) in out.iter_mut().zip(b.drain(..n)) {
            *o = s;
        }
        true
    }
}

/// Mixed 48 kHz mono samples waiting for the output callback.
pub struct PlayRing {
    buf: Mutex<VecDeque<i16>>,
}

impl PlayRing {
    /// Queue one played frame (drops the oldest beyond 200 ms).
    pub fn push(&self, samples: &[i16]) {
        let mut b = self.buf.lock();
        b.extend(samples.iter().copied());
        let over = b.len().saturating_sub(RING_SAMPLES);
        b.drain(..over);
    }
}

/// An open capture stream (kept alive while held).
pub struct CpalCapture {
    _stream: cpal::Stream,
    pub ring: Arc<CaptureRing>,
}

/// An open playout stream (kept alive while held).
pub struct CpalPlayback {
    _stream: cpal::Stream,
    pub ring: Arc<PlayRing>,
}

fn log_stream_error(e: cpal::Error) {
    log::warn!("audio stream error: {e}");
}

fn build_capture<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    ring: Arc<CaptureRing>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample,
    f32: FromSample<T>,
{
    let channels = usize::from(config.channels.max(1));
    let mut resampler = LinearResampler::new(config.sample_rate, SAMPLE_RATE);
    let mut mono = Vec::new();
    let mut resampled = Vec::new();
    let mut out = Vec::new();
    device.build_input_stream::<T, _, _>(
        config,
        move |data: &[T], _| {
            mono.clear();
            mono.extend(
                data.chunks_exact(channels)
                    .map(|c| c.iter().map(|s| s.to_sample::<f32>()).sum::<f32>() / channels as f32),
            );
            resampled.clear();
            resampler.process(&mono, &mut resampled);
            out.clear();
            out.extend(resampled.iter().map(|&x| to_i16(x)));
            ring.push(&out);
        },
        log_stream_error,
        Some(OPEN_TIMEOUT),
    )
}

fn build_playback<T>(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    ring: Arc<PlayRing>,
) -> Result<cpal::Stream, cpal::Error>
where
    T: SizedSample + FromSample<f32>,
{
    let channels = usize::from(config.channels.max(1));
    let step = f64::from(SAMPLE_RATE) / f64::from(config.sample_rate.max(1));
    let (mut cur, mut next, mut frac) = (0.0f32, 0.0f32, 0.0f64);
    device.build_output_stream::<T, _, _>(
        config,
        move |data: &mut [T], _| {
            let mut b = ring.buf.lock();
            for frame in data.chunks_exact_mut(channels) {
                let x = cur + (next - cur) * frac as f32;
                frac += step;
                while frac >= 1.0 {
                    frac -= 1.0;
                    cur = next;
                    // Underrun plays silence.
                    next = b.pop_front().map_or(0.0, |s| f32::from(s) / 32768.0);
                }
                let v = T::from_sample(x);
                frame.iter_mut().for_each(|s| *s = v);
            }
        },
        log_stream_error,
        Some(OPEN_TIMEOUT),
    )
}

/// Open and start capturing from a cpal microphone.
pub fn open_capture(cpal_id: Option<&str>) -> Result<CpalCapture, MediaError> {
    let device = find(DeviceKind::Microphone, cpal_id)?;
    let supported = choose_config(&device, DeviceKind::Microphone)?;
    let ring = Arc::new(CaptureRing {
        buf: Mutex::new(VecDeque::with_capacity(RING_SAMPLES)),
        ready: Condvar::new(),
    });
    let config = supported.config();
    let r = ring.clone();
    let stream = match supported.sample_format() {
        SampleFormat::F32 => build_capture::<f32>(&device, config, r),
        SampleFormat::I16 => build_capture::<i16>(&device, config, r),
        SampleFormat::I32 => build_capture::<i32>(&device, config, r),
        SampleFormat::U16 => build_capture::<u16>(&device, config, r),
        other => {
            return Err(MediaError::Device(format!(
                "unsupported sample format {other:?}"
            )))
        }
    }
    .map_err(|e| dev_err("cannot open microphone", e))?;
    stream
        .play()
        .map_err(|e| dev_err("cannot start microphone", e))?;
    Ok(CpalCapture {
        _stream: stream,
        ring,
    })
}

/// Open and start a cpal speaker.
pub fn open_playback(cpal_id: Option<&str>) -> Result<CpalPlayback, MediaError> {
    let device = find(DeviceKind::Speaker, cpal_id)?;
    let supported = choose_config(&device, DeviceKind::Speaker)?;
    let ring = Arc::new(PlayRing {
        buf: Mutex::new(VecDeque::with_capacity(RING_SAMPLES)),
    });
    let config = supported.config();
    let r = ring.clone();
    let stream = match supported.sample_format() {
        SampleFormat::F32 => build_playback::<f32>(&device, config, r),
        SampleFormat::I16 => build_playback::<i16>(&device, config, r),
        SampleFormat::I32 => build_playback::<i32>(&device, config, r),
        SampleFormat::U16 => build_playback::<u16>(&device, config, r),
        other => {
            return Err(MediaError::Device(format!(
                "unsupported sample format {other:?}"
            )))
        }
    }
    .map_err(|e| dev_err("cannot open speaker", e))?;
    stream
        .play()
        .map_err(|e| dev_err("cannot start speaker", e))?;
    Ok(CpalPlayback {
        _stream: stream,
        ring,
    })
}

/// Why a microphone cannot be used: `denied` when the system refused access (permissions,
/// the sound server's authentication), else there is no usable device.
pub struct ProbeFailure {
    pub denied: bool,
    pub reason: String,
}

fn is_denied(e: &cpal::Error) -> bool {
    matches!(e.kind(), cpal::ErrorKind::PermissionDenied)
}

/// Opens (and at once closes) a capture stream on `cpal_id` (None = the default microphone),
/// to learn whether this process may use a microphone. Returns the device name on success.
pub fn probe_microphone(cpal_id: Option<&str>) -> Result<String, ProbeFailure> {
    let no_device = |reason: String| ProbeFailure {
        denied: false,
        reason,
    };
    // cpal falls back to ALSA when the sound server refuses us: ask the server first.
    #[cfg(target_os = "linux")]
    if cpal::available_hosts().contains(&cpal::HostId::PulseAudio)
        && host().id() != cpal::HostId::PulseAudio
    {
        if let Err(e) = cpal::host_from_id(cpal::HostId::PulseAudio) {
            if is_denied(&e) {
                return Err(ProbeFailure {
                    denied: true,
                    reason: format!("the sound server refused access: {e}"),
                });
            }
        }
    }
    let device = find(DeviceKind::Microphone, cpal_id)
        .map_err(|_| no_device("no microphone is present".into()))?;
    let name = device
        .description()
        .map(|d| d.name().to_string())
        .unwrap_or_else(|_| cpal_id.unwrap_or("default").to_string());
    let supported = choose_config(&device, DeviceKind::Microphone).map_err(|e| {
        no_device(format!(
            "microphone '{name}' has no usable configuration: {e}"
        ))
    })?;
    let ring = Arc::new(CaptureRing {
        buf: Mutex::new(VecDeque::new()),
        ready: Condvar::new(),
    });
    let config = supported.config();
    let built = match supported.sample_format() {
        SampleFormat::F32 => build_capture::<f32>(&device, config, ring),
        SampleFormat::I16 => build_capture::<i16>(&device, config, ring),
        SampleFormat::I32 => build_capture::<i32>(&device, config, ring),
        SampleFormat::U16 => build_capture::<u16>(&device, config, ring),
        other => {
            return Err(no_device(format!(
                "microphone '{name}' has an unsupported sample format {other:?}"
            )))
        }
    };
    match built {
        Ok(_stream) => Ok(name),
        Err(e) if is_denied(&e) => Err(ProbeFailure {
            denied: true,
            reason: format!("access to microphone '{name}' was denied: {e}"),
        }),
        Err(e) => Err(no_device(format!(
            "microphone '{name}' cannot be opened: {e}"
        ))),
    }
}
