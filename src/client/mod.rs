//! The Rust API: CallClient, CallAgent, Call, RemoteParticipant, DeviceManager and their
//! state machines. The FFI layer (`crate::ffi`) is a thin skin over these types.

mod agent_push;
pub mod call;
pub mod call_agent;
mod call_audio;
pub mod call_client;
mod call_group;
mod call_lobby;
mod call_media;
mod call_network;
mod call_phone;
mod call_roster;
mod call_stats;
mod call_transfer;
mod call_video;
pub mod device_manager;
pub(crate) mod device_watch;
mod dispatch;
pub mod events;
mod link;
pub mod local_video_stream;
pub(crate) mod machine;
pub mod participant;
pub mod phone;
pub mod remote_video;
mod roster;
mod speech;
pub(crate) mod state;

pub use call::{Call, CallDirection, CallOptions, StartCallOptions};
pub use call_agent::{AgentListener, CallAgent, CallAgentOptions, TokenRefresher};
pub use call_client::{CallClient, CallClientOptions};
pub use call_group::AddParticipantOptions;
pub use call_stats::MediaStatistics;
pub use device_manager::{DeviceManager, MediaKind};
pub use events::{
    AgentConnectionState, AgentEvent, CallAction, DeviceEvent, DeviceListener, DispatchMode,
    OutgoingVideoState, PushNotificationResult,
};
pub use local_video_stream::{list_screen_sources, LocalVideoStream, VideoSourceKind};
pub use participant::RemoteParticipant;
pub use phone::{DtmfTone, IdentifierKind};
pub use remote_video::RemoteVideoStream;
pub use speech::DominantSpeakers;
