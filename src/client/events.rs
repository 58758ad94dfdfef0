//! Ordered event delivery: one queue per CallClient, drained either by a library-owned
//! dispatch thread or by the host (manual mode). Events are never delivered while an
//! internal lock is held, so a listener may call back into the API.

use super::call::Call;
use super::call_agent::CallAgent;
use super::device_manager::DeviceManager;
use super::participant::RemoteParticipant;
use super::remote_video::RemoteVideoStream;
use crate::media::audio::AudioDevice;
use crate::media::camera::Camera;
use crate::protocol::{CallState, EndReason, ParticipantState};
use parking_lot::{Condvar, Mutex};
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Connection state of a CallAgent to the service.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum AgentConnectionState {
    Disconnected = 0,
    Connected = 1,
    Connecting = 2,
}

/// Something that happened, delivered to the agent's listener.
#[derive(Clone)]
pub enum AgentEvent {
    /// The agent's connection to the service changed; `reason` says why when it dropped.
    ConnectionStateChanged {
        state: AgentConnectionState,
        reason: EndReason,
        message: String,
    },
    /// Somebody is calling; the call is in state `Incoming`.
    IncomingCall { call: Call },
    /// A call changed state; `reason` is the end reason once `Disconnected`.
    CallStateChanged {
        call: Call,
        state: CallState,
        reason: EndReason,
    },
    /// The local participant was muted or unmuted.
    CallMuteChanged { call: Call, muted: bool },
    /// A remote participant joined the roster.
    ParticipantAdded {
        call: Call,
        participant: RemoteParticipant,
    },
    /// A remote participant left the roster (see its end reason).
    ParticipantRemoved {
        call: Call,
        participant: RemoteParticipant,
        reason: EndReason,
    },
    /// A remote participant's state changed.
    ParticipantStateChanged {
        call: Call,
        participant: RemoteParticipant,
        state: ParticipantState,
    },
    /// A remote participant muted or unmuted.
    ParticipantMuteChanged {
        call: Call,
        participant: RemoteParticipant,
        muted: bool,
    },
    /// A remote participant started or stopped speaking (from the audio levels of the
    /// streams this client receives).
    ParticipantSpeakingChanged {
        call: Call,
        participant: RemoteParticipant,
        speaking: bool,
    },
    /// The call's dominant speakers changed: see [`Call::dominant_speakers`].
    DominantSpeakersChanged { call: Call },
    /// A remote participant started (`available`) or stopped sending a video stream. A
    /// stream that stops is unsubscribed.
    RemoteVideoStreamAvailabilityChanged {
        call: Call,
        participant: RemoteParticipant,
        stream: RemoteVideoStream,
        available: bool,
    },
}

/// Receives an agent's events on the dispatch thread.
pub type AgentListener = Arc<dyn Fn(&CallAgent, &AgentEvent) + Send + Sync>;

/// A device appeared or disappeared, delivered to the DeviceManager's listener.
#[derive(Clone, Debug)]
pub enum DeviceEvent {
    /// A microphone or speaker appeared (system or virtual).
    AudioDeviceAdded(AudioDevice),
    /// A microphone or speaker disappeared.
    AudioDeviceRemoved(AudioDevice),
    /// A camera appeared.
    CameraAdded(Camera),
    /// A camera disappeared.
    CameraRemoved(Camera),
}

/// Receives a DeviceManager's events on the dispatch thread (in order with agent events).
pub type DeviceListener = Arc<dyn Fn(&DeviceManager, &DeviceEvent) + Send + Sync>;

/// Work for the dispatch thread.
pub(crate) enum Dispatch {
    Event(CallAgent, AgentEvent),
    /// Ask the agent's token refresher for a new token (runs host code, so not on the runtime).
    RefreshToken(CallAgent),
    /// A device event for the device manager's listener.
    Device(DeviceManager, DeviceEvent),
}

/// How events reach the host.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DispatchMode {
    /// A library thread delivers events as they happen.
    Thread,
    /// Events queue until the host calls [`EventQueue::dispatch`].
    Manual,
}

/// The ordered queue of one CallClient.
pub(crate) struct EventQueue {
    items: Mutex<(VecDeque<Dispatch>, bool)>,
    ready: Condvar,
    pub(crate) mode: DispatchMode,
}

impl EventQueue {
    pub(crate) fn new(mode: DispatchMode) -> Arc<Self> {
        Arc::new(Self {
            items: Mutex::new((VecDeque::new(), false)),
            ready: Condvar::new(),
            mode,
        })
    }

    pub(crate) fn push(&self, item: Dispatch) {
        let mut g = self.items.lock();
        if g.1 {
            return; // closed
        }
        g.0.push_back(item);
        drop(g);
        self.ready.notify_all();
    }

    /// Stops accepting events and wakes the dispatch thread so it can exit.
    pub(crate) fn close(&self) {
        self.items.lock().1 = true;
        self.ready.notify_all();
    }

    /// Takes the next item, waiting up to `timeout`. `None` on timeout or when closed and empty.
    fn pop(&self, timeout: Option<Duration>) -> Option<Dispatch> {
        let deadline = timeout.map(|t| Instant::now() + t);
        let mut g = self.items.lock();
        loop {
            if let Some(item) = g.0.pop_front() {
                return Some(item);
            }
            if g.1 {
                return None;
            }
            match deadline {
                Some(d) => {
                    if self.ready.wait_until(&mut g, d).timed_out() {
                        return g.0.pop_front();
                    }
                }
                None => self.ready.wait(&mut g),
            }
        }
    }

    /// Delivers queued events on the calling thread; waits up to `timeout` for the first.
    /// Returns how many were delivered.
    pub(crate) fn dispatch(&self, timeout: Duration) -> u32 {
        let mut n = 0;
        let mut wait = Some(timeout);
        while let Some(item) = self.pop(wait) {
            deliver(item);
            n += 1;
            wait = Some(Duration::ZERO);
        }
        n
    }

    /// Body of the library-owned dispatch thread.
    pub(crate) fn run_thread(self: Arc<Self>) {
        while let Some(item) = self.pop(None) {
            deliver(item);
        }
    }
}

fn deliver(item: Dispatch) {
    // A panicking host callback must not take the dispatch thread down with it.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match item {
        Dispatch::Event(agent, event) => agent.deliver(&event),
        Dispatch::RefreshToken(agent) => agent.run_token_refresher(),
        Dispatch::Device(dm, event) => dm.deliver(&event),
    }));
}
