//! Active speaker detection from RFC 6464 audio levels (no decoding).
//!
//! Sans-IO: [`SpeakerDetector::on_level`] takes each packet's level with its arrival time,
//! [`SpeakerDetector::rank`] is called on a timer and returns the speakers, loudest first,
//! with hysteresis so the dominant speaker does not flap between two similar voices.

use std::collections::HashMap;
use std::hash::Hash;
use std::time::{Duration, Instant};

/// Loudness in "dB above silence": 0 = silence (-127 dBov), 127 = full scale (0 dBov).
type Score = f32;

/// A speaker is "speaking" while its smoothed loudness is above this (≈ -60 dBov).
const SPEAKING_THRESHOLD: Score = 67.0;
/// Smoothing per 20 ms packet: about 200 ms to follow a change.
const ALPHA: Score = 0.1;
/// No packet for this long counts as silence (a muted or held client may stop sending).
const STALE: Duration = Duration::from_millis(400);
/// A speaker keeps "speaking" this long after falling silent (pauses between words).
const HANGOVER: Duration = Duration::from_millis(600);
/// A challenger must be this much louder to overtake a speaker ranked above it.
const HYSTERESIS: Score = 6.0;

#[derive(Debug, Clone, Copy)]
struct Track {
    score: Score,
    last_packet: Instant,
    last_loud: Option<Instant>,
}

/// Per-call speaker state, keyed by whatever identifies a sender.
#[derive(Debug)]
pub struct SpeakerDetector<K> {
    tracks: HashMap<K, Track>,
    /// The last ranking returned by [`rank`](Self::rank).
    ranking: Vec<K>,
}

impl<K: Copy + Eq + Hash> Default for SpeakerDetector<K> {
    fn default() -> Self {
        Self {
            tracks: HashMap::new(),
            ranking: Vec::new(),
        }
    }
}

/// RFC 6464 level as str0m reports it (0 loudest … -127 silence) → score.
fn score_of(level: i8) -> Score {
    (127 + i32::from(level.clamp(-127, 0))) as Score
}

impl<K: Copy + Eq + Hash> SpeakerDetector<K> {
    /// One audio packet from `who` carrying `level` (None: the sender sent no level).
    pub fn on_level(&mut self, who: K, level: Option<i8>, now: Instant) {
        let s = level.map_or(0.0, score_of);
        let t = self.tracks.entry(who).or_insert(Track {
            score: 0.0,
            last_packet: now,
            last_loud: None,
        });
        t.score += ALPHA * (s - t.score);
        t.last_packet = now;
        if t.score >= SPEAKING_THRESHOLD {
            t.last_loud = Some(now);
        }
    }

    /// Forgets a sender (it left or went on hold).
    pub fn remove(&mut self, who: K) {
        self.tracks.remove(&who);
        self.ranking.retain(|k| *k != who);
    }

    /// Whether `who` currently counts as speaking.
    #[cfg(test)]
    pub fn is_speaking(&self, who: K, now: Instant) -> bool {
        self.tracks.get(&who).is_some_and(|t| speaking(t, now))
    }

    /// The speakers, dominant first. A speaker ranked above another in the previous ranking
    /// keeps its place unless the other is louder by more than [`HYSTERESIS`].
    pub fn rank(&mut self, now: Instant) -> &[K] {
        let mut live: Vec<(K, Score)> = self
            .tracks
            .iter()
            .filter(|(_, t)| speaking(t, now))
            .map(|(k, t)| (*k, effective(t, now)))
            .collect();
        // Incumbents get a bonus that shrinks with their previous position.
        let prev = &self.ranking;
        let bonus = |k: &K| {
            if prev.contains(k) {
                HYSTERESIS
            } else {
                0.0
            }
        };
        live.sort_by(|a, b| {
            let (sa, sb) = (a.1 + bonus(&a.0), b.1 + bonus(&b.0));
            sb.total_cmp(&sa).then_with(|| {
                // Equal: keep the previous order (stable), else arbitrary but fixed.
                let pa = prev.iter().position(|k| *k == a.0).unwrap_or(usize::MAX);
                let pb = prev.iter().position(|k| *k == b.0).unwrap_or(usize::MAX);
                pa.cmp(&pb)
            })
        });
        self.ranking = live.into_iter().map(|(k, _)| k).collect();
        &self.ranking
    }

    /// The last ranking without recomputing it.
    pub fn ranking(&self) -> &[K] {
        &self.ranking
    }
}

fn effective(t: &Track, now: Instant) -> Score {
    if now.saturating_duration_since(t.last_packet) > STALE {
        0.0
    } else {
        t.score
    }
}

fn speaking(t: &Track, now: Instant) -> bool {
    if effective(t, now) >= SPEAKING_THRESHOLD {
        return true;
    }
    t.last_loud
        .is_some_and(|l| now.saturating_duration_since(l) <= HANGOVER)
        && now.saturating_duration_since(t.last_packet) <= STALE
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: Duration = Duration::from_millis(20);

    /// Feeds `frames` packets per sender at the given levels, 20 ms apart.
    fn feed(d: &mut SpeakerDetector<u32>, t: &mut Instant, frames: u32, levels: &[(u32, i8)]) {
        for _ in 0..frames {
            *t += FRAME;
            for (who, level) in levels {
                d.on_level(*who, Some(*level), *t);
            }
        }
    }

    #[test]
    fn silence_is_not_speaking_and_loud_is() {
        let mut d = SpeakerDetector::default();
        let mut t = Instant::now();
        feed(&mut d, &mut t, 50, &[(1, -127), (2, -10)]);
        assert_eq!(d.rank(t), &[2]);
        assert!(d.is_speaking(2, t));
        assert!(!d.is_speaking(1, t));
    }

    #[test]
    fn loudest_first() {
        let mut d = SpeakerDetector::default();
        let mut t = Instant::now();
        feed(&mut d, &mut t, 50, &[(1, -40), (2, -10), (3, -25)]);
        assert_eq!(d.rank(t), &[2, 3, 1]);
    }

    #[test]
    fn hysteresis_keeps_the_dominant_speaker_against_a_slightly_louder_one() {
        let mut d = SpeakerDetector::default();
        let mut t = Instant::now();
        feed(&mut d, &mut t, 50, &[(1, -20), (2, -40)]);
        assert_eq!(d.rank(t), &[1, 2]);
        // 2 becomes 3 dB louder than 1: not enough to overtake.
        feed(&mut d, &mut t, 50, &[(1, -20), (2, -17)]);
        assert_eq!(d.rank(t), &[1, 2]);
        // 2 becomes 15 dB louder: it takes over.
        feed(&mut d, &mut t, 50, &[(1, -20), (2, -5)]);
        assert_eq!(d.rank(t), &[2, 1]);
    }

    #[test]
    fn a_speaker_who_stops_sending_drops_out_after_the_hangover() {
        let mut d = SpeakerDetector::default();
        let mut t = Instant::now();
        feed(&mut d, &mut t, 50, &[(1, -10), (2, -10)]);
        assert_eq!(d.rank(t).len(), 2);
        // 1 goes quiet (muted: level -127), 2 keeps talking.
        feed(&mut d, &mut t, 10, &[(1, -127), (2, -10)]);
        assert!(d.is_speaking(1, t), "hangover keeps short pauses");
        feed(&mut d, &mut t, 50, &[(1, -127), (2, -10)]);
        assert_eq!(d.rank(t), &[2]);
        // 2 stops sending at all.
        t += Duration::from_secs(1);
        assert!(d.rank(t).is_empty());
    }

    #[test]
    fn removed_senders_are_forgotten() {
        let mut d = SpeakerDetector::default();
        let mut t = Instant::now();
        feed(&mut d, &mut t, 50, &[(1, -10)]);
        assert_eq!(d.rank(t), &[1]);
        d.remove(1);
        assert!(d.ranking().is_empty());
        assert!(d.rank(t).is_empty());
    }
}
