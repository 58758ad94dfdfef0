//! ITU-T G.711: PCMU (μ-law) and PCMA (A-law), 8 kHz, one byte per sample.
//!
//! The encoders are the classic segment search of the reference implementation (Sun's
//! `g711.c`, which matches the ITU tables); the decoders are 256-entry tables built at
//! compile time from the same formulas. Linear samples are 16-bit.

/// A G.711 law.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum G711 {
    /// μ-law (North America, Japan), static RTP payload type 0.
    Pcmu,
    /// A-law (rest of the world), static RTP payload type 8.
    Pcma,
}

impl G711 {
    /// The static RTP payload type (RFC 3551).
    pub const fn static_payload_type(self) -> u8 {
        match self {
            G711::Pcmu => 0,
            G711::Pcma => 8,
        }
    }

    /// The code of a zero sample.
    pub const fn silence(self) -> u8 {
        match self {
            G711::Pcmu => 0xFF,
            G711::Pcma => 0xD5,
        }
    }

    pub fn encode_sample(self, s: i16) -> u8 {
        match self {
            G711::Pcmu => ulaw_encode(s),
            G711::Pcma => alaw_encode(s),
        }
    }

    pub fn decode_sample(self, c: u8) -> i16 {
        match self {
            G711::Pcmu => ULAW_DECODE[c as usize],
            G711::Pcma => ALAW_DECODE[c as usize],
        }
    }

    /// Encodes `pcm` into `out` (same length; extra elements on either side are left alone).
    pub fn encode(self, pcm: &[i16], out: &mut [u8]) {
        for (o, s) in out.iter_mut().zip(pcm) {
            *o = self.encode_sample(*s);
        }
    }

    /// Decodes `codes` into `out` (same length; extra elements on either side are left alone).
    pub fn decode(self, codes: &[u8], out: &mut [i16]) {
        let table = match self {
            G711::Pcmu => &ULAW_DECODE,
            G711::Pcma => &ALAW_DECODE,
        };
        for (o, c) in out.iter_mut().zip(codes) {
            *o = table[*c as usize];
        }
    }
}

const ULAW_BIAS: i32 = 0x84;
/// Largest 14-bit magnitude μ-law encodes without clipping.
const ULAW_CLIP14: i32 = 8159;

/// μ-law encode (G.711 table 2a), on the 14-bit magnitude as the reference implementation.
pub fn ulaw_encode(s: i16) -> u8 {
    let mut v = i32::from(s) >> 2;
    let mask: u8 = if v < 0 {
        v = -v;
        0x7F
    } else {
        0xFF
    };
    v = v.min(ULAW_CLIP14) + (ULAW_BIAS >> 2);
    // v is in 0x21..=0x2000: its highest set bit is 5..=13, the segment is that minus 5.
    let seg = (31 - (v as u32).leading_zeros() - 5) as i32;
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let mant = (v >> (seg + 1)) & 0x0F;
    (((seg << 4) | mant) as u8) ^ mask
}

const fn ulaw_decode(code: u8) -> i16 {
    let u = !code;
    let t = ((((u & 0x0F) as i32) << 3) + ULAW_BIAS) << ((u & 0x70) >> 4);
    if u & 0x80 != 0 {
        (ULAW_BIAS - t) as i16
    } else {
        (t - ULAW_BIAS) as i16
    }
}

/// A-law encode (G.711 table 1a; even bits inverted, 0x55).
pub fn alaw_encode(s: i16) -> u8 {
    let mut v = i32::from(s) >> 3;
    let mask: u8 = if v >= 0 {
        0xD5
    } else {
        v = -v - 1;
        0x55
    };
    // Segment: the number of 13-bit magnitude bits above the 5 of segment 0.
    let seg = (32 - (v as u32).leading_zeros()).saturating_sub(5) as i32;
    if seg >= 8 {
        return 0x7F ^ mask;
    }
    let mant = if seg < 2 {
        (v >> 1) & 0x0F
    } else {
        (v >> seg) & 0x0F
    };
    (((seg << 4) | mant) as u8) ^ mask
}

const fn alaw_decode(code: u8) -> i16 {
    let a = code ^ 0x55;
    let mut t = ((a & 0x0F) as i32) << 4;
    let seg = ((a & 0x70) >> 4) as i32;
    match seg {
        0 => t += 8,
        1 => t += 0x108,
        _ => t = (t + 0x108) << (seg - 1),
    }
    if a & 0x80 != 0 {
        t as i16
    } else {
        -t as i16
    }
}

const fn table(alaw: bool) -> [i16; 256] {
    let mut t = [0i16; 256];
    let mut i = 0;
    while i < 256 {
        t[i] = if alaw {
            alaw_decode(i as u8)
        } else {
            ulaw_decode(i as u8)
        };
        i += 1;
    }
    t
}

static ULAW_DECODE: [i16; 256] = table(false);
static ALAW_DECODE: [i16; 256] = table(true);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ulaw_known_vectors() {
        // (linear, code) pairs of the reference implementation / G.711 table 2a.
        for (s, c) in [
            (0i16, 0xFFu8),
            (-1, 0x7E),
            (8, 0xFE),
            (100, 0xF2),
            (1000, 0xCE),
            (-1000, 0x4E),
            (8031, 0xA0),
            (32767, 0x80),
            (-32768, 0x00),
        ] {
            assert_eq!(ulaw_encode(s), c, "encode {s}");
        }
        for (c, s) in [
            (0xFFu8, 0i16),
            (0x7F, 0),
            (0x80, 32124),
            (0x00, -32124),
            (0xFE, 8),
            (0xF0, 120),
            (0xEF, 132),
            (0xCE, 988),
            (0xA0, 7932),
            (0x8F, 16764),
        ] {
            assert_eq!(G711::Pcmu.decode_sample(c), s, "decode {c:#x}");
        }
    }

    #[test]
    fn alaw_known_vectors() {
        for (s, c) in [
            (0i16, 0xD5u8),
            (-1, 0x55),
            (-8, 0x55),
            (8, 0xD5),
            (16, 0xD4),
            (1000, 0xFA),
            (-1000, 0x7A),
            (32767, 0xAA),
            (-32768, 0x2A),
        ] {
            assert_eq!(alaw_encode(s), c, "encode {s}");
        }
        for (c, s) in [
            (0xD5u8, 8i16),
            (0x55, -8),
            (0xAA, 32256),
            (0x2A, -32256),
            (0xD4, 24),
            (0xFA, 1008),
            (0xC5, 264),
            (0xA5, 16896),
        ] {
            assert_eq!(G711::Pcma.decode_sample(c), s, "decode {c:#x}");
        }
    }

    /// Weighted checksums of the whole encode (all 65536 inputs) and decode (all 256 codes)
    /// mappings, computed with CPython's `audioop` (the reference implementation's code).
    #[test]
    fn whole_mappings_match_the_reference() {
        for (law, enc_sum, dec_sum) in [
            (G711::Pcmu, 255_309_330_014u64, 98_107_392i64),
            (G711::Pcma, 297_161_535_488, 100_139_008),
        ] {
            let mut e = 0u64;
            for (i, s) in (i16::MIN..=i16::MAX).enumerate() {
                e = e.wrapping_add((i as u64 + 1) * u64::from(law.encode_sample(s)));
            }
            let d: i64 = (0..=255u8)
                .map(|c| (i64::from(c) + 1) * i64::from(law.decode_sample(c)))
                .sum();
            assert_eq!((e, d), (enc_sum, dec_sum), "{law:?}");
        }
    }

    #[test]
    fn every_code_round_trips() {
        for law in [G711::Pcmu, G711::Pcma] {
            for c in 0..=255u8 {
                // μ-law's negative zero (0x7F) decodes to 0, which encodes as positive zero.
                if law == G711::Pcmu && c == 0x7F {
                    continue;
                }
                assert_eq!(law.encode_sample(law.decode_sample(c)), c, "{law:?} {c:#x}");
            }
        }
    }

    #[test]
    fn decode_tables_are_odd_and_monotonic() {
        for law in [G711::Pcmu, G711::Pcma] {
            let mut values: Vec<i16> = (0..=255u8).map(|c| law.decode_sample(c)).collect();
            values.sort_unstable();
            values.dedup();
            // 255 distinct levels for μ-law (two zeros), 256 for A-law.
            let expect = if law == G711::Pcmu { 255 } else { 256 };
            assert_eq!(values.len(), expect, "{law:?}");
            for v in &values {
                assert!(values.contains(&-v) || *v == 0, "{law:?} {v}");
            }
        }
    }

    #[test]
    fn round_trip_error_is_within_half_a_step() {
        // Quantisation step is ~1/16 of the magnitude (4 mantissa bits): the error is at most
        // half of it, plus the small fixed step of the lowest segments; full scale clips.
        for law in [G711::Pcmu, G711::Pcma] {
            for s in i16::MIN..=i16::MAX {
                let d = law.decode_sample(law.encode_sample(s));
                let err = (i32::from(s) - i32::from(d)).abs();
                let bound = (i32::from(s).abs() + 132) / 32 + 9;
                assert!(err <= bound, "{law:?}: {s} -> {d}, err {err} > {bound}");
                assert!(d == 0 || (s < 0) == (d < 0), "{law:?}: sign of {s} -> {d}");
            }
        }
    }

    #[test]
    fn sine_snr_is_g711_grade() {
        // A -6 dBFS 1 kHz sine: G.711 gives ~38 dB SNR across its range.
        for law in [G711::Pcmu, G711::Pcma] {
            let pcm: Vec<i16> = (0..8000)
                .map(|n| (16000.0 * (2.0 * std::f64::consts::PI * n as f64 / 8.0).sin()) as i16)
                .collect();
            let mut codes = vec![0u8; pcm.len()];
            let mut back = vec![0i16; pcm.len()];
            law.encode(&pcm, &mut codes);
            law.decode(&codes, &mut back);
            let sig: f64 = pcm.iter().map(|s| f64::from(*s).powi(2)).sum();
            let noise: f64 = pcm
                .iter()
                .zip(&back)
                .map(|(a, b)| (f64::from(*a) - f64::from(*b)).powi(2))
                .sum();
            let snr = 10.0 * (sig / noise).log10();
            assert!(snr > 35.0, "{law:?}: SNR {snr:.1} dB");
        }
    }
}
