// Closing the desktop window keeps Roundabout serving from the tray: the backend's note says so once, in a quiet
// banner, until the user clicks "Got it" (the backend then never sends it again).
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { useApp } from "./support/app.mjs";
import { calls, eventually, web } from "./support/util.mjs";

const withApp = useApp();
const NOTE =
  "Closing this window keeps Roundabout serving your routes from the tray (menu bar icon); Quit is there. To quit " +
  "when the window closes instead, untick “Keep serving when the window closes” in the tray menu.";
const sent = async (page, cmd) => (await calls(page)).filter((c) => c.cmd === cmd).length;
const banner = (page) => page.getByRole("region", { name: "Keep serving" });

describe("keep serving from the tray", () => {
  it("shows the backend's note as text, not as an alert", () =>
    withApp({ config: web(), keepServingNote: `${NOTE} <b>bold</b>` }, async (page) => {
      await banner(page).waitFor();
      assert.equal(await banner(page).locator(".body").innerText(), `${NOTE} <b>bold</b>`);
      assert.equal(await banner(page).locator("b").count(), 0, "the note is shown as text");
      assert.equal(await page.getByRole("alert").count(), 0, "informational, not alarming");
      assert.equal(await sent(page, "keep_serving_note"), 1);
      assert.equal(await sent(page, "dismiss_keep_serving_note"), 0, "not dismissed until the user says so");
    }));

  it("calls dismiss once on Got it and hides the banner", () =>
    withApp({ config: web(), keepServingNote: NOTE }, async (page) => {
      await banner(page).getByRole("button", { name: "Got it" }).click();
      await eventually(async () => assert.equal(await banner(page).count(), 0));
      assert.equal(await sent(page, "dismiss_keep_serving_note"), 1);
      assert.equal(await page.evaluate(() => window.__roundabout.keepServingNote), null);
      assert.equal(await page.getByText("Something went wrong").count(), 0);
    }));

  it("shows no banner when the backend has no note", () =>
    withApp({ config: web(), keepServingNote: null }, async (page) => {
      await eventually(async () => assert.equal(await sent(page, "keep_serving_note"), 1));
      // The answer (null) is applied within a frame or two of the call.
      await page.evaluate(() => new Promise((ok) => requestAnimationFrame(() => requestAnimationFrame(ok))));
      assert.equal(await banner(page).count(), 0);
      assert.equal(await page.getByText("Closing this window").count(), 0);
    }));

  it("keeps the banner and says what went wrong when dismissing fails", () =>
    withApp({ config: web(), keepServingNote: NOTE, dismissNoteFails: "could not write the tray settings" }, async (page) => {
      await banner(page).getByRole("button", { name: "Got it" }).click();
      const failure = page.getByRole("alert").filter({ hasText: "Something went wrong" });
      await failure.waitFor();
      assert.match(await failure.innerText(), /could not write the tray settings/);
      assert.equal(await banner(page).count(), 1, "the note stays until it is dismissed");
      assert.equal(await sent(page, "dismiss_keep_serving_note"), 1);
    }));
});
