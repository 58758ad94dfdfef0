//! The Rust API: CallClient, CallAgent, Call, RemoteParticipant, DeviceManager and their
//! state machines. The FFI layer (`crate::ffi`) is a thin skin over these types.

pub mod call;
pub mod call_agent;
pub mod call_client;
mod call_group;
mod call_video;
pub mod device_manager;
pub(crate) mod device_watch;
pub mod events;
pub mod local_video_stream;
pub mod participant;
pub mod remote_video;
pub(crate) mod state;

pub use call::{Call, CallDirection, CallOptions};
pub use call_agent::{CallAgent, CallAgentOptions, TokenRefresher};
pub use call_client::{CallClient, CallClientOptions};
pub use call_group::DominantSpeakers;
pub use device_manager::{DeviceManager, MediaKind};
pub use events::{
    AgentConnectionState, AgentEvent, AgentListener, DeviceEvent, DeviceListener, DispatchMode,
};
pub use local_video_stream::{LocalVideoStream, VideoSourceKind};
pub use participant::RemoteParticipant;
pub use remote_video::RemoteVideoStream;

pub(crate) use crate::object_id::next_object_id;
