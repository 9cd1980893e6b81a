// HTTPS in a real browser: Debian's Chromium, trusting Roundabout's local CA only through a temporary NSS database
// in its own temporary home (put there by `roundabout trust --nss-db`), opens https://app.localhost:PORT/ through
// `roundabout serve` with no certificate error, over HTTP/2, sees round-robin between two upstreams, and opens a
// WebSocket through the same origin that reaches an upstream and echoes. Nothing of the machine's own trust stores
// is read or changed.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { createServer } from "node:http";
import { createHash } from "node:crypto";
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const ROOT = resolve(fileURLToPath(import.meta.url), "../../..");
const BINARY = process.env.ROUNDABOUT_BIN ?? join(ROOT, "target/debug/roundabout");
const { chromium } = createRequire(join(ROOT, "ui/package.json"))("playwright-core");
const DEADLINE_MS = 20_000;

let home, serve, upstreams = [], browser, port;

/** An upstream that answers pages with its name and echoes WebSocket messages (RFC 6455, text frames). */
function upstream(name) {
  const server = createServer((req, res) => {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(`<!doctype html><title>${name}</title><p id="who">${name}</p>`);
  });
  server.on("upgrade", (req, socket) => {
    const accept = createHash("sha1").update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    let pending = Buffer.alloc(0);
    socket.on("data", (chunk) => {
      pending = Buffer.concat([pending, chunk]);
      while (pending.length >= 2) {
        const opcode = pending[0] & 0x0f;
        let length = pending[1] & 0x7f, offset = 2;
        if (length === 126) { length = pending.readUInt16BE(2); offset = 4; }
        const masked = (pending[1] & 0x80) !== 0;
        const start = offset + (masked ? 4 : 0);
        if (pending.length < start + length) return;
        const mask = pending.subarray(offset, offset + 4);
        const payload = Buffer.from(pending.subarray(start, start + length));
        if (masked) for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i % 4];
        pending = pending.subarray(start + length);
        if (opcode === 8) return socket.end();
        const text = Buffer.from(`${name}: ${payload}`);
        socket.write(Buffer.concat([Buffer.from([0x81, text.length]), text]));
      }
    });
  });
  return new Promise((ok) => server.listen(0, "127.0.0.1", () => ok(server)));
}

/** Resolves with the first line of `stream` matching `pattern`, or fails after the deadline. */
function line(stream, pattern) {
  return new Promise((ok, fail) => {
    let seen = "";
    const timer = setTimeout(() => fail(new Error(`no line matching ${pattern} in:\n${seen}`)), DEADLINE_MS);
    stream.on("data", (chunk) => {
      seen += chunk;
      const match = seen.match(pattern);
      if (match) { clearTimeout(timer); ok(match); }
    });
  });
}

before(async () => {
  home = mkdtempSync(join(tmpdir(), "roundabout-https-"));
  const env = { ...process.env, HOME: home, XDG_CONFIG_HOME: join(home, "config"), XDG_DATA_HOME: join(home, "data") };
  upstreams = [await upstream("alpha"), await upstream("beta")];
  const urls = upstreams.map((u) => ({ url: `http://127.0.0.1:${u.address().port}` }));
  const config = join(home, "roundabout.json");
  writeFileSync(config, JSON.stringify({
    version: 1,
    listeners: [{ name: "secure", bind: "127.0.0.1:0", tls: true }],
    targets: [{ name: "app", match: { host: "app.localhost" }, upstreams: urls }],
  }));
  // The CA is trusted in the browser's own, temporary NSS database and nowhere else.
  const nssdb = join(home, ".pki/nssdb");
  mkdirSync(nssdb, { recursive: true });
  execFileSync(BINARY, ["trust", "--nss-db", nssdb], { env });
  serve = spawn(BINARY, ["serve", "--config", config], { env, stdio: ["ignore", "ignore", "pipe"] });
  port = Number((await line(serve.stderr, /listener secure: running on 127\.0\.0\.1:(\d+)/))[1]);
  // Playwright gives the browser a fresh, temporary profile; its trust comes from $HOME/.pki/nssdb, in `home`.
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    env,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});

after(async () => {
  await browser?.close();
  serve?.kill("SIGINT");
  for (const u of upstreams) u.close();
  if (home) rmSync(home, { recursive: true, force: true });
});

test("Chromium opens https://app.localhost over HTTP/2 with no certificate error, round-robin across upstreams", async () => {
  const page = await (await browser.newContext()).newPage();
  const response = await page.goto(`https://app.localhost:${port}/`, { timeout: DEADLINE_MS });
  assert.equal(response.status(), 200);
  assert.match(await page.textContent("#who"), /^(alpha|beta)$/);
  const protocol = await page.evaluate(() => performance.getEntriesByType("navigation")[0].nextHopProtocol);
  assert.equal(protocol, "h2", "the page came over HTTP/2");
  // Requests one after another from the page (a navigation also asks for /favicon.ico, which takes a turn too).
  const seen = await page.evaluate(async () => {
    const names = [];
    for (let i = 0; i < 6; i++) {
      const html = await (await fetch(`/page/${i}`)).text();
      names.push(new DOMParser().parseFromString(html, "text/html").querySelector("#who").textContent);
    }
    return names;
  });
  assert.equal(new Set([seen[0], seen[2], seen[4]]).size, 1, `round-robin: ${seen.join(", ")}`);
  assert.equal(new Set([seen[1], seen[3], seen[5]]).size, 1, `round-robin: ${seen.join(", ")}`);
  assert.notEqual(seen[0], seen[1], `round-robin: ${seen.join(", ")}`);
  const security = await page.evaluate(() => window.isSecureContext);
  assert.equal(security, true, "a secure context: Secure cookies and the like work");
});

test("a WebSocket from the https page reaches an upstream and echoes", async () => {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`https://app.localhost:${port}/`, { timeout: DEADLINE_MS });
  const echo = await page.evaluate((url) => new Promise((ok, fail) => {
    const ws = new WebSocket(url);
    ws.onopen = () => ws.send("hello");
    ws.onmessage = (m) => { ok(m.data); ws.close(); };
    ws.onerror = () => fail(new Error("the WebSocket failed"));
  }), `wss://app.localhost:${port}/hmr`);
  assert.match(echo, /^(alpha|beta): hello$/);
});
