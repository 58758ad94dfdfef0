// Drives Debian's Chromium (headless, fake media devices) with playwright-core for the
// Rust end-to-end tests (tests/browser_e2e.rs). Line protocol on stdin/stdout, one JSON
// object per line:   {"id": 1, "cmd": "open", ...}  →  {"id": 1, "ok": true, "value": …}
// or {"id": 1, "ok": false, "error": "…"}. Each named browser is its own Chromium process
// (the fake microphone WAV is a process-wide flag) with a fresh profile directory.
import { chromium } from "playwright-core";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";

const CHROMIUM = process.env.ACS_CHROMIUM ?? "/usr/bin/chromium";
const browsers = new Map(); // name → { context, page, dir }

function args(wav, real) {
  const a = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
  ];
  if (!real?.display) a.unshift("--headless");
  if (real) {
    // Real devices: the sound server's microphones and speakers (PULSE_SERVER), and real
    // screen capture. getDisplayMedia({preferCurrentTab}) takes this tab; otherwise the
    // picker takes the whole screen (the X display the browser runs on, `display`).
    a.push(
      "--auto-accept-this-tab-capture",
      `--auto-select-desktop-capture-source=${real.pick ?? "Entire screen"}`,
      `--window-size=${real.width},${real.height}`,
      "--window-position=0,0",
      "--kiosk",
    );
  } else {
    a.push(
      "--use-fake-ui-for-media-stream",
      // Three fake cameras (camera switching): fake_device_0 and fake_device_2 (MJPEG) draw on
      // different greens; fake_device_1 is a Y16 depth camera WebRTC does not encode.
      "--use-fake-device-for-media-stream=device-count=3",
      // getDisplayMedia picks this page's own tab without a picker.
      "--auto-select-tab-capture-source-by-title=acscalling",
      "--auto-accept-this-tab-capture",
    );
  }
  if (wav) a.push(`--use-file-for-fake-audio-capture=${wav}`);
  return a;
}

const commands = {
  /** Launches browser `name` (microphone: `wav`, looped) and opens `url`; `insecureTls`
   * accepts the service's self-signed certificate (tests of https). With `real`
   * ({ display, width, height, env, pick }) the browser has no fake devices: it runs in a
   * kiosk window on X display `display` (headless when null) with `env` added to its
   * environment (PULSE_SERVER: the sound server's devices); the screen-capture picker takes
   * the source titled `pick` (default: the entire screen). */
  async open({ name, url, wav, insecureTls, real }) {
    if (browsers.has(name)) throw new Error(`browser ${name} is already open`);
    const dir = mkdtempSync(join(tmpdir(), "acs-chromium-"));
    const context = await chromium.launchPersistentContext(dir, {
      executablePath: CHROMIUM,
      headless: !real?.display,
      args: args(wav, real),
      env: real ? { ...process.env, ...(real.env ?? {}), ...(real.display ? { DISPLAY: real.display } : {}) } : undefined,
      viewport: real ? null : undefined,
      ignoreDefaultArgs: ["--mute-audio"],
      permissions: ["microphone", "camera"],
      ignoreHTTPSErrors: insecureTls === true,
    });
    const page = context.pages()[0] ?? (await context.newPage());
    const b = { context, page, dir, console: [] };
    page.on("console", (m) => b.console.push(`${m.type()}: ${m.text()}`));
    page.on("pageerror", (e) => b.console.push(`pageerror: ${e.message}`));
    browsers.set(name, b);
    await page.goto(url);
    return { pid: context.browser()?.process?.()?.pid ?? null };
  },
  /** Evaluates `fn` (the source of an async arrow function) in the page with `arg`. */
  async eval({ name, fn, arg }) {
    const page = get(name).page;
    return page.evaluate(
      async ({ fn, arg }) => {
        const f = (0, eval)(`(${fn})`);
        return await f(arg);
      },
      { fn, arg: arg ?? null },
    );
  },
  async click({ name, selector }) {
    await get(name).page.click(selector, { timeout: 10_000 });
    return null;
  },
  async fill({ name, selector, value }) {
    await get(name).page.fill(selector, value, { timeout: 10_000 });
    return null;
  },
  /** Chooses the option labelled `label` in the <select> `selector` (fires its change). */
  async select({ name, selector, label }) {
    await get(name).page.selectOption(selector, { label }, { timeout: 10_000 });
    return null;
  },
  async text({ name, selector }) {
    return get(name).page.textContent(selector, { timeout: 10_000 });
  },
  /** Waits until `fn(arg)` (sync or async) evaluated in the page is truthy; returns its
   * value. Polls every 20 ms; the last error thrown by `fn`, if any, is in the timeout's message. */
  async waitFor({ name, fn, arg, timeoutMs }) {
    const end = Date.now() + (timeoutMs ?? 20_000);
    let last;
    for (;;) {
      try {
        const v = await commands.eval({ name, fn, arg });
        if (v) return v;
        last = undefined;
      } catch (e) {
        last = e;
      }
      if (Date.now() > end) {
        throw new Error(`timed out after ${timeoutMs} ms${last ? `: ${last.message}` : ""}`);
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  },
  async screenshot({ name, path }) {
    await get(name).page.screenshot({ path, fullPage: true });
    return path;
  },
  /** The page's console so far (for failure messages). */
  async console({ name }) {
    return get(name).console;
  },
  async close({ name }) {
    const b = get(name);
    browsers.delete(name);
    await b.context.close();
    rmSync(b.dir, { recursive: true, force: true });
    return null;
  },
};

function get(name) {
  const b = browsers.get(name);
  if (!b) throw new Error(`no browser named ${name}`);
  return b;
}

async function closeAll() {
  for (const name of [...browsers.keys()]) {
    await commands.close({ name }).catch(() => undefined);
  }
}

const rl = createInterface({ input: process.stdin });
let queue = Promise.resolve();
rl.on("line", (line) => {
  queue = queue.then(async () => {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch {
      process.stdout.write(JSON.stringify({ id: null, ok: false, error: "bad JSON" }) + "\n");
      return;
    }
    try {
      const f = commands[msg.cmd];
      if (!f) throw new Error(`unknown command ${msg.cmd}`);
      const value = await f(msg);
      process.stdout.write(JSON.stringify({ id: msg.id, ok: true, value: value ?? null }) + "\n");
    } catch (e) {
      process.stdout.write(JSON.stringify({ id: msg.id, ok: false, error: String(e?.message ?? e) }) + "\n");
    }
  });
});
rl.on("close", () => {
  queue.then(closeAll).finally(() => process.exit(0));
});
for (const sig of ["SIGTERM", "SIGINT"]) {
  process.on(sig, () => closeAll().finally(() => process.exit(0)));
}
process.stdout.write(JSON.stringify({ id: 0, ok: true, value: "ready" }) + "\n");
