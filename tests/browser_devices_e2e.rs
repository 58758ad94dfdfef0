//! The browser client with real devices instead of Chromium's fake ones: real screen capture
//! (one tab, and the whole screen of a private X display started here) of a page showing a
//! known pattern, checked in the native renderer quadrant by quadrant; real microphones and
//! speakers of the private sound server (scripts/sound-server.sh), switched mid-call from
//! the sample page's pickers and checked by what the native party hears and what each
//! speaker plays.
//!
//! Needs `scripts/setup.sh` (chromium, xvfb, pulseaudio, web/node_modules). Run alone:
//! `cargo test --workspace --test browser_devices_e2e`.
mod common;

use acscalling::media::audio::tone_power;
use acscalling::media::video::{BusFrame, VideoFrame};
use acscalling::protocol::{CallState, VideoStreamKind};
use common::browser::*;
use common::party::Party;
use common::sound::{play_tone, record, sound_server};
use common::wait_until;
use common::xvfb::Xvfb;
use parking_lot::Mutex;
use serde_json::json;
use std::sync::Arc;

/// The shared page's pattern: four quadrants (top left, top right, bottom left, bottom
/// right) in colours far apart in every channel pair.
const QUADRANTS: [[f64; 3]; 4] = [
    [220.0, 30.0, 30.0],
    [30.0, 200.0, 60.0],
    [40.0, 60.0, 220.0],
    [230.0, 210.0, 40.0],
];

/// Covers the sample page with the pattern (on top of everything, letting clicks through
/// to the page's buttons underneath).
const SHOW_PATTERN: &str = "(q) => { const d = document.createElement('div'); d.id = 'pattern'; \
    d.style.cssText = 'position:fixed;inset:0;z-index:2147483647;pointer-events:none;display:grid;\
    grid-template:1fr 1fr/1fr 1fr'; \
    for (const c of q) { const e = document.createElement('div'); \
      e.style.background = `rgb(${c.join(',')})`; d.appendChild(e); } \
    document.body.appendChild(d); }";

/// Mean R, G, B of the middle half of each quadrant of `f` (BT.601 limited range, as
/// [`mean_rgb`]).
fn quadrant_colours(f: &VideoFrame) -> [[f64; 3]; 4] {
    let (w, h) = (f.width as usize, f.height as usize);
    let mut out = [[0f64; 3]; 4];
    for (q, colour) in out.iter_mut().enumerate() {
        let (x0, y0) = ((q % 2) * w / 2, (q / 2) * h / 2);
        let (xs, ys) = (x0 + w / 8..x0 + 3 * w / 8, y0 + h / 8..y0 + 3 * h / 8);
        let mut n = 0f64;
        for y in ys.step_by(2) {
            for x in xs.clone().step_by(2) {
                let rgb = rgb_at(f, x, y);
                for i in 0..3 {
                    colour[i] += rgb[i];
                }
                n += 1.0;
            }
        }
        *colour = colour.map(|c| c / n);
    }
    out
}

/// A rendered frame's width, height and quadrant colours.
type Seen = (u32, u32, [[f64; 3]; 4]);

/// The native side's screen-share stream of `who`, once available, with every rendered
/// frame's size and quadrant colours collected.
struct ShareView {
    stream: acscalling::client::RemoteVideoStream,
    frames: Arc<Mutex<Vec<Seen>>>,
    _sub: acscalling::media::video::BusSubscription,
}

fn view_share(call: &acscalling::client::Call, who: &str) -> ShareView {
    let stream = available_stream(
        call,
        who,
        VideoStreamKind::ScreenShare,
        "the browser's screen share became available to the native side",
    );
    let frames = Arc::new(Mutex::new(Vec::new()));
    let f2 = frames.clone();
    let sub = stream.frames().subscribe(Arc::new(move |f: &BusFrame| {
        f2.lock()
            .push((f.frame.width, f.frame.height, quadrant_colours(&f.frame)));
    }));
    stream.subscribe().unwrap();
    ShareView {
        stream,
        frames,
        _sub: sub,
    }
}

impl ShareView {
    /// Waits until 10 frames have been rendered and the latest shows the pattern (the first
    /// frames of a whole-screen share may still show the picker fading out); its size.
    fn assert_pattern(&self, what: &str) -> (u32, u32) {
        let matches = |q: &[[f64; 3]; 4]| {
            q.iter()
                .zip(QUADRANTS)
                .all(|(have, want)| have.iter().zip(want).all(|(a, b)| (a - b).abs() < 40.0))
        };
        let shown = wait_until(T, || {
            let f = self.frames.lock();
            f.len() >= 10 && f.last().is_some_and(|(_, _, q)| matches(q))
        });
        let f = self.frames.lock();
        let last = f.last().copied();
        assert!(
            shown,
            "{what}: the native renderer does not show the page's pattern {QUADRANTS:?}: \
             {} frames, the last {last:.0?}; {:?}",
            f.len(),
            self.stream.stats()
        );
        let (w, h, q) = last.unwrap();
        println!("{what}: {} frames, {w}x{h}, quadrants {q:.0?}", f.len());
        (w, h)
    }
}

/// Chooses microphone `label` on the page's picker once it lists it. (Chromium's "Default"
/// is the sound server's default source, a sink monitor, which it cannot open.)
fn pick_microphone(b: &mut Browsers, name: &str, label: &str) {
    b.wait_for(
        name,
        "(l) => [...document.querySelectorAll('#mic option')].some(o => o.textContent === l)",
        json!(label),
        T,
    );
    b.select(name, "#mic", label);
}

#[test]
fn a_browser_shares_a_real_tab_and_the_whole_screen_and_the_native_user_sees_the_page() {
    // First: the browsers run one test at a time; nothing else starts before.
    let mut b = Browsers::start();
    let _sound = sound_server();
    let screen = Xvfb::start(1280, 720);
    let svc = service();
    let bob = Party::new(&svc, "Bob", NATIVE_HZ, true);
    b.open_real(
        "alice",
        &format!("http://{}/", svc.http_addr),
        Some(&screen),
    );
    let alice = sign_in_opened(&mut b, "alice");
    pick_microphone(&mut b, "alice", "ACS-Mic");
    let (_, bcall) = browser_calls_native(&mut b, "alice", &bob);
    b.eval("alice", SHOW_PATTERN, json!(QUADRANTS));

    // This tab (getDisplayMedia's preferCurrentTab, accepted without a prompt). A click
    // first: screen capture needs a user gesture.
    b.click("alice", "#state");
    let surface = b.eval(
        "alice",
        "async () => { const m = await import('/sdk/acscalling.js'); \
         const s = new m.LocalVideoStream({ screen: { video: true, preferCurrentTab: true } }); \
         await window.acsSample.call.startVideo(s); \
         return (await s.mediaStreamTrack()).getSettings().displaySurface; }",
        json!(null),
    );
    assert_eq!(surface, "browser", "the tab was captured");
    let tab = view_share(&bcall, &alice);
    let (w, h) = tab.assert_pattern("browser tab share → native");
    assert!(w >= 640 && h >= 360, "tab share size {w}x{h}");
    b.eval(
        "alice",
        "async () => { const c = window.acsSample.call; \
         const s = c.localVideoStreams.find(s => s.kind === 1); \
         await c.stopVideo(s); s.release(); }",
        json!(null),
    );
    assert!(
        wait_until(T, || !tab.stream.is_available()),
        "the tab share became unavailable"
    );
    drop(tab);

    // The whole screen, through the page's own button: the browser's picker (auto-selecting
    // "Entire screen") decides, as it would for a user.
    b.click("alice", "#share");
    let surface = b.wait_for(
        "alice",
        "async () => { const s = window.acsSample.call.localVideoStreams.find(s => s.kind === 1); \
         return s && (await s.mediaStreamTrack()).getSettings().displaySurface; }",
        json!(null),
        T,
    );
    assert_eq!(surface, "monitor", "the whole screen was captured");
    let whole = view_share(&bcall, &alice);
    let size = whole.assert_pattern("browser whole-screen share → native");
    assert_eq!(
        size,
        (screen.width, screen.height),
        "the share is the X screen"
    );

    // "Stop sharing" on the page: the native side sees the share end.
    b.click("alice", "#share");
    assert!(
        wait_until(T, || !whole.stream.is_available()),
        "the screen share became unavailable"
    );
    assert!(bob.saw_video(&alice, VideoStreamKind::ScreenShare, false));
    assert_eq!(bcall.state(), CallState::Connected);
}

/// Power of `freq` in what `monitor` records over 600 ms, the best of three tries (the path
/// needs a moment to settle after a switch).
fn heard(monitor: &str, freq: f32) -> f32 {
    (0..3)
        .map(|_| tone_power(&record(monitor, 600), freq))
        .fold(0.0, f32::max)
}

/// What the native party hears of `freq` over 1 s.
fn native_hears(p: &Party, freq: f32) -> f32 {
    tone_power(&p.listen(1000), freq)
}

#[test]
fn a_browser_switches_its_real_microphone_and_speaker_mid_call() {
    // First: the browsers run one test at a time; nothing else starts before.
    let mut b = Browsers::start();
    let _sound = sound_server();
    let svc = service();
    // Two rooms: 500 Hz is said into the first microphone's room, 700 Hz into the second's.
    let _room = play_tone("acs_room", 500.0, 0.3);
    let _room2 = play_tone("acs_room2", 700.0, 0.3);
    let bob = Party::new(&svc, "Bob", NATIVE_HZ, true);
    b.open_real("alice", &format!("http://{}/", svc.http_addr), None);
    sign_in_opened(&mut b, "alice");
    b.wait_for(
        "alice",
        "() => [...document.querySelectorAll('#speaker option')].some(o => o.textContent === 'ACS-Speaker-2')",
        json!(null),
        T,
    );
    pick_microphone(&mut b, "alice", "ACS-Mic");
    b.select("alice", "#speaker", "ACS-Speaker");
    let (_, bcall) = browser_calls_native(&mut b, "alice", &bob);

    // The first microphone and the first speaker.
    bob.hears(500.0, 0.01)
        .unwrap_or_else(|p| panic!("Bob does not hear the first microphone: {p:?}"));
    let (p500, p700) = (native_hears(&bob, 500.0), native_hears(&bob, 700.0));
    println!("ACS-Mic: Bob hears 500 Hz {p500:.4}, 700 Hz {p700:.6}");
    assert!(
        p700 < p500 / 100.0,
        "the second room leaks: {p700} vs {p500}"
    );
    let mut spk = 0.0;
    assert!(
        wait_until(T, || {
            spk = heard("acs_spk.monitor", NATIVE_HZ);
            spk > 0.001
        }),
        "ACS-Speaker does not play Bob: {spk}"
    );
    let spk2 = heard("acs_spk2.monitor", NATIVE_HZ);
    println!("ACS-Speaker plays Bob at {spk:.4}, ACS-Speaker-2 {spk2:.6}");
    assert!(spk2 < spk / 100.0, "ACS-Speaker-2 plays Bob too: {spk2}");

    // Mid-call, from the page's pickers: the second microphone, then the second speaker.
    b.select("alice", "#mic", "ACS-Mic-2");
    bob.hears(700.0, 0.01)
        .unwrap_or_else(|p| panic!("Bob does not hear the second microphone: {p:?}"));
    let mut now = (0.0, 0.0);
    assert!(
        wait_until(T, || {
            now = (native_hears(&bob, 700.0), native_hears(&bob, 500.0));
            now.1 < now.0 / 100.0
        }),
        "the first microphone is still heard after the switch: 700 Hz {:.4}, 500 Hz {:.6}",
        now.0,
        now.1
    );
    println!(
        "ACS-Mic-2: Bob hears 700 Hz {:.4}, 500 Hz {:.6}",
        now.0, now.1
    );
    b.select("alice", "#speaker", "ACS-Speaker-2");
    let mut now = (0.0, 0.0);
    assert!(
        wait_until(T, || {
            now = (
                heard("acs_spk2.monitor", NATIVE_HZ),
                heard("acs_spk.monitor", NATIVE_HZ),
            );
            now.0 > 0.001 && now.1 < now.0 / 100.0
        }),
        "after the switch ACS-Speaker-2 plays Bob at {:.4}, ACS-Speaker at {:.6}",
        now.0,
        now.1
    );
    println!(
        "ACS-Speaker-2 plays Bob at {:.4}, ACS-Speaker {:.6}",
        now.0, now.1
    );
    // The SDK's device manager says what is selected; the call never left Connected.
    let selected = b.eval(
        "alice",
        "async () => { const dm = await window.acsSample.client.getDeviceManager(); \
         return [dm.selectedMicrophone?.name, dm.selectedSpeaker?.name, \
                 document.getElementById('state').textContent]; }",
        json!(null),
    );
    assert_eq!(
        selected,
        json!(["ACS-Mic-2", "ACS-Speaker-2", "Connected"]),
        "{selected}"
    );
    assert_eq!(bcall.state(), CallState::Connected);
}

#[test]
fn a_browser_shares_one_application_window_and_closing_it_ends_the_share() {
    // First: the browsers run one test at a time; nothing else starts before.
    let mut b = Browsers::start();
    let _sound = sound_server();
    let mut screen = Xvfb::start(1280, 720);
    screen.window_manager();
    // Another application's window, in a known colour, beside the browser's.
    const TITLE: &str = "acs-shared-window";
    const GREEN: [f64; 3] = [30.0, 200.0, 60.0];
    let window = screen.run(
        "xmessage",
        &[
            "-geometry",
            "400x300+820+360",
            "-bg",
            "#1ec83c",
            "-fg",
            "#1ec83c",
            "-title",
            TITLE,
            " ",
        ],
    );
    assert!(
        wait_until(T, || screen.has_window(TITLE)),
        "the window to share is shown"
    );
    let svc = service();
    let bob = Party::new(&svc, "Bob", NATIVE_HZ, true);
    b.open_real_picking(
        "alice",
        &format!("http://{}/", svc.http_addr),
        Some(&screen),
        TITLE,
    );
    let alice = sign_in_opened(&mut b, "alice");
    pick_microphone(&mut b, "alice", "ACS-Mic");
    let (_, bcall) = browser_calls_native(&mut b, "alice", &bob);

    // "Share screen" on the page; the browser's picker takes that window.
    b.click("alice", "#share");
    let surface = b.wait_for(
        "alice",
        "async () => { const s = window.acsSample.call.localVideoStreams.find(s => s.kind === 1); \
         return s && (await s.mediaStreamTrack()).getSettings().displaySurface; }",
        json!(null),
        T,
    );
    assert_eq!(surface, "window", "one window was captured");
    let share = view_share(&bcall, &alice);
    let mut last = None;
    let shown = wait_until(T, || {
        last = share.frames.lock().last().copied();
        last.is_some_and(|(w, h, q)| {
            (w, h) == (400, 300)
                && q.iter()
                    .all(|c| c.iter().zip(GREEN).all(|(a, b)| (a - b).abs() < 40.0))
        })
    });
    assert!(
        shown,
        "the native side renders the 400x300 green window: last frame {last:.0?}; {:?}",
        share.stream.stats()
    );
    println!(
        "browser window share → native: {} frames, {last:.0?}",
        share.frames.lock().len()
    );

    // The application closes its window: the capture ends, the SDK stops the share, the
    // native side sees it end; the call goes on.
    screen.stop(window);
    assert!(
        wait_until(T, || !share.stream.is_available()),
        "closing the shared window ends the share"
    );
    b.wait_for(
        "alice",
        "() => !window.acsSample.call.localVideoStreams.some(s => s.kind === 1)",
        json!(null),
        T,
    );
    assert_eq!(bcall.state(), CallState::Connected);
}
