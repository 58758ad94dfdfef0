//! Group-call features of a [`Call`]: invite and remove participants, receive-slot owners,
//! speaking flags, dominant speakers.

use super::call::{Call, CallNotice};
use super::participant::RemoteParticipant;
use super::phone::alternate_caller_id;
use super::speech::DominantSpeakers;
use crate::error::{Error, Result};
use crate::protocol::Identifier;

/// Options of [`Call::add_participant_with_options`].
#[derive(Clone, Debug, Default)]
pub struct AddParticipantOptions {
    /// The phone number (`4:+…` raw id) a phone-number participant sees as the caller (ACS's
    /// alternate caller id); `None` (or empty): the service's default. Other participants
    /// ignore it.
    pub alternate_caller_id: Option<String>,
}

impl Call {
    /// The service moved speakers between this client's receive slots, or (large calls)
    /// mixes `mixed` into one slot.
    pub(crate) fn on_audio_slots(&self, owners: &[Option<String>], mixed: &[String]) {
        let dominant = self.0.dominant.lock().speakers.clone();
        let (stopped, flips) = {
            let mut speech = self.0.speech.lock();
            let mut stopped = speech.set_owners(owners);
            stopped.extend(speech.set_mixed(mixed));
            (stopped, speech.on_ranking(&dominant))
        };
        for id in stopped {
            self.set_speaking(&id, false);
        }
        for (id, speaking) in flips {
            self.set_speaking(&id, speaking);
        }
    }

    /// The service's new dominant-speaker ranking.
    pub(crate) fn on_dominant_speakers(&self, speakers: Vec<String>, timestamp_ms: u64) {
        let flips = self.0.speech.lock().on_ranking(&speakers);
        for (id, speaking) in flips {
            self.set_speaking(&id, speaking);
        }
        {
            let mut d = self.0.dominant.lock();
            if d.speakers == speakers {
                d.timestamp_ms = timestamp_ms;
                return;
            }
            *d = DominantSpeakers {
                speakers,
                timestamp_ms,
            };
        }
        self.notify(CallNotice::DominantSpeakers);
    }

    // ---- public API ----

    /// The dominant speakers, loudest first, as last reported by the service.
    pub fn dominant_speakers(&self) -> DominantSpeakers {
        self.0.dominant.lock().clone()
    }

    /// Invites `raw_id` into the call (a 1:1 call becomes a group call; media goes on).
    /// Returns the participant at once, `Idle`; it rings, then connects, as roster events
    /// say. If the service refuses, the participant is removed with the reason (404 unknown
    /// user, 480 not connected, 403/10110 call full, 400 already in the call); one still
    /// ringing after the promote timeout (115 s) is removed with 408/10004.
    pub fn add_participant(&self, raw_id: &str) -> Result<RemoteParticipant> {
        self.add_participant_with_options(raw_id, &AddParticipantOptions::default())
    }

    /// [`Call::add_participant`] with options: a phone-number participant sees
    /// `alternate_caller_id` as the caller (ACS's `AddPhoneNumberOptions`). A caller id that
    /// is not a phone number is `InvalidArgument`.
    pub fn add_participant_with_options(
        &self,
        raw_id: &str,
        options: &AddParticipantOptions,
    ) -> Result<RemoteParticipant> {
        self.require_live()?;
        let id = Identifier::parse(raw_id).map_err(|e| Error::InvalidArgument(e.to_string()))?;
        let raw = id.raw_id();
        let caller_id = alternate_caller_id(options.alternate_caller_id.as_deref())?;
        if self.0.ctx.sink.upgrade().is_none() {
            return Err(Error::InvalidState("the call agent is gone".into()));
        }
        let (added, p) = self.drive_then(
            |m, now| m.add_participant(&raw, caller_id, now),
            |call| call.participant(&raw),
        );
        added?;
        p.ok_or_else(|| Error::Internal(format!("{raw} was invited but is not in the roster")))
    }

    /// Removes a participant from the call (it ends with 0/5300 "removed"; an invitation
    /// is cancelled). The roster change arrives as a `ParticipantRemoved` event.
    pub fn remove_participant(&self, participant: &RemoteParticipant) -> Result<()> {
        let raw = participant.identifier().to_string();
        self.drive(|m, _| m.remove_participant(&raw))
    }

    /// Whether this call is a group call: joined by group id, or with invitees added.
    pub fn is_group_call(&self) -> bool {
        self.is_group()
    }
}
