//! acs_call_client_*: the entry point, its runtime, event dispatch and logging.

use super::handles::{self, acs_call_client, acs_device_manager, Object};
use super::log::{acs_log_callback, register_log_callback};
use super::sized::{extensible, init_out, init_sized, read_in_or_default};
use super::status::*;
use super::strings::*;
use crate::client::{CallClient, CallClientOptions, DispatchMode};
use std::ffi::c_void;
use std::time::Duration;

/// Events are delivered on a library-owned thread (default).
pub const ACS_DISPATCH_THREAD: i32 = 0;
/// Events queue until the host calls acs_call_client_dispatch_events (game loops).
pub const ACS_DISPATCH_MANUAL: i32 = 1;

/// Options of acs_call_client_create. Initialise with acs_call_client_options_init.
#[repr(C)]
pub struct acs_call_client_options {
    /// sizeof(acs_call_client_options), set by the init function.
    pub struct_size: u32,
    /// ACS_DISPATCH_THREAD or ACS_DISPATCH_MANUAL.
    pub dispatch_mode: i32,
    /// Receives library log lines from any thread; must not call into the library. May be NULL.
    pub log_callback: acs_log_callback,
    /// Passed to log_callback as its first argument.
    pub log_user_data: *mut c_void,
    /// Most verbose level passed to log_callback (ACS_LOG_ERROR .. ACS_LOG_TRACE; another
    /// number is ACS_ERR_INVALID_ARGUMENT).
    pub log_level: i32,
}

// Hosts have always been allowed to stop after dispatch_mode (no logging then).
extensible!(acs_call_client_options, first_version_ends_with: dispatch_mode, defaults: acs_call_client_options {
    struct_size: 0,
    dispatch_mode: ACS_DISPATCH_THREAD,
    log_callback: None,
    log_user_data: std::ptr::null_mut(),
    log_level: super::log::ACS_LOG_INFO,
});

/// Fills `options` with defaults (thread dispatch, no logging, level ACS_LOG_INFO).
/// Writes today's whole struct (the library's sizeof): it overruns the shorter struct of a
/// host compiled against an older header. Use ACS_CALL_CLIENT_OPTIONS_INIT(p)
/// (acs_call_client_options_init_sized).
#[no_mangle]
pub unsafe extern "C" fn acs_call_client_options_init(
    options: *mut acs_call_client_options,
) -> acs_status {
    // SAFETY: NULL or the host's struct.
    guard(|| unsafe { init_out(options, "options") })
}

/// As acs_call_client_options_init, into the host's struct of `size` bytes
/// (ACS_CALL_CLIENT_OPTIONS_INIT(p) passes sizeof *p): see "Sized init" in the header's
/// conventions.
#[no_mangle]
pub unsafe extern "C" fn acs_call_client_options_init_sized(
    options: *mut acs_call_client_options,
    size: usize,
) -> acs_status {
    // SAFETY: NULL or the host's struct of `size` bytes.
    guard(|| unsafe { init_sized(options, size, "options") })
}

/// Creates a call client: starts the library runtime and (in thread mode) the event thread.
/// `options` may be NULL for defaults. Release with acs_call_client_release, which hangs up
/// every call and stops the threads.
#[no_mangle]
pub unsafe extern "C" fn acs_call_client_create(
    options: *const acs_call_client_options,
    out_client: *mut *mut acs_call_client,
) -> acs_status {
    guard(|| {
        need(out_client, "out_client")?;
        // SAFETY: NULL (defaults) or the host's struct of struct_size bytes.
        let opts = unsafe { read_in_or_default(options, "options") }?;
        let dispatch_mode = match opts.dispatch_mode {
            ACS_DISPATCH_THREAD => DispatchMode::Thread,
            ACS_DISPATCH_MANUAL => DispatchMode::Manual,
            m => {
                return Err(FfiError::new(
                    ACS_ERR_INVALID_ARGUMENT,
                    format!("unknown dispatch_mode {m}"),
                ))
            }
        };
        if !(super::log::ACS_LOG_ERROR..=super::log::ACS_LOG_TRACE).contains(&opts.log_level) {
            return Err(FfiError::new(
                ACS_ERR_INVALID_ARGUMENT,
                format!(
                    "unknown log_level {} (ACS_LOG_ERROR .. ACS_LOG_TRACE)",
                    opts.log_level
                ),
            ));
        }
        let client = CallClient::new(CallClientOptions {
            dispatch_mode,
            ..CallClientOptions::default()
        })?;
        if let Some(cb) = opts.log_callback {
            register_log_callback(client.object_id(), cb, opts.log_user_data, opts.log_level);
        }
        out(
            out_client,
            handles::acquire(Object::Client(client)),
            "out_client",
        )
    })
}

/// Adds a reference to the client.
#[no_mangle]
pub extern "C" fn acs_call_client_retain(client: *mut acs_call_client) -> acs_status {
    guard(|| handles::retain(client, handles::Kind::Client))
}

/// Drops a reference; the last one shuts the client down (calls end, threads stop). NULL is OK.
/// Once the host has released its last client and every other handle, nothing the library
/// opened remains: no thread, socket or descriptor, and no allocation of the library's own
/// (the one exception is Rust's standard library, which keeps a small record per host thread
/// that called in, freed when that thread exits).
#[no_mangle]
pub extern "C" fn acs_call_client_release(client: *mut acs_call_client) -> acs_status {
    guard(|| {
        handles::finalize(handles::release(client, handles::Kind::Client)?);
        Ok(())
    })
}

/// Manual dispatch mode: delivers queued events on this thread, waiting up to `timeout_ms`
/// for the first one. `dispatched` (may be NULL) receives how many were delivered.
#[no_mangle]
pub unsafe extern "C" fn acs_call_client_dispatch_events(
    client: *mut acs_call_client,
    timeout_ms: u32,
    dispatched: *mut u32,
) -> acs_status {
    guard(|| {
        let c = handles::client(client)?;
        let n = c.dispatch_events(Duration::from_millis(timeout_ms as u64))?;
        if !dispatched.is_null() {
            out(dispatched, n, "dispatched")?;
        }
        Ok(())
    })
}

/// Gets the client's device manager (+1 reference: release it).
#[no_mangle]
pub unsafe extern "C" fn acs_call_client_get_device_manager(
    client: *mut acs_call_client,
    out_device_manager: *mut *mut acs_device_manager,
) -> acs_status {
    guard(|| {
        need(out_device_manager, "out_device_manager")?;
        let c = handles::client(client)?;
        out(
            out_device_manager,
            handles::acquire(Object::DeviceManager(c.device_manager())),
            "out_device_manager",
        )
    })
}

/// Number of live handles in the process (for leak checks in tests).
#[no_mangle]
pub extern "C" fn acs_debug_live_handle_count() -> usize {
    std::panic::catch_unwind(handles::live_handles).unwrap_or(0)
}
