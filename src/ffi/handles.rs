//! The handle table: every object the host holds is a table entry with its type and a
//! reference count. Handles are opaque numbers, never real pointers, so a stale, foreign or
//! wrong-type handle is detected and answered with ACS_ERR_INVALID_HANDLE instead of a crash.

use super::status::*;
use super::video_frame::{HeldFrame, HeldFrameHandle};
use crate::client::{
    Call, CallAgent, CallClient, DeviceManager, LocalVideoStream, RemoteParticipant,
    RemoteVideoStream,
};
use crate::media::audio::AudioDevice;
use crate::media::camera::Camera;
use crate::media::video::{VideoRenderer, VideoView};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

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
/// Opaque camera handle.
pub struct acs_camera {
    _private: [u8; 0],
}
/// Opaque remote video stream handle (a remote participant's camera or screen share).
pub struct acs_remote_video_stream {
    _private: [u8; 0],
}

/// Opaque screen source handle: a monitor or window that can be shared, as listed.
pub struct acs_screen_source {
    _private: [u8; 0],
}

/// Opaque local video stream handle (virtual camera, pushed frames or a camera).
pub struct acs_local_video_stream {
    _private: [u8; 0],
}
/// Opaque video renderer handle (one stream, many views).
pub struct acs_video_renderer {
    _private: [u8; 0],
}
/// Opaque video view handle (one size, format and scaling of a renderer's stream).
pub struct acs_video_view {
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
    Camera(Camera),
    RemoteVideoStream(RemoteVideoStream),
    LocalVideoStream(LocalVideoStream),
    VideoRenderer(VideoRenderer),
    VideoView(VideoView),
    /// A rendered frame lent to the host (acs_video_frame.internal).
    VideoFrame(Arc<HeldFrame>),
    /// A listed monitor or window (acs_screen_sources_get).
    ScreenSource(Arc<HeldScreenSource>),
}

/// A listed screen source with its handle number.
pub(crate) struct HeldScreenSource {
    pub id: u64,
    pub source: crate::media::video::ScreenSource,
}

impl Object {
    /// The handle number: the object's process-unique id, so the same object always has the
    /// same handle value. Devices are keyed by their id string (listing them twice yields the
    /// same handle).
    fn number(&self, t: &mut Table) -> u64 {
        match self {
            Object::Client(o) => o.object_id(),
            Object::Agent(o) => o.object_id(),
            Object::Call(o) => o.object_id(),
            Object::Participant(o) => o.object_id(),
            Object::DeviceManager(o) => o.object_id(),
            Object::RemoteVideoStream(o) => o.object_id(),
            Object::LocalVideoStream(o) => o.object_id(),
            Object::VideoRenderer(o) => o.object_id(),
            Object::VideoView(o) => o.object_id(),
            Object::VideoFrame(o) => o.id,
            Object::ScreenSource(o) => o.id,
            Object::AudioDevice(_) | Object::Camera(_) => {
                let key = self.device_key().unwrap_or_default();
                if let Some(&n) = t.device_numbers.get(&key) {
                    return n;
                }
                t.next_device_number += 1;
                let n = DEVICE_NUMBERS + t.next_device_number;
                t.device_numbers.insert(key, n);
                n
            }
        }
    }
    /// The id string a device handle is keyed by (camera ids, "v4l2:...", never collide
    /// with audio device ids).
    fn device_key(&self) -> Option<String> {
        match self {
            Object::AudioDevice(d) => Some(d.id()),
            Object::Camera(c) => Some(c.id()),
            _ => None,
        }
    }
    fn kind(&self) -> Kind {
        match self {
            Object::Client(_) => Kind::Client,
            Object::Agent(_) => Kind::Agent,
            Object::Call(_) => Kind::Call,
            Object::Participant(_) => Kind::Participant,
            Object::DeviceManager(_) => Kind::DeviceManager,
            Object::AudioDevice(_) => Kind::AudioDevice,
            Object::Camera(_) => Kind::Camera,
            Object::RemoteVideoStream(_) => Kind::RemoteVideoStream,
            Object::LocalVideoStream(_) => Kind::LocalVideoStream,
            Object::VideoRenderer(_) => Kind::VideoRenderer,
            Object::VideoView(_) => Kind::VideoView,
            Object::VideoFrame(_) => Kind::VideoFrame,
            Object::ScreenSource(_) => Kind::ScreenSource,
        }
    }
}

/// The type of a handle, checked on every use (one per [`Object`] variant).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Client,
    Agent,
    Call,
    Participant,
    DeviceManager,
    AudioDevice,
    Camera,
    RemoteVideoStream,
    LocalVideoStream,
    VideoRenderer,
    VideoView,
    VideoFrame,
    ScreenSource,
}

impl Kind {
    /// The C type name, for error messages.
    pub(crate) const fn name(self) -> &'static str {
        match self {
            Kind::Client => "acs_call_client",
            Kind::Agent => "acs_call_agent",
            Kind::Call => "acs_call",
            Kind::Participant => "acs_remote_participant",
            Kind::DeviceManager => "acs_device_manager",
            Kind::AudioDevice => "acs_audio_device",
            Kind::Camera => "acs_camera",
            Kind::RemoteVideoStream => "acs_remote_video_stream",
            Kind::LocalVideoStream => "acs_local_video_stream",
            Kind::VideoRenderer => "acs_video_renderer",
            Kind::VideoView => "acs_video_view",
            Kind::VideoFrame => "acs_video_frame",
            Kind::ScreenSource => "acs_screen_source",
        }
    }
}

/// Device handle numbers start here, far above object ids.
const DEVICE_NUMBERS: u64 = 1 << 40;

struct Entry {
    obj: Object,
    /// References the host owns (from out-parameters and _retain).
    refs: u32,
    /// Borrows for events being delivered (the host owns none of these).
    borrows: u32,
    /// The threads delivering those events: a borrowed handle is usable on them only, so
    /// a handle the host released is stale on its other threads even while an event that
    /// lends it is being delivered.
    borrowers: Vec<std::thread::ThreadId>,
}

impl Entry {
    /// Whether the calling thread may use the handle.
    fn usable(&self) -> bool {
        self.refs > 0 || self.borrowers.contains(&std::thread::current().id())
    }
}

#[derive(Default)]
struct Table {
    entries: HashMap<u64, Entry>,
    /// Handle numbers of the devices that have a live entry, by device id, so that listing
    /// a device twice yields the same handle. An entry's removal removes its number.
    device_numbers: HashMap<String, u64>,
    /// Last device number handed out (numbers are never reused: a stale device handle
    /// stays invalid after its device is listed again).
    next_device_number: u64,
}

impl Table {
    /// Removes entry `h` and whatever keys it; returns it so that the caller drops it
    /// after the table lock.
    fn remove(&mut self, h: u64) -> Option<Entry> {
        let e = self.entries.remove(&h)?;
        if let Some(key) = e.obj.device_key() {
            self.device_numbers.remove(&key);
        }
        if self.entries.is_empty() {
            // The host holds nothing: give the maps' storage back, so that a host done with
            // the library (leak checkers included) finds nothing of ours left allocated.
            self.entries = HashMap::new();
            self.device_numbers = HashMap::new();
        }
        Some(e)
    }
}

static TABLE: LazyLock<Mutex<Table>> = LazyLock::new(|| Mutex::new(Table::default()));

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

fn add_ref<T>(obj: Object, borrow: bool) -> *mut T {
    let mut t = TABLE.lock();
    let h = obj.number(&mut t);
    let e = t.entries.entry(h).or_insert(Entry {
        obj,
        refs: 0,
        borrows: 0,
        borrowers: Vec::new(),
    });
    if borrow {
        e.borrows += 1;
        e.borrowers.push(std::thread::current().id());
    } else {
        e.refs = e.refs.saturating_add(1);
    }
    to_ptr(h)
}

/// Returns a handle for `obj` with one more host-owned reference.
pub(crate) fn acquire<T>(obj: Object) -> *mut T {
    add_ref(obj, false)
}

/// Returns a handle for `obj` borrowed for an event callback; pair with [`unborrow`].
pub(crate) fn borrow<T>(obj: Object) -> *mut T {
    add_ref(obj, true)
}

/// Ends a borrow. Never finalizes: only the host's last release does.
pub(crate) fn unborrow<T>(p: *const T) {
    let Some(h) = from_ptr(p) else { return };
    let mut t = TABLE.lock();
    if let Some(e) = t.entries.get_mut(&h) {
        e.borrows = e.borrows.saturating_sub(1);
        let me = std::thread::current().id();
        if let Some(i) = e.borrowers.iter().position(|t| *t == me) {
            e.borrowers.swap_remove(i);
        }
        if e.refs == 0 && e.borrows == 0 {
            let removed = t.remove(h);
            drop(t);
            drop(removed);
        }
    }
}

fn invalid(what: Kind) -> FfiError {
    let what = what.name();
    FfiError::new(
        ACS_ERR_INVALID_HANDLE,
        format!("{what} is NULL, released, or not a {what}"),
    )
}

/// Looks a handle up (no reference change).
pub(crate) fn lookup<T>(p: *const T, what: Kind) -> FfiResult<Object> {
    let h = from_ptr(p).ok_or_else(|| invalid(what))?;
    let t = TABLE.lock();
    match t.entries.get(&h) {
        Some(e) if !e.usable() => Err(invalid(what)),
        Some(e) if e.obj.kind() == what => Ok(e.obj.clone()),
        Some(e) => Err(FfiError::new(
            ACS_ERR_INVALID_HANDLE,
            format!("expected a {}, got a {}", what.name(), e.obj.kind().name()),
        )),
        None => Err(invalid(what)),
    }
}

/// Adds a host reference (also to a handle borrowed in a callback, to keep it).
pub(crate) fn retain<T>(p: *const T, what: Kind) -> FfiResult {
    let h = from_ptr(p).ok_or_else(|| invalid(what))?;
    let mut t = TABLE.lock();
    match t.entries.get_mut(&h) {
        Some(e) if e.obj.kind() == what && e.usable() => {
            e.refs = e.refs.saturating_add(1);
            Ok(())
        }
        _ => Err(invalid(what)),
    }
}

/// Drops a host reference; returns the object when it was the host's last one (the caller
/// then runs the object's final cleanup outside the table lock). NULL is accepted.
pub(crate) fn release<T>(p: *const T, what: Kind) -> FfiResult<Option<Object>> {
    if p.is_null() {
        return Ok(None);
    }
    let h = from_ptr(p).ok_or_else(|| invalid(what))?;
    let mut t = TABLE.lock();
    let (last, obj, gone) = match t.entries.get_mut(&h) {
        Some(e) if e.obj.kind() == what && e.refs > 0 => {
            e.refs -= 1;
            (e.refs == 0, e.obj.clone(), e.refs == 0 && e.borrows == 0)
        }
        _ => return Err(invalid(what)),
    };
    // The entry is dropped after the lock: dropping an object may join a thread of its own
    // (a video view's) that is calling into the library.
    let removed = if gone { t.remove(h) } else { None };
    drop(t);
    drop(removed);
    Ok(last.then_some(obj))
}

macro_rules! typed_lookup {
    ($fn_name:ident, $cty:ty, $variant:ident, $rty:ty) => {
        pub(crate) fn $fn_name(p: *const $cty) -> FfiResult<$rty> {
            match lookup(p, Kind::$variant)? {
                Object::$variant(o) => Ok(o),
                _ => Err(invalid(Kind::$variant)),
            }
        }
    };
}

typed_lookup!(client, acs_call_client, Client, CallClient);
typed_lookup!(agent, acs_call_agent, Agent, CallAgent);
typed_lookup!(call, acs_call, Call, Call);
typed_lookup!(
    participant,
    acs_remote_participant,
    Participant,
    RemoteParticipant
);
typed_lookup!(
    device_manager,
    acs_device_manager,
    DeviceManager,
    DeviceManager
);
typed_lookup!(audio_device, acs_audio_device, AudioDevice, AudioDevice);

typed_lookup!(camera, acs_camera, Camera, Camera);
typed_lookup!(
    screen_source,
    acs_screen_source,
    ScreenSource,
    Arc<HeldScreenSource>
);
typed_lookup!(
    remote_video_stream,
    acs_remote_video_stream,
    RemoteVideoStream,
    RemoteVideoStream
);
typed_lookup!(
    local_video_stream,
    acs_local_video_stream,
    LocalVideoStream,
    LocalVideoStream
);
typed_lookup!(
    video_renderer,
    acs_video_renderer,
    VideoRenderer,
    VideoRenderer
);
typed_lookup!(video_view, acs_video_view, VideoView, VideoView);
typed_lookup!(video_frame, HeldFrameHandle, VideoFrame, Arc<HeldFrame>);

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

/// Number of handles the host holds references to (for leak tests); handles merely lent
/// to a callback that is running don't count.
pub(crate) fn live_handles() -> usize {
    TABLE.lock().entries.values().filter(|e| e.refs > 0).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device_number_of(id: &str) -> Option<u64> {
        TABLE.lock().device_numbers.get(id).copied()
    }

    #[test]
    fn a_released_device_leaves_nothing_in_the_table() {
        let dev = AudioDevice::tone_microphone("leak-check", 440.0, 0.5);
        let id = dev.id();
        let h1: *mut acs_audio_device = acquire(Object::AudioDevice(dev.clone()));
        // Listed again while held: the same handle.
        let h2: *mut acs_audio_device = acquire(Object::AudioDevice(dev.clone()));
        assert_eq!(h1, h2);
        assert!(device_number_of(&id).is_some());
        assert!(release(h1, Kind::AudioDevice).unwrap().is_none());
        assert!(release(h2, Kind::AudioDevice).unwrap().is_some());
        assert_eq!(device_number_of(&id), None, "the id string stays behind");
        // The old handle is stale, and a new one for the same device is another number.
        assert!(audio_device(h1).is_err());
        let h3: *mut acs_audio_device = acquire(Object::AudioDevice(dev));
        assert_ne!(h3, h1);
        assert!(audio_device(h1).is_err());
        assert!(audio_device(h3).is_ok());
        release(h3, Kind::AudioDevice).unwrap();
    }

    #[test]
    fn a_borrowed_device_leaves_nothing_after_its_event() {
        let dev = AudioDevice::pull_speaker("leak-check-borrow", 100);
        let id = dev.id();
        let h: *mut acs_audio_device = borrow(Object::AudioDevice(dev));
        assert!(device_number_of(&id).is_some());
        unborrow(h);
        assert_eq!(device_number_of(&id), None);
    }
}
