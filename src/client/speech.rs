//! Who speaks: the service's dominant-speaker ranking, and per receive slot who sits in it
//! and how loud they are (RFC 6464 levels), with the speaking flags derived from both.
//! Plain data, unit-tested without a network.

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
    pub(crate) fn set_owners(&mut self, owners: &[Option<String>]) -> Vec<String> {
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
    pub(crate) fn on_level(
        &mut self,
        slot: usize,
        level: u8,
        now: Instant,
    ) -> Option<(String, bool)> {
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
    pub(crate) fn set_mixed(&mut self, mixed: &[String]) -> Vec<String> {
        self.mixed = mixed.to_vec();
        if mixed.is_empty() {
            std::mem::take(&mut self.ranked)
        } else {
            Vec::new()
        }
    }

    /// In a mixed call, the service's ranked speakers are the ones speaking: returns the
    /// `(id, speaking)` flips. Nothing while slots are forwarded (levels decide there).
    pub(crate) fn on_ranking(&mut self, speakers: &[String]) -> Vec<(String, bool)> {
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
