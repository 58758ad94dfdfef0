//! The thin async driver around the [`Endpoint`]: one UDP socket and a TCP listener on
//! the same port, an optional TLS listener, a task per TCP/TLS connection
//! ([`super::connections`]), the clock and the command channel. Everything it learns goes into the endpoint with `now`; whatever the
//! endpoint queued leaves after each pass.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;

use super::connections::{Connections, StreamInput, TlsClient};
use super::endpoint::{Endpoint, EndpointConfig, Trunk};
use super::{
    tls, DialRequest, LegId, SipConfig, SipError, SipEvent, SipTransport, SrtpPolicy,
    FIRST_INBOUND_LEG,
};
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

struct Inner {
    commands: mpsc::UnboundedSender<Command>,
    local_addr: SocketAddr,
    tls_addr: Option<SocketAddr>,
    trunk_names: Vec<String>,
    /// Per trunk: its address and SRTP policy.
    trunk_media: Vec<(Option<SocketAddr>, SrtpPolicy)>,
}

/// Handle on the running SIP gateway (cheap to clone).
#[derive(Clone)]
pub struct SipGateway {
    inner: Arc<Inner>,
}

impl SipGateway {
    /// Binds UDP and TCP on `cfg.listen` (and TLS on `cfg.listen_tls`), resolves the
    /// trunks, loads the TLS configurations and starts the gateway task. Events arrive on
    /// the returned receiver.
    pub async fn start(
        cfg: SipConfig,
    ) -> std::io::Result<(SipGateway, mpsc::UnboundedReceiver<SipEvent>)> {
        let invalid = |e: String| std::io::Error::new(std::io::ErrorKind::InvalidInput, e);
        let tls_listener = match &cfg.listen_tls {
            Some(l) => {
                let acceptor = TlsAcceptor::from(tls::server(&l.cert, &l.key).map_err(invalid)?);
                Some((TcpListener::bind(l.addr).await?, acceptor))
            }
            None => None,
        };
        let tls_addr = match &tls_listener {
            Some((l, _)) => Some(l.local_addr()?),
            None => None,
        };
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
        let mut tls_clients = HashMap::new();
        for t in &trunks {
            if t.config.transport != SipTransport::Tls {
                continue;
            }
            let (config, name) = tls::client(t.config.ca.as_deref(), &t.config.host)
                .map_err(|e| invalid(format!("trunk {}: {e}", t.config.name)))?;
            if let Some(a) = t.addr {
                tls_clients.insert(a, TlsClient { config, name });
            }
        }
        let trunk_media = trunks.iter().map(|t| (t.addr, t.config.srtp)).collect();
        if tls_addr.is_none()
            && trunks
                .iter()
                .any(|t| t.config.transport == SipTransport::Tls)
        {
            // Our Contact then names the UDP/TCP port: a trunk that opens its own
            // connection for its requests (baresip does, for a BYE) cannot reach us.
            log::warn!(
                "sip: TLS trunk without --sip-listen-tls: requests the trunk starts (its BYE) \
                 reach us only if it sends them on our connection"
            );
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
                local_tls_port: tls_addr.map(|a| a.port()),
                local_ip,
            },
            uuid::Uuid::new_v4().as_u64_pair().0,
        );
        let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
        let (ev_tx, ev_rx) = mpsc::unbounded_channel();
        let (tls_listener, acceptor) =
            tls_listener.map_or((None, None), |(l, a)| (Some(l), Some(a)));
        let (stream_tx, stream_rx) = mpsc::unbounded_channel();
        let conns = Connections::new(stream_tx, tls_clients, acceptor);
        let listeners = Listeners {
            udp,
            tcp,
            tls: tls_listener,
        };
        tokio::spawn(run(endpoint, listeners, conns, stream_rx, cmd_rx, ev_tx));
        log::info!("sip: gateway listening on udp+tcp {local_addr}");
        if let Some(a) = tls_addr {
            log::info!("sip: gateway listening on tls {a}");
        }
        let inner = Inner {
            commands: cmd_tx,
            local_addr,
            tls_addr,
            trunk_names: cfg.trunks.iter().map(|t| t.name.clone()).collect(),
            trunk_media,
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

    /// The address the TLS listener listens on, if there is one.
    pub fn tls_addr(&self) -> Option<SocketAddr> {
        self.inner.tls_addr
    }

    /// The SRTP policy of calls placed on `trunk` (None: the first).
    pub fn srtp_policy(&self, trunk: Option<&str>) -> SrtpPolicy {
        let i = match trunk {
            None => Some(0),
            Some(n) => self.inner.trunk_names.iter().position(|t| t == n),
        };
        i.and_then(|i| self.inner.trunk_media.get(i))
            .map_or(SrtpPolicy::Off, |(_, p)| *p)
    }

    /// The SRTP policy of a call from `source`: its trunk's (by IP address), else off
    /// (which still accepts an `RTP/SAVP` offer).
    pub fn srtp_policy_from(&self, source: SocketAddr) -> SrtpPolicy {
        self.inner
            .trunk_media
            .iter()
            .find(|(a, _)| a.is_some_and(|a| a.ip() == source.ip()))
            .map_or(SrtpPolicy::Off, |(_, p)| *p)
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

struct Listeners {
    udp: UdpSocket,
    tcp: TcpListener,
    tls: Option<TcpListener>,
}

/// Accepts on the TLS listener; never ready without one.
async fn accept_tls(
    l: &Option<TcpListener>,
) -> std::io::Result<(tokio::net::TcpStream, SocketAddr)> {
    match l {
        Some(l) => l.accept().await,
        None => std::future::pending().await,
    }
}

async fn run(
    mut endpoint: Endpoint,
    listeners: Listeners,
    mut conns: Connections,
    mut stream_rx: mpsc::UnboundedReceiver<StreamInput>,
    mut commands: mpsc::UnboundedReceiver<Command>,
    events: mpsc::UnboundedSender<SipEvent>,
) {
    let Listeners { udp, tcp, tls } = listeners;
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
                SipTransport::Tcp | SipTransport::Tls => conns.send(t),
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
                    conns.accepted(stream, peer, false);
                }
                Err(e) => log::warn!("sip: tcp accept: {e}"),
            },
            a = accept_tls(&tls) => match a {
                Ok((stream, peer)) => {
                    log::debug!("sip: tls connection from {peer}");
                    conns.accepted(stream, peer, true);
                }
                Err(e) => log::warn!("sip: tls accept: {e}"),
            },
            Some(input) = stream_rx.recv() => match input {
                StreamInput::Message { transport, peer, data } => {
                    if log::log_enabled!(log::Level::Trace) {
                        let text = String::from_utf8_lossy(&data);
                        log::trace!("sip: from {peer} ({transport:?}):\n{text}");
                    }
                    endpoint.handle_message(&data, peer, transport, Instant::now());
                }
                StreamInput::Closed { transport, peer, conn, failed_connect, unsent } => {
                    conns.closed(transport, peer, conn);
                    if failed_connect {
                        endpoint.handle_transport_error(peer, Instant::now());
                    } else if !unsent.is_empty() {
                        log::debug!("sip: {peer}: connection lost, sending {} again", unsent.len());
                        conns.resend(transport, peer, unsent);
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
