// The app's state as runes: the applied config and status from the backend, the issues of the drafts the user is
// typing, and the edit pipeline (validate → save) every change goes through.
import { api } from "../api";
import type {
  ApiError, AppState, Config, ConfigIssue, Digest, FileProblem, ListenerConfig, Status, TargetConfig,
} from "../types";
import { issuesAt } from "./issues";
import { log } from "./log.svelte";
import { rates } from "./rates.svelte";

/**
 * What the main pane shows: the built-in demo, a config Target by index, a live-only Target by name (it has no
 * index: it is not in the config), or the new-target form.
 */
export type Selection =
  | { kind: "demo" } | { kind: "target"; index: number } | { kind: "live"; name: string } | { kind: "new" } | null;

export type Rejected = { source: string; issues: ConfigIssue[] };

type Mutation = (config: Config) => void;

const VALIDATE_DELAY_MS = 200;

class AppStore {
  /** The config the engine runs; drafts that failed validation never get here. */
  config = $state<Config | null>(null);
  /** Replaced whole by every digest (20 a second under load), never edited in place: no deep proxy needed. */
  status = $state.raw<Status | null>(null);
  configPath = $state("");
  fileProblem = $state<FileProblem | null>(null);
  /** The last config file edit the engine refused (the previous config keeps serving). */
  rejected = $state<Rejected | null>(null);
  /** Where an unreadable config file was copied before the app replaced it. */
  keptAside = $state<string | null>(null);
  /** The note of a run that created the config (where it is, what to open, why these ports); null once dismissed. */
  firstRun = $state<string | null>(null);
  /**
   * Set when another Roundabout (`roundabout serve`) owns the config file: why, and what to do. The app then
   * serves nothing and every change is refused, so editing is off (readOnly) and the banner says this.
   */
  runningElsewhere = $state<string | null>(null);
  /** The note that closing the window keeps Roundabout serving from the tray; null once dismissed, or not to show. */
  keepServingNote = $state<string | null>(null);
  /** An error that is not about a field (backend gone, I/O…). */
  failure = $state<string | null>(null);
  loaded = $state(false);
  selection = $state<Selection>(null);
  /** Issues by the draft (origin) that produced them, so fixing one field does not hide another's. */
  drafts = $state<Record<string, ConfigIssue[]>>({});
  /** Bumped when the config changes under the fields (outside edit, reorder, delete): drafts are dropped. */
  generation = $state(0);

  issues = $derived(Object.values(this.drafts).flat());
  builtinTargets = $derived(this.status?.targets.filter((t) => t.builtin) ?? []);
  demoOn = $derived(this.config?.demo === true);
  /** Targets that exist only for live Upstreams (`roundabout run`): shown, never edited or saved. */
  liveTargets = $derived(this.status?.targets.filter((t) => t.live) ?? []);
  /** Nothing may be changed: controls are disabled and edits are not sent. */
  readOnly = $derived(this.runningElsewhere !== null);

  #firstRunDismissed = false;
  #dismissingNote = false;
  #queue: Promise<unknown> = Promise.resolve();
  #timers = new Map<string, ReturnType<typeof setTimeout>>();

  async start(): Promise<void> {
    // Alongside the state, not before it: the note never holds up (or fails) loading the config.
    api.keepServingNote().then(
      (note) => (this.keepServingNote = note),
      (e: ApiError) => (this.failure = e.message),
    );
    try {
      this.#apply(await api.getState());
      this.loaded = true;
      this.#pickDefault();
      await api.watchEvents((d) => this.#onDigest(d));
    } catch (e) {
      this.failure = (e as ApiError).message ?? String(e);
    }
  }

  issuesAt(path: string): ConfigIssue[] {
    return issuesAt(this.issues, path);
  }

  /** The issues of one draft, whatever their paths: for an action that has no field of its own (Create target…). */
  issuesFrom(origin: string): ConfigIssue[] {
    return this.drafts[origin] ?? [];
  }

  /** The config entry (and its index) of the status Listener named `name`, `i`th in the status (config order). */
  listenerConfig(name: string, i: number): { index: number; config: ListenerConfig | undefined } {
    const all = this.config?.listeners ?? [];
    const index = all.findIndex((l) => (l.name ?? l.bind) === name);
    return index >= 0 ? { index, config: all[index] } : { index: i, config: all[i] };
  }

  /**
   * Applies `mutate` to a copy of the applied config, validates it, and saves it when valid. Issues are kept under
   * `origin` (the field's path) until a later draft from the same field is clean. Resolves true when saved.
   */
  edit(origin: string, mutate: Mutation): Promise<boolean> {
    this.#cancelCheck(origin);
    const run = async (): Promise<boolean> => {
      if (!this.config || this.readOnly) return false;
      const candidate = this.#draft(mutate);
      try {
        const issues = await api.validateConfig(candidate);
        if (issues.length > 0) {
          this.#setIssues(origin, issues);
          return false;
        }
        const result = await api.saveConfig(candidate);
        this.config = candidate;
        this.status = result.status;
        rates.baseline(result.status);
        this.#setIssues(origin, []);
        if (result.kept_aside) this.keptAside = result.kept_aside;
        this.fileProblem = null;
        this.failure = null;
        return true;
      } catch (e) {
        const err = e as ApiError;
        if (err.code === "invalid_config" && err.issues.length > 0) this.#setIssues(origin, err.issues);
        else this.#fail(err);
        return false;
      }
    };
    const next = this.#queue.then(run, run);
    this.#queue = next;
    return next;
  }

  /** Validates a draft as the user types (debounced); never saves. */
  check(origin: string, mutate: Mutation): void {
    this.#cancelCheck(origin);
    this.#timers.set(
      origin,
      setTimeout(() => {
        this.#timers.delete(origin);
        if (!this.config) return;
        api.validateConfig(this.#draft(mutate)).then(
          (issues) => this.#setIssues(origin, issues),
          (e: ApiError) => (this.failure = e.message),
        );
      }, VALIDATE_DELAY_MS),
    );
  }

  /** Forgets a field's draft issues (the user reverted it or removed the row). */
  discard(origin: string): void {
    this.#cancelCheck(origin);
    this.#setIssues(origin, []);
  }

  /** Structural edit (reorder, delete): indices in drafts no longer hold, so drafts are dropped first. */
  async restructure(mutate: Mutation): Promise<boolean> {
    this.#resetDrafts();
    const ok = await this.edit("$structure", mutate);
    this.#resetDrafts();
    return ok;
  }

  async setListenerEnabled(name: string, enabled: boolean): Promise<void> {
    if (this.readOnly) return;
    try {
      this.#apply(await api.setListenerEnabled(name, enabled));
    } catch (e) {
      this.#fail(e as ApiError);
    }
  }

  /** Appends `target` and selects it once saved; its issues are kept under `origin` (the form or action). */
  async createTarget(target: TargetConfig, origin = "$new"): Promise<boolean> {
    const index = this.config?.targets.length ?? 0;
    const ok = await this.edit(origin, (c) => c.targets.push(target));
    if (ok) this.selection = { kind: "target", index };
    return ok;
  }

  /** Appends an Upstream to the config Target at `index`; its issues are kept under `origin`. */
  addUpstream(index: number, url: string, origin: string): Promise<boolean> {
    return this.edit(origin, (c) => void c.targets[index].upstreams.push({ url, enabled: true }));
  }

  async moveTarget(from: number, to: number): Promise<void> {
    const n = this.config?.targets.length ?? 0;
    if (from === to || to < 0 || to >= n) return;
    const selected = this.selection?.kind === "target" ? this.selection.index : null;
    const ok = await this.restructure((c) => {
      const [t] = c.targets.splice(from, 1);
      c.targets.splice(to, 0, t);
    });
    if (ok && selected !== null) {
      let index = selected;
      if (selected === from) index = to;
      else if (from < selected && to >= selected) index = selected - 1;
      else if (from > selected && to <= selected) index = selected + 1;
      this.selection = { kind: "target", index };
    }
  }

  async deleteTarget(index: number): Promise<void> {
    const ok = await this.restructure((c) => void c.targets.splice(index, 1));
    if (ok) this.#pickDefault();
  }

  async removeDemo(): Promise<void> {
    const ok = await this.edit("demo", (c) => void (c.demo = false));
    if (ok && this.selection?.kind === "demo") this.#pickDefault();
  }

  dismissRejected(): void {
    this.rejected = null;
  }

  /** Hides the first-run note for the rest of the session (every AppState carries it again). */
  dismissFirstRun(): void {
    this.#firstRunDismissed = true;
    this.firstRun = null;
  }

  /** Tells the backend the keep-serving note was read (not shown again), then hides it; on failure it stays. */
  async dismissKeepServingNote(): Promise<void> {
    if (this.#dismissingNote) return;
    this.#dismissingNote = true;
    try {
      await api.dismissKeepServingNote();
      this.keepServingNote = null;
    } catch (e) {
      this.failure = (e as ApiError).message;
    } finally {
      this.#dismissingNote = false;
    }
  }

  /** A refused change: the backend said another Roundabout owns the config (read-only from now), or failed. */
  #fail(err: ApiError): void {
    if (err.code === "running_elsewhere") this.runningElsewhere = err.message;
    else this.failure = err.message;
  }

  #draft(mutate: Mutation): Config {
    const copy = structuredClone($state.snapshot(this.config)) as Config;
    mutate(copy);
    return copy;
  }

  #setIssues(origin: string, issues: ConfigIssue[]): void {
    if (issues.length === 0) {
      if (!(origin in this.drafts)) return;
      const { [origin]: _gone, ...rest } = this.drafts;
      this.drafts = rest;
    } else {
      this.drafts = { ...this.drafts, [origin]: issues };
    }
  }

  #cancelCheck(origin: string): void {
    const t = this.#timers.get(origin);
    if (t !== undefined) clearTimeout(t);
    this.#timers.delete(origin);
  }

  #resetDrafts(): void {
    for (const t of this.#timers.values()) clearTimeout(t);
    this.#timers.clear();
    this.drafts = {};
    this.generation++;
  }

  #apply(s: AppState): void {
    this.config = s.config;
    this.status = s.status;
    this.configPath = s.config_path;
    this.fileProblem = s.file_problem;
    this.firstRun = this.#firstRunDismissed ? null : s.first_run;
    this.runningElsewhere = s.running_elsewhere;
    rates.baseline(s.status);
  }

  #pickDefault(): void {
    const targets = this.config?.targets ?? [];
    if (this.demoOn && this.builtinTargets.length > 0) this.selection = { kind: "demo" };
    else if (targets.length > 0) this.selection = { kind: "target", index: 0 };
    else if (this.liveTargets.length > 0) this.selection = { kind: "live", name: this.liveTargets[0].name };
    else this.selection = null;
  }

  #onDigest(d: Digest): void {
    this.status = d.status;
    rates.record(d.at_ms, d.status);
    log.receive(d.events, d.missed);
    for (const e of d.events) {
      if (e.type === "config_applied" && e.source !== "app") void this.#reloadFromFile();
      else if (e.type === "config_rejected" && e.source !== "app") this.rejected = { source: e.source, issues: e.issues };
    }
    // The backend sends the next digest once this one is drawn, so a busy log never queues up in the webview. A
    // frame callback runs before the frame that draws this digest; the one it requests runs once that frame is
    // done. Confirming from there paces digests by what the webview really draws (its compositor included), not by
    // how fast it starts frames.
    requestAnimationFrame(() => requestAnimationFrame(() => void api.digestShown().catch(() => {})));
  }

  async #reloadFromFile(): Promise<void> {
    try {
      const s = await api.getState();
      this.#resetDrafts();
      this.#apply(s);
      this.rejected = null;
      const sel = this.selection;
      if (sel?.kind === "target" && sel.index >= s.config.targets.length) this.#pickDefault();
      if (sel?.kind === "demo" && !this.demoOn) this.#pickDefault();
    } catch (e) {
      this.failure = (e as ApiError).message;
    }
  }
}

export const app = new AppStore();
