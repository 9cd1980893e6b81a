// Small pure helpers shared by components: ports, times, latencies, status classes.

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
