//! Media connected ahead in the browser (`PrepareMedia`): a signed-in agent's next call
//! names a session whose ICE and DTLS are done, so its setup waits for no transport; a
//! prepared session the service no longer holds falls back to a fresh offer. Both ways the
//! call carries audio both ways (real Chromium, real service; see tests/browser_e2e.rs).
//!
//! Needs `scripts/setup.sh` (chromium, web/node_modules).
mod common;

use acscalling::protocol::CallState;
use common::browser::*;
use common::party::Party;
use common::wait_until;
use serde_json::{json, Value};

/// Starts a call from the page's agent to `id` and waits until it is Connected; returns
/// whether its media was prepared and its setup steps.
const CALL: &str = "async (id) => { const c = window.acsSample.call = \
  window.acsSample.agent.startCall([id]); \
  await new Promise((r, j) => { const f = () => c.state === 5 ? r() \
    : c.state === 8 ? j(new Error('ended: ' + JSON.stringify(c.callEndReason))) : setTimeout(f, 2); f(); }); \
  return { prepared: c.mediaPrepared, steps: c.setupTimings }; }";

fn hang_up(b: &mut Browsers, name: &str, bob: &Party, n: usize) {
    b.eval(
        name,
        "async () => { await window.acsSample.call.hangUp(); }",
        json!(null),
    );
    let call = bob.incoming.lock()[n].clone();
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
}

#[test]
fn prepared_media_carries_the_call_and_a_lost_one_falls_back_to_an_offer() {
    let mut b = Browsers::start();
    let svc = service();
    let bob = Party::new(&svc, "Bob", NATIVE_HZ, true);
    sign_in(&mut b, &svc, "alice");

    // 1. The agent prepares its media; the call takes it and carries audio both ways.
    let ready = b.eval(
        "alice",
        "async () => window.acsSample.agent.prepareMedia()",
        json!(null),
    );
    assert_eq!(ready, Value::Bool(true), "the agent prepared its media");
    let r = b.eval("alice", CALL, json!(bob.id));
    assert_eq!(r["prepared"], Value::Bool(true), "the call used it: {r}");
    println!("prepared: Connected with steps {}", r["steps"]);
    assert!(wait_until(T, || bob
        .incoming
        .lock()
        .first()
        .is_some_and(|c| c.state() == CallState::Connected)));
    bob.hears(BROWSER_HZ, 0.01)
        .unwrap_or_else(|p| panic!("native does not hear the browser: {p:?}"));
    assert_browser_hears(&mut b, "alice", NATIVE_HZ);
    hang_up(&mut b, "alice", &bob, 0);

    // 2. The prepared session is lost before the call: two more `prepare_media` requests
    // on the agent's connection push it out (a connection holds two). The service refuses
    // it (400/10010) and the SDK offers on a new PeerConnection: the call still connects
    // and carries audio.
    let ready = b.eval(
        "alice",
        "async () => { const a = window.acsSample.agent; \
         if (!(await a.prepareMedia())) return false; \
         for (let i = 0; i < 2; i++) { \
           const m = new RTCPeerConnection(); m.addTransceiver('audio'); \
           const o = await m.createOffer(); \
           await a.signaling.request({ type: 'prepare_media', offer_sdp: o.sdp }); m.close(); } \
         return true; }",
        json!(null),
    );
    assert_eq!(ready, Value::Bool(true));
    let r = b.eval("alice", CALL, json!(bob.id));
    assert_eq!(r["prepared"], Value::Bool(false), "it offered instead: {r}");
    assert!(wait_until(T, || bob
        .incoming
        .lock()
        .get(1)
        .is_some_and(|c| c.state() == CallState::Connected)));
    bob.hears(BROWSER_HZ, 0.01)
        .unwrap_or_else(|p| panic!("native does not hear the browser after the fallback: {p:?}"));
    assert_browser_hears(&mut b, "alice", NATIVE_HZ);
    println!("fallback: Connected with steps {}", r["steps"]);
    hang_up(&mut b, "alice", &bob, 1);
}
