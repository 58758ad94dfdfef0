//! Native screen sharing on X11 (Xvfb + openbox started here): the test draws a window of
//! four coloured quadrants (its own X client, through x11rb), finds it among the shareable
//! sources (title, application, size, thumbnail) beside the monitor, and shares it in a
//! call next to a camera; the receiver's decoded frames show the quadrants' colours. The
//! share follows the window as it moves and grows, sends only a refresh a second while the
//! window is still, pauses while the window is minimised and ends with its reason when the
//! window closes. A second participant's share is refused while one is active (ACS: one
//! screen share per call).
mod common;

use acscalling::client::{list_screen_sources, LocalVideoStream};
use acscalling::media::video::{
    FrameBus, PixelFormat, ScreenSourceKind, ShareState, VideoFrame, VirtualCameraConfig,
};
use acscalling::protocol::VideoStreamKind;
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
    win.restore();
    assert!(
        wait_until(T, || share.share_state() == Some(ShareState::Active)),
        "{:?}",
        share.share_state()
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
    for c in [&ca, &cb, &cc] {
        c.hang_up(false).unwrap();
    }
}
