//! The echo bot `8:echo123`: a server-side participant that plays back what it hears.
//!
//! The SFU feeds it the caller's audio frames as they arrive; it returns each one
//! `delay` later, undecoded, with its original RTP time, so the relative spacing of
//! the frames is preserved. Plain data, no I/O: the SFU loop drives it with its clock.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use str0m::format::PayloadParams;
use str0m::media::MediaTime;

/// Display name of the echo bot in rosters.
pub const ECHO_BOT_NAME: &str = "Echo Bot";

/// Upper bound of frames held (10 s of 20 ms frames at most), so a huge delay cannot
/// grow memory without limit.
const MAX_QUEUED: usize = 500;

/// One frame waiting to be played back.
#[derive(Debug, Clone)]
pub struct EchoFrame {
    /// When it is due for playback.
    pub due: Instant,
    /// Codec parameters it arrived with (matched against the receiver's).
    pub params: PayloadParams,
    /// Original RTP time.
    pub time: MediaTime,
    /// RFC 6464 level it arrived with.
    pub audio_level: Option<i8>,
    /// The undecoded payload (shared, not copied).
    pub data: Arc<[u8]>,
}

/// The delay line of one echo bot session.
#[derive(Debug)]
pub struct EchoQueue {
    delay: Duration,
    frames: VecDeque<EchoFrame>,
}

impl EchoQueue {
    /// An empty queue that plays back after `delay`.
    pub fn new(delay: Duration) -> Self {
        Self {
            delay,
            frames: VecDeque::new(),
        }
    }

    /// Stores a frame that arrived at `arrival`.
    pub fn push(
        &mut self,
        arrival: Instant,
        params: PayloadParams,
        time: MediaTime,
        audio_level: Option<i8>,
        data: Arc<[u8]>,
    ) {
        if self.frames.len() >= MAX_QUEUED {
            self.frames.pop_front();
        }
        self.frames.push_back(EchoFrame {
            due: arrival + self.delay,
            params,
            time,
            audio_level,
            data,
        });
    }

    /// When the next frame is due, if any.
    pub fn next_due(&self) -> Option<Instant> {
        self.frames.front().map(|f| f.due)
    }

    /// Takes the next frame if it is due at `now`.
    pub fn pop_due(&mut self, now: Instant) -> Option<EchoFrame> {
        if self.frames.front()?.due <= now {
            self.frames.pop_front()
        } else {
            None
        }
    }

    /// Drops everything queued (e.g. on hold).
    pub fn clear(&mut self) {
        self.frames.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use str0m::format::CodecConfig;

    #[test]
    fn frames_come_back_after_the_delay_in_order() {
        let params = *CodecConfig::new_with_defaults()
            .params()
            .first()
            .expect("a default codec");
        let mut q = EchoQueue::new(Duration::from_millis(1000));
        let t0 = Instant::now();
        for i in 0..3u64 {
            let at = t0 + Duration::from_millis(20 * i);
            let time = MediaTime::from_90khz(i);
            q.push(at, params, time, Some(-30), Arc::from(vec![i as u8]));
        }
        assert_eq!(q.next_due(), Some(t0 + Duration::from_millis(1000)));
        assert!(q.pop_due(t0 + Duration::from_millis(999)).is_none());
        let f = q.pop_due(t0 + Duration::from_millis(1000)).expect("due");
        assert_eq!(&*f.data, &[0]);
        assert!(q.pop_due(t0 + Duration::from_millis(1019)).is_none());
        assert_eq!(
            &*q.pop_due(t0 + Duration::from_millis(1040)).unwrap().data,
            &[1]
        );
        assert_eq!(
            &*q.pop_due(t0 + Duration::from_millis(1040)).unwrap().data,
            &[2]
        );
        assert!(q.next_due().is_none());
    }
}
