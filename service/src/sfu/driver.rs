//! The thin driver around the [`Engine`]: the UDP socket, the clock and the command
//! channel. Everything it learns goes into the engine with `now`; whatever the engine queued
//! to send leaves in one batch per pass.

use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::Instant;

use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::engine::Engine;
use super::{SfuCommand, SfuCounters};

/// Datagrams read per wake-up before the receivers are polled.
const RECV_BATCH: usize = 64;

/// Runs `engine` on `socket` until the command channel closes.
pub async fn run(
    mut engine: Engine,
    socket: UdpSocket,
    mut commands: mpsc::UnboundedReceiver<SfuCommand>,
    counters: Arc<SfuCounters>,
) {
    let mut buf = vec![0u8; 2048];
    if let Ok(addr) = socket.local_addr() {
        log::info!("SFU running on udp {addr}");
    }
    loop {
        let deadline = engine.next_deadline(Instant::now());
        tokio::select! {
            r = socket.readable() => {
                if let Err(e) = r {
                    log::warn!("udp: {e}");
                }
                // A batch of datagrams, then one pass over the receivers they were
                // forwarded to: one select and timer check per batch, not per packet
                // (and one counter update per batch).
                let (mut datagrams, mut bytes) = (0u64, 0u64);
                for _ in 0..RECV_BATCH {
                    match socket.try_recv_from(&mut buf) {
                        Ok((n, source)) => {
                            datagrams += 1;
                            bytes += n as u64;
                            engine.handle_datagram(&buf[..n], source, Instant::now());
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
                        // ICMP port unreachable etc. show up as errors on some platforms.
                        Err(e) => log::debug!("udp recv: {e}"),
                    }
                }
                if datagrams > 0 {
                    counters.datagrams_in.fetch_add(datagrams, Relaxed);
                    counters.bytes_in.fetch_add(bytes, Relaxed);
                }
            }
            cmd = commands.recv() => match cmd {
                Some(cmd) => engine.handle_command(cmd, Instant::now()),
                None => break,
            },
            _ = tokio::time::sleep_until(deadline.into()) => {}
        }
        engine.handle_timeout(Instant::now());
        let sent = engine.transmits().flush(&socket);
        if sent.datagrams > 0 {
            counters
                .datagrams_out
                .fetch_add(sent.datagrams as u64, Relaxed);
            counters.bytes_out.fetch_add(sent.bytes as u64, Relaxed);
        }
        if sent.dropped > 0 {
            counters
                .send_dropped
                .fetch_add(sent.dropped as u64, Relaxed);
        }
    }
    log::info!("SFU stopped");
}
