//! `acscalling devices`, and the choice of a call's microphone and speaker from the command
//! line: a system device by name or id, or one of the library's virtual devices.

use crate::{fail, CliResult, DeviceArgs};
use acscalling::client::{CallClient, CallClientOptions, DeviceManager};
use acscalling::media::audio::AudioDevice;
use std::path::Path;

/// Frequency of the virtual tone microphone `tone` without `:HZ`.
pub const DEFAULT_TONE_HZ: f32 = 440.0;
/// Amplitude of the tone (relative to full scale): its power reads ≈ 0.125.
pub const TONE_AMPLITUDE: f32 = 0.5;
/// How much the virtual recording speaker holds before it drops the oldest audio.
const RECORD_MS: u32 = 10_000;

/// The virtual devices this tool offers, registered with the device manager so that they
/// appear in its lists.
pub fn add_virtual_devices(dm: &DeviceManager) {
    dm.add_virtual_device(AudioDevice::tone_microphone(
        &format!("tone ({DEFAULT_TONE_HZ} Hz sine; tone:HZ for another)"),
        DEFAULT_TONE_HZ,
        TONE_AMPLITUDE,
    ));
    dm.add_virtual_device(AudioDevice::pull_speaker(
        "record (analysed and dropped)",
        RECORD_MS,
    ));
}

pub fn list() -> CliResult<()> {
    let client = CallClient::new(CallClientOptions::default())?;
    let dm = client.device_manager();
    add_virtual_devices(&dm);
    let line = |default: bool, virt: bool, name: String, id: String| {
        let mark = if default { "*" } else { " " };
        let tag = if virt { " [virtual]" } else { "" };
        println!("  {mark} {name}{tag}\n      id: {id}");
    };
    println!("Microphones:");
    for d in dm.microphones() {
        line(d.is_default(), d.is_virtual(), d.name(), d.id());
    }
    println!("      also: wav:PATH [virtual] (plays a WAV file in a loop)");
    println!("Speakers:");
    for d in dm.speakers() {
        line(d.is_default(), d.is_virtual(), d.name(), d.id());
    }
    println!("      also: wav:PATH [virtual] (writes what is played to a WAV file)");
    println!("Cameras:");
    let cams = dm.cameras();
    let default_cam = dm.selected_camera().map(|c| c.id());
    for c in cams {
        let default = c.is_default() || default_cam.as_deref() == Some(c.id().as_str());
        line(default, c.is_virtual(), c.name(), c.id());
    }
    client.shutdown();
    Ok(())
}

/// The microphone and speaker of a call. `None` is the system default (checked to exist).
pub struct CallDevices {
    pub mic: Option<AudioDevice>,
    pub speaker: Option<AudioDevice>,
    /// The frequency of the tone the microphone sends, when it is a tone.
    pub tone_hz: Option<f32>,
    /// The virtual recording speaker, when that is the speaker: what it plays is pulled
    /// from it (and analysed).
    pub record: Option<AudioDevice>,
}

pub fn choose(dm: &DeviceManager, args: &DeviceArgs) -> CliResult<CallDevices> {
    if let Some(hz) = args.tone {
        if !(hz.is_finite() && (20.0..=20_000.0).contains(&hz)) {
            fail!("--tone {hz}: the frequency must be between 20 and 20000 Hz");
        }
    }
    let (mic, tone_hz) = match (args.mic.as_deref(), args.tone) {
        (None, Some(hz)) => (Some(tone_mic(hz)), Some(hz)),
        (None, None) => {
            if dm.selected_microphone().is_none() {
                fail!(
                    "no microphone found on this machine; use --tone HZ (or --mic tone) for a \
                     virtual one"
                );
            }
            (None, None)
        }
        (Some(spec), tone) => {
            if spec == "tone" {
                let hz = tone.unwrap_or(DEFAULT_TONE_HZ);
                (Some(tone_mic(hz)), Some(hz))
            } else if let Some(f) = spec.strip_prefix("tone:") {
                let hz = f
                    .parse::<f32>()
                    .ok()
                    .filter(|hz| hz.is_finite() && (20.0..=20_000.0).contains(hz))
                    .ok_or_else(|| {
                        crate::CliError(format!("--mic {spec}: the frequency must be 20..20000 Hz"))
                    })?;
                (Some(tone_mic(hz)), Some(hz))
            } else if let Some(path) = spec.strip_prefix("wav:") {
                let d = AudioDevice::wav_microphone("wav", Path::new(path), true)
                    .map_err(|e| crate::CliError(format!("--mic {spec}: {e}")))?;
                (Some(d), None)
            } else {
                (find(dm.microphones(), spec, "microphone")?, None)
            }
        }
    };
    let (speaker, record) = match args.speaker.as_deref() {
        Some("record") | Some("null") => {
            let d = AudioDevice::pull_speaker("record", RECORD_MS);
            (Some(d.clone()), Some(d))
        }
        None if args.tone.is_some() => {
            let d = AudioDevice::pull_speaker("record", RECORD_MS);
            (Some(d.clone()), Some(d))
        }
        None => {
            if dm.selected_speaker().is_none() {
                fail!(
                    "no speaker found on this machine; use --speaker record (virtual) or \
                     --tone HZ"
                );
            }
            (None, None)
        }
        Some(spec) => match spec.strip_prefix("wav:") {
            Some(path) => {
                let d = AudioDevice::wav_speaker("wav", Path::new(path))
                    .map_err(|e| crate::CliError(format!("--speaker {spec}: {e}")))?;
                (Some(d), None)
            }
            None => (find(dm.speakers(), spec, "speaker")?, None),
        },
    };
    Ok(CallDevices {
        mic,
        speaker,
        tone_hz,
        record,
    })
}

fn tone_mic(hz: f32) -> AudioDevice {
    AudioDevice::tone_microphone(&format!("tone {hz} Hz"), hz, TONE_AMPLITUDE)
}

/// The one device whose id is `spec`, or whose name is (or contains) it, ignoring case.
fn find(list: Vec<AudioDevice>, spec: &str, what: &str) -> CliResult<Option<AudioDevice>> {
    let want = spec.to_lowercase();
    if let Some(d) = list
        .iter()
        .find(|d| d.id() == spec || d.name().to_lowercase() == want)
    {
        return Ok(Some(d.clone()));
    }
    let hits: Vec<&AudioDevice> = list
        .iter()
        .filter(|d| d.name().to_lowercase().contains(&want))
        .collect();
    match hits.as_slice() {
        [d] => Ok(Some((*d).clone())),
        [] => fail!("no {what} called '{spec}' (see `acscalling devices`)"),
        many => fail!(
            "'{spec}' matches {} {what}s: {} (give more of the name, or the id)",
            many.len(),
            many.iter().map(|d| d.name()).collect::<Vec<_>>().join(", ")
        ),
    }
}
