//! Screen capture on X11 (pure Rust: `x11rb`): the shareable sources — monitors (RandR) and
//! application windows (the window manager's EWMH `_NET_CLIENT_LIST`) — and a capture
//! thread that publishes one of them as I420 frames on a [`FrameBus`].
//!
//! A window is captured where it is on screen (its client area, read from the root window:
//! what the user sees, including what overlaps it), so the share follows the window as it
//! moves and resizes. A minimised (or unmapped) window pauses the share; a closed window
//! ends it, with the reason in [`ScreenCapture::state`]. Frames are taken at the requested
//! rate but published only when the picture changed (plus one a second, so a receiver that
//! asks for a keyframe gets a picture). XDamage says when the screen changed: a still
//! screen is not even grabbed (without the extension, a grab and a compare per tick).
//!
//! Ids: `x11:monitor:<index>` (RandR's monitor order) and `x11:window:<decimal XID>`, on the
//! display `$DISPLAY` names. Wayland sessions (the XDG desktop portal + PipeWire) are not
//! covered: see the README.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use x11rb::connection::Connection;
use x11rb::protocol::damage::{ConnectionExt as _, ReportLevel};
use x11rb::protocol::randr::ConnectionExt as _;
use x11rb::protocol::xproto::{Atom, AtomEnum, ConnectionExt as _, ImageFormat, MapState, Window};
use x11rb::protocol::Event;
use x11rb::rust_connection::RustConnection;

use super::{FrameBus, PixelFormat, VideoFrame};
use crate::media::MediaError;

/// What a source is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScreenSourceKind {
    Monitor,
    Window,
}

/// A monitor or window that can be shared.
#[derive(Debug, Clone, PartialEq)]
pub struct ScreenSource {
    /// `x11:monitor:<n>` or `x11:window:<xid>`.
    pub id: String,
    pub kind: ScreenSourceKind,
    /// The monitor's output name, or the window's title.
    pub title: String,
    /// The window's application (WM_CLASS class), empty for a monitor.
    pub application: String,
    /// Position on the root window and size, in pixels.
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

fn err(what: &str, e: impl std::fmt::Display) -> MediaError {
    MediaError::Device(format!("screen capture: {what}: {e}"))
}

/// A rectangle of the root window, in pixels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Area {
    x: i32,
    y: i32,
    w: u32,
    h: u32,
}

/// A monitor: its output name and where it is.
struct Monitor {
    name: String,
    area: Area,
}

/// An X connection with the atoms the EWMH reads need.
struct Display {
    conn: RustConnection,
    root: Window,
    screen_w: u16,
    screen_h: u16,
    atoms: Atoms,
}

struct Atoms {
    client_list: Atom,
    net_wm_name: Atom,
    utf8: Atom,
    wm_state: Atom,
    hidden: Atom,
}

impl Display {
    fn open() -> Result<Display, MediaError> {
        let (conn, n) = x11rb::connect(None).map_err(|e| {
            err(
                "cannot connect to the X display (is DISPLAY set to a running X server?)",
                e,
            )
        })?;
        let screen = &conn.setup().roots[n];
        let (root, screen_w, screen_h) =
            (screen.root, screen.width_in_pixels, screen.height_in_pixels);
        let atom = |name: &[u8]| -> Result<Atom, MediaError> {
            Ok(conn
                .intern_atom(false, name)
                .map_err(|e| err("intern_atom", e))?
                .reply()
                .map_err(|e| err("intern_atom", e))?
                .atom)
        };
        let atoms = Atoms {
            client_list: atom(b"_NET_CLIENT_LIST")?,
            net_wm_name: atom(b"_NET_WM_NAME")?,
            utf8: atom(b"UTF8_STRING")?,
            wm_state: atom(b"_NET_WM_STATE")?,
            hidden: atom(b"_NET_WM_STATE_HIDDEN")?,
        };
        Ok(Display {
            conn,
            root,
            screen_w,
            screen_h,
            atoms,
        })
    }

    fn property(&self, w: Window, prop: Atom, ty: Atom) -> Option<Vec<u8>> {
        let r = self
            .conn
            .get_property(false, w, prop, ty, 0, 1 << 16)
            .ok()?
            .reply()
            .ok()?;
        (r.format != 0).then_some(r.value)
    }

    fn property32(&self, w: Window, prop: Atom, ty: impl Into<Atom>) -> Vec<u32> {
        self.conn
            .get_property(false, w, prop, ty.into(), 0, 1 << 16)
            .ok()
            .and_then(|c| c.reply().ok())
            .and_then(|r| r.value32().map(|v| v.collect()))
            .unwrap_or_default()
    }

    fn monitors(&self) -> Result<Vec<Monitor>, MediaError> {
        let reply = self
            .conn
            .randr_get_monitors(self.root, true)
            .map_err(|e| err("RandR", e))?
            .reply();
        let mut out = Vec::new();
        if let Ok(r) = reply {
            for m in r.monitors {
                let name = self
                    .conn
                    .get_atom_name(m.name)
                    .ok()
                    .and_then(|c| c.reply().ok())
                    .map(|n| String::from_utf8_lossy(&n.name).into_owned())
                    .unwrap_or_default();
                out.push(Monitor {
                    name,
                    area: Area {
                        x: i32::from(m.x),
                        y: i32::from(m.y),
                        w: u32::from(m.width),
                        h: u32::from(m.height),
                    },
                });
            }
        }
        if out.is_empty() {
            // No RandR monitors (an old server): the whole screen is one.
            out.push(Monitor {
                name: "screen".into(),
                area: Area {
                    x: 0,
                    y: 0,
                    w: u32::from(self.screen_w),
                    h: u32::from(self.screen_h),
                },
            });
        }
        Ok(out)
    }

    /// A window's client area on the root window and whether it shows; None when it is gone.
    fn window_rect(&self, w: Window) -> Option<(Area, bool)> {
        let attrs = self.conn.get_window_attributes(w).ok()?.reply().ok()?;
        let geo = self.conn.get_geometry(w).ok()?.reply().ok()?;
        let at = self
            .conn
            .translate_coordinates(w, self.root, 0, 0)
            .ok()?
            .reply()
            .ok()?;
        let hidden = self
            .property32(w, self.atoms.wm_state, AtomEnum::ATOM)
            .contains(&self.atoms.hidden);
        let shows = attrs.map_state == MapState::VIEWABLE && !hidden;
        let area = Area {
            x: i32::from(at.dst_x),
            y: i32::from(at.dst_y),
            w: u32::from(geo.width),
            h: u32::from(geo.height),
        };
        Some((area, shows))
    }

    fn window_title(&self, w: Window) -> String {
        self.property(w, self.atoms.net_wm_name, self.atoms.utf8)
            .or_else(|| self.property(w, AtomEnum::WM_NAME.into(), AtomEnum::STRING.into()))
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default()
    }

    fn window_class(&self, w: Window) -> String {
        // WM_CLASS is "instance\0class\0": the class names the application.
        self.property(w, AtomEnum::WM_CLASS.into(), AtomEnum::STRING.into())
            .map(|v| {
                let parts: Vec<&[u8]> = v.split(|b| *b == 0).filter(|p| !p.is_empty()).collect();
                String::from_utf8_lossy(parts.get(1).or(parts.first()).copied().unwrap_or(&[]))
                    .into_owned()
            })
            .unwrap_or_default()
    }

    /// The visible part of a rectangle (clipped to the screen), with even sizes (I420).
    fn clip(&self, a: Area) -> Option<(i16, i16, u16, u16)> {
        let x0 = a.x.max(0);
        let y0 = a.y.max(0);
        let x1 = (a.x + a.w as i32).min(i32::from(self.screen_w));
        let y1 = (a.y + a.h as i32).min(i32::from(self.screen_h));
        let (cw, ch) = ((x1 - x0) & !1, (y1 - y0) & !1);
        (cw >= 2 && ch >= 2).then_some((x0 as i16, y0 as i16, cw as u16, ch as u16))
    }

    /// Starts watching the screen for changes (XDamage on the root window): the id, or None
    /// when the server has no DAMAGE extension (then every tick grabs).
    fn watch_damage(&self) -> Option<u32> {
        self.conn.damage_query_version(1, 1).ok()?.reply().ok()?;
        let id = self.conn.generate_id().ok()?;
        self.conn
            .damage_create(id, self.root, ReportLevel::NON_EMPTY)
            .ok()?
            .check()
            .ok()?;
        Some(id)
    }

    /// Whether the screen changed since the last call (drains the damage events and, when
    /// there were some, clears the damage so the next change reports again).
    fn damaged(&self, damage: u32) -> bool {
        let mut dirty = false;
        while let Ok(Some(ev)) = self.conn.poll_for_event() {
            dirty |= matches!(ev, Event::DamageNotify(_));
        }
        if dirty {
            let _ = self.conn.damage_subtract(damage, 0u32, 0u32);
            let _ = self.conn.flush();
        }
        dirty
    }

    /// The pixels of a root-window rectangle as BGRX (32 bits per pixel), or why not.
    fn grab(&self, x: i16, y: i16, w: u16, h: u16) -> Result<Vec<u8>, MediaError> {
        let r = self
            .conn
            .get_image(ImageFormat::Z_PIXMAP, self.root, x, y, w, h, !0)
            .map_err(|e| err("GetImage", e))?
            .reply()
            .map_err(|e| err("GetImage", e))?;
        let need = usize::from(w) * usize::from(h) * 4;
        if r.data.len() < need {
            return Err(err(
                "GetImage",
                format!(
                    "{} bytes for {w}x{h} (depth {}): only 24/32-bit TrueColor screens are captured",
                    r.data.len(),
                    r.depth
                ),
            ));
        }
        Ok(r.data)
    }
}

/// The monitors and application windows of the X display, each with a thumbnail fitting
/// `thumbnail` (width, height) when given.
pub fn list_sources(thumbnail: Option<(u32, u32)>) -> Result<Vec<ScreenSource>, MediaError> {
    let d = Display::open()?;
    let mut out = Vec::new();
    for (i, m) in d.monitors()?.into_iter().enumerate() {
        out.push(ScreenSource {
            id: format!("x11:monitor:{i}"),
            kind: ScreenSourceKind::Monitor,
            title: m.name,
            application: String::new(),
            x: m.area.x,
            y: m.area.y,
            width: m.area.w,
            height: m.area.h,
            minimized: false,
            thumbnail: None,
        });
    }
    for w in d.property32(d.root, d.atoms.client_list, AtomEnum::WINDOW) {
        let Some((area, shows)) = d.window_rect(w) else {
            continue; // closed meanwhile
        };
        out.push(ScreenSource {
            id: format!("x11:window:{w}"),
            kind: ScreenSourceKind::Window,
            title: d.window_title(w),
            application: d.window_class(w),
            x: area.x,
            y: area.y,
            width: area.w,
            height: area.h,
            minimized: !shows,
            thumbnail: None,
        });
    }
    if let Some((tw, th)) = thumbnail {
        for s in &mut out {
            if s.minimized {
                continue;
            }
            let area = Area {
                x: s.x,
                y: s.y,
                w: s.width,
                h: s.height,
            };
            if let Some((x, y, w, h)) = d.clip(area) {
                let frame = d.grab(x, y, w, h).and_then(|px| to_i420(&px, w, h)).ok();
                s.thumbnail = frame.and_then(|f| thumbnail_of(&f, tw, th));
            }
        }
    }
    Ok(out)
}

fn to_i420(bgrx: &[u8], w: u16, h: u16) -> Result<VideoFrame, MediaError> {
    VideoFrame::import(
        PixelFormat::Bgrx,
        bgrx,
        u32::from(w),
        u32::from(h),
        usize::from(w) * 4,
    )
}

/// `f` scaled to fit `w`x`h` (aspect kept, even sizes).
fn thumbnail_of(f: &VideoFrame, w: u32, h: u32) -> Option<VideoFrame> {
    let s = (w as f64 / f.width as f64)
        .min(h as f64 / f.height as f64)
        .min(1.0);
    let tw = ((f.width as f64 * s) as u32 & !1).max(2);
    let th = ((f.height as f64 * s) as u32 & !1).max(2);
    super::scale(f, tw, th, super::ScalingMode::Stretch, false).ok()
}

/// What to capture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Monitor(usize),
    Window(Window),
}

fn parse_id(id: &str) -> Result<Target, MediaError> {
    let bad = || {
        MediaError::InvalidInput(format!(
            "'{id}' is not a screen source id (x11:monitor:<n> or x11:window:<xid>)"
        ))
    };
    let rest = id.strip_prefix("x11:").ok_or_else(bad)?;
    if let Some(n) = rest.strip_prefix("monitor:") {
        return n.parse().map(Target::Monitor).map_err(|_| bad());
    }
    if let Some(n) = rest.strip_prefix("window:") {
        return n.parse().map(Target::Window).map_err(|_| bad());
    }
    Err(bad())
}

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

struct Shared {
    state: Mutex<ShareState>,
    stop: AtomicBool,
    grabs: AtomicU64,
    published: AtomicU64,
    unchanged: AtomicU64,
}

/// A running capture of one source; dropping it stops the thread.
pub struct ScreenCapture {
    id: String,
    shared: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
}

/// A still picture is re-published this often, so a late receiver gets a frame.
const REFRESH: Duration = Duration::from_secs(1);
/// How often a paused (minimised) window is looked at again.
const PAUSED_POLL: Duration = Duration::from_millis(250);

impl ScreenCapture {
    /// Starts capturing source `id` (from [`list_sources`]) at up to `fps` frames a
    /// second into `bus`. Fails at once when the id is malformed, the display cannot be
    /// opened or the source does not exist.
    pub fn start(id: &str, fps: u32, bus: Arc<FrameBus>) -> Result<ScreenCapture, MediaError> {
        if !(1..=60).contains(&fps) {
            return Err(MediaError::InvalidInput(format!(
                "screen capture rate {fps} is not within 1..=60"
            )));
        }
        let target = parse_id(id)?;
        let d = Display::open()?;
        match target {
            Target::Monitor(n) => {
                if n >= d.monitors()?.len() {
                    return Err(MediaError::Device(format!("no monitor {n} ({id})")));
                }
            }
            Target::Window(w) => {
                if d.window_rect(w).is_none() {
                    return Err(MediaError::Device(format!("no window {w} ({id})")));
                }
            }
        }
        let shared = Arc::new(Shared {
            state: Mutex::new(ShareState::Active),
            stop: AtomicBool::new(false),
            grabs: AtomicU64::new(0),
            published: AtomicU64::new(0),
            unchanged: AtomicU64::new(0),
        });
        let s = Arc::clone(&shared);
        let label = id.to_string();
        let thread = std::thread::Builder::new()
            .name("acs-screen".into())
            .spawn(move || run(d, target, fps, bus, &s, &label))
            .map_err(|e| err("thread", e))?;
        Ok(ScreenCapture {
            id: id.to_string(),
            shared,
            thread: Some(thread),
        })
    }

    pub fn id(&self) -> &str {
        &self.id
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
            let _ = t.join();
        }
    }
}

fn set_state(s: &Shared, label: &str, new: ShareState) {
    let mut st = s.state.lock();
    if *st != new {
        log::info!("screen share {label}: {new:?}");
        *st = new;
    }
}

fn run(d: Display, target: Target, fps: u32, bus: Arc<FrameBus>, s: &Shared, label: &str) {
    let period = Duration::from_secs_f64(1.0 / f64::from(fps));
    let mut last: Option<(u16, u16, Vec<u8>)> = None;
    let mut last_frame: Option<Arc<VideoFrame>> = None;
    let mut last_rect = None;
    let mut last_published = Instant::now() - REFRESH;
    // With XDamage a still screen is not even grabbed: only the refresh is re-sent.
    let damage = d.watch_damage();
    let mut next = Instant::now();
    while !s.stop.load(Ordering::Acquire) {
        let now = Instant::now();
        if next > now {
            std::thread::sleep((next - now).min(Duration::from_millis(50)));
            continue;
        }
        next += period;
        if next < now {
            next = now + period; // fell behind: no burst to catch up
        }
        let rect = match target {
            Target::Monitor(n) => match d.monitors() {
                Ok(m) => m.get(n).map(|m| m.area),
                Err(_) => None,
            },
            Target::Window(w) => match d.window_rect(w) {
                None => {
                    set_state(s, label, ShareState::Ended("the window was closed".into()));
                    return;
                }
                Some((_, false)) => {
                    set_state(
                        s,
                        label,
                        ShareState::Paused("the window is minimised".into()),
                    );
                    next = Instant::now() + PAUSED_POLL;
                    continue;
                }
                Some((area, true)) => Some(area),
            },
        };
        let Some(area) = rect else {
            set_state(s, label, ShareState::Ended("the monitor is gone".into()));
            return;
        };
        let Some((cx, cy, cw, ch)) = d.clip(area) else {
            set_state(
                s,
                label,
                ShareState::Paused("the window is off the screen".into()),
            );
            next = Instant::now() + PAUSED_POLL;
            continue;
        };
        let moved = last_rect != Some((cx, cy, cw, ch));
        last_rect = Some((cx, cy, cw, ch));
        if let Some(dmg) = damage {
            if !d.damaged(dmg) && !moved && last_frame.is_some() {
                set_state(s, label, ShareState::Active);
                s.unchanged.fetch_add(1, Ordering::Relaxed);
                if last_published.elapsed() >= REFRESH {
                    if let Some(f) = &last_frame {
                        bus.publish(Arc::clone(f));
                        s.published.fetch_add(1, Ordering::Relaxed);
                        last_published = Instant::now();
                    }
                }
                continue;
            }
        }
        let px = match d.grab(cx, cy, cw, ch) {
            Ok(px) => px,
            Err(e) => {
                // The display went away, or the window closed between the two requests.
                if matches!(target, Target::Window(w) if d.window_rect(w).is_none()) {
                    set_state(s, label, ShareState::Ended("the window was closed".into()));
                } else {
                    set_state(s, label, ShareState::Ended(e.to_string()));
                }
                return;
            }
        };
        set_state(s, label, ShareState::Active);
        s.grabs.fetch_add(1, Ordering::Relaxed);
        let same = last
            .as_ref()
            .is_some_and(|(lw, lh, lp)| (*lw, *lh) == (cw, ch) && *lp == px);
        if same && last_published.elapsed() < REFRESH {
            s.unchanged.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        match to_i420(&px, cw, ch) {
            Ok(frame) => {
                let frame = Arc::new(frame);
                last_frame = Some(Arc::clone(&frame));
                bus.publish(frame);
                s.published.fetch_add(1, Ordering::Relaxed);
                last_published = Instant::now();
            }
            Err(e) => log::warn!("screen share {label}: frame skipped: {e}"),
        }
        last = Some((cw, ch, px));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_ids_are_parsed_or_refused_with_the_format() {
        assert_eq!(parse_id("x11:monitor:0").unwrap(), Target::Monitor(0));
        assert_eq!(
            parse_id("x11:window:4194311").unwrap(),
            Target::Window(4194311)
        );
        for bad in [
            "",
            "x11:",
            "x11:window:",
            "x11:window:0x12",
            "wayland:1",
            "x11:monitor:-1",
        ] {
            let e = parse_id(bad).unwrap_err().to_string();
            assert!(e.contains("not a screen source id"), "{bad}: {e}");
        }
    }

    #[test]
    fn a_capture_rate_outside_1_to_60_is_refused() {
        for fps in [0, 61] {
            let e = ScreenCapture::start("x11:monitor:0", fps, FrameBus::new())
                .err()
                .unwrap()
                .to_string();
            assert!(e.contains("1..=60"), "{e}");
        }
    }
}
