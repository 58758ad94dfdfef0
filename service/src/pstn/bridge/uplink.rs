//! Phone → call: the phone's 48 kHz frames encoded to Opus for the SFU, each with its
//! RFC 6464 level so the phone takes part in speaker ranking.
//!
//! The phone's audio is narrowband (G.711, nothing above 4 kHz), so the encoder is capped at
//! narrowband (SILK only) with a modest complexity: the full-band default spends several
//! times the CPU on bandwidth the phone never had (`benches/pstn_media.rs`, `phone_legs.rs`).
//! With DTX on, libopus marks frames that need not be sent (1-2 bytes); they are skipped,
//! as WebRTC clients do, so a silent phone costs the SFU almost nothing.

use opus::{Application, Bandwidth, Bitrate, Channels, Encoder};

/// Opus complexity of the phone's encoder (0-10).
pub const COMPLEXITY: i32 = 3;
/// Bit rate: plenty for narrowband speech (G.711 itself carries 64 kbit/s of 8-bit samples).
pub const BITRATE: i32 = 20_000;
/// A frame at or below this level (dBov) is not voice for the SFU's speaker detector.
pub const VOICE_LEVEL: i8 = -60;
/// Packets this short are DTX "nothing to send" frames.
const DTX_MAX_LEN: usize = 2;

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
}

impl PhoneUplink {
    /// An encoder taking 20 ms frames at `rate` (48 000, or 8 000: the phone's own rate,
    /// no resampling on the way).
    pub fn new(rate: u32) -> Result<Self, opus::Error> {
        let mut encoder = Encoder::new(rate, Channels::Mono, Application::Voip)?;
        encoder.set_max_bandwidth(Bandwidth::Narrowband)?;
        encoder.set_complexity(COMPLEXITY)?;
        encoder.set_bitrate(Bitrate::Bits(BITRATE))?;
        encoder.set_dtx(true)?;
        Ok(Self {
            encoder,
            buf: vec![0u8; 1500],
        })
    }

    /// Encodes one 20 ms frame; None when there is nothing to send (DTX) or the encoder
    /// failed.
    pub fn encode(&mut self, pcm: &[i16]) -> Option<UplinkFrame> {
        let level = crate::sfu::mixer::level_of(pcm);
        let n = match self.encoder.encode(pcm, &mut self.buf) {
            Ok(n) => n,
            Err(e) => {
                log::warn!("bridge: opus encode: {e}");
                return None;
            }
        };
        if n <= DTX_MAX_LEN {
            return None;
        }
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
            let pcm = tone(1000.0, rate as f64, 14_650.0, frame * 50);
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
            // Silence: after a few frames DTX kicks in and most frames are not sent.
            let silent = vec![0i16; frame];
            let sent = (0..100).filter(|_| up.encode(&silent).is_some()).count();
            assert!(sent < 30, "{rate}: {sent}");
        }
    }
}
