//! acs_local_video_stream_*, acs_video_renderer_* and acs_video_view_*: local video sources
//! (virtual camera, pushed frames, cameras) and rendering a stream into views.

use super::handles::{
    self, acs_camera, acs_local_video_stream, acs_video_renderer, acs_video_view, Object,
};
use super::host_ptr::HostPtr;
use super::rendered_frame::{acs_rendered_video_frame_callback, lend_rendered};
use super::sized::{check_out, extensible, init_out, init_sized, read_in, write_out};
use super::status::*;
use super::strings::*;
use super::video_frame::*;
use crate::client::{LocalVideoStream, VideoSourceKind};
use crate::media::video::{
    FrameBus, PlaneFrame, RenderedFrame, VideoRenderer, ViewCallback, ViewConfig,
    VirtualCameraConfig,
};
use std::ffi::c_void;
use std::sync::Arc;

/// Local video source: the virtual camera's test pattern.
pub const ACS_VIDEO_SOURCE_VIRTUAL: i32 = 0;
/// Local video source: frames the host pushes.
pub const ACS_VIDEO_SOURCE_PUSHED: i32 = 1;
/// Local video source: a camera.
pub const ACS_VIDEO_SOURCE_CAMERA: i32 = 2;
/// Local video source: a monitor or window of the screen.
pub const ACS_VIDEO_SOURCE_SCREEN: i32 = 3;

/// Receives each frame a view renders, on the view's own thread (never the producer's):
/// `frame` is the host's to release with acs_video_frame_release (now, or later from any
/// thread after copying the struct). A slow callback makes the view skip to the newest
/// frame (counted as dropped). It may call the library, including releasing its view.
pub type acs_video_frame_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, frame: *mut acs_video_frame)>;

/// A view's settings. Initialise with acs_video_view_options_init (640x360 RGBA, Fit, not
/// mirrored, no callback: frames are pulled with acs_video_view_take_latest_frame).
#[repr(C)]
pub struct acs_video_view_options {
    /// sizeof(acs_video_view_options), set by the init function.
    pub struct_size: u32,
    /// View width in pixels (1..=8192).
    pub width: u32,
    /// View height in pixels (1..=8192).
    pub height: u32,
    /// ACS_PIXEL_FORMAT_I420, _NV12, _RGBA, _BGRA or _BGRX.
    pub format: i32,
    /// ACS_SCALING_MODE_*.
    pub scaling_mode: i32,
    /// Flip horizontally (a self view).
    pub mirrored: bool,
    /// Optional: frames go to this callback (on a view thread) instead of being pulled.
    pub frame_callback: acs_video_frame_callback,
    /// Passed to `frame_callback` or `rendered_frame_callback`.
    pub frame_callback_user_data: *mut c_void,
    /// Optional, instead of `frame_callback` (not both): frames go to this callback as
    /// acs_rendered_video_frame.
    pub rendered_frame_callback: acs_rendered_video_frame_callback,
}

extensible!(acs_video_view_options, first_version_ends_with: frame_callback_user_data, defaults: acs_video_view_options {
    struct_size: 0,
    width: 640,
    height: 360,
    format: ACS_PIXEL_FORMAT_RGBA,
    scaling_mode: ACS_SCALING_MODE_FIT,
    mirrored: false,
    frame_callback: None,
    frame_callback_user_data: std::ptr::null_mut(),
    rendered_frame_callback: None,
});

/// What a view rendered and lost (acs_video_view_get_stats).
/// FROZEN first version: it has no struct_size, so it can never grow. It stays, byte for
/// byte, for hosts compiled against it; new code uses acs_video_view_statistics.
#[repr(C)]
pub struct acs_video_view_stats {
    /// Frames rendered (given to the callback or returned by take_latest_frame).
    pub frames_rendered: u64,
    /// Frames replaced by a newer one before the view rendered them (slow consumer).
    pub frames_dropped: u64,
}

/// What a view rendered and lost (acs_video_view_get_statistics): the fields of
/// acs_video_view_stats after a struct_size, so that fields can be appended. (A new struct,
/// because a struct_size inserted into acs_video_view_stats would move its fields for every
/// host compiled against it.)
#[repr(C)]
#[derive(Default)]
pub struct acs_video_view_statistics {
    /// Set by the host: sizeof(acs_video_view_statistics) as it was compiled
    /// (acs_video_view_statistics_init sets it). The library writes no more, and sets it to
    /// what it wrote.
    pub struct_size: u32,
    /// Frames rendered (given to the callback or taken).
    pub frames_rendered: u64,
    /// Frames replaced by a newer one before the view rendered them (slow consumer).
    pub frames_dropped: u64,
}

extensible!(acs_video_view_statistics, first_version_ends_with: frames_dropped,
    defaults: acs_video_view_statistics::default());

pub(crate) fn stream_out(
    s: LocalVideoStream,
    out_stream: *mut *mut acs_local_video_stream,
) -> FfiResult {
    out(
        out_stream,
        handles::acquire(Object::LocalVideoStream(s)),
        "out_stream",
    )
}

fn virtual_config(width: u32, height: u32, fps: u32) -> VirtualCameraConfig {
    let d = VirtualCameraConfig::default();
    VirtualCameraConfig {
        width: if width == 0 { d.width } else { width },
        height: if height == 0 { d.height } else { height },
        fps: if fps == 0 { d.fps } else { fps },
    }
}

/// Creates a local video stream fed by the virtual camera: a moving test pattern carrying a
/// frame counter (acs_video_frame_read_test_pattern_counter), `width`x`height` (at least
/// 32x16) at `fps` (1..=120); 0 picks the default (640x360 at 30). The camera runs until
/// the stream's last reference is released, and draws frames only while something (a
/// renderer, a call) consumes them.
#[no_mangle]
pub unsafe extern "C" fn acs_local_video_stream_create_virtual(
    width: u32,
    height: u32,
    fps: u32,
    out_stream: *mut *mut acs_local_video_stream,
) -> acs_status {
    guard(|| {
        need(out_stream, "out_stream")?;
        let s = LocalVideoStream::virtual_camera(virtual_config(width, height, fps))?;
        stream_out(s, out_stream)
    })
}

/// Creates a local video stream fed by acs_local_video_stream_push_frame ("raw outgoing
/// video", e.g. a game engine's render).
#[no_mangle]
pub unsafe extern "C" fn acs_local_video_stream_create_pushed(
    out_stream: *mut *mut acs_local_video_stream,
) -> acs_status {
    guard(|| {
        need(out_stream, "out_stream")?;
        stream_out(LocalVideoStream::pushed(), out_stream)
    })
}

/// Creates a local video stream from a camera: a V4L2 camera is captured at 640x360 and
/// 30 fps, or the nearest size and rate it offers (YUYV, UYVY, NV12, YU12, YV12, or MJPEG
/// when only it gives that size and rate), converted to I420; the virtual camera gives its
/// test pattern. The camera stays open until the source is switched or the stream's last
/// reference is released.
/// ACS_ERR_DEVICE when it cannot be opened or captured from (missing, busy with another
/// program, no permission, not a capture device, no usable format: the message says which).
/// A camera unplugged later stops sending frames (acs_local_video_stream_get_source_error
/// says why); the stream stays valid.
#[no_mangle]
pub unsafe extern "C" fn acs_local_video_stream_create_from_camera(
    camera: *mut acs_camera,
    out_stream: *mut *mut acs_local_video_stream,
) -> acs_status {
    guard(|| {
        let c = handles::camera(camera)?;
        need(out_stream, "out_stream")?;
        stream_out(LocalVideoStream::from_camera(&c)?, out_stream)
    })
}

/// Adds a reference to the stream.
#[no_mangle]
pub extern "C" fn acs_local_video_stream_retain(stream: *mut acs_local_video_stream) -> acs_status {
    guard(|| handles::retain(stream, handles::Kind::LocalVideoStream))
}

/// Drops a reference; the last one stops the source (a call sending the stream keeps its
/// own). NULL is OK.
#[no_mangle]
pub extern "C" fn acs_local_video_stream_release(
    stream: *mut acs_local_video_stream,
) -> acs_status {
    guard(|| handles::release(stream, handles::Kind::LocalVideoStream).map(|_| ()))
}

/// Pushes a frame into a stream whose source is pushed frames: checked (format, size,
/// strides, NULL planes → ACS_ERR_INVALID_ARGUMENT / ACS_ERR_NULL_POINTER), converted to
/// I420 and published before this returns (the host's memory is not kept).
/// ACS_ERR_INVALID_STATE when the stream's source is not pushed frames.
#[no_mangle]
pub unsafe extern "C" fn acs_local_video_stream_push_frame(
    stream: *mut acs_local_video_stream,
    buffer: *const acs_video_frame_buffer,
) -> acs_status {
    guard(|| {
        let s = handles::local_video_stream(stream)?;
        // SAFETY: NULL or the host's struct of struct_size bytes.
        let b = unsafe { read_in(buffer, "buffer") }?;
        let format = pixel_format(b.format)?;
        crate::media::video::VideoFrame::black(b.width, b.height)
            .map_err(|e| FfiError::new(ACS_ERR_INVALID_ARGUMENT, e.to_string()))?;
        let layout = crate::media::video::source::plane_layout(format, b.width, b.height);
        let mut planes: [&[u8]; 3] = [&[], &[], &[]];
        for (i, &(rows, min)) in layout.iter().enumerate() {
            if rows == 0 {
                continue;
            }
            let stride = b.strides[i] as usize;
            if stride < min {
                return Err(FfiError::new(
                    ACS_ERR_INVALID_ARGUMENT,
                    format!("strides[{i}] is {stride}, less than the {min} bytes of a row"),
                ));
            }
            if b.planes[i].is_null() {
                return Err(FfiError::new(
                    ACS_ERR_NULL_POINTER,
                    format!("planes[{i}] is NULL"),
                ));
            }
            let len = crate::media::video::source::plane_bytes(rows, stride, min);
            // SAFETY: the host promises `stride` bytes per row for `rows` rows.
            planes[i] = unsafe { std::slice::from_raw_parts(b.planes[i], len) };
        }
        let frame = PlaneFrame {
            format,
            width: b.width,
            height: b.height,
            planes,
            strides: b.strides.map(|s| s as usize),
        };
        Ok(s.push_frame(&frame)?)
    })
}

/// Switches the stream to the virtual camera (arguments as in
/// acs_local_video_stream_create_virtual). Consumers of the stream (renderers, a call)
/// keep receiving, now the new pictures; the size may change.
#[no_mangle]
pub extern "C" fn acs_local_video_stream_switch_source_virtual(
    stream: *mut acs_local_video_stream,
    width: u32,
    height: u32,
    fps: u32,
) -> acs_status {
    guard(|| {
        let s = handles::local_video_stream(stream)?;
        Ok(s.switch_to_virtual(virtual_config(width, height, fps))?)
    })
}

/// Switches the stream to pushed frames (the virtual camera or camera stops).
#[no_mangle]
pub extern "C" fn acs_local_video_stream_switch_source_pushed(
    stream: *mut acs_local_video_stream,
) -> acs_status {
    guard(|| {
        handles::local_video_stream(stream)?.switch_to_pushed();
        Ok(())
    })
}

/// Switches the stream to a camera (captured as in acs_local_video_stream_create_from_camera;
/// the previous source stops, a camera being closed). ACS_ERR_DEVICE (the current source
/// stays) when the camera cannot be opened or captured from.
#[no_mangle]
pub extern "C" fn acs_local_video_stream_switch_source_camera(
    stream: *mut acs_local_video_stream,
    camera: *mut acs_camera,
) -> acs_status {
    guard(|| {
        let s = handles::local_video_stream(stream)?;
        Ok(s.switch_to_camera(&handles::camera(camera)?)?)
    })
}

/// The stream's source: ACS_VIDEO_SOURCE_*.
#[no_mangle]
pub unsafe extern "C" fn acs_local_video_stream_get_source_kind(
    stream: *mut acs_local_video_stream,
    out_kind: *mut i32,
) -> acs_status {
    guard(|| {
        let k = match handles::local_video_stream(stream)?.source() {
            VideoSourceKind::Virtual(_) => ACS_VIDEO_SOURCE_VIRTUAL,
            VideoSourceKind::Pushed => ACS_VIDEO_SOURCE_PUSHED,
            VideoSourceKind::Camera(_) => ACS_VIDEO_SOURCE_CAMERA,
            VideoSourceKind::Screen(_) => ACS_VIDEO_SOURCE_SCREEN,
        };
        out(out_kind, k, "out_kind")
    })
}

/// How many frames the stream has published (all sources together).
#[no_mangle]
pub unsafe extern "C" fn acs_local_video_stream_get_frame_count(
    stream: *mut acs_local_video_stream,
    out_count: *mut u64,
) -> acs_status {
    guard(|| {
        let n = handles::local_video_stream(stream)?
            .bus()
            .frames_published();
        out(out_count, n, "out_count")
    })
}

/// Writes a new renderer handle of `bus` to `out_renderer`. For the remote side:
/// `acs_video_renderer_create_for_remote_stream` is this with the remote stream's bus.
pub(crate) fn renderer_out(
    bus: Arc<FrameBus>,
    out_renderer: *mut *mut acs_video_renderer,
) -> FfiResult {
    need(out_renderer, "out_renderer")?;
    let r = VideoRenderer::new(bus);
    out(
        out_renderer,
        handles::acquire(Object::VideoRenderer(r)),
        "out_renderer",
    )
}

/// Creates a renderer of a local stream (a self view). Add views to it with
/// acs_video_renderer_create_view.
#[no_mangle]
pub unsafe extern "C" fn acs_video_renderer_create_for_local_stream(
    stream: *mut acs_local_video_stream,
    out_renderer: *mut *mut acs_video_renderer,
) -> acs_status {
    guard(|| renderer_out(handles::local_video_stream(stream)?.bus(), out_renderer))
}

/// Adds a reference to the renderer.
#[no_mangle]
pub extern "C" fn acs_video_renderer_retain(renderer: *mut acs_video_renderer) -> acs_status {
    guard(|| handles::retain(renderer, handles::Kind::VideoRenderer))
}

/// Drops a reference. Views keep their renderer working until they are released. NULL is OK.
#[no_mangle]
pub extern "C" fn acs_video_renderer_release(renderer: *mut acs_video_renderer) -> acs_status {
    guard(|| handles::release(renderer, handles::Kind::VideoRenderer).map(|_| ()))
}

/// Fills `options` with the defaults: 640x360 RGBA, Fit, not mirrored, no callback.
/// Writes today's whole struct (the library's sizeof): it overruns the shorter struct of a
/// host compiled against an older header. Use ACS_VIDEO_VIEW_OPTIONS_INIT(p)
/// (acs_video_view_options_init_sized).
#[no_mangle]
pub unsafe extern "C" fn acs_video_view_options_init(
    options: *mut acs_video_view_options,
) -> acs_status {
    // SAFETY: NULL or the host's struct.
    guard(|| unsafe { init_out(options, "options") })
}

/// As acs_video_view_options_init, into the host's struct of `size` bytes
/// (ACS_VIDEO_VIEW_OPTIONS_INIT(p) passes sizeof *p): see "Sized init" in the header's
/// conventions.
#[no_mangle]
pub unsafe extern "C" fn acs_video_view_options_init_sized(
    options: *mut acs_video_view_options,
    size: usize,
) -> acs_status {
    // SAFETY: NULL or the host's struct of `size` bytes.
    guard(|| unsafe { init_sized(options, size, "options") })
}

/// The view callback of the host's options: none, a frame callback or a rendered-frame
/// callback (not both).
fn host_callback(o: &acs_video_view_options) -> FfiResult<Option<ViewCallback>> {
    let ud = HostPtr(o.frame_callback_user_data as usize);
    Ok(match (o.frame_callback, o.rendered_frame_callback) {
        (None, None) => None,
        (Some(cb), None) => Some(Arc::new(move |f: Arc<RenderedFrame>| {
            let mut frame = lend(f);
            // SAFETY: the host's callback with a frame it now owns.
            unsafe { cb(ud.0 as *mut c_void, &mut frame) };
        })),
        (None, Some(cb)) => Some(Arc::new(move |f: Arc<RenderedFrame>| {
            let mut frame = lend_rendered(f);
            // SAFETY: the host's callback with a frame it now owns.
            unsafe { cb(ud.0 as *mut c_void, &mut frame) };
        })),
        (Some(_), Some(_)) => {
            return Err(FfiError::new(
                ACS_ERR_INVALID_ARGUMENT,
                "options.frame_callback and options.rendered_frame_callback are both set",
            ))
        }
    })
}

/// Adds a view to the renderer: its own size, pixel format, scaling mode and mirror flag.
/// The stream's latest frame, if any, is its first. Without a callback, take frames with
/// acs_video_view_take_latest_frame.
#[no_mangle]
pub unsafe extern "C" fn acs_video_renderer_create_view(
    renderer: *mut acs_video_renderer,
    options: *const acs_video_view_options,
    out_view: *mut *mut acs_video_view,
) -> acs_status {
    guard(|| {
        let r = handles::video_renderer(renderer)?;
        if options.is_null() {
            return Err(FfiError::new(ACS_ERR_NULL_POINTER, "options is NULL"));
        }
        need(out_view, "out_view")?;
        // SAFETY: the host's struct of struct_size bytes.
        let o = unsafe { read_in(options, "options") }?;
        let config = ViewConfig {
            width: o.width,
            height: o.height,
            format: pixel_format(o.format)?,
            scaling_mode: scaling_mode(o.scaling_mode)?,
            mirrored: o.mirrored,
        };
        let cb = host_callback(&o)?;
        let v = r
            .create_view(config, cb)
            .map_err(crate::error::Error::from)?;
        out(out_view, handles::acquire(Object::VideoView(v)), "out_view")
    })
}

/// Adds a reference to the view.
#[no_mangle]
pub extern "C" fn acs_video_view_retain(view: *mut acs_video_view) -> acs_status {
    guard(|| handles::retain(view, handles::Kind::VideoView))
}

/// Drops a reference; the last one stops the view (its callback is not called after this
/// returns, unless this is called from that callback). NULL is OK.
#[no_mangle]
pub extern "C" fn acs_video_view_release(view: *mut acs_video_view) -> acs_status {
    guard(|| handles::release(view, handles::Kind::VideoView).map(|_| ()))
}

fn update_view(
    view: *mut acs_video_view,
    f: impl FnOnce(&mut ViewConfig) -> FfiResult,
) -> FfiResult {
    let v = handles::video_view(view)?;
    let mut cfg = v.config();
    f(&mut cfg)?;
    v.update(|c| *c = cfg)
        .map_err(|e| FfiError::new(ACS_ERR_INVALID_ARGUMENT, e.to_string()))
}

/// Changes the view's scaling mode (ACS_SCALING_MODE_*) for the next frames.
#[no_mangle]
pub extern "C" fn acs_video_view_set_scaling_mode(
    view: *mut acs_video_view,
    scaling_mode_value: i32,
) -> acs_status {
    guard(|| {
        update_view(view, |c| {
            c.scaling_mode = scaling_mode(scaling_mode_value)?;
            Ok(())
        })
    })
}

/// Mirrors (or not) the next frames horizontally.
#[no_mangle]
pub extern "C" fn acs_video_view_set_mirrored(
    view: *mut acs_video_view,
    mirrored: bool,
) -> acs_status {
    guard(|| {
        update_view(view, |c| {
            c.mirrored = mirrored;
            Ok(())
        })
    })
}

/// Changes the view's size (1..=8192 each way) for the next frames.
#[no_mangle]
pub extern "C" fn acs_video_view_set_size(
    view: *mut acs_video_view,
    width: u32,
    height: u32,
) -> acs_status {
    guard(|| {
        update_view(view, |c| {
            c.width = width;
            c.height = height;
            Ok(())
        })
    })
}

/// Changes the view's pixel format (ACS_PIXEL_FORMAT_*) for the next frames.
#[no_mangle]
pub extern "C" fn acs_video_view_set_format(view: *mut acs_video_view, format: i32) -> acs_status {
    guard(|| {
        update_view(view, |c| {
            c.format = pixel_format(format)?;
            Ok(())
        })
    })
}

/// Takes the newest frame the view has not returned yet, rendered now on this thread (for a
/// render loop). ACS_ERR_NOT_FOUND when no new frame arrived since the last take (nothing is
/// written); ACS_ERR_INVALID_STATE for a view with a frame callback. Release the frame with
/// acs_video_frame_release.
#[no_mangle]
pub unsafe extern "C" fn acs_video_view_take_latest_frame(
    view: *mut acs_video_view,
    out_frame: *mut acs_video_frame,
) -> acs_status {
    guard(|| {
        let v = handles::video_view(view)?;
        need(out_frame, "out_frame")?;
        if v.has_callback() {
            return Err(FfiError::new(
                ACS_ERR_INVALID_STATE,
                "this view delivers frames to its callback",
            ));
        }
        let f = v
            .take_latest()
            .ok_or_else(|| FfiError::new(ACS_ERR_NOT_FOUND, "no new frame"))?;
        out(out_frame, lend(f), "out_frame")
    })
}

/// Frames the view rendered and dropped so far (the frozen acs_video_view_stats; see
/// acs_video_view_get_statistics).
#[no_mangle]
pub unsafe extern "C" fn acs_video_view_get_stats(
    view: *mut acs_video_view,
    out_stats: *mut acs_video_view_stats,
) -> acs_status {
    guard(|| {
        let s = handles::video_view(view)?.stats();
        out(
            out_stats,
            acs_video_view_stats {
                frames_rendered: s.frames_rendered,
                frames_dropped: s.frames_dropped,
            },
            "out_stats",
        )
    })
}

/// Fills `stats` for acs_video_view_get_statistics: struct_size set, the rest 0.
/// Writes today's whole struct (the library's sizeof): it overruns the shorter struct of a
/// host compiled against an older header. Use ACS_VIDEO_VIEW_STATISTICS_INIT(p)
/// (acs_video_view_statistics_init_sized).
#[no_mangle]
pub unsafe extern "C" fn acs_video_view_statistics_init(
    stats: *mut acs_video_view_statistics,
) -> acs_status {
    // SAFETY: NULL or the host's struct.
    guard(|| unsafe { init_out(stats, "stats") })
}

/// As acs_video_view_statistics_init, into the host's struct of `size` bytes
/// (ACS_VIDEO_VIEW_STATISTICS_INIT(p) passes sizeof *p): see "Sized init" in the header's
/// conventions.
#[no_mangle]
pub unsafe extern "C" fn acs_video_view_statistics_init_sized(
    stats: *mut acs_video_view_statistics,
    size: usize,
) -> acs_status {
    // SAFETY: NULL or the host's struct of `size` bytes.
    guard(|| unsafe { init_sized(stats, size, "stats") })
}

/// Frames the view rendered and dropped so far, written up to out_stats->struct_size.
#[no_mangle]
pub unsafe extern "C" fn acs_video_view_get_statistics(
    view: *const acs_video_view,
    out_stats: *mut acs_video_view_statistics,
) -> acs_status {
    guard(|| {
        let s = handles::video_view(view)?.stats();
        // SAFETY: NULL or the host's struct of struct_size bytes.
        unsafe { check_out(out_stats, "out_stats") }?;
        let v = acs_video_view_statistics {
            struct_size: 0,
            frames_rendered: s.frames_rendered,
            frames_dropped: s.frames_dropped,
        };
        // SAFETY: as above.
        unsafe { write_out(out_stats, v, "out_stats") }
    })
}
