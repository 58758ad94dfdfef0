//! acs_screen_source_* and the screen side of acs_local_video_stream_*: the monitors and
//! windows that can be shared (X11), and local video streams that capture one of them.

use super::handles::{self, acs_local_video_stream, acs_screen_source, HeldScreenSource, Object};
use super::sized::{extensible, init_out, init_sized, read_in_or_default};
use super::status::*;
use super::strings::*;
use super::video::stream_out;
use super::video_frame::pixel_format;
use crate::client::{list_screen_sources, LocalVideoStream};
use crate::media::video::{CaptureOptions, ScreenSourceKind, ShareState};
use std::ffi::c_char;
use std::sync::Arc;

/// Screen source: a monitor.
pub const ACS_SCREEN_SOURCE_MONITOR: i32 = 0;
/// Screen source: an application window.
pub const ACS_SCREEN_SOURCE_WINDOW: i32 = 1;

/// A screen share's source captures (frames flow).
pub const ACS_SHARE_STATE_ACTIVE: i32 = 0;
/// A screen share's window is minimised or off the screen: no frames until it is back.
pub const ACS_SHARE_STATE_PAUSED: i32 = 1;
/// A screen share's source is gone (its window closed): switch the stream's source or stop
/// sharing.
pub const ACS_SHARE_STATE_ENDED: i32 = 2;

/// How a screen source is captured. Initialise with acs_screen_capture_options_init
/// (15 frames a second, pointer shown).
#[repr(C)]
pub struct acs_screen_capture_options {
    /// sizeof(acs_screen_capture_options), set by the init function.
    pub struct_size: u32,
    /// Frames a second at most (1..=60). Screen content stays sharp at a few frames a
    /// second; only changed pictures are encoded (plus one a second).
    pub fps: u32,
    /// Draw the mouse pointer into the shared picture (X11: XFixes). false hides it.
    pub show_cursor: bool,
}

extensible!(acs_screen_capture_options, first_version_ends_with: show_cursor, defaults: {
    let d = CaptureOptions::default();
    acs_screen_capture_options {
        struct_size: 0,
        fps: d.fps,
        show_cursor: d.show_cursor,
    }
});

/// Reads the host's options (NULL: the defaults).
unsafe fn capture_options(options: *const acs_screen_capture_options) -> FfiResult<CaptureOptions> {
    // SAFETY: NULL or the host's struct of struct_size bytes.
    let o = unsafe { read_in_or_default(options, "options") }?;
    Ok(CaptureOptions {
        fps: o.fps,
        show_cursor: o.show_cursor,
    })
}

/// Fills `options` with the defaults: 15 frames a second, pointer shown.
/// Writes today's whole struct (the library's sizeof): it overruns the shorter struct of a
/// host compiled against an older header. Use ACS_SCREEN_CAPTURE_OPTIONS_INIT(p)
/// (acs_screen_capture_options_init_sized).
#[no_mangle]
pub unsafe extern "C" fn acs_screen_capture_options_init(
    options: *mut acs_screen_capture_options,
) -> acs_status {
    // SAFETY: NULL or the host's struct.
    guard(|| unsafe { init_out(options, "options") })
}

/// As acs_screen_capture_options_init, into the host's struct of `size` bytes
/// (ACS_SCREEN_CAPTURE_OPTIONS_INIT(p) passes sizeof *p): see "Sized init" in the header's
/// conventions.
#[no_mangle]
pub unsafe extern "C" fn acs_screen_capture_options_init_sized(
    options: *mut acs_screen_capture_options,
    size: usize,
) -> acs_status {
    // SAFETY: NULL or the host's struct of `size` bytes.
    guard(|| unsafe { init_sized(options, size, "options") })
}

/// Lists the monitors and application windows that can be shared (X11: the display
/// `DISPLAY` names; monitors first), each with a thumbnail fitting
/// `thumbnail_width` x `thumbnail_height` (0 x 0: none, which is faster). Up to `capacity`
/// handles (+1 each: release them), the total in `out_count`; ACS_ERR_BUFFER_TOO_SMALL
/// (with `out_count` set) if they don't fit. ACS_ERR_DEVICE when there is no X display.
#[no_mangle]
pub unsafe extern "C" fn acs_screen_sources_get(
    thumbnail_width: u32,
    thumbnail_height: u32,
    out_sources: *mut *mut acs_screen_source,
    capacity: usize,
    out_count: *mut usize,
) -> acs_status {
    guard(|| {
        need(out_count, "out_count")?;
        check_capacity::<*mut acs_screen_source>(capacity, "capacity")?;
        let thumb = match (thumbnail_width, thumbnail_height) {
            (0, 0) => None,
            (w, h) if (2..=1920).contains(&w) && (2..=1080).contains(&h) => Some((w, h)),
            (w, h) => {
                return Err(FfiError::new(
                    ACS_ERR_INVALID_ARGUMENT,
                    format!("thumbnail {w}x{h}: 0x0 for none, else 2..=1920 x 2..=1080"),
                ))
            }
        };
        let sources = list_screen_sources(thumb)?;
        // SAFETY: checked non-NULL.
        unsafe { *out_count = sources.len() };
        if sources.len() > capacity || (out_sources.is_null() && !sources.is_empty()) {
            return Err(FfiError::new(
                ACS_ERR_BUFFER_TOO_SMALL,
                format!("{} screen sources, room for {capacity}", sources.len()),
            ));
        }
        for (i, source) in sources.into_iter().enumerate() {
            let held = Arc::new(HeldScreenSource {
                id: crate::object_id::next_object_id(),
                source,
            });
            // SAFETY: `capacity` ≥ count slots at `out_sources`.
            unsafe { *out_sources.add(i) = handles::acquire(Object::ScreenSource(held)) };
        }
        Ok(())
    })
}

/// Adds a reference to the screen source.
#[no_mangle]
pub extern "C" fn acs_screen_source_retain(source: *mut acs_screen_source) -> acs_status {
    guard(|| handles::retain(source, handles::Kind::ScreenSource))
}

/// Drops a reference. NULL is OK.
#[no_mangle]
pub extern "C" fn acs_screen_source_release(source: *mut acs_screen_source) -> acs_status {
    guard(|| handles::release(source, handles::Kind::ScreenSource).map(|_| ()))
}

/// The source's id (`x11:monitor:<n>`, `x11:window:<xid>`), for
/// acs_local_video_stream_create_from_screen.
#[no_mangle]
pub unsafe extern "C" fn acs_screen_source_get_id(
    source: *mut acs_screen_source,
    buf: *mut c_char,
    capacity: usize,
    needed: *mut usize,
) -> acs_status {
    guard(|| {
        str_out(
            &handles::screen_source(source)?.source.id,
            buf,
            capacity,
            needed,
        )
    })
}

/// The monitor's output name, or the window's title (UTF-8; may be empty).
#[no_mangle]
pub unsafe extern "C" fn acs_screen_source_get_title(
    source: *mut acs_screen_source,
    buf: *mut c_char,
    capacity: usize,
    needed: *mut usize,
) -> acs_status {
    guard(|| {
        let s = handles::screen_source(source)?;
        str_out(&s.source.title, buf, capacity, needed)
    })
}

/// The window's application (its WM_CLASS class); empty for a monitor.
#[no_mangle]
pub unsafe extern "C" fn acs_screen_source_get_application(
    source: *mut acs_screen_source,
    buf: *mut c_char,
    capacity: usize,
    needed: *mut usize,
) -> acs_status {
    guard(|| {
        let s = handles::screen_source(source)?;
        str_out(&s.source.application, buf, capacity, needed)
    })
}

/// ACS_SCREEN_SOURCE_MONITOR or ACS_SCREEN_SOURCE_WINDOW.
#[no_mangle]
pub unsafe extern "C" fn acs_screen_source_get_kind(
    source: *mut acs_screen_source,
    out_kind: *mut i32,
) -> acs_status {
    guard(|| {
        let k = match handles::screen_source(source)?.source.kind {
            ScreenSourceKind::Monitor => ACS_SCREEN_SOURCE_MONITOR,
            ScreenSourceKind::Window => ACS_SCREEN_SOURCE_WINDOW,
        };
        out(out_kind, k, "out_kind")
    })
}

/// Where the source was on the screen when listed (pixels; a window's client area) and
/// whether it was minimised. Any out-pointer may be NULL.
#[no_mangle]
pub unsafe extern "C" fn acs_screen_source_get_geometry(
    source: *mut acs_screen_source,
    out_x: *mut i32,
    out_y: *mut i32,
    out_width: *mut u32,
    out_height: *mut u32,
    out_minimized: *mut bool,
) -> acs_status {
    guard(|| {
        let s = &handles::screen_source(source)?.source;
        out_opt(out_x, s.x);
        out_opt(out_y, s.y);
        out_opt(out_width, s.width);
        out_opt(out_height, s.height);
        out_opt(out_minimized, s.minimized);
        Ok(())
    })
}

/// Copies the source's thumbnail (listed with a thumbnail size) into `buf` as
/// `format` (ACS_PIXEL_FORMAT_*) with rows `stride` bytes apart; its size in
/// `out_width`/`out_height` (both required). Call with `buf` NULL to learn the size:
/// ACS_ERR_BUFFER_TOO_SMALL unless `capacity` holds the picture. ACS_ERR_NOT_FOUND when
/// there is no thumbnail (none asked for, or the window was minimised).
#[no_mangle]
pub unsafe extern "C" fn acs_screen_source_get_thumbnail(
    source: *mut acs_screen_source,
    format: i32,
    buf: *mut u8,
    stride: usize,
    capacity: usize,
    out_width: *mut u32,
    out_height: *mut u32,
) -> acs_status {
    guard(|| {
        let s = handles::screen_source(source)?;
        let format = pixel_format(format)?;
        need(out_width, "out_width")?;
        need(out_height, "out_height")?;
        let Some(f) = &s.source.thumbnail else {
            return Err(FfiError::new(
                ACS_ERR_NOT_FOUND,
                "no thumbnail: list with a thumbnail size, of a window that shows",
            ));
        };
        // SAFETY: checked non-NULL.
        unsafe {
            *out_width = f.width;
            *out_height = f.height;
        }
        let size = f.export_size(format, stride);
        if buf.is_null() || capacity < size {
            return Err(FfiError::new(
                ACS_ERR_BUFFER_TOO_SMALL,
                format!("the thumbnail needs {size} bytes at stride {stride}"),
            ));
        }
        // SAFETY: the host's buffer of `capacity` bytes.
        let out = unsafe { std::slice::from_raw_parts_mut(buf, capacity) };
        f.export(format, out, stride)
            .map_err(|e| FfiError::new(ACS_ERR_INVALID_ARGUMENT, e.to_string()))
    })
}

/// Creates a local video stream that captures screen source `source_id` (an id from
/// acs_screen_source_get_id) at up to `fps` frames a second (1..=60; screen content reads
/// well at 5-15). A window is followed as it moves and resizes; while it is minimised the
/// share pauses, and when it closes the share ends (acs_local_video_stream_get_share_state
/// says which and why; a call sharing the stream raises
/// ACS_EVENT_OUTGOING_VIDEO_STATE_CHANGED). Only changed pictures are encoded (plus one a
/// second). The pointer is drawn in (acs_local_video_stream_create_from_screen_with_options
/// can hide it). Share it with acs_call_start_screen_sharing. ACS_ERR_DEVICE when there is no X display or no such
/// source; ACS_ERR_INVALID_ARGUMENT for a malformed id or rate.
#[no_mangle]
pub unsafe extern "C" fn acs_local_video_stream_create_from_screen(
    source_id: *const c_char,
    fps: u32,
    out_stream: *mut *mut acs_local_video_stream,
) -> acs_status {
    guard(|| {
        let id = str_in(source_id, "source_id")?;
        need(out_stream, "out_stream")?;
        stream_out(LocalVideoStream::from_screen(&id, fps)?, out_stream)
    })
}

/// As acs_local_video_stream_create_from_screen, captured as `options` ask (NULL: the
/// defaults: 15 frames a second, pointer shown). ACS_ERR_INVALID_ARGUMENT for options not
/// initialised or a rate outside 1..=60.
#[no_mangle]
pub unsafe extern "C" fn acs_local_video_stream_create_from_screen_with_options(
    source_id: *const c_char,
    options: *const acs_screen_capture_options,
    out_stream: *mut *mut acs_local_video_stream,
) -> acs_status {
    guard(|| {
        let id = str_in(source_id, "source_id")?;
        // SAFETY: NULL or the host's initialised options.
        let options = unsafe { capture_options(options) }?;
        need(out_stream, "out_stream")?;
        stream_out(
            LocalVideoStream::from_screen_with(&id, options)?,
            out_stream,
        )
    })
}

/// Switches the stream to screen source `source_id` (as in
/// acs_local_video_stream_create_from_screen); the current source stays when it cannot
/// be captured.
#[no_mangle]
pub unsafe extern "C" fn acs_local_video_stream_switch_source_screen(
    stream: *mut acs_local_video_stream,
    source_id: *const c_char,
    fps: u32,
) -> acs_status {
    guard(|| {
        let s = handles::local_video_stream(stream)?;
        let id = str_in(source_id, "source_id")?;
        Ok(s.switch_to_screen(&id, fps)?)
    })
}

/// As acs_local_video_stream_switch_source_screen, captured as `options` ask (NULL: the
/// defaults).
#[no_mangle]
pub unsafe extern "C" fn acs_local_video_stream_switch_source_screen_with_options(
    stream: *mut acs_local_video_stream,
    source_id: *const c_char,
    options: *const acs_screen_capture_options,
) -> acs_status {
    guard(|| {
        let s = handles::local_video_stream(stream)?;
        let id = str_in(source_id, "source_id")?;
        // SAFETY: NULL or the host's initialised options.
        let options = unsafe { capture_options(options) }?;
        Ok(s.switch_to_screen_with(&id, options)?)
    })
}

/// Where the stream's screen source stands: ACS_SHARE_STATE_* in `out_state`, and why when
/// paused or ended as a string out (`buf` may be NULL with `capacity` 0 to skip it).
/// ACS_ERR_INVALID_STATE when the stream's source is not a screen.
#[no_mangle]
pub unsafe extern "C" fn acs_local_video_stream_get_share_state(
    stream: *mut acs_local_video_stream,
    out_state: *mut i32,
    buf: *mut c_char,
    capacity: usize,
    needed: *mut usize,
) -> acs_status {
    guard(|| {
        let s = handles::local_video_stream(stream)?;
        need(out_state, "out_state")?;
        let Some(state) = s.share_state() else {
            return Err(FfiError::new(
                ACS_ERR_INVALID_STATE,
                "the stream's source is not a screen",
            ));
        };
        let (code, why) = match state {
            ShareState::Active => (ACS_SHARE_STATE_ACTIVE, String::new()),
            ShareState::Paused(w) => (ACS_SHARE_STATE_PAUSED, w),
            ShareState::Ended(w) => (ACS_SHARE_STATE_ENDED, w),
        };
        out_opt(out_state, code);
        if buf.is_null() && capacity == 0 && needed.is_null() {
            return Ok(()); // the state only
        }
        str_out(&why, buf, capacity, needed)
    })
}
