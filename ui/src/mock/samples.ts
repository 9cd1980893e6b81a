// What the mock backend answers with, shaped like the shell's answers on a Linux machine where Roundabout may not
// bind ports 80 and 443 and its CA was never trusted: the demo, HTTPS state, first run, doctor and dev servers.
import type { Config, DevServer, DoctorCheck, HttpsState, LiveUpstream, SuggestedPorts } from "../types";

/** The built-in demo's three Upstreams, served by Roundabout itself. */
export const DEMO_UPSTREAMS = ["http://127.0.0.1:38801", "http://127.0.0.1:38802", "http://127.0.0.1:38803"];

const CA_PATH = "/home/dev/.local/share/roundabout/roundabout-ca.pem";

/** The CA and stores of a machine where Roundabout's CA was never trusted and certutil is missing for Firefox. */
export function untrustedHttps(): HttpsState {
  return {
    ca_path: CA_PATH,
    error: null,
    stores: [
      { store: "system store (/usr/local/share/ca-certificates)", state: "not_trusted", note: "" },
      { store: "Chromium, Chrome (/home/dev/.pki/nssdb)", state: "not_trusted", note: "" },
      {
        store: "Firefox (default-release) (/home/dev/.mozilla/firefox/k2x9.default-release)",
        state: "unavailable",
        note: "certutil is not installed; install it with: sudo apt install libnss3-tools (Debian, Ubuntu) or sudo dnf install nss-tools (Fedora)",
      },
    ],
    node_line: `export NODE_EXTRA_CA_CERTS="${CA_PATH}"`,
  };
}

export const UNPRIVILEGED_PORTS: SuggestedPorts = {
  http: 8800,
  https: 8443,
  why_not_standard:
    "binding 127.0.0.1:80 needs privilege (a port below 1024): grant it to Roundabout once with `sudo setcap cap_net_bind_service=+ep /usr/bin/roundabout-app`, or use a port above 1023",
};

/** A first run's config and note, as the shell makes them without privilege (for `npm run dev`). */
export const FIRST_RUN: { config: Config; note: string } = {
  config: {
    version: 1,
    demo: true,
    listeners: [{ name: "web", bind: "127.0.0.1:8800" }, { name: "secure", bind: "127.0.0.1:8443", tls: true }],
    targets: [],
  },
  note: [
    "First run: created /home/dev/.config/roundabout/config.json with two Listeners and the built-in demo.",
    "Open http://demo.localhost:8800 or https://demo.localhost:8443 and reload to watch round-robin over three demo upstreams (https needs Roundabout's CA trusted once: roundabout trust).",
    `Ports 80 and 443 are not available (${UNPRIVILEGED_PORTS.why_not_standard}), so 8800 and 8443 are used; change the ports in the config once they are.`,
    'To remove the demo, delete the line "demo": true from that file (edits apply live).',
  ].join("\n"),
};

/** What the doctor finds in `config`: its enabled Listeners running, the low ports refused, one Upstream down. */
export function doctorChecks(config: Config, trusted: boolean): DoctorCheck[] {
  const listeners = config.listeners
    .filter((l) => l.enabled !== false)
    .map((l) => ({ subject: `listener ${l.name ?? l.bind} (${l.bind})`, ok: true, finding: "accepting connections" }));
  return [
    ...listeners,
    {
      subject: "ports 80 and 443",
      ok: false,
      finding: "binding 127.0.0.1:80 needs privilege (a port below 1024): grant it to Roundabout once with `sudo setcap cap_net_bind_service=+ep /usr/bin/roundabout-app`",
    },
    { subject: "local CA", ok: true, finding: "/home/dev/.local/share/roundabout/roundabout-ca.pem" },
    {
      subject: "Chromium, Chrome (/home/dev/.pki/nssdb)",
      ok: trusted,
      finding: trusted ? "trusts the CA" : "does not trust the CA: run roundabout trust",
    },
    { subject: "upstream http://localhost:3002 of api", ok: false, finding: "nothing answers on port 3002: is the dev server running?" },
  ];
}

/** Two dev servers nobody routes to yet: Vite on IPv4, Next.js on IPv6 only (as `next dev` binds on some systems). */
export const DEV_SERVERS: DevServer[] = [
  {
    address: "127.0.0.1:5173", port: 5173, url: "http://localhost:5173", pid: 31337, process: "node",
    command: "node /home/dev/src/shop/node_modules/.bin/vite", cwd: "/home/dev/src/shop", suggested_name: "shop",
  },
  {
    address: "[::1]:3000", port: 3000, url: "http://[::1]:3000", pid: 31410, process: "next-server",
    command: "next-server (v15.1.0)", cwd: "/home/dev/src/blog", suggested_name: "blog",
  },
];

/** A dev server started with `roundabout run -- npm run dev` in ~/src/docs, on a branch. */
export const LIVE_DOCS: LiveUpstream = {
  target: "docs", url: "http://localhost:41234", command: "npm run dev", pid: 4242, cwd: "/home/dev/src/docs", branch: "main",
};

/** AppState.running_elsewhere as the shell words it when `roundabout serve` holds the config. */
export const RUNNING_ELSEWHERE =
  "Roundabout is already running for /home/dev/.config/roundabout/config.json (roundabout serve, pid 5120); try " +
  "roundabout status. It serves your routes; stop it (Ctrl-C in its terminal) and reopen the app to manage them here.";
