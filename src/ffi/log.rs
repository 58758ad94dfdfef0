//! Forwards the library's `log` records to host callbacks.

use parking_lot::RwLock;
use std::ffi::{c_char, c_void, CString};
use std::sync::{LazyLock, Once};

/// Errors.
pub const ACS_LOG_ERROR: i32 = 1;
/// Warnings.
pub const ACS_LOG_WARN: i32 = 2;
/// Information.
pub const ACS_LOG_INFO: i32 = 3;
/// Debugging detail.
pub const ACS_LOG_DEBUG: i32 = 4;
/// Everything.
pub const ACS_LOG_TRACE: i32 = 5;

/// Receives one log line (`message` is borrowed for the call). Called from any library
/// thread; must not block or call into the library.
pub type acs_log_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, level: i32, message: *const c_char)>;

struct Sink {
    owner: u64,
    cb: unsafe extern "C" fn(*mut c_void, i32, *const c_char),
    user_data: usize,
    level: i32,
}

static SINKS: LazyLock<RwLock<Vec<Sink>>> = LazyLock::new(|| RwLock::new(Vec::new()));
static INSTALL: Once = Once::new();

struct Forwarder;

fn level_num(l: log::Level) -> i32 {
    match l {
        log::Level::Error => ACS_LOG_ERROR,
        log::Level::Warn => ACS_LOG_WARN,
        log::Level::Info => ACS_LOG_INFO,
        log::Level::Debug => ACS_LOG_DEBUG,
        log::Level::Trace => ACS_LOG_TRACE,
    }
}

impl log::Log for Forwarder {
    fn enabled(&self, m: &log::Metadata) -> bool {
        // Our own records at any level; other crates' only when they warn.
        m.target().starts_with("acscalling") || m.level() <= log::Level::Warn
    }
    fn log(&self, r: &log::Record) {
        if !self.enabled(r.metadata()) {
            return;
        }
        let lvl = level_num(r.level());
        let sinks = SINKS.read();
        if sinks.iter().all(|s| s.level < lvl) {
            return;
        }
        let Ok(msg) = CString::new(format!("[{}] {}", r.target(), r.args()).replace('\0', " "))
        else {
            return;
        };
        for s in sinks.iter().filter(|s| s.level >= lvl) {
            // SAFETY: the host registered this callback for exactly this use.
            unsafe { (s.cb)(s.user_data as *mut c_void, lvl, msg.as_ptr()) };
        }
    }
    fn flush(&self) {}
}

/// Adds a host log sink for the client `owner` (removed when that client is released).
pub(crate) fn register_log_callback(
    owner: u64,
    cb: unsafe extern "C" fn(*mut c_void, i32, *const c_char),
    user_data: *mut c_void,
    level: i32,
) {
    INSTALL.call_once(|| {
        if log::set_logger(&Forwarder).is_ok() {
            log::set_max_level(log::LevelFilter::Trace);
        }
    });
    SINKS.write().push(Sink {
        owner,
        cb,
        user_data: user_data as usize,
        level: level.clamp(ACS_LOG_ERROR, ACS_LOG_TRACE),
    });
}

/// Removes the log sinks of client `owner`.
pub(crate) fn unregister_log_callbacks(owner: u64) {
    SINKS.write().retain(|s| s.owner != owner);
}
