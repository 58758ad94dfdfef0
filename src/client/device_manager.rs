//! DeviceManager: lists real (cpal) and virtual audio devices and cameras, remembers the
//! selection, answers permission requests and raises events when devices come and go.

use super::device_watch::{DeviceEvent, Snapshot, Watcher, WATCH_INTERVAL};
use super::dispatch::EventQueue;
use crate::error::{Error, Result};
use crate::media::audio::{system_devices, AudioDevice, AudioProcessing, DeviceKind};
use crate::media::camera::{system_cameras, Camera};
use crate::media::permission::{camera_permission, microphone_permission, Permission};
use parking_lot::Mutex;
use std::sync::{Arc, Weak};

/// Receives a DeviceManager's events on the dispatch thread (in order with agent events).
pub type DeviceListener = Arc<dyn Fn(&DeviceManager, &DeviceEvent) + Send + Sync>;

/// What a permission request is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum MediaKind {
    /// Microphones.
    Audio = 0,
    /// Cameras.
    Video = 1,
}

#[derive(Default)]
struct Inner {
    virtual_devices: Vec<AudioDevice>,
    microphone: Option<AudioDevice>,
    speaker: Option<AudioDevice>,
    camera: Option<Camera>,
    processing: AudioProcessing,
    listener: Option<DeviceListener>,
    /// The last system snapshot events were raised against (taken when a listener is set).
    known: Option<Snapshot>,
    watcher: Option<Watcher>,
    shut_down: bool,
}

struct Shared {
    state: Mutex<Inner>,
    /// Serialises refreshes so that two never raise the same event.
    refreshing: Mutex<()>,
    events: Arc<EventQueue>,
}

/// Device lists, selection, permission and device events. Cheap to clone.
#[derive(Clone)]
pub struct DeviceManager {
    id: u64,
    shared: Arc<Shared>,
}

impl DeviceManager {
    pub(crate) fn new(events: Arc<EventQueue>) -> Self {
        Self {
            id: crate::object_id::next_object_id(),
            shared: Arc::new(Shared {
                state: Mutex::new(Inner::default()),
                refreshing: Mutex::new(()),
                events,
            }),
        }
    }

    fn lock(&self) -> parking_lot::MutexGuard<'_, Inner> {
        self.shared.state.lock()
    }

    /// Process-unique id of this object.
    pub fn object_id(&self) -> u64 {
        self.id
    }

    /// Microphones: the system's (listed, maybe not openable) then the virtual ones created here.
    pub fn microphones(&self) -> Vec<AudioDevice> {
        self.list(DeviceKind::Microphone)
    }

    /// Speakers: the system's then the virtual ones created here.
    pub fn speakers(&self) -> Vec<AudioDevice> {
        self.list(DeviceKind::Speaker)
    }

    fn list(&self, kind: DeviceKind) -> Vec<AudioDevice> {
        let mut v = system_devices(kind);
        v.extend(
            self.lock()
                .virtual_devices
                .iter()
                .filter(|d| d.kind() == kind)
                .cloned(),
        );
        v
    }

    /// Registers a virtual device so it appears in the lists (and raises
    /// `AudioDeviceAdded` for a listener).
    pub fn add_virtual_device(&self, device: AudioDevice) -> AudioDevice {
        self.lock().virtual_devices.push(device.clone());
        self.raise(vec![DeviceEvent::AudioDeviceAdded(device.clone())]);
        device
    }

    /// Removes a virtual device (and its selection); true if it was there.
    pub fn remove_virtual_device(&self, id: &str) -> bool {
        let removed = {
            let mut g = self.lock();
            let pos = g.virtual_devices.iter().position(|d| d.id() == id);
            let removed = pos.map(|i| g.virtual_devices.remove(i));
            g.forget_selection(id);
            removed
        };
        match removed {
            Some(d) => {
                self.raise(vec![DeviceEvent::AudioDeviceRemoved(d)]);
                true
            }
            None => false,
        }
    }

    /// Selects the microphone used by calls that don't name one.
    pub fn set_microphone(&self, device: &AudioDevice) -> Result<()> {
        if device.kind() != DeviceKind::Microphone {
            return Err(Error::InvalidArgument(format!(
                "'{}' is not a microphone",
                device.name()
            )));
        }
        self.lock().microphone = Some(device.clone());
        Ok(())
    }

    /// Selects the speaker used by calls that don't name one.
    pub fn set_speaker(&self, device: &AudioDevice) -> Result<()> {
        if device.kind() != DeviceKind::Speaker {
            return Err(Error::InvalidArgument(format!(
                "'{}' is not a speaker",
                device.name()
            )));
        }
        self.lock().speaker = Some(device.clone());
        Ok(())
    }

    /// The selected microphone, else the system default.
    pub fn selected_microphone(&self) -> Option<AudioDevice> {
        self.selected(DeviceKind::Microphone)
    }

    /// The selected speaker, else the system default.
    pub fn selected_speaker(&self) -> Option<AudioDevice> {
        self.selected(DeviceKind::Speaker)
    }

    /// Cameras: V4L2 capture nodes (none on a machine without /dev/video*), then the virtual
    /// camera, which is always there.
    pub fn cameras(&self) -> Vec<Camera> {
        let mut cams = system_cameras();
        cams.push(crate::media::camera::virtual_camera());
        cams
    }

    /// Selects the camera [`selected_camera`](Self::selected_camera) returns.
    pub fn set_camera(&self, camera: &Camera) {
        self.lock().camera = Some(camera.clone());
    }

    /// The selected camera, else the system default, else None.
    pub fn selected_camera(&self) -> Option<Camera> {
        let chosen = self.lock().camera.clone();
        chosen.or_else(|| {
            system_cameras()
                .into_iter()
                .next()
                .or_else(|| Some(crate::media::camera::virtual_camera()))
        })
    }

    /// Asks whether this process may use a microphone (`Audio`: the selected one, else the
    /// system default, is opened once) or a camera (`Video`). On Linux that is granted unless
    /// the system refuses access or no device exists; the answer says why. Blocks briefly.
    pub fn ask_permission(&self, kind: MediaKind) -> Permission {
        match kind {
            MediaKind::Audio => {
                let chosen = self.lock().microphone.clone();
                microphone_permission(chosen.as_ref())
            }
            MediaKind::Video => {
                let mut cams = system_cameras();
                if let Some(sel) = self.lock().camera.clone() {
                    cams.retain(|c| c.id() != sel.id());
                    cams.insert(0, sel);
                }
                camera_permission(&cams)
            }
        }
    }

    /// Echo cancellation, noise suppression and gain control for calls started from now on
    /// (default: all on; only real microphones are processed).
    pub fn set_audio_processing(&self, settings: AudioProcessing) {
        self.lock().processing = settings;
    }

    /// The audio processing settings new calls get.
    pub fn audio_processing(&self) -> AudioProcessing {
        self.lock().processing
    }

    /// Sets (or with None removes) the listener of device events. While one is set, the
    /// system's devices are re-enumerated about every second and a device that appears or
    /// disappears raises an event; [`refresh`](Self::refresh) checks at once.
    pub fn set_listener(&self, listener: Option<DeviceListener>) -> Result<()> {
        let old_watcher = {
            let mut g = self.lock();
            if g.shut_down && listener.is_some() {
                return Err(Error::InvalidState("the call client was shut down".into()));
            }
            g.listener = listener.clone();
            if listener.is_none() {
                g.known = None;
                g.watcher.take()
            } else {
                None
            }
        };
        drop(old_watcher); // joins the thread outside the lock
        if listener.is_none() {
            return Ok(());
        }
        {
            let _r = self.shared.refreshing.lock();
            if self.lock().known.is_none() {
                let baseline = Snapshot::take();
                self.lock().known = Some(baseline);
            }
        }
        if self.lock().watcher.is_none() {
            let weak: Weak<Shared> = Arc::downgrade(&self.shared);
            let id = self.id;
            let watcher = Watcher::start(WATCH_INTERVAL, move || {
                let Some(shared) = weak.upgrade() else {
                    return false;
                };
                DeviceManager { id, shared }.refresh();
                true
            })
            .map_err(|e| Error::Internal(format!("cannot start the device watcher: {e}")))?;
            let mut g = self.lock();
            if g.listener.is_some() && g.watcher.is_none() && !g.shut_down {
                g.watcher = Some(watcher);
            }
        }
        Ok(())
    }

    /// Re-enumerates the system's devices now and raises an event for each one that appeared
    /// or disappeared since the last check. Returns how many changed (0 without a listener).
    pub fn refresh(&self) -> usize {
        let _r = self.shared.refreshing.lock();
        if self.lock().known.is_none() {
            return 0;
        }
        let now = Snapshot::take();
        let events = {
            let mut g = self.lock();
            let Some(known) = g.known.as_ref() else {
                return 0;
            };
            let events = known.diff(&now);
            for e in &events {
                if let DeviceEvent::AudioDeviceRemoved(d) = e {
                    g.forget_selection(&d.id());
                }
                if let DeviceEvent::CameraRemoved(c) = e {
                    if g.camera.as_ref().is_some_and(|s| s.id() == c.id()) {
                        g.camera = None;
                    }
                }
            }
            g.known = Some(now);
            events
        };
        let n = events.len();
        self.raise(events);
        n
    }

    /// Queues events for the listener (in order, on the dispatch thread).
    fn raise(&self, events: Vec<DeviceEvent>) {
        if events.is_empty() || self.lock().listener.is_none() {
            return;
        }
        for e in events {
            let dm = self.clone();
            self.shared.events.push(Box::new(move || dm.deliver(&e)));
        }
    }

    /// Hands one event to the listener (dispatch thread).
    pub(crate) fn deliver(&self, event: &DeviceEvent) {
        let listener = self.lock().listener.clone();
        if let Some(l) = listener {
            l(self, event);
        }
    }

    /// Stops the watcher and drops the listener (client shutdown).
    pub(crate) fn shutdown(&self) {
        let watcher = {
            let mut g = self.lock();
            g.shut_down = true;
            g.listener = None;
            g.watcher.take()
        };
        drop(watcher);
    }

    fn selected(&self, kind: DeviceKind) -> Option<AudioDevice> {
        let chosen = {
            let g = self.lock();
            match kind {
                DeviceKind::Microphone => g.microphone.clone(),
                DeviceKind::Speaker => g.speaker.clone(),
            }
        };
        chosen.or_else(|| {
            let all = system_devices(kind);
            all.iter()
                .find(|d| d.is_default())
                .cloned()
                .or_else(|| all.into_iter().next())
        })
    }
}

impl Inner {
    /// A selected device that is gone falls back to the system default.
    fn forget_selection(&mut self, id: &str) {
        if self.microphone.as_ref().is_some_and(|d| d.id() == id) {
            self.microphone = None;
        }
        if self.speaker.as_ref().is_some_and(|d| d.id() == id) {
            self.speaker = None;
        }
    }
}
