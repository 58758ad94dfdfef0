//! acs_camera_* and the camera side of acs_device_manager_*: camera lists and selection, and
//! device permission requests (microphone and camera).

use super::handles::{self, acs_camera, acs_device_manager, Object};
use super::status::*;
use super::strings::*;
use crate::client::MediaKind;
use crate::media::permission::PermissionState;
use std::ffi::c_char;

/// Permission requests: microphones.
pub const ACS_MEDIA_KIND_AUDIO: i32 = 0;
/// Permission requests: cameras.
pub const ACS_MEDIA_KIND_VIDEO: i32 = 1;

/// A device of the kind can be opened.
pub const ACS_PERMISSION_GRANTED: i32 = 0;
/// The system refused access (device permissions, the sound server's authentication).
pub const ACS_PERMISSION_DENIED: i32 = 1;
/// No device of the kind exists, or none can be opened (e.g. a headless machine).
pub const ACS_PERMISSION_NO_DEVICE: i32 = 2;

/// Lists cameras (V4L2 capture nodes, none on a machine without /dev/video*; then the
/// virtual camera, always there), like
/// acs_device_manager_get_microphones: up to `capacity` handles (+1 each: release them), the
/// total in `out_count`; ACS_ERR_BUFFER_TOO_SMALL (with `out_count` set) if it doesn't fit.
#[no_mangle]
pub unsafe extern "C" fn acs_device_manager_get_cameras(
    dm: *mut acs_device_manager,
    out_cameras: *mut *mut acs_camera,
    capacity: usize,
    out_count: *mut usize,
) -> acs_status {
    guard(|| {
        let cams = handles::device_manager(dm)?.cameras();
        need(out_count, "out_count")?;
        check_capacity::<*mut acs_camera>(capacity, "capacity")?;
        // SAFETY: checked non-NULL.
        unsafe { *out_count = cams.len() };
        if cams.len() > capacity || (out_cameras.is_null() && !cams.is_empty()) {
            return Err(FfiError::new(
                ACS_ERR_BUFFER_TOO_SMALL,
                format!("{} cameras, room for {capacity}", cams.len()),
            ));
        }
        for (i, c) in cams.into_iter().enumerate() {
            // SAFETY: `capacity` ≥ count slots at `out_cameras`.
            unsafe { *out_cameras.add(i) = handles::acquire(Object::Camera(c)) };
        }
        Ok(())
    })
}

/// Selects the camera that acs_device_manager_get_selected_camera returns (a stream is made
/// from it with acs_local_video_stream_create_from_camera).
#[no_mangle]
pub extern "C" fn acs_device_manager_set_camera(
    dm: *mut acs_device_manager,
    camera: *mut acs_camera,
) -> acs_status {
    guard(|| {
        let m = handles::device_manager(dm)?;
        m.set_camera(&handles::camera(camera)?);
        Ok(())
    })
}

/// The selected camera (or the system default); ACS_ERR_NOT_FOUND if there is none.
#[no_mangle]
pub unsafe extern "C" fn acs_device_manager_get_selected_camera(
    dm: *mut acs_device_manager,
    out_camera: *mut *mut acs_camera,
) -> acs_status {
    guard(|| {
        need(out_camera, "out_camera")?;
        let c = handles::device_manager(dm)?
            .selected_camera()
            .ok_or_else(|| FfiError::new(ACS_ERR_NOT_FOUND, "no camera is selected or present"))?;
        out(
            out_camera,
            handles::acquire(Object::Camera(c)),
            "out_camera",
        )
    })
}

/// Asks whether this process may use a microphone (`media` ACS_MEDIA_KIND_AUDIO: the
/// selected microphone, else the system default, is opened once) or a camera
/// (ACS_MEDIA_KIND_VIDEO). On Linux access is granted unless the system refuses it or no
/// device exists. `out_permission` receives ACS_PERMISSION_*; `reason` (may be NULL with
/// `reason_capacity` 0) receives why, `reason_needed` (may be NULL) its size with the NUL.
/// Blocks briefly (opening a device).
#[no_mangle]
pub unsafe extern "C" fn acs_device_manager_ask_device_permission(
    dm: *mut acs_device_manager,
    media: i32,
    out_permission: *mut i32,
    reason: *mut c_char,
    reason_capacity: usize,
    reason_needed: *mut usize,
) -> acs_status {
    guard(|| {
        let m = handles::device_manager(dm)?;
        need(out_permission, "out_permission")?;
        let kind = match media {
            ACS_MEDIA_KIND_AUDIO => MediaKind::Audio,
            ACS_MEDIA_KIND_VIDEO => MediaKind::Video,
            other => {
                return Err(FfiError::new(
                    ACS_ERR_INVALID_ARGUMENT,
                    format!("unknown media kind {other}"),
                ))
            }
        };
        let p = m.ask_permission(kind);
        if !reason.is_null() || !reason_needed.is_null() {
            str_out(&p.reason, reason, reason_capacity, reason_needed)?;
        }
        let state = match p.state {
            PermissionState::Granted => ACS_PERMISSION_GRANTED,
            PermissionState::Denied => ACS_PERMISSION_DENIED,
            PermissionState::NoDevice => ACS_PERMISSION_NO_DEVICE,
        };
        out(out_permission, state, "out_permission")
    })
}

/// Adds a reference to the camera.
#[no_mangle]
pub extern "C" fn acs_camera_retain(camera: *mut acs_camera) -> acs_status {
    guard(|| handles::retain(camera, handles::Kind::Camera))
}

/// Drops a reference. NULL is OK.
#[no_mangle]
pub extern "C" fn acs_camera_release(camera: *mut acs_camera) -> acs_status {
    guard(|| handles::release(camera, handles::Kind::Camera).map(|_| ()))
}

/// The camera id (`v4l2:/dev/videoN`).
#[no_mangle]
pub unsafe extern "C" fn acs_camera_get_id(
    camera: *mut acs_camera,
    buf: *mut c_char,
    capacity: usize,
    needed: *mut usize,
) -> acs_status {
    guard(|| str_out(&handles::camera(camera)?.id(), buf, capacity, needed))
}

/// The camera name (from its driver).
#[no_mangle]
pub unsafe extern "C" fn acs_camera_get_name(
    camera: *mut acs_camera,
    buf: *mut c_char,
    capacity: usize,
    needed: *mut usize,
) -> acs_status {
    guard(|| str_out(&handles::camera(camera)?.name(), buf, capacity, needed))
}

/// Whether this is the system's default camera.
#[no_mangle]
pub unsafe extern "C" fn acs_camera_is_default(
    camera: *mut acs_camera,
    out_flag: *mut bool,
) -> acs_status {
    guard(|| out(out_flag, handles::camera(camera)?.is_default(), "out_flag"))
}
