//! Sample plumbing: mixing, downmixing and linear-interpolation resampling.

/// Mix `src` into `dst` with a saturating add.
pub fn mix_into(dst: &mut [i16], src: &[i16]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d = d.saturating_add(*s);
    }
}

/// Average interleaved `channels` down to mono f32 in -1..1.
pub fn downmix_i16(samples: &[i16], channels: usize) -> Vec<f32> {
    let channels = channels.max(1);
    samples
        .chunks_exact(channels)
        .map(|c| c.iter().map(|&s| f32::from(s)).sum::<f32>() / (channels as f32 * 32768.0))
        .collect()
}

/// f32 (-1..1) to i16 with clipping.
pub fn to_i16(x: f32) -> i16 {
    (x * 32767.0).round().clamp(-32768.0, 32767.0) as i16
}

/// Streaming linear-interpolation resampler (mono f32), fed buffer by buffer.
///
/// Good enough for voice; keeps its fractional position and the last input sample across
/// calls so buffer boundaries are seamless.
pub struct LinearResampler {
    step: f64,
    pos: f64,
    prev: f32,
}

impl LinearResampler {
    /// Resampler from `from_hz` to `to_hz`.
    pub fn new(from_hz: u32, to_hz: u32) -> Self {
        Self {
            step: f64::from(from_hz) / f64::from(to_hz.max(1)),
            pos: 0.0,
            prev: 0.0,
        }
    }

    /// Whether input and output rates are equal (then `process` just copies).
    pub fn is_identity(&self) -> bool {
        (self.step - 1.0).abs() < f64::EPSILON
    }

    /// Resample `input`, appending to `out`.
    pub fn process(&mut self, input: &[f32], out: &mut Vec<f32>) {
        if input.is_empty() {
            return;
        }
        if self.is_identity() {
            out.extend_from_slice(input);
            self.prev = input[input.len() - 1];
            return;
        }
        // Virtual input: index -1 is the previous buffer's last sample.
        let last = input.len() as f64 - 1.0;
        while self.pos < last {
            let i = self.pos.floor();
            let frac = (self.pos - i) as f32;
            let a = if i < 0.0 {
                self.prev
            } else {
                input[i as usize]
            };
            let b = input[(i + 1.0) as usize];
            out.push(a + (b - a) * frac);
            self.pos += self.step;
        }
        self.pos -= input.len() as f64;
        self.prev = input[input.len() - 1];
    }
}

/// Resample a whole mono buffer at once.
pub fn resample_all(input: &[f32], from_hz: u32, to_hz: u32) -> Vec<f32> {
    let mut out = Vec::with_capacity(input.len() * to_hz as usize / from_hz.max(1) as usize + 2);
    let mut r = LinearResampler::new(from_hz, to_hz);
    r.process(input, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mixing_saturates() {
        let mut a = [30_000i16, -30_000, 5];
        mix_into(&mut a, &[10_000, -10_000, 5]);
        assert_eq!(a, [i16::MAX, i16::MIN, 10]);
    }

    #[test]
    fn resampling_keeps_duration_and_is_seamless_across_buffers() {
        let input: Vec<f32> = (0..16_000).map(|i| (i as f32 * 0.01).sin()).collect();
        let whole = resample_all(&input, 16_000, 48_000);
        assert!((whole.len() as i64 - 48_000).abs() <= 3, "{}", whole.len());
        let mut r = LinearResampler::new(16_000, 48_000);
        let mut pieces = Vec::new();
        for c in input.chunks(333) {
            r.process(c, &mut pieces);
        }
        assert!((pieces.len() as i64 - whole.len() as i64).abs() <= 3);
        let down = resample_all(&input, 44_100, 48_000);
        assert!((down.len() as i64 - 17_415).abs() <= 3, "{}", down.len());
    }

    #[test]
    fn downmix_averages_channels() {
        let m = downmix_i16(&[16384, 0, -16384, -16384], 2);
        assert_eq!(m, vec![0.25, -0.5]);
    }
}
