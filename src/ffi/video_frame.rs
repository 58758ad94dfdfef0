//! Video frames across the boundary: `acs_video_frame` (a rendered frame lent to the host as
//! a view: plane pointers and strides, released with acs_video_frame_release) and
//! `acs_video_frame_buffer` (a frame the host pushes), plus the pixel-format and
//! scaling-mode numbers.

use super::handles;
use super::rendered_frame::{acs_rendered_video_frame, lend_rendered};
use super::sized::{extensible, init_out, init_sized};
use super::status::*;
use super::strings::*;
use crate::media::video::{read_counter, PixelFormat, RenderedFrame, ScalingMode};
use std::ffi::c_void;
use std::sync::Arc;
use std::time::Instant;

/// Pixel format: planar Y, U, V (4:2:0).
pub const ACS_PIXEL_FORMAT_I420: i32 = 0;
/// Pixel format: planar Y, interleaved UV (4:2:0).
pub const ACS_PIXEL_FORMAT_NV12: i32 = 1;
/// Pixel format: 8-bit R, G, B, A.
pub const ACS_PIXEL_FORMAT_RGBA: i32 = 2;
/// Pixel format: 8-bit B, G, R, A.
pub const ACS_PIXEL_FORMAT_BGRA: i32 = 3;
/// Pixel format: 8-bit B, G, R, unused (ignored on input, 255 on output).
pub const ACS_PIXEL_FORMAT_BGRX: i32 = 4;

/// Scaling mode: the whole frame, distorted to the view's aspect.
pub const ACS_SCALING_MODE_STRETCH: i32 = 0;
/// Scaling mode: the view is filled; what overflows its aspect is cut off (centred).
pub const ACS_SCALING_MODE_CROP: i32 = 1;
/// Scaling mode: the whole frame, undistorted and centred; the rest of the view is black.
pub const ACS_SCALING_MODE_FIT: i32 = 2;

/// A rendered video frame lent to the host: plane pointers and strides into library memory
/// that stays valid until acs_video_frame_release. Planes: I420 Y, U, V; NV12 Y, UV; packed
/// formats plane 0 only (unused planes are NULL with stride and size 0).
/// FROZEN first version: it has no struct_size, so it can never grow. It stays, byte for
/// byte, for hosts compiled against it; new code uses acs_rendered_video_frame (the same
/// fields after a struct_size, so fields can be appended).
#[repr(C)]
pub struct acs_video_frame {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// ACS_PIXEL_FORMAT_*.
    pub format: i32,
    /// Plane pointers (read-only).
    pub planes: [*const u8; 3],
    /// Bytes between rows of each plane.
    pub strides: [u32; 3],
    /// Bytes readable at each plane pointer.
    pub plane_sizes: [usize; 3],
    /// The producer's frame number (from 0; gaps are frames this view never saw).
    pub sequence: u64,
    /// When the producer published the frame: CLOCK_MONOTONIC, microseconds.
    pub timestamp_us: i64,
    /// The library's reference to the pixels (do not change; acs_video_frame_release uses it).
    pub internal: *mut c_void,
}

/// A frame the host pushes (acs_local_video_stream_push_frame). Initialise with
/// acs_video_frame_buffer_init, then set the format, size, planes and strides. Planes:
/// I420 Y, U, V; NV12 Y, UV; RGBA/BGRA/BGRX plane 0 only. Each plane must hold
/// stride * (rows - 1) + row bytes; the library copies it before returning.
#[repr(C)]
pub struct acs_video_frame_buffer {
    /// sizeof(acs_video_frame_buffer), set by the init function.
    pub struct_size: u32,
    /// ACS_PIXEL_FORMAT_*.
    pub format: i32,
    /// Width in pixels (1..=8192).
    pub width: u32,
    /// Height in pixels (1..=8192).
    pub height: u32,
    /// Plane pointers.
    pub planes: [*const u8; 3],
    /// Bytes between rows of each plane.
    pub strides: [u32; 3],
}

extensible!(acs_video_frame_buffer, first_version_ends_with: strides, defaults: acs_video_frame_buffer {
    struct_size: 0,
    format: ACS_PIXEL_FORMAT_RGBA,
    width: 0,
    height: 0,
    planes: [std::ptr::null(); 3],
    strides: [0; 3],
});

/// A rendered frame held for the host (its handle-table entry).
pub(crate) struct HeldFrame {
    pub id: u64,
    pub frame: Arc<RenderedFrame>,
}

pub(crate) fn pixel_format(v: i32) -> FfiResult<PixelFormat> {
    Ok(match v {
        ACS_PIXEL_FORMAT_I420 => PixelFormat::I420,
        ACS_PIXEL_FORMAT_NV12 => PixelFormat::Nv12,
        ACS_PIXEL_FORMAT_RGBA => PixelFormat::Rgba,
        ACS_PIXEL_FORMAT_BGRA => PixelFormat::Bgra,
        ACS_PIXEL_FORMAT_BGRX => PixelFormat::Bgrx,
        other => {
            return Err(FfiError::new(
                ACS_ERR_INVALID_ARGUMENT,
                format!("unknown pixel format {other}"),
            ))
        }
    })
}

pub(crate) fn scaling_mode(v: i32) -> FfiResult<ScalingMode> {
    Ok(match v {
        ACS_SCALING_MODE_STRETCH => ScalingMode::Stretch,
        ACS_SCALING_MODE_CROP => ScalingMode::Crop,
        ACS_SCALING_MODE_FIT => ScalingMode::Fit,
        other => {
            return Err(FfiError::new(
                ACS_ERR_INVALID_ARGUMENT,
                format!("unknown scaling mode {other}"),
            ))
        }
    })
}

/// `at` on the CLOCK_MONOTONIC scale, in microseconds.
pub(crate) fn monotonic_us(at: Instant) -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: a valid timespec to fill.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    // time_t and c_long are i64 on 64-bit Linux, narrower on some 32-bit targets.
    #[allow(clippy::useless_conversion)]
    let now_us = i64::from(ts.tv_sec) * 1_000_000 + i64::from(ts.tv_nsec) / 1000;
    now_us - Instant::now().saturating_duration_since(at).as_micros() as i64
}

/// Lends `frame` to the host as the frozen acs_video_frame (one handle-table reference,
/// released by acs_video_frame_release): filled by lend_rendered, the one filling path, and
/// copied into the first version's layout.
pub(crate) fn lend(frame: Arc<RenderedFrame>) -> acs_video_frame {
    first_version(lend_rendered(frame))
}

/// The fields of `f` after its struct_size, in the frozen acs_video_frame (whose layout is
/// that of acs_rendered_video_frame's first version without the struct_size; the offsets of
/// its first fields differ, so it is copied field by field, not as bytes).
fn first_version(f: acs_rendered_video_frame) -> acs_video_frame {
    // Exhaustive, so a field appended to acs_rendered_video_frame has to be named here: the
    // frozen struct never grows, so appended fields are left out.
    let acs_rendered_video_frame {
        struct_size: _,
        width,
        height,
        format,
        planes,
        strides,
        plane_sizes,
        sequence,
        timestamp_us,
        internal,
    } = f;
    acs_video_frame {
        width,
        height,
        format,
        planes,
        strides,
        plane_sizes,
        sequence,
        timestamp_us,
        internal,
    }
}

fn held(frame: *const acs_video_frame) -> FfiResult<Arc<HeldFrame>> {
    if frame.is_null() {
        return Err(FfiError::new(ACS_ERR_NULL_POINTER, "frame is NULL"));
    }
    // SAFETY: non-NULL; the host gives a frame the library filled.
    held_by(unsafe { (*frame).internal })
}

/// The frame a lent frame's `internal` reference holds.
pub(crate) fn held_by(internal: *mut c_void) -> FfiResult<Arc<HeldFrame>> {
    handles::video_frame(internal.cast::<HeldFrameHandle>())
}

/// Drops the reference of a lent frame's `internal` (NULL: already released, OK).
pub(crate) fn release_held(internal: *mut c_void) -> FfiResult {
    if !internal.is_null() {
        handles::release(
            internal.cast::<HeldFrameHandle>(),
            handles::Kind::VideoFrame,
        )?;
    }
    Ok(())
}

/// Reads the test-pattern counter of a held frame (for the *_read_test_pattern_counter
/// functions).
pub(crate) fn test_pattern_counter(h: &HeldFrame) -> FfiResult<u32> {
    let i420 = h
        .frame
        .to_i420()
        .map_err(|e| FfiError::new(ACS_ERR_INTERNAL, e.to_string()))?;
    read_counter(&i420).ok_or_else(|| {
        FfiError::new(
            ACS_ERR_NOT_FOUND,
            "the frame carries no test-pattern counter",
        )
    })
}

/// Fills `buffer` with an empty RGBA frame description (struct_size set, planes NULL).
/// Writes today's whole struct (the library's sizeof): it overruns the shorter struct of a
/// host compiled against an older header. Use ACS_VIDEO_FRAME_BUFFER_INIT(p)
/// (acs_video_frame_buffer_init_sized).
#[no_mangle]
pub unsafe extern "C" fn acs_video_frame_buffer_init(
    buffer: *mut acs_video_frame_buffer,
) -> acs_status {
    // SAFETY: NULL or the host's struct.
    guard(|| unsafe { init_out(buffer, "buffer") })
}

/// As acs_video_frame_buffer_init, into the host's struct of `size` bytes
/// (ACS_VIDEO_FRAME_BUFFER_INIT(p) passes sizeof *p): see "Sized init" in the header's
/// conventions.
#[no_mangle]
pub unsafe extern "C" fn acs_video_frame_buffer_init_sized(
    buffer: *mut acs_video_frame_buffer,
    size: usize,
) -> acs_status {
    // SAFETY: NULL or the host's struct of `size` bytes.
    guard(|| unsafe { init_sized(buffer, size, "buffer") })
}

/// Releases a frame the library lent (from acs_video_view_take_latest_frame or a view's
/// frame callback): exactly once per frame, from any thread; the struct is zeroed. NULL,
/// and a zeroed struct, are OK; releasing a copy of an already released frame is
/// ACS_ERR_INVALID_HANDLE.
#[no_mangle]
pub unsafe extern "C" fn acs_video_frame_release(frame: *mut acs_video_frame) -> acs_status {
    guard(|| {
        if frame.is_null() {
            return Ok(());
        }
        // SAFETY: non-NULL; the host gives a frame the library filled.
        let internal = unsafe { (*frame).internal };
        if internal.is_null() {
            return Ok(());
        }
        release_held(internal)?;
        // SAFETY: as above; zeroing the host's struct (all fields accept zero).
        unsafe { std::ptr::write_bytes(frame, 0, 1) };
        Ok(())
    })
}

/// Reads the frame counter the virtual camera draws into its test pattern from a rendered
/// frame (any format; a Stretch view at least 32 pixels wide, or Crop/Fit of the same
/// aspect). ACS_ERR_NOT_FOUND when the picture carries no valid counter.
#[no_mangle]
pub unsafe extern "C" fn acs_video_frame_read_test_pattern_counter(
    frame: *const acs_video_frame,
    out_counter: *mut u32,
) -> acs_status {
    guard(|| {
        let h = held(frame)?;
        need(out_counter, "out_counter")?;
        out(out_counter, test_pattern_counter(&h)?, "out_counter")
    })
}

/// The handle-table type of a lent frame (never seen by the host: `internal` is void *).
pub(crate) struct HeldFrameHandle {
    _private: [u8; 0],
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_frozen_frame_gets_the_rendered_frames_fields() {
        let (a, b, c) = ([1u8; 4], [2u8; 2], [3u8; 2]);
        let f = acs_rendered_video_frame {
            struct_size: 123,
            width: 640,
            height: 360,
            format: ACS_PIXEL_FORMAT_NV12,
            planes: [a.as_ptr(), b.as_ptr(), c.as_ptr()],
            strides: [4, 5, 6],
            plane_sizes: [7, 8, 9],
            sequence: 10,
            timestamp_us: -11,
            internal: 12usize as *mut c_void,
        };
        let old = first_version(f);
        assert_eq!(
            (old.width, old.height, old.format),
            (640, 360, ACS_PIXEL_FORMAT_NV12)
        );
        assert_eq!(old.planes, [a.as_ptr(), b.as_ptr(), c.as_ptr()]);
        assert_eq!((old.strides, old.plane_sizes), ([4, 5, 6], [7, 8, 9]));
        assert_eq!((old.sequence, old.timestamp_us), (10, -11));
        assert_eq!(old.internal, 12usize as *mut c_void);
    }
}
