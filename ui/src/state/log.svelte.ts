// The live log: at most MAX_ROWS rows, newest first, with filters and pause. Rows hold request data as plain
// strings; components interpolate them as text only.
import type { Affinity, Event, FailedAttempt, HealthState } from "../types";
import { statusClass, type StatusClass } from "./format";
import { healthLine } from "./health";
import { liveLine } from "./live";

export const MAX_ROWS = 1000;

export type LogRow = RequestRow | HealthRow | LiveRow;

export type RequestRow = {
  kind: "request";
  id: number;
  atMs: number;
  method: string;
  host: string;
  path: string;
  target: string | null;
  upstream: string | null;
  status: number;
  latencyUs: number;
  /** Set when Roundabout answered itself (404 no match, 502 all failed, 508 loop). */
  error: string | null;
  failed: FailedAttempt[];
  /** Set when a pin or a sticky session chose the Upstream, not the balancer. */
  affinity: Affinity | null;
  klass: Exclude<StatusClass, "errors">;
};

/** A change in an Upstream's health, shown as one line of text. */
export type HealthRow = {
  kind: "health";
  id: number;
  atMs: number;
  target: string;
  upstream: string;
  state: HealthState["state"];
  text: string;
};

/** A live Upstream (`roundabout run`) joining or leaving its Target, shown as one line of text. */
export type LiveRow = {
  kind: "live";
  id: number;
  atMs: number;
  target: string;
  /** Its label, as request rows name it: `localhost:41234 (pid 4242)`. */
  upstream: string;
  joined: boolean;
  text: string;
};

export type LogFilter = { target: string; upstream: string; status: StatusClass | "" };

class LogStore {
  rows = $state.raw<LogRow[]>([]);
  /** Rows received while paused, shown on resume. */
  held = $state.raw<LogRow[]>([]);
  paused = $state(false);
  /** Events the backend dropped because the UI could not keep up (Digest.missed). */
  missed = $state(0);
  filter = $state<LogFilter>({ target: "", upstream: "", status: "" });
  #nextId = 1;

  visible = $derived(this.rows.filter((r) => this.#accepts(r)));
  targets = $derived([...new Set(this.rows.map((r) => r.target).filter((t): t is string => !!t))].sort());
  upstreams = $derived(
    [...new Set(this.rows.filter((r) => !this.filter.target || r.target === this.filter.target)
      .map((r) => r.upstream).filter((u): u is string => !!u))].sort(),
  );

  receive(events: Event[], missed: number): void {
    this.missed += missed;
    const fresh: LogRow[] = [];
    for (const e of events) {
      if (e.type === "health") {
        fresh.push({
          kind: "health", id: this.#nextId++, atMs: e.at_ms, target: e.target, upstream: e.upstream,
          state: e.health.state, text: healthLine(e),
        });
        continue;
      }
      if (e.type === "live") {
        fresh.push({
          kind: "live", id: this.#nextId++, atMs: e.at_ms, target: e.upstream.target, upstream: e.label,
          joined: e.joined, text: liveLine(e),
        });
        continue;
      }
      if (e.type !== "request") continue;
      fresh.push({
        kind: "request",
        id: this.#nextId++,
        atMs: e.at_ms,
        method: e.method,
        host: e.host,
        path: e.path,
        target: e.target,
        upstream: e.upstream,
        status: e.status,
        latencyUs: e.latency_us,
        error: e.error,
        failed: e.failed,
        affinity: e.affinity ?? null,
        klass: statusClass(e.status),
      });
    }
    if (fresh.length === 0) return;
    fresh.reverse();
    if (this.paused) this.held = [...fresh, ...this.held].slice(0, MAX_ROWS);
    else this.rows = [...fresh, ...this.rows].slice(0, MAX_ROWS);
  }

  setPaused(paused: boolean): void {
    this.paused = paused;
    if (!paused && this.held.length > 0) {
      this.rows = [...this.held, ...this.rows].slice(0, MAX_ROWS);
      this.held = [];
    }
  }

  clear(): void {
    this.rows = [];
    this.held = [];
    this.missed = 0;
  }

  #accepts(r: LogRow): boolean {
    const f = this.filter;
    if (f.target && r.target !== f.target) return false;
    if (r.kind !== "request") return !(f.upstream && r.upstream !== f.upstream) && !f.status;
    if (f.upstream && r.upstream !== f.upstream && !r.failed.some((a) => a.upstream === f.upstream)) return false;
    if (f.status === "errors") return r.error !== null;
    if (f.status && r.klass !== f.status) return false;
    return true;
  }
}

export const log = new LogStore();
