//! Video building blocks: I420 frames and pixel-format conversion (`frame`), the scaling
//! modes and scaler of renderers (`scale`), and the virtual camera's test pattern with a
//! frame counter a receiver can read back (`pattern`). Cameras, H.264 and the transport's
//! video m-lines build on these.

pub mod frame;
pub mod pattern;
pub mod scale;

pub use frame::{PixelFormat, VideoFrame};
pub use pattern::{read_counter, test_pattern};
pub use scale::{layout, scale, Layout, Rect, ScalingMode};
