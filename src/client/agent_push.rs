//! Incoming calls by push notification, for apps that are not connected when a call arrives.
//!
//! An agent registers a push target (an `http://` url and a secret) for its user; the
//! service then POSTs a signed envelope there when a call rings the user and none of their
//! agents is connected (see `acscalling_protocol::push`). The app, woken by it, creates an
//! agent and hands it the body with [`CallAgent::handle_push_notification`]: the signature,
//! the validity window and the callee are checked here at once, then the call is claimed from
//! the service, which sends it to this agent as an ordinary incoming call.

use super::call_agent::CallAgent;
use super::events::{AgentEvent, PushNotificationResult};
use super::link::wait_up;
use crate::error::{Error, Result};
use crate::protocol::push::{self, PushError};
use crate::protocol::{ClientMessage, EndReason};
use parking_lot::Mutex;
use std::collections::VecDeque;

/// Nonces of the notifications handled in this process (the newest [`REMEMBERED`]): the same
/// notification handed over twice is refused before it reaches the service.
static HANDLED: Mutex<VecDeque<String>> = Mutex::new(VecDeque::new());
const REMEMBERED: usize = 1024;

use crate::protocol::clock::unix_ms;

/// A request's outcome: the service's refusal as it said it (code, subcode, message), or
/// 503/0 when it could not be asked.
async fn ask(
    link: &tokio::sync::watch::Receiver<super::link::Link>,
    make: impl FnOnce(u64) -> ClientMessage,
) -> std::result::Result<(), (EndReason, String)> {
    let unreachable = |e: Error| match e {
        Error::Service { reason, message } => (reason, message),
        other => (EndReason::SERVICE_UNAVAILABLE, other.to_string()),
    };
    let (sig, _) = wait_up(link).await.map_err(unreachable)?;
    match sig.request(make).await.map_err(unreachable)? {
        Ok(_) => Ok(()),
        Err(body) => Err((body.reason(), body.message)),
    }
}

impl CallAgent {
    /// Registers `url` (http) as a push target of this agent's user, with `secret` (16 to
    /// 256 bytes) as the key of the notifications' HMAC. Returns at once;
    /// [`AgentEvent::PushNotification`] says `Registered` or `RegistrationFailed`.
    pub fn register_push_notification(&self, url: &str, secret: &str) -> Result<()> {
        self.check_live()?;
        push::check_target(url, secret).map_err(Error::InvalidArgument)?;
        let (u, s) = (url.to_string(), secret.to_string());
        self.push_request(
            url,
            move |req| ClientMessage::RegisterPush {
                req,
                url: u,
                secret: s,
            },
            PushNotificationResult::Registered,
            PushNotificationResult::RegistrationFailed,
        );
        Ok(())
    }

    /// Removes the push target `url` of this agent's user, or all of them (`None`).
    /// Returns at once; [`AgentEvent::PushNotification`] says `Unregistered` or
    /// `UnregistrationFailed`.
    pub fn unregister_push_notification(&self, url: Option<&str>) -> Result<()> {
        self.check_live()?;
        let u = url.map(str::to_string);
        self.push_request(
            url.unwrap_or(""),
            move |req| ClientMessage::UnregisterPush { req, url: u },
            PushNotificationResult::Unregistered,
            PushNotificationResult::UnregistrationFailed,
        );
        Ok(())
    }

    fn push_request(
        &self,
        url: &str,
        make: impl FnOnce(u64) -> ClientMessage + Send + 'static,
        ok: PushNotificationResult,
        failed: PushNotificationResult,
    ) {
        let agent = self.clone();
        let link = self.link_rx();
        let url = url.to_string();
        self.runtime().spawn(async move {
            let (result, (reason, message)) = match ask(&link, make).await {
                Ok(()) => (ok, (EndReason::default(), String::new())),
                Err(why) => (failed, why),
            };
            agent.emit(AgentEvent::PushNotification {
                result,
                reason,
                message,
                url,
                call_id: String::new(),
            });
        });
    }

    /// Handles a push notification the host received: `payload` is the body the service
    /// POSTed, `secret` the one registered with its target. Checked at once: a forged or
    /// altered payload is `Unauthorized`, a stale one `Timeout`, one for another user
    /// `InvalidArgument`, one handled before in this process `InvalidState`, garbage
    /// `InvalidArgument`. Then the call is claimed from the service: it arrives as
    /// [`AgentEvent::IncomingCall`], or [`AgentEvent::PushNotification`] `CallRefused` says
    /// why not (no longer ringing, or the notification was used by another process).
    /// Returns the call id.
    pub fn handle_push_notification(&self, payload: &str, secret: &str) -> Result<String> {
        self.check_live()?;
        let call = push::open(payload, secret.as_bytes(), unix_ms()).map_err(|e| match e {
            PushError::Forged => Error::Unauthorized(e.to_string()),
            PushError::Expired(_) => Error::Timeout(e.to_string()),
            PushError::Malformed(_) | PushError::FromTheFuture(_) => {
                Error::InvalidArgument(e.to_string())
            }
        })?;
        if call.callee != self.user_id() {
            return Err(Error::InvalidArgument(format!(
                "the push notification is for {}, this agent is {}",
                call.callee,
                self.user_id()
            )));
        }
        {
            let mut handled = HANDLED.lock();
            if handled.contains(&call.nonce) {
                return Err(Error::InvalidState(format!(
                    "the push notification of call {} was already handled",
                    call.call_id
                )));
            }
            if handled.len() >= REMEMBERED {
                handled.pop_front();
            }
            handled.push_back(call.nonce.clone());
        }
        log::info!(
            "push notification: call {} from {} ({}), claiming it",
            call.call_id,
            call.caller,
            call.caller_display_name
        );
        let agent = self.clone();
        let link = self.link_rx();
        let call_id = call.call_id.clone();
        self.runtime().spawn(async move {
            let (cid, nonce) = (call.call_id.clone(), call.nonce.clone());
            let outcome = ask(&link, move |req| ClientMessage::ClaimPush {
                req,
                call_id: cid,
                nonce,
            })
            .await;
            if let Err((reason, message)) = outcome {
                log::info!(
                    "push notification of call {}: refused: {message}",
                    call.call_id
                );
                agent.emit(AgentEvent::PushNotification {
                    result: PushNotificationResult::CallRefused,
                    reason,
                    message,
                    url: String::new(),
                    call_id: call.call_id,
                });
            }
        });
        Ok(call_id)
    }
}
