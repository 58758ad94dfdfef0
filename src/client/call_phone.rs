//! Phone features of a [`Call`]: DTMF sent to its phone participants and received from them.

use super::call::Call;
use super::phone::DtmfTone;
use crate::error::{Error, Result};
use crate::protocol::ClientMessage;

impl Call {
    /// Sends `tone` to the call's phone participants (ACS's `sendDtmf`), as an RFC 4733
    /// telephone-event on their phone legs. Returns at once with a request id (per call,
    /// from 1); the outcome arrives as [`AgentEvent::DtmfSendCompleted`] with that id:
    /// sent, or the service's refusal (400 "this call has no phone participant") or the
    /// link being down (503). A call that is not connected (held counts as connected) is
    /// `InvalidState`.
    ///
    /// [`AgentEvent::DtmfSendCompleted`]: super::AgentEvent::DtmfSendCompleted
    pub fn send_dtmf(&self, tone: DtmfTone) -> Result<u64> {
        if self.0.ctx.sink.upgrade().is_none() {
            return Err(Error::InvalidState("the call agent is gone".into()));
        }
        self.drive(|m, _| m.send_dtmf(tone))
    }

    /// Carries out the machine's `SendDtmf`: one request, its answer fed back.
    pub(super) fn send_dtmf_request(&self, request: u64, tone: DtmfTone) {
        let call = self.clone();
        self.request(
            move |req, call_id| ClientMessage::SendDtmf {
                req,
                call_id,
                tones: tone.as_char().to_string(),
            },
            move |r| {
                if let Err((_, why)) = &r {
                    log::info!("DTMF {} was not sent: {why}", tone.as_char());
                }
                call.drive(|m, _| m.dtmf_answer(request, tone, r))
            },
        );
    }

    /// The service's `DtmfReceived`: `participant` (raw id) pressed `key`.
    pub(crate) fn on_dtmf_received(&self, participant: &str, key: &str) {
        self.drive(|m, _| m.dtmf_received(participant, key));
    }
}
