//! Echo cancellation, noise suppression and automatic gain: the defaults a device manager
//! gives new calls, and the switch of a running call.

use super::handles::{self, acs_call, acs_device_manager};
use super::sized::{check_out, extensible, read_in, write_out};
use super::status::*;
use super::strings::*;
use crate::media::audio::AudioProcessing;

/// Audio processing of what a real microphone captures. Initialise with
/// acs_audio_processing_options_init (everything on).
#[repr(C)]
pub struct acs_audio_processing_options {
    /// sizeof(acs_audio_processing_options), set by the init function.
    pub struct_size: u32,
    /// Remove what the speaker played from what the microphone hears.
    pub echo_cancellation: bool,
    /// Suppress stationary background noise.
    pub noise_suppression: bool,
    /// Adapt the microphone level towards a constant loudness.
    pub auto_gain: bool,
}

extensible!(acs_audio_processing_options, first_version_ends_with: auto_gain,
    defaults: to_c(AudioProcessing::default()));

fn to_c(p: AudioProcessing) -> acs_audio_processing_options {
    acs_audio_processing_options {
        struct_size: std::mem::size_of::<acs_audio_processing_options>() as u32,
        echo_cancellation: p.echo_cancellation,
        noise_suppression: p.noise_suppression,
        auto_gain: p.auto_gain,
    }
}

fn from_c(options: *const acs_audio_processing_options) -> FfiResult<AudioProcessing> {
    // SAFETY: NULL or the host's struct of struct_size bytes.
    let o = unsafe { read_in(options, "options") }?;
    Ok(AudioProcessing {
        echo_cancellation: o.echo_cancellation,
        noise_suppression: o.noise_suppression,
        auto_gain: o.auto_gain,
    })
}

/// Fills `options` with the defaults: echo cancellation, noise suppression and gain control on.
/// Writes today's whole struct (the library's sizeof): it overruns the shorter struct of a
/// host compiled against an older header. Use ACS_AUDIO_PROCESSING_OPTIONS_INIT(p)
/// (acs_audio_processing_options_init_sized).
#[no_mangle]
pub unsafe extern "C" fn acs_audio_processing_options_init(
    options: *mut acs_audio_processing_options,
) -> acs_status {
    // SAFETY: NULL or the host's struct.
    guard(|| unsafe { super::sized::init_out(options, "options") })
}

/// As acs_audio_processing_options_init, into the host's struct of `size` bytes
/// (ACS_AUDIO_PROCESSING_OPTIONS_INIT(p) passes sizeof *p): see "Sized init" in the
/// header's conventions.
#[no_mangle]
pub unsafe extern "C" fn acs_audio_processing_options_init_sized(
    options: *mut acs_audio_processing_options,
    size: usize,
) -> acs_status {
    // SAFETY: NULL or the host's struct of `size` bytes.
    guard(|| unsafe { super::sized::init_sized(options, size, "options") })
}

/// Sets the audio processing of calls started or accepted from now on (default: all on).
/// Only real microphones are processed; virtual ones are sent as they are.
#[no_mangle]
pub unsafe extern "C" fn acs_device_manager_set_audio_processing(
    dm: *mut acs_device_manager,
    options: *const acs_audio_processing_options,
) -> acs_status {
    guard(|| {
        let m = handles::device_manager(dm)?;
        m.set_audio_processing(from_c(options)?);
        Ok(())
    })
}

/// The audio processing new calls get (written up to out_options->struct_size; 0 there
/// counts as today's size).
#[no_mangle]
pub unsafe extern "C" fn acs_device_manager_get_audio_processing(
    dm: *mut acs_device_manager,
    out_options: *mut acs_audio_processing_options,
) -> acs_status {
    guard(|| {
        let p = handles::device_manager(dm)?.audio_processing();
        // SAFETY: NULL or the host's struct of struct_size bytes.
        unsafe { write_out(out_options, to_c(p), "out_options") }
    })
}

/// Switches audio processing of a running call at once (echo cancellation etc. on or off).
/// ACS_ERR_INVALID_STATE once the call has ended or before it has media; ACS_ERR_DEVICE if
/// the processing module cannot be created (nothing changes then).
#[no_mangle]
pub unsafe extern "C" fn acs_call_set_audio_processing(
    call: *mut acs_call,
    options: *const acs_audio_processing_options,
) -> acs_status {
    guard(|| {
        let c = handles::call(call)?;
        Ok(c.set_audio_processing(from_c(options)?)?)
    })
}

/// The audio processing of a call; `out_active` (may be NULL) receives whether the
/// microphone is being processed now (a real microphone with some processing on).
/// ACS_ERR_INVALID_STATE before the call has media.
#[no_mangle]
pub unsafe extern "C" fn acs_call_get_audio_processing(
    call: *mut acs_call,
    out_options: *mut acs_audio_processing_options,
    out_active: *mut bool,
) -> acs_status {
    guard(|| {
        // SAFETY: NULL or the host's struct of struct_size bytes.
        unsafe { check_out(out_options, "out_options") }?;
        let (p, active) = handles::call(call)?
            .audio_processing()
            .ok_or_else(|| FfiError::new(ACS_ERR_INVALID_STATE, "the call has no media"))?;
        if !out_active.is_null() {
            out(out_active, active, "out_active")?;
        }
        // SAFETY: as above.
        unsafe { write_out(out_options, to_c(p), "out_options") }
    })
}
