//! C API: incoming calls by push notification while the app is not connected.
//!
//! Register a push target (an `http://` url and a secret) with
//! acs_call_agent_register_push_notification; when a call rings the user and none of its
//! agents is connected, the service POSTs a signed JSON body there (header `X-Acs-Signature`
//! carries the signature too). The app, woken by it, creates an agent with the user's token
//! and hands it the body with acs_call_agent_handle_push_notification: the call then arrives
//! as ACS_EVENT_INCOMING_CALL.

use super::guard;
use super::handles::{self, acs_call_agent};
use super::status::acs_status;
use super::strings::{opt_str_in, str_in};
use std::ffi::c_char;

/// ACS_EVENT_PUSH_NOTIFICATION's `state`: the service keeps the push target
/// (`push_subject` is its url).
pub const ACS_PUSH_NOTIFICATION_REGISTERED: i32 = 1;
/// ACS_EVENT_PUSH_NOTIFICATION's `state`: the service refused the push target;
/// `code`/`subcode`/`message` say why (400/0 a bad url or secret, 403/0 too many targets).
pub const ACS_PUSH_NOTIFICATION_REGISTRATION_FAILED: i32 = 2;
/// ACS_EVENT_PUSH_NOTIFICATION's `state`: the push target `push_subject` (NULL: all of the
/// user's targets) is removed.
pub const ACS_PUSH_NOTIFICATION_UNREGISTERED: i32 = 3;
/// ACS_EVENT_PUSH_NOTIFICATION's `state`: the removal failed (404/0: no such target).
pub const ACS_PUSH_NOTIFICATION_UNREGISTRATION_FAILED: i32 = 4;
/// ACS_EVENT_PUSH_NOTIFICATION's `state`: the call of a handled notification (its id in
/// `push_subject`) was not delivered: it no longer rings for this user (410/10013:
/// answered elsewhere, cancelled, timed out) or the notification was used before
/// (409/10014). A delivered call raises ACS_EVENT_INCOMING_CALL instead.
pub const ACS_PUSH_NOTIFICATION_CALL_REFUSED: i32 = 5;

/// Registers `url` (`http://host[:port]/path`) as a push target of the agent's user, with
/// `secret` (16 to 256 bytes) as the key of the notifications' HMAC-SHA256. The target
/// outlives the agent (the service stores it) until it is unregistered; registering the same
/// url again replaces its secret; a user has at most 10. Returns at once
/// (ACS_ERR_INVALID_ARGUMENT for a bad url or secret); ACS_EVENT_PUSH_NOTIFICATION with
/// state ACS_PUSH_NOTIFICATION_REGISTERED or _REGISTRATION_FAILED follows.
#[no_mangle]
pub unsafe extern "C" fn acs_call_agent_register_push_notification(
    agent: *mut acs_call_agent,
    url: *const c_char,
    secret: *const c_char,
) -> acs_status {
    guard(|| {
        let a = handles::agent(agent)?;
        let url = str_in(url, "url")?;
        let secret = str_in(secret, "secret")?;
        Ok(a.register_push_notification(&url, &secret)?)
    })
}

/// Removes the push target `url` of the agent's user, or all of them when `url` is NULL.
/// Returns at once; ACS_EVENT_PUSH_NOTIFICATION with state ACS_PUSH_NOTIFICATION_UNREGISTERED
/// or _UNREGISTRATION_FAILED follows.
#[no_mangle]
pub unsafe extern "C" fn acs_call_agent_unregister_push_notification(
    agent: *mut acs_call_agent,
    url: *const c_char,
) -> acs_status {
    guard(|| {
        let a = handles::agent(agent)?;
        let url = opt_str_in(url, "url")?;
        Ok(a.unregister_push_notification(url.as_deref())?)
    })
}

/// Hands the agent a push notification: `payload` is the body the service POSTed (as
/// received), `secret` the one its target was registered with. Checked at once:
/// ACS_ERR_UNAUTHORIZED when the signature does not match (forged, altered, another secret),
/// ACS_ERR_TIMEOUT when it is stale (past its expiry, at most 60 s after it was sent),
/// ACS_ERR_INVALID_ARGUMENT when it is malformed or for another user, ACS_ERR_INVALID_STATE
/// when this process handled it before. Then the call is claimed from the service (the agent
/// may still be connecting): it arrives as ACS_EVENT_INCOMING_CALL, to accept or reject as
/// usual, or ACS_EVENT_PUSH_NOTIFICATION with state ACS_PUSH_NOTIFICATION_CALL_REFUSED says
/// why not.
#[no_mangle]
pub unsafe extern "C" fn acs_call_agent_handle_push_notification(
    agent: *mut acs_call_agent,
    payload: *const c_char,
    secret: *const c_char,
) -> acs_status {
    guard(|| {
        let a = handles::agent(agent)?;
        let payload = str_in(payload, "payload")?;
        let secret = str_in(secret, "secret")?;
        a.handle_push_notification(&payload, &secret)?;
        Ok(())
    })
}
