//! The SFU: one UDP socket, one task driving every participant's str0m `Rtc` (sans-IO).
//! The engine (`engine.rs`) owns no socket and reads no clock; `driver.rs` feeds it.
//!
//! Signaling talks to it only through [`SfuHandle`] (commands) and [`SfuEvent`]s; the SFU
//! owns all media state. See `driver.rs` for the loop, `engine.rs` for routing and forwarding.

mod driver;
pub(crate) mod engine;
pub mod mixer;
mod outbox;
pub mod quality;
mod session;
pub mod slots;
pub mod speakers;
mod video;

use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot};

pub use slots::{SlotSource, Slots};

use crate::protocol::VideoStreamKind;

/// Whose video goes into a receive slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoSource {
    pub session: SessionId,
    pub kind: VideoStreamKind,
}

/// The SFU thread's name (`/metrics` and the dashboard read its CPU time by it).
pub const THREAD_NAME: &str = "acs-sfu";

/// Identifies one participant's media session (unique for the life of the process).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(pub u64);

/// Identifies a call to the SFU: sessions with the same key hear each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CallKey(pub u64);

/// Why a session could not be created.
#[derive(Debug, thiserror::Error)]
pub enum SfuError {
    /// The offer could not be parsed or accepted.
    #[error("invalid offer: {0}")]
    BadOffer(String),
    /// The SFU task is gone (shutting down).
    #[error("media server unavailable")]
    Gone,
}

/// Requests from signaling to the SFU loop.
#[derive(Debug)]
pub enum SfuCommand {
    /// Create a session in `call` (appended in join order) from a client offer.
    AddSession {
        id: SessionId,
        call: CallKey,
        offer_sdp: String,
        /// Play this participant's audio back to it (echo bot call).
        echo: bool,
        reply: oneshot::Sender<Result<String, SfuError>>,
    },
    /// Move a session made ahead (`PrepareMedia`: alone in a call key of its own) into
    /// `call`. The reply says whether its media is already connected; an unknown or dead
    /// session is an error.
    AttachSession {
        id: SessionId,
        call: CallKey,
        /// As in `AddSession`.
        echo: bool,
        reply: oneshot::Sender<Result<bool, SfuError>>,
    },
    /// Close and forget a session.
    RemoveSession { id: SessionId },
    /// ICE restart: the session's peer offers new ICE credentials; the reply is the answer.
    RestartIce {
        id: SessionId,
        offer_sdp: String,
        reply: oneshot::Sender<Result<String, SfuError>>,
    },
    /// Stop (or resume) forwarding to and from a session.
    SetHold { id: SessionId, hold: bool },
    /// A listen-only session's media is dropped on arrival (it still receives).
    SetListenOnly { id: SessionId, on: bool },
    /// A blocked session's audio is dropped on arrival (its video still goes out).
    SetAudioBlocked { id: SessionId, on: bool },
    /// Drop this percentage of received media datagrams (fault injection).
    SimulateLoss { percent: f64 },
    /// Forward `source`'s video into the video receive slot `slot` of `kind` of session `id`
    /// (None: forward nothing there).
    SetVideoSlot {
        id: SessionId,
        kind: VideoStreamKind,
        slot: usize,
        source: Option<VideoSource>,
    },
}

/// Reports from the SFU loop to signaling.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SfuEvent {
    /// ICE + DTLS completed: media can flow.
    MediaConnected(SessionId),
    /// ICE lost the peer (or the session died).
    MediaDisconnected(SessionId),
    /// The receive slots of a session changed. `mixed`: whose audio the mix in a
    /// [`SlotSource::Mix`] slot carries (empty when nothing is mixed).
    SlotsChanged {
        id: SessionId,
        slots: Slots,
        mixed: Vec<SessionId>,
    },
    /// The ranked speakers of a call changed (dominant first; empty: nobody speaks).
    DominantSpeakers {
        call: CallKey,
        speakers: Vec<SessionId>,
    },
}

/// The SFU's traffic so far, counted by its loop (relaxed atomics: one add per batch of
/// datagrams) and read by `/metrics`.
#[derive(Debug, Default)]
pub struct SfuCounters {
    /// Datagrams (and their bytes) read from the media socket: ICE, DTLS, RTP, RTCP.
    pub datagrams_in: AtomicU64,
    pub bytes_in: AtomicU64,
    /// Datagrams (and bytes) handed to the socket, and those a full socket buffer dropped.
    pub datagrams_out: AtomicU64,
    pub bytes_out: AtomicU64,
    pub send_dropped: AtomicU64,
}

/// Cheap, clonable access to the SFU loop.
#[derive(Debug, Clone)]
pub struct SfuHandle {
    commands: mpsc::UnboundedSender<SfuCommand>,
    local_addr: SocketAddr,
    counters: Arc<SfuCounters>,
    quality: quality::QualityBoard,
}

impl SfuHandle {
    /// A handle whose commands arrive on the returned channel instead of at an SFU: hub
    /// tests answer them by hand (public for the binary's tests; not for use elsewhere).
    #[doc(hidden)]
    pub fn detached() -> (Self, mpsc::UnboundedReceiver<SfuCommand>) {
        let (commands, rx) = mpsc::unbounded_channel();
        let local_addr = SocketAddr::from(([127, 0, 0, 1], 0));
        (
            Self {
                commands,
                local_addr,
                counters: Arc::default(),
                quality: Arc::default(),
            },
            rx,
        )
    }

    /// The SFU's UDP address (also its host candidate).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The SFU's traffic counters.
    pub fn counters(&self) -> &SfuCounters {
        &self.counters
    }

    /// What the SFU last measured of each session's incoming streams.
    pub fn quality(&self) -> &quality::QualityBoard {
        &self.quality
    }

    /// Creates a session and returns the SDP answer.
    pub async fn add_session(
        &self,
        id: SessionId,
        call: CallKey,
        offer_sdp: String,
        echo: bool,
    ) -> Result<String, SfuError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(SfuCommand::AddSession {
                id,
                call,
                offer_sdp,
                echo,
                reply,
            })
            .map_err(|_| SfuError::Gone)?;
        rx.await.map_err(|_| SfuError::Gone)?
    }

    /// Moves a prepared session into `call`; `Ok(true)` when its media is connected already.
    pub async fn attach_session(
        &self,
        id: SessionId,
        call: CallKey,
        echo: bool,
    ) -> Result<bool, SfuError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(SfuCommand::AttachSession {
                id,
                call,
                echo,
                reply,
            })
            .map_err(|_| SfuError::Gone)?;
        rx.await.map_err(|_| SfuError::Gone)?
    }

    /// Applies an ICE-restart offer to a session and returns the answer.
    pub async fn restart_ice(&self, id: SessionId, offer_sdp: String) -> Result<String, SfuError> {
        let (reply, rx) = oneshot::channel();
        self.commands
            .send(SfuCommand::RestartIce {
                id,
                offer_sdp,
                reply,
            })
            .map_err(|_| SfuError::Gone)?;
        rx.await.map_err(|_| SfuError::Gone)?
    }

    /// Removes a session (no-op if unknown).
    pub fn remove_session(&self, id: SessionId) {
        let _ = self.commands.send(SfuCommand::RemoveSession { id });
    }

    /// Drops `percent` % of the media datagrams received from connected sessions from now on
    /// (fault injection for tests).
    pub fn simulate_loss(&self, percent: f64) {
        let _ = self.commands.send(SfuCommand::SimulateLoss { percent });
    }

    /// Chooses what a session's video receive slot carries.
    pub fn set_video_slot(
        &self,
        id: SessionId,
        kind: VideoStreamKind,
        slot: usize,
        source: Option<VideoSource>,
    ) {
        let _ = self.commands.send(SfuCommand::SetVideoSlot {
            id,
            kind,
            slot,
            source,
        });
    }

    /// Puts a session on hold or resumes it.
    pub fn set_hold(&self, id: SessionId, hold: bool) {
        let _ = self.commands.send(SfuCommand::SetHold { id, hold });
    }

    /// Makes a session listen-only (its media is dropped on arrival) or not.
    pub fn set_listen_only(&self, id: SessionId, on: bool) {
        let _ = self.commands.send(SfuCommand::SetListenOnly { id, on });
    }

    /// Drops a session's audio on arrival (muted by someone else) or lets it through.
    pub fn set_audio_blocked(&self, id: SessionId, on: bool) {
        let _ = self.commands.send(SfuCommand::SetAudioBlocked { id, on });
    }
}

/// Socket buffer sizes of the media socket: one socket carries every participant's media,
/// and a burst of a few hundred streams must not overflow the kernel's default ~200 KiB.
const SOCKET_BUFFER: usize = 8 << 20;

/// Binds the media socket (non-blocking, large buffers; the kernel may cap them at
/// net.core.rmem_max / wmem_max).
fn bind_media_socket(bind: SocketAddr) -> std::io::Result<UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(bind), Type::DGRAM, Some(Protocol::UDP))?;
    for (what, r) in [
        ("receive", socket.set_recv_buffer_size(SOCKET_BUFFER)),
        ("send", socket.set_send_buffer_size(SOCKET_BUFFER)),
    ] {
        if let Err(e) = r {
            log::warn!("media socket: cannot set the {what} buffer: {e}");
        }
    }
    socket.bind(&bind.into())?;
    socket.set_nonblocking(true)?;
    UdpSocket::from_std(socket.into())
}

/// Binds the media socket and spawns the SFU loop on the current tokio runtime.
pub async fn start(
    bind: SocketAddr,
    echo_delay: Duration,
    forwarded: usize,
    mix_above: usize,
) -> std::io::Result<(SfuHandle, mpsc::UnboundedReceiver<SfuEvent>)> {
    start_advertising(bind, None, echo_delay, forwarded, mix_above).await
}

/// [`start`], with the address sessions are told to send media to when it is not the bound
/// one (`--media-public`: a NAT, a load balancer, or a test's impairment proxy in front of
/// the media socket). Peers' packets still arrive on the bound socket.
pub async fn start_advertising(
    bind: SocketAddr,
    advertise: Option<SocketAddr>,
    echo_delay: Duration,
    forwarded: usize,
    mix_above: usize,
) -> std::io::Result<(SfuHandle, mpsc::UnboundedReceiver<SfuEvent>)> {
    str0m::crypto::from_feature_flags().install_process_default();
    let (cmd_tx, cmd_rx) = mpsc::unbounded_channel();
    let (ev_tx, ev_rx) = mpsc::unbounded_channel();
    let (ready_tx, ready_rx) = oneshot::channel();
    let counters = Arc::new(SfuCounters::default());
    let loop_counters = Arc::clone(&counters);
    let quality = quality::QualityBoard::default();
    let loop_quality = Arc::clone(&quality);
    // The SFU gets a thread (and a single-threaded runtime) of its own: on the service's
    // shared runtime every forwarded packet woke another worker, which cost more than the
    // forwarding itself; here socket, timers and sessions live on one thread, no hand-offs.
    std::thread::Builder::new()
        .name(THREAD_NAME.into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            rt.block_on(async move {
                let socket = match bind_media_socket(bind) {
                    Ok(s) => s,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let local_addr = match socket.local_addr() {
                    Ok(a) => a,
                    Err(e) => {
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                let _ = ready_tx.send(Ok(local_addr));
                let engine = engine::Engine::new(
                    advertise.unwrap_or(local_addr),
                    ev_tx,
                    echo_delay,
                    forwarded,
                    mix_above,
                    std::time::Instant::now(),
                )
                .with_quality(loop_quality);
                driver::run(engine, socket, cmd_rx, loop_counters).await;
            });
        })?;
    let local_addr = ready_rx
        .await
        .map_err(|_| std::io::Error::other("the SFU thread exited while starting"))??;
    Ok((
        SfuHandle {
            commands: cmd_tx,
            local_addr,
            counters,
            quality,
        },
        ev_rx,
    ))
}
