//! RemoteVideoStream: a remote participant's camera or screen share. It is *available*
//! while the participant sends it; a subscription (explicit, or by rendering it) puts it into
//! one of this client's video receive slots, and its decoded frames appear on its
//! [`FrameBus`] for renderers.

use crate::media::video::{DecodeStats, FrameBus};
use crate::protocol::VideoStreamKind;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

pub(crate) struct Inner {
    id: u64,
    kind: VideoStreamKind,
    participant: String,
    available: AtomicBool,
    bus: Arc<FrameBus>,
    /// The receive slot while subscribed.
    pub(super) slot: Mutex<Option<usize>>,
    pub(super) call: Mutex<Weak<super::call::CallInner>>,
}

/// A remote video stream. Cheap to clone; all clones are the same stream.
#[derive(Clone)]
pub struct RemoteVideoStream(pub(crate) Arc<Inner>);

impl RemoteVideoStream {
    pub(crate) fn new(participant: &str, kind: VideoStreamKind) -> Self {
        RemoteVideoStream(Arc::new(Inner {
            id: super::next_object_id(),
            kind,
            participant: participant.to_string(),
            available: AtomicBool::new(false),
            bus: FrameBus::new(),
            slot: Mutex::new(None),
            call: Mutex::new(Weak::new()),
        }))
    }

    /// Sets availability; true if it changed.
    pub(crate) fn set_available(&self, available: bool) -> bool {
        self.0.available.swap(available, Ordering::AcqRel) != available
    }

    /// Process-unique id of this object.
    pub fn object_id(&self) -> u64 {
        self.0.id
    }
    /// The stream's id within its participant (1 camera, 2 screen share).
    pub fn id(&self) -> u32 {
        self.0.kind.stream_id()
    }
    pub fn kind(&self) -> VideoStreamKind {
        self.0.kind
    }
    /// Raw id of the participant who sends it.
    pub fn participant_id(&self) -> &str {
        &self.0.participant
    }
    /// Whether the participant sends it now.
    pub fn is_available(&self) -> bool {
        self.0.available.load(Ordering::Acquire)
    }
    /// Whether this client receives it (it holds a video receive slot).
    pub fn is_subscribed(&self) -> bool {
        self.0.slot.lock().is_some()
    }
    /// The decoded frames (renderers subscribe to this bus).
    pub fn frames(&self) -> Arc<FrameBus> {
        Arc::clone(&self.0.bus)
    }

    fn call(&self) -> crate::error::Result<super::Call> {
        self.0
            .call
            .lock()
            .upgrade()
            .map(super::Call)
            .ok_or_else(|| crate::error::Error::InvalidState("the call has ended".into()))
    }

    /// Starts receiving the stream into a free video slot (a no-op when subscribed).
    /// Fails with `InvalidState` when it is not available or all slots are taken
    /// (`VIDEO_SLOTS` cameras + one screen share at a time).
    pub fn subscribe(&self) -> crate::error::Result<()> {
        self.call()?.subscribe_video(self)
    }

    /// Stops receiving it (its slot is freed; renderers keep their last frame).
    pub fn unsubscribe(&self) -> crate::error::Result<()> {
        self.call()?.unsubscribe_video(self)
    }

    /// Decoder counters while subscribed (zeros otherwise).
    pub fn stats(&self) -> DecodeStats {
        self.call()
            .ok()
            .and_then(|c| c.video_decode_stats(self))
            .unwrap_or_default()
    }
}
