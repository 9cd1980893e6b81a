// The only module that talks to the backend: Tauri commands through `invoke`, live Digests through a `Channel`.
import { Channel, invoke } from "@tauri-apps/api/core";
import type {
  ApiError, AppState, Config, ConfigIssue, DevServer, Digest, DoctorCheck, HttpsState, SaveResult, SuggestedPorts,
} from "./types";

/** Every rejection as an ApiError, whatever the shell sent (a string from a panic, an Error from the bridge…). */
export function toApiError(e: unknown): ApiError {
  if (e && typeof e === "object" && "code" in e && "message" in e) {
    const err = e as Partial<ApiError>;
    return { code: String(err.code), message: String(err.message), issues: Array.isArray(err.issues) ? err.issues : [] };
  }
  const message = e instanceof Error ? e.message : String(e);
  return { code: "unknown", message, issues: [] };
}

async function call<T>(cmd: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(cmd, args);
  } catch (e) {
    throw toApiError(e);
  }
}

export const api = {
  getState: () => call<AppState>("get_state"),
  /** Applies and persists the whole config; rejects with `invalid_config` (and nothing applied) when it is not valid. */
  saveConfig: (config: Config) => call<SaveResult>("save_config", { config }),
  validateConfig: (config: Config) => call<ConfigIssue[]>("validate_config", { config }),
  setListenerEnabled: (name: string, enabled: boolean) =>
    call<AppState>("set_listener_enabled", { name, enabled }),
  /** Roundabout's local CA and whether each trust store of this machine trusts it (runs tools: a few hundred ms). */
  httpsState: () => call<HttpsState>("https_state"),
  /**
   * Trusts the CA in every store that does not yet, then reports each store (its note says what was done). The
   * system store asks for a password in a desktop dialog, so this can take as long as the user does.
   */
  trustCa: () => call<HttpsState>("trust_ca"),
  /** Ports for a new Listener: 80 and 443 when Roundabout may bind them, else 8800 and 8443 and why. */
  suggestedPorts: () => call<SuggestedPorts>("suggested_ports"),
  /** What stands between the user and their URLs working, each with its fix (the checks of `roundabout doctor`). */
  doctor: () => call<DoctorCheck[]>("doctor"),
  /** Dev servers listening on loopback that no Target uses yet, from a scan of the sockets and processes. */
  discover: () => call<DevServer[]>("discover"),
  /**
   * The note to show once: closing the window keeps Roundabout serving from the tray. Null once dismissed, or when
   * closing the window quits.
   */
  keepServingNote: () => call<string | null>("keep_serving_note"),
  /** The user read the keep-serving note; it is not shown again (in this run or the next). */
  dismissKeepServingNote: () => call<void>("dismiss_keep_serving_note"),
  /** Tells the backend the last digest is drawn, so it may send the next (it waits up to a second otherwise). */
  digestShown: () => call<void>("digest_shown"),
  /** Starts the Digest stream; `onDigest` is called at most ~20 times a second, and only after `digestShown`. */
  watchEvents: async (onDigest: (d: Digest) => void): Promise<Channel<Digest>> => {
    const channel = new Channel<Digest>(onDigest);
    await call<void>("watch_events", { channel });
    return channel;
  },
};
