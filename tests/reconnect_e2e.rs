//! Calls survive the network (issue 14): the agents' signaling and media go through a
//! userspace relay ([`Netcut`]) that the test cuts like a pulled cable and restores. The
//! SDK notices, shows it is reconnecting, resumes its session (same calls, same roster) and
//! its media comes back, without the host doing anything; a party gone longer than the
//! reconnect window is removed with 408/10006 and its own call ends with that reason.
//! Without the relay: SIGTERM ends calls with a reason, and after a service restart group
//! calls are joined again under their id (held or muted as they were, video received and
//! sent again, whoever never comes back removed) while 1:1 calls end with 503/10008.
#[path = "common/churn.rs"]
mod churn;
mod common;

use std::time::{Duration, Instant};

use acscalling::client::{AgentConnectionState, AgentEvent, Call};
use acscalling::protocol::{CallState, EndReason, ParticipantState, VideoStreamKind};
use common::netcut::Netcut;
use common::party::{Party, PartySpec};
use common::video::{CounterReader, PatternCamera};
use common::{wait_until, RestartableService, Service};

const T: Duration = Duration::from_secs(20);

/// These tests time recoveries (detection after 4 s of silence, backoff, ICE restarts) and
/// each runs a service and three agents; run side by side on two cores they starve each
/// other's timers (a 5 s cut once never came back). One at a time.
fn serial() -> std::sync::MutexGuard<'static, ()> {
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}
const ECHO: &str = "8:echo123";

/// A service whose SFU is reached through `net` (and whose echo bot answers after 20 ms).
fn service_behind(net: &Netcut, extra: &[&str]) -> Service {
    let port = Netcut::free_udp_port().to_string();
    let public = net.udp_addr.to_string();
    let mut args = vec![
        "--media-port",
        &port,
        "--media-public",
        &public,
        "--echo-delay-ms",
        "20",
    ];
    args.extend_from_slice(extra);
    let svc = Service::start_with(&args);
    net.set_targets(
        svc.http_addr.parse().unwrap(),
        format!("127.0.0.1:{port}").parse().unwrap(),
    );
    svc
}

/// A party whose signaling goes through `net`.
fn party_through(net: &Netcut, svc: &Service, name: &str, freq: f32, auto_accept: bool) -> Party {
    Party::with(
        svc,
        PartySpec {
            auto_accept,
            service_url: Some(net.ws_url()),
            ..PartySpec::new(name, freq)
        },
    )
}

/// Milliseconds from now until `p` hears `freq` (listening in 100 ms slices), or None
/// within `limit`.
fn time_to_hear(p: &Party, freq: f32, limit: Duration) -> Option<u128> {
    let t0 = Instant::now();
    while t0.elapsed() < limit {
        let pcm = p.listen(100);
        if acscalling::media::audio::tone_power(&pcm, freq) > 0.01 {
            return Some(t0.elapsed().as_millis());
        }
    }
    None
}

/// The agent connection states `p` went through, in order.
fn agent_states(p: &Party) -> Vec<AgentConnectionState> {
    p.events()
        .iter()
        .filter_map(|e| match e {
            AgentEvent::ConnectionStateChanged { state, .. } => Some(*state),
            _ => None,
        })
        .collect()
}

/// The reconnect indications of `call` at `p`, in order.
fn reconnects(p: &Party, call: &Call) -> Vec<bool> {
    p.events()
        .iter()
        .filter_map(|e| match e {
            AgentEvent::NetworkReconnect {
                call: c,
                reconnecting,
            } if c.call_id() == call.call_id() => Some(*reconnecting),
            _ => None,
        })
        .collect()
}

/// Cuts the network for `secs`, restores it, and checks that the echo call and the 1:1
/// call came back as they were.
fn survive_cut(secs: u64) {
    let _ = env_logger::builder().is_test(true).try_init();
    let net = Netcut::new();
    let svc = service_behind(&net, &[]);
    let alice = party_through(&net, &svc, "alice", 700.0, false);
    let bob = party_through(&net, &svc, "bob", 1100.0, true);
    let carol = party_through(&net, &svc, "carol", 900.0, false);

    let echo = carol.call(ECHO);
    assert!(wait_until(T, || echo.state() == CallState::Connected));
    let call = alice.call(&bob.id);
    assert!(wait_until(T, || call.state() == CallState::Connected));
    assert!(wait_until(T, || bob
        .incoming
        .lock()
        .first()
        .is_some_and(|c| c.state() == CallState::Connected)));
    let bobs = bob.incoming.lock()[0].clone();
    assert!(
        time_to_hear(&carol, 900.0, T).is_some(),
        "echo before the cut"
    );
    alice
        .hears(1100.0, 0.01)
        .expect("alice hears bob before the cut");
    bob.hears(700.0, 0.01)
        .expect("bob hears alice before the cut");
    for p in [&alice, &bob, &carol] {
        p.clear_events();
    }

    net.cut();
    std::thread::sleep(Duration::from_secs(secs));
    // Everyone noticed and is reconnecting; no call ended.
    for p in [&alice, &bob, &carol] {
        assert_eq!(
            p.agent.connection_state(),
            AgentConnectionState::Reconnecting,
            "{secs} s into the cut"
        );
    }
    assert!(call.is_reconnecting() && echo.is_reconnecting());
    net.restore();
    let restored = Instant::now();

    let echo_back = time_to_hear(&carol, 900.0, T).expect("the echo comes back");
    let alice_back = time_to_hear(&alice, 1100.0, T).expect("alice hears bob again");
    bob.hears(700.0, 0.01).expect("bob hears alice again");
    println!(
        "{secs} s cut: echo audio back {echo_back} ms after the network returned; \
         1:1 audio back by {} ms (alice: {alice_back} ms into her listening)",
        restored.elapsed().as_millis()
    );
    assert!(wait_until(T, || [&alice, &bob, &carol]
        .iter()
        .all(
            |p| p.agent.connection_state() == AgentConnectionState::Connected
        )));
    assert!(wait_until(T, || !call.is_reconnecting()
        && !echo.is_reconnecting()
        && !bobs.is_reconnecting()));

    // The same calls, never left Connected; the host saw reconnecting, then connected.
    assert_eq!(call.state(), CallState::Connected);
    assert_eq!(bobs.state(), CallState::Connected);
    assert_eq!(echo.state(), CallState::Connected);
    assert_eq!(alice.agent.calls().len(), 1);
    assert_eq!(alice.agent.calls()[0].call_id(), call.call_id());
    for p in [&alice, &bob, &carol] {
        assert_eq!(
            agent_states(p),
            vec![
                AgentConnectionState::Reconnecting,
                AgentConnectionState::Connected
            ]
        );
        assert!(
            p.call_states().is_empty(),
            "no call state change: {:?}",
            p.call_log()
        );
        assert!(p.left().is_empty(), "nobody left: {:?}", p.left());
    }
    assert_eq!(reconnects(&alice, &call), vec![true, false]);
    assert_eq!(reconnects(&carol, &echo), vec![true, false]);
    // The roster is whole on both sides.
    let roster = call.remote_participants();
    assert_eq!(roster.len(), 1);
    assert_eq!(roster[0].identifier(), bob.id);
    assert_eq!(roster[0].state(), ParticipantState::Connected);

    // Signaling works on the resumed sessions: hang-up reaches the other side.
    call.hang_up(false).unwrap();
    assert!(wait_until(T, || bobs.state() == CallState::Disconnected));
    echo.hang_up(false).unwrap();
}

#[test]
fn a_five_second_cut_is_survived() {
    let _one_at_a_time = serial();
    survive_cut(5);
}

#[test]
fn a_thirty_second_cut_is_survived() {
    let _one_at_a_time = serial();
    survive_cut(30);
}

#[test]
fn a_party_gone_longer_than_the_reconnect_window_is_removed() {
    let _one_at_a_time = serial();
    // A 3 s reconnect window instead of 120 s. Only Alice's signaling goes through the relay,
    // so only she is gone (media keeps flowing until the service removes her).
    let net = Netcut::new();
    let svc = service_behind(&net, &["--inactivity-timeout-secs", "3"]);
    let alice = party_through(&net, &svc, "alice", 700.0, false);
    let bob = Party::new(&svc, "bob", 1100.0, true);
    let call = alice.call(&bob.id);
    assert!(wait_until(T, || call.state() == CallState::Connected));
    assert!(wait_until(T, || bob
        .incoming
        .lock()
        .first()
        .is_some_and(|c| c.state() == CallState::Connected)));
    let bobs = bob.incoming.lock()[0].clone();

    // Cut Alice's signaling only: the relay's UDP side carries Bob's media too, so the test
    // restores nothing and lets the window pass.
    net.cut();
    let cut = Instant::now();
    assert!(
        wait_until(T, || bobs.state() == CallState::Disconnected),
        "bob's 1:1 call ends when alice is removed"
    );
    let removed_after = cut.elapsed();
    assert!(
        wait_until(T, || bob.left_with(&alice.id, EndReason::INACTIVE)),
        "bob saw alice leave with 408/10006: {:?}",
        bob.left()
    );
    // Alice's SDK gives up at the end of its window too: the call ends with the same reason,
    // the agent is disconnected (never a silent dead call).
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
    assert_eq!(call.end_reason(), EndReason::INACTIVE);
    assert_eq!(
        alice.agent.connection_state(),
        AgentConnectionState::Disconnected
    );
    println!(
        "removed {} ms after the cut (signaling silence 4 s + window 3 s)",
        removed_after.as_millis()
    );
    // The service counted from the silence it noticed; not before the window.
    assert!(removed_after >= Duration::from_secs(3));
    net.restore();
}

/// The last agent connection change of `p`: (state, reason, message).
fn last_connection_change(p: &Party) -> Option<(AgentConnectionState, EndReason, String)> {
    p.events().iter().rev().find_map(|e| match e {
        AgentEvent::ConnectionStateChanged {
            state,
            reason,
            message,
        } => Some((*state, *reason, message.clone())),
        _ => None,
    })
}

#[test]
fn sigterm_ends_every_call_with_a_reason_and_tells_the_agents() {
    let _one_at_a_time = serial();
    let svc = Service::start_with(&["--echo-delay-ms", "20"]);
    let alice = Party::new(&svc, "alice", 700.0, false);
    let bob = Party::new(&svc, "bob", 1100.0, true);
    let call = alice.call(&bob.id);
    let echo = bob.call(ECHO);
    assert!(wait_until(T, || call.state() == CallState::Connected
        && echo.state() == CallState::Connected));
    let pid = svc.pid().unwrap();
    let killed = Instant::now();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap()
        .success());
    for c in [&call, &echo] {
        assert!(wait_until(T, || c.state() == CallState::Disconnected));
        assert_eq!(c.end_reason(), EndReason::SERVICE_SHUTDOWN);
    }
    for p in [&alice, &bob] {
        assert!(wait_until(T, || p.agent.connection_state()
            == AgentConnectionState::Disconnected));
        let (state, reason, message) = last_connection_change(p).unwrap();
        assert_eq!(state, AgentConnectionState::Disconnected);
        assert_eq!(reason, EndReason::SERVICE_SHUTDOWN, "{message}");
        assert!(message.contains("shutting down"), "{message}");
        // Told, not lost: the agent does not try to resume.
        assert!(!agent_states(p).contains(&AgentConnectionState::Reconnecting));
        assert!(p.agent.calls().is_empty());
    }
    println!(
        "calls ended and agents told {} ms after SIGTERM",
        killed.elapsed().as_millis()
    );
}

#[test]
fn a_service_restart_mid_call_rejoins_group_calls_and_ends_one_to_one_calls() {
    let _one_at_a_time = serial();
    let _ = env_logger::builder().is_test(true).try_init();
    let mut svc = RestartableService::start(&[]);
    let alice = Party::new(svc.service(), "alice", 700.0, false);
    let bob = Party::new(svc.service(), "bob", 1100.0, true);
    let call = alice.call(&bob.id);
    assert!(wait_until(T, || call.state() == CallState::Connected));
    let bobs_call = bob.agent.calls().into_iter().next().unwrap();
    let group = uuid::Uuid::new_v4().to_string();
    let ga = alice.join(&group);
    let gb = bob.join(&group);
    for g in [&ga, &gb] {
        assert!(wait_until(T, || g.state() == CallState::Connected
            && g.remote_participants().len() == 1));
    }

    // The service dies (no goodbye) and comes back on the same address with the same store.
    svc.kill9();
    assert!(wait_until(T, || alice.agent.connection_state()
        == AgentConnectionState::Reconnecting));
    std::thread::sleep(Duration::from_secs(2));
    svc.restart();
    let back = Instant::now();

    // The agents reconnect by themselves (their users and tokens survived in the store).
    for p in [&alice, &bob] {
        assert!(wait_until(T, || p.agent.connection_state()
            == AgentConnectionState::Connected));
    }
    println!(
        "agents reconnected {} ms after the service came back",
        back.elapsed().as_millis()
    );
    // The 1:1 call's media and roster lived in the process that died: it ends with 503/10008.
    for c in [&call, &bobs_call] {
        assert!(wait_until(T, || c.state() == CallState::Disconnected));
        assert_eq!(c.end_reason(), EndReason::SESSION_LOST);
    }
    // The group call is joined again under the same id: same Call objects, each party in
    // the other's roster again, audio both ways, and the reconnect indication cleared.
    for g in [&ga, &gb] {
        assert!(wait_until(T, || g.remote_participants().len() == 1
            && !g.is_reconnecting()));
        assert_eq!(g.state(), CallState::Connected);
        assert_eq!(g.call_id(), group);
    }
    let a_hears = time_to_hear(&alice, 1100.0, T).expect("alice hears bob again");
    let b_hears = time_to_hear(&bob, 700.0, T).expect("bob hears alice again");
    println!(
        "group call rejoined: audio back {} ms after the service came back (alice {a_hears} ms, \
         bob {b_hears} ms after the rejoin)",
        back.elapsed().as_millis()
    );
    for (p, g) in [(&alice, &ga), (&bob, &gb)] {
        assert_eq!(
            reconnects(p, g).last(),
            Some(&false),
            "{:?}",
            reconnects(p, g)
        );
        assert!(reconnects(p, g).contains(&true));
        let calls = p.agent.calls();
        assert_eq!(calls.len(), 1);
        assert_eq!(calls[0].call_id(), group);
    }
    // And a new call works at once.
    let again = alice.call(ECHO);
    assert!(wait_until(T, || again.state() == CallState::Connected));
    again.hang_up(false).unwrap();
    for g in [&ga, &gb] {
        g.hang_up(false).unwrap();
    }
}

#[test]
fn a_rejoined_group_call_keeps_video_mute_and_hold_and_drops_who_never_came_back() {
    // Alice mutes and renders Bob's camera, Erin holds, Carol does not come back.
    let _one_at_a_time = serial();
    let _ = env_logger::builder().is_test(true).try_init();
    // A 3 s reconnect window: who is not back 3 s after the rejoin is removed.
    let mut svc = RestartableService::start(&["--inactivity-timeout-secs", "3"]);
    let alice = Party::new(svc.service(), "alice", 700.0, false);
    let bob = Party::new(svc.service(), "bob", 1100.0, false);
    let carol = Party::new(svc.service(), "carol", 1500.0, false);
    let erin = Party::new(svc.service(), "erin", 300.0, false);
    let group = uuid::Uuid::new_v4().to_string();
    let (ga, gb, gc) = (alice.join(&group), bob.join(&group), carol.join(&group));
    let ge = erin.join(&group);
    for g in [&ga, &gb, &gc, &ge] {
        assert!(wait_until(T, || g.state() == CallState::Connected
            && g.remote_participants().len() == 3));
    }
    let cam = PatternCamera::start(0, 320, 180, 20);
    gb.start_video_from(VideoStreamKind::Video, cam.bus.clone(), 20.0)
        .unwrap();
    let bobs_video = || {
        ga.remote_participants()
            .into_iter()
            .find(|p| p.identifier() == bob.id)
            .map(|p| p.video_stream(VideoStreamKind::Video))
    };
    assert!(wait_until(T, || bobs_video().is_some_and(|s| s.is_available())));
    let stream = bobs_video().unwrap();
    let reader = CounterReader::on(&stream.frames());
    stream.subscribe().unwrap();
    assert!(
        wait_until(T, || reader.count() >= 5),
        "{:?}",
        stream.stats()
    );
    ga.set_muted(true).unwrap();
    ge.set_hold(true).unwrap();
    assert!(wait_until(T, || ge.state() == CallState::LocalHold));

    // The service dies; Carol's app closes while it is down (she never comes back).
    let before = churn::gauges();
    svc.kill9();
    assert!(wait_until(T, || alice.agent.connection_state()
        == AgentConnectionState::Reconnecting));
    carol.agent.dispose();
    std::thread::sleep(Duration::from_secs(1));
    let svc = svc.restart();
    let back = Instant::now();
    for p in [&alice, &bob, &erin] {
        assert!(wait_until(T, || p.agent.connection_state()
            == AgentConnectionState::Connected));
    }

    let reconnected = back.elapsed();
    // Erin's held call was rejoined, still held; Alice's was rejoined, still muted.
    assert!(wait_until(T, || [&ga, &gb, &ge]
        .iter()
        .all(|g| !g.is_reconnecting())));
    let rejoined = back.elapsed();
    assert_eq!(ge.state(), CallState::LocalHold);
    assert_eq!(gb.state(), CallState::Connected);
    assert_eq!(ga.state(), CallState::Connected);
    assert!(ga.is_muted());
    // Alice's renderer goes on without the host subscribing again: same stream object,
    // new frames with counters past those before the restart.
    let last_counter = reader.seen.lock().last().map_or(0, |s| s.0);
    reader.clear();
    assert!(
        wait_until(T, || reader.count() >= 10),
        "bob's video after the rejoin: {:?} (subscribed {})",
        stream.stats(),
        stream.is_subscribed()
    );
    assert!(stream.is_subscribed());
    assert!(reader.seen.lock().iter().all(|s| s.0 > last_counter));
    println!(
        "after the service came back: agents reconnected at {} ms, calls rejoined at {} ms, \
         10 frames of bob's video rendered at alice at {} ms",
        reconnected.as_millis(),
        rejoined.as_millis(),
        back.elapsed().as_millis()
    );
    // Nothing leaks on our side: the old transports' sockets are closed (three new ones
    // replaced them, Carol's went with her), the agents hold one link each.
    let after = churn::settle(&before, Duration::from_secs(5));
    assert!(
        after.udp <= before.udp && after.tcp <= before.tcp,
        "before the restart: {before}; after the rejoin: {after}"
    );
    // Someone joining now sees what the restarted service was told: Alice muted, Bob
    // sending video (announced with the rejoin, not a blip later), Erin on hold.
    let dave = Party::new(svc, "dave", 1900.0, false);
    let gd = dave.join(&group);
    let seen_by_dave = |who: &str| {
        gd.remote_participants()
            .into_iter()
            .find(|p| p.identifier() == who)
    };
    assert!(wait_until(T, || {
        seen_by_dave(&alice.id).is_some_and(|p| p.is_muted())
            && seen_by_dave(&bob.id)
                .is_some_and(|p| p.video_stream(VideoStreamKind::Video).is_available())
            && seen_by_dave(&erin.id).is_some_and(|p| p.state() == ParticipantState::Hold)
    }));
    // Carol never came back: removed with 408/10006 once the window passed, on both sides.
    for (p, g) in [(&alice, &ga), (&bob, &gb), (&erin, &ge)] {
        assert!(
            wait_until(T, || p.left_with(&carol.id, EndReason::INACTIVE)),
            "{:?}",
            p.left()
        );
        assert_eq!(g.remote_participants().len(), 3, "the other two + dave");
    }
    assert!(
        back.elapsed() >= Duration::from_secs(3),
        "not before the window"
    );
    // Erin resumes: Dave hears her.
    ge.set_hold(false).unwrap();
    assert!(wait_until(T, || ge.state() == CallState::Connected));
    assert!(time_to_hear(&dave, 300.0, T).is_some(), "dave hears erin");
    for g in [&ga, &gb, &ge, &gd] {
        g.hang_up(false).unwrap();
    }
}
