//! `acs_rendered_video_frame`: the sized successor of `acs_video_frame` (which has no
//! struct_size and so can never grow): the rendered frames a view lends the host, taken with
//! acs_video_view_take_latest_rendered_frame or given to a view's rendered_frame_callback.

use super::handles::{self, acs_video_view, Object};
use super::sized::{check_out, extensible, init_out, init_sized, read_in, write_out, Extensible};
use super::status::*;
use super::strings::{need, out};
use super::video_frame::{held_by, monotonic_us, release_held, test_pattern_counter, HeldFrame};
use crate::media::video::RenderedFrame;
use std::ffi::c_void;
use std::sync::Arc;

/// A rendered video frame lent to the host: plane pointers and strides into library memory
/// that stays valid until acs_rendered_video_frame_release. Planes: I420 Y, U, V; NV12 Y, UV;
/// packed formats plane 0 only (unused planes are NULL with stride and size 0).
/// The fields of acs_video_frame after a struct_size, so that fields can be appended: a new
/// struct rather than a struct_size inserted into acs_video_frame, which would move every
/// field of hosts compiled against it (the ABI is append-only).
#[repr(C)]
pub struct acs_rendered_video_frame {
    /// Set by the host for acs_video_view_take_latest_rendered_frame (sizeof as it was
    /// compiled; acs_rendered_video_frame_init sets it): the library writes no more and sets
    /// it to what it wrote. In a frame given to a callback: what the library filled.
    pub struct_size: u32,
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
    /// The library's reference to the pixels (do not change; the release function uses it).
    pub internal: *mut c_void,
}

extensible!(acs_rendered_video_frame, first_version_ends_with: internal, defaults: acs_rendered_video_frame {
    struct_size: 0,
    width: 0,
    height: 0,
    format: 0,
    planes: [std::ptr::null(); 3],
    strides: [0; 3],
    plane_sizes: [0; 3],
    sequence: 0,
    timestamp_us: 0,
    internal: std::ptr::null_mut(),
});

/// Receives each frame a view renders, like acs_video_frame_callback: `frame` is the host's
/// to release with acs_rendered_video_frame_release (now, or later from any thread after
/// copying the struct).
pub type acs_rendered_video_frame_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, frame: *mut acs_rendered_video_frame)>;

/// Lends `frame` to the host as an acs_rendered_video_frame (one handle-table reference):
/// the one place that fills a lent frame (video_frame::lend copies it into the frozen
/// acs_video_frame).
pub(crate) fn lend_rendered(frame: Arc<RenderedFrame>) -> acs_rendered_video_frame {
    let held = Arc::new(HeldFrame {
        id: crate::object_id::next_object_id(),
        frame,
    });
    let f = &held.frame;
    let mut planes = [std::ptr::null(); 3];
    let mut strides = [0u32; 3];
    let mut plane_sizes = [0usize; 3];
    for (i, (p, stride)) in f.planes().into_iter().enumerate() {
        planes[i] = p.as_ptr();
        strides[i] = stride as u32;
        plane_sizes[i] = p.len();
    }
    acs_rendered_video_frame {
        struct_size: std::mem::size_of::<acs_rendered_video_frame>() as u32,
        width: f.width,
        height: f.height,
        format: f.format as i32,
        planes,
        strides,
        plane_sizes,
        sequence: f.seq,
        timestamp_us: monotonic_us(f.at),
        internal: handles::acquire(Object::VideoFrame(Arc::clone(&held))),
    }
}

/// Fills `frame` for acs_video_view_take_latest_rendered_frame: struct_size set, the rest
/// 0 (releasing it as it is is OK).
/// Writes today's whole struct (the library's sizeof): it overruns the shorter struct of a
/// host compiled against an older header. Use ACS_RENDERED_VIDEO_FRAME_INIT(p)
/// (acs_rendered_video_frame_init_sized).
#[no_mangle]
pub unsafe extern "C" fn acs_rendered_video_frame_init(
    frame: *mut acs_rendered_video_frame,
) -> acs_status {
    // SAFETY: NULL or the host's struct.
    guard(|| unsafe { init_out(frame, "frame") })
}

/// As acs_rendered_video_frame_init, into the host's struct of `size` bytes
/// (ACS_RENDERED_VIDEO_FRAME_INIT(p) passes sizeof *p): see "Sized init" in the header's
/// conventions.
#[no_mangle]
pub unsafe extern "C" fn acs_rendered_video_frame_init_sized(
    frame: *mut acs_rendered_video_frame,
    size: usize,
) -> acs_status {
    // SAFETY: NULL or the host's struct of `size` bytes.
    guard(|| unsafe { init_sized(frame, size, "frame") })
}

/// Takes the newest frame the view has not returned yet, as acs_video_view_take_latest_frame
/// does, into `out_frame` (written up to its struct_size). ACS_ERR_NOT_FOUND when no new
/// frame arrived since the last take (nothing is written); ACS_ERR_INVALID_STATE for a view
/// with a frame callback. Release the frame with acs_rendered_video_frame_release.
#[no_mangle]
pub unsafe extern "C" fn acs_video_view_take_latest_rendered_frame(
    view: *mut acs_video_view,
    out_frame: *mut acs_rendered_video_frame,
) -> acs_status {
    guard(|| {
        let v = handles::video_view(view)?;
        // SAFETY: NULL or the host's struct of struct_size bytes.
        unsafe { check_out(out_frame, "out_frame") }?;
        if v.has_callback() {
            return Err(FfiError::new(
                ACS_ERR_INVALID_STATE,
                "this view delivers frames to its callback",
            ));
        }
        let f = v
            .take_latest()
            .ok_or_else(|| FfiError::new(ACS_ERR_NOT_FOUND, "no new frame"))?;
        let lent = lend_rendered(f);
        let internal = lent.internal;
        // SAFETY: as above (checked, so this write succeeds and the reference is the host's).
        let written = unsafe { write_out(out_frame, lent, "out_frame") };
        if written.is_err() {
            release_held(internal)?;
        }
        written
    })
}

/// Releases a frame the library lent (from acs_video_view_take_latest_rendered_frame or a
/// view's rendered_frame_callback): exactly once per frame, from any thread. The fields of
/// the first version of the struct are zeroed (a copy in an older, shorter struct is safe).
/// NULL, a zeroed struct and one only initialised are OK; releasing a copy of an already
/// released frame is ACS_ERR_INVALID_HANDLE.
#[no_mangle]
pub unsafe extern "C" fn acs_rendered_video_frame_release(
    frame: *mut acs_rendered_video_frame,
) -> acs_status {
    guard(|| {
        if frame.is_null() {
            return Ok(());
        }
        // SAFETY: the host's struct, at least the first version's bytes (every
        // acs_rendered_video_frame ever declared has them, `internal` included).
        if unsafe { frame.cast::<u32>().read() } == 0 {
            // A zeroed struct was released (or never filled) and holds nothing; one that
            // holds something without a struct_size is no frame the library lent.
            // SAFETY: as above.
            if unsafe { std::ptr::addr_of!((*frame).internal).read_unaligned() }.is_null() {
                return Ok(());
            }
            return Err(FfiError::new(
                ACS_ERR_INVALID_ARGUMENT,
                "frame.struct_size is 0 but frame.internal is set: not a frame the library lent",
            ));
        }
        // SAFETY: the host's struct of struct_size bytes.
        let f = unsafe { read_in(frame.cast_const(), "frame") }?;
        release_held(f.internal)?;
        // SAFETY: the first version's bytes, which every host's struct has (read_in checked
        // struct_size); all its fields accept zero.
        unsafe {
            std::ptr::write_bytes(frame.cast::<u8>(), 0, acs_rendered_video_frame::OLDEST_SIZE)
        };
        Ok(())
    })
}

/// Reads the frame counter the virtual camera draws into its test pattern, as
/// acs_video_frame_read_test_pattern_counter does.
#[no_mangle]
pub unsafe extern "C" fn acs_rendered_video_frame_read_test_pattern_counter(
    frame: *const acs_rendered_video_frame,
    out_counter: *mut u32,
) -> acs_status {
    guard(|| {
        // SAFETY: NULL or the host's struct of struct_size bytes.
        let f = unsafe { read_in(frame, "frame") }?;
        let h = held_by(f.internal)?;
        need(out_counter, "out_counter")?;
        out(out_counter, test_pattern_counter(&h)?, "out_counter")
    })
}
