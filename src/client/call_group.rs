//! Group-call features of a [`Call`]: invite and remove participants, receive-slot owners,
//! speaking flags from the received audio levels, dominant speakers.

use super::call::Call;
use super::events::AgentEvent;
use super::participant::RemoteParticipant;
use crate::error::{Error, Result};
use crate::protocol::{ClientMessage, EndReason, Identifier, ParticipantInfo, ParticipantState};
use std::time::{Duration, Instant};

/// The call's dominant speakers as the service ranked them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DominantSpeakers {
    /// Raw ids, dominant first; empty while nobody speaks.
    pub speakers: Vec<String>,
    /// When the service ranked them (Unix time, ms); 0 before the first ranking.
    pub timestamp_ms: u64,
}

/// Smoothed loudness above silence (0 = silence, 127 = full scale) for "speaking".
const SPEAKING_SCORE: f32 = 67.0;
/// Per-packet smoothing (20 ms packets: ~200 ms to follow a change).
const ALPHA: f32 = 0.1;
/// Speaking lasts this long after the last loud packet (pauses between words).
const HANGOVER: Duration = Duration::from_millis(600);

#[derive(Debug, Clone, Default)]
struct SlotLevel {
    owner: Option<String>,
    score: f32,
    last_loud: Option<Instant>,
    speaking: bool,
}

/// Who sits in each receive slot and how loud they are.
#[derive(Debug, Default)]
pub(crate) struct SlotSpeech {
    slots: Vec<SlotLevel>,
    /// Large calls the service mixes: whose audio the mixed slot carries (empty when the
    /// slots are forwarded streams). Speaking flags then follow the service's ranking.
    mixed: Vec<String>,
    /// Participants flagged speaking from the service's ranking (mixed calls only).
    ranked: Vec<String>,
}

impl SlotSpeech {
    /// New slot owners; returns the ids whose speaking flag must drop (they left a slot).
    fn set_owners(&mut self, owners: &[Option<String>]) -> Vec<String> {
        let mut stopped = Vec::new();
        self.slots
            .resize_with(owners.len().max(self.slots.len()), Default::default);
        for (i, s) in self.slots.iter_mut().enumerate() {
            let new = owners.get(i).cloned().flatten();
            if s.owner != new {
                if let (Some(old), true) = (&s.owner, s.speaking) {
                    if !owners.iter().flatten().any(|o| o == old) {
                        stopped.push(old.clone());
                    }
                }
                *s = SlotLevel {
                    owner: new,
                    ..Default::default()
                };
            }
        }
        stopped
    }

    /// One packet's level in `slot`; returns `(owner, speaking)` when the flag flipped.
    fn on_level(&mut self, slot: usize, level: u8, now: Instant) -> Option<(String, bool)> {
        let s = self.slots.get_mut(slot)?;
        let owner = s.owner.clone()?;
        let score = f32::from(127 - level.min(127));
        s.score += ALPHA * (score - s.score);
        if s.score >= SPEAKING_SCORE {
            s.last_loud = Some(now);
        }
        let speaking = s.score >= SPEAKING_SCORE
            || s.last_loud
                .is_some_and(|t| now.duration_since(t) <= HANGOVER);
        if speaking != s.speaking {
            s.speaking = speaking;
            return Some((owner, speaking));
        }
        None
    }

    /// The mixed slot's participants changed (empty: the call is forwarded again). Returns
    /// the ids whose ranking-based speaking flag must drop when mixing stops.
    fn set_mixed(&mut self, mixed: &[String]) -> Vec<String> {
        self.mixed = mixed.to_vec();
        if mixed.is_empty() {
            std::mem::take(&mut self.ranked)
        } else {
            Vec::new()
        }
    }

    /// In a mixed call, the service's ranked speakers are the ones speaking: returns the
    /// `(id, speaking)` flips. Nothing while slots are forwarded (levels decide there).
    fn on_ranking(&mut self, speakers: &[String]) -> Vec<(String, bool)> {
        if self.mixed.is_empty() {
            return Vec::new();
        }
        let mut flips: Vec<(String, bool)> = self
            .ranked
            .iter()
            .filter(|id| !speakers.contains(id))
            .map(|id| (id.clone(), false))
            .collect();
        flips.extend(
            speakers
                .iter()
                .filter(|id| !self.ranked.contains(id))
                .map(|id| (id.clone(), true)),
        );
        self.ranked = speakers.to_vec();
        flips
    }

    /// Forgets a participant who left.
    pub(crate) fn forget(&mut self, id: &str) {
        self.ranked.retain(|x| x != id);
        for s in &mut self.slots {
            if s.owner.as_deref() == Some(id) {
                *s = SlotLevel::default();
            }
        }
    }
}

impl Call {
    fn participant(&self, raw_id: &str) -> Option<RemoteParticipant> {
        self.0
            .data
            .lock()
            .participants
            .iter()
            .find(|p| p.identifier() == raw_id)
            .cloned()
    }

    fn emit(&self, event: AgentEvent) {
        if let Some(a) = self.agent() {
            a.emit(event);
        }
    }

    fn set_speaking(&self, id: &str, speaking: bool) {
        if let Some(p) = self.participant(id) {
            if p.set_speaking(speaking) {
                self.emit(AgentEvent::ParticipantSpeakingChanged {
                    call: self.clone(),
                    participant: p,
                    speaking,
                });
            }
        }
    }

    /// The service moved speakers between this client's receive slots, or (large calls)
    /// mixes `mixed` into one slot.
    pub(crate) fn on_audio_slots(&self, owners: &[Option<String>], mixed: &[String]) {
        let dominant = self.0.data.lock().dominant.speakers.clone();
        let (stopped, flips) = {
            let mut speech = self.0.speech.lock();
            let mut stopped = speech.set_owners(owners);
            stopped.extend(speech.set_mixed(mixed));
            (stopped, speech.on_ranking(&dominant))
        };
        for id in stopped {
            self.set_speaking(&id, false);
        }
        for (id, speaking) in flips {
            self.set_speaking(&id, speaking);
        }
    }

    /// A received packet's RFC 6464 level (called from the transport's receive task).
    pub(crate) fn on_slot_level(&self, slot: usize, level: u8) {
        let flipped = self.0.speech.lock().on_level(slot, level, Instant::now());
        if let Some((id, speaking)) = flipped {
            self.set_speaking(&id, speaking);
        }
    }

    /// The service's new dominant-speaker ranking.
    pub(crate) fn on_dominant_speakers(&self, speakers: Vec<String>, timestamp_ms: u64) {
        let flips = self.0.speech.lock().on_ranking(&speakers);
        for (id, speaking) in flips {
            self.set_speaking(&id, speaking);
        }
        {
            let mut d = self.0.data.lock();
            if d.dominant.speakers == speakers {
                d.dominant.timestamp_ms = timestamp_ms;
                return;
            }
            d.dominant = DominantSpeakers {
                speakers,
                timestamp_ms,
            };
        }
        self.emit(AgentEvent::DominantSpeakersChanged { call: self.clone() });
    }

    // ---- public API ----

    /// The dominant speakers, loudest first, as last reported by the service.
    pub fn dominant_speakers(&self) -> DominantSpeakers {
        self.0.data.lock().dominant.clone()
    }

    /// Invites `raw_id` into the call (a 1:1 call becomes a group call; media goes on).
    /// Returns the participant at once, `Idle`; it rings, then connects, as roster events
    /// say. If the service refuses, the participant is removed with the reason (404 unknown
    /// user, 480 not connected, 403/10110 call full, 400 already in the call).
    pub fn add_participant(&self, raw_id: &str) -> Result<RemoteParticipant> {
        self.require_live()?;
        let id = Identifier::parse(raw_id).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        let raw = id.raw_id();
        let agent = self
            .agent()
            .ok_or_else(|| Error::InvalidState("the call agent is gone".into()))?;
        if raw == agent.user_id() {
            return Err(Error::InvalidArgument("cannot add yourself".into()));
        }
        if !matches!(
            self.state(),
            crate::protocol::CallState::Connected
                | crate::protocol::CallState::LocalHold
                | crate::protocol::CallState::RemoteHold
                | crate::protocol::CallState::Ringing
                | crate::protocol::CallState::Connecting
        ) {
            return Err(Error::InvalidState(format!(
                "cannot add participants in state {:?}",
                self.state()
            )));
        }
        if let Some(p) = self.participant(&raw) {
            if p.state() != ParticipantState::Disconnected {
                return Err(Error::InvalidArgument(format!(
                    "{raw} is already in the call"
                )));
            }
        }
        let p = RemoteParticipant::from_info(&ParticipantInfo {
            id: raw.clone(),
            display_name: String::new(),
            state: ParticipantState::Idle,
            muted: false,
            video: false,
            screen_sharing: false,
            end_reason: None,
        });
        self.adopt(&p);
        self.0.data.lock().participants.push(p.clone());
        self.emit(AgentEvent::ParticipantAdded {
            call: self.clone(),
            participant: p.clone(),
        });
        let link = agent.0.link.borrow().clone();
        let super::call_agent::Link::Up(sig, _) = link else {
            self.refused(&raw, EndReason::SERVICE_UNAVAILABLE);
            return Ok(p);
        };
        let call = self.clone();
        let call_id = self.call_id().to_string();
        agent.0.client.0.handle.spawn(async move {
            let target = raw.clone();
            let reply = sig
                .request(|req| ClientMessage::AddParticipant {
                    req,
                    call_id,
                    target,
                })
                .await;
            let reason = match reply {
                Ok(Ok(_)) => {
                    // The service rings the invitee: the call is a group call from now on.
                    call.0
                        .group
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                    return;
                }
                Ok(Err(e)) => {
                    log::info!("adding {raw} was refused: {}", e.message);
                    e.reason()
                }
                Err(_) => EndReason::SERVICE_UNAVAILABLE,
            };
            call.refused(&raw, reason);
        });
        Ok(p)
    }

    /// The service refused an invitation: the participant leaves the roster with `reason`.
    fn refused(&self, raw: &str, reason: EndReason) {
        self.on_participant(
            &ParticipantInfo {
                id: raw.to_string(),
                display_name: String::new(),
                state: ParticipantState::Disconnected,
                muted: false,
                video: false,
                screen_sharing: false,
                end_reason: Some(reason),
            },
            true,
        );
    }

    /// Removes a participant from the call (it ends with 0/5300 "removed"; an invitation
    /// is cancelled). The roster change arrives as a `ParticipantRemoved` event.
    pub fn remove_participant(&self, participant: &RemoteParticipant) -> Result<()> {
        self.require_live()?;
        let raw = participant.identifier().to_string();
        if self.participant(&raw).is_none() {
            return Err(Error::NotFound(format!("{raw} is not in this call")));
        }
        self.send(|req, call_id| ClientMessage::RemoveParticipant {
            req,
            call_id,
            target: raw,
        });
        Ok(())
    }

    /// Whether this call is a group call: joined by group id, or with invitees added.
    pub fn is_group_call(&self) -> bool {
        self.0.group.load(std::sync::atomic::Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loud_packets_make_the_slot_owner_speak_and_silence_stops_it() {
        let mut s = SlotSpeech::default();
        assert!(s.set_owners(&[Some("a".into()), None]).is_empty());
        let mut t = Instant::now();
        let mut flips = Vec::new();
        for _ in 0..50 {
            t += Duration::from_millis(20);
            flips.extend(s.on_level(0, 10, t));
        }
        assert_eq!(flips, vec![("a".to_string(), true)]);
        flips.clear();
        for _ in 0..100 {
            t += Duration::from_millis(20);
            flips.extend(s.on_level(0, 127, t));
        }
        assert_eq!(flips, vec![("a".to_string(), false)]);
        // A slot without an owner reports nothing.
        assert!(s.on_level(1, 0, t).is_none());
        assert!(s.on_level(7, 0, t).is_none());
    }

    #[test]
    fn mixed_calls_take_speaking_from_the_ranking_and_forwarding_restores_levels() {
        let mut s = SlotSpeech::default();
        let ids = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        // Forwarded: the ranking does not set flags.
        assert!(s.on_ranking(&ids(&["a"])).is_empty());
        assert!(s.set_mixed(&ids(&["a", "b"])).is_empty());
        let mut flips = s.on_ranking(&ids(&["a", "b"]));
        flips.sort();
        assert_eq!(flips, vec![("a".into(), true), ("b".into(), true)]);
        assert_eq!(s.on_ranking(&ids(&["b"])), vec![("a".to_string(), false)]);
        // The mixed slot has no owner: its levels flag nobody.
        s.set_owners(&[None, None]);
        assert!(s.on_level(0, 0, Instant::now()).is_none());
        // Back to forwarding: flags set from the ranking drop.
        assert_eq!(s.set_mixed(&[]), vec!["b".to_string()]);
    }

    #[test]
    fn leaving_a_slot_stops_speaking_unless_moved_to_another() {
        let mut s = SlotSpeech::default();
        s.set_owners(&[Some("a".into()), Some("b".into())]);
        let mut t = Instant::now();
        for _ in 0..50 {
            t += Duration::from_millis(20);
            s.on_level(0, 10, t);
            s.on_level(1, 10, t);
        }
        let stopped = s.set_owners(&[Some("b".into()), Some("c".into())]);
        assert_eq!(stopped, vec!["a".to_string()]);
    }
}
