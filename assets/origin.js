// livecart's browser player for the media origin (#18): access units over a
// WebSocket (`/live/{room}/au`, framing in docs/video-path.md) decoded with
// WebCodecs. H.264 goes through a VideoDecoder into a canvas; AAC through an
// AudioDecoder into an AudioWorklet. Audio is the master clock: a picture is
// drawn when the sound playing has reached its time. Without sound (muted by
// the browser's autoplay rules, or a stream without audio) a clock started
// at the first picture stands in. No demuxing here: the server sends what
// the decoders take.
//
// Not yet: the MSE fallback where WebCodecs is missing (docs/web.md).

const KIND_VIDEO = 1;
const KIND_AUDIO = 3;
const FLAG_KEY = 1;
const FLAG_LATE = 2;
const FLAG_CONFIG = 4;
const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
/** Pictures kept waiting for their time at most (a stalled clock drops the oldest). */
const MAX_WAITING = 30;
/** Sound queued for the speaker at most, in seconds; more is cut back to
 * KEEP_AUDIO_AHEAD (we stay live: pictures wait for the sound). Measured in
 * docs/web.md: 0.3 s with a full reset gave capture→draw p95 ≈ 180 ms. */
const MAX_AUDIO_AHEAD = 0.12;
const KEEP_AUDIO_AHEAD = 0.05;
/** How far (µs) the stand-in clock may run behind the newest picture's arrival. */
const CATCH_UP_US = 80000;

/** One message of the origin's socket. */
export function parseMessage(buf) {
  const dv = new DataView(buf);
  const header = dv.getUint8(7) || 16;
  const codecLen = dv.getUint8(6);
  return {
    kind: dv.getUint8(0),
    flags: dv.getUint8(1),
    capture: dv.getFloat64(8, true),
    pts: header >= 24 ? dv.getFloat64(16, true) : NaN,
    codec: new TextDecoder().decode(new Uint8Array(buf, header, codecLen)),
    data: new Uint8Array(buf, header + codecLen),
  };
}

/** An AudioSpecificConfig's sample rate and channel count. */
export function aacConfig(asc) {
  const rate = AAC_RATES[((asc[0] & 0x07) << 1) | (asc[1] >> 7)] || 48000;
  const channels = (asc[1] >> 3) & 0x0f || 2;
  return { sampleRate: rate, numberOfChannels: channels };
}

// The speaker's side: PCM chunks in, played in order; says which
// presentation time (µs) it is playing, at which context time.
const WORKLET = `
class LivecartAudio extends AudioWorkletProcessor {
  constructor() {
    super();
    this.queue = [];
    this.quanta = 0;
    this.port.onmessage = (e) => {
      if (e.data.reset) { this.queue = []; return; }
      this.queue.push({ pts: e.data.pts, channels: e.data.channels, offset: 0 });
      // Live, not smooth: the pictures wait for the sound, so every bit of
      // sound queued here is latency on screen too. More than MAX queued
      // (a burst after a stall) is cut back to KEEP from the oldest end.
      let ahead = 0;
      for (const c of this.queue) ahead += c.channels[0].length - c.offset;
      if (ahead > ${MAX_AUDIO_AHEAD} * sampleRate) {
        let drop = Math.floor(ahead - ${KEEP_AUDIO_AHEAD} * sampleRate);
        while (drop > 0 && this.queue.length > 1) {
          const c = this.queue[0];
          const left = c.channels[0].length - c.offset;
          if (left <= drop) { this.queue.shift(); drop -= left; } else { c.offset += drop; drop = 0; }
        }
      }
    };
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
    let ahead = 0;
    for (const c of this.queue) ahead += c.channels[0].length - c.offset;
    if (++this.quanta % 4 === 0 || Number.isNaN(pts)) {
      this.port.postMessage({ pts, time: currentTime, ahead: ahead / sampleRate });
    }
    return true;
  }
}
registerProcessor("livecart-audio", LivecartAudio);
`;

function percentile(values, p) {
  if (!values.length) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

/**
 * Plays `url` into `canvas` until `stop()`. Starts muted (browsers let
 * sound start only after a tap): `setMuted(false)` from a tap's handler
 * turns it on. `stats` counts what was decoded and drawn; `onFirstFrame(ms)`
 * is called once, with the time from the call to the first picture on the
 * canvas; `onDrawn(stats)` after every picture; `onLost()` when the socket
 * closes (it reconnects by itself).
 */
export function playOrigin(url, canvas, { onFirstFrame, onDrawn, onLost } = {}) {
  const started = performance.now();
  const stats = {
    messages: 0, drawn: 0, late: 0, dropped: 0, fps: 0, audioDecoded: 0, audioPlayed: false,
    clock: "none", width: 0, height: 0, videoCodec: null, audioCodec: null,
    errors: [], closes: [], captureToDraw: [], avSync: [], arriveToDraw: [], captureToArrive: [], arriveToDecoded: [],
  };
  const ctx2d = canvas.getContext("2d");
  const late = new Set();
  const captures = new Map();
  const arrivals = new Map(); // picture time -> when its access unit arrived (page ms)
  let newest = null; // the newest picture's time (µs) and arrival (page ms)
  const drawTimes = [];
  let waiting = []; // decoded pictures waiting for their time, oldest first
  let video = null, audioDecoder = null, ws = null, stopped = false, firstShown = false;
  let retryMs = 250;
  let muted = true;
  // The sound's side.
  let actx = null, gain = null, node = null, heard = null; // heard: {pts, time}
  // The stand-in clock: presentation time (µs) = performance.now() (ms) * 1000 - base.
  let wallBase = null;

  const audioClock = () => {
    if (!actx || actx.state !== "running" || !heard || Number.isNaN(heard.pts)) return null;
    const latency = (actx.outputLatency || 0) + (actx.baseLatency || 0);
    return heard.pts + (actx.currentTime - heard.time - latency) * 1e6;
  };
  const clockNow = () => {
    const a = audioClock();
    if (a !== null) {
      stats.clock = "audio";
      // Keep the stand-in in step, so losing the sound does not jump.
      wallBase = performance.now() * 1000 - a;
      return a;
    }
    if (wallBase === null) return null;
    stats.clock = "wall";
    return performance.now() * 1000 - wallBase;
  };

  const show = (frame) => {
    if (canvas.width !== frame.displayWidth || canvas.height !== frame.displayHeight) {
      canvas.width = frame.displayWidth;
      canvas.height = frame.displayHeight;
      // A portrait picture fills a phone's screen; a landscape one (a
      // desk camera, OBS at 16:9) is shown whole, as the leaders do.
      canvas.style.objectFit = frame.displayWidth > frame.displayHeight ? "contain" : "cover";
    }
    ctx2d.drawImage(frame, 0, 0);
    stats.width = frame.displayWidth; stats.height = frame.displayHeight;
    stats.drawn++;
    const now = performance.now();
    drawTimes.push(now);
    if (drawTimes.length > 61) drawTimes.shift();
    if (drawTimes.length > 1) stats.fps = ((drawTimes.length - 1) * 1000) / (now - drawTimes[0]);
    const capture = captures.get(frame.timestamp);
    captures.delete(frame.timestamp);
    const arrived = arrivals.get(frame.timestamp);
    arrivals.delete(frame.timestamp);
    if (arrived !== undefined) {
      stats.arriveToDraw.push(now - arrived);
      if (stats.arriveToDraw.length > 600) stats.arriveToDraw.shift();
      if (capture !== undefined && !Number.isNaN(capture)) {
        stats.captureToArrive.push(performance.timeOrigin + arrived - capture);
        if (stats.captureToArrive.length > 600) stats.captureToArrive.shift();
      }
    }
    if (capture !== undefined && !Number.isNaN(capture)) {
      stats.captureToDraw.push(performance.timeOrigin + now - capture);
      if (stats.captureToDraw.length > 600) stats.captureToDraw.shift();
    }
    const a = audioClock();
    if (a !== null) {
      stats.avSync.push((frame.timestamp - a) / 1000);
      if (stats.avSync.length > 600) stats.avSync.shift();
    }
    frame.close();
    if (!firstShown) { firstShown = true; onFirstFrame?.(now - started); }
    onDrawn?.(stats);
  };

  // Each display frame: the newest picture whose time has come is drawn,
  // older ones are dropped (the clock is the sound, or the stand-in).
  const tick = () => {
    if (stopped) return;
    requestAnimationFrame(tick);
    if (!waiting.length) return;
    // The stand-in clock runs from when a picture arrived, not from when it
    // was decoded: anchored at decode time it stayed behind by the join's
    // backlog (a GOP decoded at once), ~100 ms on every picture after.
    if (wallBase === null) wallBase = (arrivals.get(waiting[0].timestamp) ?? performance.now()) * 1000 - waiting[0].timestamp;
    // Joining, the server sends the keyframe's GOP at once: anchored at
    // its first picture the stand-in clock would stay that burst behind
    // live for good (~150 ms measured). Behind the newest arrival by more
    // than a few pictures, it jumps to live (the pictures between drop).
    if (newest && audioClock() === null && wallBase !== null) {
      const live = newest.at * 1000 - newest.pts;
      if (wallBase - live > CATCH_UP_US) wallBase = live;
    }
    const now = clockNow();
    let due = -1;
    for (let i = 0; i < waiting.length && waiting[i].timestamp <= now + 4000; i++) due = i;
    // A clock far behind the pictures (a new stream): start again from them.
    if (due < 0 && waiting[0].timestamp - now > 1e6 && audioClock() === null) wallBase = null;
    if (due < 0) return;
    for (let i = 0; i < due; i++) { captures.delete(waiting[i].timestamp); arrivals.delete(waiting[i].timestamp); waiting[i].close(); stats.dropped++; }
    show(waiting[due]);
    waiting = waiting.slice(due + 1);
  };
  requestAnimationFrame(tick);

  const newVideo = () => new VideoDecoder({
    output: (frame) => {
      const arrived = arrivals.get(frame.timestamp);
      if (arrived !== undefined) {
        stats.arriveToDecoded.push(performance.now() - arrived);
        if (stats.arriveToDecoded.length > 600) stats.arriveToDecoded.shift();
      }
      if (late.delete(frame.timestamp)) { stats.late++; captures.delete(frame.timestamp); arrivals.delete(frame.timestamp); frame.close(); return; }
      // The very first picture shows at once: nothing to wait for yet.
      if (!firstShown && audioClock() === null) {
        wallBase = (arrivals.get(frame.timestamp) ?? performance.now()) * 1000 - frame.timestamp;
        show(frame);
        return;
      }
      waiting.push(frame);
      while (waiting.length > MAX_WAITING) {
        const old = waiting.shift();
        captures.delete(old.timestamp);
        arrivals.delete(old.timestamp);
        old.close();
        stats.dropped++;
      }
    },
    // Reclaimed or broken: the next keyframe configures a new one.
    error: (e) => { stats.errors.push(`video: ${e.message}`); video = null; stats.videoCodec = null; },
  });

  const onVideo = (m) => {
    const key = (m.flags & FLAG_KEY) !== 0;
    if (!video || video.state === "closed") {
      if (!key) return; // a decoder starts at a keyframe
      video = newVideo();
      stats.videoCodec = null;
    }
    if (key && stats.videoCodec !== m.codec) {
      video.configure({ codec: m.codec, optimizeForLatency: true });
      stats.videoCodec = m.codec;
    }
    if (video.state !== "configured") return;
    const timestamp = Math.round(m.pts * 1000);
    if (m.flags & FLAG_LATE) late.add(timestamp);
    captures.set(timestamp, m.capture);
    arrivals.set(timestamp, performance.now());
    if (!newest || timestamp > newest.pts) newest = { pts: timestamp, at: performance.now() };
    video.decode(new EncodedVideoChunk({ type: key ? "key" : "delta", timestamp, data: m.data }));
  };

  const startSound = async (sampleRate) => {
    if (actx) return;
    actx = new AudioContext({ sampleRate, latencyHint: "interactive" });
    gain = actx.createGain();
    gain.gain.value = muted ? 0 : 1;
    gain.connect(actx.destination);
    const src = URL.createObjectURL(new Blob([WORKLET], { type: "text/javascript" }));
    await actx.audioWorklet.addModule(src);
    URL.revokeObjectURL(src);
    if (stopped) return;
    node = new AudioWorkletNode(actx, "livecart-audio", { outputChannelCount: [2] });
    node.port.onmessage = (e) => {
      if (!Number.isNaN(e.data.pts)) { heard = e.data; stats.audioPlayed = true; }
      stats.audioAhead = e.data.ahead;
      stats.audioLatency = (actx.outputLatency || 0) + (actx.baseLatency || 0);
    };
    node.connect(gain);
  };

  const onAudio = (m) => {
    if (m.flags & FLAG_CONFIG) {
      if (audioDecoder && audioDecoder.state !== "closed") audioDecoder.close();
      const config = aacConfig(m.data);
      startSound(config.sampleRate).catch((e) => stats.errors.push(`sound: ${e.message}`));
      audioDecoder = new AudioDecoder({
        output: (data) => {
          stats.audioDecoded++;
          // Only while the speaker plays: a suspended context (muted by the
          // autoplay rules) renders nothing, and queued sound would pile up.
          if (node && actx.state === "running") {
            const channels = [];
            for (let ch = 0; ch < data.numberOfChannels; ch++) {
              const plane = new Float32Array(data.numberOfFrames);
              data.copyTo(plane, { planeIndex: ch, format: "f32-planar" });
              channels.push(plane);
            }
            node.port.postMessage({ pts: data.timestamp, channels }, channels.map((c) => c.buffer));
          }
          data.close();
        },
        error: (e) => { stats.errors.push(`audio: ${e.message}`); audioDecoder = null; },
      });
      audioDecoder.configure({ codec: m.codec, ...config, description: m.data });
      stats.audioCodec = m.codec;
      return;
    }
    if (!audioDecoder || audioDecoder.state !== "configured" || (m.flags & FLAG_LATE)) return;
    audioDecoder.decode(new EncodedAudioChunk({ type: "key", timestamp: Math.round(m.pts * 1000), data: m.data }));
  };

  const connect = () => {
    if (stopped) return;
    // A new connection is a new stream: new timestamps, a keyframe first.
    if (video && video.state !== "closed") video.close();
    video = null;
    stats.videoCodec = null;
    late.clear();
    captures.clear();
    arrivals.clear();
    newest = null;
    for (const f of waiting) f.close();
    waiting = [];
    wallBase = null;
    heard = null;
    node?.port.postMessage({ reset: true });
    ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    ws.onmessage = (ev) => {
      stats.messages++;
      retryMs = 250;
      const m = parseMessage(ev.data);
      try {
        if (m.kind === KIND_VIDEO) onVideo(m);
        else if (m.kind === KIND_AUDIO) onAudio(m);
      } catch (e) {
        stats.errors.push(String(e));
        if (video && video.state !== "closed") video.close();
        video = null;
        stats.videoCodec = null;
      }
    };
    // Behind, or the stream restarted: join again at the live edge.
    ws.onclose = (ev) => {
      stats.closes.push(`${ev.code} ${ev.reason}`.trim());
      if (!stopped) onLost?.();
      if (stats.closes.length > 50) stats.closes.shift();
      // Quickly after a stream that played; backing off to 5 s while the
      // server keeps refusing (a source that is down).
      if (!stopped) setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 5000);
    };
  };
  connect();
  return {
    stats,
    /** Sound on or off. Turning it on must happen in a tap's handler. */
    setMuted(m) {
      muted = m;
      if (gain) gain.gain.value = m ? 0 : 1;
      if (!m && actx && actx.state !== "running") actx.resume();
    },
    get muted() { return muted; },
    /** The figures a bench reports, from what this player measured. */
    summary() {
      return {
        captureToDrawP95: percentile(stats.captureToDraw, 95),
        // Where the time goes: the network and server side, then the page's.
        captureToArriveP95: percentile(stats.captureToArrive, 95),
        arriveToDrawP95: percentile(stats.arriveToDraw, 95),
        arriveToDecodedP95: percentile(stats.arriveToDecoded, 95),
        avSyncP95: percentile(stats.avSync.map(Math.abs), 95),
      };
    },
    stop() {
      stopped = true;
      ws?.close();
      for (const d of [video, audioDecoder]) if (d && d.state !== "closed") d.close();
      for (const f of waiting) f.close();
      waiting = [];
      actx?.close();
    },
  };
}
