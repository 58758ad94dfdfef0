//! Audio of a call, the host's side: switching devices mid-call, audio processing, counters.

use super::call::Call;
use crate::error::{Error, Result};
use crate::media::audio::{AudioDevice, AudioProcessing, DeviceKind};

impl Call {
    /// Switches the microphone mid-call (the mute state is kept).
    pub fn set_microphone(&self, device: &AudioDevice) -> Result<()> {
        self.require_live()?;
        if device.kind() != DeviceKind::Microphone {
            return Err(Error::InvalidArgument(format!(
                "'{}' is not a microphone",
                device.name()
            )));
        }
        self.0.media.switch_microphone(device)
    }

    /// Switches the speaker mid-call.
    pub fn set_speaker(&self, device: &AudioDevice) -> Result<()> {
        self.require_live()?;
        if device.kind() != DeviceKind::Speaker {
            return Err(Error::InvalidArgument(format!(
                "'{}' is not a speaker",
                device.name()
            )));
        }
        self.0.media.switch_speaker(device)
    }

    /// Turns echo cancellation, noise suppression and gain control on or off in this call,
    /// at once (they apply to a real microphone; a virtual one is never processed).
    pub fn set_audio_processing(&self, settings: AudioProcessing) -> Result<()> {
        self.require_live()?;
        self.0.media.set_audio_processing(settings)
    }

    /// The call's audio processing settings, and whether the microphone is being processed
    /// now (None before media starts).
    pub fn audio_processing(&self) -> Option<(AudioProcessing, bool)> {
        self.0.media.audio_processing()
    }

    /// Audio counters of this call (zero before media starts).
    pub fn audio_stats(&self) -> crate::media::audio::AudioStats {
        self.0.media.audio_stats()
    }
}
