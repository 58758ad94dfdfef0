//! The service's usual refusals of a client request.

use crate::protocol::{EndReason, ErrorBody};

/// A malformed or impossible request (400).
pub(crate) fn bad(message: impl Into<String>) -> ErrorBody {
    ErrorBody::new(EndReason::BAD_REQUEST, message)
}

/// A request about a call the client is not in (404).
pub(crate) fn not_in_call(call_id: &str) -> ErrorBody {
    ErrorBody::new(EndReason::NOT_FOUND, format!("not in call '{call_id}'"))
}
