// Judging and printing one run of the app under load: the table over time, memory growth, CPU, and one verdict
// line per claim of the issue ("the UI stays responsive: log and distribution update, no growing memory").

/**
 * Memory counts as bounded when the highest reading of the app's processes in the second half of the load (from
 * the 10 s mark) is less than this above the highest of the first half. By 10 s the UI holds its full 1000 log
 * rows; after that the web process saws up and down as WebKit's garbage collector runs (here about every 50 s,
 * by 40–60 MiB), so the endpoints of the window say little, while a leak raises each peak above the last: 10 bytes
 * a request would add 10 MiB per million requests (50 s at 20,000/s). Comparing peaks needs a load of at least
 * two collection cycles, hence the 180 s default.
 */
export const FLAT_MIB = 10;
/** Where memory growth is measured from, in seconds after the load started. */
export const GROWTH_FROM_S = 10;
/**
 * The longest pause between two drawn frames that still counts as responsive: 100 ms is where a delay starts to be
 * noticed (RAIL's input budget), six missed frames at 60 Hz.
 */
export const MAX_FRAME_GAP_MS = 100;
/**
 * How old the newest log row may be when read: the backend sends a digest every 50 ms, so a UI that keeps up shows
 * rows about 0.1 s old; a second means digests are queueing up faster than the page handles them.
 */
export const MAX_AGE_MS = 1_000;
/** Round-robin over three equal upstreams splits exactly; this much spread allows for requests in flight. */
export const BALANCE_PCT = 3;

const fixed = (digits) => (x) => (x == null || !Number.isFinite(x) ? "-" : x.toFixed(digits));
const [f0, f1] = [fixed(0), fixed(1)];
const ms = (x) => (x == null || !Number.isFinite(x) ? "-" : x < 10 ? x.toFixed(1) : x.toFixed(0));
const signed = (x) => `${x >= 0 ? "+" : ""}${x.toFixed(1)}`;
const at = (row) => `${row.t.toFixed(0)} s`;
/** Column titles for the app's processes; any other process keeps its name. */
const SHORT = { "roundabout-app": "app MiB", WebKitWebProcess: "Web MiB", WebKitNetworkProcess: "Net MiB" };

/** Requests the distribution of a sample shows in all, `null` when the page could not be read. */
export const distributionTotal = (row, labels) =>
  row?.ui ? labels.reduce((n, l) => n + row.ui.distribution[l], 0) : null;

/**
 * How far the distribution is behind, in seconds: the time since the load started minus the time the schedule
 * needs to send what it counted (exact while the load generator keeps its schedule).
 */
function distributionLag(row, baseline, labels, rate) {
  const [now, before] = [distributionTotal(row, labels), distributionTotal(baseline, labels)];
  return row.phase === "load" && now !== null && before !== null ? row.t - (now - before) / rate : null;
}

/** The samples taken while the load ran, each with the sample before it (the last idle one for the first). */
function loadPairs(samples) {
  return samples.flatMap((s, i) => (s.phase === "load" && i > 0 ? [[samples[i - 1], s]] : []));
}

/** The verdicts and the numbers behind them; `labels` are the upstreams as the UI names them. */
export function judge({ samples, load, labels, rate }) {
  const pairs = loadPairs(samples);
  const loadRows = pairs.map(([, b]) => b);
  const verdicts = [];
  const verdict = (pass, what, detail) => verdicts.push({ pass, what, detail });
  const everySample = (failing) =>
    failing.length ? `not at ${failing.map(at).join(", ")}` : `${loadRows.length} of ${loadRows.length} samples`;

  verdict(load.kept_pace === true && load.errors === 0 && load.non_2xx === 0,
    `${rate} req/s offered through the app, all answered 2xx`,
    `${Math.round(load.achieved_rps)} req/s achieved, ${load.completed} of ${load.planned} planned, ` +
      `${load.errors} errors, ${load.non_2xx} non-2xx${load.kept_pace ? "" : ", FELL BEHIND the schedule"}`);

  const stale = pairs.filter(([a, b]) => !b.ui?.newest || b.ui.newest === a.ui?.newest).map(([, b]) => b);
  verdict(loadRows.length > 0 && stale.length === 0, "live log updated at every sample", everySample(stale));

  const stuck = pairs.filter(([a, b]) => !labels.every((l) => b.ui?.distribution[l] > (a.ui?.distribution[l] ?? -1)));
  verdict(loadRows.length > 0 && stuck.length === 0, "distribution grew at every sample, for every upstream",
    everySample(stuck.map(([, b]) => b)));

  const balance = spread(samples, labels);
  verdict(balance !== null && balance.pct <= BALANCE_PCT, `distribution balanced within ${BALANCE_PCT}%`,
    balance ? `during the load: ${balance.deltas.join(" / ")} (spread ${balance.pct.toFixed(2)}%)` : "no readings");

  const ages = loadRows.map((r) => r.ui?.newestAgeMs ?? Infinity);
  const baseline = samples.findLast((s) => s.phase === "idle");
  const lags = loadRows.map((r) => distributionLag(r, baseline, labels, rate) ?? Infinity);
  verdict(loadRows.length > 0 && ages.every((a) => a < MAX_AGE_MS),
    `UI keeps up: newest log row < ${MAX_AGE_MS} ms old at every sample`,
    `newest row age ${ages.map(ms).join(", ")} ms; distribution behind by ${lags.map(f1).join(", ")} s`);

  const gaps = loadRows.map((r) => r.frames?.maxGapMs ?? Infinity);
  const janky = loadRows.filter((_, i) => !(gaps[i] < MAX_FRAME_GAP_MS));
  const worstP95 = Math.max(...loadRows.map((r) => r.frames?.p95GapMs ?? Infinity));
  const fewest = Math.min(...loadRows.map((r) => r.frames?.frames ?? 0));
  verdict(loadRows.length > 0 && janky.length === 0,
    `main thread responsive: longest frame gap < ${MAX_FRAME_GAP_MS} ms at every sample`,
    `worst ${ms(Math.max(...gaps))} ms, worst p95 ${ms(worstP95)} ms, fewest frames in 1 s: ${fewest}` +
      (janky.length ? `; over the limit at ${janky.map(at).join(", ")}` : ""));

  const growth = memoryGrowth(samples);
  verdict(growth !== null && growth.peakRiseMiB < FLAT_MIB,
    `memory bounded: peak of the second half of the load < ${FLAT_MIB} MiB above the first half's (from ${GROWTH_FROM_S} s)`,
    growth ? describeGrowth(growth) : "no readings");

  return { verdicts, growth, balance };
}

/** Requests per upstream between the last idle sample and the last sample of the load, and their spread. */
function spread(samples, labels) {
  const idle = samples.findLast((s) => s.phase === "idle" && s.ui);
  const last = samples.findLast((s) => s.phase === "load" && s.ui);
  if (!idle || !last) return null;
  const deltas = labels.map((l) => last.ui.distribution[l] - idle.ui.distribution[l]);
  if (deltas.some((d) => !Number.isFinite(d))) return null;
  const mean = deltas.reduce((a, b) => a + b, 0) / deltas.length;
  return { deltas, pct: mean > 0 ? ((Math.max(...deltas) - Math.min(...deltas)) / mean) * 100 : Infinity };
}

/** RSS growth from the first load sample at or after GROWTH_FROM_S to the reading taken as the load ended. */
function memoryGrowth(samples) {
  const from = samples.find((s) => s.phase === "load" && s.t >= GROWTH_FROM_S - 0.5);
  const to = samples.findLast((s) => s.phase === "load end");
  if (!from || !to) return null;
  const byName = {};
  for (const name of new Set([...Object.keys(from.rss.byName), ...Object.keys(to.rss.byName)])) {
    byName[name] = (to.rss.byName[name] ?? 0) - (from.rss.byName[name] ?? 0);
  }
  // A least-squares line through every reading in the window: one reading landing on a garbage collection moves
  // the endpoints, not the trend.
  const window = samples.filter((s) => s.t >= from.t && s.t <= to.t && s.phase.startsWith("load"));
  const totalMiB = to.rss.totalMiB - from.rss.totalMiB;
  const middle = (from.t + to.t) / 2;
  const peak = (points) => Math.max(...points.map((s) => s.rss.totalMiB));
  const firstPeakMiB = peak(window.filter((s) => s.t < middle));
  const secondPeakMiB = peak(window.filter((s) => s.t >= middle));
  return {
    fromS: from.t, toS: to.t, totalMiB, byName, trendMiBPerMin: slope(window) * 60,
    firstPeakMiB, secondPeakMiB, peakRiseMiB: secondPeakMiB - firstPeakMiB,
  };
}

/** Least-squares slope of total RSS over time, MiB per second. */
function slope(points) {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p.t, 0) / n;
  const my = points.reduce((a, p) => a + p.rss.totalMiB, 0) / n;
  const sxy = points.reduce((a, p) => a + (p.t - mx) * (p.rss.totalMiB - my), 0);
  const sxx = points.reduce((a, p) => a + (p.t - mx) ** 2, 0);
  return sxx > 0 ? sxy / sxx : 0;
}

function describeGrowth(g) {
  const parts = Object.entries(g.byName).map(([name, d]) => `${name} ${signed(d)}`);
  return `peaks ${f1(g.firstPeakMiB)} then ${f1(g.secondPeakMiB)} MiB (${signed(g.peakRiseMiB)}); ` +
    `${signed(g.totalMiB)} MiB from ${g.fromS.toFixed(0)} s to ${g.toS.toFixed(0)} s (${parts.join(", ")}); ` +
    `trend over the window ${signed(g.trendMiBPerMin)} MiB/min`;
}

/** One line on where the CPU went during the load, in percent of one core. */
function describeCpu(cpu, cores) {
  const apps = Object.entries(cpu.appByName).map(([name, p]) => `${name} ${f0(p)}`).join(", ");
  return `CPU during the load, % of one core (the machine has ${cores * 100}): app ${f0(cpu.app)} (${apps}); ` +
    `Xvfb ${f0(cpu.display)}; load generator + upstreams ${f0(cpu.load)}; harness (node, tauri-driver, ` +
    `WebKitWebDriver) ${f0(cpu.harness)}; everything else, kernel included ${f0(cpu.other)}`;
}

/** Whether the newest log row changed since the previous probe; not changing is only wrong under load. */
function changed(row, prev) {
  if (!row.ui || !prev?.ui) return "-";
  if (row.ui.newest !== prev.ui.newest) return "yes";
  return row.phase === "load" ? "NO" : "no";
}

/** The whole report as lines of text. */
export function formatReport({ header, samples, load, labels, rate, judged, cpu, cores, uiTotals }) {
  const lines = [...header, ""];
  const msOf = (us, digits) => (us / 1000).toFixed(digits);
  lines.push(`Load through the app: ${Math.round(load.achieved_rps)} req/s of ${load.target_rps} offered ` +
    `(${load.completed} answered of ${load.planned} planned, ${load.connections} connections), latency ` +
    `p50 ${msOf(load.p50_us, 2)} ms, p99 ${msOf(load.p99_us, 2)} ms, max ${msOf(load.max_us, 1)} ms; ` +
    `errors ${load.errors}, non-2xx ${load.non_2xx}; send lag p99 ${msOf(load.lag_p99_us, 1)} ms` +
    (load.kept_pace ? "" : " — FELL BEHIND the schedule"));
  for (const e of load.error_samples ?? []) lines.push(`  error: ${e}`);
  if (uiTotals) {
    const during = uiTotals.shown - uiTotals.before;
    const same = during === uiTotals.sent ? "equal" : `difference ${during - uiTotals.sent}`;
    lines.push(`Distribution ${uiTotals.afterS.toFixed(0)} s after the load: ${during} requests counted during the ` +
      `load; the load generator had ${uiTotals.sent} answered (${same}).`);
  }
  if (cpu) lines.push(describeCpu(cpu, cores));
  lines.push("");

  const names = [...new Set(samples.flatMap((r) => Object.keys(r.rss.byName)))];
  const baseline = samples.findLast((s) => s.phase === "idle");
  const columns = [
    ["phase", 9, (s) => s.phase],
    ["t s", 5, (s) => s.t.toFixed(1)],
    ["RSS MiB", 7, (s) => f1(s.rss.totalMiB)],
    ...names.map((n) => [SHORT[n] ?? n, Math.max(7, (SHORT[n] ?? n).length), (s) => f1(s.rss.byName[n])]),
    ["app CPU%", 8, (s) => f0(s.cpu?.app)],
    ["other%", 6, (s) => f0(s.cpu?.other)],
    ["rows", 5, (s) => s.ui?.rows ?? "-"],
    ["new?", 4, (s, prev) => changed(s, prev)],
    ["age ms", 6, (s) => ms(s.ui?.newestAgeMs)],
    ...labels.map((l) => [l.replace(/^127\.0\.0\.1/, ""), 8, (s) => s.ui?.distribution[l] ?? "-"]),
    ["lag s", 5, (s) => f1(distributionLag(s, baseline, labels, rate))],
    ["frames", 6, (s) => s.frames?.frames ?? "-"],
    ["p95 ms", 6, (s) => ms(s.frames?.p95GapMs)],
    ["max ms", 6, (s) => ms(s.frames?.maxGapMs)],
    ["RTT ms", 6, (s) => ms(s.rttMs)],
  ];
  lines.push([...columns.map(([title, width]) => title.padStart(width)), " log count / not shown"].join(" "));
  samples.forEach((s, i) => {
    const prev = samples.slice(0, i).findLast((r) => r.ui);
    const cells = columns.map(([, width, value]) => String(value(s, prev)).padStart(width));
    const note = s.ui ? `${s.ui.count}${s.ui.missed ? ` / ${s.ui.missed}` : ""}` : (s.error ?? "");
    lines.push([...cells, ` ${note}`].join(" "));
  });
  lines.push(
    "RSS in all and per process (app = roundabout-app, Web = WebKitWebProcess, Net = WebKitNetworkProcess).",
    "CPU since the previous row, % of one core: app = its processes, other = the rest of the machine.",
    "new? = the newest log row changed since the previous probe; age = how old that row was when read.",
    `:port = requests in the distribution per upstream; lag = how far it is behind the ${rate}/s schedule.`,
    "frames drawn in 1 s (requestAnimationFrame) and the p95/max gap between them; RTT = a WebDriver script round trip.",
  );
  lines.push("");
  for (const v of judged.verdicts) lines.push(`${v.pass ? "PASS" : "FAIL"}  ${v.what}: ${v.detail}`);
  return lines;
}
