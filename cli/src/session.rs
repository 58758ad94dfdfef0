//! Signing in and running one call: `echo-test`, `call` and `join`.

use crate::devices::{self, CallDevices};
use crate::{fail, stats, CallArgs, CallSettings, Cli, CliResult, EchoArgs, JoinArgs};
use acscalling::client::{
    AgentConnectionState, AgentEvent, AgentListener, Call, CallAgent, CallAgentOptions, CallClient,
    CallClientOptions, CallOptions,
};
use acscalling::media::audio::{tone_power, AudioDevice};
use acscalling::protocol::{CallState, EndReason};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long signing in may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a call may take to connect (a phone number rings for up to ~2 min).
const SETUP_TIMEOUT: Duration = Duration::from_secs(130);
/// How long hanging up may take.
const HANGUP_TIMEOUT: Duration = Duration::from_secs(5);
/// The tone counts as heard when a 500 ms window has this much power at its frequency
/// (the sent tone reads ≈ 0.125; silence 0).
const HEARD_POWER: f32 = 0.01;
/// The analysis window of the recording speaker.
const WINDOW: Duration = Duration::from_millis(500);
/// The echo test waits this much longer for an echo that has not come back yet.
const ECHO_GRACE: Duration = Duration::from_secs(5);

static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigint(_: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
}

/// Ctrl-C hangs up the call (a second one kills the tool, as usual).
pub fn install_ctrl_c() {
    // SAFETY: the handler only stores to an atomic, which is async-signal-safe.
    unsafe {
        libc::signal(
            libc::SIGINT,
            on_sigint as extern "C" fn(libc::c_int) as libc::sighandler_t,
        );
    }
}

fn interrupted() -> bool {
    if INTERRUPTED.swap(false, Ordering::SeqCst) {
        // The next Ctrl-C kills the tool.
        // SAFETY: restores the default action of SIGINT.
        unsafe {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
        }
        return true;
    }
    false
}

/// Seconds since `t0`, for the event lines.
fn at(t0: Instant) -> String {
    format!("[{:6.2}s]", t0.elapsed().as_secs_f64())
}

/// A client with one agent signed in, and the agent's events.
struct Session {
    client: CallClient,
    agent: CallAgent,
    events: Receiver<AgentEvent>,
    t0: Instant,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.client.shutdown();
    }
}

/// Explains an end reason's code the way a user needs it.
fn explain(reason: EndReason) -> &'static str {
    match reason.code {
        0 => "ended normally",
        401 => "unauthorized (bad or expired token)",
        403 => "forbidden",
        404 => "not found (unknown user or call)",
        408 => "timed out (nobody answered)",
        410 => "gone",
        480 => "unavailable (the callee is not signed in)",
        486 => "busy",
        487 => "cancelled",
        503 => "service unavailable",
        _ => "",
    }
}

fn reason_text(reason: EndReason) -> String {
    match explain(reason) {
        "" => format!("{}/{}", reason.code, reason.subcode),
        e => format!("{}/{}: {e}", reason.code, reason.subcode),
    }
}

/// Signs in with the command line's service URL and token (or a dev token).
fn sign_in(cli: &Cli) -> CliResult<Session> {
    let t0 = Instant::now();
    let Some(url) = cli.service_url.clone() else {
        fail!(
            "no service: pass --service-url URL or set ACS_SERVICE_URL (e.g. ws://127.0.0.1:8080)"
        );
    };
    let token = match (&cli.token, cli.dev_token) {
        (Some(t), _) => t.trim().to_string(),
        (None, true) => {
            let issued = crate::rest::dev_token(&url, None)?;
            println!("{} signed in with a dev token as {}", at(t0), issued.user);
            issued.token
        }
        (None, false) => fail!(
            "no token: pass --token JWT or set ACS_TOKEN (`acscalling token --dev` gets one \
             from a local service started with --dev-tokens)"
        ),
    };
    let client = CallClient::new(CallClientOptions::default())?;
    let (tx, events) = channel();
    let listener: AgentListener = Arc::new(move |_agent, e| {
        let _ = tx.send(e.clone());
    });
    let agent = client
        .create_call_agent(CallAgentOptions {
            service_url: url.clone(),
            token,
            display_name: cli.display_name.clone(),
            listener: Some(listener),
            token_refresher: None,
            ca_certificate: cli.ca_cert.clone(),
            answer_transfers: false,
        })
        .map_err(|e| match e {
            acscalling::error::Error::Unauthorized(m) => crate::CliError(format!("bad token: {m}")),
            e => crate::CliError(e.to_string()),
        });
    let agent = match agent {
        Ok(a) => a,
        Err(e) => {
            client.shutdown();
            return Err(e);
        }
    };
    let s = Session {
        client,
        agent,
        events,
        t0,
    };
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match s.events.recv_timeout(left.min(Duration::from_millis(200))) {
            Ok(AgentEvent::ConnectionStateChanged {
                state: AgentConnectionState::Connected,
                ..
            }) => break,
            Ok(AgentEvent::ConnectionStateChanged {
                state: AgentConnectionState::Disconnected,
                reason,
                message,
            }) => {
                if reason.code == 401 {
                    fail!("bad token: the service at {url} refused it: {message}");
                }
                fail!("cannot connect to the service at {url}: {message}");
            }
            Ok(_) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => fail!("the call client stopped"),
        }
        if Instant::now() >= deadline {
            fail!(
                "cannot connect to the service at {url}: no answer within {}s",
                CONNECT_TIMEOUT.as_secs()
            );
        }
        if interrupted() {
            fail!("interrupted");
        }
    }
    println!(
        "{} connected to {url} as {} in {} ms",
        at(t0),
        s.agent.user_id(),
        t0.elapsed().as_millis()
    );
    Ok(s)
}

fn call_options(d: &CallDevices, start_muted: bool) -> CallOptions {
    CallOptions {
        microphone: d.mic.clone(),
        speaker: d.speaker.clone(),
        start_muted,
    }
}

fn describe_devices(d: &CallDevices, s: &Session) {
    let dm = s.client.device_manager();
    let mic = d
        .mic
        .clone()
        .or_else(|| dm.selected_microphone())
        .map(|m| m.name())
        .unwrap_or_else(|| "?".into());
    let spk = d
        .speaker
        .clone()
        .or_else(|| dm.selected_speaker())
        .map(|m| m.name())
        .unwrap_or_else(|| "?".into());
    println!("{} microphone: {mic}; speaker: {spk}", at(s.t0));
}

/// What a call run is asked to do.
struct Plan {
    /// Stay this long once connected (None: until Ctrl-C or the end of the call).
    seconds: Option<Duration>,
    /// Print live statistics every interval.
    stats_every: Option<Duration>,
    /// Listen for this tone on the recording speaker.
    listen_for: Option<f32>,
    /// Keep going (up to [`ECHO_GRACE`]) while the tone has not been heard.
    wait_for_tone: bool,
}

/// How a call went.
struct Outcome {
    /// Setup time (from placing the call to Connected).
    setup: Option<Duration>,
    /// The best tone power of a window on the recording speaker.
    best_power: f32,
    /// When the tone was first heard, after connecting.
    heard_after: Option<Duration>,
    /// The last statistics sample.
    stats: Option<acscalling::client::MediaStatistics>,
}

/// Drops what the recording speaker holds; what it held.
fn drain(speaker: &AudioDevice) -> Vec<i16> {
    let mut all = Vec::new();
    let mut buf = vec![0i16; 48_000];
    while let Ok(n) = speaker.pull_pcm(&mut buf) {
        if n == 0 {
            break;
        }
        all.extend_from_slice(&buf[..n]);
    }
    all
}

/// Runs `call` (just placed at `placed`): prints its events, statistics and tone checks until
/// the plan's time is over, Ctrl-C or the call ends; then hangs up.
fn run(
    s: &Session,
    call: &Call,
    d: &CallDevices,
    plan: &Plan,
    placed: Instant,
) -> CliResult<Outcome> {
    let t0 = s.t0;
    if let Some(every) = plan.stats_every {
        call.set_media_statistics_interval(Some(every));
    }
    let mut out = Outcome {
        setup: None,
        best_power: 0.0,
        heard_after: None,
        stats: None,
    };
    let mut connected_at: Option<Instant> = None;
    let mut next_window = Instant::now() + WINDOW;
    let mut hung_up: Option<Instant> = None;
    let mut ended: Option<EndReason> = None;
    loop {
        match s.events.recv_timeout(Duration::from_millis(50)) {
            Ok(e) => match e {
                AgentEvent::CallStateChanged {
                    call: c,
                    state,
                    reason,
                } if c.object_id() == call.object_id() => {
                    if state == CallState::Disconnected {
                        println!(
                            "{} call state: Disconnected ({})",
                            at(t0),
                            reason_text(reason)
                        );
                        ended = Some(reason);
                    } else {
                        println!("{} call state: {state:?}", at(t0));
                    }
                    if state == CallState::Connected && connected_at.is_none() {
                        let now = Instant::now();
                        connected_at = Some(now);
                        out.setup = Some(now - placed);
                        // The first read starts the call's sampler: the totals printed at
                        // the end come from it.
                        let _ = call.media_statistics();
                        println!(
                            "{} connected: setup took {} ms",
                            at(t0),
                            (now - placed).as_millis()
                        );
                        if let Some(r) = &d.record {
                            drain(r);
                            next_window = now + WINDOW;
                        }
                    }
                }
                AgentEvent::ParticipantAdded { participant: p, .. } => println!(
                    "{} + {} ({}) joined: {:?}",
                    at(t0),
                    p.identifier(),
                    p.display_name(),
                    p.state()
                ),
                AgentEvent::ParticipantRemoved {
                    participant: p,
                    reason,
                    ..
                } => println!(
                    "{} - {} left ({})",
                    at(t0),
                    p.identifier(),
                    reason_text(reason)
                ),
                AgentEvent::ParticipantStateChanged {
                    participant: p,
                    state,
                    ..
                } => println!("{}   {} is {state:?}", at(t0), p.identifier()),
                AgentEvent::ParticipantMuteChanged {
                    participant: p,
                    muted,
                    ..
                } => println!(
                    "{}   {} {}",
                    at(t0),
                    p.identifier(),
                    if muted { "muted" } else { "unmuted" }
                ),
                AgentEvent::NetworkReconnect { reconnecting, .. } => println!(
                    "{} network: {}",
                    at(t0),
                    if reconnecting {
                        "reconnecting…"
                    } else {
                        "recovered"
                    }
                ),
                AgentEvent::ConnectionStateChanged { state, message, .. } => {
                    println!("{} service connection: {state:?} {message}", at(t0))
                }
                AgentEvent::MediaStatistics { call: c } if c.object_id() == call.object_id() => {
                    if let Some(st) = c.media_statistics() {
                        println!("{} stats {}", at(t0), stats::line(&st));
                    }
                }
                AgentEvent::IncomingCall { call: c } => {
                    // One call at a time: say who called, and decline.
                    println!("{} declined an incoming call {}", at(t0), c.call_id());
                    let _ = c.reject();
                }
                _ => {}
            },
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => fail!("the call client stopped"),
        }
        let now = Instant::now();
        if let Some(reason) = ended {
            if connected_at.is_none() {
                if hung_up.is_some() {
                    fail!("the call was hung up before it connected");
                }
                fail!(
                    "the call ended before it connected ({})",
                    reason_text(reason)
                );
            }
            break;
        }
        // The recording speaker: analyse each window.
        if let (Some(r), Some(con)) = (&d.record, connected_at) {
            if now >= next_window {
                next_window = now + WINDOW;
                let pcm = drain(r);
                if let Some(hz) = plan.listen_for {
                    let p = tone_power(&pcm, hz);
                    out.best_power = out.best_power.max(p);
                    if p > HEARD_POWER && out.heard_after.is_none() {
                        out.heard_after = Some(now - con);
                        println!(
                            "{} heard the {hz} Hz tone (power {p:.3}) {} ms after connecting",
                            at(t0),
                            (now - con).as_millis()
                        );
                    }
                }
            }
        }
        if hung_up.is_none() {
            let mut stop = false;
            if interrupted() {
                println!("{} interrupted: hanging up", at(t0));
                stop = true;
            }
            match (connected_at, plan.seconds) {
                (Some(con), Some(secs)) => {
                    let mut until = con + secs;
                    if plan.wait_for_tone && out.heard_after.is_none() {
                        until += ECHO_GRACE;
                    }
                    if now >= until {
                        stop = true;
                    }
                }
                (None, _) if now - placed > SETUP_TIMEOUT => {
                    println!("{} the call did not connect: hanging up", at(t0));
                    stop = true;
                }
                _ => {}
            }
            if stop {
                if connected_at.is_some() {
                    out.stats = call.media_statistics();
                }
                if let Err(e) = call.hang_up(false) {
                    fail!("cannot hang up: {e}");
                }
                hung_up = Some(now);
            }
        } else if hung_up.is_some_and(|h| now - h > HANGUP_TIMEOUT) {
            println!(
                "{} the call did not end within {}s",
                at(t0),
                HANGUP_TIMEOUT.as_secs()
            );
            if connected_at.is_none() {
                fail!("the call did not connect");
            }
            break;
        }
    }
    if out.stats.is_none() {
        out.stats = call.media_statistics();
    }
    Ok(out)
}

fn print_end(out: &Outcome) {
    if let Some(st) = &out.stats {
        println!("statistics: {}", stats::line(st));
        println!("totals: {}", stats::summary(st));
    } else {
        println!("statistics: none (the call's media was never sampled)");
    }
}

/// `acscalling echo-test`.
pub fn echo_test(cli: &Cli, a: &EchoArgs) -> CliResult<()> {
    let s = sign_in(cli)?;
    let d = devices::choose(&s.client.device_manager(), &a.devices)?;
    describe_devices(&d, &s);
    let placed = Instant::now();
    let call = s
        .agent
        .start_call(&["8:echo123".to_string()], call_options(&d, false))?;
    println!("{} calling the echo bot 8:echo123", at(s.t0));
    let listen_for = d.tone_hz.filter(|_| d.record.is_some());
    let plan = Plan {
        seconds: Some(Duration::from_secs(a.seconds.max(1))),
        stats_every: (a.stats_interval_ms > 0).then(|| Duration::from_millis(a.stats_interval_ms)),
        listen_for,
        wait_for_tone: listen_for.is_some(),
    };
    if listen_for.is_none() {
        println!(
            "{} speak: the echo bot plays what it hears back about a second later",
            at(s.t0)
        );
    }
    let out = run(&s, &call, &d, &plan, placed)?;
    if let Some(setup) = out.setup {
        println!("setup time: {} ms", setup.as_millis());
    }
    print_end(&out);
    match listen_for {
        Some(hz) => match out.heard_after {
            Some(after) => {
                println!(
                    "PASS: the {hz} Hz tone came back ({} ms after connecting, best power {:.3})",
                    after.as_millis(),
                    out.best_power
                );
                Ok(())
            }
            None => fail!(
                "the {hz} Hz tone did not come back (best power {:.4}, needed {HEARD_POWER})",
                out.best_power
            ),
        },
        None => {
            let received = out.stats.as_ref().map_or(0, |s| s.audio_packets_received);
            if received == 0 {
                fail!("no audio came back from the echo bot");
            }
            println!("PASS: audio came back from the echo bot ({received} packets)");
            Ok(())
        }
    }
}

fn run_placed(
    s: &Session,
    settings: &CallSettings,
    d: &CallDevices,
    call: Call,
    placed: Instant,
) -> CliResult<()> {
    let plan = Plan {
        seconds: settings.seconds.map(Duration::from_secs),
        stats_every: (settings.stats_interval_ms > 0)
            .then(|| Duration::from_millis(settings.stats_interval_ms)),
        listen_for: None,
        wait_for_tone: false,
    };
    let out = run(s, &call, d, &plan, placed)?;
    print_end(&out);
    Ok(())
}

/// `acscalling call`.
pub fn call(cli: &Cli, a: &CallArgs) -> CliResult<()> {
    for t in &a.targets {
        if let Err(e) = acscalling::protocol::Identifier::parse(t) {
            fail!("bad id '{t}': {e} (users are 8:acs:…, phone numbers 4:+…)");
        }
    }
    let s = sign_in(cli)?;
    let d = devices::choose(&s.client.device_manager(), &a.settings.devices)?;
    describe_devices(&d, &s);
    let placed = Instant::now();
    let call = s
        .agent
        .start_call(&a.targets, call_options(&d, a.settings.muted))?;
    println!("{} calling {}", at(s.t0), a.targets.join(", "));
    run_placed(&s, &a.settings, &d, call, placed)
}

/// `acscalling join`.
pub fn join(cli: &Cli, a: &JoinArgs) -> CliResult<()> {
    if !uuid_like(&a.group) {
        fail!("bad group id '{}': a group call's id is a UUID", a.group);
    }
    let s = sign_in(cli)?;
    let d = devices::choose(&s.client.device_manager(), &a.settings.devices)?;
    describe_devices(&d, &s);
    let placed = Instant::now();
    let call = s.agent.join(&a.group, call_options(&d, a.settings.muted))?;
    println!("{} joining group call {}", at(s.t0), call.call_id());
    run_placed(&s, &a.settings, &d, call, placed)
}

/// Checks the shape of a UUID (8-4-4-4-12 hex digits, or 32 hex digits).
fn uuid_like(s: &str) -> bool {
    let hex: String = s.trim().chars().filter(|c| *c != '-').collect();
    let groups: Vec<usize> = s.trim().split('-').map(str::len).collect();
    let shape_ok = groups == [8, 4, 4, 4, 12] || groups == [32];
    shape_ok && hex.len() == 32 && hex.chars().all(|c| c.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn group_ids_are_uuids() {
        assert!(uuid_like("5b0f3a52-6a43-4d0c-9a53-0c1b7c2f1e11"));
        assert!(uuid_like("5b0f3a526a434d0c9a530c1b7c2f1e11"));
        assert!(!uuid_like("not-a-uuid"));
        assert!(!uuid_like("5b0f3a52-6a43-4d0c-9a53-0c1b7c2f1e1g"));
        assert!(!uuid_like(""));
    }

    #[test]
    fn end_reasons_read_well() {
        assert_eq!(reason_text(EndReason::new(0, 0)), "0/0: ended normally");
        assert_eq!(
            reason_text(EndReason::new(404, 4)),
            "404/4: not found (unknown user or call)"
        );
        assert_eq!(reason_text(EndReason::new(599, 1)), "599/1");
    }
}
