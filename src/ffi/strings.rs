//! Strings across the boundary: NUL-terminated UTF-8 in (copied), caller buffers out.

use super::status::*;
use std::ffi::{c_char, CStr};

/// Reads a required C string argument.
pub(crate) fn str_in(p: *const c_char, what: &str) -> FfiResult<String> {
    if p.is_null() {
        return Err(FfiError::new(
            ACS_ERR_NULL_POINTER,
            format!("{what} is NULL"),
        ));
    }
    // SAFETY: the caller promises a NUL-terminated string.
    let c = unsafe { CStr::from_ptr(p) };
    c.to_str()
        .map(str::to_owned)
        .map_err(|_| FfiError::new(ACS_ERR_INVALID_UTF8, format!("{what} is not valid UTF-8")))
}

/// Reads an optional C string argument (NULL → None).
pub(crate) fn opt_str_in(p: *const c_char, what: &str) -> FfiResult<Option<String>> {
    if p.is_null() {
        Ok(None)
    } else {
        str_in(p, what).map(Some)
    }
}

/// Copies `s` into the caller's buffer. `needed` (if not NULL) always receives the size
/// including the NUL. `buf == NULL && capacity == 0` with a `needed` pointer is a size
/// query and succeeds.
pub(crate) fn str_out(s: &str, buf: *mut c_char, capacity: usize, needed: *mut usize) -> FfiResult {
    let need = s.len() + 1;
    if !needed.is_null() {
        // SAFETY: checked non-NULL; the caller gives a writable size_t.
        unsafe { *needed = need };
        if buf.is_null() && capacity == 0 {
            return Ok(());
        }
    }
    if buf.is_null() || capacity < need {
        return Err(FfiError::new(
            ACS_ERR_BUFFER_TOO_SMALL,
            format!("the buffer needs {need} bytes, {capacity} given"),
        ));
    }
    // SAFETY: the caller gives `capacity` ≥ `need` writable bytes.
    unsafe {
        std::ptr::copy_nonoverlapping(s.as_ptr(), buf.cast::<u8>(), s.len());
        *buf.add(s.len()) = 0;
    }
    Ok(())
}

/// Writes an output value, failing on NULL.
pub(crate) fn out<T>(p: *mut T, v: T, what: &str) -> FfiResult {
    if p.is_null() {
        return Err(FfiError::new(
            ACS_ERR_NULL_POINTER,
            format!("{what} is NULL"),
        ));
    }
    // SAFETY: checked non-NULL; the caller gives a writable T.
    unsafe { p.write(v) };
    Ok(())
}

/// Fails if an output pointer is NULL (check before doing work, so nothing is lost).
pub(crate) fn need<T>(p: *mut T, what: &str) -> FfiResult {
    if p.is_null() {
        Err(FfiError::new(
            ACS_ERR_NULL_POINTER,
            format!("{what} is NULL"),
        ))
    } else {
        Ok(())
    }
}
