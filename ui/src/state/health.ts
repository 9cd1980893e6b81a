// Upstream health as words: the badge in the upstream table and the health rows of the live log. Plain strings,
// shown as text only. The wording follows the CLI's (`127.0.0.1:3002 unhealthy after 3 failures …; retry in 10s`).
import type { HealthEvent, HealthState } from "../types";

/** Engine-style seconds: `800ms`, `10s`, `2.5s`. */
export function seconds(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${(ms / 1000).toFixed(1)}s`;
}

/** A countdown in whole seconds, rounded up: `9s`, `1m 05s`. */
export function countdown(ms: number): string {
  const s = Math.max(0, Math.ceil(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return `${m}m ${String(s % 60).padStart(2, "0")}s`;
}

/** The badge's text; `nowMs` drives the cool-down countdown of an unhealthy Upstream. */
export function healthLabel(h: HealthState, nowMs: number): string {
  switch (h.state) {
    case "healthy":
      return "healthy";
    case "failing":
      return `failing ${h.failures}/${h.threshold}`;
    case "unhealthy": {
      const left = h.retry_at_ms - nowMs;
      return left > 0 ? `unhealthy · retry in ${countdown(left)}` : "unhealthy · retry due";
    }
    case "probation":
      return "probation";
    case "disabled":
      return "disabled";
    case "draining":
      return `draining · ${h.open} open`;
  }
}

/** A longer explanation for the badge's tooltip. */
export function healthTitle(h: HealthState): string {
  switch (h.state) {
    case "healthy":
      return "Healthy: takes requests";
    case "failing":
      return `${h.failures} failed request(s) in a row; unhealthy at ${h.threshold}`;
    case "unhealthy":
      return `Skipped after ${h.failures} failure(s) in a row until the cool-down ends; then one request tests it`;
    case "probation":
      return "On probation: the next request tests it";
    case "disabled":
      return "Disabled: takes no requests";
    case "draining":
      return `Disabled: ${h.open} open connection(s) finishing`;
  }
}

/** One health event as a line: `127.0.0.1:3002 unhealthy after 3 failures (connection refused); retry in 10s`. */
export function healthLine(e: HealthEvent): string {
  const reason = e.reason ? ` (${e.reason})` : "";
  const u = e.upstream;
  const h = e.health;
  switch (h.state) {
    case "healthy":
      return `${u} healthy again${reason}`;
    case "failing":
      return `${u} failing ${h.failures}/${h.threshold}${reason}`;
    case "unhealthy":
      return `${u} unhealthy after ${h.failures} failure${h.failures === 1 ? "" : "s"}${reason}; retry in ${seconds(h.retry_in_ms)}`;
    case "probation":
      return `${u} on probation: the next request tests it`;
    case "disabled":
      return `${u} disabled`;
    case "draining":
      return `${u} draining: ${h.open} open connection(s) finishing`;
  }
}
