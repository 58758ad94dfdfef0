// The agent of one signed-in user: its connection to the service, the calls it places,
// joins and receives.

import { Call, CallContext, CallOptions } from "./call";
import { CallMedia } from "./media";
import type { DeviceManager } from "./device_manager";
import { Emitter } from "./events";
import {
  CallState,
  CallingError,
  ConnectionState,
  EndReason,
  EndReasons,
  ServerMessage,
  isRawId,
} from "./protocol";
import { Signaling, Welcome } from "./signaling";
import { TokenCredential } from "./token_credential";

export interface CallAgentOptions {
  /** Shown to the other participants. */
  displayName?: string;
  /** The signaling WebSocket, e.g. `wss://calls.example.com/signaling`. Default: this page's
   * origin (ws: for http:, wss: for https:) + `/signaling`. */
  serviceUrl?: string;
}

export interface CallAgentEvents {
  incomingCall: { call: Call };
  callsUpdated: { added: Call[]; removed: Call[] };
  connectionStateChanged: { state: ConnectionState; reason?: EndReason; message?: string };
}

export class CallAgent extends Emitter<CallAgentEvents> {
  private signaling!: Signaling;
  private _calls = new Map<string, Call>();
  private _state = ConnectionState.Disconnected;
  private _userId = "";
  private refreshTimer?: ReturnType<typeof setTimeout>;
  private disposed = false;
  /** A PeerConnection with its offer made, for the next call (replaced when taken). */
  private spare?: CallMedia;

  /** @internal Use CallClient.createCallAgent. */
  constructor(
    private readonly credential: TokenCredential,
    private readonly options: CallAgentOptions,
    private readonly devices: DeviceManager,
  ) {
    super();
  }

  /** @internal Connects and authenticates. */
  async connect(): Promise<Welcome> {
    const url = signalingUrl(this.options.serviceUrl ?? defaultServiceUrl());
    this.signaling = new Signaling(url, this.options.displayName ?? "", {
      message: (m) => this.onMessage(m),
      state: (s, reason, message) => this.onState(s, reason, message),
      sessionLost: () => {
        for (const c of [...this._calls.values()]) c.sessionLost();
      },
      token: () => this.credential.getToken(),
    });
    const welcome = await this.signaling.connect();
    this._userId = welcome.userId;
    this.spare = this.newSpare();
    this.scheduleRefresh();
    return welcome;
  }

  /** Raw id of the signed-in user. */
  get userId(): string {
    return this._userId;
  }
  get connectionState(): ConnectionState {
    return this._state;
  }
  get calls(): Call[] {
    return [...this._calls.values()];
  }

  /** Calls `targets` (raw ids: `8:acs:…`, `8:echo123`, `4:+…`). Returns at once; the call's
   * events say how it goes. Bad ids are refused here, before anything is sent. */
  startCall(targets: string[], options?: CallOptions): Call {
    this.requireConnected();
    if (!Array.isArray(targets) || targets.length === 0) {
      throw new CallingError(EndReasons.BAD_REQUEST, "no targets");
    }
    for (const t of targets) {
      if (typeof t !== "string" || !isRawId(t)) {
        throw new CallingError(
          EndReasons.BAD_REQUEST,
          `invalid identifier '${t}': expected 8:acs:<id>, 4:+<digits> or 8:echo123`,
        );
      }
      if (t.trim() === this._userId) throw new CallingError(EndReasons.BAD_REQUEST, "cannot call yourself");
    }
    const call = this.newCall(crypto.randomUUID(), "outgoing", CallState.None, false);
    call.establish({ kind: "start", targets: targets.map((t) => t.trim()) }, options);
    return call;
  }

  /** Joins the group call `groupId` (a UUID the participants agreed on), or the room
   * `roomId` (as joinRoom does; ACS's `join({ roomId })`). */
  join(locator: { groupId: string } | { roomId: string }, options?: CallOptions): Call {
    if (locator && "roomId" in locator) return this.joinRoom(locator.roomId, options);
    return this.joinAs(locator?.groupId, false, "group", options);
  }

  /** Joins the room `locator` — its id, or its link `http(s)://<service>/meet/<id>` —
   * created with the service's `POST /rooms`. Returns at once. The service refuses (the
   * call ends with 403 and a message) outside the room's validity window or for a user it
   * does not list (404: an unknown room); in a room with a lobby, an unlisted user waits in
   * call state InLobby until an organizer or presenter admits it (then Connected), turns it
   * away (403/10018) or the wait times out (408/10019). */
  joinRoom(locator: string | { roomId: string }, options?: CallOptions): Call {
    const raw = (typeof locator === "string" ? locator : locator?.roomId ?? "").trim();
    return this.joinAs(roomIdOf(raw), true, "room", options);
  }

  private joinAs(raw: string | undefined, room: boolean, what: string, options?: CallOptions): Call {
    this.requireConnected();
    const id = (raw ?? "").trim().toLowerCase();
    if (!/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(id)) {
      throw new CallingError(EndReasons.BAD_REQUEST, `invalid ${what} id '${raw ?? ""}': expected a UUID`);
    }
    if (this._calls.has(id)) throw new CallingError(EndReasons.BAD_REQUEST, `already in this ${what} call`);
    const call = this.newCall(id, "outgoing", CallState.None, true);
    call.establish({ kind: "join", groupId: id, room }, options);
    return call;
  }

  /** Readies the next call's media now (it is otherwise made shortly after each call
   * starts): a PeerConnection connected to the service ahead, so the next startCall, join
   * or accept waits for no transport. Call it when a call is likely (a dial pad opens).
   * Resolves true once that media is connected, false if the service could not prepare it
   * within `waitMs` (calls still work: they offer as before). */
  async prepareMedia(waitMs = 5000): Promise<boolean> {
    this.requireConnected();
    this.spare ??= this.newSpare();
    return this.spare.whenPrepared(waitMs);
  }

  /** Hangs up every call and closes the connection. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.refreshTimer);
    this.spare?.close();
    this.spare = undefined;
    await Promise.all([...this._calls.values()].map((c) => c.hangUp().catch(() => undefined)));
    this.signaling?.close();
  }

  /** The next call's PeerConnection: its offer made and its media connected ahead. */
  private newSpare(): CallMedia {
    return new CallMedia(undefined).prepare().preconnect((body) => this.signaling.request(body));
  }

  private newCall(id: string, dir: "outgoing" | "incoming", state: CallState, group: boolean): Call {
    const ctx: CallContext = {
      selfId: this._userId,
      request: (body) => this.signaling.request(body),
      microphone: () => this.devices.openMicrophone(),
      takeMedia: () => {
        const media = this.spare ?? new CallMedia(undefined);
        // The next call's, made once this one's setup is under way.
        this.spare = undefined;
        setTimeout(() => {
          if (!this.disposed && !this.spare) this.spare = this.newSpare();
        }, 500);
        return media;
      },
      freshMedia: () => new CallMedia(undefined),
      speakerId: () => this.devices.selectedSpeaker?.id ?? "",
      reconnectWindowMs: () => this.signaling.reconnectWindowMs,
      ended: (c) => {
        if (this._calls.get(c.id) === c) {
          this._calls.delete(c.id);
          this.emit("callsUpdated", { added: [], removed: [c] });
        }
      },
    };
    const call = new Call(ctx, id, dir, state, group);
    this._calls.set(id, call);
    this.emit("callsUpdated", { added: [call], removed: [] });
    return call;
  }

  private requireConnected(): void {
    if (this.disposed) throw new CallingError(EndReasons.BAD_REQUEST, "the agent was disposed");
    if (this._state !== ConnectionState.Connected && this._state !== ConnectionState.Reconnecting) {
      throw new CallingError(EndReasons.SERVICE_UNAVAILABLE, "not connected to the service");
    }
  }

  private onMessage(m: ServerMessage): void {
    if (m.type === "incoming_call") {
      if (this._calls.has(m.call_id)) return;
      const call = this.newCall(m.call_id, "incoming", CallState.Incoming, m.others.length > 0);
      call.addCaller(m.caller);
      this.emit("incomingCall", { call });
      return;
    }
    if (m.type === "token_expiring") {
      void this.refreshToken();
      return;
    }
    if (m.type === "error") return; // the signaling layer ends the connection with it
    if ("call_id" in m) this._calls.get(m.call_id)?.handle(m);
  }

  private onState(s: ConnectionState, reason?: EndReason, message?: string): void {
    if (s === this._state) return;
    this._state = s;
    if (s === ConnectionState.Disconnected) {
      clearTimeout(this.refreshTimer);
      for (const c of [...this._calls.values()]) {
        if (c.state !== CallState.Disconnected) c.sessionLost();
      }
    }
    this.emit("connectionStateChanged", { state: s, reason, message });
  }

  private scheduleRefresh(): void {
    clearTimeout(this.refreshTimer);
    const ms = this.credential.msUntilRefresh();
    if (ms === undefined || !this.credential.canRefresh) return;
    // setTimeout's limit is ~24.8 days; tokens live a day at most.
    this.refreshTimer = setTimeout(() => void this.refreshToken(), Math.min(ms, 2 ** 31 - 1));
  }

  private async refreshToken(): Promise<void> {
    if (!this.credential.canRefresh || this.disposed) return;
    try {
      const token = await this.credential.refresh();
      await this.signaling.request({ type: "refresh_token", token });
    } catch (e) {
      console.warn("acscalling: token refresh failed", e);
    }
    this.scheduleRefresh();
  }
}

/** The native SDK's rule: `ws(s)://host:port` gets `/signaling` appended; a URL with a path
 * is used as it is; anything else is refused with a clear error. */
export function signalingUrl(url: string): string {
  const m = /^(wss?):\/\/([^/]*)(\/.*)?$/.exec(url.trim());
  if (!m) {
    throw new CallingError(EndReasons.BAD_REQUEST, `service url '${url}' must start with ws:// or wss://`);
  }
  if (!m[2]) throw new CallingError(EndReasons.BAD_REQUEST, `service url '${url}' has no host`);
  return m[3] ? url.trim() : `${url.trim()}/signaling`;
}

/** The room id of a locator: the id itself, or what follows `/meet/` in a link (a query
 * or fragment dropped). */
export function roomIdOf(locator: string): string {
  const t = locator.trim();
  const at = t.indexOf("/meet/");
  if (at < 0) return t;
  return t.slice(at + "/meet/".length).split(/[?#]/)[0].replace(/\/+$/, "");
}

function defaultServiceUrl(): string {
  const l = globalThis.location;
  if (!l) throw new CallingError(EndReasons.BAD_REQUEST, "no serviceUrl and no page location");
  return `${l.protocol === "https:" ? "wss:" : "ws:"}//${l.host}`;
}
