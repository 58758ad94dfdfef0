//! DeviceManager: lists real (cpal) and virtual audio devices and remembers the selection.

use crate::error::{Error, Result};
use crate::media::audio::{system_devices, AudioDevice, DeviceKind};
use parking_lot::Mutex;
use std::sync::Arc;

#[derive(Default)]
struct Inner {
    virtual_devices: Vec<AudioDevice>,
    microphone: Option<AudioDevice>,
    speaker: Option<AudioDevice>,
}

/// Audio device lists and selection. Cheap to clone.
#[derive(Clone)]
pub struct DeviceManager {
    id: u64,
    inner: Arc<Mutex<Inner>>,
}

impl DeviceManager {
    pub(crate) fn new() -> Self {
        Self {
            id: super::next_object_id(),
            inner: Arc::new(Mutex::new(Inner::default())),
        }
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
            self.inner
                .lock()
                .virtual_devices
                .iter()
                .filter(|d| d.kind() == kind)
                .cloned(),
        );
        v
    }

    /// Registers a virtual device so it appears in the lists.
    pub fn add_virtual_device(&self, device: AudioDevice) -> AudioDevice {
        self.inner.lock().virtual_devices.push(device.clone());
        device
    }

    /// Removes a virtual device (and its selection); true if it was there.
    pub fn remove_virtual_device(&self, id: &str) -> bool {
        let mut g = self.inner.lock();
        let before = g.virtual_devices.len();
        g.virtual_devices.retain(|d| d.id() != id);
        if g.microphone.as_ref().is_some_and(|d| d.id() == id) {
            g.microphone = None;
        }
        if g.speaker.as_ref().is_some_and(|d| d.id() == id) {
            g.speaker = None;
        }
        g.virtual_devices.len() != before
    }

    /// Selects the microphone used by calls that don't name one.
    pub fn set_microphone(&self, device: &AudioDevice) -> Result<()> {
        if device.kind() != DeviceKind::Microphone {
            return Err(Error::InvalidArgument(format!(
                "'{}' is not a microphone",
                device.name()
            )));
        }
        self.inner.lock().microphone = Some(device.clone());
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
        self.inner.lock().speaker = Some(device.clone());
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

    fn selected(&self, kind: DeviceKind) -> Option<AudioDevice> {
        let chosen = {
            let g = self.inner.lock();
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
