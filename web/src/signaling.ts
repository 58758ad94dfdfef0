// The WebSocket to the service: the Hello/Welcome handshake, request ids and their replies,
// sequence numbers, and resuming the session after a dropped link (the native SDK's
// src/signaling/mod.rs and src/client/call_network.rs, in the browser). No call logic here.

import {
  CallingError,
  ClientRequest,
  ConnectionState,
  EndReason,
  EndReasons,
  Hello,
  PROTOCOL_VERSION,
  ServerMessage,
} from "./protocol";

/** How long connecting plus Hello/Welcome, and each request, may take. */
const HANDSHAKE_TIMEOUT_MS = 10_000;
/** Browsers cannot send WebSocket pings: an application `ping` request proves the link. */
const HEARTBEAT_MS = 1_000;
/** Nothing heard from the service this long: the link is taken as lost (native: 4 s). */
const SILENCE_MS = 4_000;
/** Reconnect backoff: from 100 ms doubling to 2 s, ±25 % jitter (as the native SDK). */
const BACKOFF_FIRST_MS = 100;
const BACKOFF_MAX_MS = 2_000;

export interface Welcome {
  userId: string;
  serverVersion: string;
  session?: string;
  resumed: boolean;
  resumeSecs: number;
}

/** What the service answered to a request. */
export interface Reply {
  answerSdp?: string;
  /** `prepare_media`: the prepared session's id. */
  mediaId?: number;
}

export interface SignalingHandlers {
  /** Every message that is not a reply to a request. */
  message(msg: ServerMessage): void;
  /** The link's state; `reason`/`message` when it went down or came back without its session. */
  state(state: ConnectionState, reason?: EndReason, message?: string): void;
  /** A reconnect got through but the service no longer had the session: its calls are over. */
  sessionLost(): void;
  /** The token to present (the credential's latest). */
  token(): Promise<string>;
}

interface Pending {
  resolve(r: Reply): void;
  reject(e: CallingError): void;
  timer: ReturnType<typeof setTimeout>;
}

/** One authenticated, self-healing connection to the service. */
export class Signaling {
  private ws?: WebSocket;
  private nextReq = 1;
  private pending = new Map<number, Pending>();
  private lastSeq = 0;
  private session?: string;
  private resumeSecs = 120;
  /** How long the service keeps a dropped session (its reconnect window), in ms. */
  get reconnectWindowMs(): number {
    return this.resumeSecs * 1000;
  }
  private closedByUs = false;
  private lastHeard = 0;
  private heartbeat?: ReturnType<typeof setInterval>;
  private droppedAt?: number;

  constructor(
    private readonly url: string,
    private readonly displayName: string,
    private readonly handlers: SignalingHandlers,
  ) {}

  /** Connects and authenticates; rejects with the service's reason (401, 403, …). */
  async connect(): Promise<Welcome> {
    this.handlers.state(ConnectionState.Connecting);
    const welcome = await this.dial(undefined);
    this.handlers.state(ConnectionState.Connected);
    return welcome;
  }

  /** Sends a request and waits for its reply; rejects with the service's error. */
  request(body: ClientRequest): Promise<Reply> {
    const ws = this.ws;
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      return Promise.reject(
        new CallingError(EndReasons.SERVICE_UNAVAILABLE, "not connected to the service"),
      );
    }
    const req = this.nextReq++;
    return new Promise<Reply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(req);
        reject(new CallingError(EndReasons.SERVICE_UNAVAILABLE, "the service did not answer in time"));
      }, HANDSHAKE_TIMEOUT_MS);
      this.pending.set(req, { resolve, reject, timer });
      ws.send(JSON.stringify({ ...body, req }));
    });
  }

  /** Closes the connection for good. */
  close(): void {
    this.closedByUs = true;
    this.stopHeartbeat();
    this.ws?.close(1000);
    this.failPending(EndReasons.SERVICE_UNAVAILABLE, "the connection was closed");
    this.handlers.state(ConnectionState.Disconnected, EndReasons.LOCAL_HANGUP, "closed");
  }

  /** Opens a socket and exchanges Hello/Welcome; on success the socket is the live one. */
  private async dial(resume: { session: string; last_seq: number } | undefined): Promise<Welcome> {
    const token = await this.handlers.token();
    return new Promise<Welcome>((resolve, reject) => {
      let settled = false;
      let ws: WebSocket;
      try {
        ws = new WebSocket(this.url);
      } catch (e) {
        reject(new CallingError(EndReasons.BAD_REQUEST, `bad service URL ${this.url}: ${e}`));
        return;
      }
      const fail = (reason: EndReason, message: string) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
        try {
          ws.close();
        } catch {
          // already closed
        }
        reject(new CallingError(reason, message));
      };
      const timer = setTimeout(
        () => fail(EndReasons.SERVICE_UNAVAILABLE, `connecting to ${this.url} timed out`),
        HANDSHAKE_TIMEOUT_MS,
      );
      ws.onopen = () => {
        const hello: Hello = {
          type: "hello",
          protocol: PROTOCOL_VERSION,
          token,
          display_name: this.displayName,
          ...(resume ? { resume } : {}),
        };
        ws.send(JSON.stringify(hello));
      };
      ws.onerror = () => fail(EndReasons.SERVICE_UNAVAILABLE, `cannot connect to ${this.url}`);
      ws.onclose = (ev) =>
        fail(EndReasons.SERVICE_UNAVAILABLE, `the service closed the connection (${ev.code})`);
      ws.onmessage = (ev) => {
        const msg = parse(ev.data);
        if (!msg) return;
        if (msg.type === "error") {
          fail({ code: msg.error.code, subcode: msg.error.subcode }, msg.error.message);
        } else if (msg.type === "welcome") {
          settled = true;
          clearTimeout(timer);
          if (!msg.resumed) this.lastSeq = 0;
          this.session = msg.session;
          this.resumeSecs = msg.resume_secs ?? this.resumeSecs;
          this.attach(ws);
          resolve({
            userId: msg.user_id,
            serverVersion: msg.server_version,
            session: msg.session,
            resumed: msg.resumed ?? false,
            resumeSecs: msg.resume_secs ?? 0,
          });
        }
      };
    });
  }

  /** Makes `ws` the live socket: messages, replies, heartbeat, and what a close means. */
  private attach(ws: WebSocket): void {
    this.ws = ws;
    this.lastHeard = Date.now();
    let serviceError: { reason: EndReason; message: string } | undefined;
    ws.onmessage = (ev) => {
      this.lastHeard = Date.now();
      const msg = parse(ev.data);
      if (!msg) return;
      if (msg.seq && msg.seq > 0) this.lastSeq = msg.seq;
      if (msg.type === "response") {
        const p = this.pending.get(msg.req);
        if (!p) return;
        this.pending.delete(msg.req);
        clearTimeout(p.timer);
        if (msg.error) {
          p.reject(
            new CallingError({ code: msg.error.code, subcode: msg.error.subcode }, msg.error.message),
          );
        } else {
          p.resolve({ answerSdp: msg.answer_sdp, mediaId: msg.media_id });
        }
        return;
      }
      if (msg.type === "error") {
        serviceError = {
          reason: { code: msg.error.code, subcode: msg.error.subcode },
          message: msg.error.message,
        };
      }
      this.handlers.message(msg);
    };
    ws.onerror = null;
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.stopHeartbeat();
      if (this.closedByUs) return;
      if (serviceError) {
        // The service said why it closes (token expired or revoked, shutdown…): over.
        this.failPending(serviceError.reason, serviceError.message);
        this.handlers.state(ConnectionState.Disconnected, serviceError.reason, serviceError.message);
      } else {
        this.linkLost("the connection to the service was lost");
      }
    };
    this.startHeartbeat(ws);
  }

  private startHeartbeat(ws: WebSocket): void {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => {
      if (Date.now() - this.lastHeard > SILENCE_MS) {
        // Abandon the socket without a close frame: it could reach the service late and
        // end the session the reconnect is about to resume.
        ws.onclose = ws.onmessage = null;
        this.ws = undefined;
        this.stopHeartbeat();
        this.linkLost(`nothing heard from the service for ${SILENCE_MS} ms`);
        return;
      }
      this.request({ type: "ping" }).catch(() => undefined);
    }, HEARTBEAT_MS);
  }

  private stopHeartbeat(): void {
    if (this.heartbeat !== undefined) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  private failPending(reason: EndReason, message: string): void {
    for (const [, p] of this.pending) {
      clearTimeout(p.timer);
      p.reject(new CallingError(reason, message));
    }
    this.pending.clear();
  }

  /** The link dropped: resume the session with backoff until the reconnect window closes. */
  private linkLost(why: string): void {
    this.failPending(EndReasons.SERVICE_UNAVAILABLE, why);
    this.droppedAt = Date.now();
    this.handlers.state(ConnectionState.Reconnecting, EndReasons.SERVICE_UNAVAILABLE, why);
    void this.reconnect(BACKOFF_FIRST_MS);
  }

  private async reconnect(delay: number): Promise<void> {
    const jitter = delay * (0.75 + Math.random() * 0.5);
    await new Promise((r) => setTimeout(r, jitter));
    if (this.closedByUs) return;
    const since = Date.now() - (this.droppedAt ?? Date.now());
    if (since > this.resumeSecs * 1000) {
      this.handlers.state(
        ConnectionState.Disconnected,
        EndReasons.INACTIVE,
        "the service could not be reached within the reconnect window",
      );
      return;
    }
    const resume = this.session ? { session: this.session, last_seq: this.lastSeq } : undefined;
    try {
      const welcome = await this.dial(resume);
      if (!welcome.resumed) this.handlers.sessionLost();
      this.handlers.state(ConnectionState.Connected);
    } catch (e) {
      const err = e as CallingError;
      if (err.code === 401 || err.code === 403) {
        this.handlers.state(ConnectionState.Disconnected, err.reason, err.message);
        return;
      }
      void this.reconnect(Math.min(delay * 2, BACKOFF_MAX_MS));
    }
  }
}

function parse(data: unknown): ServerMessage | undefined {
  if (typeof data !== "string") return undefined;
  try {
    const v = JSON.parse(data) as ServerMessage;
    return v && typeof v === "object" && typeof v.type === "string" ? v : undefined;
  } catch {
    console.warn("acscalling: ignoring a malformed message from the service");
    return undefined;
  }
}
