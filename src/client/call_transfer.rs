//! Call transfer (ACS `transfer`): this side of a 1:1 call moves the other side to a target
//! user or phone number, and leaves when the target answers.

use super::call::Call;
use super::call_roster::CallNotice;
use crate::error::{Error, Result};
use crate::protocol::{ClientMessage, EndReason, Identifier, TransferState};
use std::sync::atomic::Ordering;

impl Call {
    /// Transfers the other participant of this 1:1 call to `target` (`8:acs:…` or `4:+…`).
    /// Returns at once; [`AgentEvent::TransferStateChanged`] follows on this side and on the
    /// transferee's: `Requested` (the transferee is asked; a phone is not), `Transferring`
    /// (it accepted: the target rings), then `Transferred` — and this call ends with
    /// 0/10015 — or `Failed` with the reason (603/10017 the transferee refused, the target's
    /// own reason when it declines, is busy or unreachable, 408/10016 the 60 s transfer
    /// timeout): the call goes on as it was.
    ///
    /// [`AgentEvent::TransferStateChanged`]: super::AgentEvent::TransferStateChanged
    pub fn transfer(&self, target: &str) -> Result<()> {
        let target = Identifier::parse(target)
            .map_err(|e| Error::InvalidArgument(e.to_string()))?
            .raw_id();
        if self.0.ctx.sink.upgrade().is_none() {
            return Err(Error::InvalidState("the call agent is gone".into()));
        }
        let call = self.clone();
        let t = target.clone();
        self.request(
            move |req, call_id| ClientMessage::Transfer {
                req,
                call_id,
                target: t,
            },
            move |r| {
                if let Err((reason, message)) = r {
                    log::info!("transfer to {target} refused: {message}");
                    call.notify(CallNotice::Transfer {
                        state: TransferState::Failed,
                        target,
                        reason,
                    });
                }
            },
        );
        Ok(())
    }

    /// Answers the transfer request of this call ([`AgentEvent::TransferRequested`]) when
    /// the agent answers them itself (`CallAgentOptions::answer_transfers`); otherwise the
    /// SDK accepted it already. `InvalidState` when no request waits for an answer.
    ///
    /// [`AgentEvent::TransferRequested`]: super::AgentEvent::TransferRequested
    pub fn answer_transfer(&self, accept: bool) -> Result<()> {
        if self.0.ctx.sink.upgrade().is_none() {
            return Err(Error::InvalidState("the call agent is gone".into()));
        }
        if !self.0.transfer_asked.swap(false, Ordering::SeqCst) {
            return Err(Error::InvalidState(
                "no transfer request waits for an answer".into(),
            ));
        }
        self.request(
            move |req, call_id| ClientMessage::AnswerTransfer {
                req,
                call_id,
                accept,
            },
            |r| {
                if let Err((_, why)) = r {
                    log::info!("the transfer answer was refused: {why}");
                }
            },
        );
        Ok(())
    }

    /// The service asks this participant to move to `target` (`transferor` asks).
    pub(crate) fn on_transfer_requested(&self, transferor: &str, target: &str, auto_accept: bool) {
        self.0.transfer_asked.store(true, Ordering::SeqCst);
        self.notify(CallNotice::TransferRequested {
            transferor: transferor.to_string(),
            target: target.to_string(),
        });
        if auto_accept {
            let _ = self.answer_transfer(true);
        }
    }

    /// A transfer of this call moved on.
    pub(crate) fn on_transfer_updated(
        &self,
        state: TransferState,
        target: &str,
        reason: EndReason,
    ) {
        if matches!(state, TransferState::Transferred | TransferState::Failed) {
            self.0.transfer_asked.store(false, Ordering::SeqCst);
        }
        self.notify(CallNotice::Transfer {
            state,
            target: target.to_string(),
            reason,
        });
    }
}
