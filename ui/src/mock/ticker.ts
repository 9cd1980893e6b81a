// Made-up traffic for `npm run dev` outside Tauri, so the app moves as it does in use.
import type { MockBackend } from "./backend";
import { labelOf } from "./live";
import { DEMO_UPSTREAMS, LIVE_DOCS } from "./samples";

/**
 * Demo traffic for `npm run dev`: a few requests a second, round-robin over the demo's upstreams, one browser pinned
 * to the second, and a dev server joining through `roundabout run` after a few seconds.
 */
export function startTicker(backend: MockBackend): void {
  let n = 0;
  let tick = 0;
  const paths = ["/", "/api/items", "/api/items/42", "/assets/app.js", "/health"];
  setInterval(() => {
    if (backend.config.demo) {
      for (let i = 0; i < 1 + (n % 4); i++, n++) {
        const pinned = n % 7 === 0;
        const up = labelOf(DEMO_UPSTREAMS[pinned ? 1 : n % 3]);
        backend.request({
          target: "demo", host: "demo.localhost", upstream: up, path: paths[n % paths.length],
          latency_us: 300 + ((n * 7919) % 9000), affinity: pinned ? "pinned" : null,
        });
      }
    }
    if (++tick === 6) backend.join(LIVE_DOCS);
    backend.flush();
  }, 500);
}
