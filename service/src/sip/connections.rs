//! The gateway's stream connections, TCP and TLS alike: one task per connection that
//! frames what it reads by Content-Length and writes what it is given. Connections are
//! kept per (transport, peer) and reused; a message to a peer without a live connection
//! connects again (TLS only to a trunk: the trunk's certificate is what we verify).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::ClientConfig;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_rustls::{TlsAcceptor, TlsConnector};

use super::endpoint::Transmit;
use super::message::{frame_stream, Framing, MAX_MESSAGE};
use super::SipTransport;

/// How long a TCP connect (plus the TLS handshake) may take before what waited on it fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the connection tasks report to the driver.
pub enum StreamInput {
    Message {
        transport: SipTransport,
        peer: SocketAddr,
        data: Vec<u8>,
    },
    Closed {
        transport: SipTransport,
        peer: SocketAddr,
        conn: u64,
        failed_connect: bool,
        /// Messages queued on a connection that broke before they were written (first
        /// attempt only): the driver sends them again, on a new connection.
        unsent: Vec<Vec<u8>>,
    },
}

/// A message for a connection; `retry`: it was queued on one that broke already.
struct Outgoing {
    data: Vec<u8>,
    retry: bool,
}

/// How a TLS connection to a trunk is made.
#[derive(Clone)]
pub struct TlsClient {
    pub config: Arc<ClientConfig>,
    pub name: ServerName<'static>,
}

/// How a connection task gets its stream.
enum Start {
    Accepted(TcpStream),
    AcceptedTls(TcpStream, TlsAcceptor),
    Connect,
    ConnectTls(TlsClient),
}

trait SipStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> SipStream for T {}

type Sender = mpsc::UnboundedSender<Outgoing>;

pub struct Connections {
    by_peer: HashMap<(SipTransport, SocketAddr), (u64, Sender)>,
    next_id: u64,
    input: mpsc::UnboundedSender<StreamInput>,
    /// TLS trunks by address.
    tls_clients: HashMap<SocketAddr, TlsClient>,
    tls_acceptor: Option<TlsAcceptor>,
}

impl Connections {
    pub fn new(
        input: mpsc::UnboundedSender<StreamInput>,
        tls_clients: HashMap<SocketAddr, TlsClient>,
        tls_acceptor: Option<TlsAcceptor>,
    ) -> Connections {
        Connections {
            by_peer: HashMap::new(),
            next_id: 0,
            input,
            tls_clients,
            tls_acceptor,
        }
    }

    /// A connection accepted by the TCP listener (`tls`: by the TLS listener).
    pub fn accepted(&mut self, stream: TcpStream, peer: SocketAddr, tls: bool) {
        match (tls, &self.tls_acceptor) {
            (false, _) => {
                self.add(Start::Accepted(stream), SipTransport::Tcp, peer);
            }
            (true, Some(a)) => {
                let a = a.clone();
                self.add(Start::AcceptedTls(stream, a), SipTransport::Tls, peer);
            }
            (true, None) => {}
        }
    }

    fn add(&mut self, start: Start, transport: SipTransport, peer: SocketAddr) -> Sender {
        let (tx, rx) = mpsc::unbounded_channel();
        self.next_id += 1;
        let conn = self.next_id;
        self.by_peer.insert((transport, peer), (conn, tx.clone()));
        let input = self.input.clone();
        tokio::spawn(connection(start, transport, peer, conn, rx, input));
        tx
    }

    /// Sends on the connection to `t.dest`, connecting first when there is none.
    pub fn send(&mut self, t: Transmit) {
        self.send_once(t, false);
    }

    /// Sends again what a broken connection left unsent (once: not again if the new
    /// connection breaks too).
    pub fn resend(&mut self, transport: SipTransport, dest: SocketAddr, unsent: Vec<Vec<u8>>) {
        for data in unsent {
            let t = Transmit {
                transport,
                dest,
                data,
            };
            self.send_once(t, true);
        }
    }

    fn send_once(&mut self, t: Transmit, retry: bool) {
        let key = (t.transport, t.dest);
        let sender = match self.by_peer.get(&key) {
            Some((_, s)) if !s.is_closed() => s.clone(),
            _ => match t.transport {
                SipTransport::Tls => match self.tls_clients.get(&t.dest) {
                    Some(c) => {
                        let c = c.clone();
                        self.add(Start::ConnectTls(c), SipTransport::Tls, t.dest)
                    }
                    None => {
                        // Not a trunk, and the phone's connection is gone.
                        log::info!("sip: no TLS connection to {} (not a trunk)", t.dest);
                        self.next_id += 1;
                        let _ = self.input.send(StreamInput::Closed {
                            transport: SipTransport::Tls,
                            peer: t.dest,
                            conn: self.next_id,
                            failed_connect: true,
                            unsent: Vec::new(),
                        });
                        return;
                    }
                },
                _ => self.add(Start::Connect, SipTransport::Tcp, t.dest),
            },
        };
        let _ = sender.send(Outgoing {
            data: t.data,
            retry,
        });
    }

    /// A connection task ended: forget it unless a newer one replaced it.
    pub fn closed(&mut self, transport: SipTransport, peer: SocketAddr, conn: u64) {
        if self
            .by_peer
            .get(&(transport, peer))
            .is_some_and(|(c, _)| *c == conn)
        {
            self.by_peer.remove(&(transport, peer));
        }
    }
}

/// Makes the stream: accepts the TLS handshake, or connects (and shakes hands).
async fn open(start: Start, peer: SocketAddr) -> Result<Box<dyn SipStream>, String> {
    let connect = || async {
        let s = tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(peer))
            .await
            .map_err(|_| "connect timed out".to_string())?
            .map_err(|e| e.to_string())?;
        let _ = s.set_nodelay(true);
        Ok::<_, String>(s)
    };
    let tls = |e: std::io::Error| format!("TLS handshake: {e}");
    Ok(match start {
        Start::Accepted(s) => {
            let _ = s.set_nodelay(true);
            Box::new(s)
        }
        Start::AcceptedTls(s, acceptor) => {
            let _ = s.set_nodelay(true);
            let hs = tokio::time::timeout(CONNECT_TIMEOUT, acceptor.accept(s));
            Box::new(
                hs.await
                    .map_err(|_| "TLS handshake timed out".to_string())?
                    .map_err(tls)?,
            )
        }
        Start::Connect => Box::new(connect().await?),
        Start::ConnectTls(client) => {
            let s = connect().await?;
            let hs = TlsConnector::from(client.config).connect(client.name, s);
            Box::new(
                tokio::time::timeout(CONNECT_TIMEOUT, hs)
                    .await
                    .map_err(|_| "TLS handshake timed out".to_string())?
                    .map_err(tls)?,
            )
        }
    })
}

/// One connection: frames what it reads, writes what it is given.
async fn connection(
    start: Start,
    transport: SipTransport,
    peer: SocketAddr,
    conn: u64,
    mut out: mpsc::UnboundedReceiver<Outgoing>,
    input: mpsc::UnboundedSender<StreamInput>,
) {
    let closed = |failed_connect, unsent| StreamInput::Closed {
        transport,
        peer,
        conn,
        failed_connect,
        unsent,
    };
    let accepted = matches!(start, Start::Accepted(_) | Start::AcceptedTls(..));
    let stream = match open(start, peer).await {
        Ok(s) => s,
        Err(e) => {
            log::info!("sip: {} {peer}: {e}", transport.as_str());
            // An inbound handshake that failed: nothing waited on it.
            let _ = input.send(closed(!accepted, Vec::new()));
            return;
        }
    };
    let (mut rd, mut wr) = tokio::io::split(stream);
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    let mut unsent = Vec::new();
    'conn: loop {
        tokio::select! {
            r = rd.read(&mut chunk) => match r {
                Ok(0) => break,
                Ok(n) => {
                    buf.extend_from_slice(&chunk[..n]);
                    loop {
                        match frame_stream(&buf) {
                            Framing::Skip(k) => {
                                buf.drain(..k);
                            }
                            Framing::Message(k) => {
                                let data: Vec<u8> = buf.drain(..k).collect();
                                let _ = input.send(StreamInput::Message { transport, peer, data });
                            }
                            Framing::Incomplete => break,
                            Framing::Invalid => {
                                log::debug!("sip: {} {peer}: unframeable stream, closing", transport.as_str());
                                break 'conn;
                            }
                        }
                    }
                    if buf.len() > MAX_MESSAGE {
                        break;
                    }
                }
                Err(e) => {
                    log::debug!("sip: {} {peer}: {e}", transport.as_str());
                    break;
                }
            },
            m = out.recv() => match m {
                Some(m) => {
                    let w = async {
                        wr.write_all(&m.data).await?;
                        wr.flush().await
                    };
                    if let Err(e) = w.await {
                        log::debug!("sip: {} {peer}: {e}", transport.as_str());
                        if !m.retry {
                            unsent.push(m.data);
                        }
                        break;
                    }
                }
                None => break,
            },
        }
    }
    let _ = wr.shutdown().await;
    // What was queued meanwhile goes out again on a new connection (the driver forgets
    // this one first, when it reads this report).
    out.close();
    while let Ok(m) = out.try_recv() {
        if !m.retry {
            unsent.push(m.data);
        }
    }
    let _ = input.send(closed(false, unsent));
}
