//! A userspace network in front of the service, for fault tests (this kernel has no netem):
//! a TCP relay for signaling and a UDP relay for media, both on 127.0.0.1, which can be
//! cut and restored like a pulled cable.
//!
//! While cut, nothing crosses: TCP bytes already read wait in the relay and are delivered
//! when the link returns (as TCP would after retransmitting), new TCP connections are
//! accepted but reach the service only then (as a SYN retried), and UDP datagrams are
//! dropped both ways. The UDP relay is a NAT: each client address gets its own upstream
//! socket, so the SFU sees the relay's addresses as its peers (peer-reflexive candidates);
//! [`Netcut::rebind`] drops those mappings, as a NAT that forgets them.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct Shared {
    cut: AtomicBool,
    stopped: AtomicBool,
    /// Bumped by `rebind`: upstream sockets of an older generation retire.
    generation: AtomicU64,
    udp_target: Mutex<Option<SocketAddr>>,
    tcp_target: Mutex<Option<SocketAddr>>,
    dropped: AtomicU64,
}

impl Shared {
    fn wait_while_cut(&self) -> bool {
        while self.cut.load(Ordering::SeqCst) {
            if self.stopped.load(Ordering::SeqCst) {
                return false;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        !self.stopped.load(Ordering::SeqCst)
    }
}

/// The relays; stopped on drop.
pub struct Netcut {
    shared: Arc<Shared>,
    /// Where agents connect for signaling (`ws://{tcp_addr}`).
    pub tcp_addr: SocketAddr,
    /// What the SFU advertises (`--media-public`).
    pub udp_addr: SocketAddr,
}

impl Netcut {
    /// Both relays, bound now; their targets are set once the service runs.
    pub fn new() -> Self {
        let shared = Arc::new(Shared {
            cut: AtomicBool::new(false),
            stopped: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            udp_target: Mutex::new(None),
            tcp_target: Mutex::new(None),
            dropped: AtomicU64::new(0),
        });
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let tcp_addr = listener.local_addr().unwrap();
        let front = UdpSocket::bind("127.0.0.1:0").unwrap();
        let udp_addr = front.local_addr().unwrap();
        let s = Arc::clone(&shared);
        std::thread::spawn(move || accept_loop(listener, s));
        let s = Arc::clone(&shared);
        std::thread::spawn(move || udp_loop(front, s));
        Netcut {
            shared,
            tcp_addr,
            udp_addr,
        }
    }

    /// A free UDP port on 127.0.0.1 for the SFU (`--media-port`), chosen before it starts.
    pub fn free_udp_port() -> u16 {
        UdpSocket::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port()
    }

    pub fn set_targets(&self, tcp: SocketAddr, udp: SocketAddr) {
        *self.shared.tcp_target.lock().unwrap() = Some(tcp);
        *self.shared.udp_target.lock().unwrap() = Some(udp);
    }

    /// The signaling URL through the relay.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.tcp_addr)
    }

    pub fn cut(&self) {
        self.shared.cut.store(true, Ordering::SeqCst);
    }

    pub fn restore(&self) {
        self.shared.cut.store(false, Ordering::SeqCst);
    }

    /// Forgets every UDP mapping: the next datagram of a client leaves from a new address.
    pub fn rebind(&self) {
        self.shared.generation.fetch_add(1, Ordering::SeqCst);
    }

    /// Datagrams dropped while cut.
    pub fn dropped(&self) -> u64 {
        self.shared.dropped.load(Ordering::Relaxed)
    }
}

impl Drop for Netcut {
    fn drop(&mut self) {
        self.shared.stopped.store(true, Ordering::SeqCst);
        self.shared.cut.store(false, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.tcp_addr);
    }
}

fn accept_loop(listener: TcpListener, s: Arc<Shared>) {
    for conn in listener.incoming() {
        if s.stopped.load(Ordering::SeqCst) {
            return;
        }
        let Ok(client) = conn else { continue };
        let s = Arc::clone(&s);
        std::thread::spawn(move || {
            // The connection reaches the service only when the link is up.
            if !s.wait_while_cut() {
                return;
            }
            let Some(target) = *s.tcp_target.lock().unwrap() else {
                return;
            };
            let Ok(upstream) = TcpStream::connect(target) else {
                return;
            };
            let _ = client.set_nodelay(true);
            let _ = upstream.set_nodelay(true);
            let (c2, u2) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
            let s2 = Arc::clone(&s);
            std::thread::spawn(move || pump(c2, u2, s2));
            pump(upstream, client, s);
        });
    }
}

/// Copies `from` to `to`, holding what it read while the link is cut.
fn pump(mut from: TcpStream, mut to: TcpStream, s: Arc<Shared>) {
    let mut buf = vec![0u8; 64 * 1024];
    let _ = from.set_read_timeout(Some(Duration::from_millis(200)));
    loop {
        if s.stopped.load(Ordering::SeqCst) {
            break;
        }
        if s.cut.load(Ordering::SeqCst) {
            std::thread::sleep(Duration::from_millis(2));
            continue;
        }
        match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => {
                if !s.wait_while_cut() || to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break,
        }
    }
    let _ = to.shutdown(std::net::Shutdown::Write);
}

fn udp_loop(front: UdpSocket, s: Arc<Shared>) {
    let front = Arc::new(front);
    let _ = front.set_read_timeout(Some(Duration::from_millis(200)));
    let mut upstreams: HashMap<SocketAddr, (u64, Arc<UdpSocket>)> = HashMap::new();
    let mut buf = vec![0u8; 65536];
    while !s.stopped.load(Ordering::SeqCst) {
        let Ok((n, client)) = front.recv_from(&mut buf) else {
            continue;
        };
        if s.cut.load(Ordering::SeqCst) {
            s.dropped.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let Some(target) = *s.udp_target.lock().unwrap() else {
            continue;
        };
        let generation = s.generation.load(Ordering::SeqCst);
        let up = match upstreams.get(&client) {
            Some((g, up)) if *g == generation => Arc::clone(up),
            _ => {
                let up = Arc::new(UdpSocket::bind("127.0.0.1:0").unwrap());
                up.connect(target).unwrap();
                let _ = up.set_read_timeout(Some(Duration::from_millis(200)));
                let (up2, front2, s2) = (Arc::clone(&up), Arc::clone(&front), Arc::clone(&s));
                std::thread::spawn(move || {
                    let mut buf = vec![0u8; 65536];
                    while !s2.stopped.load(Ordering::SeqCst)
                        && s2.generation.load(Ordering::SeqCst) == generation
                    {
                        let Ok(n) = up2.recv(&mut buf) else { continue };
                        if s2.cut.load(Ordering::SeqCst) {
                            s2.dropped.fetch_add(1, Ordering::Relaxed);
                            continue;
                        }
                        let _ = front2.send_to(&buf[..n], client);
                    }
                });
                upstreams.insert(client, (generation, Arc::clone(&up)));
                up
            }
        };
        let _ = up.send(&buf[..n]);
    }
}
