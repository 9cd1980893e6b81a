// Live Upstreams (`roundabout run`) in the UI: after the configured ones in a Target's table, a Target of their
// own in the sidebar, and their joining and leaving in the live log. None of it can be edited or saved.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { useApp } from "./support/app.mjs";
import { calls, eventually, lastSaved, pushRequests, saved, web } from "./support/util.mjs";

const withApp = useApp();

const onWeb = {
  target: "web", url: "http://localhost:41234", command: "npm run dev", pid: 4242, cwd: "/home/dev/src/web", branch: "feature/login",
};
const docs = { target: "docs", url: "http://localhost:41300", command: "pnpm dev", pid: 5150, cwd: "/home/dev/src/docs", branch: null };

describe("live upstreams", () => {
  it("lists a configured target's live upstreams after its own, with what started them, read-only and counted", () =>
    withApp({ config: web(["http://127.0.0.1:3001"]), live: [onWeb] }, async (page) => {
      const row = page.getByRole("row", { name: "Live upstream http://localhost:41234" });
      await row.waitFor();
      const labels = await page.locator("table.upstreams tbody tr").evaluateAll((rows) => rows.map((r) => r.getAttribute("aria-label")));
      assert.deepEqual(labels, ["Upstream http://127.0.0.1:3001", "Live upstream http://localhost:41234"]);
      const text = await row.innerText();
      assert.match(text, /http:\/\/localhost:41234\s+live/);
      assert.match(text, /npm run dev\s+·\s+pid 4242\s+·\s+\/home\/dev\/src\/web\s+·\s+branch feature\/login/);
      assert.equal(await row.getByRole("textbox").count(), 0, "its URL cannot be edited");
      assert.equal(await row.getByRole("switch").count(), 0, "it cannot be turned off");
      assert.equal(await row.getByRole("button").filter({ hasText: "×" }).count(), 0, "it cannot be removed");

      await pushRequests(page, [{ target: "web", host: "web.localhost", upstream: "localhost:41234 (pid 4242)" }]);
      await eventually(async () => assert.equal(await row.locator("td.requests").innerText(), "1"));
      assert.equal(await row.getByTestId("health").innerText(), "healthy");
      assert.equal(await row.locator("td.share").innerText(), "100%");

      // A save of the Target writes its configured Upstreams only.
      await page.getByRole("switch", { name: "Upstream http://127.0.0.1:3001 on" }).click();
      await eventually(async () =>
        assert.deepEqual((await lastSaved(page)).targets[0].upstreams, [{ url: "http://127.0.0.1:3001", enabled: false }]));
    }));

  it("shows a target made only of live upstreams, marked live and read-only, until its dev servers stop", () =>
    withApp({ config: web(), live: [docs] }, async (page) => {
      const entry = page.getByRole("button", { name: /^docs live/ });
      await entry.click();
      const view = page.getByRole("article", { name: "Live target docs" });
      await view.waitFor();
      assert.match(await view.innerText(), /Started by roundabout run; gone when its dev servers stop\./);
      assert.match(await view.innerText(), /docs\.localhost/);
      await view.getByRole("row", { name: "Live upstream http://localhost:41300" }).waitFor();
      assert.match(await view.getByRole("row", { name: "Live upstream http://localhost:41300" }).innerText(), /pnpm dev\s+·\s+pid 5150/);
      assert.equal(await view.getByRole("textbox").count(), 0, "nothing to type into");
      assert.equal(await view.getByRole("combobox").count(), 0, "no strategy to choose");
      assert.equal(await view.getByRole("button", { name: /Delete|Remove/ }).count(), 0, "nothing to delete");

      await page.evaluate(() => {
        window.__roundabout.leave("http://localhost:41300", "the command exited");
        window.__roundabout.flush();
      });
      await eventually(async () => assert.equal(await entry.count(), 0));
      await page.getByRole("heading", { name: "docs is gone" }).waitFor();
      assert.equal((await saved(page)).length, 0, "nothing was saved");
      assert.equal((await calls(page)).filter((c) => c.cmd === "validate_config").length, 0, "nothing was even drafted");
    }));

  it("shows live upstreams joining and leaving in the live log as text rows", () =>
    withApp({ config: web() }, async (page) => {
      await page.evaluate(() => {
        const mock = window.__roundabout;
        mock.join({
          target: "web", url: "http://localhost:41234", command: "npm run dev -- --host <img src=x onerror=alert(1)>", pid: 4242,
          cwd: "/home/dev/src/web", branch: "main",
        });
        mock.request({ target: "web", upstream: "127.0.0.1:3001", path: "/ok" });
        mock.flush();
      });
      const live = page.locator('.log tbody tr[data-kind="live"]');
      await eventually(async () => assert.equal(await live.count(), 1));
      assert.match(await live.innerText(),
        /LIVE\s+web: localhost:41234 \(pid 4242\) joined \(npm run dev -- --host <img src=x onerror=alert\(1\)> in \/home\/dev\/src\/web, branch main\)/);
      assert.equal(await page.locator(".log img").count(), 0, "no element was created from event data");
      await page.getByRole("row", { name: "Live upstream http://localhost:41234" }).waitFor();

      await page.evaluate(() => {
        window.__roundabout.leave("http://localhost:41234", "the command exited");
        window.__roundabout.flush();
      });
      await eventually(async () => assert.equal(await live.count(), 2));
      assert.match(await live.first().innerText(), /web: localhost:41234 \(pid 4242\) left \(the command exited\)/);
      assert.equal(await live.first().getAttribute("data-joined"), "false");
      await eventually(async () =>
        assert.equal(await page.getByRole("row", { name: "Live upstream http://localhost:41234" }).count(), 0));

      // Like health rows: kept by a filter on their upstream, hidden by a status filter.
      const rows = page.locator(".log tbody tr");
      await page.getByLabel("Filter by upstream").selectOption("localhost:41234 (pid 4242)");
      await eventually(async () => assert.equal(await rows.count(), 2));
      await page.getByLabel("Filter by upstream").selectOption("");
      await page.getByRole("group", { name: "Filter by status" }).getByRole("button", { name: "2xx", exact: true }).click();
      await eventually(async () => assert.equal(await rows.count(), 1));
    }));
});
