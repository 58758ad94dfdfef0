//! CallClient: owns the tokio runtime, the event queue and the DeviceManager.

use super::call_agent::{AgentHost, CallAgent, CallAgentOptions};
use super::device_manager::DeviceManager;
use super::dispatch::{DispatchMode, EventQueue};
use crate::error::{Error, Result};
use parking_lot::Mutex;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// Options of [`CallClient::new`].
#[derive(Debug, Clone)]
pub struct CallClientOptions {
    pub dispatch_mode: DispatchMode,
    /// Tokio worker threads (default 2).
    pub worker_threads: usize,
}

impl Default for CallClientOptions {
    fn default() -> Self {
        Self {
            dispatch_mode: DispatchMode::Thread,
            worker_threads: 2,
        }
    }
}

pub(crate) struct ClientInner {
    pub(crate) id: u64,
    pub(crate) runtime: Mutex<Option<tokio::runtime::Runtime>>,
    pub(crate) handle: tokio::runtime::Handle,
    pub(crate) events: Arc<EventQueue>,
    dispatch_thread: Mutex<Option<JoinHandle<()>>>,
    pub(crate) device_manager: DeviceManager,
    agents: Mutex<Vec<CallAgent>>,
    /// Disposed agents whose close frame may still be on its way (see `shutdown`).
    closing: Mutex<Vec<CallAgent>>,
}

/// How long a shutdown waits for the agents' close frames to go out.
const CLOSE_FLUSH: Duration = Duration::from_millis(250);

impl ClientInner {
    /// Disposes every agent and lets their close frames out before the runtime stops
    /// (bounded: a dead link costs at most CLOSE_FLUSH): cut without one, a link looks
    /// dropped to the service, which keeps the session for a resume and rings it.
    fn close_agents(&self) {
        let agents: Vec<CallAgent> = std::mem::take(&mut *self.agents.lock());
        for a in &agents {
            a.dispose();
        }
        let deadline = std::time::Instant::now() + CLOSE_FLUSH;
        let closing: Vec<CallAgent> = std::mem::take(&mut *self.closing.lock());
        for a in agents.iter().chain(&closing) {
            a.wait_closed(deadline);
        }
    }
}

impl Drop for ClientInner {
    /// The last clone of a client dropped without `shutdown` (Rust hosts): its agents
    /// close properly before the runtime goes.
    fn drop(&mut self) {
        if self.runtime.lock().is_some() {
            self.close_agents();
        }
    }
}

/// Entry point of the SDK. Cheap to clone.
#[derive(Clone)]
pub struct CallClient(pub(crate) Arc<ClientInner>);

impl CallClient {
    /// Creates the runtime and, in thread mode, the dispatch thread.
    pub fn new(options: CallClientOptions) -> Result<Self> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(options.worker_threads.clamp(1, 16))
            .thread_name("acs-runtime")
            .enable_all()
            .build()
            .map_err(|e| Error::Internal(format!("cannot start the runtime: {e}")))?;
        let handle = runtime.handle().clone();
        let events = EventQueue::new(options.dispatch_mode);
        let device_manager = DeviceManager::new(events.clone());
        let dispatch_thread = if options.dispatch_mode == DispatchMode::Thread {
            let q = events.clone();
            Some(
                std::thread::Builder::new()
                    .name("acs-events".into())
                    .spawn(move || q.run_thread())
                    .map_err(|e| Error::Internal(format!("cannot start the event thread: {e}")))?,
            )
        } else {
            None
        };
        Ok(CallClient(Arc::new(ClientInner {
            id: crate::object_id::next_object_id(),
            runtime: Mutex::new(Some(runtime)),
            handle,
            events,
            dispatch_thread: Mutex::new(dispatch_thread),
            device_manager,
            agents: Mutex::new(Vec::new()),
            closing: Mutex::new(Vec::new()),
        })))
    }

    /// Process-unique id of this object.
    pub fn object_id(&self) -> u64 {
        self.0.id
    }

    /// The device manager (one per client).
    pub fn device_manager(&self) -> DeviceManager {
        self.0.device_manager.clone()
    }

    /// Creates a CallAgent that connects to the service in the background.
    pub fn create_call_agent(&self, options: CallAgentOptions) -> Result<CallAgent> {
        if self.0.runtime.lock().is_none() {
            return Err(Error::InvalidState("the call client was shut down".into()));
        }
        let client = Arc::downgrade(&self.0);
        let host = AgentHost {
            rt: self.0.handle.clone(),
            events: self.0.events.clone(),
            devices: self.0.device_manager.clone(),
            forget: Box::new(move |id| {
                if let Some(c) = client.upgrade() {
                    let mut agents = c.agents.lock();
                    let gone: Vec<CallAgent> = agents
                        .iter()
                        .filter(|a| a.object_id() == id)
                        .cloned()
                        .collect();
                    agents.retain(|a| a.object_id() != id);
                    drop(agents);
                    let mut closing = c.closing.lock();
                    closing.retain(|a| !a.is_closed());
                    closing.extend(gone);
                }
            }),
        };
        let agent = CallAgent::create(host, options)?;
        self.0.agents.lock().push(agent.clone());
        Ok(agent)
    }

    /// In manual dispatch mode: delivers queued events on this thread, waiting up to
    /// `timeout` for the first. Returns how many were delivered.
    pub fn dispatch_events(&self, timeout: Duration) -> Result<u32> {
        if self.0.events.mode != DispatchMode::Manual {
            return Err(Error::InvalidState(
                "dispatch_events needs a client created with manual dispatch".into(),
            ));
        }
        Ok(self.0.events.dispatch(timeout))
    }

    /// Hangs up every call, disconnects every agent and stops the runtime and threads.
    /// Called by the FFI when the last handle is released; idempotent.
    pub fn shutdown(&self) {
        self.0.close_agents();
        self.0.device_manager.shutdown();
        self.0.events.close();
        let on_dispatch_thread = self
            .0
            .dispatch_thread
            .lock()
            .as_ref()
            .map(|h| h.thread().id() == std::thread::current().id())
            .unwrap_or(false);
        if !on_dispatch_thread {
            if let Some(h) = self.0.dispatch_thread.lock().take() {
                let _ = h.join();
            }
        }
        if let Some(rt) = self.0.runtime.lock().take() {
            rt.shutdown_timeout(Duration::from_millis(500));
        }
    }
}
