//! Batched UDP sends: a burst of forwarded packets leaves in one `sendmmsg` call instead of
//! one `sendto` each (the syscall, not SRTP, was the largest cost per forwarded packet).

use std::net::SocketAddr;

use tokio::net::UdpSocket;

/// Packets sent per `sendmmsg` call.
const BATCH: usize = 64;

/// Datagrams waiting for the end of the engine's pass.
#[derive(Default)]
pub struct Outbox {
    packets: Vec<(Vec<u8>, SocketAddr)>,
    /// Bytes of the queued datagrams (summed as they are queued).
    bytes: usize,
}

impl Outbox {
    /// Queues one datagram.
    pub fn push(&mut self, data: Vec<u8>, to: SocketAddr) {
        self.bytes += data.len();
        self.packets.push((data, to));
    }

    /// The queued datagrams and where they go.
    #[cfg(test)]
    pub fn packets(&self) -> &[(Vec<u8>, SocketAddr)] {
        &self.packets
    }

    /// Forgets everything queued (what a driver does after sending it).
    pub fn clear(&mut self) {
        self.packets.clear();
        self.bytes = 0;
    }

    /// Sends everything queued. A full socket buffer drops what does not fit, as a network
    /// would; returns what was handed to the socket and what was dropped.
    pub fn flush(&mut self, socket: &UdpSocket) -> Flushed {
        let mut done = Flushed {
            datagrams: self.packets.len(),
            bytes: self.bytes,
            dropped: 0,
        };
        for chunk in self.packets.chunks(BATCH) {
            done.dropped += send_batch(socket, chunk);
        }
        self.clear();
        done
    }
}

/// What one [`Outbox::flush`] sent: datagrams and bytes queued, and how many of those the
/// socket's full buffer dropped.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Flushed {
    pub datagrams: usize,
    pub bytes: usize,
    pub dropped: usize,
}

#[cfg(target_os = "linux")]
fn send_batch(socket: &UdpSocket, chunk: &[(Vec<u8>, SocketAddr)]) -> usize {
    use std::os::fd::AsRawFd;
    let addrs: Vec<socket2::SockAddr> = chunk.iter().map(|(_, a)| (*a).into()).collect();
    let mut iovs: Vec<libc::iovec> = chunk
        .iter()
        .map(|(d, _)| libc::iovec {
            iov_base: d.as_ptr() as *mut libc::c_void,
            iov_len: d.len(),
        })
        .collect();
    // SAFETY: zeroed mmsghdr is a valid empty header; every pointer set below points into
    // `addrs` and `iovs`, which outlive the sendmmsg calls.
    let mut msgs: Vec<libc::mmsghdr> = (0..chunk.len())
        .map(|_| unsafe { std::mem::zeroed::<libc::mmsghdr>() })
        .collect();
    for (i, m) in msgs.iter_mut().enumerate() {
        m.msg_hdr.msg_name = addrs[i].as_ptr() as *mut libc::c_void;
        m.msg_hdr.msg_namelen = addrs[i].len();
        m.msg_hdr.msg_iov = &mut iovs[i];
        m.msg_hdr.msg_iovlen = 1;
    }
    let fd = socket.as_raw_fd();
    let mut sent = 0usize;
    while sent < msgs.len() {
        let rest = &mut msgs[sent..];
        // SAFETY: `rest` is a valid array of initialised headers (see above).
        let n = unsafe { libc::sendmmsg(fd, rest.as_mut_ptr(), rest.len() as libc::c_uint, 0) };
        if n <= 0 {
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::WouldBlock {
                log::debug!("sendmmsg: {e}");
            }
            // Skip the datagram that failed (e.g. an unreachable peer) and go on.
            if e.kind() == std::io::ErrorKind::WouldBlock {
                return msgs.len() - sent;
            }
            sent += 1;
            continue;
        }
        sent += n as usize;
    }
    0
}

#[cfg(not(target_os = "linux"))]
fn send_batch(socket: &UdpSocket, chunk: &[(Vec<u8>, SocketAddr)]) -> usize {
    chunk
        .iter()
        .filter(|(d, to)| socket.try_send_to(d, *to).is_err())
        .count()
}
