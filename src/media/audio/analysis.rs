//! Signal analysis: RFC 6464 audio level, voice activity, Goertzel tone power and a tone's
//! ratio to everything else (distortion and noise).

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

/// Ratio, in dB, of a tone at `freq_hz` (any phase) to everything else in `samples` (48 kHz):
/// the least-squares sine/cosine fit at `freq_hz` against the residual. A clean tone through
/// Opus reads about 30 dB; a crackle, a click or a decoder fed the wrong history reads far
/// less. Silence reads `-inf` (no tone), a perfect tone `+inf`.
pub fn tone_to_noise_db(samples: &[i16], freq_hz: f32) -> f32 {
    let w = 2.0 * std::f64::consts::PI * f64::from(freq_hz) / f64::from(super::SAMPLE_RATE);
    // Normal equations of x ≈ a·sin + b·cos (the basis is not orthogonal for a window that
    // holds a fractional number of cycles).
    let (mut ss, mut cc, mut sc, mut xs, mut xc, mut xx) = (0.0f64, 0.0, 0.0, 0.0, 0.0, 0.0);
    for (i, &v) in samples.iter().enumerate() {
        let (s, c) = (w * i as f64).sin_cos();
        let x = f64::from(v);
        ss += s * s;
        cc += c * c;
        sc += s * c;
        xs += x * s;
        xc += x * c;
        xx += x * x;
    }
    let det = ss * cc - sc * sc;
    if det.abs() < f64::EPSILON {
        return f32::NEG_INFINITY;
    }
    let a = (xs * cc - xc * sc) / det;
    let b = (xc * ss - xs * sc) / det;
    let tone = a * xs + b * xc;
    if tone <= 0.0 {
        return f32::NEG_INFINITY;
    }
    let noise = (xx - tone).max(0.0);
    (10.0 * (tone / noise).log10()) as f32
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

    #[test]
    fn tone_to_noise_tells_a_clean_tone_from_a_distorted_one() {
        let clean = sine(1000.0, 0.5, 960);
        assert!(tone_to_noise_db(&clean, 1000.0) > 40.0);
        // A phase jump half-way through the block: the kind of seam a decoder glitch leaves.
        let mut seam = sine(1000.0, 0.5, 960);
        seam[480..].copy_from_slice(
            &sine(1000.0, 0.5, 960)[..480]
                .iter()
                .map(|s| -s)
                .collect::<Vec<_>>(),
        );
        let db = tone_to_noise_db(&seam, 1000.0);
        assert!(db < 5.0, "{db}");
        // Noise 20 dB below the tone reads about 20 dB.
        let mut x = 1u32;
        let noisy: Vec<i16> = clean
            .iter()
            .map(|&s| {
                x ^= x << 13;
                x ^= x >> 17;
                x ^= x << 5;
                let u = f64::from(x) / f64::from(u32::MAX) * 2.0 - 1.0; // uniform: rms 1/√3
                s.saturating_add((u * 0.5 * 0.1 * 32767.0 * (3.0f64 / 2.0).sqrt()) as i16)
            })
            .collect();
        let db = tone_to_noise_db(&noisy, 1000.0);
        assert!((db - 20.0).abs() < 1.5, "{db}");
        assert_eq!(tone_to_noise_db(&[0; 960], 1000.0), f32::NEG_INFINITY);
    }
}
