// Measures a tone in what a call receives, in the page: every receive slot's track into
// one AnalyserNode; returns the level at `freq` and at a control frequency away from it
// (dB, the best of the windows taken over `ms`). Loaded by tests/browser_e2e.rs as a string.
async ({ freq, ms }) => {
  const call = window.acsSample.call;
  const stream = call && call.remoteAudioStream;
  if (!stream) throw new Error("no call with media");
  const ctx = new AudioContext();
  await ctx.resume();
  const an = ctx.createAnalyser();
  an.fftSize = 8192;
  an.smoothingTimeConstant = 0;
  for (const t of stream.getAudioTracks()) {
    ctx.createMediaStreamSource(new MediaStream([t])).connect(an);
  }
  const bin = ctx.sampleRate / an.fftSize;
  const data = new Float32Array(an.frequencyBinCount);
  const level = (f) => {
    const k = Math.round(f / bin);
    return Math.max(data[k - 1], data[k], data[k + 1]);
  };
  const control = freq * 1.37;
  let best = { tone: -Infinity, control: -Infinity, peakHz: 0 };
  const end = performance.now() + ms;
  while (performance.now() < end) {
    await new Promise((r) => setTimeout(r, 100));
    an.getFloatFrequencyData(data);
    const tone = level(freq);
    if (tone > best.tone) {
      let peak = 1;
      for (let k = 2; k < data.length; k++) if (data[k] > data[peak]) peak = k;
      best = { tone, control: level(control), peakHz: peak * bin };
    }
  }
  await ctx.close();
  return best;
}
