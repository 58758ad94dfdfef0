// A local camera or screen share to send into calls.

import { CallingError, EndReasons, VideoStreamKind } from "./protocol";

/** Where a LocalVideoStream's frames come from. */
export type VideoSource =
  | { camera: string } // a camera's deviceId ("" = the default)
  | { screen: DisplayMediaStreamOptions | true } // getDisplayMedia: screen, window or tab
  | { track: MediaStreamTrack }; // frames the host makes (canvas.captureStream(), …)

/** A local camera or screen-share stream. Each call sends its own clone of the track, so
 * ending a call never stops the host's preview; `release()` stops the source. */
export class LocalVideoStream {
  private source?: MediaStreamTrack;
  readonly kind: VideoStreamKind;
  /** The calls sending this stream: each takes a clone of a new source track. */
  private sinks = new Set<(track: MediaStreamTrack) => Promise<void>>();

  constructor(private from: VideoSource) {
    this.kind = "screen" in from ? VideoStreamKind.ScreenShare : VideoStreamKind.Video;
    if ("track" in from) this.source = from.track;
  }

  /** The source track (opened on first use: camera permission, screen picker). */
  async mediaStreamTrack(): Promise<MediaStreamTrack> {
    if (this.source && this.source.readyState === "live") return this.source;
    if ("camera" in this.from) {
      const s = await navigator.mediaDevices.getUserMedia({
        video: this.from.camera ? { deviceId: { exact: this.from.camera } } : true,
      });
      this.source = s.getVideoTracks()[0];
    } else if ("screen" in this.from) {
      const opts = this.from.screen === true ? { video: true } : this.from.screen;
      const s = await navigator.mediaDevices.getDisplayMedia(opts);
      this.source = s.getVideoTracks()[0];
    } else {
      this.source = this.from.track;
    }
    return this.source;
  }

  /** @internal The clone a call sends. */
  async track(): Promise<MediaStreamTrack> {
    return (await this.mediaStreamTrack()).clone();
  }

  /** The camera's deviceId ("" = the default) for a camera stream, else undefined. */
  get cameraId(): string | undefined {
    return "camera" in this.from ? this.from.camera : undefined;
  }

  /** Switches a camera stream to another camera (a VideoDeviceInfo from
   * DeviceManager.getCameras(), or its id). Every call sending this stream goes on with the
   * new camera at once, without renegotiation; the old camera is closed. Refused for a
   * screen share or a host-made track. */
  async switchSource(camera: { id: string } | string): Promise<void> {
    if (!("camera" in this.from)) {
      throw new CallingError(EndReasons.BAD_REQUEST, "only a camera stream can switch its source");
    }
    const id = typeof camera === "string" ? camera : camera?.id;
    if (typeof id !== "string") throw new CallingError(EndReasons.BAD_REQUEST, "no camera given");
    const s = await navigator.mediaDevices.getUserMedia({ video: id ? { deviceId: { exact: id } } : true });
    const old = this.source;
    this.from = { camera: id };
    this.source = s.getVideoTracks()[0];
    for (const sink of this.sinks) await sink(this.source.clone());
    old?.stop();
  }

  /** @internal A call sends this stream: `sink` takes each new source (switchSource). */
  attach(sink: (track: MediaStreamTrack) => Promise<void>): () => void {
    this.sinks.add(sink);
    return () => this.sinks.delete(sink);
  }

  /** Stops the source (the camera light goes off, the screen share ends). */
  release(): void {
    this.source?.stop();
    this.source = undefined;
  }
}
