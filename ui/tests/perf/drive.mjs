// The forwarder's pacing, run inside the page (Chromium or WebKit) against the mock backend: a 50 ms tick, and a
// digest only once the page confirmed the last one (digest_shown), as src-tauri/src/forwarder.rs sends them. Each
// digest carries `rows` new requests round-robin over web's three upstreams. Records every frame's time.
// Self-contained (no imports, no closure): it is sent to the page as source text.
export function drive({ ms, rows }) {
  return new Promise((done) => {
    const mock = window.__roundabout;
    const ups = ["127.0.0.1:3001", "127.0.0.1:3002", "127.0.0.1:3003"];
    let shown = true;
    let sentAt = 0;
    const waits = []; // flush -> digest_shown: the digest's script plus the wait for the frame after it
    // flush -> the next task: the digest's script (Svelte updates in its microtasks), more if a frame came between
    const nextTask = [];
    const channel = new MessageChannel();
    channel.port1.onmessage = () => nextTask.push(performance.now() - sentAt);
    let digests = 0;
    let n = 0;
    const handle = mock.handle.bind(mock);
    mock.handle = (cmd, args) => {
      if (cmd === "digest_shown" && !shown) {
        shown = true;
        waits.push(performance.now() - sentAt);
      }
      return handle(cmd, args);
    };
    const frames = [];
    let stop = false;
    const frame = (t) => {
      frames.push(t);
      if (!stop) requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
    const t0 = performance.now();
    const tick = setInterval(() => {
      if (performance.now() - t0 >= ms) {
        clearInterval(tick);
        stop = true;
        mock.handle = handle;
        const sorted = (xs) => [...xs].sort((a, b) => a - b);
        const q = (xs, p) => xs[Math.min(xs.length - 1, Math.ceil(p * xs.length) - 1)] ?? null;
        const gaps = sorted(frames.slice(1).map((t, i) => t - frames[i]));
        const w = sorted(waits);
        done({
          digests, spanMs: performance.now() - t0, frames: gaps.length, p95GapMs: q(gaps, 0.95), maxGapMs: gaps.at(-1) ?? null,
          medianShownMs: q(w, 0.5), p95ShownMs: q(w, 0.95), medianNextTaskMs: q(sorted(nextTask), 0.5),
          logRowElements: document.querySelectorAll('[data-testid="log-row"]').length,
        });
        return;
      }
      if (!shown) return;
      shown = false;
      const at = Date.now();
      for (let i = 0; i < rows; i++, n++) {
        mock.request({ target: "web", host: "web.localhost", path: `/api/items/${n}`, upstream: ups[n % 3], at_ms: at, latency_us: 300 + (n % 900) });
      }
      sentAt = performance.now();
      mock.flush(at);
      channel.port2.postMessage(0);
      digests++;
    }, 50);
  });
}

/** One line for a person: digests taken per second, the confirm time, frames, and Chrome's counters if any. */
export function summary(label, run, perDigestMs) {
  const f = (x) => (x == null ? "-" : x.toFixed(1));
  const secs = run.spanMs / 1000;
  const cost = perDigestMs
    ? `; per digest task ${f(perDigestMs.task)} ms (script ${f(perDigestMs.script)}, style ${f(perDigestMs.style)}, layout ${f(perDigestMs.layout)})`
    : "";
  return `${label}: ${f(run.digests / secs)} digests/s, next task after ${f(run.medianNextTaskMs)} ms, shown after ${f(run.medianShownMs)} ms (p95 ${f(run.p95ShownMs)})${cost}; ` +
    `${f(run.frames / secs)} frames/s, p95 gap ${f(run.p95GapMs)} ms, longest ${f(run.maxGapMs)} ms; ` +
    `${run.logRowElements} log row elements`;
}
