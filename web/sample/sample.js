// The sample page: sign in with a dev token (or a pasted one), call a user or 8:echo123,
// join a group by id or a room by id or link, mute, hold, hang up, see the roster; in a
// room, admit or turn away people waiting in the lobby and mute others. Opened as a
// room's link (/meet/<id>), it offers to join that room. Everything goes through the SDK
// bundle the service serves at /sdk/acscalling.js.
import {
  CallClient,
  CallState,
  ConnectionState,
  LocalVideoStream,
  ParticipantState,
  TokenCredential,
  VideoStreamKind,
  VideoStreamRenderer,
  VIDEO_SLOTS,
} from "/sdk/acscalling.js";

const $ = (id) => document.getElementById(id);
const client = new CallClient();
const app = { client, agent: undefined, call: undefined, incoming: undefined, log: [] };
// For automation (tests) and the console.
window.acsSample = app;

// A room's link (/meet/<id>): the room to join once signed in.
const meet = /^\/meet\/([0-9a-fA-F-]{36})\/?$/.exec(location.pathname);
app.meetRoom = meet ? meet[1] : undefined;
if (app.meetRoom) {
  $("room").value = location.href;
  $("meetnote").hidden = false;
  document.title = `acscalling — meeting ${app.meetRoom}`;
}

function log(text) {
  const line = `${new Date().toISOString().slice(11, 23)} ${text}`;
  app.log.push(line);
  $("log").textContent = app.log.slice(-200).join("\n");
}

async function devToken(id) {
  const r = await fetch("/dev/token", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: id ? JSON.stringify({ id }) : "",
  });
  const body = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(`dev token: ${r.status} ${body.error ?? ""}`);
  return body;
}

$("signin").onclick = async () => {
  try {
    let credential;
    const pasted = $("token").value.trim();
    if (pasted) {
      credential = new TokenCredential({ token: pasted });
    } else {
      const first = await devToken();
      credential = new TokenCredential({
        token: first.token,
        tokenRefresher: async () => (await devToken(first.id)).token,
      });
    }
    const agent = await client.createCallAgent(credential, { displayName: $("name").value });
    app.agent = agent;
    $("me").textContent = agent.userId;
    $("connection").textContent = ConnectionState[agent.connectionState];
    document.body.classList.add("agent");
    log(`signed in as ${agent.userId}`);
    agent.on("connectionStateChanged", ({ state, reason, message }) => {
      $("connection").textContent = ConnectionState[state];
      log(`connection ${ConnectionState[state]}${reason ? ` ${reason.code}/${reason.subcode}` : ""} ${message ?? ""}`);
    });
    agent.on("incomingCall", ({ call }) => {
      const caller = call.remoteParticipants[0];
      app.incoming = call;
      $("caller").textContent = caller ? `${caller.displayName} (${caller.identifier})` : "?";
      $("incoming").hidden = false;
      log(`incoming call ${call.id}`);
      call.on("stateChanged", ({ state }) => {
        if (state === CallState.Disconnected && app.incoming === call) {
          app.incoming = undefined;
          $("incoming").hidden = true;
        }
      });
    });
    await fillDevices();
    (await client.getDeviceManager()).on("audioDevicesUpdated", () => void fillDevices());
  } catch (e) {
    log(`sign-in failed: ${e.message}${e.code !== undefined ? ` (${e.code}/${e.subcode})` : ""}`);
  }
};

function track(call) {
  app.call = call;
  document.body.classList.add("call");
  $("state").textContent = CallState[call.state];
  $("reason").textContent = "";
  $("mute").textContent = call.isMuted ? "Unmute" : "Mute";
  call.on("stateChanged", ({ state, reason, message }) => {
    $("state").textContent = CallState[state];
    log(`call ${CallState[state]}${state === CallState.Disconnected ? ` ${reason.code}/${reason.subcode} ${message ?? ""}` : ""}`);
    $("hold").textContent = state === CallState.LocalHold ? "Resume" : "Hold";
    if (state === CallState.Disconnected) {
      for (const v of shown.values()) v.renderer?.dispose();
      shown.clear();
      $("reason").textContent = `(${reason.code}/${reason.subcode})`;
      document.body.classList.remove("call");
    }
  });
  call.on("isMutedChanged", ({ muted }) => ($("mute").textContent = muted ? "Unmute" : "Mute"));
  call.on("mutedByOthers", ({ by }) => log(`muted by ${by}`));
  document.body.classList.toggle("room", call.isRoom);
  call.on("remoteParticipantsUpdated", ({ added, removed }) => {
    for (const p of added) {
      p.on("stateChanged", renderRoster);
      p.on("isMutedChanged", renderRoster);
      p.on("roleChanged", renderRoster);
      p.on("isSpeakingChanged", renderRoster);
      p.on("videoStreamsUpdated", ({ added, removed }) => {
        for (const s of removed) void hideVideo(call, p.identifier, s.kind);
        for (const s of added) void showVideo(call, p.identifier, s.kind);
      });
      for (const s of p.videoStreams) void showVideo(call, p.identifier, s.kind);
    }
    for (const p of removed) {
      for (const kind of [VideoStreamKind.Video, VideoStreamKind.ScreenShare]) void hideVideo(call, p.identifier, kind);
    }
    renderRoster();
  });
  call.on("localVideoStreamsUpdated", () => {
    const kinds = call.localVideoStreams.map((s) => s.kind);
    $("camera").textContent = kinds.includes(VideoStreamKind.Video) ? "Camera off" : "Camera on";
    $("share").textContent = kinds.includes(VideoStreamKind.ScreenShare) ? "Stop sharing" : "Share screen";
  });
  renderRoster();
}

// Remote videos: cameras take the free camera slots, a screen share the one share slot.
const shown = new Map(); // `${id}/${kind}` → { slot, renderer, el }

async function showVideo(call, id, kind) {
  const key = `${id}/${kind}`;
  if (shown.has(key)) return;
  const used = [...shown.values()].filter((v) => v.kind === kind).map((v) => v.slot);
  const slots = kind === VideoStreamKind.ScreenShare ? 1 : VIDEO_SLOTS;
  const slot = [...Array(slots).keys()].find((i) => !used.includes(i));
  if (slot === undefined) return log(`no free ${VideoStreamKind[kind]} slot for ${id}`);
  const entry = { kind, slot };
  shown.set(key, entry);
  try {
    const stream = await call.subscribeVideo(id, kind, slot);
    entry.renderer = new VideoStreamRenderer(stream);
    entry.el = entry.renderer.createView({ scalingMode: "Fit" });
    entry.el.dataset.id = id;
    entry.el.dataset.kind = VideoStreamKind[kind];
    $("videos").appendChild(entry.el);
  } catch (e) {
    shown.delete(key);
    log(`cannot show ${VideoStreamKind[kind]} of ${id}: ${e.message}`);
  }
}

async function hideVideo(call, id, kind) {
  const key = `${id}/${kind}`;
  const entry = shown.get(key);
  if (!entry) return;
  shown.delete(key);
  entry.renderer?.dispose();
  if (call.state !== CallState.Disconnected) await call.unsubscribeVideo(kind, entry.slot).catch(() => undefined);
}

function renderRoster() {
  const ul = $("roster");
  ul.textContent = "";
  const call = app.call;
  for (const p of call?.remoteParticipants ?? []) {
    const li = document.createElement("li");
    li.dataset.id = p.identifier;
    li.dataset.state = ParticipantState[p.state];
    if (p.role) li.dataset.role = p.role;
    li.className = p.isSpeaking ? "speaking" : "";
    li.textContent = `${p.displayName || p.identifier}${p.role ? ` [${p.role}]` : ""} — ${ParticipantState[p.state]}${p.isMuted ? " (muted)" : ""}${p.isSpeaking ? " — speaking" : ""} `;
    const button = (cls, text, action) => {
      const b = document.createElement("button");
      b.className = cls;
      b.textContent = text;
      b.onclick = guarded(action);
      li.appendChild(b);
    };
    if (p.state === ParticipantState.InLobby) {
      button("admit", "Admit", () => call.admit(p));
      button("turnaway", "Turn away", () => call.rejectParticipant(p));
    } else if (p.state === ParticipantState.Connected && !p.isMuted) {
      button("muteother", "Mute", () => call.muteParticipant(p));
    }
    ul.appendChild(li);
  }
}

function guarded(fn) {
  return async () => {
    try {
      await fn();
    } catch (e) {
      log(`error: ${e.message}${e.code !== undefined ? ` (${e.code}/${e.subcode})` : ""}`);
    }
  };
}

$("call").onclick = guarded(() => track(app.agent.startCall([$("target").value])));
$("newgroup").onclick = () => ($("group").value = crypto.randomUUID());
$("join").onclick = guarded(() => track(app.agent.join({ groupId: $("group").value })));
$("joinroom").onclick = guarded(() => track(app.agent.joinRoom($("room").value)));
$("admitall").onclick = guarded(() => app.call.admitAll());
$("muteall").onclick = guarded(() => app.call.muteAllRemoteParticipants());
$("accept").onclick = guarded(async () => {
  const call = app.incoming;
  if (!call) return;
  $("incoming").hidden = true;
  app.incoming = undefined;
  track(call);
  await call.accept();
});
$("reject").onclick = guarded(async () => {
  const call = app.incoming;
  $("incoming").hidden = true;
  app.incoming = undefined;
  await call?.reject();
});
$("mute").onclick = guarded(() => (app.call.isMuted ? app.call.unmute() : app.call.mute()));
$("hold").onclick = guarded(() => (app.call.state === CallState.LocalHold ? app.call.resume() : app.call.hold()));
let camera;
let screen;
$("camera").onclick = guarded(async () => {
  const call = app.call;
  const on = call.localVideoStreams.find((s) => s.kind === VideoStreamKind.Video);
  if (on) return call.stopVideo(on);
  camera ??= new LocalVideoStream({ camera: $("cameraPick").value });
  await call.startVideo(camera);
  // With camera permission the browser names its cameras: list them, this one picked.
  await fillDevices();
  $("cameraPick").value = camera.cameraId || $("cameraPick").value;
});
$("share").onclick = guarded(async () => {
  const call = app.call;
  const on = call.localVideoStreams.find((s) => s.kind === VideoStreamKind.ScreenShare);
  if (on) {
    await call.stopVideo(on);
    on.release();
    screen = undefined;
    return;
  }
  // Whole screen, a window or a tab: the browser's picker decides.
  screen = new LocalVideoStream({ screen: { video: true } });
  await call.startVideo(screen);
});
$("hangup").onclick = guarded(() => app.call?.hangUp());

async function fillDevices() {
  const dm = await client.getDeviceManager();
  const fill = (select, list, pick) => {
    select.textContent = "";
    for (const d of list) {
      const o = document.createElement("option");
      o.value = d.id;
      o.textContent = d.name;
      select.appendChild(o);
    }
    select.onchange = guarded(() => pick(list.find((d) => d.id === select.value)));
  };
  fill($("mic"), await dm.getMicrophones(), (d) => dm.selectMicrophone(d));
  fill($("speaker"), await dm.getSpeakers(), (d) => dm.selectSpeaker(d));
  // A camera picked mid-call switches the stream being sent (no renegotiation).
  fill($("cameraPick"), await dm.getCameras(), (d) => camera?.switchSource(d));
}
