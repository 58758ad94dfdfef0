//! Strings across the boundary: NUL-terminated UTF-8 in (copied), caller buffers out.

use super::status::*;
use std::ffi::c_char;

/// The longest string argument accepted, in bytes before the NUL: no identifier, token, URL,
/// name or path comes near it. A longer one is ACS_ERR_INVALID_ARGUMENT, and the library
/// reads no further than this many bytes (+1) looking for the NUL.
pub const ACS_MAX_STRING_BYTES: usize = 65536;

/// Reads a required C string argument (at most ACS_MAX_STRING_BYTES before its NUL).
pub(crate) fn str_in(p: *const c_char, what: &str) -> FfiResult<String> {
    if p.is_null() {
        return Err(FfiError::new(
            ACS_ERR_NULL_POINTER,
            format!("{what} is NULL"),
        ));
    }
    // SAFETY: the caller promises a NUL-terminated string; strnlen reads no further than
    // its NUL or the limit, whichever comes first.
    let len = unsafe { libc::strnlen(p, ACS_MAX_STRING_BYTES + 1) };
    if len > ACS_MAX_STRING_BYTES {
        return Err(FfiError::new(
            ACS_ERR_INVALID_ARGUMENT,
            format!("{what} is longer than {ACS_MAX_STRING_BYTES} bytes"),
        ));
    }
    // SAFETY: `len` readable bytes precede the NUL (strnlen found it).
    let bytes = unsafe { std::slice::from_raw_parts(p.cast::<u8>(), len) };
    std::str::from_utf8(bytes)
        .map(str::to_owned)
        .map_err(|_| FfiError::new(ACS_ERR_INVALID_UTF8, format!("{what} is not valid UTF-8")))
}

/// Refuses a buffer capacity (in elements of `T`) that no buffer can have: more than
/// isize::MAX bytes. Such a number is a bug of the host's (a negative size cast to size_t,
/// an uninitialised variable), and Rust may not even form a slice of it.
pub(crate) fn check_capacity<T>(capacity: usize, what: &str) -> FfiResult {
    if capacity > isize::MAX as usize / std::mem::size_of::<T>().max(1) {
        return Err(FfiError::new(
            ACS_ERR_INVALID_ARGUMENT,
            format!("{what} {capacity} is larger than any buffer can be"),
        ));
    }
    Ok(())
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
    check_capacity::<u8>(capacity, "capacity")?;
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

/// Writes an optional output value: nothing when `p` is NULL.
pub(crate) fn out_opt<T>(p: *mut T, v: T) {
    if !p.is_null() {
        // SAFETY: non-NULL; the caller gives a writable value.
        unsafe { p.write(v) };
    }
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
