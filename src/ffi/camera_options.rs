//! acs_camera_options and the camera-with-options side of acs_local_video_stream_*: the
//! size, rate and pixel format to capture a camera in, what the driver really gives, and why
//! a camera stopped.

use super::handles::{self, acs_camera, acs_local_video_stream, Object};
use super::sized::{check_out, extensible, init_out, init_sized, read_in_or_default, write_out};
use super::status::*;
use super::strings::{need, out, str_out};
use crate::client::LocalVideoStream;
use crate::error::Error;
use crate::media::video::v4l2::{CameraConfig, CameraFormat};
use std::ffi::c_char;

/// Camera pixel format: let the library choose (raw formats first, MJPEG last).
pub const ACS_CAMERA_FORMAT_ANY: i32 = 0;
/// Packed 4:2:2, Y0 U Y1 V (V4L2 `YUYV`).
pub const ACS_CAMERA_FORMAT_YUYV: i32 = 1;
/// Packed 4:2:2, U Y0 V Y1 (V4L2 `UYVY`).
pub const ACS_CAMERA_FORMAT_UYVY: i32 = 2;
/// Planar Y, interleaved UV, 4:2:0 (V4L2 `NV12`).
pub const ACS_CAMERA_FORMAT_NV12: i32 = 3;
/// Planar Y, U, V, 4:2:0 (V4L2 `YU12`).
pub const ACS_CAMERA_FORMAT_I420: i32 = 4;
/// Planar Y, V, U, 4:2:0 (V4L2 `YV12`).
pub const ACS_CAMERA_FORMAT_YV12: i32 = 5;
/// Motion JPEG (V4L2 `MJPG` or `JPEG`), decoded in software.
pub const ACS_CAMERA_FORMAT_MJPEG: i32 = 6;

/// How to capture a camera. Initialise with acs_camera_options_init (640x360 at 30 fps,
/// any format). The camera gives the nearest size and rate it offers; the virtual camera
/// draws exactly this size (at least 32x16) at this rate (at most 120).
#[repr(C)]
pub struct acs_camera_options {
    /// sizeof(acs_camera_options), set by the init function.
    pub struct_size: u32,
    /// Width in pixels (1..=8192).
    pub width: u32,
    /// Height in pixels (1..=8192).
    pub height: u32,
    /// Frames per second (1..=240).
    pub fps: u32,
    /// ACS_CAMERA_FORMAT_*: a format other than ANY is refused (ACS_ERR_DEVICE) by a
    /// camera that does not offer it.
    pub format: i32,
}

/// What a camera really captures (acs_local_video_stream_get_camera_format).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct acs_camera_capture_format {
    /// sizeof(acs_camera_capture_format).
    pub struct_size: u32,
    /// ACS_CAMERA_FORMAT_* (never ANY).
    pub format: i32,
    /// Width of the captured frames, in pixels.
    pub width: u32,
    /// Height of the captured frames, in pixels.
    pub height: u32,
    /// The driver's frame rate; 0 when it does not say.
    pub fps: f64,
}

extensible!(acs_camera_options, first_version_ends_with: format, defaults: {
    let d = CameraConfig::default();
    acs_camera_options {
        struct_size: 0,
        width: d.width,
        height: d.height,
        fps: d.fps,
        format: ACS_CAMERA_FORMAT_ANY,
    }
});

extensible!(acs_camera_capture_format, first_version_ends_with: fps,
    defaults: acs_camera_capture_format::default());

fn camera_format_code(f: CameraFormat) -> i32 {
    match f {
        CameraFormat::Yuyv => ACS_CAMERA_FORMAT_YUYV,
        CameraFormat::Uyvy => ACS_CAMERA_FORMAT_UYVY,
        CameraFormat::Nv12 => ACS_CAMERA_FORMAT_NV12,
        CameraFormat::I420 => ACS_CAMERA_FORMAT_I420,
        CameraFormat::Yv12 => ACS_CAMERA_FORMAT_YV12,
        CameraFormat::Mjpeg => ACS_CAMERA_FORMAT_MJPEG,
    }
}

fn camera_format(v: i32) -> FfiResult<Option<CameraFormat>> {
    Ok(Some(match v {
        ACS_CAMERA_FORMAT_ANY => return Ok(None),
        ACS_CAMERA_FORMAT_YUYV => CameraFormat::Yuyv,
        ACS_CAMERA_FORMAT_UYVY => CameraFormat::Uyvy,
        ACS_CAMERA_FORMAT_NV12 => CameraFormat::Nv12,
        ACS_CAMERA_FORMAT_I420 => CameraFormat::I420,
        ACS_CAMERA_FORMAT_YV12 => CameraFormat::Yv12,
        ACS_CAMERA_FORMAT_MJPEG => CameraFormat::Mjpeg,
        other => {
            return Err(FfiError::new(
                ACS_ERR_INVALID_ARGUMENT,
                format!("unknown camera format {other}"),
            ))
        }
    }))
}

/// Reads and checks the host's options (NULL: the defaults).
unsafe fn camera_config(options: *const acs_camera_options) -> FfiResult<CameraConfig> {
    if options.is_null() {
        return Ok(CameraConfig::default());
    }
    // SAFETY: the host's struct of struct_size bytes.
    let o = unsafe { read_in_or_default(options, "options") }?;
    let config = CameraConfig {
        width: o.width,
        height: o.height,
        fps: o.fps,
        format: camera_format(o.format)?,
    };
    config
        .validate()
        .map_err(|e| FfiError::new(ACS_ERR_INVALID_ARGUMENT, e.to_string()))?;
    Ok(config)
}

/// Fills `options` with the defaults: 640x360 at 30 fps, any format.
/// Writes today's whole struct (the library's sizeof): it overruns the shorter struct of a
/// host compiled against an older header. Use ACS_CAMERA_OPTIONS_INIT(p)
/// (acs_camera_options_init_sized).
#[no_mangle]
pub unsafe extern "C" fn acs_camera_options_init(options: *mut acs_camera_options) -> acs_status {
    // SAFETY: NULL or the host's struct.
    guard(|| unsafe { init_out(options, "options") })
}

/// As acs_camera_options_init, into the host's struct of `size` bytes
/// (ACS_CAMERA_OPTIONS_INIT(p) passes sizeof *p): see "Sized init" in the header's
/// conventions.
#[no_mangle]
pub unsafe extern "C" fn acs_camera_options_init_sized(
    options: *mut acs_camera_options,
    size: usize,
) -> acs_status {
    // SAFETY: NULL or the host's struct of `size` bytes.
    guard(|| unsafe { init_sized(options, size, "options") })
}

/// Creates a local video stream from a camera captured as `options` ask (NULL: the
/// defaults, as acs_local_video_stream_create_from_camera). ACS_ERR_INVALID_ARGUMENT for
/// options out of range or not initialised; ACS_ERR_DEVICE as in
/// acs_local_video_stream_create_from_camera, or when the camera does not offer the format
/// asked for (the message lists what it offers).
#[no_mangle]
pub unsafe extern "C" fn acs_local_video_stream_create_from_camera_with_options(
    camera: *mut acs_camera,
    options: *const acs_camera_options,
    out_stream: *mut *mut acs_local_video_stream,
) -> acs_status {
    guard(|| {
        let c = handles::camera(camera)?;
        // SAFETY: NULL or the host's initialised options.
        let config = unsafe { camera_config(options) }?;
        need(out_stream, "out_stream")?;
        let s = LocalVideoStream::from_camera_with(&c, config)?;
        out(
            out_stream,
            handles::acquire(Object::LocalVideoStream(s)),
            "out_stream",
        )
    })
}

/// Switches the stream to a camera captured as `options` ask (NULL: the defaults). Asking
/// for the camera the stream already captures with other options reopens it; if that
/// fails (ACS_ERR_DEVICE) the previous options stay in effect.
#[no_mangle]
pub unsafe extern "C" fn acs_local_video_stream_switch_source_camera_with_options(
    stream: *mut acs_local_video_stream,
    camera: *mut acs_camera,
    options: *const acs_camera_options,
) -> acs_status {
    guard(|| {
        let s = handles::local_video_stream(stream)?;
        let c = handles::camera(camera)?;
        // SAFETY: NULL or the host's initialised options.
        let config = unsafe { camera_config(options) }?;
        Ok(s.switch_to_camera_with(&c, config)?)
    })
}

/// What the stream's camera really captures: pixel format, size and the driver's rate
/// (the nearest to what was asked that the camera offers), written up to
/// out_format->struct_size (acs_camera_capture_format_init sets it). ACS_ERR_INVALID_STATE
/// when the stream's source is not a V4L2 camera (virtual camera, pushed frames).
#[no_mangle]
pub unsafe extern "C" fn acs_local_video_stream_get_camera_format(
    stream: *mut acs_local_video_stream,
    out_format: *mut acs_camera_capture_format,
) -> acs_status {
    guard(|| {
        let s = handles::local_video_stream(stream)?;
        // SAFETY: NULL or the host's struct of struct_size bytes.
        unsafe { check_out(out_format, "out_format") }?;
        let f = s
            .camera_format()
            .ok_or_else(|| Error::InvalidState("the stream's source is not a camera".into()))?;
        let v = acs_camera_capture_format {
            struct_size: std::mem::size_of::<acs_camera_capture_format>() as u32,
            format: camera_format_code(f.format),
            width: f.width,
            height: f.height,
            fps: f.fps.unwrap_or(0.0),
        };
        // SAFETY: as above.
        unsafe { write_out(out_format, v, "out_format") }
    })
}

/// Fills `format` for acs_local_video_stream_get_camera_format: struct_size set, the rest 0.
/// Writes today's whole struct (the library's sizeof): it overruns the shorter struct of a
/// host compiled against an older header. Use ACS_CAMERA_CAPTURE_FORMAT_INIT(p)
/// (acs_camera_capture_format_init_sized).
#[no_mangle]
pub unsafe extern "C" fn acs_camera_capture_format_init(
    format: *mut acs_camera_capture_format,
) -> acs_status {
    // SAFETY: NULL or the host's struct.
    guard(|| unsafe { init_out(format, "format") })
}

/// As acs_camera_capture_format_init, into the host's struct of `size` bytes
/// (ACS_CAMERA_CAPTURE_FORMAT_INIT(p) passes sizeof *p): see "Sized init" in the header's
/// conventions.
#[no_mangle]
pub unsafe extern "C" fn acs_camera_capture_format_init_sized(
    format: *mut acs_camera_capture_format,
    size: usize,
) -> acs_status {
    // SAFETY: NULL or the host's struct of `size` bytes.
    guard(|| unsafe { init_sized(format, size, "format") })
}

/// Why the stream's source stopped on its own (a camera unplugged, or its driver failing
/// capture after capture), as a string out; the stream then sends no frames until its source
/// is switched (to the same camera once it is back, say). ACS_ERR_NOT_FOUND while the source
/// works. A camera's disappearance is also an ACS_EVENT_CAMERA_REMOVED of the device manager.
#[no_mangle]
pub unsafe extern "C" fn acs_local_video_stream_get_source_error(
    stream: *mut acs_local_video_stream,
    buf: *mut c_char,
    capacity: usize,
    needed: *mut usize,
) -> acs_status {
    guard(|| {
        let s = handles::local_video_stream(stream)?;
        match s.source_error() {
            Some(why) => str_out(&why, buf, capacity, needed),
            None => Err(FfiError::new(
                ACS_ERR_NOT_FOUND,
                "the stream's source works (no error)",
            )),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_camera_format_code_round_trips() {
        for f in [
            CameraFormat::Yuyv,
            CameraFormat::Uyvy,
            CameraFormat::Nv12,
            CameraFormat::I420,
            CameraFormat::Yv12,
            CameraFormat::Mjpeg,
        ] {
            assert_eq!(camera_format(camera_format_code(f)).unwrap(), Some(f));
        }
        assert_eq!(camera_format(ACS_CAMERA_FORMAT_ANY).unwrap(), None);
        assert!(camera_format(7).is_err());
        assert!(camera_format(-1).is_err());
    }
}
