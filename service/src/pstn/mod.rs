//! PSTN gateway: phone legs (SIP calls to a carrier) as participants of a call. The SIP
//! side is `crate::sip`; the hub's side is `crate::phone_calls`.

// Parts the hub does not use yet (hold towards the phone, the 48 kHz mode's constants).
#[allow(dead_code)]
pub mod bridge;
#[allow(dead_code)]
pub mod media;
