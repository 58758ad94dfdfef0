//! Video building blocks: I420 frames and pixel-format conversion (`frame`), the scaling
//! modes and scaler of renderers (`scale`), and the virtual camera's test pattern with a
//! frame counter a receiver can read back (`pattern`), H.264 encode/decode through
//! OpenH264 (`h264`), and camera capture from V4L2 nodes (`v4l2`). Local streams and the
//! transport's video m-lines build on these.

pub mod bus;
pub mod decode;
pub mod encode;
pub mod frame;
pub mod h264;
pub mod pattern;
pub mod renderer;
pub mod scale;
pub mod screen;
pub mod source;
pub mod v4l2;

pub use bus::{BusFrame, BusSubscription, FrameBus, FrameSink};
pub use decode::{DecodeStats, VideoDecodePipeline, VideoPacket};
pub use encode::{EncodeStats, VideoEncodePipeline};
pub use frame::{PixelFormat, VideoFrame};
pub use h264::{EncodedVideo, H264Decoder, H264Encoder, VideoContent, SCREEN_MAX_QP};
pub use pattern::{read_counter, test_pattern};
pub use renderer::{RenderedFrame, VideoRenderer, VideoView, ViewCallback, ViewConfig, ViewStats};
pub use scale::{layout, scale, Layout, Rect, ScalingMode};
pub use screen::{
    CaptureOptions, ScreenCapture, ScreenSource, ScreenSourceKind, ShareState, StateListener,
};
pub use source::{PlaneFrame, VirtualCamera, VirtualCameraConfig};
pub use v4l2::{CameraCapture, CameraConfig, CameraFormat};
