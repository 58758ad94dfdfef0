// acscalling for browsers: the native SDK's shapes (CallClient → CallAgent → Call,
// RemoteParticipant, DeviceManager, LocalVideoStream), its states and end reasons, over
// the service's signaling protocol and WebRTC to its SFU.

export { CallClient } from "./call_client";
export { CallAgent } from "./call_agent";
export type { CallAgentOptions, CallAgentEvents } from "./call_agent";
export { Call } from "./call";
export type { CallOptions, CallEvents, ParticipantRef } from "./call";
export { RemoteParticipant } from "./participant";
export type { RemoteVideoStream, RemoteParticipantEvents } from "./participant";
export { DeviceManager } from "./device_manager";
export type { AudioDeviceInfo, VideoDeviceInfo } from "./device_manager";
export { LocalVideoStream } from "./local_video_stream";
export type { VideoSource } from "./local_video_stream";
export { VideoStreamRenderer } from "./renderer";
export { TokenCredential } from "./token_credential";
export type { TokenCredentialOptions } from "./token_credential";
export {
  AUDIO_SLOTS,
  VIDEO_SLOTS,
  ECHO_BOT_ID,
  PROTOCOL_VERSION,
  CallState,
  ParticipantState,
  ConnectionState,
  VideoStreamKind,
  EndReasons,
  CallingError,
  isRawId,
} from "./protocol";
export type { EndReason, Role } from "./protocol";

/** Version of this SDK. */
export const VERSION = "0.1.0";
