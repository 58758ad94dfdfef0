//! The playout thread: every 20 ms, pops each receive slot's jitter buffer, decodes (or
//! conceals), mixes and hands the frame to the speaker.

use super::{as_ns, Shared, SpeakerSink, FRAME, MAX_BEHIND};
use crate::media::audio::codec::OpusDecoder;
use crate::media::audio::cpal_backend::PlayRing;
use crate::media::audio::jitter::{JitterBuffer, Playout, LATE_WAIT_ALONE, LATE_WAIT_MIXED};
use crate::media::audio::mixer::mix_into;
use crate::media::audio::{AudioDevice, FRAME_SAMPLES};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

enum SpeakerOut {
    Virtual(AudioDevice),
    Cpal(Arc<PlayRing>),
}

/// Runs the playout schedule until the engine stops.
pub(super) fn playout_loop(sh: Arc<Shared>, mut decoders: Vec<OpusDecoder>) {
    let mut mix = [0i16; FRAME_SAMPLES];
    let mut pcm = [0i16; FRAME_SAMPLES];
    // Output of frames skipped to cut latency: decoded only to keep the decoder in step.
    let mut discarded = [0i16; FRAME_SAMPLES];
    let mut pops: Vec<Playout> = Vec::with_capacity(decoders.len());
    // Slots whose decoder has state from a stream: reset when the slot goes silent.
    let mut live = vec![false; decoders.len()];
    let mut next = Instant::now() + FRAME;
    loop {
        {
            let mut rx = sh.rx.lock();
            loop {
                if !sh.running.load(Ordering::Relaxed) {
                    return;
                }
                if let Some(at) = rx.rephase_at.take() {
                    next = at;
                }
                if Instant::now() >= next {
                    break;
                }
                sh.rx_wake.wait_until(&mut rx, next);
            }
            let mut now = Instant::now();
            let playing = sh.playing.load(Ordering::Relaxed);
            // Holding the tick for one stream's late frame delays the others': briefly only.
            let max_wait = if rx.slots.iter().filter(|j| j.is_playing()).count() > 1 {
                LATE_WAIT_MIXED
            } else {
                LATE_WAIT_ALONE
            };
            pops.extend(rx.slots.iter_mut().map(|jb| {
                if playing {
                    jb.pop(now, max_wait)
                } else {
                    Playout::Silence
                }
            }));
            // A slot whose next frame is late holds the tick until it arrives or the wait ends
            // (then it is concealed): concealing a frame that comes a few ms later would throw
            // the decoder off the stream for hundreds of ms.
            while let Some(until) = pops
                .iter()
                .filter_map(|p| match p {
                    Playout::Wait { until } => Some(*until),
                    _ => None,
                })
                .min()
            {
                if !sh.running.load(Ordering::Relaxed) {
                    return;
                }
                if now < until {
                    sh.rx_wake.wait_until(&mut rx, until);
                }
                now = Instant::now();
                for (p, jb) in pops.iter_mut().zip(rx.slots.iter_mut()) {
                    if matches!(p, Playout::Wait { .. }) {
                        *p = jb.pop(now, max_wait);
                    }
                }
                // The awaited frame set the phase: it plays now, the next tick a frame after.
                if let Some(at) = rx.rephase_at.take() {
                    next = at;
                }
            }
            // A slot that gave back margin lets the tick move earlier, when it plays alone.
            let advance = rx
                .slots
                .iter_mut()
                .map(JitterBuffer::take_phase_advance)
                .max();
            if rx.slots.iter().filter(|j| j.is_playing()).count() == 1 {
                next -= advance.unwrap_or_default();
            }
        }
        let now = Instant::now();
        mix.fill(0);
        for ((p, dec), live) in pops.drain(..).zip(decoders.iter_mut()).zip(live.iter_mut()) {
            if matches!(p, Playout::Silence) {
                if std::mem::take(live) {
                    dec.reset();
                }
                continue;
            }
            *live = true;
            let (result, concealed) = match p {
                Playout::Silence | Playout::Wait { .. } => continue,
                Playout::Packet {
                    payload,
                    arrival,
                    skipped,
                } => {
                    let r = dec.decode(&payload, &mut pcm);
                    if let Some(next) = skipped {
                        if let Err(e) = dec.decode(&next, &mut discarded) {
                            log::debug!("opus decode of a skipped frame failed: {e}");
                        }
                    }
                    if r.is_ok() {
                        let waited = as_ns(now.saturating_duration_since(arrival));
                        sh.counters
                            .receive_to_play_ns
                            .fetch_add(waited, Ordering::Relaxed);
                        sh.counters
                            .receive_to_play_max_ns
                            .fetch_max(waited, Ordering::Relaxed);
                        (r, false)
                    } else {
                        (dec.conceal(&mut pcm), true)
                    }
                }
                Playout::Conceal {
                    fec: Some(next_payload),
                } => match dec.decode_fec(&next_payload, &mut pcm) {
                    Ok(n) => (Ok(n), true),
                    Err(_) => (dec.conceal(&mut pcm), true),
                },
                Playout::Conceal { fec: None } => (dec.conceal(&mut pcm), true),
            };
            match result {
                Ok(n) => {
                    mix_into(&mut mix, &pcm[..n.min(FRAME_SAMPLES)]);
                    let counter = if concealed {
                        &sh.counters.concealed
                    } else {
                        &sh.counters.played
                    };
                    counter.fetch_add(1, Ordering::Relaxed);
                }
                Err(e) => log::debug!("opus decode failed: {e}"),
            }
        }
        let out = match &*sh.speaker.lock() {
            SpeakerSink::Virtual(d) => SpeakerOut::Virtual(d.clone()),
            SpeakerSink::Cpal(_, pb) => SpeakerOut::Cpal(pb.ring.clone()),
        };
        // Only a real speaker reaches the room the microphone is in: what a virtual one plays
        // is no echo reference (the canceller would otherwise mute the near end for nothing).
        if matches!(out, SpeakerOut::Cpal(_)) {
            if let Some(p) = &mut *sh.apm_render.lock() {
                p.process_render(&mix);
            }
        }
        match out {
            SpeakerOut::Virtual(d) => {
                d.play_virtual_frame(&mix);
            }
            SpeakerOut::Cpal(ring) => ring.push(&mix),
        }
        sh.counters.speaker_frames.fetch_add(1, Ordering::Relaxed);
        next += FRAME;
        let now = Instant::now();
        if now > next + MAX_BEHIND {
            next = now + FRAME;
        }
    }
}
