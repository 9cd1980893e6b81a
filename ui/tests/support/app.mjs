// One browser per test file, and `withApp` to open the app in a fresh context for one test: the test body runs,
// then nothing may have gone wrong in the page (console errors, page errors, CSP violations, dialogs).
import assert from "node:assert/strict";
import { after, before } from "node:test";
import { start } from "./harness.mjs";

/** Registers the file's before/after hooks; returns withApp(options, body, contextOptions). */
export function useApp() {
  let env;
  before(async () => { env = await start(); });
  after(async () => { await env?.stop(); });

  return async function withApp(options, body, contextOptions) {
    const { page, context, problems } = await env.open(options, contextOptions);
    try {
      await body(page);
      assert.deepEqual(await problems(), []);
    } finally {
      await context.close();
    }
  };
}
