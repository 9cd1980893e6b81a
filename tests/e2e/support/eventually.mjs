// Polling instead of sleeping: the app, the file watcher and the event stream are asynchronous, so a test waits
// for the state it expects, with a deadline, and fails with the last reason it was not there yet.
import { setTimeout as delay } from "node:timers/promises";

/**
 * Calls `fn` until it returns without throwing (its result is returned), or throws the last error once `timeout`
 * ms have passed (at once if it throws an error marked `fatal`). `fn` should assert; an assertion error explains the failure far better than "timed out".
 */
export async function eventually(fn, { timeout = 10_000, interval = 100, what = "condition" } = {}) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      return await fn();
    } catch (e) {
      if (e?.fatal) throw e; // e.g. the process being waited for died: no point in waiting longer.
      last = e;
    }
    if (Date.now() >= deadline) break;
    // Pacing between attempts only, never a wait for something to have happened.
    await delay(interval);
  }
  const err = new Error(`${what} not reached within ${timeout} ms: ${last?.message ?? last}`);
  err.cause = last;
  throw err;
}
