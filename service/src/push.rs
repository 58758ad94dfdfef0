//! Push notifications of incoming calls for users with no connected agent.
//!
//! An agent registers push targets for its user (`RegisterPush`: an `http://` url and a
//! secret); they are written through to the store and outlive the connection. When a call
//! rings a user who has no connected agent but has targets, the callee stays ringing (the
//! setup timeout still ends it) and every target gets a signed envelope
//! ([`crate::protocol::push`]) with a nonce of its own. The host hands the envelope to the SDK,
//! which checks it and claims the call with `ClaimPush` on its new connection: the service
//! then sends that connection the `IncomingCall`, once per nonce, while the call still rings.
//!
//! A target that fails (no connection, timeout, a non-2xx answer) is retried with backoff
//! (250 ms doubling to 8 s) until it answers, the call no longer rings for the user, the
//! notification expires or [`MAX_ATTEMPTS`] tries; giving up is logged.

use crate::protocol::push::{self, PushCall, SIGNATURE_HEADER};
use crate::protocol::{EndReason, ErrorBody, ParticipantInfo, ServerMessage};
use crate::store::{Store, StoreError};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::calls::{ConnId, Hub, HubState};

/// Tries per notification and target.
pub const MAX_ATTEMPTS: u32 = 8;
/// First retry delay; doubles up to [`MAX_RETRY_DELAY`].
const FIRST_RETRY_DELAY: Duration = Duration::from_millis(250);
const MAX_RETRY_DELAY: Duration = Duration::from_secs(8);
/// One POST (connect, send, status line) at most this long.
const POST_TIMEOUT: Duration = Duration::from_secs(3);
/// A notification is valid this long at most (less when the ringing ends sooner).
const MAX_VALIDITY: Duration = Duration::from_secs(60);

/// A registered push target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    pub url: String,
    pub secret: String,
}

/// One notification sent for a ringing participant: claimed at most once.
#[derive(Clone, Debug)]
pub(crate) struct PushRing {
    pub nonce: String,
    pub claimed: bool,
    /// Who calls, as the `IncomingCall` tells it.
    pub caller: ParticipantInfo,
    pub others: Vec<String>,
}

/// The push targets of every user; written through to the store when there is one.
#[derive(Default)]
pub struct PushTargets {
    targets: Mutex<HashMap<String, Vec<Target>>>,
    store: std::sync::OnceLock<Arc<Store>>,
}

impl PushTargets {
    /// Loads the targets kept in `store`; later changes are written to it (once, at start).
    pub fn attach_store(&self, store: Arc<Store>) -> Result<(), StoreError> {
        let mut map = self.targets.lock();
        for (user, url, secret) in store.load_push_targets()? {
            map.entry(user).or_default().push(Target { url, secret });
        }
        self.store
            .set(store)
            .map_err(|_| StoreError("the push targets already have a store".into()))
    }

    /// Adds (or replaces the secret of) `user`'s target `url`.
    pub fn register(&self, user: &str, url: &str, secret: &str) -> Result<(), ErrorBody> {
        push::check_target(url, secret).map_err(|e| ErrorBody::new(EndReason::BAD_REQUEST, e))?;
        let mut map = self.targets.lock();
        let list = map.entry(user.to_string()).or_default();
        let known = list.iter().any(|t| t.url == url);
        if !known && list.len() >= push::MAX_TARGETS_PER_USER {
            return Err(ErrorBody::new(
                EndReason::FORBIDDEN,
                format!(
                    "{user} has {} push targets, the most allowed: unregister one first",
                    push::MAX_TARGETS_PER_USER
                ),
            ));
        }
        if let Some(store) = self.store.get() {
            store
                .upsert_push_target(user, url, secret)
                .map_err(|e| ErrorBody::new(EndReason::INTERNAL, e.to_string()))?;
        }
        list.retain(|t| t.url != url);
        list.push(Target {
            url: url.to_string(),
            secret: secret.to_string(),
        });
        Ok(())
    }

    /// Removes `user`'s target `url`, or all its targets; how many went.
    pub fn unregister(&self, user: &str, url: Option<&str>) -> Result<usize, ErrorBody> {
        let mut map = self.targets.lock();
        let Some(list) = map.get_mut(user) else {
            return match url {
                Some(u) => Err(ErrorBody::new(
                    EndReason::NOT_FOUND,
                    format!("{user} has no push target {u}"),
                )),
                None => Ok(0),
            };
        };
        let before = list.len();
        let after: Vec<Target> = list
            .iter()
            .filter(|t| url.is_some_and(|u| u != t.url))
            .cloned()
            .collect();
        let removed = before - after.len();
        if removed == 0 {
            if let Some(u) = url {
                return Err(ErrorBody::new(
                    EndReason::NOT_FOUND,
                    format!("{user} has no push target {u}"),
                ));
            }
        }
        if let Some(store) = self.store.get() {
            store
                .delete_push_targets(user, url)
                .map_err(|e| ErrorBody::new(EndReason::INTERNAL, e.to_string()))?;
        }
        *list = after;
        if list.is_empty() {
            map.remove(user);
        }
        Ok(removed)
    }

    /// `user`'s targets.
    pub fn of(&self, user: &str) -> Vec<Target> {
        self.targets.lock().get(user).cloned().unwrap_or_default()
    }

    /// Forgets a deleted user's targets (the store's rows go with the user).
    pub fn forget_user(&self, user: &str) {
        self.targets.lock().remove(user);
    }
}

use crate::protocol::clock::unix_ms;

/// A POST of `body` to `url` (`http://host[:port]/path`); the answer's status code.
async fn post(url: &str, body: &str, signature: &str) -> Result<u16, String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| "not an http url".to_string())?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let addr = if authority
        .rsplit_once(':')
        .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
        && !authority.ends_with(']')
    {
        authority.to_string()
    } else {
        format!("{authority}:80")
    };
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {authority}\r\nUser-Agent: acscalling-service\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n{SIGNATURE_HEADER}: {signature}\r\n\
         Connection: close\r\n\r\n{body}",
        body.len()
    );
    let exchange = async {
        let mut s = tokio::net::TcpStream::connect(&addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        s.write_all(request.as_bytes())
            .await
            .map_err(|e| format!("send: {e}"))?;
        let mut head = Vec::with_capacity(256);
        let mut buf = [0u8; 256];
        while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 4096 {
            let n = s.read(&mut buf).await.map_err(|e| format!("read: {e}"))?;
            if n == 0 {
                break;
            }
            head.extend_from_slice(&buf[..n]);
        }
        let line = String::from_utf8_lossy(&head);
        let line = line.lines().next().unwrap_or("");
        let mut parts = line.split_whitespace();
        match (
            parts.next(),
            parts.next().and_then(|c| c.parse::<u16>().ok()),
        ) {
            (Some(v), Some(code)) if v.starts_with("HTTP/1.") => Ok(code),
            _ => Err(format!("not an HTTP answer: {line:?}")),
        }
    };
    tokio::time::timeout(POST_TIMEOUT, exchange)
        .await
        .map_err(|_| format!("no answer within {POST_TIMEOUT:?}"))?
}

impl HubState {
    /// Whether a link carries one of `user`'s connections now.
    pub(crate) fn user_live(&self, user: &str) -> bool {
        self.user_conns
            .get(user)
            .is_some_and(|cs| cs.iter().any(|c| self.conns.get(c).is_some_and(|c| c.live)))
    }

    /// Whether push notification `nonce` for `user` in `call_id` still waits to be claimed.
    fn push_pending(&self, call_id: &str, user: &str, nonce: &str) -> bool {
        self.calls
            .get(call_id)
            .and_then(|c| c.find(user).map(|i| &c.participants[i]))
            .is_some_and(|p| {
                p.state == crate::protocol::ParticipantState::Ringing
                    && p.push.iter().any(|r| r.nonce == nonce && !r.claimed)
            })
    }
}

impl Hub {
    /// Whether `user` could be rung by push (no agent connected, at least one target).
    pub(crate) fn has_push_targets(&self, user: &str) -> bool {
        !self.push.of(user).is_empty()
    }

    /// Sends a notification to each of `callee`'s targets for ringing participant `idx` of
    /// `call_id`, valid until the ringing would time out (at most [`MAX_VALIDITY`]).
    pub(crate) fn push_ring(
        self: &Arc<Self>,
        st: &mut HubState,
        call_id: &str,
        idx: usize,
        caller: &ParticipantInfo,
        others: Vec<String>,
        ring_timeout: Duration,
    ) {
        let Some(call) = st.calls.get_mut(call_id) else {
            return;
        };
        let p = &mut call.participants[idx];
        let callee = p.id.clone();
        let issued = unix_ms();
        let expires = issued + ring_timeout.min(MAX_VALIDITY).as_millis() as u64;
        for target in self.push.of(&callee) {
            let nonce = uuid::Uuid::new_v4().to_string();
            p.push.push(PushRing {
                nonce: nonce.clone(),
                claimed: false,
                caller: caller.clone(),
                others: others.clone(),
            });
            let (body, signature) = push::seal_signed(
                target.secret.as_bytes(),
                &PushCall {
                    kind: push::KIND_INCOMING_CALL.into(),
                    call_id: call_id.to_string(),
                    callee: callee.clone(),
                    caller: caller.id.clone(),
                    caller_display_name: caller.display_name.clone(),
                    nonce: nonce.clone(),
                    issued_at_ms: issued,
                    expires_at_ms: expires,
                },
            );
            let hub = Arc::clone(self);
            let call_id = call_id.to_string();
            let user = callee.clone();
            tokio::spawn(async move {
                hub.deliver(call_id, user, nonce, target.url, body, signature, expires)
                    .await
            });
        }
    }

    /// POSTs one notification, retrying with backoff while it is still wanted.
    #[allow(clippy::too_many_arguments)]
    async fn deliver(
        self: Arc<Self>,
        call_id: String,
        user: String,
        nonce: String,
        url: String,
        body: String,
        signature: String,
        expires_at_ms: u64,
    ) {
        let mut delay = FIRST_RETRY_DELAY;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let started = std::time::Instant::now();
            let outcome = post(&url, &body, &signature).await;
            let failure = match outcome {
                Ok(code) if (200..300).contains(&code) => {
                    log::info!(
                        "push for call {call_id} to {user} at {url}: delivered (HTTP {code}, \
                         attempt {attempt}, {} ms)",
                        started.elapsed().as_millis()
                    );
                    return;
                }
                Ok(code) => format!("HTTP {code}"),
                Err(e) => e,
            };
            if !self.state.lock().push_pending(&call_id, &user, &nonce) {
                log::info!(
                    "push for call {call_id} to {user} at {url}: {failure}; no longer needed \
                     (the call no longer rings for {user} or was claimed)"
                );
                return;
            }
            if attempt >= MAX_ATTEMPTS || unix_ms() + delay.as_millis() as u64 >= expires_at_ms {
                log::warn!(
                    "push for call {call_id} to {user} at {url}: gave up after {attempt} \
                     attempts; last: {failure}"
                );
                return;
            }
            log::info!(
                "push for call {call_id} to {user} at {url}: {failure}; retry {} in {} ms",
                attempt + 1,
                delay.as_millis()
            );
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_RETRY_DELAY);
        }
    }

    /// `RegisterPush` / `UnregisterPush`.
    pub fn register_push(&self, conn: ConnId, req: u64, url: &str, secret: &str) {
        let Some((user, _)) = self.conn_user(conn) else {
            return;
        };
        let result = self.push.register(&user, url, secret);
        if result.is_ok() {
            log::info!("{user} registered push target {url}");
        }
        self.state.lock().respond(conn, req, result.map(|_| None));
    }

    pub fn unregister_push(&self, conn: ConnId, req: u64, url: Option<&str>) {
        let Some((user, _)) = self.conn_user(conn) else {
            return;
        };
        let result = self.push.unregister(&user, url);
        if let Ok(n) = result {
            log::info!("{user} unregistered {n} push target(s)");
        }
        self.state.lock().respond(conn, req, result.map(|_| None));
    }

    /// `ClaimPush`: the call of a push notification, sent to this connection once.
    pub fn claim_push(&self, conn: ConnId, req: u64, call_id: &str, nonce: &str) {
        let Some((user, _)) = self.conn_user(conn) else {
            return;
        };
        let mut st = self.state.lock();
        let claimed = (|| {
            let call = st.calls.get_mut(call_id).ok_or_else(|| {
                ErrorBody::new(EndReason::PUSH_CALL_GONE, format!("call {call_id} is over"))
            })?;
            let p = call
                .find(&user)
                .map(|i| &mut call.participants[i])
                .ok_or_else(|| {
                    ErrorBody::new(
                        EndReason::PUSH_CALL_GONE,
                        format!("call {call_id} does not ring {user} (any more)"),
                    )
                })?;
            if p.state != crate::protocol::ParticipantState::Ringing {
                return Err(ErrorBody::new(
                    EndReason::PUSH_CALL_GONE,
                    format!(
                        "call {call_id} no longer rings for {user} (it is {})",
                        p.state.as_str()
                    ),
                ));
            }
            let ring = p
                .push
                .iter_mut()
                .find(|r| r.nonce == nonce)
                .ok_or_else(|| {
                    ErrorBody::new(
                        EndReason::NOT_FOUND,
                        format!("no push notification {nonce} for {user} in call {call_id}"),
                    )
                })?;
            if ring.claimed {
                return Err(ErrorBody::new(
                    EndReason::PUSH_ALREADY_HANDLED,
                    "this push notification was already handled (replayed?)",
                ));
            }
            ring.claimed = true;
            Ok((ring.caller.clone(), ring.others.clone()))
        })();
        match claimed {
            Ok((caller, others)) => {
                st.respond(conn, req, Ok(None));
                st.send(
                    conn,
                    ServerMessage::IncomingCall {
                        call_id: call_id.to_string(),
                        caller,
                        others,
                    },
                );
                log::info!("call {call_id}: {user} claimed its push notification");
            }
            Err(e) => {
                log::info!("call {call_id}: {user}'s push claim refused: {}", e.message);
                st.respond(conn, req, Err(e));
            }
        }
    }
}
