//! The X11 backend (pure Rust: `x11rb`): monitors (RandR) and application windows (the
//! window manager's EWMH `_NET_CLIENT_LIST`), captured from the root window.
//!
//! A window is captured where it is on screen (its client area, read from the root window:
//! what the user sees, including what overlaps it), so the share follows the window as it
//! moves and resizes. A minimised (or unmapped) window pauses the share; a closed window
//! ends it. XDamage says when the screen changed: a still screen is not grabbed. The
//! pointer (XFixes) is drawn onto a copy of the last grab, so a moving mouse over a still
//! screen costs no grab either.

use std::sync::Arc;
use std::time::{Duration, Instant};

use x11rb::connection::Connection;
use x11rb::protocol::damage::{ConnectionExt as _, ReportLevel};
use x11rb::protocol::randr::{ConnectionExt as _, NotifyMask};
use x11rb::protocol::xfixes::{ConnectionExt as _, CursorNotifyMask};
use x11rb::protocol::xproto::{Atom, AtomEnum, ConnectionExt as _, ImageFormat, MapState, Window};
use x11rb::protocol::Event;
use x11rb::rust_connection::RustConnection;

use super::{
    err, thumbnail_of, CaptureOptions, Runner, ScreenSource, ScreenSourceKind, ShareState, Shared,
    REFRESH,
};
use crate::media::video::{FrameBus, PixelFormat, VideoFrame};
use crate::media::MediaError;

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
    /// The four requests go out together: one round trip, not four.
    fn window_rect(&self, w: Window) -> Option<(Area, bool)> {
        let attrs = self.conn.get_window_attributes(w).ok()?;
        let geo = self.conn.get_geometry(w).ok()?;
        let at = self.conn.translate_coordinates(w, self.root, 0, 0).ok()?;
        let state = self
            .conn
            .get_property(false, w, self.atoms.wm_state, AtomEnum::ATOM, 0, 64)
            .ok()?;
        let (attrs, geo, at) = (attrs.reply().ok()?, geo.reply().ok()?, at.reply().ok()?);
        let hidden = state
            .reply()
            .ok()
            .and_then(|r| r.value32().map(|mut v| v.any(|a| a == self.atoms.hidden)))
            .unwrap_or(false);
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

    /// Starts watching the screen: XDamage on the root window (None when the server has no
    /// DAMAGE extension: then every tick grabs), RandR screen changes (monitors re-read), and
    /// with `cursor` the pointer's shape (XFixes).
    fn watch(&self, cursor: bool) -> Watch {
        let _ = self.conn.randr_select_input(
            self.root,
            NotifyMask::SCREEN_CHANGE | NotifyMask::CRTC_CHANGE,
        );
        let damage = (|| {
            self.conn.damage_query_version(1, 1).ok()?.reply().ok()?;
            let id = self.conn.generate_id().ok()?;
            self.conn
                .damage_create(id, self.root, ReportLevel::NON_EMPTY)
                .ok()?
                .check()
                .ok()?;
            Some(id)
        })();
        let cursor = cursor
            && (|| {
                self.conn.xfixes_query_version(4, 0).ok()?.reply().ok()?;
                self.conn
                    .xfixes_select_cursor_input(self.root, CursorNotifyMask::DISPLAY_CURSOR)
                    .ok()?
                    .check()
                    .ok()
            })()
            .is_some();
        Watch { damage, cursor }
    }

    /// What changed since the last call: drains the events and, when the screen was
    /// damaged, clears the damage so the next change reports again.
    fn changes(&self, watch: &Watch) -> Changes {
        let mut c = Changes::default();
        while let Ok(Some(ev)) = self.conn.poll_for_event() {
            match ev {
                Event::DamageNotify(_) => c.damaged = true,
                Event::RandrScreenChangeNotify(_) | Event::RandrNotify(_) => c.screen = true,
                Event::XfixesCursorNotify(_) => c.cursor = true,
                _ => {}
            }
        }
        if let (true, Some(d)) = (c.damaged, watch.damage) {
            let _ = self.conn.damage_subtract(d, 0u32, 0u32);
            let _ = self.conn.flush();
        }
        c
    }

    /// Sleeps until the server sends something (an event to read with [`Self::changes`]) or
    /// `timeout` passed. Call after `changes` drained what was already read.
    fn wait_event(&self, timeout: Duration) {
        use std::os::fd::AsRawFd;
        let mut fds = libc::pollfd {
            fd: self.conn.stream().as_raw_fd(),
            events: libc::POLLIN,
            revents: 0,
        };
        let ms = timeout.as_micros().div_ceil(1000).min(i32::MAX as u128) as libc::c_int;
        // SAFETY: one valid pollfd for the duration of the call.
        unsafe { libc::poll(&mut fds, 1, ms) };
    }

    /// The pointer's current picture (premultiplied ARGB) and hot spot.
    fn cursor_image(&self) -> Option<CursorImage> {
        let r = self.conn.xfixes_get_cursor_image().ok()?.reply().ok()?;
        Some(CursorImage {
            w: u32::from(r.width),
            h: u32::from(r.height),
            xhot: i32::from(r.xhot),
            yhot: i32::from(r.yhot),
            serial: r.cursor_serial,
            argb: r.cursor_image,
        })
    }

    /// Where the pointer is on the root window.
    fn pointer(&self) -> Option<(i32, i32)> {
        let r = self.conn.query_pointer(self.root).ok()?.reply().ok()?;
        Some((i32::from(r.root_x), i32::from(r.root_y)))
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

/// What the capture loop is told about.
struct Watch {
    damage: Option<u32>,
    cursor: bool,
}

#[derive(Default)]
struct Changes {
    damaged: bool,
    screen: bool,
    cursor: bool,
}

impl Changes {
    fn add(&mut self, c: Changes) {
        self.damaged |= c.damaged;
        self.screen |= c.screen;
        self.cursor |= c.cursor;
    }
}

/// The pointer's picture: premultiplied ARGB, `w`x`h`, drawn with its hot spot at the
/// pointer's position.
struct CursorImage {
    w: u32,
    h: u32,
    xhot: i32,
    yhot: i32,
    serial: u32,
    argb: Vec<u32>,
}

/// A clipped root rectangle: x, y, width, height.
type RootRect = (i16, i16, u16, u16);

/// What a published frame showed: its rectangle, and the pointer on it (position and
/// cursor serial) when drawn.
type Shown = (RootRect, Option<(i32, i32, u32)>);

/// A grab without the pointer: where it was taken and its BGRX pixels.
struct Grab {
    rect: RootRect,
    px: Vec<u8>,
}

/// How often a paused (minimised) window is looked at again.
const PAUSED_POLL: Duration = Duration::from_millis(250);

/// Checks that source `id` is there and returns the loop that captures it.
pub(super) fn prepare(
    id: &str,
    options: CaptureOptions,
    bus: Arc<FrameBus>,
) -> Result<Runner, MediaError> {
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
    Ok(Box::new(move |s: &Shared| run(d, target, options, bus, s)))
}

/// Draws `c` (premultiplied ARGB) with its hot spot at `at` (root coordinates) onto `px`,
/// the BGRX pixels of the root rectangle starting at `origin`, `w` pixels wide and `h` high.
fn blend_cursor(
    px: &mut [u8],
    origin: (i32, i32),
    w: u32,
    h: u32,
    c: &CursorImage,
    at: (i32, i32),
) {
    let left = at.0 - c.xhot - origin.0;
    let top = at.1 - c.yhot - origin.1;
    for cy in 0..c.h as i32 {
        let y = top + cy;
        if y < 0 || y >= h as i32 {
            continue;
        }
        for cx in 0..c.w as i32 {
            let x = left + cx;
            if x < 0 || x >= w as i32 {
                continue;
            }
            let Some(&argb) = c.argb.get((cy as u32 * c.w + cx as u32) as usize) else {
                return;
            };
            let a = argb >> 24;
            if a == 0 {
                continue;
            }
            let i = (y as usize * w as usize + x as usize) * 4;
            let Some(dst) = px.get_mut(i..i + 3) else {
                return;
            };
            // BGRX bytes; the source is premultiplied: out = src + dst * (1 - a).
            for (k, shift) in [(0usize, 0u32), (1, 8), (2, 16)] {
                let src = (argb >> shift) & 0xff;
                let d = u32::from(dst[k]);
                dst[k] = (src + (d * (255 - a) + 127) / 255).min(255) as u8;
            }
        }
    }
}

fn run(d: Display, target: Target, options: CaptureOptions, bus: Arc<FrameBus>, s: &Shared) {
    let period = Duration::from_secs_f64(1.0 / f64::from(options.fps));
    let watch = d.watch(options.show_cursor);
    let mut monitors = None;
    let mut grab: Option<Grab> = None;
    let mut cursor: Option<CursorImage> = None;
    // What the last published frame showed: the grab's rectangle and the pointer on it.
    let mut shown: Option<Shown> = None;
    let mut last_frame: Option<Arc<VideoFrame>> = None;
    let mut last_published: Option<Instant> = None;
    let mut next = Instant::now();
    let mut last_grab: Option<Instant> = None;
    let mut pending = Changes::default();
    while !s.stopping() {
        pending.add(d.changes(&watch));
        let now = Instant::now();
        // A change on the screen is taken at once when the rate allows it (a keystroke or a
        // click shows without waiting for the next tick); the ticks look after the pointer,
        // a moved window and the refresh.
        let grab_due = last_grab.map_or(now, |t| t + period);
        let early = pending.damaged && watch.damage.is_some() && now >= grab_due;
        if next > now && !early {
            let until = if pending.damaged {
                next.min(grab_due)
            } else {
                next
            };
            d.wait_event((until - now).min(Duration::from_millis(50)));
            continue;
        }
        next = now + period;
        let changes = std::mem::take(&mut pending);
        let rect = match target {
            Target::Monitor(n) => {
                if changes.screen || monitors.is_none() {
                    monitors = d.monitors().ok();
                }
                monitors.as_ref().and_then(|m| m.get(n).map(|m| m.area))
            }
            Target::Window(w) => match d.window_rect(w) {
                None => {
                    s.set_state(ShareState::Ended("the window was closed".into()));
                    return;
                }
                Some((_, false)) => {
                    s.set_state(ShareState::Paused("the window is minimised".into()));
                    next = Instant::now() + PAUSED_POLL;
                    continue;
                }
                Some((area, true)) => Some(area),
            },
        };
        let Some(area) = rect else {
            s.set_state(ShareState::Ended("the monitor is gone".into()));
            return;
        };
        let Some(r @ (cx, cy, cw, ch)) = d.clip(area) else {
            s.set_state(ShareState::Paused("the window is off the screen".into()));
            next = Instant::now() + PAUSED_POLL;
            continue;
        };
        s.set_state(ShareState::Active);
        // Grab when the screen changed (or may have: no XDamage) or the rectangle moved.
        let stale = grab.as_ref().is_none_or(|g| g.rect != r);
        if stale || changes.damaged || watch.damage.is_none() {
            let px = match d.grab(cx, cy, cw, ch) {
                Ok(px) => px,
                Err(e) => {
                    // The display went away, or the window closed between the two requests.
                    let closed = matches!(target, Target::Window(w) if d.window_rect(w).is_none());
                    s.set_state(ShareState::Ended(if closed {
                        "the window was closed".into()
                    } else {
                        e.to_string()
                    }));
                    return;
                }
            };
            s.count_grab();
            last_grab = Some(Instant::now());
            if grab.as_ref().is_none_or(|g| g.rect != r || g.px != px) {
                grab = Some(Grab { rect: r, px });
                shown = None; // new pixels: publish
            }
        }
        let Some(g) = &grab else { continue };
        // The pointer, when shown and over the captured rectangle.
        let mut pointer = None;
        if watch.cursor {
            if changes.cursor || cursor.is_none() {
                cursor = d.cursor_image();
            }
            if let (Some(c), Some(at)) = (&cursor, d.pointer()) {
                // The pointer's picture on the root window, and whether it overlaps.
                let (left, top) = (at.0 - c.xhot, at.1 - c.yhot);
                let over = left < i32::from(cx) + i32::from(cw)
                    && left + c.w as i32 > i32::from(cx)
                    && top < i32::from(cy) + i32::from(ch)
                    && top + c.h as i32 > i32::from(cy);
                if over {
                    pointer = Some((at.0, at.1, c.serial));
                }
            }
        }
        let now_shows = (r, pointer);
        let refresh_due = last_published.is_none_or(|t| t.elapsed() >= REFRESH);
        if shown == Some(now_shows) {
            s.count_unchanged();
            if refresh_due {
                if let Some(f) = &last_frame {
                    bus.publish(Arc::clone(f));
                    s.count_published();
                    last_published = Some(Instant::now());
                }
            }
            continue;
        }
        let converted = match (pointer, &cursor) {
            (Some((px_x, px_y, _)), Some(c)) => {
                let mut px = g.px.clone();
                let origin = (i32::from(cx), i32::from(cy));
                blend_cursor(
                    &mut px,
                    origin,
                    u32::from(cw),
                    u32::from(ch),
                    c,
                    (px_x, px_y),
                );
                to_i420(&px, cw, ch)
            }
            _ => to_i420(&g.px, cw, ch),
        };
        match converted {
            Ok(frame) => {
                let frame = Arc::new(frame);
                last_frame = Some(Arc::clone(&frame));
                bus.publish(frame);
                s.count_published();
                last_published = Some(Instant::now());
                shown = Some(now_shows);
            }
            Err(e) => log::warn!("screen share: frame skipped: {e}"),
        }
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
    fn the_cursor_is_blended_with_its_hot_spot_and_clipped() {
        // A 2x2 pointer, hot spot (1, 1): opaque white, half-transparent black (premultiplied:
        // colour 0, alpha 128), fully transparent, opaque red.
        let c = CursorImage {
            w: 2,
            h: 2,
            xhot: 1,
            yhot: 1,
            serial: 1,
            argb: vec![0xffff_ffff, 0x8000_0000, 0x0000_0000, 0xffff_0000],
        };
        // A 4x3 grey BGRX picture of the root rectangle at (10, 20).
        let mut px = vec![100u8; 4 * 3 * 4];
        blend_cursor(&mut px, (10, 20), 4, 3, &c, (12, 21));
        let at = |x: usize, y: usize| &px[(y * 4 + x) * 4..(y * 4 + x) * 4 + 3];
        assert_eq!(at(1, 0), [255, 255, 255]);
        assert_eq!(at(2, 0), [50, 50, 50]); // 100 * (255 - 128) / 255
        assert_eq!(at(1, 1), [100, 100, 100]);
        assert_eq!(at(2, 1), [0, 0, 255]); // red in BGRX
        assert_eq!(at(0, 0), [100, 100, 100]);
        // Half off the left edge and the bottom: drawn where it overlaps, nothing else.
        let mut px = vec![100u8; 4 * 3 * 4];
        blend_cursor(&mut px, (10, 20), 4, 3, &c, (10, 23));
        assert_eq!(&px[(2 * 4) * 4..(2 * 4) * 4 + 3], [50, 50, 50]);
        assert_eq!(px.iter().filter(|&&b| b != 100).count(), 3);
    }
}
