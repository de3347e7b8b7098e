// Shared by the console's browser tests: Debian's chromium driven by playwright-core (no
// downloaded browser), a fresh profile per run, a hard deadline, one JSON line of results on
// stdout, and the playback measurements the tests assert on.
'use strict';

const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

const CHROMIUM = process.env.WEIR_CHROMIUM || '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * Runs `body(page, result)` in a fresh Chromium; prints `result` as one JSON line and exits 0,
 * or prints `{ error }` and exits 1 on a failure or when `deadlineMs` passes.
 */
async function run({ deadlineMs, viewport, extraArgs }, body) {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'weir-chromium-'));
  const result = { log: [] };
  let context = null;
  let finished = false;
  const finish = async (code, extra) => {
    if (finished) return;
    finished = true;
    Object.assign(result, extra || {});
    if (context) {
      // Bounded: a wedged browser must not keep the test past its deadline.
      await Promise.race([context.close().catch(() => {}), new Promise((r) => setTimeout(r, 5000))]);
    }
    fs.rmSync(profile, { recursive: true, force: true });
    process.stdout.write(`${JSON.stringify(result)}\n`, () => process.exit(code));
  };
  const timer = setTimeout(() => finish(1, { error: `deadline of ${deadlineMs} ms passed` }), deadlineMs);
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: [...ARGS, ...(extraArgs || [])],
      viewport: viewport || { width: 1400, height: 900 },
    });
    const page = context.pages()[0] || (await context.newPage());
    const log = (line) => { if (result.log.length < 50) result.log.push(line.slice(0, 300)); };
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') log(`${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => log(`pageerror: ${e.message}`));
    await body(page, result);
    clearTimeout(timer);
    await finish(0);
  } catch (e) {
    clearTimeout(timer);
    await finish(1, { error: String(e && e.stack ? e.stack : e).slice(0, 2000) });
  }
}

/**
 * Samples every player in `ids` (keys of `window.weir.players`) every `everyMs` for
 * `windowMs`, in the page: `{ id: [[ms, totalVideoFrames, currentTime], …] }`.
 */
function sample(page, ids, windowMs, everyMs) {
  return page.evaluate(async ({ ids, windowMs, everyMs }) => {
    const out = Object.fromEntries(ids.map((id) => [id, []]));
    const t0 = performance.now();
    for (;;) {
      const t = performance.now() - t0;
      for (const id of ids) {
        const v = window.weir.players.get(id).video;
        out[id].push([Math.round(t), v.getVideoPlaybackQuality().totalVideoFrames, v.currentTime]);
      }
      if (t >= windowMs) return out;
      // The sampling period of the measurement window, not a wait for a condition.
      await new Promise((r) => setTimeout(r, everyMs));
    }
  }, { ids, windowMs, everyMs });
}

/**
 * What a player's samples show: frames and media time gained over the window, and the
 * longest time without a new frame or without media time advancing.
 */
function progress(samples) {
  const first = samples[0];
  const last = samples[samples.length - 1];
  let frameGap = 0;
  let timeGap = 0;
  let lastFrame = first;
  let lastTime = first;
  for (const s of samples) {
    if (s[1] > lastFrame[1]) lastFrame = s;
    if (s[2] > lastTime[2]) lastTime = s;
    frameGap = Math.max(frameGap, s[0] - lastFrame[0]);
    timeGap = Math.max(timeGap, s[0] - lastTime[0]);
  }
  return {
    window_ms: last[0] - first[0],
    frames: last[1] - first[1],
    media_s: Math.round((last[2] - first[2]) * 1000) / 1000,
    max_frame_gap_ms: frameGap,
    max_time_gap_ms: timeGap,
    samples: samples.length,
  };
}

/** The p-th percentile (0..100) of `values`. */
function percentile(values, p) {
  const v = [...values].sort((a, b) => a - b);
  if (!v.length) return null;
  const i = Math.min(v.length - 1, Math.max(0, Math.ceil((p / 100) * v.length) - 1));
  return v[i];
}

module.exports = { run, sample, progress, percentile };
