//! Forwarding: what the engine does with a session's events — connection changes, audio
//! along its precomputed routes, video to its subscribers, keyframe requests.

use str0m::format::PayloadParams;
use str0m::media::{MediaData, MediaKind, Mid, Pt};
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
            Event::MediaIngressStats(st) => {
                let Some(s) = self.sessions.get(&id) else {
                    return;
                };
                let Some(kind) = s.rtc.media(st.mid).map(|m| m.kind()) else {
                    return;
                };
                let (kind, clock) = match kind {
                    MediaKind::Audio => ("audio", 48_000.0),
                    MediaKind::Video => ("video", 90_000.0),
                };
                let q = super::super::quality::StreamQuality {
                    kind,
                    packets: st.packets,
                    bytes: st.bytes,
                    jitter_seconds: f64::from(st.jitter) / clock,
                    loss: st.loss.map_or(0.0, f64::from),
                    nacks: st.nacks,
                };
                self.quality
                    .lock()
                    .entry(id)
                    .or_default()
                    .insert(st.mid.to_string(), q);
            }
            _ => {}
        }
    }

    /// Audio from a participant: remember its level, feed the echo, forward along routes.
    fn on_media(&mut self, id: SessionId, data: MediaData) {
        let Some(s) = self.sessions.get_mut(&id) else {
            return;
        };
        if s.audio_mids.first() != Some(&data.mid) || s.held || s.listen_only || s.audio_blocked {
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
        if self
            .sessions
            .get(&id)
            .is_none_or(|s| s.held || s.listen_only)
        {
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
    let matched = w.match_params(data.params);
    let pt = match matched {
        // The usual case, on every frame: no allocation.
        Some(pt) if w.payload_params().any(|p| p.pt() == pt) => pt,
        _ => {
            let negotiated: Vec<PayloadParams> = w.payload_params().copied().collect();
            let Some(pt) = forward_pt(&data.params, matched, &negotiated) else {
                return;
            };
            pt
        }
    };
    if let Err(e) = w.write(pt, data.network_time, data.time, data.data.clone()) {
        log::debug!("forward video write failed: {e}");
    }
}

/// The payload type to forward a frame with `params` as, into a slot whose negotiated
/// payload types are `negotiated`: the best match of str0m's config (`matched`) when the
/// receiver negotiated it, else the receiver's payload type of the same codec and H.264
/// packetization mode. Chromium sends H.264 as Baseline (`profile-level-id=42001f`) and the
/// native SDK receives Constrained Baseline (`42e01f`) only: the exact match is a payload type
/// the native side never negotiated, and forwarding with it lost every frame. The bitstream
/// of either decodes the same (Chromium's encoder is OpenH264 too).
pub(super) fn forward_pt(
    params: &PayloadParams,
    matched: Option<Pt>,
    negotiated: &[PayloadParams],
) -> Option<Pt> {
    if let Some(pt) = matched.filter(|pt| negotiated.iter().any(|p| p.pt() == *pt)) {
        return Some(pt);
    }
    let want = params.spec();
    negotiated
        .iter()
        .find(|p| {
            let have = p.spec();
            have.codec == want.codec
                && have.format.packetization_mode.unwrap_or(0)
                    == want.format.packetization_mode.unwrap_or(0)
        })
        .map(|p| p.pt())
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

#[cfg(test)]
mod pt_tests {
    use super::forward_pt;
    use str0m::format::{Codec, CodecSpec, FormatParams, PayloadParams};
    use str0m::media::{Frequency, Pt};

    fn h264(pt: u8, profile: u32, mode: u8) -> PayloadParams {
        PayloadParams::new(
            Pt::new_with_value(pt),
            None,
            CodecSpec {
                codec: Codec::H264,
                clock_rate: Frequency::NINETY_KHZ,
                channels: None,
                format: FormatParams {
                    level_asymmetry_allowed: Some(true),
                    packetization_mode: Some(mode),
                    profile_level_id: Some(profile),
                    ..Default::default()
                },
            },
        )
    }

    #[test]
    fn chromium_baseline_h264_goes_to_a_native_constrained_baseline_slot() {
        // Chromium sends 42001f; the native receiver negotiated 42e01f only (pt 102 here).
        let from_chromium = h264(102, 0x42001f, 1);
        let native_slot = [h264(102, 0x42e01f, 1)];
        // str0m's best match is its own 42001f entry (pt 127), which the slot never
        // negotiated: the slot's own H.264 payload type is used instead.
        let exact = Some(Pt::new_with_value(127));
        assert_eq!(
            forward_pt(&from_chromium, exact, &native_slot),
            Some(Pt::new_with_value(102))
        );
        // A negotiated exact match wins.
        let both = [h264(125, 0x42e01f, 1), h264(127, 0x42001f, 1)];
        assert_eq!(
            forward_pt(&from_chromium, exact, &both),
            Some(Pt::new_with_value(127))
        );
        // Another packetization mode is not a substitute; nothing negotiated: nothing sent.
        assert_eq!(
            forward_pt(&from_chromium, None, &[h264(96, 0x42e01f, 0)]),
            None
        );
        assert_eq!(forward_pt(&from_chromium, exact, &[]), None);
    }
}
