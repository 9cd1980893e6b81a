// An in-memory backend with the same commands and shapes as the Tauri shell, built on @tauri-apps/api/mocks.
// Used by the browser tests (bundled and injected before the app loads) and by `npm run dev` outside Tauri.
// It validates like the engine for the cases the UI relies on; it is not the engine.
import { mockIPC } from "@tauri-apps/api/mocks";
import type {
  ApiError, AppState, Config, ConfigIssue, Digest, Event, FileProblem, HealthState, HttpsState,
  ListenerStatus, RequestEvent, Status, SuggestedPorts, TargetStatus, UpstreamConfig, UpstreamStatus,
} from "../types";
import { UNPRIVILEGED_PORTS, doctorChecks, untrustedHttps } from "./samples";

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
};

type Counters = Omit<UpstreamStatus, "url" | "label" | "enabled" | "loops_back" | "weight" | "health" | "open_connections" | "live">;

const DEMO_UPSTREAMS = ["http://127.0.0.1:38801", "http://127.0.0.1:38802", "http://127.0.0.1:38803"];

export function labelOf(url: string): string {
  return url.replace(/^[a-z]+:\/\//i, "").replace(/\/$/, "");
}

function portOf(bind: string): number {
  const m = /(\d+)$/.exec(bind);
  return m ? Number(m[1]) : 0;
}

export function validate(config: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (path: string, message: string) => issues.push({ path, message });
  const binds = new Set<string>();
  config.listeners.forEach((l, i) => {
    const m = /^(?:(\[[0-9a-f:.]+\]|[a-z0-9.-]+):)?(\d+)$/i.exec(l.bind.trim());
    const port = m ? Number(m[2]) : NaN;
    if (!m) add(`listeners[${i}].bind`, `"${l.bind}" is not an address; write a port like 8800 or an address like 127.0.0.1:8800`);
    else if (!(port >= 0 && port <= 65535)) add(`listeners[${i}].bind`, `port "${m[2]}" is out of range; use a number from 1 to 65535`);
    else if (binds.has(String(port))) add(`listeners[${i}].bind`, `127.0.0.1:${port} is already used by another listener`);
    binds.add(String(port));
    if (l.tls && l.redirect_https)
      add(`listeners[${i}].redirect_https`, 'an HTTPS listener cannot redirect to HTTPS; remove "redirect_https" (or "tls")');
  });
  const redirecting = config.listeners.findIndex((l) => l.redirect_https);
  if (redirecting >= 0 && !config.listeners.some((l) => l.tls))
    add(
      `listeners[${redirecting}].redirect_https`,
      'there is no listener with "tls": true to redirect to; add one, or remove "redirect_https"',
    );
  const names = new Set<string>();
  config.targets.forEach((t, i) => {
    const at = `targets[${i}]`;
    if (!t.name.trim()) add(`${at}.name`, "the name is empty; give the target a name");
    else if (names.has(t.name)) add(`${at}.name`, `two targets are named "${t.name}"; names must be unique`);
    names.add(t.name);
    const host = t.match.host;
    if (host === "*") add(`${at}.match.host`, `"*" would match every host; leave "host" out instead`);
    else if (host != null && !/^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*$/i.test(host))
      add(`${at}.match.host`, `"${host}" is not a host name; write one like app.localhost, or *.app.localhost for its subdomains`);
    for (const key of ["path", "path_prefix"] as const) {
      const p = t.match[key];
      if (p != null && !p.startsWith("/")) add(`${at}.match.${key}`, `"${key}" must start with "/"`);
    }
    if (t.match.path != null && t.match.path_prefix != null) add(`${at}.match`, `use either "path" or "path_prefix", not both`);
    for (const name of Object.keys(t.match.headers ?? {}))
      if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(name)) add(`${at}.match.headers.${name}`, `"${name}" is not a valid header name`);
    const whole = (path: string, v: number | undefined, lo: number, hi: number, unit = "") => {
      if (v !== undefined && !(Number.isInteger(v) && v >= lo && v <= hi))
        add(path, `${v} is out of range; use a whole number from ${lo} to ${hi}${unit}`);
    };
    const passive = t.health?.passive;
    whole(`${at}.health.passive.failures`, passive?.failures, 1, 1000);
    whole(`${at}.health.passive.cool_down_ms`, passive?.cool_down_ms, 1, 3_600_000, " ms");
    const active = t.health?.active;
    if (active) {
      if (!active.path.startsWith("/")) add(`${at}.health.active.path`, `"path" must start with "/", e.g. "/health"`);
      whole(`${at}.health.active.interval_ms`, active.interval_ms, 50, 3_600_000, " ms");
    }
    t.upstreams.forEach((u, j) => {
      const path = `${at}.upstreams[${j}].url`;
      const scheme = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(u.url);
      if (!scheme) add(path, `"${u.url}" has no scheme; write it like http://${u.url}`);
      else if (!/^https?$/i.test(scheme[1])) add(path, `scheme "${scheme[1]}" is not supported; use http or https`);
      else if (!scheme[2] || scheme[2].startsWith("/")) add(path, `"${u.url}" has no host`);
      if (u.weight !== undefined && !(Number.isInteger(u.weight) && u.weight >= 1 && u.weight <= 100))
        add(`${at}.upstreams[${j}].weight`, `${u.weight} is out of range; use a whole number from 1 to 100`);
    });
  });
  return issues;
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
  }

  handle(cmd: string, args: Record<string, unknown> = {}): unknown {
    this.calls.push({ cmd, args: cmd === "watch_events" ? {} : structuredClone(args) });
    switch (cmd) {
      case "get_state":
        return this.state();
      case "validate_config":
        return validate(args.config as Config);
      case "save_config": {
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
      running_elsewhere: null,
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
    const targets: TargetStatus[] = [];
    if (this.config.demo) {
      targets.push({
        name: "demo",
        matcher: "demo.localhost",
        builtin: true,
        live: false,
        strategy: "round_robin",
        upstreams: DEMO_UPSTREAMS.map((url) => this.#upstream("demo", { url })),
      });
    }
    for (const t of this.config.targets) {
      let matcher = t.match.host ?? "*";
      if (t.match.path_prefix) matcher += `${t.match.path_prefix.replace(/\/$/, "")}/*`;
      else if (t.match.path) matcher += t.match.path;
      targets.push({
        name: t.name,
        matcher,
        builtin: false,
        live: false,
        strategy: t.strategy ?? "round_robin",
        upstreams: t.upstreams.map((u) => this.#upstream(t.name, u)),
      });
    }
    return { listeners, targets, log_readers: 1 };
  }

  /** Counts a request on its Target's Upstream (by label) and queues its event for the next digest. */
  request(partial: Partial<RequestEvent> & { target: string | null }): void {
    const e: RequestEvent = {
      at_ms: Date.now(), listener: "main", method: "GET", host: "app.localhost", path: "/", upstream: null,
      status: 200, latency_us: 1200, error: null, failed: [], ...partial,
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

  #upstream(target: string, u: UpstreamConfig): UpstreamStatus {
    const url = u.url;
    const enabled = u.enabled !== false;
    const key = `${target}\u0000${url}`;
    let c = this.#counters.get(key);
    if (!c) {
      c = { requests: 0, failures: 0, in_flight: 0, last_status: null, last_latency_us: null };
      this.#counters.set(key, c);
    }
    const label = labelOf(url);
    const set = this.#health.get(`${target}\u0000${label}`);
    const health: HealthState = set?.health ?? (enabled ? { state: "healthy" } : { state: "disabled" });
    return {
      url, label, enabled, loops_back: false, weight: u.weight ?? 1, health, live: null,
      open_connections: set?.open ?? c.in_flight, ...c,
    };
  }

  #find(target: string, label: string): Counters | undefined {
    const urls = target === "demo" && this.config.demo
      ? DEMO_UPSTREAMS
      : (this.config.targets.find((t) => t.name === target)?.upstreams.map((u) => u.url) ?? []);
    const url = urls.find((u) => labelOf(u) === label);
    if (!url) return undefined;
    this.#upstream(target, { url });
    return this.#counters.get(`${target}\u0000${url}`);
  }
}

export function installMockBackend(opts: MockOptions = {}): MockBackend {
  const backend = new MockBackend(opts);
  mockIPC((cmd, args) => backend.handle(cmd, args as Record<string, unknown>));
  (window as unknown as { __roundabout: MockBackend }).__roundabout = backend;
  if (opts.ticker) startTicker(backend);
  return backend;
}

/** Demo traffic for `npm run dev`: a few requests a second, round-robin over the demo's upstreams. */
function startTicker(backend: MockBackend): void {
  let n = 0;
  const paths = ["/", "/api/items", "/api/items/42", "/assets/app.js", "/health"];
  setInterval(() => {
    if (backend.config.demo) {
      for (let i = 0; i < 1 + (n % 4); i++, n++) {
        const up = labelOf(DEMO_UPSTREAMS[n % 3]);
        backend.request({ target: "demo", host: "demo.localhost", upstream: up, path: paths[n % paths.length], latency_us: 300 + ((n * 7919) % 9000) });
      }
    }
    backend.flush();
  }, 500);
}
