// The UI in Chromium against the mock backend (see tests/support/harness.mjs for how IPC is mocked).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { start } from "./support/harness.mjs";
import { calls, eventually, lastSaved, pushRequests, saved, web } from "./support/util.mjs";

let env;
before(async () => { env = await start(); });
after(async () => { await env?.stop(); });

/** Opens the app, runs `body`, then checks nothing went wrong in the page (errors, CSP violations, dialogs). */
async function withApp(options, body, contextOptions) {
  const { page, context, problems } = await env.open(options, contextOptions);
  try {
    await body(page);
    assert.deepEqual(await problems(), []);
  } finally {
    await context.close();
  }
}

describe("targets and upstreams", () => {
  it("creates a target by clicking, adds two upstreams with Enter, and disables one", () =>
    withApp({ demo: false }, async (page) => {
      await page.getByText("Create a Target to route a").first().waitFor();
      await page.getByRole("button", { name: "+ New target" }).click();
      await page.getByLabel("Name").fill("web");
      await page.getByLabel("Host").fill("web.localhost");
      await page.getByRole("button", { name: "Create target" }).click();
      await eventually(async () => {
        const c = await lastSaved(page);
        assert.deepEqual(c.targets, [{ name: "web", match: { host: "web.localhost" }, upstreams: [] }]);
      });

      const add = page.getByLabel("Add upstream URL");
      await add.fill("http://127.0.0.1:3001");
      await add.press("Enter");
      await eventually(async () => assert.equal(await add.inputValue(), ""));
      await add.fill("http://127.0.0.1:3002");
      await add.press("Enter");
      await eventually(async () => {
        const c = await lastSaved(page);
        assert.deepEqual(c.targets[0].upstreams.map((u) => u.url), ["http://127.0.0.1:3001", "http://127.0.0.1:3002"]);
      });

      await page.getByRole("switch", { name: "Upstream http://127.0.0.1:3002 on" }).click();
      await eventually(async () => {
        const c = await lastSaved(page);
        assert.equal(c.targets[0].upstreams[1].enabled, false);
        assert.notEqual(c.targets[0].upstreams[0].enabled, false);
      });
      assert.equal(await page.getByRole("switch", { name: "Upstream http://127.0.0.1:3002 on" }).getAttribute("aria-checked"), "false");
    }));

  it("marks a bad upstream URL inline with the engine's message and does not save it", () =>
    withApp({ config: web(["http://127.0.0.1:3001"]) }, async (page) => {
      const add = page.getByLabel("Add upstream URL");
      await add.fill("ftp://files.localhost");
      await add.press("Enter");
      const message = page.getByText('scheme "ftp" is not supported; use http or https');
      await message.waitFor();
      assert.equal(await add.getAttribute("aria-invalid"), "true");
      assert.equal(await add.inputValue(), "ftp://files.localhost", "the draft stays in the field");
      const sent = (await calls(page)).filter((c) => c.cmd === "save_config");
      assert.ok(sent.every((c) => !JSON.stringify(c.args).includes("ftp://")), "an invalid config was sent to save_config");
      assert.equal((await saved(page)).length, 0);

      // Fixing the draft clears the mark; Enter then saves it.
      await add.fill("http://127.0.0.1:3002");
      await eventually(async () => assert.equal(await message.count(), 0));
      await add.press("Enter");
      await eventually(async () => assert.equal((await lastSaved(page)).targets[0].upstreams.length, 2));
    }));

  it("validates a field as it is typed and keeps the draft without saving", () =>
    withApp({ config: web() }, async (page) => {
      const host = page.getByLabel("Host", { exact: true });
      await host.fill("not a host!");
      await page.getByText('"not a host!" is not a host name').waitFor();
      assert.equal(await host.getAttribute("aria-invalid"), "true");
      await host.press("Enter");
      await host.blur();
      assert.equal(await host.inputValue(), "not a host!");
      assert.equal((await saved(page)).length, 0);
      await host.fill("*.web.localhost");
      await host.press("Enter");
      await eventually(async () => assert.equal((await lastSaved(page)).targets[0].match.host, "*.web.localhost"));
      assert.equal(await host.getAttribute("aria-invalid"), "false");
    }));

  it("removes an upstream with the Delete key on its row and reorders targets with the keyboard", () =>
    withApp({ config: { ...web(), targets: [...web().targets, { name: "api", match: { host: "api.localhost" }, upstreams: [] }] } }, async (page) => {
      await page.getByRole("row", { name: "Upstream http://127.0.0.1:3002" }).focus();
      await page.keyboard.press("Delete");
      await eventually(async () =>
        assert.deepEqual((await lastSaved(page)).targets[0].upstreams.map((u) => u.url), ["http://127.0.0.1:3001", "http://127.0.0.1:3003"]));

      await page.getByRole("button", { name: "Move api up" }).click();
      await eventually(async () => assert.deepEqual((await lastSaved(page)).targets.map((t) => t.name), ["api", "web"]));
      // The selection follows the moved Target.
      assert.equal(await page.getByLabel("Target name").inputValue(), "web");

      await page.getByRole("button", { name: "Delete target api" }).click();
      await page.getByRole("button", { name: "Delete", exact: true }).click();
      await eventually(async () => assert.deepEqual((await lastSaved(page)).targets.map((t) => t.name), ["web"]));
    }));

  it("shows the demo read-only with how to try it, and removes it", () =>
    withApp({ demo: true }, async (page) => {
      await page.getByText("Open http://demo.localhost:8800 and watch the log").waitFor();
      assert.equal(await page.getByLabel("Add upstream URL").count(), 0, "the demo is read-only");
      await page.getByRole("button", { name: "Remove demo" }).click();
      await eventually(async () => assert.equal((await lastSaved(page)).demo, false));
      await page.getByText("Create a Target to route a").first().waitFor();
      assert.equal(await page.getByText("built-in").count(), 0);
    }));
});

describe("live log and distribution", () => {
  const at = Date.now();
  const traffic = [
    { target: "web", host: "web.localhost", path: "/", upstream: "127.0.0.1:3001", status: 200, at_ms: at },
    { target: "web", host: "web.localhost", path: "/api/x", upstream: "127.0.0.1:3001", status: 201, at_ms: at + 1 },
    { target: "web", host: "web.localhost", path: "/<img src=x onerror=alert(1)>", upstream: "127.0.0.1:3001", status: 404, at_ms: at + 2 },
    {
      target: "web", host: "web.localhost", path: "/retry", upstream: "127.0.0.1:3003", status: 200, at_ms: at + 3,
      failed: [{ upstream: "127.0.0.1:3002", error: "connection refused" }],
    },
    { target: null, host: "nope.localhost", path: "/", upstream: null, status: 404, error: "no target matched nope.localhost", at_ms: at + 4 },
  ];

  it("renders request rows as text, failed attempts with their cause, and Roundabout's own answers distinctly", () =>
    withApp({ config: web() }, async (page) => {
      await pushRequests(page, traffic);
      const rows = page.locator(".log tbody tr");
      await eventually(async () => assert.equal(await rows.count(), 5));
      const xss = rows.filter({ hasText: "<img src=x onerror=alert(1)>" });
      assert.equal(await xss.count(), 1, "the path is shown literally");
      assert.equal(await page.locator(".log img").count(), 0, "no element was created from request data");
      const retried = rows.filter({ hasText: "/retry" });
      assert.match(await retried.innerText(), /127\.0\.0\.1:3002 connection refused\s*→\s*127\.0\.0\.1:3003/);
      const own = rows.filter({ hasText: "no target matched" });
      assert.match(await own.getAttribute("class"), /\bown\b/);
      assert.doesNotMatch(await retried.getAttribute("class"), /\bown\b/);
    }));

  it("updates the distribution bars, shares and requests/s from the counters", () =>
    withApp({ config: web() }, async (page) => {
      await pushRequests(page, traffic);
      const bar = (label) => page.locator(`.bar-row[data-upstream="${label}"]`);
      await eventually(async () => {
        assert.match(await bar("127.0.0.1:3001").innerText(), /3\s*·\s*75%/);
        assert.match(await bar("127.0.0.1:3003").innerText(), /1\s*·\s*25%/);
        assert.match(await bar("127.0.0.1:3002").innerText(), /0\s*·\s*0%/);
      });
      const width = await bar("127.0.0.1:3001").locator(".fill").evaluate((e) => e.style.width);
      assert.equal(width, "75%");
      assert.match(await page.locator(".rate .stats").innerText(), /4 total/);
      const share = page.getByRole("row", { name: "Upstream http://127.0.0.1:3001" }).locator(".share");
      assert.equal(await share.innerText(), "75%");
    }));

  it("confirms each digest once it is drawn, so the backend never queues more than the page can show", () =>
    withApp({ config: web() }, async (page) => {
      const shown = async () => (await calls(page)).filter((c) => c.cmd === "digest_shown").length;
      const before = await shown();
      await pushRequests(page, traffic.slice(0, 2));
      await page.locator(".log tbody tr").nth(1).waitFor();
      await eventually(async () => assert.equal(await shown(), before + 1, "one confirmation per digest drawn"));
    }));

  it("counts requests whose rows were dropped (Digest.missed) in the rates, not in the log", () =>
    withApp({ config: web() }, async (page) => {
      await pushRequests(page, traffic.slice(0, 2));
      const dropped = Array.from({ length: 10 }, () => ({ target: "web", upstream: "127.0.0.1:3002" }));
      await pushRequests(page, dropped, { drop: true });
      await page.getByText("10 not shown").waitFor();
      assert.equal(await page.locator(".log tbody tr").count(), 2);
      await eventually(async () => assert.match(await page.locator(".rate .stats").innerText(), /12 total/));
      assert.match(await page.locator('.bar-row[data-upstream="127.0.0.1:3002"]').innerText(), /10\s*·\s*83%/);
    }));

  it("filters by target, upstream and status class; pauses without losing counters; clears", () =>
    withApp({ config: web() }, async (page) => {
      await pushRequests(page, traffic);
      const rows = page.locator(".log tbody tr");
      await eventually(async () => assert.equal(await rows.count(), 5));

      const chip = (name) => page.getByRole("group", { name: "Filter by status" }).getByRole("button", { name, exact: true });
      await chip("4xx").click();
      await eventually(async () => assert.equal(await rows.count(), 2));
      await chip("errors").click();
      await eventually(async () => assert.equal(await rows.count(), 1));
      assert.match(await rows.first().innerText(), /no target matched/);
      await chip("errors").click();

      await page.getByLabel("Filter by target").selectOption("web");
      await eventually(async () => assert.equal(await rows.count(), 4));
      await page.getByLabel("Filter by upstream").selectOption("127.0.0.1:3003");
      await eventually(async () => assert.equal(await rows.count(), 1));
      await page.getByLabel("Filter by target").selectOption("");
      await eventually(async () => assert.equal(await rows.count(), 5));

      await page.getByRole("button", { name: "Pause" }).click();
      await pushRequests(page, [
        { target: "web", upstream: "127.0.0.1:3002", path: "/held-1" },
        { target: "web", upstream: "127.0.0.1:3002", path: "/held-2" },
      ]);
      await page.getByRole("button", { name: /Resume \(2 held\)/ }).waitFor();
      assert.equal(await rows.count(), 5, "no rows appended while paused");
      await eventually(async () =>
        assert.match(await page.locator('.bar-row[data-upstream="127.0.0.1:3002"]').innerText(), /^[\s\S]*2\s*·/));
      await page.getByRole("button", { name: /Resume/ }).click();
      await eventually(async () => assert.equal(await rows.count(), 7));
      assert.match(await rows.first().innerText(), /held-2/);

      await page.getByRole("button", { name: "Clear" }).click();
      await eventually(async () => assert.equal(await rows.count(), 0));
    }));

  it("keeps at most 1000 rows, draws only those in view, and shows the others when scrolled to", () =>
    withApp({ config: web() }, async (page) => {
      const many = Array.from({ length: 1200 }, (_, i) => ({ target: "web", upstream: "127.0.0.1:3001", path: `/n/${i}` }));
      await pushRequests(page, many.slice(0, 600));
      await pushRequests(page, many.slice(600));
      await page.locator(".log .count", { hasText: "1000 rows (latest kept)" }).waitFor();
      const rows = page.getByTestId("log-row");
      const scroll = page.locator(".log .scroll");
      const drawn = await rows.count();
      assert.ok(drawn > 5 && drawn < 60, `${drawn} row elements for 1000 rows`);
      assert.match(await rows.first().innerText(), /\/n\/1199\b/);
      assert.equal(await page.locator(".log table").getAttribute("aria-rowcount"), "1001");
      // The scrollbar is the whole log's: 1000 rows of 24 px under the header.
      const height = await scroll.evaluate((s) => s.scrollHeight);
      assert.ok(height >= 24_000 && height < 24_100, `scrollHeight ${height}`);

      // Row 500 (0-based, newest first) is /n/699; scrolled to, it is drawn, in its place in the whole log.
      await scroll.evaluate((s) => (s.scrollTop = 500 * 24));
      const middle = rows.filter({ hasText: /\/n\/699\b/ });
      await middle.waitFor();
      assert.equal(await middle.getAttribute("aria-rowindex"), "502");
      const box = await middle.boundingBox();
      const view = await scroll.boundingBox();
      assert.ok(box && view && box.y >= view.y && box.y + box.height <= view.y + view.height + 1, "row 500 is in view");
      assert.ok((await rows.count()) < 60);

      await scroll.evaluate((s) => (s.scrollTop = s.scrollHeight));
      await eventually(async () => assert.match(await rows.last().innerText(), /\/n\/200\b/));
      assert.equal(await rows.last().getAttribute("aria-rowindex"), "1001");
    }));

  it("redraws the rows in view for a digest of 100 new rows, reusing their elements", () =>
    withApp({ config: web() }, async (page) => {
      const batch = (from) =>
        Array.from({ length: 100 }, (_, i) => ({ target: "web", upstream: "127.0.0.1:3001", path: `/b/${from + i}` }));
      for (let k = 0; k < 10; k++) await pushRequests(page, batch(k * 100));
      const rows = page.getByTestId("log-row");
      await eventually(async () => assert.match(await rows.first().innerText(), /\/b\/999\b/));
      // Elements added to the page by one more digest: none for the log (its rows take the new text), where
      // drawing all 1000 rows added a hundred rows of cells per digest.
      await page.evaluate(() => {
        window.__added = 0;
        window.__observer = new MutationObserver((records) => {
          for (const r of records) for (const n of r.addedNodes) if (n.nodeType === Node.ELEMENT_NODE) window.__added++;
        });
        window.__observer.observe(document.body, { childList: true, subtree: true });
      });
      await pushRequests(page, batch(1000));
      await eventually(async () => assert.match(await rows.first().innerText(), /\/b\/1099\b/));
      const added = await page.evaluate(() => {
        window.__observer.disconnect();
        return window.__added;
      });
      assert.ok(added <= 5, `${added} elements added by a digest`);
    }));
});

describe("upstream health and balancing", () => {
  const four = () => web(["http://127.0.0.1:3001", "http://127.0.0.1:3002", "http://127.0.0.1:3003", "http://127.0.0.1:3004"]);
  const badge = (page, url) => page.getByRole("row", { name: `Upstream ${url}` }).getByTestId("health");
  const cell = (page, url, cls) => page.getByRole("row", { name: `Upstream ${url}` }).locator(`td.${cls}`);

  it("shows each upstream's health as text, with a cool-down counting down and open connections", () =>
    withApp({ config: four() }, async (page) => {
      await page.evaluate(() => {
        const mock = window.__roundabout;
        mock.setHealth("web", "127.0.0.1:3002", { state: "failing", failures: 2, threshold: 3 });
        mock.setHealth("web", "127.0.0.1:3003", { state: "unhealthy", failures: 3, retry_at_ms: Date.now() + 4500, retry_in_ms: 4500 });
        mock.setHealth("web", "127.0.0.1:3004", { state: "draining", open: 2 }, 2);
        mock.flush();
      });
      await eventually(async () => assert.equal(await badge(page, "http://127.0.0.1:3002").innerText(), "failing 2/3"));
      assert.equal(await badge(page, "http://127.0.0.1:3001").innerText(), "healthy");
      assert.equal(await badge(page, "http://127.0.0.1:3004").innerText(), "draining · 2 open");
      assert.equal(await cell(page, "http://127.0.0.1:3004", "open").innerText(), "2");
      assert.equal(await cell(page, "http://127.0.0.1:3001", "open").innerText(), "0");

      const cooling = badge(page, "http://127.0.0.1:3003");
      const left = async () => {
        const m = /^unhealthy · retry in (\d+)s$/.exec(await cooling.innerText());
        assert.ok(m, `unexpected badge ${await cooling.innerText()}`);
        return Number(m[1]);
      };
      const first = await left();
      assert.ok(first >= 4 && first <= 5, `countdown starts at ${first}`);
      await eventually(async () => assert.ok((await left()) <= first - 2, "the countdown ticks"), 4000);
      await eventually(async () => assert.equal(await cooling.innerText(), "unhealthy · retry due"), 5000);

      await page.evaluate(() => {
        const mock = window.__roundabout;
        mock.setHealth("web", "127.0.0.1:3001", { state: "probation" });
        mock.setHealth("web", "127.0.0.1:3002", { state: "disabled" });
        mock.flush();
      });
      await eventually(async () => assert.equal(await badge(page, "http://127.0.0.1:3001").innerText(), "probation"));
      assert.equal(await badge(page, "http://127.0.0.1:3002").innerText(), "disabled");
      assert.match(await page.getByRole("columnheader", { name: "Health" }).innerText(), /Health/);
    }));

  it("shows health events in the live log as text rows", () =>
    withApp({ config: web() }, async (page) => {
      const at = Date.now();
      await pushRequests(page, [{ target: "web", upstream: "127.0.0.1:3001", path: "/ok", at_ms: at }], {
        events: [
          { type: "health", at_ms: at + 1, target: "web", upstream: "127.0.0.1:3002", url: "http://127.0.0.1:3002",
            health: { state: "unhealthy", failures: 3, retry_at_ms: at + 10_001, retry_in_ms: 10_000 }, reason: "connection refused" },
          { type: "health", at_ms: at + 2, target: "web", upstream: "127.0.0.1:3003", url: "http://127.0.0.1:3003",
            health: { state: "failing", failures: 1, threshold: 3 }, reason: "<img src=x onerror=alert(1)>" },
        ],
      });
      const rows = page.locator(".log tbody tr");
      await eventually(async () => assert.equal(await rows.count(), 3));
      const health = page.locator('.log tbody tr[data-kind="health"]');
      assert.equal(await health.count(), 2);
      assert.match(await health.filter({ hasText: "3002" }).innerText(),
        /127\.0\.0\.1:3002 unhealthy after 3 failures \(connection refused\); retry in 10s/);
      assert.match(await health.filter({ hasText: "3003" }).innerText(), /failing 1\/3 \(<img src=x onerror=alert\(1\)>\)/);
      assert.equal(await page.locator(".log img").count(), 0, "no element was created from event data");
      // A status filter shows requests only; an upstream filter keeps that upstream's health rows.
      await page.getByRole("group", { name: "Filter by status" }).getByRole("button", { name: "2xx", exact: true }).click();
      await eventually(async () => assert.equal(await rows.count(), 1));
    }));

  it("saves a strategy change and edits weights inline with the engine's message", () =>
    withApp({ config: web() }, async (page) => {
      assert.equal(await page.getByLabel("Weight of upstream 1").count(), 0, "no weights under round robin");
      await page.getByLabel("Strategy").selectOption("weighted_round_robin");
      await eventually(async () => assert.equal((await lastSaved(page)).targets[0].strategy, "weighted_round_robin"));
      const weight = page.getByLabel("Weight of upstream 2");
      await weight.waitFor();
      assert.equal(await weight.inputValue(), "1");

      await weight.fill("0");
      await weight.press("Enter");
      await page.getByText("0 is out of range; use a whole number from 1 to 100").waitFor();
      assert.equal(await weight.getAttribute("aria-invalid"), "true");
      assert.equal((await saved(page)).length, 1, "an invalid weight is not saved");

      await weight.fill("5");
      await weight.press("Enter");
      await eventually(async () => assert.equal((await lastSaved(page)).targets[0].upstreams[1].weight, 5));
      assert.equal(await weight.getAttribute("aria-invalid"), "false");

      await page.getByLabel("Strategy").selectOption("first_available");
      await eventually(async () => assert.equal((await lastSaved(page)).targets[0].strategy, "first_available"));
      await eventually(async () => assert.equal(await page.getByLabel("Weight of upstream 2").count(), 0));
    }));
});

describe("health checks", () => {
  it("saves passive failures and active checks with path and interval, marking a bad path inline", () =>
    withApp({ config: web() }, async (page) => {
      const failures = page.getByLabel("Failures before unhealthy");
      await failures.fill("5");
      await failures.press("Enter");
      await eventually(async () => assert.deepEqual((await lastSaved(page)).targets[0].health, { passive: { failures: 5 } }));

      await page.getByLabel("Active checks", { exact: true }).check();
      await eventually(async () => assert.equal((await lastSaved(page)).targets[0].health.active?.path, "/"));
      const path = page.getByLabel("Check path");
      await path.fill("health");
      await path.press("Enter");
      await page.getByText('"path" must start with "/"').waitFor();
      assert.equal(await path.getAttribute("aria-invalid"), "true");
      await path.fill("/health");
      await path.press("Enter");
      const interval = page.getByLabel("Interval (ms)");
      await interval.fill("1000");
      await interval.press("Enter");
      await eventually(async () => {
        const active = (await lastSaved(page)).targets[0].health.active;
        assert.equal(active.path, "/health");
        assert.equal(active.interval_ms, 1000);
      });

      await page.getByLabel("Active checks", { exact: true }).uncheck();
      await eventually(async () => assert.equal((await lastSaved(page)).targets[0].health.active, undefined));
      assert.equal(await page.getByLabel("Check path").count(), 0);
    }));
});

describe("listeners and the config file", () => {
  const twoListeners = {
    ...web(),
    listeners: [{ name: "main", bind: "8800" }, { name: "alt", bind: "8801", enabled: false }],
  };

  it("toggles listeners and shows a failed listener's error", () =>
    withApp({ config: twoListeners, busy: ["8801"] }, async (page) => {
      await page.getByRole("switch", { name: "Listener alt on" }).click();
      await page.getByText("127.0.0.1:8801 is already in use; stop the program using it or choose another port").waitFor();
      assert.match(await page.locator('.listener[data-state="failed"]').innerText(), /alt/);
      await page.getByRole("switch", { name: "Listener main on" }).click();
      await eventually(async () => assert.match(await page.locator(".listener").first().innerText(), /stopped/));
      const sent = (await calls(page)).filter((c) => c.cmd === "set_listener_enabled").map((c) => c.args);
      assert.deepEqual(sent, [{ name: "alt", enabled: true }, { name: "main", enabled: false }]);
    }));

  it("adds a listener from port, address and name", () =>
    withApp({ config: web() }, async (page) => {
      await page.getByRole("button", { name: "+ Add listener" }).click();
      const form = page.getByRole("form", { name: "Add listener" });
      await form.getByLabel("Port").fill("9000");
      await form.getByLabel("Address").fill("127.0.0.1");
      await form.getByLabel("Name").fill("second");
      await form.getByRole("button", { name: "Add" }).click();
      await eventually(async () =>
        assert.deepEqual((await lastSaved(page)).listeners[1], { bind: "127.0.0.1:9000", name: "second" }));
    }));

  it("refreshes after an outside edit and shows a rejected one", () =>
    withApp({ config: web() }, async (page) => {
      await page.evaluate(() => {
        const mock = window.__roundabout;
        mock.config = { ...mock.config, targets: [...mock.config.targets, { name: "docs", match: { host: "docs.localhost" }, upstreams: [] }] };
        mock.event({ type: "config_applied", source: "/home/dev/.config/roundabout/config.json", listeners: 1, targets: 2 });
        mock.flush();
      });
      await page.getByRole("button", { name: /^docs/ }).waitFor();
      await pushRequests(page, [], {
        events: [{ type: "config_rejected", source: "/home/dev/.config/roundabout/config.json", issues: [{ path: "targets[0].upstreams[0].url", message: '"localhost:3000" has no scheme; write it like http://localhost:3000' }] }],
      });
      const banner = page.getByRole("alert", { name: "Config edit rejected" });
      await banner.waitFor();
      assert.match(await banner.innerText(), /targets\[0\]\.upstreams\[0\]\.url: "localhost:3000" has no scheme/);
      assert.match(await banner.innerText(), /previous config keeps serving/);
    }));

  it("says clearly that saving replaces an unreadable config file", () =>
    withApp({
      config: web(),
      fileProblem: { message: "expected value at line 3, column 7", issues: [], kept_aside: "/home/dev/.config/roundabout/config.json.broken-1" },
    }, async (page) => {
      const banner = page.getByRole("alert", { name: "Config file problem" });
      await banner.waitFor();
      const text = await banner.innerText();
      assert.match(text, /could not be read/);
      assert.match(text, /config\.json\.broken-1/);
      assert.match(text, /Saving any change from the app will replace the file/);
      await page.getByRole("switch", { name: "Upstream http://127.0.0.1:3001 on" }).click();
      await eventually(async () => assert.equal(await banner.count(), 0));
      await page.getByText("its old contents are kept at").waitFor();
    }));
});

describe("HTTPS", () => {
  const note = [
    "First run: created /home/dev/.config/roundabout/config.json with two Listeners and the built-in demo.",
    "Open http://demo.localhost:8800 or https://demo.localhost:8443 and reload <b>to watch</b> round-robin.",
    'To remove the demo, delete the line "demo": true from that file (edits apply live).',
  ].join("\n");
  const httpsSection = (page) => page.getByRole("region", { name: "HTTPS" });
  const store = (page, name) => httpsSection(page).getByRole("listitem").filter({ hasText: name });

  it("shows the first-run note line by line as text, and keeps it dismissed for the session", () =>
    withApp({ config: web(), firstRun: note }, async (page) => {
      const banner = page.getByRole("region", { name: "First run" });
      await banner.waitFor();
      assert.deepEqual(await banner.locator("p").allInnerTexts(), note.split("\n"));
      assert.equal(await banner.locator("b").count(), 0, "the note is shown as text");
      await banner.getByRole("button", { name: "Dismiss the first-run note" }).click();
      await eventually(async () => assert.equal(await banner.count(), 0));

      // A reload after an outside edit brings the same first_run again; it stays dismissed.
      await page.evaluate(() => {
        window.__roundabout.event({ type: "config_applied", source: "/home/dev/.config/roundabout/config.json", listeners: 1, targets: 1 });
        window.__roundabout.flush();
      });
      await eventually(async () =>
        assert.equal((await calls(page)).filter((c) => c.cmd === "get_state").length, 2));
      assert.equal(await banner.count(), 0);
    }));

  it("runs the doctor's checks and lists each finding, problems marked, as text", () =>
    withApp({ config: web() }, async (page) => {
      await page.getByRole("button", { name: "HTTPS", exact: true }).click();
      const section = httpsSection(page);
      assert.equal((await calls(page)).filter((c) => c.cmd === "doctor").length, 0, "not run before it is asked");
      await section.getByRole("button", { name: "Run the checks" }).click();
      const checks = section.getByRole("list", { name: "Checks" });
      await checks.waitFor();
      const items = await checks.getByRole("listitem").allInnerTexts();
      assert.ok(items.some((t) => t.includes("listener") && t.includes("accepting connections")), items.join(" | "));
      const down = checks.getByRole("listitem").filter({ hasText: "upstream http://localhost:3002" });
      assert.equal(await down.getAttribute("data-state"), "not_trusted", "a problem is marked as one");
      assert.match(await down.innerText(), /is the dev server running\?/);
      assert.match(await section.getByRole("status").filter({ hasText: "to fix" }).innerText(), /^\d+ to fix\.$/);
    }));

  it("checks the CA when the HTTPS section is opened, and trusts it, showing progress while the password is asked", () =>
    withApp({ config: web() }, async (page) => {
      const toggle = page.getByRole("button", { name: "HTTPS", exact: true });
      assert.equal(await toggle.getAttribute("aria-expanded"), "false", "closed without an HTTPS listener");
      assert.equal((await calls(page)).filter((c) => c.cmd === "https_state").length, 0, "not loaded before it is shown");
      await toggle.click();
      const section = httpsSection(page);
      await section.getByText("/home/dev/.local/share/roundabout/roundabout-ca.pem").first().waitFor();
      assert.equal(await section.getByRole("list", { name: "Trust stores" }).getByRole("listitem").count(), 3);
      assert.match(await store(page, "system store").innerText(), /Not trusted/);
      assert.match(await store(page, "Chromium, Chrome").innerText(), /Not trusted/);
      assert.match(await store(page, "Firefox").innerText(),
        /Unavailable[\s\S]*certutil is not installed; install it with: sudo apt install libnss3-tools/);
      assert.match(await section.innerText(), /export NODE_EXTRA_CA_CERTS="\/home\/dev\/\.local\/share\/roundabout\/roundabout-ca\.pem"/);
      assert.match(await section.innerText(), /only for localhost, names under \.localhost and loopback addresses/);
      assert.equal(await page.locator(".summary").innerText(), "not trusted");

      await page.evaluate(() => window.__roundabout.holdTrust());
      await section.getByRole("button", { name: "Trust Roundabout's CA" }).click();
      const waiting = section.getByRole("button", { name: "Waiting for your password…" });
      await waiting.waitFor();
      assert.equal(await waiting.isDisabled(), true);
      assert.equal(await section.getByRole("button", { name: "Refresh the trust stores" }).isDisabled(), true);
      assert.match(await section.locator("#https-progress").innerText(), /asks for your password in a separate window/);

      await page.evaluate(() => window.__roundabout.releaseTrust());
      await eventually(async () => assert.match(await store(page, "system store").innerText(), /Trusted[\s\S]*installed/));
      assert.match(await store(page, "Chromium, Chrome").innerText(), /Trusted[\s\S]*installed/);
      assert.match(await store(page, "Firefox").innerText(), /Unavailable[\s\S]*certutil is not installed/);
      assert.match(await section.innerText(), /Trusted in every store that can be used/);
      assert.equal(await section.getByRole("button", { name: "Trust Roundabout's CA" }).isDisabled(), true, "nothing left to trust");
      assert.equal(await page.locator(".summary").innerText(), "trusted");
      assert.equal((await calls(page)).filter((c) => c.cmd === "trust_ca").length, 1);
    }));

  it("opens by itself when a listener serves HTTPS, says what to do when the check fails, and copies the Node.js line", () =>
    withApp({
      config: { ...web(), listeners: [{ name: "secure", bind: "8443", tls: true }] },
      httpsFails: "cannot run certutil: permission denied",
    }, async (page) => {
      const section = httpsSection(page);
      const alert = section.getByRole("alert");
      await alert.waitFor();
      assert.match(await alert.innerText(), /Could not check the CA: cannot run certutil: permission denied/);
      assert.match(await alert.innerText(), /roundabout trust --status/);

      await page.evaluate(() => (window.__roundabout.httpsFails = null));
      await alert.getByRole("button", { name: "Try again" }).click();
      await eventually(async () => assert.equal(await alert.count(), 0));
      await section.getByRole("list", { name: "Trust stores" }).waitFor();

      await section.getByRole("button", { name: "Copy the Node.js line" }).click();
      await section.getByText("Copied.").waitFor();
      assert.equal(await page.evaluate(() => navigator.clipboard.readText()),
        'export NODE_EXTRA_CA_CERTS="/home/dev/.local/share/roundabout/roundabout-ca.pem"');

      await page.evaluate(() => (window.__roundabout.httpsFails = "pkexec failed: the password dialog was dismissed"));
      await section.getByRole("button", { name: "Trust Roundabout's CA" }).click();
      await alert.waitFor();
      assert.match(await alert.innerText(), /Trusting the CA failed: pkexec failed: the password dialog was dismissed/);
      assert.match(await alert.innerText(), /run roundabout trust in a terminal/);
      assert.equal(await section.getByRole("button", { name: "Trust Roundabout's CA" }).isEnabled(), true, "it can be tried again");
    }, { permissions: ["clipboard-read", "clipboard-write"] }));

  it("says why there is no CA and what to do, with nothing to trust", () =>
    withApp({
      config: web(),
      https: { ca_path: null, error: "cannot create /home/dev/.local/share/roundabout: permission denied", stores: [], node_line: null },
    }, async (page) => {
      await page.getByRole("button", { name: "HTTPS", exact: true }).click();
      const alert = httpsSection(page).getByRole("alert");
      await alert.waitFor();
      assert.match(await alert.innerText(), /no CA, so HTTPS listeners cannot start: cannot create \/home\/dev\/\.local\/share\/roundabout: permission denied/);
      assert.equal(await page.getByRole("button", { name: "Trust Roundabout's CA" }).count(), 0);
      assert.equal(await page.locator(".summary").innerText(), "no CA");
      await alert.getByRole("button", { name: "Check again" }).click();
      await eventually(async () => assert.equal((await calls(page)).filter((c) => c.cmd === "https_state").length, 2));
    }));

  it("switches listeners to HTTPS and to a redirect through the validated save, with the engine's message at the choice", () =>
    withApp({ config: { ...web(), listeners: [{ name: "main", bind: "8800" }, { name: "alt", bind: "8801" }] } }, async (page) => {
      const main = page.getByLabel("Protocol of listener main");
      const alt = page.getByLabel("Protocol of listener alt");
      assert.equal(await main.inputValue(), "http");

      await alt.selectOption("redirect");
      const why = page.getByText('there is no listener with "tls": true to redirect to; add one, or remove "redirect_https"');
      await why.waitFor();
      assert.equal(await alt.getAttribute("aria-invalid"), "true");
      assert.equal(await alt.getAttribute("aria-describedby"), await why.locator("xpath=..").getAttribute("id"));
      assert.equal((await saved(page)).length, 0, "a redirect with nowhere to go is not saved");

      await main.selectOption("https");
      await eventually(async () =>
        assert.deepEqual((await lastSaved(page)).listeners[0], { name: "main", bind: "8800", tls: true }));
      const row = page.locator(".listener").filter({ hasText: "main" });
      await eventually(async () => assert.match(await row.innerText(), /https:\/\/127\.0\.0\.1:8800/));
      assert.equal(await row.getByRole("img", { name: "HTTPS" }).count(), 1);

      await alt.selectOption("redirect");
      await eventually(async () =>
        assert.deepEqual((await lastSaved(page)).listeners[1], { name: "alt", bind: "8801", redirect_https: true }));
      await eventually(async () => assert.equal(await why.count(), 0));
      assert.equal(await alt.getAttribute("aria-invalid"), "false");
      assert.match(await page.locator(".listener").filter({ hasText: "alt" }).innerText(), /http:\/\/127\.0\.0\.1:8801/);

      await main.selectOption("http");
      await page.getByText('there is no listener with "tls": true to redirect to').waitFor();
      assert.equal((await saved(page)).length, 2, "taking away the only HTTPS listener of a redirect is refused");
    }));

  it("adds an HTTPS listener on the suggested standard port", () =>
    withApp({ config: web(), ports: { http: 80, https: 443, why_not_standard: null } }, async (page) => {
      await page.getByRole("button", { name: "+ Add listener" }).click();
      const form = page.getByRole("form", { name: "Add listener" });
      const port = form.getByLabel("Port");
      await eventually(async () => assert.equal(await port.inputValue(), "80"));
      assert.equal(await form.getByRole("radio", { name: "http", exact: true }).isChecked(), true);
      assert.equal(await form.getByText("are not available").count(), 0);
      await form.getByRole("radio", { name: "https", exact: true }).check();
      await eventually(async () => assert.equal(await port.inputValue(), "443"));
      await form.getByRole("button", { name: "Add" }).click();
      await eventually(async () => assert.deepEqual((await lastSaved(page)).listeners[1], { bind: "443", tls: true }));
      assert.equal((await calls(page)).filter((c) => c.cmd === "suggested_ports").length, 1);
    }));

  it("suggests 8800 and 8443 with why, skips a port a listener has, and keeps a typed port", () =>
    withApp({ config: web() }, async (page) => {
      await page.getByRole("button", { name: "+ Add listener" }).click();
      const form = page.getByRole("form", { name: "Add listener" });
      const port = form.getByLabel("Port");
      await eventually(async () => assert.equal(await port.inputValue(), "8801"));
      await form.getByText("Port 8800 is used by listener main.").waitFor();
      await form.getByText("Ports 80 and 443 are not available: binding 127.0.0.1:80 needs privilege").waitFor();
      await form.getByRole("radio", { name: "https", exact: true }).check();
      await eventually(async () => assert.equal(await port.inputValue(), "8443"));
      await form.getByRole("radio", { name: "http", exact: true }).check();
      await eventually(async () => assert.equal(await port.inputValue(), "8801"));

      await port.fill("9443");
      await form.getByRole("radio", { name: "https", exact: true }).check();
      assert.equal(await port.inputValue(), "9443", "a typed port is kept");
      await form.getByLabel("Name").fill("secure");
      await form.getByRole("button", { name: "Add" }).click();
      await eventually(async () =>
        assert.deepEqual((await lastSaved(page)).listeners[1], { bind: "9443", name: "secure", tls: true }));
    }));
});

describe("looks", () => {
  const config = {
    ...web(),
    demo: true,
    listeners: [
      { name: "main", bind: "8800", redirect_https: true }, { name: "secure", bind: "8443", tls: true },
      { name: "lan", bind: "0.0.0.0:8801" }, { name: "alt", bind: "8802" },
    ],
    targets: [
      { name: "web", match: { host: "web.localhost", path_prefix: "/", methods: ["GET", "POST"] }, upstreams: [
        { url: "http://127.0.0.1:3001" }, { url: "http://127.0.0.1:3002" }, { url: "http://127.0.0.1:3003", enabled: false }] },
      { name: "api", match: { host: "*.api.localhost" }, upstreams: [{ url: "http://127.0.0.1:4000" }] },
    ],
  };

  /** A minute of traffic, one digest per second, with retries and Roundabout's own answers mixed in. */
  async function traffic(page) {
    const now = Date.now();
    const paths = ["/", "/api/items?page=2", "/assets/app.3f9a.js", "/api/items/42", "/login", "/<img src=x onerror=alert(1)>"];
    for (let s = 40; s >= 0; s--) {
      const n = 1 + Math.round(3 + 3 * Math.sin(s / 4));
      const batch = Array.from({ length: n }, (_, k) => {
        const i = s * 7 + k;
        const up = i % 2 ? "127.0.0.1:3002" : "127.0.0.1:3001";
        return {
          at_ms: now - s * 1000 + k * 37, target: "web", host: "web.localhost", path: paths[i % paths.length],
          method: i % 5 === 0 ? "POST" : "GET", upstream: up, status: i % 11 === 0 ? 304 : i % 13 === 0 ? 404 : 200,
          latency_us: 400 + ((i * 7919) % 40000),
          failed: i % 17 === 0 ? [{ upstream: "127.0.0.1:3003", error: "connection refused" }] : [],
        };
      });
      if (s % 9 === 0) batch.push({ at_ms: now - s * 1000 + 500, target: null, host: "nope.localhost", path: "/", status: 404, error: "no target matched nope.localhost", latency_us: 90 });
      const health = s === 2
        ? [{ type: "health", at_ms: now - s * 1000 + 800, target: "web", upstream: "127.0.0.1:3002", url: "http://127.0.0.1:3002",
          health: { state: "unhealthy", failures: 3, retry_at_ms: now + 8000, retry_in_ms: 10_000 }, reason: "connection refused" }]
        : [];
      if (s === 3) batch.push({ at_ms: now - s * 1000 + 700, target: "api", host: "v1.api.localhost", path: "/users", upstream: null, status: 502, error: "every upstream failed: 127.0.0.1:4000 connection refused", latency_us: 1200, failed: [{ upstream: "127.0.0.1:4000", error: "connection refused" }] });
      await page.evaluate(({ batch, health, at }) => {
        for (const r of batch) window.__roundabout.request(r);
        for (const e of health) {
          window.__roundabout.setHealth(e.target, e.upstream, e.health);
          window.__roundabout.event(e);
        }
        window.__roundabout.flush(at);
      }, { batch, health, at: now - s * 1000 });
    }
  }

  for (const scheme of ["light", "dark"]) {
    it(`renders a realistic session (${scheme}) to tests/artifacts/ui${scheme === "dark" ? "-dark" : ""}.png`, () =>
      withApp({ config, busy: ["8802"] }, async (page) => {
        await page.getByRole("button", { name: /^web/ }).click();
        await traffic(page);
        const add = page.getByLabel("Add upstream URL");
        await add.fill("ftp://files.localhost");
        await add.press("Enter");
        await page.getByText('scheme "ftp" is not supported').waitFor();
        await page.locator("main").evaluate((m, top) => m.scrollTo(0, top ? 0 : m.scrollHeight), scheme === "light");
        await page.locator("nav").evaluate((n) => n.scrollTo(0, 0));
        await page.screenshot({ path: new URL(`./artifacts/ui${scheme === "dark" ? "-dark" : ""}.png`, import.meta.url).pathname });
      }, { colorScheme: scheme, viewport: { width: 1280, height: 900 } }));
  }
});
