//! Native screen sharing on X11 (Xvfb + openbox started here): the test draws a window of
//! four coloured quadrants (its own X client, through x11rb), finds it among the shareable
//! sources (title, application, size, thumbnail) beside the monitor, and shares it in a
//! call next to a camera; the receiver's decoded frames show the quadrants' colours. The
//! share follows the window as it moves and grows, sends only a refresh a second while the
//! window is still, pauses while the window is minimised and ends with its reason when the
//! window closes. A second participant's share is refused while one is active (ACS: one
//! screen share per call). The sharer's host hears each of these as an
//! OutgoingVideoStateChanged event with its reason; the pointer is drawn into the share
//! unless the capture options hide it.
mod common;

use acscalling::client::{list_screen_sources, AgentEvent, LocalVideoStream, OutgoingVideoState};
use acscalling::media::video::{
    CaptureOptions, FrameBus, PixelFormat, ScreenSourceKind, ShareState, VideoFrame,
    VirtualCameraConfig,
};
use acscalling::protocol::{EndReason, VideoStreamKind};
use common::party::Party;
use common::video::{stream_of, video_party};
use common::xvfb::Xvfb;
use common::{wait_until, Service};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;
use x11rb::connection::Connection;
use x11rb::protocol::xproto::*;
use x11rb::rust_connection::RustConnection;
use x11rb::wrapper::ConnectionExt as _;

const T: Duration = Duration::from_secs(20);
const TITLE: &str = "acs share test";
/// Top-left red, top-right green, bottom-left blue, bottom-right white.
const QUADRANTS: [(u32, [u8; 3]); 4] = [
    (0xff0000, [255, 0, 0]),
    (0x00ff00, [0, 255, 0]),
    (0x0000ff, [0, 0, 255]),
    (0xffffff, [255, 255, 255]),
];

/// A window whose background is the four quadrants (the server repaints it on its own).
struct TestWindow {
    conn: RustConnection,
    id: Window,
}

impl TestWindow {
    fn open(display: &str, w: u16, h: u16) -> TestWindow {
        let (conn, n) = x11rb::connect(Some(display)).expect("connect to Xvfb");
        let screen = conn.setup().roots[n].clone();
        let id = conn.generate_id().unwrap();
        let pix = conn.generate_id().unwrap();
        conn.create_pixmap(screen.root_depth, pix, screen.root, w, h)
            .unwrap();
        let gc = conn.generate_id().unwrap();
        conn.create_gc(gc, pix, &CreateGCAux::new()).unwrap();
        let (hw, hh) = (w as i16 / 2, h as i16 / 2);
        for (i, (pixel, _)) in QUADRANTS.iter().enumerate() {
            conn.change_gc(gc, &ChangeGCAux::new().foreground(*pixel))
                .unwrap();
            let (x, y) = ((i as i16 % 2) * hw, (i as i16 / 2) * hh);
            conn.poly_fill_rectangle(
                pix,
                gc,
                &[Rectangle {
                    x,
                    y,
                    width: hw as u16,
                    height: hh as u16,
                }],
            )
            .unwrap();
        }
        conn.create_window(
            screen.root_depth,
            id,
            screen.root,
            100,
            80,
            w,
            h,
            0,
            WindowClass::INPUT_OUTPUT,
            screen.root_visual,
            &CreateWindowAux::new().background_pixmap(pix),
        )
        .unwrap();
        conn.change_property8(
            PropMode::REPLACE,
            id,
            AtomEnum::WM_NAME,
            AtomEnum::STRING,
            TITLE.as_bytes(),
        )
        .unwrap();
        conn.change_property8(
            PropMode::REPLACE,
            id,
            AtomEnum::WM_CLASS,
            AtomEnum::STRING,
            b"acstest\0AcsTest\0",
        )
        .unwrap();
        conn.map_window(id).unwrap();
        conn.flush().unwrap();
        TestWindow { conn, id }
    }

    fn configure(&self, x: i32, y: i32, w: u32, h: u32) {
        self.conn
            .configure_window(
                self.id,
                &ConfigureWindowAux::new().x(x).y(y).width(w).height(h),
            )
            .unwrap();
        self.conn.flush().unwrap();
    }

    /// Iconifies the window the ICCCM way (the window manager unmaps it).
    fn minimise(&self) {
        let change_state = self
            .conn
            .intern_atom(false, b"WM_CHANGE_STATE")
            .unwrap()
            .reply()
            .unwrap()
            .atom;
        let root = self.conn.setup().roots[0].root;
        let ev = ClientMessageEvent::new(32, self.id, change_state, [3u32, 0, 0, 0, 0]);
        self.conn
            .send_event(
                false,
                root,
                EventMask::SUBSTRUCTURE_REDIRECT | EventMask::SUBSTRUCTURE_NOTIFY,
                ev,
            )
            .unwrap();
        self.conn.flush().unwrap();
    }

    fn restore(&self) {
        self.conn.map_window(self.id).unwrap();
        self.conn.flush().unwrap();
    }

    fn root(&self) -> Window {
        self.conn.setup().roots[0].root
    }

    fn close(self) {
        self.conn.destroy_window(self.id).unwrap();
        self.conn.flush().unwrap();
    }
}

/// The latest frame of a bus.
fn latest_of(bus: &Arc<FrameBus>) -> (Arc<Mutex<Option<Arc<VideoFrame>>>>, impl Drop) {
    let latest: Arc<Mutex<Option<Arc<VideoFrame>>>> = Arc::default();
    let l = Arc::clone(&latest);
    let sub = bus.subscribe(Arc::new(move |f| *l.lock() = Some(Arc::clone(&f.frame))));
    (latest, sub)
}

/// The RGB at the centre of each quadrant of `f`.
fn quadrant_colours(f: &VideoFrame) -> Vec<[u8; 3]> {
    let (w, h) = (f.width as usize, f.height as usize);
    let mut rgba = vec![0u8; w * h * 4];
    f.export(PixelFormat::Rgba, &mut rgba, w * 4).unwrap();
    (0..4)
        .map(|i| {
            let (x, y) = ((i % 2) * w / 2 + w / 4, (i / 2) * h / 2 + h / 4);
            let p = &rgba[(y * w + x) * 4..][..3];
            [p[0], p[1], p[2]]
        })
        .collect()
}

fn shows_quadrants(f: &VideoFrame) -> bool {
    quadrant_colours(f)
        .iter()
        .zip(QUADRANTS.iter())
        .all(|(got, (_, want))| got.iter().zip(want).all(|(g, w)| g.abs_diff(*w) <= 48))
}

/// The outgoing-video events `p` heard for its `kind` stream: (state, reason, message).
fn outgoing(p: &Party, kind: VideoStreamKind) -> Vec<(OutgoingVideoState, EndReason, String)> {
    p.events()
        .into_iter()
        .filter_map(|e| match e {
            AgentEvent::OutgoingVideoStateChanged {
                kind: k,
                state,
                reason,
                message,
                ..
            } if k == kind => Some((state, reason, message)),
            _ => None,
        })
        .collect()
}

/// Waits until `p`'s last outgoing-video event of `kind` is `state`, and returns it.
fn wait_outgoing(
    p: &Party,
    kind: VideoStreamKind,
    state: OutgoingVideoState,
) -> (OutgoingVideoState, EndReason, String) {
    assert!(
        wait_until(T, || outgoing(p, kind).last().is_some_and(|e| e.0 == state)),
        "{kind:?}: no {state:?}: {:?}",
        outgoing(p, kind)
    );
    outgoing(p, kind).pop().unwrap()
}

/// Pixels within `r` of (x, y) in `f` that are not `colour` (±48 per channel).
fn off_colour_near(f: &VideoFrame, x: u32, y: u32, r: u32, colour: [u8; 3]) -> usize {
    let mut rgba = vec![0u8; (f.width * f.height * 4) as usize];
    f.export(PixelFormat::Rgba, &mut rgba, (f.width * 4) as usize)
        .unwrap();
    let mut n = 0;
    for py in y.saturating_sub(r)..(y + r).min(f.height) {
        for px in x.saturating_sub(r)..(x + r).min(f.width) {
            let i = ((py * f.width + px) * 4) as usize;
            let far = (0..3).any(|c| (i32::from(rgba[i + c]) - i32::from(colour[c])).abs() > 48);
            n += usize::from(far);
        }
    }
    n
}

#[test]
fn a_window_is_listed_shared_followed_paused_and_ended_beside_a_camera() {
    let mut x = Xvfb::start(800, 600);
    x.window_manager();
    // The library reads $DISPLAY, as an application on the desktop would.
    std::env::set_var("DISPLAY", &x.display);
    let win = TestWindow::open(&x.display, 320, 240);

    // 1. The sources: the monitor, and the window with its title, application and size.
    let mut sources = Vec::new();
    assert!(
        wait_until(T, || {
            sources = list_screen_sources(Some((64, 64))).unwrap();
            sources.iter().any(|s| s.title == TITLE && !s.minimized)
        }),
        "the window is not listed: {sources:#?}"
    );
    let monitor = sources
        .iter()
        .find(|s| s.kind == ScreenSourceKind::Monitor)
        .expect("a monitor");
    assert_eq!((monitor.width, monitor.height), (800, 600));
    let window = sources.iter().find(|s| s.title == TITLE).unwrap().clone();
    assert_eq!(window.kind, ScreenSourceKind::Window);
    assert_eq!(window.application, "AcsTest");
    assert_eq!((window.width, window.height), (320, 240));
    let thumb = window.thumbnail.as_ref().expect("a thumbnail");
    assert_eq!((thumb.width, thumb.height), (64, 48));
    assert!(shows_quadrants(thumb), "{:?}", quadrant_colours(thumb));
    println!(
        "sources: {:?}",
        sources
            .iter()
            .map(|s| (&s.id, &s.title, s.width, s.height))
            .collect::<Vec<_>>()
    );

    // 2. Alice shares the window and her camera; Bob sees both, the share with the colours.
    let svc = Service::start();
    let (alice, bob, carol) = (
        video_party(&svc, "Alice"),
        video_party(&svc, "Bob"),
        video_party(&svc, "Carol"),
    );
    let group = uuid::Uuid::new_v4().to_string();
    let (ca, cb, cc) = (
        alice.join_muted(&group),
        bob.join_muted(&group),
        carol.join_muted(&group),
    );
    let camera = LocalVideoStream::virtual_camera(VirtualCameraConfig {
        width: 320,
        height: 180,
        fps: 15,
    })
    .unwrap();
    ca.start_video(&camera).unwrap();
    let share = LocalVideoStream::from_screen(&window.id, 10).unwrap();
    ca.start_screen_sharing(&share).unwrap();
    // The service accepted both: Alice's host is told.
    wait_outgoing(&alice, VideoStreamKind::Video, OutgoingVideoState::Started);
    wait_outgoing(
        &alice,
        VideoStreamKind::ScreenShare,
        OutgoingVideoState::Started,
    );
    let remote_cam = stream_of(&cb, &alice.id, VideoStreamKind::Video);
    let remote_share = stream_of(&cb, &alice.id, VideoStreamKind::ScreenShare);
    remote_cam.subscribe().unwrap();
    remote_share.subscribe().unwrap();
    let (cam_latest, _c) = latest_of(&remote_cam.frames());
    let (latest, _s) = latest_of(&remote_share.frames());
    assert!(
        wait_until(T, || latest.lock().as_ref().is_some_and(|f| (
            f.width, f.height
        ) == (
            320, 240
        )
            && shows_quadrants(f))),
        "Bob's share frames: {:?}",
        latest
            .lock()
            .as_ref()
            .map(|f| (f.width, f.height, quadrant_colours(f)))
    );
    assert!(
        wait_until(T, || cam_latest
            .lock()
            .as_ref()
            .is_some_and(|f| f.width == 320)),
        "Bob's camera frames beside the share"
    );

    // 3. Carol cannot share while Alice does: one screen share per call.
    let carol_share = LocalVideoStream::from_screen(&monitor.id, 5).unwrap();
    cc.start_screen_sharing(&carol_share).unwrap();
    assert!(
        wait_until(T, || cc
            .local_video_stream(VideoStreamKind::ScreenShare)
            .is_none()),
        "Carol's second share was not refused"
    );
    let carol_seen = cb
        .remote_participants()
        .into_iter()
        .find(|p| p.identifier() == carol.id)
        .map(|p| p.video_stream(VideoStreamKind::ScreenShare).is_available());
    assert_eq!(carol_seen, Some(false), "Bob must not see Carol's share");
    // Carol's host hears why.
    let (_, reason, why) = wait_outgoing(
        &carol,
        VideoStreamKind::ScreenShare,
        OutgoingVideoState::Failed,
    );
    assert_eq!(reason, EndReason::FORBIDDEN);
    assert!(why.contains("already sharing a screen"), "{why}");
    drop(carol_share);

    // 4. The window moves and grows: the share follows (size, colours).
    win.configure(300, 200, 400, 300);
    assert!(
        wait_until(T, || latest.lock().as_ref().is_some_and(|f| (
            f.width, f.height
        ) == (
            400, 300
        ))),
        "the share did not follow the resize: {:?}",
        latest.lock().as_ref().map(|f| (f.width, f.height))
    );

    // 5. A still window: XDamage reports nothing, so no grabs; frames are only the refresh
    //    (about one a second).
    std::thread::sleep(Duration::from_secs(1));
    let before = share.screen_capture_stats().unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let after = share.screen_capture_stats().unwrap();
    let (grabs, published, unchanged) = (
        after.grabs - before.grabs,
        after.published - before.published,
        after.unchanged - before.unchanged,
    );
    println!(
        "still window, 3 s: {grabs} grabs, {published} frames published, {unchanged} unchanged ticks"
    );
    assert!(unchanged >= 20, "{before:?} {after:?}");
    assert!(
        grabs <= 5,
        "a still screen is grabbed: {before:?} {after:?}"
    );
    assert!((1..=5).contains(&published), "{before:?} {after:?}");

    // 5b. The pointer over the window is drawn into the share (the window's top-left
    //     quadrant is red; the default X pointer is black and white), and left out when
    //     the capture options hide it.
    let now = list_screen_sources(None).unwrap();
    let placed = now.iter().find(|s| s.id == window.id).unwrap();
    let (px, py) = (placed.x + 60, placed.y + 50);
    win.conn
        .warp_pointer(x11rb::NONE, win.root(), 0, 0, 0, 0, px as i16, py as i16)
        .unwrap();
    win.conn.flush().unwrap();
    let (local, _l) = latest_of(&share.bus());
    let red = QUADRANTS[0].1;
    assert!(
        wait_until(T, || local
            .lock()
            .as_ref()
            .is_some_and(|f| off_colour_near(f, 60, 50, 12, red) >= 20)),
        "no pointer drawn at (60, 50) of the shared window"
    );
    let hidden = LocalVideoStream::from_screen_with(
        &window.id,
        CaptureOptions {
            fps: 10,
            show_cursor: false,
        },
    )
    .unwrap();
    let (plain, _p) = latest_of(&hidden.bus());
    assert!(wait_until(T, || plain.lock().is_some()));
    let f = plain.lock().clone().unwrap();
    assert_eq!(
        off_colour_near(&f, 60, 50, 12, red),
        0,
        "the pointer shows although hidden"
    );
    drop(hidden);

    // 6. Minimised: paused; restored: active again.
    win.minimise();
    assert!(
        wait_until(T, || matches!(
            share.share_state(),
            Some(ShareState::Paused(_))
        )),
        "{:?}",
        share.share_state()
    );
    let (_, _, why) = wait_outgoing(
        &alice,
        VideoStreamKind::ScreenShare,
        OutgoingVideoState::Paused,
    );
    assert_eq!(why, "the window is minimised");
    win.restore();
    assert!(
        wait_until(T, || share.share_state() == Some(ShareState::Active)),
        "{:?}",
        share.share_state()
    );
    wait_outgoing(
        &alice,
        VideoStreamKind::ScreenShare,
        OutgoingVideoState::Started,
    );

    // 7. Closed: the share ends with its reason.
    win.close();
    assert!(
        wait_until(T, || share.source_error().is_some()),
        "{:?}",
        share.share_state()
    );
    assert_eq!(
        share.share_state(),
        Some(ShareState::Ended("the window was closed".into()))
    );
    // The call stops sharing: Alice's host hears why, Bob sees the share go.
    let (_, reason, why) = wait_outgoing(
        &alice,
        VideoStreamKind::ScreenShare,
        OutgoingVideoState::Failed,
    );
    assert_eq!(
        (reason, why.as_str()),
        (EndReason::SOURCE_ENDED, "the window was closed")
    );
    assert!(
        wait_until(T, || !remote_share.is_available()),
        "Bob still sees Alice's share"
    );
    assert!(ca
        .local_video_stream(VideoStreamKind::ScreenShare)
        .is_none());
    // Alice stops her camera: Stopped.
    ca.stop_video(VideoStreamKind::Video).unwrap();
    wait_outgoing(&alice, VideoStreamKind::Video, OutgoingVideoState::Stopped);
    for c in [&ca, &cb, &cc] {
        c.hang_up(false).unwrap();
    }
}
