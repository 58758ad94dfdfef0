//! One party of an end-to-end test: a client, a connected agent, a tone microphone and a
//! pulled speaker, and every event the agent delivered, in order. Tests ask the recorded
//! events what they need instead of each keeping its own listener.
#![allow(dead_code)]

use super::{wait_until, Service};
use acscalling::client::*;
use acscalling::media::audio::AudioDevice;
use acscalling::protocol::{CallState, EndReason, ParticipantState, VideoStreamKind};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;

const CONNECT: Duration = Duration::from_secs(20);

/// How a [`Party`] is made.
#[derive(Clone)]
pub struct PartySpec {
    pub name: String,
    /// The user; `None` creates one.
    pub user: Option<String>,
    /// Frequency and amplitude of the tone microphone.
    pub freq: f32,
    pub amplitude: f32,
    /// How much the pulled speaker buffers.
    pub speaker_ms: u32,
    /// Accept incoming calls at once with the party's devices.
    pub auto_accept: bool,
    /// Signaling URL when not the service's own (e.g. through a [`Netcut`](super::netcut)).
    pub service_url: Option<String>,
    /// Answer transfer requests with `Call::answer_transfer` (else the SDK accepts).
    pub answer_transfers: bool,
}

impl PartySpec {
    pub fn new(name: &str, freq: f32) -> Self {
        PartySpec {
            name: name.into(),
            user: None,
            freq,
            amplitude: 0.5,
            speaker_ms: 10_000,
            auto_accept: false,
            service_url: None,
            answer_transfers: false,
        }
    }
}

pub struct Party {
    pub client: CallClient,
    pub id: String,
    pub agent: CallAgent,
    pub mic: AudioDevice,
    pub speaker: AudioDevice,
    pub freq: f32,
    /// Incoming calls, in arrival order.
    pub incoming: Arc<Mutex<Vec<Call>>>,
    events: Arc<Mutex<Vec<AgentEvent>>>,
    /// (participant, state) of every addition and state change, the state read when the
    /// event arrived (a participant object shows its current state).
    states: Arc<Mutex<Vec<(String, ParticipantState)>>>,
}

impl Party {
    /// A party with a new user, a `freq` tone and a 10 s speaker.
    pub fn new(svc: &Service, name: &str, freq: f32, auto_accept: bool) -> Party {
        Party::with(
            svc,
            PartySpec {
                auto_accept,
                ..PartySpec::new(name, freq)
            },
        )
    }

    /// A party of the existing user `user`, with a `freq` tone and a 10 s speaker.
    pub fn for_user(svc: &Service, name: &str, user: &str, freq: f32, auto_accept: bool) -> Party {
        Party::with(
            svc,
            PartySpec {
                user: Some(user.into()),
                auto_accept,
                ..PartySpec::new(name, freq)
            },
        )
    }

    /// A party made as `spec` says, once its agent is connected.
    pub fn with(svc: &Service, spec: PartySpec) -> Party {
        let id = spec.user.clone().unwrap_or_else(|| svc.create_user());
        let client = CallClient::new(CallClientOptions::default()).unwrap();
        let name = &spec.name;
        let mic = AudioDevice::tone_microphone(&format!("{name}-mic"), spec.freq, spec.amplitude);
        let speaker = AudioDevice::pull_speaker(&format!("{name}-spk"), spec.speaker_ms);
        let incoming = Arc::new(Mutex::new(Vec::new()));
        let events = Arc::new(Mutex::new(Vec::new()));
        let states = Arc::new(Mutex::new(Vec::new()));
        let (inc, ev, st) = (incoming.clone(), events.clone(), states.clone());
        let accept = spec.auto_accept.then(|| options(&mic, &speaker, false));
        let listener: AgentListener = Arc::new(move |_a, e| {
            if let AgentEvent::IncomingCall { call } = e {
                inc.lock().push(call.clone());
                if let Some(o) = &accept {
                    call.accept(o.clone()).unwrap();
                }
            }
            match e {
                AgentEvent::ParticipantAdded { participant, .. } => st
                    .lock()
                    .push((participant.identifier().to_string(), participant.state())),
                AgentEvent::ParticipantStateChanged {
                    participant, state, ..
                } => st
                    .lock()
                    .push((participant.identifier().to_string(), *state)),
                _ => {}
            }
            ev.lock().push(e.clone());
        });
        let agent = client
            .create_call_agent(CallAgentOptions {
                service_url: spec.service_url.clone().unwrap_or_else(|| svc.agent_url()),
                token: svc.token(&id),
                display_name: name.clone(),
                listener: Some(listener),
                token_refresher: None,
                ca_certificate: svc.tls_ca.clone(),
                answer_transfers: spec.answer_transfers,
            })
            .unwrap();
        assert!(wait_until(CONNECT, || agent.connection_state()
            == AgentConnectionState::Connected));
        Party {
            client,
            id,
            agent,
            mic,
            speaker,
            freq: spec.freq,
            incoming,
            events,
            states,
        }
    }

    /// Call options with this party's devices.
    pub fn options(&self) -> CallOptions {
        options(&self.mic, &self.speaker, false)
    }

    /// Starts a call to `target` (a raw id: `8:acs:…`, `4:+1…`) with this party's devices.
    pub fn call(&self, target: &str) -> Call {
        self.agent
            .start_call(&[target.to_string()], self.options())
            .unwrap()
    }

    /// Joins group call `group` with this party's devices.
    pub fn join(&self, group: &str) -> Call {
        self.agent.join(group, self.options()).unwrap()
    }

    /// Joins group call `group` muted and waits until it is connected.
    pub fn join_muted(&self, group: &str) -> Call {
        let call = self
            .agent
            .join(group, options(&self.mic, &self.speaker, true))
            .unwrap();
        assert!(wait_until(CONNECT, || call.state() == CallState::Connected));
        call
    }

    /// Drops what was played so far, waits `ms`, returns what was played meanwhile.
    pub fn listen(&self, ms: u64) -> Vec<i16> {
        let mut junk = vec![0i16; 48_000 * 10];
        while self.speaker.pull_pcm(&mut junk).unwrap() > 0 {}
        std::thread::sleep(Duration::from_millis(ms));
        let mut buf = vec![0i16; 48 * ms as usize * 2];
        let n = self.speaker.pull_pcm(&mut buf).unwrap();
        buf.truncate(n);
        buf
    }

    /// Listens in 500 ms slices, up to 8 s, until `freq` has more than `min` power; the
    /// powers measured when it never does.
    pub fn hears(&self, freq: f32, min: f32) -> Result<(), Vec<f32>> {
        let mut powers = Vec::new();
        let heard = wait_until(Duration::from_secs(8), || {
            let p = acscalling::media::audio::tone_power(&self.listen(500), freq);
            powers.push(p);
            p > min
        });
        heard.then_some(()).ok_or(powers)
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<AgentEvent> {
        self.events.lock().clone()
    }

    /// Forgets the events so far.
    pub fn clear_events(&self) {
        self.events.lock().clear();
    }

    /// (state, end reason) of every call state change, in order.
    pub fn call_states(&self) -> Vec<(CallState, EndReason)> {
        self.events
            .lock()
            .iter()
            .filter_map(|e| match e {
                AgentEvent::CallStateChanged { state, reason, .. } => Some((*state, *reason)),
                _ => None,
            })
            .collect()
    }

    /// Every call state change as "call <state> <code>/<subcode>" (the end reason), in order.
    pub fn call_log(&self) -> Vec<String> {
        self.call_states()
            .iter()
            .map(|(state, reason)| format!("call {state:?} {}/{}", reason.code, reason.subcode))
            .collect()
    }

    /// (participant, reason) of every participant that left a call.
    pub fn left(&self) -> Vec<(String, EndReason)> {
        self.events
            .lock()
            .iter()
            .filter_map(|e| match e {
                AgentEvent::ParticipantRemoved {
                    participant,
                    reason,
                    ..
                } => Some((participant.identifier().to_string(), *reason)),
                _ => None,
            })
            .collect()
    }

    /// Whether `who` left with `reason`.
    pub fn left_with(&self, who: &str, reason: EndReason) -> bool {
        self.left().iter().any(|(id, r)| id == who && *r == reason)
    }

    /// (participant, state) of every addition and state change so far, for failure messages.
    pub fn participant_states(&self) -> Vec<(String, ParticipantState)> {
        self.states.lock().clone()
    }

    /// Whether `who` was added in, or changed to, `state`.
    pub fn saw_state(&self, who: &str, state: ParticipantState) -> bool {
        self.states
            .lock()
            .iter()
            .any(|(id, s)| id == who && *s == state)
    }

    /// How many dominant-speaker changes arrived.
    pub fn dominant_events(&self) -> usize {
        self.events
            .lock()
            .iter()
            .filter(|e| matches!(e, AgentEvent::DominantSpeakersChanged { .. }))
            .count()
    }

    /// Whether `who`'s stream of `kind` was announced available (or unavailable).
    pub fn saw_video(&self, who: &str, kind: VideoStreamKind, available: bool) -> bool {
        self.events.lock().iter().any(|e| match e {
            AgentEvent::RemoteVideoStreamAvailabilityChanged {
                participant,
                stream,
                available: a,
                ..
            } => participant.identifier() == who && stream.kind() == kind && *a == available,
            _ => false,
        })
    }
}

fn options(mic: &AudioDevice, speaker: &AudioDevice, start_muted: bool) -> CallOptions {
    CallOptions {
        microphone: Some(mic.clone()),
        speaker: Some(speaker.clone()),
        start_muted,
    }
}
