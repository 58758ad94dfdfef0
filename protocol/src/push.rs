//! Push notifications of incoming calls for a user with no connected agent.
//!
//! The service POSTs a [`PushEnvelope`] (JSON) to each push target the user registered. Its
//! `data` is the JSON text of a [`PushCall`], kept as a string so that the signature covers
//! exactly those bytes: `signature` is `v1=` + hex(HMAC-SHA256(secret, data)). The same value
//! is sent in the `X-Acs-Signature` header for receivers that check before passing the body on.
//! The host hands the whole body to the SDK with the secret; [`open`] checks the signature
//! (in constant time), the format and the validity window.

use serde::{Deserialize, Serialize};

/// The `kind` of an incoming-call notification.
pub const KIND_INCOMING_CALL: &str = "incoming_call";
/// Envelope version this code writes and reads.
pub const ENVELOPE_VERSION: u32 = 1;
/// How far in the future `issued_at_ms` may be (clock skew between service and host).
pub const MAX_CLOCK_SKEW_MS: u64 = 30_000;
/// The most push targets one user may register.
pub const MAX_TARGETS_PER_USER: usize = 10;
/// The longest target url.
pub const MAX_URL_LEN: usize = 2048;
/// The shortest and longest secret, in bytes.
pub const MIN_SECRET_LEN: usize = 16;
pub const MAX_SECRET_LEN: usize = 256;
/// The largest envelope [`open`] reads.
pub const MAX_ENVELOPE_LEN: usize = 16 * 1024;
/// The header carrying the signature beside the body.
pub const SIGNATURE_HEADER: &str = "X-Acs-Signature";

/// What is POSTed to a push target.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PushEnvelope {
    pub version: u32,
    /// The JSON text of a [`PushCall`].
    pub data: String,
    /// `v1=` + lowercase hex of HMAC-SHA256(secret, data).
    pub signature: String,
}

/// An incoming call, as a push notification tells it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PushCall {
    /// [`KIND_INCOMING_CALL`].
    pub kind: String,
    pub call_id: String,
    /// The user the call rings (raw id).
    pub callee: String,
    /// The caller's raw id and display name.
    pub caller: String,
    #[serde(default)]
    pub caller_display_name: String,
    /// Single-use: the service delivers the call once per nonce.
    pub nonce: String,
    /// Unix time in milliseconds.
    pub issued_at_ms: u64,
    /// After this (unix ms) the notification is stale.
    pub expires_at_ms: u64,
}

/// Why [`open`] refused a notification.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PushError {
    #[error("the push notification is malformed: {0}")]
    Malformed(String),
    #[error("the push notification's signature does not match the secret (forged, altered, or another secret)")]
    Forged,
    #[error("the push notification expired {0} ms ago")]
    Expired(u64),
    #[error("the push notification was issued {0} ms in the future (clock skew?)")]
    FromTheFuture(u64),
}

/// `v1=` + hex(HMAC-SHA256(secret, data)).
pub fn sign(secret: &[u8], data: &str) -> String {
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    let tag = aws_lc_rs::hmac::sign(&key, data.as_bytes());
    let mut out = String::with_capacity(3 + 64);
    out.push_str("v1=");
    for b in tag.as_ref() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The envelope (JSON text) of `call`, signed with `secret`.
pub fn seal(secret: &[u8], call: &PushCall) -> String {
    seal_signed(secret, call).0
}

/// [`seal`], with the envelope's signature beside it (for the `X-Acs-Signature` header).
pub fn seal_signed(secret: &[u8], call: &PushCall) -> (String, String) {
    let data = serde_json::to_string(call).unwrap_or_default();
    let signature = sign(secret, &data);
    let body = serde_json::to_string(&PushEnvelope {
        version: ENVELOPE_VERSION,
        data,
        signature: signature.clone(),
    })
    .unwrap_or_default();
    (body, signature)
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if s.len() % 2 != 0 {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

/// Checks `body` (an envelope) against `secret` at `now_ms`: the signature first (nothing of
/// an unsigned payload is trusted), then the format and the validity window.
pub fn open(body: &str, secret: &[u8], now_ms: u64) -> Result<PushCall, PushError> {
    if body.len() > MAX_ENVELOPE_LEN {
        return Err(PushError::Malformed(format!(
            "{} bytes, more than {MAX_ENVELOPE_LEN}",
            body.len()
        )));
    }
    let env: PushEnvelope = serde_json::from_str(body)
        .map_err(|e| PushError::Malformed(format!("not an envelope: {e}")))?;
    if env.version != ENVELOPE_VERSION {
        return Err(PushError::Malformed(format!(
            "envelope version {} (this SDK reads {ENVELOPE_VERSION})",
            env.version
        )));
    }
    let tag = env
        .signature
        .strip_prefix("v1=")
        .and_then(unhex)
        .filter(|t| t.len() == 32)
        .ok_or_else(|| PushError::Malformed("the signature is not v1=<64 hex digits>".into()))?;
    let key = aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, secret);
    aws_lc_rs::hmac::verify(&key, env.data.as_bytes(), &tag).map_err(|_| PushError::Forged)?;
    let call: PushCall = serde_json::from_str(&env.data)
        .map_err(|e| PushError::Malformed(format!("bad data: {e}")))?;
    if call.kind != KIND_INCOMING_CALL {
        return Err(PushError::Malformed(format!(
            "kind '{}' (this SDK handles '{KIND_INCOMING_CALL}')",
            call.kind
        )));
    }
    if call.call_id.is_empty() || call.nonce.is_empty() {
        return Err(PushError::Malformed("no call id or nonce".into()));
    }
    if call.issued_at_ms > now_ms + MAX_CLOCK_SKEW_MS {
        return Err(PushError::FromTheFuture(call.issued_at_ms - now_ms));
    }
    if now_ms > call.expires_at_ms {
        return Err(PushError::Expired(now_ms - call.expires_at_ms));
    }
    Ok(call)
}

/// Checks a push target as registered: an `http://host[:port]/path` url, a secret of
/// [`MIN_SECRET_LEN`]..=[`MAX_SECRET_LEN`] bytes.
pub fn check_target(url: &str, secret: &str) -> Result<(), String> {
    if url.len() > MAX_URL_LEN {
        return Err(format!("the url is longer than {MAX_URL_LEN} bytes"));
    }
    let Some(rest) = url.strip_prefix("http://") else {
        return Err(format!(
            "'{url}': only http:// push targets are supported (put a TLS-terminating relay in front for https)"
        ));
    };
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(format!("'{url}' has no host"));
    }
    if !(MIN_SECRET_LEN..=MAX_SECRET_LEN).contains(&secret.len()) {
        return Err(format!(
            "the secret must be {MIN_SECRET_LEN} to {MAX_SECRET_LEN} bytes, not {}",
            secret.len()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(now: u64) -> PushCall {
        PushCall {
            kind: KIND_INCOMING_CALL.into(),
            call_id: "c1".into(),
            callee: "8:acs:b".into(),
            caller: "8:acs:a".into(),
            caller_display_name: "Alice".into(),
            nonce: "n1".into(),
            issued_at_ms: now,
            expires_at_ms: now + 60_000,
        }
    }

    #[test]
    fn a_sealed_notification_opens_with_its_secret_only() {
        let body = seal(b"0123456789abcdef", &call(1000));
        assert_eq!(open(&body, b"0123456789abcdef", 2000), Ok(call(1000)));
        assert_eq!(
            open(&body, b"0123456789abcdeX", 2000),
            Err(PushError::Forged)
        );
    }

    #[test]
    fn an_altered_notification_is_forged() {
        let body = seal(b"0123456789abcdef", &call(1000));
        let altered = body.replace("8:acs:a", "8:acs:z");
        assert_eq!(
            open(&altered, b"0123456789abcdef", 2000),
            Err(PushError::Forged)
        );
    }

    #[test]
    fn stale_and_future_notifications_are_refused() {
        let body = seal(b"0123456789abcdef", &call(1000));
        assert_eq!(
            open(&body, b"0123456789abcdef", 61_500),
            Err(PushError::Expired(500))
        );
        let future = seal(b"0123456789abcdef", &call(100_000));
        assert!(matches!(
            open(&future, b"0123456789abcdef", 1000),
            Err(PushError::FromTheFuture(99_000))
        ));
    }

    #[test]
    fn garbage_is_malformed() {
        for body in [
            "",
            "{",
            "[]",
            "{\"version\":1}",
            "{\"version\":2,\"data\":\"\",\"signature\":\"\"}",
            "{\"version\":1,\"data\":\"x\",\"signature\":\"v1=zz\"}",
        ] {
            assert!(
                matches!(
                    open(body, b"0123456789abcdef", 0),
                    Err(PushError::Malformed(_))
                ),
                "{body}"
            );
        }
    }

    #[test]
    fn targets_are_checked() {
        assert!(check_target("http://127.0.0.1:8080/push", "0123456789abcdef").is_ok());
        assert!(check_target("https://x/push", "0123456789abcdef").is_err());
        assert!(check_target("http:///push", "0123456789abcdef").is_err());
        assert!(check_target("http://x/push", "short").is_err());
    }
}
