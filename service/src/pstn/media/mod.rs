//! Media of a phone leg: G.711 over plain RTP on the phone's side, 48 kHz PCM frames on
//! the SFU's side. Sans-IO: no sockets and no clocks; [`leg::PhoneLegMedia`] is driven
//! with datagrams, PCM frames and the current time.

pub mod dtmf;
pub mod g711;
pub mod jitter;
pub mod leg;
pub mod resample;
pub mod rtp;
pub mod srtp;

#[cfg(test)]
pub(crate) mod test_util {
    use std::f64::consts::PI;

    /// `n` samples of a sine of amplitude `amp`.
    pub fn tone(freq: f64, rate: f64, amp: f64, n: usize) -> Vec<i16> {
        (0..n)
            .map(|i| (amp * (2.0 * PI * freq * i as f64 / rate).sin()).round() as i16)
            .collect()
    }

    /// Power (mean square, amplitude²/2 for a sine) of the `freq` component of `x`, by a
    /// least-squares fit of a sine and cosine at that frequency.
    pub fn power_at(x: &[i16], freq: f64, rate: f64) -> f64 {
        let (mut cc, mut ss, mut cs, mut xc, mut xs) = (0.0, 0.0, 0.0, 0.0, 0.0);
        for (n, v) in x.iter().enumerate() {
            let (s, c) = (2.0 * PI * freq * n as f64 / rate).sin_cos();
            let v = f64::from(*v);
            cc += c * c;
            ss += s * s;
            cs += c * s;
            xc += v * c;
            xs += v * s;
        }
        // Solve [cc cs; cs ss] [a b]ᵀ = [xc xs]ᵀ.
        let det = cc * ss - cs * cs;
        let a = (xc * ss - xs * cs) / det;
        let b = (xs * cc - xc * cs) / det;
        (a * a + b * b) / 2.0
    }

    pub fn mean_square(x: &[i16]) -> f64 {
        x.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / x.len().max(1) as f64
    }

    pub fn db(ratio: f64) -> f64 {
        10.0 * ratio.max(1e-30).log10()
    }

    /// A small deterministic PRNG (xorshift64*), for fuzz-style tests.
    pub struct Rng(u64);

    impl Rng {
        pub fn new(seed: u64) -> Self {
            Self(seed.max(1))
        }

        #[allow(clippy::should_implement_trait)]
        pub fn next(&mut self) -> u64 {
            self.0 ^= self.0 >> 12;
            self.0 ^= self.0 << 25;
            self.0 ^= self.0 >> 27;
            self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }

        pub fn below(&mut self, n: u64) -> u64 {
            self.next() % n
        }
    }
}
