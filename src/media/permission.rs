//! Device permission: whether this process may use a microphone or a camera. On Linux that is
//! granted unless the system refuses access (device node permissions, the sound server's
//! authentication) or no device exists; the answer says which, with the reason.

use super::audio::{AudioDevice, DeviceKind};
use super::camera::Camera;

/// The answer to a permission request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum PermissionState {
    /// A device can be opened.
    Granted = 0,
    /// The system refused access.
    Denied = 1,
    /// There is no device of the kind (or none that can be opened).
    NoDevice = 2,
}

/// A permission answer and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    pub state: PermissionState,
    /// Human-readable: which device was opened, or why none could be.
    pub reason: String,
}

/// Opens the given real microphone (else the system default) once to see whether it may be
/// used. A virtual microphone needs no permission: asking with one is always granted.
pub fn microphone_permission(preferred: Option<&AudioDevice>) -> Permission {
    if let Some(d) = preferred.filter(|d| d.is_virtual() && d.kind() == DeviceKind::Microphone) {
        return Permission {
            state: PermissionState::Granted,
            reason: format!("'{}' is a virtual microphone", d.name()),
        };
    }
    let cpal_id = preferred.and_then(AudioDevice::cpal_id).flatten();
    match super::audio::probe_microphone(cpal_id) {
        Ok(name) => Permission {
            state: PermissionState::Granted,
            reason: format!("microphone '{name}' can be opened"),
        },
        Err(f) => Permission {
            state: if f.denied {
                PermissionState::Denied
            } else {
                PermissionState::NoDevice
            },
            reason: f.reason,
        },
    }
}

/// Opens the first of `cameras` (the preferred one first) read-only to see whether it may be
/// used.
pub fn camera_permission(cameras: &[Camera]) -> Permission {
    let Some(cam) = cameras.first() else {
        return Permission {
            state: PermissionState::NoDevice,
            reason: "no camera is present (no V4L2 capture node under /dev)".into(),
        };
    };
    match std::fs::File::open(cam.path()) {
        Ok(_) => Permission {
            state: PermissionState::Granted,
            reason: format!("camera '{}' can be opened", cam.name()),
        },
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Permission {
            state: PermissionState::Denied,
            reason: format!(
                "access to camera '{}' ({}) was denied: {e}",
                cam.name(),
                cam.path().display()
            ),
        },
        Err(e) => Permission {
            state: PermissionState::NoDevice,
            reason: format!(
                "camera '{}' ({}) cannot be opened: {e}",
                cam.name(),
                cam.path().display()
            ),
        },
    }
}
