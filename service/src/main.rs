//! acscalling-service: identity, signaling, SFU and echo bot. (skeleton)
#[path = "../../src/protocol/mod.rs"]
#[allow(dead_code)]
mod protocol;

fn main() {}
