// Small pure helpers shared by components: ports, URLs, times, latencies, status classes.
import type { ListenerConfig } from "../types";

/** The port of a bind value: `8800`, `127.0.0.1:8800`, `[::1]:8800`, or an address `127.0.0.1:8800`. */
export function portOf(bind: string): number | null {
  const m = /(?:^|:)(\d{1,5})$/.exec(bind.trim());
  if (!m) return null;
  const n = Number(m[1]);
  return n >= 0 && n <= 65535 ? n : null;
}

/** A bind value from the add-listener form: a bare port, or `address:port` (`[v6]:port` for IPv6). */
export function bindOf(port: string, address: string): string {
  const p = port.trim();
  const a = address.trim();
  if (!a) return p;
  return a.includes(":") && !a.startsWith("[") ? `[${a}]:${p}` : `${a}:${p}`;
}

/** What a Listener serves: plain http, https (`tls`), or http answering every request with a redirect to https. */
export type ListenerMode = "http" | "https" | "redirect";

export function modeOf(listener: ListenerConfig | undefined): ListenerMode {
  if (listener?.tls) return "https";
  return listener?.redirect_https ? "redirect" : "http";
}

/** `scheme://host:port`, leaving out the port a browser assumes (80 for http, 443 for https). */
export function siteUrl(scheme: "http" | "https", host: string, port: number): string {
  const standard = scheme === "https" ? 443 : 80;
  return port === standard ? `${scheme}://${host}` : `${scheme}://${host}:${port}`;
}

export function clockTime(ms: number): string {
  const d = new Date(ms);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function latency(us: number | null | undefined): string {
  if (us == null) return "—";
  if (us < 1000) return `${us} µs`;
  if (us < 10_000) return `${(us / 1000).toFixed(1)} ms`;
  if (us < 1_000_000) return `${Math.round(us / 1000)} ms`;
  return `${(us / 1_000_000).toFixed(2)} s`;
}

export type StatusClass = "2xx" | "3xx" | "4xx" | "5xx" | "errors";
export const STATUS_CLASSES: StatusClass[] = ["2xx", "3xx", "4xx", "5xx", "errors"];

export function statusClass(status: number): Exclude<StatusClass, "errors"> {
  if (status >= 500) return "5xx";
  if (status >= 400) return "4xx";
  if (status >= 300) return "3xx";
  return "2xx";
}

export function percent(part: number, whole: number): number {
  return whole > 0 ? (part / whole) * 100 : 0;
}
