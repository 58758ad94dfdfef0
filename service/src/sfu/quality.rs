//! What the SFU measures of each stream it receives (str0m's ingress statistics, every
//! [`STATS_INTERVAL`]): packets, bytes, the interarrival jitter and the loss fraction of its
//! receiver reports, per session and m-line. Shared with `/metrics` behind a mutex the SFU
//! takes once per stats event.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::SessionId;

/// How often a session reports the statistics of its incoming streams.
pub const STATS_INTERVAL: Duration = Duration::from_secs(2);

/// One incoming stream of a session, as the SFU last measured it.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct StreamQuality {
    /// "audio" or "video".
    pub kind: &'static str,
    pub packets: u64,
    pub bytes: u64,
    /// Interarrival jitter (RFC 3550), in seconds.
    pub jitter_seconds: f64,
    /// Fraction of packets lost since the previous receiver report (0..=1).
    pub loss: f64,
    /// Retransmissions the SFU asked for.
    pub nacks: u64,
}

/// Every session's incoming streams, by m-line id.
pub type QualityBoard = Arc<Mutex<HashMap<SessionId, HashMap<String, StreamQuality>>>>;
