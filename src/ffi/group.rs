//! Group calls through the C ABI: join by group id, add and remove participants, speaking
//! flags and dominant speakers.

use super::call::acs_call_options;
use super::call::call_options;
use super::handles::{self, acs_call, acs_call_agent, acs_remote_participant, Object};
use super::status::*;
use super::strings::*;
use std::ffi::c_char;

/// Joins the group call `group_id` (a UUID string shared by its participants; the first
/// to join creates it). Returns at once with the call (+1 reference: release it) whose id
/// is the group id; progress arrives as events. Fails with ACS_ERR_INVALID_ARGUMENT when
/// `group_id` is not a UUID, ACS_ERR_INVALID_STATE when this agent is already in that
/// call, ACS_ERR_DEVICE when a device cannot be opened. A full call ends with 403/10110.
/// `options` may be NULL.
#[no_mangle]
pub unsafe extern "C" fn acs_call_agent_join(
    agent: *mut acs_call_agent,
    group_id: *const c_char,
    options: *const acs_call_options,
    out_call: *mut *mut acs_call,
) -> acs_status {
    guard(|| {
        need(out_call, "out_call")?;
        let a = handles::agent(agent)?;
        let gid = str_in(group_id, "group_id")?;
        let opts = call_options(options)?;
        let call = a.join(&gid, opts)?;
        out(out_call, handles::acquire(Object::Call(call)), "out_call")
    })
}

/// Invites `participant_id` (a raw id, e.g. "8:acs:…") into the call; a 1:1 call becomes a
/// group call and its media goes on. Returns the participant at once (+1 reference), in
/// state IDLE; RINGING, CONNECTING and CONNECTED follow as events. If the service refuses
/// (unknown user 404, not connected 480, call full 403/10110, already in the call 400) the
/// participant is removed with that reason (ACS_EVENT_PARTICIPANT_REMOVED).
#[no_mangle]
pub unsafe extern "C" fn acs_call_add_participant(
    call: *mut acs_call,
    participant_id: *const c_char,
    out_participant: *mut *mut acs_remote_participant,
) -> acs_status {
    // SAFETY: the caller's pointers, passed on; NULL options are the defaults.
    unsafe {
        super::phone::acs_call_add_participant_with_options(
            call,
            participant_id,
            std::ptr::null(),
            out_participant,
        )
    }
}

/// Removes `participant` from the call: its call ends with 0/5300 and everyone sees it
/// leave with that reason (an invitation that still rings is cancelled).
#[no_mangle]
pub extern "C" fn acs_call_remove_participant(
    call: *mut acs_call,
    participant: *mut acs_remote_participant,
) -> acs_status {
    guard(|| {
        let c = handles::call(call)?;
        let p = handles::participant(participant)?;
        Ok(c.remove_participant(&p)?)
    })
}

/// Whether the call is a group call (joined by group id, or with participants added).
#[no_mangle]
pub unsafe extern "C" fn acs_call_is_group_call(
    call: *mut acs_call,
    out_group: *mut bool,
) -> acs_status {
    guard(|| out(out_group, handles::call(call)?.is_group_call(), "out_group"))
}

/// Number of dominant speakers the service last reported (0 while nobody speaks) and when
/// it ranked them (`out_timestamp_ms`: Unix time in ms, 0 before the first report; may be
/// NULL).
#[no_mangle]
pub unsafe extern "C" fn acs_call_get_dominant_speaker_count(
    call: *mut acs_call,
    out_count: *mut usize,
    out_timestamp_ms: *mut u64,
) -> acs_status {
    guard(|| {
        need(out_count, "out_count")?;
        let d = handles::call(call)?.dominant_speakers();
        if !out_timestamp_ms.is_null() {
            out(out_timestamp_ms, d.timestamp_ms, "out_timestamp_ms")?;
        }
        out(out_count, d.speakers.len(), "out_count")
    })
}

/// The raw id of the `index`-th dominant speaker (0 = the dominant one).
#[no_mangle]
pub unsafe extern "C" fn acs_call_get_dominant_speaker(
    call: *mut acs_call,
    index: usize,
    buf: *mut c_char,
    capacity: usize,
    needed: *mut usize,
) -> acs_status {
    guard(|| {
        let d = handles::call(call)?.dominant_speakers();
        let id = d.speakers.get(index).ok_or_else(|| {
            FfiError::new(
                ACS_ERR_NOT_FOUND,
                format!("no dominant speaker at index {index}"),
            )
        })?;
        str_out(id, buf, capacity, needed)
    })
}

/// Whether the participant is speaking (only those whose audio this client receives, the
/// loudest few in a large call, can be).
#[no_mangle]
pub unsafe extern "C" fn acs_remote_participant_is_speaking(
    p: *mut acs_remote_participant,
    out_speaking: *mut bool,
) -> acs_status {
    guard(|| {
        out(
            out_speaking,
            handles::participant(p)?.is_speaking(),
            "out_speaking",
        )
    })
}
