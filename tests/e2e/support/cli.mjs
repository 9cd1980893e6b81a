// The `roundabout` CLI beside the running app: one-shot commands, a `roundabout run` dev server, and a server on
// IPv6 loopback for discovery. Every process gets the app's own config, data and home dirs, so it finds the app's
// control socket and nothing of the machine's.
import { spawn } from "node:child_process";
import http from "node:http";
import path from "node:path";

const ROOT = path.resolve(import.meta.dirname, "../../..");
const CLI = path.join(ROOT, "target/debug/roundabout");
const APP = path.join(ROOT, "target/debug/roundabout-app");

const envFor = (configHome) => ({
  ...process.env,
  XDG_CONFIG_HOME: configHome,
  XDG_DATA_HOME: path.join(configHome, "data"),
  HOME: configHome,
  NO_COLOR: "1",
});

/** Runs `roundabout ARGS…`; resolves `{ code, stdout, stderr }`, or rejects if it has not exited within `timeout`. */
export function cli(args, { configHome, timeout = 15_000, program = CLI }) {
  return new Promise((resolve, reject) => {
    const child = spawn(program, args, { env: envFor(configHome), stdio: ["ignore", "pipe", "pipe"] });
    let [stdout, stderr] = ["", ""];
    child.stdout.on("data", (c) => (stdout += c));
    child.stderr.on("data", (c) => (stderr += c));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${path.basename(program)} ${args.join(" ")} still running after ${timeout} ms\n${stderr}`));
    }, timeout);
    child.once("error", reject);
    child.once("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Starts the desktop app a second time with the first one's dirs; resolves like `cli` once it exited. */
export function launchSecond({ configHome }) {
  return cli([], { configHome, program: APP, timeout: 30_000 });
}

/**
 * `roundabout run --config FILE --name NAME -- node -e <a server answering BODY on $PORT>`. Resolves nothing;
 * returns `{ interrupt() }`, which sends Ctrl-C (SIGINT) and resolves once `run` exited.
 */
export function startRun({ configHome, configFile, name, body }) {
  const server = `require("http").createServer((q, s) => s.end(process.env.BODY)).listen(+process.env.PORT, process.env.HOST)`;
  const child = spawn(CLI, ["run", "--config", configFile, "--name", name, "--", "node", "-e", server], {
    env: { ...envFor(configHome), BODY: body },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr.on("data", (c) => (stderr = (stderr + c).slice(-5_000)));
  const exited = new Promise((resolve) => child.once("close", resolve));
  return {
    interrupt: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGINT");
      await exited;
      return stderr;
    },
  };
}

/** An HTTP server on [::1]:0 only (not 127.0.0.1) answering `body`; resolves `{ port, close() }`. */
export function listenOnIpv6Loopback(body) {
  return new Promise((resolve, reject) => {
    const server = http.createServer((req, res) => {
      req.resume();
      res.end(body);
    });
    server.once("error", reject);
    server.listen(0, "::1", () =>
      resolve({
        port: server.address().port,
        close: () => new Promise((done) => (server.closeAllConnections(), server.close(() => done()))),
      }),
    );
  });
}
