//! WebSocket client to the service: the Hello handshake, request/response matching and the
//! inbound message stream. No call logic here.

use crate::error::{Error, Result};
use crate::protocol::{ClientMessage, EndReason, ErrorBody, ServerMessage, PROTOCOL_VERSION};
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
    /// Our address on the TCP connection to the service: the interface that reaches it,
    /// which is where media should gather its candidate.
    pub local_ip: std::net::IpAddr,
}

/// How long the handshake and each request may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// A live, authenticated connection.
pub struct Signaling {
    tx: mpsc::UnboundedSender<Message>,
    next_req: AtomicU64,
    pending: Pending,
    closed: AtomicBool,
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
        url: &str,
        token: &str,
        display_name: &str,
        on_message: Arc<dyn Fn(ServerMessage) + Send + Sync>,
        on_close: Box<dyn FnOnce(EndReason, String) + Send>,
        ca_certificate: Option<&std::path::Path>,
    ) -> Result<(Arc<Signaling>, Welcome)> {
        let connector = match ca_certificate {
            Some(path) => Some(tls_connector(path)?),
            None => None,
        };
        // TCP_NODELAY: an SDP offer spans several segments, and Nagle + delayed ACK would
        // hold the rest for ~40 ms.
        let connect = tokio_tungstenite::connect_async_tls_with_config(url, None, true, connector);
        let (ws, _) = tokio::time::timeout(HANDSHAKE_TIMEOUT, connect)
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
            token: token.to_string(),
            display_name: display_name.to_string(),
        };
        sink.send(Message::text(to_json(&hello)))
            .await
            .map_err(|e| Error::Network(format!("cannot send hello: {e}")))?;
        let welcome = tokio::time::timeout(HANDSHAKE_TIMEOUT, async {
            while let Some(frame) = stream.next().await {
                let frame = frame.map_err(|e| Error::Network(e.to_string()))?;
                let Message::Text(text) = frame else { continue };
                match serde_json::from_str::<ServerMessage>(&text) {
                    Ok(ServerMessage::Welcome {
                        user_id,
                        server_version,
                        ..
                    }) => {
                        return Ok(Welcome {
                            user_id,
                            server_version,
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

        let (tx, mut rx) = mpsc::unbounded_channel::<Message>();
        let sig = Arc::new(Signaling {
            tx,
            next_req: AtomicU64::new(1),
            pending: Arc::new(Mutex::new(HashMap::new())),
            closed: AtomicBool::new(false),
        });
        tokio::spawn(async move {
            while let Some(m) = rx.recv().await {
                let close = matches!(m, Message::Close(_));
                if sink.send(m).await.is_err() || close {
                    break;
                }
            }
            let _ = sink.close().await;
        });
        let reader = sig.clone();
        tokio::spawn(async move {
            let mut reason = (
                EndReason::SERVICE_UNAVAILABLE,
                "the connection to the service was lost".to_string(),
            );
            while let Some(frame) = stream.next().await {
                let Ok(frame) = frame else { break };
                let text = match frame {
                    Message::Text(t) => t,
                    Message::Close(_) => break,
                    _ => continue,
                };
                let msg = match serde_json::from_str::<ServerMessage>(&text) {
                    Ok(m) => m,
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
                        on_message(ServerMessage::Error { error });
                    }
                    other => on_message(other),
                }
            }
            reader.closed.store(true, Ordering::SeqCst);
            // Fail every request still waiting.
            let waiters: Vec<_> = reader.pending.lock().drain().collect();
            for (_, w) in waiters {
                let _ = w.send(Err(ErrorBody::new(reason.0, reason.1.clone())));
            }
            on_close(reason.0, reason.1);
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
