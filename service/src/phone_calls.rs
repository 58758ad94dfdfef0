//! Phone participants: a call's SIP legs through the gateway (`sip/`) with their media
//! bridged into the call's SFU session (`pstn/bridge`).
//!
//! Dial-out (a `4:+…` target of `StartCall` or `AddParticipant`): the phone joins the
//! roster `Connecting`; its bridge gets an SFU session like any participant, then the
//! INVITE goes out with the bridge's RTP address. 180 → `Ringing`, 183 with SDP →
//! `EarlyMedia` (the carrier's ringback flows into the call), 200 → `Connected`; a
//! failure removes it with the SIP status as its end reason; the PSTN setup timeout
//! (115 s) cancels it. Dial-in: an INVITE to a number assigned to a user rings that
//! user's agents as a call from `4:+…`; accepting answers the INVITE (`phone_calls_in.rs`).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender};

use crate::calls::{ConnId, Hub, HubState, Kind, Participant};
use crate::phone_numbers::normalize;
use crate::protocol::{
    is_dtmf_tone, EndReason, ErrorBody, ParticipantInfo, ParticipantState, ServerMessage,
};
use crate::pstn::bridge::{
    BridgeConfig, BridgeEvent, BridgeEventKind, BridgeOptions, PcmRate, PhoneBridge,
};
use crate::pstn::media::srtp::{SrtpKey, SrtpKeys};
use crate::refusals::{bad, not_in_call};
use crate::sfu::{CallKey, SessionId};
use crate::sip::sdp::RemoteMedia;
use crate::sip::{self, sdp, DialRequest, LegId, SipEvent, SipGateway, SrtpPolicy};

/// The gateway and what phone legs need, when SIP is configured.
pub(crate) struct Pstn {
    pub gateway: SipGateway,
    /// Where bridges bind their carrier-side RTP sockets.
    pub rtp_ip: IpAddr,
    pub bridge_events: UnboundedSender<BridgeEvent>,
    /// A phone that has not answered this long is cancelled (ACS: 115 s).
    pub setup_timeout: Duration,
}

/// One SIP leg of a call.
pub(crate) struct Leg {
    pub call_id: String,
    /// The phone participant's raw id (`4:+…`).
    pub pid: String,
    /// Set once the bridge's SFU session exists.
    pub bridge: Option<PhoneBridge>,
    /// The phone called us.
    pub inbound: bool,
    /// The INVITE was answered with 200 (by us or by the phone).
    pub answered: bool,
    /// Inbound: the SDP answer to send when a user accepts.
    pub sdp_answer: Option<String>,
    /// Outbound: the trunk's SRTP policy and the key our offer carried.
    pub srtp: (SrtpPolicy, Option<SrtpKey>),
}

/// The SIP status a phone leg is refused or cancelled with when the call ends for
/// `reason` before it was answered.
fn sip_status_for(reason: EndReason) -> u16 {
    match reason {
        EndReason::DECLINED => 603,
        EndReason::CANCELLED | EndReason::LOCAL_HANGUP => 487,
        EndReason::NOT_FOUND => 404,
        r if r.code == 486 => 486,
        _ => 480,
    }
}

/// A phone participant (not yet answered).
pub(crate) fn phone_participant(
    id: &str,
    leg: LegId,
    session: SessionId,
    epoch: u64,
) -> Participant {
    Participant {
        kind: Kind::Phone,
        state: ParticipantState::Connecting,
        session: Some(session),
        leg: Some(leg),
        display_name: id.trim_start_matches("4:").to_string(),
        ..Participant::ringing(id, String::new(), epoch)
    }
}

/// Points the bridge at the phone's media, with SRTP keys when negotiated.
pub(crate) fn set_remote(b: &PhoneBridge, m: &RemoteMedia, keys: Option<SrtpKeys>) {
    b.set_remote_srtp(m.addr, m.codec, m.payload_type, m.telephone_event_pt, keys);
}

impl HubState {
    /// The phone's media and SRTP keys from its answer (or 183) to our offer on `leg`.
    fn outbound_media(
        &self,
        leg: LegId,
        sdp: &str,
    ) -> Result<(RemoteMedia, Option<SrtpKeys>), sdp::SdpError> {
        let (policy, key) = self
            .legs
            .get(&leg)
            .map_or((SrtpPolicy::Off, None), |l| l.srtp);
        let media = match sdp::parse_answer(sdp) {
            // Our RTP/SAVP stream refused (port 0): the phone does not do SRTP.
            Err(sdp::SdpError::Rejected) if policy == SrtpPolicy::Mandatory => {
                return Err(sdp::SdpError::SrtpRequired)
            }
            r => r?,
        };
        let keys = sdp::answer_keys(key.as_ref(), policy, &media)?;
        Ok((media, keys))
    }

    /// Ends a phone leg: its bridge closes; the SIP side is cancelled, hung up or refused
    /// according to where it stands. No-op for a leg already gone.
    pub(crate) fn release_leg(&mut self, leg: LegId, reason: EndReason) {
        let Some(l) = self.legs.remove(&leg) else {
            return;
        };
        if let Some(b) = &l.bridge {
            b.close();
        }
        let Some(pstn) = &self.pstn else {
            return;
        };
        if l.inbound && !l.answered {
            pstn.gateway.reject(leg, sip_status_for(reason));
        } else {
            pstn.gateway.hang_up(leg);
        }
    }

    /// The call and index of the phone participant of `leg`.
    pub(crate) fn phone_of(&self, leg: LegId) -> Option<(String, usize)> {
        let l = self.legs.get(&leg)?;
        let call = self.calls.get(&l.call_id)?;
        let idx = call.find(&l.pid)?;
        (call.participants[idx].leg == Some(leg)).then(|| (l.call_id.clone(), idx))
    }

    /// Sets the phone participant's state and tells everyone.
    fn set_phone_state(&mut self, call_id: &str, idx: usize, state: ParticipantState) {
        let Some(p) = self
            .calls
            .get_mut(call_id)
            .and_then(|c| c.participants.get_mut(idx))
        else {
            return;
        };
        if p.state == state {
            return;
        }
        p.state = state;
        self.announce(call_id, idx);
        self.update_call_states(call_id);
    }
}

impl Hub {
    /// Starts handling SIP and bridge events (call once, after the gateway started).
    pub fn enable_pstn(
        self: &Arc<Self>,
        gateway: SipGateway,
        sip_events: UnboundedReceiver<SipEvent>,
        rtp_ip: IpAddr,
        setup_timeout: Duration,
    ) {
        let (bridge_tx, mut bridge_rx) = tokio::sync::mpsc::unbounded_channel();
        self.state.lock().pstn = Some(Pstn {
            gateway,
            rtp_ip,
            bridge_events: bridge_tx,
            setup_timeout,
        });
        let hub = Arc::clone(self);
        let mut sip_events = sip_events;
        tokio::spawn(async move {
            while let Some(ev) = sip_events.recv().await {
                hub.on_sip_event(ev);
            }
        });
        let hub = Arc::clone(self);
        tokio::spawn(async move {
            while let Some(ev) = bridge_rx.recv().await {
                hub.on_bridge_event(ev);
            }
        });
    }

    /// Adds phone `raw` (`4:+…`) to `call_id` and dials it with caller id `from`. The
    /// participant is in the roster (`Connecting`) when this returns.
    pub(crate) fn dial_phone(
        self: &Arc<Self>,
        st: &mut HubState,
        call_id: &str,
        raw: &str,
        from: String,
    ) -> Result<usize, ErrorBody> {
        let Some(pstn) = &st.pstn else {
            return Err(ErrorBody::new(
                EndReason::NOT_FOUND,
                "this service has no SIP trunk: phone numbers cannot be called",
            ));
        };
        let (rtp_ip, timeout) = (pstn.rtp_ip, pstn.setup_timeout);
        let to = normalize(raw).ok_or_else(|| bad(format!("'{raw}' is not a phone number")))?;
        let Some(key) = st.calls.get(call_id).map(|c| c.key) else {
            return Err(not_in_call(call_id));
        };
        let leg = st.next();
        let session = SessionId(st.next());
        let epoch = st.next();
        let call = st
            .calls
            .get_mut(call_id)
            .ok_or_else(|| not_in_call(call_id))?;
        call.participants
            .push(phone_participant(raw, leg, session, epoch));
        let idx = call.participants.len() - 1;
        st.sessions
            .insert(session, (call_id.to_string(), raw.to_string()));
        st.legs.insert(
            leg,
            Leg {
                call_id: call_id.to_string(),
                pid: raw.to_string(),
                bridge: None,
                inbound: false,
                answered: false,
                sdp_answer: None,
                srtp: (SrtpPolicy::Off, None),
            },
        );
        log::info!("call {call_id}: dialling {to} from {from} (leg {leg})");
        let hub = Arc::clone(self);
        tokio::spawn(async move {
            let bridge = hub.bridge_up(leg, key, session, rtp_ip).await;
            let mut st = hub.state.lock();
            let Some((call_id, _)) = st.phone_of(leg) else {
                // Hung up meanwhile: release_leg found no bridge to close.
                if let Ok(b) = bridge {
                    b.close();
                }
                hub.sfu.remove_session(session);
                return;
            };
            let bridge = match bridge {
                Ok(b) => b,
                Err(e) => {
                    log::warn!("leg {leg}: no media: {}", e.message);
                    let r = e.reason();
                    let pid = st.legs.get(&leg).map(|l| l.pid.clone()).unwrap_or_default();
                    st.remove_participant(&hub.sfu, &call_id, &pid, r, r);
                    return;
                }
            };
            let policy = st
                .pstn
                .as_ref()
                .map_or(SrtpPolicy::Off, |p| p.gateway.srtp_policy(None));
            let (offer, key) = match sdp::build_offer_srtp(bridge.rtp_addr(), leg, policy) {
                Ok(x) => x,
                Err(e) => {
                    log::warn!("leg {leg}: no SRTP key: {e}");
                    bridge.close();
                    let r = EndReason::MEDIA_FAILED;
                    let pid = st.legs.get(&leg).map(|l| l.pid.clone()).unwrap_or_default();
                    st.remove_participant(&hub.sfu, &call_id, &pid, r, r);
                    return;
                }
            };
            if let Some(l) = st.legs.get_mut(&leg) {
                l.bridge = Some(bridge);
                l.srtp = (policy, key);
            }
            let dialled = st.pstn.as_ref().map(|p| {
                p.gateway.dial(DialRequest {
                    leg,
                    trunk: None,
                    to,
                    caller_id: from,
                    sdp_offer: offer,
                })
            });
            if let Some(Err(e)) = dialled {
                log::warn!("leg {leg}: cannot dial: {e}");
                let r = sip::sip_status_to_end_reason(503);
                // Closes the bridge; the gateway has no such leg to hang up.
                let pid = st.legs.get(&leg).map(|l| l.pid.clone()).unwrap_or_default();
                st.remove_participant(&hub.sfu, &call_id, &pid, r, r);
            }
        });
        self.spawn_phone_timer(call_id, raw, epoch, timeout);
        Ok(idx)
    }

    /// Starts a bridge and gives it an SFU session in call `key`.
    pub(crate) async fn bridge_up(
        &self,
        leg: LegId,
        key: CallKey,
        session: SessionId,
        rtp_ip: IpAddr,
    ) -> Result<PhoneBridge, ErrorBody> {
        let events = self
            .state
            .lock()
            .pstn
            .as_ref()
            .map(|p| p.bridge_events.clone())
            .ok_or_else(|| ErrorBody::new(EndReason::INTERNAL, "no PSTN gateway"))?;
        let cfg = BridgeConfig {
            rtp_ip,
            sfu_addr: self.sfu.local_addr(),
        };
        // 8 kHz PCM: Opus runs at the phone's own rate, no resampling (the bridge's
        // benchmark: 201-252 legs per core vs 153-171 at 48 kHz).
        let options = BridgeOptions {
            pcm_rate: PcmRate::Narrow8k,
        };
        let bridge = PhoneBridge::start_with(leg, cfg, options, events)
            .await
            .map_err(|e| ErrorBody::new(EndReason::INTERNAL, format!("RTP socket: {e}")))?;
        match self
            .sfu
            .add_session(session, key, bridge.sfu_offer(), false)
            .await
        {
            Ok(answer) => {
                bridge.set_sfu_answer(answer);
                Ok(bridge)
            }
            Err(e) => {
                bridge.close();
                Err(ErrorBody::new(EndReason::MEDIA_FAILED, e.to_string()))
            }
        }
    }

    /// Cancels `pid` if it has not answered after `timeout`.
    fn spawn_phone_timer(
        self: &Arc<Self>,
        call_id: &str,
        pid: &str,
        epoch: u64,
        timeout: Duration,
    ) {
        let (hub, call_id, pid) = (Arc::clone(self), call_id.to_string(), pid.to_string());
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            let mut st = hub.state.lock();
            let pending = st
                .calls
                .get(&call_id)
                .and_then(|c| c.participants.get(c.find(&pid)?))
                .is_some_and(|p| p.epoch == epoch && p.state != ParticipantState::Connected);
            if pending {
                log::info!("call {call_id}: {pid} did not answer in {timeout:?}");
                let r = sip::sip_status_to_end_reason(408);
                st.remove_participant(&hub.sfu, &call_id, &pid, r, r);
            }
        });
    }

    /// Reacts to the gateway: progress, answer, failure, hang-up, incoming calls.
    pub(crate) fn on_sip_event(self: &Arc<Self>, ev: SipEvent) {
        let mut st = self.state.lock();
        match ev {
            SipEvent::Progress { leg, status, sdp } => {
                let Some((call_id, idx)) = st.phone_of(leg) else {
                    return;
                };
                let early = sdp
                    .as_deref()
                    .and_then(|s| match st.outbound_media(leg, s) {
                        Ok(m) => Some(m),
                        Err(e) => {
                            log::warn!("leg {leg}: unusable early-media SDP: {e}");
                            None
                        }
                    });
                let state = match early {
                    Some((m, keys)) => {
                        if let Some(b) = st.legs.get(&leg).and_then(|l| l.bridge.as_ref()) {
                            set_remote(b, &m, keys);
                        }
                        ParticipantState::EarlyMedia
                    }
                    None if status == 100 => return,
                    None => ParticipantState::Ringing,
                };
                st.set_phone_state(&call_id, idx, state);
            }
            SipEvent::Answered { leg, sdp } => {
                let Some((call_id, idx)) = st.phone_of(leg) else {
                    return;
                };
                let (media, keys) = match st.outbound_media(leg, &sdp) {
                    Ok(m) => m,
                    Err(e) => {
                        log::warn!("call {call_id}: leg {leg}: unusable SDP answer: {e}");
                        let pid = st.legs.get(&leg).map(|l| l.pid.clone()).unwrap_or_default();
                        // The phone answered: the leg is hung up (BYE).
                        if let Some(l) = st.legs.get_mut(&leg) {
                            l.answered = true;
                        }
                        let r = match e {
                            // Not acceptable: the trunk wants SRTP, the phone did not do it.
                            sdp::SdpError::SrtpRequired
                            | sdp::SdpError::NoCommonCrypto
                            | sdp::SdpError::Crypto(_) => sip::sip_status_to_end_reason(488),
                            _ => EndReason::MEDIA_FAILED,
                        };
                        st.remove_participant(&self.sfu, &call_id, &pid, r, r);
                        return;
                    }
                };
                if let Some(l) = st.legs.get_mut(&leg) {
                    l.answered = true;
                    if let Some(b) = &l.bridge {
                        set_remote(b, &media, keys);
                    }
                }
                if keys.is_some() {
                    log::info!("call {call_id}: leg {leg}: media is SRTP");
                }
                log::info!("call {call_id}: leg {leg} answered");
                st.set_phone_state(&call_id, idx, ParticipantState::Connected);
            }
            SipEvent::Failed {
                leg,
                status,
                reason,
            } => {
                let Some((call_id, _)) = st.phone_of(leg) else {
                    return;
                };
                log::info!("call {call_id}: leg {leg} failed: {status} {reason}");
                // The SIP side is over: nothing to cancel.
                let Some(l) = st.legs.remove(&leg) else {
                    return;
                };
                if let Some(b) = &l.bridge {
                    b.close();
                }
                let r = sip::sip_status_to_end_reason(status);
                st.remove_participant(&self.sfu, &call_id, &l.pid, r, r);
            }
            SipEvent::RemoteHangup { leg } => {
                let Some((call_id, _)) = st.phone_of(leg) else {
                    return;
                };
                let Some(l) = st.legs.remove(&leg) else {
                    return;
                };
                if let Some(b) = &l.bridge {
                    b.close();
                }
                log::info!("call {call_id}: {} hung up", l.pid);
                let r = if l.answered || !l.inbound {
                    EndReason::LOCAL_HANGUP
                } else {
                    EndReason::CANCELLED
                };
                st.remove_participant(&self.sfu, &call_id, &l.pid, r, r);
            }
            SipEvent::Incoming {
                leg,
                from,
                to,
                sdp_offer,
                source,
            } => {
                drop(st);
                self.incoming_phone_call(leg, &from, &to, sdp_offer, source);
            }
        }
    }

    /// Reacts to a bridge: DTMF from the phone, media trouble.
    pub(crate) fn on_bridge_event(self: &Arc<Self>, ev: BridgeEvent) {
        let mut st = self.state.lock();
        let Some((call_id, idx)) = st.phone_of(ev.leg) else {
            return;
        };
        let pid = st.calls[&call_id].participants[idx].id.clone();
        match ev.kind {
            BridgeEventKind::Dtmf(tone) => {
                log::info!("call {call_id}: {pid} pressed {tone}");
                let msg = ServerMessage::DtmfReceived {
                    call_id: call_id.clone(),
                    participant: pid,
                    tone: tone.to_string(),
                };
                st.broadcast(&call_id, None, &msg);
            }
            BridgeEventKind::MediaTimeout => {
                log::warn!("call {call_id}: no RTP from {pid}");
            }
            BridgeEventKind::Failed(why) => {
                log::warn!("call {call_id}: the media of {pid} failed: {why}");
                let r = EndReason::MEDIA_FAILED;
                st.remove_participant(&self.sfu, &call_id, &pid, r, r);
            }
            BridgeEventKind::SfuConnected | BridgeEventKind::SfuDisconnected => {}
        }
    }

    /// `SendDtmf`: sends `tones` to every answered phone of the call.
    pub fn send_dtmf(&self, conn: ConnId, req: u64, call_id: &str, tones: &str) {
        let st = self.state.lock();
        if st
            .authorize(conn, req, call_id, crate::authz::Action::SendDtmf)
            .is_none()
        {
            return;
        }
        if tones.is_empty() || !tones.chars().all(is_dtmf_tone) {
            st.respond(
                conn,
                req,
                Err(bad(format!(
                    "'{tones}' is not a sequence of DTMF tones (0-9 * # A-D)"
                ))),
            );
            return;
        }
        let bridges: Vec<PhoneBridge> = st
            .legs
            .values()
            .filter(|l| l.call_id == call_id && l.answered)
            .filter_map(|l| l.bridge.clone())
            .collect();
        if bridges.is_empty() {
            st.respond(
                conn,
                req,
                Err(bad("this call has no phone participant that answered")),
            );
            return;
        }
        for b in &bridges {
            for t in tones.chars() {
                if let Err(e) = b.send_dtmf(t) {
                    st.respond(conn, req, Err(bad(e)));
                    return;
                }
            }
        }
        st.respond(conn, req, Ok(None));
    }
}

/// A roster entry for a target that could not be reached.
pub(crate) fn gone_info(raw: &str, reason: EndReason) -> ParticipantInfo {
    ParticipantInfo {
        id: raw.to_string(),
        display_name: String::new(),
        state: ParticipantState::Disconnected,
        muted: false,
        video: false,
        screen_sharing: false,
        end_reason: Some(reason),
        role: None,
    }
}
