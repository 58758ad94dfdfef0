//! The call machine's DTMF: tones sent to the call's phone participants (each send answered
//! by the service, the answer told to the host as a completion) and tones they press.

use super::{is_live_connected, CallMachine, Command, Notice};
use crate::client::phone::DtmfTone;
use crate::error::{Error, Result};
use crate::protocol::EndReason;

impl CallMachine {
    /// Sends `tone` to the call's phone participants; returns the request number the
    /// completion (`Notice::DtmfSent`) will carry. Only a connected call (held or not) can
    /// send; whether it has a phone participant is the service's to say, in the completion.
    pub(crate) fn send_dtmf(&mut self, tone: DtmfTone) -> Result<u64> {
        self.require_live()?;
        if !is_live_connected(self.state) {
            return Err(Error::InvalidState(format!(
                "DTMF needs a connected call; this one is {:?}",
                self.state
            )));
        }
        let request = self.next_dtmf_request;
        self.next_dtmf_request += 1;
        self.send(Command::SendDtmf { request, tone });
        Ok(request)
    }

    /// The service's answer to DTMF send `request` (or the link failing). Told to the host
    /// even once the call has ended, so that every send gets its completion.
    pub(crate) fn dtmf_answer(
        &mut self,
        request: u64,
        tone: DtmfTone,
        result: std::result::Result<(), (EndReason, String)>,
    ) {
        self.notice(Notice::DtmfSent {
            request,
            tone,
            result,
        });
    }

    /// A phone participant pressed a key: the service's `DtmfReceived`. A key that is not a
    /// DTMF tone, or one arriving after the end, is dropped (logged).
    pub(crate) fn dtmf_received(&mut self, participant: &str, key: &str) {
        if self.is_ended() {
            return;
        }
        match DtmfTone::from_str_key(key) {
            Some(tone) => self.notice(Notice::DtmfReceived {
                participant: participant.to_string(),
                tone,
            }),
            None => log::warn!("DTMF from {participant}: '{key}' is not a tone; dropped"),
        }
    }
}
