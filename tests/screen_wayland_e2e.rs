//! Screen sharing in a Wayland session (feature `wayland`), end to end against real
//! programs: scripts/wayland-session.sh starts a private headless sway (one 1280x720 output,
//! HEADLESS-1, a solid red background), PipeWire + WirePlumber and xdg-desktop-portal with
//! xdg-desktop-portal-wlr set to share HEADLESS-1 without a dialog. The capture goes through
//! the portal's D-Bus ScreenCast interface and the PipeWire stream it hands out.
//!
//! Checked: without a session bus the capture fails at once with a Device error saying so;
//! in the session the portal's source is listed; the frames show the screen (the whole
//! picture is the background's colour, at the output's size) and follow it as the
//! background switches between red and blue; a still screen is re-published once a second
//! without new buffers; dropping the capture stops it promptly (the portal closes its
//! session); a second capture ends with a reason when the compositor goes away.
#![cfg(feature = "wayland")]

use acscalling::media::video::screen::list_sources;
use acscalling::media::video::{
    CaptureOptions, FrameBus, PixelFormat, ScreenCapture, ShareState, VideoFrame,
};
use acscalling::media::MediaError;
use parking_lot::Mutex;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

const RED: [u8; 3] = [255, 0, 0];
const BLUE: [u8; 3] = [0, 0, 255];

/// The private session: started in a temporary directory, stopped (by pid) on drop.
struct Session {
    dir: PathBuf,
    env: Vec<(String, String)>,
}

impl Session {
    fn start() -> Session {
        let dir = std::env::temp_dir().join(format!("acs-wayland-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let out = Command::new("bash")
            .arg(script())
            .arg("start")
            .arg(&dir)
            .arg("#ff0000")
            .output()
            .expect("bash scripts/wayland-session.sh");
        let mut session = Session {
            dir,
            env: Vec::new(),
        };
        assert!(
            out.status.success(),
            "wayland-session.sh start failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        session.env = String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        session
    }

    fn var(&self, k: &str) -> &str {
        &self.env.iter().find(|(n, _)| n == k).unwrap().1
    }

    /// Sets the output's background (sway restarts swaybg: the screen changes).
    fn background(&self, colour: &str) {
        let st = Command::new("swaymsg")
            .env("SWAYSOCK", self.ipc())
            .args(["output", "HEADLESS-1", "bg", colour, "solid_color"])
            .output()
            .unwrap();
        assert!(st.status.success(), "swaymsg: {st:?}");
    }

    /// Runs a command in the session (sway's `exec`, as the compositor's user).
    fn exec(&self, cmd: &str) {
        let st = Command::new("swaymsg")
            .env("SWAYSOCK", self.ipc())
            .arg(format!("exec {cmd}"))
            .output()
            .unwrap();
        assert!(st.status.success(), "swaymsg: {st:?}");
    }

    /// Whether a window of `app_id` is mapped in the session (`swaymsg -t get_tree`).
    fn has_window(&self, app_id: &str) -> bool {
        Command::new("swaymsg")
            .env("SWAYSOCK", self.ipc())
            .args(["-t", "get_tree"])
            .output()
            .map(|o| {
                String::from_utf8_lossy(&o.stdout).contains(&format!("\"app_id\": \"{app_id}\""))
            })
            .unwrap_or(false)
    }

    fn ipc(&self) -> PathBuf {
        std::fs::read_dir(self.dir.join("run"))
            .unwrap()
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .is_some_and(|n| n.to_string_lossy().starts_with("sway-ipc."))
            })
            .expect("sway's IPC socket")
    }

    /// Stops the compositor only (the portal and PipeWire stay).
    fn kill_compositor(&self) {
        let pids = std::fs::read_to_string(self.dir.join("pids")).unwrap();
        // The second pid is sway's (after the bus).
        let sway = pids.lines().nth(1).unwrap();
        Command::new("kill").arg(sway).status().unwrap();
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.join(name)).unwrap_or_default()
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(script())
            .arg("stop")
            .arg(&self.dir)
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/wayland-session.sh")
}

/// Whether all of a grid of 16x9 points of `f` are within 40 of `rgb`.
fn all_of(f: &VideoFrame, rgb: [u8; 3]) -> bool {
    let (w, h) = (f.width as usize, f.height as usize);
    let mut px = vec![0u8; w * h * 4];
    f.export(PixelFormat::Rgba, &mut px, w * 4).unwrap();
    (0..16).all(|i| {
        (0..9).all(|j| {
            let (x, y) = (w * (2 * i + 1) / 32, h * (2 * j + 1) / 18);
            let p = &px[(y * w + x) * 4..][..3];
            p.iter().zip(rgb).all(|(a, b)| a.abs_diff(b) <= 40)
        })
    })
}

/// User + system CPU time of this process so far, in seconds.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after.split(' ').collect();
    // Fields 14 and 15 (utime, stime) are the 12th and 13th after the name.
    let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    ticks as f64 / 100.0
}

/// The RGB at the centre of `f`.
fn centre(f: &VideoFrame) -> [u8; 3] {
    let (w, h) = (f.width as usize, f.height as usize);
    let mut px = vec![0u8; w * h * 4];
    f.export(PixelFormat::Rgba, &mut px, w * 4).unwrap();
    let p = &px[(h / 2 * w + w / 2) * 4..][..3];
    [p[0], p[1], p[2]]
}

fn wait_until(t: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + t;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}

#[test]
fn the_portal_shares_the_screen_through_pipewire() {
    // This test owns the process environment (one test in this binary).
    // Without a session bus: a Device error that says so, at once.
    std::env::set_var("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/acs-bus");
    let e = ScreenCapture::start(
        "portal:screen",
        CaptureOptions::default(),
        FrameBus::new(),
        None,
    )
    .err()
    .expect("a capture without a portal");
    assert!(matches!(e, MediaError::Device(_)), "{e:?}");
    assert!(e.to_string().contains("no D-Bus session bus"), "{e}");

    let session = Session::start();
    for k in [
        "DBUS_SESSION_BUS_ADDRESS",
        "WAYLAND_DISPLAY",
        "XDG_RUNTIME_DIR",
        "XDG_SESSION_TYPE",
        "XDG_CURRENT_DESKTOP",
    ] {
        std::env::set_var(k, session.var(k));
    }
    std::env::remove_var("DISPLAY");
    let sources = list_sources(None).unwrap();
    assert!(
        sources.iter().any(|s| s.id == "portal:screen"),
        "{sources:?}"
    );

    let bus = FrameBus::new();
    let frames: Arc<Mutex<Vec<Arc<VideoFrame>>>> = Arc::default();
    let fr = Arc::clone(&frames);
    let _sub = bus.subscribe(Arc::new(move |f| fr.lock().push(Arc::clone(&f.frame))));
    let states: Arc<Mutex<Vec<ShareState>>> = Arc::default();
    let st = Arc::clone(&states);
    let options = CaptureOptions {
        fps: 30,
        show_cursor: true,
    };
    let t0 = Instant::now();
    let cap = ScreenCapture::start(
        "portal:screen",
        options,
        Arc::clone(&bus),
        Some(Arc::new(move |s: &ShareState| st.lock().push(s.clone()))),
    )
    .unwrap_or_else(|e| panic!("start: {e}\nportal-wlr log:\n{}", session.log("xdpw.log")));
    println!("portal start took {:?}", t0.elapsed());

    // The compositor sends a buffer when the screen changes: switch the background a few
    // times, ending on red.
    let mut changes = 0;
    for colour in ["#0000ff", "#ff0000", "#0000ff", "#ff0000"] {
        std::thread::sleep(Duration::from_millis(500));
        session.background(colour);
        changes += 1;
    }
    assert!(
        wait_until(Duration::from_secs(5), || frames
            .lock()
            .last()
            .is_some_and(|f| all_of(f, RED))),
        "no red frame after the last switch: {} frames (centres {:?}), stats {:?}, states {:?}",
        frames.lock().len(),
        frames.lock().iter().map(|f| centre(f)).collect::<Vec<_>>(),
        cap.stats(),
        states.lock()
    );
    let got = frames.lock().clone();
    assert!(
        got.iter().all(|f| (f.width, f.height) == (1280, 720)),
        "sizes {:?}",
        got.iter().map(|f| (f.width, f.height)).collect::<Vec<_>>()
    );
    let red = got.iter().filter(|f| all_of(f, RED)).count();
    let blue = got.iter().filter(|f| all_of(f, BLUE)).count();
    println!(
        "{changes} background changes: {} frames ({red} red, {blue} blue), stats {:?}",
        got.len(),
        cap.stats()
    );
    assert!(red >= 1 && blue >= 1, "red {red}, blue {blue}");
    assert_eq!(cap.state(), ShareState::Active);

    // A still screen: no new buffers, the last picture once a second.
    let before = cap.stats();
    let n0 = frames.lock().len();
    std::thread::sleep(Duration::from_millis(3200));
    let after = cap.stats();
    let refreshed = frames.lock().len() - n0;
    println!("still screen, 3.2 s: {refreshed} frames published, stats {before:?} -> {after:?}");
    assert!(
        (2..=4).contains(&refreshed),
        "{refreshed} refreshes in 3.2 s"
    );
    assert!(frames.lock().last().is_some_and(|f| all_of(f, RED)));

    // A screen that changes all the time (a terminal printing as fast as it can): the rate
    // and the CPU this process spends (capture, conversion, comparison), printed.
    session.exec("foot -e sh -c 'while :; do date +%N; done'");
    std::thread::sleep(Duration::from_millis(1500));
    let (s0, cpu0, t0) = (cap.stats(), cpu_seconds(), Instant::now());
    std::thread::sleep(Duration::from_secs(4));
    let (s1, cpu1, secs) = (cap.stats(), cpu_seconds(), t0.elapsed().as_secs_f64());
    let fps = (s1.published - s0.published) as f64 / secs;
    println!(
        "changing screen 1280x720 at fps 30: {:.1} frames/s published, {:.1} buffers/s, \
         {:.0}% of a core",
        fps,
        (s1.grabs - s0.grabs) as f64 / secs,
        100.0 * (cpu1 - cpu0) / secs
    );
    // The check needs the terminal on the screen: a session where foot did not come up
    // (it did not in one clean CI run, cause unknown) measures nothing, and says so.
    if session.has_window("foot") {
        assert!(fps >= 2.0, "{fps} frames/s from a changing screen");
    } else {
        println!("foot did not map a window: the changing-screen rate was not measured");
    }
    session.exec("swaymsg '[app_id=foot] kill'");
    std::thread::sleep(Duration::from_millis(500));

    // A clean stop: the thread ends promptly, the portal closes its session.
    let t = Instant::now();
    drop(cap);
    let stop = t.elapsed();
    println!("stop took {stop:?}");
    assert!(stop < Duration::from_secs(2), "{stop:?}");
    assert!(
        wait_until(Duration::from_secs(5), || session
            .log("xdpw.log")
            .contains("dbus: session closed")),
        "the portal's session was not closed"
    );
    assert!(
        !states
            .lock()
            .iter()
            .any(|s| matches!(s, ShareState::Ended(_))),
        "{:?}",
        states.lock()
    );

    // The compositor goes away during a share: the capture ends with a reason.
    let states: Arc<Mutex<Vec<ShareState>>> = Arc::default();
    let st = Arc::clone(&states);
    let cap = ScreenCapture::start(
        "portal:screen",
        options,
        FrameBus::new(),
        Some(Arc::new(move |s: &ShareState| st.lock().push(s.clone()))),
    )
    .unwrap();
    session.background("#00ff00");
    std::thread::sleep(Duration::from_millis(500));
    session.kill_compositor();
    assert!(
        wait_until(Duration::from_secs(10), || matches!(
            cap.state(),
            ShareState::Ended(_)
        )),
        "state {:?} after the compositor quit; states {:?}",
        cap.state(),
        states.lock()
    );
    println!("after the compositor quit: {:?}", cap.state());
    drop(cap);
}
