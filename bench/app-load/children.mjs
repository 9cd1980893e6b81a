// The benchmark's own child processes (the upstreams, the load generator), pinned to the load CPU so that they do
// not take the app's core, and killed on every exit path: a normal end, a failure, Ctrl-C.
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** Every child started here and not yet reaped. */
const running = new Set();

/** A synchronous last chance: if node exits for any reason, no child outlives it. */
process.once("exit", () => {
  for (const child of running) child.kill("SIGKILL");
});

/** Kills every child still running (SIGKILL: none of them holds state worth a clean exit). */
export function killChildren() {
  for (const child of running) child.kill("SIGKILL");
}

/**
 * The CPU for the upstreams and the load generator: the second CPU this process may use, when there are two and
 * `taskset` exists (the same choice as `roundabout-bench run`), else `null` (nothing pinned).
 */
export function loadCpu() {
  const list = readFileSync("/proc/self/status", "utf8").match(/^Cpus_allowed_list:\s*(\S+)/m)?.[1] ?? "";
  const cpus = list.split(",").flatMap((part) => {
    const [from, to = from] = part.split("-").map(Number);
    return Number.isInteger(from) && Number.isInteger(to) ? Array.from({ length: to - from + 1 }, (_, i) => from + i) : [];
  });
  const hasTaskset = spawnSync("taskset", ["--version"], { stdio: "ignore" }).status === 0;
  return cpus.length >= 2 && hasTaskset ? cpus[1] : null;
}

/**
 * Starts `program args` (on `cpu` when not null). Returns `{ child, done, output() }`: `done` resolves to
 * `{ code, signal, stdout, stderr }` at exit, `output()` is the stdout so far. Output is kept whole: these children
 * print little.
 */
export function start(program, args, cpu) {
  const [file, argv] = cpu === null ? [program, args] : ["taskset", ["-c", String(cpu), program, ...args]];
  // taskset execs the program, so the child's pid is the program's.
  const child = spawn(file, argv, { stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (c) => (stdout += c));
  child.stderr.setEncoding("utf8").on("data", (c) => (stderr += c));
  const done = new Promise((resolve) => {
    child.once("error", (e) => {
      running.delete(child);
      resolve({ code: null, signal: null, stdout, stderr: `${stderr}cannot start ${program}: ${e.message}` });
    });
    child.once("close", (code, signal) => {
      running.delete(child);
      resolve({ code, signal, stdout, stderr });
    });
  });
  return { child, done, output: () => stdout };
}
