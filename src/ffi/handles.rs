//! The handle table: every object the host holds is a table entry with its type and a
//! reference count. Handles are opaque numbers, never real pointers, so a stale, foreign or
//! wrong-type handle is detected and answered with ACS_ERR_INVALID_HANDLE instead of a crash.

use super::status::*;
use crate::client::{Call, CallAgent, CallClient, DeviceManager, RemoteParticipant};
use crate::media::audio::AudioDevice;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;

/// Opaque CallClient handle.
pub struct acs_call_client {
    _private: [u8; 0],
}
/// Opaque CallAgent handle.
pub struct acs_call_agent {
    _private: [u8; 0],
}
/// Opaque Call handle.
pub struct acs_call {
    _private: [u8; 0],
}
/// Opaque RemoteParticipant handle.
pub struct acs_remote_participant {
    _private: [u8; 0],
}
/// Opaque DeviceManager handle.
pub struct acs_device_manager {
    _private: [u8; 0],
}
/// Opaque audio device handle (microphone or speaker, real or virtual).
pub struct acs_audio_device {
    _private: [u8; 0],
}

/// Everything a handle can stand for.
#[derive(Clone)]
pub(crate) enum Object {
    Client(CallClient),
    Agent(CallAgent),
    Call(Call),
    Participant(RemoteParticipant),
    DeviceManager(DeviceManager),
    AudioDevice(AudioDevice),
}

#[derive(Clone, PartialEq, Eq, Hash)]
enum Key {
    Object(u64),
    Device(String),
}

impl Object {
    fn key(&self) -> Key {
        match self {
            Object::Client(o) => Key::Object(o.object_id()),
            Object::Agent(o) => Key::Object(o.object_id()),
            Object::Call(o) => Key::Object(o.object_id()),
            Object::Participant(o) => Key::Object(o.object_id()),
            Object::DeviceManager(o) => Key::Object(o.object_id()),
            Object::AudioDevice(d) => Key::Device(d.id()),
        }
    }
    fn type_name(&self) -> &'static str {
        match self {
            Object::Client(_) => "acs_call_client",
            Object::Agent(_) => "acs_call_agent",
            Object::Call(_) => "acs_call",
            Object::Participant(_) => "acs_remote_participant",
            Object::DeviceManager(_) => "acs_device_manager",
            Object::AudioDevice(_) => "acs_audio_device",
        }
    }
}

struct Entry {
    obj: Object,
    refs: u32,
}

#[derive(Default)]
struct Table {
    entries: HashMap<u64, Entry>,
    by_key: HashMap<Key, u64>,
}

static TABLE: LazyLock<Mutex<Table>> = LazyLock::new(|| Mutex::new(Table::default()));
static NEXT_HANDLE: AtomicU64 = AtomicU64::new(1);

/// Handles live in a range no allocator hands out, spaced by 16 so that pointer arithmetic
/// on a handle yields another invalid handle.
const HANDLE_BASE: usize = 0x0A75_0000_0000;
const HANDLE_STRIDE: usize = 16;

fn to_ptr<T>(h: u64) -> *mut T {
    (HANDLE_BASE + h as usize * HANDLE_STRIDE) as *mut T
}

fn from_ptr<T>(p: *const T) -> Option<u64> {
    let v = p as usize;
    if v < HANDLE_BASE || (v - HANDLE_BASE) % HANDLE_STRIDE != 0 {
        return None;
    }
    Some(((v - HANDLE_BASE) / HANDLE_STRIDE) as u64)
}

/// Returns a handle for `obj` with one more reference (the same handle value as long as the
/// object has a live handle).
pub(crate) fn acquire<T>(obj: Object) -> *mut T {
    let mut t = TABLE.lock();
    let key = obj.key();
    if let Some(&h) = t.by_key.get(&key) {
        if let Some(e) = t.entries.get_mut(&h) {
            e.refs += 1;
            return to_ptr(h);
        }
    }
    let h = NEXT_HANDLE.fetch_add(1, Ordering::Relaxed);
    t.entries.insert(h, Entry { obj, refs: 1 });
    t.by_key.insert(key, h);
    to_ptr(h)
}

fn invalid(what: &str) -> FfiError {
    FfiError::new(
        ACS_ERR_INVALID_HANDLE,
        format!("{what} is NULL, released, or not a {what}"),
    )
}

/// Looks a handle up (no reference change).
pub(crate) fn lookup<T>(p: *const T, what: &'static str) -> FfiResult<Object> {
    let h = from_ptr(p).ok_or_else(|| invalid(what))?;
    let t = TABLE.lock();
    match t.entries.get(&h) {
        Some(e) if e.obj.type_name() == what => Ok(e.obj.clone()),
        Some(e) => Err(FfiError::new(
            ACS_ERR_INVALID_HANDLE,
            format!("expected a {what}, got a {}", e.obj.type_name()),
        )),
        None => Err(invalid(what)),
    }
}

/// Adds a reference.
pub(crate) fn retain<T>(p: *const T, what: &'static str) -> FfiResult {
    let h = from_ptr(p).ok_or_else(|| invalid(what))?;
    let mut t = TABLE.lock();
    match t.entries.get_mut(&h) {
        Some(e) if e.obj.type_name() == what => {
            e.refs = e.refs.saturating_add(1);
            Ok(())
        }
        _ => Err(invalid(what)),
    }
}

/// Drops a reference; returns the object when it was the last one (the caller then runs
/// the object's final cleanup outside the table lock). NULL is accepted and does nothing.
pub(crate) fn release<T>(p: *const T, what: &'static str) -> FfiResult<Option<Object>> {
    if p.is_null() {
        return Ok(None);
    }
    let h = from_ptr(p).ok_or_else(|| invalid(what))?;
    let mut t = TABLE.lock();
    let last = match t.entries.get_mut(&h) {
        Some(e) if e.obj.type_name() == what => {
            e.refs -= 1;
            e.refs == 0
        }
        _ => return Err(invalid(what)),
    };
    if !last {
        return Ok(None);
    }
    let e = t.entries.remove(&h).map(|e| e.obj);
    if let Some(o) = &e {
        t.by_key.remove(&o.key());
    }
    Ok(e)
}

macro_rules! typed_lookup {
    ($fn_name:ident, $cty:ty, $variant:ident, $rty:ty, $name:literal) => {
        pub(crate) fn $fn_name(p: *const $cty) -> FfiResult<$rty> {
            match lookup(p, $name)? {
                Object::$variant(o) => Ok(o),
                _ => Err(invalid($name)),
            }
        }
    };
}

typed_lookup!(
    client,
    acs_call_client,
    Client,
    CallClient,
    "acs_call_client"
);
typed_lookup!(agent, acs_call_agent, Agent, CallAgent, "acs_call_agent");
typed_lookup!(call, acs_call, Call, Call, "acs_call");
typed_lookup!(
    participant,
    acs_remote_participant,
    Participant,
    RemoteParticipant,
    "acs_remote_participant"
);
typed_lookup!(
    device_manager,
    acs_device_manager,
    DeviceManager,
    DeviceManager,
    "acs_device_manager"
);
typed_lookup!(
    audio_device,
    acs_audio_device,
    AudioDevice,
    AudioDevice,
    "acs_audio_device"
);

/// Runs the final cleanup of an object whose last handle was released.
pub(crate) fn finalize(obj: Option<Object>) {
    match obj {
        Some(Object::Client(c)) => {
            c.shutdown();
            super::log::unregister_log_callbacks(c.object_id());
        }
        Some(Object::Agent(a)) => a.dispose(),
        _ => {}
    }
}

/// Number of live handles (for leak tests).
pub(crate) fn live_handles() -> usize {
    TABLE.lock().entries.len()
}
