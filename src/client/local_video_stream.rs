//! LocalVideoStream: a local video source (virtual camera, host-pushed frames, a V4L2
//! camera) behind one [`FrameBus`] that outlives source switches.
//!
//! Lifetime: the source produces from creation until the last clone of the stream is
//! dropped (in C: the last `acs_local_video_stream_release`; a call sending the stream holds
//! its own clone); a camera is closed then. The virtual camera draws frames, and a camera's
//! frames are converted, only while the bus has subscribers.
//! [`switch_to_virtual`](LocalVideoStream::switch_to_virtual) and friends replace the source
//! in place: whoever subscribed to [`bus`](LocalVideoStream::bus) keeps receiving, now the
//! new source's frames (their size may change).

use crate::error::{Error, Result};
use crate::media::camera::Camera;
use crate::media::video::screen::{
    self, CaptureOptions, CaptureStats, ScreenCapture, ScreenSource, ShareState, StateListener,
};
use crate::media::video::source::{PlaneFrame, VirtualCamera, VirtualCameraConfig, MAX_FPS};
use crate::media::video::v4l2::{CameraCapture, CameraConfig, CaptureFormat};
use crate::media::video::FrameBus;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Weak};

/// The monitors and application windows that can be shared (X11, the display `$DISPLAY`
/// names), each with a thumbnail fitting `thumbnail` (width, height) when asked for.
/// `Error::Device` when there is no X display to connect to.
pub fn list_screen_sources(thumbnail: Option<(u32, u32)>) -> Result<Vec<ScreenSource>> {
    screen::list_sources(thumbnail).map_err(Error::from)
}

/// What feeds a local video stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VideoSourceKind {
    /// The virtual camera's test pattern.
    Virtual(VirtualCameraConfig),
    /// Frames the host pushes with [`LocalVideoStream::push_frame`].
    Pushed,
    /// A V4L2 camera, by id (`v4l2:/dev/videoN`).
    Camera(String),
    /// A monitor or window of the screen, by source id (`x11:monitor:0`, `x11:window:N`).
    Screen(String),
}

/// What produces the frames; dropping it stops its thread (and closes a camera).
enum Producer {
    /// Held for its Drop only.
    Virtual(#[allow(dead_code)] VirtualCamera),
    Camera(CameraCapture),
    Screen(ScreenCapture),
}

struct Source {
    kind: VideoSourceKind,
    /// Keeps the source's thread running; dropped on switch.
    producer: Option<Producer>,
}

struct Inner {
    id: u64,
    bus: Arc<FrameBus>,
    source: Mutex<Source>,
    /// Serialises pushes with switches, so no pushed frame lands after a switch away.
    switching: Mutex<()>,
    /// Source switches so far.
    switches: AtomicU64,
    /// Who hears the source's state changes (a call sending the stream), by watch id.
    watchers: Mutex<Vec<(u64, StateListener)>>,
}

/// Keeps a [`LocalVideoStream::watch_source`] listener registered; dropping it removes it.
pub(crate) struct SourceWatch {
    inner: Weak<Inner>,
    id: u64,
}

impl Drop for SourceWatch {
    fn drop(&mut self) {
        if let Some(inner) = self.inner.upgrade() {
            inner.watchers.lock().retain(|(id, _)| *id != self.id);
        }
    }
}

/// A local video stream. Cheap to clone (Arc inside); equal clones share the bus.
#[derive(Clone)]
pub struct LocalVideoStream {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for LocalVideoStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LocalVideoStream")
            .field("id", &self.inner.id)
            .field("source", &self.source())
            .finish()
    }
}

impl LocalVideoStream {
    fn with_source(bus: Arc<FrameBus>, source: Source) -> Self {
        Self {
            inner: Arc::new(Inner {
                id: crate::object_id::next_object_id(),
                bus,
                source: Mutex::new(source),
                switching: Mutex::new(()),
                switches: AtomicU64::new(0),
                watchers: Mutex::new(Vec::new()),
            }),
        }
    }

    /// A stream fed by the virtual camera (`VirtualCameraConfig::default()`: 640x360@30).
    pub fn virtual_camera(config: VirtualCameraConfig) -> Result<Self> {
        let bus = FrameBus::new();
        let camera = VirtualCamera::start(Arc::clone(&bus), config, 0)?;
        let source = Source {
            kind: VideoSourceKind::Virtual(config),
            producer: Some(Producer::Virtual(camera)),
        };
        Ok(Self::with_source(bus, source))
    }

    /// A stream fed by [`push_frame`](Self::push_frame) ("raw outgoing video").
    pub fn pushed() -> Self {
        let source = Source {
            kind: VideoSourceKind::Pushed,
            producer: None,
        };
        Self::with_source(FrameBus::new(), source)
    }

    /// A stream from a camera at [`CameraConfig::default()`] (640x360 at 30 fps, or the
    /// nearest the camera offers). A camera that cannot be opened or captured from
    /// (missing, busy, not a V4L2 capture device, no usable format) is `Error::Device`
    /// saying why. The virtual camera gives its test pattern.
    pub fn from_camera(camera: &Camera) -> Result<Self> {
        Self::from_camera_with(camera, CameraConfig::default())
    }

    /// [`from_camera`](Self::from_camera) at a requested size, rate and optionally pixel
    /// format (see [`CameraConfig`]).
    pub fn from_camera_with(camera: &Camera, config: CameraConfig) -> Result<Self> {
        let s = Self::pushed();
        s.switch_to_camera_with(camera, config)?;
        Ok(s)
    }

    /// Process-unique id of this object.
    pub fn object_id(&self) -> u64 {
        self.inner.id
    }

    /// The bus every frame of this stream is published on, whatever the source; the same
    /// bus for the stream's whole life. The call's encoder and renderers subscribe here.
    pub fn bus(&self) -> Arc<FrameBus> {
        Arc::clone(&self.inner.bus)
    }

    /// The current source.
    pub fn source(&self) -> VideoSourceKind {
        self.inner.source.lock().kind.clone()
    }

    /// What a V4L2 camera source really captures (pixel format, size, the driver's rate),
    /// which may differ from the [`CameraConfig`] asked for; None for other sources.
    pub fn camera_format(&self) -> Option<CaptureFormat> {
        match &self.inner.source.lock().producer {
            Some(Producer::Camera(c)) => Some(c.format()),
            _ => None,
        }
    }

    /// Why the source stopped on its own: a camera unplugged or failing (then the stream
    /// sends no frames until its source is switched, e.g. to the same camera once it is
    /// back). None while the source works.
    pub fn source_error(&self) -> Option<String> {
        match &self.inner.source.lock().producer {
            Some(Producer::Camera(c)) => c.failure(),
            Some(Producer::Screen(c)) => match c.state() {
                ShareState::Ended(why) => Some(why),
                _ => None,
            },
            _ => None,
        }
    }

    /// How many times the source was switched (0 after creation): cheap enough to poll per
    /// frame, e.g. for an encoder to send a keyframe when the source changes.
    pub fn source_switches(&self) -> u64 {
        self.inner.switches.load(Ordering::Acquire)
    }

    fn replace(&self, kind: VideoSourceKind, producer: Option<Producer>) {
        let switching = self.inner.switching.lock();
        let old = std::mem::replace(&mut *self.inner.source.lock(), Source { kind, producer });
        self.inner.switches.fetch_add(1, Ordering::AcqRel);
        drop(switching);
        drop(old); // stops the old source's thread, outside the lock
                   // A new source starts out working: a watcher told of the old one's pause hears so.
        self.tell_watchers(&ShareState::Active);
    }

    fn tell_watchers(&self, state: &ShareState) {
        let watchers: Vec<StateListener> = (self.inner.watchers.lock().iter())
            .map(|(_, l)| Arc::clone(l))
            .collect();
        for w in watchers {
            w(state);
        }
    }

    /// Switches to the virtual camera (counters restart at 0).
    pub fn switch_to_virtual(&self, config: VirtualCameraConfig) -> Result<()> {
        let cam = VirtualCamera::start(self.bus(), config, 0)?;
        self.replace(
            VideoSourceKind::Virtual(config),
            Some(Producer::Virtual(cam)),
        );
        Ok(())
    }

    /// A stream of a monitor or window (an id from [`list_screen_sources`]), captured at
    /// up to `fps` frames a second with the pointer drawn in (screen content: a few frames
    /// a second keep text sharp at a low bitrate; 1..=60). `Error::Device` when the display
    /// or the source is not there.
    pub fn from_screen(source_id: &str, fps: u32) -> Result<Self> {
        Self::from_screen_with(
            source_id,
            CaptureOptions {
                fps,
                ..CaptureOptions::default()
            },
        )
    }

    /// [`from_screen`](Self::from_screen) with options (rate, pointer shown or hidden).
    pub fn from_screen_with(source_id: &str, options: CaptureOptions) -> Result<Self> {
        let s = Self::pushed();
        s.switch_to_screen_with(source_id, options)?;
        Ok(s)
    }

    /// Switches to a monitor or window of the screen (see [`Self::from_screen`]); the
    /// current source stays when it cannot be captured.
    pub fn switch_to_screen(&self, source_id: &str, fps: u32) -> Result<()> {
        self.switch_to_screen_with(
            source_id,
            CaptureOptions {
                fps,
                ..CaptureOptions::default()
            },
        )
    }

    /// [`switch_to_screen`](Self::switch_to_screen) with options.
    pub fn switch_to_screen_with(&self, source_id: &str, options: CaptureOptions) -> Result<()> {
        // The capture thread tells the stream's watchers; a weak link, so a capture never
        // keeps its own stream alive.
        let weak = Arc::downgrade(&self.inner);
        let listener: StateListener = Arc::new(move |state: &ShareState| {
            if let Some(inner) = weak.upgrade() {
                LocalVideoStream { inner }.tell_watchers(state);
            }
        });
        let capture = ScreenCapture::start(source_id, options, self.bus(), Some(listener))
            .map_err(Error::from)?;
        self.replace(
            VideoSourceKind::Screen(source_id.to_string()),
            Some(Producer::Screen(capture)),
        );
        Ok(())
    }

    /// Registers `listener` for the source's state changes (a screen source's pauses and
    /// end), until the returned watch is dropped. It runs on the source's thread: it must
    /// not block, nor drop the stream.
    pub(crate) fn watch_source(&self, listener: StateListener) -> SourceWatch {
        let id = crate::object_id::next_object_id();
        self.inner.watchers.lock().push((id, listener));
        SourceWatch {
            inner: Arc::downgrade(&self.inner),
            id,
        }
    }

    /// Where a screen source stands (active, paused while its window is minimised, or
    /// ended: the window closed); None for other sources.
    pub fn share_state(&self) -> Option<ShareState> {
        match &self.inner.source.lock().producer {
            Some(Producer::Screen(c)) => Some(c.state()),
            _ => None,
        }
    }

    /// The frame rate a screen source captures at; None for other sources.
    pub fn screen_capture_fps(&self) -> Option<u32> {
        match &self.inner.source.lock().producer {
            Some(Producer::Screen(c)) => Some(c.options().fps),
            _ => None,
        }
    }

    /// Grabs, published frames and unchanged grabs of a screen source; None for others.
    pub fn screen_capture_stats(&self) -> Option<CaptureStats> {
        match &self.inner.source.lock().producer {
            Some(Producer::Screen(c)) => Some(c.stats()),
            _ => None,
        }
    }

    /// Switches to host-pushed frames.
    pub fn switch_to_pushed(&self) {
        self.replace(VideoSourceKind::Pushed, None);
    }

    /// Switches to a camera at [`CameraConfig::default()`]; see
    /// [`switch_to_camera_with`](Self::switch_to_camera_with).
    pub fn switch_to_camera(&self, camera: &Camera) -> Result<()> {
        self.switch_to_camera_with(camera, CameraConfig::default())
    }

    /// Switches to a camera, captured at the size and rate nearest `config` it offers.
    /// `Error::Device` (saying why) when it cannot be opened or captured from; the current
    /// source then stays. Asking again for the camera already capturing with the same
    /// config changes nothing; with another config, or after the camera failed (unplugged),
    /// it is reopened (a camera streams to one opener at a time), and if that fails the
    /// previous config is restored (if even that fails, the source becomes pushed frames).
    /// The virtual camera runs at `config`'s size and rate (within its limits).
    pub fn switch_to_camera_with(&self, camera: &Camera, config: CameraConfig) -> Result<()> {
        if camera.is_virtual() {
            return self.switch_to_virtual(VirtualCameraConfig {
                width: config.width.max(32),
                height: config.height.max(16),
                fps: config.fps.min(MAX_FPS),
            });
        }
        config.validate()?;
        let kind = VideoSourceKind::Camera(camera.id());
        let start = |c: CameraConfig| {
            CameraCapture::start(camera.path(), &camera.id(), c, self.bus()).map_err(Error::from)
        };
        let switching = self.inner.switching.lock();
        let current = match &self.inner.source.lock().producer {
            Some(Producer::Camera(c)) if c.path() == camera.path() => {
                Some((c.config(), c.is_running()))
            }
            _ => None,
        };
        let Some((previous, running)) = current else {
            drop(switching);
            let capture = start(config)?;
            self.replace(kind, Some(Producer::Camera(capture)));
            return Ok(());
        };
        if running && previous == config {
            return Ok(());
        }
        // Close this camera before opening it again; reopen as it was if the new config
        // fails.
        let old = self.inner.source.lock().producer.take();
        drop(old); // joins its thread: the device is closed after this
        let (result, capture) = match start(config) {
            Ok(c) => (Ok(()), Some(c)),
            Err(e) => match start(previous) {
                Ok(c) => (Err(e), Some(c)),
                Err(again) => {
                    log::warn!("camera {}: cannot be reopened: {again}", camera.id());
                    (Err(e), None)
                }
            },
        };
        let mut source = self.inner.source.lock();
        match capture {
            Some(c) => source.producer = Some(Producer::Camera(c)),
            // Nothing produces any more: say so (pushing becomes possible).
            None => source.kind = VideoSourceKind::Pushed,
        }
        if result.is_ok() || source.kind == VideoSourceKind::Pushed {
            self.inner.switches.fetch_add(1, Ordering::AcqRel);
        }
        drop(source);
        drop(switching);
        result
    }

    /// Publishes a host frame (converted to I420) on the bus. `Error::InvalidState` unless
    /// the source is [`VideoSourceKind::Pushed`]; `Error::InvalidArgument` for a frame whose
    /// planes are too small for its size and strides.
    pub fn push_frame(&self, frame: &PlaneFrame<'_>) -> Result<()> {
        let converted = frame.to_i420()?;
        let _switching = self.inner.switching.lock();
        if self.inner.source.lock().kind != VideoSourceKind::Pushed {
            return Err(Error::InvalidState(
                "frames can be pushed only to a stream whose source is pushed frames".into(),
            ));
        }
        self.inner.bus.publish(Arc::new(converted));
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::video::pattern::read_counter;
    use crate::media::video::source::wait_for;
    use crate::media::video::{BusFrame, PixelFormat};
    use std::time::Duration;

    type FrameSeen = (u32, Option<u32>);

    #[test]
    fn switching_keeps_the_bus_and_subscribers_see_the_new_source() {
        let cfg = VirtualCameraConfig {
            width: 64,
            height: 32,
            fps: 100,
        };
        let s = LocalVideoStream::virtual_camera(cfg).unwrap();
        let bus = s.bus();
        // (width, counter) of every frame seen.
        let seen: Arc<Mutex<Vec<FrameSeen>>> = Arc::default();
        let s2 = Arc::clone(&seen);
        let _sub = bus.subscribe(Arc::new(move |f: &BusFrame| {
            s2.lock().push((f.frame.width, read_counter(&f.frame)));
        }));
        assert!(wait_for(|| seen.lock().len() >= 3));
        assert!(seen.lock().iter().all(|(w, c)| *w == 64 && c.is_some()));
        // Pushing is refused while the virtual camera runs.
        let rgba = vec![200u8; 48 * 16 * 4];
        let frame = PlaneFrame {
            format: PixelFormat::Rgba,
            width: 48,
            height: 16,
            planes: [&rgba, &[], &[]],
            strides: [48 * 4, 0, 0],
        };
        assert!(matches!(s.push_frame(&frame), Err(Error::InvalidState(_))));
        s.switch_to_pushed();
        assert_eq!(s.source(), VideoSourceKind::Pushed);
        seen.lock().clear();
        std::thread::sleep(Duration::from_millis(50));
        assert!(seen.lock().is_empty(), "the camera stopped");
        s.push_frame(&frame).unwrap();
        assert_eq!(*seen.lock(), vec![(48, None)]);
        // Back to a virtual camera of another size, same bus, same subscriber.
        let big = VirtualCameraConfig {
            width: 128,
            height: 72,
            fps: 100,
        };
        s.switch_to_virtual(big).unwrap();
        assert!(wait_for(|| seen.lock().iter().any(|(w, _)| *w == 128)));
        assert!(Arc::ptr_eq(&bus, &s.bus()));
        assert_eq!(s.source(), VideoSourceKind::Virtual(big));
        assert_eq!(s.source_switches(), 2);
    }

    #[test]
    fn the_virtual_camera_draws_the_camera_config_and_has_no_camera_format() {
        let cam = crate::media::camera::virtual_camera();
        let config = CameraConfig {
            width: 320,
            height: 240,
            fps: 15,
            format: Some(crate::media::video::v4l2::CameraFormat::Mjpeg),
        };
        let s = LocalVideoStream::from_camera_with(&cam, config).unwrap();
        let sizes: Arc<Mutex<Vec<(u32, u32)>>> = Arc::default();
        let s2 = Arc::clone(&sizes);
        let _sub = s.bus().subscribe(Arc::new(move |f: &BusFrame| {
            s2.lock().push((f.frame.width, f.frame.height));
        }));
        assert!(wait_for(|| sizes.lock().len() >= 2));
        assert!(sizes.lock().iter().all(|&wh| wh == (320, 240)), "{sizes:?}");
        let VideoSourceKind::Virtual(v) = s.source() else {
            panic!("{:?}", s.source())
        };
        assert_eq!((v.width, v.height, v.fps), (320, 240, 15));
        assert!(s.camera_format().is_none(), "only a V4L2 camera has one");
        // A rate above the virtual camera's limit is capped, not refused.
        s.switch_to_camera_with(
            &cam,
            CameraConfig {
                fps: 240,
                ..CameraConfig::default()
            },
        )
        .unwrap();
        assert!(matches!(s.source(), VideoSourceKind::Virtual(v) if v.fps == MAX_FPS));
    }

    #[test]
    fn bad_pushed_frames_and_cameras_are_refused() {
        let s = LocalVideoStream::pushed();
        let data = vec![0u8; 10];
        let frame = PlaneFrame {
            format: PixelFormat::Bgra,
            width: 4,
            height: 4,
            planes: [&data, &[], &[]],
            strides: [16, 0, 0],
        };
        assert!(matches!(
            s.push_frame(&frame),
            Err(Error::InvalidArgument(_))
        ));
        assert_eq!(s.bus().frames_published(), 0);
        assert!(LocalVideoStream::virtual_camera(VirtualCameraConfig {
            width: 640,
            height: 360,
            fps: 0
        })
        .is_err());
    }

    #[test]
    fn cameras_that_cannot_be_captured_from_are_device_errors_and_keep_the_source() {
        let root = std::env::temp_dir().join(format!("acs-v4l-stream-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let node = root.join("sys/video0");
        std::fs::create_dir_all(&node).unwrap();
        std::fs::write(node.join("name"), "Fake Cam\n").unwrap();
        std::fs::create_dir_all(root.join("dev")).unwrap();
        let cams = crate::media::camera::cameras_in(&root.join("sys"), &root.join("dev"));
        let cam = &cams[0];
        let Err(Error::Device(m)) = LocalVideoStream::from_camera(cam) else {
            panic!("a missing node is a device error")
        };
        assert!(m.contains("cannot open") && m.contains("v4l2:"), "{m}");
        // An openable node that is not a V4L2 device: refused, saying so.
        std::fs::write(root.join("dev/video0"), b"").unwrap();
        let s = LocalVideoStream::pushed();
        let Err(Error::Device(m)) = s.switch_to_camera(cam) else {
            panic!("a plain file cannot be captured from")
        };
        assert!(m.contains("is not a V4L2 device"), "{m}");
        assert_eq!(s.source(), VideoSourceKind::Pushed);
        assert_eq!(s.source_switches(), 0);
        // A virtual camera source stays too, and a bad config is refused before opening.
        let v = LocalVideoStream::virtual_camera(VirtualCameraConfig::default()).unwrap();
        assert!(v.switch_to_camera(cam).is_err());
        let bad = CameraConfig {
            fps: 0,
            ..CameraConfig::default()
        };
        assert!(matches!(
            v.switch_to_camera_with(cam, bad),
            Err(Error::InvalidArgument(_))
        ));
        assert_eq!(
            v.source(),
            VideoSourceKind::Virtual(VirtualCameraConfig::default())
        );
        assert_eq!(v.source_switches(), 0);
        // The virtual camera taken as a camera runs at the config's size and rate.
        let small = CameraConfig {
            width: 160,
            height: 90,
            fps: 15,
            format: None,
        };
        let vc = crate::media::camera::virtual_camera();
        let s = LocalVideoStream::from_camera_with(&vc, small).unwrap();
        assert_eq!(
            s.source(),
            VideoSourceKind::Virtual(VirtualCameraConfig {
                width: 160,
                height: 90,
                fps: 15
            })
        );
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn dropping_the_last_clone_stops_the_camera() {
        let s = LocalVideoStream::virtual_camera(VirtualCameraConfig {
            width: 64,
            height: 32,
            fps: 100,
        })
        .unwrap();
        let bus = s.bus();
        let _sub = bus.subscribe(Arc::new(|_f: &BusFrame| {}));
        let clone = s.clone();
        drop(s);
        assert!(
            wait_for(|| bus.frames_published() >= 2),
            "a clone keeps it running"
        );
        drop(clone);
        let n = bus.frames_published();
        std::thread::sleep(Duration::from_millis(60));
        assert_eq!(bus.frames_published(), n);
    }
}
