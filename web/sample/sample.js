// The sample page: sign in with a dev token (or a pasted one), call a user or 8:echo123,
// join a group by id, mute, hold, hang up, see the roster. Everything goes through the SDK
// bundle the service serves at /sdk/acscalling.js.
import {
  CallClient,
  CallState,
  ConnectionState,
  ParticipantState,
  TokenCredential,
} from "/sdk/acscalling.js";

const $ = (id) => document.getElementById(id);
const client = new CallClient();
const app = { client, agent: undefined, call: undefined, incoming: undefined, log: [] };
// For automation (tests) and the console.
window.acsSample = app;

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
      $("reason").textContent = `(${reason.code}/${reason.subcode})`;
      document.body.classList.remove("call");
    }
  });
  call.on("isMutedChanged", ({ muted }) => ($("mute").textContent = muted ? "Unmute" : "Mute"));
  call.on("remoteParticipantsUpdated", ({ added }) => {
    for (const p of added) {
      p.on("stateChanged", renderRoster);
      p.on("isMutedChanged", renderRoster);
      p.on("isSpeakingChanged", renderRoster);
    }
    renderRoster();
  });
  renderRoster();
}

function renderRoster() {
  const ul = $("roster");
  ul.textContent = "";
  for (const p of app.call?.remoteParticipants ?? []) {
    const li = document.createElement("li");
    li.dataset.id = p.identifier;
    li.dataset.state = ParticipantState[p.state];
    li.className = p.isSpeaking ? "speaking" : "";
    li.textContent = `${p.displayName || p.identifier} — ${ParticipantState[p.state]}${p.isMuted ? " (muted)" : ""}${p.isSpeaking ? " — speaking" : ""}`;
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
}
