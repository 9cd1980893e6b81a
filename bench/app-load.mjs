// The desktop app under load: the release build (serving the embedded UI) with a Target round-robin over three
// upstreams, 20,000 requests/s through it for 60 s, and every 5 s the memory of its processes and what its UI does
// (the live log and the distribution still moving, frames still drawn, scripts still answered). Answers the issue's
// "with 20k requests/s through it, the UI stays responsive (log and distribution update, no growing memory)".
//
// Run it through bench/app, which checks the tools, builds, and starts this under Xvfb:
//   bench/app [--duration-secs 180] [--rate 20000] [--connections 32] [--json PATH]
// Exit code 0 whatever the verdicts say; non-zero only when the harness itself failed.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { availableParallelism, loadavg, tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as delay } from "node:timers/promises";
import { parseArgs } from "node:util";
import { launchApp } from "../tests/e2e/support/app.mjs";
import { eventually } from "../tests/e2e/support/eventually.mjs";
import { freePort, get } from "../tests/e2e/support/net.mjs";
import { killChildren, loadCpu, start } from "./app-load/children.mjs";
import { cpuBetween, displayPids, memory, readProcesses } from "./app-load/processes.mjs";
import { distributionTotal, formatReport, judge } from "./app-load/report.mjs";
import { readUi, scriptRoundTrip, showDistribution, timeFrames } from "./app-load/ui-probe.mjs";

const ROOT = path.resolve(import.meta.dirname, "..");
const HOST = "load.localhost";
const PATH = "/small"; // 100 bytes from the upstream
/** How long one sample's probe takes at most in a healthy page: the frame window plus round trips. */
const PROBE_SECS = 2;

const USAGE = `node bench/app-load.mjs [options]   (normally through bench/app, which builds and starts Xvfb)
  --app PATH            the app binary (default target/release/roundabout-app)
  --bench PATH          roundabout-bench (default target/release/roundabout-bench)
  --rate N              requests per second through the app (20000)
  --duration-secs N     length of the load (180; two garbage collection cycles of the web process)
  --connections N       keep-alive connections of the load generator (32)
  --sample-secs N       time between samples during the load (5)
  --idle-secs N         idle baseline before the load (5)
  --after-secs N        wait after the load before the last sample (10)
  --json PATH           also write the results as JSON`;

function options() {
  const { values } = parseArgs({
    options: {
      app: { type: "string", default: path.join(ROOT, "target/release/roundabout-app") },
      bench: { type: "string", default: path.join(ROOT, "target/release/roundabout-bench") },
      rate: { type: "string", default: "20000" },
      "duration-secs": { type: "string", default: "180" },
      connections: { type: "string", default: "32" },
      "sample-secs": { type: "string", default: "5" },
      "idle-secs": { type: "string", default: "5" },
      "after-secs": { type: "string", default: "10" },
      json: { type: "string" },
      help: { type: "boolean", default: false },
    },
  });
  const number = (name) => {
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n <= 0) {
      throw new Error(`--${name} takes a whole number above 0, not ${values[name]}\n${USAGE}`);
    }
    return n;
  };
  return {
    help: values.help, app: values.app, bench: values.bench, json: values.json, rate: number("rate"),
    durationSecs: number("duration-secs"), connections: number("connections"), sampleSecs: number("sample-secs"),
    idleSecs: number("idle-secs"), afterSecs: number("after-secs"),
  };
}

/** Pacing of the measurement by the clock (a sample every N s): not a wait for anything to have happened. */
async function until(atMs) {
  const wait = atMs - performance.now();
  if (wait > 0) await delay(wait);
}

/** Everything this run started, so that `cleanup` stops it whatever happened. */
const started = { app: null, tmp: null };
let stopping = null;
/** Stops the app (through its session, as launchApp does), kills our children, removes the temp dir; once. */
const cleanup = () =>
  (stopping ??= (async () => {
    killChildren();
    const left = started.app ? await started.app.stop() : [];
    if (left.length > 0) console.error(`# killed processes left after the app's session ended: ${left.join(", ")}`);
    if (started.tmp) await rm(started.tmp, { recursive: true, force: true });
  })());

/** Three upstreams in one single-threaded process on the load CPU; resolves to it and the UI's names for them. */
async function startUpstreams(opts, cpu) {
  const ports = [await freePort(), await freePort(), await freePort()];
  const upstream = start(opts.bench, ["upstream", ...ports.flatMap((p) => ["--port", String(p)])], cpu);
  let exited = null;
  upstream.done.then((r) => (exited = r));
  await eventually(() => {
    if (exited) throw Object.assign(new Error(`the upstreams exited: ${exited.stderr.trim()}`), { fatal: true });
    if (!upstream.output().includes("ready")) throw new Error("not ready yet");
  }, { timeout: 10_000, what: "upstreams listening" });
  return { upstream, labels: ports.map((p) => `127.0.0.1:${p}`) };
}

/**
 * Writes the config (one Listener, Target "load" over the upstreams) into a temp XDG_CONFIG_HOME, launches the
 * app on it and waits for the UI to show the Target; checks that a request goes through. Resolves to the port.
 */
async function startApp(opts, labels) {
  started.tmp = await mkdtemp(path.join(tmpdir(), "roundabout-app-load-"));
  const listenerPort = await freePort();
  const config = {
    version: 1,
    listeners: [{ name: "web", bind: `127.0.0.1:${listenerPort}` }],
    targets: [{ name: "load", match: { host: HOST }, upstreams: labels.map((l) => ({ url: `http://${l}` })) }],
  };
  await mkdir(path.join(started.tmp, "roundabout"), { recursive: true });
  await writeFile(path.join(started.tmp, "roundabout", "config.json"), JSON.stringify(config, null, 2));

  started.app = await launchApp({ configHome: started.tmp, app: opts.app });
  const s = started.app.session;
  await s.setWindowRect({ x: 0, y: 0, width: 1400, height: 900 }).catch(() => {});
  // The Target is selected by default (the only one): its editor shows the three upstreams' bars.
  await eventually(async () => {
    await s.find('article[aria-label="Target load"]');
    const ui = await readUi(s);
    const missing = labels.filter((l) => !Number.isFinite(ui.distribution[l]));
    if (missing.length) throw new Error(`no distribution bar for ${missing.join(", ")}: ${JSON.stringify(ui)}`);
  }, { timeout: 30_000, what: "the UI showing Target load with its three upstreams" });
  await showDistribution(s);
  // One request per upstream: routing works (or the run stops here), and the log has a newest row to compare.
  for (let i = 0; i < labels.length; i++) {
    const res = await get(listenerPort, HOST, PATH);
    if (res.status !== 200) throw new Error(`GET ${HOST}${PATH} through the app answered ${res.status}: ${res.body}`);
  }
  return listenerPort;
}

/**
 * The measurement: idle samples, the load with a sample every `sampleSecs`, a reading as it ends, and a sample
 * `afterSecs` later. Each sample reads /proc for the app's memory and CPU, then probes the page. Resolves to
 * `{ samples, measured (http-load's result), cpuDuringLoad, screenshot }`, with `t` on every sample.
 */
async function measure({ opts, cpu, session, listenerPort, upstream }) {
  const marker = `XDG_CONFIG_HOME=${started.tmp}`; // how launchApp marks the processes it starts
  // CPU counted apart from the app's: ours (the upstreams, later the load generator) and the display's.
  const groups = { load: [upstream.child.pid], display: await displayPids() };
  const readings = new Map(); // sample -> its /proc reading, for the CPU between any two samples
  let lastReading = null;
  const sample = async (phase, { probe = true } = {}) => {
    const reading = await readProcesses(marker, groups);
    // Not for the reading as the load ends: the load generator has exited, and its CPU would go missing.
    const cpuUsed = lastReading && probe ? cpuBetween(lastReading, reading) : null;
    const row = { phase, atMs: reading.atMs, rss: memory(reading), cpu: cpuUsed, ui: null, rttMs: null, frames: null };
    readings.set(row, reading);
    lastReading = reading;
    if (!probe) return row;
    try {
      row.rttMs = await scriptRoundTrip(session);
      row.ui = await readUi(session);
      row.frames = await timeFrames(session);
    } catch (e) {
      row.error = `probe failed: ${e.message}`;
    }
    return row;
  };

  const samples = [];
  const idleStart = performance.now();
  samples.push(await sample("idle"));
  await until(idleStart + opts.idleSecs * 1000);
  samples.push(await sample("idle"));

  const loadStart = performance.now();
  const args = ["http-load", "--url", `http://127.0.0.1:${listenerPort}${PATH}`, "--host", HOST, "--rate", opts.rate,
    "--connections", opts.connections, "--duration-secs", opts.durationSecs];
  const load = start(opts.bench, args.map(String), cpu);
  groups.load.push(load.child.pid);
  // RSS the moment the load stops: the end of the window memory growth is judged over.
  const loaded = load.done.then(async (result) => ({ result, end: await sample("load end", { probe: false }) }));
  let screenshot = null;
  // Every sample must finish its probe before the load ends.
  const last = Math.floor((opts.durationSecs - PROBE_SECS) / opts.sampleSecs);
  for (let k = 1; k <= last; k++) {
    const due = until(loadStart + k * opts.sampleSecs * 1000).then(() => false);
    if (await Promise.race([due, load.done.then(() => true)])) break; // the load generator ended early
    samples.push(await sample("load"));
    if (k === last) screenshot = await saveScreenshot(session);
  }
  const { result, end } = await loaded;
  samples.push(end);
  let measured;
  try {
    measured = JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "");
  } catch {
    const said = result.stderr.trim() || result.stdout.trim();
    throw new Error(`http-load failed (exit ${result.code ?? result.signal}): ${said}`);
  }
  await until(end.atMs + opts.afterSecs * 1000);
  samples.push(await sample("after"));

  for (const row of samples) row.t = (row.atMs - loadStart) / 1000;
  // From just before the load to its last sample: every process still runs at both readings.
  const lastIdle = samples.findLast((r) => r.phase === "idle");
  const lastLoad = samples.findLast((r) => r.phase === "load");
  const cpuDuringLoad = lastLoad ? cpuBetween(readings.get(lastIdle), readings.get(lastLoad)) : null;
  return { samples, measured, cpuDuringLoad, screenshot };
}

/** A picture of the app under load, for a person to look at; failing to take one is not a failure of the run. */
async function saveScreenshot(session) {
  try {
    const file = path.join(ROOT, "target/bench-app/under-load.png");
    await mkdir(path.dirname(file), { recursive: true });
    await writeFile(file, await session.screenshot());
    return file;
  } catch {
    return null;
  }
}

async function main() {
  const opts = options();
  if (opts.help) return console.log(USAGE);
  const cpu = loadCpu();
  const busy = loadavg()[0];
  const { upstream, labels } = await startUpstreams(opts, cpu);
  const listenerPort = await startApp(opts, labels);
  const session = started.app.session;
  const { samples, measured, cpuDuringLoad, screenshot } = await measure({ opts, cpu, session, listenerPort, upstream });

  const judged = judge({ samples, load: measured, labels, rate: opts.rate });
  const before = distributionTotal(samples.findLast((r) => r.phase === "idle"), labels);
  const shown = distributionTotal(samples.at(-1), labels);
  const uiTotals = before !== null && shown !== null
    ? { shown, sent: measured.completed, before, afterS: opts.afterSecs }
    : null;
  const header = [
    `Roundabout desktop app under load — ${new Date().toISOString()}`,
    `app: ${opts.app}; ${opts.rate} req/s for ${opts.durationSecs} s over ${opts.connections} connections, ` +
      `GET ${HOST}${PATH} round-robin over 3 upstreams`,
    cpu === null
      ? "NOT pinned (fewer than 2 CPUs or no taskset): the app, the upstreams and the load generator share the CPUs"
      : `upstreams and load generator pinned to CPU ${cpu} (taskset); the app and its WebKit processes unpinned`,
    `machine load average before the run: ${busy.toFixed(2)}` +
      (busy > 0.5 ? " (busy: other processes may disturb this run; see \"everything else\" in the CPU line)" : ""),
    `app processes: ${[...new Set(samples.flatMap((r) => r.rss.pids))].join(", ")}`,
  ];
  if (screenshot) header.push(`screenshot near the end of the load: ${screenshot}`);
  const cores = availableParallelism();
  const report = { header, samples, load: measured, labels, rate: opts.rate, judged, cpu: cpuDuringLoad, cores, uiTotals };
  console.log(formatReport(report).join("\n"));
  if (opts.json) {
    const json = { options: opts, loadCpu: cpu, loadavg: busy, load: measured, labels, samples, uiTotals, cpuDuringLoad };
    await writeFile(opts.json, JSON.stringify(Object.assign(json, judged), null, 2));
    console.log(`\nJSON written to ${opts.json}`);
  }
}

for (const sig of ["SIGINT", "SIGTERM"]) {
  process.once(sig, () => {
    console.error(`\n${sig}: stopping the app and every process this run started`);
    cleanup().finally(() => process.exit(130));
  });
}

let failed = false;
try {
  await main();
} catch (e) {
  failed = true;
  // The stack only for the harness's own bugs; a failure it reports (a process that did not start…) says enough.
  console.error(`app-load: error: ${e instanceof TypeError || e instanceof ReferenceError ? e.stack : (e.message ?? e)}`);
} finally {
  await cleanup();
}
process.exit(failed ? 1 : 0);
