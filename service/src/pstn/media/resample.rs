//! 48 kHz ↔ 8 kHz for 20 ms mono frames (960 ↔ 160 samples), streaming.
//!
//! Both directions use rubato's synchronous FFT resampler ([`rubato::Fft`]): for a fixed
//! integer ratio it is the cheapest of rubato's resamplers with a real anti-aliasing filter
//! (a windowed sinc applied in the frequency domain, then the spectrum is cut at the lower
//! Nyquist, so aliases are >140 dB down). Each 20 ms frame is processed as 2 FFT sub-chunks
//! (480 ↔ 80 samples) with the `Hann2` window: passband flat to 3.4 kHz (−1 dB at
//! 3.6 kHz) and a delay of half an output block:
//!
//! * 48 k → 8 k: [`DOWN_DELAY_8K`] = 40 samples at 8 kHz = 5 ms;
//! * 8 k → 48 k: [`UP_DELAY_48K`] = 240 samples at 48 kHz = 5 ms.
//!
//! A single sub-chunk (960 ↔ 160) would double the delay for a passband that G.711 cannot
//! use anyway; 4 sub-chunks halve it but cut 3.4 kHz by 4 dB.
//!
//! The filter state (overlap) carries across frames, so consecutive frames are one stream.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Resampler, WindowFunction};

/// Samples per 20 ms at 48 kHz.
pub const FRAME_48K: usize = 960;
/// Samples per 20 ms at 8 kHz.
pub const FRAME_8K: usize = 160;
/// Delay of [`Downsampler`], in 8 kHz samples.
pub const DOWN_DELAY_8K: usize = 40;
/// Delay of [`Upsampler`], in 48 kHz samples.
pub const UP_DELAY_48K: usize = 240;
/// FFT sub-chunks per 20 ms frame (see the module doc).
const SUB_CHUNKS: usize = 2;

fn fft(rate_in: usize, rate_out: usize, chunk_in: usize) -> Fft<f32> {
    Fft::new_custom(
        rate_in,
        rate_out,
        chunk_in,
        SUB_CHUNKS,
        1,
        WindowFunction::Hann2,
        FixedSync::Input,
    )
    .expect("constant, valid resampler parameters")
}

fn to_f32(pcm: &[i16], out: &mut [f32]) {
    for (o, s) in out.iter_mut().zip(pcm) {
        *o = f32::from(*s) * (1.0 / 32768.0);
    }
}

fn to_i16(x: &[f32], out: &mut [i16]) {
    for (o, v) in out.iter_mut().zip(x) {
        *o = (v * 32768.0).round().clamp(-32768.0, 32767.0) as i16;
    }
}

/// Runs one fixed-size chunk; sizes are constants, so rubato cannot refuse them. Should it
/// anyway, the frame comes out silent rather than the call failing.
fn run(fft: &mut Fft<f32>, input: &[f32], output: &mut [f32]) {
    let frames_in = input.len();
    let frames_out = output.len();
    let result = InterleavedSlice::new(input, 1, frames_in)
        .ok()
        .zip(InterleavedSlice::new_mut(output, 1, frames_out).ok())
        .map(|(i, mut o)| fft.process_into_buffer(&i, &mut o, None));
    if !matches!(result, Some(Ok((i, o))) if i == frames_in && o == frames_out) {
        log::warn!("pstn resampler: unexpected result {result:?}");
        output.fill(0.0);
    }
}

/// 48 kHz → 8 kHz, one 20 ms frame at a time.
pub struct Downsampler {
    fft: Fft<f32>,
    input: [f32; FRAME_48K],
    output: [f32; FRAME_8K],
}

impl Default for Downsampler {
    fn default() -> Self {
        Self::new()
    }
}

impl Downsampler {
    pub fn new() -> Self {
        Self {
            fft: fft(48_000, 8_000, FRAME_48K),
            input: [0.0; FRAME_48K],
            output: [0.0; FRAME_8K],
        }
    }

    pub fn process(&mut self, input: &[i16; FRAME_48K], output: &mut [i16; FRAME_8K]) {
        to_f32(input, &mut self.input);
        run(&mut self.fft, &self.input, &mut self.output);
        to_i16(&self.output, output);
    }

    /// Forgets the filter state (the next frame starts a new stream).
    pub fn reset(&mut self) {
        self.fft.reset();
    }
}

/// 8 kHz → 48 kHz, one 20 ms frame at a time.
pub struct Upsampler {
    fft: Fft<f32>,
    input: [f32; FRAME_8K],
    output: [f32; FRAME_48K],
}

impl Default for Upsampler {
    fn default() -> Self {
        Self::new()
    }
}

impl Upsampler {
    pub fn new() -> Self {
        Self {
            fft: fft(8_000, 48_000, FRAME_8K),
            input: [0.0; FRAME_8K],
            output: [0.0; FRAME_48K],
        }
    }

    pub fn process(&mut self, input: &[i16; FRAME_8K], output: &mut [i16; FRAME_48K]) {
        to_f32(input, &mut self.input);
        run(&mut self.fft, &self.input, &mut self.output);
        to_i16(&self.output, output);
    }

    /// Forgets the filter state (the next frame starts a new stream).
    pub fn reset(&mut self) {
        self.fft.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::super::test_util::{db, power_at, tone};
    use super::*;

    fn down_all(x: &[i16]) -> Vec<i16> {
        let mut d = Downsampler::new();
        let mut out = Vec::new();
        for f in x.chunks_exact(FRAME_48K) {
            let mut o = [0i16; FRAME_8K];
            d.process(f.try_into().unwrap(), &mut o);
            out.extend_from_slice(&o);
        }
        out
    }

    fn up_all(x: &[i16]) -> Vec<i16> {
        let mut u = Upsampler::new();
        let mut out = Vec::new();
        for f in x.chunks_exact(FRAME_8K) {
            let mut o = [0i16; FRAME_48K];
            u.process(f.try_into().unwrap(), &mut o);
            out.extend_from_slice(&o);
        }
        out
    }

    #[test]
    fn delays_match_the_documented_constants() {
        assert_eq!(fft(48_000, 8_000, FRAME_48K).output_delay(), DOWN_DELAY_8K);
        assert_eq!(fft(8_000, 48_000, FRAME_8K).output_delay(), UP_DELAY_48K);
        // An impulse comes out DOWN_DELAY later (the filter is linear phase).
        let mut x = vec![0i16; FRAME_48K * 3];
        x[0] = 30000;
        let y = down_all(&x);
        let peak = (0..y.len()).max_by_key(|i| y[*i].unsigned_abs()).unwrap();
        assert_eq!(peak, DOWN_DELAY_8K);
    }

    #[test]
    fn one_khz_passes_down_and_up_within_1_db() {
        let x = tone(1000.0, 48_000.0, 10_000.0, FRAME_48K * 50);
        let down = down_all(&x);
        let back = up_all(&down);
        // Skip the first 10 frames (filter start-up).
        let p_in = power_at(&x[FRAME_48K * 10..], 1000.0, 48_000.0);
        let p_8k = power_at(&down[FRAME_8K * 10..], 1000.0, 8_000.0);
        let p_back = power_at(&back[FRAME_48K * 10..], 1000.0, 48_000.0);
        assert!(db(p_8k / p_in).abs() < 1.0, "8k: {} dB", db(p_8k / p_in));
        assert!(
            db(p_back / p_in).abs() < 1.0,
            "back: {} dB",
            db(p_back / p_in)
        );
    }

    #[test]
    fn telephone_band_is_flat() {
        for f in [300.0, 2000.0, 3400.0] {
            let x = tone(f, 48_000.0, 10_000.0, FRAME_48K * 30);
            let down = down_all(&x);
            let g = db(power_at(&down[FRAME_8K * 10..], f, 8_000.0)
                / power_at(&x[FRAME_48K * 10..], f, 48_000.0));
            assert!(g.abs() < 1.0, "{f} Hz: {g:.2} dB");
        }
    }

    #[test]
    fn six_khz_does_not_alias_to_two_khz() {
        let x = tone(6000.0, 48_000.0, 16_000.0, FRAME_48K * 50);
        let down = down_all(&x);
        let p_in = power_at(&x[FRAME_48K * 10..], 6000.0, 48_000.0);
        // 6 kHz sampled at 8 kHz would land on 2 kHz; also check the total output power.
        let alias = power_at(&down[FRAME_8K * 10..], 2000.0, 8_000.0);
        let total = down[FRAME_8K * 10..]
            .iter()
            .map(|s| f64::from(*s).powi(2))
            .sum::<f64>()
            / (down.len() - FRAME_8K * 10) as f64;
        assert!(db(alias / p_in) < -40.0, "alias {} dB", db(alias / p_in));
        assert!(
            db(total.max(1e-9) / p_in) < -40.0,
            "total {} dB",
            db(total / p_in)
        );
    }

    #[test]
    fn upsampling_leaves_no_images() {
        // 1 kHz at 8 kHz has images at 7 and 9 kHz at 48 kHz; they must be filtered out.
        let x = tone(1000.0, 8_000.0, 10_000.0, FRAME_8K * 50);
        let y = up_all(&x);
        let p = power_at(&y[FRAME_48K * 10..], 1000.0, 48_000.0);
        for image in [7000.0, 9000.0, 15_000.0] {
            let pi = power_at(&y[FRAME_48K * 10..], image, 48_000.0);
            assert!(db(pi / p) < -40.0, "image {image}: {} dB", db(pi / p));
        }
    }

    #[test]
    fn state_carries_across_frames() {
        // Frame-by-frame output equals one long stream: no clicks at frame boundaries.
        let x = tone(440.0, 48_000.0, 12_000.0, FRAME_48K * 20);
        let y = down_all(&x);
        let max_step = y[FRAME_8K * 2..]
            .windows(2)
            .map(|w| (i32::from(w[1]) - i32::from(w[0])).abs())
            .max()
            .unwrap();
        // A 440 Hz, 12000-amplitude sine moves at most 2π·440/8000·12000 ≈ 4147 per sample.
        assert!(max_step < 4300, "{max_step}");
    }
}
