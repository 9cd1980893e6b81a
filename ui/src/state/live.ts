// Live Upstreams (`roundabout run`) as words: the detail beside one in the upstream table and the join/leave rows
// of the live log. Plain strings, shown as text only. The wording follows the CLI's
// (`app: localhost:41234 (pid 4242) joined (npm run dev in ~/src/app, branch main)`).
import type { LiveEvent, LiveUpstream } from "../types";

/** What started it and where: `npm run dev in ~/src/app, branch main`. */
export function liveOrigin(u: LiveUpstream): string {
  return `${u.command} in ${u.cwd}${u.branch ? `, branch ${u.branch}` : ""}`;
}

/** One join or leave as a line (the Target is shown beside it): `localhost:41234 (pid 4242) left (the command exited)`. */
export function liveLine(e: LiveEvent): string {
  if (e.joined) return `${e.label} joined (${liveOrigin(e.upstream)})`;
  return `${e.label} left${e.reason ? ` (${e.reason})` : ""}`;
}
