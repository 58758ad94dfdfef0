//! Media: audio devices and processing (`audio`), and the WebRTC transport to the SFU (`transport`).

pub mod audio;
pub mod camera;
pub mod permission;
pub mod transport;
pub mod video;

/// Errors from devices, codecs and the transport.
#[derive(Debug, thiserror::Error)]
pub enum MediaError {
    /// A device could not be found or opened (e.g. cpal's ALSA "default" without a sound card,
    /// a busy camera).
    #[error("device error: {0}")]
    Device(String),
    /// Bad input from the host (wrong sample count, unsupported format, bad WAV file...).
    #[error("invalid media input: {0}")]
    InvalidInput(String),
    /// File I/O.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
    /// Opus encoder/decoder error.
    #[error("codec error: {0}")]
    Codec(String),
    /// WebRTC transport error (SDP, ICE, DTLS).
    #[error("transport error: {0}")]
    Transport(String),
}
