// The Weir console: lists the live streams from the API (refreshed every few seconds),
// with players and the URLs of every protocol for each. No framework, no build step.
//
// Tests and curious users find the open players in `window.weir.players`
// (`"app/stream:kind"` → `{ video, hls?, player?, whep? }`).

import { PLAYERS, startPlayer, streamUrls } from './players.js';

const REFRESH_MS = 2000;
const TOKEN_KEY = 'weir.console.token';
const QUERY_KEY = 'weir.console.query';

const $ = (id) => document.getElementById(id);

/** `h('div', { class: 'x', onclick }, child, …)`: a DOM element. */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? '' : v);
  }
  el.append(...children.flat().filter((c) => c !== null && c !== undefined));
  return el;
}

const state = {
  token: sessionStorage.getItem(TOKEN_KEY) || '',
  query: sessionStorage.getItem(QUERY_KEY) || '',
  listeners: null,
  /** key → { el, stream, players: Map(kind → tile) } */
  cards: new Map(),
};

window.weir = { players: new Map() };

class AuthError extends Error {}

async function api(path) {
  const headers = state.token ? { Authorization: `Bearer ${state.token}` } : {};
  const res = await fetch(`/api/v1${path}`, { headers, cache: 'no-store' });
  if (res.status === 401) throw new AuthError('the API needs a token');
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status}`);
  return res.json();
}

// ---- formatting ----

function duration(s) {
  const hh = Math.floor(s / 3600);
  const mm = Math.floor((s % 3600) / 60);
  const ss = s % 60;
  const two = (n) => String(n).padStart(2, '0');
  return hh ? `${hh}:${two(mm)}:${two(ss)}` : `${mm}:${two(ss)}`;
}

function rate(kbps) {
  return kbps >= 1000 ? `${(kbps / 1000).toFixed(1)} Mbit/s` : `${kbps} kbit/s`;
}

function trackText(t) {
  if (t.type === 'video') {
    const size = t.width && t.height ? ` ${t.width}×${t.height}` : '';
    const fps = t.fps ? ` ${Math.round(t.fps * 100) / 100} fps` : '';
    return `${t.codec}${size}${fps}`;
  }
  const sr = t.sample_rate ? ` ${t.sample_rate / 1000} kHz` : '';
  const ch = t.channels ? ` ${t.channels} ch` : '';
  return `${t.codec}${sr}${ch}`;
}

// ---- players ----

function openPlayer(card, kind) {
  const { stream } = card;
  const label = PLAYERS.find((p) => p.kind === kind).label;
  const video = h('video', { muted: true, autoplay: true, playsinline: true, controls: true });
  video.muted = true;
  const note = h('span', { class: 'note' });
  const stats = h('div', { class: 'stats' }, '\u00a0');
  const tile = {
    kind,
    video,
    handle: null,
    timer: null,
    el: h('figure', { class: 'player', dataset: { kind } },
      h('figcaption', {},
        h('strong', {}, label), note,
        h('button', { type: 'button', class: 'close', title: `Close ${label}`, onclick: () => closePlayer(card, kind) }, '×')),
      video,
      stats),
  };
  const status = (text) => { note.textContent = text || ''; };
  video.addEventListener('playing', () => status(''));
  card.players.set(kind, tile);
  card.el.querySelector('.players').append(tile.el);
  syncButtons(card);
  const entry = { video };
  window.weir.players.set(`${stream.key}:${kind}`, entry);
  status('connecting…');
  startPlayer(kind, video, stream, state.listeners, state.query, status).then(
    (handle) => {
      if (card.players.get(kind) !== tile) { handle.destroy(); return; }
      tile.handle = handle;
      Object.assign(entry, handle);
    },
    (e) => status(e.message),
  );
  tile.timer = setInterval(() => {
    const q = video.getVideoPlaybackQuality ? video.getVideoPlaybackQuality() : null;
    const lat = tile.handle && tile.handle.latency ? tile.handle.latency() : null;
    const parts = [];
    if (video.videoWidth) parts.push(`${video.videoWidth}×${video.videoHeight}`);
    if (q) parts.push(`${q.totalVideoFrames} frames`);
    parts.push(`${video.currentTime.toFixed(1)} s`);
    if (lat !== null) parts.push(`${lat.toFixed(2)} s behind`);
    stats.textContent = parts.join(' · ');
  }, 500);
}

function closePlayer(card, kind) {
  const tile = card.players.get(kind);
  if (!tile) return;
  card.players.delete(kind);
  clearInterval(tile.timer);
  if (tile.handle) tile.handle.destroy();
  tile.video.removeAttribute('src');
  tile.video.srcObject = null;
  tile.el.remove();
  window.weir.players.delete(`${card.stream.key}:${kind}`);
  syncButtons(card);
}

function syncButtons(card) {
  for (const b of card.el.querySelectorAll('button[data-kind]')) {
    const on = card.players.has(b.dataset.kind);
    b.setAttribute('aria-pressed', on ? 'true' : 'false');
  }
}

// ---- stream cards ----

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // Not a secure context (plain HTTP to another host): select and copy the old way.
    const input = button.previousElementSibling;
    input.select();
    document.execCommand('copy');
  }
  button.textContent = 'Copied';
  setTimeout(() => { button.textContent = 'Copy'; }, 1200);
}

function urlRows(stream) {
  return streamUrls(stream.key, state.listeners, state.query).map(({ proto, url }) => {
    const input = h('input', { type: 'text', readonly: true, value: url, onfocus: (e) => e.target.select() });
    const button = h('button', { type: 'button', onclick: (e) => copy(url, e.target) }, 'Copy');
    return h('tr', {}, h('th', { scope: 'row' }, proto), h('td', {}, input, button));
  });
}

function newCard(stream) {
  const card = { stream, players: new Map(), el: null };
  const buttons = PLAYERS.map(({ kind, label }) => h('button', {
    type: 'button',
    dataset: { kind },
    'aria-pressed': 'false',
    onclick: () => (card.players.has(kind) ? closePlayer(card, kind) : openPlayer(card, kind)),
  }, label));
  card.el = h('article', { class: 'stream', dataset: { key: stream.key } },
    h('header', {},
      h('h2', {}, stream.key),
      h('span', { class: 'badge proto' }),
      h('span', { class: 'tracks' }),
      h('span', { class: 'grow' }),
      h('span', { class: 'numbers muted' })),
    h('div', { class: 'actions' }, h('span', { class: 'muted' }, 'Play:'), buttons),
    h('div', { class: 'players' }),
    h('details', { class: 'urls' },
      h('summary', {}, 'URLs'),
      h('table', {}, h('tbody', {}))));
  return card;
}

function updateCard(card, stream) {
  card.stream = stream;
  const el = card.el;
  const proto = stream.publisher ? stream.publisher.protocol : 'waiting';
  el.querySelector('.proto').textContent = proto;
  el.querySelector('.proto').title = stream.publisher && stream.publisher.remote_addr
    ? `from ${stream.publisher.remote_addr}` : '';
  const tracks = stream.tracks.map(trackText);
  const dropped = [];
  if (stream.hls && stream.hls.dropped_tracks.length) {
    dropped.push(`not in HLS: ${stream.hls.dropped_tracks.join(', ')}`);
  }
  if (stream.webrtc_audio) dropped.push(`WebRTC without audio (${stream.webrtc_audio})`);
  el.querySelector('.tracks').textContent = [...tracks, ...dropped].join(' · ');
  el.querySelector('.numbers').textContent = [
    rate(stream.bitrate_kbps),
    `${stream.players} player${stream.players === 1 ? '' : 's'}`,
    `up ${duration(stream.uptime_s)}`,
  ].join(' · ');
  const tbody = el.querySelector('.urls tbody');
  const rows = urlRows(stream);
  const same = tbody.children.length === rows.length
    && rows.every((r, i) => r.querySelector('input').value === tbody.children[i].querySelector('input').value);
  if (!same) tbody.replaceChildren(...rows);
}

function render(streams) {
  const live = streams.filter((s) => s.online);
  const seen = new Set();
  const list = $('streams');
  for (const s of live) {
    seen.add(s.key);
    let card = state.cards.get(s.key);
    if (!card) {
      card = newCard(s);
      state.cards.set(s.key, card);
    }
    updateCard(card, s);
  }
  for (const [key, card] of state.cards) {
    if (seen.has(key)) continue;
    for (const kind of [...card.players.keys()]) closePlayer(card, kind);
    card.el.remove();
    state.cards.delete(key);
  }
  // Sorted by key; cards are moved, not rebuilt, so playing videos keep playing.
  const order = [...state.cards.keys()].sort();
  order.forEach((key, i) => {
    const el = state.cards.get(key).el;
    if (list.children[i] !== el) list.insertBefore(el, list.children[i] || null);
  });
  $('empty').hidden = live.length > 0;
}

// ---- refresh loop and settings ----

async function refresh() {
  try {
    const [server, streams] = await Promise.all([api('/server'), api('/streams')]);
    state.listeners = server.listeners || {};
    $('server').textContent = `${server.server_id} ${server.version} · up ${duration(server.uptime_s)}`;
    const rtmp = streams.streams.length ? null : streamUrls('live/test', state.listeners, '')[0];
    $('example').textContent = rtmp && rtmp.proto === 'RTMP'
      ? `ffmpeg -re -i input.mp4 -c copy -f flv ${rtmp.url}` : '';
    $('auth-needed').hidden = true;
    $('status').textContent = '';
    render(streams.streams);
  } catch (e) {
    if (e instanceof AuthError) {
      $('auth-needed').hidden = false;
      showSettings(true);
      $('status').textContent = state.token ? 'token refused' : 'token needed';
    } else {
      $('status').textContent = `cannot reach the API (${e.message})`;
    }
  }
}

async function loop() {
  await refresh();
  setTimeout(loop, REFRESH_MS);
}

function showSettings(show) {
  $('settings').hidden = !show;
  $('settings-toggle').setAttribute('aria-expanded', String(show));
}

function init() {
  $('token').value = state.token;
  $('query').value = state.query;
  $('settings-toggle').addEventListener('click', () => showSettings($('settings').hidden));
  $('settings-form').addEventListener('submit', (e) => {
    e.preventDefault();
    state.token = $('token').value.trim();
    state.query = $('query').value.trim();
    sessionStorage.setItem(TOKEN_KEY, state.token);
    sessionStorage.setItem(QUERY_KEY, state.query);
    showSettings(false);
    refresh();
  });
  $('forget').addEventListener('click', () => {
    state.token = '';
    state.query = '';
    $('token').value = '';
    $('query').value = '';
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(QUERY_KEY);
    refresh();
  });
  // WHEP sessions end with the page (keepalive DELETE).
  window.addEventListener('pagehide', () => {
    for (const card of state.cards.values()) {
      for (const kind of [...card.players.keys()]) closePlayer(card, kind);
    }
  });
  loop();
}

init();
