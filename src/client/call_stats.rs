//! Media statistics of a call (ACS's "media statistics" feature): every interval the call
//! samples its PeerConnection's W3C statistics (RTP streams, candidate pair, RTCP reports)
//! and its audio and video engines, keeps the newest sample for the host to read at any
//! time, and, when the host asked for them, reports each sample as an event.
//!
//! Bitrates are over the last interval; counters are since the call's media started.

use super::call::{Call, CallInner};
use crate::client::call_roster::CallNotice;
use crate::media::audio::AudioStats;
use crate::media::video::EncodeStats;
use crate::protocol::CallState;
use rtc::rtp_transceiver::rtp_sender::RtpCodecKind;
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use webrtc::peer_connection::{RTCStatsReport, RTCStatsReportEntry};

/// How often a call samples its statistics when the host has not chosen.
pub const DEFAULT_STATS_INTERVAL: Duration = Duration::from_secs(1);
/// The shortest sampling interval a host may ask for.
pub const MIN_STATS_INTERVAL: Duration = Duration::from_millis(100);

/// One sample of a call's media statistics.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct MediaStatistics {
    /// When it was sampled (Unix ms).
    pub timestamp_ms: u64,
    /// Round-trip time to the service's media server (ICE consent checks), if measured.
    pub rtt_ms: Option<f64>,
    /// Audio sent: RTP packets and bytes, bitrate over the last interval.
    pub audio_packets_sent: u64,
    pub audio_bytes_sent: u64,
    pub audio_send_bitrate_bps: u64,
    /// Audio received (all receive slots): RTP packets, packets lost (RFC 3550 cumulative),
    /// the largest interarrival jitter of the slots, bitrate over the last interval.
    pub audio_packets_received: u64,
    pub audio_packets_lost: i64,
    pub audio_jitter_ms: f64,
    pub audio_receive_bitrate_bps: u64,
    /// Audio frames played, and those concealed because none arrived in time.
    pub audio_frames_played: u64,
    pub audio_frames_concealed: u64,
    /// Outgoing camera video: packets, bitrate over the last interval, frames per second
    /// over the last interval, size of the last encoded frame (0 when none is sent).
    pub video_packets_sent: u64,
    pub video_send_bitrate_bps: u64,
    pub video_send_fps: f64,
    pub video_send_width: u32,
    pub video_send_height: u32,
    /// Incoming video (every subscribed stream, cameras and screen share): streams with
    /// packets, packets, packets lost, the largest jitter, bitrate over the last interval.
    pub video_receive_streams: u32,
    pub video_packets_received: u64,
    pub video_packets_lost: i64,
    pub video_jitter_ms: f64,
    pub video_receive_bitrate_bps: u64,
}

/// What the engines count, read at the same time as the report.
pub(crate) struct EngineCounters {
    pub audio: AudioStats,
    pub camera: Option<EncodeStats>,
}

fn bitrate(bytes: u64, before: u64, secs: f64) -> u64 {
    if secs <= 0.0 {
        return 0;
    }
    (bytes.saturating_sub(before) as f64 * 8.0 / secs).round() as u64
}

/// A sample with the counters its successor's rates are computed against.
#[derive(Debug, Clone)]
pub(crate) struct Baseline {
    pub stats: MediaStatistics,
    pub at: Instant,
    pub audio_received_bytes: u64,
    pub video_received_bytes: u64,
    pub video_sent_bytes: u64,
    pub frames_encoded: u64,
}

/// Interarrival jitter in ms from rtc 0.21's value, which is in RTP timestamp units (not
/// the seconds its documentation says): divided by the stream codec's clock rate (Opus 48
/// per ms, video 90); `fallback_hz` when the report names no codec.
fn jitter_ms(report: &RTCStatsReport, codec_id: &str, jitter: f64, fallback_hz: u32) -> f64 {
    let hz = match report.get(codec_id) {
        Some(RTCStatsReportEntry::Codec(c)) if c.clock_rate > 0 => c.clock_rate,
        _ => fallback_hz,
    };
    jitter * 1000.0 / f64::from(hz)
}

/// A sample from `report` and the engines; rates against `prev`.
pub(crate) fn sample(
    report: &RTCStatsReport,
    engines: &EngineCounters,
    prev: Option<&Baseline>,
    now: Instant,
) -> Baseline {
    let mut s = MediaStatistics {
        timestamp_ms: SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or_default(),
        ..MediaStatistics::default()
    };
    let (mut a_in_bytes, mut v_in_bytes, mut v_out_bytes) = (0u64, 0u64, 0u64);
    for o in report.outbound_rtp_streams() {
        let sent = &o.sent_rtp_stream_stats;
        match sent.rtp_stream_stats.kind {
            RtpCodecKind::Audio => {
                s.audio_packets_sent += sent.packets_sent;
                s.audio_bytes_sent += sent.bytes_sent;
            }
            RtpCodecKind::Video => {
                s.video_packets_sent += sent.packets_sent;
                v_out_bytes += sent.bytes_sent;
            }
            _ => {}
        }
    }
    for i in report.inbound_rtp_streams() {
        let r = &i.received_rtp_stream_stats;
        let codec = &r.rtp_stream_stats.codec_id;
        match r.rtp_stream_stats.kind {
            RtpCodecKind::Audio => {
                s.audio_packets_received += r.packets_received;
                s.audio_packets_lost += r.packets_lost;
                s.audio_jitter_ms = s
                    .audio_jitter_ms
                    .max(jitter_ms(report, codec, r.jitter, 48_000));
                a_in_bytes += i.bytes_received;
            }
            RtpCodecKind::Video => {
                if r.packets_received > 0 {
                    s.video_receive_streams += 1;
                }
                s.video_packets_received += r.packets_received;
                s.video_packets_lost += r.packets_lost;
                s.video_jitter_ms = s
                    .video_jitter_ms
                    .max(jitter_ms(report, codec, r.jitter, 90_000));
                v_in_bytes += i.bytes_received;
            }
            _ => {}
        }
    }
    // The pair in use: nominated, with a measured round trip.
    s.rtt_ms = report
        .candidate_pairs()
        .filter(|p| p.nominated && p.current_round_trip_time > 0.0)
        .map(|p| p.current_round_trip_time * 1000.0)
        .next();
    s.audio_frames_played = engines.audio.frames_played;
    s.audio_frames_concealed = engines.audio.frames_concealed;
    let frames = engines.camera.map_or(0, |c| c.frames_encoded);
    if let Some(c) = engines.camera {
        s.video_send_width = c.width;
        s.video_send_height = c.height;
    }
    if let Some(p) = prev {
        let secs = now.duration_since(p.at).as_secs_f64();
        s.audio_send_bitrate_bps = bitrate(s.audio_bytes_sent, p.stats.audio_bytes_sent, secs);
        s.audio_receive_bitrate_bps = bitrate(a_in_bytes, p.audio_received_bytes, secs);
        s.video_receive_bitrate_bps = bitrate(v_in_bytes, p.video_received_bytes, secs);
        s.video_send_bitrate_bps = bitrate(v_out_bytes, p.video_sent_bytes, secs);
        if secs > 0.0 {
            s.video_send_fps = frames.saturating_sub(p.frames_encoded) as f64 / secs;
        }
    }
    Baseline {
        stats: s,
        at: now,
        audio_received_bytes: a_in_bytes,
        video_received_bytes: v_in_bytes,
        video_sent_bytes: v_out_bytes,
        frames_encoded: frames,
    }
}

/// A call's sampler: the newest sample, what rates are computed against, and whether the
/// host wants events.
#[derive(Default)]
pub(crate) struct StatsState {
    /// Newest sample, with when it was taken and the byte/frame counters behind its rates.
    latest: Option<Baseline>,
    /// The host's interval (None: the default, and no events).
    events_every: Option<Duration>,
    /// Wakes the sampler when the interval changes; None until the sampler runs.
    changed: Option<Arc<tokio::sync::Notify>>,
}

impl Call {
    /// The newest media statistics sample. A call samples only once its host has asked:
    /// the first read (or [`Self::set_media_statistics_interval`]) starts the sampler and
    /// returns None; a sample is taken at once, then every interval (none while the call's
    /// media is not up; the first sample's bitrates are zero: they need two).
    pub fn media_statistics(&self) -> Option<MediaStatistics> {
        let mut st = self.0.stats.lock();
        self.start_stats_sampler(&mut st);
        st.latest.as_ref().map(|l| l.stats.clone())
    }

    /// Samples every `interval` (at least 100 ms) and reports each sample to the host as a
    /// media-statistics event; `None` goes back to sampling every second without events.
    pub fn set_media_statistics_interval(&self, interval: Option<Duration>) {
        let mut st = self.0.stats.lock();
        st.events_every = interval.map(|i| i.max(MIN_STATS_INTERVAL));
        match &st.changed {
            Some(n) => n.notify_one(),
            None => self.start_stats_sampler(&mut st),
        }
    }

    /// Starts the call's sampler on the runtime unless it runs (it ends with the call).
    /// Calls nobody asks about are not sampled: a report costs a pass over every stream.
    fn start_stats_sampler(&self, st: &mut StatsState) {
        if st.changed.is_some() {
            return;
        }
        let notify = Arc::new(tokio::sync::Notify::new());
        st.changed = Some(Arc::clone(&notify));
        let weak: Weak<CallInner> = Arc::downgrade(&self.0);
        self.0.ctx.rt.spawn(async move {
            // The first sample at once (the host is waiting for it), then every interval.
            let mut wait = Duration::ZERO;
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(wait) => {}
                    _ = notify.notified() => {
                        // A new interval: the next sample one new interval on.
                        wait = match weak.upgrade() {
                            Some(c) => c.stats.lock().events_every.unwrap_or(DEFAULT_STATS_INTERVAL),
                            None => return,
                        };
                        continue;
                    }
                }
                let Some(c) = weak.upgrade() else { return };
                let call = Call(c);
                if call.state() == CallState::Disconnected {
                    return;
                }
                wait = call
                    .0
                    .stats
                    .lock()
                    .events_every
                    .unwrap_or(DEFAULT_STATS_INTERVAL);
                let Some(transport) = call.0.media.transport() else {
                    continue;
                };
                let report = transport.rtc_stats().await;
                let engines = EngineCounters {
                    audio: call.0.media.audio_stats(),
                    camera: call
                        .0
                        .media
                        .video_send_stats(crate::protocol::VideoStreamKind::Video),
                };
                let now = Instant::now();
                let events = {
                    let mut st = call.0.stats.lock();
                    st.latest = Some(sample(&report, &engines, st.latest.as_ref(), now));
                    st.events_every.is_some()
                };
                if events {
                    call.notify(CallNotice::MediaStatistics);
                }
            }
        });
    }
}
