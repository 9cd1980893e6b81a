// The real desktop app under WebDriver: tauri-driver (which starts WebKitWebDriver, which starts the app) as a
// child process with its own XDG_CONFIG_HOME, a session on it, and a teardown that leaves no process behind.
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";
import { homedir } from "node:os";
import path from "node:path";
import { eventually } from "./eventually.mjs";
import { freePort } from "./net.mjs";
import { Session } from "./webdriver.mjs";

const ROOT = path.resolve(import.meta.dirname, "../../..");
export const APP = path.join(ROOT, "target/debug/roundabout-app");
const NATIVE_DRIVER = "/usr/bin/WebKitWebDriver";

function tauriDriverPath() {
  const local = path.join(process.env.CARGO_HOME ?? path.join(homedir(), ".cargo"), "bin/tauri-driver");
  return existsSync(local) ? local : "tauri-driver";
}

/** Live processes whose environment holds `marker` (`KEY=value`): everything our driver started, as "pid name". */
async function pidsWithEnv(marker) {
  const found = [];
  for (const name of await readdir("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const env = (await readFile(`/proc/${name}/environ`, "latin1")).split("\0");
      if (env.includes(marker)) found.push(`${name} ${(await readFile(`/proc/${name}/comm`, "utf8")).trim()}`);
    } catch {
      // Gone already, or not ours to read.
    }
  }
  return found;
}

/** Waits (bounded) until no process with `marker` passes `which`; resolves to those still there at the deadline. */
async function processesGone(marker, which, timeout) {
  let left = [];
  await eventually(async () => {
    left = (await pidsWithEnv(marker)).filter(which);
    if (left.length > 0) throw new Error(`still running: ${left.join(", ")}`);
  }, { timeout, interval: 100 }).catch(() => {});
  return left;
}

const pidOf = (entry) => Number.parseInt(entry, 10);
/** Sends `sig` to `pid`; one that is gone by now is fine. */
const signal = (pid, sig) => {
  try {
    process.kill(pid, sig);
  } catch {
    // Exited between the listing and now.
  }
};

/**
 * Starts tauri-driver and a session on the app with `XDG_CONFIG_HOME=configHome`. Resolves to
 * `{ session, logs(), stop(), processes() }`. `stop()` is safe to call more than once and resolves to the processes ("pid name")
 * still running well after the session ended and the driver stopped; they are killed, and a test can assert on them.
 * `app` is the binary to launch: the debug build by default (the benchmark passes the release build).
 */
export async function launchApp({ configHome, timeout = 60_000, app = APP }) {
  if (!existsSync(app)) throw new Error(`${app} is missing: cargo build --workspace --features roundabout-app/custom-protocol`);
  // The env var doubles as a marker: every process the driver starts inherits it, and nothing else has it.
  const marker = `XDG_CONFIG_HOME=${configHome}`;
  const [port, nativePort] = [await freePort(), await freePort()];
  const driver = spawn(
    tauriDriverPath(),
    ["--port", String(port), "--native-port", String(nativePort), "--native-driver", NATIVE_DRIVER],
    // Its data (the local CA) and home (the NSS database it reads) are the test's too: nothing of the machine's.
    {
      env: { ...process.env, XDG_CONFIG_HOME: configHome, XDG_DATA_HOME: path.join(configHome, "data"), HOME: configHome },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  // Keep the tail of the driver's (and the app's) output for failure messages, without flooding the test log.
  let output = "";
  const keep = (chunk) => (output = (output + chunk).slice(-20_000));
  driver.stdout.on("data", keep);
  driver.stderr.on("data", keep);
  let exited = null;
  const exit = new Promise((resolve) => driver.once("exit", (code, signal) => resolve((exited = { code, signal }))));
  driver.once("error", (e) => keep(`spawn error: ${e.message}\n`));
  // A crash of the test runner must not leave the driver running: a synchronous last-chance SIGTERM.
  const onExit = () => driver.exitCode === null && driver.kill("SIGTERM");
  process.once("exit", onExit);

  let session = null;
  let stopped = null;
  const stop = () =>
    (stopped ??= (async () => {
      process.off("exit", onExit);
      // Deleting the session closes the app: WebKitWebDriver force-exits the app it launched once the session is
      // gone (the app does not quit by itself when automation closes its webview). Stopping the driver before that
      // happened (it can take a while on a busy machine) would leave the app running, windowless, so wait for it.
      if (session) await session.delete().catch(() => {});
      await processesGone(marker, (p) => p.endsWith(" roundabout-app"), 10_000);
      if (!exited) {
        driver.kill("SIGTERM"); // SIGKILL would orphan WebKitWebDriver.
        await Promise.race([exit, new Promise((r) => setTimeout(r, 10_000).unref())]);
        if (!exited) driver.kill("SIGKILL");
      }
      // WebKit's helper processes follow once they notice; then kill whatever is left, by pid.
      const left = await processesGone(marker, () => true, 20_000);
      for (const p of left) signal(pidOf(p), "SIGTERM");
      await eventually(async () => {
        if ((await pidsWithEnv(marker)).length > 0) throw new Error("still running");
      }, { timeout: 5_000, interval: 200 }).catch(async () => {
        for (const p of await pidsWithEnv(marker)) signal(pidOf(p), "SIGKILL");
      });
      return left;
    })());

  try {
    const base = `http://127.0.0.1:${port}`;
    // Ready when the port answers anything at all; fail at once if the driver died (bad path, port taken…).
    await eventually(async () => {
      if (exited) throw Object.assign(new Error(`tauri-driver exited (${JSON.stringify(exited)})`), { fatal: true });
      await fetch(`${base}/status`, { signal: AbortSignal.timeout(1_000) });
    }, { timeout, interval: 100, what: "tauri-driver listening" });
    session = await Session.create(base, {
      alwaysMatch: { browserName: "wry", "tauri:options": { application: app } },
    });
  } catch (e) {
    await stop();
    // A new error: some (a fetch's TimeoutError) have a read-only message.
    throw new Error(`the app did not start: ${e.message}\n--- tauri-driver output ---\n${output}`, { cause: e });
  }
  // Every process the driver started that is still running, as "pid name" (the app and WebKit's helpers).
  const processes = () => pidsWithEnv(marker);
  return { session, logs: () => output, stop, processes };
}
