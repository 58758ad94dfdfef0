//! The lifecycle of one call as a plain state machine (str0m's sans-IO way): no sockets,
//! tasks or clocks inside. Inputs are the host's commands, the service's messages, the
//! transport's state and `now`; outputs (`poll_output`) are notices for the host, commands
//! for the service and for the call's media; `poll_timeout` is the next deadline, which the
//! driver (`Call`) feeds back through `handle_timeout`. Every transition and every timeout
//! of the seed's table that applies to a call is unit-tested on synthetic time (tests.rs).

use super::events::OutgoingVideoState;
use super::phone::{any_phone, DtmfTone};
use super::roster::{self, RosterChange};
use super::state::{is_terminal, visible_state, CallStateInputs};
use crate::error::{Error, Result};
use crate::media::video::ShareState;
use crate::protocol::{
    timeouts, CallState, EndReason, JoinState, ParticipantInfo, ParticipantState, VideoStreamKind,
};
use std::collections::VecDeque;
use std::time::{Duration, Instant};

mod phone;
#[cfg(test)]
mod phone_tests;
#[cfg(test)]
mod tests;

/// Who placed the call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum CallDirection {
    Outgoing = 0,
    Incoming = 1,
}

/// How the call's media and service leg are set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Setup {
    /// A new call to these raw ids; phone targets see `caller_id` (a `4:+…` raw id) as the
    /// caller when it is set.
    Start {
        targets: Vec<String>,
        caller_id: Option<String>,
    },
    /// Join the group call whose id is the call id.
    Join,
    /// Accept the ringing incoming call.
    Accept,
}

/// A message for the service (the driver adds the request and call ids).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// Build the transport, send the offer the way `Setup` says, apply the answer; the
    /// driver reports `setup_done` or `setup_failed`.
    Establish(Setup),
    /// Leave (fire and forget).
    HangUp {
        for_everyone: bool,
    },
    /// Leave, waiting for the service's answer; the driver reports `hang_up_done`.
    HangUpAndWait {
        for_everyone: bool,
    },
    Reject,
    SetMuted(bool),
    SetHold(bool),
    /// Announce a stream; the driver reports `video_answer`.
    SetVideo {
        kind: VideoStreamKind,
        on: bool,
    },
    /// Invite `target` (a phone target sees `caller_id`); the driver reports `invite_answer`.
    AddParticipant {
        target: String,
        caller_id: Option<String>,
    },
    /// Send one DTMF tone to the call's phone participants; the driver reports
    /// `dtmf_answer` with the same `request`.
    SendDtmf {
        request: u64,
        tone: DtmfTone,
    },
    RemoveParticipant(String),
}

/// What the call's media must do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MediaCommand {
    /// Send the microphone (false: hold, hang-up).
    Sending(bool),
    /// Play what is received (false: hold). Also sent on entering early media, where what
    /// is received is the carrier's ringback or announcement.
    Playing(bool),
    Muted(bool),
    /// Stop sending the `kind` stream (the service refused it or did not answer).
    StopVideo(VideoStreamKind),
    /// The call ended: release devices, transport and video.
    Release,
}

/// Something the host is told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Notice {
    State {
        state: CallState,
        reason: EndReason,
    },
    Muted(bool),
    Roster(RosterChange),
    /// The service answered the DTMF send `request`: `Err` carries its refusal (or the link
    /// being down) as a reason and a message.
    DtmfSent {
        request: u64,
        tone: DtmfTone,
        result: std::result::Result<(), (EndReason, String)>,
    },
    /// A phone participant (raw id) pressed a key.
    DtmfReceived {
        participant: String,
        tone: DtmfTone,
    },
    /// An outgoing stream started, paused, stopped or failed; `reason` and `message` say why.
    OutgoingVideo {
        kind: VideoStreamKind,
        state: OutgoingVideoState,
        reason: EndReason,
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Output {
    Notice(Notice),
    Send(Command),
    Media(MediaCommand),
}

/// One outgoing stream kind as the service knows it.
#[derive(Debug, Clone, Copy, Default)]
struct Modality {
    /// The host sends it.
    on: bool,
    /// An announcement waits for the service's answer until then.
    deadline: Option<Instant>,
    /// The service accepted it (the host was told `Started`).
    started: bool,
    /// Its source is paused (the host was told `Paused`).
    paused: bool,
}

/// The call's lifecycle.
pub(crate) struct CallMachine {
    direction: CallDirection,
    self_id: String,
    group: bool,
    inputs: CallStateInputs,
    /// The state the host was last told.
    state: CallState,
    muted: bool,
    end_reason: EndReason,
    /// Accepting or placing the call has begun (the transport is being set up).
    establishing: bool,
    /// The service answered and the transport is set up.
    transport_ready: bool,
    /// Joining again after the service restarted: its `Connecting` for the new join is not
    /// shown (the call stays Connected or held, with the reconnecting indication) until it
    /// says Connected again.
    rejoining: bool,
    /// 1:1 / group setup: the call must be connected by then.
    setup_deadline: Option<Instant>,
    /// The media path was lost then: the call ends after the inactivity timeout.
    media_lost_since: Option<Instant>,
    video: [Modality; 2],
    /// Invitations not yet connected, and until when they may ring (promote timeout).
    invites: Vec<(String, Instant)>,
    roster: Vec<ParticipantInfo>,
    /// The request number of the next DTMF send (1, 2, …; per call).
    next_dtmf_request: u64,
    out: VecDeque<Output>,
}

fn secs(s: u64) -> Duration {
    Duration::from_secs(s)
}

fn is_live_connected(state: CallState) -> bool {
    matches!(
        state,
        CallState::Connected | CallState::LocalHold | CallState::RemoteHold
    )
}

impl CallMachine {
    /// An outgoing 1:1 call, or (`group`) a group call joined by id: created `Connecting`.
    pub(crate) fn outgoing(self_id: &str, group: bool) -> Self {
        Self::new(
            CallDirection::Outgoing,
            self_id,
            group,
            CallState::Connecting,
        )
    }

    /// A call ringing here from `caller`.
    pub(crate) fn incoming(self_id: &str, caller: &ParticipantInfo) -> Self {
        let mut m = Self::new(CallDirection::Incoming, self_id, false, CallState::Incoming);
        m.participant(caller, false);
        m
    }

    fn new(direction: CallDirection, self_id: &str, group: bool, state: CallState) -> Self {
        CallMachine {
            direction,
            self_id: self_id.to_string(),
            group,
            inputs: CallStateInputs {
                server: state,
                media_connected: false,
                local_hold: false,
            },
            state,
            muted: false,
            end_reason: EndReason::default(),
            establishing: false,
            transport_ready: false,
            rejoining: false,
            setup_deadline: None,
            media_lost_since: None,
            video: [Modality::default(); 2],
            invites: Vec::new(),
            roster: Vec::new(),
            next_dtmf_request: 1,
            out: VecDeque::new(),
        }
    }

    // ---- what the driver reads ----

    pub(crate) fn state(&self) -> CallState {
        self.state
    }
    pub(crate) fn direction(&self) -> CallDirection {
        self.direction
    }
    pub(crate) fn is_ended(&self) -> bool {
        is_terminal(self.state)
    }
    pub(crate) fn is_muted(&self) -> bool {
        self.muted
    }
    pub(crate) fn end_reason(&self) -> EndReason {
        self.end_reason
    }
    pub(crate) fn is_group(&self) -> bool {
        self.group
    }
    #[cfg(test)]
    pub(crate) fn roster(&self) -> &[ParticipantInfo] {
        &self.roster
    }

    /// The next output to carry out.
    pub(crate) fn poll_output(&mut self) -> Option<Output> {
        self.out.pop_front()
    }

    /// When `handle_timeout` must be called next (`None`: no deadline pending).
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        if self.is_ended() {
            return None;
        }
        let modality = self.video.iter().filter_map(|m| m.deadline);
        let invites = self.invites.iter().map(|(_, t)| *t);
        let inactivity = self
            .media_lost_since
            .map(|t| t + secs(timeouts::PARTICIPANT_REMOVAL_SECS));
        self.setup_deadline
            .into_iter()
            .chain(modality)
            .chain(invites)
            .chain(inactivity)
            .min()
    }

    fn require_live(&self) -> Result<()> {
        if self.is_ended() {
            Err(Error::InvalidState("the call has ended".into()))
        } else {
            Ok(())
        }
    }

    fn send(&mut self, c: Command) {
        self.out.push_back(Output::Send(c));
    }
    fn media(&mut self, c: MediaCommand) {
        self.out.push_back(Output::Media(c));
    }
    fn notice(&mut self, n: Notice) {
        self.out.push_back(Output::Notice(n));
    }

    /// Changes an input of the visible state and tells the host if the state changed.
    fn update(&mut self, f: impl FnOnce(&mut CallStateInputs)) {
        if self.is_ended() {
            return;
        }
        f(&mut self.inputs);
        let next = visible_state(self.inputs);
        if next != self.state {
            self.state = next;
            if is_live_connected(next) {
                self.setup_deadline = None;
            }
            if next == CallState::EarlyMedia {
                // The callee's carrier plays ringback or an announcement before answering
                // (SIP 183): it must be heard, so playout runs already (the transport is
                // connected while the callee rings). Hold cannot be in force here.
                self.media(MediaCommand::Playing(true));
            }
            self.notice(Notice::State {
                state: next,
                reason: EndReason::default(),
            });
        }
    }

    fn begin_setup(&mut self, setup: Setup, now: Instant) {
        self.establishing = true;
        let limit = match &setup {
            // A phone callee's network may take longer (ACS: 115 s for PSTN setup).
            Setup::Start { targets, .. } if any_phone(targets) => timeouts::PSTN_SETUP_SECS,
            _ if self.group => timeouts::GROUP_SETUP_SECS,
            _ => timeouts::ONE_TO_ONE_SETUP_SECS,
        };
        self.setup_deadline = Some(now + secs(limit));
        self.update(|i| i.server = CallState::Connecting);
        self.send(Command::Establish(setup));
    }

    /// Ends the call with `reason` (idempotent): the host's last state event, media released.
    pub(crate) fn end(&mut self, reason: EndReason) {
        if self.is_ended() {
            return;
        }
        self.state = CallState::Disconnected;
        self.end_reason = reason;
        self.setup_deadline = None;
        self.media_lost_since = None;
        self.invites.clear();
        self.video = [Modality::default(); 2];
        self.media(MediaCommand::Release);
        self.notice(Notice::State {
            state: CallState::Disconnected,
            reason,
        });
    }

    /// Leaves the call in the service (fire and forget) and ends it here.
    fn abandon(&mut self, reason: EndReason) {
        if !self.is_ended() {
            self.send(Command::HangUp {
                for_everyone: false,
            });
            self.end(reason);
        }
    }

    // ---- the host's commands ----

    /// Places the outgoing call (or joins the group call).
    pub(crate) fn start(&mut self, setup: Setup, now: Instant) {
        self.begin_setup(setup, now);
    }

    /// Whether `accept` would be taken now (checked before devices are opened).
    pub(crate) fn check_accept(&self) -> Result<()> {
        if self.direction != CallDirection::Incoming || self.state != CallState::Incoming {
            return Err(Error::InvalidState(
                "only a ringing incoming call can be accepted".into(),
            ));
        }
        if self.establishing {
            return Err(Error::InvalidState(
                "the call is already being accepted".into(),
            ));
        }
        Ok(())
    }

    pub(crate) fn accept(&mut self, now: Instant) -> Result<()> {
        self.check_accept()?;
        self.begin_setup(Setup::Accept, now);
        Ok(())
    }

    pub(crate) fn reject(&mut self) -> Result<()> {
        if self.direction != CallDirection::Incoming || self.state != CallState::Incoming {
            return Err(Error::InvalidState(
                "only a ringing incoming call can be rejected".into(),
            ));
        }
        self.send(Command::Reject);
        self.end(EndReason::DECLINED);
        Ok(())
    }

    /// Leaves the call (or ends it for everyone): Disconnecting until the service answers
    /// (`hang_up_done`).
    pub(crate) fn hang_up(&mut self, for_everyone: bool) -> Result<()> {
        self.require_live()?;
        if self.state == CallState::Incoming {
            return self.reject();
        }
        self.update(|i| i.server = CallState::Disconnecting);
        self.media(MediaCommand::Sending(false));
        self.send(Command::HangUpAndWait { for_everyone });
        Ok(())
    }

    /// The service answered our hang-up (or could not be asked).
    pub(crate) fn hang_up_done(&mut self) {
        self.end(EndReason::LOCAL_HANGUP);
    }

    /// Returns whether the mute state changed.
    pub(crate) fn set_muted(&mut self, muted: bool) -> Result<bool> {
        self.require_live()?;
        if self.muted == muted {
            return Ok(false);
        }
        self.muted = muted;
        self.media(MediaCommand::Muted(muted));
        self.send(Command::SetMuted(muted));
        self.notice(Notice::Muted(muted));
        Ok(true)
    }

    /// Another participant muted this one: the service knows; the microphone follows and
    /// the host is told. False when it was muted already.
    pub(crate) fn muted_by_others(&mut self) -> bool {
        if self.muted {
            return false;
        }
        self.muted = true;
        self.media(MediaCommand::Muted(true));
        self.notice(Notice::Muted(true));
        true
    }

    /// The mute state a call starts with (before anything is sent).
    pub(crate) fn start_muted(&mut self, muted: bool) {
        self.muted = muted;
    }

    pub(crate) fn set_hold(&mut self, hold: bool) -> Result<()> {
        let allowed = if hold {
            matches!(self.state, CallState::Connected | CallState::RemoteHold)
        } else {
            self.state == CallState::LocalHold
        };
        if !allowed {
            return Err(Error::InvalidState(format!(
                "cannot {} a call in state {:?}",
                if hold { "hold" } else { "resume" },
                self.state
            )));
        }
        self.media(MediaCommand::Sending(!hold));
        self.media(MediaCommand::Playing(!hold));
        self.send(Command::SetHold(hold));
        self.update(|i| i.local_hold = hold);
        Ok(())
    }

    /// The host starts (`on`) or stops sending a `kind` stream. The service hears of it
    /// once the transport is set up; an announcement unanswered within the modality
    /// timeout (40 s) stops the stream. A start answered by the service is `Started` for
    /// the host; a stop of a stream that was sent is `Stopped`.
    pub(crate) fn set_video(&mut self, kind: VideoStreamKind, on: bool, now: Instant) {
        if self.is_ended() {
            return;
        }
        let m = &mut self.video[kind as usize];
        if !on && !m.on {
            return;
        }
        let was_on = m.on;
        *m = Modality {
            on,
            ..Modality::default()
        };
        if self.transport_ready {
            self.announce(kind, on, now);
        }
        if was_on && !on {
            self.tell_outgoing(
                kind,
                OutgoingVideoState::Stopped,
                EndReason::LOCAL_HANGUP,
                "",
            );
        }
    }

    fn announce(&mut self, kind: VideoStreamKind, on: bool, now: Instant) {
        self.video[kind as usize].deadline = on.then(|| now + secs(timeouts::MODALITY_SECS));
        self.send(Command::SetVideo { kind, on });
    }

    fn tell_outgoing(
        &mut self,
        kind: VideoStreamKind,
        state: OutgoingVideoState,
        reason: EndReason,
        message: &str,
    ) {
        self.notice(Notice::OutgoingVideo {
            kind,
            state,
            reason,
            message: message.to_string(),
        });
    }

    /// The service's answer to a `SetVideo`: an accepted start is `Started`, a refused one
    /// stops the stream and `Failed` carries the service's reason.
    pub(crate) fn video_answer(
        &mut self,
        kind: VideoStreamKind,
        on: bool,
        result: std::result::Result<(), (EndReason, String)>,
    ) {
        let m = &mut self.video[kind as usize];
        if m.on != on || (on && m.deadline.is_none()) {
            return; // superseded by a later start/stop, or already answered
        }
        m.deadline = None;
        match (result, on) {
            (Ok(()), true) => {
                m.started = true;
                let paused = m.paused;
                if !paused {
                    self.tell_outgoing(kind, OutgoingVideoState::Started, EndReason::default(), "");
                }
            }
            (Err((reason, why)), true) => {
                log::warn!("video {kind:?} could not be started: {why}");
                self.stop_stream(kind);
                self.tell_outgoing(kind, OutgoingVideoState::Failed, reason, &why);
            }
            (_, false) => {}
        }
    }

    /// The source of the `kind` stream paused (a minimised window), resumed, or ended (a
    /// closed window: the stream stops, as if the service had refused it).
    pub(crate) fn source_state(&mut self, kind: VideoStreamKind, state: &ShareState) {
        if self.is_ended() || !self.video[kind as usize].on {
            return;
        }
        let m = &mut self.video[kind as usize];
        match state {
            ShareState::Active => {
                if std::mem::take(&mut m.paused) && m.started {
                    self.tell_outgoing(kind, OutgoingVideoState::Started, EndReason::default(), "");
                }
            }
            ShareState::Paused(why) => {
                if !std::mem::replace(&mut m.paused, true) {
                    self.tell_outgoing(kind, OutgoingVideoState::Paused, EndReason::default(), why);
                }
            }
            ShareState::Ended(why) => {
                self.stop_stream(kind);
                self.tell_outgoing(
                    kind,
                    OutgoingVideoState::Failed,
                    EndReason::SOURCE_ENDED,
                    why,
                );
            }
        }
    }

    fn stop_stream(&mut self, kind: VideoStreamKind) {
        self.video[kind as usize] = Modality::default();
        self.media(MediaCommand::StopVideo(kind));
        if !self.is_ended() && self.transport_ready {
            self.send(Command::SetVideo { kind, on: false });
        }
    }

    /// Invites `raw_id` (validated by the caller, as `caller_id` is): it joins the roster
    /// `Idle` at once and rings until the promote timeout (115 s).
    pub(crate) fn add_participant(
        &mut self,
        raw_id: &str,
        caller_id: Option<String>,
        now: Instant,
    ) -> Result<()> {
        self.require_live()?;
        if raw_id == self.self_id {
            return Err(Error::InvalidArgument("cannot add yourself".into()));
        }
        if !matches!(
            self.state,
            CallState::Connected
                | CallState::LocalHold
                | CallState::RemoteHold
                | CallState::Ringing
                | CallState::Connecting
        ) {
            return Err(Error::InvalidState(format!(
                "cannot add participants in state {:?}",
                self.state
            )));
        }
        if let Some(p) = self.roster.iter().find(|p| p.id == raw_id) {
            if p.state != ParticipantState::Disconnected {
                return Err(Error::InvalidArgument(format!(
                    "{raw_id} is already in the call"
                )));
            }
        }
        self.participant(&roster::invited(raw_id), false);
        self.invites
            .push((raw_id.to_string(), now + secs(timeouts::PROMOTE_SECS)));
        self.send(Command::AddParticipant {
            target: raw_id.to_string(),
            caller_id,
        });
        Ok(())
    }

    /// The service's answer to an invitation: accepted, the call is a group call from now
    /// on; refused, the invitee leaves the roster with the reason.
    pub(crate) fn invite_answer(
        &mut self,
        raw_id: &str,
        result: std::result::Result<(), EndReason>,
    ) {
        match result {
            Ok(()) => self.group = true,
            Err(reason) => {
                self.invites.retain(|(id, _)| id != raw_id);
                self.participant(&roster::gone(raw_id, reason), true);
            }
        }
    }

    pub(crate) fn remove_participant(&mut self, raw_id: &str) -> Result<()> {
        self.require_live()?;
        if !self.roster.iter().any(|p| p.id == raw_id) {
            return Err(Error::NotFound(format!("{raw_id} is not in this call")));
        }
        self.send(Command::RemoveParticipant(raw_id.to_string()));
        Ok(())
    }

    // ---- what the service and the transport say ----

    /// The service's state of this call for us.
    pub(crate) fn server_state(&mut self, state: CallState, reason: EndReason) {
        if is_terminal(state) {
            self.end(reason);
        } else if self.rejoining && state == CallState::Connecting {
            // The restarted service sets the rejoined call up: nothing the host must see.
        } else {
            self.rejoining = false;
            self.update(|i| i.server = state);
        }
    }

    /// A roster update (or removal) from the service.
    pub(crate) fn participant(&mut self, info: &ParticipantInfo, removed: bool) {
        let changes = roster::apply(&mut self.roster, &self.self_id, info, removed);
        if changes.is_empty() {
            return;
        }
        if removed
            || !matches!(
                info.state,
                ParticipantState::Idle
                    | ParticipantState::Ringing
                    | ParticipantState::Connecting
                    | ParticipantState::EarlyMedia
            )
        {
            self.invites.retain(|(id, _)| id != &info.id);
        }
        if self.roster.len() > 1 {
            self.group = true;
        }
        for c in changes {
            self.notice(Notice::Roster(c));
        }
    }

    /// The transport is set up and the service answered: a mute chosen before and the
    /// streams started before are announced.
    pub(crate) fn setup_done(&mut self, now: Instant) {
        if self.is_ended() {
            return;
        }
        self.transport_ready = true;
        if self.muted {
            self.send(Command::SetMuted(true));
        }
        for kind in [VideoStreamKind::Video, VideoStreamKind::ScreenShare] {
            if self.video[kind as usize].on {
                self.announce(kind, true, now);
            }
        }
    }

    /// The call was joined again after the service restarted (the new process knew nothing
    /// of it): what this side had told the old one — hold, mute, the streams it sends — is
    /// told again.
    pub(crate) fn rejoined(&mut self, now: Instant) {
        if self.is_ended() {
            return;
        }
        if self.inputs.local_hold {
            self.send(Command::SetHold(true));
        }
        self.setup_done(now);
    }

    /// The call is being joined again on a restarted service.
    pub(crate) fn rejoin_started(&mut self) {
        self.rejoining = true;
    }

    /// What a rejoin announces with its `JoinGroupCall`.
    pub(crate) fn join_state(&self) -> JoinState {
        JoinState {
            muted: self.muted,
            video: self.video[VideoStreamKind::Video as usize].on,
            screen_sharing: self.video[VideoStreamKind::ScreenShare as usize].on,
        }
    }

    /// Setting the call up failed.
    pub(crate) fn setup_failed(&mut self, reason: EndReason) {
        self.end(reason);
    }

    /// The media path connected (again).
    pub(crate) fn media_connected_now(&mut self) {
        self.media_lost_since = None;
        self.update(|i| i.media_connected = true);
    }

    /// The media path stopped carrying packets: the call ends if it does not come back
    /// within the inactivity timeout (120 s). The transport does not report an interruption
    /// yet (it reports Failed); ICE restart and its "reconnecting" state (issue 14) feed this.
    pub(crate) fn media_interrupted(&mut self, now: Instant) {
        if self.inputs.media_connected && self.media_lost_since.is_none() && !self.is_ended() {
            self.media_lost_since = Some(now);
        }
    }

    /// The media path failed for good.
    pub(crate) fn media_failed(&mut self) {
        self.abandon(EndReason::MEDIA_FAILED);
    }

    /// Fires every deadline that has passed at `now`.
    pub(crate) fn handle_timeout(&mut self, now: Instant) {
        if self.is_ended() {
            return;
        }
        if self.setup_deadline.is_some_and(|t| now >= t) {
            self.setup_deadline = None;
            if matches!(
                self.state,
                CallState::Connecting | CallState::Ringing | CallState::EarlyMedia
            ) {
                let reason = if self.inputs.media_connected {
                    EndReason::NO_ANSWER
                } else {
                    EndReason::MEDIA_TIMEOUT
                };
                self.abandon(reason);
                return;
            }
        }
        if self
            .media_lost_since
            .is_some_and(|t| now >= t + secs(timeouts::PARTICIPANT_REMOVAL_SECS))
        {
            self.abandon(EndReason::INACTIVE);
            return;
        }
        for kind in [VideoStreamKind::Video, VideoStreamKind::ScreenShare] {
            let m = self.video[kind as usize];
            if m.on && m.deadline.is_some_and(|t| now >= t) {
                let why = format!(
                    "the service did not answer in {} s (modality timeout)",
                    timeouts::MODALITY_SECS
                );
                log::warn!("video {kind:?}: {why}");
                self.stop_stream(kind);
                let reason = EndReason::MODALITY_TIMEOUT;
                self.tell_outgoing(kind, OutgoingVideoState::Failed, reason, &why);
            }
        }
        let expired: Vec<String> = self
            .invites
            .iter()
            .filter(|(_, t)| now >= *t)
            .map(|(id, _)| id.clone())
            .collect();
        for id in expired {
            self.invites.retain(|(i, _)| *i != id);
            self.send(Command::RemoveParticipant(id.clone()));
            self.participant(&roster::gone(&id, EndReason::NO_ANSWER), true);
        }
    }
}
