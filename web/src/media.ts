// A call's media: ONE RTCPeerConnection to the service's SFU with the same m-lines as the
// native SDK (src/media/transport/setup.rs), so the SFU gives a browser the same slots:
//   audio: m-line 0 sendrecv (our microphone; slot 0), then AUDIO_SLOTS-1 recvonly slots;
//   video: camera send, VIDEO_SLOTS camera receive slots, screen-share send, one
//          screen-share receive slot.
// The browser always offers and the SFU (ice-lite) answers; nobody renegotiates when
// participants come and go: the service says by signaling whose stream sits in which slot.

import { AUDIO_SLOTS, VIDEO_SLOTS, VideoStreamKind, type ClientRequest } from "./protocol";
import type { Reply } from "./signaling";


/** What the transport reports. */
export type MediaState = "connecting" | "connected" | "disconnected" | "failed" | "closed";

/** A video receive slot's transceiver. */
export interface VideoSlot {
  kind: VideoStreamKind;
  slot: number;
  transceiver: RTCRtpTransceiver;
}

export class CallMedia {
  readonly pc: RTCPeerConnection;
  /** Audio transceivers in slot order; [0] sends our microphone. */
  readonly audio: RTCRtpTransceiver[] = [];
  /** Camera and screen-share send transceivers. */
  readonly videoSend = new Map<VideoStreamKind, RTCRtpTransceiver>();
  readonly videoRecv: VideoSlot[] = [];
  /** Every received audio track (one per slot), for playback and for meters. */
  readonly remoteAudio = new MediaStream();
  private players: HTMLAudioElement[] = [];
  private sinkId = "";
  private playing = true;

  /** Where connection state changes go (set by the call that takes this media). */
  onState: (s: MediaState) => void = () => undefined;
  private offered?: Promise<string>;
  private preparedId?: Promise<number | undefined>;
  private preparedGivenUp = false;

  constructor(private mic: MediaStreamTrack | undefined) {
    this.pc = new RTCPeerConnection({ bundlePolicy: "max-bundle", rtcpMuxPolicy: "require" });
    this.audio.push(
      this.pc.addTransceiver(mic ?? "audio", { direction: "sendrecv" }),
    );
    for (let i = 1; i < AUDIO_SLOTS; i++) {
      this.audio.push(this.pc.addTransceiver("audio", { direction: "recvonly" }));
    }
    for (const [kind, slots] of [
      [VideoStreamKind.Video, VIDEO_SLOTS],
      [VideoStreamKind.ScreenShare, 1],
    ] as const) {
      this.videoSend.set(kind, this.pc.addTransceiver("video", { direction: "sendonly" }));
      for (let slot = 0; slot < slots; slot++) {
        const transceiver = this.pc.addTransceiver("video", { direction: "recvonly" });
        this.videoRecv.push({ kind, slot, transceiver });
      }
    }
    for (const t of this.audio.slice(0)) {
      const track = t.receiver.track;
      this.remoteAudio.addTrack(track);
      const player = new Audio();
      player.autoplay = true;
      player.srcObject = new MediaStream([track]);
      this.players.push(player);
    }
    this.pc.onconnectionstatechange = () => {
      const s = this.pc.connectionState;
      if (s === "connected" || s === "disconnected" || s === "failed" || s === "closed") {
        this.onState(s);
      } else {
        this.onState("connecting");
      }
    };
  }

  /** Makes the first offer now (a spare made before any call: building 13 transceivers, the
   * offer and setLocalDescription cost Chromium 70–140 ms). */
  prepare(): this {
    this.offered ??= this.offer();
    this.offered.catch(() => undefined);
    return this;
  }

  /** Connects this PeerConnection to the SFU before any call (`prepare_media`): offer,
   * answer, ICE and DTLS happen now, and the next call names the session instead of
   * offering (its setup then waits for nobody's transport). Resolves to the session's id,
   * or undefined when the service refused (the call then offers as before). */
  preconnect(request: (body: ClientRequest) => Promise<Reply>): this {
    this.preparedId ??= (async () => {
      const offer_sdp = await this.firstOffer();
      const reply = await request({ type: "prepare_media", offer_sdp });
      // Too late: the call went ahead with this offer (see preparedSession).
      if (this.preparedGivenUp || reply.mediaId === undefined || !reply.answerSdp) return undefined;
      await this.answer(reply.answerSdp);
      return reply.mediaId;
    })().catch((e: unknown) => {
      console.warn("acscalling: media could not be prepared", e);
      return undefined;
    });
    return this;
  }

  /** The prepared session's id when this media was connected ahead and is still usable
   * (not failed or closed), else undefined. A preparation still unanswered after
   * `waitMs` (the service is slow or away) is given up: the call offers instead. */
  async preparedSession(waitMs = 1000): Promise<number | undefined> {
    if (!this.preparedId) return undefined;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<"late">((resolve) => (timer = setTimeout(() => resolve("late"), waitMs)));
    const id = await Promise.race([this.preparedId, late]);
    clearTimeout(timer);
    if (id === "late") {
      this.preparedGivenUp = true;
      return undefined;
    }
    const s = this.pc.connectionState;
    return id !== undefined && s !== "failed" && s !== "closed" ? id : undefined;
  }

  /** Resolves true once this media was prepared and its transport connected (false when
   * it was not prepared, failed, or `waitMs` passed). */
  async whenPrepared(waitMs: number): Promise<boolean> {
    const deadline = performance.now() + waitMs;
    if ((await this.preparedSession(waitMs)) === undefined) return false;
    while (this.pc.connectionState !== "connected") {
      const s = this.pc.connectionState;
      if (s === "failed" || s === "closed" || performance.now() >= deadline) return false;
      await new Promise((r) => setTimeout(r, 5));
    }
    return true;
  }

  /** The first offer: the prepared one, or made now. */
  firstOffer(): Promise<string> {
    this.offered ??= this.offer();
    return this.offered;
  }

  /** The offer to send the service. It goes out at once, without our candidates: the SFU
   * is ICE-lite, it never checks towards us; it answers our checks, sent to the candidate
   * in its answer, and learns our address from them (waiting for gathering cost ~230 ms). */
  async offer(iceRestart = false): Promise<string> {
    const offer = await this.pc.createOffer({ iceRestart });
    await this.pc.setLocalDescription(offer);
    const sdp = this.pc.localDescription?.sdp ?? offer.sdp;
    if (!sdp) throw new Error("the browser produced no offer");
    return sdp;
  }

  /** Applies the SFU's answer. */
  async answer(sdp: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: "answer", sdp });
  }

  /** Mute: the microphone track stops carrying sound (the m-line stays). */
  setMuted(muted: boolean): void {
    if (this.mic) this.mic.enabled = !muted;
  }

  /** Sends our microphone or nothing (hold). */
  async setSending(on: boolean): Promise<void> {
    await this.audio[0].sender.replaceTrack(on ? (this.mic ?? null) : null);
  }

  /** Plays what is received, or not (hold). */
  setPlaying(on: boolean): void {
    this.playing = on;
    for (const p of this.players) p.muted = !on;
  }

  get isPlaying(): boolean {
    return this.playing;
  }

  /** Sends `track` as the microphone (set after the offer, or switched): no renegotiation,
   * the sendrecv m-line of slot 0 is there from the start. */
  async replaceMicrophone(track: MediaStreamTrack, muted: boolean): Promise<void> {
    track.enabled = !muted;
    const old = this.mic;
    this.mic = track;
    await this.audio[0].sender.replaceTrack(track);
    if (old && old !== track) old.stop();
  }

  /** Plays the received audio on the speaker `deviceId` ("" = the default). */
  async setSpeaker(deviceId: string): Promise<void> {
    this.sinkId = deviceId;
    for (const p of this.players) {
      const el = p as HTMLAudioElement & { setSinkId?: (id: string) => Promise<void> };
      if (el.setSinkId) await el.setSinkId(deviceId);
    }
  }

  get speaker(): string {
    return this.sinkId;
  }

  /** Sends `track` as our `kind` stream (null: stop). */
  async setVideoTrack(kind: VideoStreamKind, track: MediaStreamTrack | null): Promise<void> {
    const t = this.videoSend.get(kind);
    if (t) await t.sender.replaceTrack(track);
  }

  /** The track sent as our `kind` stream (null: none). */
  videoTrack(kind: VideoStreamKind): MediaStreamTrack | null {
    return this.videoSend.get(kind)?.sender.track ?? null;
  }

  /** The receive transceiver of video slot `slot` of `kind`. */
  videoSlot(kind: VideoStreamKind, slot: number): RTCRtpTransceiver | undefined {
    return this.videoRecv.find((v) => v.kind === kind && v.slot === slot)?.transceiver;
  }

  /** Stops everything: the microphone, playback, the PeerConnection. */
  close(): void {
    for (const p of this.players) {
      p.srcObject = null;
    }
    this.players = [];
    this.mic?.stop();
    for (const t of this.videoSend.values()) t.sender.track?.stop();
    this.pc.onconnectionstatechange = null;
    this.pc.close();
  }
}
