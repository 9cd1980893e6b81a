// What a person looking at the app would notice, read over WebDriver: whether the live log and the distribution
// still move, how long the page takes to run a script (the WebDriver round trip waits for the page's main thread),
// and whether the page keeps drawing frames, timed inside the page with requestAnimationFrame.

/** Longest the frame measurement may take when the page draws no frames at all (a hidden window, say). */
const FRAMES_GIVE_UP_MS = 5_000;

/**
 * The log and the distribution as shown: `{ rows, newest, newestAgeMs, distribution: { label: requests }, missed,
 * count }`. The log lists newest first, so the first row is the newest; its text carries the request's time to the
 * millisecond (local time of day), and how old that is now says how far behind the UI is.
 */
const READ_UI = `
  const rows = document.querySelectorAll('[data-testid="log-row"]');
  const distribution = {};
  for (const bar of document.querySelectorAll('[data-upstream]')) {
    distribution[bar.dataset.upstream] = Number(bar.querySelector('.req')?.textContent ?? NaN);
  }
  let newestAgeMs = null;
  const time = rows[0]?.querySelector('.time')?.textContent.match(/^(\\d+):(\\d+):(\\d+(?:\\.\\d+)?)$/);
  if (time) {
    const at = new Date();
    at.setHours(Number(time[1]), Number(time[2]), 0, 0);
    const day = 86400000;
    newestAgeMs = (Date.now() - at.getTime() - Number(time[3]) * 1000) % day;
    if (newestAgeMs > day / 2) newestAgeMs -= day; // across midnight
    if (newestAgeMs < -day / 2) newestAgeMs += day;
  }
  return {
    rows: rows.length,
    newest: rows[0] ? rows[0].innerText.replace(/\\s+/g, ' ').trim() : null,
    newestAgeMs,
    distribution,
    missed: document.querySelector('.log .missed')?.textContent.trim() ?? '',
    count: document.querySelector('.log .count')?.textContent.replace(/\\s+/g, ' ').trim() ?? '',
  };`;

/**
 * Frames drawn during the first argument's ms: { frames, maxGapMs, p95GapMs, spanMs }. The gap before the first
 * frame counts too: a page that is busy when asked draws its first frame late. Gives up after the second
 * argument's ms with what it has.
 */
const TIME_FRAMES = `
  const [windowMs, giveUpMs, done] = arguments;
  const start = performance.now();
  const stamps = [start];
  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    const gaps = stamps.slice(1).map((t, i) => t - stamps[i]).sort((a, b) => a - b);
    const at = (q) => (gaps.length ? gaps[Math.min(gaps.length - 1, Math.ceil(q * gaps.length) - 1)] : null);
    done({ frames: gaps.length, maxGapMs: gaps.length ? gaps[gaps.length - 1] : null, p95GapMs: at(0.95),
           spanMs: performance.now() - start });
  };
  const tick = (t) => {
    if (finished) return;
    stamps.push(t);
    if (t - start < windowMs) requestAnimationFrame(tick); else finish();
  };
  requestAnimationFrame(tick);
  setTimeout(finish, giveUpMs);`;

/** Round trip of a script that does nothing, in ms: the time the page's main thread took to get to it. */
export async function scriptRoundTrip(session) {
  const t0 = performance.now();
  await session.execute("return 1;");
  return performance.now() - t0;
}

/** The log and the distribution as the page shows them now (see READ_UI). */
export function readUi(session) {
  return session.execute(READ_UI);
}

/** Frames the page draws over `windowMs` (see TIME_FRAMES). */
export function timeFrames(session, windowMs = 1_000) {
  return session.executeAsync(TIME_FRAMES, [windowMs, FRAMES_GIVE_UP_MS]);
}

/** Scrolls the Distribution into view, as someone watching it would, so that it is drawn and not only updated. */
export function showDistribution(session) {
  return session.execute(`
    document.querySelector('section[aria-labelledby="dist-h"]')?.scrollIntoView({ block: "nearest" });
    document.activeElement?.blur();`);
}
