//! Call: one call of a CallAgent. The lifecycle is a [`CallMachine`]; `Call` is its driver —
//! it feeds it the host's commands, the service's messages, the transport's state and the
//! clock, and carries out its outputs: notices for the host (through the agent's sink),
//! messages for the service (over the agent's link), commands for the call's media.

use super::call_media::{CallMedia, MediaEvents};
pub(crate) use super::call_roster::CallNotice;
use super::call_roster::Participants;
use super::device_manager::DeviceManager;
use super::link::Link;
use super::machine::{CallMachine, Command, Notice, Output, Setup};
use super::participant::RemoteParticipant;
use super::remote_video::{RemoteVideoStream, StreamOwner};
use super::roster::RosterChange;
use super::speech::{DominantSpeakers, SlotSpeech};
use crate::error::{Error, Result};
use crate::media::audio::{AudioDevice, DeviceKind};
use crate::media::transport::TransportState;
use crate::protocol::{CallState, ClientMessage, EndReason, ParticipantInfo};
use crate::signaling::service_error;
use parking_lot::Mutex;
use std::sync::{Arc, Weak};
use std::time::Instant;
use tokio::runtime::Handle;
use tokio::sync::watch;

pub use super::machine::CallDirection;

/// Options for starting or accepting a call.
#[derive(Clone, Default)]
pub struct CallOptions {
    /// Microphone for this call; `None` = the DeviceManager's selection (or system default).
    pub microphone: Option<AudioDevice>,
    /// Speaker for this call; `None` = the DeviceManager's selection (or system default).
    pub speaker: Option<AudioDevice>,
    /// Join muted.
    pub start_muted: bool,
}

/// What [`CallAgent::start_call_with_options`] takes besides the [`CallOptions`].
///
/// [`CallAgent::start_call_with_options`]: super::CallAgent::start_call_with_options
#[derive(Clone, Debug, Default)]
pub struct StartCallOptions {
    /// ACS's alternate caller id: the phone number (`4:+…` raw id) that phone-number targets
    /// see as the caller; it must be one the service lets this user present. `None` (or
    /// empty): the service's default. A value that is not a phone number is
    /// `InvalidArgument`.
    pub alternate_caller_id: Option<String>,
}

/// Where a call's notices go (its agent).
pub(crate) trait CallSink: Send + Sync {
    /// Queues `notice` about `call` for the host, in order.
    fn notify(self: Arc<Self>, call: &Call, notice: CallNotice);
    /// `call` ended: it is no longer one of the agent's calls.
    fn ended(self: Arc<Self>, call: &Call);
}

/// What a call needs of the world around it.
pub(crate) struct CallContext {
    pub rt: Handle,
    pub link: watch::Receiver<Link>,
    /// Raw id of the local user.
    pub user_id: String,
    pub devices: DeviceManager,
    pub sink: Weak<dyn CallSink>,
}

pub(crate) struct CallInner {
    id: u64,
    call_id: String,
    pub(super) ctx: CallContext,
    machine: Mutex<CallMachine>,
    /// The roster's participants as objects the host holds (the machine has the data).
    participants: Mutex<Participants>,
    /// Who is in which receive slot, and how loud (for `is_speaking`).
    pub(super) speech: Mutex<SlotSpeech>,
    pub(super) dominant: Mutex<DominantSpeakers>,
    pub(super) media: Arc<CallMedia>,
    /// The machine's next deadline, watched by the call's timer task.
    timer: watch::Sender<Option<Instant>>,
    /// Signaling and media path up or lost (the reconnecting indication, ICE restarts).
    pub(super) network: Mutex<super::call_network::NetworkHealth>,
    /// After a rejoin: participants of the old roster the restarted service has not
    /// mentioned yet (removed if it never does within the reconnect window).
    pub(super) rejoin_unseen: Mutex<Option<std::collections::HashSet<String>>>,
    /// Media statistics: the newest sample and the host's interval (`call_stats.rs`).
    pub(super) stats: Mutex<super::call_stats::StatsState>,
    /// A room's call (joined with `join_room`).
    pub(super) room: std::sync::atomic::AtomicBool,
    /// A transfer request waits for this side's answer (`call_transfer.rs`).
    pub(super) transfer_asked: std::sync::atomic::AtomicBool,
}

/// A call. Cheap to clone; all clones are the same call.
#[derive(Clone)]
pub struct Call(pub(crate) Arc<CallInner>);

fn pick_device(
    dm: &DeviceManager,
    chosen: Option<AudioDevice>,
    kind: DeviceKind,
) -> Result<AudioDevice> {
    let what = if kind == DeviceKind::Microphone {
        "microphone"
    } else {
        "speaker"
    };
    let dev = chosen.or_else(|| match kind {
        DeviceKind::Microphone => dm.selected_microphone(),
        DeviceKind::Speaker => dm.selected_speaker(),
    });
    let dev = dev.ok_or_else(|| {
        Error::Device(format!(
            "no {what} is available: select one (a virtual device works without hardware)"
        ))
    })?;
    if dev.kind() != kind {
        return Err(Error::InvalidArgument(format!(
            "'{}' is not a {what}",
            dev.name()
        )));
    }
    Ok(dev)
}

impl MediaEvents for CallInner {
    fn on_transport_state(self: Arc<Self>, state: TransportState) {
        let call = Call(self);
        match state {
            TransportState::Connected => call.on_media_path(true),
            TransportState::Disconnected => call.on_media_path(false),
            TransportState::Failed => call.drive(|m, _| m.media_failed()),
            TransportState::Connecting | TransportState::Closed => {}
        }
    }
    fn on_slot_level(self: Arc<Self>, slot: usize, level: u8) {
        let flipped = self.speech.lock().on_level(slot, level, Instant::now());
        if let Some((id, speaking)) = flipped {
            Call(self).set_speaking(&id, speaking);
        }
    }
}

impl Call {
    fn new(ctx: CallContext, call_id: String, machine: CallMachine) -> Self {
        let (timer, _) = watch::channel(None);
        let call = Call(Arc::new_cyclic(|me: &Weak<CallInner>| {
            let owner: Weak<dyn MediaEvents> = me.clone();
            CallInner {
                id: crate::object_id::next_object_id(),
                call_id,
                ctx,
                machine: Mutex::new(machine),
                participants: Mutex::new(Participants::default()),
                speech: Mutex::new(SlotSpeech::default()),
                dominant: Mutex::new(DominantSpeakers::default()),
                media: CallMedia::new(owner),
                timer,
                network: Mutex::new(Default::default()),
                rejoin_unseen: Mutex::new(None),
                stats: Mutex::new(Default::default()),
                room: std::sync::atomic::AtomicBool::new(false),
                transfer_asked: std::sync::atomic::AtomicBool::new(false),
            }
        }));
        call.spawn_timer();
        call
    }

    /// Feeds the machine's deadlines back to it, on the runtime.
    fn spawn_timer(&self) {
        let weak = Arc::downgrade(&self.0);
        let mut rx = self.0.timer.subscribe();
        self.0.ctx.rt.spawn(async move {
            loop {
                let deadline = *rx.borrow_and_update();
                let Some(at) = deadline else {
                    if rx.changed().await.is_err() {
                        return;
                    }
                    continue;
                };
                tokio::select! {
                    _ = tokio::time::sleep_until(at.into()) => {
                        let Some(c) = weak.upgrade() else { return };
                        Call(c).drive(|m, now| m.handle_timeout(now));
                    }
                    changed = rx.changed() => {
                        if changed.is_err() {
                            return;
                        }
                    }
                }
            }
        });
    }

    /// An outgoing call to `targets`, or (`group`) a call joining the group call `call_id`:
    /// devices open, created `Connecting`; `start` places it.
    pub(crate) fn outgoing(
        ctx: CallContext,
        call_id: String,
        group: bool,
        options: CallOptions,
    ) -> Result<Self> {
        let machine = CallMachine::outgoing(&ctx.user_id, group);
        let call = Call::new(ctx, call_id, machine);
        call.start_media(options)?;
        Ok(call)
    }

    /// Places the call (or joins): the transport is built and offered.
    pub(crate) fn start(&self, setup: Setup) {
        self.drive(|m, now| m.start(setup, now));
    }

    /// A call ringing here; its transport is prepared while it rings.
    pub(crate) fn incoming(ctx: CallContext, call_id: String, caller: &ParticipantInfo) -> Self {
        let machine = CallMachine::incoming(&ctx.user_id, caller);
        let call = Call::new(ctx, call_id, machine);
        // The caller joins the roster quietly (the host learns of the call first).
        let mut m = call.0.machine.lock();
        while let Some(o) = m.poll_output() {
            if let Output::Notice(Notice::Roster(RosterChange::Added(info))) = o {
                let p = RemoteParticipant::from_info(&info);
                call.adopt(&p);
                call.0.participants.lock().push(p);
            }
        }
        drop(m);
        call.0
            .media
            .prepare_ahead(&call.0.ctx.rt, call.0.ctx.link.clone());
        call
    }

    /// Opens the devices and starts the audio engine; frames flow once the transport exists.
    fn start_media(&self, options: CallOptions) -> Result<()> {
        let dm = &self.0.ctx.devices;
        let mic = pick_device(dm, options.microphone, DeviceKind::Microphone)?;
        let spk = pick_device(dm, options.speaker, DeviceKind::Speaker)?;
        let muted = options.start_muted || self.is_muted();
        self.0
            .media
            .start_audio(mic, spk, dm.audio_processing(), muted)?;
        self.0.machine.lock().start_muted(muted);
        Ok(())
    }

    // ---- the driver ----

    /// Runs `f` on the machine and carries out what it asks. Notices are queued for the host
    /// under the machine's lock (so they keep the machine's order across threads); messages
    /// and media commands are carried out after it.
    pub(crate) fn drive<R>(&self, f: impl FnOnce(&mut CallMachine, Instant) -> R) -> R {
        self.drive_then(f, |_| ()).0
    }

    /// `drive`, with `peek` run once the notices are queued and before messages and media
    /// commands are carried out (which may change the roster again at once).
    pub(super) fn drive_then<R, T>(
        &self,
        f: impl FnOnce(&mut CallMachine, Instant) -> R,
        peek: impl FnOnce(&Call) -> T,
    ) -> (R, T) {
        let sink = self.0.ctx.sink.upgrade();
        let mut commands = Vec::new();
        let mut media = Vec::new();
        let mut unavailable = Vec::new();
        let (result, deadline) = {
            let mut m = self.0.machine.lock();
            let was_ended = m.is_ended();
            let result = f(&mut m, Instant::now());
            let mut notices = Vec::new();
            while let Some(o) = m.poll_output() {
                match o {
                    Output::Notice(n) => self.notices(n, &mut notices, &mut unavailable),
                    Output::Send(c) => commands.push(c),
                    Output::Media(c) => media.push(c),
                }
            }
            let ended = !was_ended && m.is_ended();
            if let Some(s) = &sink {
                // An ended call leaves the agent's list before the host hears it ended.
                if ended {
                    s.clone().ended(self);
                }
                for n in notices {
                    s.clone().notify(self, n);
                }
            }
            (result, m.poll_timeout())
        };
        self.0.timer.send_replace(deadline);
        let peeked = peek(self);
        for c in commands {
            self.execute(c);
        }
        for c in media {
            self.0.media.apply(c, &self.0.ctx.rt);
        }
        for stream in unavailable {
            if stream.slot().is_some() {
                let _ = self.unsubscribe_video(&stream);
            }
            stream.frames().clear_latest();
        }
        (result, peeked)
    }

    /// Turns a machine notice into the host's notice, mirroring a roster change onto the
    /// participant objects.
    fn notices(
        &self,
        n: Notice,
        out: &mut Vec<CallNotice>,
        unavailable: &mut Vec<RemoteVideoStream>,
    ) {
        let change = match n {
            Notice::State { state, reason } => return out.push(CallNotice::State(state, reason)),
            Notice::Muted(m) => return out.push(CallNotice::Muted(m)),
            Notice::DtmfSent {
                request,
                tone,
                result,
            } => return out.push(CallNotice::DtmfSent(request, tone, result)),
            Notice::DtmfReceived { participant, tone } => {
                let p = self.0.participants.lock().find(&participant);
                return out.push(CallNotice::DtmfReceived(participant, p, tone));
            }
            Notice::OutgoingVideo {
                kind,
                state,
                reason,
                message,
            } => {
                // Before the media commands of this step run: a failed stream's local
                // stream is still there to name.
                let stream = self.0.media.local_video_stream(kind);
                return out.push(CallNotice::OutgoingVideo {
                    kind,
                    stream,
                    state,
                    reason,
                    message,
                });
            }
            Notice::Roster(c) => c,
        };
        let mirrored = self.0.participants.lock().apply(change, |p| self.adopt(p));
        if let Some(id) = &mirrored.left {
            self.0.speech.lock().forget(id);
        }
        unavailable.extend(mirrored.unavailable);
        out.extend(mirrored.notice);
    }

    /// Carries out a message for the service.
    fn execute(&self, c: Command) {
        match c {
            Command::Establish(setup) => self.establish(setup),
            Command::HangUp { for_everyone } => self.send(|req, call_id| ClientMessage::HangUp {
                req,
                call_id,
                for_everyone,
            }),
            Command::HangUpAndWait { for_everyone } => {
                let call = self.clone();
                self.request(
                    move |req, call_id| ClientMessage::HangUp {
                        req,
                        call_id,
                        for_everyone,
                    },
                    move |_| call.drive(|m, _| m.hang_up_done()),
                );
            }
            Command::Reject => self.send(|req, call_id| ClientMessage::Reject { req, call_id }),
            Command::SetMuted(muted) => self.send(|req, call_id| ClientMessage::SetMuted {
                req,
                call_id,
                muted,
            }),
            Command::SetHold(hold) => {
                self.send(|req, call_id| ClientMessage::SetHold { req, call_id, hold })
            }
            Command::SetVideo { kind, on } => {
                let call = self.clone();
                self.request(
                    move |req, call_id| ClientMessage::SetVideo {
                        req,
                        call_id,
                        kind,
                        on,
                    },
                    move |r| call.drive(|m, _| m.video_answer(kind, on, r)),
                );
            }
            Command::AddParticipant { target, caller_id } => {
                let (call, raw) = (self.clone(), target.clone());
                self.request(
                    move |req, call_id| ClientMessage::AddParticipant {
                        req,
                        call_id,
                        target,
                        caller_id,
                    },
                    move |r| {
                        if let Err((_, why)) = &r {
                            log::info!("adding {raw} was refused: {why}");
                        }
                        call.drive(|m, _| m.invite_answer(&raw, r.map_err(|e| e.0)))
                    },
                );
            }
            Command::SendDtmf { request, tone } => self.send_dtmf_request(request, tone),
            Command::RemoveParticipant(target) => {
                self.send(|req, call_id| ClientMessage::RemoveParticipant {
                    req,
                    call_id,
                    target,
                })
            }
        }
    }

    /// Builds the transport, sends the offer the way `setup` says and applies the SFU's
    /// answer. Any failure ends the call with a reason.
    fn establish(&self, setup: Setup) {
        let call = self.clone();
        self.0.ctx.rt.spawn(async move {
            let result: Result<()> = async {
                let Some(offer) = call.0.media.offer(&call.0.ctx.link).await? else {
                    return Ok(());
                };
                let id = call.0.call_id.clone();
                let sdp = offer.sdp;
                let reply = offer
                    .signaling
                    .request(|req| match setup {
                        Setup::Start { targets, caller_id } => ClientMessage::StartCall {
                            req,
                            call_id: id,
                            targets,
                            offer_sdp: sdp,
                            media: None,
                            caller_id,
                        },
                        Setup::Join => ClientMessage::JoinGroupCall {
                            req,
                            group_id: id,
                            offer_sdp: sdp,
                            media: None,
                            state: None,
                            room: call.0.room.load(std::sync::atomic::Ordering::SeqCst),
                        },
                        Setup::Accept => ClientMessage::Accept {
                            req,
                            call_id: id,
                            offer_sdp: sdp,
                            media: None,
                        },
                    })
                    .await?;
                let answer = reply.map_err(service_error)?.ok_or_else(|| {
                    Error::Internal("the service accepted the call without an SDP answer".into())
                })?;
                offer.transport.apply_answer(answer).await?;
                call.0.media.on_transport_ready(&offer.transport);
                call.drive(|m, now| m.setup_done(now));
                Ok(())
            }
            .await;
            if let Err(e) = result {
                log::warn!("call {} could not be set up: {e}", call.0.call_id);
                let reason = match &e {
                    Error::Service { reason, .. } => *reason,
                    Error::NotFound(_) => EndReason::NOT_FOUND,
                    Error::Unauthorized(_) => EndReason::UNAUTHORIZED,
                    Error::Network(_) | Error::Timeout(_) => EndReason::SERVICE_UNAVAILABLE,
                    _ => EndReason::MEDIA_FAILED,
                };
                call.drive(|m, _| m.setup_failed(reason));
            }
        });
    }

    /// Sends a message for this call while the link is up (dropped otherwise).
    pub(super) fn send(&self, make: impl FnOnce(u64, String) -> ClientMessage) {
        if let Some(sig) = self.0.ctx.link.borrow().signaling() {
            let id = self.0.call_id.clone();
            sig.send(|req| make(req, id));
        }
    }

    /// Sends a request for this call; `done` runs (on the runtime) with the outcome — the
    /// service's refusal as its reason and message, or the link being down.
    pub(super) fn request(
        &self,
        make: impl FnOnce(u64, String) -> ClientMessage + Send + 'static,
        done: impl FnOnce(std::result::Result<(), (EndReason, String)>) + Send + 'static,
    ) {
        let Some(sig) = self.0.ctx.link.borrow().signaling() else {
            done(Err((
                EndReason::SERVICE_UNAVAILABLE,
                "not connected to the service".into(),
            )));
            return;
        };
        let call_id = self.0.call_id.clone();
        // Sent here, in the caller's order (two DTMF tones must not overtake each other);
        // only the wait for the reply runs on the runtime.
        let pending = sig.begin_request(|req| make(req, call_id));
        self.0.ctx.rt.spawn(async move {
            let reply = match pending {
                Ok(p) => p.reply().await,
                Err(e) => Err(e),
            };
            done(match reply {
                Ok(Ok(_)) => Ok(()),
                Ok(Err(e)) => Err((e.reason(), e.message)),
                Err(e) => Err((EndReason::SERVICE_UNAVAILABLE, e.to_string())),
            })
        });
    }

    /// Lets `p`'s streams find this call (to subscribe).
    fn adopt(&self, p: &RemoteParticipant) {
        let owner: Weak<dyn StreamOwner> = Arc::downgrade(&self.0) as Weak<CallInner>;
        for s in p.video_streams() {
            s.set_owner(owner.clone());
        }
    }

    /// Stops receiving `stream` (its slot is freed, the service told).
    pub(crate) fn unsubscribe_video(&self, stream: &RemoteVideoStream) -> Result<()> {
        let Some(slot) = self.0.media.release_slot(stream) else {
            return Ok(());
        };
        let kind = stream.kind();
        self.request(
            move |req, call_id| ClientMessage::UnsubscribeVideo {
                req,
                call_id,
                kind,
                slot: slot as u32,
            },
            |r| {
                if let Err((_, e)) = r {
                    log::debug!("unsubscribe: {e}");
                }
            },
        );
        Ok(())
    }

    pub(super) fn participant(&self, raw_id: &str) -> Option<RemoteParticipant> {
        self.0.participants.lock().find(raw_id)
    }

    pub(super) fn notify(&self, notice: CallNotice) {
        if let Some(s) = self.0.ctx.sink.upgrade() {
            s.notify(self, notice);
        }
    }

    pub(super) fn set_speaking(&self, id: &str, speaking: bool) {
        if let Some(p) = self.participant(id) {
            if p.set_speaking(speaking) {
                self.notify(CallNotice::ParticipantSpeaking(p, speaking));
            }
        }
    }

    // ---- what the agent hears from the service ----

    pub(crate) fn on_server_state(&self, state: CallState, reason: EndReason) {
        self.drive(|m, _| m.server_state(state, reason));
    }

    pub(crate) fn on_participants(&self, infos: &[ParticipantInfo], removed: bool) {
        // After a rejoin: a participant back on the restarted service gets the streams this
        // call received from it asked for again (once the rejoin itself is done; the rejoin
        // asks for those already back).
        let mut back = Vec::new();
        if let Some(unseen) = self.0.rejoin_unseen.lock().as_mut() {
            for info in infos {
                if unseen.remove(&info.id) && !removed {
                    back.push(info.id.as_str());
                }
            }
        }
        self.drive(|m, _| {
            for info in infos {
                m.participant(info, removed);
            }
        });
        if !back.is_empty() && !self.0.network.lock().is_rejoining() {
            for id in back {
                self.resubscribe_video(Some(id));
            }
        }
    }

    /// Ends the call locally with `reason` (idempotent) and releases its media.
    pub(crate) fn end(&self, reason: EndReason) {
        self.drive(|m, _| m.end(reason));
    }

    pub(super) fn is_ended(&self) -> bool {
        self.0.machine.lock().is_ended()
    }

    pub(super) fn require_live(&self) -> Result<()> {
        if self.is_ended() {
            Err(Error::InvalidState("the call has ended".into()))
        } else {
            Ok(())
        }
    }

    pub(super) fn is_group(&self) -> bool {
        self.0.machine.lock().is_group()
    }

    // ---- public API ----

    /// Process-unique id of this object.
    pub fn object_id(&self) -> u64 {
        self.0.id
    }
    /// The call id shared by every participant.
    pub fn call_id(&self) -> &str {
        &self.0.call_id
    }
    pub fn direction(&self) -> CallDirection {
        self.0.machine.lock().direction()
    }
    pub fn state(&self) -> CallState {
        self.0.machine.lock().state()
    }
    pub fn is_muted(&self) -> bool {
        self.0.machine.lock().is_muted()
    }
    /// Why the call ended (meaningful once `Disconnected`).
    pub fn end_reason(&self) -> EndReason {
        self.0.machine.lock().end_reason()
    }
    /// Remote participants currently in the roster.
    pub fn remote_participants(&self) -> Vec<RemoteParticipant> {
        self.0.participants.lock().list()
    }

    /// Accepts an incoming call.
    pub fn accept(&self, options: CallOptions) -> Result<()> {
        self.0.machine.lock().check_accept()?;
        if self.0.ctx.sink.upgrade().is_none() {
            return Err(Error::InvalidState("the call agent is gone".into()));
        }
        if self.0.media.has_audio() {
            return Err(Error::InvalidState(
                "the call is already being accepted".into(),
            ));
        }
        self.start_media(options)?;
        self.drive(|m, now| m.accept(now))
    }

    /// Declines an incoming call.
    pub fn reject(&self) -> Result<()> {
        self.drive(|m, _| m.reject())
    }

    /// Leaves the call (or ends it for everyone).
    pub fn hang_up(&self, for_everyone: bool) -> Result<()> {
        self.drive(|m, _| m.hang_up(for_everyone))
    }

    /// Mutes or unmutes the local microphone in this call.
    pub fn set_muted(&self, muted: bool) -> Result<()> {
        self.drive(|m, _| m.set_muted(muted)).map(|_| ())
    }

    /// Puts the call on hold (`true`) or resumes it (`false`).
    pub fn set_hold(&self, hold: bool) -> Result<()> {
        self.drive(|m, _| m.set_hold(hold))
    }
}
