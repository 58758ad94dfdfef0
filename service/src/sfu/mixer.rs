//! Server-side audio mixing for large calls (what ACS/Teams do above a call size).
//!
//! Instead of forwarding the top-N speakers into N receive slots of every receiver, the SFU
//! decodes the mixed speakers, sums them every 20 ms and encodes the mix once for all the
//! listeners; each mixed speaker gets the mix without itself (one encoder each). So every
//! receiver gets ONE stream: N times fewer packets to packetize, pace and encrypt.
//!
//! Sans-IO like str0m: [`CallMixer::on_packet`] takes a speaker's Opus payload,
//! [`CallMixer::poll`] is called with the time and returns a frame when one is due. No
//! sockets or clocks inside; tests drive it with synthetic time.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use opus::{Application, Channels, Decoder, Encoder};

use super::SessionId;

/// Sample rate of the mix (Opus, RTP clock 48 kHz).
const RATE: u32 = 48_000;
/// Samples per 20 ms mono frame.
pub const FRAME_SAMPLES: usize = 960;
/// Mix period.
pub const FRAME: Duration = Duration::from_millis(20);
/// Frames a speaker may have queued before the oldest is dropped (bounded latency).
const MAX_QUEUED: usize = 4;
/// Frames a speaker needs queued before its audio is mixed (again): absorbs the jitter of
/// arrival against the mix clock.
const PRIME: usize = 2;
/// The mix clock resynchronises when it falls this far behind (the loop was stalled).
const MAX_BEHIND: Duration = Duration::from_millis(200);
/// Largest encoded frame.
const MAX_PACKET: usize = 1500;

type Pcm = Box<[i16; FRAME_SAMPLES]>;

/// One encoded 20 ms mix, ready to be written to receivers.
#[derive(Debug, Clone)]
pub struct MixedFrame {
    /// RTP time of the frame (48 kHz clock, +960 per frame, continuous while mixing).
    pub rtp_time: u64,
    /// The mix of every mixed speaker, for everyone else.
    pub all: Encoded,
    /// Per mixed speaker: the mix without that speaker, for that speaker.
    pub minus: Vec<(SessionId, Encoded)>,
}

impl MixedFrame {
    /// What `receiver` gets: its "mix minus itself" when it is mixed, else the full mix.
    pub fn for_receiver(&self, receiver: SessionId) -> &Encoded {
        self.minus
            .iter()
            .find(|(id, _)| *id == receiver)
            .map_or(&self.all, |(_, e)| e)
    }
}

/// An Opus payload with its RFC 6464 level.
#[derive(Debug, Clone)]
pub struct Encoded {
    pub payload: Arc<[u8]>,
    /// 0 (loudest) … -127 (silence), as str0m's `audio_level` takes it.
    pub level: i8,
}

struct Input {
    id: SessionId,
    decoder: Decoder,
    /// Encodes the mix without this speaker (its own stream: Opus encoders keep state).
    encoder: Encoder,
    queue: VecDeque<Pcm>,
    primed: bool,
}

/// The mixer of one call.
pub struct CallMixer {
    inputs: Vec<Input>,
    encoder: Encoder,
    rtp_time: u64,
    next_frame: Option<Instant>,
}

fn encoder() -> Result<Encoder, opus::Error> {
    Encoder::new(RATE, Channels::Mono, Application::Voip)
}

impl CallMixer {
    /// An idle mixer (no speakers).
    pub fn new() -> Result<Self, opus::Error> {
        Ok(Self {
            inputs: Vec::new(),
            encoder: encoder()?,
            rtp_time: 0,
            next_frame: None,
        })
    }

    /// The mixed speakers.
    pub fn speakers(&self) -> Vec<SessionId> {
        self.inputs.iter().map(|i| i.id).collect()
    }

    /// Whether `id` is mixed.
    pub fn is_mixed(&self, id: SessionId) -> bool {
        self.inputs.iter().any(|i| i.id == id)
    }

    /// Sets the mixed speakers (speakers that stay keep their decoder and queue). The mix
    /// clock starts at `now` when the first speaker arrives and stops when none is left.
    pub fn set_speakers(&mut self, ids: &[SessionId], now: Instant) -> Result<(), opus::Error> {
        self.inputs.retain(|i| ids.contains(&i.id));
        for id in ids {
            if !self.is_mixed(*id) {
                self.inputs.push(Input {
                    id: *id,
                    decoder: Decoder::new(RATE, Channels::Mono)?,
                    encoder: encoder()?,
                    queue: VecDeque::new(),
                    primed: false,
                });
            }
        }
        if self.inputs.is_empty() {
            self.next_frame = None;
        } else if self.next_frame.is_none() {
            self.next_frame = Some(now + FRAME);
        }
        Ok(())
    }

    /// One Opus packet from `id` (ignored unless `id` is mixed; undecodable packets too).
    pub fn on_packet(&mut self, id: SessionId, payload: &[u8]) {
        let Some(input) = self.inputs.iter_mut().find(|i| i.id == id) else {
            return;
        };
        let mut pcm: Pcm = Box::new([0; FRAME_SAMPLES]);
        match input.decoder.decode(payload, &mut pcm[..], false) {
            // A shorter frame leaves the rest silent; longer ones are cut by the buffer.
            Ok(_) => {}
            Err(e) => {
                log::debug!("mixer: cannot decode a packet of session {}: {e}", id.0);
                return;
            }
        }
        if input.queue.len() >= MAX_QUEUED {
            input.queue.pop_front();
        }
        input.queue.push_back(pcm);
    }

    /// When the next frame is due (None while idle).
    pub fn next_due(&self) -> Option<Instant> {
        self.next_frame
    }

    /// The frame due at `now`, if any. A speaker with nothing queued adds silence.
    pub fn poll(&mut self, now: Instant) -> Option<MixedFrame> {
        let due = self.next_frame?;
        if now < due {
            return None;
        }
        if now > due + MAX_BEHIND {
            // The frames the stall swallowed are lost: their RTP time passes, so receivers
            // (and the load generator's loss count) see the gap.
            let missed = (now - due).as_micros() / FRAME.as_micros();
            self.rtp_time += missed as u64 * FRAME_SAMPLES as u64;
            self.next_frame = Some(now + FRAME);
        } else {
            self.next_frame = Some(due + FRAME);
        }
        let mut sum = [0i32; FRAME_SAMPLES];
        let mut own: Vec<Option<Pcm>> = Vec::with_capacity(self.inputs.len());
        for input in &mut self.inputs {
            if !input.primed && input.queue.len() >= PRIME {
                input.primed = true;
            }
            let frame = if input.primed {
                input.queue.pop_front()
            } else {
                None
            };
            if frame.is_none() {
                input.primed = false;
            }
            if let Some(f) = &frame {
                for (s, x) in sum.iter_mut().zip(f.iter()) {
                    *s += i32::from(*x);
                }
            }
            own.push(frame);
        }
        let all = encode(&mut self.encoder, &sum, None)?;
        let mut minus = Vec::with_capacity(self.inputs.len());
        for (input, frame) in self.inputs.iter_mut().zip(&own) {
            minus.push((input.id, encode(&mut input.encoder, &sum, frame.as_ref())?));
        }
        let rtp_time = self.rtp_time;
        self.rtp_time += FRAME_SAMPLES as u64;
        Some(MixedFrame {
            rtp_time,
            all,
            minus,
        })
    }
}

/// Encodes `sum` (minus `without`, if given). A frame that would clip is scaled down as a
/// whole: hard clipping a sum of voices adds intermodulation products (2·f1 − f2 …) that
/// sound like someone else speaking.
fn encode(
    encoder: &mut Encoder,
    sum: &[i32; FRAME_SAMPLES],
    without: Option<&Pcm>,
) -> Option<Encoded> {
    let mut mixed = [0i32; FRAME_SAMPLES];
    for (i, m) in mixed.iter_mut().enumerate() {
        *m = sum[i] - without.map_or(0, |w| i32::from(w[i]));
    }
    let peak = mixed.iter().map(|v| v.unsigned_abs()).max().unwrap_or(0);
    let limit = i16::MAX as u32;
    let mut pcm = [0i16; FRAME_SAMPLES];
    for (p, m) in pcm.iter_mut().zip(mixed) {
        let v = if peak > limit {
            (i64::from(m) * i64::from(limit) / i64::from(peak)) as i32
        } else {
            m
        };
        *p = v.clamp(i32::from(i16::MIN), i32::from(i16::MAX)) as i16;
    }
    match encoder.encode_vec(&pcm, MAX_PACKET) {
        Ok(payload) => Some(Encoded {
            payload: payload.into(),
            level: level_of(&pcm),
        }),
        Err(e) => {
            log::warn!("mixer: opus encode failed: {e}");
            None
        }
    }
}

/// RFC 6464 level of a frame: -dBov of its RMS, 0 … -127.
pub fn level_of(pcm: &[i16]) -> i8 {
    if pcm.is_empty() {
        return -127;
    }
    let energy: f64 = pcm.iter().map(|s| f64::from(*s) * f64::from(*s)).sum();
    let rms = (energy / pcm.len() as f64).sqrt() / 32768.0;
    if rms <= 0.0 {
        return -127;
    }
    (20.0 * rms.log10()).clamp(-127.0, 0.0).round() as i8
}

/// The speakers to mix: the top `n` of `ranking` that are `active`, then — while fewer
/// speak — the previously mixed ones still active (a reply after a pause is not clipped).
pub fn choose(
    ranking: &[SessionId],
    previous: &[SessionId],
    active: impl Fn(SessionId) -> bool,
    n: usize,
) -> Vec<SessionId> {
    let mut chosen: Vec<SessionId> = ranking
        .iter()
        .copied()
        .filter(|s| active(*s))
        .take(n)
        .collect();
    for p in previous {
        if chosen.len() >= n {
            break;
        }
        if active(*p) && !chosen.contains(p) {
            chosen.push(*p);
        }
    }
    chosen
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tone(freq: f32, amplitude: f32, offset: usize) -> Vec<i16> {
        (0..FRAME_SAMPLES)
            .map(|i| {
                let t = (offset + i) as f32 / RATE as f32;
                (amplitude * 32767.0 * (2.0 * std::f32::consts::PI * freq * t).sin()) as i16
            })
            .collect()
    }

    fn packet(enc: &mut Encoder, pcm: &[i16]) -> Vec<u8> {
        enc.encode_vec(pcm, MAX_PACKET).expect("encode")
    }

    fn decode(payload: &[u8], dec: &mut Decoder) -> Vec<i16> {
        let mut out = vec![0i16; FRAME_SAMPLES];
        let n = dec.decode(payload, &mut out, false).expect("decode");
        out.truncate(n);
        out
    }

    /// Power of `freq` in `pcm` (Goertzel), relative to the frame's energy.
    fn share(pcm: &[i16], freq: f32) -> f32 {
        let w = 2.0 * std::f32::consts::PI * freq / RATE as f32;
        let (mut s1, mut s2) = (0.0f32, 0.0f32);
        for x in pcm {
            let s = f32::from(*x) + 2.0 * w.cos() * s1 - s2;
            s2 = s1;
            s1 = s;
        }
        let p = s1 * s1 + s2 * s2 - 2.0 * w.cos() * s1 * s2;
        let e: f32 = pcm.iter().map(|x| f32::from(*x) * f32::from(*x)).sum();
        p / (e * pcm.len() as f32 / 2.0).max(1.0)
    }

    #[test]
    fn idle_without_speakers_and_clocked_every_20_ms_with_them() {
        let t0 = Instant::now();
        let mut m = CallMixer::new().unwrap();
        assert!(m.poll(t0 + FRAME).is_none());
        assert_eq!(m.next_due(), None);
        m.set_speakers(&[SessionId(1)], t0).unwrap();
        assert_eq!(m.next_due(), Some(t0 + FRAME));
        assert!(m.poll(t0 + FRAME / 2).is_none());
        let f1 = m.poll(t0 + FRAME).unwrap();
        let f2 = m.poll(t0 + FRAME * 2).unwrap();
        assert_eq!(f2.rtp_time - f1.rtp_time, FRAME_SAMPLES as u64);
        // Nothing queued: silence.
        assert_eq!(f1.all.level, -127);
        // A stall longer than MAX_BEHIND resynchronises instead of bursting; the RTP time
        // of the frames it swallowed passes.
        let late = t0 + Duration::from_secs(2);
        let f3 = m.poll(late).unwrap();
        assert_eq!(m.next_due(), Some(late + FRAME));
        assert_eq!(f3.rtp_time - f2.rtp_time, 98 * FRAME_SAMPLES as u64);
        m.set_speakers(&[], late).unwrap();
        assert_eq!(m.next_due(), None);
    }

    #[test]
    fn listeners_hear_every_speaker_and_a_speaker_not_itself() {
        let t0 = Instant::now();
        let (a, b) = (SessionId(1), SessionId(2));
        let mut m = CallMixer::new().unwrap();
        m.set_speakers(&[a, b], t0).unwrap();
        let mut enc_a = encoder().unwrap();
        let mut enc_b = encoder().unwrap();
        let mut dec_all = Decoder::new(RATE, Channels::Mono).unwrap();
        let mut dec_a = Decoder::new(RATE, Channels::Mono).unwrap();
        let mut last = None;
        for k in 0..25 {
            let pa = packet(&mut enc_a, &tone(440.0, 0.3, k * FRAME_SAMPLES));
            let pb = packet(&mut enc_b, &tone(1000.0, 0.3, k * FRAME_SAMPLES));
            m.on_packet(a, &pa);
            m.on_packet(b, &pb);
            m.on_packet(SessionId(9), &pb); // not mixed: ignored
            let f = m
                .poll(t0 + FRAME * (k as u32 + 1))
                .expect("a frame every 20 ms");
            let all = decode(&f.all.payload, &mut dec_all);
            let for_a = decode(&f.for_receiver(a).payload, &mut dec_a);
            assert!(Arc::ptr_eq(
                &f.for_receiver(SessionId(9)).payload,
                &f.all.payload
            ));
            last = Some((all, for_a, f.all.level));
        }
        let (all, for_a, level) = last.unwrap();
        assert!(share(&all, 440.0) > 0.2 && share(&all, 1000.0) > 0.2);
        assert!(share(&for_a, 1000.0) > 0.5, "{}", share(&for_a, 1000.0));
        assert!(share(&for_a, 440.0) < 0.05, "{}", share(&for_a, 440.0));
        assert!(
            (-10..=-5).contains(&level),
            "two tones at 0.3: level {level}"
        );
    }

    #[test]
    fn a_loud_sum_is_scaled_not_clipped() {
        let mut enc = encoder().unwrap();
        let mut sum = [0i32; FRAME_SAMPLES];
        for (i, s) in sum.iter_mut().enumerate() {
            *s = if i % 2 == 0 { 60_000 } else { -60_000 };
        }
        let e = encode(&mut enc, &sum, None).unwrap();
        assert_eq!(e.level, 0, "full scale after scaling");
    }

    #[test]
    fn a_speaker_leaving_the_mix_keeps_the_others_state() {
        let t0 = Instant::now();
        let mut m = CallMixer::new().unwrap();
        m.set_speakers(&[SessionId(1), SessionId(2)], t0).unwrap();
        m.set_speakers(&[SessionId(2), SessionId(3)], t0).unwrap();
        assert_eq!(m.speakers(), vec![SessionId(2), SessionId(3)]);
        assert!(!m.is_mixed(SessionId(1)));
    }

    #[test]
    fn queue_is_bounded() {
        let t0 = Instant::now();
        let mut m = CallMixer::new().unwrap();
        m.set_speakers(&[SessionId(1)], t0).unwrap();
        let mut enc = encoder().unwrap();
        for k in 0..20 {
            let p = packet(&mut enc, &tone(440.0, 0.3, k * FRAME_SAMPLES));
            m.on_packet(SessionId(1), &p);
        }
        assert_eq!(m.inputs[0].queue.len(), MAX_QUEUED);
    }

    #[test]
    fn choose_takes_top_active_speakers_then_keeps_previous_ones() {
        let s = SessionId;
        let active = |x: SessionId| x.0 != 5;
        assert_eq!(
            choose(&[s(3), s(5), s(4), s(1)], &[], active, 2),
            vec![s(3), s(4)]
        );
        assert_eq!(
            choose(&[s(7)], &[s(3), s(5), s(4)], active, 3),
            vec![s(7), s(3), s(4)]
        );
        assert_eq!(choose(&[], &[], active, 3), Vec::<SessionId>::new());
    }

    #[test]
    fn level_of_silence_and_full_scale() {
        assert_eq!(level_of(&[0; 960]), -127);
        assert_eq!(level_of(&[i16::MAX; 960]), 0);
        let t = tone(440.0, 0.316, 0); // ≈ -10 dBov peak, -13 dBov RMS
        assert!((-14..=-12).contains(&level_of(&t)), "{}", level_of(&t));
    }
}
