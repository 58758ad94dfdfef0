//! RemoteParticipant: somebody else in a call, as the roster describes them.

use super::remote_video::RemoteVideoStream;
use crate::protocol::{EndReason, ParticipantInfo, ParticipantState, VideoStreamKind};
use parking_lot::Mutex;
use std::sync::Arc;

struct Inner {
    id: u64,
    raw_id: String,
    data: Mutex<Data>,
    /// Camera and screen share, whether available or not.
    video: [RemoteVideoStream; 2],
}

#[derive(Clone)]
struct Data {
    display_name: String,
    state: ParticipantState,
    muted: bool,
    speaking: bool,
    end_reason: EndReason,
    role: Option<crate::protocol::Role>,
}

/// A remote participant. Cheap to clone; all clones see the same live data.
#[derive(Clone)]
pub struct RemoteParticipant(Arc<Inner>);

impl RemoteParticipant {
    pub(crate) fn from_info(info: &ParticipantInfo) -> Self {
        let video = [
            RemoteVideoStream::new(&info.id, VideoStreamKind::Video),
            RemoteVideoStream::new(&info.id, VideoStreamKind::ScreenShare),
        ];
        video[0].set_available(info.video);
        video[1].set_available(info.screen_sharing);
        RemoteParticipant(Arc::new(Inner {
            id: crate::object_id::next_object_id(),
            video,
            raw_id: info.id.clone(),
            data: Mutex::new(Data {
                display_name: info.display_name.clone(),
                state: info.state,
                muted: info.muted,
                speaking: false,
                end_reason: info.end_reason.unwrap_or_default(),
                role: info.role,
            }),
        }))
    }

    /// Takes the roster's data (the changes were worked out by `roster::apply`).
    pub(crate) fn mirror(&self, info: &ParticipantInfo) {
        let mut d = self.0.data.lock();
        d.display_name.clone_from(&info.display_name);
        d.state = info.state;
        d.muted = info.muted;
        d.role = info.role.or(d.role);
        if let Some(r) = info.end_reason {
            d.end_reason = r;
        }
        drop(d);
        self.set_video_available(VideoStreamKind::Video, info.video);
        self.set_video_available(VideoStreamKind::ScreenShare, info.screen_sharing);
    }

    pub(crate) fn set_state(&self, state: ParticipantState) {
        self.0.data.lock().state = state;
    }

    pub(crate) fn set_muted(&self, muted: bool) {
        self.0.data.lock().muted = muted;
    }

    pub(crate) fn set_video_available(&self, kind: VideoStreamKind, available: bool) {
        self.0.video[kind as usize].set_available(available);
    }

    /// The participant's video streams (camera, screen share), available or not.
    pub fn video_streams(&self) -> Vec<RemoteVideoStream> {
        self.0.video.to_vec()
    }

    /// Its stream of `kind`.
    pub fn video_stream(&self, kind: VideoStreamKind) -> RemoteVideoStream {
        self.0.video[kind as usize].clone()
    }

    /// The streams it sends now.
    pub fn available_video_streams(&self) -> Vec<RemoteVideoStream> {
        self.0
            .video
            .iter()
            .filter(|s| s.is_available())
            .cloned()
            .collect()
    }

    /// Sets the speaking flag; true if it changed.
    pub(crate) fn set_speaking(&self, speaking: bool) -> bool {
        let mut d = self.0.data.lock();
        let changed = d.speaking != speaking;
        d.speaking = speaking;
        changed
    }

    pub(crate) fn mark_left(&self, reason: EndReason) -> bool {
        for v in &self.0.video {
            v.set_available(false);
        }
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
    /// What kind of participant this is: a phone number (`4:+…`) or an ACS user.
    pub fn identifier_kind(&self) -> super::phone::IdentifierKind {
        super::phone::IdentifierKind::of(&self.0.raw_id)
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
    /// Its role in a room's call (`None` in other calls). Somebody admitted from the lobby
    /// is an attendee.
    pub fn role(&self) -> Option<crate::protocol::Role> {
        self.0.data.lock().role
    }
}
