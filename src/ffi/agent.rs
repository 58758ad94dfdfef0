//! acs_call_agent_*: an identity connected to the service, its events and token refresh.

use super::events::{acs_event_callback, deliver_event};
use super::handles::{self, acs_call, acs_call_agent, acs_call_client, Object};
use super::host_ptr::HostPtr;
use super::sized::{extensible, init_out, init_sized, read_in};
use super::status::*;
use super::strings::*;
use crate::client::{AgentListener, CallAgentOptions, TokenRefresher};
use std::ffi::{c_char, c_void};
use std::sync::Arc;

/// Asks the host for a new token: write a NUL-terminated token into `token_out`
/// (`capacity` bytes) and return ACS_OK, or return an error status if there is none.
/// Called on the event dispatch thread (in manual mode: inside dispatch_events).
pub type acs_token_refresher = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        token_out: *mut c_char,
        capacity: usize,
    ) -> acs_status,
>;

/// Options of acs_call_client_create_call_agent. Initialise with acs_call_agent_options_init.
#[repr(C)]
pub struct acs_call_agent_options {
    /// sizeof(acs_call_agent_options), set by the init function.
    pub struct_size: u32,
    /// Service URL, e.g. "ws://127.0.0.1:8080" (copied).
    pub service_url: *const c_char,
    /// Access token from the service's identity API (copied).
    pub token: *const c_char,
    /// Name the other participants see (copied; may be NULL).
    pub display_name: *const c_char,
    /// Receives every event of this agent and its calls (may be NULL).
    pub event_callback: acs_event_callback,
    /// Passed to event_callback as its first argument.
    pub event_user_data: *mut c_void,
    /// Called a minute before the token expires (may be NULL).
    pub token_refresher: acs_token_refresher,
    /// Passed to token_refresher as its first argument.
    pub token_refresher_user_data: *mut c_void,
    /// PEM file with the CA certificate of a wss:// service with a private or self-signed
    /// certificate (copied; may be NULL: public web roots are always trusted). A file that
    /// cannot be opened is ACS_ERR_IO.
    pub ca_certificate_path: *const c_char,
    /// The host answers transfer requests itself (ACS_EVENT_CALL_TRANSFER_REQUESTED, then
    /// acs_call_answer_transfer); false (the default): the library accepts them at once.
    /// Appended for call transfer.
    pub answer_transfers: bool,
}

// ca_certificate_path and answer_transfers were appended (0.1.0 development).
extensible!(acs_call_agent_options, first_version_ends_with: token_refresher_user_data, defaults: acs_call_agent_options {
    struct_size: 0,
    service_url: std::ptr::null(),
    token: std::ptr::null(),
    display_name: std::ptr::null(),
    event_callback: None,
    event_user_data: std::ptr::null_mut(),
    token_refresher: None,
    token_refresher_user_data: std::ptr::null_mut(),
    ca_certificate_path: std::ptr::null(),
    answer_transfers: false,
});

/// Fills `options` with defaults (all NULL).
/// Writes today's whole struct (the library's sizeof): it overruns the shorter struct of a
/// host compiled against an older header. Use ACS_CALL_AGENT_OPTIONS_INIT(p)
/// (acs_call_agent_options_init_sized).
#[no_mangle]
pub unsafe extern "C" fn acs_call_agent_options_init(
    options: *mut acs_call_agent_options,
) -> acs_status {
    // SAFETY: NULL or the host's struct.
    guard(|| unsafe { init_out(options, "options") })
}

/// As acs_call_agent_options_init, into the host's struct of `size` bytes
/// (ACS_CALL_AGENT_OPTIONS_INIT(p) passes sizeof *p): see "Sized init" in the header's
/// conventions.
#[no_mangle]
pub unsafe extern "C" fn acs_call_agent_options_init_sized(
    options: *mut acs_call_agent_options,
    size: usize,
) -> acs_status {
    // SAFETY: NULL or the host's struct of `size` bytes.
    guard(|| unsafe { init_sized(options, size, "options") })
}

/// Creates a call agent that connects to the service in the background. Fails at once with
/// ACS_ERR_UNAUTHORIZED for a malformed or expired token and ACS_ERR_INVALID_ARGUMENT for a
/// bad URL; a token the service refuses ends in an ACS_EVENT_AGENT_CONNECTION_STATE_CHANGED
/// event (Disconnected, code 401). Releasing the last reference disposes the agent (its
/// calls end).
#[no_mangle]
pub unsafe extern "C" fn acs_call_client_create_call_agent(
    client: *mut acs_call_client,
    options: *const acs_call_agent_options,
    out_agent: *mut *mut acs_call_agent,
) -> acs_status {
    guard(|| {
        need(out_agent, "out_agent")?;
        let c = handles::client(client)?;
        // SAFETY: NULL or the host's struct of struct_size bytes.
        let o = unsafe { read_in(options, "options") }?;
        let service_url = str_in(o.service_url, "options.service_url")?;
        let token = str_in(o.token, "options.token")?;
        let display_name = opt_str_in(o.display_name, "options.display_name")?.unwrap_or_default();
        let listener = listener_for(o.event_callback, o.event_user_data);
        let ca_certificate = opt_str_in(o.ca_certificate_path, "options.ca_certificate_path")?
            .map(std::path::PathBuf::from);
        if let Some(path) = &ca_certificate {
            // Refused now rather than at every connection attempt later.
            if let Err(e) = std::fs::File::open(path) {
                return Err(FfiError::new(
                    ACS_ERR_IO,
                    format!("options.ca_certificate_path {}: {e}", path.display()),
                ));
            }
        }
        let token_refresher: Option<TokenRefresher> = o.token_refresher.map(|cb| {
            let ud = HostPtr(o.token_refresher_user_data as usize);
            Arc::new(move || {
                let mut buf = vec![0u8; 16 * 1024];
                // SAFETY: the host's callback, given a writable buffer of the stated size.
                let st = unsafe { cb(ud.0 as *mut c_void, buf.as_mut_ptr().cast(), buf.len()) };
                if st != ACS_OK {
                    return None;
                }
                let end = buf.iter().position(|&b| b == 0)?;
                String::from_utf8(buf[..end].to_vec()).ok()
            }) as TokenRefresher
        });
        let agent = c.create_call_agent(CallAgentOptions {
            service_url,
            token,
            display_name,
            listener,
            token_refresher,
            ca_certificate,
            answer_transfers: o.answer_transfers,
        })?;
        out(
            out_agent,
            handles::acquire(Object::Agent(agent)),
            "out_agent",
        )
    })
}

/// Replaces (or with NULL removes) the agent's event callback. Once this returns, the old
/// callback is not called again unless it is running right now on the dispatch thread.
#[no_mangle]
pub extern "C" fn acs_call_agent_set_event_callback(
    agent: *mut acs_call_agent,
    callback: acs_event_callback,
    user_data: *mut c_void,
) -> acs_status {
    guard(|| {
        let a = handles::agent(agent)?;
        a.set_listener(listener_for(callback, user_data));
        Ok(())
    })
}

fn listener_for(callback: acs_event_callback, user_data: *mut c_void) -> Option<AgentListener> {
    callback.map(|cb| {
        let ud = HostPtr(user_data as usize);
        Arc::new(
            move |agent: &crate::client::CallAgent, ev: &crate::client::AgentEvent| {
                deliver_event(cb, ud, agent, ev)
            },
        ) as AgentListener
    })
}

/// Adds a reference to the agent.
#[no_mangle]
pub extern "C" fn acs_call_agent_retain(agent: *mut acs_call_agent) -> acs_status {
    guard(|| handles::retain(agent, handles::Kind::Agent))
}

/// Drops a reference; the last one disposes the agent (calls end, connection closes). NULL is OK.
#[no_mangle]
pub extern "C" fn acs_call_agent_release(agent: *mut acs_call_agent) -> acs_status {
    guard(|| {
        handles::finalize(handles::release(agent, handles::Kind::Agent)?);
        Ok(())
    })
}

/// Replaces the agent's token (same user) before it expires; sent to the service at once.
#[no_mangle]
pub unsafe extern "C" fn acs_call_agent_update_token(
    agent: *mut acs_call_agent,
    token: *const c_char,
) -> acs_status {
    guard(|| {
        let a = handles::agent(agent)?;
        let t = str_in(token, "token")?;
        Ok(a.update_token(&t)?)
    })
}

/// Connection state: ACS_AGENT_CONNECTION_DISCONNECTED, _CONNECTED or _CONNECTING.
#[no_mangle]
pub unsafe extern "C" fn acs_call_agent_get_connection_state(
    agent: *mut acs_call_agent,
    out_state: *mut i32,
) -> acs_status {
    guard(|| {
        let a = handles::agent(agent)?;
        let s = connection_state(a.connection_state());
        out(out_state, s, "out_state")
    })
}

/// The user id (raw id) the agent signed in as. See the string conventions.
#[no_mangle]
pub unsafe extern "C" fn acs_call_agent_get_user_id(
    agent: *mut acs_call_agent,
    buf: *mut c_char,
    capacity: usize,
    needed: *mut usize,
) -> acs_status {
    guard(|| {
        let a = handles::agent(agent)?;
        str_out(a.user_id(), buf, capacity, needed)
    })
}

/// Number of calls of this agent that have not ended.
#[no_mangle]
pub unsafe extern "C" fn acs_call_agent_get_call_count(
    agent: *mut acs_call_agent,
    out_count: *mut usize,
) -> acs_status {
    guard(|| {
        let a = handles::agent(agent)?;
        out(out_count, a.calls().len(), "out_count")
    })
}

/// The `index`-th call that has not ended (+1 reference: release it).
#[no_mangle]
pub unsafe extern "C" fn acs_call_agent_get_call(
    agent: *mut acs_call_agent,
    index: usize,
    out_call: *mut *mut acs_call,
) -> acs_status {
    guard(|| {
        need(out_call, "out_call")?;
        let a = handles::agent(agent)?;
        let c =
            a.calls().get(index).cloned().ok_or_else(|| {
                FfiError::new(ACS_ERR_NOT_FOUND, format!("no call at index {index}"))
            })?;
        out(out_call, handles::acquire(Object::Call(c)), "out_call")
    })
}

/// Agent connection states.
pub const ACS_AGENT_CONNECTION_DISCONNECTED: i32 = 0;
/// Connected and authenticated.
pub const ACS_AGENT_CONNECTION_CONNECTED: i32 = 1;
/// Connecting.
pub const ACS_AGENT_CONNECTION_CONNECTING: i32 = 2;
/// The link to the service dropped: the agent reconnects by itself (backoff with jitter)
/// and resumes its session; its calls go on meanwhile (each gets
/// ACS_EVENT_CALL_NETWORK_RECONNECT). Back to _CONNECTED when resumed; _DISCONNECTED with
/// 408/10006 when the reconnect window (120 s) passes.
pub const ACS_AGENT_CONNECTION_RECONNECTING: i32 = 3;

use super::numbering::c_numbers;
use crate::client::AgentConnectionState;

c_numbers! {
    /// ACS_AGENT_CONNECTION_* of an agent's connection state.
    connection_state(AgentConnectionState) {
        AgentConnectionState::Disconnected => ACS_AGENT_CONNECTION_DISCONNECTED,
        AgentConnectionState::Connected => ACS_AGENT_CONNECTION_CONNECTED,
        AgentConnectionState::Connecting => ACS_AGENT_CONNECTION_CONNECTING,
        AgentConnectionState::Reconnecting => ACS_AGENT_CONNECTION_RECONNECTING,
    }
}
