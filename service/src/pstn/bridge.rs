//! The media bridge of one phone leg: the carrier's G.711 RTP on one side, a participant's
//! session of the call's SFU on the other.
//!
//! ```text
//!  phone ──G.711 RTP──▶ PhoneLegMedia ──48 kHz──▶ PhoneUplink (Opus NB + level) ──▶ str0m ──▶ SFU
//!  phone ◀─G.711 RTP── PhoneLegMedia ◀─48 kHz── CallDownlink (a decoder per slot, summed) ◀── SFU
//! ```
//!
//! The decisions live in sans-IO parts (`media::leg`, [`uplink`], [`downlink`], str0m's
//! `Rtc`); `driver.rs` is the thin task around them: two UDP sockets, a 20 ms clock, str0m's
//! timeouts and the command channel. [`PhoneBridge`] is the handle the hub keeps.
//!
//! Order of use: [`PhoneBridge::start`] → [`PhoneBridge::sfu_offer`] into
//! `SfuHandle::add_session` → [`PhoneBridge::set_sfu_answer`]; [`PhoneBridge::rtp_addr`] into
//! the SIP SDP and [`PhoneBridge::set_remote`] from the carrier's SDP (183, then 200).

pub mod downlink;
mod driver;
pub mod offer;
pub mod uplink;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

use parking_lot::Mutex;
use tokio::net::UdpSocket;
use tokio::sync::{mpsc, watch};

use crate::pstn::media::g711::G711;
use crate::pstn::media::rtp::digit_to_event;
use crate::pstn::media::srtp::SrtpKeys;

/// Where the bridge's sockets go.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// Where the carrier-side RTP socket binds (port 0: the kernel picks).
    pub rtp_ip: IpAddr,
    /// The SFU's media address (`SfuHandle::local_addr`).
    pub sfu_addr: SocketAddr,
}

/// The rate of the PCM between the phone's leg and the Opus codecs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PcmRate {
    /// 48 kHz: the leg resamples 8 ↔ 48 kHz (rubato) and Opus runs at 48 kHz.
    Wide48k,
    /// 8 kHz, the phone's own rate: the Opus encoder takes the phone's frames as they are
    /// and the decoders output 8 kHz (libopus band-limits), no resampler at all.
    Narrow8k,
}

impl PcmRate {
    pub fn hz(self) -> u32 {
        match self {
            PcmRate::Wide48k => 48_000,
            PcmRate::Narrow8k => 8_000,
        }
    }
}

/// How a bridge transcodes (see `benches/phone_legs.rs` for what each costs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BridgeOptions {
    pub pcm_rate: PcmRate,
}

impl Default for BridgeOptions {
    fn default() -> Self {
        Self {
            pcm_rate: PcmRate::Wide48k,
        }
    }
}

/// What happened to a bridge.
#[derive(Debug, Clone, PartialEq)]
pub enum BridgeEventKind {
    /// ICE + DTLS with the SFU completed (again, after a `SfuDisconnected`).
    SfuConnected,
    /// ICE with the SFU lost.
    SfuDisconnected,
    /// The phone sent a DTMF digit (once per digit).
    Dtmf(char),
    /// No RTP from the phone for the leg's media timeout (30 s; once until RTP comes back).
    MediaTimeout,
    /// The bridge cannot work as asked (bad SFU answer, bad remote, str0m error …).
    Failed(String),
}

/// An event of leg `leg`.
#[derive(Debug, Clone, PartialEq)]
pub struct BridgeEvent {
    pub leg: u64,
    pub kind: BridgeEventKind,
}

/// What the carrier's SDP negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Remote {
    addr: SocketAddr,
    codec: G711,
    payload_type: u8,
    telephone_event_pt: Option<u8>,
    srtp: Option<SrtpKeys>,
}

/// Requests from the handle to the task.
#[derive(Debug)]
pub(crate) enum Command {
    SfuAnswer(String),
    Remote(Remote),
    Dtmf(char),
    Hold(bool),
    Close,
}

/// What the handle knows without asking the task.
#[derive(Debug, Default)]
struct HandleState {
    closed: bool,
    /// The latest remote's telephone-event payload type (outer None: no remote yet).
    telephone_event_pt: Option<Option<u8>>,
}

struct Shared {
    leg: u64,
    rtp_addr: SocketAddr,
    offer: String,
    commands: mpsc::UnboundedSender<Command>,
    state: Mutex<HandleState>,
    /// Becomes true when the task has ended and its sockets are closed.
    done: watch::Receiver<bool>,
}

/// The handle of one phone leg's media bridge (cheap to clone). The work runs in a tokio
/// task, which ends on [`PhoneBridge::close`] or when the last handle is dropped.
#[derive(Clone)]
pub struct PhoneBridge {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for PhoneBridge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PhoneBridge")
            .field("leg", &self.shared.leg)
            .field("rtp_addr", &self.shared.rtp_addr)
            .finish()
    }
}

impl PhoneBridge {
    /// Binds the carrier-side RTP socket on `cfg.rtp_ip` and the SFU-side socket (on the
    /// address the kernel routes to `cfg.sfu_addr` from), builds the SFU offer and starts the
    /// task on the current tokio runtime. Events of the leg go to `events`.
    pub async fn start(
        leg: u64,
        cfg: BridgeConfig,
        events: mpsc::UnboundedSender<BridgeEvent>,
    ) -> std::io::Result<PhoneBridge> {
        Self::start_with(leg, cfg, BridgeOptions::default(), events).await
    }

    /// [`Self::start`] with other [`BridgeOptions`] than the defaults.
    pub async fn start_with(
        leg: u64,
        cfg: BridgeConfig,
        options: BridgeOptions,
        events: mpsc::UnboundedSender<BridgeEvent>,
    ) -> std::io::Result<PhoneBridge> {
        let phone = UdpSocket::bind(SocketAddr::new(cfg.rtp_ip, 0)).await?;
        let rtp_addr = phone.local_addr()?;
        let unspecified: IpAddr = if cfg.sfu_addr.is_ipv4() {
            std::net::Ipv4Addr::UNSPECIFIED.into()
        } else {
            std::net::Ipv6Addr::UNSPECIFIED.into()
        };
        // Connected: the kernel picks the source address the SFU can reach (our host
        // candidate) and drops datagrams from anyone else.
        let sfu = UdpSocket::bind(SocketAddr::new(unspecified, 0)).await?;
        sfu.connect(cfg.sfu_addr).await?;
        let sfu_local = sfu.local_addr()?;
        let now = Instant::now();
        let o = offer::make_offer(sfu_local, now).map_err(std::io::Error::other)?;
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (done_tx, done) = watch::channel(false);
        let shared = Arc::new(Shared {
            leg,
            rtp_addr,
            offer: o.sdp.clone(),
            commands,
            state: Mutex::new(HandleState::default()),
            done,
        });
        let driver = driver::Driver::new(
            leg,
            events,
            command_rx,
            phone,
            sfu,
            sfu_local,
            cfg.sfu_addr,
            o,
            options,
            now,
        )
        .map_err(std::io::Error::other)?;
        tokio::spawn(async move {
            driver.run().await;
            let _ = done_tx.send(true);
        });
        Ok(PhoneBridge { shared })
    }

    /// The leg's id, as given to `start`.
    pub fn leg(&self) -> u64 {
        self.shared.leg
    }

    /// The carrier-side RTP address (for the SIP SDP).
    pub fn rtp_addr(&self) -> SocketAddr {
        self.shared.rtp_addr
    }

    /// The SDP offer for the SFU (`SfuHandle::add_session`).
    pub fn sfu_offer(&self) -> String {
        self.shared.offer.clone()
    }

    /// The SFU's answer to [`Self::sfu_offer`]. Errors come as [`BridgeEventKind::Failed`].
    pub fn set_sfu_answer(&self, answer_sdp: String) {
        self.send(Command::SfuAnswer(answer_sdp));
    }

    /// Where and how to send to the phone, from the carrier's SDP. May come again (a 200
    /// after a 183): a new address only redirects; another codec or payload type restarts
    /// the leg's RTP stream (new SSRC; digits still queued are dropped). Nothing is sent to
    /// the phone before the first call.
    pub fn set_remote(
        &self,
        addr: SocketAddr,
        codec: G711,
        payload_type: u8,
        telephone_event_pt: Option<u8>,
    ) {
        self.set_remote_srtp(addr, codec, payload_type, telephone_event_pt, None);
    }

    /// [`Self::set_remote`] with SDES-SRTP keys (None: plain RTP). Other keys restart
    /// the leg's stream like another codec does.
    pub fn set_remote_srtp(
        &self,
        addr: SocketAddr,
        codec: G711,
        payload_type: u8,
        telephone_event_pt: Option<u8>,
        srtp: Option<SrtpKeys>,
    ) {
        self.shared.state.lock().telephone_event_pt = Some(telephone_event_pt);
        self.send(Command::Remote(Remote {
            addr,
            codec,
            payload_type,
            telephone_event_pt,
            srtp,
        }));
    }

    /// Queues DTMF `tone` (`0-9 * # A-D`) to the phone as RFC 4733 events; digits play in
    /// the order queued (100 ms tone, 100 ms gap).
    pub fn send_dtmf(&self, tone: char) -> Result<(), String> {
        if digit_to_event(tone).is_none() {
            return Err(format!("{tone:?} is not a DTMF digit"));
        }
        {
            let st = self.shared.state.lock();
            if st.closed {
                return Err("the bridge is closed".into());
            }
            match st.telephone_event_pt {
                None => return Err("no remote yet".into()),
                Some(None) => return Err("telephone-event was not negotiated".into()),
                Some(Some(_)) => {}
            }
        }
        self.shared
            .commands
            .send(Command::Dtmf(tone))
            .map_err(|_| "the bridge is closed".to_string())
    }

    /// Hold: the phone gets silence and the SFU nothing from the phone; false resumes.
    pub fn set_hold(&self, hold: bool) {
        self.send(Command::Hold(hold));
    }

    /// Ends the task and closes both sockets (idempotent).
    pub fn close(&self) {
        let mut st = self.shared.state.lock();
        if !st.closed {
            st.closed = true;
            let _ = self.shared.commands.send(Command::Close);
        }
    }

    /// Waits until the task has ended and its sockets are closed.
    pub async fn closed(&self) {
        let mut done = self.shared.done.clone();
        let _ = done.wait_for(|d| *d).await;
    }

    fn send(&self, cmd: Command) {
        if !self.shared.state.lock().closed {
            let _ = self.shared.commands.send(cmd);
        }
    }
}

#[cfg(test)]
mod tests;
