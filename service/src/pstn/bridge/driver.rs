//! The bridge's task: the two sockets, the 20 ms clock, str0m's timeouts and the commands.
//! Everything it learns goes into the sans-IO parts with `now`; what they produce leaves.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::change::SdpPendingOffer;
use str0m::format::Codec;
use str0m::media::{Frequency, MediaData, MediaTime, Mid, Pt};
use str0m::net::{Protocol, Receive};
use str0m::{Event, IceConnectionState, Input, Output, Rtc};
use tokio::net::UdpSocket;
use tokio::sync::mpsc;

use super::downlink::{CallDownlink, TICKS};
use super::offer::Offer;
use super::uplink::PhoneUplink;
use super::{BridgeEvent, BridgeEventKind, BridgeOptions, Command, PcmRate, Remote};
use crate::protocol::AUDIO_SLOTS;
use crate::pstn::media::leg::{LegConfig, LegEvent, PhoneLegMedia, PTIME};
use crate::pstn::media::resample::{FRAME_48K, FRAME_8K};

/// A clock this late skips ahead instead of catching up frame by frame.
const MAX_LAG: Duration = Duration::from_millis(100);
/// Datagrams read from one socket per wake-up.
const RECV_BATCH: usize = 32;

pub(super) struct Driver {
    leg_id: u64,
    events: mpsc::UnboundedSender<BridgeEvent>,
    commands: mpsc::UnboundedReceiver<Command>,
    phone: UdpSocket,
    sfu: UdpSocket,
    sfu_local: SocketAddr,
    /// The SFU's address (the only one the connected socket receives from).
    sfu_addr: SocketAddr,
    rtc: Rtc,
    pending: Option<SdpPendingOffer>,
    mids: [Mid; AUDIO_SLOTS],
    opus_pt: Option<Pt>,
    /// ICE + DTLS up.
    connected: bool,
    /// str0m failed: the SFU side is dead (the phone side keeps going until closed).
    rtc_dead: bool,
    rtc_timeout: Instant,
    leg: Option<PhoneLegMedia>,
    remote: Option<Remote>,
    uplink: PhoneUplink,
    downlink: CallDownlink,
    hold: bool,
    rate: PcmRate,
    next_tick: Instant,
    /// RTP time (48 kHz) of the next frame to the SFU.
    media_time: u64,
    buf: Vec<u8>,
}

impl Driver {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn new(
        leg_id: u64,
        events: mpsc::UnboundedSender<BridgeEvent>,
        commands: mpsc::UnboundedReceiver<Command>,
        phone: UdpSocket,
        sfu: UdpSocket,
        sfu_local: SocketAddr,
        sfu_addr: SocketAddr,
        offer: Offer,
        options: BridgeOptions,
        now: Instant,
    ) -> Result<Self, String> {
        let rate = options.pcm_rate;
        let uplink = PhoneUplink::new(rate.hz()).map_err(|e| format!("opus encoder: {e}"))?;
        Ok(Self {
            leg_id,
            events,
            commands,
            phone,
            sfu,
            sfu_local,
            sfu_addr,
            rtc: offer.rtc,
            pending: Some(offer.pending),
            mids: offer.mids,
            opus_pt: None,
            connected: false,
            rtc_dead: false,
            rtc_timeout: now,
            leg: None,
            remote: None,
            uplink,
            downlink: CallDownlink::new(AUDIO_SLOTS, rate.hz()),
            hold: false,
            rate,
            next_tick: now + PTIME,
            media_time: u64::from(random_u32()),
            buf: vec![0u8; 2048],
        })
    }

    pub(super) async fn run(mut self) {
        let sleep = tokio::time::sleep_until(self.next_tick.into());
        tokio::pin!(sleep);
        loop {
            let deadline = if self.rtc_dead {
                self.next_tick
            } else {
                self.next_tick.min(self.rtc_timeout)
            };
            sleep.as_mut().reset(deadline.into());
            tokio::select! {
                cmd = self.commands.recv() => match cmd {
                    Some(Command::Close) | None => break,
                    Some(cmd) => self.on_command(cmd),
                },
                r = self.phone.readable() => {
                    if r.is_ok() {
                        self.read_phone();
                    }
                }
                r = self.sfu.readable() => {
                    if r.is_ok() {
                        self.read_sfu();
                    }
                }
                _ = &mut sleep => {}
            }
            let now = Instant::now();
            if now >= self.next_tick {
                self.tick(now);
                self.next_tick += PTIME;
                if now.saturating_duration_since(self.next_tick) > MAX_LAG {
                    self.next_tick = now + PTIME;
                }
            }
            self.drive_rtc(now);
        }
        if !self.rtc_dead {
            self.rtc.disconnect();
            self.drive_rtc(Instant::now());
        }
        log::debug!("bridge {}: closed", self.leg_id);
    }

    fn emit(&self, kind: BridgeEventKind) {
        let _ = self.events.send(BridgeEvent {
            leg: self.leg_id,
            kind,
        });
    }

    fn on_command(&mut self, cmd: Command) {
        match cmd {
            Command::SfuAnswer(sdp) => {
                let result = match self.pending.take() {
                    Some(p) => super::offer::apply_answer(&mut self.rtc, p, &sdp),
                    None => Err("SFU answer: no offer pending (answered twice?)".into()),
                };
                if let Err(e) = result {
                    self.emit(BridgeEventKind::Failed(e));
                }
                // Start ICE now.
                self.rtc_timeout = Instant::now();
            }
            Command::Remote(r) => self.set_remote(r),
            Command::Dtmf(tone) => {
                let now = Instant::now();
                if let Some(leg) = self.leg.as_mut() {
                    if let Err(e) = leg.send_dtmf(tone, now) {
                        log::warn!("bridge {}: DTMF {tone:?}: {e}", self.leg_id);
                    }
                }
            }
            Command::Hold(hold) => self.hold = hold,
            Command::Close => {}
        }
    }

    fn set_remote(&mut self, r: Remote) {
        let same_stream = self.remote.is_some_and(|old| {
            (
                old.codec,
                old.payload_type,
                old.telephone_event_pt,
                old.srtp,
            ) == (r.codec, r.payload_type, r.telephone_event_pt, r.srtp)
        });
        self.remote = Some(r);
        if same_stream && self.leg.is_some() {
            return; // only the address changed
        }
        let mut cfg = LegConfig::new(r.codec, r.telephone_event_pt, random_u32());
        cfg.payload_type = r.payload_type;
        cfg.srtp = r.srtp;
        // The leg's clocks start on the bridge's next tick, so its packets go out on ticks.
        match PhoneLegMedia::new(cfg, self.next_tick) {
            Ok(leg) => self.leg = Some(leg),
            Err(e) => {
                self.leg = None;
                self.remote = None;
                self.emit(BridgeEventKind::Failed(format!("remote: {e}")));
            }
        }
    }

    fn read_phone(&mut self) {
        for _ in 0..RECV_BATCH {
            match self.phone.try_recv_from(&mut self.buf) {
                Ok((n, _source)) => {
                    // Before the carrier's SDP there is no leg: nothing to decode with.
                    if let Some(leg) = self.leg.as_mut() {
                        leg.on_rtp(&self.buf[..n], Instant::now());
                    }
                }
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                // ICMP port unreachable from the phone's port: keep going.
                Err(_) => continue,
            }
        }
        self.leg_events();
    }

    fn read_sfu(&mut self) {
        for _ in 0..RECV_BATCH {
            let n = match self.sfu.try_recv(&mut self.buf) {
                Ok(n) => n,
                Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(_) => continue,
            };
            if self.rtc_dead {
                continue;
            }
            let now = Instant::now();
            let Ok(contents) = self.buf[..n].try_into() else {
                continue;
            };
            let input = Input::Receive(
                now,
                Receive {
                    proto: Protocol::Udp,
                    source: self.sfu_addr,
                    destination: self.sfu_local,
                    contents,
                },
            );
            if let Err(e) = self.rtc.handle_input(input) {
                log::debug!("bridge {}: str0m input: {e}", self.leg_id);
            }
            self.poll_rtc();
        }
    }

    /// One 20 ms step of both directions.
    fn tick(&mut self, now: Instant) {
        // Phone → SFU.
        let mut frames = 0u64;
        let mut pcm = [0i16; FRAME_48K];
        if let Some(leg) = self.leg.as_mut() {
            loop {
                let n = match self.rate {
                    PcmRate::Wide48k => match leg.poll_phone_audio(now) {
                        Some(f) => {
                            pcm.copy_from_slice(&f[..]);
                            FRAME_48K
                        }
                        None => break,
                    },
                    PcmRate::Narrow8k => match leg.poll_phone_audio_8k(now) {
                        Some(f) => {
                            pcm[..FRAME_8K].copy_from_slice(&f);
                            FRAME_8K
                        }
                        None => break,
                    },
                };
                let time = self.media_time + frames * TICKS;
                frames += 1;
                if self.hold || !self.connected || self.rtc_dead {
                    continue;
                }
                let (Some(frame), Some(pt)) = (self.uplink.encode(&pcm[..n]), self.opus_pt) else {
                    continue;
                };
                let Some(w) = self.rtc.writer(self.mids[0]) else {
                    continue;
                };
                let w = w.audio_level(frame.level, frame.voice);
                let rtp_time = MediaTime::new(time, Frequency::FORTY_EIGHT_KHZ);
                if let Err(e) = w.write(pt, now, rtp_time, frame.payload) {
                    log::debug!("bridge {}: write: {e}", self.leg_id);
                }
            }
        }
        // The RTP clock runs with the wall clock, also while the phone is quiet.
        self.media_time += frames.max(1) * TICKS;

        // SFU → phone.
        let mut mix = [0i16; FRAME_48K];
        let heard = match self.rate {
            PcmRate::Wide48k => self.downlink.mix(&mut mix),
            PcmRate::Narrow8k => self.downlink.mix(&mut mix[..FRAME_8K]),
        };
        if let (Some(leg), Some(remote)) = (self.leg.as_mut(), self.remote) {
            // Nothing pushed: the leg sends G.711 silence, which keeps the phone's playout
            // running (and costs no resampling).
            if heard && !self.hold {
                match self.rate {
                    PcmRate::Wide48k => leg.push_call_audio(&mix),
                    PcmRate::Narrow8k => {
                        let mut f = [0i16; FRAME_8K];
                        f.copy_from_slice(&mix[..FRAME_8K]);
                        leg.push_call_audio_8k(&f);
                    }
                }
            }
            while let Some(d) = leg.poll_transmit(now) {
                if let Err(e) = self.phone.try_send_to(&d, remote.addr) {
                    log::debug!("bridge {}: send to phone: {e}", self.leg_id);
                }
            }
        }
        self.leg_events();
    }

    fn leg_events(&mut self) {
        let mut out = Vec::new();
        if let Some(leg) = self.leg.as_mut() {
            while let Some(e) = leg.poll_event() {
                out.push(match e {
                    LegEvent::Dtmf(c) => BridgeEventKind::Dtmf(c),
                    LegEvent::MediaTimeout => BridgeEventKind::MediaTimeout,
                });
            }
        }
        for kind in out {
            self.emit(kind);
        }
    }

    /// str0m's timeout if due, then everything it has to send or report.
    fn drive_rtc(&mut self, now: Instant) {
        if self.rtc_dead {
            return;
        }
        if now >= self.rtc_timeout {
            if let Err(e) = self.rtc.handle_input(Input::Timeout(now)) {
                log::debug!("bridge {}: str0m timeout: {e}", self.leg_id);
            }
        }
        self.poll_rtc();
    }

    fn poll_rtc(&mut self) {
        loop {
            match self.rtc.poll_output() {
                Ok(Output::Timeout(t)) => {
                    self.rtc_timeout = t;
                    return;
                }
                Ok(Output::Transmit(t)) => {
                    if let Err(e) = self.sfu.try_send(&t.contents) {
                        log::debug!("bridge {}: send to SFU: {e}", self.leg_id);
                    }
                }
                Ok(Output::Event(ev)) => self.on_rtc_event(ev),
                Err(e) => {
                    self.rtc_dead = true;
                    if std::mem::take(&mut self.connected) {
                        self.emit(BridgeEventKind::SfuDisconnected);
                    }
                    self.emit(BridgeEventKind::Failed(format!("SFU session: {e}")));
                    return;
                }
            }
        }
    }

    fn on_rtc_event(&mut self, ev: Event) {
        match ev {
            Event::Connected => {
                self.connected = true;
                self.opus_pt = self.rtc.writer(self.mids[0]).and_then(|w| {
                    w.payload_params()
                        .find(|p| p.spec().codec == Codec::Opus)
                        .map(|p| p.pt())
                });
                if self.opus_pt.is_none() {
                    self.emit(BridgeEventKind::Failed("SFU session: no Opus".into()));
                }
                self.emit(BridgeEventKind::SfuConnected);
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) if self.connected => {
                self.connected = false;
                self.emit(BridgeEventKind::SfuDisconnected);
            }
            // Back after a loss (the first connect comes as Event::Connected).
            Event::IceConnectionStateChange(
                IceConnectionState::Connected | IceConnectionState::Completed,
            ) if !self.connected && self.opus_pt.is_some() => {
                self.connected = true;
                self.emit(BridgeEventKind::SfuConnected);
            }
            Event::MediaData(d) => self.on_media(d),
            _ => {}
        }
    }

    fn on_media(&mut self, d: MediaData) {
        let Some(slot) = self.mids.iter().position(|m| *m == d.mid) else {
            return;
        };
        let ts = d.time.rebase(Frequency::FORTY_EIGHT_KHZ).numer();
        self.downlink.push(slot, ts, Arc::clone(&d.data));
    }
}

/// A random 32-bit number (SSRC, initial RTP time).
fn random_u32() -> u32 {
    uuid::Uuid::new_v4().as_u128() as u32
}
