// Dev servers found on this machine (the `discover` command): listed when the panel opens, made into a Target or
// added to one through the same validated save as every edit, and gone from the list once a Target uses them.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { useApp } from "./support/app.mjs";
import { calls, eventually, lastSaved, saved, web } from "./support/util.mjs";

const withApp = useApp();
const discovers = async (page) => (await calls(page)).filter((c) => c.cmd === "discover").length;
const panel = (page) => page.getByRole("region", { name: "Dev servers" });
const entry = (page, address) => page.getByRole("listitem", { name: `Dev server ${address}` });

const vite = {
  address: "127.0.0.1:5173", port: 5173, url: "http://localhost:5173", pid: 31337, process: "node",
  command: "node /home/dev/src/shop/node_modules/.bin/vite", cwd: "/home/dev/src/shop", suggested_name: "shop",
};

describe("dev servers", () => {
  it("lists dev servers when opened, creates a target from one and adds another to it, each then gone", () =>
    withApp({ demo: false }, async (page) => {
      assert.equal(await discovers(page), 0, "nothing is scanned before the panel is opened");
      await page.getByRole("button", { name: "Find running dev servers" }).click();
      const shop = entry(page, "127.0.0.1:5173");
      const blog = entry(page, "[::1]:3000");
      await shop.waitFor();
      assert.match(await shop.innerText(), /node\s+pid 31337\s+127\.0\.0\.1:5173\s+IPv4/);
      assert.match(await shop.innerText(), /node \/home\/dev\/src\/shop\/node_modules\/\.bin\/vite/);
      assert.match(await shop.innerText(), /\/home\/dev\/src\/shop/);
      assert.match(await blog.innerText(), /next-server\s+pid 31410\s+\[::1\]:3000\s+IPv6/);
      assert.equal(await blog.getByRole("combobox").count(), 0, "no Target to add to yet");

      await shop.getByRole("button", { name: "Create target shop" }).click();
      await eventually(async () => assert.deepEqual((await lastSaved(page)).targets, [{
        name: "shop", match: { host: "shop.localhost" }, upstreams: [{ url: "http://localhost:5173", enabled: true }], strategy: "round_robin",
      }]));
      await eventually(async () => assert.equal(await shop.count(), 0));
      assert.equal(await page.getByLabel("Target name").inputValue(), "shop", "the new Target is shown");

      await blog.getByLabel("Target to add [::1]:3000 to").selectOption("shop");
      await blog.getByRole("button", { name: "Add [::1]:3000 to shop" }).click();
      await eventually(async () => assert.deepEqual((await lastSaved(page)).targets[0].upstreams.map((u) => u.url),
        ["http://localhost:5173", "http://[::1]:3000"]));
      await eventually(async () => assert.equal(await blog.count(), 0));
      await panel(page).getByText("Start one (e.g. npm run dev) and refresh, or start it with roundabout run -- npm run dev").waitFor();
      assert.ok(await discovers(page) >= 3, "looked again after each use");
    }));

  it("refreshes on demand, shows the engine's issue with a clashing name, and says when looking fails", () =>
    withApp({ config: { ...web(), targets: [...web().targets, { name: "shop", match: { host: "shop.localhost" }, upstreams: [] }] }, devServers: [] },
      async (page) => {
        await page.getByRole("button", { name: "Dev servers", exact: true }).click();
        await panel(page).getByText("No dev server is listening that a Target does not use already.").waitFor();

        await page.evaluate((s) => (window.__roundabout.devServers = [s]), vite);
        const before = await discovers(page);
        await page.getByRole("button", { name: "Refresh the dev servers" }).click();
        const shop = entry(page, "127.0.0.1:5173");
        await shop.waitFor();
        assert.equal(await discovers(page), before + 1);

        await shop.getByRole("button", { name: "Create target shop" }).click();
        await shop.getByText('two targets are named "shop"; names must be unique').waitFor();
        assert.equal((await saved(page)).length, 0, "a clashing Target is not saved");
        // "Add" offers the Target of that name instead.
        assert.equal(await shop.getByLabel("Target to add 127.0.0.1:5173 to").inputValue(), "shop");

        await page.evaluate(() => (window.__roundabout.discoverFails = "cannot read /proc/net/tcp6: permission denied"));
        await page.getByRole("button", { name: "Refresh the dev servers" }).click();
        const alert = panel(page).getByRole("alert").filter({ hasText: "Could not look" });
        await alert.waitFor();
        assert.match(await alert.innerText(), /Could not look for dev servers: cannot read \/proc\/net\/tcp6: permission denied/);
        await page.evaluate(() => (window.__roundabout.discoverFails = null));
        await alert.getByRole("button", { name: "Try again" }).click();
        await eventually(async () => assert.equal(await alert.count(), 0));
        await shop.waitFor();
      }));
});
