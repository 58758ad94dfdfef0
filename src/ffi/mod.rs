//! The C ABI. The ONLY `extern "C"` code of the library: handles, status codes, strings,
//! callbacks, the panic boundary and event dispatch. No call logic lives here.
//!
//! Conventions (see include/acscalling.h): functions return `acs_status` (0 = OK); outputs
//! are written only on success; strings in are NUL-terminated UTF-8 and copied; strings out
//! go to a caller buffer with the needed size reported; handles are retained/released and
//! stale ones are detected; every export catches panics.
#![allow(non_camel_case_types)]
#![allow(clippy::missing_safety_doc)]

pub mod agent;
pub mod audio_processing;
pub mod call;
pub mod camera_options;
pub mod cameras;
pub mod client;
pub mod device_events;
pub mod devices;
pub mod events;
pub mod group;
pub(crate) mod handles;
mod host_ptr;
pub mod log;
mod numbering;
pub mod phone;
pub mod push;
pub mod rendered_frame;
pub mod rooms;
pub mod screen;
pub(crate) mod sized;
pub mod status;
pub(crate) mod strings;
pub mod transfer;
pub mod video;
pub mod video_call;
pub mod video_frame;

pub use handles::{
    acs_audio_device, acs_call, acs_call_agent, acs_call_client, acs_camera, acs_device_manager,
    acs_remote_participant, acs_remote_video_stream,
};
pub use handles::{acs_local_video_stream, acs_video_renderer, acs_video_view};
pub use status::*;

use std::ffi::c_char;

/// Major version (equals Cargo.toml).
pub const ACS_CALLING_VERSION_MAJOR: u32 = 0;
/// Minor version (equals Cargo.toml).
pub const ACS_CALLING_VERSION_MINOR: u32 = 1;
/// Patch version (equals Cargo.toml).
pub const ACS_CALLING_VERSION_PATCH: u32 = 0;

const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library version at run time, e.g. "0.1.0" (static string).
#[no_mangle]
pub extern "C" fn acs_calling_version() -> *const c_char {
    VERSION.as_ptr().cast()
}

#[cfg(test)]
mod tests {
    #[test]
    fn version_macros_match_cargo() {
        let v = format!(
            "{}.{}.{}",
            super::ACS_CALLING_VERSION_MAJOR,
            super::ACS_CALLING_VERSION_MINOR,
            super::ACS_CALLING_VERSION_PATCH
        );
        assert_eq!(v, env!("CARGO_PKG_VERSION"));
    }
}
