// The UI in WebKitGTK, the engine the desktop app draws with: MiniBrowser under WebKitWebDriver (run the caller
// under xvfb-run), loading dist/ from a local server that puts the mock backend's script before the app's own.
// WebDriver has no init scripts, so the page itself carries the mock (and its options) as two classic scripts.
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { bundleMock, DIST, serve } from "../support/harness.mjs";

const DRIVER = "/usr/bin/WebKitWebDriver";
const MINIBROWSER = "/usr/lib/x86_64-linux-gnu/webkit2gtk-4.1/MiniBrowser";

const freePort = () => new Promise((ok) => {
  const s = createServer().listen(0, "127.0.0.1", () => {
    const { port } = s.address();
    s.close(() => ok(port));
  });
});

async function wd(base, method, path, body) {
  const res = await fetch(base + path, {
    method, headers: { "content-type": "application/json" }, body: body && JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${method} ${path}: ${JSON.stringify(json.value)}`);
  return json.value;
}

/**
 * Opens the app built in `dist` with the mock `options` in a `width`×`height` MiniBrowser window; resolves to
 * `{ run, close }`.
 */
export async function openWebKit(options, { width, height, dist = DIST }) {
  const server = await serve(dist, {
    extra: { "/__options.js": `window.__roundaboutOptions = ${JSON.stringify(options)};`, "/__mock.js": await bundleMock() },
    head: '<script src="/__options.js"></script><script src="/__mock.js"></script>',
  });
  const port = await freePort();
  const driver = spawn(DRIVER, [`--port=${port}`], { stdio: "ignore" });
  const base = `http://127.0.0.1:${port}`;
  const close = async (session) => {
    if (session) await wd(base, "DELETE", `/session/${session}`).catch(() => {});
    driver.kill("SIGTERM");
    await new Promise((ok) => server.close(ok));
  };
  let session = null;
  try {
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await fetch(`${base}/status`);
        break;
      } catch (e) {
        if (Date.now() > deadline) throw e;
        await new Promise((ok) => setTimeout(ok, 100));
      }
    }
    ({ sessionId: session } = await wd(base, "POST", "/session", {
      capabilities: { alwaysMatch: { "webkitgtk:browserOptions": { binary: MINIBROWSER, args: ["--automation"] } } },
    }));
    const s = `/session/${session}`;
    await wd(base, "POST", `${s}/url`, { url: `http://127.0.0.1:${server.address().port}/` });
    await wd(base, "POST", `${s}/window/rect`, { x: 0, y: 0, width, height });
    await wd(base, "POST", `${s}/timeouts`, { script: 120_000 });
    /** Runs `fn(arg)` (self-contained, may return a promise) in the page; resolves to its JSON result. */
    const run = (fn, arg) => wd(base, "POST", `${s}/execute/async`, {
      script: `const done = arguments[1]; Promise.resolve((${fn})(arguments[0])).then(done, (e) => done({ error: String(e) }));`,
      args: [arg ?? null],
    });
    return { run, close: () => close(session) };
  } catch (e) {
    await close(session);
    throw e;
  }
}
