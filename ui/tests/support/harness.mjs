// Test harness: serves the built app (dist/) from a static server on port 0 under a strict CSP, bundles the mock
// backend (src/mock/install.ts, which calls @tauri-apps/api/mocks' mockIPC) into one script, and opens the app in
// Debian's Chromium through playwright-core with that script injected before any of the app's own scripts.
import { createServer } from "node:http";
import { readFile } from "node:fs/promises";
import { extname, join, normalize, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";
import { chromium } from "playwright-core";

const UI = resolve(fileURLToPath(import.meta.url), "../../..");
export const DIST = join(UI, "dist");
export const ARTIFACTS = join(UI, "tests", "artifacts");

/** The production policy, stricter than the shell's (no 'unsafe-inline' for styles either). */
export const CSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'";

const TYPES = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png" };

/**
 * Serves `dist` on port 0 under the CSP. `extra` maps paths to scripts served besides dist's files, and `head` goes
 * into index.html before its first script: how the WebKit perf run, which has no init scripts, carries the mock.
 */
export function serve(dist, { extra = {}, head = "" } = {}) {
  const server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    const path = normalize(url.pathname === "/" ? "/index.html" : url.pathname);
    const send = (type, body) => {
      res.writeHead(200, { "content-type": type, "content-security-policy": CSP });
      res.end(body);
    };
    if (Object.hasOwn(extra, path)) return send("text/javascript", extra[path]);
    try {
      let body = await readFile(join(dist, path));
      if (head && path === "/index.html") body = body.toString().replace("<script", `${head}<script`);
      send(TYPES[extname(path)] ?? "application/octet-stream", body);
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

/** src/mock/install.ts as one classic script (IIFE), to run before the app's own scripts. */
export async function bundleMock() {
  const out = await build({
    configFile: false,
    root: UI,
    logLevel: "silent",
    build: {
      write: false,
      minify: false,
      lib: { entry: join(UI, "src/mock/install.ts"), formats: ["iife"], name: "RoundaboutMock" },
    },
  });
  const outputs = Array.isArray(out) ? out : [out];
  const chunk = outputs.flatMap((o) => o.output).find((c) => c.type === "chunk");
  if (!chunk) throw new Error("mock bundle produced no chunk");
  return chunk.code;
}

/**
 * Starts the server (of `dist`: ui/dist unless the perf script compares another build) and the browser once per
 * test file. Playwright launches Chromium with a fresh temporary profile of its own, and every open() below gets a
 * new, empty browser context.
 */
export async function start({ dist = DIST } = {}) {
  const [server, mockCode] = await Promise.all([serve(dist), bundleMock()]);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: [
      "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ],
  });
  const base = `http://127.0.0.1:${server.address().port}/`;

  /**
   * Opens the app in a fresh context with the mock backend configured by `options` (see src/mock/backend.ts).
   * Returns the page plus a list of problems (console errors, page errors, CSP violations, dialogs) seen so far.
   */
  async function open(options = {}, contextOptions = {}) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, ...contextOptions });
    context.setDefaultTimeout(5000);
    const page = await context.newPage();
    const problems = [];
    page.on("console", (m) => { if (m.type() === "error" || m.type() === "warning") problems.push(`console ${m.type()}: ${m.text()}`); });
    page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    page.on("dialog", (d) => { problems.push(`dialog: ${d.message()}`); void d.dismiss(); });
    await page.addInitScript((opts) => {
      window.__roundaboutOptions = opts;
      window.__problems = [];
      document.addEventListener("securitypolicyviolation", (e) => window.__problems.push(`CSP: ${e.violatedDirective} ${e.blockedURI}`));
    }, options);
    await page.addInitScript({ content: mockCode });
    await page.goto(base);
    await page.getByRole("heading", { name: "Listeners" }).waitFor();
    const allProblems = async () => [...problems, ...(await page.evaluate(() => window.__problems))];
    return { page, context, problems: allProblems };
  }

  async function stop() {
    await browser.close();
    await new Promise((ok) => server.close(ok));
  }

  return { open, stop };
}
