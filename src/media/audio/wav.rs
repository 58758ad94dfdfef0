//! WAV files: loading a microphone's source (any rate, 1–2 channels, PCM16) and writing a
//! speaker's output (48 kHz mono PCM16, header kept valid while writing).

use super::mixer::{downmix_i16, resample_all, to_i16};
use super::{MediaError, SAMPLE_RATE};
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

/// Flush (rewrite the header) every this many frames: the file stays valid within ~100 ms.
const FLUSH_EVERY_FRAMES: u32 = 5;

fn wav_err(path: &Path, e: hound::Error) -> MediaError {
    match e {
        hound::Error::IoError(io) => MediaError::Io(std::io::Error::new(
            io.kind(),
            format!("{}: {io}", path.display()),
        )),
        other => MediaError::InvalidInput(format!(
            "{}: not a usable WAV file: {other}",
            path.display()
        )),
    }
}

/// Read a PCM16 WAV (any rate, 1 or 2 channels) as 48 kHz mono.
pub fn load_mono_48k(path: &Path) -> Result<Vec<i16>, MediaError> {
    let mut reader = hound::WavReader::open(path).map_err(|e| wav_err(path, e))?;
    let spec = reader.spec();
    if spec.sample_format != hound::SampleFormat::Int || spec.bits_per_sample != 16 {
        return Err(MediaError::InvalidInput(format!(
            "{}: only PCM16 WAV is supported ({:?}, {} bits)",
            path.display(),
            spec.sample_format,
            spec.bits_per_sample
        )));
    }
    if !(1..=2).contains(&spec.channels) {
        return Err(MediaError::InvalidInput(format!(
            "{}: {} channels, only mono or stereo is supported",
            path.display(),
            spec.channels
        )));
    }
    let samples = reader
        .samples::<i16>()
        .collect::<Result<Vec<i16>, _>>()
        .map_err(|e| wav_err(path, e))?;
    let mono = downmix_i16(&samples, usize::from(spec.channels));
    let resampled = if spec.sample_rate == SAMPLE_RATE {
        mono
    } else {
        resample_all(&mono, spec.sample_rate, SAMPLE_RATE)
    };
    Ok(resampled.into_iter().map(to_i16).collect())
}

/// 48 kHz mono PCM16 WAV writer for a virtual speaker.
pub struct WavSink {
    writer: Option<hound::WavWriter<BufWriter<File>>>,
    frames_since_flush: u32,
}

impl WavSink {
    /// Create (truncate) the file and write a valid empty WAV header.
    pub fn create(path: &Path) -> Result<Self, MediaError> {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: SAMPLE_RATE,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let mut writer = hound::WavWriter::create(path, spec).map_err(|e| match e {
            hound::Error::IoError(io) => MediaError::Io(io),
            other => MediaError::InvalidInput(other.to_string()),
        })?;
        writer
            .flush()
            .map_err(|e| MediaError::InvalidInput(e.to_string()))?;
        Ok(Self {
            writer: Some(writer),
            frames_since_flush: 0,
        })
    }

    /// Append played samples; the header is rewritten every few frames.
    pub fn write(&mut self, samples: &[i16]) {
        let Some(w) = self.writer.as_mut() else {
            return;
        };
        let mut ok = true;
        {
            let mut iw = w.get_i16_writer(samples.len() as u32);
            for &s in samples {
                iw.write_sample(s);
            }
            if iw.flush().is_err() {
                ok = false;
            }
        }
        self.frames_since_flush += 1;
        if ok && self.frames_since_flush >= FLUSH_EVERY_FRAMES {
            self.frames_since_flush = 0;
            ok = w.flush().is_ok();
        }
        if !ok {
            // Disk full or file gone: stop writing rather than fail every frame.
            log::warn!("wav speaker: write failed, no more audio will be written");
            self.writer = None;
        }
    }

    /// Rewrite the header now so the file is valid as it stands.
    pub fn flush(&mut self) {
        if let Some(w) = self.writer.as_mut() {
            let _ = w.flush();
        }
        self.frames_since_flush = 0;
    }
}

impl Drop for WavSink {
    fn drop(&mut self) {
        if let Some(w) = self.writer.take() {
            let _ = w.finalize();
        }
    }
}
