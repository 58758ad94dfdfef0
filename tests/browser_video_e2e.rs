//! Video in real Chromium against the real service and native participants: H.264 both ways
//! (openh264 in the native SDK, Chromium's encoder and decoder), screen sharing from the
//! browser, the browser's own camera back from the echo bot. Pictures are checked by their
//! mean colour (RGB) against the source.
//!
//! Needs `scripts/setup.sh` (chromium, web/node_modules). Run alone:
//! `cargo test --workspace --test browser_video_e2e`.
mod common;

use acscalling::protocol::CallState;
use common::browser::*;
use common::party::Party;
use common::wait_until;
use serde_json::json;

#[test]
fn browser_and_native_send_each_other_h264_video() {
    use acscalling::media::video::BusFrame;
    use acscalling::protocol::VideoStreamKind;
    use common::video::PatternCamera;
    use parking_lot::Mutex;
    use std::sync::Arc;

    // First: the browsers run one test at a time; nothing else starts before.
    let mut b = Browsers::start();
    let svc = service();
    let bob = Party::new(&svc, "Bob", NATIVE_HZ, true);
    let alice = sign_in(&mut b, &svc, "alice");
    b.fill("alice", "#target", &bob.id);
    b.click("alice", "#call");
    wait_call_state(&mut b, "alice", "Connected");
    assert!(wait_until(T, || bob
        .incoming
        .lock()
        .first()
        .is_some_and(|c| c.state() == CallState::Connected)));
    let bcall = bob.incoming.lock()[0].clone();

    // Native → browser: the native pattern camera (320x180), decoded by Chromium.
    let cam = PatternCamera::start(1_000, 320, 180, 15);
    bcall
        .start_video_from(VideoStreamKind::Video, cam.bus.clone(), 15.0)
        .unwrap();
    b.wait_for(
        "alice",
        "(id) => window.acsSample.call.remoteParticipants.some(p => p.identifier === id \
         && p.videoStreams.some(s => s.kind === 0))",
        json!(bob.id),
        T,
    );
    b.eval(
        "alice",
        "async (id) => { const m = await import('/sdk/acscalling.js'); \
         const s = await window.acsSample.call.subscribeVideo(id, m.VideoStreamKind.Video, 0); \
         const v = new m.VideoStreamRenderer(s).createView(); v.id = 'remote-video'; \
         document.body.appendChild(v); }",
        json!(bob.id),
    );
    let inbound = b.wait_for(
        "alice",
        "async () => { const r = await window.acsSample.call.getStats(); let got = null; \
         r.forEach(s => { if (s.type === 'inbound-rtp' && s.kind === 'video' \
           && (s.framesDecoded || 0) >= 10) got = { frames: s.framesDecoded, \
           width: s.frameWidth, height: s.frameHeight, codec: s.codecId }; }); \
         const v = document.getElementById('remote-video'); \
         return got && v && v.videoWidth > 0 && { ...got, shown: [v.videoWidth, v.videoHeight] }; }",
        json!(null),
        T,
    );
    println!("native → browser video: {inbound}");
    assert_eq!(inbound["width"], 320, "{inbound}");
    assert_eq!(inbound["height"], 180, "{inbound}");
    assert_eq!(inbound["shown"], json!([320, 180]), "{inbound}");
    // What Chromium shows is the native pattern: same mean colour.
    let shown = page_rgb(&mut b, "alice", Some("#remote-video"), 0);
    let sent = mean_rgb(&acscalling::media::video::test_pattern(1_000, 320, 180).unwrap());
    assert_same_colour("native pattern in Chromium", shown, sent, 25.0);

    // Browser → native: a camera the page draws (a canvas in a known magenta, 640x360, with
    // a moving bar so frames keep coming), encoded by Chromium, decoded by openh264.
    b.eval(
        "alice",
        "async () => { const m = await import('/sdk/acscalling.js'); \
         const c = document.createElement('canvas'); c.width = 640; c.height = 360; \
         const g = c.getContext('2d'); let x = 0; \
         setInterval(() => { g.fillStyle = '#c828a0'; g.fillRect(0, 0, 640, 360); \
           g.fillStyle = '#ffffff'; g.fillRect(x, 340, 20, 20); x = (x + 8) % 620; }, 33); \
         const track = c.captureStream(30).getVideoTracks()[0]; \
         await window.acsSample.call.startVideo(new m.LocalVideoStream({ track })); }",
        json!(null),
    );
    let mut stream = None;
    assert!(
        wait_until(T, || {
            stream = bcall
                .remote_participants()
                .into_iter()
                .find(|p| p.identifier() == alice)
                .map(|p| p.video_stream(VideoStreamKind::Video));
            stream.as_ref().is_some_and(|s| s.is_available())
        }),
        "the browser's camera became available to the native side"
    );
    let stream = stream.unwrap();
    let sizes = Arc::new(Mutex::new(Vec::new()));
    let s2 = sizes.clone();
    let _sub = stream.frames().subscribe(Arc::new(move |f: &BusFrame| {
        s2.lock()
            .push((f.frame.width, f.frame.height, mean_rgb(&f.frame)));
    }));
    stream.subscribe().unwrap();
    let rendered = wait_until(T, || sizes.lock().len() >= 10);
    let outbound = b.eval(
        "alice",
        "async () => { const r = await window.acsSample.call.getStats(); const out = []; \
         r.forEach(s => { if (s.type === 'outbound-rtp' && s.kind === 'video') out.push({ \
           mid: s.mid, packets: s.packetsSent, frames: s.framesEncoded, bytes: s.bytesSent, keyframes: s.keyFramesEncoded, \
           encoder: s.encoderImplementation, codec: s.codecId, plis: s.pliCount }); }); \
         return out; }",
        json!(null),
    );
    println!("browser sent {outbound}; native {:?}", stream.stats());
    assert!(
        rendered,
        "native renders the browser's camera: {:?}; browser sent {outbound}",
        stream.stats()
    );
    let (w, h, seen) = *sizes.lock().last().unwrap();
    println!(
        "browser → native video: {} frames, {w}x{h}",
        sizes.lock().len()
    );
    assert_eq!((w, h), (640, 360), "the page's camera size");
    // #c828a0 = (200, 40, 160), the bar aside. The native renderer converts with BT.601
    // whatever the stream's colour description says (Chromium's encoder signals its own):
    // measured (196, 2, 161), so green may be off by up to 45 here; a broken picture
    // (concealment green, black, grey) is far outside.
    assert_same_colour(
        "the page's camera in the native renderer",
        seen,
        [200.0, 40.0, 160.0],
        45.0,
    );
}

#[test]
fn a_browser_shares_its_screen_with_a_native_user() {
    use acscalling::media::video::BusFrame;
    use acscalling::protocol::VideoStreamKind;
    use parking_lot::Mutex;
    use std::sync::Arc;

    // First: the browsers run one test at a time; nothing else starts before.
    let mut b = Browsers::start();
    let svc = service();
    let bob = Party::new(&svc, "Bob", NATIVE_HZ, true);
    let alice = sign_in(&mut b, &svc, "alice");
    b.fill("alice", "#target", &bob.id);
    b.click("alice", "#call");
    wait_call_state(&mut b, "alice", "Connected");
    assert!(wait_until(T, || bob
        .incoming
        .lock()
        .first()
        .is_some_and(|c| c.state() == CallState::Connected)));
    let bcall = bob.incoming.lock()[0].clone();

    // "Share screen" on the page (a real click: getDisplayMedia needs a user gesture).
    // With Chromium's fake devices the capture is its fake display, a known pattern; the
    // native side must render what the browser captured.
    b.click("alice", "#share");
    b.wait_for(
        "alice",
        "() => window.acsSample.call.localVideoStreams.some(s => s.kind === 1)",
        json!(null),
        T,
    );
    let mut stream = None;
    assert!(
        wait_until(T, || {
            stream = bcall
                .remote_participants()
                .into_iter()
                .find(|p| p.identifier() == alice)
                .map(|p| p.video_stream(VideoStreamKind::ScreenShare));
            stream.as_ref().is_some_and(|s| s.is_available())
        }),
        "the browser's screen share became available to the native side"
    );
    let stream = stream.unwrap();
    let frames = Arc::new(Mutex::new(Vec::new()));
    let f2 = frames.clone();
    let _sub = stream.frames().subscribe(Arc::new(move |f: &BusFrame| {
        f2.lock()
            .push((f.frame.width, f.frame.height, mean_rgb(&f.frame)));
    }));
    stream.subscribe().unwrap();
    assert!(
        wait_until(T, || frames.lock().len() >= 10),
        "native renders the browser's screen share: {:?}",
        stream.stats()
    );
    let (w, h, seen) = *frames.lock().last().unwrap();
    println!(
        "browser screen share → native: {} frames, {w}x{h}",
        frames.lock().len()
    );
    assert_eq!((w, h), (1280, 720), "the share's size");
    // The native renderer shows what the browser captured.
    let local = page_rgb(&mut b, "alice", None, 1);
    assert_same_colour(
        "Chromium's screen share in the native renderer",
        seen,
        local,
        45.0,
    );

    // Stop sharing: the native side sees the stream go away.
    b.eval(
        "alice",
        "async () => { const c = window.acsSample.call; \
         await c.stopVideo(c.localVideoStreams.find(s => s.kind === 1)); }",
        json!(null),
    );
    assert!(
        wait_until(T, || !stream.is_available()),
        "the share became unavailable"
    );
    assert!(bob.saw_video(&alice, VideoStreamKind::ScreenShare, false));

    // The native side shares now: a second share from the browser gets the service's clear
    // refusal (403, naming who shares), and the browser stops sending it.
    let cam = common::video::PatternCamera::start(9_000, 320, 180, 10);
    bcall
        .start_video_from(VideoStreamKind::ScreenShare, cam.bus.clone(), 10.0)
        .unwrap();
    b.wait_for(
        "alice",
        "(id) => window.acsSample.call.remoteParticipants.some(p => p.identifier === id \
         && p.videoStreams.some(s => s.kind === 1))",
        json!(bob.id),
        T,
    );
    let err = b.eval(
        "alice",
        "async () => { const m = await import('/sdk/acscalling.js'); const c = window.acsSample.call; \
         try { await c.startVideo(new m.LocalVideoStream({ screen: true })); return null; } \
         catch (e) { return { code: e.code, message: e.message, \
           sending: c.localVideoStreams.some(s => s.kind === 1) }; } }",
        json!(null),
    );
    assert_eq!(err["code"], 403, "{err}");
    assert!(
        err["message"].as_str().unwrap_or("").contains(&bob.id),
        "{err}"
    );
    assert_eq!(err["sending"], false, "{err}");
}

#[test]
fn the_echo_bot_shows_a_browser_its_own_camera() {
    // First: the browsers run one test at a time; nothing else starts before.
    let mut b = Browsers::start();
    let svc = service();
    sign_in(&mut b, &svc, "alice");
    b.fill("alice", "#target", "8:echo123");
    b.click("alice", "#call");
    wait_call_state(&mut b, "alice", "Connected");
    // Camera on from the page; the echo bot's camera (our own, echoed) appears and the page
    // shows it in a <video>.
    b.click("alice", "#camera");
    let shown = b.wait_for(
        "alice",
        "() => { const v = document.querySelector('#videos video[data-id=\"8:echo123\"]'); \
         return v && v.videoWidth > 0 && [v.videoWidth, v.videoHeight]; }",
        json!(null),
        T,
    );
    assert_eq!(shown, json!([640, 480]), "Chromium's fake camera size");
    // Same picture as captured (mean colour).
    let local = page_rgb(&mut b, "alice", None, 0);
    let echoed = page_rgb(
        &mut b,
        "alice",
        Some("#videos video[data-id=\"8:echo123\"]"),
        0,
    );
    assert_same_colour("own camera via the echo bot", echoed, local, 25.0);
    // Camera off: the echoed stream goes away.
    b.click("alice", "#camera");
    b.wait_for(
        "alice",
        "() => !document.querySelector('#videos video[data-id=\"8:echo123\"]')",
        json!(null),
        T,
    );
}
