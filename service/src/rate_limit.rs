//! Rate and size limits: the REST API per client IP, and signaling messages per WebSocket
//! connection.
//!
//! Both use [`TokenBucket`], a plain struct fed with `now` (tested on synthetic time). The
//! bucket is written here rather than taken from a crate (`governor`): it is 30 lines, and
//! the service needs the refusal's retry delay and per-connection state that lives in the
//! connection's own loop, not a shared keyed limiter.
//!
//! - REST ([`rest`], an axum middleware): every request from one IP takes a token; an empty
//!   bucket answers `429 Too Many Requests` with `Retry-After` and a JSON error. The
//!   signaling upgrade (`GET /signaling`) is one request like any other, so reconnect storms
//!   are limited too; messages on an open WebSocket are not REST requests.
//! - Signaling ([`SignalingGate`], called from the connection's read loop): every text or
//!   binary message takes a token; an excess one is answered with a `429` error (the
//!   `Response` to its `req` when it has one, else `Error`) and not handled. A connection
//!   that has this many refusals within [`FLOOD_WINDOW`] (`--signaling-flood-close`) is
//!   closed with 429. A message over `--signaling-max-message-bytes` is refused with 413;
//!   a frame (or a message) over `--signaling-max-frame-bytes` is refused by the WebSocket
//!   layer and the connection closed with 413.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::Message;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::Response;
use parking_lot::Mutex;
use tokio::time::Instant;

use crate::protocol::{EndReason, ErrorBody, ServerMessage};

/// Refusals are counted over this window to decide that a connection floods.
pub const FLOOD_WINDOW: Duration = Duration::from_secs(10);

/// The limits, from the service's flags.
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    /// REST requests per second per client IP (`--rest-rate-limit`, 0 = none).
    pub rest_rate: f64,
    /// REST requests one IP may make at once above the rate (`--rest-burst`).
    pub rest_burst: f64,
    /// Signaling messages per second per connection (`--signaling-rate-limit`, 0 = none).
    pub signaling_rate: f64,
    /// Signaling messages one connection may send at once (`--signaling-burst`).
    pub signaling_burst: f64,
    /// Refused messages within [`FLOOD_WINDOW`] that close the connection
    /// (`--signaling-flood-close`, 0 = never close).
    pub flood_close: u32,
    /// Largest signaling message handled (`--signaling-max-message-bytes`).
    pub max_message: usize,
    /// Largest WebSocket frame or message read at all (`--signaling-max-frame-bytes`).
    pub max_frame: usize,
}

/// Default of `--rest-rate-limit`.
pub const DEFAULT_REST_RATE: f64 = 200.0;
/// Default of `--rest-burst`.
pub const DEFAULT_REST_BURST: f64 = 400.0;
/// Default of `--signaling-rate-limit`.
pub const DEFAULT_SIGNALING_RATE: f64 = 20.0;
/// Default of `--signaling-burst`.
pub const DEFAULT_SIGNALING_BURST: f64 = 100.0;
/// Default of `--signaling-flood-close`.
pub const DEFAULT_FLOOD_CLOSE: u32 = 200;
/// Default of `--signaling-max-message-bytes` (256 KiB: an SDP offer is a few KiB).
pub const DEFAULT_MAX_MESSAGE: usize = 256 * 1024;
/// Default of `--signaling-max-frame-bytes` (1 MiB).
pub const DEFAULT_MAX_FRAME: usize = 1024 * 1024;
/// Smallest `--signaling-max-message-bytes` accepted (a Hello with a token must fit).
pub const MIN_MAX_MESSAGE: usize = 4096;

impl Default for Limits {
    fn default() -> Self {
        Self {
            rest_rate: DEFAULT_REST_RATE,
            rest_burst: DEFAULT_REST_BURST,
            signaling_rate: DEFAULT_SIGNALING_RATE,
            signaling_burst: DEFAULT_SIGNALING_BURST,
            flood_close: DEFAULT_FLOOD_CLOSE,
            max_message: DEFAULT_MAX_MESSAGE,
            max_frame: DEFAULT_MAX_FRAME,
        }
    }
}

impl Limits {
    /// Checks the combination (flags are checked one by one when parsed).
    pub fn check(&self) -> Result<(), String> {
        if self.max_message < MIN_MAX_MESSAGE {
            return Err(format!(
                "--signaling-max-message-bytes must be at least {MIN_MAX_MESSAGE}"
            ));
        }
        if self.max_frame < self.max_message {
            return Err(
                "--signaling-max-frame-bytes must not be below --signaling-max-message-bytes"
                    .into(),
            );
        }
        if self.rest_rate > 0.0 && self.rest_burst < 1.0 {
            return Err("--rest-burst must be at least 1".into());
        }
        if self.signaling_rate > 0.0 && self.signaling_burst < 1.0 {
            return Err("--signaling-burst must be at least 1".into());
        }
        Ok(())
    }
}

/// A token bucket: `burst` tokens, refilled at `rate` per second; each event takes one.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    /// A full bucket at `now`.
    pub fn new(rate: f64, burst: f64, now: Instant) -> Self {
        Self {
            rate,
            burst,
            tokens: burst,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = self.last.max(now);
    }

    /// Takes a token; when there is none, how long until there is one.
    pub fn take(&mut self, now: Instant) -> Result<(), Duration> {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - self.tokens) / self.rate))
        }
    }

    /// Whether the bucket has refilled completely by `now` (it can be forgotten).
    fn full(&self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens + elapsed * self.rate >= self.burst
    }
}

/// Buckets of the REST API, one per client IP.
pub struct RestLimiter {
    rate: f64,
    burst: f64,
    buckets: Mutex<HashMap<IpAddr, TokenBucket>>,
}

/// Buckets are swept of full ones when there are more than this many.
const SWEEP_ABOVE: usize = 4096;

impl RestLimiter {
    /// A limiter of `rate` requests per second per IP with bursts of `burst` (rate 0: none).
    pub fn new(rate: f64, burst: f64) -> Self {
        Self {
            rate,
            burst,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request from `ip` at `now`; `Err(retry after)` when over the limit.
    pub fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        if self.rate <= 0.0 {
            return Ok(());
        }
        let mut buckets = self.buckets.lock();
        if buckets.len() > SWEEP_ABOVE {
            // Memory stays bounded by the clients active within one refill time.
            buckets.retain(|_, b| !b.full(now));
        }
        buckets
            .entry(ip)
            .or_insert_with(|| TokenBucket::new(self.rate, self.burst, now))
            .take(now)
    }
}

/// Axum middleware: refuses a request over its IP's limit with 429, `Retry-After` and a
/// JSON error. A request without a peer address (none in tests of the router) passes.
pub async fn rest(State(limiter): State<Arc<RestLimiter>>, req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if let Some(ip) = peer {
        if let Err(wait) = limiter.check(ip, Instant::now()) {
            let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
            log::debug!("{ip}: REST rate limit, retry after {secs} s");
            let mut r = crate::identity::json_error(
                StatusCode::TOO_MANY_REQUESTS,
                format!(
                    "rate limit: more than {} requests per second from {ip}; retry after {secs} s",
                    limiter.rate
                ),
            );
            r.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
            return r;
        }
    }
    next.run(req).await
}

/// What the read loop does with a frame.
#[derive(Debug, PartialEq)]
pub enum Verdict {
    /// Handle it.
    Pass,
    /// Don't handle it; send this instead.
    Refuse(ServerMessage),
    /// Close the connection with this error.
    Close(ErrorBody),
}

/// The limits of one signaling connection.
pub struct SignalingGate {
    bucket: Option<TokenBucket>,
    max_message: usize,
    max_frame: usize,
    flood_close: u32,
    refused: u32,
    window_start: Instant,
}

/// Just the `req` of a client message (to answer a refused request by its number).
#[derive(serde::Deserialize)]
struct ReqOnly {
    req: Option<u64>,
}

impl SignalingGate {
    /// The gate of a connection opened at `now`.
    pub fn new(limits: &Limits, now: Instant) -> Self {
        Self {
            bucket: (limits.signaling_rate > 0.0)
                .then(|| TokenBucket::new(limits.signaling_rate, limits.signaling_burst, now)),
            max_message: limits.max_message,
            max_frame: limits.max_frame,
            flood_close: limits.flood_close,
            refused: 0,
            window_start: now,
        }
    }

    /// Judges what the WebSocket stream yielded (the read loop's hook).
    pub fn judge(&mut self, frame: Option<&Result<Message, axum::Error>>, now: Instant) -> Verdict {
        match frame {
            Some(Ok(Message::Text(t))) => self.admit(t.len(), Some(t.as_str()), now),
            Some(Ok(Message::Binary(b))) => self.admit(b.len(), None, now),
            Some(Err(e)) if too_large(e) => Verdict::Close(self.frame_too_large()),
            _ => Verdict::Pass,
        }
    }

    /// Judges one message of `len` bytes (`text` when it is a text message) at `now`.
    pub fn admit(&mut self, len: usize, text: Option<&str>, now: Instant) -> Verdict {
        let refusal = if len > self.max_message {
            ErrorBody::new(
                EndReason::MESSAGE_TOO_LARGE,
                format!(
                    "message of {len} bytes refused: the limit is {} bytes",
                    self.max_message
                ),
            )
        } else {
            match self.bucket.as_mut().map(|b| b.take(now)) {
                None | Some(Ok(())) => return Verdict::Pass,
                Some(Err(wait)) => ErrorBody::new(
                    EndReason::RATE_LIMITED,
                    format!(
                        "rate limit: more than {} messages per second on this connection; \
                         message not handled, retry after {} ms",
                        self.bucket.as_ref().map_or(0.0, |b| b.rate),
                        wait.as_millis().max(1)
                    ),
                ),
            }
        };
        if now.saturating_duration_since(self.window_start) > FLOOD_WINDOW {
            self.window_start = now;
            self.refused = 0;
        }
        self.refused += 1;
        if self.flood_close > 0 && self.refused >= self.flood_close {
            return Verdict::Close(ErrorBody::new(
                EndReason::RATE_LIMITED,
                format!(
                    "connection closed: {} messages refused within {} s (flooding)",
                    self.refused,
                    FLOOD_WINDOW.as_secs()
                ),
            ));
        }
        // Only the `req` is read (the frame cap bounds the work), so that the client's
        // request fails at once instead of waiting for its timeout.
        let req = text
            .and_then(|t| serde_json::from_str::<ReqOnly>(t).ok())
            .and_then(|r| r.req);
        Verdict::Refuse(match req {
            Some(req) => ServerMessage::Response {
                req,
                error: Some(refusal),
                answer_sdp: None,
                media_id: None,
            },
            None => ServerMessage::Error { error: refusal },
        })
    }

    /// The error closing a connection that sent a frame over the hard cap.
    pub fn frame_too_large(&self) -> ErrorBody {
        ErrorBody::new(
            EndReason::MESSAGE_TOO_LARGE,
            format!(
                "connection closed: a WebSocket frame or message over {} bytes",
                self.max_frame
            ),
        )
    }
}

/// Whether a WebSocket read failed because a frame or message exceeded the size cap.
pub fn too_large(e: &axum::Error) -> bool {
    let inner = std::error::Error::source(e);
    matches!(
        inner.and_then(|s| s.downcast_ref::<tungstenite::Error>()),
        Some(tungstenite::Error::Capacity(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn bucket_allows_the_burst_then_the_rate() {
        let t0 = Instant::now();
        let mut b = TokenBucket::new(10.0, 5.0, t0);
        for _ in 0..5 {
            assert!(b.take(t0).is_ok());
        }
        let wait = b.take(t0).unwrap_err();
        assert!(wait > ms(90) && wait <= ms(100), "{wait:?}");
        // 100 ms later one token is back, and only one.
        assert!(b.take(t0 + ms(100)).is_ok());
        assert!(b.take(t0 + ms(100)).is_err());
        // A long pause refills to the burst, not beyond.
        let later = t0 + Duration::from_secs(60);
        for _ in 0..5 {
            assert!(b.take(later).is_ok());
        }
        assert!(b.take(later).is_err());
    }

    #[test]
    fn rest_limiter_is_per_ip() {
        let t0 = Instant::now();
        let l = RestLimiter::new(1.0, 2.0);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        assert!(l.check(a, t0).is_ok() && l.check(a, t0).is_ok());
        let wait = l.check(a, t0).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > ms(900), "{wait:?}");
        assert!(l.check(b, t0).is_ok(), "another client is not affected");
        assert!(l.check(a, t0 + Duration::from_secs(1)).is_ok());
        let off = RestLimiter::new(0.0, 0.0);
        assert!((0..10_000).all(|_| off.check(a, t0).is_ok()));
    }

    fn limits() -> Limits {
        Limits {
            signaling_rate: 10.0,
            signaling_burst: 3.0,
            flood_close: 5,
            max_message: 5000,
            max_frame: 10_000,
            ..Limits::default()
        }
    }

    #[test]
    fn gate_refuses_excess_with_the_req_then_closes_a_flood() {
        let t0 = Instant::now();
        let mut g = SignalingGate::new(&limits(), t0);
        let msg = r#"{"type":"ping","req":7}"#;
        for _ in 0..3 {
            assert_eq!(g.admit(msg.len(), Some(msg), t0), Verdict::Pass);
        }
        match g.admit(msg.len(), Some(msg), t0) {
            Verdict::Refuse(ServerMessage::Response {
                req: 7,
                error: Some(e),
                ..
            }) => {
                assert_eq!(e.code, 429);
                assert!(e.message.contains("rate limit"), "{}", e.message);
            }
            v => panic!("{v:?}"),
        }
        // Without a req: an Error message.
        assert!(matches!(
            g.admit(3, Some("xyz"), t0),
            Verdict::Refuse(ServerMessage::Error { .. })
        ));
        // Refills at the rate.
        assert_eq!(g.admit(msg.len(), Some(msg), t0 + ms(100)), Verdict::Pass);
        // Keeps flooding: the 5th refusal within the window closes.
        let t1 = t0 + ms(100);
        assert!(matches!(g.admit(3, None, t1), Verdict::Refuse(_)));
        assert!(matches!(g.admit(3, None, t1), Verdict::Refuse(_)));
        match g.admit(3, None, t1) {
            Verdict::Close(e) => assert_eq!(e.code, 429),
            v => panic!("{v:?}"),
        }
    }

    #[test]
    fn refusals_spread_over_windows_do_not_close() {
        let t0 = Instant::now();
        let mut g = SignalingGate::new(&limits(), t0);
        let mut now = t0;
        for _ in 0..10 {
            // Exhaust the bucket, then 2 refusals per 11 s window: never 5 in one window.
            for _ in 0..3 {
                let _ = g.admit(2, None, now);
            }
            assert!(matches!(g.admit(2, None, now), Verdict::Refuse(_)));
            now += Duration::from_secs(11);
        }
    }

    #[test]
    fn oversized_messages_are_refused_whatever_the_rate() {
        let t0 = Instant::now();
        let mut g = SignalingGate::new(
            &Limits {
                signaling_rate: 0.0,
                ..limits()
            },
            t0,
        );
        let big = format!(r#"{{"type":"ping","req":1,"pad":"{}"}}"#, "x".repeat(6000));
        match g.admit(big.len(), Some(&big), t0) {
            Verdict::Refuse(ServerMessage::Response {
                req: 1,
                error: Some(error),
                ..
            }) => {
                assert_eq!(error.code, 413);
                assert!(error.message.contains("5000"), "{}", error.message);
            }
            v => panic!("{v:?}"),
        }
        assert_eq!(g.admit(100, Some("{}"), t0), Verdict::Pass);
    }

    #[test]
    fn limits_are_checked_together() {
        assert!(Limits::default().check().is_ok());
        let small = Limits {
            max_message: 100,
            ..Limits::default()
        };
        assert!(small.check().is_err());
        let inverted = Limits {
            max_frame: 10_000,
            ..Limits::default()
        };
        assert!(inverted.check().is_err());
    }
}
