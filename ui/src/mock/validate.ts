// How the mock backend checks a config: like the engine for the cases the UI relies on (messages by JSON path,
// worded as the engine words them); it is not the engine.
import type { Config, ConfigIssue } from "../types";

/** Every problem in `config`, by JSON path; empty when the mock would save it. */
export function validate(config: Config): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (path: string, message: string) => issues.push({ path, message });
  const binds = new Set<string>();
  config.listeners.forEach((l, i) => {
    const m = /^(?:(\[[0-9a-f:.]+\]|[a-z0-9.-]+):)?(\d+)$/i.exec(l.bind.trim());
    const port = m ? Number(m[2]) : NaN;
    if (!m) add(`listeners[${i}].bind`, `"${l.bind}" is not an address; write a port like 8800 or an address like 127.0.0.1:8800`);
    else if (!(port >= 0 && port <= 65535)) add(`listeners[${i}].bind`, `port "${m[2]}" is out of range; use a number from 1 to 65535`);
    else if (binds.has(String(port))) add(`listeners[${i}].bind`, `127.0.0.1:${port} is already used by another listener`);
    binds.add(String(port));
    if (l.tls && l.redirect_https)
      add(`listeners[${i}].redirect_https`, 'an HTTPS listener cannot redirect to HTTPS; remove "redirect_https" (or "tls")');
  });
  const redirecting = config.listeners.findIndex((l) => l.redirect_https);
  if (redirecting >= 0 && !config.listeners.some((l) => l.tls))
    add(
      `listeners[${redirecting}].redirect_https`,
      'there is no listener with "tls": true to redirect to; add one, or remove "redirect_https"',
    );
  const names = new Set<string>();
  config.targets.forEach((t, i) => {
    const at = `targets[${i}]`;
    if (!t.name.trim()) add(`${at}.name`, "the name is empty; give the target a name");
    else if (names.has(t.name)) add(`${at}.name`, `two targets are named "${t.name}"; names must be unique`);
    names.add(t.name);
    const host = t.match.host;
    if (host === "*") add(`${at}.match.host`, `"*" would match every host; leave "host" out instead`);
    else if (host != null && !/^(\*\.)?[a-z0-9-]+(\.[a-z0-9-]+)*$/i.test(host))
      add(`${at}.match.host`, `"${host}" is not a host name; write one like app.localhost, or *.app.localhost for its subdomains`);
    for (const key of ["path", "path_prefix"] as const) {
      const p = t.match[key];
      if (p != null && !p.startsWith("/")) add(`${at}.match.${key}`, `"${key}" must start with "/"`);
    }
    if (t.match.path != null && t.match.path_prefix != null) add(`${at}.match`, `use either "path" or "path_prefix", not both`);
    for (const name of Object.keys(t.match.headers ?? {}))
      if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/i.test(name)) add(`${at}.match.headers.${name}`, `"${name}" is not a valid header name`);
    const whole = (path: string, v: number | undefined, lo: number, hi: number, unit = "") => {
      if (v !== undefined && !(Number.isInteger(v) && v >= lo && v <= hi))
        add(path, `${v} is out of range; use a whole number from ${lo} to ${hi}${unit}`);
    };
    const passive = t.health?.passive;
    whole(`${at}.health.passive.failures`, passive?.failures, 1, 1000);
    whole(`${at}.health.passive.cool_down_ms`, passive?.cool_down_ms, 1, 3_600_000, " ms");
    const active = t.health?.active;
    if (active) {
      if (!active.path.startsWith("/")) add(`${at}.health.active.path`, `"path" must start with "/", e.g. "/health"`);
      whole(`${at}.health.active.interval_ms`, active.interval_ms, 50, 3_600_000, " ms");
    }
    t.upstreams.forEach((u, j) => {
      const path = `${at}.upstreams[${j}].url`;
      const scheme = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(u.url);
      if (!scheme) add(path, `"${u.url}" has no scheme; write it like http://${u.url}`);
      else if (!/^https?$/i.test(scheme[1])) add(path, `scheme "${scheme[1]}" is not supported; use http or https`);
      else if (!scheme[2] || scheme[2].startsWith("/")) add(path, `"${u.url}" has no host`);
      if (u.weight !== undefined && !(Number.isInteger(u.weight) && u.weight >= 1 && u.weight <= 100))
        add(`${at}.upstreams[${j}].weight`, `${u.weight} is out of range; use a whole number from 1 to 100`);
    });
  });
  return issues;
}
