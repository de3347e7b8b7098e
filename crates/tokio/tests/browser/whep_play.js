// WHEP playback in headless Chromium: POSTs an offer to {base}{path}, plays the answer's
// media in a <video>, samples getVideoPlaybackQuality().totalVideoFrames and currentTime
// every 250 ms for `seconds`, then DELETEs the session resource.
// Usage: node whep_play.js '{"base":"http://127.0.0.1:PORT","path":"/live/x/whep","seconds":10}'
'use strict';

const { run } = require('./chromium.js');

const args = JSON.parse(process.argv[2]);

run({ deadlineMs: (args.seconds + 60) * 1000 }, async (page, result) => {
  await page.goto(`${args.base}/api/v1/server`);
  Object.assign(result, await page.evaluate(async ({ path, seconds }) => {
    const pc = new RTCPeerConnection();
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const v = document.createElement('video');
    v.muted = true;
    v.autoplay = true;
    v.playsInline = true;
    document.body.appendChild(v);
    const stream = new MediaStream();
    pc.ontrack = (e) => {
      stream.addTrack(e.track);
      v.srcObject = stream;
    };
    await pc.setLocalDescription(await pc.createOffer());
    const r = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp' },
      body: pc.localDescription.sdp,
    });
    const answer = await r.text();
    if (r.status !== 201) throw new Error(`WHEP POST: ${r.status} ${answer}`);
    const location = r.headers.get('Location');
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    // Wait for the first decoded frame (bounded by the script's deadline).
    const t0 = performance.now();
    while (v.getVideoPlaybackQuality().totalVideoFrames === 0) {
      await new Promise((res) => setTimeout(res, 50));
      v.play().catch(() => {});
    }
    const first_frame_ms = Math.round(performance.now() - t0);
    const samples = [];
    const s0 = performance.now();
    while (performance.now() - s0 < seconds * 1000) {
      samples.push([Math.round(performance.now() - s0), v.getVideoPlaybackQuality().totalVideoFrames, v.currentTime]);
      await new Promise((res) => setTimeout(res, 250));
    }
    const stats = [];
    (await pc.getStats()).forEach((s) => {
      if (s.type === 'inbound-rtp') {
        stats.push({ kind: s.kind, packetsLost: s.packetsLost, framesDecoded: s.framesDecoded, nackCount: s.nackCount, pliCount: s.pliCount, jitterBufferDelay: s.jitterBufferDelay, jitterBufferEmittedCount: s.jitterBufferEmittedCount });
      }
    });
    const d = await fetch(location, { method: 'DELETE' });
    pc.close();
    return { samples, first_frame_ms, stats, location, delete_status: d.status, tracks: stream.getTracks().map((t) => t.kind), width: v.videoWidth, height: v.videoHeight };
  }, { path: args.path, seconds: args.seconds }));
});
