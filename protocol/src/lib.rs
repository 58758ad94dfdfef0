//! The wire protocol between the SDK and `acscalling-service`: identifiers, token claims,
//! call/participant states, end reasons and the signaling messages (JSON over WebSocket).
//!
//! Plain data (serde) with no I/O: one workspace crate used by the library, the service and
//! the load generator, so every side always agrees.
//! Bump [`PROTOCOL_VERSION`] on any incompatible change.

use serde::{Deserialize, Serialize};

pub mod clock;
pub mod identifier;
pub mod push;
pub use identifier::Identifier;

/// Version of the signaling protocol spoken on the WebSocket.
pub const PROTOCOL_VERSION: u32 = 2;

/// Most media sessions one connection may hold prepared (`PrepareMedia`) at once.
pub const MAX_PREPARED_MEDIA: usize = 2;

/// The raw id of the echo bot: a server-side participant that plays back what it hears.
pub const ECHO_BOT_ID: &str = "8:echo123";

/// Number of receive audio slots a client offers (the SFU forwards the loudest speakers
/// into them). The client's first audio m-line (mid "0") is sendrecv; the others are recvonly.
/// The service forwards into at most this many (its `--forwarded-speakers`, default 3).
pub const AUDIO_SLOTS: usize = 4;

/// Number of incoming video slots a client offers: up to this many remote cameras are
/// received (and rendered) at once. A further subscription is refused.
pub const VIDEO_SLOTS: usize = 6;

/// Kind of an outgoing or remote video stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[repr(i32)]
pub enum VideoStreamKind {
    /// A camera (real, virtual or host-pushed frames).
    Video = 0,
    /// A screen or window share (one per call at a time).
    ScreenShare = 1,
}

impl VideoStreamKind {
    /// The stream id remote participants see for this kind (ACS numbers a participant's
    /// streams; one camera and one screen share per participant here).
    pub fn stream_id(self) -> u32 {
        match self {
            VideoStreamKind::Video => 1,
            VideoStreamKind::ScreenShare => 2,
        }
    }

    /// How many receive slots a client has for this kind: `VIDEO_SLOTS` cameras, one
    /// screen share.
    pub fn slots(self) -> usize {
        match self {
            VideoStreamKind::Video => VIDEO_SLOTS,
            VideoStreamKind::ScreenShare => 1,
        }
    }
}

/// Default limit of participants in one call (the ACS maximum for a group call).
pub const DEFAULT_MAX_PARTICIPANTS: usize = 350;

/// Scope a token must carry to use calling.
pub const SCOPE_VOIP: &str = "voip";

/// Timeouts from the ACS documentation, in seconds.
pub mod timeouts {
    /// Reconnect/removal of a participant with no media or signaling.
    pub const PARTICIPANT_REMOVAL_SECS: u64 = 120;
    /// Add or remove a modality (start/stop video or screen sharing).
    pub const MODALITY_SECS: u64 = 40;
    /// Call transfer.
    pub const TRANSFER_SECS: u64 = 60;
    /// Waiting in a room's lobby (ours; ACS names none): nobody admitted the joiner.
    pub const LOBBY_SECS: u64 = 900;
    /// 1:1 call establishment.
    pub const ONE_TO_ONE_SETUP_SECS: u64 = 85;
    /// Group call establishment.
    pub const GROUP_SETUP_SECS: u64 = 85;
    /// PSTN call establishment.
    pub const PSTN_SETUP_SECS: u64 = 115;
    /// Promote a 1:1 call to a group call.
    pub const PROMOTE_SECS: u64 = 115;
}

/// Claims of an access token (JWT, HS256, signed by the service's access key).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenClaims {
    /// Raw id of the user, e.g. `8:acs:<uuid>`.
    pub sub: String,
    /// Expiry, seconds since the Unix epoch.
    pub exp: u64,
    /// Issued at, seconds since the Unix epoch.
    pub iat: u64,
    /// Space-separated scopes; calling needs `voip`.
    pub scope: String,
    /// Unique token id, used for revocation.
    pub jti: String,
}

/// Call state, numbered as in ACS (2 = Incoming, as ACS numbers it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(i32)]
pub enum CallState {
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

/// Participant state, numbered as in ACS.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[repr(i32)]
pub enum ParticipantState {
    Idle = 0,
    EarlyMedia = 1,
    Connecting = 2,
    Connected = 3,
    Hold = 4,
    InLobby = 5,
    Disconnected = 6,
    Ringing = 7,
}

impl ParticipantState {
    /// Every state, in numbering order.
    pub const ALL: [ParticipantState; 8] = [
        Self::Idle,
        Self::EarlyMedia,
        Self::Connecting,
        Self::Connected,
        Self::Hold,
        Self::InLobby,
        Self::Disconnected,
        Self::Ringing,
    ];

    /// The state's name, as it goes on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Idle => "Idle",
            Self::EarlyMedia => "EarlyMedia",
            Self::Connecting => "Connecting",
            Self::Connected => "Connected",
            Self::Hold => "Hold",
            Self::InLobby => "InLobby",
            Self::Disconnected => "Disconnected",
            Self::Ringing => "Ringing",
        }
    }
}

/// A participant's role in a room (ACS rooms): what the service lets it do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Everything: add and remove participants, end the meeting for everyone.
    Organizer,
    /// Speaks, shares, adds and removes participants.
    Presenter,
    /// Speaks and shares; cannot change the roster.
    Attendee,
    /// Listens and watches only: cannot unmute, send video or share.
    Consumer,
}

/// REST: one listed participant of a room.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RoomParticipant {
    pub id: String,
    pub role: Role,
}

/// REST: body of `POST /rooms`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct RoomRequest {
    /// Unix seconds; absent: now.
    #[serde(default)]
    pub valid_from: Option<u64>,
    /// Unix seconds; absent: 180 days after `valid_from` (ACS's longest).
    #[serde(default)]
    pub valid_until: Option<u64>,
    #[serde(default)]
    pub participants: Vec<RoomParticipant>,
    /// People the room does not list may ask to join: they wait in the lobby (call and
    /// participant state `InLobby`) until an organizer or presenter admits them (as
    /// attendees) or turns them away. Without it they are refused (403).
    #[serde(default)]
    pub lobby: bool,
}

/// REST: a room, as `POST /rooms` and `GET /rooms/{id}` answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct RoomResponse {
    pub id: String,
    pub valid_from: u64,
    pub valid_until: u64,
    pub participants: Vec<RoomParticipant>,
    /// `http://<service>/meet/<id>`: what `CallAgent::join_room` also takes.
    pub join_url: String,
    /// Unlisted people wait in the lobby (see [`RoomRequest::lobby`]).
    #[serde(default)]
    pub lobby: bool,
}

/// Where a call transfer stands (`TransferUpdated`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferState {
    /// The transferee was asked.
    Requested,
    /// The transferee accepted: the target rings.
    Transferring,
    /// The target answered: the transferor left, the transferee talks to the target.
    Transferred,
    /// It did not happen (`end_reason` says why); the call goes on as it was.
    Failed,
}

/// Why a call ended or a participant left: a SIP-like code plus a subcode, as ACS reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
pub struct EndReason {
    pub code: i32,
    pub subcode: i32,
}

impl EndReason {
    pub const fn new(code: i32, subcode: i32) -> Self {
        Self { code, subcode }
    }
    /// This side hung up.
    pub const LOCAL_HANGUP: EndReason = EndReason::new(0, 0);
    /// The other side of a 1:1 call hung up (or the last other participant left).
    pub const REMOTE_HANGUP: EndReason = EndReason::new(0, 4097);
    /// A participant was removed from the call by another participant.
    pub const REMOVED: EndReason = EndReason::new(0, 5300);
    /// The call was ended for everyone by a participant.
    pub const ENDED_FOR_EVERYONE: EndReason = EndReason::new(0, 5000);
    /// The callee declined.
    pub const DECLINED: EndReason = EndReason::new(603, 0);
    /// The caller cancelled before the callee answered.
    pub const CANCELLED: EndReason = EndReason::new(487, 0);
    /// Nobody answered before the setup timeout.
    pub const NO_ANSWER: EndReason = EndReason::new(408, 10004);
    /// The media connection could not be set up in time.
    pub const MEDIA_TIMEOUT: EndReason = EndReason::new(408, 10005);
    /// The participant sent neither media nor signaling for 120 s.
    pub const INACTIVE: EndReason = EndReason::new(408, 10006);
    /// The callee is not connected to the service.
    pub const UNAVAILABLE: EndReason = EndReason::new(480, 10037);
    /// The callee id does not exist.
    pub const NOT_FOUND: EndReason = EndReason::new(404, 0);
    /// The token is missing, forged, revoked or expired.
    pub const UNAUTHORIZED: EndReason = EndReason::new(401, 0);
    /// The token lacks the `voip` scope or the action is not allowed.
    pub const FORBIDDEN: EndReason = EndReason::new(403, 0);
    /// The request was malformed.
    pub const BAD_REQUEST: EndReason = EndReason::new(400, 0);
    /// The call is full.
    pub const CALL_FULL: EndReason = EndReason::new(403, 10110);
    /// The connection to the service was lost or could not be made.
    pub const SERVICE_UNAVAILABLE: EndReason = EndReason::new(503, 0);
    /// Media (ICE/DTLS) failed.
    pub const MEDIA_FAILED: EndReason = EndReason::new(500, 10007);
    /// An internal error in the service.
    pub const INTERNAL: EndReason = EndReason::new(500, 0);
    /// The agent reconnected but the service no longer held its session (it restarted, or
    /// the reconnect window passed there): the calls of that session are over.
    pub const SESSION_LOST: EndReason = EndReason::new(503, 10008);
    /// The service shut down (SIGTERM): every call ended, every agent was told.
    pub const SERVICE_SHUTDOWN: EndReason = EndReason::new(503, 10009);
    /// The client sent more than the service's rate limit allows (REST per IP, signaling
    /// messages per connection).
    pub const RATE_LIMITED: EndReason = EndReason::new(429, 0);
    /// A signaling message larger than the service accepts.
    pub const MESSAGE_TOO_LARGE: EndReason = EndReason::new(413, 0);
    /// A call request named a prepared media session (`PrepareMedia`) that is unknown to
    /// this connection or no longer usable: the client offers anew.
    pub const MEDIA_NOT_PREPARED: EndReason = EndReason::new(400, 10010);
    /// An outgoing video stream's announcement was not answered within the modality
    /// timeout (40 s): the stream stopped.
    pub const MODALITY_TIMEOUT: EndReason = EndReason::new(408, 10011);
    /// An outgoing video stream's source ended by itself (a shared window closed, a
    /// monitor or camera went away): the stream stopped.
    pub const SOURCE_ENDED: EndReason = EndReason::new(0, 10012);
    /// A push notification's call no longer rings for this user (answered elsewhere,
    /// cancelled, timed out).
    pub const PUSH_CALL_GONE: EndReason = EndReason::new(410, 10013);
    /// A push notification was handled before (its nonce is used).
    pub const PUSH_ALREADY_HANDLED: EndReason = EndReason::new(409, 10014);
    /// The transferor's call ended because its transfer completed.
    pub const TRANSFERRED: EndReason = EndReason::new(0, 10015);
    /// A transfer got no answer (transferee or target) within the transfer timeout (60 s).
    pub const TRANSFER_TIMEOUT: EndReason = EndReason::new(408, 10016);
    /// The transferee refused the transfer.
    pub const TRANSFER_REFUSED: EndReason = EndReason::new(603, 10017);
    /// An organizer or presenter turned this participant away from a room's lobby.
    pub const LOBBY_REJECTED: EndReason = EndReason::new(403, 10018);
    /// Nobody admitted this participant from a room's lobby within the lobby timeout.
    pub const LOBBY_TIMEOUT: EndReason = EndReason::new(408, 10019);
}

/// A participant as the service describes it in rosters.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ParticipantInfo {
    /// Raw identifier (`8:acs:…`, `4:+…`, `8:echo123`).
    pub id: String,
    pub display_name: String,
    pub state: ParticipantState,
    pub muted: bool,
    /// The participant sends camera video.
    #[serde(default, skip_serializing_if = "is_false")]
    pub video: bool,
    /// The participant shares its screen.
    #[serde(default, skip_serializing_if = "is_false")]
    pub screen_sharing: bool,
    /// Set when `state` is `Disconnected`: why the participant left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_reason: Option<EndReason>,
    /// Its role when the call is a room's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<Role>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Whether `c` is a DTMF tone this protocol carries (`0-9 * # A-D`, upper case).
pub fn is_dtmf_tone(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '*' | '#' | 'A'..='D')
}

/// Messages from the SDK to the service. Requests carry `req`, echoed in the [`ServerMessage::Response`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ClientMessage {
    /// First message on a connection: authenticates the agent.
    Hello {
        protocol: u32,
        token: String,
        display_name: String,
        /// Resume an earlier session of the same user after the link dropped: its calls
        /// stay, and the messages it missed are sent again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<Resume>,
    },
    /// Start a call to `targets` (raw ids). `call_id` is chosen by the client (UUID).
    /// `offer_sdp` is the client's WebRTC offer to the SFU.
    StartCall {
        req: u64,
        call_id: String,
        targets: Vec<String>,
        /// Empty when `media` names a prepared session.
        #[serde(default)]
        offer_sdp: String,
        /// A media session made ahead by `PrepareMedia` (already connected, or on its way):
        /// the call takes it instead of a new one from `offer_sdp`, and the Response carries
        /// no answer.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        media: Option<u64>,
        /// The number (`4:+…`) phone targets see as the caller (ACS's alternate caller id);
        /// it must be one the service lets this user present. Absent: the deployment's
        /// default number, or the user's own assigned number.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caller_id: Option<String>,
    },
    /// Join the group call `group_id` (a UUID the participants agreed on), creating it when
    /// nobody is in it yet. The call's `call_id` is the group id.
    JoinGroupCall {
        req: u64,
        group_id: String,
        /// As in `StartCall`.
        #[serde(default)]
        offer_sdp: String,
        /// As in `StartCall`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        media: Option<u64>,
        /// What the joiner already has going (a rejoin after the service restarted): the
        /// others see it muted or sending from the start, not a blip of "unmuted, no
        /// video" until its `SetMuted`/`SetVideo` arrive.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        state: Option<JoinState>,
        /// `group_id` is a room (`POST /rooms`): the service checks its validity window and
        /// gives the joiner the role the room lists for it.
        #[serde(default, skip_serializing_if = "is_false")]
        room: bool,
    },
    /// Invite `target` (raw id) into an ongoing call; a 1:1 call becomes a group call.
    AddParticipant {
        req: u64,
        call_id: String,
        target: String,
        /// As in `StartCall`: the caller id a phone `target` sees.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        caller_id: Option<String>,
    },
    /// Send DTMF `tones` (each one of `0-9 * # A-D`) to the call's phone participants, as
    /// RFC 4733 telephone-events, in order.
    SendDtmf {
        req: u64,
        call_id: String,
        tones: String,
    },
    /// Remove `target` from the call (it ends with `REMOVED`); also cancels an invitation.
    RemoveParticipant {
        req: u64,
        call_id: String,
        target: String,
    },
    /// Accept an incoming call with this client's offer to the SFU.
    Accept {
        req: u64,
        call_id: String,
        /// As in `StartCall`.
        #[serde(default)]
        offer_sdp: String,
        /// As in `StartCall`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        media: Option<u64>,
    },
    /// Decline an incoming call.
    Reject { req: u64, call_id: String },
    /// Leave the call (or end it for everyone).
    HangUp {
        req: u64,
        call_id: String,
        for_everyone: bool,
    },
    /// Report this participant's mute state.
    SetMuted {
        req: u64,
        call_id: String,
        muted: bool,
    },
    /// Put the call on hold (local hold) or resume it.
    SetHold {
        req: u64,
        call_id: String,
        hold: bool,
    },
    /// Start or stop sending a video stream of `kind` (the media flows on the PeerConnection
    /// the call already has; this tells the others it is available).
    SetVideo {
        req: u64,
        call_id: String,
        kind: VideoStreamKind,
        on: bool,
    },
    /// Receive `participant`'s stream of `kind` in incoming video slot `slot`
    /// (0..VIDEO_SLOTS for cameras; 0 for the screen-share slot), replacing what was there.
    SubscribeVideo {
        req: u64,
        call_id: String,
        participant: String,
        kind: VideoStreamKind,
        slot: u32,
    },
    /// Stop receiving into incoming video slot `slot` of `kind`'s slots.
    UnsubscribeVideo {
        req: u64,
        call_id: String,
        kind: VideoStreamKind,
        slot: u32,
    },
    /// Replace the connection's token before it expires.
    RefreshToken { req: u64, token: String },
    /// Keep-alive.
    Ping { req: u64 },
    /// Connect a media session to the SFU before any call (ICE + DTLS done ahead), to be
    /// named in the next `StartCall`/`Accept`/`JoinGroupCall` as `media`: the call then
    /// starts without waiting for its media transport. The Response carries the answer and
    /// the session's id (`media_id`). A connection holds at most [`MAX_PREPARED_MEDIA`]:
    /// a new one replaces its oldest. They end with the connection.
    PrepareMedia { req: u64, offer_sdp: String },
    /// ICE restart of the call's media: an offer with new ICE credentials on the same
    /// PeerConnection; the Response carries the SFU's answer.
    RestartIce {
        req: u64,
        call_id: String,
        offer_sdp: String,
    },
    /// Register a push target for this connection's user: when a call arrives for the user
    /// and no agent of theirs is connected, the service POSTs a signed [`push::PushEnvelope`]
    /// to `url` (http) with `secret` as the HMAC key. Registering a url again replaces its
    /// secret. At most [`push::MAX_TARGETS_PER_USER`] per user.
    RegisterPush {
        req: u64,
        url: String,
        secret: String,
    },
    /// Transfer the other participant of this 1:1 call to `target` (a user or a phone
    /// number): the transferee is asked, then `target` rings into the call; when it answers
    /// the transferor leaves with [`EndReason::TRANSFERRED`]. Ends after
    /// [`timeouts::TRANSFER_SECS`] without an answer.
    Transfer {
        req: u64,
        call_id: String,
        target: String,
    },
    /// The transferee's answer to `TransferRequested`.
    AnswerTransfer {
        req: u64,
        call_id: String,
        accept: bool,
    },
    /// Remove this user's push target `url`, or all of them when `url` is `None`.
    UnregisterPush {
        req: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        url: Option<String>,
    },
    /// The host handed the SDK a push notification (verified by the SDK): the service sends
    /// the call's `IncomingCall` on this connection if the call still rings for this user
    /// and the notification's nonce was not used before.
    ClaimPush {
        req: u64,
        call_id: String,
        nonce: String,
    },
    /// Admit `participants` (raw ids) waiting in the room's lobby, or everyone waiting when
    /// `all`; organizers and presenters only.
    AdmitParticipants {
        req: u64,
        call_id: String,
        #[serde(default)]
        participants: Vec<String>,
        #[serde(default)]
        all: bool,
    },
    /// Turn `participant` away from the room's lobby (it leaves with `LOBBY_REJECTED`).
    RejectParticipant {
        req: u64,
        call_id: String,
        participant: String,
    },
    /// Mute `participants` (raw ids), or everyone else when empty (ACS
    /// `muteAllRemoteParticipants`). In a room, organizers and presenters only; in other
    /// calls, any participant. The muted are told (`MutedByOthers`) and may unmute.
    MuteParticipants {
        req: u64,
        call_id: String,
        #[serde(default)]
        participants: Vec<String>,
    },
}

/// What an agent asks for when it reconnects: the session of its `Welcome`, and the `seq` of
/// the last server message it received.
/// A joiner's state announced with its `JoinGroupCall`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct JoinState {
    #[serde(default)]
    pub muted: bool,
    /// Camera video sent.
    #[serde(default)]
    pub video: bool,
    #[serde(default)]
    pub screen_sharing: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Resume {
    pub session: String,
    pub last_seq: u64,
}

/// A server message as it goes on the wire: numbered (from 1, per session) so that a resumed
/// session can be sent what the agent missed. `seq` 0 means not numbered (`Welcome`, errors
/// of the handshake).
#[derive(Debug, Clone, Serialize)]
pub struct NumberedRef<'a> {
    #[serde(skip_serializing_if = "is_zero")]
    pub seq: u64,
    #[serde(flatten)]
    pub msg: &'a ServerMessage,
}

/// [`NumberedRef`] as the agent reads it.
#[derive(Debug, Clone, Deserialize)]
pub struct Numbered {
    #[serde(default)]
    pub seq: u64,
    #[serde(flatten)]
    pub msg: ServerMessage,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Messages from the service to the SDK.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerMessage {
    /// Reply to `Hello`: the agent is authenticated.
    Welcome {
        user_id: String,
        server_version: String,
        protocol: u32,
        /// The session to name in `Hello.resume` after a dropped link.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        session: Option<String>,
        /// The `Hello` resumed its session: calls and roster are as they were, missed
        /// messages follow. False after a resume that failed (session unknown or expired).
        #[serde(default, skip_serializing_if = "is_false")]
        resumed: bool,
        /// How long the service keeps a dropped session for a resume (the reconnect window).
        #[serde(default)]
        resume_secs: u64,
    },
    /// Reply to a request. `error` is set when it failed.
    Response {
        req: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        error: Option<ErrorBody>,
        /// The SFU's answer for `StartCall`/`Accept`/`JoinGroupCall`/`PrepareMedia`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        answer_sdp: Option<String>,
        /// `PrepareMedia`: the prepared session, for a call request's `media`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        media_id: Option<u64>,
    },
    /// Somebody calls this user.
    IncomingCall {
        call_id: String,
        caller: ParticipantInfo,
        /// Everyone else already in (or invited to) the call, caller excluded.
        others: Vec<String>,
    },
    /// The service's view of the call for this participant changed.
    CallState {
        call_id: String,
        state: CallState,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        end_reason: Option<EndReason>,
    },
    /// The full roster of the call (everyone but the receiver), sent when joining.
    Roster {
        call_id: String,
        participants: Vec<ParticipantInfo>,
    },
    /// One participant was added or changed (state, mute, end reason).
    ParticipantUpdated {
        call_id: String,
        participant: ParticipantInfo,
    },
    /// Several participants were added or changed (large calls: the service batches
    /// updates instead of sending one `ParticipantUpdated` each). May include the receiver
    /// itself, which ignores its own entry.
    ParticipantsUpdated {
        call_id: String,
        participants: Vec<ParticipantInfo>,
    },
    /// One participant left the roster; `participant.end_reason` says why.
    ParticipantRemoved {
        call_id: String,
        participant: ParticipantInfo,
    },
    /// Several participants left the roster (large calls: the service batches removals as
    /// it batches updates); each `end_reason` says why.
    ParticipantsRemoved {
        call_id: String,
        participants: Vec<ParticipantInfo>,
    },
    /// Which participant's audio sits in which receive slot (index = slot).
    AudioSlots {
        call_id: String,
        slots: Vec<Option<String>>,
        /// Large calls the service mixes: slot 0 carries ONE stream, the service's mix of
        /// these participants (raw ids, the receiver never among them), and `slots` is all
        /// `None`. Absent (empty) when the slots are forwarded streams.
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        mixed: Vec<String>,
    },
    /// The call's dominant speakers changed: raw ids, loudest (dominant) first. Ranked by the
    /// SFU from RFC 6464 audio levels; `timestamp_ms` is the service's Unix time in ms.
    DominantSpeakers {
        call_id: String,
        speakers: Vec<String>,
        timestamp_ms: u64,
    },
    /// A phone participant pressed a key (`tone`: one of `0-9 * # A-D`).
    DtmfReceived {
        call_id: String,
        participant: String,
        tone: String,
    },
    /// The SFU lost this agent's media in `call_id` (ICE consent lapsed there). The path
    /// does not come back by itself: the agent restarts ICE (`RestartIce`) once it can.
    MediaLost { call_id: String },
    /// The other side of this 1:1 call asks to transfer this participant to `target`; answer
    /// with `AnswerTransfer` (the SDK accepts by default).
    TransferRequested {
        call_id: String,
        transferor: String,
        target: String,
    },
    /// A transfer of this call moved on: sent to the transferor and the transferee.
    TransferUpdated {
        call_id: String,
        state: TransferState,
        target: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        end_reason: Option<EndReason>,
    },
    /// Another participant (`by`) muted this one: the SDK mutes its microphone, and the
    /// service drops its audio until it unmutes itself.
    MutedByOthers { call_id: String, by: String },
    /// The token will expire soon; send `RefreshToken`.
    TokenExpiring { expires_in_secs: u64 },
    /// A fatal error for the connection (the service closes it afterwards).
    Error { error: ErrorBody },
}

/// An error from the service: an end reason plus a human-readable message.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct ErrorBody {
    pub code: i32,
    pub subcode: i32,
    pub message: String,
}

impl ErrorBody {
    pub fn new(reason: EndReason, message: impl Into<String>) -> Self {
        Self {
            code: reason.code,
            subcode: reason.subcode,
            message: message.into(),
        }
    }
    pub fn reason(&self) -> EndReason {
        EndReason::new(self.code, self.subcode)
    }
}

/// REST: body of `POST /identities` response and `POST /identities/{id}/token` response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct IdentityResponse {
    pub id: String,
}

/// REST: body of a token response.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct TokenResponse {
    pub id: String,
    pub token: String,
    /// Expiry, seconds since the Unix epoch.
    pub expires_on: u64,
}

/// REST: body of a token request (`POST /identities/{id}/token`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, Default)]
pub struct TokenRequest {
    /// Scopes; `["voip"]` when empty.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Lifetime in seconds (1 ..= 86400, default 86400).
    #[serde(default)]
    pub expires_in_secs: Option<u64>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn participant_state_names_are_the_wire_names_and_all_lists_every_state() {
        for (i, s) in ParticipantState::ALL.iter().enumerate() {
            assert_eq!(*s as usize, i, "ALL is in numbering order");
            let wire = serde_json::to_string(s).unwrap();
            assert_eq!(wire, format!("\"{}\"", s.as_str()));
        }
    }

    #[test]
    fn messages_round_trip_as_tagged_json() {
        let m = ClientMessage::SetMuted {
            req: 7,
            call_id: "c".into(),
            muted: true,
        };
        let s = serde_json::to_string(&m).unwrap();
        assert!(s.contains("\"type\":\"set_muted\""));
        assert_eq!(serde_json::from_str::<ClientMessage>(&s).unwrap(), m);
        let st = ServerMessage::CallState {
            call_id: "c".into(),
            state: CallState::Connected,
            end_reason: None,
        };
        let s = serde_json::to_string(&st).unwrap();
        assert_eq!(serde_json::from_str::<ServerMessage>(&s).unwrap(), st);
    }

    #[test]
    fn malformed_messages_are_errors_not_panics() {
        assert!(serde_json::from_str::<ClientMessage>("{\"type\":\"nope\"}").is_err());
        assert!(serde_json::from_str::<ClientMessage>("not json").is_err());
    }
}
