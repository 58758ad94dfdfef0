//! Phone → call: the phone's frames (48 or 8 kHz) encoded to Opus for the SFU, each with
//! its RFC 6464 level so the phone takes part in speaker ranking.
//!
//! The phone's audio is narrowband (G.711, nothing above 4 kHz), so the encoder is capped at
//! narrowband (SILK only) with a modest complexity: the full-band default spends several
//! times the CPU on bandwidth the phone never had (`benches/pstn_media.rs`, `phone_legs.rs`).
//!
//! Silence is gated by level, not by libopus' DTX: SILK's VAD adapts to stationary sounds
//! and, after about a second, took a steady tone (ringback, a test tone, music on hold) for
//! background noise and sent one frame in twenty. Here a frame is skipped only when the
//! phone has been really quiet (≤ [`SILENCE_LEVEL`]) for [`HANGOVER`] frames, and while
//! quiet one frame in [`KEEPALIVE`] still goes out (as WebRTC's DTX does). A quiet phone
//! costs neither the encoder nor the SFU anything.

use opus::{Application, Bandwidth, Bitrate, Channels, Encoder};

/// Opus complexity of the phone's encoder (0-10).
pub const COMPLEXITY: i32 = 3;
/// Bit rate: plenty for narrowband speech (G.711 itself carries 64 kbit/s of 8-bit samples).
pub const BITRATE: i32 = 20_000;
/// A frame at or below this level (dBov) is not voice for the SFU's speaker detector.
pub const VOICE_LEVEL: i8 = -60;
/// A frame at or below this level (dBov) is silence for the gate (G.711 line noise is
/// quieter; quiet speech louder).
pub const SILENCE_LEVEL: i8 = -62;
/// Quiet frames still sent before the gate closes (200 ms, the tail of a word).
pub const HANGOVER: u32 = 10;
/// While the gate is closed, one frame in this many is sent (400 ms).
pub const KEEPALIVE: u32 = 20;

/// One encoded 20 ms frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UplinkFrame {
    pub payload: Vec<u8>,
    /// RFC 6464 level, -127 (silence) … 0 dBov.
    pub level: i8,
    pub voice: bool,
}

pub struct PhoneUplink {
    encoder: Encoder,
    buf: Vec<u8>,
    /// Quiet frames in a row.
    quiet: u32,
}

impl PhoneUplink {
    /// An encoder taking 20 ms frames at `rate` (48 000, or 8 000: the phone's own rate,
    /// no resampling on the way).
    pub fn new(rate: u32) -> Result<Self, opus::Error> {
        let mut encoder = Encoder::new(rate, Channels::Mono, Application::Voip)?;
        encoder.set_max_bandwidth(Bandwidth::Narrowband)?;
        encoder.set_complexity(COMPLEXITY)?;
        encoder.set_bitrate(Bitrate::Bits(BITRATE))?;
        Ok(Self {
            encoder,
            buf: vec![0u8; 1500],
            quiet: 0,
        })
    }

    /// Encodes one 20 ms frame; None when there is nothing to send (the phone is quiet) or
    /// the encoder failed.
    pub fn encode(&mut self, pcm: &[i16]) -> Option<UplinkFrame> {
        let level = crate::sfu::mixer::level_of(pcm);
        if level > SILENCE_LEVEL {
            self.quiet = 0;
        } else {
            self.quiet = self.quiet.saturating_add(1);
            if self.quiet > HANGOVER && !(self.quiet - HANGOVER).is_multiple_of(KEEPALIVE) {
                return None;
            }
        }
        let n = match self.encoder.encode(pcm, &mut self.buf) {
            Ok(n) => n,
            Err(e) => {
                log::warn!("bridge: opus encode: {e}");
                return None;
            }
        };
        Some(UplinkFrame {
            payload: self.buf[..n].to_vec(),
            level,
            voice: level > VOICE_LEVEL,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pstn::media::test_util::{db, power_at, tone};
    use opus::Decoder;

    #[test]
    fn tone_is_encoded_with_its_level_and_silence_is_dropped() {
        for rate in [48_000usize, 8_000] {
            let frame = rate / 50;
            let mut up = PhoneUplink::new(rate as u32).unwrap();
            let mut dec = Decoder::new(rate as u32, Channels::Mono).unwrap();
            // A 1 kHz tone at -10 dBov RMS (amplitude 0.316 · √2 of full scale ≈ 14 650).
            // 3 s: a steady tone is not taken for background noise.
            let pcm = tone(1000.0, rate as f64, 14_650.0, frame * 150);
            let mut out = Vec::new();
            for f in pcm.chunks_exact(frame) {
                let e = up.encode(f).expect("a tone is sent");
                assert!((-11..=-9).contains(&e.level), "{}", e.level);
                assert!(e.voice);
                let mut d = vec![0i16; frame];
                assert_eq!(dec.decode(&e.payload, &mut d, false).unwrap(), frame);
                out.extend_from_slice(&d);
            }
            let p = power_at(&out[frame * 5..], 1000.0, rate as f64);
            let expect = 14_650.0f64.powi(2) / 2.0;
            assert!(db(p / expect).abs() < 1.5, "{rate}: {} dB", db(p / expect));
            // Silence: after the hangover one frame in KEEPALIVE is sent; speech reopens.
            let silent = vec![0i16; frame];
            let sent = (0..110).filter(|_| up.encode(&silent).is_some()).count();
            assert_eq!(sent, HANGOVER as usize + 5, "{rate}");
            assert!(up.encode(&pcm[..frame]).is_some());
        }
    }
}
