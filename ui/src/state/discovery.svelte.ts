// Dev servers on this machine that no Target uses yet (the `discover` command), looked for while the panel is
// open, and turning one into a Target or an Upstream of one through the same validated save as every other edit.
import { api } from "../api";
import type { ApiError, DevServer, TargetConfig } from "../types";
import { app } from "./app.svelte";

/** How often the open panel looks again, so a dev server started meanwhile shows up without a click. */
export const REFRESH_MS = 5000;

/** The draft origin of an action on `server`: the engine's issues with it are shown beside it. */
export function originOf(server: DevServer): string {
  return `$discover:${server.address}`;
}

/** What "Create target" saves: named as suggested, answering `<name>.localhost`, with this one Upstream. */
export function targetFor(server: DevServer): TargetConfig {
  const name = server.suggested_name;
  return {
    name,
    match: { host: `${name}.localhost` },
    upstreams: [{ url: server.url, enabled: true }],
    strategy: "round_robin",
  };
}

class DiscoveryStore {
  /** Whether the panel is open (closed at start: a scan runs only once someone looks). */
  open = $state(false);
  /** The last answer; null before the first. */
  servers = $state.raw<DevServer[] | null>(null);
  loading = $state(false);
  failure = $state<string | null>(null);
  /** The address whose action is being saved: its buttons wait. */
  busy = $state<string | null>(null);
  /** Bumped by every scan and every use: a scan answers only if nothing newer happened meanwhile. */
  #generation = 0;

  async load(): Promise<void> {
    const generation = ++this.#generation;
    this.loading = true;
    try {
      const servers = await api.discover();
      if (generation !== this.#generation) return;
      this.servers = servers;
      this.failure = null;
    } catch (e) {
      if (generation === this.#generation) this.failure = (e as ApiError).message;
    } finally {
      if (generation === this.#generation) this.loading = false;
    }
  }

  /** Saves a new Target for `server` and selects it. */
  createTarget(server: DevServer): Promise<boolean> {
    return this.#use(server, () => app.createTarget(targetFor(server), originOf(server)));
  }

  /** Appends `server` as an Upstream of the config Target named `target`, and selects that Target. */
  addTo(server: DevServer, target: string): Promise<boolean> {
    return this.#use(server, async () => {
      const index = app.config?.targets.findIndex((t) => t.name === target) ?? -1;
      if (index < 0) return false;
      const ok = await app.addUpstream(index, server.url, originOf(server));
      if (ok) app.selection = { kind: "target", index };
      return ok;
    });
  }

  async #use(server: DevServer, save: () => Promise<boolean>): Promise<boolean> {
    this.busy = server.address;
    try {
      const ok = await save();
      if (ok) {
        // Gone from the list at once (a Target uses its port now); the scan after the save agrees.
        this.#generation++;
        this.servers = (this.servers ?? []).filter((s) => s.address !== server.address);
        void this.load();
      }
      return ok;
    } finally {
      this.busy = null;
    }
  }
}

/** One list for the app: the sidebar panel draws it, and the empty main pane can open it. */
export const discovery = new DiscoveryStore();
