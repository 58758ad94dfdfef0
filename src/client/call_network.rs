//! A call's network health as the host sees it (ACS's `networkReconnect` diagnostic): the
//! signaling link and the media path are each up or lost; while either is lost the call is
//! *reconnecting* (ACS_EVENT_CALL_NETWORK_RECONNECT), and the call itself goes on.
//!
//! A lost media path usually comes back by itself when the network does (ICE keeps sending
//! consent checks). When it does not — the network changed under it, a NAT mapping moved —
//! the call restarts ICE on the same PeerConnection: once the signaling link is up again
//! (proof that the network works), a media path still lost after [`RESTART_AFTER`] gets new
//! ICE credentials through a `RestartIce` offer/answer with the SFU, repeated every
//! [`RESTART_EVERY`] while it stays lost. The machine ends the call with 408/10006 when the
//! media stays lost for the reconnect window (120 s).
//!
//! When the service restarted, it no longer knows the call: a group call is *rejoined* under
//! the same id (a new transport, a new `JoinGroupCall`; the service creates the group again
//! for the first one back, the roster fills as the others come back), still reconnecting
//! until its new media path connects; a 1:1 call ends with 503/10008 (`SESSION_LOST`).

use super::call::{Call, CallNotice};
use crate::protocol::{ClientMessage, EndReason};
use std::time::{Duration, Instant};

/// A media path still lost this long after signaling is up gets an ICE restart.
pub(crate) const RESTART_AFTER: Duration = Duration::from_millis(1000);
/// Between two ICE restarts of a path that stays lost.
pub(crate) const RESTART_EVERY: Duration = Duration::from_secs(5);
/// After a restart that could not be completed (the link failed during the exchange).
pub(crate) const RETRY_AFTER: Duration = Duration::from_millis(500);
/// The service must answer a ping this fast before a restart is tried (the link works).
const PROBE_TIMEOUT: Duration = Duration::from_millis(800);
/// How often the restart task looks.
const POLL: Duration = Duration::from_millis(250);

/// What was lost, and since when.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct NetworkHealth {
    /// The signaling link is down (since).
    signaling_lost: Option<Instant>,
    /// Signaling is back up (since).
    signaling_up: Option<Instant>,
    media_lost: Option<Instant>,
    /// The service said the SFU lost our media (it waits for an ICE restart, whatever our
    /// side of ICE says).
    sfu_lost: Option<Instant>,
    /// An ICE-restart task runs.
    restarting: bool,
    /// The call is being joined again on a restarted service (no ICE restart meanwhile: the
    /// service does not know the old transport).
    rejoining: bool,
    /// When the next restart may be tried.
    next_restart: Option<Instant>,
}

impl NetworkHealth {
    pub(crate) fn is_rejoining(&self) -> bool {
        self.rejoining
    }

    pub(crate) fn reconnecting(&self) -> bool {
        self.signaling_lost.is_some() || self.rejoining || self.lost_since().is_some()
    }

    /// Since when the media path is lost, on our side or the SFU's.
    fn lost_since(&self) -> Option<Instant> {
        match (self.media_lost, self.sfu_lost) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Whether an ICE restart is due at `now`.
    fn restart_due(&self, now: Instant) -> bool {
        let Some(lost) = self.lost_since() else {
            return false;
        };
        if self.rejoining {
            return false;
        }
        let up_since = match (self.signaling_lost, self.signaling_up) {
            (Some(_), _) => return false,
            (None, Some(t)) => t.max(lost),
            (None, None) => lost,
        };
        // The SFU waits for a restart: no reason to wait for ICE to come back by itself.
        let wait = if self.sfu_lost.is_some() {
            Duration::ZERO
        } else {
            RESTART_AFTER
        };
        now >= up_since + wait && self.next_restart.is_none_or(|t| now >= t)
    }
}

impl Call {
    /// The agent's signaling link dropped (`up` false) or was resumed.
    pub(crate) fn on_signaling(&self, up: bool) {
        let now = Instant::now();
        self.update_health(|h| {
            if up {
                h.signaling_lost = None;
                h.signaling_up = Some(now);
            } else {
                h.signaling_lost.get_or_insert(now);
            }
        });
    }

    /// The media path was lost (`connected` false) or is back.
    pub(crate) fn on_media_path(&self, connected: bool) {
        let now = Instant::now();
        if connected {
            // The first frame goes out now, not at the send thread's next 20 ms tick.
            self.0.media.send_audio_now();
            self.drive(|m, _| m.media_connected_now());
        } else {
            self.drive(|m, _| m.media_interrupted(now));
        }
        self.update_health(|h| {
            h.media_lost = if connected {
                None
            } else {
                Some(h.media_lost.unwrap_or(now))
            }
        });
        if !connected {
            self.spawn_ice_restarts();
        }
    }

    /// The service said its side of the media path is lost: restart ICE as soon as the
    /// link allows.
    pub(crate) fn on_service_media_lost(&self) {
        let now = Instant::now();
        self.update_health(|h| {
            h.sfu_lost.get_or_insert(now);
            h.next_restart = None;
        });
        self.spawn_ice_restarts();
    }

    /// The service restarted and lost this group call: join it again under the same id with
    /// a new transport. Ends the call with 503/10008 when that fails. Once joined, what this
    /// side had told the old service (hold, mute, the streams it sends, the streams it
    /// receives into its slots) is told again; participants of the old roster the new
    /// service does not mention within `window` (the reconnect window) are removed with
    /// 408/10006, as the service removes a party gone that long.
    pub(crate) fn rejoin(&self, window: Duration) {
        self.update_health(|h| h.rejoining = true);
        self.drive(|m, _| m.rejoin_started());
        *self.0.rejoin_unseen.lock() = Some(
            self.remote_participants()
                .iter()
                .map(|p| p.identifier().to_string())
                .collect(),
        );
        let call = self.clone();
        self.0.ctx.rt.spawn(async move {
            let started = Instant::now();
            match call.rejoin_once().await {
                Ok(()) => {
                    log::info!(
                        "call {}: rejoined after the service restarted ({:?})",
                        call.call_id(),
                        started.elapsed()
                    );
                    call.update_health(|h| {
                        h.rejoining = false;
                        h.sfu_lost = None;
                    });
                    call.drive(|m, now| m.rejoined(now));
                    call.resubscribe_video(None);
                    call.forget_unseen_after(window);
                }
                Err(e) => {
                    log::warn!("call {}: could not be rejoined: {e}", call.call_id());
                    call.update_health(|h| h.rejoining = false);
                    call.end(EndReason::SESSION_LOST);
                }
            }
        });
    }

    async fn rejoin_once(&self) -> crate::error::Result<()> {
        use crate::error::Error;
        let Some(offer) = self.0.media.offer(&self.0.ctx.link).await? else {
            return Ok(()); // released meanwhile
        };
        let (group_id, offer_sdp) = (self.call_id().to_string(), offer.sdp);
        let state = self.drive(|m, _| m.join_state());
        let reply = offer
            .signaling
            .request(|req| ClientMessage::JoinGroupCall {
                req,
                group_id,
                offer_sdp,
                media: None,
                state: Some(state),
                room: self.0.room.load(std::sync::atomic::Ordering::SeqCst),
            })
            .await?;
        let answer = reply
            .map_err(crate::signaling::service_error)?
            .ok_or_else(|| {
                Error::Internal("the service rejoined the call without an answer".into())
            })?;
        offer.transport.apply_answer(answer).await?;
        self.0.media.on_transport_ready(&offer.transport);
        Ok(())
    }

    /// Asks the new service for the streams this call received before (same slots, so the
    /// host's renderers go on) — of `only` this participant, or of all — once their
    /// participant is back there; a stream it no longer has is released.
    pub(crate) fn resubscribe_video(&self, only: Option<&str>) {
        let unseen = self.0.rejoin_unseen.lock().clone().unwrap_or_default();
        for (stream, slot) in self.0.media.subscribed_streams() {
            let who = stream.participant_id();
            if only.is_some_and(|o| o != who) || unseen.contains(who) {
                // Not back yet: asked for when the service mentions it again.
                continue;
            }
            if !stream.is_available() {
                // Unavailable now: the roster update that said so releases the slot.
                continue;
            }
            self.send_subscribe(&stream, slot, |call, s, err| {
                log::info!(
                    "{}'s video could not be received again after the rejoin: {err}",
                    s.participant_id()
                );
                let _ = call.unsubscribe_video(s);
            });
        }
    }

    /// Removes, after `window`, the old roster's participants the service never mentioned
    /// since the rejoin (they did not come back).
    fn forget_unseen_after(&self, window: Duration) {
        let weak = std::sync::Arc::downgrade(&self.0);
        self.0.ctx.rt.spawn(async move {
            tokio::time::sleep(window).await;
            let Some(call) = weak.upgrade().map(Call) else {
                return;
            };
            let Some(unseen) = call.0.rejoin_unseen.lock().take() else {
                return;
            };
            if call.is_ended() || unseen.is_empty() {
                return;
            }
            log::info!(
                "call {}: {} participant(s) never came back after the rejoin",
                call.call_id(),
                unseen.len()
            );
            call.drive(|m, _| {
                for id in &unseen {
                    m.participant(&super::roster::gone(id, EndReason::INACTIVE), true);
                }
            });
        });
    }

    /// Whether the call is reconnecting (signaling or media lost).
    pub fn is_reconnecting(&self) -> bool {
        self.0.network.lock().reconnecting()
    }

    fn update_health(&self, f: impl FnOnce(&mut NetworkHealth)) {
        let (before, after) = {
            let mut h = self.0.network.lock();
            let before = h.reconnecting();
            f(&mut h);
            (before, h.reconnecting())
        };
        if before != after && !self.is_ended() {
            self.notify(CallNotice::NetworkReconnect(after));
        }
    }

    /// Restarts ICE while the media path stays lost (one task per loss).
    fn spawn_ice_restarts(&self) {
        {
            let mut h = self.0.network.lock();
            if h.restarting {
                return;
            }
            h.restarting = true;
        }
        let weak = std::sync::Arc::downgrade(&self.0);
        self.0.ctx.rt.spawn(async move {
            loop {
                tokio::time::sleep(POLL).await;
                let Some(call) = weak.upgrade().map(Call) else {
                    return;
                };
                let now = Instant::now();
                let (lost, due) = {
                    let h = call.0.network.lock();
                    (h.lost_since().is_some(), h.restart_due(now))
                };
                if !lost || call.is_ended() {
                    call.0.network.lock().restarting = false;
                    return;
                }
                if due {
                    let next = match call.restart_ice().await {
                        Ok(()) => {
                            call.update_health(|h| h.sfu_lost = None);
                            RESTART_EVERY
                        }
                        Err(e) => {
                            log::info!("call {}: no ICE restart now: {e}", call.call_id());
                            RETRY_AFTER
                        }
                    };
                    call.0.network.lock().next_restart = Some(Instant::now() + next);
                }
            }
        });
    }

    /// One ICE restart: a new offer on the same PeerConnection, the SFU's answer applied.
    async fn restart_ice(&self) -> crate::error::Result<()> {
        use crate::error::Error;
        let transport = self
            .0
            .media
            .transport()
            .ok_or_else(|| Error::InvalidState("the call has no media transport".into()))?;
        let sig = self
            .0
            .ctx
            .link
            .borrow()
            .signaling()
            .ok_or_else(|| Error::Network("not connected to the service".into()))?;
        // Only over a link that answers now: an offer whose answer never comes would leave
        // the PeerConnection waiting for it.
        let probe = sig.begin_request(|req| ClientMessage::Ping { req })?;
        match tokio::time::timeout(PROBE_TIMEOUT, probe.reply()).await {
            Ok(Ok(Ok(_))) => {}
            _ => return Err(Error::Network("the service does not answer now".into())),
        }
        log::info!("call {}: restarting ICE", self.call_id());
        let offer = transport
            .restart_ice_offer()
            .await
            .map_err(|e| Error::Network(e.to_string()))?;
        let call_id = self.call_id().to_string();
        let reply = sig
            .request(|req| ClientMessage::RestartIce {
                req,
                call_id,
                offer_sdp: offer,
            })
            .await?;
        match reply {
            Ok(Some(answer)) => transport
                .apply_restart_answer(answer)
                .await
                .map_err(|e| Error::Network(e.to_string())),
            Ok(None) => Err(Error::Internal("the ICE restart got no answer".into())),
            Err(e) => Err(crate::signaling::service_error(e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restart_waits_for_signaling_then_repeats() {
        let t0 = Instant::now();
        let ms = Duration::from_millis;
        let mut h = NetworkHealth {
            media_lost: Some(t0),
            signaling_lost: Some(t0),
            ..Default::default()
        };
        assert!(h.reconnecting());
        assert!(!h.restart_due(t0 + ms(5000)), "not while signaling is down");
        h.signaling_lost = None;
        h.signaling_up = Some(t0 + ms(6000));
        assert!(!h.restart_due(t0 + ms(6500)));
        assert!(h.restart_due(t0 + ms(7000)));
        h.next_restart = Some(t0 + ms(7000) + RESTART_EVERY);
        assert!(!h.restart_due(t0 + ms(9000)));
        assert!(h.restart_due(t0 + ms(12_000)));
        h.media_lost = None;
        assert!(!h.reconnecting());
        h.sfu_lost = Some(t0 + ms(30_000));
        h.signaling_up = Some(t0 + ms(30_000));
        assert!(h.reconnecting());
        assert!(
            h.restart_due(t0 + ms(30_000)),
            "at once when the SFU waits for it"
        );
        assert!(!h.restart_due(t0 + ms(20_000)));
    }

    #[test]
    fn media_lost_with_signaling_up_restarts_after_a_second() {
        let t0 = Instant::now();
        let h = NetworkHealth {
            media_lost: Some(t0),
            ..Default::default()
        };
        assert!(!h.restart_due(t0 + Duration::from_millis(900)));
        assert!(h.restart_due(t0 + RESTART_AFTER));
    }
}
