//! RemoteVideoStream: a remote participant's camera or screen share. It is *available*
//! while the participant sends it; a subscription (explicit, or by rendering it) puts it into
//! one of this client's video receive slots, and its decoded frames appear on its
//! [`FrameBus`] for renderers.

use crate::error::{Error, Result};
use crate::media::video::{DecodeStats, FrameBus};
use crate::protocol::VideoStreamKind;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

/// The call a stream belongs to, as the stream sees it (the call implements it).
pub(crate) trait StreamOwner: Send + Sync {
    fn subscribe(self: Arc<Self>, stream: &RemoteVideoStream) -> Result<()>;
    fn unsubscribe(self: Arc<Self>, stream: &RemoteVideoStream) -> Result<()>;
    fn decode_stats(self: Arc<Self>, stream: &RemoteVideoStream) -> Option<DecodeStats>;
}

pub(crate) struct Inner {
    id: u64,
    kind: VideoStreamKind,
    participant: String,
    available: AtomicBool,
    bus: Arc<FrameBus>,
    /// The receive slot while subscribed.
    slot: Mutex<Option<usize>>,
    call: Mutex<Option<Weak<dyn StreamOwner>>>,
}

/// A remote video stream. Cheap to clone; all clones are the same stream.
#[derive(Clone)]
pub struct RemoteVideoStream(pub(crate) Arc<Inner>);

impl RemoteVideoStream {
    pub(crate) fn new(participant: &str, kind: VideoStreamKind) -> Self {
        RemoteVideoStream(Arc::new(Inner {
            id: crate::object_id::next_object_id(),
            kind,
            participant: participant.to_string(),
            available: AtomicBool::new(false),
            bus: FrameBus::new(),
            slot: Mutex::new(None),
            call: Mutex::new(None),
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

    fn call(&self) -> Result<Arc<dyn StreamOwner>> {
        self.0
            .call
            .lock()
            .as_ref()
            .and_then(Weak::upgrade)
            .ok_or_else(|| Error::InvalidState("the call has ended".into()))
    }

    /// Lets the stream find its call (to subscribe).
    pub(crate) fn set_owner(&self, owner: Weak<dyn StreamOwner>) {
        *self.0.call.lock() = Some(owner);
    }

    /// The receive slot while subscribed.
    pub(crate) fn slot(&self) -> Option<usize> {
        *self.0.slot.lock()
    }
    pub(crate) fn set_slot(&self, slot: Option<usize>) {
        *self.0.slot.lock() = slot;
    }
    pub(crate) fn take_slot(&self) -> Option<usize> {
        self.0.slot.lock().take()
    }
    pub(crate) fn clear_slot(&self) {
        self.set_slot(None);
    }
    /// Whether `other` is this same stream.
    pub(crate) fn same_as(&self, other: &RemoteVideoStream) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Starts receiving the stream into a free video slot (a no-op when subscribed).
    /// Fails with `InvalidState` when it is not available or all slots are taken
    /// (`VIDEO_SLOTS` cameras + one screen share at a time).
    pub fn subscribe(&self) -> Result<()> {
        self.call()?.subscribe(self)
    }

    /// Stops receiving it (its slot is freed; renderers keep their last frame).
    pub fn unsubscribe(&self) -> Result<()> {
        self.call()?.unsubscribe(self)
    }

    /// Decoder counters while subscribed (zeros otherwise).
    pub fn stats(&self) -> DecodeStats {
        self.call()
            .ok()
            .and_then(|c| c.decode_stats(self))
            .unwrap_or_default()
    }
}
