// When another Roundabout (`roundabout serve`) owns the config file, the app serves nothing and every change is
// refused: it says so in a banner and offers no edits, whether it knew at start or learned it from a refused save.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { useApp } from "./support/app.mjs";
import { calls, eventually, saved, web } from "./support/util.mjs";

const withApp = useApp();
const WHY =
  "Roundabout is already running for /home/dev/.config/roundabout/config.json (roundabout serve, pid 5120); try " +
  "roundabout status. It serves your routes; stop it (Ctrl-C in its terminal) and reopen the app to manage them here.";
const saves = async (page) => (await calls(page)).filter((c) => c.cmd === "save_config" || c.cmd === "set_listener_enabled").length;

describe("running elsewhere", () => {
  it("says another Roundabout runs the config and offers nothing to edit", () =>
    withApp({ runningElsewhere: WHY, config: web() }, async (page) => {
      const banner = page.getByRole("alert", { name: "Running elsewhere" });
      await banner.waitFor();
      assert.match(await banner.innerText(), /Another Roundabout runs this config, so this window is read-only\./);
      assert.ok((await banner.innerText()).includes(WHY), await banner.innerText());
      await page.getByRole("heading", { name: "Nothing to manage here" }).waitFor();
      assert.equal(await page.getByRole("button", { name: "+ New target" }).isDisabled(), true);
      assert.equal(await page.getByRole("button", { name: "+ Add listener" }).isDisabled(), true);
      assert.equal(await page.getByRole("button", { name: "New target", exact: true }).count(), 0);

      await page.getByRole("button", { name: "Dev servers", exact: true }).click();
      const create = page.getByRole("button", { name: "Create target shop" });
      await create.waitFor();
      assert.equal(await create.isDisabled(), true);
      assert.equal(await saves(page), 0);
    }));

  it("turns read-only when a save is refused because another Roundabout owns the config", () =>
    withApp({ config: { ...web(), targets: [...web().targets, { name: "api", match: { host: "api.localhost" }, upstreams: [] }] } }, async (page) => {
      await page.evaluate((why) => (window.__roundabout.runningElsewhere = why), WHY);
      await page.getByRole("switch", { name: "Upstream http://127.0.0.1:3001 on" }).click();
      const banner = page.getByRole("alert", { name: "Running elsewhere" });
      await banner.waitFor();
      assert.ok((await banner.innerText()).includes(WHY));
      assert.equal(await page.getByText("Something went wrong").count(), 0, "said once, in the banner");
      assert.equal((await saved(page)).length, 0);

      // Every editing control is off now, and nothing more is sent.
      await eventually(async () => assert.equal(await page.getByLabel("Add upstream URL").isDisabled(), true));
      assert.equal(await page.getByLabel("Target name").isDisabled(), true);
      assert.equal(await page.getByRole("switch", { name: "Sticky sessions" }).isDisabled(), true);
      assert.equal(await page.getByRole("switch", { name: "Listener main on" }).isDisabled(), true);
      assert.equal(await page.getByRole("button", { name: "Move api up" }).isDisabled(), true);
      assert.equal(await page.getByRole("button", { name: "Delete target api" }).count(), 0);
      const before = await saves(page);
      await page.getByRole("row", { name: "Upstream http://127.0.0.1:3002" }).focus();
      await page.keyboard.press("Delete");
      // Selecting another Target still works: it is only editing that is off.
      await page.getByRole("button", { name: /^api/ }).click();
      await eventually(async () => assert.equal(await page.getByLabel("Target name").inputValue(), "api"));
      assert.equal(await saves(page), before, "nothing was sent");
    }));
});
