// Latency measured in the browser: the test's source carries its frame number as a
// barcode in the picture's top rows (16 cells of 40 px: bits 0–13 the number, cell 14
// white, cell 15 black). For every frame the player presents, the page reads the barcode
// off the frame (requestVideoFrameCallback + canvas) and records (frame number, wall-clock
// time the frame is shown). The test knows when each frame reached the relay, so
// display − ingest is the delay the relay and the player add, measured, not estimated.
//
// For hls.js players it also samples every 250 ms: hls.latency, hls.targetLatency, the
// program date-time of the playhead (hls.playingDate), playbackRate; and counts stalls.
//
// Argument: JSON { base, key, kind, window_ms, start_ms, deadline_ms }.
// Prints { frames: [[n, shown_ms]], hls: [[now_ms, latency, target, playing_date_ms, rate]],
//          stalls, decode_errors, started_ms, log }.
'use strict';

const { run } = require('./chromium');

const args = JSON.parse(process.argv[2]);

run({ deadlineMs: args.deadline_ms }, async (page, result) => {
  const card = `article[data-key="${args.key}"]`;
  const id = `${args.key}:${args.kind}`;
  await page.goto(`${args.base}/`);
  await page.waitForSelector(card, { timeout: args.start_ms });
  const t0 = Date.now();
  await page.click(`${card} button[data-kind="${args.kind}"]`);
  await page.waitForFunction((id) => {
    const p = window.weir.players.get(id);
    return p && p.video.currentTime > 0 && p.video.getVideoPlaybackQuality().totalVideoFrames > 0;
  }, id, { timeout: args.start_ms, polling: 100 });
  result.started_ms = Date.now() - t0;

  Object.assign(result, await page.evaluate(async ({ id, windowMs }) => {
    const p = window.weir.players.get(id);
    const video = p.video;
    const out = { frames: [], hls: [], stalls: 0, decode_errors: 0 };
    const canvas = document.createElement('canvas');
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    const Hls = window.Hls;
    if (p.hls && Hls) {
      p.hls.on(Hls.Events.ERROR, (_e, d) => {
        if (d.details === Hls.ErrorDetails.BUFFER_STALLED_ERROR) out.stalls += 1;
      });
    }
    const read = () => {
      const w = video.videoWidth;
      if (!w) return null;
      const scale = w / 640;
      canvas.width = w;
      canvas.height = 1;
      // Row 12 of the barcode strip (24 rows at 640 px wide).
      ctx.drawImage(video, 0, Math.round(12 * scale), w, 1, 0, 0, w, 1);
      const row = ctx.getImageData(0, 0, w, 1).data;
      const bit = (cell) => {
        const x = Math.round((cell * 40 + 20) * scale);
        const i = x * 4;
        return (row[i] + row[i + 1] + row[i + 2]) / 3 > 128 ? 1 : 0;
      };
      if (bit(14) !== 1 || bit(15) !== 0) return null;
      let n = 0;
      for (let b = 13; b >= 0; b -= 1) n = n * 2 + bit(b);
      return n;
    };
    // hls.js's own view, sampled while the frames are read.
    const sampler = setInterval(() => {
      if (!p.hls) return;
      const h = p.hls;
      const date = h.playingDate ? h.playingDate.getTime() : null;
      out.hls.push([Date.now(), h.latency, h.targetLatency, date, video.playbackRate]);
    }, 250);
    const start = performance.now();
    await new Promise((resolve) => {
      const onFrame = (_now, meta) => {
        const n = read();
        const shown = performance.timeOrigin + (meta.expectedDisplayTime || meta.presentationTime);
        if (n === null) out.decode_errors += 1;
        else out.frames.push([n, Math.round(shown)]);
        if (performance.now() - start >= windowMs) resolve();
        else video.requestVideoFrameCallback(onFrame);
      };
      video.requestVideoFrameCallback(onFrame);
    });
    clearInterval(sampler);
    return out;
  }, { id, windowMs: args.window_ms }));
});
