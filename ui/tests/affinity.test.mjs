// Keeping a browser on one Upstream: sticky sessions per Target, pin links per Upstream (and the Target's unpin
// link), and the log's tag on requests that went where they did because of either.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { useApp } from "./support/app.mjs";
import { eventually, lastSaved, pushRequests, web } from "./support/util.mjs";

const withApp = useApp();
const clipboard = { permissions: ["clipboard-read", "clipboard-write"] };
const copied = (page) => page.evaluate(() => navigator.clipboard.readText());

describe("sticky sessions and pins", () => {
  it("turns sticky sessions on and off through the validated save", () =>
    withApp({ config: web() }, async (page) => {
      const sticky = page.getByRole("switch", { name: "Sticky sessions" });
      assert.equal(await sticky.getAttribute("aria-checked"), "false");
      await sticky.click();
      await eventually(async () => assert.equal((await lastSaved(page)).targets[0].sticky, true));
      await eventually(async () => assert.equal(await sticky.getAttribute("aria-checked"), "true"));
      await page.getByText("a browser stays on the one it first reached").waitFor();

      await sticky.click();
      await eventually(async () => assert.equal("sticky" in (await lastSaved(page)).targets[0], false));
      assert.equal(await sticky.getAttribute("aria-checked"), "false");
      // The strategy is kept through both saves.
      assert.equal((await lastSaved(page)).targets[0].strategy, undefined);
    }));

  it("copies each upstream's pin link and the target's unpin link, and offers none without an exact host", () =>
    withApp({
      config: web(["http://127.0.0.1:3001", "http://127.0.0.1:3002"]),
      live: [{ target: "web", url: "http://localhost:41234", command: "npm run dev", pid: 4242, cwd: "/home/dev/src/web" }],
    }, async (page) => {
      const pin = page.getByRole("button", { name: "Copy the pin link of http://127.0.0.1:3002" });
      await pin.click();
      await eventually(async () => assert.equal(await copied(page), "http://web.localhost:8800/.roundabout/pin/127.0.0.1:3002"));
      assert.equal(await pin.innerText(), "Copied");
      await page.getByRole("button", { name: "Copy the pin link of http://localhost:41234" }).click();
      await eventually(async () => assert.equal(await copied(page), "http://web.localhost:8800/.roundabout/pin/localhost:41234"));
      await page.getByText("Open it in the browser you want pinned; others keep balancing.").waitFor();
      await page.getByRole("button", { name: "Copy the unpin link of web" }).click();
      await eventually(async () => assert.equal(await copied(page), "http://web.localhost:8800/.roundabout/unpin"));

      const host = page.getByLabel("Host", { exact: true });
      await host.fill("*.web.localhost");
      await host.press("Enter");
      await eventually(async () => assert.equal(await page.getByRole("button", { name: /^Copy the pin link/ }).count(), 0));
      assert.equal(await page.getByRole("columnheader", { name: "Pin" }).count(), 0);
      assert.equal(await page.getByText("Open it in the browser you want pinned").count(), 0);
    }, clipboard));

  it("shows the pin link when the clipboard is out of reach, selected to copy by hand", () =>
    withApp({ config: web() }, async (page) => {
      await page.evaluate(() => {
        navigator.clipboard.writeText = () => Promise.reject(new DOMException("denied", "NotAllowedError"));
      });
      await page.getByRole("button", { name: "Copy the pin link of http://127.0.0.1:3001" }).click();
      const row = page.getByRole("row", { name: "Upstream http://127.0.0.1:3001" });
      await row.getByText("http://web.localhost:8800/.roundabout/pin/127.0.0.1:3001").waitFor();
      assert.match(await row.innerText(), /press (Ctrl\+C|⌘C) to copy/);
      assert.equal(await page.evaluate(() => String(getSelection())), "http://web.localhost:8800/.roundabout/pin/127.0.0.1:3001");
    }));

  it("tags requests that a pin or a sticky session sent to their upstream", () =>
    withApp({ config: web() }, async (page) => {
      await pushRequests(page, [
        { target: "web", host: "web.localhost", upstream: "127.0.0.1:3001", path: "/pinned", affinity: "pinned" },
        { target: "web", host: "web.localhost", upstream: "127.0.0.1:3002", path: "/sticky", affinity: "sticky" },
        { target: "web", host: "web.localhost", upstream: "127.0.0.1:3003", path: "/balanced" },
      ]);
      const rows = page.locator(".log tbody tr");
      await eventually(async () => assert.equal(await rows.count(), 3));
      const tag = (path) => rows.filter({ hasText: path }).locator(".affinity");
      assert.equal(await tag("/pinned").innerText(), "pinned");
      assert.equal(await tag("/sticky").innerText(), "sticky");
      assert.equal(await tag("/balanced").count(), 0);
      assert.match(await rows.filter({ hasText: "/pinned" }).locator("td.upstream").innerText(), /^pinned 127\.0\.0\.1:3001$/);
    }));
});
