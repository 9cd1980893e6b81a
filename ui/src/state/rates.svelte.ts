// Requests per second per Target over the last minute, from counter deltas between Digests (log rows may be
// capped or dropped; the counters are not).
import type { Status } from "../types";

export const WINDOW_S = 60;

class RateStore {
  /** Latest digest time in whole seconds; the sparkline's right edge. */
  nowSec = $state(0);
  /** Bumped on every digest so readers of the plain maps below re-run. */
  version = $state(0);
  #totals = new Map<string, number>();
  #buckets = new Map<string, Map<number, number>>();

  /** Counters as they stand before any digest (from get_state): history we did not see is not a rate. */
  baseline(status: Status): void {
    for (const t of status.targets) {
      if (!this.#totals.has(t.name)) this.#totals.set(t.name, t.upstreams.reduce((sum, u) => sum + u.requests, 0));
    }
  }

  record(atMs: number, status: Status): void {
    const sec = Math.floor(atMs / 1000);
    for (const t of status.targets) {
      const total = t.upstreams.reduce((sum, u) => sum + u.requests, 0);
      const prev = this.#totals.get(t.name);
      this.#totals.set(t.name, total);
      // A Target first seen here is new (its counters started at 0); a drop means they restarted.
      const delta = total < (prev ?? 0) ? 0 : total - (prev ?? 0);
      let buckets = this.#buckets.get(t.name);
      if (!buckets) this.#buckets.set(t.name, (buckets = new Map()));
      buckets.set(sec, (buckets.get(sec) ?? 0) + delta);
      for (const s of buckets.keys()) if (s <= sec - WINDOW_S) buckets.delete(s);
    }
    this.nowSec = Math.max(this.nowSec, sec);
    this.version++;
  }

  /** Requests in each of the last 60 seconds, oldest first. */
  series(target: string): number[] {
    void this.version;
    const buckets = this.#buckets.get(target);
    const out: number[] = [];
    for (let s = this.nowSec - WINDOW_S + 1; s <= this.nowSec; s++) out.push(buckets?.get(s) ?? 0);
    return out;
  }
}

export const rates = new RateStore();
