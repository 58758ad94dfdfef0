//! Screen sharing cost on X11: a private Xvfb (started here, stopped by its pid) with a window
//! covering the screen, captured by the library's `ScreenCapture` at 30 fps and encoded by
//! OpenH264 as a screen share is, for 1280x720 and 1920x1080, while the content changes every
//! frame and while it is still. Prints frames captured and encoded per second and the CPU of
//! the capture thread (grab + compare + I420) and of the encoder, in shares of a core.
//!
//!   cargo bench --bench screen_bench            (needs Xvfb: scripts/setup.sh)

use acscalling::media::video::{FrameBus, H264Encoder, ScreenCapture, VideoFrame};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};
use x11rb::connection::Connection;
use x11rb::protocol::xproto::*;

const SECONDS: u64 = 5;

/// CPU seconds (user + system) of this process's threads named `name`.
fn thread_cpu(name: &str) -> f64 {
    let hz = 100.0; // USER_HZ on Linux
    let mut total = 0.0;
    for t in std::fs::read_dir("/proc/self/task").unwrap().flatten() {
        let comm = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
        if comm.trim() != name {
            continue;
        }
        let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
        let rest = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
        let f: Vec<&str> = rest.split_whitespace().collect();
        let ticks: f64 = f.get(11).and_then(|v| v.parse().ok()).unwrap_or(0.0)
            + f.get(12).and_then(|v| v.parse().ok()).unwrap_or(0.0);
        total += ticks / hz;
    }
    total
}

fn start_xvfb(w: u32, h: u32) -> (Child, String) {
    for n in 300..400 {
        if std::path::Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
            continue;
        }
        let mut child = Command::new("Xvfb")
            .args([
                &format!(":{n}"),
                "-screen",
                "0",
                &format!("{w}x{h}x24"),
                "-nolisten",
                "tcp",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("Xvfb (scripts/setup.sh installs it)");
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            if std::path::Path::new(&format!("/tmp/.X11-unix/X{n}")).exists() {
                return (child, format!(":{n}"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    panic!("no free display");
}

/// A full-screen window; while `changing`, its colour and a moving bar change every 33 ms.
fn painter(display: String, w: u16, h: u16, changing: bool, stop: Arc<AtomicBool>) {
    let (conn, n) = x11rb::connect(Some(&display)).unwrap();
    let screen = conn.setup().roots[n].clone();
    let win = conn.generate_id().unwrap();
    conn.create_window(
        screen.root_depth,
        win,
        screen.root,
        0,
        0,
        w,
        h,
        0,
        WindowClass::INPUT_OUTPUT,
        screen.root_visual,
        &CreateWindowAux::new()
            .background_pixel(0x336699)
            .override_redirect(1),
    )
    .unwrap();
    conn.map_window(win).unwrap();
    let gc = conn.generate_id().unwrap();
    conn.create_gc(gc, win, &CreateGCAux::new()).unwrap();
    conn.flush().unwrap();
    let mut i: u32 = 0;
    while !stop.load(Ordering::Relaxed) {
        if changing {
            i += 1;
            // Text-like content: many small rectangles whose colours shift each frame.
            conn.change_gc(
                gc,
                &ChangeGCAux::new().foreground(i.wrapping_mul(0x010203) & 0xffffff),
            )
            .unwrap();
            let rects: Vec<Rectangle> = (0..200)
                .map(|k| Rectangle {
                    x: ((k * 97 + i * 7) % u32::from(w)) as i16,
                    y: ((k * 53) % u32::from(h)) as i16,
                    width: 60,
                    height: 12,
                })
                .collect();
            conn.poly_fill_rectangle(win, gc, &rects).unwrap();
            conn.flush().unwrap();
        }
        std::thread::sleep(Duration::from_millis(33));
    }
}

fn run(w: u32, h: u32, changing: bool) {
    let (mut xvfb, display) = start_xvfb(w, h);
    std::env::set_var("DISPLAY", &display);
    let stop = Arc::new(AtomicBool::new(false));
    let p = {
        let (d, s) = (display.clone(), Arc::clone(&stop));
        std::thread::spawn(move || painter(d, w as u16, h as u16, changing, s))
    };
    std::thread::sleep(Duration::from_millis(500));
    let bus = FrameBus::new();
    let (tx, rx) = mpsc::sync_channel::<Arc<VideoFrame>>(2);
    let _sub = bus.subscribe(Arc::new(move |f| {
        let _ = tx.try_send(Arc::clone(&f.frame));
    }));
    let encoder = std::thread::Builder::new()
        .name("bench-encode".into())
        .spawn(move || {
            let mut enc = H264Encoder::new(2_500_000, 30.0).unwrap();
            let mut n = 0u64;
            while let Ok(f) = rx.recv() {
                if enc.encode(&f).unwrap().is_some() {
                    n += 1;
                }
            }
            n
        })
        .unwrap();
    let cap = ScreenCapture::start("x11:monitor:0", 30, Arc::clone(&bus)).unwrap();
    std::thread::sleep(Duration::from_secs(1)); // warm-up
    let (s0, cpu_cap0, cpu_enc0, t0) = (
        cap.stats(),
        thread_cpu("acs-screen"),
        thread_cpu("bench-encode"),
        Instant::now(),
    );
    std::thread::sleep(Duration::from_secs(SECONDS));
    let secs = t0.elapsed().as_secs_f64();
    let (s1, cpu_cap1, cpu_enc1) = (
        cap.stats(),
        thread_cpu("acs-screen"),
        thread_cpu("bench-encode"),
    );
    drop(cap);
    drop(_sub);
    let encoded = encoder.join().unwrap();
    stop.store(true, Ordering::Relaxed);
    let _ = p.join();
    let _ = xvfb.kill();
    let _ = xvfb.wait();
    println!(
        "{w}x{h} {:8}: grabs {:5.1}/s, frames published {:5.1}/s, encoded {encoded} in all; CPU capture {:4.1}% + encode {:4.1}% of a core",
        if changing { "changing" } else { "still" },
        (s1.grabs - s0.grabs) as f64 / secs,
        (s1.published - s0.published) as f64 / secs,
        (cpu_cap1 - cpu_cap0) / secs * 100.0,
        (cpu_enc1 - cpu_enc0) / secs * 100.0,
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` lists: nothing to list
    }
    for (w, h) in [(1280, 720), (1920, 1080)] {
        for changing in [true, false] {
            run(w, h, changing);
        }
    }
}
