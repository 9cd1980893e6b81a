// The real desktop app, end to end: the debug build (serving the built ui/dist) under Xvfb, driven over WebDriver
// (tauri-driver -> WebKitWebDriver), with its own config dir and three real upstream servers. The steps share one
// app and run in order; each waits for what it expects with a deadline instead of sleeping.
//
//   npm --prefix ui run build && cargo build --workspace --features roundabout-app/custom-protocol
//   dbus-run-session -- xvfb-run -a -s "-screen 0 1440x900x24" node --test --test-concurrency=1 tests/e2e/
//
// UPDATE_SCREENSHOT=1 also writes docs/screenshot.png (the README's picture); every run writes target/e2e/*.png.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, it } from "node:test";
import { launchApp } from "./support/app.mjs";
import { cli, launchSecond, listenOnIpv6Loopback, startRun } from "./support/cli.mjs";
import { eventually } from "./support/eventually.mjs";
import { freePort, get, startUpstream } from "./support/net.mjs";
import { Key } from "./support/webdriver.mjs";

const ROOT = path.resolve(import.meta.dirname, "../..");
const ARTIFACTS = path.join(ROOT, "target/e2e");
const HOST = "e2e.localhost";
// UI updates arrive through the file watcher and a ~20/s event stream: quick, but not synchronous.
const UI_TIMEOUT = 15_000;

/** Replaces `file` the way editors do (write a sibling, then rename over it), so the watcher sees one change. */
async function replaceFile(file, text) {
  const tmp = `${file}.e2e-${process.pid}.tmp`;
  await writeFile(tmp, text);
  await rename(tmp, file);
}

describe("Roundabout desktop app", () => {
  let tmp; // the temp dir holding XDG_CONFIG_HOME
  let configFile;
  let listenerPort;
  let ups = []; // upstreams A, B, C
  let app; // { session, stop }
  let s; // the WebDriver session

  /** `{ host, upstream }` of every log row for HOST, oldest first (the UI lists newest first). */
  async function logRows() {
    const rows = [];
    for (const row of await s.findAll('[data-testid="log-row"]')) {
      const host = await (await row.find(".host")).text();
      if (host !== HOST) continue;
      rows.push({ host, upstream: await (await row.find("td.upstream")).text() });
    }
    return rows.reverse();
  }

  // WebKitWebDriver's Get Element Text answers "" for a block that clips its text (overflow: hidden with an
  // ellipsis, as the sidebar's names are) although it is drawn; the DOM's innerText is layout-aware and does not.
  const shownText = (el) => el.property("innerText");

  const label = (up) => `127.0.0.1:${up.port}`;
  const bodies = async (n) => {
    const out = [];
    for (let i = 0; i < n; i++) {
      const res = await get(listenerPort, HOST);
      assert.equal(res.status, 200, `request ${i + 1}: ${res.body}`);
      out.push(res.body);
    }
    return out;
  };

  before(async () => {
    tmp = await mkdtemp(path.join(tmpdir(), "roundabout-e2e-"));
    configFile = path.join(tmp, "roundabout", "config.json");
    listenerPort = await freePort();
    await mkdir(path.dirname(configFile), { recursive: true });
    // No demo: the app must start from exactly this file, with nothing routed yet.
    const config = { version: 1, listeners: [{ name: "web", bind: `127.0.0.1:${listenerPort}` }], targets: [] };
    await writeFile(configFile, JSON.stringify(config, null, 2));
    ups = await Promise.all(["A", "B", "C"].map(startUpstream));
    app = await launchApp({ configHome: tmp });
    s = app.session;
    // The README picture is taken at about this size; not every driver supports resizing, and that is fine.
    await s.setWindowRect({ x: 0, y: 0, width: 1400, height: 900 }).catch(() => {});
  });

  after(async () => {
    // Cleanup runs whatever failed: a last picture for debugging, then the app, the upstreams and the temp dir.
    let left = [];
    try {
      if (s) {
        await mkdir(ARTIFACTS, { recursive: true });
        await s.nextFrames().catch(() => {});
        await s.screenshot().then((png) => writeFile(path.join(ARTIFACTS, "last.png"), png)).catch(() => {});
      }
      if (app) left = await app.stop();
    } finally {
      await Promise.all(ups.map((u) => u.close()));
      if (tmp) await rm(tmp, { recursive: true, force: true });
    }
    // The app itself must exit with its session. WebKit's helpers outliving it is WebKit's business: say so only.
    const appLeft = left.filter((p) => p.endsWith(" roundabout-app"));
    if (left.length > appLeft.length) process.stderr.write(`# killed lingering WebKit helpers: ${left.join(", ")}\n`);
    assert.deepEqual(appLeft, [], "the app was still running after its session ended and tauri-driver stopped (killed now)");
  });

  it("starts with the configured listener running", async () => {
    await eventually(async () => {
      const li = await s.find('li.listener[data-state="running"]');
      const text = await shownText(li);
      assert.match(text, /\bweb\b/);
      assert.ok(text.includes(`127.0.0.1:${listenerPort}`), `listener shows its address: ${text}`);
    }, { timeout: 30_000, what: 'listener "web" shown running' });
  });

  it("creates a Target by clicking and typing", async () => {
    await (await s.find('[data-testid="new-target"]')).click();
    await (await s.find('[data-testid="new-target-name"]')).sendKeys("e2e");
    await (await s.find('[data-testid="new-target-host"]')).sendKeys(HOST);
    await (await s.find('[data-testid="new-target-submit"]')).click();
    // Created and selected: its editor is open.
    await eventually(() => s.find('article[aria-label="Target e2e"]'), { timeout: UI_TIMEOUT, what: "editor of e2e" });

    for (const [n, up] of ups.entries()) {
      const input = await s.find('[data-testid="add-upstream"]');
      await input.sendKeys(up.url + Key.Enter);
      // Saved (a row more) and the field emptied, before the next URL is typed into it.
      await eventually(async () => {
        assert.equal((await s.findAll("article tr.upstream")).length, n + 1);
        assert.equal(await (await s.find('[data-testid="add-upstream"]')).property("value"), "");
      }, { timeout: UI_TIMEOUT, what: `upstream ${up.name} added` });
    }
    await eventually(async () => {
      const sidebar = await s.find('nav[aria-label="Listeners and targets"]');
      assert.match(await shownText(sidebar), /\be2e\s+e2e\.localhost\b/);
    }, { timeout: UI_TIMEOUT, what: "e2e in the sidebar" });
  });

  it("spreads requests round-robin over the three upstreams", async () => {
    assert.deepEqual(await bodies(6), ["A", "B", "C", "A", "B", "C"].map((n) => `served by ${n}`));
    assert.deepEqual(ups.map((u) => u.hits), [2, 2, 2]);
  });

  it("shows every request in the live log and the distribution", async () => {
    await eventually(async () => {
      const rows = await logRows();
      assert.equal(rows.length, 6, `rows for ${HOST}: ${JSON.stringify(rows)}`);
      assert.deepEqual(rows.map((r) => r.upstream), [...ups, ...ups].map(label));
    }, { timeout: UI_TIMEOUT, what: "6 log rows rotating over A, B, C" });

    await eventually(async () => {
      for (const up of ups) {
        const bar = await s.find(`[data-upstream="${label(up)}"]`);
        assert.equal(await (await bar.find(".req")).text(), "2", `requests of ${up.name}`);
        assert.equal(await (await bar.find(".pct")).text(), "33%", `share of ${up.name}`);
      }
    }, { timeout: UI_TIMEOUT, what: "distribution of 2 (33%) per upstream" });
  });

  it("saved the Target to the config file", async () => {
    const config = JSON.parse(await readFile(configFile, "utf8"));
    const target = config.targets.find((t) => t.name === "e2e");
    assert.ok(target, `no target e2e in ${JSON.stringify(config.targets)}`);
    assert.equal(target.match.host, HOST);
    assert.deepEqual(target.upstreams.map((u) => u.url), ups.map((u) => u.url));
    assert.ok(target.upstreams.every((u) => u.enabled !== false), "all upstreams enabled");
    assert.deepEqual(config.listeners.map((l) => l.name), ["web"], "the listener is kept");
  });

  it("looks right (screenshot)", async () => {
    // At 1400x900 the editor does not fit above the log. Show what this app is about: the Upstreams with their
    // counters and the distribution above a taller log (the splitter's own keys), nothing cut in half. Done before
    // the requests below, so the page has long been repainted with it when the picture is taken.
    const splitter = await s.find('[role="separator"][aria-label="Resize the live log"]');
    await splitter.sendKeys(Key.ArrowUp.repeat(3));
    await s.execute(`
      // Bottom of the Distribution at the bottom of the pane, so it is whole whatever the editor above it holds.
      const main = document.querySelector("main"), dist = document.querySelector('section[aria-labelledby="dist-h"]');
      main.scrollTop += dist.getBoundingClientRect().bottom - main.getBoundingClientRect().bottom + 12;
      document.activeElement?.blur();
    `);
    // A fuller log and distribution for the picture; the counts checked above are done with.
    await bodies(9);
    await eventually(async () => {
      assert.equal((await logRows()).length, 15);
      const bar = await s.find(`[data-upstream="${label(ups[0])}"]`);
      assert.equal(await (await bar.find(".req")).text(), "5");
    }, { timeout: UI_TIMEOUT, what: "15 rows and 5 requests per upstream" });
    const inView = await s.execute(`
      const main = document.querySelector("main").getBoundingClientRect();
      const dist = document.querySelector('section[aria-labelledby="dist-h"]').getBoundingClientRect();
      return dist.bottom <= main.bottom && dist.top >= main.top;`);
    assert.ok(inView, "the distribution is fully in view");
    await s.nextFrames();
    const png = await s.screenshot();
    assert.equal(png.subarray(1, 4).toString(), "PNG", "the driver sent a PNG");
    const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)];
    assert.ok(width >= 900 && height >= 600, `screenshot is ${width}x${height}`);
    await mkdir(ARTIFACTS, { recursive: true });
    await writeFile(path.join(ARTIFACTS, "screenshot.png"), png);
    if (process.env.UPDATE_SCREENSHOT === "1") {
      await mkdir(path.join(ROOT, "docs"), { recursive: true });
      await writeFile(path.join(ROOT, "docs/screenshot.png"), png);
    }
  });

  it("shows the local CA and where it is trusted (the backend's HTTPS commands are allowed)", async () => {
    const toggle = await s.find('button[aria-controls="https-body"]');
    if ((await toggle.attribute("aria-expanded")) !== "true") await toggle.click();
    await eventually(async () => {
      const ca = await shownText(await s.find(".ca .path"));
      assert.ok(ca.startsWith(tmp) && ca.endsWith("roundabout-ca.pem"), `the CA in the test's data dir: ${ca}`);
      const stores = await s.findAll('ul[aria-label="Trust stores"] li.store');
      const texts = await Promise.all(stores.map(shownText));
      const chromium = texts.find((t) => t.includes("Chromium, Chrome"));
      assert.ok(chromium?.includes(tmp), `the NSS database in the test's home: ${texts.join(" | ")}`);
    }, { timeout: UI_TIMEOUT, what: "the HTTPS panel's CA path and stores" });
  });

  it("owns its config: serve on the same file is refused, status reaches the app", async () => {
    const env = { configHome: tmp };
    const serve = await cli(["serve", "--config", configFile], env);
    assert.notEqual(serve.code, 0, "a second instance on the same config must not start");
    assert.ok(serve.stderr.includes(`Roundabout is already running for ${configFile} (the desktop app, pid`), serve.stderr);
    assert.match(serve.stderr, /pid \d+\); try roundabout status/);
    const status = await cli(["status", "--json", "--config", configFile], env);
    assert.equal(status.code, 0, status.stderr);
    const answer = JSON.parse(status.stdout);
    assert.equal(answer.running, true);
    assert.equal(answer.instance.kind, "app");
    assert.ok(answer.status.targets.some((t) => t.name === "e2e"), status.stdout);
  });

  it("a second launch hands over to the running app and exits", async () => {
    assert.ok(process.env.DBUS_SESSION_BUS_ADDRESS, "run under dbus-run-session (scripts/test does): the handover uses D-Bus");
    const second = await launchSecond({ configHome: tmp });
    assert.equal(second.code, 0, `the second app exited with ${second.code}: ${second.stderr}`);
    assert.equal((await get(listenerPort, HOST)).status, 200, "the first app still serves");
    await s.find('article[aria-label="Target e2e"]');
  });

  it("shows a dev server started with roundabout run while it runs, and forgets it when it stops", async () => {
    const run = startRun({ configHome: tmp, configFile, name: "joined", body: "served by joined" });
    try {
      await eventually(async () => {
        const res = await get(listenerPort, "joined.localhost");
        assert.equal(res.body, "served by joined");
      }, { timeout: UI_TIMEOUT, what: "joined.localhost served by the run" });
      await eventually(async () => {
        const sidebar = await shownText(await s.find('nav[aria-label="Listeners and targets"]'));
        assert.match(sidebar, /joined\s+live\s+joined\.localhost/);
      }, { timeout: UI_TIMEOUT, what: "the live Target in the sidebar" });
    } finally {
      await run.interrupt();
    }
    await eventually(async () => {
      const sidebar = await shownText(await s.find('nav[aria-label="Listeners and targets"]'));
      assert.ok(!sidebar.includes("joined.localhost"), sidebar);
    }, { timeout: UI_TIMEOUT, what: "the live Target gone" });
    assert.ok(!(await readFile(configFile, "utf8")).includes("joined"), "a live Upstream is never saved");
  });

  it("finds a dev server on ::1 and routes to it in one click", async () => {
    const server = await listenOnIpv6Loopback("served over ::1");
    try {
      const toggle = await s.find('button[aria-controls="dev-body"]');
      if ((await toggle.attribute("aria-expanded")) !== "true") await toggle.click();
      const entry = await eventually(() => s.find(`li.server[aria-label="Dev server [::1]:${server.port}"]`), {
        timeout: UI_TIMEOUT,
        what: `[::1]:${server.port} listed`,
      });
      await (await entry.find("button.small")).click();
      const config = await eventually(async () => {
        const saved = JSON.parse(await readFile(configFile, "utf8"));
        const created = saved.targets.find((t) => t.upstreams.some((u) => u.url === `http://[::1]:${server.port}`));
        assert.ok(created, JSON.stringify(saved.targets));
        return created;
      }, { timeout: UI_TIMEOUT, what: "the Target saved" });
      const res = await get(listenerPort, config.match.host);
      assert.equal(res.body, "served over ::1");
      // Back to the e2e Target for the steps below.
      await s.execute(`[...document.querySelectorAll("li.item button.pick")]
        .find((b) => b.querySelector(".name")?.textContent.trim() === "e2e")?.click();`);
      await eventually(() => s.find('article[aria-label="Target e2e"]'), { timeout: UI_TIMEOUT, what: "e2e selected" });
    } finally {
      await server.close();
    }
  });

  it("follows an edit of the file made elsewhere", async () => {
    const config = JSON.parse(await readFile(configFile, "utf8"));
    const target = config.targets.find((t) => t.name === "e2e");
    target.name = "e2e-edited";
    target.upstreams[2].enabled = false;
    await replaceFile(configFile, JSON.stringify(config, null, 2));

    await eventually(async () => {
      await s.find('article[aria-label="Target e2e-edited"]');
      const toggle = await s.find(`button[role="switch"][aria-label="Upstream ${ups[2].url} on"]`);
      assert.equal(await toggle.attribute("aria-checked"), "false", "C shown disabled");
    }, { timeout: UI_TIMEOUT, what: "the UI showing e2e-edited with C off" });

    const before = ups.map((u) => u.hits);
    const got = await bodies(4);
    assert.ok(!got.includes("served by C"), `C was skipped: ${got}`);
    assert.deepEqual(got.toSorted(), ["served by A", "served by A", "served by B", "served by B"]);
    assert.equal(ups[2].hits, before[2], "C was never contacted");
  });

  it("rejects a broken file and keeps serving the last good config", async () => {
    await replaceFile(configFile, '{ "version": 1, "listeners": [ this is not json');
    await eventually(async () => {
      const banner = await s.find('[role="alert"][aria-label="Config edit rejected"]');
      assert.match(await banner.text(), /was not applied/);
      assert.ok((await banner.text()).includes(configFile), "the banner names the file");
    }, { timeout: UI_TIMEOUT, what: "the rejected-edit banner" });

    // Still routed by the last good config: e2e.localhost over A and B, C still off.
    const got = await bodies(2);
    assert.deepEqual(got.toSorted(), ["served by A", "served by B"]);
    // The app's own view still has the target from the last good config, and never rewrote the broken file.
    await s.find('article[aria-label="Target e2e-edited"]');
    assert.match(await readFile(configFile, "utf8"), /this is not json/);
  });

  // Last: it closes the window.
  it("keeps serving from the tray when the window closes, with the webview gone, and opens again on launch", async () => {
    const webProcesses = async () => (await app.processes()).filter((p) => p.endsWith(" WebKitWebProces"));
    assert.ok((await webProcesses()).length > 0, "a web process draws the open window");
    // As the title bar's close button does (WebDriver's "close window" would end the session and the app).
    const closed = spawnSync("/usr/bin/python3", [path.join(import.meta.dirname, "support/close-window.py"), "Roundabout"], {
      encoding: "utf8",
    });
    assert.equal(closed.status, 0, `no window titled Roundabout to close: ${closed.stderr}`);
    await eventually(async () => {
      assert.deepEqual(await webProcesses(), [], "the webview is destroyed with its window");
    }, { timeout: UI_TIMEOUT, what: "the web process gone" });
    const alive = (await app.processes()).filter((p) => p.endsWith(" roundabout-app"));
    assert.equal(alive.length, 1, `the app still runs: ${alive}`);
    assert.equal((await get(listenerPort, HOST)).status, 200, "and still serves");
    const status = await cli(["status", "--json", "--config", configFile], { configHome: tmp });
    assert.equal(JSON.parse(status.stdout).instance.kind, "app", status.stderr);

    const second = await launchSecond({ configHome: tmp });
    assert.equal(second.code, 0, second.stderr);
    await eventually(async () => {
      assert.ok((await webProcesses()).length > 0, "a window again");
    }, { timeout: UI_TIMEOUT, what: "the window reopened by the second launch" });
  });
});
