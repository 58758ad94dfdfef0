//! Structs that begin with `struct_size` and grow only by appending fields: the one place
//! that reads the host's option structs and writes its output structs.
//!
//! A host compiled against an older header passes a shorter struct (its `struct_size` says
//! how long). Inputs: the library reads that prefix and takes the defaults (what `_init`
//! writes) for the fields the host does not know. Outputs: the library writes no more than
//! the host's `struct_size` bytes and sets `struct_size` to the bytes it wrote, so a host
//! newer than the library sees which fields were filled. A `struct_size` shorter than the
//! first layout ever shipped is an error; so is an input's larger than any struct of this
//! API can be. An output's `struct_size` of 0 counts as the first layout's (hosts compiled
//! before the output structs had `_init` functions left it 0 or unset), and a larger one
//! than the library's gets the library's struct: a host that never set it keeps working.

use super::status::*;

/// The largest `struct_size` accepted: no struct of this API comes near it, so a larger
/// value is an uninitialised struct, not a newer host.
pub(crate) const MAX_STRUCT_SIZE: usize = 4096;

/// A `#[repr(C)]` struct of the C API whose first field is `struct_size: u32` and which only
/// ever grows by appending fields. Implement it with [`extensible!`].
///
/// # Safety
/// The type is `#[repr(C)]` and its first field is `struct_size: u32` (the macro asserts
/// it); any prefix of it that a host fills, completed by the defaults, is a valid value.
pub(crate) unsafe trait Extensible: Sized {
    /// Its C name: messages say "call <NAME>_init".
    const NAME: &'static str;
    /// The end of the last field of its first version ever shipped: the smallest
    /// `struct_size` accepted.
    const OLDEST_SIZE: usize;
    /// The value its `_init` function writes, and what an older host's struct lacks.
    /// `struct_size` need not be set: the functions here set it.
    fn defaults() -> Self;
}

/// Implements [`Extensible`] for `$t`, whose first version ended with field `$last`.
macro_rules! extensible {
    ($t:ty, first_version_ends_with: $last:ident, defaults: $defaults:expr) => {
        const _: () = assert!(::std::mem::offset_of!($t, struct_size) == 0);
        // SAFETY: repr(C) with `struct_size: u32` first (asserted above); the fields are
        // integers, bools, pointers and optional function pointers, valid for any prefix
        // a host fills by the C rules.
        unsafe impl $crate::ffi::sized::Extensible for $t {
            const NAME: &'static str = stringify!($t);
            const OLDEST_SIZE: usize = ::std::mem::offset_of!($t, $last)
                + $crate::ffi::sized::field_size(|s: &$t| &s.$last);
            fn defaults() -> Self {
                $defaults
            }
        }
    };
}
pub(crate) use extensible;

/// The size of the field a projection returns (a const helper of [`extensible!`]).
pub(crate) const fn field_size<T, F>(_: fn(&T) -> &F) -> usize {
    std::mem::size_of::<F>()
}

fn with_size<T: Extensible>(mut v: T, size: usize) -> T {
    // SAFETY: `struct_size: u32` is the first field (Extensible's contract).
    unsafe { *(&mut v as *mut T).cast::<u32>() = size as u32 };
    v
}

/// The host's `struct_size`, checked: at least the first version's, and for an input at
/// most MAX_STRUCT_SIZE.
///
/// # Safety
/// `p` is non-NULL and points at a readable u32.
unsafe fn host_size<T: Extensible>(p: *const T, what: &str, input: bool) -> FfiResult<usize> {
    // SAFETY: the caller's promise.
    let size = unsafe { p.cast::<u32>().read() } as usize;
    let init = format!("{}_init", T::NAME);
    if size == 0 {
        return Err(FfiError::new(
            ACS_ERR_INVALID_ARGUMENT,
            format!("{what}.struct_size is not set: call {init}"),
        ));
    }
    if size < T::OLDEST_SIZE {
        return Err(FfiError::new(
            ACS_ERR_INVALID_ARGUMENT,
            format!(
                "{what}.struct_size is {size}, less than the {} bytes of the first {}: call {init}",
                T::OLDEST_SIZE,
                T::NAME
            ),
        ));
    }
    if input && size > MAX_STRUCT_SIZE {
        return Err(FfiError::new(
            ACS_ERR_INVALID_ARGUMENT,
            format!(
                "{what}.struct_size is {size}, more than any {} can be: call {init}",
                T::NAME
            ),
        ));
    }
    Ok(size)
}

/// Reads an input struct: the host's `struct_size` bytes of it (a shorter, older struct is
/// its prefix), the rest defaulted; `struct_size` keeps the host's value. NULL is
/// ACS_ERR_NULL_POINTER.
///
/// # Safety
/// `p` is NULL or points at `struct_size` readable bytes.
pub(crate) unsafe fn read_in<T: Extensible>(p: *const T, what: &str) -> FfiResult<T> {
    if p.is_null() {
        return Err(FfiError::new(
            ACS_ERR_NULL_POINTER,
            format!("{what} is NULL"),
        ));
    }
    // SAFETY: non-NULL; the caller's promise.
    let size = unsafe { host_size(p, what, true) }?;
    let mut v = with_size(T::defaults(), std::mem::size_of::<T>());
    let n = size.min(std::mem::size_of::<T>());
    // SAFETY: `n` bytes are readable at `p` (the host's struct_size) and writable in `v`;
    // any prefix completed by defaults is a valid T (Extensible's contract).
    unsafe { std::ptr::copy_nonoverlapping(p.cast::<u8>(), (&mut v as *mut T).cast::<u8>(), n) };
    Ok(v)
}

/// Reads an optional input struct: NULL gives the defaults.
///
/// # Safety
/// As [`read_in`].
pub(crate) unsafe fn read_in_or_default<T: Extensible>(p: *const T, what: &str) -> FfiResult<T> {
    if p.is_null() {
        Ok(with_size(T::defaults(), std::mem::size_of::<T>()))
    } else {
        // SAFETY: the caller's promise.
        unsafe { read_in(p, what) }
    }
}

/// Writes an output struct: at most the host's `struct_size` bytes of `v` (a struct_size of
/// 0, from a host that never set it, counts as the first version's), with `struct_size` set
/// to the bytes written. NULL is ACS_ERR_NULL_POINTER; a `struct_size` shorter than the first
/// version's is ACS_ERR_INVALID_ARGUMENT.
///
/// # Safety
/// `p` is NULL or points at `struct_size` writable bytes (the first version's when 0).
pub(crate) unsafe fn write_out<T: Extensible>(p: *mut T, v: T, what: &str) -> FfiResult {
    need_out(p, what)?;
    // SAFETY: non-NULL; the caller's promise.
    let size = unsafe { out_size(p, what) }?;
    let n = size.min(std::mem::size_of::<T>());
    let v = with_size(v, n);
    // SAFETY: `n` ≤ the host's struct_size writable bytes at `p`. Padding is copied as is.
    unsafe { std::ptr::copy_nonoverlapping((&v as *const T).cast::<u8>(), p.cast::<u8>(), n) };
    Ok(())
}

/// Checks an output struct before doing work (NULL pointer, bad `struct_size`), so a refused
/// output loses nothing.
///
/// # Safety
/// As [`write_out`].
pub(crate) unsafe fn check_out<T: Extensible>(p: *mut T, what: &str) -> FfiResult {
    need_out(p, what)?;
    // SAFETY: non-NULL; the caller's promise.
    unsafe { out_size(p, what) }.map(|_| ())
}

fn need_out<T>(p: *mut T, what: &str) -> FfiResult {
    if p.is_null() {
        Err(FfiError::new(
            ACS_ERR_NULL_POINTER,
            format!("{what} is NULL"),
        ))
    } else {
        Ok(())
    }
}

/// # Safety
/// `p` is non-NULL and points at a readable u32.
unsafe fn out_size<T: Extensible>(p: *mut T, what: &str) -> FfiResult<usize> {
    // SAFETY: the caller's promise.
    if unsafe { p.cast::<u32>().read() } == 0 {
        Ok(T::OLDEST_SIZE)
    } else {
        // SAFETY: the caller's promise.
        unsafe { host_size(p.cast_const(), what, false) }
    }
}

/// Fills a struct with its defaults for the library's layout (the `_init` functions): all
/// of today's `size_of::<T>()` bytes, which overruns the struct of a host compiled against
/// an older, shorter header. Kept for the old exports; [`init_sized`] is the safe one.
///
/// # Safety
/// `p` is NULL or points at a writable T.
pub(crate) unsafe fn init_out<T: Extensible>(p: *mut T, what: &str) -> FfiResult {
    need_out(p, what)?;
    // SAFETY: non-NULL; the caller's promise.
    unsafe { p.write(with_size(T::defaults(), std::mem::size_of::<T>())) };
    Ok(())
}

/// Fills the host's struct of `size` bytes (its sizeof, as the host was compiled) with the
/// defaults (the `_init_sized` functions): the first min(size, size_of::<T>()) bytes of
/// them, `struct_size` set to that; the bytes of a newer host's larger struct that the
/// library does not know are zeroed. Nothing past `size` is written. A `size` shorter than
/// the first version's, or larger than MAX_STRUCT_SIZE, is ACS_ERR_INVALID_ARGUMENT and
/// nothing is written. `p` need not be aligned.
///
/// # Safety
/// `p` is NULL or points at `size` writable bytes.
pub(crate) unsafe fn init_sized<T: Extensible>(p: *mut T, size: usize, what: &str) -> FfiResult {
    need_out(p, what)?;
    let init = format!("{}_init_sized", T::NAME);
    if size < T::OLDEST_SIZE {
        return Err(FfiError::new(
            ACS_ERR_INVALID_ARGUMENT,
            format!(
                "{init}: size {size} is less than the {} bytes of the first {}",
                T::OLDEST_SIZE,
                T::NAME
            ),
        ));
    }
    if size > MAX_STRUCT_SIZE {
        return Err(FfiError::new(
            ACS_ERR_INVALID_ARGUMENT,
            format!("{init}: size {size} is more than any {} can be", T::NAME),
        ));
    }
    let n = size.min(std::mem::size_of::<T>());
    let v = with_size(T::defaults(), n);
    // SAFETY: `size` ≥ `n` bytes are writable at `p` (the caller's promise); byte copies,
    // so `p` need not be aligned. Padding is copied as is.
    unsafe {
        std::ptr::copy_nonoverlapping((&v as *const T).cast::<u8>(), p.cast::<u8>(), n);
        std::ptr::write_bytes(p.cast::<u8>().add(n), 0, size - n);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[repr(C)]
    #[derive(Debug, Clone, Copy, PartialEq)]
    struct two {
        struct_size: u32,
        a: u32,
        b: u64,
        c: u8,
    }
    extensible!(two, first_version_ends_with: a, defaults: two { struct_size: 0, a: 1, b: 2, c: 3 });

    #[test]
    fn the_first_version_ends_after_its_last_field() {
        assert_eq!(two::OLDEST_SIZE, 8);
        assert_eq!(std::mem::size_of::<two>(), 24);
    }

    #[test]
    fn a_shorter_input_is_read_as_its_prefix() {
        let host = two {
            struct_size: 8,
            a: 7,
            b: 99,
            c: 99,
        };
        let v = unsafe { read_in(&host, "o") }.unwrap();
        assert_eq!(
            v,
            two {
                struct_size: 8,
                a: 7,
                b: 2,
                c: 3
            }
        );
        let host = two {
            struct_size: 24,
            a: 7,
            b: 8,
            c: 9,
        };
        assert_eq!(unsafe { read_in(&host, "o") }.unwrap().c, 9);
    }

    #[test]
    fn bad_input_sizes_are_refused() {
        for size in [0, 4, 7, MAX_STRUCT_SIZE as u32 + 1] {
            let host = two {
                struct_size: size,
                a: 7,
                b: 8,
                c: 9,
            };
            let e = unsafe { read_in(&host, "o") }.unwrap_err();
            assert_eq!(e.status, ACS_ERR_INVALID_ARGUMENT, "{size}");
            assert!(e.message.contains("call two_init"), "{}", e.message);
        }
        let e = unsafe { read_in::<two>(std::ptr::null(), "o") }.unwrap_err();
        assert_eq!(e.status, ACS_ERR_NULL_POINTER);
    }

    /// A host's output struct of `len` bytes (8-aligned) filled with guard bytes 0xa5.
    fn host_struct(struct_size: u32) -> [u64; 5] {
        let mut host = [0xa5a5_a5a5_a5a5_a5a5u64; 5];
        unsafe { host.as_mut_ptr().cast::<u32>().write(struct_size) };
        host
    }

    fn untouched_from(host: &[u64; 5], from: usize) -> bool {
        let bytes = unsafe { std::slice::from_raw_parts(host.as_ptr().cast::<u8>(), 40) };
        bytes[from..].iter().all(|&b| b == 0xa5)
    }

    #[test]
    fn an_output_writes_at_most_struct_size() {
        let v = || two {
            struct_size: 0,
            a: 10,
            b: 20,
            c: 30,
        };
        let mut host = host_struct(16);
        let p = host.as_mut_ptr().cast::<two>();
        unsafe { write_out(p, v(), "o") }.unwrap();
        let got = unsafe { p.read() };
        assert_eq!((got.struct_size, got.a, got.b), (16, 10, 20));
        assert!(untouched_from(&host, 16));
        // 0 (never set): the first version's 8 bytes.
        let mut host = host_struct(0);
        let p = host.as_mut_ptr().cast::<two>();
        unsafe { write_out(p, v(), "o") }.unwrap();
        assert_eq!(
            unsafe { (p.cast::<u32>().read(), p.cast::<u32>().add(1).read()) },
            (8, 10)
        );
        assert!(untouched_from(&host, 8));
        // A newer host's larger struct: the library's 24 bytes, and struct_size says so.
        let mut host = host_struct(40);
        let p = host.as_mut_ptr().cast::<two>();
        unsafe { write_out(p, v(), "o") }.unwrap();
        let got = unsafe { p.read() };
        assert_eq!((got.struct_size, got.c), (24, 30));
        assert!(untouched_from(&host, 24));
        let mut host = host_struct(u32::MAX);
        let p = host.as_mut_ptr().cast::<two>();
        unsafe { write_out(p, v(), "o") }.unwrap();
        assert_eq!(unsafe { p.read() }.struct_size, 24);
        // Too short: refused, nothing written.
        let mut host = host_struct(5);
        let p = host.as_mut_ptr().cast::<two>();
        assert!(unsafe { check_out(p, "o") }.is_err());
        assert!(unsafe { write_out(p, v(), "o") }.is_err());
        assert!(untouched_from(&host, 4));
    }

    #[test]
    fn a_sized_init_writes_at_most_the_hosts_size() {
        // An older host's 16-byte struct: the first 16 bytes of the defaults, struct_size 16.
        let mut host = host_struct(0);
        let p = host.as_mut_ptr().cast::<two>();
        unsafe { init_sized(p, 16, "o") }.unwrap();
        let got = unsafe { p.read() };
        assert_eq!((got.struct_size, got.a, got.b), (16, 1, 2));
        assert!(untouched_from(&host, 16));
        // Today's size: the whole struct.
        let mut host = host_struct(0);
        let p = host.as_mut_ptr().cast::<two>();
        unsafe { init_sized(p, 24, "o") }.unwrap();
        assert_eq!(
            unsafe { p.read() },
            two {
                struct_size: 24,
                a: 1,
                b: 2,
                c: 3
            }
        );
        assert!(untouched_from(&host, 24));
        // A newer host's larger struct: the library's 24 bytes, the rest up to its size 0.
        let mut host = host_struct(0);
        let p = host.as_mut_ptr().cast::<two>();
        unsafe { init_sized(p, 32, "o") }.unwrap();
        assert_eq!(unsafe { p.read() }.struct_size, 24);
        let bytes = unsafe { std::slice::from_raw_parts(host.as_ptr().cast::<u8>(), 40) };
        assert!(bytes[24..32].iter().all(|&b| b == 0));
        assert!(untouched_from(&host, 32));
        // Shorter than the first version, or absurd: refused, nothing written.
        for size in [0, 7, MAX_STRUCT_SIZE + 1] {
            let mut host = host_struct(0xa5a5_a5a5);
            let p = host.as_mut_ptr().cast::<two>();
            let e = unsafe { init_sized(p, size, "o") }.unwrap_err();
            assert_eq!(e.status, ACS_ERR_INVALID_ARGUMENT, "{size}");
            assert!(e.message.contains("two_init_sized"), "{}", e.message);
            assert!(untouched_from(&host, 0));
        }
        let e = unsafe { init_sized::<two>(std::ptr::null_mut(), 24, "o") }.unwrap_err();
        assert_eq!(e.status, ACS_ERR_NULL_POINTER);
    }
}
