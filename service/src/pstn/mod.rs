//! PSTN gateway: phone legs (SIP calls to a carrier) as participants of a call. The SIP
//! side is `crate::sip`; the hub's side is `crate::phone_calls`.

pub mod bridge;
pub mod media;
pub mod numbers;
pub mod routes;
