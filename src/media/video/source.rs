//! Local video sources: what feeds a local stream's [`FrameBus`].
//!
//! - The virtual camera: a thread drawing [`test_pattern`] frames at a fixed rate, the frame
//!   counter being the index of the frame's time slot (a late slot is skipped, so the counter
//!   jumps: receivers count it as a loss). Its schedule is absolute (slot `n` is due at
//!   `start + n / fps`), so it keeps real-time pace without drift.
//! - Pushed frames: the host hands frames in I420, NV12, RGBA, BGRA or BGRX with strides
//!   ([`PlaneFrame`]); they are checked, converted to I420 and published on the caller's
//!   thread.

use super::bus::FrameBus;
use super::frame::{chroma_size, PixelFormat, VideoFrame};
use super::pattern::test_pattern;
use crate::media::MediaError;
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Largest frame rate a virtual camera accepts.
pub const MAX_FPS: u32 = 120;

/// A host frame to import: up to three planes with their strides (bytes between rows).
/// I420 uses Y, U, V; NV12 uses Y and interleaved UV; the packed formats use plane 0.
#[derive(Debug, Clone, Copy)]
pub struct PlaneFrame<'a> {
    pub format: PixelFormat,
    pub width: u32,
    pub height: u32,
    pub planes: [&'a [u8]; 3],
    pub strides: [usize; 3],
}

/// Rows and minimum stride of each plane of `format` at `width`x`height` (0 rows: unused).
pub fn plane_layout(format: PixelFormat, width: u32, height: u32) -> [(usize, usize); 3] {
    let (cw, ch) = chroma_size(width, height);
    let (w, h, cw, ch) = (width as usize, height as usize, cw as usize, ch as usize);
    match format {
        PixelFormat::I420 => [(h, w), (ch, cw), (ch, cw)],
        PixelFormat::Nv12 => [(h, w), (ch, 2 * cw), (0, 0)],
        PixelFormat::Rgba | PixelFormat::Bgra | PixelFormat::Bgrx => [(h, 4 * w), (0, 0), (0, 0)],
    }
}

/// Bytes a plane of `rows` rows `stride` apart must hold (the last row needs only `min`).
pub fn plane_bytes(rows: usize, stride: usize, min: usize) -> usize {
    if rows == 0 {
        0
    } else {
        stride * (rows - 1) + min
    }
}

impl PlaneFrame<'_> {
    /// Checks sizes and strides, then converts to an I420 frame.
    pub fn to_i420(&self) -> Result<VideoFrame, MediaError> {
        let mut f = VideoFrame::black(self.width, self.height)?;
        let layout = plane_layout(self.format, self.width, self.height);
        for (i, &(rows, min)) in layout.iter().enumerate() {
            if rows == 0 {
                continue;
            }
            let (stride, len) = (self.strides[i], self.planes[i].len());
            if stride < min {
                return Err(MediaError::InvalidInput(format!(
                    "plane {i} of a {:?} {}x{} frame: stride {stride} < {min}",
                    self.format, self.width, self.height
                )));
            }
            let need = plane_bytes(rows, stride, min);
            if len < need {
                return Err(MediaError::InvalidInput(format!(
                    "plane {i} of a {:?} {}x{} frame holds {len} bytes, needs {need}",
                    self.format, self.width, self.height
                )));
            }
        }
        let copy_rows = |src: &[u8], stride: usize, dst: &mut [u8], w: usize| {
            for (r, row) in dst.chunks_exact_mut(w).enumerate() {
                row.copy_from_slice(&src[r * stride..][..w]);
            }
        };
        let (w, cw) = (self.width as usize, f.chroma_width() as usize);
        match self.format {
            PixelFormat::I420 => {
                copy_rows(self.planes[0], self.strides[0], &mut f.y, w);
                copy_rows(self.planes[1], self.strides[1], &mut f.u, cw);
                copy_rows(self.planes[2], self.strides[2], &mut f.v, cw);
            }
            PixelFormat::Nv12 => {
                copy_rows(self.planes[0], self.strides[0], &mut f.y, w);
                let (uv, stride) = (self.planes[1], self.strides[1]);
                let rows = f.u.chunks_exact_mut(cw).zip(f.v.chunks_exact_mut(cw));
                for (r, (u, v)) in rows.enumerate() {
                    let row = uv[r * stride..][..2 * cw].chunks_exact(2);
                    for ((u, v), pair) in u.iter_mut().zip(v.iter_mut()).zip(row) {
                        *u = pair[0];
                        *v = pair[1];
                    }
                }
            }
            PixelFormat::Rgba | PixelFormat::Bgra | PixelFormat::Bgrx => {
                f = VideoFrame::import(
                    self.format,
                    self.planes[0],
                    self.width,
                    self.height,
                    self.strides[0],
                )?;
            }
        }
        Ok(f)
    }
}

/// The virtual camera's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VirtualCameraConfig {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
}

impl Default for VirtualCameraConfig {
    /// 640x360 at 30 fps.
    fn default() -> Self {
        Self {
            width: 640,
            height: 360,
            fps: 30,
        }
    }
}

impl VirtualCameraConfig {
    /// Checks the size (at least 32x16, at most 8192 square) and rate (1..=120).
    pub fn validate(&self) -> Result<(), MediaError> {
        VideoFrame::black(self.width, self.height)?;
        if self.width < 32 || self.height < 16 {
            return Err(MediaError::InvalidInput(format!(
                "a virtual camera needs at least 32x16 pixels, not {}x{}",
                self.width, self.height
            )));
        }
        if self.fps == 0 || self.fps > MAX_FPS {
            return Err(MediaError::InvalidInput(format!(
                "fps {} is not within 1..={MAX_FPS}",
                self.fps
            )));
        }
        Ok(())
    }
}

/// A running virtual camera; dropping it stops the thread (at once, not after a frame).
pub struct VirtualCamera {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for VirtualCamera {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VirtualCamera").finish_non_exhaustive()
    }
}

impl VirtualCamera {
    /// Starts publishing `config`'s test pattern on `bus`, counters continuing from
    /// `first_counter`. Frames are drawn only while the bus has subscribers (the counter
    /// still advances), so an unwatched camera costs next to nothing.
    pub fn start(
        bus: Arc<FrameBus>,
        config: VirtualCameraConfig,
        first_counter: u32,
    ) -> Result<Self, MediaError> {
        config.validate()?;
        let (tx, rx) = mpsc::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("acs-virtual-camera".into())
            .spawn(move || {
                let period = Duration::from_secs(1) / config.fps;
                let start = Instant::now();
                let mut slot: u64 = 0;
                loop {
                    if bus.subscriber_count() > 0 {
                        let counter = first_counter.wrapping_add(slot as u32) & 0xff_ffff;
                        if let Ok(f) = test_pattern(counter, config.width, config.height) {
                            bus.publish(Arc::new(f));
                        }
                    }
                    // Next slot on the absolute schedule; skip the slots already missed.
                    let now = Instant::now();
                    let elapsed = now.duration_since(start).as_nanos() as u64;
                    let p = period.as_nanos() as u64;
                    slot = (slot + 1).max(elapsed / p + u64::from(elapsed % p != 0));
                    let due = start + Duration::from_nanos(slot * p);
                    match rx.recv_timeout(due.saturating_duration_since(Instant::now())) {
                        Err(RecvTimeoutError::Timeout) => {}
                        _ => return,
                    }
                }
            })
            .map_err(|e| MediaError::Device(format!("cannot start the virtual camera: {e}")))?;
        Ok(Self {
            stop: Some(tx),
            thread: Some(thread),
        })
    }
}

impl Drop for VirtualCamera {
    fn drop(&mut self) {
        drop(self.stop.take());
        if let Some(t) = self.thread.take() {
            join_unless_current(t);
        }
    }
}

/// Joins a media thread, unless this is that thread (a sink or callback running on it may
/// drop the last reference to its owner): then it is left to finish on its own.
pub(crate) fn join_unless_current(t: JoinHandle<()>) {
    if t.thread().id() != std::thread::current().id() {
        let _ = t.join();
    }
}

/// Polls `cond` for up to 5 s (tests).
#[cfg(test)]
pub(crate) fn wait_for(mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(5);
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::video::bus::BusFrame;
    use crate::media::video::pattern::read_counter;
    use parking_lot::Mutex;

    #[test]
    fn the_virtual_camera_keeps_pace_and_counts_up() {
        let bus = FrameBus::new();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        let _sub = bus.subscribe(Arc::new(move |f: &BusFrame| {
            s.lock().push((f.at, read_counter(&f.frame)));
        }));
        let cfg = VirtualCameraConfig {
            width: 160,
            height: 90,
            fps: 50,
        };
        let t0 = Instant::now();
        let cam = VirtualCamera::start(Arc::clone(&bus), cfg, 0).unwrap();
        std::thread::sleep(Duration::from_millis(1000));
        drop(cam);
        let seen = seen.lock();
        // 1 s at 50 fps: slots 0..=50. A slot missed on a busy machine is skipped, so the
        // last counter tells the time whatever the load: no drift.
        assert!(
            seen.len() >= 20 && seen.len() <= 52,
            "{} frames",
            seen.len()
        );
        let counters: Vec<u32> = seen.iter().map(|(_, c)| c.expect("a counter")).collect();
        assert_eq!(counters[0], 0);
        let last = *counters.last().unwrap_or(&0);
        assert!(
            (45..=51).contains(&last),
            "last counter {last} after 1 s at 50 fps"
        );
        assert!(counters.windows(2).all(|w| w[1] > w[0]), "{counters:?}");
        // No drift: frame n is published near t0 + n * 20 ms (never early).
        for (at, c) in seen.iter() {
            let due = Duration::from_millis(20 * u64::from(c.unwrap_or(0)));
            let offset = at.duration_since(t0);
            assert!(
                offset + Duration::from_millis(2) >= due,
                "early: {offset:?} < {due:?}"
            );
        }
        let n = seen.len();
        drop(seen);
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(bus.frames_published() as usize, n, "stopped when dropped");
    }

    #[test]
    fn an_unwatched_camera_draws_nothing_and_bad_configs_are_refused() {
        let bus = FrameBus::new();
        let cam = VirtualCamera::start(Arc::clone(&bus), VirtualCameraConfig::default(), 0);
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(bus.frames_published(), 0);
        drop(cam);
        for (width, height, fps) in [
            (0, 90, 30),
            (16, 90, 30),
            (160, 8, 30),
            (160, 90, 0),
            (160, 90, 121),
            (9000, 90, 30),
        ] {
            let c = VirtualCameraConfig { width, height, fps };
            assert!(
                VirtualCamera::start(Arc::clone(&bus), c, 0).is_err(),
                "{c:?}"
            );
        }
    }

    fn rgba(w: u32, h: u32, stride: usize) -> Vec<u8> {
        let mut v = vec![0u8; stride * h as usize];
        for y in 0..h as usize {
            for x in 0..w as usize {
                v[y * stride + 4 * x..][..4].copy_from_slice(&[
                    (x * 8) as u8,
                    (y * 8) as u8,
                    100,
                    255,
                ]);
            }
        }
        v
    }

    #[test]
    fn pushed_planes_convert_from_every_format_with_padding() {
        let (w, h) = (17u32, 9u32);
        let data = rgba(w, h, 80);
        let reference = PlaneFrame {
            format: PixelFormat::Rgba,
            width: w,
            height: h,
            planes: [&data, &[], &[]],
            strides: [80, 0, 0],
        }
        .to_i420()
        .unwrap();
        // I420 with padded strides, built from the reference.
        let (cw, ch) = (9usize, 5usize);
        let mut y = vec![0u8; 20 * h as usize];
        let mut u = vec![0u8; 12 * ch];
        let mut v = vec![0u8; 12 * ch];
        for r in 0..h as usize {
            y[r * 20..][..w as usize].copy_from_slice(&reference.y[r * w as usize..][..w as usize]);
        }
        let mut uv = vec![0u8; 24 * ch];
        for r in 0..ch {
            u[r * 12..][..cw].copy_from_slice(&reference.u[r * cw..][..cw]);
            v[r * 12..][..cw].copy_from_slice(&reference.v[r * cw..][..cw]);
            for c in 0..cw {
                uv[r * 24 + 2 * c] = reference.u[r * cw + c];
                uv[r * 24 + 2 * c + 1] = reference.v[r * cw + c];
            }
        }
        let i420 = PlaneFrame {
            format: PixelFormat::I420,
            width: w,
            height: h,
            planes: [&y, &u, &v],
            strides: [20, 12, 12],
        };
        assert_eq!(i420.to_i420().unwrap(), reference);
        let nv12 = PlaneFrame {
            format: PixelFormat::Nv12,
            width: w,
            height: h,
            planes: [&y, &uv, &[]],
            strides: [20, 24, 0],
        };
        assert_eq!(nv12.to_i420().unwrap(), reference);
        // Short planes and small strides are refused.
        let short = PlaneFrame {
            planes: [&y, &u[..20], &v],
            ..i420
        };
        assert!(short.to_i420().is_err());
        let narrow = PlaneFrame {
            strides: [16, 12, 12],
            ..i420
        };
        assert!(narrow.to_i420().is_err());
        let rgba_narrow = PlaneFrame {
            format: PixelFormat::Rgba,
            planes: [&data, &[], &[]],
            strides: [60, 0, 0],
            ..i420
        };
        assert!(rgba_narrow.to_i420().is_err());
    }
}
