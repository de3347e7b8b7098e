// The console in Chromium: the stream published by the test is listed; the players asked
// for are opened with the console's own buttons; each must start, then play for the
// measurement window while sampled; a screenshot of the page with every player playing is
// saved. Prints one JSON line:
//   { listed_ms, started: { kind: ms }, players: { kind: progress }, screenshot, log }
//
// Argument: JSON { base, key, players: [kind], window_ms, start_ms, deadline_ms, screenshot,
// token? } — with a token, the API needs it and the page must ask for it first.
'use strict';

const { run, sample, progress } = require('./chromium');

const args = JSON.parse(process.argv[2]);

run({ deadlineMs: args.deadline_ms }, async (page, result) => {
  const t0 = Date.now();
  const card = `article[data-key="${args.key}"]`;
  await page.goto(`${args.base}/`);
  if (args.token) {
    // The API wants a token: the page asks for it, lists nothing until it has it, and keeps
    // it for the tab (a reload does not ask again).
    await page.waitForSelector('#auth-needed:not([hidden])', { timeout: args.start_ms });
    result.asked_for_token = true;
    result.listed_before_token = await page.$$eval('article.stream', (els) => els.length);
    await page.fill('#token', args.token);
    await page.click('#settings-form button[type="submit"]');
    await page.waitForSelector(card, { timeout: args.start_ms });
    await page.reload();
  }
  await page.waitForSelector(card, { timeout: args.start_ms });
  result.listed_ms = Date.now() - t0;
  result.tracks = await page.textContent(`${card} .tracks`);

  for (const kind of args.players) {
    await page.click(`${card} button[data-kind="${kind}"]`);
  }
  result.started = {};
  const t1 = Date.now();
  for (const kind of args.players) {
    const id = `${args.key}:${kind}`;
    try {
      await page.waitForFunction((id) => {
        const p = window.weir.players.get(id);
        return p && p.video.currentTime > 0 && p.video.getVideoPlaybackQuality().totalVideoFrames > 0;
      }, id, { timeout: Math.max(1000, args.start_ms - (Date.now() - t1)), polling: 100 });
    } catch (e) {
      const note = await page.textContent(`${card} .player[data-kind="${kind}"] figcaption`).catch(() => '');
      throw new Error(`${kind} did not start: ${note} (${e.message.split('\n')[0]})`);
    }
    result.started[kind] = Date.now() - t1;
  }

  const ids = args.players.map((k) => `${args.key}:${k}`);
  const samples = await sample(page, ids, args.window_ms, 100);
  result.players = {};
  for (const kind of args.players) {
    result.players[kind] = progress(samples[`${args.key}:${kind}`]);
  }
  result.captions = await page.$$eval(`${card} .player figcaption`, (els) => els.map((e) => e.textContent));
  // The URL list open too, for the picture.
  await page.$eval(`${card} details.urls`, (d) => { d.open = true; });
  await page.screenshot({ path: args.screenshot, fullPage: true });
  result.screenshot = args.screenshot;
});
