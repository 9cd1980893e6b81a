// The HTTPS side: Roundabout's local CA and where it is trusted, loaded when the HTTPS panel is first shown, and
// trusting it (which can wait on a password dialog for as long as the user takes).
import { api } from "../api";
import type { ApiError, HttpsState, TrustRow } from "../types";

/** A command that was rejected, with what it was doing (for the message and what to do next). */
export type HttpsFailure = { action: "check" | "trust"; message: string };

/** What trust_ca came to, store by store, next to the state before it. */
export type TrustOutcome = { trusted: number; usable: number; newly: string[] };

export type StoreState = "trusted" | "not_trusted" | "unavailable";

/** How each state reads, for a mark's accessible text. */
export const STATE_LABEL: Record<StoreState, string> = {
  trusted: "Trusted",
  not_trusted: "Not trusted",
  unavailable: "Unavailable",
};

export function stateOf(row: TrustRow): StoreState {
  return row.state === "trusted" || row.state === "unavailable" ? row.state : "not_trusted";
}

class HttpsStore {
  state = $state<HttpsState | null>(null);
  loading = $state(false);
  trusting = $state(false);
  failure = $state<HttpsFailure | null>(null);
  /** Set by the last trust_ca; cleared by a refresh. */
  outcome = $state<TrustOutcome | null>(null);

  /** Stores that could trust the CA but do not yet: what the Trust button would change. */
  untrusted = $derived(this.state?.stores.filter((s) => stateOf(s) === "not_trusted").length ?? 0);
  busy = $derived(this.loading || this.trusting);

  async load(): Promise<void> {
    if (this.busy) return;
    this.loading = true;
    try {
      this.state = await api.httpsState();
      this.failure = null;
      this.outcome = null;
    } catch (e) {
      this.failure = { action: "check", message: (e as ApiError).message };
    } finally {
      this.loading = false;
    }
  }

  async trust(): Promise<void> {
    if (this.busy) return;
    const before = new Map((this.state?.stores ?? []).map((s) => [s.store, stateOf(s)]));
    this.trusting = true;
    this.outcome = null;
    try {
      const after = await api.trustCa();
      this.state = after;
      this.failure = null;
      const usable = after.stores.filter((s) => stateOf(s) !== "unavailable");
      this.outcome = {
        trusted: usable.filter((s) => stateOf(s) === "trusted").length,
        usable: usable.length,
        newly: after.stores
          .filter((s) => stateOf(s) === "trusted" && before.get(s.store) !== "trusted")
          .map((s) => s.store),
      };
    } catch (e) {
      this.failure = { action: "trust", message: (e as ApiError).message };
    } finally {
      this.trusting = false;
    }
  }
}

export const https = new HttpsStore();
