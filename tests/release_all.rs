//! Releasing the last client releases everything the library opened: no socket, epoll,
//! eventfd or thread of ours stays behind in the host process. One test in its own binary,
//! so no other test's client shares the process while the descriptors are counted.

mod common;

use acscalling::client::*;
use acscalling::media::audio::AudioDevice;
use acscalling::protocol::CallState;
use common::{wait_until, Service};
use std::time::Duration;

const T: Duration = Duration::from_secs(15);

/// The process's open descriptors that are not plain files (sockets, pipes, epoll,
/// eventfd, timerfd...), with what they point at.
fn kernel_objects() -> Vec<String> {
    let mut out = Vec::new();
    for e in std::fs::read_dir("/proc/self/fd").expect("/proc/self/fd") {
        let Ok(e) = e else { continue };
        if let Ok(target) = std::fs::read_link(e.path()) {
            let t = target.display().to_string();
            if !t.starts_with('/') {
                out.push(format!("{} -> {t}", e.file_name().to_string_lossy()));
            }
        }
    }
    out.sort();
    out
}

fn threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |d| d.count())
}

#[test]
fn the_last_client_released_leaves_no_socket_or_thread() {
    let svc = Service::start();
    let user = svc.create_user();
    let before = kernel_objects();
    let threads_before = threads();

    let client = CallClient::new(CallClientOptions::default()).unwrap();
    let agent = client
        .create_call_agent(CallAgentOptions {
            service_url: svc.ws_url.clone(),
            token: svc.token(&user),
            ..Default::default()
        })
        .unwrap();
    assert!(wait_until(T, || agent.connection_state()
        == AgentConnectionState::Connected));
    let options = CallOptions {
        microphone: Some(AudioDevice::tone_microphone("mic", 440.0, 0.5)),
        speaker: Some(AudioDevice::pull_speaker("spk", 1000)),
        start_muted: false,
    };
    let call = agent
        .start_call(&["8:echo123".to_string()], options)
        .unwrap();
    assert!(wait_until(T, || call.state() == CallState::Connected));
    assert!(
        kernel_objects().len() > before.len(),
        "the call opened nothing?"
    );
    call.hang_up(false).unwrap();
    assert!(wait_until(T, || call.state() == CallState::Disconnected));
    drop(call);
    drop(agent);
    client.shutdown();
    drop(client);

    let mut left = Vec::new();
    let released = wait_until(Duration::from_secs(5), || {
        left = kernel_objects()
            .into_iter()
            .filter(|o| !before.contains(o))
            .collect();
        left.is_empty() && threads() <= threads_before
    });
    assert!(
        released,
        "left open: {left:?}; threads {} (before {threads_before})",
        threads()
    );
}
