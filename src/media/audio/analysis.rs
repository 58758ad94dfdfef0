//! Signal analysis: RFC 6464 audio level, voice activity and Goertzel tone power.

/// Level (RFC 6464 -dBov) below which a frame counts as voice: 0 is loudest, 127 silence.
pub const VOICE_ACTIVITY_LEVEL: u8 = 60;

/// RFC 6464 audio level of a frame: -dBov of its RMS, 0 (full scale) ..= 127 (silence).
///
/// 0 dBov is the RMS of a full-scale square wave (32767), so a full-scale sine reads 3.
pub fn audio_level(samples: &[i16]) -> u8 {
    if samples.is_empty() {
        return 127;
    }
    let energy: f64 = samples.iter().map(|&s| f64::from(s) * f64::from(s)).sum();
    let rms = (energy / samples.len() as f64).sqrt() / 32767.0;
    if rms <= 0.0 {
        return 127;
    }
    let dbov = 20.0 * rms.log10();
    (-dbov).round().clamp(0.0, 127.0) as u8
}

/// Whether a frame of this RFC 6464 level counts as voice.
pub fn is_voice(level: u8) -> bool {
    level < VOICE_ACTIVITY_LEVEL
}

/// Power of `freq_hz` in `samples` (48 kHz) by the Goertzel algorithm.
///
/// Normalised so that a full-scale sine (amplitude 32767) at exactly `freq_hz` gives ≈ 0.5,
/// i.e. the mean power of the sine component relative to full scale: a sine of amplitude `a`
/// (0..1) reads ≈ a²/2, silence 0. Other frequencies read near 0 when the window holds a
/// whole number of their cycles (e.g. 100 ms for 440 vs 660 Hz), with some leakage otherwise.
pub fn tone_power(samples: &[i16], freq_hz: f32) -> f32 {
    let n = samples.len();
    if n == 0 {
        return 0.0;
    }
    let w = 2.0 * std::f64::consts::PI * f64::from(freq_hz) / f64::from(super::SAMPLE_RATE);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) / 32768.0 + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let mag2 = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    (2.0 * mag2 / (n as f64 * n as f64)) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sine(freq: f32, amp: f32, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| {
                let t = i as f32 / 48_000.0;
                (amp * 32767.0 * (2.0 * std::f32::consts::PI * freq * t).sin()) as i16
            })
            .collect()
    }

    #[test]
    fn full_scale_sine_reads_half_and_other_tones_read_near_zero() {
        let s = sine(440.0, 1.0, 4800);
        assert!((tone_power(&s, 440.0) - 0.5).abs() < 0.01);
        assert!(tone_power(&s, 660.0) < 0.001);
        assert_eq!(tone_power(&[0; 4800], 440.0), 0.0);
    }

    #[test]
    fn audio_level_is_minus_dbov() {
        assert_eq!(audio_level(&[0; 960]), 127);
        assert_eq!(audio_level(&sine(440.0, 1.0, 960)), 3);
        let quiet = sine(440.0, 0.01, 960); // -40 dB amplitude, -43 dBov
        assert_eq!(audio_level(&quiet), 43);
        assert!(is_voice(3) && !is_voice(127));
    }
}
