//! Screen sharing on X11, in a private Xvfb (started here, stopped by its pid):
//! 1. Cost: a window covering the screen, captured by the library's `ScreenCapture` at 30 fps
//!    and encoded by OpenH264 as a screen share is, for 1280x720 and 1920x1080, while the
//!    content changes every frame and while it is still. Prints frames captured and encoded
//!    per second and the CPU of the capture thread (grab + compare + I420) and of the
//!    encoder, in shares of a core.
//! 2. Sharpness: 1080p scrolling text captured for 3 s, then encoded at a tight bitrate with
//!    the camera tuning and with the screen-content tuning (quantiser capped): frames
//!    encoded per second, real bitrate and the luma PSNR of what a receiver decodes.
//! 3. Glass-to-glass: a window repainted with a new shade; the time from the paint request
//!    to the first decoded frame showing it (capture at 30 fps + encode + decode, in one
//!    process: the network hop of a real call adds the loopback's ~0.1 ms).
//!
//!   cargo bench --bench screen_bench            (needs Xvfb: scripts/setup.sh)

use acscalling::media::video::{
    CaptureOptions, FrameBus, H264Decoder, H264Encoder, ScreenCapture, VideoContent, VideoFrame,
};
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

fn run(w: u32, h: u32, changing: bool, fps: u32) {
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
            let mut enc =
                H264Encoder::for_content(2_500_000, fps as f32, VideoContent::Screen).unwrap();
            let mut n = 0u64;
            while let Ok(f) = rx.recv() {
                if enc.encode(&f).unwrap().is_some() {
                    n += 1;
                }
            }
            n
        })
        .unwrap();
    let cap = ScreenCapture::start("x11:monitor:0", opts(fps), Arc::clone(&bus), None).unwrap();
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
        "{w}x{h} {:8} at {fps} fps: grabs {:5.1}/s, frames published {:5.1}/s, encoded {encoded} in all; CPU capture {:4.1}% + encode {:4.1}% of a core",
        if changing { "changing" } else { "still" },
        (s1.grabs - s0.grabs) as f64 / secs,
        (s1.published - s0.published) as f64 / secs,
        (cpu_cap1 - cpu_cap0) / secs * 100.0,
        (cpu_enc1 - cpu_enc0) / secs * 100.0,
    );
}

fn opts(fps: u32) -> CaptureOptions {
    CaptureOptions {
        fps,
        show_cursor: false,
    }
}

/// A full-screen white window of black text lines (the X core font "fixed"), scrolled by one
/// pixel row per frame while `stop` is unset.
fn text_painter(display: String, w: u16, h: u16, stop: Arc<AtomicBool>) {
    let (conn, n) = x11rb::connect(Some(&display)).unwrap();
    let screen = conn.setup().roots[n].clone();
    let win = conn.generate_id().unwrap();
    let aux = CreateWindowAux::new()
        .background_pixel(screen.white_pixel)
        .override_redirect(1);
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
        &aux,
    )
    .unwrap();
    conn.map_window(win).unwrap();
    let font = conn.generate_id().unwrap();
    conn.open_font(font, b"fixed").unwrap();
    let gc = conn.generate_id().unwrap();
    let gc_aux = CreateGCAux::new()
        .foreground(screen.black_pixel)
        .background(screen.white_pixel)
        .font(font);
    conn.create_gc(gc, win, &gc_aux).unwrap();
    let line = b"The quick brown fox jumps over the lazy dog 0123456789 (){}[] ;:,. The quick brown fox jumps over the lazy dog 0123456789 (){}[] ;:,. The quick brown fox";
    let mut top: i16 = 0;
    while !stop.load(Ordering::Relaxed) {
        for row in 0..(h / 14 + 2) as i16 {
            // image_text8 paints the background too: each row overwrites the last frame's.
            let y = row * 14 + 12 - (top % 14);
            let text = &line[(row as usize * 7) % 40..];
            conn.image_text8(win, gc, 4, y, &text[..text.len().min(255)])
                .unwrap();
        }
        conn.flush().unwrap();
        top = top.wrapping_add(1);
        std::thread::sleep(Duration::from_millis(33));
    }
}

/// Luma PSNR of `b` against `a` (same size), in dB.
fn psnr(a: &VideoFrame, b: &VideoFrame) -> f64 {
    let mut sum = 0f64;
    let n = (a.width * a.height) as usize;
    for (x, y) in a.y.iter().zip(&b.y).take(n) {
        let d = f64::from(*x) - f64::from(*y);
        sum += d * d;
    }
    let mse = (sum / n as f64).max(1e-9);
    10.0 * (255.0 * 255.0 / mse).log10()
}

fn sharpness() {
    let (w, h) = (1920u32, 1080u32);
    let (mut xvfb, display) = start_xvfb(w, h);
    std::env::set_var("DISPLAY", &display);
    let stop = Arc::new(AtomicBool::new(false));
    let p = {
        let (d, s) = (display.clone(), Arc::clone(&stop));
        std::thread::spawn(move || text_painter(d, w as u16, h as u16, s))
    };
    std::thread::sleep(Duration::from_millis(500));
    let bus = FrameBus::new();
    let frames: Arc<parking_lot::Mutex<Vec<Arc<VideoFrame>>>> = Arc::default();
    let f2 = Arc::clone(&frames);
    let sub = bus.subscribe(Arc::new(move |f| f2.lock().push(Arc::clone(&f.frame))));
    let cap = ScreenCapture::start("x11:monitor:0", opts(30), Arc::clone(&bus), None).unwrap();
    std::thread::sleep(Duration::from_secs(3));
    drop(cap);
    drop(sub);
    stop.store(true, Ordering::Relaxed);
    let _ = p.join();
    let _ = xvfb.kill();
    let _ = xvfb.wait();
    let frames = frames.lock().clone();
    let secs = frames.len() as f64 / 30.0;
    let bitrate = 1_000_000;
    println!(
        "sharpness, {w}x{h} scrolling text, {} frames offered at 30 fps, target {} kbit/s:",
        frames.len(),
        bitrate / 1000
    );
    for content in [VideoContent::Camera, VideoContent::Screen] {
        let mut enc = H264Encoder::for_content(bitrate, 30.0, content).unwrap();
        let mut dec = H264Decoder::new().unwrap();
        let (mut encoded, mut bytes, mut psnrs) = (0u32, 0usize, Vec::new());
        for f in &frames {
            let Some(e) = enc.encode(f).unwrap() else {
                continue;
            };
            encoded += 1;
            bytes += e.data.len();
            if let Some(d) = dec.decode(&e.data).unwrap() {
                psnrs.push(psnr(f, &d));
            }
        }
        // The first (key)frame is the same for both: judge the steady state after it.
        let steady = &psnrs[psnrs.len().min(1)..];
        let mean = steady.iter().sum::<f64>() / steady.len().max(1) as f64;
        let worst = steady.iter().cloned().fold(f64::INFINITY, f64::min);
        println!(
            "  {:6} tuning: {:4.1} frames/s encoded, {:5} kbit/s, luma PSNR mean {mean:4.1} dB, worst {worst:4.1} dB",
            format!("{content:?}").to_lowercase(),
            f64::from(encoded) / secs,
            (bytes as f64 * 8.0 / secs / 1000.0) as u64,
        );
    }
}

/// The shade painted at step `k`, far apart in luma from the previous one.
fn shade(k: u32) -> (u32, u8) {
    let grey = if k % 2 == 0 { 40u8 } else { 210 };
    let grey = grey.wrapping_add((k % 5) as u8);
    let px = u32::from(grey) * 0x010101;
    (px, grey)
}

fn glass_to_glass() {
    let (w, h) = (1280u32, 720u32);
    let (mut xvfb, display) = start_xvfb(w, h);
    std::env::set_var("DISPLAY", &display);
    let (conn, n) = x11rb::connect(Some(&display)).unwrap();
    let screen = conn.setup().roots[n].clone();
    let win = conn.generate_id().unwrap();
    let aux = CreateWindowAux::new()
        .background_pixel(0)
        .override_redirect(1);
    conn.create_window(
        screen.root_depth,
        win,
        screen.root,
        0,
        0,
        w as u16,
        h as u16,
        0,
        WindowClass::INPUT_OUTPUT,
        screen.root_visual,
        &aux,
    )
    .unwrap();
    conn.map_window(win).unwrap();
    let gc = conn.generate_id().unwrap();
    conn.create_gc(gc, win, &CreateGCAux::new()).unwrap();
    conn.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // Capture -> encode -> decode; the decoder thread reports (centre luma, when).
    let bus = FrameBus::new();
    let (tx, rx) = mpsc::sync_channel::<Arc<VideoFrame>>(4);
    let _sub = bus.subscribe(Arc::new(move |f| {
        let _ = tx.try_send(Arc::clone(&f.frame));
    }));
    let (seen_tx, seen_rx) = mpsc::channel::<(u8, Instant)>();
    let worker = std::thread::spawn(move || {
        let mut enc = H264Encoder::for_content(2_500_000, 30.0, VideoContent::Screen).unwrap();
        let mut dec = H264Decoder::new().unwrap();
        while let Ok(f) = rx.recv() {
            let Some(e) = enc.encode(&f).unwrap() else {
                continue;
            };
            if let Some(d) = dec.decode(&e.data).unwrap() {
                let centre = d.y[(d.height / 2 * d.width + d.width / 2) as usize];
                let _ = seen_tx.send((centre, Instant::now()));
            }
        }
    });
    let cap = ScreenCapture::start("x11:monitor:0", opts(30), Arc::clone(&bus), None).unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let mut lat = Vec::new();
    for k in 1..=30u32 {
        while seen_rx.try_recv().is_ok() {}
        let (px, grey) = shade(k);
        let painted = Instant::now();
        conn.change_gc(gc, &ChangeGCAux::new().foreground(px))
            .unwrap();
        let r = Rectangle {
            x: 0,
            y: 0,
            width: w as u16,
            height: h as u16,
        };
        conn.poly_fill_rectangle(win, gc, &[r]).unwrap();
        conn.flush().unwrap();
        let end = painted + Duration::from_secs(2);
        while let Ok((y, at)) = seen_rx.recv_timeout(end.saturating_duration_since(Instant::now()))
        {
            // Video-range luma of the grey: 16 + grey * 219 / 255, give or take coding.
            let expect = 16.0 + f64::from(grey) * 219.0 / 255.0;
            if (f64::from(y) - expect).abs() < 12.0 {
                lat.push(at.duration_since(painted).as_secs_f64() * 1000.0);
                break;
            }
        }
        std::thread::sleep(Duration::from_millis(150));
    }
    drop(cap);
    drop(_sub);
    let _ = worker.join();
    let _ = xvfb.kill();
    let _ = xvfb.wait();
    lat.sort_by(|a, b| a.total_cmp(b));
    let pct = |p: f64| lat[((lat.len() as f64 - 1.0) * p).round() as usize];
    if lat.is_empty() {
        println!("glass-to-glass: no repaint was seen decoded");
        return;
    }
    println!(
        "glass-to-glass, {w}x{h} window repainted, capture 30 fps + screen encode + decode: {} of 30 seen, median {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        lat.len(),
        pct(0.5),
        pct(0.9),
        pct(1.0)
    );
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo test --benches` lists: nothing to list
    }
    for (w, h) in [(1280, 720), (1920, 1080)] {
        for changing in [true, false] {
            run(w, h, changing, 30);
        }
    }
    // The default capture rate (CaptureOptions::default()), where the target is set.
    run(1920, 1080, true, 15);
    sharpness();
    glass_to_glass();
}
