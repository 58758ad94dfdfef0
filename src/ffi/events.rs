//! Events to the host: one struct for every kind, delivered in order on the dispatch thread.

use super::handles::{
    self, acs_audio_device, acs_call, acs_call_agent, acs_camera, acs_device_manager,
    acs_local_video_stream, acs_remote_participant, acs_remote_video_stream, Object,
};
use super::host_ptr::HostPtr;
use crate::client::{AgentEvent, CallAgent, DeviceEvent, DeviceManager};
use crate::media::audio::DeviceKind;
use crate::protocol::{EndReason, TransferState};
use std::ffi::{c_char, c_void, CString};

/// The agent's connection changed: `state` is ACS_AGENT_CONNECTION_*, `code`/`subcode` say
/// why it dropped, `message` explains.
pub const ACS_EVENT_AGENT_CONNECTION_STATE_CHANGED: i32 = 1;
/// A call arrives: `call` is in state ACS_CALL_STATE_INCOMING; accept or reject it.
pub const ACS_EVENT_INCOMING_CALL: i32 = 2;
/// `call` changed to `state`; once ACS_CALL_STATE_DISCONNECTED, `code`/`subcode` is the end reason.
///
/// Each event is a real change: the state a call is created in is never announced
/// (read it with acs_call_get_state). A 1:1 call, as each side sees it:
///  - caller: created CONNECTING → RINGING → [CONNECTING while the callee's media connects]
///    → CONNECTED;
///  - callee: created INCOMING (ACS_EVENT_INCOMING_CALL) → CONNECTING on accept → CONNECTED;
///  - the echo bot `8:echo123` and a group call joined: created CONNECTING → CONNECTED.
///  - a call to a phone number: created CONNECTING → [RINGING] → EARLY_MEDIA while its
///    network plays ringback or an announcement (heard on the speaker) → CONNECTED, or
///    DISCONNECTED from EARLY_MEDIA with the network's reason (e.g. 486/560486 busy).
///
/// Then LOCAL_HOLD ↔ CONNECTED (acs_call_hold/acs_call_resume), REMOTE_HOLD ↔ CONNECTED
/// (the other side of a 1:1 call holds), DISCONNECTING (acs_call_hang_up) and
/// DISCONNECTED (always last). Hold and resume, however quickly called, end in the state of
/// the last call, with no state shown twice in a row.
pub const ACS_EVENT_CALL_STATE_CHANGED: i32 = 3;
/// The local microphone of `call` was muted (`flag` true) or unmuted.
pub const ACS_EVENT_CALL_MUTE_CHANGED: i32 = 4;
/// `participant` joined the roster of `call`.
pub const ACS_EVENT_PARTICIPANT_ADDED: i32 = 5;
/// `participant` left `call`; `code`/`subcode` say why (0/0 hung up, 603 declined, ...).
pub const ACS_EVENT_PARTICIPANT_REMOVED: i32 = 6;
/// `participant` changed to `state` (ACS_PARTICIPANT_STATE_*).
pub const ACS_EVENT_PARTICIPANT_STATE_CHANGED: i32 = 7;
/// `participant` muted (`flag` true) or unmuted.
pub const ACS_EVENT_PARTICIPANT_MUTE_CHANGED: i32 = 8;
/// `participant` started (`flag` true) or stopped speaking.
pub const ACS_EVENT_PARTICIPANT_SPEAKING_CHANGED: i32 = 9;
/// The dominant speakers of `call` changed: read them with acs_call_get_dominant_speaker*.
pub const ACS_EVENT_DOMINANT_SPEAKERS_CHANGED: i32 = 10;
/// `participant` started (`flag` true) or stopped sending `remote_video_stream`; `state` is
/// the stream's ACS_VIDEO_STREAM_KIND_*. Subscribe (or render) an available stream to
/// receive it; a stream that stops is unsubscribed.
pub const ACS_EVENT_REMOTE_VIDEO_STREAM_AVAILABILITY_CHANGED: i32 = 11;
/// A phone participant of `call` pressed a key: `dtmf_tone` is the ACS_DTMF_TONE_*,
/// `participant_id` its raw id ("4:+…"), `participant` its handle when it is in the roster
/// (else NULL).
pub const ACS_EVENT_DTMF_RECEIVED: i32 = 12;
/// The service answered acs_call_send_dtmf: `request_id` is what it returned, `dtmf_tone`
/// the tone. `code`/`subcode` 0/0: sent to the call's phone participants; otherwise why
/// not, with `message` (400/0 "this call has no phone participant"; 503/0 the service
/// could not be reached). Every send gets exactly one, even if the call ends meanwhile.
pub const ACS_EVENT_DTMF_SEND_COMPLETED: i32 = 13;
/// `call` started or stopped reconnecting (ACS's `networkReconnect` diagnostic): `state` is
/// ACS_NETWORK_RECONNECT_POOR when its signaling link or media path was lost (the call goes
/// on; the library reconnects, resumes its session and restarts ICE by itself) and
/// ACS_NETWORK_RECONNECT_GOOD when both are back. A call that cannot recover within the
/// reconnect window (120 s) ends with 408/10006.
pub const ACS_EVENT_CALL_NETWORK_RECONNECT: i32 = 14;
/// A media statistics sample of `call` was taken (every interval set with
/// acs_call_set_media_statistics_interval): read it with acs_call_get_media_statistics.
pub const ACS_EVENT_CALL_MEDIA_STATISTICS: i32 = 15;
/// One of this client's outgoing video streams of `call` changed: `state` is the
/// ACS_OUTGOING_VIDEO_STATE_*, `video_stream_kind` says which (ACS_VIDEO_STREAM_KIND_VIDEO or
/// _SCREEN_SHARE), `local_video_stream` is the stream sent (NULL when it was started from
/// frames of another source; the stream a stop or failure is about, too). For _PAUSED and _FAILED, `code`/`subcode` and `message` say
/// why: 403/0 the service refused it (a second screen share while another participant
/// shares: "<id> is already sharing a screen in this call: one screen share at a time"),
/// 408/10011 the service did not answer within the 40 s modality timeout, 0/10012 its
/// source ended ("the window was closed"). A failed stream is no longer sent.
pub const ACS_EVENT_OUTGOING_VIDEO_STATE_CHANGED: i32 = 16;
/// The service answered a push notification request of the agent: `state` is the
/// ACS_PUSH_NOTIFICATION_* (registered, unregistered, or a handled notification's call
/// refused), `code`/`subcode`/`message` say why on failure, `push_subject` names the target
/// url or the call. See acs_call_agent_register_push_notification.
pub const ACS_EVENT_PUSH_NOTIFICATION: i32 = 17;
/// A transfer of `call` moved on (on the transferor's and the transferee's side): `state`
/// is ACS_TRANSFER_STATE_*, `transfer_target` the target's raw id; once
/// ACS_TRANSFER_STATE_FAILED, `code`/`subcode` say why (603/10017 the transferee refused,
/// the target's reason when it declined or was unreachable, 408/10016 the 60 s transfer
/// timeout, 400/0 a bad request) and the call goes on as it was. After
/// ACS_TRANSFER_STATE_TRANSFERRED the transferor's call ends with 0/10015.
pub const ACS_EVENT_CALL_TRANSFER_STATE_CHANGED: i32 = 18;
/// The other side of the 1:1 `call` (`participant`, `participant_id`) asks to transfer
/// this participant to `transfer_target`. The library accepts at once unless the agent was
/// created with `answer_transfers`: then answer with acs_call_answer_transfer.
pub const ACS_EVENT_CALL_TRANSFER_REQUESTED: i32 = 19;
/// Another participant muted this one in `call` (acs_call_mute_participant on its side):
/// `participant_id` is who (`participant` too, when in the roster). The microphone is muted
/// already (ACS_EVENT_CALL_MUTE_CHANGED came first); the service drops this participant's
/// audio until it unmutes (acs_call_unmute), which a room's consumer may not.
pub const ACS_EVENT_CALL_MUTED_BY_OTHERS: i32 = 20;
/// The service refused a request of this participant on others in `call`: `state` is the
/// ACS_CALL_ACTION_*, `participant_id` the participant it named (NULL for "all"),
/// `code`/`subcode`/`message` why (403 the room role does not allow it, 404 nobody by
/// that id waits in the lobby or is in the call, 400 not a user, 503 no link).
pub const ACS_EVENT_CALL_ACTION_FAILED: i32 = 21;
/// `state` of ACS_EVENT_CALL_TRANSFER_STATE_CHANGED: the transferee is asked.
pub const ACS_TRANSFER_STATE_REQUESTED: i32 = 1;
/// `state` of ACS_EVENT_CALL_TRANSFER_STATE_CHANGED: the transferee accepted, the target
/// rings.
pub const ACS_TRANSFER_STATE_TRANSFERRING: i32 = 2;
/// `state` of ACS_EVENT_CALL_TRANSFER_STATE_CHANGED: the target answered; the transferor
/// left.
pub const ACS_TRANSFER_STATE_TRANSFERRED: i32 = 3;
/// `state` of ACS_EVENT_CALL_TRANSFER_STATE_CHANGED: it did not happen (see `code`).
pub const ACS_TRANSFER_STATE_FAILED: i32 = 4;
/// `state` of ACS_EVENT_OUTGOING_VIDEO_STATE_CHANGED: the service accepted the stream (the
/// others see it available); also when a paused source is back.
pub const ACS_OUTGOING_VIDEO_STATE_STARTED: i32 = 1;
/// `state` of ACS_EVENT_OUTGOING_VIDEO_STATE_CHANGED: the source is paused (a shared window
/// is minimised or off the screen; `message` says which); the others keep its last picture.
pub const ACS_OUTGOING_VIDEO_STATE_PAUSED: i32 = 2;
/// `state` of ACS_EVENT_OUTGOING_VIDEO_STATE_CHANGED: the host stopped the stream
/// (acs_call_stop_video with the stream's ACS_VIDEO_STREAM_KIND_*).
pub const ACS_OUTGOING_VIDEO_STATE_STOPPED: i32 = 3;
/// `state` of ACS_EVENT_OUTGOING_VIDEO_STATE_CHANGED: the stream stopped by itself;
/// `code`/`subcode` and `message` say why.
pub const ACS_OUTGOING_VIDEO_STATE_FAILED: i32 = 4;
/// `state` of ACS_EVENT_CALL_NETWORK_RECONNECT: the network is back.
pub const ACS_NETWORK_RECONNECT_GOOD: i32 = 0;
/// `state` of ACS_EVENT_CALL_NETWORK_RECONNECT: reconnecting.
pub const ACS_NETWORK_RECONNECT_POOR: i32 = 1;
// Device manager events (acs_device_manager_set_event_callback) are numbered from 100, so
// that call and agent events can keep growing from 9 without meeting them.
/// `audio_device` appeared (a system device found by the watcher or a refresh, or a virtual
/// one created); `state` is its ACS_DEVICE_KIND_*. `agent` is NULL, `device_manager` is set.
pub const ACS_EVENT_AUDIO_DEVICE_ADDED: i32 = 100;
/// `audio_device` disappeared; `state` is its ACS_DEVICE_KIND_*. If it was selected, the
/// selection falls back to the system default.
pub const ACS_EVENT_AUDIO_DEVICE_REMOVED: i32 = 101;
/// `camera` appeared.
pub const ACS_EVENT_CAMERA_ADDED: i32 = 102;
/// `camera` disappeared.
pub const ACS_EVENT_CAMERA_REMOVED: i32 = 103;

/// One event. Every pointer in it is borrowed for the duration of the callback: retain a
/// handle to keep it; copy `message` to keep it.
#[repr(C)]
pub struct acs_event {
    /// sizeof(acs_event).
    pub struct_size: u32,
    /// ACS_EVENT_*.
    pub kind: i32,
    /// The agent the event belongs to (NULL for device events).
    pub agent: *mut acs_call_agent,
    /// NULL for agent-level events.
    pub call: *mut acs_call,
    /// NULL unless the event is about a participant.
    pub participant: *mut acs_remote_participant,
    /// New call state, participant state or connection state, by kind.
    pub state: i32,
    /// End reason code (ACS-style, e.g. 0, 401, 404, 480, 487, 603).
    pub code: i32,
    /// End reason subcode.
    pub subcode: i32,
    /// Muted flag for the *_MUTE_CHANGED kinds; speaking flag for *_SPEAKING_CHANGED.
    pub flag: bool,
    /// Human-readable detail or NULL.
    pub message: *const c_char,
    /// The device manager, for ACS_EVENT_AUDIO_DEVICE_* and ACS_EVENT_CAMERA_*; else NULL.
    pub device_manager: *mut acs_device_manager,
    /// The device of ACS_EVENT_AUDIO_DEVICE_*; else NULL.
    pub audio_device: *mut acs_audio_device,
    /// The camera of ACS_EVENT_CAMERA_*; else NULL.
    pub camera: *mut acs_camera,
    /// The stream of ACS_EVENT_REMOTE_VIDEO_STREAM_AVAILABILITY_CHANGED; else NULL.
    pub remote_video_stream: *mut acs_remote_video_stream,
    /// The raw id of the participant an event is about, when the event carries it
    /// (ACS_EVENT_DTMF_RECEIVED: always, also when `participant` is NULL); else NULL.
    /// This field and those after it were appended for phone calls: a library older than
    /// this header passes a shorter event, so read them only when `struct_size` covers them
    /// (struct_size >= offsetof(acs_event, dtmf_tone) + sizeof(int32_t)).
    pub participant_id: *const c_char,
    /// The request id of ACS_EVENT_DTMF_SEND_COMPLETED (acs_call_send_dtmf's
    /// `out_request_id`); else 0.
    pub request_id: u64,
    /// The ACS_DTMF_TONE_* of ACS_EVENT_DTMF_RECEIVED and ACS_EVENT_DTMF_SEND_COMPLETED;
    /// else -1.
    pub dtmf_tone: i32,
    /// The ACS_VIDEO_STREAM_KIND_* of ACS_EVENT_OUTGOING_VIDEO_STATE_CHANGED and
    /// ACS_EVENT_REMOTE_VIDEO_STREAM_AVAILABILITY_CHANGED; else -1. This field and the next
    /// were appended for outgoing video events: read them only when `struct_size` covers
    /// them (struct_size >= offsetof(acs_event, local_video_stream) + sizeof(void *)).
    pub video_stream_kind: i32,
    /// The stream of ACS_EVENT_OUTGOING_VIDEO_STATE_CHANGED, when the call sends one
    /// (borrowed: retain it to keep it); else NULL.
    pub local_video_stream: *mut acs_local_video_stream,
    /// ACS_EVENT_PUSH_NOTIFICATION: the push target's url of an (un)registration (NULL when
    /// all targets were unregistered), or the call id of ACS_PUSH_NOTIFICATION_CALL_REFUSED;
    /// else NULL. Appended for push notifications: read it only when `struct_size` covers it
    /// (struct_size >= offsetof(acs_event, push_subject) + sizeof(char *)).
    pub push_subject: *const c_char,
    /// ACS_EVENT_CALL_TRANSFER_STATE_CHANGED and ACS_EVENT_CALL_TRANSFER_REQUESTED: the raw
    /// id of the transfer's target ("8:acs:…", "4:+…"); else NULL. Appended for call
    /// transfer: read it only when `struct_size` covers it.
    pub transfer_target: *const c_char,
}

fn empty_event() -> acs_event {
    acs_event {
        struct_size: std::mem::size_of::<acs_event>() as u32,
        kind: 0,
        agent: std::ptr::null_mut(),
        call: std::ptr::null_mut(),
        participant: std::ptr::null_mut(),
        state: 0,
        code: 0,
        subcode: 0,
        flag: false,
        message: std::ptr::null(),
        device_manager: std::ptr::null_mut(),
        audio_device: std::ptr::null_mut(),
        camera: std::ptr::null_mut(),
        remote_video_stream: std::ptr::null_mut(),
        participant_id: std::ptr::null(),
        request_id: 0,
        dtmf_tone: -1,
        video_stream_kind: -1,
        local_video_stream: std::ptr::null_mut(),
        push_subject: std::ptr::null(),
        transfer_target: std::ptr::null(),
    }
}

/// Converts and delivers one device event (on the dispatch thread). Its handles are
/// borrowed for the callback.
pub(crate) fn deliver_device_event(
    cb: unsafe extern "C" fn(*mut c_void, *const acs_event),
    user_data: HostPtr,
    dm: &DeviceManager,
    ev: &DeviceEvent,
) {
    let mut e = empty_event();
    let dm_ptr: *mut acs_device_manager = handles::borrow(Object::DeviceManager(dm.clone()));
    e.device_manager = dm_ptr;
    let kind_of = |k: DeviceKind| match k {
        DeviceKind::Microphone => super::devices::ACS_DEVICE_KIND_MICROPHONE,
        DeviceKind::Speaker => super::devices::ACS_DEVICE_KIND_SPEAKER,
    };
    let mut dev_ptr: *mut acs_audio_device = std::ptr::null_mut();
    let mut cam_ptr: *mut acs_camera = std::ptr::null_mut();
    match ev {
        DeviceEvent::AudioDeviceAdded(d) | DeviceEvent::AudioDeviceRemoved(d) => {
            e.kind = if matches!(ev, DeviceEvent::AudioDeviceAdded(_)) {
                ACS_EVENT_AUDIO_DEVICE_ADDED
            } else {
                ACS_EVENT_AUDIO_DEVICE_REMOVED
            };
            e.state = kind_of(d.kind());
            dev_ptr = handles::borrow(Object::AudioDevice(d.clone()));
            e.audio_device = dev_ptr;
        }
        DeviceEvent::CameraAdded(c) | DeviceEvent::CameraRemoved(c) => {
            e.kind = if matches!(ev, DeviceEvent::CameraAdded(_)) {
                ACS_EVENT_CAMERA_ADDED
            } else {
                ACS_EVENT_CAMERA_REMOVED
            };
            cam_ptr = handles::borrow(Object::Camera(c.clone()));
            e.camera = cam_ptr;
        }
    }
    // SAFETY: the host's callback with a valid event for the duration of the call.
    unsafe { cb(user_data.0 as *mut c_void, &e) };
    handles::unborrow(dm_ptr as *const u8);
    if !dev_ptr.is_null() {
        handles::unborrow(dev_ptr as *const u8);
    }
    if !cam_ptr.is_null() {
        handles::unborrow(cam_ptr as *const u8);
    }
}

/// Receives events. `event` and everything it points to is borrowed for the call. The
/// callback may call any library function (no internal lock is held).
pub type acs_event_callback =
    Option<unsafe extern "C" fn(user_data: *mut c_void, event: *const acs_event)>;

/// Converts and delivers one event (on the dispatch thread).
pub(crate) fn deliver_event(
    cb: unsafe extern "C" fn(*mut c_void, *const acs_event),
    user_data: HostPtr,
    agent: &CallAgent,
    ev: &AgentEvent,
) {
    let mut e = empty_event();
    let mut message = None;
    let mut participant_id = None;
    let mut push_subject: Option<CString> = None;
    let mut transfer_target: Option<CString> = None;
    let mut held: Vec<Object> = vec![Object::Agent(agent.clone())];
    let set_reason = |e: &mut acs_event, r: &EndReason| {
        e.code = r.code;
        e.subcode = r.subcode;
    };
    match ev {
        AgentEvent::TransferStateChanged {
            call,
            state,
            target,
            reason,
        } => {
            e.kind = ACS_EVENT_CALL_TRANSFER_STATE_CHANGED;
            e.state = match state {
                TransferState::Requested => ACS_TRANSFER_STATE_REQUESTED,
                TransferState::Transferring => ACS_TRANSFER_STATE_TRANSFERRING,
                TransferState::Transferred => ACS_TRANSFER_STATE_TRANSFERRED,
                TransferState::Failed => ACS_TRANSFER_STATE_FAILED,
            };
            set_reason(&mut e, reason);
            transfer_target = CString::new(target.replace('\0', " ")).ok();
            held.push(Object::Call(call.clone()));
        }
        AgentEvent::TransferRequested {
            call,
            transferor,
            target,
        } => {
            e.kind = ACS_EVENT_CALL_TRANSFER_REQUESTED;
            transfer_target = CString::new(target.replace('\0', " ")).ok();
            participant_id = CString::new(transferor.replace('\0', " ")).ok();
            if let Some(p) = call
                .remote_participants()
                .into_iter()
                .find(|p| p.identifier() == transferor)
            {
                held.push(Object::Participant(p));
            }
            held.push(Object::Call(call.clone()));
        }
        AgentEvent::MutedByOthers { call, by } => {
            e.kind = ACS_EVENT_CALL_MUTED_BY_OTHERS;
            e.flag = true;
            participant_id = CString::new(by.replace('\0', " ")).ok();
            if let Some(p) = call
                .remote_participants()
                .into_iter()
                .find(|p| p.identifier() == by)
            {
                held.push(Object::Participant(p));
            }
            held.push(Object::Call(call.clone()));
        }
        AgentEvent::CallActionFailed {
            call,
            action,
            participant,
            reason,
            message: m,
        } => {
            e.kind = ACS_EVENT_CALL_ACTION_FAILED;
            e.state = *action as i32;
            set_reason(&mut e, reason);
            message = CString::new(m.replace('\0', " ")).ok();
            if !participant.is_empty() {
                participant_id = CString::new(participant.replace('\0', " ")).ok();
            }
            held.push(Object::Call(call.clone()));
        }
        AgentEvent::ConnectionStateChanged {
            state,
            reason,
            message: m,
        } => {
            e.kind = ACS_EVENT_AGENT_CONNECTION_STATE_CHANGED;
            e.state = *state as i32;
            set_reason(&mut e, reason);
            if !m.is_empty() {
                message = CString::new(m.replace('\0', " ")).ok();
            }
        }
        AgentEvent::PushNotification {
            result,
            reason,
            message: m,
            url,
            call_id,
        } => {
            e.kind = ACS_EVENT_PUSH_NOTIFICATION;
            e.state = *result as i32;
            set_reason(&mut e, reason);
            if !m.is_empty() {
                message = CString::new(m.replace('\0', " ")).ok();
            }
            let subject = if call_id.is_empty() { url } else { call_id };
            if !subject.is_empty() {
                push_subject = CString::new(subject.replace('\0', " ")).ok();
            }
        }
        AgentEvent::IncomingCall { call } => {
            e.kind = ACS_EVENT_INCOMING_CALL;
            e.state = call.state() as i32;
            held.push(Object::Call(call.clone()));
        }
        AgentEvent::CallStateChanged {
            call,
            state,
            reason,
        } => {
            e.kind = ACS_EVENT_CALL_STATE_CHANGED;
            e.state = *state as i32;
            set_reason(&mut e, reason);
            held.push(Object::Call(call.clone()));
        }
        AgentEvent::CallMuteChanged { call, muted } => {
            e.kind = ACS_EVENT_CALL_MUTE_CHANGED;
            e.flag = *muted;
            held.push(Object::Call(call.clone()));
        }
        AgentEvent::ParticipantAdded { call, participant } => {
            e.kind = ACS_EVENT_PARTICIPANT_ADDED;
            e.state = participant.state() as i32;
            held.push(Object::Call(call.clone()));
            held.push(Object::Participant(participant.clone()));
        }
        AgentEvent::ParticipantRemoved {
            call,
            participant,
            reason,
        } => {
            e.kind = ACS_EVENT_PARTICIPANT_REMOVED;
            e.state = participant.state() as i32;
            set_reason(&mut e, reason);
            held.push(Object::Call(call.clone()));
            held.push(Object::Participant(participant.clone()));
        }
        AgentEvent::ParticipantStateChanged {
            call,
            participant,
            state,
        } => {
            e.kind = ACS_EVENT_PARTICIPANT_STATE_CHANGED;
            e.state = *state as i32;
            set_reason(&mut e, &participant.end_reason());
            held.push(Object::Call(call.clone()));
            held.push(Object::Participant(participant.clone()));
        }
        AgentEvent::ParticipantMuteChanged {
            call,
            participant,
            muted,
        } => {
            e.kind = ACS_EVENT_PARTICIPANT_MUTE_CHANGED;
            e.flag = *muted;
            held.push(Object::Call(call.clone()));
            held.push(Object::Participant(participant.clone()));
        }
        AgentEvent::ParticipantSpeakingChanged {
            call,
            participant,
            speaking,
        } => {
            e.kind = ACS_EVENT_PARTICIPANT_SPEAKING_CHANGED;
            e.flag = *speaking;
            e.state = participant.state() as i32;
            held.push(Object::Call(call.clone()));
            held.push(Object::Participant(participant.clone()));
        }
        AgentEvent::DominantSpeakersChanged { call } => {
            e.kind = ACS_EVENT_DOMINANT_SPEAKERS_CHANGED;
            held.push(Object::Call(call.clone()));
        }
        AgentEvent::MediaStatistics { call } => {
            e.kind = ACS_EVENT_CALL_MEDIA_STATISTICS;
            held.push(Object::Call(call.clone()));
        }
        AgentEvent::NetworkReconnect { call, reconnecting } => {
            e.kind = ACS_EVENT_CALL_NETWORK_RECONNECT;
            e.state = if *reconnecting {
                ACS_NETWORK_RECONNECT_POOR
            } else {
                ACS_NETWORK_RECONNECT_GOOD
            };
            e.flag = *reconnecting;
            held.push(Object::Call(call.clone()));
        }
        AgentEvent::RemoteVideoStreamAvailabilityChanged {
            call,
            participant,
            stream,
            available,
        } => {
            e.kind = ACS_EVENT_REMOTE_VIDEO_STREAM_AVAILABILITY_CHANGED;
            e.flag = *available;
            e.state = stream.kind() as i32;
            e.video_stream_kind = stream.kind() as i32;
            held.push(Object::Call(call.clone()));
            held.push(Object::Participant(participant.clone()));
            held.push(Object::RemoteVideoStream(stream.clone()));
        }
        AgentEvent::DtmfSendCompleted {
            call,
            request_id,
            tone,
            result,
        } => {
            e.kind = ACS_EVENT_DTMF_SEND_COMPLETED;
            e.request_id = *request_id;
            e.dtmf_tone = super::phone::dtmf_tone_number(*tone);
            if let Err((reason, m)) = result {
                set_reason(&mut e, reason);
                message = CString::new(m.replace('\0', " ")).ok();
            }
            held.push(Object::Call(call.clone()));
        }
        AgentEvent::OutgoingVideoStateChanged {
            call,
            kind,
            stream,
            state,
            reason,
            message: m,
        } => {
            e.kind = ACS_EVENT_OUTGOING_VIDEO_STATE_CHANGED;
            e.state = *state as i32;
            e.video_stream_kind = *kind as i32;
            set_reason(&mut e, reason);
            if !m.is_empty() {
                message = CString::new(m.replace('\0', " ")).ok();
            }
            held.push(Object::Call(call.clone()));
            if let Some(s) = stream {
                held.push(Object::LocalVideoStream(s.clone()));
            }
        }
        AgentEvent::DtmfReceived {
            call,
            participant,
            participant_id: id,
            tone,
        } => {
            e.kind = ACS_EVENT_DTMF_RECEIVED;
            e.dtmf_tone = super::phone::dtmf_tone_number(*tone);
            participant_id = CString::new(id.replace('\0', " ")).ok();
            held.push(Object::Call(call.clone()));
            if let Some(p) = participant {
                held.push(Object::Participant(p.clone()));
            }
        }
    }
    if let Some(m) = &message {
        e.message = m.as_ptr();
    }
    if let Some(id) = &participant_id {
        e.participant_id = id.as_ptr();
    }
    if let Some(s) = &push_subject {
        e.push_subject = s.as_ptr();
    }
    if let Some(s) = &transfer_target {
        e.transfer_target = s.as_ptr();
    }
    // Borrowed handles: one reference each for the duration of the callback.
    let ptrs: Vec<*mut u8> = held
        .iter()
        .filter_map(|o| {
            let p: *mut u8 = match o {
                Object::Agent(_) => {
                    e.agent = handles::borrow(o.clone());
                    e.agent.cast()
                }
                Object::Call(_) => {
                    e.call = handles::borrow(o.clone());
                    e.call.cast()
                }
                Object::Participant(_) => {
                    e.participant = handles::borrow(o.clone());
                    e.participant.cast()
                }
                Object::RemoteVideoStream(_) => {
                    e.remote_video_stream = handles::borrow(o.clone());
                    e.remote_video_stream.cast()
                }
                Object::LocalVideoStream(_) => {
                    e.local_video_stream = handles::borrow(o.clone());
                    e.local_video_stream.cast()
                }
                _ => return None,
            };
            Some(p)
        })
        .collect();
    // SAFETY: the host's callback with a valid event for the duration of the call.
    unsafe { cb(user_data.0 as *mut c_void, &e) };
    for p in ptrs {
        handles::unborrow(p as *const u8);
    }
}
