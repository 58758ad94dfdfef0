//! Pre-encoded Opus frames: a tone for speakers and silence for muted participants.
//!
//! Encoded once at start-up and looped by every client, so the load tool spends nothing on
//! codecs (a real encoder per client would cost ~0.5% of a core each).

use std::sync::Arc;

/// 48 kHz, 20 ms.
pub const SAMPLES_PER_FRAME: usize = 960;
/// RTP clock ticks per frame.
pub const TICKS_PER_FRAME: u64 = SAMPLES_PER_FRAME as u64;
/// Frames in each loop (200 ms: short, but enough that the tone is not one repeated packet).
const LOOP_FRAMES: usize = 10;
/// Level the speakers announce for speaker 0 (RFC 6464, -dBov); speaker k sends
/// `-(SPEAKER_LEVEL_BASE + k)` so a receiver can tell speakers apart from the level alone.
pub const SPEAKER_LEVEL_BASE: i8 = 10;
/// Speakers beyond this many all send the same (quietest) tagged level.
pub const MAX_TAGGED_SPEAKERS: usize = 40;
/// Level of silence.
pub const SILENCE_LEVEL: i8 = -127;
/// Frequency of the speakers' tone.
pub const TONE_HZ: f32 = 440.0;

/// The frames every client loops over.
#[derive(Debug, Clone)]
pub struct Frames {
    pub tone: Vec<Arc<[u8]>>,
    pub silence: Vec<Arc<[u8]>>,
}

impl Frames {
    /// Encodes a 440 Hz tone at about -10 dBov RMS and digital silence.
    pub fn encode() -> Result<Frames, String> {
        let e = |err: opus::Error| format!("opus: {err}");
        let mut enc =
            opus::Encoder::new(48_000, opus::Channels::Mono, opus::Application::Voip).map_err(e)?;
        enc.set_bitrate(opus::Bitrate::Bits(32_000)).map_err(e)?;
        // RMS of -10 dBov is 0.316 of full scale; peak = RMS * sqrt(2).
        let amplitude = 32767.0 * 0.316 * std::f64::consts::SQRT_2;
        let mut out = vec![0u8; 1500];
        let mut tone = Vec::with_capacity(LOOP_FRAMES);
        let mut silence = Vec::with_capacity(LOOP_FRAMES);
        for f in 0..LOOP_FRAMES {
            let pcm: Vec<i16> = (0..SAMPLES_PER_FRAME)
                .map(|i| {
                    let t = (f * SAMPLES_PER_FRAME + i) as f64 / 48_000.0;
                    (amplitude * (2.0 * std::f64::consts::PI * 440.0 * t).sin()) as i16
                })
                .collect();
            let n = enc.encode(&pcm, &mut out).map_err(e)?;
            tone.push(Arc::from(&out[..n]));
        }
        let zeros = [0i16; SAMPLES_PER_FRAME];
        for _ in 0..LOOP_FRAMES {
            let n = enc.encode(&zeros, &mut out).map_err(e)?;
            silence.push(Arc::from(&out[..n]));
        }
        Ok(Frames { tone, silence })
    }
}

/// The level speaker `k` announces.
pub fn speaker_level(k: usize) -> i8 {
    -(SPEAKER_LEVEL_BASE + k.min(MAX_TAGGED_SPEAKERS) as i8)
}

/// Which speaker sent a packet with this level, if the level is a speaker's tag.
pub fn speaker_of_level(level: i8, speakers: usize) -> Option<usize> {
    let k = usize::try_from(-i16::from(level) - i16::from(SPEAKER_LEVEL_BASE)).ok()?;
    (k < speakers.min(MAX_TAGGED_SPEAKERS)).then_some(k)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_tag_speakers() {
        assert_eq!(speaker_level(0), -10);
        assert_eq!(speaker_of_level(-10, 3), Some(0));
        assert_eq!(speaker_of_level(-12, 3), Some(2));
        assert_eq!(speaker_of_level(-13, 3), None);
        assert_eq!(speaker_of_level(SILENCE_LEVEL, 3), None);
        assert_eq!(speaker_of_level(0, 3), None);
    }

    #[test]
    fn frames_encode() {
        let f = Frames::encode().expect("encode");
        assert_eq!(f.tone.len(), LOOP_FRAMES);
        assert!(f.tone.iter().all(|p| p.len() > 10));
        let tone: usize = f.tone.iter().map(|p| p.len()).sum();
        let silence: usize = f.silence.iter().map(|p| p.len()).sum();
        assert!(f.silence.iter().all(|p| !p.is_empty()));
        assert!(silence < tone, "silence {silence} B, tone {tone} B");
    }
}
