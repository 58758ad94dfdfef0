//! C API: call transfer (ACS `transfer`).

use super::guard;
use super::handles::{self, acs_call};
use super::status::acs_status;
use super::strings::str_in;
use std::ffi::c_char;

/// Transfers the other participant of this 1:1 call to `target` ("8:acs:…" or "4:+…").
/// Returns at once (ACS_ERR_INVALID_ARGUMENT for a malformed id); on this side and the
/// transferee's, ACS_EVENT_CALL_TRANSFER_STATE_CHANGED follows: REQUESTED (the transferee
/// is asked; a phone is not), TRANSFERRING (the target rings), then TRANSFERRED — and this
/// call ends with 0/10015 — or FAILED with the reason, the call going on as it was. No
/// answer within the transfer timeout (60 s) is FAILED 408/10016.
#[no_mangle]
pub unsafe extern "C" fn acs_call_transfer(
    call: *mut acs_call,
    target: *const c_char,
) -> acs_status {
    guard(|| {
        let c = handles::call(call)?;
        let target = str_in(target, "target")?;
        Ok(c.transfer(&target)?)
    })
}

/// Answers the transfer request of this call (ACS_EVENT_CALL_TRANSFER_REQUESTED) when its
/// agent was created with `answer_transfers` (otherwise the library accepted it already):
/// `accept` lets the target ring; a refusal fails the transfer with 603/10017.
/// ACS_ERR_INVALID_STATE when no request waits for an answer (none came, or it was
/// answered).
#[no_mangle]
pub extern "C" fn acs_call_answer_transfer(call: *mut acs_call, accept: bool) -> acs_status {
    guard(|| Ok(handles::call(call)?.answer_transfer(accept)?))
}
