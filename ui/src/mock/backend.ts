// An in-memory backend with the same commands and shapes as the Tauri shell, built on @tauri-apps/api/mocks.
// Used by the browser tests (bundled and injected before the app loads) and by `npm run dev` outside Tauri.
// It validates like the engine for the cases the UI relies on; it is not the engine.
import { mockIPC } from "@tauri-apps/api/mocks";
import type {
  ApiError, AppState, Config, DevServer, Digest, Event, FileProblem, HealthState, HttpsState, ListenerStatus,
  LiveUpstream, RequestEvent, Status, SuggestedPorts, TargetStatus, UpstreamConfig, UpstreamStatus,
} from "../types";
import { labelOf, liveLabel, liveOnly, pinLinks, pinOrigin, unused } from "./live";
import { DEMO_UPSTREAMS, DEV_SERVERS, UNPRIVILEGED_PORTS, doctorChecks, untrustedHttps } from "./samples";
import { startTicker } from "./ticker";
import { validate } from "./validate";

export type MockOptions = {
  /** Start with the built-in demo on. */
  demo?: boolean;
  config?: Config;
  fileProblem?: FileProblem | null;
  /** Binds that fail with "already in use" when started. */
  busy?: string[];
  /** Generate demo traffic (for `npm run dev`). */
  ticker?: boolean;
  /** AppState.first_run: the note of a run that created the config. */
  firstRun?: string | null;
  /** What https_state answers (default: a CA trusted nowhere yet, one store unavailable). */
  https?: HttpsState;
  /** When set, https_state and trust_ca reject with this message. */
  httpsFails?: string;
  /** What suggested_ports answers (default: 8800 and 8443, with why 80 and 443 are not available). */
  ports?: SuggestedPorts;
  /** Live Upstreams (`roundabout run`) joined before the app opened. */
  live?: LiveUpstream[];
  /** What discover finds before leaving out ports a Target uses (default: DEV_SERVERS, one of them on ::1). */
  devServers?: DevServer[];
  /** When set, discover rejects with this message. */
  discoverFails?: string;
  /**
   * AppState.running_elsewhere: `roundabout serve` owns the config. As in the shell, the app then runs an empty
   * config (any `config` given is ignored), and refuses every change with this message.
   */
  runningElsewhere?: string;
  /** What keep_serving_note answers until dismissed (default null: already dismissed, or closing quits). */
  keepServingNote?: string | null;
  /** When set, dismiss_keep_serving_note rejects with this message (and the note stays). */
  dismissNoteFails?: string;
};

type Counters = Omit<
  UpstreamStatus, "url" | "label" | "enabled" | "loops_back" | "weight" | "health" | "open_connections" | "live" | "pin_url"
>;

function portOf(bind: string): number {
  const m = /(\d+)$/.exec(bind);
  return m ? Number(m[1]) : 0;
}

export class MockBackend {
  config: Config;
  fileProblem: FileProblem | null;
  busy: Set<string>;
  firstRun: string | null;
  /** The CA and its stores as https_state reports them; trust_ca trusts every not_trusted store. */
  https: HttpsState;
  httpsFails: string | null;
  ports: SuggestedPorts;
  /** Live Upstreams in the order they joined; join() and leave() change them and send their events. */
  live: LiveUpstream[];
  /** What discover finds on the machine; it answers those whose port no Target uses. */
  devServers: DevServer[];
  /** While set, discover rejects with this message (a scan that failed). */
  discoverFails: string | null;
  /** While set, save_config and set_listener_enabled are refused with this message (code running_elsewhere). */
  runningElsewhere: string | null;
  /** What keep_serving_note answers; dismiss_keep_serving_note clears it (calls records each dismissal). */
  keepServingNote: string | null;
  /** While set, dismiss_keep_serving_note rejects with this message. */
  dismissNoteFails: string | null;
  /** Every config save_config accepted, in order. */
  saved: Config[] = [];
  /** Every command, in order, with its arguments (channels left out). */
  calls: { cmd: string; args: unknown }[] = [];
  #counters = new Map<string, Counters>();
  /** Health set by tests (setHealth), by Target and Upstream label; otherwise healthy, or disabled when off. */
  #health = new Map<string, { health: HealthState; open: number }>();
  #pending: Event[] = [];
  #missed = 0;
  #channel: { id: number } | null = null;
  #index = 0;
  /** While set (holdTrust), trust_ca waits for releaseTrust, as the real one waits for the password dialog. */
  #trustHeld: { promise: Promise<void>; release: () => void } | null = null;

  constructor(opts: MockOptions) {
    this.config = opts.config ? structuredClone(opts.config) : {
      version: 1,
      demo: opts.demo ?? true,
      listeners: [{ bind: "8800", name: "main" }],
      targets: [],
    };
    if (opts.demo !== undefined) this.config.demo = opts.demo;
    this.fileProblem = opts.fileProblem ?? null;
    this.busy = new Set(opts.busy ?? []);
    this.firstRun = opts.firstRun ?? null;
    this.https = opts.https ?? untrustedHttps();
    this.httpsFails = opts.httpsFails ?? null;
    this.ports = opts.ports ?? UNPRIVILEGED_PORTS;
    this.live = structuredClone(opts.live ?? []);
    this.devServers = structuredClone(opts.devServers ?? DEV_SERVERS);
    this.discoverFails = opts.discoverFails ?? null;
    this.runningElsewhere = opts.runningElsewhere ?? null;
    this.keepServingNote = opts.keepServingNote ?? null;
    this.dismissNoteFails = opts.dismissNoteFails ?? null;
    if (this.runningElsewhere) {
      this.config = { version: 1, demo: false, listeners: [], targets: [] };
      this.live = [];
    }
  }

  handle(cmd: string, args: Record<string, unknown> = {}): unknown {
    this.calls.push({ cmd, args: cmd === "watch_events" ? {} : structuredClone(args) });
    switch (cmd) {
      case "get_state":
        return this.state();
      case "validate_config":
        return validate(args.config as Config);
      case "save_config": {
        this.#refuseIfElsewhere();
        const config = structuredClone(args.config as Config);
        const issues = validate(config);
        if (issues.length > 0) {
          const err: ApiError = { code: "invalid_config", message: `the config has ${issues.length} problem(s)`, issues };
          throw err;
        }
        this.config = config;
        this.saved.push(structuredClone(config));
        const keptAside = this.fileProblem?.kept_aside ?? null;
        this.fileProblem = null;
        this.#pending.push({ type: "config_applied", source: "app", listeners: config.listeners.length, targets: config.targets.length });
        return { status: this.status(), kept_aside: keptAside };
      }
      case "set_listener_enabled": {
        this.#refuseIfElsewhere();
        const l = this.config.listeners.find((x) => (x.name ?? x.bind) === args.name);
        if (!l) throw { code: "not_found", message: `no listener named "${String(args.name)}"`, issues: [] } satisfies ApiError;
        l.enabled = Boolean(args.enabled);
        return this.state();
      }
      case "watch_events":
        this.#channel = args.channel as { id: number };
        return null;
      case "digest_shown":
        return null;
      case "https_state":
        this.#failIfAsked();
        return this.#httpsState(false);
      case "trust_ca":
        return this.#trust();
      case "suggested_ports":
        return { ...this.ports };
      case "discover":
        return this.#discover();
      case "keep_serving_note":
        return this.keepServingNote;
      case "dismiss_keep_serving_note":
        if (this.dismissNoteFails) throw { code: "internal", message: this.dismissNoteFails, issues: [] } satisfies ApiError;
        this.keepServingNote = null;
        return null;
      case "doctor":
        return doctorChecks(this.config, this.#httpsState(false).stores.every((s) => s.state === "trusted"));
      default:
        throw { code: "unknown_command", message: `unknown command ${cmd}`, issues: [] } satisfies ApiError;
    }
  }

  state(): AppState {
    return {
      config: structuredClone(this.config),
      status: this.status(),
      config_path: "/home/dev/.config/roundabout/config.json",
      file_problem: this.fileProblem,
      first_run: this.firstRun,
      running_elsewhere: this.runningElsewhere,
    };
  }

  status(): Status {
    const listeners: ListenerStatus[] = this.config.listeners.map((l) => {
      const enabled = l.enabled !== false;
      const port = portOf(l.bind);
      const failed = enabled && this.busy.has(l.bind);
      return {
        name: l.name ?? l.bind,
        bind: l.bind,
        enabled,
        state: !enabled ? "stopped" : failed ? "failed" : "running",
        addresses: enabled && !failed ? [`127.0.0.1:${port}`] : [],
        error: failed ? `127.0.0.1:${port} is already in use; stop the program using it or choose another port` : null,
        exposed: /^0\.0\.0\.0:|^\[::\]:/.test(l.bind),
        serves: l.tls ? "https" : l.redirect_https ? "redirect_to_https" : "http",
      };
    });
    const origin = pinOrigin(listeners);
    const targets: TargetStatus[] = [];
    if (this.config.demo) {
      const pins = pinLinks("demo.localhost", origin);
      targets.push({
        name: "demo", matcher: "demo.localhost", builtin: true, live: false, strategy: "round_robin",
        upstreams: DEMO_UPSTREAMS.map((url) => this.#upstream("demo", { url }, null, pins.pin(url))),
        unpin_url: pins.unpin, url: pins.open,
      });
    }
    for (const t of this.config.targets) {
      let matcher = t.match.host ?? "*";
      if (t.match.path_prefix) matcher += `${t.match.path_prefix.replace(/\/$/, "")}/*`;
      else if (t.match.path) matcher += t.match.path;
      const pins = pinLinks(t.match.host, origin);
      // Live Upstreams join after the configured ones; a URL the config already has is not added twice.
      const joined = this.live.filter((l) => l.target === t.name && !t.upstreams.some((u) => u.url === l.url));
      targets.push({
        name: t.name, matcher, builtin: false, live: false, strategy: t.strategy ?? "round_robin",
        upstreams: [
          ...t.upstreams.map((u) => this.#upstream(t.name, u, null, pins.pin(u.url))),
          ...joined.map((l) => this.#upstream(t.name, { url: l.url }, l, pins.pin(l.url))),
        ],
        unpin_url: pins.unpin, url: pins.open,
      });
    }
    for (const [name, joined] of liveOnly(this.config, this.live)) {
      const pins = pinLinks(`${name}.localhost`, origin);
      targets.push({
        name, matcher: `${name}.localhost`, builtin: false, live: true, strategy: "round_robin",
        upstreams: joined.map((l) => this.#upstream(name, { url: l.url }, l, pins.pin(l.url))),
        unpin_url: pins.unpin, url: pins.open,
      });
    }
    return { listeners, targets, log_readers: 1 };
  }

  /** Counts a request on its Target's Upstream (by label) and queues its event for the next digest. */
  request(partial: Partial<RequestEvent> & { target: string | null }): void {
    const e: RequestEvent = {
      at_ms: Date.now(), listener: "main", method: "GET", host: "app.localhost", path: "/", upstream: null,
      status: 200, latency_us: 1200, error: null, failed: [], affinity: null, ...partial,
    };
    if (e.target && e.upstream) {
      const c = this.#find(e.target, e.upstream);
      if (c) {
        c.requests++;
        c.last_status = e.status;
        c.last_latency_us = e.latency_us;
      }
    }
    for (const f of e.failed) {
      if (e.target) {
        const c = this.#find(e.target, f.upstream);
        if (c) c.failures++;
      }
    }
    this.#pending.push({ type: "request", ...e });
  }

  /** Queues any event (config_applied from a file, config_rejected…). */
  event(e: Event): void {
    this.#pending.push(e);
  }

  /** A dev server joins its Target (created as NAME.localhost when the config has none), as `roundabout run` does. */
  join(live: LiveUpstream, atMs = Date.now()): void {
    this.live.push(structuredClone(live));
    this.#pending.push({ type: "live", at_ms: atMs, joined: true, label: liveLabel(live), upstream: live, reason: null });
  }

  /** The live Upstream at `url` leaves (its command exited, or run was stopped); a Target only it made goes too. */
  leave(url: string, reason: string | null, atMs = Date.now()): void {
    const gone = this.live.find((l) => l.url === url);
    if (!gone) return;
    this.live = this.live.filter((l) => l !== gone);
    this.#pending.push({ type: "live", at_ms: atMs, joined: false, label: liveLabel(gone), upstream: gone, reason });
  }

  /** Sets an Upstream's reported health (and open connections) until set again; `null` goes back to the default. */
  setHealth(target: string, label: string, health: HealthState | null, open = 0): void {
    if (health) this.#health.set(`${target}\u0000${label}`, { health, open });
    else this.#health.delete(`${target}\u0000${label}`);
  }

  /** Makes the next trust_ca calls wait until releaseTrust(), like a password dialog left open. */
  holdTrust(): void {
    let release = () => {};
    const promise = new Promise<void>((ok) => (release = ok));
    this.#trustHeld = { promise, release };
  }

  releaseTrust(): void {
    this.#trustHeld?.release();
    this.#trustHeld = null;
  }

  miss(n: number): void {
    this.#missed += n;
  }

  /** Drops the queued request events as the shell does when the UI falls behind: counters keep them, rows do not. */
  drop(): void {
    const kept = this.#pending.filter((e) => e.type !== "request");
    this.#missed += this.#pending.length - kept.length;
    this.#pending = kept;
  }

  /** Sends one Digest with the queued events and current counters. */
  flush(atMs = Date.now()): Digest | null {
    if (!this.#channel) return null;
    const digest: Digest = { at_ms: atMs, events: this.#pending, missed: this.#missed, status: this.status() };
    this.#pending = [];
    this.#missed = 0;
    const internals = (window as unknown as { __TAURI_INTERNALS__: { runCallback: (id: number, data: unknown) => void } })
      .__TAURI_INTERNALS__;
    internals.runCallback(this.#channel.id, { index: this.#index++, message: digest });
    return digest;
  }

  /** The dev servers no Upstream and no Listener of ours uses, as the shell's discover answers. */
  #discover(): DevServer[] {
    if (this.discoverFails) throw { code: "discovery_failed", message: this.discoverFails, issues: [] } satisfies ApiError;
    const status = this.status();
    const urls = status.targets.flatMap((t) => t.upstreams.map((u) => u.url));
    return structuredClone(unused(this.devServers, urls, this.config.listeners.map((l) => portOf(l.bind))));
  }

  #refuseIfElsewhere(): void {
    if (this.runningElsewhere) throw { code: "running_elsewhere", message: this.runningElsewhere, issues: [] } satisfies ApiError;
  }

  #failIfAsked(): void {
    if (this.httpsFails) throw { code: "internal", message: this.httpsFails, issues: [] } satisfies ApiError;
  }

  /** The stores as the status reports them (no note but an unavailable store's reason), or after trusting. */
  #httpsState(trusting: boolean): HttpsState {
    const stores = this.https.stores.map((row) => {
      if (row.state === "unavailable") return { ...row };
      if (!trusting) return { ...row, note: "" };
      return { ...row, state: "trusted", note: row.state === "trusted" ? "already trusted" : "installed" };
    });
    this.https = { ...this.https, stores };
    return structuredClone(this.https);
  }

  async #trust(): Promise<HttpsState> {
    await this.#trustHeld?.promise;
    this.#failIfAsked();
    return this.#httpsState(true);
  }

  #upstream(target: string, u: UpstreamConfig, live: LiveUpstream | null = null, pin: string | null = null): UpstreamStatus {
    const url = u.url;
    const enabled = u.enabled !== false;
    const key = `${target}\u0000${url}`;
    let c = this.#counters.get(key);
    if (!c) {
      c = { requests: 0, failures: 0, in_flight: 0, last_status: null, last_latency_us: null };
      this.#counters.set(key, c);
    }
    const label = live ? liveLabel(live) : labelOf(url);
    const set = this.#health.get(`${target}\u0000${label}`);
    const health: HealthState = set?.health ?? (enabled ? { state: "healthy" } : { state: "disabled" });
    return {
      url, label, enabled, loops_back: false, weight: u.weight ?? 1, health, live, pin_url: pin,
      open_connections: set?.open ?? c.in_flight, ...c,
    };
  }

  #find(target: string, label: string): Counters | undefined {
    const urls = target === "demo" && this.config.demo
      ? DEMO_UPSTREAMS
      : (this.config.targets.find((t) => t.name === target)?.upstreams.map((u) => u.url) ?? []);
    const joined = this.live.find((l) => l.target === target && liveLabel(l) === label);
    const url = joined?.url ?? urls.find((u) => labelOf(u) === label);
    if (!url) return undefined;
    this.#upstream(target, { url });
    return this.#counters.get(`${target}\u0000${url}`);
  }
}

/** Answers this window's Tauri IPC from a new MockBackend, reachable by tests as `window.__roundabout`. */
export function installMockBackend(opts: MockOptions = {}): MockBackend {
  const backend = new MockBackend(opts);
  mockIPC((cmd, args) => backend.handle(cmd, args as Record<string, unknown>));
  (window as unknown as { __roundabout: MockBackend }).__roundabout = backend;
  if (opts.ticker) startTicker(backend);
  return backend;
}
