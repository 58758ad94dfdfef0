//! WebSocket client to the service: the Hello handshake, request/response matching and the
//! inbound message stream. No call logic here.

use crate::error::{Error, Result};
use crate::protocol::{
    ClientMessage, EndReason, ErrorBody, Numbered, Resume, ServerMessage, PROTOCOL_VERSION,
};
use futures_util::{SinkExt, StreamExt};
use parking_lot::Mutex;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::Message;

/// What the service answered to a request: the SFU answer SDP when there is one.
pub type Reply = std::result::Result<Option<String>, ErrorBody>;

/// Who the service says we are.
#[derive(Debug, Clone)]
pub struct Welcome {
    pub user_id: String,
    pub server_version: String,
    /// The session to resume after a dropped link (None: the service cannot resume).
    pub session: Option<String>,
    /// This connection resumed the session asked for.
    pub resumed: bool,
    /// How long the service waits for a resume after the link drops.
    pub resume_window: Duration,
    /// Our address on the TCP connection to the service: the interface that reaches it,
    /// which is where media should gather its candidate.
    pub local_ip: std::net::IpAddr,
}

/// How long the handshake and each request may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often the agent pings the service (a WebSocket Ping; the Pong proves the link).
pub const HEARTBEAT: Duration = Duration::from_secs(1);
/// Nothing heard from the service this long: the link is taken as lost.
pub const SILENCE: Duration = Duration::from_secs(4);

/// How to reach and greet the service.
pub struct Dial<'a> {
    pub url: &'a str,
    pub token: &'a str,
    pub display_name: &'a str,
    pub ca_certificate: Option<&'a std::path::Path>,
    /// The session to resume, and the last message received on it.
    pub resume: Option<Resume>,
    /// How long connecting and the Hello/Welcome exchange may take.
    pub handshake_timeout: Duration,
    /// Updated with the `seq` of every numbered message received.
    pub last_seq: Arc<AtomicU64>,
}

/// Why a connection ended.
#[derive(Debug, Clone)]
pub struct Closed {
    pub reason: EndReason,
    pub message: String,
    /// The link dropped (error, silence) rather than being closed by either side on
    /// purpose: the session may be resumed.
    pub lost: bool,
}

/// A live, authenticated connection.
pub struct Signaling {
    tx: mpsc::UnboundedSender<Message>,
    /// Stops the writer without a close frame (the link is lost: a close frame delivered
    /// late could end the session that a resumed connection carries by then).
    abandon: Arc<tokio::sync::Notify>,
    next_req: AtomicU64,
    pending: Pending,
    closed: AtomicBool,
    /// The writer task ended (after a close frame: it was flushed).
    writer_done: Arc<AtomicBool>,
}

type Pending = Arc<Mutex<HashMap<u64, oneshot::Sender<Reply>>>>;

/// A request sent, its reply not yet received.
pub struct PendingReply {
    req: u64,
    rx: oneshot::Receiver<Reply>,
    pending: Pending,
}

impl PendingReply {
    /// Waits for the reply (at most [`HANDSHAKE_TIMEOUT`]).
    pub async fn reply(self) -> Result<Reply> {
        match tokio::time::timeout(HANDSHAKE_TIMEOUT, self.rx).await {
            Ok(Ok(reply)) => Ok(reply),
            Ok(Err(_)) => Err(Error::Network(
                "the connection to the service was lost".into(),
            )),
            Err(_) => {
                self.pending.lock().remove(&self.req);
                Err(Error::Timeout("the service did not answer in time".into()))
            }
        }
    }
}

impl Signaling {
    /// Connects to `url` (ws://host:port/signaling), authenticates with `token`, and starts the
    /// reader/writer tasks. `on_message` gets every message that is not a reply to a request;
    /// `on_close` is called once when the connection ends, with the reason.
    pub async fn connect(
        dial: Dial<'_>,
        on_message: Arc<dyn Fn(ServerMessage) + Send + Sync>,
        on_close: Box<dyn FnOnce(Closed) + Send>,
    ) -> Result<(Arc<Signaling>, Welcome)> {
        let url = dial.url;
        let connector = match dial.ca_certificate {
            Some(path) => Some(tls_connector(path)?),
            None => None,
        };
        // TCP_NODELAY: an SDP offer spans several segments, and Nagle + delayed ACK would
        // hold the rest for ~40 ms.
        let connect = tokio_tungstenite::connect_async_tls_with_config(url, None, true, connector);
        let (ws, _) = tokio::time::timeout(dial.handshake_timeout, connect)
            .await
            .map_err(|_| Error::Network(format!("connecting to {url} timed out")))?
            .map_err(|e| Error::Network(format!("cannot connect to {url}: {e}")))?;
        let local_ip = match ws.get_ref() {
            tokio_tungstenite::MaybeTlsStream::Plain(tcp) => tcp.local_addr().map(|a| a.ip()),
            tokio_tungstenite::MaybeTlsStream::Rustls(tls) => {
                tls.get_ref().0.local_addr().map(|a| a.ip())
            }
            #[allow(unreachable_patterns)]
            _ => Err(std::io::Error::other("unknown stream")),
        }
        .unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::LOCALHOST));
        let (mut sink, mut stream) = ws.split();
        let hello = ClientMessage::Hello {
            protocol: PROTOCOL_VERSION,
            token: dial.token.to_string(),
            display_name: dial.display_name.to_string(),
            resume: dial.resume.clone(),
        };
        sink.send(Message::text(to_json(&hello)))
            .await
            .map_err(|e| Error::Network(format!("cannot send hello: {e}")))?;
        let welcome = tokio::time::timeout(dial.handshake_timeout, async {
            while let Some(frame) = stream.next().await {
                let frame = frame.map_err(|e| Error::Network(e.to_string()))?;
                let Message::Text(text) = frame else { continue };
                match serde_json::from_str::<ServerMessage>(&text) {
                    Ok(ServerMessage::Welcome {
                        user_id,
                        server_version,
                        session,
                        resumed,
                        resume_secs,
                        ..
                    }) => {
                        return Ok(Welcome {
                            user_id,
                            server_version,
                            session,
                            resumed,
                            resume_window: Duration::from_secs(resume_secs),
                            local_ip,
                        })
                    }
                    Ok(ServerMessage::Error { error }) => return Err(service_error(error)),
                    _ => continue,
                }
            }
            Err(Error::Network("the service closed the connection".into()))
        })
        .await
        .map_err(|_| Error::Timeout("the service did not answer hello".into()))??;
        if !welcome.resumed {
            dial.last_seq.store(0, Ordering::SeqCst);
        }
        let last_seq = dial.last_seq;

        let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
        let abandon = Arc::new(tokio::sync::Notify::new());
        let writer_abandon = Arc::clone(&abandon);
        let writer_done = Arc::new(AtomicBool::new(false));
        let done = Arc::clone(&writer_done);
        let sig = Arc::new(Signaling {
            tx,
            abandon,
            next_req: AtomicU64::new(1),
            pending: Arc::new(Mutex::new(HashMap::new())),
            closed: AtomicBool::new(false),
            writer_done,
        });
        tokio::spawn(async move {
            let _done = SetOnDrop(done);
            let mut heartbeat = tokio::time::interval(HEARTBEAT);
            heartbeat.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                let m = tokio::select! {
                    // First: a lost link's writer must never send a close frame, not even
                    // when the `Signaling` is dropped at the same time (the frame would
                    // reach the service when the network returns and end the session that
                    // the reconnect is about to resume).
                    biased;
                    _ = writer_abandon.notified() => return,
                    m = rx.recv() => match m {
                        Some(m) => m,
                        None => break,
                    },
                    _ = heartbeat.tick() => Message::Ping(Default::default()),
                };
                let close = matches!(m, Message::Close(_));
                // A write that cannot finish is a dead link too (the reader notices the
                // silence; this only keeps the writer from waiting forever).
                match tokio::time::timeout(SILENCE, sink.send(m)).await {
                    Ok(Ok(())) if !close => {}
                    _ => break,
                }
            }
            let _ = tokio::time::timeout(Duration::from_secs(1), sink.close()).await;
        });
        let reader = sig.clone();
        tokio::spawn(async move {
            let mut reason = (
                EndReason::SERVICE_UNAVAILABLE,
                "the connection to the service was lost".to_string(),
            );
            // Lost unless the service said why it closes, or we closed it.
            let mut lost = true;
            loop {
                let frame = match tokio::time::timeout(SILENCE, stream.next()).await {
                    Err(_) => {
                        reason.1 = format!("nothing heard from the service for {SILENCE:?}");
                        break;
                    }
                    Ok(None) | Ok(Some(Err(_))) => break,
                    Ok(Some(Ok(frame))) => frame,
                };
                let text = match frame {
                    Message::Text(t) => t,
                    Message::Close(_) => break,
                    _ => continue,
                };
                let msg = match serde_json::from_str::<Numbered>(&text) {
                    Ok(m) => {
                        if m.seq > 0 {
                            last_seq.store(m.seq, Ordering::SeqCst);
                        }
                        m.msg
                    }
                    Err(e) => {
                        log::warn!("ignoring a malformed message from the service: {e}");
                        continue;
                    }
                };
                match msg {
                    ServerMessage::Response {
                        req,
                        error,
                        answer_sdp,
                        ..
                    } => {
                        if let Some(waiter) = reader.pending.lock().remove(&req) {
                            let _ = waiter.send(match error {
                                Some(e) => Err(e),
                                None => Ok(answer_sdp),
                            });
                        }
                    }
                    ServerMessage::Error { error } => {
                        reason = (error.reason(), error.message.clone());
                        lost = false;
                        on_message(ServerMessage::Error { error });
                    }
                    other => on_message(other),
                }
            }
            // We closed it ourselves: not lost.
            if reader.closed.swap(true, Ordering::SeqCst) {
                lost = false;
            }
            // Fail every request still waiting.
            let waiters: Vec<_> = reader.pending.lock().drain().collect();
            for (_, w) in waiters {
                let _ = w.send(Err(ErrorBody::new(reason.0, reason.1.clone())));
            }
            // The writer goes with the reader: with a close frame when the link is not lost.
            if lost {
                reader.abandon.notify_one();
            } else {
                let _ = reader.tx.send(Message::Close(None));
            }
            on_close(Closed {
                reason: reason.0,
                message: reason.1,
                lost,
            });
        });
        Ok((sig, welcome))
    }

    /// Sends a request built with a fresh request id and waits for its reply.
    pub async fn request(&self, make: impl FnOnce(u64) -> ClientMessage) -> Result<Reply> {
        self.begin_request(make)?.reply().await
    }

    /// Sends a request now (so requests go out in the order they are begun, whatever
    /// task awaits them) and returns its pending reply.
    pub fn begin_request(&self, make: impl FnOnce(u64) -> ClientMessage) -> Result<PendingReply> {
        let req = self.next_req.fetch_add(1, Ordering::Relaxed);
        let (tx, rx) = oneshot::channel();
        self.pending.lock().insert(req, tx);
        if self.closed.load(Ordering::SeqCst)
            || self.tx.send(Message::text(to_json(&make(req)))).is_err()
        {
            self.pending.lock().remove(&req);
            return Err(Error::Network("not connected to the service".into()));
        }
        Ok(PendingReply {
            req,
            rx,
            pending: Arc::clone(&self.pending),
        })
    }

    /// Sends a request without waiting for the reply.
    pub fn send(&self, make: impl FnOnce(u64) -> ClientMessage) {
        let req = self.next_req.fetch_add(1, Ordering::Relaxed);
        let _ = self.tx.send(Message::text(to_json(&make(req))));
    }

    /// Closes the connection (idempotent).
    pub fn close(&self) {
        if !self.closed.swap(true, Ordering::SeqCst) {
            let _ = self.tx.send(Message::Close(None));
        }
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Waits (blocking, polling) until the writer has flushed what was queued, the close
    /// frame included, or `deadline` passes: a client shutting down its runtime right after
    /// a close would otherwise cut the TCP connection first, and the service would take the
    /// session for a dropped one and keep it for a resume.
    pub fn wait_flushed(&self, deadline: std::time::Instant) -> bool {
        while !self.writer_done.load(Ordering::SeqCst) {
            if std::time::Instant::now() >= deadline {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        true
    }
}

/// Sets its flag when dropped (a task's end, however it ends).
struct SetOnDrop(Arc<AtomicBool>);

impl Drop for SetOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

/// A TLS connector trusting the CA certificate(s) in the PEM file `path` (for a service with
/// a private or self-signed certificate) as well as the public web roots.
fn tls_connector(path: &std::path::Path) -> Result<tokio_tungstenite::Connector> {
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let certs = CertificateDer::pem_file_iter(path).map_err(|e| {
        Error::InvalidArgument(format!("cannot read CA file {}: {e}", path.display()))
    })?;
    let mut added = 0;
    for cert in certs {
        let cert = cert.map_err(|e| {
            Error::InvalidArgument(format!("bad certificate in {}: {e}", path.display()))
        })?;
        roots
            .add(cert)
            .map_err(|e| Error::InvalidArgument(format!("unusable CA certificate: {e}")))?;
        added += 1;
    }
    if added == 0 {
        return Err(Error::InvalidArgument(format!(
            "{} holds no PEM certificate",
            path.display()
        )));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Internal(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(tokio_tungstenite::Connector::Rustls(Arc::new(config)))
}

fn to_json<T: serde::Serialize>(v: &T) -> String {
    // Serialising our own plain-data enums cannot fail.
    serde_json::to_string(v).unwrap_or_default()
}

/// Maps a service error to the API error.
pub fn service_error(e: ErrorBody) -> Error {
    match e.code {
        401 => Error::Unauthorized(e.message),
        404 => Error::NotFound(e.message),
        _ => Error::Service {
            reason: e.reason(),
            message: e.message,
        },
    }
}
