//! A private X display for tests that need a real screen (whole-screen capture, windows):
//! Debian's `Xvfb` on a free display number, no TCP, stopped by its pid when dropped.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Xvfb {
    child: Child,
    /// Programs started on the display (a window manager, windows): stopped first.
    clients: Vec<Child>,
    /// The `DISPLAY` value, e.g. `:93`.
    pub display: String,
    pub width: u32,
    pub height: u32,
}

impl Xvfb {
    /// Starts Xvfb with one `width`x`height` 24-bit screen on the first free display from
    /// :90 (a display is taken when its lock file or socket exists).
    pub fn start(width: u32, height: u32) -> Xvfb {
        for n in 90..190 {
            let lock = format!("/tmp/.X{n}-lock");
            let socket = format!("/tmp/.X11-unix/X{n}");
            if Path::new(&lock).exists() || Path::new(&socket).exists() {
                continue;
            }
            let display = format!(":{n}");
            let mut child = Command::new("Xvfb")
                .args([
                    &display,
                    "-screen",
                    "0",
                    &format!("{width}x{height}x24"),
                    "-nolisten",
                    "tcp",
                    "-noreset",
                ])
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start Xvfb (scripts/setup.sh installs the xvfb package)");
            let end = Instant::now() + Duration::from_secs(10);
            while Instant::now() < end {
                if let Ok(Some(_)) = child.try_wait() {
                    break; // lost the race for this display number: try the next one
                }
                if Path::new(&socket).exists() {
                    return Xvfb {
                        child,
                        clients: Vec::new(),
                        display,
                        width,
                        height,
                    };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("no free X display for Xvfb in :90..:189");
    }
}

impl Xvfb {
    /// Starts `program` with `args` on this display; stopped (by pid) when the display is.
    /// Returns its pid.
    pub fn run(&mut self, program: &str, args: &[&str]) -> u32 {
        let child = Command::new(program)
            .args(args)
            .env("DISPLAY", &self.display)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {program} on {}: {e}", self.display));
        let pid = child.id();
        self.clients.push(child);
        pid
    }

    /// Starts openbox, a small window manager (applications list and capture windows
    /// through it), and waits until it manages the screen.
    pub fn window_manager(&mut self) {
        self.run("openbox", &[]);
        let end = Instant::now() + Duration::from_secs(10);
        while Instant::now() < end {
            let out = Command::new("xprop")
                .args([
                    "-display",
                    &self.display,
                    "-root",
                    "_NET_SUPPORTING_WM_CHECK",
                ])
                .output();
            if out.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("window id")) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("openbox did not start on {}", self.display);
    }

    /// Stops the client with `pid` started by [`Self::run`] (a window closes).
    pub fn stop(&mut self, pid: u32) {
        if let Some(i) = self.clients.iter().position(|c| c.id() == pid) {
            let mut c = self.clients.remove(i);
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Whether a top-level window titled `title` is mapped on the display.
    pub fn has_window(&self, title: &str) -> bool {
        Command::new("xwininfo")
            .args(["-display", &self.display, "-name", title])
            .output()
            .is_ok_and(|o| o.status.success())
    }
}

impl Drop for Xvfb {
    fn drop(&mut self) {
        for mut c in self.clients.drain(..) {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
