//! libacscalling: a voice and video calling SDK with a stable C ABI.
pub mod client;
pub mod error;
pub mod ffi;
pub mod media;
mod object_id;
pub use acscalling_protocol as protocol;
pub mod signaling;
