//! Screen capture: the shareable sources (monitors and application windows) and a capture
//! thread that publishes one of them as I420 frames on a [`FrameBus`].
//!
//! Backends, chosen by the source id's prefix:
//! - `x11:` ([`x11`], pure Rust `x11rb`): `x11:monitor:<index>` (RandR's monitor order) and
//!   `x11:window:<decimal XID>` on the display `$DISPLAY` names (also XWayland's windows).
//!   A window is followed as it moves and resizes; a minimised window pauses the share, a
//!   closed one ends it. XDamage says when the screen changed: a still screen is not even
//!   grabbed. The cursor is drawn in (XFixes) unless the options hide it.
//! - `portal:` (feature `wayland`): a Wayland session's screen through the XDG desktop
//!   portal's ScreenCast interface and PipeWire; the portal (not the application) lets the
//!   user pick what is shared.
//!
//! Frames are taken at the requested rate but published only when the picture changed, plus
//! one a second ([`REFRESH`]) so a receiver that asks for a keyframe gets a picture. The
//! capture's [`ShareState`] says whether it runs, is paused or ended, and why; a listener
//! given at start hears every change.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;

use super::{FrameBus, VideoFrame};
use crate::media::MediaError;

#[cfg(feature = "wayland")]
mod wayland;
mod x11;

/// What a source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreenSourceKind {
    Monitor,
    Window,
}

/// A monitor or window that can be shared.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreenSource {
    /// `x11:monitor:<n>`, `x11:window:<xid>` or `portal:…`.
    pub id: String,
    pub kind: ScreenSourceKind,
    /// The monitor's output name, or the window's title.
    pub title: String,
    /// The window's application (WM_CLASS class), empty for a monitor.
    pub application: String,
    /// Position on the root window and size, in pixels (0 when unknown before sharing).
    pub x: i32,
    pub y: i32,
    pub width: u32,
    pub height: u32,
    /// Minimised (EWMH hidden) or not mapped: sharing it shows nothing until it is back.
    pub minimized: bool,
    /// A small picture of it (I420, within the requested box), when asked for.
    pub thumbnail: Option<VideoFrame>,
}

/// Where a capture stands.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum ShareState {
    /// Frames flow.
    #[default]
    Active,
    /// The window is minimised or unmapped: no frames until it is back.
    Paused(String),
    /// The capture ended on its own (the window closed, the display went away).
    Ended(String),
}

/// How a source is captured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureOptions {
    /// Frames a second at most (1..=60). Screen content is sharp at a few frames a second;
    /// what changes is published, a still screen costs (almost) nothing.
    pub fps: u32,
    /// Draw the mouse pointer into the frames.
    pub show_cursor: bool,
}

impl Default for CaptureOptions {
    fn default() -> Self {
        CaptureOptions {
            fps: 15,
            show_cursor: true,
        }
    }
}

/// Hears every change of a capture's [`ShareState`], on the capture's thread.
pub type StateListener = Arc<dyn Fn(&ShareState) + Send + Sync>;

/// Counters of a capture.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CaptureStats {
    /// Screen grabs taken.
    pub grabs: u64,
    /// Frames published (changed, or the once-a-second refresh).
    pub published: u64,
    /// Ticks without a new picture (no damage, or a grab equal to the last).
    pub unchanged: u64,
}

fn err(what: &str, e: impl std::fmt::Display) -> MediaError {
    MediaError::Device(format!("screen capture: {what}: {e}"))
}

/// A still picture is re-published this often, so a late receiver gets a frame.
pub(crate) const REFRESH: Duration = Duration::from_secs(1);

/// What a capture thread and its owner share: the state, the counters, the stop flag.
pub(crate) struct Shared {
    label: String,
    state: Mutex<ShareState>,
    listener: Option<StateListener>,
    stop: AtomicBool,
    grabs: AtomicU64,
    published: AtomicU64,
    unchanged: AtomicU64,
}

impl Shared {
    /// Whether the owner asked the thread to stop.
    pub(crate) fn stopping(&self) -> bool {
        self.stop.load(Ordering::Acquire)
    }

    /// Records a new state (logged, and told to the listener, when it changed).
    pub(crate) fn set_state(&self, new: ShareState) {
        let mut st = self.state.lock();
        if *st == new {
            return;
        }
        log::info!("screen share {}: {new:?}", self.label);
        *st = new.clone();
        drop(st);
        if let Some(l) = &self.listener {
            l(&new);
        }
    }

    pub(crate) fn count_grab(&self) {
        self.grabs.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn count_published(&self) {
        self.published.fetch_add(1, Ordering::Relaxed);
    }
    pub(crate) fn count_unchanged(&self) {
        self.unchanged.fetch_add(1, Ordering::Relaxed);
    }
}

/// A backend's capture loop, run on the capture thread until `Shared::stopping` or the
/// source ends (the loop sets the state to say why).
pub(crate) type Runner = Box<dyn FnOnce(&Shared) + Send>;

/// A running capture of one source; dropping it stops the thread.
pub struct ScreenCapture {
    id: String,
    options: CaptureOptions,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// The monitors and application windows that can be shared, each with a thumbnail fitting
/// `thumbnail` (width, height) when given: the X display's (when `$DISPLAY` reaches one),
/// and with the `wayland` feature in a Wayland session, the portal's choice.
pub fn list_sources(thumbnail: Option<(u32, u32)>) -> Result<Vec<ScreenSource>, MediaError> {
    #[cfg(feature = "wayland")]
    if wayland::in_session() {
        let mut out = wayland::list_sources()?;
        // XWayland's windows can be shared too, where there is an X display.
        if let Ok(x) = x11::list_sources(thumbnail) {
            out.extend(x);
        }
        return Ok(out);
    }
    x11::list_sources(thumbnail)
}

impl ScreenCapture {
    /// Starts capturing source `id` (from [`list_sources`]) into `bus`; `listener` hears
    /// every state change. Fails at once when the id is malformed, the rate is not within
    /// 1..=60, the display cannot be reached or the source does not exist.
    pub fn start(
        id: &str,
        options: CaptureOptions,
        bus: Arc<FrameBus>,
        listener: Option<StateListener>,
    ) -> Result<ScreenCapture, MediaError> {
        if !(1..=60).contains(&options.fps) {
            return Err(MediaError::InvalidInput(format!(
                "screen capture rate {} is not within 1..=60",
                options.fps
            )));
        }
        let runner = if id.starts_with("x11:") {
            x11::prepare(id, options, bus)?
        } else {
            #[cfg(feature = "wayland")]
            if id.starts_with(wayland::PREFIX) {
                wayland::prepare(id, options, bus)?
            } else {
                return Err(bad_id(id));
            }
            #[cfg(not(feature = "wayland"))]
            return Err(bad_id(id));
        };
        let shared = Arc::new(Shared {
            label: id.to_string(),
            state: Mutex::new(ShareState::Active),
            listener,
            stop: AtomicBool::new(false),
            grabs: AtomicU64::new(0),
            published: AtomicU64::new(0),
            unchanged: AtomicU64::new(0),
        });
        let s = Arc::clone(&shared);
        let thread = std::thread::Builder::new()
            .name("acs-screen".into())
            .spawn(move || runner(&s))
            .map_err(|e| err("thread", e))?;
        Ok(ScreenCapture {
            id: id.to_string(),
            options,
            shared,
            thread: Some(thread),
        })
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// What it was started with.
    pub fn options(&self) -> CaptureOptions {
        self.options
    }

    /// Active, paused (why) or ended (why).
    pub fn state(&self) -> ShareState {
        self.shared.state.lock().clone()
    }

    pub fn stats(&self) -> CaptureStats {
        CaptureStats {
            grabs: self.shared.grabs.load(Ordering::Relaxed),
            published: self.shared.published.load(Ordering::Relaxed),
            unchanged: self.shared.unchanged.load(Ordering::Relaxed),
        }
    }
}

impl Drop for ScreenCapture {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            if t.thread().id() == std::thread::current().id() {
                return; // dropped by its own listener: the loop sees `stop` and returns
            }
            let _ = t.join();
        }
    }
}

fn bad_id(id: &str) -> MediaError {
    MediaError::InvalidInput(format!(
        "'{id}' is not a screen source id (x11:monitor:<n> or x11:window:<xid>{})",
        if cfg!(feature = "wayland") {
            ", or portal:screen"
        } else {
            ""
        }
    ))
}

/// `f` scaled to fit `w`x`h` (aspect kept, even sizes).
pub(crate) fn thumbnail_of(f: &VideoFrame, w: u32, h: u32) -> Option<VideoFrame> {
    let s = (w as f64 / f.width as f64)
        .min(h as f64 / f.height as f64)
        .min(1.0);
    let tw = ((f.width as f64 * s) as u32 & !1).max(2);
    let th = ((f.height as f64 * s) as u32 & !1).max(2);
    super::scale(f, tw, th, super::ScalingMode::Stretch, false).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_capture_rate_outside_1_to_60_is_refused() {
        for fps in [0, 61] {
            let o = CaptureOptions {
                fps,
                show_cursor: true,
            };
            let e = ScreenCapture::start("x11:monitor:0", o, FrameBus::new(), None)
                .err()
                .unwrap()
                .to_string();
            assert!(e.contains("1..=60"), "{e}");
        }
    }

    #[test]
    fn unknown_id_prefixes_are_refused_with_the_format() {
        for bad in ["", "wayland:1", "X11:monitor:0"] {
            let e = ScreenCapture::start(bad, CaptureOptions::default(), FrameBus::new(), None)
                .err()
                .unwrap()
                .to_string();
            assert!(e.contains("not a screen source id"), "{bad}: {e}");
        }
    }
}
