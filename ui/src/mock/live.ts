// What the mock does with dev servers: live Upstreams (`roundabout run`) merged into the Targets as the engine
// merges them, the pin links an exact host gets, and which discovered dev servers no Target uses yet.
import type { Config, DevServer, ListenerStatus, LiveUpstream } from "../types";

/** `127.0.0.1:3001` from `http://127.0.0.1:3001/`: the label the log and counters use. */
export function labelOf(url: string): string {
  return url.replace(/^[a-z]+:\/\//i, "").replace(/\/$/, "");
}

/** A live Upstream's label, as the engine makes it: `localhost:41234 (pid 4242)`. */
export function liveLabel(live: LiveUpstream): string {
  return `${labelOf(live.url)} (pid ${live.pid})`;
}

/** The live Upstreams of Targets the config does not name, by Target, in the order they first joined. */
export function liveOnly(config: Config, live: LiveUpstream[]): Map<string, LiveUpstream[]> {
  const out = new Map<string, LiveUpstream[]>();
  for (const l of live) {
    if (config.targets.some((t) => t.name === l.target)) continue;
    out.set(l.target, [...(out.get(l.target) ?? []), l]);
  }
  return out;
}

/** Where pin links point: the first running plain Listener, else the first running HTTPS one. */
export function pinOrigin(listeners: ListenerStatus[]): { scheme: "http" | "https"; port: number } | null {
  const running = listeners.filter((l) => l.state === "running" && l.serves !== "redirect_to_https");
  const l = running.find((x) => x.serves === "http") ?? running[0];
  const port = l ? Number(/(\d+)$/.exec(l.addresses[0] ?? "")?.[1]) : NaN;
  if (!l || !Number.isInteger(port)) return null;
  return { scheme: l.serves === "https" ? "https" : "http", port };
}

/** A Target's pin links and where to open it (TargetStatus.url), or nulls when it has no exact host or no Listener runs. */
export function pinLinks(host: string | null | undefined, origin: ReturnType<typeof pinOrigin>) {
  if (!origin || !host || host.includes("*")) return { pin: () => null, unpin: null, open: null };
  const standard = origin.scheme === "https" ? 443 : 80;
  const open = `${origin.scheme}://${host}${origin.port === standard ? "" : `:${origin.port}`}/`;
  const base = `${open}.roundabout`;
  return { pin: (url: string): string | null => `${base}/pin/${labelOf(url)}`, unpin: `${base}/unpin`, open };
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "[::1]"]);

/** The dev servers whose port no Upstream on a loopback host and no Listener uses (what `discover` answers). */
export function unused(servers: DevServer[], upstreamUrls: string[], listenerPorts: number[]): DevServer[] {
  const used = new Set<number>(listenerPorts);
  for (const url of upstreamUrls) {
    try {
      const u = new URL(url);
      if (LOOPBACK.has(u.hostname)) used.add(Number(u.port || (u.protocol === "https:" ? 443 : 80)));
    } catch {
      // Not a URL: no port to take.
    }
  }
  return servers.filter((s) => !used.has(s.port));
}
