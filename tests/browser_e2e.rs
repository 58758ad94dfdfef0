//! The browser client in real Chromium (Debian's, headless, driven by playwright-core) against
//! the real service: the sample page served by the service signs in with a dev token, calls
//! the echo bot and native users, takes a native user's call, joins group calls; tokens,
//! https, a network cut and bad input. Each side checks what it hears: the browser with an
//! AnalyserNode on what its call receives, the native side with the Goertzel power on its
//! virtual speaker. Video and screen sharing: tests/browser_video_e2e.rs.
//!
//! Needs `scripts/setup.sh` (chromium, web/node_modules). Run alone:
//! `cargo test --workspace --test browser_e2e`.
mod common;

use acscalling::protocol::{CallState, EndReason};
use common::browser::*;
use common::party::Party;
use common::{wait_until, RestartableService, Service};
use serde_json::json;
use std::time::Duration;

#[test]
fn browser_calls_the_echo_bot_and_hears_itself() {
    // First: the browsers run one test at a time; nothing else starts before.
    let mut b = Browsers::start();
    let svc = service();
    sign_in(&mut b, &svc, "alice");
    b.fill("alice", "#target", "8:echo123");
    b.click("alice", "#call");
    let connected = wait_call_state(&mut b, "alice", "Connected");
    let setup_ms = connected["setup_ms"].as_f64().expect("setup time");
    println!(
        "browser → 8:echo123: Connected {setup_ms:.1} ms after startCall (ms from start: {})",
        connected["steps"]
    );
    // The roster lists the echo bot, connected.
    b.wait_for(
        "alice",
        "() => [...document.querySelectorAll('#roster li')].some(li => \
         li.dataset.id === '8:echo123' && li.dataset.state === 'Connected')",
        json!(null),
        T,
    );
    // Its own tone comes back (through the SFU's echo bot), and nothing else.
    let loud = assert_browser_hears(&mut b, "alice", BROWSER_HZ);
    assert_browser_silent_at(&mut b, "alice", NATIVE_HZ, loud - 30.0);
    // Muted, the echo goes quiet; unmuted, it is back.
    b.click("alice", "#mute");
    b.wait_for(
        "alice",
        "() => window.acsSample.call.isMuted",
        json!(null),
        T,
    );
    std::thread::sleep(Duration::from_millis(800));
    assert_browser_silent_at(&mut b, "alice", BROWSER_HZ, loud - 30.0);
    b.click("alice", "#mute");
    assert_browser_hears(&mut b, "alice", BROWSER_HZ);

    b.click("alice", "#hangup");
    let ended = wait_call_state(&mut b, "alice", "Disconnected");
    assert_eq!(ended["reason"], json!({ "code": 0, "subcode": 0 }));
}

#[test]
fn browser_calls_a_native_user_and_both_hear_each_other() {
    // First: the browsers run one test at a time; nothing else starts before.
    let mut b = Browsers::start();
    let svc = service();
    let bob = Party::new(&svc, "Bob", NATIVE_HZ, true);
    let alice = sign_in(&mut b, &svc, "alice");
    let (connected, bcall) = browser_calls_native(&mut b, "alice", &bob);
    println!(
        "browser → native: browser Connected {:.1} ms after startCall",
        connected["setup_ms"].as_f64().unwrap_or(f64::NAN)
    );
    assert!(bcall
        .remote_participants()
        .iter()
        .any(|p| p.identifier() == alice));

    // Bob (native) hears the browser's tone; the browser hears Bob's.
    bob.hears(BROWSER_HZ, 0.01)
        .unwrap_or_else(|p| panic!("native does not hear the browser: {p:?}"));
    assert_browser_hears(&mut b, "alice", NATIVE_HZ);
    // The browser's roster shows Bob connected.
    b.wait_for(
        "alice",
        "(id) => [...document.querySelectorAll('#roster li')].some(li => \
         li.dataset.id === id && li.dataset.state === 'Connected')",
        json!(bob.id),
        T,
    );

    // Mute in the browser: Bob's roster shows it, and Bob stops hearing the tone.
    b.click("alice", "#mute");
    assert!(wait_until(T, || bcall
        .remote_participants()
        .iter()
        .any(|p| p.identifier() == alice && p.is_muted())));
    let p = acscalling::media::audio::tone_power(&bob.listen(600), BROWSER_HZ);
    assert!(p < 0.001, "muted browser still heard by native: {p}");
    b.click("alice", "#mute");

    // The browser hangs up: Bob's call ends as a remote hang-up.
    b.click("alice", "#hangup");
    wait_call_state(&mut b, "alice", "Disconnected");
    assert!(
        wait_until(T, || bcall.state() == CallState::Disconnected),
        "{:?}",
        bob.call_log()
    );
    assert_eq!(bcall.end_reason(), EndReason::REMOTE_HANGUP);
}

#[test]
fn a_native_user_calls_the_browser_and_the_browser_accepts() {
    // First: the browsers run one test at a time; nothing else starts before.
    let mut b = Browsers::start();
    let svc = service();
    let browser_id = sign_in(&mut b, &svc, "bob");
    let alice = Party::new(&svc, "Alice", NATIVE_HZ, false);
    let call = alice.call(&browser_id);
    // The page shows the incoming call with the caller's name; accept it there.
    b.wait_for(
        "bob",
        "() => !document.getElementById('incoming').hidden \
         && document.getElementById('caller').textContent",
        json!(null),
        T,
    );
    let caller = b.eval(
        "bob",
        "async () => document.getElementById('caller').textContent",
        json!(null),
    );
    assert!(
        caller.as_str().unwrap_or("").contains(&alice.id),
        "caller shown: {caller}"
    );
    b.click("bob", "#accept");
    wait_call_state(&mut b, "bob", "Connected");
    assert!(
        wait_until(T, || call.state() == CallState::Connected),
        "{:?}",
        alice.call_log()
    );
    alice
        .hears(BROWSER_HZ, 0.01)
        .unwrap_or_else(|p| panic!("native does not hear the browser: {p:?}"));
    assert_browser_hears(&mut b, "bob", NATIVE_HZ);

    // Hold in the browser: the native side sees the call on remote hold.
    b.click("bob", "#hold");
    wait_call_state(&mut b, "bob", "LocalHold");
    assert!(
        wait_until(T, || call.state() == CallState::RemoteHold),
        "{:?}",
        alice.call_log()
    );
    b.click("bob", "#hold");
    wait_call_state(&mut b, "bob", "Connected");
    assert!(wait_until(T, || call.state() == CallState::Connected));

    // The native side hangs up: the browser's call ends as a remote hang-up.
    call.hang_up(false).unwrap();
    let ended = wait_call_state(&mut b, "bob", "Disconnected");
    assert_eq!(ended["reason"], json!({ "code": 0, "subcode": 4097 }));
}

#[test]
fn bad_input_from_the_browser_gets_clear_errors() {
    // First: the browsers run one test at a time; nothing else starts before.
    let mut b = Browsers::start();
    let svc = service();
    sign_in(&mut b, &svc, "eve");
    // The SDK refuses a malformed id before sending anything.
    let err = b
        .try_eval(
            "eve",
            "async () => { window.acsSample.agent.startCall(['alice']); }",
            json!(null),
        )
        .expect_err("a bad id is refused");
    assert!(err.contains("invalid identifier 'alice'"), "{err}");
    // An unknown user: the service ends the call with 404.
    b.eval(
        "eve",
        "async () => { window.acsSample.call = window.acsSample.agent.startCall(['8:acs:nobody']); \
         window.acsSample.call.on('stateChanged', (e) => { window.lastEnd = e; }); }",
        json!(null),
    );
    let end = b.wait_for(
        "eve",
        "() => window.lastEnd && window.lastEnd.state === 8 && window.lastEnd",
        json!(null),
        T,
    );
    assert_eq!(end["reason"]["code"], 404, "{end}");
    // A forged token: createCallAgent rejects with 401 and the service's reason.
    let err = b.eval(
        "eve",
        "async () => { const m = await import('/sdk/acscalling.js'); \
         try { await new m.CallClient().createCallAgent(new m.TokenCredential('a.b.c')); \
         return null; } catch (e) { return { code: e.code, message: e.message }; } }",
        json!(null),
    );
    assert_eq!(err["code"], 401, "{err}");
    assert!(err["message"].as_str().unwrap_or("").len() > 5, "{err}");
    // A raw malformed message on the signaling socket: the service answers with 400.
    let err = b.eval(
        "eve",
        "async () => new Promise((resolve) => { \
           const ws = new WebSocket(`ws://${location.host}/signaling`); \
           ws.onopen = () => ws.send('{\"type\":\"nope\"}'); \
           ws.onmessage = (e) => resolve(JSON.parse(e.data)); })",
        json!(null),
    );
    assert_eq!(err["type"], "error", "{err}");
    assert_eq!(err["error"]["code"], 400, "{err}");
}

#[test]
fn a_browser_joins_a_group_call_of_two_native_users() {
    // First: the browsers run one test at a time; nothing else starts before.
    let mut b = Browsers::start();
    let svc = service();
    let group = uuid::Uuid::new_v4().to_string();
    let alice = Party::new(&svc, "Alice", NATIVE_HZ, false);
    let carol = Party::new(&svc, "Carol", 550.0, false);
    let acall = alice.join(&group);
    let ccall = carol.join(&group);
    assert!(wait_until(T, || acall.state() == CallState::Connected
        && ccall.state() == CallState::Connected));

    let me = sign_in(&mut b, &svc, "bob");
    b.fill("bob", "#group", &group);
    b.click("bob", "#join");
    let connected = wait_call_state(&mut b, "bob", "Connected");
    println!(
        "browser joins a group of 2: Connected {:.1} ms after join",
        connected["setup_ms"].as_f64().unwrap_or(f64::NAN)
    );
    // Rosters agree: the browser lists both natives connected, each native lists the browser.
    b.wait_for(
        "bob",
        "(ids) => ids.every(id => [...document.querySelectorAll('#roster li')].some(li => \
         li.dataset.id === id && li.dataset.state === 'Connected'))",
        json!([alice.id, carol.id]),
        T,
    );
    for (party, call) in [(&alice, &acall), (&carol, &ccall)] {
        assert!(
            wait_until(T, || call
                .remote_participants()
                .iter()
                .any(|p| p.identifier() == me
                    && p.state()
                        == acscalling::protocol::ParticipantState::Connected)),
            "{} does not list the browser",
            party.id
        );
    }
    // Everyone hears everyone: the browser both natives (two receive slots), each native
    // the browser.
    assert_browser_hears(&mut b, "bob", NATIVE_HZ);
    assert_browser_hears(&mut b, "bob", 550.0);
    alice
        .hears(BROWSER_HZ, 0.01)
        .unwrap_or_else(|p| panic!("alice does not hear the browser: {p:?}"));
    carol
        .hears(BROWSER_HZ, 0.01)
        .unwrap_or_else(|p| panic!("carol does not hear the browser: {p:?}"));
    // The service says whose audio sits in the browser's slots: both natives.
    b.wait_for(
        "bob",
        "(ids) => ids.every(id => window.acsSample.call.audioSlots.includes(id))",
        json!([alice.id, carol.id]),
        T,
    );

    // The sample page mid-call, kept as a test artefact.
    let dir = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("browser");
    std::fs::create_dir_all(&dir).expect("artefact dir");
    let shot = dir.join("sample-page-group-call.png");
    b.screenshot("bob", &shot);
    let png = std::fs::read(&shot).expect("screenshot written");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "screenshot: {} bytes",
        png.len()
    );
    println!("screenshot: {}", shot.display());

    // The browser leaves: the natives see it go, their call goes on.
    b.click("bob", "#hangup");
    wait_call_state(&mut b, "bob", "Disconnected");
    assert!(wait_until(T, || alice
        .left_with(&me, EndReason::LOCAL_HANGUP)
        || alice.left().iter().any(|(id, _)| id == &me)));
    assert_eq!(acall.state(), CallState::Connected);
}

#[test]
fn two_browsers_and_two_native_users_in_one_group_call() {
    // First: the browsers run one test at a time; nothing else starts before.
    let mut b = Browsers::start();
    let svc = service();
    let group = uuid::Uuid::new_v4().to_string();
    let natives = [
        Party::new(&svc, "Nat1", 440.0, false),
        Party::new(&svc, "Nat2", 550.0, false),
    ];
    let browsers = [
        ("web1", sign_in_with(&mut b, &svc, "web1", 660.0), 660.0f32),
        ("web2", sign_in_with(&mut b, &svc, "web2", 770.0), 770.0f32),
    ];
    let calls: Vec<_> = natives.iter().map(|p| p.join(&group)).collect();
    for (name, _, _) in &browsers {
        b.fill(name, "#group", &group);
        b.click(name, "#join");
        wait_call_state(&mut b, name, "Connected");
    }
    assert!(wait_until(T, || calls
        .iter()
        .all(|c| c.state() == CallState::Connected)));
    let everyone: Vec<String> = natives
        .iter()
        .map(|p| p.id.clone())
        .chain(browsers.iter().map(|b| b.1.clone()))
        .collect();

    // Rosters agree: each party lists the three others, connected.
    for (i, call) in calls.iter().enumerate() {
        let others: Vec<&String> = everyone.iter().filter(|id| **id != natives[i].id).collect();
        assert!(
            wait_until(T, || others.iter().all(|id| call
                .remote_participants()
                .iter()
                .any(|p| p.identifier() == id.as_str()
                    && p.state()
                        == acscalling::protocol::ParticipantState::Connected))),
            "native {i}'s roster"
        );
    }
    for (name, me, _) in &browsers {
        let others: Vec<&String> = everyone.iter().filter(|id| *id != me).collect();
        b.wait_for(
            name,
            "(ids) => ids.every(id => [...document.querySelectorAll('#roster li')].some(li => \
             li.dataset.id === id && li.dataset.state === 'Connected'))",
            json!(others),
            T,
        );
    }

    // Everyone hears everyone (3 others: the service forwards the 3 loudest, all of them).
    for (i, p) in natives.iter().enumerate() {
        for f in [440.0, 550.0, 660.0, 770.0] {
            if f == p.freq {
                continue;
            }
            p.hears(f, 0.005)
                .unwrap_or_else(|pw| panic!("native {i} does not hear {f} Hz: {pw:?}"));
        }
    }
    for (name, _, mine) in &browsers {
        for f in [440.0, 550.0, 660.0, 770.0] {
            if f != *mine {
                assert_browser_hears(&mut b, name, f);
            }
        }
    }

    // Dominant speaker: with everyone but one muted, all four name that one first — a
    // native, then a browser.
    let dominant_native =
        |call: &acscalling::client::Call| call.dominant_speakers().speakers.first().cloned();
    for speaker in [natives[0].id.clone(), browsers[1].1.clone()] {
        for (i, c) in calls.iter().enumerate() {
            c.set_muted(natives[i].id != speaker).unwrap();
        }
        for (name, me, _) in &browsers {
            let mute = *me != speaker;
            b.eval(
                name,
                "async (m) => { const c = window.acsSample.call; \
                 if (c.isMuted !== m) await (m ? c.mute() : c.unmute()); }",
                json!(mute),
            );
        }
        assert!(
            wait_until(Duration::from_secs(15), || calls
                .iter()
                .enumerate()
                .all(|(i, c)| natives[i].id == speaker
                    || dominant_native(c).as_deref() == Some(speaker.as_str()))),
            "natives' dominant speaker is {speaker}: {:?}",
            calls
                .iter()
                .map(|c| c.dominant_speakers())
                .collect::<Vec<_>>()
        );
        for (name, me, _) in &browsers {
            if *me == speaker {
                continue;
            }
            b.wait_for(
                name,
                "(id) => window.acsSample.call.dominantSpeakers[0] === id",
                json!(speaker),
                Duration::from_secs(15),
            );
        }
        println!("dominant speaker agreed by all: {speaker}");
    }
}

#[test]
fn the_sample_page_over_https_calls_the_echo_bot_over_wss() {
    let mut b = Browsers::start();
    let dir = std::env::temp_dir().join(format!("acs-web-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ck =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let web = web_dir().display().to_string();
    let svc = Service::start_tls_with(&cert, &key, &["--web-dir", &web, "--dev-tokens"]);
    b.open_with(
        "alice",
        &format!("https://{}/", svc.http_addr),
        BROWSER_HZ,
        true,
    );
    b.click("alice", "#signin");
    b.wait_for(
        "alice",
        "() => window.acsSample.agent && location.protocol === 'https:'",
        json!(null),
        T,
    );
    b.eval(
        "alice",
        "async () => { (await window.acsSample.client.getDeviceManager()).audioConstraints = \
         { echoCancellation: false, noiseSuppression: false, autoGainControl: false }; }",
        json!(null),
    );
    b.fill("alice", "#target", "8:echo123");
    b.click("alice", "#call");
    wait_call_state(&mut b, "alice", "Connected");
    assert_browser_hears(&mut b, "alice", BROWSER_HZ);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_short_token_is_refreshed_and_the_call_outlives_it() {
    let mut b = Browsers::start();
    let svc = service();
    let user = svc.create_user();
    let token = svc.token_for(&user, Some(6));
    b.open("alice", &format!("http://{}/", svc.http_addr), BROWSER_HZ);
    // The app's own agent: a 6 s token, refreshed from the dev endpoint by the SDK.
    b.eval(
        "alice",
        "async ({ token, user }) => { const m = await import('/sdk/acscalling.js'); \
         window.refreshes = 0; \
         const cred = new m.TokenCredential({ token, tokenRefresher: async () => { \
           window.refreshes++; const r = await fetch('/dev/token', { method: 'POST', \
             body: JSON.stringify({ id: user }) }); return (await r.json()).token; } }); \
         const agent = await new m.CallClient().createCallAgent(cred, { displayName: 'Short' }); \
         window.shortAgent = agent; window.shortCall = agent.startCall(['8:echo123']); }",
        json!({ "token": token, "user": user }),
    );
    b.wait_for(
        "alice",
        "() => window.shortCall.state === 5",
        json!(null),
        T,
    );
    // Past the first token's expiry: refreshed, still connected, the call still up.
    std::thread::sleep(Duration::from_secs(9));
    let st = b.eval(
        "alice",
        "async () => ({ refreshes: window.refreshes, agent: window.shortAgent.connectionState, \
           call: window.shortCall.state })",
        json!(null),
    );
    assert!(st["refreshes"].as_u64().unwrap_or(0) >= 1, "{st}");
    assert_eq!(st["agent"], 1, "agent connected: {st}");
    assert_eq!(st["call"], 5, "call connected: {st}");
}

#[test]
fn a_browser_call_survives_a_five_second_network_cut() {
    use common::netcut::Netcut;
    let mut b = Browsers::start();
    let net = Netcut::new();
    let port = Netcut::free_udp_port().to_string();
    let public = net.udp_addr.to_string();
    let web = web_dir().display().to_string();
    let svc = Service::start_with(&[
        "--web-dir",
        &web,
        "--dev-tokens",
        "--media-port",
        &port,
        "--media-public",
        &public,
        "--echo-delay-ms",
        "20",
    ]);
    net.set_targets(
        svc.http_addr.parse().unwrap(),
        format!("127.0.0.1:{port}").parse().unwrap(),
    );
    b.open("alice", &format!("http://{}/", svc.http_addr), BROWSER_HZ);
    // The page comes from the service; signaling and media go through the cuttable relay.
    b.eval(
        "alice",
        "async (url) => { const m = await import('/sdk/acscalling.js'); \
         const r = await fetch('/dev/token', { method: 'POST' }); const t = await r.json(); \
         const client = new m.CallClient(); \
         (await client.getDeviceManager()).audioConstraints = \
           { echoCancellation: false, noiseSuppression: false, autoGainControl: false }; \
         const agent = await client.createCallAgent(new m.TokenCredential(t.token), { serviceUrl: url }); \
         window.states = []; agent.on('connectionStateChanged', (e) => window.states.push(e.state)); \
         window.acsSample.agent = agent; window.acsSample.call = agent.startCall(['8:echo123']); }",
        json!(net.ws_url()),
    );
    b.wait_for(
        "alice",
        "() => window.acsSample.call.state === 5",
        json!(null),
        T,
    );
    assert_browser_hears(&mut b, "alice", BROWSER_HZ);

    net.cut();
    // The SDK notices the silence (4 s) and reconnects.
    b.wait_for(
        "alice",
        "() => window.states.includes(3)",
        json!(null),
        Duration::from_secs(10),
    );
    std::thread::sleep(Duration::from_secs(1));
    net.restore();
    let back = std::time::Instant::now();
    b.wait_for(
        "alice",
        "() => window.acsSample.agent.connectionState === 1",
        json!(null),
        T,
    );
    println!(
        "browser signaling back {} ms after the network",
        back.elapsed().as_millis()
    );
    // Same call, still connected; its echo is heard again.
    let st = b.eval(
        "alice",
        "async () => ({ call: window.acsSample.call.state, states: window.states })",
        json!(null),
    );
    assert_eq!(st["call"], 5, "{st}");
    assert_browser_hears(&mut b, "alice", BROWSER_HZ);
    println!(
        "browser audio back within {} ms of the network",
        back.elapsed().as_millis()
    );
}

/// The sample page's view of participant `id`'s camera once it has shown 5 frames: frames
/// shown so far and size.
const SHOWN_FRAMES: &str = "(id) => { const v = document.querySelector(`#videos video[data-id='${id}']`); \
    const q = v && v.getVideoPlaybackQuality(); \
    return q && q.totalVideoFrames >= 5 && v.videoWidth > 0 && { frames: q.totalVideoFrames, size: [v.videoWidth, v.videoHeight] }; }";

#[test]
fn a_browser_group_call_is_rejoined_after_a_service_restart() {
    let mut b = Browsers::start();
    let web = web_dir().display().to_string();
    let mut restartable = RestartableService::start(&["--web-dir", &web, "--dev-tokens"]);
    let svc = restartable.service();
    let group = uuid::Uuid::new_v4().to_string();
    let alice = Party::new(svc, "Alice", NATIVE_HZ, false);
    let acall = alice.join(&group);
    let bob = sign_in(&mut b, svc, "bob");
    b.fill("bob", "#group", &group);
    b.click("bob", "#join");
    wait_call_state(&mut b, "bob", "Connected");
    assert!(wait_until(T, || acall.state() == CallState::Connected
        && acall.remote_participants().len() == 1));
    assert_browser_hears(&mut b, "bob", NATIVE_HZ);
    // Alice's camera: the sample page shows it by itself (a subscribe and a renderer view).
    let cam = common::video::PatternCamera::start(5_000, 320, 180, 15);
    acall
        .start_video_from(
            acscalling::protocol::VideoStreamKind::Video,
            cam.bus.clone(),
            15.0,
        )
        .unwrap();
    b.wait_for("bob", SHOWN_FRAMES, json!(alice.id), T);
    b.eval(
        "bob",
        "(id) => { window.aliceView = document.querySelector(`#videos video[data-id='${id}']`); \
           window.aliceStream = window.aliceView.srcObject; }",
        json!(alice.id),
    );
    // Bob mutes: the restarted service must learn it from his rejoin.
    b.eval(
        "bob",
        "async () => window.acsSample.call.mute()",
        json!(null),
    );

    // The service dies and comes back on the same address with the same store.
    restartable.kill9();
    std::thread::sleep(Duration::from_secs(1));
    let svc = restartable.restart();
    let back = std::time::Instant::now();
    // The page's agent reconnects by itself; its group call is joined again: the same Call
    // object, Connected (never shown Connecting), still muted.
    b.wait_for(
        "bob",
        "() => window.acsSample.agent.connectionState === 1",
        json!(null),
        T,
    );
    let st = b.wait_for(
        "bob",
        "(g) => { const c = window.acsSample.call; return c.id === g && c.state === 5 \
         && c.audioSlots.length > 0 && { muted: c.isMuted, state: c.state }; }",
        json!(group),
        T,
    );
    assert_eq!(st["muted"], true, "{st}");
    assert!(wait_until(T, || alice.agent.connection_state()
        == acscalling::client::AgentConnectionState::Connected
        && !acall.is_reconnecting()));
    assert_eq!(acall.state(), CallState::Connected);
    // Someone joining now sees Bob muted (announced with his rejoin).
    let dave = Party::new(svc, "Dave", 550.0, false);
    let dcall = dave.join(&group);
    assert!(wait_until(T, || dcall
        .remote_participants()
        .iter()
        .any(|p| p.identifier() == bob && p.is_muted())));
    // Audio both ways again: Bob hears Alice; Bob unmutes and Alice hears him.
    assert_browser_hears(&mut b, "bob", NATIVE_HZ);
    b.eval(
        "bob",
        "async () => window.acsSample.call.unmute()",
        json!(null),
    );
    alice
        .hears(BROWSER_HZ, 0.01)
        .unwrap_or_else(|p| panic!("alice does not hear the browser after the restart: {p:?}"));
    println!(
        "browser group call rejoined: audio both ways {} ms after the service came back",
        back.elapsed().as_millis()
    );
    // Alice's video goes on in the same view, same MediaStream (now carrying the new
    // connection's track): 10 more frames shown, with no subscribe by the page.
    let before = b.eval("bob", SHOWN_FRAMES, json!(alice.id));
    let after = b.wait_for(
        "bob",
        "(a) => { const v = window.aliceView; const q = v.getVideoPlaybackQuality(); \
         return v.isConnected && v.srcObject === window.aliceStream \
           && window.aliceStream.getVideoTracks()[0].readyState === 'live' \
           && q.totalVideoFrames >= a.frames + 10 && { frames: q.totalVideoFrames, size: [v.videoWidth, v.videoHeight] }; }",
        json!({ "frames": before["frames"] }),
        T,
    );
    println!(
        "alice's video in the browser's same view after the rejoin: {before} → {after}, {} ms after the service came back",
        back.elapsed().as_millis()
    );
    acall.hang_up(false).unwrap();
    dcall.hang_up(false).unwrap();
}
