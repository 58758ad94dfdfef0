//! acs_device_manager_* and acs_audio_device_*: device lists, selection and virtual devices.

use super::handles::{self, acs_audio_device, acs_device_manager, Object};
use super::host_ptr::HostPtr;
use super::status::*;
use super::strings::*;
use crate::media::audio::{tone_power, AudioDevice, DeviceKind};
use std::ffi::{c_char, c_void};
use std::path::PathBuf;

/// The most PCM frames one acs_audio_device_push_pcm or acs_audio_tone_power call takes:
/// 10 minutes at 48 kHz. More is ACS_ERR_INVALID_ARGUMENT (nothing is read).
pub const ACS_MAX_PCM_FRAMES: usize = 28800000;

/// Device kinds.
pub const ACS_DEVICE_KIND_MICROPHONE: i32 = 0;
/// A speaker (playback device).
pub const ACS_DEVICE_KIND_SPEAKER: i32 = 1;

/// Receives every 20 ms frame a callback speaker plays: `samples` mono 48 kHz PCM16,
/// borrowed for the call. Called on a media thread: return quickly, don't call into the library.
pub type acs_audio_frame_callback = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        samples: *const i16,
        count: usize,
        sample_rate: u32,
        channels: u32,
    ),
>;

/// Adds a reference to the device manager.
#[no_mangle]
pub extern "C" fn acs_device_manager_retain(dm: *mut acs_device_manager) -> acs_status {
    guard(|| handles::retain(dm, handles::Kind::DeviceManager))
}

/// Drops a reference. NULL is OK.
#[no_mangle]
pub extern "C" fn acs_device_manager_release(dm: *mut acs_device_manager) -> acs_status {
    guard(|| handles::release(dm, handles::Kind::DeviceManager).map(|_| ()))
}

fn list_out(
    devices: Vec<AudioDevice>,
    out_devices: *mut *mut acs_audio_device,
    capacity: usize,
    out_count: *mut usize,
) -> FfiResult {
    need(out_count, "out_count")?;
    check_capacity::<*mut acs_audio_device>(capacity, "capacity")?;
    // SAFETY: checked non-NULL.
    unsafe { *out_count = devices.len() };
    if devices.len() > capacity || (out_devices.is_null() && !devices.is_empty()) {
        return Err(FfiError::new(
            ACS_ERR_BUFFER_TOO_SMALL,
            format!("{} devices, room for {capacity}", devices.len()),
        ));
    }
    for (i, d) in devices.into_iter().enumerate() {
        // SAFETY: `capacity` ≥ count slots at `out_devices`.
        unsafe { *out_devices.add(i) = handles::acquire(Object::AudioDevice(d)) };
    }
    Ok(())
}

/// Lists microphones: system devices (listed, maybe not openable on a headless machine)
/// then the virtual ones. Writes up to `capacity` handles (+1 each: release them) and the
/// total into `out_count`; ACS_ERR_BUFFER_TOO_SMALL (with `out_count` set) if it doesn't fit.
#[no_mangle]
pub unsafe extern "C" fn acs_device_manager_get_microphones(
    dm: *mut acs_device_manager,
    out_devices: *mut *mut acs_audio_device,
    capacity: usize,
    out_count: *mut usize,
) -> acs_status {
    guard(|| {
        list_out(
            handles::device_manager(dm)?.microphones(),
            out_devices,
            capacity,
            out_count,
        )
    })
}

/// Lists speakers, like acs_device_manager_get_microphones.
#[no_mangle]
pub unsafe extern "C" fn acs_device_manager_get_speakers(
    dm: *mut acs_device_manager,
    out_devices: *mut *mut acs_audio_device,
    capacity: usize,
    out_count: *mut usize,
) -> acs_status {
    guard(|| {
        list_out(
            handles::device_manager(dm)?.speakers(),
            out_devices,
            capacity,
            out_count,
        )
    })
}

/// Selects the microphone for calls that don't name one.
#[no_mangle]
pub extern "C" fn acs_device_manager_set_microphone(
    dm: *mut acs_device_manager,
    device: *mut acs_audio_device,
) -> acs_status {
    guard(|| {
        let m = handles::device_manager(dm)?;
        Ok(m.set_microphone(&handles::audio_device(device)?)?)
    })
}

/// Selects the speaker for calls that don't name one.
#[no_mangle]
pub extern "C" fn acs_device_manager_set_speaker(
    dm: *mut acs_device_manager,
    device: *mut acs_audio_device,
) -> acs_status {
    guard(|| {
        let m = handles::device_manager(dm)?;
        Ok(m.set_speaker(&handles::audio_device(device)?)?)
    })
}

/// The selected microphone (or the system default); ACS_ERR_NOT_FOUND if there is none.
#[no_mangle]
pub unsafe extern "C" fn acs_device_manager_get_selected_microphone(
    dm: *mut acs_device_manager,
    out_device: *mut *mut acs_audio_device,
) -> acs_status {
    guard(|| {
        need(out_device, "out_device")?;
        let d = handles::device_manager(dm)?
            .selected_microphone()
            .ok_or_else(|| {
                FfiError::new(ACS_ERR_NOT_FOUND, "no microphone is selected or available")
            })?;
        out(
            out_device,
            handles::acquire(Object::AudioDevice(d)),
            "out_device",
        )
    })
}

/// The selected speaker (or the system default); ACS_ERR_NOT_FOUND if there is none.
#[no_mangle]
pub unsafe extern "C" fn acs_device_manager_get_selected_speaker(
    dm: *mut acs_device_manager,
    out_device: *mut *mut acs_audio_device,
) -> acs_status {
    guard(|| {
        need(out_device, "out_device")?;
        let d = handles::device_manager(dm)?
            .selected_speaker()
            .ok_or_else(|| {
                FfiError::new(ACS_ERR_NOT_FOUND, "no speaker is selected or available")
            })?;
        out(
            out_device,
            handles::acquire(Object::AudioDevice(d)),
            "out_device",
        )
    })
}

fn add_virtual(
    dm: *mut acs_device_manager,
    out_device: *mut *mut acs_audio_device,
    make: impl FnOnce() -> FfiResult<AudioDevice>,
) -> FfiResult {
    need(out_device, "out_device")?;
    let m = handles::device_manager(dm)?;
    let d = m.add_virtual_device(make()?);
    out(
        out_device,
        handles::acquire(Object::AudioDevice(d)),
        "out_device",
    )
}

/// Creates a virtual microphone playing a sine tone (`amplitude` 0..1).
#[no_mangle]
pub unsafe extern "C" fn acs_device_manager_create_tone_microphone(
    dm: *mut acs_device_manager,
    name: *const c_char,
    frequency_hz: f32,
    amplitude: f32,
    out_device: *mut *mut acs_audio_device,
) -> acs_status {
    guard(|| {
        let n = str_in(name, "name")?;
        if !(frequency_hz.is_finite() && frequency_hz > 0.0 && frequency_hz < 24_000.0) {
            return Err(FfiError::new(
                ACS_ERR_INVALID_ARGUMENT,
                "frequency_hz must be in (0, 24000)",
            ));
        }
        if !(0.0..=1.0).contains(&amplitude) {
            return Err(FfiError::new(
                ACS_ERR_INVALID_ARGUMENT,
                "amplitude must be in [0, 1]",
            ));
        }
        add_virtual(dm, out_device, || {
            Ok(AudioDevice::tone_microphone(&n, frequency_hz, amplitude))
        })
    })
}

/// Creates a virtual microphone reading a PCM16 WAV file (any rate, 1–2 channels).
#[no_mangle]
pub unsafe extern "C" fn acs_device_manager_create_wav_microphone(
    dm: *mut acs_device_manager,
    name: *const c_char,
    path: *const c_char,
    looped: bool,
    out_device: *mut *mut acs_audio_device,
) -> acs_status {
    guard(|| {
        let n = str_in(name, "name")?;
        let p = PathBuf::from(str_in(path, "path")?);
        add_virtual(dm, out_device, || {
            AudioDevice::wav_microphone(&n, &p, looped).map_err(|e| {
                let st = match &e {
                    crate::media::MediaError::Io(_) => ACS_ERR_IO,
                    _ => ACS_ERR_INVALID_ARGUMENT,
                };
                FfiError::new(st, e.to_string())
            })
        })
    })
}

/// Creates a virtual microphone fed by acs_audio_device_push_pcm.
#[no_mangle]
pub unsafe extern "C" fn acs_device_manager_create_push_microphone(
    dm: *mut acs_device_manager,
    name: *const c_char,
    out_device: *mut *mut acs_audio_device,
) -> acs_status {
    guard(|| {
        let n = str_in(name, "name")?;
        add_virtual(dm, out_device, || Ok(AudioDevice::push_microphone(&n)))
    })
}

/// Creates a virtual speaker recording what it plays to a WAV file (48 kHz mono PCM16).
#[no_mangle]
pub unsafe extern "C" fn acs_device_manager_create_wav_speaker(
    dm: *mut acs_device_manager,
    name: *const c_char,
    path: *const c_char,
    out_device: *mut *mut acs_audio_device,
) -> acs_status {
    guard(|| {
        let n = str_in(name, "name")?;
        let p = PathBuf::from(str_in(path, "path")?);
        add_virtual(dm, out_device, || {
            AudioDevice::wav_speaker(&n, &p).map_err(|e| FfiError::new(ACS_ERR_IO, e.to_string()))
        })
    })
}

/// Creates a virtual speaker that buffers up to `capacity_ms` of what it plays for
/// acs_audio_device_pull_pcm.
#[no_mangle]
pub unsafe extern "C" fn acs_device_manager_create_pull_speaker(
    dm: *mut acs_device_manager,
    name: *const c_char,
    capacity_ms: u32,
    out_device: *mut *mut acs_audio_device,
) -> acs_status {
    guard(|| {
        let n = str_in(name, "name")?;
        if capacity_ms == 0 || capacity_ms > 600_000 {
            return Err(FfiError::new(
                ACS_ERR_INVALID_ARGUMENT,
                "capacity_ms must be 1..=600000",
            ));
        }
        add_virtual(dm, out_device, || {
            Ok(AudioDevice::pull_speaker(&n, capacity_ms))
        })
    })
}

/// Creates a virtual speaker handing each played 20 ms frame to `callback`.
#[no_mangle]
pub unsafe extern "C" fn acs_device_manager_create_callback_speaker(
    dm: *mut acs_device_manager,
    name: *const c_char,
    callback: acs_audio_frame_callback,
    user_data: *mut c_void,
    out_device: *mut *mut acs_audio_device,
) -> acs_status {
    guard(|| {
        let n = str_in(name, "name")?;
        let cb = callback.ok_or_else(|| FfiError::new(ACS_ERR_NULL_POINTER, "callback is NULL"))?;
        let ud = HostPtr(user_data as usize);
        add_virtual(dm, out_device, || {
            Ok(AudioDevice::callback_speaker(
                &n,
                Box::new(move |pcm: &[i16]| {
                    // SAFETY: the host's callback with a frame borrowed for the call.
                    unsafe { cb(ud.0 as *mut c_void, pcm.as_ptr(), pcm.len(), 48_000, 1) }
                }),
            ))
        })
    })
}

/// Removes a virtual device from the device manager's lists (calls using it keep it until
/// they end). ACS_ERR_NOT_FOUND if it is not one of this manager's virtual devices.
#[no_mangle]
pub extern "C" fn acs_device_manager_remove_device(
    dm: *mut acs_device_manager,
    device: *mut acs_audio_device,
) -> acs_status {
    guard(|| {
        let m = handles::device_manager(dm)?;
        let d = handles::audio_device(device)?;
        if m.remove_virtual_device(&d.id()) {
            Ok(())
        } else {
            Err(FfiError::new(
                ACS_ERR_NOT_FOUND,
                "not a virtual device of this device manager",
            ))
        }
    })
}

/// Adds a reference to the device.
#[no_mangle]
pub extern "C" fn acs_audio_device_retain(d: *mut acs_audio_device) -> acs_status {
    guard(|| handles::retain(d, handles::Kind::AudioDevice))
}

/// Drops a reference. NULL is OK.
#[no_mangle]
pub extern "C" fn acs_audio_device_release(d: *mut acs_audio_device) -> acs_status {
    guard(|| handles::release(d, handles::Kind::AudioDevice).map(|_| ()))
}

/// The device id (stable for the device's life).
#[no_mangle]
pub unsafe extern "C" fn acs_audio_device_get_id(
    d: *mut acs_audio_device,
    buf: *mut c_char,
    capacity: usize,
    needed: *mut usize,
) -> acs_status {
    guard(|| str_out(&handles::audio_device(d)?.id(), buf, capacity, needed))
}

/// The device name.
#[no_mangle]
pub unsafe extern "C" fn acs_audio_device_get_name(
    d: *mut acs_audio_device,
    buf: *mut c_char,
    capacity: usize,
    needed: *mut usize,
) -> acs_status {
    guard(|| str_out(&handles::audio_device(d)?.name(), buf, capacity, needed))
}

/// ACS_DEVICE_KIND_MICROPHONE or ACS_DEVICE_KIND_SPEAKER.
#[no_mangle]
pub unsafe extern "C" fn acs_audio_device_get_kind(
    d: *mut acs_audio_device,
    out_kind: *mut i32,
) -> acs_status {
    guard(|| {
        let k = match handles::audio_device(d)?.kind() {
            DeviceKind::Microphone => ACS_DEVICE_KIND_MICROPHONE,
            DeviceKind::Speaker => ACS_DEVICE_KIND_SPEAKER,
        };
        out(out_kind, k, "out_kind")
    })
}

/// Whether this is the system's default device.
#[no_mangle]
pub unsafe extern "C" fn acs_audio_device_is_default(
    d: *mut acs_audio_device,
    out_flag: *mut bool,
) -> acs_status {
    guard(|| out(out_flag, handles::audio_device(d)?.is_default(), "out_flag"))
}

/// Whether this is a virtual device.
#[no_mangle]
pub unsafe extern "C" fn acs_audio_device_is_virtual(
    d: *mut acs_audio_device,
    out_flag: *mut bool,
) -> acs_status {
    guard(|| out(out_flag, handles::audio_device(d)?.is_virtual(), "out_flag"))
}

/// Pushes 48 kHz interleaved PCM16 (`frames` frames of `channels` 1 or 2) into a push
/// microphone. `out_accepted` (may be NULL) receives how many frames were queued (the queue
/// holds about 2 s; the rest is dropped). More than ACS_MAX_PCM_FRAMES frames is
/// ACS_ERR_INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn acs_audio_device_push_pcm(
    d: *mut acs_audio_device,
    samples: *const i16,
    frames: usize,
    channels: u32,
    out_accepted: *mut usize,
) -> acs_status {
    guard(|| {
        let dev = handles::audio_device(d)?;
        if samples.is_null() {
            return Err(FfiError::new(ACS_ERR_NULL_POINTER, "samples is NULL"));
        }
        if !(1..=2).contains(&channels) {
            return Err(FfiError::new(
                ACS_ERR_INVALID_ARGUMENT,
                "channels must be 1 or 2",
            ));
        }
        if frames > ACS_MAX_PCM_FRAMES {
            return Err(FfiError::new(
                ACS_ERR_INVALID_ARGUMENT,
                format!("frames is {frames}, more than ACS_MAX_PCM_FRAMES ({ACS_MAX_PCM_FRAMES})"),
            ));
        }
        let n = frames * channels as usize;
        // SAFETY: the caller gives frames*channels samples.
        let pcm = unsafe { std::slice::from_raw_parts(samples, n) };
        let accepted = dev
            .push_pcm(pcm, channels as u16)
            .map_err(crate::error::Error::from)?;
        if !out_accepted.is_null() {
            out(out_accepted, accepted, "out_accepted")?;
        }
        Ok(())
    })
}

/// Takes up to `capacity` mono 48 kHz samples a pull speaker has played (oldest first).
/// `out_count` receives how many were written. A `capacity` of more than isize::MAX bytes
/// (a size no buffer has) is ACS_ERR_INVALID_ARGUMENT.
#[no_mangle]
pub unsafe extern "C" fn acs_audio_device_pull_pcm(
    d: *mut acs_audio_device,
    out_samples: *mut i16,
    capacity: usize,
    out_count: *mut usize,
) -> acs_status {
    guard(|| {
        let dev = handles::audio_device(d)?;
        need(out_count, "out_count")?;
        if out_samples.is_null() {
            return Err(FfiError::new(ACS_ERR_NULL_POINTER, "out_samples is NULL"));
        }
        check_capacity::<i16>(capacity, "capacity")?;
        // SAFETY: the caller gives `capacity` writable samples.
        let buf = unsafe { std::slice::from_raw_parts_mut(out_samples, capacity) };
        let n = dev.pull_pcm(buf).map_err(crate::error::Error::from)?;
        out(out_count, n, "out_count")
    })
}

/// Power of `frequency_hz` in mono 48 kHz PCM (Goertzel; a full-scale sine ≈ 0.5).
/// A helper for "can you hear me" checks and tests. ACS_ERR_INVALID_ARGUMENT for more than
/// ACS_MAX_PCM_FRAMES samples or a frequency outside (0, 24000) Hz.
#[no_mangle]
pub unsafe extern "C" fn acs_audio_tone_power(
    samples: *const i16,
    count: usize,
    frequency_hz: f32,
    out_power: *mut f32,
) -> acs_status {
    guard(|| {
        need(out_power, "out_power")?;
        if samples.is_null() && count > 0 {
            return Err(FfiError::new(ACS_ERR_NULL_POINTER, "samples is NULL"));
        }
        if count > ACS_MAX_PCM_FRAMES {
            return Err(FfiError::new(
                ACS_ERR_INVALID_ARGUMENT,
                format!("count is {count}, more than ACS_MAX_PCM_FRAMES ({ACS_MAX_PCM_FRAMES})"),
            ));
        }
        if !(frequency_hz.is_finite() && frequency_hz > 0.0 && frequency_hz < 24_000.0) {
            return Err(FfiError::new(
                ACS_ERR_INVALID_ARGUMENT,
                "frequency_hz must be in (0, 24000)",
            ));
        }
        let pcm = if count == 0 {
            &[][..]
        } else {
            // SAFETY: the caller gives `count` samples.
            unsafe { std::slice::from_raw_parts(samples, count) }
        };
        out(out_power, tone_power(pcm, frequency_hz), "out_power")
    })
}
