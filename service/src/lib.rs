//! The media and telephony core of acscalling-service as a library: the SFU, the phone
//! legs' media and bridges, the SIP user agent and the echo bot. The binary (`main.rs`)
//! adds identity, signaling and the hub on top; the fuzz targets (`../fuzz`) and the
//! regression tests that replay their corpus (`tests/fuzz_corpus.rs`) call [`fuzzing`].

use acscalling_protocol as protocol;

pub mod echo_bot;
pub mod fuzzing;
pub mod pstn;
pub mod sfu;
pub mod sip;
