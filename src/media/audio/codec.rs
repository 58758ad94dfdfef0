//! Opus codec: 48 kHz mono, 20 ms frames, VOIP, ~32 kbit/s, in-band FEC.

use super::{MediaError, FRAME_SAMPLES, SAMPLE_RATE};

/// Target bitrate.
pub const OPUS_BITRATE: i32 = 32_000;
/// Largest encoded frame we accept from the encoder.
const MAX_PACKET: usize = 1500;

fn codec_err(e: opus::Error) -> MediaError {
    MediaError::Codec(e.to_string())
}

/// Opus encoder for one outgoing stream.
pub struct OpusEncoder {
    inner: opus::Encoder,
    buf: Vec<u8>,
}

impl OpusEncoder {
    /// Encoder with our settings (VOIP, 32 kbit/s, FEC on, expecting ~10% loss for FEC).
    pub fn new() -> Result<Self, MediaError> {
        let mut inner =
            opus::Encoder::new(SAMPLE_RATE, opus::Channels::Mono, opus::Application::Voip)
                .map_err(codec_err)?;
        inner
            .set_bitrate(opus::Bitrate::Bits(OPUS_BITRATE))
            .map_err(codec_err)?;
        inner.set_inband_fec(true).map_err(codec_err)?;
        // FEC data is only produced when the encoder expects loss.
        inner.set_packet_loss_perc(10).map_err(codec_err)?;
        Ok(Self {
            inner,
            buf: vec![0; MAX_PACKET],
        })
    }

    /// Encode one 960-sample frame.
    pub fn encode(&mut self, frame: &[i16]) -> Result<Vec<u8>, MediaError> {
        if frame.len() != FRAME_SAMPLES {
            return Err(MediaError::InvalidInput(format!(
                "opus frame must be {FRAME_SAMPLES} samples, got {}",
                frame.len()
            )));
        }
        let n = self.inner.encode(frame, &mut self.buf).map_err(codec_err)?;
        Ok(self.buf[..n].to_vec())
    }

    /// Forgets the signal encoded so far (settings stay): a frame after a DTX pause then
    /// carries nothing of what preceded the pause.
    pub fn reset(&mut self) {
        if let Err(e) = self.inner.reset_state() {
            log::warn!("opus encoder reset failed: {e}");
        }
    }

    /// Encoder lookahead in samples (algorithmic delay added by Opus); for the benchmark.
    #[cfg(test)]
    pub fn lookahead(&mut self) -> usize {
        self.inner.get_lookahead().map(|l| l as usize).unwrap_or(0)
    }
}

/// Opus decoder for one receive slot.
pub struct OpusDecoder {
    inner: opus::Decoder,
}

impl OpusDecoder {
    /// Mono 48 kHz decoder.
    pub fn new() -> Result<Self, MediaError> {
        Ok(Self {
            inner: opus::Decoder::new(SAMPLE_RATE, opus::Channels::Mono).map_err(codec_err)?,
        })
    }

    /// Decode a packet into `out` (960 samples); returns samples written.
    pub fn decode(&mut self, payload: &[u8], out: &mut [i16]) -> Result<usize, MediaError> {
        self.inner.decode(payload, out, false).map_err(codec_err)
    }

    /// Recover the frame *before* `next_payload` from its in-band FEC data.
    pub fn decode_fec(
        &mut self,
        next_payload: &[u8],
        out: &mut [i16],
    ) -> Result<usize, MediaError> {
        self.inner
            .decode(next_payload, out, true)
            .map_err(codec_err)
    }

    /// Packet loss concealment for one missing frame.
    pub fn conceal(&mut self, out: &mut [i16]) -> Result<usize, MediaError> {
        self.inner.decode(&[], out, false).map_err(codec_err)
    }

    /// Forgets the stream (its slot went silent): the next packet decodes from a clean
    /// state, with no tail of what played before the pause.
    pub fn reset(&mut self) {
        if let Err(e) = self.inner.reset_state() {
            log::warn!("opus decoder reset failed: {e}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::audio::{tone_power, tone_to_noise_db};

    #[test]
    fn round_trip_keeps_the_tone_and_fec_recovers() {
        let mut enc = OpusEncoder::new().unwrap();
        let mut dec = OpusDecoder::new().unwrap();
        let mut out = Vec::new();
        let mut packets = Vec::new();
        for f in 0..20 {
            let frame: Vec<i16> = (0..FRAME_SAMPLES)
                .map(|i| {
                    let t = (f * FRAME_SAMPLES + i) as f32 / 48_000.0;
                    (16000.0 * (2.0 * std::f32::consts::PI * 440.0 * t).sin()) as i16
                })
                .collect();
            let p = enc.encode(&frame).unwrap();
            assert!(
                p.len() < 200,
                "~32 kbit/s is ~80 bytes per frame, got {}",
                p.len()
            );
            packets.push(p);
        }
        let mut pcm = [0i16; FRAME_SAMPLES];
        for (i, p) in packets.iter().enumerate() {
            let n = if i == 10 {
                dec.decode_fec(&packets[11], &mut pcm).unwrap()
            } else {
                dec.decode(p, &mut pcm).unwrap()
            };
            assert_eq!(n, FRAME_SAMPLES);
            out.extend_from_slice(&pcm);
        }
        let recovered = &out[10 * FRAME_SAMPLES..11 * FRAME_SAMPLES];
        assert!(tone_power(recovered, 440.0) > 0.03);
        assert!(tone_power(&out[9600..14400], 440.0) > 0.05);
        assert!(dec.conceal(&mut pcm).unwrap() == FRAME_SAMPLES);
        assert_send::<OpusEncoder>();
        assert_send::<OpusDecoder>();
    }

    fn assert_send<T: Send>() {}

    /// 100 frames of a steady 1 kHz tone at half scale, encoded with our settings.
    fn tone_packets() -> Vec<Vec<u8>> {
        let mut enc = OpusEncoder::new().unwrap();
        (0..100)
            .map(|f| {
                let frame: Vec<i16> = (0..FRAME_SAMPLES)
                    .map(|i| {
                        let t = (f * FRAME_SAMPLES + i) as f64 / 48_000.0;
                        (16384.0 * (2.0 * std::f64::consts::PI * 1000.0 * t).sin()) as i16
                    })
                    .collect();
                enc.encode(&frame).unwrap()
            })
            .collect()
    }

    /// Tone-to-noise (dB) of every frame played from `steps`: `Some(i)` decodes packet i,
    /// `None` conceals one frame.
    fn played(packets: &[Vec<u8>], steps: impl Iterator<Item = Option<usize>>) -> Vec<f32> {
        let mut dec = OpusDecoder::new().unwrap();
        let mut pcm = [0i16; FRAME_SAMPLES];
        steps
            .map(|s| {
                match s {
                    Some(i) => dec.decode(&packets[i], &mut pcm).unwrap(),
                    None => dec.conceal(&mut pcm).unwrap(),
                };
                tone_to_noise_db(&pcm, 1000.0)
            })
            .collect()
    }

    /// Why the jitter buffer waits for a late frame instead of concealing it: our stream is
    /// SILK-based (hybrid), and one concealed frame of a steady tone throws the decoder's
    /// predictors off for ~300 ms, even though every later packet arrives.
    #[test]
    fn one_concealed_frame_of_a_steady_tone_distorts_the_next_hundreds_of_ms() {
        let p = tone_packets();
        let clean = played(&p, (0..60).map(Some));
        assert!(clean[10..].iter().all(|db| *db > 20.0), "{clean:?}");
        // Frame 40 concealed, then played when it arrives late (what an underrun did).
        let steps = (0..40).map(Some).chain([None]).chain((40..60).map(Some));
        let after = played(&p, steps).split_off(41);
        let bad = after.iter().filter(|db| **db < 20.0).count();
        assert!(
            bad >= 10,
            "frames below 20 dB after one concealed frame: {bad}: {after:?}"
        );
    }

    /// Why a frame trimmed to cut latency is still decoded (output discarded): stepping over
    /// a frame derails SILK too, at many points of the stream (23 of 60 here), while a decoder
    /// that saw every frame stays clean whichever outputs are dropped.
    #[test]
    fn a_frame_stepped_over_often_distorts_the_next_ones() {
        let p = tone_packets();
        let derailed = (20..80)
            .filter(|&k| {
                let after = played(&p, (0..k + 20).filter(|&i| i != k).map(Some)).split_off(k);
                after.iter().any(|db| *db < 20.0)
            })
            .count();
        assert!(
            derailed >= 10,
            "skips followed by a frame below 20 dB: {derailed} of 60"
        );
        let every_frame = played(&p, (0..100).map(Some)).split_off(10);
        assert!(every_frame.iter().all(|db| *db > 20.0), "{every_frame:?}");
    }

    #[test]
    fn wrong_frame_size_is_invalid_input() {
        let mut enc = OpusEncoder::new().unwrap();
        assert!(matches!(
            enc.encode(&[0; 10]),
            Err(MediaError::InvalidInput(_))
        ));
    }
}
