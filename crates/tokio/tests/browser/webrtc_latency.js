// Publish→display latency of WebRTC through the relay, in one headless Chromium page:
// a canvas draws a frame number as a barcode (16 cells of 40 px, black/white) 25 times a
// second and remembers when it drew each; its captureStream() is published over WHIP
// ({base}/{key}/whip, H.264 preferred); a <video> plays {base}/{key}/whep; at every frame
// the video presents (requestVideoFrameCallback) the barcode is read back from a copy of the
// picture and latency = presentation time - draw time of that number (one clock: the page's).
// Usage: node webrtc_latency.js '{"base":"http://127.0.0.1:PORT","key":"live/lat","seconds":15}'
'use strict';

const { run, percentile } = require('./chromium.js');

const args = JSON.parse(process.argv[2]);

run({ deadlineMs: (args.seconds + 60) * 1000 }, async (page, result) => {
  await page.goto(`${args.base}/api/v1/server`);
  Object.assign(result, await page.evaluate(async ({ key, seconds }) => {
    const W = 640, H = 360, CELLS = 16, CW = W / CELLS;
    const canvas = document.createElement('canvas');
    canvas.width = W; canvas.height = H;
    const g = canvas.getContext('2d');
    const drawn = new Map();
    let n = 0;
    const draw = () => {
      n += 1;
      g.fillStyle = '#808080'; g.fillRect(0, 0, W, H);
      for (let b = 0; b < CELLS; b++) {
        g.fillStyle = (n >> b) & 1 ? '#fff' : '#000';
        g.fillRect(b * CW, 0, CW, 80);
      }
      drawn.set(n, performance.now());
    };
    draw();
    const timer = setInterval(draw, 40);
    const wait = (ms) => new Promise((r) => setTimeout(r, ms));
    async function whip() {
      const pc = new RTCPeerConnection();
      const track = canvas.captureStream(25).getVideoTracks()[0];
      const t = pc.addTransceiver(track, { direction: 'sendonly' });
      const codecs = RTCRtpSender.getCapabilities('video').codecs;
      const h264 = codecs.filter((c) => c.mimeType === 'video/H264' && /packetization-mode=1/.test(c.sdpFmtpLine || ''));
      t.setCodecPreferences([...h264, ...codecs.filter((c) => !h264.includes(c))]);
      await pc.setLocalDescription(await pc.createOffer());
      const r = await fetch(`/${key}/whip`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
      const answer = await r.text();
      if (r.status !== 201) throw new Error(`WHIP ${r.status} ${answer}`);
      await pc.setRemoteDescription({ type: 'answer', sdp: answer });
      return pc;
    }
    const pub = await whip();
    // The stream is live once the relay has its track: retry WHEP until it is.
    let play = null, v = null;
    for (let i = 0; i < 100 && !play; i++) {
      const pc = new RTCPeerConnection();
      pc.addTransceiver('video', { direction: 'recvonly' });
      const video = document.createElement('video');
      video.muted = true; video.autoplay = true; video.playsInline = true;
      pc.ontrack = (e) => { video.srcObject = new MediaStream([e.track]); };
      await pc.setLocalDescription(await pc.createOffer());
      const r = await fetch(`/${key}/whep`, { method: 'POST', headers: { 'Content-Type': 'application/sdp' }, body: pc.localDescription.sdp });
      const answer = await r.text();
      if (r.status === 201) {
        await pc.setRemoteDescription({ type: 'answer', sdp: answer });
        play = pc; v = video;
        document.body.appendChild(v);
      } else {
        pc.close();
        await wait(100);
      }
    }
    if (!play) throw new Error('WHEP never succeeded');
    const probe = document.createElement('canvas');
    probe.width = W; probe.height = 80;
    const pg = probe.getContext('2d', { willReadFrequently: true });
    const lat = [];
    let unreadable = 0;
    const done = new Promise((resolve) => {
      const t0 = performance.now();
      const onFrame = (now, meta) => {
        pg.drawImage(v, 0, 0, W, H, 0, 0, W, H);
        const px = pg.getImageData(0, 0, W, 80).data;
        let num = 0;
        for (let b = 0; b < CELLS; b++) {
          const x = Math.floor(b * CW + CW / 2), y = 40;
          const lum = px[(y * W + x) * 4];
          if (lum > 128) num |= 1 << b;
        }
        const at = drawn.get(num);
        if (at !== undefined && v.videoWidth === W) {
          lat.push(meta.expectedDisplayTime - at);
        } else {
          unreadable += 1;
        }
        if (performance.now() - t0 < seconds * 1000) v.requestVideoFrameCallback(onFrame);
        else resolve();
      };
      v.requestVideoFrameCallback(onFrame);
    });
    await done;
    clearInterval(timer);
    pub.close(); play.close();
    return { latencies_ms: lat.map((x) => Math.round(x * 10) / 10), unreadable };
  }, { key: args.key, seconds: args.seconds }));
  const l = result.latencies_ms;
  result.p50 = percentile(l, 50);
  result.p90 = percentile(l, 90);
  result.p99 = percentile(l, 99);
  result.frames = l.length;
  delete result.latencies_ms;
});
