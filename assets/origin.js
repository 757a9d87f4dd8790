// livecart's browser player for the media origin (#18): access units over a
// WebSocket (`/live/{room}/au`, framing in docs/video-path.md) decoded with
// WebCodecs. H.264 goes through a VideoDecoder into a canvas; AAC through an
// AudioDecoder into an AudioWorklet. Audio is the master clock: a picture is
// drawn when the sound playing has reached its time. Without sound (every
// player until a tap turns it on, or a stream without audio) a clock running
// from the pictures' arrival stands in. No demuxing here: the server sends
// what the decoders take.
//
// Everything but the speaker runs in one worker per page
// (assets/media-worker.js, loaded before this): the sockets, both decoders,
// the clock and the drawing, into the canvases handed over with
// `transferControlToOffscreen`. The page's own thread (a wasm app starting,
// a screen rendering, a swipe) never holds a picture back; docs/web.md has
// the numbers. This side keeps the speaker (an AudioContext, created at the
// first unmute) and mirrors what the worker reports (`stats`, `summary()`).
//
// A classic script (no module): the page runs it in its head, so a room can
// start playing before anything else has loaded. It sets
// `window.livecartPlayOrigin`.
//
// Where WebCodecs is missing, `livecartPlayOrigin` is assets/mse.js's
// player instead (docs/web.md).

(() => {

/** Sound queued for the speaker at most, in seconds; more is cut back to
 * KEEP_AUDIO_AHEAD at once (a burst after a stall). We stay live: pictures
 * wait for the sound, so every bit of queued sound is latency on screen. */
const MAX_AUDIO_AHEAD = 0.12;
const KEEP_AUDIO_AHEAD = 0.05;
/** The least sound queued over each half second is brought down to this
 * (seconds): enough for the gaps between the socket's bursts, no more.
 * Measured in docs/web.md: without it the queue sat at 80–90 ms. */
const LOW_AUDIO_AHEAD = 0.02;
/** The speaker's buffer: as small as the device allows. The pictures wait
 * for the sound, so the output's latency is latency on screen: headless
 * Chromium's "interactive" is 10 + 32 ms, 0 is 2.7 + 8 ms (docs/web.md),
 * with no underrun in 4 s beside two busy cores. A phone's browser clamps
 * it to its own low-latency path. */
const SPEAKER_LATENCY_HINT = 0;

// The speaker's side (the page's AudioContext): PCM chunks in, from the
// worker over a MessagePort, played in order; tells the worker which
// presentation time (µs) it is playing, at which context time.
const WORKLET = `
class LivecartAudio extends AudioWorkletProcessor {
  constructor() {
    super();
    this.queue = [];
    this.quanta = 0;
    this.feed = null;
    this.low = Infinity; // the least queued (samples) in this half second
    this.lowQuanta = 0;
    this.port.onmessage = (e) => {
      this.feed = e.data.port;
      this.feed.onmessage = (e) => this.take(e.data);
    };
  }
  take(d) {
    if (d.reset) { this.queue = []; return; }
    this.queue.push({ pts: d.pts, channels: d.channels, offset: 0 });
    // Live, not smooth: the pictures wait for the sound, so every bit of
    // sound queued here is latency on screen too. More than MAX queued
    // (a burst after a stall) is cut back to KEEP from the oldest end.
    const ahead = this.ahead();
    if (ahead > ${MAX_AUDIO_AHEAD} * sampleRate) this.drop(ahead - ${KEEP_AUDIO_AHEAD} * sampleRate);
  }
  ahead() {
    let ahead = 0;
    for (const c of this.queue) ahead += c.channels[0].length - c.offset;
    return ahead;
  }
  drop(samples) {
    let drop = Math.floor(samples);
    while (drop > 0 && this.queue.length > 1) {
      const c = this.queue[0];
      const left = c.channels[0].length - c.offset;
      if (left <= drop) { this.queue.shift(); drop -= left; } else { c.offset += drop; drop = 0; }
    }
  }
  process(_inputs, outputs) {
    const out = outputs[0];
    const n = out[0].length;
    let i = 0, pts = NaN;
    while (i < n && this.queue.length) {
      const c = this.queue[0];
      const len = c.channels[0].length;
      if (i === 0) pts = c.pts + (c.offset / sampleRate) * 1e6;
      const take = Math.min(n - i, len - c.offset);
      for (let ch = 0; ch < out.length; ch++) {
        const src = c.channels[Math.min(ch, c.channels.length - 1)];
        out[ch].set(src.subarray(c.offset, c.offset + take), i);
      }
      c.offset += take;
      i += take;
      if (c.offset >= len) this.queue.shift();
    }
    let ahead = this.ahead();
    // A queue that never ran low in half a second is latency for nothing:
    // its lowest point comes down to LOW.
    this.low = Math.min(this.low, ahead);
    if (++this.lowQuanta * n >= sampleRate / 2) {
      const extra = this.low - ${LOW_AUDIO_AHEAD} * sampleRate;
      if (extra > n) { this.drop(extra); ahead = this.ahead(); }
      this.low = Infinity;
      this.lowQuanta = 0;
    }
    if (this.feed && (++this.quanta % 4 === 0 || Number.isNaN(pts))) {
      this.feed.postMessage({ heard: { pts, time: currentTime, ahead: ahead / sampleRate } });
    }
    return true;
  }
}
registerProcessor("livecart-audio", LivecartAudio);
`;


// The page's side.
function percentile(values, p) {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

let worker = null;
const routes = new Map(); // player id -> its message handler
const canvasIds = new WeakMap(); // canvas element -> its id in the worker
let nextId = 1;
// A canvas gone from the page frees its worker side.
const gone = new FinalizationRegistry((canvasId) => worker?.postMessage({ forget: canvasId }));

function media() {
  if (!worker) {
    const src = URL.createObjectURL(new Blob([`(${window.livecartMediaWorker.toString()})();`], { type: "text/javascript" }));
    worker = new Worker(src, { name: "livecart-media" });
    URL.revokeObjectURL(src);
    worker.onmessage = (e) => routes.get(e.data.id)?.(e.data);
    worker.onerror = (e) => console.error("livecart media worker:", e.message);
  }
  return worker;
}

/** The worker's id for `canvas`, handing the canvas over the first time. */
function canvasFor(canvas) {
  let id = canvasIds.get(canvas);
  if (id !== undefined) return { canvasId: id };
  id = nextId++;
  canvasIds.set(canvas, id);
  gone.register(canvas, id);
  const offscreen = canvas.transferControlToOffscreen();
  return { canvasId: id, canvas: offscreen, transfer: [offscreen] };
}

/**
 * Plays `url` into `canvas` until `stop()`. Starts muted (browsers let
 * sound start only after a tap): `setMuted(false)` from a tap's handler
 * turns it on. `stats` mirrors what the worker decoded and drew (its times
 * in this page's `performance.now()` ms); `onFirstFrame(ms)` is called once,
 * with the time from the call to the first picture on the canvas;
 * `onDrawn(stats)` after every picture; `onLost()` when the socket closes
 * (it reconnects by itself).
 */
function playOrigin(url, canvas, { onFirstFrame, onDrawn, onLost } = {}) {
  const id = nextId++;
  const w = media();
  const stats = { messages: 0, drawn: 0, late: 0, dropped: 0, fps: 0, errors: [], closes: [], clock: "none", recentDraws: [] };
  // What the worker measured, [page ms, value], the last 600 of each.
  const series = { captureToDraw: [], avSync: [], arriveToDraw: [], captureToArrive: [], arriveToDecoded: [] };
  let muted = true, stopped = false, sampleRate = null;
  let actx = null, gain = null;
  const pageTime = (t) => (t == null ? null : t - performance.timeOrigin);

  const fit = (size) => {
    // A portrait picture fills a phone's screen; a landscape one (a desk
    // camera, OBS at 16:9) is shown whole, as the leaders do.
    canvas.style.objectFit = size.width > size.height ? "contain" : "cover";
  };
  let size = null;

  routes.set(id, (m) => {
    if (stopped) return;
    if (m.size) { size = m.size; fit(size); }
    if (m.sampleRate) {
      sampleRate = m.sampleRate;
      if (!muted) startSound().catch((e) => stats.errors.push(`sound: ${e.message}`));
    }
    if (m.stats) {
      Object.assign(stats, m.stats);
      for (const k of ["startedAt", "socketOpenAt", "firstMessageAt", "firstDecodedAt", "firstDrawnAt", "lastDrawAt"]) stats[k] = pageTime(m.stats[k]);
      stats.recentDraws = m.stats.recentDraws.map(pageTime);
    }
    for (const [k, list] of Object.entries(m.samples ?? {})) {
      const into = series[k];
      for (const [t, v] of list) into.push([pageTime(t), v]);
      if (into.length > 600) into.splice(0, into.length - 600);
    }
    stats.counts = Object.fromEntries(Object.entries(series).map(([k, v]) => [k, v.length]));
    if (m.first !== undefined) onFirstFrame?.(m.first);
    if (m.first !== undefined || m.drawn) onDrawn?.(stats);
    if (m.lost) onLost?.();
  });
  const target = canvasFor(canvas);
  w.postMessage({ id, open: new URL(url, location.href).href, canvasId: target.canvasId, canvas: target.canvas }, target.transfer ?? []);

  const speaker = () => {
    if (!actx || stopped) return;
    const latency = (actx.outputLatency || 0) + (actx.baseLatency || 0);
    w.postMessage({ id, speaker: { running: actx.state === "running", latency } });
  };
  const startSound = async () => {
    if (actx || !sampleRate) return;
    // A page may ask otherwise (the bench compares the two).
    const latencyHint = self.livecartSpeakerLatencyHint ?? SPEAKER_LATENCY_HINT;
    actx = new AudioContext({ sampleRate, latencyHint });
    gain = actx.createGain();
    gain.gain.value = muted ? 0 : 1;
    gain.connect(actx.destination);
    const src = URL.createObjectURL(new Blob([WORKLET], { type: "text/javascript" }));
    await actx.audioWorklet.addModule(src);
    URL.revokeObjectURL(src);
    if (stopped) return;
    const node = new AudioWorkletNode(actx, "livecart-audio", { outputChannelCount: [2] });
    node.connect(gain);
    // The worker feeds the worklet directly; the page only keeps the volume.
    const { port1, port2 } = new MessageChannel();
    node.port.postMessage({ port: port1 }, [port1]);
    w.postMessage({ id, soundPort: port2, latency: 0 }, [port2]);
    actx.onstatechange = speaker;
    speaker();
    // The output latency is known once the context has run a little.
    setTimeout(speaker, 1000);
  };

  return {
    stats,
    /** Sound on or off. Turning it on must happen in a tap's handler. */
    setMuted(m) {
      muted = m;
      if (gain) gain.gain.value = m ? 0 : 1;
      if (!m && !actx) startSound().catch((e) => stats.errors.push(`sound: ${e.message}`));
      if (!m && actx && actx.state !== "running") actx.resume();
    },
    get muted() { return muted; },
    /** Times the speaker ran dry (Chromium's `playbackStats`; null where unknown). */
    get underruns() { return actx?.playbackStats?.underrunEvents ?? null; },
    /** The figures a bench reports, from what the worker measured since
     * `since` (this page's ms; all that is kept, by default). */
    summary(since = -Infinity) {
      const p95 = (k) => percentile(series[k].filter(([t]) => t >= since).map(([, v]) => v), 95);
      return {
        captureToDrawP95: p95("captureToDraw"),
        // Where the time goes: the network and server side, then the page's.
        captureToArriveP95: p95("captureToArrive"),
        arriveToDrawP95: p95("arriveToDraw"),
        arriveToDecodedP95: p95("arriveToDecoded"),
        avSyncP95: p95("avSync"),
      };
    },
    /** Draws from now on into `next`, starting with the picture on the old canvas. */
    setCanvas(next) {
      if (next === canvas) return;
      canvas = next;
      if (size) fit(size);
      const t = canvasFor(next);
      w.postMessage({ id, retarget: true, canvasId: t.canvasId, canvas: t.canvas }, t.transfer ?? []);
    },
    stop() {
      if (stopped) return;
      stopped = true;
      routes.delete(id);
      w.postMessage({ id, stop: true });
      actx?.close();
    },
  };
}

// WebCodecs (only in a secure context) and canvases a worker can draw on;
// without them, the MSE fallback (assets/mse.js) on the origin's
// fragmented MP4 of the same room.
const webcodecs = "VideoDecoder" in window && "AudioDecoder" in window &&
  typeof HTMLCanvasElement.prototype.transferControlToOffscreen === "function";
window.livecartPlayOrigin = webcodecs
  ? playOrigin
  : (url, canvas, callbacks) => window.livecartPlayMse(url.replace(/\/au$/, "/fmp4"), canvas, callbacks);
// The worker starts now: a page that loads this plays something soon, and a
// worker takes a while to start on a busy phone.
if (webcodecs) media();
})();
