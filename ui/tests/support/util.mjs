// Small helpers for driving the mock backend from tests.
import assert from "node:assert/strict";

/** Retries `check` until it stops throwing (default 3 s); the last failure is rethrown. */
export async function eventually(check, timeoutMs = 3000) {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (e) {
      if (Date.now() > end) throw e;
      await new Promise((ok) => setTimeout(ok, 25));
    }
  }
}

/** Configs save_config accepted so far. */
export const saved = (page) => page.evaluate(() => window.__roundabout.saved);
/** Every command the app sent, in order. */
export const calls = (page) => page.evaluate(() => window.__roundabout.calls);

/** Counts requests in the mock's counters and sends them, with the current status, as one Digest. */
export async function pushRequests(page, requests, extra = {}) {
  await page.evaluate(({ requests, extra }) => {
    const mock = window.__roundabout;
    for (const r of requests) mock.request(r);
    for (const e of extra.events ?? []) mock.event(e);
    if (extra.drop) mock.drop();
    mock.flush();
  }, { requests, extra });
}

export async function lastSaved(page) {
  const all = await saved(page);
  assert.ok(all.length > 0, "nothing was saved");
  return all[all.length - 1];
}

export const web = (upstreams = ["http://127.0.0.1:3001", "http://127.0.0.1:3002", "http://127.0.0.1:3003"]) => ({
  version: 1,
  demo: false,
  listeners: [{ name: "main", bind: "8800" }],
  targets: [{ name: "web", match: { host: "web.localhost" }, upstreams: upstreams.map((url) => ({ url })) }],
});
