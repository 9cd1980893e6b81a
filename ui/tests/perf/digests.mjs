// What a digest costs the page, against the mock backend, with digests paced as the desktop app's forwarder paces
// them (see drive.mjs). Under 20,000 requests/s every digest carries the newest 100 rows. Prints the digests the
// page took per second, how long until each was confirmed, the gaps between frames, and in Chromium the script,
// style and layout time per digest (Chrome's own counters over the run). WebKit is the engine the app draws with;
// run that one under a display: `xvfb-run -a node tests/perf/digests.mjs --browser webkit`.
// Not a test (node --test does not pick it up); run it by hand after `npm run build`:
//   node tests/perf/digests.mjs [--browser chromium|webkit] [--seconds 10] [--rows 100] [--warm-rows 100]
//     [--dist DIR] [--json PATH]
import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { start } from "../support/harness.mjs";
import { web } from "../support/util.mjs";
import { drive, summary } from "./drive.mjs";
import { openWebKit } from "./webkit.mjs";

const { values } = parseArgs({
  options: {
    browser: { type: "string", default: "chromium" },
    seconds: { type: "string", default: "10" },
    rows: { type: "string", default: "100" },
    // Rows per digest during the 2 s warm-up: 100 fills the log (1000 rows) before the measured run.
    "warm-rows": { type: "string", default: "100" },
    // Another build of the UI (say, `git stash; npm run build; cp -r dist /tmp/dist-before`), to compare.
    dist: { type: "string" },
    json: { type: "string" },
  },
});
const ms = Number(values.seconds) * 1000;
const rows = Number(values.rows);
const warmRows = Number(values["warm-rows"]);
const viewport = { width: 1400, height: 900 }; // bench/app's window
const label = `${values.browser}${values.dist ? ` (${values.dist})` : ""}, ${rows} rows/digest`;

/** As bench/app does: Target web selected (the default), its distribution scrolled into view. */
const SHOW_DISTRIBUTION = () => document.querySelector('section[aria-labelledby="dist-h"]')?.scrollIntoView({ block: "nearest" });
const READY = () => new Promise((ok) => {
  const poll = () => (document.querySelector('section[aria-labelledby="dist-h"]') ? ok(true) : setTimeout(poll, 20));
  poll();
});

/** Chrome's cumulative counters (seconds) for the page: script, style, layout and all main-thread tasks. */
async function metrics(cdp) {
  const { metrics } = await cdp.send("Performance.getMetrics");
  const m = Object.fromEntries(metrics.map((x) => [x.name, x.value]));
  return { script: m.ScriptDuration, style: m.RecalcStyleDuration, layout: m.LayoutDuration, task: m.TaskDuration };
}

async function chromium() {
  const env = await start({ dist: values.dist });
  try {
    const { page, context } = await env.open({ config: web() }, { viewport });
    await page.evaluate(READY);
    await page.evaluate(SHOW_DISTRIBUTION);
    await page.evaluate(drive, { ms: 2000, rows: warmRows });
    const cdp = await context.newCDPSession(page);
    await cdp.send("Performance.enable");
    const before = await metrics(cdp);
    const run = await page.evaluate(drive, { ms, rows });
    const after = await metrics(cdp);
    const per = Object.fromEntries(Object.keys(before).map((k) => [k, ((after[k] - before[k]) * 1000) / run.digests]));
    await context.close();
    return { ...run, perDigestMs: per };
  } finally {
    await env.stop();
  }
}

async function webkit() {
  const page = await openWebKit({ config: web() }, { ...viewport, dist: values.dist });
  try {
    await page.run(READY);
    await page.run(SHOW_DISTRIBUTION);
    await page.run(drive, { ms: 2000, rows: warmRows });
    return await page.run(drive, { ms, rows });
  } finally {
    await page.close();
  }
}

const result = values.browser === "webkit" ? await webkit() : await chromium();
if (result.error) throw new Error(result.error);
console.log(summary(label, result, result.perDigestMs));
if (values.json) await writeFile(values.json, JSON.stringify({ browser: values.browser, rows, ...result }, null, 2));
