//! Typed errors inside the library; the FFI maps each kind to a stable `acs_status`.

use crate::media::MediaError;
use crate::protocol::EndReason;

/// Errors of the Rust API.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    #[error("operation not allowed in the current state: {0}")]
    InvalidState(String),
    #[error("not found: {0}")]
    NotFound(String),
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    #[error("network error: {0}")]
    Network(String),
    #[error("device error: {0}")]
    Device(String),
    #[error("timed out: {0}")]
    Timeout(String),
    #[error("i/o error: {0}")]
    Io(String),
    #[error("limit reached: {0}")]
    LimitReached(String),
    #[error("internal error: {0}")]
    Internal(String),
    /// The service refused a request.
    #[error("service error {}/{}: {message}", reason.code, reason.subcode)]
    Service { reason: EndReason, message: String },
}

/// Result alias of the Rust API.
pub type Result<T> = std::result::Result<T, Error>;

impl From<MediaError> for Error {
    fn from(e: MediaError) -> Self {
        match e {
            MediaError::Device(m) => Error::Device(m),
            MediaError::InvalidInput(m) => Error::InvalidArgument(m),
            MediaError::Io(e) => Error::Io(e.to_string()),
            other => Error::Internal(other.to_string()),
        }
    }
}
