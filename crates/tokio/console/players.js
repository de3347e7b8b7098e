// The console's players and the URLs of a stream on every protocol. hls.js and mpegts.js
// are loaded from this server (`/console/vendor/`) the first time a player needs them.

import { WhepClient } from './whep.js';

/** The players the console offers, in the order of their buttons. */
export const PLAYERS = [
  { kind: 'whep', label: 'WebRTC' },
  { kind: 'llhls', label: 'LL-HLS' },
  { kind: 'hls', label: 'HLS' },
  { kind: 'flv', label: 'HTTP-FLV' },
  { kind: 'wsflv', label: 'WS-FLV' },
];

const loading = new Map();

/** Loads a classic script once; resolves to the global it defines. */
function loadScript(src, global) {
  if (window[global]) return Promise.resolve(window[global]);
  if (!loading.has(src)) {
    loading.set(src, new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = src;
      s.async = true;
      s.onload = () => (window[global] ? resolve(window[global]) : reject(new Error(`${src} defined no ${global}`)));
      s.onerror = () => {
        loading.delete(src);
        reject(new Error(`cannot load ${src}`));
      };
      document.head.append(s);
    }));
  }
  return loading.get(src);
}

/** `app/stream` as a URL path, each segment escaped. */
function keyPath(key) {
  return key.split('/').map(encodeURIComponent).join('/');
}

/** The port of a listener address such as `0.0.0.0:1935` or `[::]:8554`. */
function portOf(addr) {
  if (!addr) return null;
  const i = addr.lastIndexOf(':');
  return i < 0 ? null : addr.slice(i + 1);
}

/** `url` with the player query (for the authorization hook) appended. */
export function withQuery(url, query) {
  if (!query) return url;
  return url + (url.includes('?') ? '&' : '?') + query.replace(/^[?&]+/, '');
}

/**
 * Every URL of stream `key`: `[{ proto, url, play }]`, `play` naming the console player
 * for it. HTTP URLs use this page's origin (the server's HTTP port, or the proxy in front of
 * it); RTMP and RTSP use this page's host name with the server's listener ports (from
 * `GET /api/v1/server`).
 */
export function streamUrls(key, listeners, query) {
  const host = location.hostname;
  const http = location.origin;
  const ws = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host;
  const p = keyPath(key);
  const q = (u) => withQuery(u, query);
  const out = [];
  const rtmp = portOf(listeners && listeners.rtmp);
  if (rtmp) out.push({ proto: 'RTMP', url: q(`rtmp://${host}${rtmp === '1935' ? '' : `:${rtmp}`}/${p}`) });
  const rtsp = portOf(listeners && listeners.rtsp);
  if (rtsp) out.push({ proto: 'RTSP', url: q(`rtsp://${host}${rtsp === '554' ? '' : `:${rtsp}`}/${p}`) });
  out.push(
    { proto: 'HTTP-FLV', url: q(`${http}/${p}.flv`), play: 'flv' },
    { proto: 'WS-FLV', url: q(`${ws}/${p}.flv`), play: 'wsflv' },
    { proto: 'HLS', url: q(`${http}/${p}/index.m3u8`), play: 'hls' },
    { proto: 'LL-HLS', url: q(`${http}/${p}/ll.m3u8`), play: 'llhls' },
    { proto: 'HTTP-TS', url: q(`${http}/${p}.ts`) },
    { proto: 'HTTP-fMP4', url: q(`${http}/${p}.mp4`) },
    { proto: 'WHEP', url: q(`${http}/${p}/whep`), play: 'whep' },
    { proto: 'WHIP', url: q(`${http}/${p}/whip`) },
    { proto: 'MJPEG', url: q(`${http}/${p}.mjpeg`) },
  );
  return out;
}

/** The seconds buffered ahead of the playhead (the delay a live player adds). */
function bufferedAhead(video) {
  const b = video.buffered;
  return b.length ? Math.max(0, b.end(b.length - 1) - video.currentTime) : null;
}

async function startHls(video, url, lowLatency, status) {
  const Hls = await loadScript('/console/vendor/hls.min.js', 'Hls');
  if (!Hls.isSupported()) {
    if (video.canPlayType('application/vnd.apple.mpegurl')) {
      // Safari plays HLS (and LL-HLS) natively.
      video.src = url;
      return {
        destroy() { video.removeAttribute('src'); video.load(); },
        latency: () => null,
      };
    }
    throw new Error('this browser cannot play HLS (no Media Source Extensions)');
  }
  // LL-HLS: hls.js plays up to 1.5× while it is behind its target latency (it only does so
  // with buffer to spare), so a slow start does not leave the player behind for good.
  const hls = new Hls({
    lowLatencyMode: lowLatency,
    maxLiveSyncPlaybackRate: lowLatency ? 1.5 : 1,
    backBufferLength: 30,
  });
  let retry = null;
  hls.on(Hls.Events.ERROR, (_event, data) => {
    if (!data.fatal) return;
    if (data.type === Hls.ErrorTypes.MEDIA_ERROR) {
      status(`media error (${data.details}), recovering`);
      hls.recoverMediaError();
    } else if (data.type === Hls.ErrorTypes.NETWORK_ERROR) {
      status(`network error (${data.details}), retrying`);
      clearTimeout(retry);
      retry = setTimeout(() => hls.startLoad(), 2000);
    } else {
      status(`error: ${data.details}`);
    }
  });
  hls.on(Hls.Events.FRAG_BUFFERED, () => status(''));
  hls.loadSource(url);
  hls.attachMedia(video);
  return {
    hls,
    destroy() { clearTimeout(retry); hls.destroy(); },
    latency: () => (Number.isFinite(hls.latency) && hls.latency > 0 ? hls.latency : null),
  };
}

async function startFlv(video, url, stream, status) {
  const mpegts = await loadScript('/console/vendor/mpegts.js', 'mpegts');
  if (!mpegts.getFeatureList().mseLivePlayback) {
    throw new Error('this browser cannot play FLV (no Media Source Extensions)');
  }
  mpegts.LoggingControl.applyConfig({ enableVerbose: false, enableDebug: false, enableInfo: false });
  const player = mpegts.createPlayer(
    { type: 'flv', isLive: true, url, hasAudio: stream.audio, hasVideo: stream.video },
    {
      enableWorker: false,
      enableStashBuffer: false,
      lazyLoad: false,
      liveBufferLatencyChasing: true,
      liveBufferLatencyMaxLatency: 1.5,
      liveBufferLatencyMinRemain: 0.3,
      autoCleanupSourceBuffer: true,
    },
  );
  player.on(mpegts.Events.ERROR, (type, detail) => status(`error: ${type} ${detail}`));
  player.attachMediaElement(video);
  player.load();
  return {
    player,
    destroy() {
      player.pause();
      player.unload();
      player.detachMediaElement();
      player.destroy();
    },
    latency: () => bufferedAhead(video),
  };
}

async function startWhep(video, url, status) {
  const client = new WhepClient(url, video, (state) => status(state === 'connected' ? '' : state));
  try {
    await client.start();
  } catch (e) {
    client.close();
    throw e;
  }
  // What the browser holds back: the video jitter buffer's mean delay, from getStats.
  let buffered = null;
  const timer = setInterval(async () => {
    if (!client.pc) return;
    const stats = await client.pc.getStats().catch(() => null);
    stats?.forEach((r) => {
      if (r.type === 'inbound-rtp' && r.kind === 'video' && r.jitterBufferEmittedCount) {
        buffered = r.jitterBufferDelay / r.jitterBufferEmittedCount;
      }
    });
  }, 1000);
  return {
    whep: client,
    destroy() { clearInterval(timer); client.close(); },
    latency: () => buffered,
  };
}

/**
 * Starts player `kind` for `stream` (an item of `GET /api/v1/streams`) in `video`.
 * Resolves to `{ destroy(), latency() }` (latency in seconds, or null when unknown).
 */
export async function startPlayer(kind, video, stream, listeners, query, status) {
  const urls = streamUrls(stream.key, listeners, query);
  const url = (urls.find((u) => u.play === kind) || {}).url;
  if (!url) throw new Error(`no player ${kind}`);
  let handle;
  switch (kind) {
    case 'hls': handle = await startHls(video, url, false, status); break;
    case 'llhls': handle = await startHls(video, url, true, status); break;
    case 'flv':
    case 'wsflv': handle = await startFlv(video, url, stream, status); break;
    case 'whep': handle = await startWhep(video, url, status); break;
    default: throw new Error(`no player ${kind}`);
  }
  video.play().catch(() => {});
  return handle;
}
