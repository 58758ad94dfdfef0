// A remote participant as the service describes it in rosters.

import { Emitter } from "./events";
import {
  EndReason,
  ParticipantInfo,
  ParticipantState,
  Role,
  VideoStreamKind,
  participantStateOf,
} from "./protocol";

/** A remote participant's camera or screen share (available while they send it). */
export interface RemoteVideoStream {
  kind: VideoStreamKind;
  /** 1 camera, 2 screen share (protocol::VideoStreamKind::stream_id). */
  id: number;
  available: boolean;
}

export interface RemoteParticipantEvents {
  stateChanged: { state: ParticipantState };
  isMutedChanged: { muted: boolean };
  isSpeakingChanged: { speaking: boolean };
  displayNameChanged: { displayName: string };
  roleChanged: { role: Role | undefined };
  videoStreamsUpdated: { added: RemoteVideoStream[]; removed: RemoteVideoStream[] };
}

export class RemoteParticipant extends Emitter<RemoteParticipantEvents> {
  private _state: ParticipantState;
  private _muted: boolean;
  private _speaking = false;
  private _displayName: string;
  private _endReason?: EndReason;
  private _role?: Role;
  private streams: RemoteVideoStream[] = [
    { kind: VideoStreamKind.Video, id: 1, available: false },
    { kind: VideoStreamKind.ScreenShare, id: 2, available: false },
  ];

  /** @internal */
  constructor(info: ParticipantInfo) {
    super();
    this.identifier = info.id;
    this._state = participantStateOf(info.state);
    this._muted = info.muted;
    this._displayName = info.display_name;
    this._role = info.role;
    this.streams[0].available = info.video ?? false;
    this.streams[1].available = info.screen_sharing ?? false;
  }

  /** Raw id: `8:acs:…`, `4:+…`, `8:echo123`. */
  readonly identifier: string;
  get state(): ParticipantState {
    return this._state;
  }
  get isMuted(): boolean {
    return this._muted;
  }
  get isSpeaking(): boolean {
    return this._speaking;
  }
  get displayName(): string {
    return this._displayName;
  }
  /** Its role when the call is a room's ("organizer", "presenter", "attendee",
   * "consumer"); undefined in other calls. */
  get role(): Role | undefined {
    return this._role;
  }
  /** Why the participant left (set once it is Disconnected). */
  get callEndReason(): EndReason | undefined {
    return this._endReason;
  }
  /** The streams the participant may send; `available` says which it sends now. */
  get videoStreams(): readonly RemoteVideoStream[] {
    return this.streams.filter((s) => s.available);
  }

  /** @internal Applies a roster entry; emits what changed. */
  update(info: ParticipantInfo): void {
    if (info.end_reason) this._endReason = info.end_reason;
    if (info.display_name !== this._displayName) {
      this._displayName = info.display_name;
      this.emit("displayNameChanged", { displayName: info.display_name });
    }
    if (info.role !== undefined && info.role !== this._role) {
      this._role = info.role;
      this.emit("roleChanged", { role: info.role });
    }
    const state = participantStateOf(info.state);
    if (state !== this._state) {
      this._state = state;
      this.emit("stateChanged", { state });
    }
    if (info.muted !== this._muted) {
      this._muted = info.muted;
      this.emit("isMutedChanged", { muted: info.muted });
    }
    const wanted = [info.video ?? false, info.screen_sharing ?? false];
    const added: RemoteVideoStream[] = [];
    const removed: RemoteVideoStream[] = [];
    this.streams.forEach((s, i) => {
      if (s.available !== wanted[i]) {
        s.available = wanted[i];
        (wanted[i] ? added : removed).push({ ...s });
      }
    });
    if (added.length || removed.length) this.emit("videoStreamsUpdated", { added, removed });
  }

  /** @internal The participant left with `reason`. */
  gone(reason: EndReason | undefined): void {
    if (reason) this._endReason = reason;
    const removed = this.streams.filter((s) => s.available).map((s) => ({ ...s, available: false }));
    for (const s of this.streams) s.available = false;
    if (removed.length) this.emit("videoStreamsUpdated", { added: [], removed });
    if (this._state !== ParticipantState.Disconnected) {
      this._state = ParticipantState.Disconnected;
      this.emit("stateChanged", { state: ParticipantState.Disconnected });
    }
  }

  /** @internal Speaking (its audio is among the forwarded and it is dominant) or not. */
  setSpeaking(speaking: boolean): void {
    if (speaking !== this._speaking) {
      this._speaking = speaking;
      this.emit("isSpeakingChanged", { speaking });
    }
  }
}
