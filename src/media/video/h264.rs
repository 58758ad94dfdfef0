//! H.264 through OpenH264 (compiled from the bundled source; nasm makes it ~3x faster):
//! an encoder for the camera / pushed frames with keyframes on request (PLI/FIR), and a
//! decoder that turns Annex-B access units back into I420 frames.

use openh264::decoder::Decoder;
use openh264::encoder::{
    BitRate, Encoder, EncoderConfig, FrameRate, FrameType, QpRange, RateControlMode, UsageType,
};
use openh264::formats::YUVSource;
use openh264::OpenH264API;

use super::frame::VideoFrame;
use crate::media::MediaError;

impl YUVSource for VideoFrame {
    fn dimensions(&self) -> (usize, usize) {
        (self.width as usize, self.height as usize)
    }
    fn strides(&self) -> (usize, usize, usize) {
        let cw = self.chroma_width() as usize;
        (self.width as usize, cw, cw)
    }
    fn y(&self) -> &[u8] {
        &self.y
    }
    fn u(&self) -> &[u8] {
        &self.u
    }
    fn v(&self) -> &[u8] {
        &self.v
    }
}

fn codec_err(what: &str, e: impl std::fmt::Display) -> MediaError {
    MediaError::Codec(format!("h264 {what}: {e}"))
}

/// One encoded picture: an Annex-B access unit (start codes + NAL units).
#[derive(Debug, Clone)]
pub struct EncodedVideo {
    pub data: Vec<u8>,
    /// An IDR picture (decodable on its own).
    pub keyframe: bool,
}

/// What an encoder is tuned for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VideoContent {
    /// Camera pictures: smooth motion first (OpenH264's camera usage, any quantiser).
    #[default]
    Camera,
    /// A shared screen: sharpness over frame rate. OpenH264's screen-content usage, and the
    /// quantiser capped at [`SCREEN_MAX_QP`] so text stays legible: when the bitrate does
    /// not suffice, the encoder skips frames (the rate drops) instead of blurring them, and
    /// the picture is never scaled down.
    Screen,
}

/// The coarsest quantiser a screen share's frames get (0..=51; 51 is the blurriest). At
/// 32 small text stays readable (see benches/screen_bench.rs for the measured sharpness).
pub const SCREEN_MAX_QP: u8 = 32;

/// A real-time H.264 encoder (bitrate mode; it may skip a frame to hold the rate), tuned
/// for camera pictures or screen content.
pub struct H264Encoder {
    encoder: Encoder,
    keyframe_requested: bool,
}

impl H264Encoder {
    /// A camera encoder aiming at `bitrate_bps` and at most `max_fps` frames per second.
    pub fn new(bitrate_bps: u32, max_fps: f32) -> Result<Self, MediaError> {
        Self::for_content(bitrate_bps, max_fps, VideoContent::Camera)
    }

    /// An encoder for `content` aiming at `bitrate_bps` and at most `max_fps` frames per
    /// second.
    pub fn for_content(
        bitrate_bps: u32,
        max_fps: f32,
        content: VideoContent,
    ) -> Result<Self, MediaError> {
        let config = EncoderConfig::new()
            .bitrate(BitRate::from_bps(bitrate_bps))
            .max_frame_rate(FrameRate::from_hz(max_fps))
            .rate_control_mode(RateControlMode::Bitrate)
            .skip_frames(true);
        let config = match content {
            VideoContent::Camera => config.usage_type(UsageType::CameraVideoRealTime),
            VideoContent::Screen => config
                .usage_type(UsageType::ScreenContentRealTime)
                .qp(QpRange::new(0, SCREEN_MAX_QP)),
        };
        let encoder = Encoder::with_api_config(OpenH264API::from_source(), config)
            .map_err(|e| codec_err("encoder", e))?;
        Ok(Self {
            encoder,
            keyframe_requested: false,
        })
    }

    /// Asks for an IDR picture next (the receiver lost the picture: PLI/FIR).
    pub fn request_keyframe(&mut self) {
        self.keyframe_requested = true;
    }

    /// Encodes one frame; None when the encoder skipped it.
    pub fn encode(&mut self, frame: &VideoFrame) -> Result<Option<EncodedVideo>, MediaError> {
        if std::mem::take(&mut self.keyframe_requested) {
            self.encoder.force_intra_frame();
        }
        let bits = self
            .encoder
            .encode(frame)
            .map_err(|e| codec_err("encode", e))?;
        let keyframe = matches!(bits.frame_type(), FrameType::IDR | FrameType::I);
        if matches!(bits.frame_type(), FrameType::Skip | FrameType::Invalid) {
            return Ok(None);
        }
        let data = bits.to_vec();
        Ok((!data.is_empty()).then_some(EncodedVideo { data, keyframe }))
    }
}

/// An H.264 decoder.
pub struct H264Decoder {
    decoder: Decoder,
}

impl H264Decoder {
    pub fn new() -> Result<Self, MediaError> {
        Ok(Self {
            decoder: Decoder::new().map_err(|e| codec_err("decoder", e))?,
        })
    }

    /// Decodes one Annex-B access unit; None when it yields no picture (yet).
    pub fn decode(&mut self, access_unit: &[u8]) -> Result<Option<VideoFrame>, MediaError> {
        let Some(pic) = self
            .decoder
            .decode(access_unit)
            .map_err(|e| codec_err("decode", e))?
        else {
            return Ok(None);
        };
        let (w, h) = pic.dimensions();
        let (ys, us, vs) = pic.strides();
        let mut f = VideoFrame::black(w as u32, h as u32)?;
        let cw = f.chroma_width() as usize;
        let ch = h.div_ceil(2);
        for r in 0..h {
            f.y[r * w..][..w].copy_from_slice(&pic.y()[r * ys..][..w]);
        }
        for r in 0..ch {
            f.u[r * cw..][..cw].copy_from_slice(&pic.u()[r * us..][..cw]);
            f.v[r * cw..][..cw].copy_from_slice(&pic.v()[r * vs..][..cw]);
        }
        Ok(Some(f))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::video::pattern::{read_counter, test_pattern};

    #[test]
    fn the_frame_counter_survives_h264() {
        let mut enc = H264Encoder::new(1_000_000, 30.0).unwrap();
        let mut dec = H264Decoder::new().unwrap();
        let mut read = Vec::new();
        let mut keyframes = 0;
        for n in 0..30u32 {
            if n == 20 {
                enc.request_keyframe();
            }
            let f = test_pattern(n, 640, 360).unwrap();
            let Some(e) = enc.encode(&f).unwrap() else {
                continue;
            };
            keyframes += usize::from(e.keyframe);
            if n == 0 || n == 20 {
                assert!(e.keyframe, "frame {n} is an IDR");
            }
            if let Some(out) = dec.decode(&e.data).unwrap() {
                assert_eq!((out.width, out.height), (640, 360));
                read.extend(read_counter(&out));
            }
        }
        assert!(keyframes >= 2, "{keyframes} keyframes");
        assert!(read.len() >= 25, "counters read back: {read:?}");
        assert!(read.windows(2).all(|w| w[1] > w[0]), "increasing: {read:?}");
    }

    #[test]
    fn garbage_is_an_error_or_no_picture_never_a_crash() {
        let mut dec = H264Decoder::new().unwrap();
        let junk = [0u8, 0, 0, 1, 0x65, 1, 2, 3, 4, 5, 6, 7];
        assert!(!matches!(dec.decode(&junk), Ok(Some(_))));
        assert!(!matches!(dec.decode(&[]), Ok(Some(_))));
    }
}
