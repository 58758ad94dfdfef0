//! The per-call audio engine: a send thread (mic → Opus → sink) and a playout thread
//! (jitter buffers → Opus/PLC → mixer → speaker), both on absolute 20 ms schedules.
//!
//! Latency: the send thread encodes and hands a frame to the sink right after its tick; the
//! playout thread re-aligns its tick to `arrival + margin` whenever a stream (re)starts and no
//! other slot is playing, so a frame received is played within a couple of milliseconds. A
//! tick that finds a stream's next frame late holds the mix until it comes (for a bounded
//! time, shorter while other slots play) rather than conceal it.

use super::analysis::{audio_level, is_voice};
use super::codec::{OpusDecoder, OpusEncoder};
use super::cpal_backend::{open_capture, open_playback, CaptureRing, CpalCapture, CpalPlayback};
use super::jitter::{InsertOutcome, JitterBuffer, JitterStats};
use super::processing::Processor;
use super::{
    AudioDevice, AudioEngine, AudioProcessing, AudioStats, DeviceKind, EncodedAudioFrame,
    MediaError, FRAME_SAMPLES,
};
use parking_lot::{Condvar, Mutex};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

mod playout;
use playout::playout_loop;

const FRAME: Duration = Duration::from_millis(super::FRAME_MS as u64);
/// A thread further behind its schedule than this restarts the schedule instead of bursting.
const MAX_BEHIND: Duration = Duration::from_millis(100);
/// How long the send thread waits for a real microphone before sending silence.
const CAPTURE_WAIT: Duration = Duration::from_millis(100);
/// Muted DTX: a muted microphone sends its first muted frame, then one comfort frame per
/// this many frames (400 ms), with the RTP clock running on. A large call's muted majority
/// then costs the SFU 5% of the packets; the peer's jitter buffer reads the timestamp gap
/// as a pause, not as loss or lateness, and the SFU's speaker ranking still hears a level.
pub const DTX_INTERVAL_FRAMES: u32 = 20;

enum MicSource {
    Virtual(AudioDevice),
    Cpal(#[allow(dead_code)] AudioDevice, CpalCapture),
}

enum SpeakerSink {
    Virtual(AudioDevice),
    Cpal(#[allow(dead_code)] AudioDevice, CpalPlayback),
}

struct RxState {
    slots: Vec<JitterBuffer>,
    /// Set by `receive_rtp` when a stream (re)starts: the playout thread's next tick.
    rephase_at: Option<Instant>,
}

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    dtx_skipped: AtomicU64,
    received: AtomicU64,
    played: AtomicU64,
    concealed: AtomicU64,
    speaker_frames: AtomicU64,
    capture_to_sink_ns: AtomicU64,
    receive_to_play_ns: AtomicU64,
    receive_to_play_max_ns: AtomicU64,
}

struct Shared {
    running: AtomicBool,
    muted: AtomicBool,
    sending: AtomicBool,
    playing: AtomicBool,
    mic: Mutex<MicSource>,
    speaker: Mutex<SpeakerSink>,
    rx: Mutex<RxState>,
    rx_wake: Condvar,
    /// Set by [`AudioEngine::send_now`]: the send thread's next tick happens at once and its
    /// schedule restarts from there.
    kick: Mutex<bool>,
    kick_wake: Condvar,
    counters: Counters,
    /// Echo cancellation etc. for a real microphone: the settings, and the send thread's and
    /// the playout thread's handles on one processor (None while off or the mic is virtual).
    processing: Mutex<AudioProcessing>,
    apm_capture: Mutex<Option<Processor>>,
    apm_render: Mutex<Option<Processor>>,
}

impl Shared {
    /// (Re)creates, reconfigures or drops the processor for the current mic and settings.
    fn update_processing(&self) -> Result<(), MediaError> {
        let settings = *self.processing.lock();
        let real_mic = matches!(&*self.mic.lock(), MicSource::Cpal(..));
        let want = real_mic && settings.any();
        let mut cap = self.apm_capture.lock();
        match (&mut *cap, want) {
            (Some(p), true) => p.configure(settings),
            (None, true) => {
                let p = Processor::new(settings)?;
                *self.apm_render.lock() = Some(p.clone());
                *cap = Some(p);
            }
            (_, false) => {
                *cap = None;
                *self.apm_render.lock() = None;
            }
        }
        Ok(())
    }
}

/// Engine internals behind `AudioEngine`.
pub(super) struct EngineInner {
    shared: Arc<Shared>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

fn open_mic(mic: &AudioDevice) -> Result<MicSource, MediaError> {
    if mic.kind() != DeviceKind::Microphone {
        return Err(MediaError::InvalidInput(format!(
            "{} is not a microphone",
            mic.id()
        )));
    }
    match mic.cpal_id() {
        Some(id) => Ok(MicSource::Cpal(mic.clone(), open_capture(id)?)),
        None => Ok(MicSource::Virtual(mic.clone())),
    }
}

fn open_speaker(speaker: &AudioDevice) -> Result<SpeakerSink, MediaError> {
    if speaker.kind() != DeviceKind::Speaker {
        return Err(MediaError::InvalidInput(format!(
            "{} is not a speaker",
            speaker.id()
        )));
    }
    match speaker.cpal_id() {
        Some(id) => Ok(SpeakerSink::Cpal(speaker.clone(), open_playback(id)?)),
        None => Ok(SpeakerSink::Virtual(speaker.clone())),
    }
}

fn as_ns(d: Duration) -> u64 {
    d.as_nanos().min(u128::from(u64::MAX)) as u64
}

impl AudioEngine {
    /// Open `microphone` and `speaker` and start the send and playout threads. Encoded frames
    /// go to `sink` (on the send thread); `slots` receive streams are mixed.
    /// Errors: `Device` when a real device cannot be opened (cpal's message), `InvalidInput`
    /// for a speaker given as microphone or vice versa, `Codec` if Opus fails to initialise.
    pub fn start(
        microphone: AudioDevice,
        speaker: AudioDevice,
        slots: usize,
        sink: Box<dyn FnMut(EncodedAudioFrame) + Send>,
    ) -> Result<Self, MediaError> {
        let mic = open_mic(&microphone)?;
        let spk = open_speaker(&speaker)?;
        let encoder = OpusEncoder::new()?;
        let decoders = (0..slots)
            .map(|_| OpusDecoder::new())
            .collect::<Result<Vec<_>, _>>()?;
        let shared = Arc::new(Shared {
            running: AtomicBool::new(true),
            muted: AtomicBool::new(false),
            sending: AtomicBool::new(true),
            playing: AtomicBool::new(true),
            mic: Mutex::new(mic),
            speaker: Mutex::new(spk),
            rx: Mutex::new(RxState {
                slots: (0..slots).map(|_| JitterBuffer::new()).collect(),
                rephase_at: None,
            }),
            rx_wake: Condvar::new(),
            kick: Mutex::new(false),
            kick_wake: Condvar::new(),
            counters: Counters::default(),
            processing: Mutex::new(AudioProcessing::default()),
            apm_capture: Mutex::new(None),
            apm_render: Mutex::new(None),
        });
        shared.update_processing()?;
        let s1 = shared.clone();
        let send = std::thread::Builder::new()
            .name("acs-audio-send".into())
            .spawn(move || send_loop(s1, sink, encoder))?;
        let s2 = shared.clone();
        let playout = std::thread::Builder::new()
            .name("acs-audio-playout".into())
            .spawn(move || playout_loop(s2, decoders));
        let playout = match playout {
            Ok(h) => h,
            Err(e) => {
                shared.running.store(false, Ordering::SeqCst);
                let _ = send.join();
                return Err(e.into());
            }
        };
        Ok(AudioEngine(EngineInner {
            shared,
            threads: Mutex::new(vec![send, playout]),
        }))
    }

    /// Hand an incoming RTP payload of receive `slot` to its jitter buffer. Cheap (one short
    /// lock); ignored for `slot >= slots` and while not playing (hold).
    pub fn receive_rtp(&self, slot: usize, seq: u16, timestamp: u32, payload: &[u8]) {
        let sh = &self.0.shared;
        if !sh.playing.load(Ordering::Relaxed) || !sh.running.load(Ordering::Relaxed) {
            return;
        }
        let now = Instant::now();
        let mut rx = sh.rx.lock();
        // Checked again under the lock: set_playing(false) resets the buffers under it.
        if !sh.playing.load(Ordering::SeqCst) {
            return;
        }
        let Some(jb) = rx.slots.get_mut(slot) else {
            return;
        };
        sh.counters.received.fetch_add(1, Ordering::Relaxed);
        // A tick waiting for this slot's late frame wants to hear of any arrival.
        let mut wake = jb.is_waiting();
        let outcome = jb.insert(seq, timestamp, payload, now);
        if matches!(outcome, InsertOutcome::Started | InsertOutcome::Awaited) {
            let at = now + jb.margin();
            let others_playing = rx
                .slots
                .iter()
                .enumerate()
                .any(|(i, j)| i != slot && j.is_playing());
            if !others_playing {
                rx.rephase_at = Some(at);
                wake = true;
            }
        }
        if wake {
            drop(rx);
            sh.rx_wake.notify_one();
        }
    }

    /// Mute: send encoded silence (level 127) in DTX, one comfort frame per
    /// [`DTX_INTERVAL_FRAMES`] (400 ms), the first at once.
    pub fn set_muted(&self, muted: bool) {
        self.0.shared.muted.store(muted, Ordering::Relaxed);
    }

    /// Whether the microphone is muted.
    pub fn is_muted(&self) -> bool {
        self.0.shared.muted.load(Ordering::Relaxed)
    }

    /// Hold on the send side: `false` sends nothing at all.
    /// Sends the next frame now instead of at the next 20 ms tick, and keeps the schedule
    /// from there (the media path just connected: the first frame goes out at once, not up
    /// to 20 ms later). A real microphone clocks the thread by itself; this changes nothing
    /// there.
    pub fn send_now(&self) {
        *self.0.shared.kick.lock() = true;
        self.0.shared.kick_wake.notify_all();
    }

    pub fn set_sending(&self, sending: bool) {
        self.0.shared.sending.store(sending, Ordering::Relaxed);
    }

    /// Hold on the receive side: `false` plays silence and discards incoming audio.
    pub fn set_playing(&self, playing: bool) {
        let sh = &self.0.shared;
        sh.playing.store(playing, Ordering::SeqCst);
        if !playing {
            let mut rx = sh.rx.lock();
            rx.slots.iter_mut().for_each(JitterBuffer::reset);
        }
    }

    /// Swap the microphone mid-call (mute state kept). On error the old one stays in use.
    pub fn switch_microphone(&self, mic: AudioDevice) -> Result<(), MediaError> {
        let new = open_mic(&mic)?;
        let old = std::mem::replace(&mut *self.0.shared.mic.lock(), new);
        drop(old); // closes a cpal stream outside the lock
        if let Err(e) = self.0.shared.update_processing() {
            log::warn!("audio processing unavailable for the new microphone: {e}");
        }
        Ok(())
    }

    /// Turns echo cancellation, noise suppression and gain control on or off (at once, for a
    /// real microphone; virtual ones are never processed). Default: all on.
    /// Errors: `Device` when the processing module cannot be created (nothing changes then).
    pub fn set_audio_processing(&self, settings: AudioProcessing) -> Result<(), MediaError> {
        let sh = &self.0.shared;
        let old = std::mem::replace(&mut *sh.processing.lock(), settings);
        sh.update_processing().inspect_err(|_| {
            *sh.processing.lock() = old;
        })
    }

    /// The processing settings in force.
    pub fn audio_processing(&self) -> AudioProcessing {
        *self.0.shared.processing.lock()
    }

    /// Whether what the microphone captures is being processed right now (a real microphone
    /// with some processing switched on).
    pub fn is_processing(&self) -> bool {
        self.0.shared.apm_capture.lock().is_some()
    }

    /// Swap the speaker mid-call. On error the old one stays in use.
    pub fn switch_speaker(&self, speaker: AudioDevice) -> Result<(), MediaError> {
        let new = open_speaker(&speaker)?;
        let old = std::mem::replace(&mut *self.0.shared.speaker.lock(), new);
        if let SpeakerSink::Virtual(d) = &old {
            d.flush_virtual();
        }
        Ok(())
    }

    /// Counters so far.
    pub fn stats(&self) -> AudioStats {
        let sh = &self.0.shared;
        let c = &sh.counters;
        let jb = sh
            .rx
            .lock()
            .slots
            .iter()
            .fold(JitterStats::default(), |mut a, j| {
                let s = j.stats();
                a.late += s.late;
                a.lost += s.lost;
                a.duplicates += s.duplicates;
                a.overflow_dropped += s.overflow_dropped;
                a.underruns += s.underruns;
                a
            });
        let sent = c.sent.load(Ordering::Relaxed);
        let played = c.played.load(Ordering::Relaxed);
        AudioStats {
            frames_sent: sent,
            frames_dtx_skipped: c.dtx_skipped.load(Ordering::Relaxed),
            frames_received: c.received.load(Ordering::Relaxed),
            frames_played: played,
            frames_concealed: c.concealed.load(Ordering::Relaxed),
            frames_late: jb.late,
            frames_lost: jb.lost,
            frames_dropped: jb.duplicates + jb.overflow_dropped,
            underruns: jb.underruns,
            speaker_frames: c.speaker_frames.load(Ordering::Relaxed),
            avg_capture_to_sink_us: c.capture_to_sink_ns.load(Ordering::Relaxed)
                / sent.max(1)
                / 1000,
            avg_receive_to_play_us: c.receive_to_play_ns.load(Ordering::Relaxed)
                / played.max(1)
                / 1000,
            max_receive_to_play_us: c.receive_to_play_max_ns.load(Ordering::Relaxed) / 1000,
        }
    }

    /// Stop both threads and finalize a WAV speaker's header. Idempotent; Drop calls it.
    pub fn stop(&self) {
        let sh = &self.0.shared;
        sh.running.store(false, Ordering::SeqCst);
        {
            let _rx = sh.rx.lock();
            sh.rx_wake.notify_all();
        }
        {
            let _kick = sh.kick.lock();
            sh.kick_wake.notify_all();
        }
        let threads: Vec<_> = self.0.threads.lock().drain(..).collect();
        let me = std::thread::current().id();
        for t in threads {
            // A sink or speaker callback may call stop() from our own thread: don't self-join.
            if t.thread().id() != me {
                let _ = t.join();
            }
        }
        if let SpeakerSink::Virtual(d) = &*sh.speaker.lock() {
            d.flush_virtual();
        }
    }
}

impl Drop for AudioEngine {
    fn drop(&mut self) {
        self.stop();
    }
}

enum Source {
    Virtual(AudioDevice),
    Cpal(Arc<CaptureRing>),
}

/// Waits until `next` (the send thread's tick), or less when [`AudioEngine::send_now`] asks
/// (or the engine stops); the tick's time.
fn wait_tick(sh: &Shared, next: Instant) -> Instant {
    let mut kicked = sh.kick.lock();
    loop {
        if std::mem::take(&mut *kicked) {
            return Instant::now();
        }
        let now = Instant::now();
        if now >= next || !sh.running.load(Ordering::Relaxed) {
            return next;
        }
        sh.kick_wake.wait_for(&mut kicked, next - now);
    }
}

fn send_loop(
    sh: Arc<Shared>,
    mut sink: Box<dyn FnMut(EncodedAudioFrame) + Send>,
    mut encoder: OpusEncoder,
) {
    let mut frame = [0i16; FRAME_SAMPLES];
    let mut next = Instant::now();
    // Muted DTX: frames since the last comfort frame (None while not muted), and samples
    // skipped since the last frame sent.
    let mut muted_run: Option<u32> = None;
    let mut skipped_samples: u32 = 0;
    while sh.running.load(Ordering::Relaxed) {
        let src = match &*sh.mic.lock() {
            MicSource::Virtual(d) => Source::Virtual(d.clone()),
            MicSource::Cpal(_, cap) => Source::Cpal(cap.ring.clone()),
        };
        let real_mic = matches!(src, Source::Cpal(_));
        match src {
            Source::Virtual(d) => {
                next += FRAME;
                let now = Instant::now();
                if now > next + MAX_BEHIND {
                    next = now;
                }
                next = wait_tick(&sh, next);
                d.read_virtual_frame(&mut frame);
            }
            Source::Cpal(ring) => {
                // A real microphone clocks us: send as soon as a frame is captured.
                if !ring.wait_frame(&mut frame, CAPTURE_WAIT) {
                    frame.fill(0);
                }
                next = Instant::now();
            }
        }
        let capture_time = Instant::now();
        if !sh.running.load(Ordering::Relaxed) {
            break;
        }
        if !sh.sending.load(Ordering::Relaxed) {
            continue;
        }
        if let Some(p) = &mut *sh.apm_capture.lock() {
            if real_mic {
                p.process_capture(&mut frame);
            }
        }
        if sh.muted.load(Ordering::Relaxed) {
            frame.fill(0);
            match muted_run {
                Some(n) if n + 1 < DTX_INTERVAL_FRAMES => {
                    muted_run = Some(n + 1);
                    skipped_samples = skipped_samples.wrapping_add(FRAME_SAMPLES as u32);
                    sh.counters.dtx_skipped.fetch_add(1, Ordering::Relaxed);
                    continue;
                }
                _ => muted_run = Some(0),
            }
        } else {
            muted_run = None;
        }
        if skipped_samples > 0 {
            // After a pause the encoder's memory (of the speech before muting) would leak
            // into the frame: start clean.
            encoder.reset();
        }
        let payload = match encoder.encode(&frame) {
            Ok(p) => p,
            Err(e) => {
                log::warn!("opus encode failed: {e}");
                continue;
            }
        };
        let audio_level = audio_level(&frame);
        let encoded = EncodedAudioFrame {
            payload,
            samples: FRAME_SAMPLES as u32,
            skipped_before: std::mem::take(&mut skipped_samples),
            audio_level,
            voice_activity: is_voice(audio_level),
            capture_time,
        };
        sh.counters
            .capture_to_sink_ns
            .fetch_add(as_ns(capture_time.elapsed()), Ordering::Relaxed);
        sh.counters.sent.fetch_add(1, Ordering::Relaxed);
        let sink_ref = &mut sink;
        if std::panic::catch_unwind(std::panic::AssertUnwindSafe(move || sink_ref(encoded)))
            .is_err()
        {
            log::error!("audio sink panicked; frame dropped");
        }
    }
}
