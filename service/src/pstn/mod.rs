//! PSTN gateway: phone legs (SIP calls to a carrier) as participants of a call.

// Not wired into the hub yet: the SIP signaling and the SFU integration use it next.
#[allow(dead_code)]
pub mod media;
