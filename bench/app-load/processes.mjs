// The desktop app's processes and what they cost, read from /proc: the app itself and the WebKit helpers it starts
// (WebKitWebProcess renders the UI, WebKitNetworkProcess loads it). They are found by the environment marker
// launchApp gives everything tauri-driver starts (XDG_CONFIG_HOME=<temp dir>), because WebKit may start its helpers
// through a sandbox, so they are not always the app's children. The CPU time of the rest of the machine is read
// too, so a report can say whether something else (a compile, another benchmark) competed with the app.
import { execFileSync } from "node:child_process";
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";

/** The harness's own processes: they carry the marker too, but are not the app under test. */
const HARNESS = new Set(["tauri-driver", "WebKitWebDriver"]);

/** Clock ticks per second of /proc's CPU times (USER_HZ; 100 almost everywhere). */
const TICKS_PER_SEC = (() => {
  try {
    return Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** `Key:\tvalue` of /proc/<pid>/status. */
function field(status, key) {
  return status.split("\n").find((l) => l.startsWith(`${key}:`))?.slice(key.length + 1).trim();
}

/** utime + stime of /proc/<pid>/stat: the fields after the parenthesised name, which may itself hold spaces. */
function cpuTicks(stat) {
  const after = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  // after[0] is field 3 (state); utime and stime are fields 14 and 15.
  return Number(after[11]) + Number(after[12]);
}

/** CPU ticks of `pid`, 0 when it is gone. */
async function ticksOf(pid) {
  return cpuTicks(await readFile(`/proc/${pid}/stat`, "latin1").catch(() => ") x 0 0 0 0 0 0 0 0 0 0 0 0"));
}

/** Busy ticks of the whole machine, all CPUs together, from the first line of /proc/stat. */
async function machineTicks() {
  const total = (await readFile("/proc/stat", "utf8")).split("\n")[0];
  const [, user, nice, system, , , irq, softirq, steal] = total.trim().split(/\s+/).map(Number);
  return user + nice + system + irq + softirq + steal;
}

/** The Xvfb this run draws on: started by xvfb-run, our parent, next to us. */
export async function displayPids() {
  const found = [];
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const status = await readFile(`/proc/${entry}/status`, "latin1").catch(() => "");
    if (field(status, "Name") === "Xvfb" && Number(field(status, "PPid")) === process.ppid) found.push(Number(entry));
  }
  return found;
}

/**
 * One reading: `{ atMs, processes: [{ pid, name, rssKiB, cpuTicks }], ticks: { harness, machine, ...groups } }`.
 * `processes` are the app's, named by the executable's file name (comm cuts "WebKitWebProcess" to 15 characters);
 * processes gone mid-read are left out. `groups` maps a name to pids whose CPU is counted apart (the upstreams,
 * the load generator, the display); `harness` is this script, tauri-driver and WebKitWebDriver.
 */
export async function readProcesses(marker, groups = {}) {
  const processes = [];
  let harness = await ticksOf(process.pid);
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    const dir = `/proc/${entry}`;
    try {
      if (!(await readFile(`${dir}/environ`, "latin1")).split("\0").includes(marker)) continue;
      const [status, stat, cmdline] = await Promise.all(
        ["status", "stat", "cmdline"].map((f) => readFile(`${dir}/${f}`, "latin1")),
      );
      const name = path.basename(cmdline.split("\0")[0] || field(status, "Name") || "?");
      if (HARNESS.has(name)) {
        harness += cpuTicks(stat);
        continue;
      }
      const rssKiB = Number(field(status, "VmRSS")?.split(/\s+/)[0] ?? 0);
      processes.push({ pid: Number(entry), name, rssKiB, cpuTicks: cpuTicks(stat) });
    } catch {
      // Exited between the listing and the read, or not ours to read.
    }
  }
  const ticks = { harness, machine: await machineTicks() };
  for (const [group, pids] of Object.entries(groups)) {
    ticks[group] = (await Promise.all(pids.map(ticksOf))).reduce((a, b) => a + b, 0);
  }
  return { atMs: performance.now(), processes, ticks };
}

/**
 * CPU used between two readings, in percent of one core (100 = one core busy): `{ app, appByName, ...groups,
 * harness, other }`, "other" being whatever else ran on the machine, the kernel's own work included. A process
 * that started in between counts from zero; one that ended in between is missing from the later reading, so take
 * both readings while the processes run.
 */
export function cpuBetween(before, after) {
  const secs = (after.atMs - before.atMs) / 1000;
  const percent = (ticks) => (secs > 0 ? (100 * ticks) / TICKS_PER_SEC / secs : null);
  const earlier = new Map(before.processes.map((p) => [p.pid, p.cpuTicks]));
  const appByName = {};
  for (const p of after.processes) appByName[p.name] = (appByName[p.name] ?? 0) + p.cpuTicks - (earlier.get(p.pid) ?? 0);
  const used = { app: Object.values(appByName).reduce((a, b) => a + b, 0) };
  for (const group of Object.keys(after.ticks)) used[group] = after.ticks[group] - (before.ticks[group] ?? 0);
  const { machine, ...parts } = used;
  parts.other = machine - Object.values(parts).reduce((a, b) => a + b, 0);
  const inPercent = (o) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, percent(v)]));
  return { ...inPercent(parts), appByName: inPercent(appByName) };
}

/** RSS in MiB per process name (summed when a name occurs twice) and in total, and the pids seen. */
export function memory(reading) {
  const byName = {};
  for (const p of reading.processes) byName[p.name] = (byName[p.name] ?? 0) + p.rssKiB / 1024;
  const totalMiB = Object.values(byName).reduce((a, b) => a + b, 0);
  return { totalMiB, byName, pids: reading.processes.map((p) => `${p.pid} ${p.name}`) };
}
