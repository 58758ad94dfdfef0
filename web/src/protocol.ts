// The signaling protocol of acscalling-service, as the browser speaks it: the same JSON
// messages as the `acscalling-protocol` crate (protocol/src/lib.rs), states and end
// reasons numbered as in include/acscalling.h.

/** Version of the signaling protocol (protocol::PROTOCOL_VERSION). */
export const PROTOCOL_VERSION = 2;

/** The echo bot's raw id. */
export const ECHO_BOT_ID = "8:echo123";

/** Receive audio slots a client offers: m-line 0 sendrecv, the others recvonly. */
export const AUDIO_SLOTS = 4;
/** Incoming camera slots a client offers. */
export const VIDEO_SLOTS = 6;

/** Call state, numbered as ACS and the C header (ACS_CALL_STATE_*). */
export enum CallState {
  None = 0,
  EarlyMedia = 1,
  Incoming = 2,
  Connecting = 3,
  Ringing = 4,
  Connected = 5,
  LocalHold = 6,
  Disconnecting = 7,
  Disconnected = 8,
  InLobby = 9,
  RemoteHold = 10,
}

/** Participant state, numbered as ACS and the C header (ACS_PARTICIPANT_STATE_*). */
export enum ParticipantState {
  Idle = 0,
  EarlyMedia = 1,
  Connecting = 2,
  Connected = 3,
  Hold = 4,
  InLobby = 5,
  Disconnected = 6,
  Ringing = 7,
}

/** The agent's link to the service (ACS_AGENT_CONNECTION_*). */
export enum ConnectionState {
  Disconnected = 0,
  Connected = 1,
  Connecting = 2,
  Reconnecting = 3,
}

/** Kind of a video stream (ACS_VIDEO_STREAM_KIND_*). */
export enum VideoStreamKind {
  Video = 0,
  ScreenShare = 1,
}

/** Why a call ended or a participant left: a SIP-like code and a subcode, as ACS reports. */
export interface EndReason {
  code: number;
  subcode: number;
}

/** The end reasons of protocol::EndReason. */
export const EndReasons = {
  LOCAL_HANGUP: { code: 0, subcode: 0 },
  REMOTE_HANGUP: { code: 0, subcode: 4097 },
  REMOVED: { code: 0, subcode: 5300 },
  ENDED_FOR_EVERYONE: { code: 0, subcode: 5000 },
  DECLINED: { code: 603, subcode: 0 },
  CANCELLED: { code: 487, subcode: 0 },
  NO_ANSWER: { code: 408, subcode: 10004 },
  MEDIA_TIMEOUT: { code: 408, subcode: 10005 },
  INACTIVE: { code: 408, subcode: 10006 },
  UNAVAILABLE: { code: 480, subcode: 10037 },
  NOT_FOUND: { code: 404, subcode: 0 },
  UNAUTHORIZED: { code: 401, subcode: 0 },
  FORBIDDEN: { code: 403, subcode: 0 },
  BAD_REQUEST: { code: 400, subcode: 0 },
  CALL_FULL: { code: 403, subcode: 10110 },
  SERVICE_UNAVAILABLE: { code: 503, subcode: 0 },
  MEDIA_FAILED: { code: 500, subcode: 10007 },
  INTERNAL: { code: 500, subcode: 0 },
  SESSION_LOST: { code: 503, subcode: 10008 },
  SERVICE_SHUTDOWN: { code: 503, subcode: 10009 },
  RATE_LIMITED: { code: 429, subcode: 0 },
  MESSAGE_TOO_LARGE: { code: 413, subcode: 0 },
  MEDIA_NOT_PREPARED: { code: 400, subcode: 10010 },
  MODALITY_TIMEOUT: { code: 408, subcode: 10011 },
  SOURCE_ENDED: { code: 0, subcode: 10012 },
  PUSH_CALL_GONE: { code: 410, subcode: 10013 },
  PUSH_ALREADY_HANDLED: { code: 409, subcode: 10014 },
  TRANSFERRED: { code: 0, subcode: 10015 },
  TRANSFER_TIMEOUT: { code: 408, subcode: 10016 },
  TRANSFER_REFUSED: { code: 603, subcode: 10017 },
  LOBBY_REJECTED: { code: 403, subcode: 10018 },
  LOBBY_TIMEOUT: { code: 408, subcode: 10019 },
} as const satisfies Record<string, EndReason>;

/** An error from the service or the SDK: an end reason and a message. */
export class CallingError extends Error {
  readonly code: number;
  readonly subcode: number;
  constructor(reason: EndReason, message: string) {
    super(message);
    this.name = "CallingError";
    this.code = reason.code;
    this.subcode = reason.subcode;
  }
  get reason(): EndReason {
    return { code: this.code, subcode: this.subcode };
  }
}

// ---- the wire ----

type WireCallState = keyof typeof CallState;
type WireParticipantState = keyof typeof ParticipantState;
type WireKind = "video" | "screen_share";

/** A participant's role in a room (protocol::Role): what the service lets it do. */
export type Role = "organizer" | "presenter" | "attendee" | "consumer";

export interface ParticipantInfo {
  id: string;
  display_name: string;
  state: WireParticipantState;
  muted: boolean;
  video?: boolean;
  screen_sharing?: boolean;
  end_reason?: EndReason;
  /** Its role when the call is a room's. */
  role?: Role;
}

export interface ErrorBody {
  code: number;
  subcode: number;
  message: string;
}

/** What a rejoining party already has going (JoinGroupCall.state). */
export interface JoinState {
  muted: boolean;
  video: boolean;
  screen_sharing: boolean;
}

export interface Resume {
  session: string;
  last_seq: number;
}

/** How a call request brings its media: a new offer, or a session prepared ahead
 * (`prepare_media`; its answer is applied already). */
export type MediaRequest = { offer_sdp: string; media?: undefined } | { media: number; offer_sdp?: undefined };

/** Messages to the service; requests get their `req` from the signaling layer. */
export type ClientRequest =
  | ({ type: "start_call"; call_id: string; targets: string[] } & MediaRequest)
  | ({ type: "join_group_call"; group_id: string; state?: JoinState; room?: boolean } & MediaRequest)
  | ({ type: "accept"; call_id: string } & MediaRequest)
  | { type: "prepare_media"; offer_sdp: string }
  | { type: "reject"; call_id: string }
  | { type: "hang_up"; call_id: string; for_everyone: boolean }
  | { type: "set_muted"; call_id: string; muted: boolean }
  | { type: "set_hold"; call_id: string; hold: boolean }
  | { type: "add_participant"; call_id: string; target: string }
  | { type: "remove_participant"; call_id: string; target: string }
  | { type: "send_dtmf"; call_id: string; tones: string }
  | { type: "set_video"; call_id: string; kind: WireKind; on: boolean }
  | { type: "subscribe_video"; call_id: string; participant: string; kind: WireKind; slot: number }
  | { type: "unsubscribe_video"; call_id: string; kind: WireKind; slot: number }
  | { type: "refresh_token"; token: string }
  | { type: "restart_ice"; call_id: string; offer_sdp: string }
  | { type: "admit_participants"; call_id: string; participants: string[]; all: boolean }
  | { type: "reject_participant"; call_id: string; participant: string }
  | { type: "mute_participants"; call_id: string; participants: string[] }
  | { type: "ping" };

export interface Hello {
  type: "hello";
  protocol: number;
  token: string;
  display_name: string;
  resume?: Resume;
}

/** Messages from the service (`seq` numbers them per session; 0/absent: not numbered). */
export type ServerMessage = { seq?: number } & (
  | {
      type: "welcome";
      user_id: string;
      server_version: string;
      protocol: number;
      session?: string;
      resumed?: boolean;
      resume_secs?: number;
    }
  | { type: "response"; req: number; error?: ErrorBody; answer_sdp?: string; media_id?: number }
  | { type: "incoming_call"; call_id: string; caller: ParticipantInfo; others: string[] }
  | { type: "call_state"; call_id: string; state: WireCallState; end_reason?: EndReason }
  | { type: "roster"; call_id: string; participants: ParticipantInfo[] }
  | { type: "participant_updated"; call_id: string; participant: ParticipantInfo }
  | { type: "participants_updated"; call_id: string; participants: ParticipantInfo[] }
  | { type: "participant_removed"; call_id: string; participant: ParticipantInfo }
  | { type: "participants_removed"; call_id: string; participants: ParticipantInfo[] }
  | { type: "audio_slots"; call_id: string; slots: (string | null)[]; mixed?: string[] }
  | { type: "dominant_speakers"; call_id: string; speakers: string[]; timestamp_ms: number }
  | { type: "dtmf_received"; call_id: string; participant: string; tone: string }
  | { type: "media_lost"; call_id: string }
  | { type: "muted_by_others"; call_id: string; by: string }
  | { type: "token_expiring"; expires_in_secs: number }
  | { type: "error"; error: ErrorBody }
);

export function wireKind(kind: VideoStreamKind): WireKind {
  return kind === VideoStreamKind.ScreenShare ? "screen_share" : "video";
}

/** The numbered call state of a wire state name (unknown names: None). */
export function callStateOf(wire: string): CallState {
  const n = (CallState as unknown as Record<string, number>)[wire];
  return typeof n === "number" ? (n as CallState) : CallState.None;
}

/** The numbered participant state of a wire state name (unknown names: Idle). */
export function participantStateOf(wire: string): ParticipantState {
  const n = (ParticipantState as unknown as Record<string, number>)[wire];
  return typeof n === "number" ? (n as ParticipantState) : ParticipantState.Idle;
}

/** Whether `id` looks like a raw id the service takes: `8:acs:…`, `8:echo123`, `4:+…`. */
export function isRawId(id: string): boolean {
  const raw = id.trim();
  return (
    raw === ECHO_BOT_ID || /^8:acs:[A-Za-z0-9._-]{1,128}$/.test(raw) || /^4:\+?[0-9]{3,15}$/.test(raw)
  );
}
