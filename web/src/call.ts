// One call: its lifecycle (the same visible states as the native SDK's src/client/state.rs
// and machine/), its roster, and its media (media.ts).

import { Emitter } from "./events";
import { CallMedia, MediaState } from "./media";
import { RemoteParticipant } from "./participant";
import {
  CallState,
  CallingError,
  ClientRequest,
  EndReason,
  EndReasons,
  MediaRequest,
  ParticipantInfo,
  ParticipantState,
  ServerMessage,
  VideoStreamKind,
  callStateOf,
  isRawId,
  wireKind,
} from "./protocol";
import type { Reply } from "./signaling";
import type { LocalVideoStream } from "./local_video_stream";
import { TRACK_REPLACED } from "./renderer";

/** 1:1 and group setup (the seed's table): the call must be connected by then. */
const SETUP_TIMEOUT_MS = 85_000;

/** Options of startCall, join and accept. */
export interface CallOptions {
  audioOptions?: {
    /** Start muted. */
    muted?: boolean;
  };
  videoOptions?: {
    /** Send this camera from the start. */
    localVideoStreams?: LocalVideoStream[];
  };
}

export interface CallEvents {
  stateChanged: { state: CallState; reason: EndReason; message?: string };
  isMutedChanged: { muted: boolean };
  remoteParticipantsUpdated: { added: RemoteParticipant[]; removed: RemoteParticipant[] };
  dominantSpeakersChanged: { speakers: string[]; timestampMs: number };
  /** Whose audio sits in which receive slot (index = slot; null: empty). */
  audioSlotsChanged: { slots: (string | null)[] };
  localVideoStreamsUpdated: { added: LocalVideoStream[]; removed: LocalVideoStream[] };
  /** Another participant (`by`, raw id) muted this one: the microphone is muted already
   * (isMutedChanged came first); the host may unmute. */
  mutedByOthers: { by: string };
}

/** What a call needs from its agent (and nothing more). */
export interface CallContext {
  selfId: string;
  request(body: ClientRequest): Promise<Reply>;
  microphone(): Promise<MediaStreamTrack>;
  /** A PeerConnection for the call: the agent's spare (offer made, media connected ahead)
   * when it has one. */
  takeMedia(): CallMedia;
  /** A new PeerConnection, nothing prepared (when the spare's session is refused). */
  freshMedia(): CallMedia;
  speakerId(): string;
  /** The service's reconnect window (ms). */
  reconnectWindowMs(): number;
  /** The call ended: forget it. */
  ended(call: Call): void;
}

type Setup =
  | { kind: "start"; targets: string[] }
  | { kind: "join"; groupId: string; room?: boolean }
  | { kind: "accept" };

export class Call extends Emitter<CallEvents> {
  private _state: CallState;
  private server: CallState;
  private mediaConnected = false;
  private localHold = false;
  private _muted = false;
  private _endReason: EndReason = { code: 0, subcode: 0 };
  /** Joined as a room's (join_group_call with room: a rejoin says so again). */
  private room = false;
  private media?: CallMedia;
  /** The service answered and the transport is set up. */
  private ready = false;
  private establishing = false;
  private setupTimer?: ReturnType<typeof setTimeout>;
  private participants = new Map<string, RemoteParticipant>();
  private _dominant: string[] = [];
  private _dominantAt = 0;
  private _audioSlots: (string | null)[] = [];
  private videoOn = new Map<VideoStreamKind, LocalVideoStream>();
  /** Stops each sent stream's source switches reaching this call. */
  private detachVideo = new Map<VideoStreamKind, () => void>();
  private restarting = false;
  /** Joining again after the service restarted (its Connecting for the new join is not shown). */
  private rejoining = false;
  /** After a rejoin: participants of the old roster the restarted service has not mentioned. */
  private rejoinUnseen?: Set<string>;
  /** Remote video the host subscribed, by receive slot ("kind:slot"): the MediaStream handed
   * out stays the host's across a rejoin (its track is swapped for the new connection's). */
  private subscriptions = new Map<string, { participant: string; kind: VideoStreamKind; slot: number; stream: MediaStream }>();
  /** After a rejoin: subscriptions to send again once their sender is back (by slot key). */
  private resubscribe = new Set<string>();
  /** When the call was created (performance.now()), for setup figures. */
  readonly createdAt = performance.now();
  /** Its media was connected ahead (the agent's prepared session), so its setup waited
   * for no transport; false when it offered. */
  mediaPrepared = false;
  /** When it first became Connected (performance.now()). */
  connectedAt?: number;
  /** Milliseconds from creation to each setup step: microphone open, offer made (ICE
   * candidates gathered), the service's answer applied, media connected, Connected. */
  readonly setupTimings: {
    microphone?: number;
    offer?: number;
    answer?: number;
    media?: number;
    connected?: number;
  } = {};

  /** @internal */
  constructor(
    private readonly ctx: CallContext,
    readonly id: string,
    readonly direction: "outgoing" | "incoming",
    state: CallState,
    /** A group call joined by id (its id is the group id). */
    readonly isGroup: boolean,
  ) {
    super();
    this._state = state;
    this.server = state;
  }

  get state(): CallState {
    return this._state;
  }
  get isMuted(): boolean {
    return this._muted;
  }
  /** Why the call ended (meaningful once Disconnected). */
  get callEndReason(): EndReason {
    return this._endReason;
  }
  get remoteParticipants(): RemoteParticipant[] {
    return [...this.participants.values()];
  }
  /** Raw ids, dominant first (empty while nobody speaks). */
  get dominantSpeakers(): string[] {
    return [...this._dominant];
  }
  /** When the service ranked the dominant speakers (Unix ms; 0 before the first ranking). */
  get dominantSpeakersTimestamp(): number {
    return this._dominantAt;
  }
  get audioSlots(): (string | null)[] {
    return [...this._audioSlots];
  }
  /** What the call receives: one audio track per receive slot (for meters, recording). */
  get remoteAudioStream(): MediaStream | undefined {
    return this.media?.remoteAudio;
  }
  /** The PeerConnection's statistics (RTCPeerConnection.getStats). */
  async getStats(): Promise<RTCStatsReport | undefined> {
    return this.media?.pc.getStats();
  }
  get localVideoStreams(): LocalVideoStream[] {
    return [...this.videoOn.values()];
  }

  // ---- the host's commands ----

  /** @internal Places the call, joins the group or accepts: media, offer, answer. */
  establish(setup: Setup, options: CallOptions | undefined): void {
    this.establishing = true;
    this.room = setup.kind === "join" && setup.room === true;
    this._muted = options?.audioOptions?.muted ?? false;
    for (const v of options?.videoOptions?.localVideoStreams ?? []) this.videoOn.set(v.kind, v);
    this.setupTimer = setTimeout(() => {
      if ([CallState.Connecting, CallState.Ringing, CallState.EarlyMedia].includes(this._state)) {
        this.abandon(
          this.mediaConnected ? EndReasons.NO_ANSWER : EndReasons.MEDIA_TIMEOUT,
          "the call was not connected in time",
        );
      }
    }, SETUP_TIMEOUT_MS);
    this.serverSays(CallState.Connecting);
    void this.runSetup(setup);
  }

  private async runSetup(setup: Setup): Promise<void> {
    // The microphone opens (~100 ms in Chromium) while the offer goes to the service: the
    // track joins the sendrecv m-line of slot 0 afterwards, without renegotiation.
    const mic = this.ctx.microphone().then(
      (track) => {
        this.mark("microphone");
        return track;
      },
      (e: unknown) => {
        throw new CallingError(EndReasons.MEDIA_FAILED, `no microphone: ${errorText(e)}`);
      },
    );
    mic.catch(() => undefined); // handled below; never an unhandled rejection
    let joined = false;
    try {
      const prepare = async (m: CallMedia): Promise<void> => {
        m.onState = (s) => this.onMedia(s);
        this.media = m;
        try {
          await m.setSpeaker(this.ctx.speakerId());
        } catch (e) {
          console.warn("acscalling: cannot select the speaker", e);
        }
        for (const [kind, stream] of this.videoOn) {
          await m.setVideoTrack(kind, await stream.track());
        }
      };
      const media = await this.connectMedia(prepare, (m): ClientRequest =>
        setup.kind === "start"
          ? { type: "start_call", call_id: this.id, targets: setup.targets, ...m }
          : setup.kind === "join"
            ? { type: "join_group_call", group_id: this.id, ...(this.room ? { room: true } : {}), ...m }
            : { type: "accept", call_id: this.id, ...m },
        () => (joined = true),
      );
      if (!media) return;
      this.ready = true;
      if (media.pc.connectionState === "connected") this.onMedia("connected");
      if (this._muted) this.fire({ type: "set_muted", call_id: this.id, muted: true });
      for (const kind of this.videoOn.keys()) {
        this.fire({ type: "set_video", call_id: this.id, kind: wireKind(kind), on: true });
      }
      const track = await mic;
      if (this.ended) {
        track.stop();
        return;
      }
      await media.replaceMicrophone(track, this._muted);
      if (this.localHold) await media.setSending(false);
    } catch (e) {
      const err =
        e instanceof CallingError
          ? e
          : new CallingError(EndReasons.MEDIA_FAILED, `media setup failed: ${errorText(e)}`);
      // Once the service took us into the call, leave it there too; a refusal of the
      // service (its reason stands) or a failure before it knew ends the call here only.
      if (joined) this.abandon(err.reason, err.message);
      else this.end(err.reason, err.message);
    }
  }

  /** Accepts a ringing incoming call. */
  async accept(options?: CallOptions): Promise<void> {
    if (this.direction !== "incoming" || this._state !== CallState.Incoming || this.establishing) {
      throw new CallingError(EndReasons.BAD_REQUEST, "only a ringing incoming call can be accepted");
    }
    this.establish({ kind: "accept" }, options);
  }

  /** Declines a ringing incoming call. */
  async reject(): Promise<void> {
    if (this.direction !== "incoming" || this._state !== CallState.Incoming) {
      throw new CallingError(EndReasons.BAD_REQUEST, "only a ringing incoming call can be rejected");
    }
    this.fire({ type: "reject", call_id: this.id });
    this.end(EndReasons.DECLINED);
  }

  /** Leaves the call (or ends it for everyone). Resolves once the service answered. */
  async hangUp(options?: { forEveryone?: boolean }): Promise<void> {
    if (this.ended) return;
    if (this._state === CallState.Incoming && !this.establishing) return this.reject();
    this.serverSays(CallState.Disconnecting);
    await this.media?.setSending(false).catch(() => undefined);
    try {
      await this.ctx.request({
        type: "hang_up",
        call_id: this.id,
        for_everyone: options?.forEveryone ?? false,
      });
    } catch {
      // The service is unreachable or already forgot the call: it is over here anyway.
    }
    this.end(EndReasons.LOCAL_HANGUP);
  }

  async mute(): Promise<void> {
    await this.setMuted(true);
  }
  async unmute(): Promise<void> {
    await this.setMuted(false);
  }

  private async setMuted(muted: boolean): Promise<void> {
    this.requireLive();
    if (this._muted === muted) return;
    this._muted = muted;
    this.media?.setMuted(muted);
    this.emit("isMutedChanged", { muted });
    if (this.ready) await this.ctx.request({ type: "set_muted", call_id: this.id, muted });
  }

  /** Puts the call on hold: nothing sent, nothing played, the others see Hold. */
  async hold(): Promise<void> {
    if (![CallState.Connected, CallState.RemoteHold].includes(this._state)) {
      throw new CallingError(EndReasons.BAD_REQUEST, `cannot hold a call in state ${CallState[this._state]}`);
    }
    await this.setHold(true);
  }

  async resume(): Promise<void> {
    if (this._state !== CallState.LocalHold) {
      throw new CallingError(EndReasons.BAD_REQUEST, `cannot resume a call in state ${CallState[this._state]}`);
    }
    await this.setHold(false);
  }

  private async setHold(hold: boolean): Promise<void> {
    await this.media?.setSending(!hold);
    this.media?.setPlaying(!hold);
    this.localHold = hold;
    this.refresh();
    await this.ctx.request({ type: "set_hold", call_id: this.id, hold });
  }

  /** Invites `target` (raw id) into the call; a 1:1 call becomes a group call. */
  async addParticipant(target: string): Promise<void> {
    this.requireLive();
    if (!isRawId(target)) {
      throw new CallingError(EndReasons.BAD_REQUEST, `invalid identifier '${target}': expected 8:acs:<id>, 4:+<digits> or 8:echo123`);
    }
    await this.ctx.request({ type: "add_participant", call_id: this.id, target: target.trim() });
  }

  /** Removes `target` from the call (it ends with 0/5300). */
  async removeParticipant(target: string): Promise<void> {
    this.requireLive();
    await this.ctx.request({ type: "remove_participant", call_id: this.id, target });
  }

  /** A room's: whether the call was joined as a room (CallAgent.joinRoom). */
  get isRoom(): boolean {
    return this.room;
  }

  /** Admits `participants` (raw ids or RemoteParticipants) waiting in the room's lobby
   * (ACS `admit`); organizers and presenters only. Refused here (404) when one of them is
   * not waiting in the lobby as this call's roster shows it; the service's refusal (403 for
   * a role that may not admit) rejects the promise. */
  async admit(participants: ParticipantRef | ParticipantRef[]): Promise<void> {
    this.requireLive();
    const list = Array.isArray(participants) ? participants : [participants];
    if (list.length === 0) throw new CallingError(EndReasons.BAD_REQUEST, "nobody to admit");
    const ids = list.map((p) => this.waiting(p));
    await this.ctx.request({ type: "admit_participants", call_id: this.id, participants: ids, all: false });
  }

  /** Admits everyone waiting in the lobby (ACS `admitAll`); nobody waiting is no error. */
  async admitAll(): Promise<void> {
    this.requireLive();
    await this.ctx.request({ type: "admit_participants", call_id: this.id, participants: [], all: true });
  }

  /** Turns `participant` away from the lobby (ACS `rejectParticipant`): its call ends with
   * 403/10018. */
  async rejectParticipant(participant: ParticipantRef): Promise<void> {
    this.requireLive();
    const id = this.waiting(participant);
    await this.ctx.request({ type: "reject_participant", call_id: this.id, participant: id });
  }

  /** Mutes `participant` (ACS `RemoteParticipant.mute`): it is told and its microphone is
   * muted; the service drops its audio until it unmutes. In a room, organizers and
   * presenters only. */
  async muteParticipant(participant: ParticipantRef): Promise<void> {
    this.requireLive();
    const id = refId(participant);
    if (!this.participants.has(id)) throw new CallingError(EndReasons.NOT_FOUND, `${id} is not in this call`);
    await this.ctx.request({ type: "mute_participants", call_id: this.id, participants: [id] });
  }

  /** Mutes every other participant (ACS `muteAllRemoteParticipants`). */
  async muteAllRemoteParticipants(): Promise<void> {
    this.requireLive();
    await this.ctx.request({ type: "mute_participants", call_id: this.id, participants: [] });
  }

  /** The raw id of `p`, which must be waiting in this call's lobby. */
  private waiting(p: ParticipantRef): string {
    const id = refId(p);
    if (this.participants.get(id)?.state !== ParticipantState.InLobby) {
      throw new CallingError(EndReasons.NOT_FOUND, `${id} is not waiting in the lobby`);
    }
    return id;
  }

  /** Starts sending `stream` (a camera, or a screen share) to the call. */
  async startVideo(stream: LocalVideoStream): Promise<void> {
    this.requireLive();
    if (this.videoOn.has(stream.kind)) {
      throw new CallingError(EndReasons.BAD_REQUEST, "a stream of this kind is already being sent");
    }
    this.videoOn.set(stream.kind, stream);
    const send = async (track: MediaStreamTrack): Promise<void> => {
      // The source ended (the browser's "Stop sharing", a camera unplugged): stop the stream.
      track.addEventListener("ended", () => void this.stopVideo(stream).catch(() => undefined));
      const old = this.media?.videoTrack(stream.kind);
      await this.media?.setVideoTrack(stream.kind, track);
      old?.stop();
    };
    // The host switches the camera (LocalVideoStream.switchSource): the new one goes out.
    this.detachVideo.set(stream.kind, stream.attach(send));
    await send(await stream.track());
    this.emit("localVideoStreamsUpdated", { added: [stream], removed: [] });
    if (this.ready) {
      try {
        await this.ctx.request({ type: "set_video", call_id: this.id, kind: wireKind(stream.kind), on: true });
      } catch (e) {
        await this.stopVideo(stream);
        throw e;
      }
    }
  }

  /** Stops sending `stream`. */
  async stopVideo(stream: LocalVideoStream): Promise<void> {
    if (this.videoOn.get(stream.kind) !== stream) return;
    this.videoOn.delete(stream.kind);
    this.detachVideo.get(stream.kind)?.();
    this.detachVideo.delete(stream.kind);
    await this.media?.setVideoTrack(stream.kind, null);
    this.emit("localVideoStreamsUpdated", { added: [], removed: [stream] });
    if (this.ready && !this.ended) {
      await this.ctx.request({ type: "set_video", call_id: this.id, kind: wireKind(stream.kind), on: false });
    }
  }

  /** Receives `participant`'s `kind` stream in receive slot `slot` and returns it as a
   * MediaStream to show in a <video> (or with VideoStreamRenderer). */
  async subscribeVideo(participant: string, kind: VideoStreamKind, slot = 0): Promise<MediaStream> {
    this.requireLive();
    const t = this.media?.videoSlot(kind, slot);
    if (!t) throw new CallingError(EndReasons.BAD_REQUEST, `no ${VideoStreamKind[kind]} receive slot ${slot}`);
    await this.ctx.request({ type: "subscribe_video", call_id: this.id, participant, kind: wireKind(kind), slot });
    const key = `${kind}:${slot}`;
    this.resubscribe.delete(key);
    const stream = new MediaStream([t.receiver.track]);
    this.subscriptions.set(key, { participant, kind, slot, stream });
    return stream;
  }

  /** Stops receiving into `slot` of `kind`. */
  async unsubscribeVideo(kind: VideoStreamKind, slot = 0): Promise<void> {
    this.requireLive();
    this.subscriptions.delete(`${kind}:${slot}`);
    this.resubscribe.delete(`${kind}:${slot}`);
    await this.ctx.request({ type: "unsubscribe_video", call_id: this.id, kind: wireKind(kind), slot });
  }

  /** After a rejoin: subscribes again, into the same slots of the new connection, to every
   * stream the host showed whose sender the restarted service now lists as sending it; the
   * host's MediaStream gets the new track (a `VideoStreamRenderer` view follows it). */
  private resubscribeReady(): void {
    if (this.rejoining || !this.media) return;
    for (const key of [...this.resubscribe]) {
      const sub = this.subscriptions.get(key);
      const p = sub && this.participants.get(sub.participant);
      if (!sub || !p) {
        this.resubscribe.delete(key);
        continue;
      }
      if (this.rejoinUnseen?.has(sub.participant) || !p.videoStreams.some((v) => v.kind === sub.kind)) continue;
      const t = this.media.videoSlot(sub.kind, sub.slot);
      if (!t) continue;
      this.resubscribe.delete(key);
      for (const old of sub.stream.getVideoTracks()) sub.stream.removeTrack(old);
      sub.stream.addTrack(t.receiver.track);
      sub.stream.dispatchEvent(new Event(TRACK_REPLACED));
      this.ctx
        .request({ type: "subscribe_video", call_id: this.id, participant: sub.participant, kind: wireKind(sub.kind), slot: sub.slot })
        .catch((e) => console.warn(`acscalling: subscribing ${sub.participant} again failed`, e));
    }
  }

  /** Switches the microphone (DeviceManager.selectMicrophone calls this). */
  async replaceMicrophone(track: MediaStreamTrack): Promise<void> {
    if (this.media) await this.media.replaceMicrophone(track, this._muted);
    else track.stop();
  }

  /** Plays the call on another speaker. */
  async setSpeaker(deviceId: string): Promise<void> {
    await this.media?.setSpeaker(deviceId);
  }

  // ---- what the service and the transport say ----

  /** @internal A message of the service about this call. */
  handle(msg: ServerMessage): void {
    switch (msg.type) {
      case "call_state": {
        const state = callStateOf(msg.state);
        if (this.rejoining && state === CallState.Connecting) {
          // The restarted service sets the rejoined call up: nothing the host must see.
        } else if (state === CallState.Disconnected) {
          this.end(msg.end_reason ?? EndReasons.REMOTE_HANGUP);
        } else {
          this.serverSays(state);
        }
        break;
      }
      case "roster":
        this.applyRoster(msg.participants, false);
        break;
      case "participant_updated":
        this.applyRoster([msg.participant], false);
        break;
      case "participants_updated":
        this.applyRoster(msg.participants, false);
        break;
      case "participant_removed":
        this.applyRoster([msg.participant], true);
        break;
      case "participants_removed":
        this.applyRoster(msg.participants, true);
        break;
      case "audio_slots":
        this._audioSlots = msg.slots;
        this.emit("audioSlotsChanged", { slots: [...msg.slots] });
        break;
      case "dominant_speakers":
        this._dominant = msg.speakers;
        this._dominantAt = msg.timestamp_ms;
        for (const p of this.participants.values()) p.setSpeaking(msg.speakers.includes(p.identifier));
        this.emit("dominantSpeakersChanged", { speakers: [...msg.speakers], timestampMs: msg.timestamp_ms });
        break;
      case "media_lost":
        void this.restartIce();
        break;
      case "muted_by_others":
        this.mutedByOthers(msg.by);
        break;
      default:
        break;
    }
  }

  /** Someone else muted us: the microphone follows (the service knows already: nothing
   * is sent), the host is told. */
  private mutedByOthers(by: string): void {
    if (this.ended) return;
    if (!this._muted) {
      this._muted = true;
      this.media?.setMuted(true);
      this.emit("isMutedChanged", { muted: true });
    }
    this.emit("mutedByOthers", { by });
  }

  /** @internal The caller of an incoming call (before accept). */
  addCaller(info: ParticipantInfo): void {
    this.applyRoster([info], false);
  }

  /** @internal The agent's session is gone (the service restarted or the window passed). A
   * connected or held group call is joined again under its id (as the native SDK does:
   * src/client/call_network.rs); other calls end 503/10008. */
  sessionLost(): void {
    const group = this.isGroup || this.participants.size > 1;
    if (group && this.ready && [CallState.Connected, CallState.LocalHold].includes(this._state)) {
      void this.rejoin();
      return;
    }
    this.end(EndReasons.SESSION_LOST, "the service no longer holds this call");
  }

  /** Joins the group again on the restarted service with a new PeerConnection, announcing
   * mute and video with the join; hold is told again; whoever of the old roster the service
   * never mentions within its reconnect window is removed with 408/10006. Remote video the
   * host subscribed is subscribed again into the same slots once its sender is back. */
  private async rejoin(): Promise<void> {
    if (this.rejoining || this.ended) return;
    this.rejoining = true;
    this.rejoinUnseen = new Set(this.participants.keys());
    const old = this.media;
    if (old) old.onState = () => undefined;
    let media: CallMedia | undefined;
    try {
      const mic = this.ctx.microphone();
      mic.catch(() => undefined);
      const prepare = async (m: CallMedia): Promise<void> => {
        media = m;
        await m.setSpeaker(old?.speaker ?? this.ctx.speakerId());
        for (const [kind, stream] of this.videoOn) {
          // The track moves to the new PeerConnection: the old one must not stop it.
          await old?.setVideoTrack(kind, null);
          await m.setVideoTrack(kind, await stream.track());
        }
      };
      const state = {
        muted: this._muted,
        video: this.videoOn.has(VideoStreamKind.Video),
        screen_sharing: this.videoOn.has(VideoStreamKind.ScreenShare),
      };
      const joined = await this.connectMedia(prepare, (m): ClientRequest => ({
        type: "join_group_call",
        group_id: this.id,
        state,
        ...(this.room ? { room: true } : {}),
        ...m,
      }), () => undefined);
      if (!joined) return;
      media = joined;
      media.onState = (s) => this.onMedia(s);
      this.media = media;
      if (media.pc.connectionState === "connected") this.onMedia("connected");
      await media.replaceMicrophone(await mic, this._muted);
      if (this.localHold) {
        await media.setSending(false);
        media.setPlaying(false);
        this.fire({ type: "set_hold", call_id: this.id, hold: true });
      }
      old?.close();
      this.resubscribe = new Set(this.subscriptions.keys());
      const window = this.ctx.reconnectWindowMs();
      setTimeout(() => this.forgetUnseen(), window);
    } catch (e) {
      media?.close();
      this.end(EndReasons.SESSION_LOST, `the call could not be joined again: ${errorText(e)}`);
    } finally {
      this.rejoining = false;
    }
    this.resubscribeReady();
  }

  /** The reconnect window passed since the rejoin: who never came back is gone. */
  private forgetUnseen(): void {
    const unseen = this.rejoinUnseen;
    this.rejoinUnseen = undefined;
    if (!unseen || this.ended) return;
    const gone: ParticipantInfo[] = [];
    for (const id of unseen) {
      const p = this.participants.get(id);
      if (p) {
        gone.push({
          id,
          display_name: p.displayName,
          state: "Disconnected",
          muted: false,
          end_reason: EndReasons.INACTIVE,
        });
      }
    }
    if (gone.length) this.applyRoster(gone, true);
  }

  private applyRoster(infos: ParticipantInfo[], removed: boolean): void {
    const added: RemoteParticipant[] = [];
    const gone: RemoteParticipant[] = [];
    for (const info of infos) {
      if (info.id === this.ctx.selfId) continue;
      this.rejoinUnseen?.delete(info.id);
      const p = this.participants.get(info.id);
      if (removed) {
        if (!p) continue;
        this.participants.delete(info.id);
        p.gone(info.end_reason);
        gone.push(p);
      } else if (p) {
        p.update(info);
      } else {
        const np = new RemoteParticipant(info);
        this.participants.set(info.id, np);
        added.push(np);
      }
    }
    if (added.length || gone.length) {
      this.emit("remoteParticipantsUpdated", { added, removed: gone });
    }
    if (this.resubscribe.size) this.resubscribeReady();
  }

  private onMedia(s: MediaState): void {
    if (s === "connected") {
      if (this.setupTimings.media === undefined) this.mark("media");
      this.mediaConnected = true;
      this.refresh();
    } else if (s === "failed") {
      void this.restartIce();
    } else if (s === "closed" && !this.ended) {
      this.abandon(EndReasons.MEDIA_FAILED, "the media connection closed");
    }
  }

  /** Sends the call's join request with its media: the agent's spare session when it was
   * connected ahead (nothing to answer, no transport to wait for), else a fresh offer whose
   * answer is applied here. A prepared session the service no longer knows (400/10010) is
   * dropped for a fresh PeerConnection. `prepare` readies each PeerConnection before it is
   * used (speaker, video tracks); `joined` is called once the service took the request.
   * Returns the media in use, or undefined if the call ended meanwhile (the media is closed
   * then). */
  private async connectMedia(
    prepare: (m: CallMedia) => Promise<void>,
    request: (m: MediaRequest) => ClientRequest,
    joined: () => void,
  ): Promise<CallMedia | undefined> {
    let media = this.ctx.takeMedia();
    await prepare(media);
    const prepared = await media.preparedSession();
    if (prepared !== undefined && !this.ended) {
      this.mark("offer");
      try {
        await this.ctx.request(request({ media: prepared }));
        joined();
        this.mediaPrepared = true;
        this.mark("answer");
        return media;
      } catch (e) {
        const r = EndReasons.MEDIA_NOT_PREPARED;
        if (!(e instanceof CallingError) || e.code !== r.code || e.subcode !== r.subcode) throw e;
        console.info("acscalling: the prepared media session is gone; offering anew");
      }
    }
    this.mediaPrepared = false;
    if (prepared !== undefined || media.pc.remoteDescription) {
      // Its offer was answered for the prepared session: a new PeerConnection offers.
      media.close();
      media = this.ctx.freshMedia();
      await prepare(media);
    }
    const offer_sdp = await media.firstOffer();
    this.mark("offer");
    if (this.ended) {
      media.close();
      return undefined;
    }
    const reply = await this.ctx.request(request({ offer_sdp }));
    joined();
    if (this.ended) {
      media.close();
      return undefined;
    }
    if (!reply.answerSdp) throw new CallingError(EndReasons.INTERNAL, "the service sent no SDP answer");
    await media.answer(reply.answerSdp);
    this.mark("answer");
    return media;
  }

  /** ICE restart on the same PeerConnection (new offer, the SFU's answer). */
  private async restartIce(): Promise<void> {
    if (!this.media || this.restarting || this.ended || !this.ready) return;
    this.restarting = true;
    try {
      const offer_sdp = await this.media.offer(true);
      const reply = await this.ctx.request({ type: "restart_ice", call_id: this.id, offer_sdp });
      if (reply.answerSdp && !this.ended) await this.media.answer(reply.answerSdp);
    } catch (e) {
      console.warn("acscalling: ICE restart failed", e);
    } finally {
      this.restarting = false;
    }
  }

  private mark(step: keyof Call["setupTimings"]): void {
    this.setupTimings[step] = Math.round((performance.now() - this.createdAt) * 10) / 10;
  }

  private get ended(): boolean {
    return this._state === CallState.Disconnected;
  }

  private requireLive(): void {
    if (this.ended) throw new CallingError(EndReasons.BAD_REQUEST, "the call has ended");
  }

  private serverSays(state: CallState): void {
    this.server = state;
    this.refresh();
  }

  /** The visible state (src/client/state.rs): Connected needs media, our hold wins. */
  private refresh(): void {
    if (this.ended) return;
    let s: CallState = this.server === CallState.LocalHold ? CallState.Connected : this.server;
    if ((s === CallState.Connected || s === CallState.RemoteHold) && !this.mediaConnected) {
      s = CallState.Connecting;
    } else if ((s === CallState.Connected || s === CallState.RemoteHold) && this.localHold) {
      s = CallState.LocalHold;
    }
    if (s === this._state) return;
    this._state = s;
    if (s === CallState.Connected && this.connectedAt === undefined) {
      this.connectedAt = performance.now();
      this.mark("connected");
      clearTimeout(this.setupTimer);
    }
    this.emit("stateChanged", { state: s, reason: { code: 0, subcode: 0 } });
  }

  /** Leaves the call in the service (fire and forget) and ends it here. */
  private abandon(reason: EndReason, message: string): void {
    if (this.ended) return;
    this.fire({ type: "hang_up", call_id: this.id, for_everyone: false });
    this.end(reason, message);
  }

  /** Ends the call with `reason` (idempotent): media released, last state event. */
  private end(reason: EndReason, message?: string): void {
    if (this.ended) return;
    clearTimeout(this.setupTimer);
    this._endReason = { code: reason.code, subcode: reason.subcode };
    this._state = CallState.Disconnected;
    this.media?.close();
    this.videoOn.clear();
    this.emit("stateChanged", { state: CallState.Disconnected, reason: this._endReason, message });
    this.ctx.ended(this);
  }

  private fire(body: ClientRequest): void {
    this.ctx.request(body).catch((e) => console.warn(`acscalling: ${body.type} failed`, e));
  }
}

/** A participant named by its raw id or as a RemoteParticipant. */
export type ParticipantRef = string | RemoteParticipant;

function refId(p: ParticipantRef): string {
  const id = typeof p === "string" ? p.trim() : p?.identifier;
  if (!id) throw new CallingError(EndReasons.BAD_REQUEST, "no participant given");
  return id;
}

function errorText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
