//! RemoteParticipant: somebody else in a call, as the roster describes them.

use crate::protocol::{EndReason, ParticipantInfo, ParticipantState};
use parking_lot::Mutex;
use std::sync::Arc;

struct Inner {
    id: u64,
    raw_id: String,
    data: Mutex<Data>,
}

#[derive(Clone)]
struct Data {
    display_name: String,
    state: ParticipantState,
    muted: bool,
    speaking: bool,
    end_reason: EndReason,
}

/// A remote participant. Cheap to clone; all clones see the same live data.
#[derive(Clone)]
pub struct RemoteParticipant(Arc<Inner>);

/// What changed when a roster update was applied.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub(crate) struct ParticipantChange {
    pub state: Option<ParticipantState>,
    pub muted: Option<bool>,
}

impl RemoteParticipant {
    pub(crate) fn from_info(info: &ParticipantInfo) -> Self {
        RemoteParticipant(Arc::new(Inner {
            id: super::next_object_id(),
            raw_id: info.id.clone(),
            data: Mutex::new(Data {
                display_name: info.display_name.clone(),
                state: info.state,
                muted: info.muted,
                speaking: false,
                end_reason: info.end_reason.unwrap_or_default(),
            }),
        }))
    }

    /// Applies a roster update; returns what changed.
    pub(crate) fn apply(&self, info: &ParticipantInfo) -> ParticipantChange {
        let mut d = self.0.data.lock();
        let mut change = ParticipantChange::default();
        d.display_name.clone_from(&info.display_name);
        if d.state != info.state {
            d.state = info.state;
            change.state = Some(info.state);
        }
        if d.muted != info.muted {
            d.muted = info.muted;
            change.muted = Some(info.muted);
        }
        if let Some(r) = info.end_reason {
            d.end_reason = r;
        }
        change
    }

    /// Sets the speaking flag; true if it changed.
    pub(crate) fn set_speaking(&self, speaking: bool) -> bool {
        let mut d = self.0.data.lock();
        let changed = d.speaking != speaking;
        d.speaking = speaking;
        changed
    }

    pub(crate) fn mark_left(&self, reason: EndReason) -> bool {
        let mut d = self.0.data.lock();
        d.end_reason = reason;
        d.speaking = false;
        let changed = d.state != ParticipantState::Disconnected;
        d.state = ParticipantState::Disconnected;
        changed
    }

    /// Process-unique id of this object.
    pub fn object_id(&self) -> u64 {
        self.0.id
    }
    /// Raw identifier (`8:acs:…`, `4:+…`, `8:echo123`).
    pub fn identifier(&self) -> &str {
        &self.0.raw_id
    }
    pub fn display_name(&self) -> String {
        self.0.data.lock().display_name.clone()
    }
    pub fn state(&self) -> ParticipantState {
        self.0.data.lock().state
    }
    pub fn is_muted(&self) -> bool {
        self.0.data.lock().muted
    }
    /// Whether the participant is speaking now (only participants whose audio this client
    /// receives — the loudest few in a large call — can be).
    pub fn is_speaking(&self) -> bool {
        self.0.data.lock().speaking
    }
    /// Why the participant left (meaningful once `Disconnected`).
    pub fn end_reason(&self) -> EndReason {
        self.0.data.lock().end_reason
    }
}
