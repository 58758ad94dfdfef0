//! Hot-plug detection: snapshots of the system's devices and the events between two of them,
//! plus the watcher thread that takes a snapshot about every second while somebody listens.

use crate::media::audio::{system_devices, AudioDevice, DeviceKind};
use crate::media::camera::{system_cameras, Camera};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// A device appeared or disappeared, delivered to the DeviceManager's listener.
#[derive(Clone, Debug)]
pub enum DeviceEvent {
    /// A microphone or speaker appeared (system or virtual).
    AudioDeviceAdded(AudioDevice),
    /// A microphone or speaker disappeared.
    AudioDeviceRemoved(AudioDevice),
    /// A camera appeared.
    CameraAdded(Camera),
    /// A camera disappeared.
    CameraRemoved(Camera),
}

/// How often the watcher re-enumerates.
pub(crate) const WATCH_INTERVAL: Duration = Duration::from_millis(1000);

/// The system devices at one moment (virtual ones are not part of it: the host adds and
/// removes those itself, and their events are raised then).
#[derive(Default, Clone)]
pub(crate) struct Snapshot {
    pub audio: Vec<AudioDevice>,
    pub cameras: Vec<Camera>,
}

impl Snapshot {
    /// Enumerates the system's microphones, speakers and cameras.
    pub(crate) fn take() -> Self {
        let mut audio = system_devices(DeviceKind::Microphone);
        audio.extend(system_devices(DeviceKind::Speaker));
        Snapshot {
            audio,
            cameras: system_cameras(),
        }
    }

    /// The events that turn `self` into `next`: removals first, then additions, each in list
    /// order. Devices are the same when their ids are.
    pub(crate) fn diff(&self, next: &Snapshot) -> Vec<DeviceEvent> {
        let mut out = Vec::new();
        let has_audio =
            |list: &[AudioDevice], d: &AudioDevice| list.iter().any(|x| x.id() == d.id());
        let has_cam = |list: &[Camera], c: &Camera| list.iter().any(|x| x.id() == c.id());
        for d in self.audio.iter().filter(|d| !has_audio(&next.audio, d)) {
            out.push(DeviceEvent::AudioDeviceRemoved(d.clone()));
        }
        for c in self.cameras.iter().filter(|c| !has_cam(&next.cameras, c)) {
            out.push(DeviceEvent::CameraRemoved(c.clone()));
        }
        for d in next.audio.iter().filter(|d| !has_audio(&self.audio, d)) {
            out.push(DeviceEvent::AudioDeviceAdded(d.clone()));
        }
        for c in next.cameras.iter().filter(|c| !has_cam(&self.cameras, c)) {
            out.push(DeviceEvent::CameraAdded(c.clone()));
        }
        out
    }
}

/// The watcher thread; stops (and is joined) when dropped.
pub(crate) struct Watcher {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Watcher {
    /// Calls `tick` every `interval` until stopped or until `tick` returns false.
    pub(crate) fn start(
        interval: Duration,
        mut tick: impl FnMut() -> bool + Send + 'static,
    ) -> std::io::Result<Self> {
        let stop = Arc::new(AtomicBool::new(false));
        let s = stop.clone();
        let thread = std::thread::Builder::new()
            .name("acs-device-watch".into())
            .spawn(move || loop {
                let until = Instant::now() + interval;
                while Instant::now() < until {
                    if s.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                }
                if s.load(Ordering::Relaxed) || !tick() {
                    return;
                }
            })?;
        Ok(Watcher {
            stop,
            thread: Some(thread),
        })
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diff_reports_removals_then_additions_by_id() {
        let a = AudioDevice::tone_microphone("a", 440.0, 0.5);
        let b = AudioDevice::pull_speaker("b", 100);
        let c = AudioDevice::push_microphone("c");
        let before = Snapshot {
            audio: vec![a.clone(), b.clone()],
            cameras: vec![],
        };
        let after = Snapshot {
            audio: vec![b.clone(), c.clone()],
            cameras: vec![],
        };
        let ev = before.diff(&after);
        assert_eq!(ev.len(), 2);
        assert!(matches!(&ev[0], DeviceEvent::AudioDeviceRemoved(d) if d.id() == a.id()));
        assert!(matches!(&ev[1], DeviceEvent::AudioDeviceAdded(d) if d.id() == c.id()));
        assert!(after.diff(&after.clone()).is_empty());
    }
}
