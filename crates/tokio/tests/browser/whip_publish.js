// WHIP publish from headless Chromium: the fake camera and microphone
// (--use-fake-device-for-media-stream), H.264 preferred with setCodecPreferences, Opus;
// POSTs the offer to {base}{path}, publishes for `seconds`, reports the sender's getStats
// (codec, frame size, frames encoded and sent), then DELETEs the session resource.
// Usage: node whip_publish.js '{"base":"http://127.0.0.1:PORT","path":"/live/x/whip","seconds":12}'
'use strict';

const { run } = require('./chromium.js');

const args = JSON.parse(process.argv[2]);
const extraArgs = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

run({ deadlineMs: (args.seconds + 60) * 1000, extraArgs }, async (page, result) => {
  await page.goto(`${args.base}/api/v1/server`);
  Object.assign(result, await page.evaluate(async ({ path, seconds }) => {
    const media = await navigator.mediaDevices.getUserMedia({
      video: { width: 640, height: 480, frameRate: 25 },
      audio: true,
    });
    const pc = new RTCPeerConnection();
    for (const track of media.getTracks()) {
      const t = pc.addTransceiver(track, { direction: 'sendonly', streams: [media] });
      if (track.kind === 'video') {
        const codecs = RTCRtpSender.getCapabilities('video').codecs;
        const h264 = codecs.filter((c) => c.mimeType === 'video/H264' && /packetization-mode=1/.test(c.sdpFmtpLine || ''));
        t.setCodecPreferences([...h264, ...codecs.filter((c) => !h264.includes(c))]);
      }
    }
    await pc.setLocalDescription(await pc.createOffer());
    const r = await fetch(path, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp' },
      body: pc.localDescription.sdp,
    });
    const answer = await r.text();
    if (r.status !== 201) throw new Error(`WHIP POST: ${r.status} ${answer}`);
    const location = r.headers.get('Location');
    await pc.setRemoteDescription({ type: 'answer', sdp: answer });
    const t0 = performance.now();
    while (pc.connectionState !== 'connected') {
      if (performance.now() - t0 > 15000) throw new Error(`not connected: ${pc.connectionState}`);
      await new Promise((res) => setTimeout(res, 50));
    }
    await new Promise((res) => setTimeout(res, seconds * 1000));
    const out = { video: null, audio: null };
    const stats = await pc.getStats();
    stats.forEach((s) => {
      if (s.type !== 'outbound-rtp') return;
      const codec = s.codecId ? stats.get(s.codecId) : null;
      out[s.kind] = {
        mimeType: codec && codec.mimeType,
        frameWidth: s.frameWidth,
        frameHeight: s.frameHeight,
        framesEncoded: s.framesEncoded,
        framesSent: s.framesSent,
        keyFramesEncoded: s.keyFramesEncoded,
        packetsSent: s.packetsSent,
        pliCount: s.pliCount,
        nackCount: s.nackCount,
      };
    });
    const d = await fetch(location, { method: 'DELETE' });
    pc.close();
    return { ...out, location, delete_status: d.status };
  }, { path: args.path, seconds: args.seconds }));
});
