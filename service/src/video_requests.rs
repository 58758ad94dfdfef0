//! Video requests: `SetVideo` (a participant starts/stops sending a camera or a screen
//! share; everyone sees it in the roster) and `SubscribeVideo`/`UnsubscribeVideo` (a
//! participant chooses whose stream lands in which of its video receive slots; the SFU
//! forwards only subscribed streams).

use crate::authz::Action;
use crate::calls::{ConnId, Hub, Kind};
use crate::protocol::{EndReason, ErrorBody, VideoStreamKind};
use crate::sfu::VideoSource;

fn bad_slot(kind: VideoStreamKind, slot: u32) -> ErrorBody {
    ErrorBody::new(
        EndReason::BAD_REQUEST,
        format!(
            "video slot {slot} does not exist: {kind:?} slots are 0..{}",
            kind.slots() as u32
        ),
    )
}

impl Hub {
    /// `SetVideo`: records the flag and tells everyone else.
    pub fn set_video(
        &self,
        conn: ConnId,
        req: u64,
        call_id: &str,
        kind: VideoStreamKind,
        on: bool,
    ) {
        let mut st = self.state.lock();
        let Some((_, idx)) = st.authorize(conn, req, call_id, Action::SetVideo) else {
            return;
        };
        // One screen share per call at a time (ACS's rule): a second one is refused, and the
        // participant sharing is named.
        if kind == VideoStreamKind::ScreenShare && on {
            let sharing = st.calls.get(call_id).and_then(|call| {
                call.participants.iter().enumerate().find(|(i, p)| {
                    *i != idx
                        && p.kind != Kind::EchoBot
                        && p.screen_sharing
                        && p.state != crate::protocol::ParticipantState::Disconnected
                })
            });
            if let Some((_, p)) = sharing {
                let why = format!(
                    "{} is already sharing a screen in this call: one screen share at a time",
                    p.id
                );
                st.respond(conn, req, Err(ErrorBody::new(EndReason::FORBIDDEN, why)));
                return;
            }
        }
        let mut echo = None;
        if let Some(call) = st.calls.get_mut(call_id) {
            if let Some(p) = call.participants.get_mut(idx) {
                p.set_sending(kind, on);
            }
            // The echo bot shows back whatever its caller sends.
            if let Some(bot) = call
                .participants
                .iter()
                .position(|p| p.kind == Kind::EchoBot)
            {
                call.participants[bot].set_sending(kind, on);
                echo = Some(bot);
            }
        }
        st.respond(conn, req, Ok(None));
        st.announce(call_id, idx);
        if let Some(bot) = echo {
            st.announce(call_id, bot);
        }
    }

    /// `SubscribeVideo`: `participant`'s `kind` stream goes into the caller's slot `slot`.
    pub fn subscribe_video(
        &self,
        conn: ConnId,
        req: u64,
        call_id: &str,
        participant: &str,
        kind: VideoStreamKind,
        slot: u32,
    ) {
        let st = self.state.lock();
        let Some((_, idx)) = st.authorize(conn, req, call_id, Action::SubscribeVideo) else {
            return;
        };
        let result = (|| {
            if slot >= kind.slots() as u32 {
                return Err(bad_slot(kind, slot));
            }
            let call = &st.calls[call_id];
            let me = &call.participants[idx];
            let my_session = me
                .session
                .ok_or_else(|| ErrorBody::new(EndReason::BAD_REQUEST, "no media session yet"))?;
            let target = call
                .participants
                .iter()
                .find(|p| p.id == participant && p.conn != Some(conn))
                .ok_or_else(|| {
                    ErrorBody::new(
                        EndReason::NOT_FOUND,
                        format!("'{participant}' is not in call '{call_id}'"),
                    )
                })?;
            if !target.sends(kind) {
                return Err(ErrorBody::new(
                    EndReason::NOT_FOUND,
                    format!("'{participant}' has no {kind:?} stream"),
                ));
            }
            let source = match target.kind {
                // The echo bot's video is the subscriber's own, sent back.
                Kind::EchoBot => my_session,
                // A phone sends no video (`sends` refused it above); its bridge's session
                // is the only source it could have.
                Kind::User | Kind::Phone => target.session.ok_or_else(|| {
                    ErrorBody::new(
                        EndReason::NOT_FOUND,
                        format!("'{participant}' has no media session"),
                    )
                })?,
            };
            Ok((my_session, source))
        })();
        match result {
            Ok((me, source)) => {
                self.sfu.set_video_slot(
                    me,
                    kind,
                    slot as usize,
                    Some(VideoSource {
                        session: source,
                        kind,
                    }),
                );
                st.respond(conn, req, Ok(None));
            }
            Err(e) => st.respond(conn, req, Err(e)),
        }
    }

    /// `UnsubscribeVideo`: the slot stops receiving.
    pub fn unsubscribe_video(
        &self,
        conn: ConnId,
        req: u64,
        call_id: &str,
        kind: VideoStreamKind,
        slot: u32,
    ) {
        let st = self.state.lock();
        let Some((_, idx)) = st.authorize(conn, req, call_id, Action::UnsubscribeVideo) else {
            return;
        };
        if slot >= kind.slots() as u32 {
            st.respond(conn, req, Err(bad_slot(kind, slot)));
            return;
        }
        match st.calls[call_id].participants[idx].session {
            Some(me) => {
                self.sfu.set_video_slot(me, kind, slot as usize, None);
                st.respond(conn, req, Ok(None));
            }
            None => st.respond(
                conn,
                req,
                Err(ErrorBody::new(
                    EndReason::BAD_REQUEST,
                    "no media session yet",
                )),
            ),
        }
    }
}
