//! Phone calls through the C ABI: DTMF tones (sent with acs_call_send_dtmf, received as
//! ACS_EVENT_DTMF_RECEIVED), identifier kinds, and add-participant options with the
//! alternate caller id. (The start-call caller id is acs_call_options.alternate_caller_id.)

use super::handles::{self, acs_call, acs_remote_participant, Object};
use super::numbering::c_numbers;
use super::sized::{extensible, init_out, init_sized, read_in_or_default};
use super::status::*;
use super::strings::*;
use crate::client::{AddParticipantOptions, DtmfTone, IdentifierKind};
use std::ffi::c_char;

/// DTMF tones (ACS's DtmfTone), numbered as RFC 4733 numbers the telephone events.
pub const ACS_DTMF_TONE_0: i32 = 0;
/// The `1` key.
pub const ACS_DTMF_TONE_1: i32 = 1;
/// The `2` key.
pub const ACS_DTMF_TONE_2: i32 = 2;
/// The `3` key.
pub const ACS_DTMF_TONE_3: i32 = 3;
/// The `4` key.
pub const ACS_DTMF_TONE_4: i32 = 4;
/// The `5` key.
pub const ACS_DTMF_TONE_5: i32 = 5;
/// The `6` key.
pub const ACS_DTMF_TONE_6: i32 = 6;
/// The `7` key.
pub const ACS_DTMF_TONE_7: i32 = 7;
/// The `8` key.
pub const ACS_DTMF_TONE_8: i32 = 8;
/// The `9` key.
pub const ACS_DTMF_TONE_9: i32 = 9;
/// The `*` key.
pub const ACS_DTMF_TONE_STAR: i32 = 10;
/// The `#` key.
pub const ACS_DTMF_TONE_POUND: i32 = 11;
/// The `A` key (the fourth column of a 16-key keypad).
pub const ACS_DTMF_TONE_A: i32 = 12;
/// The `B` key (the fourth column of a 16-key keypad).
pub const ACS_DTMF_TONE_B: i32 = 13;
/// The `C` key (the fourth column of a 16-key keypad).
pub const ACS_DTMF_TONE_C: i32 = 14;
/// The `D` key (the fourth column of a 16-key keypad).
pub const ACS_DTMF_TONE_D: i32 = 15;
/// Hook flash (ACS's DtmfTone.Flash, RFC 4733 event 16): named for completeness, but the
/// service's phone gateway does not carry it, so acs_call_send_dtmf refuses it with
/// ACS_ERR_UNSUPPORTED and it is never received.
pub const ACS_DTMF_TONE_FLASH: i32 = 16;

/// Identifier kinds (ACS's CommunicationIdentifierKind): what a raw id names.
/// Not an identifier this library knows.
pub const ACS_IDENTIFIER_KIND_UNKNOWN: i32 = 0;
/// An ACS user, "8:acs:…" (the echo bot "8:echo123" counts as one, as in ACS).
pub const ACS_IDENTIFIER_KIND_COMMUNICATION_USER: i32 = 1;
/// A phone number, "4:+15551234567".
pub const ACS_IDENTIFIER_KIND_PHONE_NUMBER: i32 = 2;

c_numbers! {
    /// ACS_DTMF_TONE_* of a tone (its RFC 4733 event number).
    dtmf_tone_number(DtmfTone) {
        DtmfTone::Num0 => ACS_DTMF_TONE_0,
        DtmfTone::Num1 => ACS_DTMF_TONE_1,
        DtmfTone::Num2 => ACS_DTMF_TONE_2,
        DtmfTone::Num3 => ACS_DTMF_TONE_3,
        DtmfTone::Num4 => ACS_DTMF_TONE_4,
        DtmfTone::Num5 => ACS_DTMF_TONE_5,
        DtmfTone::Num6 => ACS_DTMF_TONE_6,
        DtmfTone::Num7 => ACS_DTMF_TONE_7,
        DtmfTone::Num8 => ACS_DTMF_TONE_8,
        DtmfTone::Num9 => ACS_DTMF_TONE_9,
        DtmfTone::Star => ACS_DTMF_TONE_STAR,
        DtmfTone::Pound => ACS_DTMF_TONE_POUND,
        DtmfTone::A => ACS_DTMF_TONE_A,
        DtmfTone::B => ACS_DTMF_TONE_B,
        DtmfTone::C => ACS_DTMF_TONE_C,
        DtmfTone::D => ACS_DTMF_TONE_D,
    }
}

c_numbers! {
    /// ACS_IDENTIFIER_KIND_* of a kind.
    identifier_kind_number(IdentifierKind) {
        IdentifierKind::Unknown => ACS_IDENTIFIER_KIND_UNKNOWN,
        IdentifierKind::CommunicationUser => ACS_IDENTIFIER_KIND_COMMUNICATION_USER,
        IdentifierKind::PhoneNumber => ACS_IDENTIFIER_KIND_PHONE_NUMBER,
    }
}

/// The tone of an ACS_DTMF_TONE_* number, or the error the host is told.
fn dtmf_tone(n: i32) -> FfiResult<DtmfTone> {
    if n == ACS_DTMF_TONE_FLASH {
        return Err(FfiError::new(
            ACS_ERR_UNSUPPORTED,
            "ACS_DTMF_TONE_FLASH (hook flash) is not carried by the service's phone gateway",
        ));
    }
    DtmfTone::from_event(n).ok_or_else(|| {
        FfiError::new(
            ACS_ERR_INVALID_ARGUMENT,
            format!(
                "tone {n} is not a DTMF tone: use ACS_DTMF_TONE_0..ACS_DTMF_TONE_9 (0-9), \
                 ACS_DTMF_TONE_STAR (10), ACS_DTMF_TONE_POUND (11), ACS_DTMF_TONE_A..D (12-15)"
            ),
        )
    })
}

/// Sends one DTMF `tone` (ACS_DTMF_TONE_*) to the phone participants of a connected call
/// (ACS's sendDtmf): the service plays it on their phone legs as an RFC 4733
/// telephone-event. Returns at once; `out_request_id` (may be NULL) receives the id (per
/// call, counting from 1) that the ACS_EVENT_DTMF_SEND_COMPLETED event of this send
/// carries in `request_id`. That event says whether it was sent: code 0 sent, 400 the call
/// has no phone participant, 503 the service could not be reached. Tones sent one after
/// another are played in order.
/// Fails at once with ACS_ERR_INVALID_ARGUMENT for a number that is no tone,
/// ACS_ERR_UNSUPPORTED for ACS_DTMF_TONE_FLASH, ACS_ERR_INVALID_STATE when the call is not
/// connected (CONNECTED, LOCAL_HOLD or REMOTE_HOLD; not yet in EARLY_MEDIA), and
/// ACS_ERR_INVALID_HANDLE for a NULL or stale call; then no event follows.
#[no_mangle]
pub unsafe extern "C" fn acs_call_send_dtmf(
    call: *mut acs_call,
    tone: i32,
    out_request_id: *mut u64,
) -> acs_status {
    guard(|| {
        let c = handles::call(call)?;
        let t = dtmf_tone(tone)?;
        let request = c.send_dtmf(t)?;
        if out_request_id.is_null() {
            Ok(())
        } else {
            out(out_request_id, request, "out_request_id")
        }
    })
}

/// Options of acs_call_add_participant_with_options (ACS's AddPhoneNumberOptions).
/// Initialise with ACS_ADD_PARTICIPANT_OPTIONS_INIT.
#[repr(C)]
pub struct acs_add_participant_options {
    /// sizeof(acs_add_participant_options), set by the init function.
    pub struct_size: u32,
    /// The phone number a phone-number participant sees as the caller (ACS's alternate
    /// caller id), as a raw id "4:+15551234567" ("4:1555…" is accepted); it must be one the
    /// service lets this user present. NULL or "" (the default): the service's default
    /// number. Ignored for participants that are not phone numbers. Copied.
    pub alternate_caller_id: *const c_char,
}

extensible!(acs_add_participant_options, first_version_ends_with: alternate_caller_id,
defaults: acs_add_participant_options {
    struct_size: 0,
    alternate_caller_id: std::ptr::null(),
});

/// Fills `options` with defaults.
/// Writes today's whole struct (the library's sizeof): it overruns the shorter struct of a
/// host compiled against an older header. Use ACS_ADD_PARTICIPANT_OPTIONS_INIT(p)
/// (acs_add_participant_options_init_sized).
#[no_mangle]
pub unsafe extern "C" fn acs_add_participant_options_init(
    options: *mut acs_add_participant_options,
) -> acs_status {
    // SAFETY: NULL or the host's struct.
    guard(|| unsafe { init_out(options, "options") })
}

/// As acs_add_participant_options_init, into the host's struct of `size` bytes
/// (ACS_ADD_PARTICIPANT_OPTIONS_INIT(p) passes sizeof *p): see "Sized init" in the
/// header's conventions.
#[no_mangle]
pub unsafe extern "C" fn acs_add_participant_options_init_sized(
    options: *mut acs_add_participant_options,
    size: usize,
) -> acs_status {
    // SAFETY: NULL or the host's struct of `size` bytes.
    guard(|| unsafe { init_sized(options, size, "options") })
}

/// As acs_call_add_participant, with `options` (may be NULL: as acs_call_add_participant).
/// A phone number "4:+1555…" is dialled showing `options->alternate_caller_id`; its state
/// goes IDLE → RINGING / EARLY_MEDIA (the carrier plays ringback or an announcement) →
/// CONNECTED, as ACS_EVENT_PARTICIPANT_STATE_CHANGED says. Fails with
/// ACS_ERR_INVALID_ARGUMENT when `participant_id` is malformed or the caller id is not a
/// phone number, ACS_ERR_INVALID_UTF8 for a string that is not UTF-8, ACS_ERR_INVALID_STATE
/// when the call has ended.
#[no_mangle]
pub unsafe extern "C" fn acs_call_add_participant_with_options(
    call: *mut acs_call,
    participant_id: *const c_char,
    options: *const acs_add_participant_options,
    out_participant: *mut *mut acs_remote_participant,
) -> acs_status {
    guard(|| {
        need(out_participant, "out_participant")?;
        let c = handles::call(call)?;
        let id = str_in(participant_id, "participant_id")?;
        // SAFETY: NULL or the host's struct of struct_size bytes.
        let o = unsafe { read_in_or_default(options, "options") }?;
        let opts = AddParticipantOptions {
            alternate_caller_id: opt_str_in(o.alternate_caller_id, "alternate_caller_id")?,
        };
        let p = c.add_participant_with_options(&id, &opts)?;
        out(
            out_participant,
            handles::acquire(Object::Participant(p)),
            "out_participant",
        )
    })
}

/// What kind of participant this is (ACS_IDENTIFIER_KIND_*): PHONE_NUMBER for "4:+…",
/// COMMUNICATION_USER for "8:acs:…" and the echo bot.
#[no_mangle]
pub unsafe extern "C" fn acs_remote_participant_get_identifier_kind(
    p: *const acs_remote_participant,
    out_kind: *mut i32,
) -> acs_status {
    guard(|| {
        need(out_kind, "out_kind")?;
        let kind = handles::participant(p)?.identifier_kind();
        out(out_kind, identifier_kind_number(kind), "out_kind")
    })
}

/// What kind of identifier the raw id `raw_id` is (ACS_IDENTIFIER_KIND_*): e.g. to check
/// an alternate caller id before use. A string that is no identifier this library knows is
/// ACS_IDENTIFIER_KIND_UNKNOWN (ACS_OK); NULL is ACS_ERR_NULL_POINTER, bad UTF-8
/// ACS_ERR_INVALID_UTF8.
#[no_mangle]
pub unsafe extern "C" fn acs_identifier_get_kind(
    raw_id: *const c_char,
    out_kind: *mut i32,
) -> acs_status {
    guard(|| {
        need(out_kind, "out_kind")?;
        let raw = str_in(raw_id, "raw_id")?;
        out(
            out_kind,
            identifier_kind_number(IdentifierKind::of(&raw)),
            "out_kind",
        )
    })
}
