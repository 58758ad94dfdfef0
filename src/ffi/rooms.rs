//! C API: rooms (join by id or link), the lobby (admit, reject), muting others and
//! participants' roles.

use super::call::{acs_call_options, call_options};
use super::guard;
use super::handles::{self, acs_call, acs_call_agent, acs_remote_participant, Object};
use super::status::*;
use super::strings::*;
use crate::protocol::Role;
use std::ffi::c_char;

/// acs_remote_participant_get_role: not a room's call.
pub const ACS_ROOM_ROLE_NONE: i32 = 0;
/// Everything: admit, remove, mute others, end the meeting for everyone.
pub const ACS_ROOM_ROLE_ORGANIZER: i32 = 1;
/// Speaks, shares, admits, adds, removes and mutes others.
pub const ACS_ROOM_ROLE_PRESENTER: i32 = 2;
/// Speaks and shares; cannot change the roster (also whoever was admitted from the lobby).
pub const ACS_ROOM_ROLE_ATTENDEE: i32 = 3;
/// Listens and watches only: cannot unmute, send video or share.
pub const ACS_ROOM_ROLE_CONSUMER: i32 = 4;

/// `state` of ACS_EVENT_CALL_ACTION_FAILED: acs_call_admit or acs_call_admit_all.
pub const ACS_CALL_ACTION_ADMIT: i32 = 1;
/// `state` of ACS_EVENT_CALL_ACTION_FAILED: acs_call_reject_participant.
pub const ACS_CALL_ACTION_REJECT: i32 = 2;
/// `state` of ACS_EVENT_CALL_ACTION_FAILED: acs_call_mute_participant or
/// acs_call_mute_all_remote_participants.
pub const ACS_CALL_ACTION_MUTE_OTHERS: i32 = 3;

/// Joins the room `locator` — its id, or its link "http(s)://<service>/meet/<id>" — made
/// with the service's POST /rooms. Returns at once with the call (+1 reference: release
/// it); progress arrives as events. The service refuses (the call ends with 403 and a
/// message) outside the room's validity window or for a user it does not list, unless the
/// room has a lobby: then the call's state is ACS_CALL_STATE_IN_LOBBY until an organizer
/// or presenter admits it (CONNECTED, as an attendee) or turns it away (403/10018), or the
/// lobby timeout (15 min by default) ends the wait (408/10019). An unknown room is 404.
/// ACS_ERR_INVALID_ARGUMENT when the locator names no room id (a UUID).
#[no_mangle]
pub unsafe extern "C" fn acs_call_agent_join_room(
    agent: *mut acs_call_agent,
    locator: *const c_char,
    options: *const acs_call_options,
    out_call: *mut *mut acs_call,
) -> acs_status {
    guard(|| {
        need(out_call, "out_call")?;
        let a = handles::agent(agent)?;
        let locator = str_in(locator, "locator")?;
        let opts = call_options(options)?;
        let call = a.join_room(&locator, opts)?;
        out(out_call, handles::acquire(Object::Call(call)), "out_call")
    })
}

/// Admits `participant`, waiting in the lobby (ACS_PARTICIPANT_STATE_IN_LOBBY), into the
/// call as an attendee. ACS_ERR_NOT_FOUND when it is not waiting in this call's lobby;
/// a refusal by the service (403: only organizers and presenters admit) arrives as
/// ACS_EVENT_CALL_ACTION_FAILED.
#[no_mangle]
pub extern "C" fn acs_call_admit(
    call: *mut acs_call,
    participant: *mut acs_remote_participant,
) -> acs_status {
    guard(|| {
        let c = handles::call(call)?;
        let p = handles::participant(participant)?;
        Ok(c.admit(&[p])?)
    })
}

/// Admits everyone waiting in the lobby (nobody waiting is not an error).
#[no_mangle]
pub extern "C" fn acs_call_admit_all(call: *mut acs_call) -> acs_status {
    guard(|| Ok(handles::call(call)?.admit_all()?))
}

/// Turns `participant` away from the lobby: its call ends with 403/10018, the others see
/// it removed with that reason. ACS_ERR_NOT_FOUND when it is not waiting in the lobby.
#[no_mangle]
pub extern "C" fn acs_call_reject_participant(
    call: *mut acs_call,
    participant: *mut acs_remote_participant,
) -> acs_status {
    guard(|| {
        let c = handles::call(call)?;
        let p = handles::participant(participant)?;
        Ok(c.reject_participant(&p)?)
    })
}

/// Mutes `participant` (a user in the call): its microphone is muted, it gets
/// ACS_EVENT_CALL_MUTED_BY_OTHERS, the service drops its audio until it unmutes (which it
/// may, unless it is a room's consumer), everyone sees it muted. In a room only organizers
/// and presenters may (refusal: ACS_EVENT_CALL_ACTION_FAILED 403); in other calls, anyone.
/// ACS_ERR_NOT_FOUND when it is not in this call.
#[no_mangle]
pub extern "C" fn acs_call_mute_participant(
    call: *mut acs_call,
    participant: *mut acs_remote_participant,
) -> acs_status {
    guard(|| {
        let c = handles::call(call)?;
        let p = handles::participant(participant)?;
        Ok(c.mute_participant(&p)?)
    })
}

/// Mutes every other user in the call, as acs_call_mute_participant does one.
#[no_mangle]
pub extern "C" fn acs_call_mute_all_remote_participants(call: *mut acs_call) -> acs_status {
    guard(|| Ok(handles::call(call)?.mute_all_remote_participants()?))
}

/// The participant's ACS_ROOM_ROLE_* (ACS_ROOM_ROLE_NONE outside rooms).
#[no_mangle]
pub unsafe extern "C" fn acs_remote_participant_get_role(
    p: *mut acs_remote_participant,
    out_role: *mut i32,
) -> acs_status {
    guard(|| {
        let role = match handles::participant(p)?.role() {
            None => ACS_ROOM_ROLE_NONE,
            Some(Role::Organizer) => ACS_ROOM_ROLE_ORGANIZER,
            Some(Role::Presenter) => ACS_ROOM_ROLE_PRESENTER,
            Some(Role::Attendee) => ACS_ROOM_ROLE_ATTENDEE,
            Some(Role::Consumer) => ACS_ROOM_ROLE_CONSUMER,
        };
        out(out_role, role, "out_role")
    })
}
