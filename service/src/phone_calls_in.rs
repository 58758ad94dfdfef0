//! Phones calling in: an INVITE to a number assigned to a user rings that user's agents as a
//! call from `4:+…`; accepting answers the INVITE and the phone joins (see `phone_calls.rs`).

use std::sync::Arc;

use crate::calls::{Call, Hub, HubState, Kind, Participant};
use crate::phone_calls::{phone_participant, set_remote, Leg};
use crate::phone_numbers::normalize;
use crate::protocol::{EndReason, ErrorBody, ParticipantState, ServerMessage};
use crate::sfu::{CallKey, SessionId};
use crate::sip::{sdp, LegId, SrtpPolicy};

impl Hub {
    /// An INVITE from a phone: rings the user the called number belongs to.
    pub(crate) fn incoming_phone_call(
        self: &Arc<Self>,
        leg: LegId,
        from: &str,
        to: &str,
        sdp_offer: String,
        source: std::net::SocketAddr,
    ) {
        let mut st = self.state.lock();
        let Some(pstn) = &st.pstn else {
            return;
        };
        let (rtp_ip, gateway) = (pstn.rtp_ip, pstn.gateway.clone());
        let policy = gateway.srtp_policy_from(source);
        let Some(user) = self.numbers.owner_of(to) else {
            log::info!("incoming call from {from} ({source}) to {to}: no such number");
            gateway.reject(leg, 404);
            return;
        };
        if st.user_conns.get(&user).is_none_or(|c| c.is_empty()) && !self.has_push_targets(&user) {
            log::info!("incoming call from {from} to {to}: {user} has no agent online");
            gateway.reject(leg, 480);
            return;
        }
        let caller = match normalize(from) {
            Some(n) => format!("4:{n}"),
            None => "4:anonymous".to_string(),
        };
        let call_id = uuid::Uuid::new_v4().to_string();
        let key = CallKey(st.next());
        let session = SessionId(st.next());
        let epoch = st.next();
        let ring_epoch = st.next();
        let display_name = st
            .user_conns
            .get(&user)
            .and_then(|c| c.first())
            .and_then(|c| st.conns.get(c))
            .map(|c| c.display_name.clone())
            .unwrap_or_default();
        let phone = phone_participant(&caller, leg, session, epoch);
        let callee = Participant::ringing(&user, display_name, ring_epoch);
        st.calls.insert(
            call_id.clone(),
            Call {
                key,
                participants: vec![phone, callee],
                group: false,
                transfer: None,
            },
        );
        st.keys.insert(key, call_id.clone());
        st.sessions
            .insert(session, (call_id.clone(), caller.clone()));
        st.legs.insert(
            leg,
            Leg {
                call_id: call_id.clone(),
                pid: caller.clone(),
                bridge: None,
                inbound: true,
                answered: false,
                sdp_answer: None,
                srtp: (SrtpPolicy::Off, None),
            },
        );
        log::info!("call {call_id}: {caller} calls {to} ({user}), leg {leg}");
        drop(st);
        let hub = Arc::clone(self);
        tokio::spawn(async move {
            let bridge = hub.bridge_up(leg, key, session, rtp_ip).await;
            let mut st = hub.state.lock();
            let Some((call_id, idx)) = st.phone_of(leg) else {
                if let Ok(b) = bridge {
                    b.close();
                }
                hub.sfu.remove_session(session);
                return;
            };
            let answered = bridge.and_then(|b| {
                match sdp::answer_offer(&sdp_offer, b.rtp_addr(), leg, policy) {
                    Ok((answer, media, keys)) => {
                        set_remote(&b, &media, keys);
                        if keys.is_some() {
                            log::info!("incoming leg {leg}: media is SRTP");
                        }
                        Ok((b, answer))
                    }
                    Err(e) => {
                        b.close();
                        Err(ErrorBody::new(
                            EndReason::new(488, 0),
                            format!("offer not acceptable: {e}"),
                        ))
                    }
                }
            });
            let (bridge, answer) = match answered {
                Ok(x) => x,
                Err(e) => {
                    log::warn!("incoming leg {leg}: {}", e.message);
                    if let Some(l) = st.legs.remove(&leg) {
                        let status = if e.code == 488 { 488 } else { 500 };
                        if let Some(p) = &st.pstn {
                            p.gateway.reject(leg, status);
                        }
                        st.end_call(&hub.sfu, &l.call_id, e.reason(), None);
                    }
                    return;
                }
            };
            if let Some(l) = st.legs.get_mut(&leg) {
                l.bridge = Some(bridge);
                l.sdp_answer = Some(answer);
            }
            if let Some(p) = &st.pstn {
                p.gateway.ring(leg);
            }
            let Some(call) = st.calls.get(&call_id) else {
                return;
            };
            let caller_info = call.participants[idx].info();
            let callee = call
                .participants
                .iter()
                .find(|p| p.kind == Kind::User)
                .map(|p| p.id.clone());
            if let Some(callee) = callee {
                st.send_user(
                    &callee,
                    &ServerMessage::IncomingCall {
                        call_id: call_id.clone(),
                        caller: caller_info.clone(),
                        others: Vec::new(),
                    },
                );
                // Nobody of the user's is connected now: its push targets are told.
                if !st.user_live(&callee) {
                    if let Some(i) = st.calls.get(&call_id).and_then(|c| c.find(&callee)) {
                        let timeout = hub.config.setup_timeout;
                        hub.push_ring(&mut st, &call_id, i, &caller_info, Vec::new(), timeout);
                    }
                }
                drop(st);
                hub.spawn_ring_timer(&call_id, &callee, ring_epoch, hub.config.setup_timeout);
            }
        });
    }

    /// A user accepted a call: phones that called in are answered (200 OK) and join.
    pub(crate) fn answer_inbound_legs(&self, st: &mut HubState, call_id: &str) {
        let legs: Vec<LegId> = st
            .legs
            .iter()
            .filter(|(_, l)| l.call_id == call_id && l.inbound && !l.answered)
            .map(|(id, _)| *id)
            .collect();
        for leg in legs {
            let Some(answer) = st.legs.get_mut(&leg).and_then(|l| {
                l.answered = true;
                l.sdp_answer.take()
            }) else {
                continue;
            };
            if let Some(p) = &st.pstn {
                p.gateway.answer(leg, answer);
            }
            if let Some((call_id, idx)) = st.phone_of(leg) {
                if let Some(p) = st
                    .calls
                    .get_mut(&call_id)
                    .and_then(|c| c.participants.get_mut(idx))
                {
                    p.state = ParticipantState::Connected;
                }
            }
        }
    }
}
