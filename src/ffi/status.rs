//! Status codes, the thread-local last error message and the panic boundary.

use crate::error::Error;
use std::cell::RefCell;
use std::ffi::{c_char, CString};
use std::panic::{catch_unwind, AssertUnwindSafe};

/// Result of every fallible function: 0 = OK, negative = error. Numbers are stable and
/// never reused; a removed code stays reserved here in a comment.
pub type acs_status = i32;

/// Success.
pub const ACS_OK: acs_status = 0;
/// An argument is out of range or malformed (e.g. a bad identifier or option).
pub const ACS_ERR_INVALID_ARGUMENT: acs_status = -1;
/// A required pointer argument is NULL.
pub const ACS_ERR_NULL_POINTER: acs_status = -2;
/// The handle is NULL, released, or of the wrong type.
pub const ACS_ERR_INVALID_HANDLE: acs_status = -3;
/// A string argument is not valid UTF-8.
pub const ACS_ERR_INVALID_UTF8: acs_status = -4;
/// The output buffer is too small; the needed size was written to the size output.
pub const ACS_ERR_BUFFER_TOO_SMALL: acs_status = -5;
/// The object is not in a state that allows the operation (e.g. hold a ringing call).
pub const ACS_ERR_INVALID_STATE: acs_status = -6;
/// The thing asked for does not exist.
pub const ACS_ERR_NOT_FOUND: acs_status = -7;
/// The token is malformed, expired, revoked or lacks the `voip` scope.
pub const ACS_ERR_UNAUTHORIZED: acs_status = -8;
/// The service cannot be reached or the connection was lost.
pub const ACS_ERR_NETWORK: acs_status = -9;
/// An audio/video device cannot be opened or used.
pub const ACS_ERR_DEVICE: acs_status = -10;
/// An operation timed out.
pub const ACS_ERR_TIMEOUT: acs_status = -11;
/// Not supported by this build or platform.
pub const ACS_ERR_UNSUPPORTED: acs_status = -12;
/// A file could not be read or written.
pub const ACS_ERR_IO: acs_status = -13;
/// A limit was reached (participants, streams, buffer).
pub const ACS_ERR_LIMIT_REACHED: acs_status = -14;
/// The service refused the request (see the last error message for its code).
pub const ACS_ERR_SERVICE: acs_status = -15;
/// Unexpected internal failure.
pub const ACS_ERR_INTERNAL: acs_status = -98;
/// A panic was caught at the API boundary (a bug: please report it).
pub const ACS_ERR_PANIC: acs_status = -99;

/// An error on its way out through the C API.
#[derive(Debug)]
pub(crate) struct FfiError {
    pub status: acs_status,
    pub message: String,
}

impl FfiError {
    pub fn new(status: acs_status, message: impl Into<String>) -> Self {
        Self {
            status,
            message: message.into(),
        }
    }
}

impl From<Error> for FfiError {
    fn from(e: Error) -> Self {
        let status = match &e {
            Error::InvalidArgument(_) => ACS_ERR_INVALID_ARGUMENT,
            Error::InvalidState(_) => ACS_ERR_INVALID_STATE,
            Error::NotFound(_) => ACS_ERR_NOT_FOUND,
            Error::Unauthorized(_) => ACS_ERR_UNAUTHORIZED,
            Error::Network(_) => ACS_ERR_NETWORK,
            Error::Device(_) => ACS_ERR_DEVICE,
            Error::Timeout(_) => ACS_ERR_TIMEOUT,
            Error::Io(_) => ACS_ERR_IO,
            Error::LimitReached(_) => ACS_ERR_LIMIT_REACHED,
            Error::Internal(_) => ACS_ERR_INTERNAL,
            Error::Service { reason, .. } => match reason.code {
                401 => ACS_ERR_UNAUTHORIZED,
                404 => ACS_ERR_NOT_FOUND,
                _ => ACS_ERR_SERVICE,
            },
        };
        FfiError::new(status, e.to_string())
    }
}

pub(crate) type FfiResult<T = ()> = Result<T, FfiError>;

thread_local! {
    static LAST_ERROR: RefCell<CString> = RefCell::new(CString::default());
}

pub(crate) fn set_last_error(message: &str) {
    let c = CString::new(message.replace('\0', " ")).unwrap_or_default();
    LAST_ERROR.with(|l| *l.borrow_mut() = c);
}

/// Runs an export's body: converts errors to a status and sets the last error message;
/// catches panics so they never cross into the host.
pub(crate) fn guard(f: impl FnOnce() -> FfiResult) -> acs_status {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => ACS_OK,
        Ok(Err(e)) => {
            set_last_error(&e.message);
            e.status
        }
        Err(panic) => {
            let what = panic
                .downcast_ref::<&str>()
                .map(|s| s.to_string())
                .or_else(|| panic.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "unknown panic".into());
            set_last_error(&format!(
                "internal panic caught at the API boundary: {what}"
            ));
            ACS_ERR_PANIC
        }
    }
}

/// A static, human-readable name for a status code (never NULL).
#[no_mangle]
pub extern "C" fn acs_status_to_string(status: acs_status) -> *const c_char {
    let s: &'static [u8] = match status {
        ACS_OK => b"OK\0",
        ACS_ERR_INVALID_ARGUMENT => b"invalid argument\0",
        ACS_ERR_NULL_POINTER => b"null pointer\0",
        ACS_ERR_INVALID_HANDLE => b"invalid handle\0",
        ACS_ERR_INVALID_UTF8 => b"invalid UTF-8\0",
        ACS_ERR_BUFFER_TOO_SMALL => b"buffer too small\0",
        ACS_ERR_INVALID_STATE => b"invalid state\0",
        ACS_ERR_NOT_FOUND => b"not found\0",
        ACS_ERR_UNAUTHORIZED => b"unauthorized\0",
        ACS_ERR_NETWORK => b"network error\0",
        ACS_ERR_DEVICE => b"device error\0",
        ACS_ERR_TIMEOUT => b"timeout\0",
        ACS_ERR_UNSUPPORTED => b"unsupported\0",
        ACS_ERR_IO => b"i/o error\0",
        ACS_ERR_LIMIT_REACHED => b"limit reached\0",
        ACS_ERR_SERVICE => b"service error\0",
        ACS_ERR_INTERNAL => b"internal error\0",
        ACS_ERR_PANIC => b"panic\0",
        _ => b"unknown status\0",
    };
    s.as_ptr().cast()
}

/// Copies the message of the last error on this thread into `buf` (NUL-terminated,
/// truncated to `capacity`). Returns the size needed including the NUL; `buf` may be NULL
/// to ask for the size. The message stays until the next error on this thread.
#[no_mangle]
pub unsafe extern "C" fn acs_last_error_message(buf: *mut c_char, capacity: usize) -> usize {
    catch_unwind(|| {
        LAST_ERROR.with(|l| {
            let l = l.borrow();
            let bytes = l.as_bytes();
            if !buf.is_null() && capacity > 0 {
                let n = bytes.len().min(capacity - 1);
                // SAFETY: the caller gives `capacity` writable bytes at `buf`.
                unsafe {
                    std::ptr::copy_nonoverlapping(bytes.as_ptr(), buf.cast::<u8>(), n);
                    *buf.add(n) = 0;
                }
            }
            bytes.len() + 1
        })
    })
    .unwrap_or(0)
}
