//! The thin async driver around the [`Endpoint`]: one UDP socket and a TCP listener on
//! the same port, a task per TCP connection (Content-Length framing), the clock and the
//! command channel. Everything it learns goes into the endpoint with `now`; whatever the
//! endpoint queued leaves after each pass.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::sync::mpsc;

use super::endpoint::{Endpoint, EndpointConfig, Transmit, Trunk};
use super::message::{frame_stream, Framing, MAX_MESSAGE};
use super::{DialRequest, LegId, SipConfig, SipError, SipEvent, SipTransport, FIRST_INBOUND_LEG};

/// How long a TCP connect may take before what waited on it fails.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long shutdown waits for BYEs and CANCELs to be answered.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(3);

enum Command {
    Dial(DialRequest),
    HangUp(LegId),
    Ring(LegId),
    Answer(LegId, String),
    Reject(LegId, u16),
    Shutdown,
}

/// What the TCP connection tasks report to the driver.
enum TcpInput {
    Message {
        peer: SocketAddr,
        data: Vec<u8>,
    },
    Closed {
        peer: SocketAddr,
        conn: u64,
        failed_connect: bool,
    },
}

struct Inner {
    commands: mpsc::UnboundedSender<Command>,
    local_addr: SocketAddr,
    trunk_names: Vec<String>,
}

/// Handle on the running SIP gateway (cheap to clone).
#[derive(Clone)]
pub struct SipGateway {
    inner: Arc<Inner>,
}

impl SipGateway {
    /// Binds UDP and TCP on `cfg.listen`, resolves the trunks and starts the gateway task.
    /// Events arrive on the returned receiver.
    pub async fn start(
        cfg: SipConfig,
    ) -> std::io::Result<(SipGateway, mpsc::UnboundedReceiver<SipEvent>)> {
        let (udp, tcp) = bind_pair(cfg.listen).await?;
        let local_addr = udp.local_addr()?;
        let mut trunks = Vec::with_capacity(cfg.trunks.len());
        for t in &cfg.trunks {
            let addr = match tokio::net::lookup_host((t.host.as_str(), t.port)).await {
                Ok(mut addrs) => {
                    let all: Vec<SocketAddr> = addrs.by_ref().collect();
                    all.iter()
                        .find(|a| a.is_ipv4() == local_addr.is_ipv4())
                        .or(all.first())
                        .copied()
                }
                Err(e) => {
                    log::warn!("sip: trunk {}: cannot resolve {}: {e}", t.name, t.host);
                    None
                }
            };
            trunks.push(Trunk {
                config: t.clone(),
                addr,
            });
        }
        let listen_ip = local_addr.ip();
        let local_ip: Box<dyn Fn(SocketAddr) -> IpAddr + Send> = if listen_ip.is_unspecified() {
            Box::new(move |dest| route_source(dest).unwrap_or(listen_ip))
        } else {
            Box::new(move |_| listen_ip)
        };
        let endpoint = Endpoint::new(
            EndpointConfig {
                trunks,
                allow: cfg.allow.clone(),
                user_agent: cfg.user_agent.clone(),
                local_port: local_addr.port(),
                local_ip,
            },
            uuid::Uuid::new_v4().as_u64_pair().0,
        );
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        tokio::spawn(run(endpoint, udp, tcp, cmd_rx, ev_tx));
        log::info!("sip: gateway listening on udp+tcp {local_addr}");
        let inner = Inner {
            commands: cmd_tx,
            local_addr,
            trunk_names: cfg.trunks.iter().map(|t| t.name.clone()).collect(),
        };
        Ok((
            SipGateway {
                inner: Arc::new(inner),
            },
            ev_rx,
        ))
    }

    /// The address UDP and TCP listen on.
    pub fn local_addr(&self) -> SocketAddr {
        self.inner.local_addr
    }

    /// Places a call; the outcome arrives as events. Unknown or missing trunk: Err.
    pub fn dial(&self, req: DialRequest) -> Result<(), SipError> {
        if req.leg >= FIRST_INBOUND_LEG {
            return Err(SipError::BadLegId(req.leg));
        }
        match &req.trunk {
            None if self.inner.trunk_names.is_empty() => return Err(SipError::NoTrunk),
            Some(name) if !self.inner.trunk_names.contains(name) => {
                return Err(SipError::UnknownTrunk(name.clone()))
            }
            _ => {}
        }
        self.inner
            .commands
            .send(Command::Dial(req))
            .map_err(|_| SipError::Stopped)
    }

    /// Outbound: CANCEL before the answer, BYE after. Inbound: 480 before the answer, BYE
    /// after.
    pub fn hang_up(&self, leg: LegId) {
        let _ = self.inner.commands.send(Command::HangUp(leg));
    }

    /// Inbound: 180 Ringing.
    pub fn ring(&self, leg: LegId) {
        let _ = self.inner.commands.send(Command::Ring(leg));
    }

    /// Inbound: 200 OK with `sdp_answer`, retransmitted until the ACK.
    pub fn answer(&self, leg: LegId, sdp_answer: String) {
        let _ = self.inner.commands.send(Command::Answer(leg, sdp_answer));
    }

    /// Inbound: a final failure status (486, 603, 480, 404, …).
    pub fn reject(&self, leg: LegId, status: u16) {
        let _ = self.inner.commands.send(Command::Reject(leg, status));
    }

    /// Ends every leg (BYE/CANCEL/480) and stops the gateway task.
    pub fn shutdown(&self) {
        let _ = self.inner.commands.send(Command::Shutdown);
    }
}

/// UDP and TCP on the same address. With port 0, the port UDP got; if TCP cannot have
/// it, another try.
async fn bind_pair(listen: SocketAddr) -> std::io::Result<(UdpSocket, TcpListener)> {
    let mut tries = 0;
    loop {
        let udp = UdpSocket::bind(listen).await?;
        let addr = udp.local_addr()?;
        match TcpListener::bind(addr).await {
            Ok(tcp) => return Ok((udp, tcp)),
            Err(e) if listen.port() == 0 && tries < 10 => {
                log::debug!("sip: tcp port {} taken ({e}), trying another", addr.port());
                tries += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// The local address the kernel would use towards `dest` (no packet is sent).
fn route_source(dest: SocketAddr) -> Option<IpAddr> {
    let bind: SocketAddr = if dest.is_ipv4() {
        (std::net::Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let s = std::net::UdpSocket::bind(bind).ok()?;
    s.connect(dest).ok()?;
    s.local_addr().ok().map(|a| a.ip())
}

struct TcpConnections {
    by_peer: HashMap<SocketAddr, (u64, mpsc::UnboundedSender<Vec<u8>>)>,
    next_id: u64,
    input: mpsc::UnboundedSender<TcpInput>,
}

impl TcpConnections {
    fn add(
        &mut self,
        stream: Option<TcpStream>,
        peer: SocketAddr,
    ) -> mpsc::UnboundedSender<Vec<u8>> {
        let (tx, rx) = mpsc::unbounded_channel();
        self.next_id += 1;
        let conn = self.next_id;
        self.by_peer.insert(peer, (conn, tx.clone()));
        tokio::spawn(connection(stream, peer, conn, rx, self.input.clone()));
        tx
    }

    fn send(&mut self, t: Transmit) {
        let sender = match self.by_peer.get(&t.dest) {
            Some((_, s)) if !s.is_closed() => s.clone(),
            // No connection (or it closed): connect.
            _ => self.add(None, t.dest),
        };
        let _ = sender.send(t.data);
    }
}

/// One TCP connection: connects first when `stream` is None; frames what it reads,
/// writes what it is given.
async fn connection(
    stream: Option<TcpStream>,
    peer: SocketAddr,
    conn: u64,
    mut out: mpsc::UnboundedReceiver<Vec<u8>>,
    input: mpsc::UnboundedSender<TcpInput>,
) {
    let stream = match stream {
        Some(s) => s,
        None => match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(peer)).await {
            Ok(Ok(s)) => s,
            Ok(Err(e)) => {
                log::info!("sip: tcp connect to {peer}: {e}");
                let _ = input.send(TcpInput::Closed {
                    peer,
                    conn,
                    failed_connect: true,
                });
                return;
            }
            Err(_) => {
                log::info!("sip: tcp connect to {peer} timed out");
                let _ = input.send(TcpInput::Closed {
                    peer,
                    conn,
                    failed_connect: true,
                });
                return;
            }
        },
    };
    let _ = stream.set_nodelay(true);
    let (mut rd, mut wr) = stream.into_split();
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
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
                                let _ = input.send(TcpInput::Message { peer, data });
                            }
                            Framing::Incomplete => break,
                            Framing::Invalid => {
                                log::debug!("sip: tcp {peer}: unframeable stream, closing");
                                break 'conn;
                            }
                        }
                    }
                    if buf.len() > MAX_MESSAGE {
                        break;
                    }
                }
                Err(e) => {
                    log::debug!("sip: tcp {peer}: {e}");
                    break;
                }
            },
            m = out.recv() => match m {
                Some(data) => {
                    if let Err(e) = wr.write_all(&data).await {
                        log::debug!("sip: tcp {peer}: {e}");
                        break;
                    }
                }
                None => break,
            },
        }
    }
    let _ = input.send(TcpInput::Closed {
        peer,
        conn,
        failed_connect: false,
    });
}

async fn run(
    mut endpoint: Endpoint,
    udp: UdpSocket,
    tcp: TcpListener,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<SipEvent>,
) {
    let (tcp_tx, mut tcp_rx) = mpsc::unbounded_channel();
    let mut conns = TcpConnections {
        by_peer: HashMap::new(),
        next_id: 0,
        input: tcp_tx,
    };
    let mut buf = vec![0u8; 65_536];
    let mut stop_by: Option<Instant> = None;
    endpoint.start_registrations(Instant::now());
    loop {
        while let Some(t) = endpoint.poll_transmit() {
            if log::log_enabled!(log::Level::Trace) {
                let text = String::from_utf8_lossy(&t.data);
                log::trace!("sip: to {} ({:?}):\n{text}", t.dest, t.transport);
            }
            match t.transport {
                SipTransport::Udp => {
                    if let Err(e) = udp.send_to(&t.data, t.dest).await {
                        log::debug!("sip: udp send to {}: {e}", t.dest);
                    }
                }
                SipTransport::Tcp => conns.send(t),
            }
        }
        while let Some(e) = endpoint.poll_event() {
            let _ = events.send(e);
        }
        if let Some(s) = stop_by {
            if endpoint.is_idle() || Instant::now() >= s {
                break;
            }
        }
        let far = Instant::now() + Duration::from_secs(3600);
        let mut deadline = endpoint.poll_timeout().unwrap_or(far);
        if let Some(s) = stop_by {
            deadline = deadline.min(s);
        }
        tokio::select! {
            r = udp.recv_from(&mut buf) => match r {
                Ok((n, source)) => {
                    if log::log_enabled!(log::Level::Trace) {
                        let text = String::from_utf8_lossy(&buf[..n]);
                        log::trace!("sip: from {source} (udp):\n{text}");
                    }
                    endpoint.handle_message(&buf[..n], source, SipTransport::Udp, Instant::now());
                }
                // ICMP port unreachable etc. show up as errors on some platforms.
                Err(e) => log::debug!("sip: udp recv: {e}"),
            },
            a = tcp.accept() => match a {
                Ok((stream, peer)) => {
                    log::debug!("sip: tcp connection from {peer}");
                    conns.add(Some(stream), peer);
                }
                Err(e) => log::warn!("sip: tcp accept: {e}"),
            },
            Some(input) = tcp_rx.recv() => match input {
                TcpInput::Message { peer, data } => {
                    if log::log_enabled!(log::Level::Trace) {
                        let text = String::from_utf8_lossy(&data);
                        log::trace!("sip: from {peer} (tcp):\n{text}");
                    }
                    endpoint.handle_message(&data, peer, SipTransport::Tcp, Instant::now());
                }
                TcpInput::Closed { peer, conn, failed_connect } => {
                    if conns.by_peer.get(&peer).is_some_and(|(c, _)| *c == conn) {
                        conns.by_peer.remove(&peer);
                    }
                    if failed_connect {
                        endpoint.handle_transport_error(peer, Instant::now());
                    }
                }
            },
            cmd = commands.recv(), if stop_by.is_none() => {
                let now = Instant::now();
                match cmd {
                    Some(Command::Dial(req)) => {
                        let leg = req.leg;
                        if let Err(e) = endpoint.dial(req, now) {
                            log::warn!("sip: dial leg {leg}: {e}");
                            let _ = events.send(SipEvent::Failed {
                                leg,
                                status: 500,
                                reason: e.to_string(),
                            });
                        }
                    }
                    Some(Command::HangUp(leg)) => endpoint.hang_up(leg, now),
                    Some(Command::Ring(leg)) => endpoint.ring(leg, now),
                    Some(Command::Answer(leg, sdp)) => endpoint.answer(leg, sdp, now),
                    Some(Command::Reject(leg, status)) => endpoint.reject(leg, status, now),
                    Some(Command::Shutdown) | None => {
                        endpoint.shutdown(now);
                        stop_by = Some(now + SHUTDOWN_GRACE);
                    }
                }
            },
            _ = tokio::time::sleep_until(deadline.into()) => {}
        }
        endpoint.handle_timeout(Instant::now());
    }
    log::info!("sip: gateway stopped");
}
