//! Real SDK clients in the measured call: `--sdk-clients K` starts K `acscalling` call agents
//! (the SDK itself, virtual devices: a muted tone microphone and a capturing speaker) that
//! join the same group call during the hold window and check what a user would: the
//! speakers' tone is audible, the dominant speakers are the speakers, their speaking flags
//! are up. The light clients do not decode; these do.

use std::collections::BTreeSet;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use acscalling::client::{
    AgentConnectionState, Call, CallAgent, CallAgentOptions, CallClient, CallClientOptions,
    CallOptions,
};
use acscalling::media::audio::{tone_power, AudioDevice};
use acscalling::protocol::CallState;

use crate::audio::TONE_HZ;

/// Tone power (of the frame energy) that counts as hearing the speakers' tone; a silent
/// or noisy speaker stays far below.
const HEARD_POWER: f32 = 0.005;
/// Time allowed for an agent to connect and for its join to reach Connected.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);
/// Audio is judged after this much time in the call (jitter buffers filled, slots set).
const SETTLE: Duration = Duration::from_millis(1500);

/// What to join and for how long to listen.
#[derive(Debug, Clone)]
pub struct ProbeConfig {
    pub http: String,
    pub key: String,
    pub group_id: String,
    pub clients: usize,
    /// Raw ids of the light speakers.
    pub speakers: Vec<String>,
    pub listen: Duration,
}

/// What the SDK clients found.
#[derive(Debug, Clone, Default)]
pub struct ProbeReport {
    pub started: usize,
    /// Reached `CallState::Connected`.
    pub connected: usize,
    /// Heard the speakers' tone.
    pub heard: usize,
    /// Saw every speaker among the dominant speakers and speaking.
    pub speakers_ok: usize,
    /// Join → Connected, ms, per connected client.
    pub join_ms: Vec<f64>,
    /// Tone power each connected client measured.
    pub tone_power: Vec<f32>,
    pub errors: Vec<String>,
}

struct Probe {
    _client: CallClient,
    _agent: CallAgent,
    call: Call,
    speaker: AudioDevice,
}

/// Starts the probes on a thread of their own (the SDK owns its runtime; it must not be
/// created or dropped on the load generator's).
pub fn spawn(cfg: ProbeConfig) -> std::io::Result<JoinHandle<ProbeReport>> {
    std::thread::Builder::new()
        .name("sdk-probes".into())
        .spawn(move || run(&cfg))
}

fn run(cfg: &ProbeConfig) -> ProbeReport {
    let mut report = ProbeReport::default();
    let users = match users(cfg) {
        Ok(u) => u,
        Err(e) => {
            report.errors.push(e);
            return report;
        }
    };
    let mut probes = Vec::new();
    for (k, (_id, token)) in users.iter().enumerate() {
        report.started += 1;
        match start(cfg, k, token) {
            Ok(p) => probes.push((p, Instant::now())),
            Err(e) => report.errors.push(e),
        }
    }
    for (p, joined_at) in &probes {
        if wait(CONNECT_TIMEOUT, || p.call.state() == CallState::Connected) {
            report.connected += 1;
            report.join_ms.push(joined_at.elapsed().as_secs_f64() * 1e3);
        }
    }
    std::thread::sleep(SETTLE);
    for (p, _) in &probes {
        drain(&p.speaker);
    }
    std::thread::sleep(cfg.listen);
    let wanted: BTreeSet<&str> = cfg.speakers.iter().map(String::as_str).collect();
    for (p, _) in &probes {
        if p.call.state() != CallState::Connected {
            continue;
        }
        let pcm = drain(&p.speaker);
        let power = block_tone_power(&pcm);
        report.tone_power.push(power);
        if power >= HEARD_POWER {
            report.heard += 1;
        }
        let dominant = p.call.dominant_speakers().speakers;
        let speaking: BTreeSet<String> = p
            .call
            .remote_participants()
            .iter()
            .filter(|r| r.is_speaking())
            .map(|r| r.identifier().to_string())
            .collect();
        if wanted
            .iter()
            .all(|s| dominant.iter().any(|d| d == s) && speaking.contains(*s))
        {
            report.speakers_ok += 1;
        }
    }
    for (p, _) in &probes {
        let _ = p.call.hang_up(false);
    }
    for (p, _) in &probes {
        wait(Duration::from_secs(5), || {
            p.call.state() == CallState::Disconnected
        });
    }
    report
}

/// Creates the probes' users (on a small runtime of this thread).
fn users(cfg: &ProbeConfig) -> Result<Vec<(String, String)>, String> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("sdk probes: runtime: {e}"))?;
    rt.block_on(async {
        let mut out = Vec::new();
        for _ in 0..cfg.clients {
            out.push(crate::identity::create_user(&cfg.http, &cfg.key).await?);
        }
        Ok(out)
    })
}

fn start(cfg: &ProbeConfig, k: usize, token: &str) -> Result<Probe, String> {
    let client = CallClient::new(CallClientOptions::default()).map_err(|e| e.to_string())?;
    let agent = client
        .create_call_agent(CallAgentOptions {
            service_url: format!("ws://{}", cfg.http),
            token: token.to_string(),
            display_name: format!("sdk-probe-{k}"),
            listener: None,
            token_refresher: None,
            ca_certificate: None,
            answer_transfers: false,
        })
        .map_err(|e| e.to_string())?;
    if !wait(CONNECT_TIMEOUT, || {
        agent.connection_state() == AgentConnectionState::Connected
    }) {
        return Err(format!("sdk probe {k}: the agent did not connect"));
    }
    let speaker = AudioDevice::pull_speaker(&format!("sdk-probe-{k}-spk"), 10_000);
    let call = agent
        .join(
            &cfg.group_id,
            CallOptions {
                microphone: Some(AudioDevice::tone_microphone(
                    &format!("sdk-probe-{k}-mic"),
                    880.0,
                    0.5,
                )),
                speaker: Some(speaker.clone()),
                start_muted: true,
            },
        )
        .map_err(|e| format!("sdk probe {k}: join: {e}"))?;
    Ok(Probe {
        _client: client,
        _agent: agent,
        call,
        speaker,
    })
}

/// Samples per block of [`block_tone_power`]: 100 ms, a whole number of 440 Hz cycles.
const BLOCK: usize = 4_800;

/// Mean tone power over 100 ms blocks. A phase-coherent measure over the whole window would
/// read a tone with phase jumps (a frame concealed or dropped under load) as near silence.
fn block_tone_power(pcm: &[i16]) -> f32 {
    let blocks: Vec<f32> = pcm
        .chunks_exact(BLOCK)
        .map(|b| tone_power(b, TONE_HZ))
        .collect();
    if blocks.is_empty() {
        return 0.0;
    }
    blocks.iter().sum::<f32>() / blocks.len() as f32
}

/// Everything the speaker captured so far.
fn drain(speaker: &AudioDevice) -> Vec<i16> {
    let mut out = Vec::new();
    let mut buf = vec![0i16; 48_000];
    while let Ok(n) = speaker.pull_pcm(&mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

fn wait(timeout: Duration, mut f: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + timeout;
    while Instant::now() < end {
        if f() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    f()
}
