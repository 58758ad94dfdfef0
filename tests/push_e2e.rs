//! Incoming calls by push notification: the callee's app is not connected when Alice calls;
//! the service POSTs a signed notification to the push target Bob registered (a real HTTP
//! receiver in the test), Bob's app comes up from it, hands it to a new agent, and answers.

mod common;

use acscalling::client::*;
use acscalling::error::Error;
use acscalling::protocol::push::{self, PushCall, PushEnvelope};
use acscalling::protocol::{CallState, EndReason, ParticipantState};
use common::party::Party;
use common::webhook::Webhook;
use common::{wait_until, Service};
use std::time::{Duration, Instant};

const T: Duration = Duration::from_secs(20);
const SECRET: &str = "bob's push secret 0123456789";

/// The push results `party` received: (result, reason, subject).
fn push_results(p: &Party) -> Vec<(PushNotificationResult, EndReason, String, String)> {
    p.events()
        .into_iter()
        .filter_map(|e| match e {
            AgentEvent::PushNotification {
                result,
                reason,
                message,
                url,
                call_id,
            } => Some((
                result,
                reason,
                if call_id.is_empty() { url } else { call_id },
                message,
            )),
            _ => None,
        })
        .collect()
}

fn registered(p: &Party, url: &str) {
    p.agent.register_push_notification(url, SECRET).unwrap();
    assert!(
        wait_until(T, || push_results(p)
            .iter()
            .any(|r| r.0 == PushNotificationResult::Registered && r.2 == url)),
        "{:?}",
        push_results(p)
    );
}

/// Bob registers, goes away; Alice calls; the notification arrives; Bob's new agent handles
/// it, gets the call, answers; each hears the other. The same notification again is refused.
#[test]
fn a_callee_with_no_agent_is_woken_by_push_answers_and_both_hear_each_other() {
    let svc = Service::start();
    let hook = Webhook::start();
    let bob = Party::new(&svc, "Bob", 900.0, false);
    let bob_id = bob.id.clone();
    registered(&bob, &hook.url);
    bob.agent.dispose();
    drop(bob);

    let alice = Party::new(&svc, "Alice", 700.0, false);
    let started = Instant::now();
    let call = alice.call(&bob_id);
    let posts = hook.wait_posts(1, T);
    assert_eq!(posts.len(), 1, "one notification for one target");
    let post = &posts[0];
    let to_post = post.at - started;
    // The callee rings meanwhile (it would time out after the 85 s setup timeout).
    assert!(wait_until(T, || alice.saw_state(&bob_id, ParticipantState::Ringing)));
    assert_eq!(call.state(), CallState::Ringing, "{:?}", alice.call_log());
    // The signature header matches the body's, and the body opens with the secret.
    let env: PushEnvelope = serde_json::from_str(&post.body).unwrap();
    assert_eq!(post.signature.as_deref(), Some(env.signature.as_str()));
    let data: PushCall = serde_json::from_str(&env.data).unwrap();
    assert_eq!(data.callee, bob_id);
    assert_eq!(data.caller, alice.id);
    assert_eq!(data.caller_display_name, "Alice");
    assert_eq!(data.call_id, call.call_id());

    // Bob's app starts, creates an agent and hands it the body.
    let woken = Instant::now();
    let bob = Party::for_user(&svc, "Bob", &bob_id, 900.0, false);
    let connected = woken.elapsed();
    let handled = Instant::now();
    assert_eq!(
        bob.agent
            .handle_push_notification(&post.body, SECRET)
            .unwrap(),
        call.call_id()
    );
    assert!(
        wait_until(T, || !bob.incoming.lock().is_empty()),
        "{:?}",
        push_results(&bob)
    );
    let to_incoming = handled.elapsed();
    let incoming = bob.incoming.lock()[0].clone();
    assert_eq!(incoming.call_id(), call.call_id());
    assert_eq!(incoming.state(), CallState::Incoming);
    assert_eq!(incoming.remote_participants()[0].identifier(), alice.id);
    // Handed over again: refused at once, nothing else rings.
    match bob.agent.handle_push_notification(&post.body, SECRET) {
        Err(Error::InvalidState(m)) => assert!(m.contains("already handled"), "{m}"),
        other => panic!("a replay was not refused: {other:?}"),
    }
    incoming.accept(bob.options()).unwrap();
    assert!(wait_until(T, || call.state() == CallState::Connected
        && incoming.state() == CallState::Connected));
    alice
        .hears(900.0, 0.005)
        .unwrap_or_else(|p| panic!("alice hears bob: {p:?}"));
    bob.hears(700.0, 0.005)
        .unwrap_or_else(|p| panic!("bob hears alice: {p:?}"));
    println!(
        "push: call start -> POST {:.1} ms; agent connect {:.1} ms; handle -> incoming call {:.1} ms",
        to_post.as_secs_f64() * 1e3,
        connected.as_secs_f64() * 1e3,
        to_incoming.as_secs_f64() * 1e3
    );
    assert_eq!(
        hook.posts().len(),
        1,
        "a delivered notification is not sent again"
    );
    call.hang_up(false).unwrap();
    assert!(wait_until(T, || incoming.state() == CallState::Disconnected));
}

/// Forged, altered, stale, foreign and malformed notifications are refused with a clear
/// error and ring nothing; a valid one for a call that stopped ringing is refused by the
/// service with its reason.
#[test]
fn bad_notifications_are_refused_and_a_call_that_stopped_ringing_is_not_delivered() {
    let svc = Service::start();
    let hook = Webhook::start();
    let bob = Party::new(&svc, "Bob", 900.0, false);
    let bob_id = bob.id.clone();
    registered(&bob, &hook.url);
    bob.agent.dispose();
    drop(bob);
    let alice = Party::new(&svc, "Alice", 700.0, false);
    let call = alice.call(&bob_id);
    let body = hook.wait_posts(1, T).remove(0).body;
    let bob = Party::for_user(&svc, "Bob", &bob_id, 900.0, false);

    let refused = |payload: &str, secret: &str| bob.agent.handle_push_notification(payload, secret);
    assert!(matches!(
        refused(&body, "another secret 0123456789"),
        Err(Error::Unauthorized(_))
    ));
    let altered = body.replace(&alice.id, "8:acs:00000000-0000-0000-0000-000000000000");
    assert!(matches!(
        refused(&altered, SECRET),
        Err(Error::Unauthorized(_))
    ));
    for garbage in [
        "",
        "{}",
        "not json",
        "{\"version\":1,\"data\":\"x\",\"signature\":\"v1=00\"}",
    ] {
        assert!(
            matches!(refused(garbage, SECRET), Err(Error::InvalidArgument(_))),
            "{garbage}"
        );
    }
    let env: PushEnvelope = serde_json::from_str(&body).unwrap();
    let data: PushCall = serde_json::from_str(&env.data).unwrap();
    let now = data.issued_at_ms;
    let stale = push::seal(
        SECRET.as_bytes(),
        &PushCall {
            issued_at_ms: now - 120_000,
            expires_at_ms: now - 60_000,
            ..data.clone()
        },
    );
    match refused(&stale, SECRET) {
        Err(Error::Timeout(m)) => assert!(m.contains("expired"), "{m}"),
        other => panic!("a stale notification: {other:?}"),
    }
    let foreign = push::seal(
        SECRET.as_bytes(),
        &PushCall {
            callee: alice.id.clone(),
            nonce: "other".into(),
            ..data.clone()
        },
    );
    assert!(matches!(
        refused(&foreign, SECRET),
        Err(Error::InvalidArgument(_))
    ));
    // A well-signed notification with a nonce the service never sent: refused by the service.
    let unknown = push::seal(
        SECRET.as_bytes(),
        &PushCall {
            nonce: "never-sent".into(),
            ..data.clone()
        },
    );
    refused(&unknown, SECRET).unwrap();
    assert!(
        wait_until(T, || push_results(&bob)
            .iter()
            .any(|r| r.0 == PushNotificationResult::CallRefused
                && r.1 == EndReason::NOT_FOUND
                && r.2 == call.call_id())),
        "{:?}",
        push_results(&bob)
    );
    assert!(bob.incoming.lock().is_empty(), "nothing rang");

    // Alice gives up; the real notification is then refused by the service: 410/10013.
    call.hang_up(false).unwrap();
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
    refused(&body, SECRET).unwrap();
    assert!(
        wait_until(T, || push_results(&bob).iter().any(|r| r.0
            == PushNotificationResult::CallRefused
            && r.1 == EndReason::PUSH_CALL_GONE)),
        "{:?}",
        push_results(&bob)
    );
    assert!(bob.incoming.lock().is_empty(), "nothing rang");
}

/// A target that fails is retried with backoff until it answers; one that never answers is
/// given up with a log line; unregistered targets get nothing and the call is unavailable.
#[test]
fn failing_targets_are_retried_with_backoff_given_up_and_unregistered() {
    let dir = std::env::temp_dir().join(format!("acs-push-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let log = dir.join("service.log");
    // A 4 s setup timeout: the notifications are valid 4 s.
    let svc = Service::start_logged(&["--setup-timeout-secs", "4"], &log);
    let flaky = Webhook::start();
    flaky.answer_next(&[503, 500]);
    let dead_url = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/push", l.local_addr().unwrap())
    };
    let bob = Party::new(&svc, "Bob", 900.0, false);
    let bob_id = bob.id.clone();
    registered(&bob, &flaky.url);
    registered(&bob, &dead_url);
    // Bad targets are refused before they leave.
    assert!(matches!(
        bob.agent
            .register_push_notification("https://example.org/push", SECRET),
        Err(Error::InvalidArgument(_))
    ));
    assert!(matches!(
        bob.agent.register_push_notification(&flaky.url, "short"),
        Err(Error::InvalidArgument(_))
    ));
    bob.agent.dispose();
    drop(bob);

    let alice = Party::new(&svc, "Alice", 700.0, false);
    let call = alice.call(&bob_id);
    let posts = flaky.wait_posts(3, T);
    assert_eq!(
        posts.iter().map(|p| p.status).collect::<Vec<_>>(),
        vec![503, 500, 200]
    );
    let gaps: Vec<u128> = posts
        .windows(2)
        .map(|w| (w[1].at - w[0].at).as_millis())
        .collect();
    println!("retry gaps {gaps:?} ms");
    assert!(
        gaps[0] >= 200 && gaps[1] >= 450 && gaps[1] > gaps[0],
        "{gaps:?}"
    );
    // The dead target is given up (the notification expires after 4 s), with a log line.
    assert!(
        wait_until(T, || std::fs::read_to_string(&log)
            .unwrap_or_default()
            .lines()
            .any(|l| l.contains(&dead_url) && l.contains("gave up after"))),
        "{}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    // Nobody answered: the setup timeout ends the call.
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
    assert_eq!(call.end_reason(), EndReason::NO_ANSWER);
    assert_eq!(
        flaky.posts().len(),
        3,
        "a delivered notification is not repeated"
    );

    // Bob unregisters one target, then all; a call then finds him unavailable.
    let bob = Party::for_user(&svc, "Bob", &bob_id, 900.0, false);
    // One at a time: each answer is an event of its own.
    for (n, url) in [Some(&dead_url), Some(&dead_url), None]
        .into_iter()
        .enumerate()
    {
        bob.agent
            .unregister_push_notification(url.map(String::as_str))
            .unwrap();
        assert!(
            wait_until(T, || push_results(&bob).len() > n),
            "{:?}",
            push_results(&bob)
        );
    }
    let r = push_results(&bob);
    assert_eq!(r[0].0, PushNotificationResult::Unregistered, "{r:?}");
    assert_eq!(r[0].2, dead_url);
    assert_eq!(
        r[1].0,
        PushNotificationResult::UnregistrationFailed,
        "{r:?}"
    );
    assert_eq!(r[1].1, EndReason::NOT_FOUND);
    assert_eq!(r[2].0, PushNotificationResult::Unregistered, "{r:?}");
    bob.agent.dispose();
    drop(bob);
    let call = alice.call(&bob_id);
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
    assert_eq!(call.end_reason(), EndReason::UNAVAILABLE);
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(
        flaky.posts().len(),
        3,
        "no notification to unregistered targets"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// Push targets live in the service's store: they outlive a restart.
#[test]
fn push_targets_survive_a_service_restart() {
    let mut svc = common::RestartableService::start(&[]);
    let hook = Webhook::start();
    let bob = Party::new(svc.service(), "Bob", 900.0, false);
    let bob_id = bob.id.clone();
    registered(&bob, &hook.url);
    bob.agent.dispose();
    drop(bob);
    svc.kill9();
    svc.restart();
    let alice = Party::new(svc.service(), "Alice", 700.0, false);
    let call = alice.call(&bob_id);
    let post = hook.wait_posts(1, T);
    assert_eq!(post.len(), 1, "the target came back with the store");
    assert!(post[0].body.contains(call.call_id()));
    call.hang_up(false).unwrap();
}

/// Run as a child process by the next test (`ACS_PUSH_CHILD` names the service and user): an
/// app that connects Bob's agent and is then killed, leaving its session to the service's
/// resume window.
#[test]
fn child_app_connects_and_waits_to_be_killed() {
    let Ok(spec) = std::env::var("ACS_PUSH_CHILD") else {
        return;
    };
    let (http, user) = spec.split_once(' ').expect("http user");
    let svc = Service::external(http);
    let bob = Party::for_user(&svc, "Bob", user, 900.0, false);
    println!("child connected {}", bob.id);
    std::thread::sleep(Duration::from_secs(60));
}

/// An app killed by the system (no goodbye: its session waits for a resume on the service)
/// is notified at once, not after the 120 s resume window; its session rings too.
#[test]
fn a_killed_app_whose_session_waits_for_a_resume_is_notified_by_push() {
    let svc = Service::start();
    let hook = Webhook::start();
    let bob = Party::new(&svc, "Bob", 900.0, false);
    let bob_id = bob.id.clone();
    registered(&bob, &hook.url);
    bob.agent.dispose();
    drop(bob);
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "child_app_connects_and_waits_to_be_killed",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ACS_PUSH_CHILD", format!("{} {bob_id}", svc.http_addr))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    loop {
        line.clear();
        use std::io::BufRead;
        assert!(out.read_line(&mut line).unwrap() > 0, "the child app ended");
        if line.contains("child connected") {
            break;
        }
    }
    child.kill().unwrap();
    child.wait().unwrap();
    // The service sees the link drop (not a close): the session waits for a resume.
    std::thread::sleep(Duration::from_millis(300));
    let alice = Party::new(&svc, "Alice", 700.0, false);
    let call = alice.call(&bob_id);
    let posts = hook.wait_posts(1, Duration::from_secs(5));
    assert_eq!(posts.len(), 1, "a notification for the killed app");
    let bob = Party::for_user(&svc, "Bob", &bob_id, 900.0, true);
    bob.agent
        .handle_push_notification(&posts[0].body, SECRET)
        .unwrap();
    assert!(
        wait_until(T, || call.state() == CallState::Connected),
        "{:?}",
        alice.call_log()
    );
    bob.hears(700.0, 0.005)
        .unwrap_or_else(|p| panic!("bob hears alice: {p:?}"));
    call.hang_up(false).unwrap();
}

/// A phone calls Bob's number while no agent of his is connected: the phone hears ringing,
/// Bob's push target is notified, his app answers from the notification and hears himself
/// through the phone's echo.
#[test]
fn a_phone_call_to_a_user_with_no_agent_is_pushed_and_answered() {
    let svc = Service::start_with(&["--sip-listen", "127.0.0.1:0", "--sip-allow", "127.0.0.1"]);
    let sip = svc.sip_addr.clone().expect("the service printed sip=");
    let hook = Webhook::start();
    let bob = Party::new(&svc, "Bob", 900.0, false);
    let bob_id = bob.id.clone();
    registered(&bob, &hook.url);
    bob.agent.dispose();
    drop(bob);
    let (st, body) = svc.request(
        "PUT",
        &format!("/identities/{bob_id}/phone-numbers/+15551230001"),
        "",
    );
    assert_eq!(st, 200, "{body}");
    let mut sipp = common::sipp::Sipp::start(
        "phone_calls_in.xml",
        &["-rtp_echo", "-s", "+15551230001", &sip],
    );
    let posts = hook.wait_posts(1, T);
    assert_eq!(posts.len(), 1, "sipp: {}", sipp.errors());
    let data: PushCall = serde_json::from_str(
        &serde_json::from_str::<PushEnvelope>(&posts[0].body)
            .unwrap()
            .data,
    )
    .unwrap();
    assert_eq!(data.caller, "4:+15559876543");
    let bob = Party::for_user(&svc, "Bob", &bob_id, 900.0, true);
    bob.agent
        .handle_push_notification(&posts[0].body, SECRET)
        .unwrap();
    assert!(wait_until(T, || !bob.incoming.lock().is_empty()));
    let call = bob.incoming.lock()[0].clone();
    assert!(
        wait_until(T, || call.state() == CallState::Connected),
        "{:?} / sipp: {}",
        bob.call_log(),
        sipp.errors()
    );
    bob.hears(900.0, 0.01)
        .unwrap_or_else(|p| panic!("bob hears himself through the phone: {p:?}"));
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
    sipp.assert_passed(Duration::from_secs(10));
}

/// Alice invites Bob, who has no agent connected, into her group call: he is notified, comes
/// up from the notification and joins; Alice and Carol hear him and he hears them.
#[test]
fn a_group_invitation_reaches_a_user_with_no_agent_by_push() {
    let svc = Service::start();
    let hook = Webhook::start();
    let bob = Party::new(&svc, "Bob", 900.0, false);
    let bob_id = bob.id.clone();
    registered(&bob, &hook.url);
    bob.agent.dispose();
    drop(bob);
    let alice = Party::new(&svc, "Alice", 700.0, false);
    let carol = Party::new(&svc, "Carol", 1100.0, false);
    let group = uuid::Uuid::new_v4().to_string();
    let a = alice.join(&group);
    let c = carol.join(&group);
    assert!(wait_until(T, || a.state() == CallState::Connected
        && c.state() == CallState::Connected));
    a.add_participant(&bob_id).unwrap();
    let posts = hook.wait_posts(1, T);
    assert_eq!(posts.len(), 1);
    let bob = Party::for_user(&svc, "Bob", &bob_id, 900.0, true);
    bob.agent
        .handle_push_notification(&posts[0].body, SECRET)
        .unwrap();
    assert!(wait_until(T, || !bob.incoming.lock().is_empty()));
    let b = bob.incoming.lock()[0].clone();
    assert_eq!(b.call_id(), group);
    assert!(wait_until(T, || b.state() == CallState::Connected));
    for f in [700.0, 1100.0] {
        bob.hears(f, 0.002)
            .unwrap_or_else(|p| panic!("bob hears {f} Hz: {p:?}"));
    }
    alice
        .hears(900.0, 0.002)
        .unwrap_or_else(|p| panic!("alice hears bob: {p:?}"));
}
