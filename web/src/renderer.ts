// Shows a remote (or local) video stream in a <video> element.

export type ScalingMode = "Stretch" | "Crop" | "Fit";

export class VideoStreamRenderer {
  private el?: HTMLVideoElement;

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
    this.el = el;
    return el;
  }

  dispose(): void {
    if (this.el) {
      this.el.srcObject = null;
      this.el.remove();
    }
    this.el = undefined;
  }
}
