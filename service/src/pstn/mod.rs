//! PSTN gateway: phone legs (SIP calls to a carrier) as participants of a call.

// Not wired into the hub yet: the SIP signaling and the SFU integration use it next.
#[allow(dead_code)]
pub mod media;

// One phone leg's media between the carrier's RTP and the call's SFU session. Not wired into
// the hub yet (the SIP side starts bridges next).
#[allow(dead_code)]
pub mod bridge;
