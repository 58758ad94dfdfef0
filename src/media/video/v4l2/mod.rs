//! Camera capture from Linux V4L2 nodes, with raw ioctls (`sys`): the node is opened and
//! checked (a single-planar capture device that streams), its formats, sizes and rates are
//! enumerated and one is chosen for the request (`format`: YUYV, UYVY, NV12, YU12, YV12, or
//! MJPEG when only it gives the size and rate), four mmap buffers stream, and a thread
//! polls, dequeues, converts each frame to I420 (`convert`) and publishes it on a
//! [`FrameBus`] stamped with the driver's capture time, then requeues the buffer.
//!
//! Dropping the [`CameraCapture`] wakes the thread at once (an eventfd beside the node in
//! its poll), which stops streaming, unmaps the buffers and closes the node before the drop
//! returns. A camera that fails mid-stream (unplugged: ENODEV) ends the thread with a log
//! line; the bus simply gets no more frames.

mod convert;
mod device;
mod format;
mod sys;

pub use convert::{mjpeg_to_i420, to_i420};
pub use device::CaptureFormat;
pub use format::{
    choose_format, CameraConfig, CameraFormat, FormatChoice, FormatOffer, FrameIntervals, Interval,
    SizeOffer, MAX_CAMERA_FPS,
};

use super::bus::FrameBus;
use super::source::join_unless_current;
use crate::media::MediaError;
use device::{Dequeued, Device};
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Consecutive failed dequeues after which the camera is given up (with a log line).
const MAX_CONSECUTIVE_ERRORS: u32 = 20;
/// How long without a frame before the log says so (once).
const STALL_WARNING: Duration = Duration::from_secs(5);

/// A camera streaming onto a bus; dropping it stops the capture and closes the device.
pub struct CameraCapture {
    path: PathBuf,
    config: CameraConfig,
    format: CaptureFormat,
    stop: OwnedFd,
    thread: Option<JoinHandle<()>>,
    /// Why the capture stopped on its own (unplugged, driver errors); unset while it runs.
    failure: Arc<OnceLock<String>>,
}

impl std::fmt::Debug for CameraCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CameraCapture")
            .field("path", &self.path)
            .field("format", &self.format)
            .finish_non_exhaustive()
    }
}

impl CameraCapture {
    /// Opens the V4L2 node at `path` (`label` names it in messages and logs), negotiates a
    /// format for `config` and starts publishing I420 frames on `bus`. Frames are converted
    /// only while the bus has subscribers. Every failure is `MediaError::Device` (or
    /// `InvalidInput` for a bad config) saying what went wrong; nothing is left open.
    pub fn start(
        path: &Path,
        label: &str,
        config: CameraConfig,
        bus: Arc<FrameBus>,
    ) -> Result<Self, MediaError> {
        config.validate()?;
        let mut dev = Device::open(path, label)?;
        let format = dev.negotiate(&config)?;
        dev.start_streaming()?;
        // SAFETY: eventfd takes no pointers; the result is checked before use.
        let raw = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC | libc::EFD_NONBLOCK) };
        if raw < 0 {
            let e = io::Error::last_os_error();
            return Err(MediaError::Device(format!("camera {label}: eventfd: {e}")));
        }
        // SAFETY: `raw` is a new descriptor that nothing else owns.
        let stop = unsafe { OwnedFd::from_raw_fd(raw) };
        let stop_raw = stop.as_raw_fd();
        let label = label.to_string();
        let failure = Arc::new(OnceLock::new());
        let failed = Arc::clone(&failure);
        log::info!(
            "camera {label}: capturing {} {}x{} at {} fps",
            format::fourcc_name(format.fourcc),
            format.width,
            format.height,
            format.fps.map_or("?".into(), |f| format!("{f:.1}"))
        );
        let thread = std::thread::Builder::new()
            .name("acs-camera-capture".into())
            .spawn(move || {
                if let Err(why) = capture_loop(dev, format, &label, stop_raw, &bus) {
                    let _ = failed.set(format!("camera {label}: {why}"));
                }
            })
            .map_err(|e| MediaError::Device(format!("cannot start the capture thread: {e}")))?;
        Ok(Self {
            path: path.to_path_buf(),
            config,
            format,
            stop,
            thread: Some(thread),
            failure,
        })
    }

    /// The device node.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// What was asked for.
    pub fn config(&self) -> CameraConfig {
        self.config
    }

    /// What the driver gave.
    pub fn format(&self) -> CaptureFormat {
        self.format
    }

    /// Whether the capture thread still runs (false after the camera failed).
    pub fn is_running(&self) -> bool {
        self.thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Why the capture stopped on its own (the camera was unplugged, the driver kept
    /// failing), or None while it runs.
    pub fn failure(&self) -> Option<String> {
        self.failure.get().cloned()
    }
}

impl Drop for CameraCapture {
    fn drop(&mut self) {
        let one: u64 = 1;
        // SAFETY: writes the 8 bytes of `one` to our own eventfd (open until self is gone).
        let _ = unsafe {
            libc::write(
                self.stop.as_raw_fd(),
                (&one as *const u64).cast(),
                std::mem::size_of::<u64>(),
            )
        };
        if let Some(t) = self.thread.take() {
            join_unless_current(t);
        }
    }
}

/// The camera went away (unplugged, or its driver unbound): ENODEV, or ENXIO.
fn unplugged(e: &std::io::Error) -> bool {
    matches!(e.raw_os_error(), Some(libc::ENODEV) | Some(libc::ENXIO))
}

/// The capture time of a buffer as an `Instant`: drivers stamp buffers with
/// CLOCK_MONOTONIC, the clock `Instant` reads on Linux. Other stamps (or none): now.
// The casts are needed where time_t or suseconds_t is 32-bit.
#[allow(clippy::unnecessary_cast)]
fn capture_instant(d: &Dequeued) -> Instant {
    let now = Instant::now();
    if d.flags & sys::V4L2_BUF_FLAG_TIMESTAMP_MASK != sys::V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC {
        return now;
    }
    let mut mono = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes a timespec into `mono`, which lives across the call.
    if unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut mono) } != 0 {
        return now;
    }
    let now_us = mono.tv_sec as i64 * 1_000_000 + mono.tv_nsec as i64 / 1000;
    let at_us = d.timestamp.tv_sec as i64 * 1_000_000 + d.timestamp.tv_usec as i64;
    match now_us - at_us {
        age @ 0..=2_000_000 => now
            .checked_sub(Duration::from_micros(age as u64))
            .unwrap_or(now),
        _ => now,
    }
}

enum Wait {
    Frame,
    Idle,
    Stop,
}

/// Polls the node and the stop eventfd for up to 1 s.
fn wait(dev: &Device, stop: i32) -> io::Result<Wait> {
    let mut fds = [
        libc::pollfd {
            fd: dev.raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        },
        libc::pollfd {
            fd: stop,
            events: libc::POLLIN,
            revents: 0,
        },
    ];
    // SAFETY: `fds` is an array of two pollfds, alive across the call.
    let r = unsafe { libc::poll(fds.as_mut_ptr(), 2, 1000) };
    if r < 0 {
        let e = io::Error::last_os_error();
        return if e.kind() == io::ErrorKind::Interrupted {
            Ok(Wait::Idle)
        } else {
            Err(e)
        };
    }
    Ok(if fds[1].revents != 0 {
        Wait::Stop
    } else if fds[0].revents != 0 {
        // POLLIN, or POLLERR/POLLHUP: the dequeue says which.
        Wait::Frame
    } else {
        Wait::Idle
    })
}

/// Captures until told to stop (Ok) or the camera fails (Err: why, for the stream's owner).
fn capture_loop(
    mut dev: Device,
    fmt: CaptureFormat,
    label: &str,
    stop: i32,
    bus: &FrameBus,
) -> Result<(), String> {
    let mut result = Ok(());
    let mut errors = 0u32;
    let mut last_frame = Instant::now();
    let mut stall_logged = false;
    let mut bad_frames = 0u64;
    let mut next_sequence: Option<u32> = None;
    let mut lost = 0u64;
    loop {
        match wait(&dev, stop) {
            Ok(Wait::Stop) => break,
            Ok(Wait::Idle) => {
                if !stall_logged && last_frame.elapsed() > STALL_WARNING {
                    log::warn!("camera {label}: no frame for {STALL_WARNING:?}");
                    stall_logged = true;
                }
                continue;
            }
            Ok(Wait::Frame) => {}
            Err(e) => {
                log::warn!("camera {label}: poll failed, capture stops: {e}");
                result = Err(format!("poll failed: {e}"));
                break;
            }
        }
        let d = match dev.dequeue() {
            Ok(Some(d)) => d,
            Ok(None) => continue,
            Err(e) => {
                errors += 1;
                let gone = unplugged(&e);
                if gone || errors >= MAX_CONSECUTIVE_ERRORS {
                    let why = if gone {
                        format!("disconnected ({e})")
                    } else {
                        format!("{errors} failed captures in a row, the last: {e}")
                    };
                    log::warn!("camera {label}: capture stops: {why}");
                    result = Err(why);
                    break;
                }
                // EIO and the like can be transient (a USB hiccup); do not spin on them.
                std::thread::sleep(Duration::from_millis(10));
                continue;
            }
        };
        errors = 0;
        last_frame = Instant::now();
        stall_logged = false;
        if let Some(expected) = next_sequence {
            lost += u64::from(d.sequence.wrapping_sub(expected).min(1000));
        }
        next_sequence = Some(d.sequence.wrapping_add(1));
        if d.flags & sys::V4L2_BUF_FLAG_ERROR == 0 && bus.subscriber_count() > 0 {
            let at = capture_instant(&d);
            let data = dev.data(&d);
            match to_i420(fmt.format, data, fmt.width, fmt.height, fmt.stride) {
                Ok(frame) => bus.publish_at(Arc::new(frame), at),
                Err(e) => {
                    bad_frames += 1;
                    if bad_frames.is_power_of_two() {
                        log::warn!("camera {label}: frame skipped ({bad_frames} so far): {e}");
                    }
                }
            }
        }
        if let Err(e) = dev.requeue(d.index) {
            // An unplug can surface here as well as at DQBUF: the same reason either way.
            let why = if unplugged(&e) {
                format!("disconnected (VIDIOC_QBUF: {e})")
            } else {
                format!("VIDIOC_QBUF failed: {e}")
            };
            log::warn!("camera {label}: capture stops: {why}");
            result = Err(why);
            break;
        }
    }
    log::info!(
        "camera {label}: capture stopped ({lost} frames lost by the driver, {bad_frames} \
         undecodable)"
    );
    result
    // `dev` drops here: STREAMOFF, munmap, close.
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bus() -> Arc<FrameBus> {
        FrameBus::new()
    }

    #[test]
    fn nodes_that_are_not_capture_devices_are_clear_device_errors() {
        let dir = std::env::temp_dir().join(format!("acs-v4l2-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("video0");
        std::fs::write(&file, b"").unwrap();
        let cfg = CameraConfig::default();
        let cases: [(&Path, &str); 3] = [
            (&dir.join("missing"), "no such device node"),
            (&file, "is not a V4L2 device"),
            // A character device that takes no V4L2 ioctls.
            (Path::new("/dev/null"), "is not a V4L2 device"),
        ];
        for (path, want) in cases {
            match CameraCapture::start(path, "v4l2:test", cfg, bus()) {
                Err(MediaError::Device(m)) => {
                    assert!(m.contains(want) && m.contains("v4l2:test"), "{m}")
                }
                other => panic!("{path:?}: {other:?}"),
            }
        }
        let bad = CameraConfig {
            fps: 0,
            ..CameraConfig::default()
        };
        assert!(matches!(
            CameraCapture::start(&file, "v4l2:test", bad, bus()),
            Err(MediaError::InvalidInput(_))
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn busy_and_unplugged_errors_say_so() {
        for (errno, want) in [
            (libc::EBUSY, "busy"),
            (libc::ENODEV, "disconnected"),
            (libc::EACCES, "'video' group"),
        ] {
            let e = device::device_error(
                "v4l2:/dev/video0",
                "VIDIOC_S_FMT",
                &io::Error::from_raw_os_error(errno),
            );
            let MediaError::Device(m) = e else {
                panic!("a device error")
            };
            assert!(m.contains(want) && m.contains("VIDIOC_S_FMT"), "{m}");
        }
    }
}
