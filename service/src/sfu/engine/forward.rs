//! Forwarding: what the engine does with a session's events — connection changes, audio
//! along its precomputed routes, video to its subscribers, keyframe requests.

use str0m::media::{MediaData, Mid};
use str0m::{Event, IceConnectionState};

use super::super::session::Session;
use super::super::{SessionId, SfuEvent};
use super::{Engine, KEYFRAME_INTERVAL};
use crate::protocol::VideoStreamKind;

impl Engine {
    pub(super) fn on_event(&mut self, id: SessionId, event: Event) {
        match event {
            Event::Connected => {
                let Some(s) = self.sessions.get_mut(&id) else {
                    return;
                };
                s.connected = true;
                s.ever_connected = true;
                let call = s.call;
                log::info!("session {} media connected", id.0);
                let _ = self.events.send(SfuEvent::MediaConnected(id));
                self.recompute_call(call);
            }
            Event::IceConnectionStateChange(IceConnectionState::Disconnected) => {
                let Some(s) = self.sessions.get_mut(&id) else {
                    return;
                };
                if s.connected {
                    s.connected = false;
                    let call = s.call;
                    log::info!("session {} media disconnected", id.0);
                    let _ = self.events.send(SfuEvent::MediaDisconnected(id));
                    self.recompute_call(call);
                }
            }
            Event::IceConnectionStateChange(
                IceConnectionState::Connected | IceConnectionState::Completed,
            ) => {
                let Some(s) = self.sessions.get_mut(&id) else {
                    return;
                };
                if s.ever_connected && !s.connected {
                    s.connected = true;
                    let call = s.call;
                    log::info!("session {} media reconnected", id.0);
                    let _ = self.events.send(SfuEvent::MediaConnected(id));
                    self.recompute_call(call);
                }
            }
            Event::MediaData(data) => {
                if let Some(kind) = self.video.inbound_kind(id, data.mid) {
                    self.on_video(id, kind, data);
                } else {
                    self.on_media(id, data);
                }
            }
            Event::KeyframeRequest(req) => {
                // A subscriber lost the picture: whoever publishes into that slot sends one.
                if let Some(src) = self.video.source_of(id, req.mid) {
                    self.request_keyframe(src.session, src.kind);
                }
            }
            _ => {}
        }
    }

    /// Audio from a participant: remember its level, feed the echo, forward along routes.
    fn on_media(&mut self, id: SessionId, data: MediaData) {
        let Some(s) = self.sessions.get_mut(&id) else {
            return;
        };
        if s.audio_mids.first() != Some(&data.mid) || s.held {
            return;
        }
        let call = s.call;
        self.speakers.entry(call).or_default().detector.on_level(
            id,
            data.ext_vals.audio_level,
            data.network_time,
        );
        self.mix_input(call, id, &data);
        let Some(s) = self.sessions.get_mut(&id) else {
            return;
        };
        if let Some(q) = s.echo.as_mut() {
            q.push(
                data.network_time,
                data.params,
                data.time,
                data.ext_vals.audio_level,
                data.data.clone(),
            );
        }
        if s.routes.is_empty() {
            return;
        }
        let routes = std::mem::take(&mut s.routes);
        for r in &routes {
            if let Some(rx) = self.sessions.get_mut(&r.receiver) {
                write_audio(rx, r.mid, &data);
                if !rx.dirty {
                    rx.dirty = true;
                    self.dirty.push(r.receiver);
                }
            }
        }
        if let Some(s) = self.sessions.get_mut(&id) {
            s.routes = routes;
        }
    }

    /// A video frame from a participant: forwarded to its subscribers (not while either side
    /// is on hold). An incomplete frame is not forwarded; the publisher is asked for a
    /// keyframe instead, so receivers never decode across a gap.
    fn on_video(&mut self, id: SessionId, kind: VideoStreamKind, data: MediaData) {
        if self.sessions.get(&id).is_none_or(|s| s.held) {
            return;
        }
        if !data.contiguous {
            // At most one request per publisher and kind per KEYFRAME_INTERVAL: the keyframe
            // repairs every receiver at once.
            let now = data.network_time;
            let last = self
                .keyframe_asked
                .entry((id, kind))
                .or_insert(now - KEYFRAME_INTERVAL);
            if now.saturating_duration_since(*last) >= KEYFRAME_INTERVAL {
                *last = now;
                self.request_keyframe(id, kind);
            }
            return;
        }
        for r in self.video.routes(id, kind) {
            if let Some(rx) = self.sessions.get_mut(&r.receiver) {
                if rx.held {
                    continue;
                }
                write_media(rx, r.mid, &data);
                if !rx.dirty {
                    rx.dirty = true;
                    self.dirty.push(r.receiver);
                }
            }
        }
    }
}

/// Writes one forwarded video frame into a receiver's slot (str0m packetizes it).
fn write_media(rx: &mut Session, mid: Mid, data: &MediaData) {
    let Some(w) = rx.rtc.writer(mid) else {
        return;
    };
    let Some(pt) = w.match_params(data.params) else {
        return;
    };
    if let Err(e) = w.write(pt, data.network_time, data.time, data.data.clone()) {
        log::debug!("forward video write failed: {e}");
    }
}

/// Writes one forwarded frame into a receiver's slot, with the receiver's payload type.
fn write_audio(rx: &mut Session, mid: Mid, data: &MediaData) {
    let Some(mut w) = rx.rtc.writer(mid) else {
        return;
    };
    let Some(pt) = w.match_params(data.params) else {
        return;
    };
    if let Some(level) = data.ext_vals.audio_level {
        w = w.audio_level(level, data.ext_vals.voice_activity.unwrap_or(level > -127));
    }
    if let Err(e) = w.write(pt, data.network_time, data.time, data.data.clone()) {
        log::debug!("forward write failed: {e}");
    }
}
