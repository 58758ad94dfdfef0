//! libacscalling: a voice and video calling SDK with a stable C ABI.
pub mod media;
pub mod protocol;
