// A small WHEP client (WebRTC-HTTP Egress Protocol): POST an SDP offer to the endpoint,
// get `201 Created` with the SDP answer and a `Location` naming the session, DELETE that
// location to end it. The server is ICE-lite, so the offer goes out once with the
// candidates gathered so far (no trickle needed): the server learns this browser's address
// from its connectivity checks.

/** How long to wait for ICE gathering before sending the offer anyway, ms. */
const GATHER_LIMIT_MS = 1500;

/** Resolves when `pc` has gathered its candidates, or after `limit` ms. */
function gathered(pc, limit) {
  if (pc.iceGatheringState === 'complete') return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      pc.removeEventListener('icegatheringstatechange', check);
      resolve();
    };
    const check = () => { if (pc.iceGatheringState === 'complete') done(); };
    const timer = setTimeout(done, limit);
    pc.addEventListener('icegatheringstatechange', check);
  });
}

/** Plays one WHEP endpoint into a `<video>`. */
export class WhepClient {
  /**
   * @param {string} url the endpoint, e.g. `http://host:8080/live/cam/whep`
   * @param {HTMLVideoElement} video where the media goes
   * @param {(state: string) => void} [onState] told the connection state as it changes
   */
  constructor(url, video, onState) {
    this.url = url;
    this.video = video;
    this.onState = onState || (() => {});
    this.pc = null;
    this.resource = null;
    this.closed = false;
  }

  /** Offers, applies the answer; media follows once ICE and DTLS connect. */
  async start() {
    const pc = new RTCPeerConnection({ bundlePolicy: 'max-bundle' });
    this.pc = pc;
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const stream = new MediaStream();
    pc.addEventListener('track', (ev) => {
      stream.addTrack(ev.track);
      if (this.video.srcObject !== stream) this.video.srcObject = stream;
    });
    pc.addEventListener('connectionstatechange', () => this.onState(pc.connectionState));
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, GATHER_LIMIT_MS);
    if (this.closed) return;
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/sdp' },
      body: pc.localDescription.sdp,
    });
    const text = await res.text();
    if (res.status !== 201) {
      throw new Error(`WHEP ${res.status}${text ? `: ${text.trim().slice(0, 200)}` : ''}`);
    }
    const location = res.headers.get('Location');
    if (location) this.resource = new URL(location, this.url).href;
    if (this.closed) {
      this.close();
      return;
    }
    await pc.setRemoteDescription({ type: 'answer', sdp: text });
  }

  /** Ends the session: closes the peer connection and DELETEs the resource. */
  close() {
    this.closed = true;
    if (this.pc) {
      this.pc.close();
      this.pc = null;
    }
    if (this.resource) {
      const url = this.resource;
      this.resource = null;
      // keepalive: the DELETE still goes out when the page is being closed.
      fetch(url, { method: 'DELETE', keepalive: true }).catch(() => {});
    }
  }
}
