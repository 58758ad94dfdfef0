//! The engine's side of server-side mixing: which calls are mixed, their receivers' slots,
//! and writing each mixed frame into every receiver's slot 0.
//!
//! A call with more than `--mix-above` members (and no echo bot) is mixed: every receiver's
//! slot 0 carries the mix of the top speakers (minus itself), its other slots nothing, and
//! no packet is forwarded. Below the threshold the engine forwards as before.

use std::time::Instant;

use str0m::format::PayloadParams;
use str0m::media::{Frequency, MediaData, MediaTime};

use super::super::mixer::{self, CallMixer};
use super::super::slots::{SlotSource, Slots};
use super::super::{CallKey, SessionId, SfuEvent};
use super::Engine;
use crate::protocol::AUDIO_SLOTS;

/// A mixed call's mixer and the payload type its senders use.
pub(super) struct CallMix {
    mixer: CallMixer,
    /// Opus parameters of the senders (taken from their packets; matched per receiver).
    params: Option<PayloadParams>,
}

/// Voice-activity flag of a mixed frame: louder than this is "voice".
const VOICE_LEVEL: i8 = -50;

impl Engine {
    /// Recomputes a mixed call's speakers and slots. Returns false when the call is not
    /// (or no longer) mixed: the caller forwards instead.
    pub(super) fn recompute_mixed(&mut self, call: CallKey) -> bool {
        let Some(order) = self.calls.get(&call) else {
            self.mixers.remove(&call);
            return false;
        };
        let echo = order
            .iter()
            .any(|id| self.sessions.get(id).is_some_and(|s| s.echo.is_some()));
        if order.len() <= self.mix_above || echo {
            if self.mixers.remove(&call).is_some() {
                log::info!("call {}: forwarding again (no longer mixed)", call.0);
            }
            return false;
        }
        let mix = match self.mixers.entry(call) {
            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
            std::collections::hash_map::Entry::Vacant(e) => match CallMixer::new() {
                Ok(mixer) => {
                    log::info!("call {}: mixing ({} members)", call.0, order.len());
                    e.insert(CallMix {
                        mixer,
                        params: None,
                    })
                }
                Err(err) => {
                    log::warn!("call {}: cannot create a mixer ({err}), forwarding", call.0);
                    return false;
                }
            },
        };
        let sessions = &self.sessions;
        let active = |id: SessionId| sessions.get(&id).is_some_and(|s| s.connected && !s.held);
        let ranking = self
            .speakers
            .get(&call)
            .map(|sp| sp.detector.ranking().to_vec())
            .unwrap_or_default();
        let previous = mix.mixer.speakers();
        let chosen = mixer::choose(&ranking, &previous, active, self.forwarded);
        if chosen != previous {
            if let Err(e) = mix.mixer.set_speakers(&chosen, self.now) {
                log::warn!("call {}: mixer: {e}", call.0);
            }
        }
        for id in order {
            let Some(s) = self.sessions.get_mut(id) else {
                continue;
            };
            s.routes.clear();
            let mut slots: Slots = [None; AUDIO_SLOTS];
            let mut mixed = Vec::new();
            if s.connected && !s.held {
                slots[0] = Some(SlotSource::Mix);
                mixed.extend(chosen.iter().copied().filter(|x| x != id));
            }
            if s.slots != slots || s.mixed != mixed {
                s.slots = slots;
                s.mixed.clone_from(&mixed);
                let _ = self.events.send(SfuEvent::SlotsChanged {
                    id: *id,
                    slots,
                    mixed,
                });
            }
        }
        true
    }

    /// A packet from `id` in `call`: decoded into the mix when `id` is mixed.
    pub(super) fn mix_input(&mut self, call: CallKey, id: SessionId, data: &MediaData) {
        if let Some(m) = self.mixers.get_mut(&call) {
            if m.mixer.is_mixed(id) {
                m.params.get_or_insert(data.params);
                m.mixer.on_packet(id, &data.data);
            }
        }
    }

    /// When the next mixed frame of any call is due.
    pub(super) fn next_mix_due(&self) -> Option<Instant> {
        self.mixers
            .values()
            .filter_map(|m| m.mixer.next_due())
            .min()
    }

    /// Produces the due mixed frames and writes them to every active receiver of the call:
    /// the same payload to all listeners (str0m still packetizes and encrypts per receiver),
    /// its own "mix minus itself" to each mixed speaker.
    pub(super) fn on_mix_time(&mut self, now: Instant) {
        for (call, m) in self.mixers.iter_mut() {
            while let Some(frame) = m.mixer.poll(now) {
                let (Some(params), Some(order)) = (m.params, self.calls.get(call)) else {
                    continue;
                };
                let rtp_time = MediaTime::new(frame.rtp_time, Frequency::FORTY_EIGHT_KHZ);
                for id in order {
                    let Some(rx) = self.sessions.get_mut(id) else {
                        continue;
                    };
                    let Some(mid) = rx.audio_mids.first().copied() else {
                        continue;
                    };
                    if !rx.connected || rx.held {
                        continue;
                    }
                    let Some(w) = rx.rtc.writer(mid) else {
                        continue;
                    };
                    let Some(pt) = w.match_params(params) else {
                        continue;
                    };
                    let e = frame.for_receiver(*id);
                    let w = w.audio_level(e.level, e.level > VOICE_LEVEL);
                    if let Err(err) = w.write(pt, now, rtp_time, e.payload.clone()) {
                        log::debug!("mix write failed: {err}");
                    }
                    if !rx.dirty {
                        rx.dirty = true;
                        self.dirty.push(*id);
                    }
                }
            }
        }
    }
}
