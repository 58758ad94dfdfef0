// Microphones, speakers and cameras of the browser (navigator.mediaDevices), with the
// selection calls use.

import { Emitter } from "./events";

export interface AudioDeviceInfo {
  id: string;
  name: string;
  kind: "microphone" | "speaker";
}

export interface VideoDeviceInfo {
  id: string;
  name: string;
}

export interface DeviceManagerEvents {
  audioDevicesUpdated: { added: AudioDeviceInfo[]; removed: AudioDeviceInfo[] };
  videoDevicesUpdated: { added: VideoDeviceInfo[]; removed: VideoDeviceInfo[] };
  selectedMicrophoneChanged: { microphone?: AudioDeviceInfo };
  selectedSpeakerChanged: { speaker?: AudioDeviceInfo };
}

/** The calls a device change applies to (the agent's live calls). */
export interface DeviceUsers {
  calls(): { replaceMicrophone(t: MediaStreamTrack): Promise<void>; setSpeaker(id: string): Promise<void> }[];
}

export class DeviceManager extends Emitter<DeviceManagerEvents> {
  private mic?: AudioDeviceInfo;
  private spk?: AudioDeviceInfo;
  private known: MediaDeviceInfo[] = [];
  private users?: DeviceUsers;
  /** Microphone constraints every call uses (echo cancellation etc.). */
  audioConstraints: MediaTrackConstraints = {
    echoCancellation: true,
    noiseSuppression: true,
    autoGainControl: true,
  };

  /** @internal */
  constructor() {
    super();
    navigator.mediaDevices?.addEventListener?.("devicechange", () => void this.refresh());
  }

  /** @internal */
  attach(users: DeviceUsers): void {
    this.users = users;
  }

  /** Asks for permission (labels are empty before it). Returns what was granted. */
  async askDevicePermission(want: { audio: boolean; video: boolean }): Promise<{ audio: boolean; video: boolean }> {
    const granted = { audio: false, video: false };
    try {
      const s = await navigator.mediaDevices.getUserMedia({ audio: want.audio, video: want.video });
      granted.audio = s.getAudioTracks().length > 0;
      granted.video = s.getVideoTracks().length > 0;
      for (const t of s.getTracks()) t.stop();
    } catch {
      // refused or no such device: nothing granted
    }
    await this.refresh();
    return granted;
  }

  async getMicrophones(): Promise<AudioDeviceInfo[]> {
    return (await this.list()).filter((d) => d.kind === "audioinput").map((d) => audio(d, "microphone"));
  }

  async getSpeakers(): Promise<AudioDeviceInfo[]> {
    return (await this.list()).filter((d) => d.kind === "audiooutput").map((d) => audio(d, "speaker"));
  }

  async getCameras(): Promise<VideoDeviceInfo[]> {
    return (await this.list())
      .filter((d) => d.kind === "videoinput")
      .map((d) => ({ id: d.deviceId, name: d.label || "camera" }));
  }

  get selectedMicrophone(): AudioDeviceInfo | undefined {
    return this.mic;
  }
  get selectedSpeaker(): AudioDeviceInfo | undefined {
    return this.spk;
  }

  /** Uses `device` in every call from now on, live calls included (no renegotiation). */
  async selectMicrophone(device: AudioDeviceInfo): Promise<void> {
    this.mic = device;
    this.emit("selectedMicrophoneChanged", { microphone: device });
    for (const c of this.users?.calls() ?? []) await c.replaceMicrophone(await this.openMicrophone());
  }

  /** Plays every call on `device` (HTMLMediaElement.setSinkId). */
  async selectSpeaker(device: AudioDeviceInfo): Promise<void> {
    this.spk = device;
    this.emit("selectedSpeakerChanged", { speaker: device });
    for (const c of this.users?.calls() ?? []) await c.setSpeaker(device.id);
  }

  /** @internal A track of the selected microphone. */
  async openMicrophone(): Promise<MediaStreamTrack> {
    const constraints: MediaTrackConstraints = { ...this.audioConstraints };
    if (this.mic) constraints.deviceId = { exact: this.mic.id };
    const s = await navigator.mediaDevices.getUserMedia({ audio: constraints });
    const t = s.getAudioTracks()[0];
    if (!t) throw new Error("the browser returned no audio track");
    return t;
  }

  private async list(): Promise<MediaDeviceInfo[]> {
    if (!navigator.mediaDevices?.enumerateDevices) return [];
    return navigator.mediaDevices.enumerateDevices();
  }

  /** Re-lists the devices and reports what came and went. */
  async refresh(): Promise<void> {
    const now = await this.list();
    const key = (d: MediaDeviceInfo) => `${d.kind}/${d.deviceId}`;
    const before = new Set(this.known.map(key));
    const after = new Set(now.map(key));
    const added = now.filter((d) => !before.has(key(d)));
    const removed = this.known.filter((d) => !after.has(key(d)));
    this.known = now;
    const isAudio = (d: MediaDeviceInfo) => d.kind !== "videoinput";
    const a = (d: MediaDeviceInfo) => audio(d, d.kind === "audioinput" ? "microphone" : "speaker");
    const v = (d: MediaDeviceInfo) => ({ id: d.deviceId, name: d.label || "camera" });
    if (added.some(isAudio) || removed.some(isAudio)) {
      this.emit("audioDevicesUpdated", {
        added: added.filter(isAudio).map(a),
        removed: removed.filter(isAudio).map(a),
      });
    }
    if (added.some((d) => !isAudio(d)) || removed.some((d) => !isAudio(d))) {
      this.emit("videoDevicesUpdated", {
        added: added.filter((d) => !isAudio(d)).map(v),
        removed: removed.filter((d) => !isAudio(d)).map(v),
      });
    }
  }
}

function audio(d: MediaDeviceInfo, kind: "microphone" | "speaker"): AudioDeviceInfo {
  return { id: d.deviceId, name: d.label || kind, kind };
}
