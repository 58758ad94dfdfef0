//! CallAgent against the real service: wss:// with a self-signed certificate, and token
//! refresh keeping a connection, and a call, alive past the first token's expiry.

mod common;

use acscalling::client::*;
use acscalling::media::audio::{tone_power, AudioDevice};
use acscalling::protocol::CallState;
use common::{wait_until, Service};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

const T: Duration = Duration::from_secs(15);

#[test]
fn wss_with_a_private_ca_carries_a_real_call() {
    let dir = std::env::temp_dir().join(format!("acs-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ck =
        rcgen::generate_simple_self_signed(vec!["127.0.0.1".into(), "localhost".into()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, ck.cert.pem()).unwrap();
    std::fs::write(&key, ck.signing_key.serialize_pem()).unwrap();
    let svc = Service::start_tls(&cert, &key);
    let user = svc.create_user();
    let client = CallClient::new(CallClientOptions::default()).unwrap();
    let wss = svc.ws_url.replace("ws://", "wss://");

    // Without trusting the certificate the connection is refused.
    let untrusted = client
        .create_call_agent(CallAgentOptions {
            service_url: wss.clone(),
            token: svc.token(&user),
            ..Default::default()
        })
        .unwrap();
    assert!(wait_until(T, || untrusted.connection_state()
        == AgentConnectionState::Disconnected));

    let agent = client
        .create_call_agent(CallAgentOptions {
            service_url: wss,
            token: svc.token(&user),
            ca_certificate: Some(cert.clone()),
            ..Default::default()
        })
        .unwrap();
    assert!(wait_until(T, || agent.connection_state()
        == AgentConnectionState::Connected));
    let spk = AudioDevice::pull_speaker("tls-spk", 5000);
    let call = agent
        .start_call(
            &["8:echo123".to_string()],
            CallOptions {
                microphone: Some(AudioDevice::tone_microphone("tls-mic", 700.0, 0.5)),
                speaker: Some(spk.clone()),
                start_muted: false,
            },
        )
        .unwrap();
    assert!(wait_until(T, || call.state() == CallState::Connected));
    std::thread::sleep(Duration::from_millis(2000));
    let mut pcm = vec![0i16; 48_000 * 5];
    let n = spk.pull_pcm(&mut pcm).unwrap();
    assert!(tone_power(&pcm[n.saturating_sub(24_000)..n], 700.0) > 0.01);
    call.hang_up(false).unwrap();
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
    client.shutdown();
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn token_refresh_keeps_the_agent_connected() {
    let svc = Arc::new(Service::start_with(&["--token-warning-secs", "2"]));
    let user = svc.create_user();
    let refreshed = Arc::new(AtomicUsize::new(0));
    let (s2, u2, r2) = (svc.clone(), user.clone(), refreshed.clone());
    let client = CallClient::new(CallClientOptions::default()).unwrap();
    let agent = client
        .create_call_agent(CallAgentOptions {
            service_url: svc.ws_url.clone(),
            token: svc.token_for(&user, Some(4)),
            token_refresher: Some(Arc::new(move || {
                r2.fetch_add(1, Ordering::SeqCst);
                Some(s2.token_for(&u2, Some(3600)))
            })),
            ..Default::default()
        })
        .unwrap();
    assert!(wait_until(T, || agent.connection_state()
        == AgentConnectionState::Connected));
    // Well past the first token's expiry.
    std::thread::sleep(Duration::from_secs(6));
    assert!(
        refreshed.load(Ordering::SeqCst) >= 1,
        "the refresher was asked"
    );
    assert_eq!(agent.connection_state(), AgentConnectionState::Connected);

    // Without a refresher the service closes the connection at expiry with 401.
    let lapsed = client
        .create_call_agent(CallAgentOptions {
            service_url: svc.ws_url.clone(),
            token: svc.token_for(&user, Some(3)),
            ..Default::default()
        })
        .unwrap();
    assert!(wait_until(T, || lapsed.connection_state()
        == AgentConnectionState::Connected));
    assert!(wait_until(T, || lapsed.connection_state()
        == AgentConnectionState::Disconnected));
    client.shutdown();
}

fn unix_now_f64() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

/// The last 0.5 s of what `spk` played carries the 700 Hz tone the echo bot sends back.
fn hears_the_echo(spk: &AudioDevice) -> bool {
    let mut pcm = vec![0i16; 48_000 * 10];
    let n = spk.pull_pcm(&mut pcm).unwrap();
    n >= 24_000 && tone_power(&pcm[n - 24_000..n], 700.0) > 0.01
}

#[test]
fn a_refreshed_token_keeps_the_call_up_past_the_first_expiry() {
    let svc = Arc::new(Service::start_with(&["--token-warning-secs", "2"]));
    let user = svc.create_user();
    let first = svc.token_for(&user, Some(6));
    let exp = acscalling::client::call_agent::parse_token(&first)
        .unwrap()
        .exp as f64;
    let asked = Arc::new(std::sync::Mutex::new(Vec::<f64>::new()));
    let (s2, u2, a2) = (svc.clone(), user.clone(), asked.clone());
    let client = CallClient::new(CallClientOptions::default()).unwrap();
    let agent = client
        .create_call_agent(CallAgentOptions {
            service_url: svc.ws_url.clone(),
            token: first,
            token_refresher: Some(Arc::new(move || {
                a2.lock().unwrap().push(unix_now_f64());
                Some(s2.token_for(&u2, Some(3600)))
            })),
            ..Default::default()
        })
        .unwrap();
    assert!(wait_until(T, || agent.connection_state()
        == AgentConnectionState::Connected));
    let spk = AudioDevice::pull_speaker("refresh-spk", 2000);
    let call = agent
        .start_call(
            &["8:echo123".to_string()],
            CallOptions {
                microphone: Some(AudioDevice::tone_microphone("refresh-mic", 700.0, 0.5)),
                speaker: Some(spk.clone()),
                start_muted: false,
            },
        )
        .unwrap();
    assert!(wait_until(T, || call.state() == CallState::Connected));
    assert!(
        unix_now_f64() < exp,
        "the call was up before the first token expired"
    );

    // Three seconds past the first token's expiry: the call is still up, with audio.
    let past = exp + 3.0 - unix_now_f64();
    std::thread::sleep(Duration::from_secs_f64(past.max(0.0)));
    let first_ask = asked.lock().unwrap().first().copied();
    let first_ask = first_ask.expect("the refresher was asked");
    println!(
        "refresher asked {:.2} s before the first token expired",
        exp - first_ask
    );
    assert!(first_ask < exp, "asked before expiry");
    assert_eq!(
        call.state(),
        CallState::Connected,
        "{:?}",
        call.end_reason()
    );
    assert_eq!(agent.connection_state(), AgentConnectionState::Connected);
    assert!(hears_the_echo(&spk), "audio flows after the first expiry");
    call.hang_up(false).unwrap();
    assert!(wait_until(T, || call.state() == CallState::Disconnected));

    // Control: without a refresher the call ends at expiry with 401.
    let lapsed = client
        .create_call_agent(CallAgentOptions {
            service_url: svc.ws_url.clone(),
            token: svc.token_for(&user, Some(5)),
            ..Default::default()
        })
        .unwrap();
    assert!(wait_until(T, || lapsed.connection_state()
        == AgentConnectionState::Connected));
    let call = lapsed
        .start_call(
            &["8:echo123".to_string()],
            CallOptions {
                microphone: Some(AudioDevice::tone_microphone("lapsed-mic", 700.0, 0.5)),
                speaker: Some(AudioDevice::pull_speaker("lapsed-spk", 5000)),
                start_muted: false,
            },
        )
        .unwrap();
    assert!(wait_until(T, || call.state() == CallState::Connected));
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
    assert_eq!(call.end_reason().code, 401, "{:?}", call.end_reason());
    client.shutdown();
}
