//! acs_device_manager_set_event_callback and _refresh_devices: devices appearing and
//! disappearing, delivered like every other event (in order, on the dispatch thread or from
//! acs_call_client_dispatch_events).

use super::events::{acs_event_callback, deliver_device_event};
use super::handles::{self, acs_device_manager};
use super::host_ptr::HostPtr;
use super::status::*;
use super::strings::*;
use crate::client::DeviceListener;
use std::ffi::c_void;
use std::sync::Arc;

/// Sets (or with NULL removes) the callback for ACS_EVENT_AUDIO_DEVICE_* and
/// ACS_EVENT_CAMERA_* events. While one is set, the system's devices are re-enumerated about
/// every second; creating or removing a virtual device raises its event at once.
#[no_mangle]
pub extern "C" fn acs_device_manager_set_event_callback(
    dm: *mut acs_device_manager,
    callback: acs_event_callback,
    user_data: *mut c_void,
) -> acs_status {
    guard(|| {
        let m = handles::device_manager(dm)?;
        let listener: Option<DeviceListener> = callback.map(|cb| {
            let ud = HostPtr(user_data as usize);
            Arc::new(move |dm: &_, ev: &_| deliver_device_event(cb, ud, dm, ev)) as DeviceListener
        });
        Ok(m.set_listener(listener)?)
    })
}

/// Re-enumerates the system's devices now (instead of waiting for the watcher) and queues an
/// event for each one that appeared or disappeared. `out_changes` (may be NULL) receives how
/// many; 0 when no event callback is set. Blocks for the enumeration (milliseconds).
#[no_mangle]
pub unsafe extern "C" fn acs_device_manager_refresh_devices(
    dm: *mut acs_device_manager,
    out_changes: *mut usize,
) -> acs_status {
    guard(|| {
        let n = handles::device_manager(dm)?.refresh();
        if !out_changes.is_null() {
            out(out_changes, n, "out_changes")?;
        }
        Ok(())
    })
}
