// A local camera or screen share to send into calls.

import { VideoStreamKind } from "./protocol";

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

  constructor(private readonly from: VideoSource) {
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

  /** Stops the source (the camera light goes off, the screen share ends). */
  release(): void {
    this.source?.stop();
    this.source = undefined;
  }
}
