//! Video routing of the SFU: which session's camera or screen share goes into which video
//! receive slot of which subscriber. Only subscribed streams are forwarded; a new
//! subscription asks the publisher for a keyframe, and a subscriber's keyframe request on a
//! slot goes to whoever publishes into it.
//!
//! Plain data (no I/O): the engine feeds it sessions and subscriptions and asks it for
//! routes; tests drive it directly.

use std::collections::HashMap;

use str0m::media::{Direction, MediaKind, Mid};
use str0m::Rtc;

use super::{SessionId, VideoSource};
use crate::protocol::VideoStreamKind;

/// A session's video m-lines, from the SFU's side.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct VideoMids {
    /// What the participant sends (the SFU receives): camera first, then screen share.
    pub inbound: Vec<(Mid, VideoStreamKind)>,
    /// The participant's receive slots: (mid, kind, slot).
    pub outbound: Vec<(Mid, VideoStreamKind, usize)>,
}

impl VideoMids {
    /// Classifies the video m-lines of an answer, in m-line order, by their direction: the
    /// client offers camera send, `VIDEO_SLOTS` camera slots, screen send, one screen slot.
    pub fn of(rtc: &Rtc, mids_in_order: &[Mid]) -> Self {
        let mut v = VideoMids::default();
        let mut slots = [0usize; 2];
        for mid in mids_in_order {
            let Some(media) = rtc.media(*mid) else {
                continue;
            };
            if media.kind() != MediaKind::Video {
                continue;
            }
            match media.direction() {
                Direction::RecvOnly => {
                    let kind = if v.inbound.is_empty() {
                        VideoStreamKind::Video
                    } else {
                        VideoStreamKind::ScreenShare
                    };
                    if v.inbound.len() < 2 {
                        v.inbound.push((*mid, kind));
                    }
                }
                Direction::SendOnly => {
                    // Slots before the screen-share send m-line are cameras.
                    let kind = if v.inbound.len() >= 2 {
                        VideoStreamKind::ScreenShare
                    } else {
                        VideoStreamKind::Video
                    };
                    let i = kind as usize;
                    if slots[i] < kind.slots() {
                        v.outbound.push((*mid, kind, slots[i]));
                        slots[i] += 1;
                    }
                }
                _ => {}
            }
        }
        v
    }
}

/// The mids of the `m=video` sections of an SDP, in order.
pub fn video_mids_of(sdp: &str) -> Vec<Mid> {
    let mut mids = Vec::new();
    let mut in_video = false;
    for line in sdp.lines() {
        let line = line.trim_end();
        if let Some(rest) = line.strip_prefix("m=") {
            in_video = rest.starts_with("video ");
        } else if in_video {
            if let Some(mid) = line.strip_prefix("a=mid:") {
                mids.push(Mid::from(mid));
                in_video = false;
            }
        }
    }
    mids
}

/// Where a published stream goes: the receiver and the mid of its slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VideoRoute {
    pub receiver: SessionId,
    pub mid: Mid,
}

/// Video subscriptions and the routes derived from them.
#[derive(Default)]
pub struct VideoRouter {
    mids: HashMap<SessionId, VideoMids>,
    /// (receiver, slot mid) → what it carries.
    subs: HashMap<(SessionId, Mid), VideoSource>,
    /// (publisher, kind) → receivers.
    routes: HashMap<(SessionId, VideoStreamKind), Vec<VideoRoute>>,
}

impl VideoRouter {
    /// Registers a session's video m-lines.
    pub fn add_session(&mut self, id: SessionId, mids: VideoMids) {
        self.mids.insert(id, mids);
    }

    /// Forgets a session: its subscriptions, and every subscription to it.
    pub fn remove_session(&mut self, id: SessionId) {
        self.mids.remove(&id);
        self.subs
            .retain(|(rx, _), src| *rx != id && src.session != id);
        self.rebuild();
    }

    /// The kind of stream a session sends on `mid`, if it is one of its video sends.
    pub fn inbound_kind(&self, id: SessionId, mid: Mid) -> Option<VideoStreamKind> {
        self.mids
            .get(&id)?
            .inbound
            .iter()
            .find(|(m, _)| *m == mid)
            .map(|(_, k)| *k)
    }

    /// The mid on which `id` sends its `kind` stream.
    pub fn inbound_mid(&self, id: SessionId, kind: VideoStreamKind) -> Option<Mid> {
        self.mids
            .get(&id)?
            .inbound
            .iter()
            .find(|(_, k)| *k == kind)
            .map(|(m, _)| *m)
    }

    /// Sets what slot `slot` of `kind` of session `receiver` carries. Returns the publisher
    /// to ask for a keyframe (a new subscription needs one to start decoding), or an error
    /// when the receiver has no such slot.
    pub fn set_slot(
        &mut self,
        receiver: SessionId,
        kind: VideoStreamKind,
        slot: usize,
        source: Option<VideoSource>,
    ) -> Result<Option<VideoSource>, String> {
        let mid = self
            .mids
            .get(&receiver)
            .and_then(|m| {
                m.outbound
                    .iter()
                    .find(|(_, k, s)| *k == kind && *s == slot)
                    .map(|(m, _, _)| *m)
            })
            .ok_or_else(|| format!("session {} has no {kind:?} slot {slot}", receiver.0))?;
        let changed = match source {
            Some(src) => self.subs.insert((receiver, mid), src) != Some(src),
            None => self.subs.remove(&(receiver, mid)).is_some(),
        };
        if changed {
            self.rebuild();
        }
        Ok(source.filter(|_| changed))
    }

    /// Receivers of `publisher`'s `kind` stream.
    pub fn routes(&self, publisher: SessionId, kind: VideoStreamKind) -> &[VideoRoute] {
        self.routes
            .get(&(publisher, kind))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// What a receiver's slot `mid` carries (for its keyframe requests).
    pub fn source_of(&self, receiver: SessionId, mid: Mid) -> Option<VideoSource> {
        self.subs.get(&(receiver, mid)).copied()
    }

    fn rebuild(&mut self) {
        self.routes.clear();
        for ((receiver, mid), src) in &self.subs {
            self.routes
                .entry((src.session, src.kind))
                .or_default()
                .push(VideoRoute {
                    receiver: *receiver,
                    mid: *mid,
                });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::VIDEO_SLOTS;

    fn mids(n: u32) -> VideoMids {
        // Like a client: mids 4 (camera send), 5..=10 (slots), 11 (screen send), 12 (slot).
        let m = |i: u32| Mid::from(format!("{}", i + n * 100).as_str());
        VideoMids {
            inbound: vec![
                (m(4), VideoStreamKind::Video),
                (m(11), VideoStreamKind::ScreenShare),
            ],
            outbound: (0..VIDEO_SLOTS)
                .map(|s| (m(5 + s as u32), VideoStreamKind::Video, s))
                .chain([(m(12), VideoStreamKind::ScreenShare, 0)])
                .collect(),
        }
    }

    #[test]
    fn finds_video_mids_in_order() {
        let sdp = "v=0\r\nm=audio 9 x 111\r\na=mid:0\r\nm=video 9 x 102\r\na=mid:4\r\nm=video 9 x 102\r\na=mid:5\r\n";
        assert_eq!(video_mids_of(sdp), vec![Mid::from("4"), Mid::from("5")]);
    }

    #[test]
    fn subscriptions_make_routes_and_removal_clears_them() {
        let mut r = VideoRouter::default();
        let (a, b, c) = (SessionId(1), SessionId(2), SessionId(3));
        r.add_session(a, mids(1));
        r.add_session(b, mids(2));
        r.add_session(c, mids(3));
        let src_a = VideoSource {
            session: a,
            kind: VideoStreamKind::Video,
        };
        assert_eq!(
            r.set_slot(b, VideoStreamKind::Video, 0, Some(src_a)),
            Ok(Some(src_a))
        );
        // The same subscription again asks for no new keyframe.
        assert_eq!(
            r.set_slot(b, VideoStreamKind::Video, 0, Some(src_a)),
            Ok(None)
        );
        assert_eq!(
            r.set_slot(c, VideoStreamKind::Video, 5, Some(src_a)),
            Ok(Some(src_a))
        );
        assert!(r
            .set_slot(c, VideoStreamKind::Video, 6, Some(src_a))
            .is_err());
        let mut routes: Vec<_> = r.routes(a, VideoStreamKind::Video).to_vec();
        routes.sort_by_key(|x| x.receiver);
        assert_eq!(
            routes,
            vec![
                VideoRoute {
                    receiver: b,
                    mid: Mid::from("205")
                },
                VideoRoute {
                    receiver: c,
                    mid: Mid::from("310")
                }
            ]
        );
        assert!(r.routes(a, VideoStreamKind::ScreenShare).is_empty());
        assert_eq!(r.source_of(c, Mid::from("310")), Some(src_a));
        assert_eq!(
            r.inbound_kind(a, Mid::from("111")),
            Some(VideoStreamKind::ScreenShare)
        );
        r.set_slot(b, VideoStreamKind::Video, 0, None).unwrap();
        assert_eq!(r.routes(a, VideoStreamKind::Video).len(), 1);
        r.remove_session(a);
        assert!(r.routes(a, VideoStreamKind::Video).is_empty());
        assert_eq!(r.source_of(c, Mid::from("310")), None);
    }
}
