// Shows a remote (or local) video stream in a <video> element.

export type ScalingMode = "Stretch" | "Crop" | "Fit";

/** @internal Fired on a subscribed MediaStream whose track the SDK replaced (the call was
 * joined again on a new connection after a service restart). */
export const TRACK_REPLACED = "acs-trackreplaced";

export class VideoStreamRenderer {
  private el?: HTMLVideoElement;
  private onReplaced?: () => void;

  constructor(private readonly stream: MediaStream | MediaStreamTrack) {}

  /** A <video> element playing the stream, scaled as `scalingMode` says. */
  createView(options: { scalingMode?: ScalingMode } = {}): HTMLVideoElement {
    const el = document.createElement("video");
    el.autoplay = true;
    el.muted = true;
    el.playsInline = true;
    el.style.objectFit =
      options.scalingMode === "Stretch" ? "fill" : options.scalingMode === "Fit" ? "contain" : "cover";
    el.srcObject = this.stream instanceof MediaStream ? this.stream : new MediaStream([this.stream]);
    if (this.stream instanceof MediaStream) {
      // The same view goes on showing the stream when the SDK swaps its track.
      const stream = this.stream;
      this.onReplaced = () => {
        el.srcObject = stream;
      };
      stream.addEventListener(TRACK_REPLACED, this.onReplaced);
    }
    this.el = el;
    return el;
  }

  dispose(): void {
    if (this.onReplaced && this.stream instanceof MediaStream) {
      this.stream.removeEventListener(TRACK_REPLACED, this.onReplaced);
    }
    this.onReplaced = undefined;
    if (this.el) {
      this.el.srcObject = null;
      this.el.remove();
    }
    this.el = undefined;
  }
}
