//! acs_call_* and acs_remote_participant_*: call control, state and roster.

use super::handles::{
    self, acs_audio_device, acs_call, acs_call_agent, acs_remote_participant, Object,
};
use super::sized::{check_out, extensible, init_out, init_sized, read_in_or_default, write_out};
use super::status::*;
use super::strings::*;
use crate::client::{CallOptions, StartCallOptions};
use std::ffi::c_char;

/// Call states (ACS numbering).
pub const ACS_CALL_STATE_NONE: i32 = 0;
/// Early media: the callee plays audio (e.g. a phone announcement) before answering.
pub const ACS_CALL_STATE_EARLY_MEDIA: i32 = 1;
/// An incoming call not yet accepted or rejected.
pub const ACS_CALL_STATE_INCOMING: i32 = 2;
/// The call is being set up.
pub const ACS_CALL_STATE_CONNECTING: i32 = 3;
/// The callee is being alerted.
pub const ACS_CALL_STATE_RINGING: i32 = 4;
/// The call is connected: media flows.
pub const ACS_CALL_STATE_CONNECTED: i32 = 5;
/// This side put the call on hold (acs_call_hold).
pub const ACS_CALL_STATE_LOCAL_HOLD: i32 = 6;
/// The call is ending.
pub const ACS_CALL_STATE_DISCONNECTING: i32 = 7;
/// The call ended; acs_call_get_end_reason says why.
pub const ACS_CALL_STATE_DISCONNECTED: i32 = 8;
/// Waiting in the lobby of a group call.
pub const ACS_CALL_STATE_IN_LOBBY: i32 = 9;
/// The other side put the call on hold.
pub const ACS_CALL_STATE_REMOTE_HOLD: i32 = 10;

/// Participant states (ACS numbering).
pub const ACS_PARTICIPANT_STATE_IDLE: i32 = 0;
/// The participant plays early media before answering.
pub const ACS_PARTICIPANT_STATE_EARLY_MEDIA: i32 = 1;
/// The participant is being connected.
pub const ACS_PARTICIPANT_STATE_CONNECTING: i32 = 2;
/// The participant is in the call.
pub const ACS_PARTICIPANT_STATE_CONNECTED: i32 = 3;
/// The participant put the call on hold.
pub const ACS_PARTICIPANT_STATE_HOLD: i32 = 4;
/// The participant waits in the lobby.
pub const ACS_PARTICIPANT_STATE_IN_LOBBY: i32 = 5;
/// The participant left; acs_remote_participant_get_end_reason says why.
pub const ACS_PARTICIPANT_STATE_DISCONNECTED: i32 = 6;
/// The participant is being alerted.
pub const ACS_PARTICIPANT_STATE_RINGING: i32 = 7;

/// Call directions.
pub const ACS_CALL_DIRECTION_OUTGOING: i32 = 0;
/// A call this agent received.
pub const ACS_CALL_DIRECTION_INCOMING: i32 = 1;

/// Options for starting or accepting a call. Initialise with acs_call_options_init.
#[repr(C)]
pub struct acs_call_options {
    /// sizeof(acs_call_options), set by the init function.
    pub struct_size: u32,
    /// Microphone for this call, or NULL for the device manager's selection.
    pub microphone: *mut acs_audio_device,
    /// Speaker for this call, or NULL for the device manager's selection.
    pub speaker: *mut acs_audio_device,
    /// Join with the microphone muted.
    pub start_muted: bool,
    /// The phone number that phone-number targets of acs_call_agent_start_call see as the
    /// caller (ACS's alternate caller id), as a raw id "4:+15551234567" ("4:1555…" is
    /// accepted); it must be one the service lets this user present. NULL or "" (the
    /// default): the service's default number. Not a phone number: acs_call_agent_start_call
    /// fails with ACS_ERR_INVALID_ARGUMENT. acs_call_accept and acs_call_agent_join ignore
    /// it. Copied. (Appended after start_muted: a host's older, shorter struct reads as NULL.)
    pub alternate_caller_id: *const c_char,
}

extensible!(acs_call_options, first_version_ends_with: start_muted, defaults: acs_call_options {
    struct_size: 0,
    microphone: std::ptr::null_mut(),
    speaker: std::ptr::null_mut(),
    start_muted: false,
    alternate_caller_id: std::ptr::null(),
});

/// Fills `options` with defaults.
/// Writes today's whole struct (the library's sizeof): it overruns the shorter struct of a
/// host compiled against an older header. Use ACS_CALL_OPTIONS_INIT(p)
/// (acs_call_options_init_sized).
#[no_mangle]
pub unsafe extern "C" fn acs_call_options_init(options: *mut acs_call_options) -> acs_status {
    // SAFETY: NULL or the host's struct.
    guard(|| unsafe { init_out(options, "options") })
}

/// As acs_call_options_init, into the host's struct of `size` bytes
/// (ACS_CALL_OPTIONS_INIT(p) passes sizeof *p): see "Sized init" in the header's
/// conventions.
#[no_mangle]
pub unsafe extern "C" fn acs_call_options_init_sized(
    options: *mut acs_call_options,
    size: usize,
) -> acs_status {
    // SAFETY: NULL or the host's struct of `size` bytes.
    guard(|| unsafe { init_sized(options, size, "options") })
}

pub(crate) fn call_options(o: *const acs_call_options) -> FfiResult<CallOptions> {
    start_call_options(o).map(|(o, _)| o)
}

/// The options of acs_call_agent_start_call, with its caller id.
fn start_call_options(o: *const acs_call_options) -> FfiResult<(CallOptions, StartCallOptions)> {
    if o.is_null() {
        return Ok(Default::default());
    }
    // SAFETY: the host's struct of struct_size bytes.
    let o = unsafe { read_in_or_default(o, "options") }?;
    let dev = |p: *mut acs_audio_device| -> FfiResult<_> {
        if p.is_null() {
            Ok(None)
        } else {
            handles::audio_device(p).map(Some)
        }
    };
    let call = CallOptions {
        microphone: dev(o.microphone)?,
        speaker: dev(o.speaker)?,
        start_muted: o.start_muted,
    };
    let start = StartCallOptions {
        alternate_caller_id: opt_str_in(o.alternate_caller_id, "alternate_caller_id")?,
    };
    Ok((call, start))
}

/// Starts a call to `participant_ids` (`count` raw ids: "8:acs:…", "4:+1555…", "8:echo123").
/// Returns at once with the call in state CONNECTING (+1 reference: release it); progress
/// arrives as events. Fails with ACS_ERR_DEVICE when the microphone or speaker cannot be
/// opened, ACS_ERR_INVALID_ARGUMENT for a malformed id or an `options->alternate_caller_id`
/// that is not a phone number. `options` may be NULL.
/// A call to a phone number may go CONNECTING → [RINGING] → EARLY_MEDIA (the callee's
/// network plays ringback or an announcement, which is played to the speaker) → CONNECTED,
/// or end from EARLY_MEDIA with the network's reason (e.g. 486/560486 busy); its setup
/// times out after 115 s (ACS's PSTN setup time) rather than 85 s.
#[no_mangle]
pub unsafe extern "C" fn acs_call_agent_start_call(
    agent: *mut acs_call_agent,
    participant_ids: *const *const c_char,
    count: usize,
    options: *const acs_call_options,
    out_call: *mut *mut acs_call,
) -> acs_status {
    guard(|| {
        need(out_call, "out_call")?;
        let a = handles::agent(agent)?;
        if participant_ids.is_null() {
            return Err(FfiError::new(
                ACS_ERR_NULL_POINTER,
                "participant_ids is NULL",
            ));
        }
        if count == 0 || count > 1000 {
            return Err(FfiError::new(
                ACS_ERR_INVALID_ARGUMENT,
                format!("count must be 1..=1000, got {count}"),
            ));
        }
        let mut ids = Vec::with_capacity(count);
        for i in 0..count {
            // SAFETY: the caller gives `count` string pointers.
            let p = unsafe { *participant_ids.add(i) };
            ids.push(str_in(p, "participant id")?);
        }
        let (opts, start) = start_call_options(options)?;
        let call = a.start_call_with_options(&ids, opts, &start)?;
        out(out_call, handles::acquire(Object::Call(call)), "out_call")
    })
}

/// Adds a reference to the call.
#[no_mangle]
pub extern "C" fn acs_call_retain(call: *mut acs_call) -> acs_status {
    guard(|| handles::retain(call, handles::Kind::Call))
}

/// Drops a reference (the call itself goes on until it ends). NULL is OK.
#[no_mangle]
pub extern "C" fn acs_call_release(call: *mut acs_call) -> acs_status {
    guard(|| handles::release(call, handles::Kind::Call).map(|_| ()))
}

/// Accepts an incoming call (state INCOMING). `options` may be NULL.
#[no_mangle]
pub unsafe extern "C" fn acs_call_accept(
    call: *mut acs_call,
    options: *const acs_call_options,
) -> acs_status {
    guard(|| {
        let c = handles::call(call)?;
        let o = call_options(options)?;
        Ok(c.accept(o)?)
    })
}

/// Declines an incoming call; the caller sees end reason 603.
#[no_mangle]
pub extern "C" fn acs_call_reject(call: *mut acs_call) -> acs_status {
    guard(|| Ok(handles::call(call)?.reject()?))
}

/// Leaves the call (`for_everyone` ends it for all). Ends in DISCONNECTED with reason 0/0.
#[no_mangle]
pub extern "C" fn acs_call_hang_up(call: *mut acs_call, for_everyone: bool) -> acs_status {
    guard(|| Ok(handles::call(call)?.hang_up(for_everyone)?))
}

/// Mutes the local microphone: the others hear silence and see the muted flag.
#[no_mangle]
pub extern "C" fn acs_call_mute(call: *mut acs_call) -> acs_status {
    guard(|| Ok(handles::call(call)?.set_muted(true)?))
}

/// Unmutes the local microphone.
#[no_mangle]
pub extern "C" fn acs_call_unmute(call: *mut acs_call) -> acs_status {
    guard(|| Ok(handles::call(call)?.set_muted(false)?))
}

/// Puts a connected call on hold (LOCAL_HOLD here, REMOTE_HOLD / participant HOLD there);
/// media stops both ways.
#[no_mangle]
pub extern "C" fn acs_call_hold(call: *mut acs_call) -> acs_status {
    guard(|| Ok(handles::call(call)?.set_hold(true)?))
}

/// Resumes a call this side put on hold.
#[no_mangle]
pub extern "C" fn acs_call_resume(call: *mut acs_call) -> acs_status {
    guard(|| Ok(handles::call(call)?.set_hold(false)?))
}

/// Switches the microphone mid-call (mute state kept).
#[no_mangle]
pub extern "C" fn acs_call_set_microphone(
    call: *mut acs_call,
    device: *mut acs_audio_device,
) -> acs_status {
    guard(|| {
        let c = handles::call(call)?;
        let d = handles::audio_device(device)?;
        Ok(c.set_microphone(&d)?)
    })
}

/// Switches the speaker mid-call.
#[no_mangle]
pub extern "C" fn acs_call_set_speaker(
    call: *mut acs_call,
    device: *mut acs_audio_device,
) -> acs_status {
    guard(|| {
        let c = handles::call(call)?;
        let d = handles::audio_device(device)?;
        Ok(c.set_speaker(&d)?)
    })
}

/// Current state (ACS_CALL_STATE_*).
#[no_mangle]
pub unsafe extern "C" fn acs_call_get_state(
    call: *mut acs_call,
    out_state: *mut i32,
) -> acs_status {
    guard(|| {
        let s = handles::call(call)?.state();
        out(out_state, call_state(s), "out_state")
    })
}

/// ACS_CALL_DIRECTION_OUTGOING or _INCOMING.
#[no_mangle]
pub unsafe extern "C" fn acs_call_get_direction(
    call: *mut acs_call,
    out_direction: *mut i32,
) -> acs_status {
    guard(|| {
        out(
            out_direction,
            call_direction(handles::call(call)?.direction()),
            "out_direction",
        )
    })
}

/// Whether the local microphone is muted in this call.
#[no_mangle]
pub unsafe extern "C" fn acs_call_is_muted(
    call: *mut acs_call,
    out_muted: *mut bool,
) -> acs_status {
    guard(|| out(out_muted, handles::call(call)?.is_muted(), "out_muted"))
}

/// Why the call ended (0/0 while it has not).
#[no_mangle]
pub unsafe extern "C" fn acs_call_get_end_reason(
    call: *mut acs_call,
    out_code: *mut i32,
    out_subcode: *mut i32,
) -> acs_status {
    guard(|| {
        need(out_code, "out_code")?;
        need(out_subcode, "out_subcode")?;
        let r = handles::call(call)?.end_reason();
        out(out_code, r.code, "out_code")?;
        out(out_subcode, r.subcode, "out_subcode")
    })
}

/// The call id (shared by every participant).
#[no_mangle]
pub unsafe extern "C" fn acs_call_get_id(
    call: *mut acs_call,
    buf: *mut c_char,
    capacity: usize,
    needed: *mut usize,
) -> acs_status {
    guard(|| {
        let c = handles::call(call)?;
        str_out(c.call_id(), buf, capacity, needed)
    })
}

/// Number of remote participants in the roster.
#[no_mangle]
pub unsafe extern "C" fn acs_call_get_remote_participant_count(
    call: *mut acs_call,
    out_count: *mut usize,
) -> acs_status {
    guard(|| {
        out(
            out_count,
            handles::call(call)?.remote_participants().len(),
            "out_count",
        )
    })
}

/// The `index`-th remote participant (+1 reference: release it).
#[no_mangle]
pub unsafe extern "C" fn acs_call_get_remote_participant(
    call: *mut acs_call,
    index: usize,
    out_participant: *mut *mut acs_remote_participant,
) -> acs_status {
    guard(|| {
        need(out_participant, "out_participant")?;
        let p = handles::call(call)?
            .remote_participants()
            .get(index)
            .cloned()
            .ok_or_else(|| {
                FfiError::new(
                    ACS_ERR_NOT_FOUND,
                    format!("no participant at index {index}"),
                )
            })?;
        out(
            out_participant,
            handles::acquire(Object::Participant(p)),
            "out_participant",
        )
    })
}

/// Audio counters of a call (for diagnostics and tests; acs_call_get_audio_stats).
/// FROZEN first version: it has no struct_size, so it can never grow. It stays, byte for
/// byte, for hosts compiled against it; new code uses acs_call_audio_statistics.
#[repr(C)]
pub struct acs_call_audio_stats {
    /// 20 ms audio frames sent.
    pub frames_sent: u64,
    /// Audio frames received from the network.
    pub frames_received: u64,
    /// Audio frames played to the speaker.
    pub frames_played: u64,
    /// Frames concealed (packet loss concealment) because none arrived in time.
    pub frames_concealed: u64,
}

/// Audio counters of a call (acs_call_get_audio_statistics): the fields of
/// acs_call_audio_stats after a struct_size, so that fields can be appended. (A new struct,
/// because a struct_size inserted into acs_call_audio_stats would move its fields for every
/// host compiled against it.)
#[repr(C)]
#[derive(Default)]
pub struct acs_call_audio_statistics {
    /// Set by the host: sizeof(acs_call_audio_statistics) as it was compiled
    /// (acs_call_audio_statistics_init sets it). The library writes no more, and sets it to
    /// what it wrote.
    pub struct_size: u32,
    /// 20 ms audio frames sent.
    pub frames_sent: u64,
    /// Audio frames received from the network.
    pub frames_received: u64,
    /// Audio frames played to the speaker.
    pub frames_played: u64,
    /// Frames concealed (packet loss concealment) because none arrived in time.
    pub frames_concealed: u64,
}

extensible!(acs_call_audio_statistics, first_version_ends_with: frames_concealed,
    defaults: acs_call_audio_statistics::default());

/// Fills `stats` for acs_call_get_audio_statistics: struct_size set, the rest 0.
/// Writes today's whole struct (the library's sizeof): it overruns the shorter struct of a
/// host compiled against an older header. Use ACS_CALL_AUDIO_STATISTICS_INIT(p)
/// (acs_call_audio_statistics_init_sized).
#[no_mangle]
pub unsafe extern "C" fn acs_call_audio_statistics_init(
    stats: *mut acs_call_audio_statistics,
) -> acs_status {
    // SAFETY: NULL or the host's struct.
    guard(|| unsafe { init_out(stats, "stats") })
}

/// As acs_call_audio_statistics_init, into the host's struct of `size` bytes
/// (ACS_CALL_AUDIO_STATISTICS_INIT(p) passes sizeof *p): see "Sized init" in the header's
/// conventions.
#[no_mangle]
pub unsafe extern "C" fn acs_call_audio_statistics_init_sized(
    stats: *mut acs_call_audio_statistics,
    size: usize,
) -> acs_status {
    // SAFETY: NULL or the host's struct of `size` bytes.
    guard(|| unsafe { init_sized(stats, size, "stats") })
}

/// Reads the call's audio counters, written up to out_stats->struct_size.
#[no_mangle]
pub unsafe extern "C" fn acs_call_get_audio_statistics(
    call: *const acs_call,
    out_stats: *mut acs_call_audio_statistics,
) -> acs_status {
    guard(|| {
        let s = handles::call(call)?.audio_stats();
        // SAFETY: NULL or the host's struct of struct_size bytes.
        unsafe { check_out(out_stats, "out_stats") }?;
        let v = acs_call_audio_statistics {
            struct_size: 0,
            frames_sent: s.frames_sent,
            frames_received: s.frames_received,
            frames_played: s.frames_played,
            frames_concealed: s.frames_concealed,
        };
        // SAFETY: as above.
        unsafe { write_out(out_stats, v, "out_stats") }
    })
}

/// Reads the call's audio counters (the frozen acs_call_audio_stats; see
/// acs_call_get_audio_statistics).
#[no_mangle]
pub unsafe extern "C" fn acs_call_get_audio_stats(
    call: *mut acs_call,
    out_stats: *mut acs_call_audio_stats,
) -> acs_status {
    guard(|| {
        let s = handles::call(call)?.audio_stats();
        out(
            out_stats,
            acs_call_audio_stats {
                frames_sent: s.frames_sent,
                frames_received: s.frames_received,
                frames_played: s.frames_played,
                frames_concealed: s.frames_concealed,
            },
            "out_stats",
        )
    })
}

/// Adds a reference to the participant.
#[no_mangle]
pub extern "C" fn acs_remote_participant_retain(p: *mut acs_remote_participant) -> acs_status {
    guard(|| handles::retain(p, handles::Kind::Participant))
}

/// Drops a reference. NULL is OK.
#[no_mangle]
pub extern "C" fn acs_remote_participant_release(p: *mut acs_remote_participant) -> acs_status {
    guard(|| handles::release(p, handles::Kind::Participant).map(|_| ()))
}

/// The participant's raw identifier.
#[no_mangle]
pub unsafe extern "C" fn acs_remote_participant_get_identifier(
    p: *mut acs_remote_participant,
    buf: *mut c_char,
    capacity: usize,
    needed: *mut usize,
) -> acs_status {
    guard(|| {
        let rp = handles::participant(p)?;
        str_out(rp.identifier(), buf, capacity, needed)
    })
}

/// The participant's display name.
#[no_mangle]
pub unsafe extern "C" fn acs_remote_participant_get_display_name(
    p: *mut acs_remote_participant,
    buf: *mut c_char,
    capacity: usize,
    needed: *mut usize,
) -> acs_status {
    guard(|| {
        let rp = handles::participant(p)?;
        str_out(&rp.display_name(), buf, capacity, needed)
    })
}

/// Participant state (ACS_PARTICIPANT_STATE_*).
#[no_mangle]
pub unsafe extern "C" fn acs_remote_participant_get_state(
    p: *mut acs_remote_participant,
    out_state: *mut i32,
) -> acs_status {
    guard(|| {
        out(
            out_state,
            participant_state(handles::participant(p)?.state()),
            "out_state",
        )
    })
}

/// Whether the participant is muted.
#[no_mangle]
pub unsafe extern "C" fn acs_remote_participant_is_muted(
    p: *mut acs_remote_participant,
    out_muted: *mut bool,
) -> acs_status {
    guard(|| out(out_muted, handles::participant(p)?.is_muted(), "out_muted"))
}

/// Why the participant left (0/0 while present).
#[no_mangle]
pub unsafe extern "C" fn acs_remote_participant_get_end_reason(
    p: *mut acs_remote_participant,
    out_code: *mut i32,
    out_subcode: *mut i32,
) -> acs_status {
    guard(|| {
        need(out_code, "out_code")?;
        need(out_subcode, "out_subcode")?;
        let r = handles::participant(p)?.end_reason();
        out(out_code, r.code, "out_code")?;
        out(out_subcode, r.subcode, "out_subcode")
    })
}

use super::numbering::c_numbers;
use crate::client::CallDirection;
use crate::protocol::{CallState, ParticipantState};

c_numbers! {
    /// ACS_CALL_STATE_* of a call state (the ACS numbering).
    call_state(CallState) {
        CallState::None => ACS_CALL_STATE_NONE,
        CallState::EarlyMedia => ACS_CALL_STATE_EARLY_MEDIA,
        CallState::Incoming => ACS_CALL_STATE_INCOMING,
        CallState::Connecting => ACS_CALL_STATE_CONNECTING,
        CallState::Ringing => ACS_CALL_STATE_RINGING,
        CallState::Connected => ACS_CALL_STATE_CONNECTED,
        CallState::LocalHold => ACS_CALL_STATE_LOCAL_HOLD,
        CallState::Disconnecting => ACS_CALL_STATE_DISCONNECTING,
        CallState::Disconnected => ACS_CALL_STATE_DISCONNECTED,
        CallState::InLobby => ACS_CALL_STATE_IN_LOBBY,
        CallState::RemoteHold => ACS_CALL_STATE_REMOTE_HOLD,
    }
}

c_numbers! {
    /// ACS_PARTICIPANT_STATE_* of a participant state (the ACS numbering).
    participant_state(ParticipantState) {
        ParticipantState::Idle => ACS_PARTICIPANT_STATE_IDLE,
        ParticipantState::EarlyMedia => ACS_PARTICIPANT_STATE_EARLY_MEDIA,
        ParticipantState::Connecting => ACS_PARTICIPANT_STATE_CONNECTING,
        ParticipantState::Connected => ACS_PARTICIPANT_STATE_CONNECTED,
        ParticipantState::Hold => ACS_PARTICIPANT_STATE_HOLD,
        ParticipantState::InLobby => ACS_PARTICIPANT_STATE_IN_LOBBY,
        ParticipantState::Disconnected => ACS_PARTICIPANT_STATE_DISCONNECTED,
        ParticipantState::Ringing => ACS_PARTICIPANT_STATE_RINGING,
    }
}

c_numbers! {
    /// ACS_CALL_DIRECTION_* of a call direction.
    call_direction(CallDirection) {
        CallDirection::Outgoing => ACS_CALL_DIRECTION_OUTGOING,
        CallDirection::Incoming => ACS_CALL_DIRECTION_INCOMING,
    }
}

/// A call's media statistics (acs_call_get_media_statistics): a sample of its
/// PeerConnection's RTP, RTCP and ICE statistics and of its audio and video engines, taken
/// every interval (1 s, or what acs_call_set_media_statistics_interval set) once the host
/// has asked for statistics (a call nobody asks about is not sampled). Bitrates and
/// the send frame rate are over the last interval; counters since the media started.
/// Initialise with ACS_CALL_MEDIA_STATISTICS_INIT(p).
#[repr(C)]
#[derive(Default)]
pub struct acs_call_media_statistics {
    /// Set by the host: sizeof(acs_call_media_statistics) as it was compiled. The library
    /// writes no more, and sets it to what it wrote.
    pub struct_size: u32,
    /// When the sample was taken (Unix ms).
    pub timestamp_ms: u64,
    /// Round-trip time to the service's media server in ms (ICE consent checks); -1 when
    /// not measured yet.
    pub rtt_ms: f64,
    /// Audio RTP packets sent.
    pub audio_packets_sent: u64,
    /// Audio RTP bytes sent.
    pub audio_bytes_sent: u64,
    /// Audio send bitrate over the last interval (RTP payload, bits per second).
    pub audio_send_bitrate_bps: u64,
    /// Audio RTP packets received (every receive slot).
    pub audio_packets_received: u64,
    /// Audio packets lost on the way to us (RFC 3550 cumulative; may be negative with
    /// duplicates).
    pub audio_packets_lost: i64,
    /// The largest interarrival jitter of the audio receive slots, in ms.
    pub audio_jitter_ms: f64,
    /// Audio receive bitrate over the last interval.
    pub audio_receive_bitrate_bps: u64,
    /// Audio frames played to the speaker.
    pub audio_frames_played: u64,
    /// Audio frames concealed because none arrived in time.
    pub audio_frames_concealed: u64,
    /// Video RTP packets sent (camera and screen share).
    pub video_packets_sent: u64,
    /// Video send bitrate over the last interval.
    pub video_send_bitrate_bps: u64,
    /// Camera frames encoded per second over the last interval.
    pub video_send_fps: f64,
    /// Width of the last encoded camera frame (0 when no camera is sent).
    pub video_send_width: u32,
    /// Height of the last encoded camera frame (0 when no camera is sent).
    pub video_send_height: u32,
    /// Incoming video streams with packets (subscribed cameras and screen share).
    pub video_receive_streams: u32,
    /// Video RTP packets received.
    pub video_packets_received: u64,
    /// Video packets lost on the way to us.
    pub video_packets_lost: i64,
    /// The largest interarrival jitter of the incoming video streams, in ms.
    pub video_jitter_ms: f64,
    /// Video receive bitrate over the last interval.
    pub video_receive_bitrate_bps: u64,
}

extensible!(acs_call_media_statistics, first_version_ends_with: video_receive_bitrate_bps,
    defaults: acs_call_media_statistics { rtt_ms: -1.0, ..Default::default() });

/// As acs_call_audio_statistics_init_sized, for acs_call_media_statistics
/// (ACS_CALL_MEDIA_STATISTICS_INIT(p) passes sizeof *p).
#[no_mangle]
pub unsafe extern "C" fn acs_call_media_statistics_init_sized(
    stats: *mut acs_call_media_statistics,
    size: usize,
) -> acs_status {
    // SAFETY: NULL or the host's struct of `size` bytes.
    guard(|| unsafe { init_sized(stats, size, "stats") })
}

/// Reads the call's newest media statistics sample, written up to out_stats->struct_size.
/// ACS_ERR_INVALID_STATE before the first sample: the first call starts the sampler, which
/// takes a sample at once when the call's media is up (then every interval), so poll again.
#[no_mangle]
pub unsafe extern "C" fn acs_call_get_media_statistics(
    call: *const acs_call,
    out_stats: *mut acs_call_media_statistics,
) -> acs_status {
    guard(|| {
        let call = handles::call(call)?;
        // SAFETY: NULL or the host's struct of struct_size bytes.
        unsafe { check_out(out_stats, "out_stats") }?;
        let s = call.media_statistics().ok_or_else(|| {
            crate::error::Error::InvalidState("no media statistics sample yet".into())
        })?;
        let v = acs_call_media_statistics {
            struct_size: 0,
            timestamp_ms: s.timestamp_ms,
            rtt_ms: s.rtt_ms.unwrap_or(-1.0),
            audio_packets_sent: s.audio_packets_sent,
            audio_bytes_sent: s.audio_bytes_sent,
            audio_send_bitrate_bps: s.audio_send_bitrate_bps,
            audio_packets_received: s.audio_packets_received,
            audio_packets_lost: s.audio_packets_lost,
            audio_jitter_ms: s.audio_jitter_ms,
            audio_receive_bitrate_bps: s.audio_receive_bitrate_bps,
            audio_frames_played: s.audio_frames_played,
            audio_frames_concealed: s.audio_frames_concealed,
            video_packets_sent: s.video_packets_sent,
            video_send_bitrate_bps: s.video_send_bitrate_bps,
            video_send_fps: s.video_send_fps,
            video_send_width: s.video_send_width,
            video_send_height: s.video_send_height,
            video_receive_streams: s.video_receive_streams,
            video_packets_received: s.video_packets_received,
            video_packets_lost: s.video_packets_lost,
            video_jitter_ms: s.video_jitter_ms,
            video_receive_bitrate_bps: s.video_receive_bitrate_bps,
        };
        // SAFETY: as above.
        unsafe { write_out(out_stats, v, "out_stats") }
    })
}

/// Samples the call's media statistics every `interval_ms` (at least 100) and raises
/// ACS_EVENT_CALL_MEDIA_STATISTICS after each sample (the first at once); 0 stops the
/// events (the call goes on sampling every second for acs_call_get_media_statistics).
#[no_mangle]
pub extern "C" fn acs_call_set_media_statistics_interval(
    call: *mut acs_call,
    interval_ms: u32,
) -> acs_status {
    guard(|| {
        let call = handles::call(call)?;
        call.set_media_statistics_interval(
            (interval_ms > 0).then(|| std::time::Duration::from_millis(interval_ms.into())),
        );
        Ok(())
    })
}
