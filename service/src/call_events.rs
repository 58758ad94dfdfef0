//! What happens to calls without a request: SFU events (media connected or lost, audio
//! slots moved) and the setup timers (ringing → `NO_ANSWER`, media → `MEDIA_TIMEOUT`).

use std::sync::Arc;

use tokio::sync::mpsc::UnboundedReceiver;

use crate::calls::{Hub, HubState, Kind};
use crate::protocol::{EndReason, ParticipantState, ServerMessage, ECHO_BOT_ID};
use crate::sfu::{SfuEvent, SlotSource};

impl HubState {
    /// `pid`'s media connected: it becomes Connected and everyone is told. While its join
    /// request is still being answered (a prepared session can connect before that), this
    /// waits for [`HubState::finish_setup`], so the joiner hears of its call in order.
    pub(crate) fn media_up(&mut self, call_id: &str, pid: &str) {
        let Some(idx) = self.calls.get_mut(call_id).and_then(|c| {
            let i = c.find(pid)?;
            let p = &mut c.participants[i];
            p.media_connected = true;
            p.media_lost = false;
            if p.setting_up {
                return None;
            }
            // A phone is Connected when it answers, not when its bridge connects.
            if p.state == ParticipantState::Connecting && p.kind == Kind::User {
                p.state = ParticipantState::Connected;
            }
            Some(i)
        }) else {
            return;
        };
        self.announce(call_id, idx);
        self.update_call_states(call_id);
    }

    /// The join request of `pid` has been answered and followed up: media that connected
    /// meanwhile ([`HubState::media_up`]) takes effect now.
    pub(crate) fn finish_setup(&mut self, call_id: &str, pid: &str) {
        let Some(p) = self
            .calls
            .get_mut(call_id)
            .and_then(|c| c.find(pid).map(|i| &mut c.participants[i]))
        else {
            return;
        };
        let was = std::mem::replace(&mut p.setting_up, false);
        if was && p.media_connected {
            self.media_up(call_id, pid);
        }
    }
}

impl Hub {
    /// Feeds SFU events into the hub until the SFU stops.
    pub fn spawn_sfu_events(self: &Arc<Self>, mut rx: UnboundedReceiver<SfuEvent>) {
        let hub = Arc::clone(self);
        tokio::spawn(async move {
            while let Some(ev) = rx.recv().await {
                hub.on_sfu_event(ev);
            }
        });
    }

    /// Reacts to media connecting, failing, or slots moving.
    pub fn on_sfu_event(self: &Arc<Self>, ev: SfuEvent) {
        let mut st = self.state.lock();
        match ev {
            SfuEvent::MediaConnected(s) => {
                let Some((call_id, pid)) = st.sessions.get(&s).cloned() else {
                    return; // a prepared session outside calls, or one already gone
                };
                st.media_up(&call_id, &pid);
            }
            SfuEvent::MediaDisconnected(s) => {
                // The participant may come back (network blip): it is removed only if its
                // media stays lost for the inactivity timeout.
                let Some((call_id, pid)) = st.sessions.get(&s).cloned() else {
                    return;
                };
                let lost = st.calls.get_mut(&call_id).and_then(|c| {
                    let i = c.find(&pid)?;
                    let p = c.participants.get_mut(i)?;
                    p.media_lost = true;
                    Some((p.epoch, p.conn))
                });
                // Its agent restarts ICE (queued for it while its signaling is down too).
                if let Some((_, Some(conn))) = lost {
                    st.send(
                        conn,
                        ServerMessage::MediaLost {
                            call_id: call_id.clone(),
                        },
                    );
                }
                let epoch = lost.map(|l| l.0);
                drop(st);
                if let Some(epoch) = epoch {
                    log::info!("call {call_id}: {pid} lost media");
                    self.spawn_inactivity_timer(&call_id, &pid, epoch);
                }
            }
            SfuEvent::DominantSpeakers { call, speakers } => {
                let Some(call_id) = st.keys.get(&call).cloned() else {
                    return;
                };
                let ids: Vec<String> = speakers
                    .iter()
                    .filter_map(|s| st.sessions.get(s).map(|x| x.1.clone()))
                    .collect();
                let timestamp_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as u64);
                let msg = ServerMessage::DominantSpeakers {
                    call_id: call_id.clone(),
                    speakers: ids,
                    timestamp_ms,
                };
                st.broadcast(&call_id, None, &msg);
                st.dominant.insert(call_id, msg);
            }
            SfuEvent::SlotsChanged { id, slots, mixed } => {
                let Some((call_id, pid)) = st.sessions.get(&id).cloned() else {
                    return;
                };
                let names: Vec<Option<String>> = slots
                    .iter()
                    .map(|s| match s {
                        Some(SlotSource::Echo) => Some(ECHO_BOT_ID.to_string()),
                        Some(SlotSource::Session(o)) => st.sessions.get(o).map(|x| x.1.clone()),
                        Some(SlotSource::Mix) | None => None,
                    })
                    .collect();
                let mixed: Vec<String> = mixed
                    .iter()
                    .filter_map(|s| st.sessions.get(s).map(|x| x.1.clone()))
                    .collect();
                let conn = st
                    .calls
                    .get(&call_id)
                    .and_then(|c| c.find(&pid).and_then(|i| c.participants[i].conn));
                if let Some(conn) = conn {
                    st.send(
                        conn,
                        ServerMessage::AudioSlots {
                            call_id,
                            slots: names,
                            mixed,
                        },
                    );
                }
            }
        }
    }

    /// Removes `pid` with `NO_ANSWER` if it still rings after the setup timeout.
    pub(crate) fn spawn_ring_timer(
        self: &Arc<Self>,
        call_id: &str,
        pid: &str,
        epoch: u64,
        timeout: std::time::Duration,
    ) {
        let (hub, call_id, pid) = (Arc::clone(self), call_id.to_string(), pid.to_string());
        tokio::spawn(async move {
            tokio::time::sleep(timeout).await;
            let mut st = hub.state.lock();
            let still = st
                .calls
                .get(&call_id)
                .and_then(|c| c.find(&pid))
                .is_some_and(|i| {
                    let p = &st.calls[&call_id].participants[i];
                    p.epoch == epoch && p.state == ParticipantState::Ringing
                });
            if still {
                let r = EndReason::NO_ANSWER;
                st.remove_participant(&hub.sfu, &call_id, &pid, r, r);
            }
        });
    }

    /// Removes `pid` with `INACTIVE` if its media is still lost after the inactivity timeout.
    fn spawn_inactivity_timer(self: &Arc<Self>, call_id: &str, pid: &str, epoch: u64) {
        let (hub, call_id, pid) = (Arc::clone(self), call_id.to_string(), pid.to_string());
        tokio::spawn(async move {
            tokio::time::sleep(hub.config.inactivity_timeout).await;
            let mut st = hub.state.lock();
            let lost = st
                .calls
                .get(&call_id)
                .and_then(|c| c.participants.get(c.find(&pid)?))
                .is_some_and(|p| p.epoch == epoch && p.media_lost);
            if lost {
                let r = EndReason::INACTIVE;
                st.remove_participant(&hub.sfu, &call_id, &pid, r, r);
            }
        });
    }

    /// Removes `pid` with `MEDIA_TIMEOUT` if its media has not connected in time.
    pub(crate) fn spawn_media_timer(self: &Arc<Self>, call_id: &str, pid: &str, epoch: u64) {
        let (hub, call_id, pid) = (Arc::clone(self), call_id.to_string(), pid.to_string());
        tokio::spawn(async move {
            tokio::time::sleep(hub.config.setup_timeout).await;
            let mut st = hub.state.lock();
            let late = st
                .calls
                .get(&call_id)
                .and_then(|c| c.find(&pid))
                .is_some_and(|i| {
                    let p = &st.calls[&call_id].participants[i];
                    p.epoch == epoch && !p.media_connected
                });
            if late {
                let r = EndReason::MEDIA_TIMEOUT;
                st.remove_participant(&hub.sfu, &call_id, &pid, r, r);
            }
        });
    }
}
