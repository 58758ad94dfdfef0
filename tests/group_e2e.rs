//! End-to-end group calls through the real service: join by group id, late joiners, rosters,
//! remove, promote 1:1 → group, invite failures, dominant speakers, speaking flags, top-N
//! forwarding, server-side mixing of large calls with batched rosters, the participant limit
//! and removal of a silent participant.

mod common;

use acscalling::client::*;
use acscalling::media::audio::tone_power;
use acscalling::protocol::{CallState, EndReason, ParticipantState};
use common::party::Party as Member;
use common::{wait_until, Service};
use std::collections::BTreeSet;
use std::time::Duration;

const T: Duration = Duration::from_secs(15);
/// Tone power a clearly heard tone reaches (a silent one stays under 0.001).
const HEARD: f32 = 0.005;

fn connected(call: &Call) -> bool {
    wait_until(T, || call.state() == CallState::Connected)
}

/// (id, display name, state) of every remote participant, sorted.
fn roster(call: &Call) -> BTreeSet<(String, String, i32)> {
    call.remote_participants()
        .iter()
        .map(|p| {
            (
                p.identifier().to_string(),
                p.display_name(),
                p.state() as i32,
            )
        })
        .collect()
}

/// Asserts that `m` hears exactly the tones of `speakers` (and not its own).
fn assert_hears(m: &Member, speakers: &[&Member], silent: &[&Member]) {
    let pcm = m.listen(1000);
    for s in speakers {
        let p = tone_power(&pcm, s.freq);
        assert!(p > HEARD, "{} should hear {} Hz: {p}", m.id, s.freq);
    }
    for s in silent {
        let p = tone_power(&pcm, s.freq);
        assert!(
            p < HEARD / 5.0,
            "{} should not hear {} Hz: {p}",
            m.id,
            s.freq
        );
    }
}

fn dominant(call: &Call) -> Option<String> {
    call.dominant_speakers().speakers.first().cloned()
}

#[test]
fn four_parties_join_hear_each_other_share_the_roster_and_one_is_removed() {
    let svc = Service::start();
    let names = ["Alice", "Bob", "Carol", "Dave"];
    let freqs = [440.0, 550.0, 660.0, 770.0];
    let m: Vec<Member> = names
        .iter()
        .zip(freqs)
        .map(|(n, f)| Member::new(&svc, n, f, false))
        .collect();
    let group = uuid::Uuid::new_v4().to_string();

    // Alice alone in a group call is connected (a group call does not need a second party).
    let a = m[0].join(&group);
    assert!(connected(&a), "alice alone: {:?}", a.state());
    assert!(a.is_group_call());
    assert_eq!(a.call_id(), group);
    let b = m[1].join(&group);
    let c = m[2].join(&group);
    for call in [&b, &c] {
        assert!(connected(call));
    }
    // Dave joins late and gets the full roster at once.
    let d = m[3].join(&group);
    assert!(connected(&d));
    let calls = [&a, &b, &c, &d];
    for (i, call) in calls.iter().enumerate() {
        let want: BTreeSet<_> = m
            .iter()
            .zip(names)
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(_, (x, n))| {
                (
                    x.id.clone(),
                    n.to_string(),
                    ParticipantState::Connected as i32,
                )
            })
            .collect();
        assert!(
            wait_until(T, || roster(call) == want),
            "{}'s roster: {:?}",
            names[i],
            roster(call)
        );
    }

    // Everyone hears the three others (3 forwarded slots), never themselves.
    for i in 0..4 {
        let others: Vec<&Member> = (0..4).filter(|j| *j != i).map(|j| &m[j]).collect();
        assert_hears(&m[i], &others, &[&m[i]]);
    }

    // Only Carol speaks: she is the dominant speaker everywhere and the only one speaking.
    for call in [&a, &b, &d] {
        call.set_muted(true).unwrap();
    }
    for (i, call) in calls.iter().enumerate() {
        if i == 2 {
            continue;
        }
        assert!(
            wait_until(T, || dominant(call).as_deref() == Some(m[2].id.as_str())),
            "{} sees dominant {:?}",
            names[i],
            call.dominant_speakers()
        );
        let carol = call
            .remote_participants()
            .into_iter()
            .find(|p| p.identifier() == m[2].id)
            .unwrap();
        assert!(wait_until(T, || carol.is_speaking()), "carol speaks");
        for p in call.remote_participants() {
            if p.identifier() != m[2].id {
                assert!(
                    wait_until(T, || !p.is_speaking()),
                    "{} is muted",
                    p.identifier()
                );
            }
        }
        assert!(m[i].dominant_events() >= 1);
    }
    assert!(c.dominant_speakers().timestamp_ms > 0);
    // Now Dave speaks instead of Carol.
    c.set_muted(true).unwrap();
    d.set_muted(false).unwrap();
    for call in [&a, &b, &c] {
        assert!(
            wait_until(T, || dominant(call).as_deref() == Some(m[3].id.as_str())),
            "dominant after the switch: {:?}",
            call.dominant_speakers()
        );
    }
    assert_hears(&m[0], &[&m[3]], &[&m[1], &m[2]]);
    for call in [&a, &b, &c] {
        call.set_muted(false).unwrap();
    }

    // Alice removes Dave: his call ends with 0/5300 and everyone sees why he left.
    let dave = a
        .remote_participants()
        .into_iter()
        .find(|p| p.identifier() == m[3].id)
        .unwrap();
    a.remove_participant(&dave).unwrap();
    assert!(wait_until(T, || d.state() == CallState::Disconnected));
    assert_eq!(d.end_reason(), EndReason::REMOVED);
    for x in &m[..3] {
        assert!(
            wait_until(T, || x.left_with(&m[3].id, EndReason::REMOVED)),
            "{:?}",
            x.left()
        );
    }
    assert_eq!(a.remote_participants().len(), 2);
    assert!(wait_until(T, || tone_power(&m[0].listen(600), 770.0) < 0.001));

    // Bob hangs up: the group call goes on for Alice and Carol, who see him leave (0/0).
    b.hang_up(false).unwrap();
    assert!(wait_until(T, || b.state() == CallState::Disconnected));
    for x in [&m[0], &m[2]] {
        assert!(wait_until(T, || x.left_with(&m[1].id, EndReason::LOCAL_HANGUP)));
    }
    assert_eq!(a.state(), CallState::Connected);
    assert_hears(&m[0], &[&m[2]], &[&m[1], &m[3]]);
    // Removing yourself or a stranger is refused locally.
    let carol = a.remote_participants()[0].clone();
    c.hang_up(false).unwrap();
    assert!(wait_until(T, || a.remote_participants().is_empty()));
    assert!(a.remove_participant(&carol).is_err());
    // Alone again, still connected; a new member can join the same group id.
    assert_eq!(a.state(), CallState::Connected);
    a.hang_up(false).unwrap();
    assert!(wait_until(T, || a.state() == CallState::Disconnected));
    assert!(m[0].agent.join("not-a-uuid", m[0].options()).is_err());
}

#[test]
fn promoting_a_one_to_one_call_keeps_its_audio_and_invites_ring() {
    let svc = Service::start();
    let alice = Member::new(&svc, "Alice", 440.0, false);
    let bob = Member::new(&svc, "Bob", 550.0, true);
    let carol = Member::new(&svc, "Carol", 660.0, true);
    let offline = svc.create_user();

    let call = alice
        .agent
        .start_call(std::slice::from_ref(&bob.id), alice.options())
        .unwrap();
    assert!(connected(&call));
    let bcall = bob.incoming.lock()[0].clone();
    assert!(connected(&bcall));
    assert!(!call.is_group_call());
    assert_hears(&alice, &[&bob], &[&carol]);

    // Alice adds Carol: Carol rings (an incoming call naming Alice), accepts, connects.
    let p = call.add_participant(&carol.id).unwrap();
    assert_eq!(p.identifier(), carol.id);
    assert!(wait_until(T, || alice.saw_state(&carol.id, ParticipantState::Ringing)));
    assert!(wait_until(T, || bob.saw_state(&carol.id, ParticipantState::Ringing)));
    assert!(wait_until(T, || p.state() == ParticipantState::Connected));
    let ccall = carol.incoming.lock()[0].clone();
    assert!(connected(&ccall));
    assert_eq!(ccall.call_id(), call.call_id());
    assert!(call.is_group_call());
    // The original audio never stopped: same call, same media, and now three-way.
    assert_eq!(call.state(), CallState::Connected);
    assert_hears(&alice, &[&bob, &carol], &[]);
    assert_hears(&bob, &[&alice, &carol], &[]);
    assert_hears(&carol, &[&alice, &bob], &[]);
    assert_eq!(roster(&ccall).len(), 2);

    // Invitations that cannot ring come back with reasons.
    let unknown = format!("8:acs:{}", uuid::Uuid::new_v4());
    call.add_participant(&unknown).unwrap();
    assert!(wait_until(T, || alice
        .left()
        .iter()
        .any(|(id, r)| *id == unknown && r.code == 404)));
    call.add_participant(&offline).unwrap();
    assert!(wait_until(T, || alice
        .left()
        .iter()
        .any(|(id, r)| *id == offline && r.code == 480)));
    assert!(
        call.add_participant(&bob.id).is_err(),
        "already in the call"
    );
    assert!(call.add_participant("garbage").is_err());

    // Bob leaves: the promoted call goes on between Alice and Carol.
    bcall.hang_up(false).unwrap();
    assert!(wait_until(T, || alice.left_with(&bob.id, EndReason::LOCAL_HANGUP)));
    std::thread::sleep(Duration::from_millis(300));
    assert_eq!(call.state(), CallState::Connected);
    assert_eq!(ccall.state(), CallState::Connected);
    assert_hears(&alice, &[&carol], &[&bob]);
    call.hang_up(false).unwrap();
    ccall.hang_up(false).unwrap();
}

#[test]
fn large_calls_forward_only_the_loudest_and_refuse_one_join_too_many() {
    // 2 forwarded slots, at most 5 participants.
    let svc = Service::start_with(&["--forwarded-speakers", "2", "--max-participants", "5"]);
    let freqs = [440.0, 550.0, 660.0, 770.0, 880.0];
    let m: Vec<Member> = freqs
        .iter()
        .enumerate()
        .map(|(i, f)| Member::new(&svc, &format!("P{i}"), *f, false))
        .collect();
    let group = uuid::Uuid::new_v4().to_string();
    let calls: Vec<Call> = m
        .iter()
        .map(|x| {
            let c = x.join(&group);
            assert!(connected(&c));
            c
        })
        .collect();
    // Only P1 and P3 speak.
    for i in [0, 2, 4] {
        calls[i].set_muted(true).unwrap();
    }
    assert!(wait_until(T, || {
        let d = calls[0].dominant_speakers().speakers;
        d.len() == 2 && d.contains(&m[1].id) && d.contains(&m[3].id)
    }));
    std::thread::sleep(Duration::from_millis(500));
    assert_hears(&m[0], &[&m[1], &m[3]], &[&m[2], &m[4]]);
    // P3 stops, P4 starts: the slot goes to P4.
    calls[3].set_muted(true).unwrap();
    calls[4].set_muted(false).unwrap();
    assert!(wait_until(T, || dominant(&calls[0]).is_some()
        && calls[0].dominant_speakers().speakers.contains(&m[4].id)));
    std::thread::sleep(Duration::from_millis(500));
    assert_hears(&m[0], &[&m[1], &m[4]], &[&m[2]]);

    // A sixth participant is refused: the call is full (403/10110).
    let sixth = Member::new(&svc, "P5", 990.0, false);
    let c6 = sixth.join(&group);
    assert!(wait_until(T, || c6.state() == CallState::Disconnected));
    assert_eq!(c6.end_reason(), EndReason::CALL_FULL);
    // Nor can anyone invite into the full call.
    calls[0].add_participant(&sixth.id).unwrap();
    assert!(wait_until(T, || m[0].left_with(&sixth.id, EndReason::CALL_FULL)));
    for c in &calls {
        c.hang_up(false).unwrap();
    }
}

#[test]
fn large_calls_are_mixed_by_the_service_and_rosters_batched() {
    // Mixed above 3 participants, roster changes batched above 2.
    let svc = Service::start_with(&["--mix-above", "3", "--batch-roster-above", "2"]);
    let freqs = [440.0, 550.0, 660.0, 770.0, 880.0];
    let m: Vec<Member> = freqs
        .iter()
        .enumerate()
        .map(|(i, f)| Member::new(&svc, &format!("M{i}"), *f, false))
        .collect();
    let group = uuid::Uuid::new_v4().to_string();
    let calls: Vec<Call> = m
        .iter()
        .map(|x| {
            let c = x.join(&group);
            assert!(connected(&c));
            c
        })
        .collect();
    // Batched roster updates (ParticipantsUpdated) still give everyone the full roster.
    for (i, call) in calls.iter().enumerate() {
        let want: BTreeSet<_> = m
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .map(|(j, x)| {
                (
                    x.id.clone(),
                    format!("M{j}"),
                    ParticipantState::Connected as i32,
                )
            })
            .collect();
        assert!(
            wait_until(T, || roster(call) == want),
            "M{i}: {:?}",
            roster(call)
        );
    }
    // M1, M2 and M3 speak; M0 and M4 listen.
    for i in [0, 4] {
        calls[i].set_muted(true).unwrap();
    }
    let speakers = [&m[1].id, &m[2].id, &m[3].id];
    for call in &calls {
        assert!(wait_until(T, || {
            let d = call.dominant_speakers().speakers;
            d.len() == 3 && speakers.iter().all(|s| d.contains(s))
        }));
    }
    std::thread::sleep(Duration::from_millis(500));
    // Listeners hear the mix of all three; a speaker hears the two others, never itself.
    assert_hears(&m[0], &[&m[1], &m[2], &m[3]], &[&m[0], &m[4]]);
    assert_hears(&m[4], &[&m[1], &m[2], &m[3]], &[&m[0], &m[4]]);
    assert_hears(&m[1], &[&m[2], &m[3]], &[&m[1], &m[0], &m[4]]);
    assert_hears(&m[3], &[&m[1], &m[2]], &[&m[3]]);
    // Speaking flags follow the service's ranking (the mixed slot has no single owner).
    let flag = |call: &Call, who: &str| {
        call.remote_participants()
            .into_iter()
            .find(|p| p.identifier() == who)
            .is_some_and(|p| p.is_speaking())
    };
    for s in speakers {
        assert!(wait_until(T, || flag(&calls[0], s)), "{s} speaks");
    }
    assert!(!flag(&calls[0], &m[4].id));
    // M3 mutes: it leaves the ranking, its flag drops and the mix carries its silence.
    calls[3].set_muted(true).unwrap();
    assert!(wait_until(T, || !calls[0]
        .dominant_speakers()
        .speakers
        .contains(&m[3].id)));
    assert!(wait_until(T, || !flag(&calls[0], &m[3].id)));
    std::thread::sleep(Duration::from_millis(300));
    assert_hears(&m[0], &[&m[1], &m[2]], &[&m[3], &m[4]]);
    // M4 speaks up: it is mixed in (in M3's place) and dominant-ranked.
    calls[4].set_muted(false).unwrap();
    assert!(wait_until(T, || calls[0]
        .dominant_speakers()
        .speakers
        .contains(&m[4].id)));
    std::thread::sleep(Duration::from_millis(500));
    assert_hears(&m[0], &[&m[1], &m[2], &m[4]], &[&m[3]]);
    assert_hears(&m[4], &[&m[1], &m[2]], &[&m[4]]);
    // Removals are batched too (ParticipantsRemoved): M4 hangs up and M0 removes M3; the
    // others see both leave, each with its reason, and the roster shrinks.
    calls[4].hang_up(false).unwrap();
    let m3 = calls[0]
        .remote_participants()
        .into_iter()
        .find(|p| p.identifier() == m[3].id)
        .unwrap();
    calls[0].remove_participant(&m3).unwrap();
    for i in [0, 1, 2] {
        assert!(wait_until(T, || m[i].left_with(&m[4].id, EndReason::LOCAL_HANGUP)));
        assert!(wait_until(T, || m[i].left_with(&m[3].id, EndReason::REMOVED)));
        assert!(wait_until(T, || calls[i].remote_participants().len() == 2));
    }
    assert!(wait_until(T, || calls[3].state() == CallState::Disconnected));
    for c in &calls[..3] {
        c.hang_up(false).unwrap();
    }
}

#[test]
fn a_participant_silent_on_signaling_is_removed_as_inactive() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::Message;
    let svc = Service::start_with(&["--inactivity-timeout-secs", "2"]);
    let alice = Member::new(&svc, "Alice", 440.0, false);
    let group = uuid::Uuid::new_v4().to_string();
    let call = alice.join(&group);
    assert!(connected(&call));

    // Mallory joins over a raw WebSocket with a real offer, then never reads again (so never
    // answers the service's pings) and never connects media.
    let mallory = svc.create_user();
    let token = svc.token(&mallory);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let ws_url = format!("{}/signaling", svc.ws_url);
    let offer = acscalling_test_offer();
    let g = group.clone();
    let _ws = rt.block_on(async move {
        let (mut ws, _) = tokio_tungstenite::connect_async(ws_url).await.unwrap();
        let hello = serde_json::json!({"type":"hello","protocol":acscalling::protocol::PROTOCOL_VERSION,
            "token":token,"display_name":"Mallory"});
        ws.send(Message::Text(hello.to_string().into())).await.unwrap();
        let _welcome = ws.next().await;
        let join = serde_json::json!({"type":"join_group_call","req":1,"group_id":g,"offer_sdp":offer});
        ws.send(Message::Text(join.to_string().into())).await.unwrap();
        ws
    });
    assert!(wait_until(T, || alice
        .saw_state(&mallory, ParticipantState::Connecting)));
    // The service pings every second and gives up after two silent seconds.
    assert!(
        wait_until(T, || alice.left_with(&mallory, EndReason::INACTIVE)),
        "{:?}",
        alice.left()
    );
    // Alice, who answers pings, is still in the call.
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(call.state(), CallState::Connected);
    call.hang_up(false).unwrap();
}

/// A real WebRTC offer shaped like the SDK's (str0m as the offerer).
fn acscalling_test_offer() -> String {
    use str0m::media::{Direction, MediaKind};
    let mut rtc = str0m::Rtc::builder().build(std::time::Instant::now());
    let addr: std::net::SocketAddr = "127.0.0.1:9".parse().unwrap();
    rtc.add_local_candidate(str0m::Candidate::host(addr, "udp").unwrap());
    let mut api = rtc.sdp_api();
    api.add_media(MediaKind::Audio, Direction::SendRecv, None, None, None);
    let (offer, _pending) = api.apply().unwrap();
    offer.to_sdp_string()
}

/// The seed's timeouts with shortened clocks, end to end through the service: an invitee
/// who never answers a promoted call is removed after the promote timeout (115 s, here 2 s)
/// and one who never answers a 1:1 call ends it after the setup timeout (85 s, here 3 s), each
/// with 408/10004 that caller, other parties and the invitee see.
#[test]
fn unanswered_invitations_time_out_with_the_service_clocks() {
    let svc = Service::start_with(&["--promote-timeout-secs", "2", "--setup-timeout-secs", "3"]);
    let alice = Member::new(&svc, "Alice", 440.0, false);
    let bob = Member::new(&svc, "Bob", 550.0, true);
    let carol = Member::new(&svc, "Carol", 660.0, false);
    let dave = Member::new(&svc, "Dave", 770.0, false);

    let call = alice
        .agent
        .start_call(std::slice::from_ref(&bob.id), alice.options())
        .unwrap();
    assert!(connected(&call));
    let invited = std::time::Instant::now();
    call.add_participant(&carol.id).unwrap();
    assert!(wait_until(T, || alice.saw_state(&carol.id, ParticipantState::Ringing)));
    assert!(wait_until(T, || alice.left_with(&carol.id, EndReason::NO_ANSWER)));
    let promote_after = invited.elapsed();
    assert!(
        promote_after >= Duration::from_millis(1900) && promote_after < Duration::from_secs(6),
        "removed after {promote_after:?}"
    );
    assert!(wait_until(T, || bob.left_with(&carol.id, EndReason::NO_ANSWER)));
    assert!(
        wait_until(T, || carol.incoming.lock().len() == 1),
        "Carol was rung"
    );
    let ringing = carol.incoming.lock().clone();
    assert!(wait_until(T, || ringing[0].state() == CallState::Disconnected));
    assert_eq!(call.state(), CallState::Connected, "the call goes on");

    let placed = std::time::Instant::now();
    let unanswered = alice
        .agent
        .start_call(std::slice::from_ref(&dave.id), alice.options())
        .unwrap();
    assert!(wait_until(T, || unanswered.state() == CallState::Disconnected));
    let after = placed.elapsed();
    assert_eq!(
        unanswered.end_reason().code,
        408,
        "{:?}",
        unanswered.end_reason()
    );
    assert!(
        after >= Duration::from_millis(2900) && after < Duration::from_secs(8),
        "ended after {after:?}"
    );
    println!(
        "promote timeout: invitee removed {} ms after the invitation (clock 2 s); setup \
         timeout: call ended {} ms after it was placed (clock 3 s)",
        promote_after.as_millis(),
        after.as_millis()
    );
    call.hang_up(false).unwrap();
}
