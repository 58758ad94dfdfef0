//! The Wayland backend (feature `wayland`): the XDG desktop portal's ScreenCast interface
//! (D-Bus, through `ashpd` on a small tokio runtime of its own) and the PipeWire stream the
//! portal hands out (`pipewire`, linking libpipewire-0.3).
//!
//! There is one source, `portal:screen`: a Wayland application cannot list the outputs or
//! windows itself; the portal asks the user (or, configured so, picks without asking)
//! what is shared when the capture starts. [`prepare`] runs the portal's
//! CreateSession / SelectSources / Start / OpenPipeWireRemote, so a refusal, a missing
//! portal or a missing backend fails `ScreenCapture::start` at once; the capture thread
//! then connects to PipeWire through the portal's file descriptor and converts each buffer
//! (BGRx/BGRA/RGBx/RGBA in shared memory: no DMA-BUF is asked for) to I420.
//!
//! The compositor sends a buffer only when the screen changed (a still screen sends none),
//! so the last picture is re-published once a [`REFRESH`]. The share ends when the portal
//! closes the session (the user stopped it, the compositor went away) or the PipeWire
//! stream breaks; it pauses while the compositor pauses the stream.

use std::cell::RefCell;
use std::os::fd::OwnedFd;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use ashpd::desktop::screencast::{CursorMode, Screencast, SourceType};
use ashpd::desktop::PersistMode;
use futures_util::StreamExt;
use pipewire as pw;
use pw::spa;

use super::{
    err, CaptureOptions, Runner, ScreenSource, ScreenSourceKind, ShareState, Shared, REFRESH,
};
use crate::media::video::{FrameBus, PixelFormat, VideoFrame};
use crate::media::MediaError;

/// The prefix of this backend's source ids.
pub(super) const PREFIX: &str = "portal:";

/// The one source: whatever the portal's dialog (or its configuration) chooses.
const SCREEN_ID: &str = "portal:screen";

/// How long a portal call may take (Start waits for the user's choice in the dialog).
const PORTAL_TIMEOUT: Duration = Duration::from_secs(120);

/// Whether this process runs in a Wayland session (`$WAYLAND_DISPLAY`, or
/// `$XDG_SESSION_TYPE=wayland`).
pub(super) fn in_session() -> bool {
    std::env::var_os("WAYLAND_DISPLAY").is_some_and(|v| !v.is_empty())
        || std::env::var("XDG_SESSION_TYPE").is_ok_and(|v| v == "wayland")
}

/// The portal's pseudo-source (the portal, not the application, chooses the output).
pub(super) fn list_sources() -> Result<Vec<ScreenSource>, MediaError> {
    Ok(vec![ScreenSource {
        id: SCREEN_ID.into(),
        kind: ScreenSourceKind::Monitor,
        title: "Screen (chosen in the system's sharing dialog)".into(),
        application: String::new(),
        x: 0,
        y: 0,
        width: 0,
        height: 0,
        minimized: false,
        thumbnail: None,
    }])
}

/// The runtime the portal's D-Bus connection lives on: `ashpd` keeps one session-bus
/// connection for the process, whose reader task must keep running between captures.
fn runtime() -> Result<&'static tokio::runtime::Runtime, MediaError> {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    if let Some(rt) = RT.get() {
        return Ok(rt);
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .thread_name("acs-portal")
        .enable_all()
        .build()
        .map_err(|e| err("portal runtime", e))?;
    Ok(RT.get_or_init(|| rt))
}

/// What the portal handed out: the stream's PipeWire node, a connection to PipeWire and a
/// flag that turns true when the portal closes the session.
struct Portal {
    node: u32,
    size: Option<(i32, i32)>,
    fd: OwnedFd,
    closed: Arc<AtomicBool>,
    /// Closes the portal session when dropped (the capture stopped).
    _session: SessionGuard,
}

/// Closes the portal session (the compositor stops capturing) when the capture ends.
struct SessionGuard(Option<tokio::sync::oneshot::Sender<()>>);

impl Drop for SessionGuard {
    fn drop(&mut self) {
        if let Some(tx) = self.0.take() {
            let _ = tx.send(());
        }
    }
}

fn portal_err(what: &str, e: ashpd::Error) -> MediaError {
    let why = match &e {
        ashpd::Error::Response(ashpd::desktop::ResponseError::Cancelled) => {
            "the user cancelled the sharing dialog".to_string()
        }
        ashpd::Error::Response(ashpd::desktop::ResponseError::Other) => {
            "the portal refused (no output chosen, or its backend failed: see its log)".to_string()
        }
        ashpd::Error::Zbus(ashpd::zbus::Error::MethodError(name, msg, _))
            if name.as_str() == "org.freedesktop.DBus.Error.ServiceUnknown" =>
        {
            format!(
                "no XDG desktop portal on the session bus (xdg-desktop-portal with a ScreenCast \
                 backend such as xdg-desktop-portal-wlr, -gnome or -kde): {}",
                msg.as_deref().unwrap_or("")
            )
        }
        ashpd::Error::Zbus(e @ ashpd::zbus::Error::Connection(..)) => {
            format!("no D-Bus session bus ($DBUS_SESSION_BUS_ADDRESS): {e}")
        }
        ashpd::Error::Zbus(ashpd::zbus::Error::InputOutput(io)) => {
            format!("no D-Bus session bus ($DBUS_SESSION_BUS_ADDRESS): {io}")
        }
        ashpd::Error::Zbus(ashpd::zbus::Error::Address(a)) => {
            format!("no D-Bus session bus ($DBUS_SESSION_BUS_ADDRESS): {a}")
        }
        ashpd::Error::PortalNotFound(_) => format!(
            "no XDG desktop portal ScreenCast interface (install xdg-desktop-portal and a \
             ScreenCast backend): {e}"
        ),
        _ => e.to_string(),
    };
    err(&format!("portal {what}"), why)
}

/// Runs the portal's dance: a session, the sources (one monitor), Start (the portal picks or
/// asks), and the PipeWire remote. A task keeps the session open until the guard drops and
/// watches for the portal closing it.
async fn open_portal(cursor: bool) -> Result<Portal, MediaError> {
    let proxy = Screencast::new()
        .await
        .map_err(|e| portal_err("ScreenCast", e))?;
    let session = proxy
        .create_session()
        .await
        .map_err(|e| portal_err("CreateSession", e))?;
    let modes = proxy.available_cursor_modes().await.unwrap_or_default();
    let wanted = if cursor {
        CursorMode::Embedded
    } else {
        CursorMode::Hidden
    };
    // A backend without the wanted mode gets its default (the field is left to it).
    let cursor_mode = if modes.contains(wanted) {
        wanted
    } else {
        log::info!("screen share: the portal offers no {wanted:?} cursor mode ({modes:?})");
        if modes.contains(CursorMode::Embedded) {
            CursorMode::Embedded
        } else {
            CursorMode::Hidden
        }
    };
    proxy
        .select_sources(
            &session,
            cursor_mode,
            SourceType::Monitor.into(),
            false,
            None,
            PersistMode::DoNot,
        )
        .await
        .map_err(|e| portal_err("SelectSources", e))?
        .response()
        .map_err(|e| portal_err("SelectSources", e))?;
    let streams = proxy
        .start(&session, None)
        .await
        .map_err(|e| portal_err("Start", e))?
        .response()
        .map_err(|e| portal_err("Start", e))?;
    let stream = streams
        .streams()
        .first()
        .cloned()
        .ok_or_else(|| err("portal Start", "the portal returned no stream"))?;
    let fd = proxy
        .open_pipe_wire_remote(&session)
        .await
        .map_err(|e| portal_err("OpenPipeWireRemote", e))?;
    let closed = Arc::new(AtomicBool::new(false));
    let mut closes = session
        .receive_closed()
        .await
        .map_err(|e| portal_err("Session.Closed", e))?;
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let flag = Arc::clone(&closed);
    tokio::spawn(async move {
        tokio::select! {
            _ = closes.next() => {
                flag.store(true, Ordering::Release);
            }
            _ = rx => {
                let _ = session.close().await;
            }
        }
        drop(proxy);
    });
    Ok(Portal {
        node: stream.pipe_wire_node_id(),
        size: stream.size(),
        fd,
        closed,
        _session: SessionGuard(Some(tx)),
    })
}

/// Asks the portal for the screen (`portal:screen`) and returns the loop that captures it.
pub(super) fn prepare(
    id: &str,
    options: CaptureOptions,
    bus: Arc<FrameBus>,
) -> Result<Runner, MediaError> {
    if id != SCREEN_ID {
        return Err(MediaError::InvalidInput(format!(
            "'{id}' is not a portal source (the portal has one: {SCREEN_ID})"
        )));
    }
    let rt = runtime()?;
    let portal = rt.block_on(async {
        tokio::time::timeout(PORTAL_TIMEOUT, open_portal(options.show_cursor))
            .await
            .unwrap_or_else(|_| {
                Err(err(
                    "portal",
                    format!("no answer within {}s", PORTAL_TIMEOUT.as_secs()),
                ))
            })
    })?;
    log::info!(
        "screen share {id}: portal stream node {} ({:?})",
        portal.node,
        portal.size
    );
    Ok(Box::new(move |s: &Shared| {
        if let Err(e) = run(portal, options, bus, s) {
            s.set_state(ShareState::Ended(e.to_string()));
        }
    }))
}

/// What the stream's callbacks and the capture loop share (on the capture thread).
#[derive(Default)]
struct Capture {
    /// The negotiated format: pixel layout, width, height.
    format: Option<(PixelFormat, u32, u32)>,
    /// The stream's state as the loop should report it.
    state: Option<ShareState>,
    /// Whether the stream has streamed (a later pause is the compositor's).
    streamed: bool,
    /// Counters since the loop last looked.
    grabs: u64,
    unchanged: u64,
    published: u64,
    /// The last buffer's bytes (to tell a change) and the frame made of it.
    last_px: Vec<u8>,
    last_frame: Option<Arc<VideoFrame>>,
    last_published: Option<Instant>,
}

fn pod_bytes(obj: spa::pod::Object) -> Result<Vec<u8>, MediaError> {
    Ok(spa::pod::serialize::PodSerializer::serialize(
        std::io::Cursor::new(Vec::new()),
        &spa::pod::Value::Object(obj),
    )
    .map_err(|e| err("PipeWire format", format!("{e:?}")))?
    .0
    .into_inner())
}

/// The formats asked for: 32-bit RGB layouts at up to `fps` frames a second, any size.
fn format_param(fps: u32) -> Result<Vec<u8>, MediaError> {
    use spa::param::format::{FormatProperties, MediaSubtype, MediaType};
    use spa::param::video::VideoFormat;
    let obj = spa::pod::object!(
        spa::utils::SpaTypes::ObjectParamFormat,
        spa::param::ParamType::EnumFormat,
        spa::pod::property!(FormatProperties::MediaType, Id, MediaType::Video),
        spa::pod::property!(FormatProperties::MediaSubtype, Id, MediaSubtype::Raw),
        spa::pod::property!(
            FormatProperties::VideoFormat,
            Choice,
            Enum,
            Id,
            VideoFormat::BGRx,
            VideoFormat::BGRx,
            VideoFormat::BGRA,
            VideoFormat::RGBx,
            VideoFormat::RGBA,
        ),
        spa::pod::property!(
            FormatProperties::VideoSize,
            Choice,
            Range,
            Rectangle,
            spa::utils::Rectangle {
                width: 1920,
                height: 1080
            },
            spa::utils::Rectangle {
                width: 2,
                height: 2
            },
            spa::utils::Rectangle {
                width: 8192,
                height: 8192
            }
        ),
        spa::pod::property!(
            FormatProperties::VideoFramerate,
            Choice,
            Range,
            Fraction,
            spa::utils::Fraction { num: fps, denom: 1 },
            spa::utils::Fraction { num: 0, denom: 1 },
            spa::utils::Fraction { num: fps, denom: 1 }
        ),
    );
    pod_bytes(obj)
}

/// The buffers asked for once the format is known: shared memory (MemPtr or MemFd), not
/// DMA-BUF, which would need a GPU import.
fn buffers_param() -> Result<Vec<u8>, MediaError> {
    let types = (1i32 << spa::sys::SPA_DATA_MemPtr) | (1i32 << spa::sys::SPA_DATA_MemFd);
    let obj = spa::pod::Object {
        type_: spa::utils::SpaTypes::ObjectParamBuffers.as_raw(),
        id: spa::param::ParamType::Buffers.as_raw(),
        properties: vec![spa::pod::Property {
            key: spa::sys::SPA_PARAM_BUFFERS_dataType,
            flags: spa::pod::PropertyFlags::empty(),
            value: spa::pod::Value::Choice(spa::pod::ChoiceValue::Int(spa::utils::Choice(
                spa::utils::ChoiceFlags::empty(),
                spa::utils::ChoiceEnum::Flags {
                    default: types,
                    flags: vec![types],
                },
            ))),
        }],
    };
    pod_bytes(obj)
}

/// The pixel layout of a negotiated PipeWire video format, where `VideoFrame::import` reads
/// it (RGBx is read as RGBA: the alpha byte is ignored either way).
fn pixel_format(f: spa::param::video::VideoFormat) -> Option<PixelFormat> {
    use spa::param::video::VideoFormat;
    match f {
        VideoFormat::BGRx => Some(PixelFormat::Bgrx),
        VideoFormat::BGRA => Some(PixelFormat::Bgra),
        VideoFormat::RGBx | VideoFormat::RGBA => Some(PixelFormat::Rgba),
        _ => None,
    }
}

/// Takes the newest buffer off the stream: counts it, and makes a frame of it when it
/// differs from the last one. (The rate is the producer's: the format asks for at most the
/// capture's rate. A buffer is never dropped for coming early: the compositor sends one
/// only when the screen changed, so a dropped one could leave a stale picture shown.)
fn take_buffer(stream: &pw::stream::Stream, c: &mut Capture, bus: &FrameBus) {
    // Only the newest buffer matters: older queued ones go back at once.
    let mut newest = None;
    while let Some(b) = stream.dequeue_buffer() {
        newest = Some(b);
    }
    let Some(mut buffer) = newest else { return };
    let Some((format, w, h)) = c.format else {
        return;
    };
    let now = Instant::now();
    let datas = buffer.datas_mut();
    let Some(d) = datas.first_mut() else { return };
    let (offset, size, stride) = {
        let ch = d.chunk();
        (ch.offset() as usize, ch.size() as usize, ch.stride())
    };
    if size == 0 {
        return; // no picture in this buffer (a cursor-only update, or corrupted)
    }
    let stride = if stride > 0 {
        stride as usize
    } else {
        4 * w as usize
    };
    let Some(bytes) = d.data() else {
        log::warn!("screen share: a PipeWire buffer that is not mapped (DMA-BUF?) skipped");
        return;
    };
    let Some(px) = bytes.get(offset..).map(|b| &b[..size.min(b.len())]) else {
        return;
    };
    c.grabs += 1;
    if c.last_frame.is_some() && c.last_px == px {
        c.unchanged += 1;
        return;
    }
    match VideoFrame::import(format, px, w, h, stride) {
        Ok(frame) => {
            c.last_px.clear();
            c.last_px.extend_from_slice(px);
            let frame = Arc::new(frame);
            c.last_frame = Some(Arc::clone(&frame));
            bus.publish(frame);
            c.published += 1;
            c.last_published = Some(now);
        }
        Err(e) => log::warn!("screen share: frame skipped: {e}"),
    }
}

fn run(
    portal: Portal,
    options: CaptureOptions,
    bus: Arc<FrameBus>,
    s: &Shared,
) -> Result<(), MediaError> {
    let pw_err = |what: &str, e: pw::Error| err(&format!("PipeWire {what}"), e);
    let main = pw::loop_::LoopBox::new(None).map_err(|e| pw_err("loop", e))?;
    let context = pw::context::ContextBox::new(&main, None).map_err(|e| pw_err("context", e))?;
    let core = context
        .connect_fd(portal.fd, None)
        .map_err(|e| pw_err("connection (the portal's remote)", e))?;
    let cap = Rc::new(RefCell::new(Capture::default()));

    let core_error: Rc<RefCell<Option<String>>> = Rc::default();
    let ce = Rc::clone(&core_error);
    let _core_listener = core
        .add_listener_local()
        .error(move |id, _seq, res, message| {
            if id == pw::core::PW_ID_CORE {
                *ce.borrow_mut() = Some(format!("PipeWire: {message} ({res})"));
            }
        })
        .register();

    // The portal's node going away (the compositor or its portal backend quit) leaves the
    // stream merely paused: the registry tells it apart.
    let gone = Rc::new(std::cell::Cell::new(false));
    let registry = core.get_registry().map_err(|e| pw_err("registry", e))?;
    let (g, node) = (Rc::clone(&gone), portal.node);
    let _registry_listener = registry
        .add_listener_local()
        .global_remove(move |id| {
            if id == node {
                g.set(true);
            }
        })
        .register();

    let stream = pw::stream::StreamBox::new(
        &core,
        "acscalling-screen",
        pw::properties::properties! {
            *pw::keys::MEDIA_TYPE => "Video",
            *pw::keys::MEDIA_CATEGORY => "Capture",
            *pw::keys::MEDIA_ROLE => "Screen",
        },
    )
    .map_err(|e| pw_err("stream", e))?;

    let (c1, c2, c3) = (Rc::clone(&cap), Rc::clone(&cap), Rc::clone(&cap));
    let bus_cb = Arc::clone(&bus);
    let _listener = stream
        .add_local_listener_with_user_data(())
        .state_changed(move |_, _, _old, new| {
            let mut c = c1.borrow_mut();
            let st = match new {
                pw::stream::StreamState::Streaming => {
                    c.streamed = true;
                    Some(ShareState::Active)
                }
                pw::stream::StreamState::Paused if c.streamed => Some(ShareState::Paused(
                    "the compositor paused the screen cast".into(),
                )),
                pw::stream::StreamState::Error(e) => Some(ShareState::Ended(format!(
                    "the PipeWire stream failed: {e}"
                ))),
                pw::stream::StreamState::Unconnected if c.streamed => Some(ShareState::Ended(
                    "the PipeWire stream was disconnected".into(),
                )),
                _ => None,
            };
            if st.is_some() {
                c.state = st;
            }
        })
        .param_changed(move |stream, _, id, param| {
            let Some(param) = param else { return };
            if id != spa::param::ParamType::Format.as_raw() {
                return;
            }
            let mut info = spa::param::video::VideoInfoRaw::default();
            if info.parse(param).is_err() {
                return;
            }
            let size = info.size();
            let mut c = c2.borrow_mut();
            match pixel_format(info.format()) {
                Some(f) => {
                    log::info!(
                        "screen share: PipeWire format {:?} {}x{}",
                        info.format(),
                        size.width,
                        size.height
                    );
                    c.format = Some((f, size.width, size.height));
                    c.last_frame = None;
                }
                None => {
                    c.format = None;
                    c.state = Some(ShareState::Ended(format!(
                        "the compositor offers no usable pixel format ({:?})",
                        info.format()
                    )));
                }
            }
            drop(c);
            if let Ok(bytes) = buffers_param() {
                if let Some(pod) = spa::pod::Pod::from_bytes(&bytes) {
                    let _ = stream.update_params(&mut [pod]);
                }
            }
        })
        .process(move |stream, _| {
            take_buffer(stream, &mut c3.borrow_mut(), &bus_cb);
        })
        .register()
        .map_err(|e| pw_err("listener", e))?;

    let format = format_param(options.fps)?;
    let pod =
        spa::pod::Pod::from_bytes(&format).ok_or_else(|| err("PipeWire format", "not a pod"))?;
    stream
        .connect(
            spa::utils::Direction::Input,
            Some(portal.node),
            pw::stream::StreamFlags::AUTOCONNECT | pw::stream::StreamFlags::MAP_BUFFERS,
            &mut [pod],
        )
        .map_err(|e| pw_err("connect", e))?;

    let tick = Duration::from_millis(50);
    while !s.stopping() {
        main.iterate(pw::loop_::Timeout::Finite(tick));
        if portal.closed.load(Ordering::Acquire) {
            s.set_state(ShareState::Ended(
                "the portal closed the screen cast session".into(),
            ));
            break;
        }
        if gone.get() {
            s.set_state(ShareState::Ended(
                "the screen cast stream is gone (the compositor or its portal quit)".into(),
            ));
            break;
        }
        if let Some(e) = core_error.borrow_mut().take() {
            s.set_state(ShareState::Ended(e));
            break;
        }
        let mut c = cap.borrow_mut();
        for _ in 0..std::mem::take(&mut c.grabs) {
            s.count_grab();
        }
        for _ in 0..std::mem::take(&mut c.unchanged) {
            s.count_unchanged();
        }
        for _ in 0..std::mem::take(&mut c.published) {
            s.count_published();
        }
        if let Some(st) = c.state.take() {
            let ended = matches!(st, ShareState::Ended(_));
            s.set_state(st);
            if ended {
                break;
            }
        }
        // A still screen sends no buffers: the last picture again, once a REFRESH.
        let due = c.last_published.is_some_and(|t| t.elapsed() >= REFRESH);
        if due && c.streamed {
            if let Some(f) = &c.last_frame {
                bus.publish(Arc::clone(f));
                s.count_published();
                s.count_unchanged();
                c.last_published = Some(Instant::now());
            }
        }
    }
    let _ = stream.disconnect();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_portal_has_one_pseudo_source() {
        let l = list_sources().unwrap();
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].id, SCREEN_ID);
        assert!(l[0].id.starts_with(PREFIX));
    }

    #[test]
    fn other_portal_ids_are_refused() {
        let e = prepare(
            "portal:window:1",
            CaptureOptions::default(),
            FrameBus::new(),
        )
        .err()
        .unwrap();
        assert!(matches!(e, MediaError::InvalidInput(_)), "{e}");
    }

    #[test]
    fn formats_map_to_the_importers_layouts() {
        use spa::param::video::VideoFormat;
        assert_eq!(pixel_format(VideoFormat::BGRx), Some(PixelFormat::Bgrx));
        assert_eq!(pixel_format(VideoFormat::RGBx), Some(PixelFormat::Rgba));
        assert_eq!(pixel_format(VideoFormat::NV12), None);
        assert!(format_param(15).is_ok() && buffers_param().is_ok());
    }
}
