//! INTERFACE STUB — to be implemented (see the helper brief). Signatures are the contract.
use super::audio::EncodedAudioFrame;
use super::MediaError;
use std::net::IpAddr;
use std::sync::Arc;

/// Transport settings.
#[derive(Debug, Clone)]
pub struct TransportConfig {
    /// Local address to gather a host candidate on (the interface that reaches the service).
    pub local_ip: IpAddr,
    /// Number of audio receive slots; m-line "0" is sendrecv, "1".."n-1" are recvonly.
    pub audio_slots: usize,
}

/// Connection state of the transport.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransportState {
    Connecting,
    Connected,
    Failed,
    Closed,
}

/// Callbacks from the transport (called from its tasks; must not block).
pub trait TransportEvents: Send + Sync + 'static {
    fn on_state(&self, state: TransportState);
    fn on_audio(&self, slot: usize, seq: u16, timestamp: u32, payload: &[u8]);
}

/// Non-blocking handle to send audio frames from any thread.
#[derive(Clone)]
pub struct AudioSender(());

impl AudioSender {
    pub fn send(&self, _frame: EncodedAudioFrame) { unimplemented!() }
}

/// One PeerConnection to the service's SFU.
pub struct MediaTransport(Arc<()>);

impl MediaTransport {
    pub async fn new(_cfg: TransportConfig, _events: Arc<dyn TransportEvents>) -> Result<Self, MediaError> { unimplemented!() }
    pub async fn create_offer(&self) -> Result<String, MediaError> { unimplemented!() }
    pub async fn apply_answer(&self, _sdp: String) -> Result<(), MediaError> { unimplemented!() }
    pub fn audio_sender(&self) -> AudioSender { unimplemented!() }
    pub async fn close(&self) { unimplemented!() }
}
