// livecart's media worker (#18): everything of a page's players but the
// speaker — the origin's sockets, both WebCodecs decoders, the clock and the
// drawing into canvases handed over with `transferControlToOffscreen`. The
// page's thread (a wasm app starting, a screen rendering, a swipe) never
// holds a picture back.
//
// A classic script that only defines `livecartMediaWorker`; it never runs on
// the page: assets/origin.js starts a worker from this function's text (a
// Blob URL), so the player needs no file of its own at a known address.

function livecartMediaWorker() {
  const KIND_VIDEO = 1;
  const KIND_AUDIO = 3;
  const FLAG_KEY = 1;
  const FLAG_LATE = 2;
  const FLAG_CONFIG = 4;
  const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];
  /** Pictures kept waiting for their time at most (a stalled clock drops the oldest). */
  const MAX_WAITING = 30;
  /** How early (µs) a picture is drawn before the sound reaches its time: a
   * canvas drawn now is on screen at the compositor's next frame or the one
   * after. Measured (docs/web.md): capture→draw p95 with sound 140 → 86 ms,
   * A/V sync p95 unchanged (~20 ms). */
  const DISPLAY_LEAD_US = 25000;
  /** How far (µs) the stand-in clock may run behind the newest picture's arrival. */
  const CATCH_UP_US = 80000;
  /** The stand-in clock runs as far behind live as the pictures of the last
   * JITTER_MS arrived late (their 90th percentile), plus DECODE_US to
   * decode: every picture is in time, none waits longer than it must (the
   * desktop player's budget, docs/video-path.md). Nearer than that it
   * drifts by at most DRIFT_US per display frame, unseen. */
  const JITTER_MS = 1000;
  const DECODE_US = 8000;
  const DRIFT_US = 2000;

  /** Wall-clock ms (the page turns it into its own performance time). */
  const wall = () => performance.timeOrigin + performance.now();

  /** One message of the origin's socket. */
  function parseMessage(buf) {
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
  function aacConfig(asc) {
    const rate = AAC_RATES[((asc[0] & 0x07) << 1) | (asc[1] >> 7)] || 48000;
    const channels = (asc[1] >> 3) & 0x0f || 2;
    return { sampleRate: rate, numberOfChannels: channels };
  }

  const canvases = new Map(); // id -> { canvas, ctx }
  const players = new Map(); // id -> player

  function player(id, url, canvasId) {
    let target = canvases.get(canvasId);
    const stats = {
      messages: 0, drawn: 0, late: 0, dropped: 0, fps: 0, audioDecoded: 0, audioPlayed: false,
      clock: "none", width: 0, height: 0, videoCodec: null, audioCodec: null, errors: [], closes: [],
      // When (wall ms) the first connection's steps happened: where a first picture's time goes.
      startedAt: wall(), socketOpenAt: null, firstMessageAt: null, firstDecodedAt: null, firstDrawnAt: null,
      lastDrawAt: null, recentDraws: [], audioAhead: null, audioLatency: null,
    };
    // Measurements not yet sent to the page: [wall ms, value] per series.
    let samples = {};
    const sample = (k, v) => (samples[k] ??= []).push([wall(), v]);
    const late = new Set();
    const captures = new Map();
    const arrivals = new Map(); // picture time -> when its access unit arrived (worker ms)
    let newest = null; // the newest picture's time (µs) and arrival (worker ms)
    let lives = []; // [arrival (worker ms), arrival µs − picture µs] of recent live pictures
    let lateTarget = null; // where the stand-in clock's base belongs (µs), from `lives`
    const drawTimes = [];
    let waiting = []; // decoded pictures waiting for their time, oldest first
    let video = null, audioDecoder = null, ws = null, stopped = false, firstShown = false;
    let retryMs = 250;
    // The speaker: a port to the page's worklet, once sound is on.
    let sound = null; // { port, running, latency }
    let heard = null; // { pts, time, at }: what the speaker played, and when that was said
    // The stand-in clock: presentation time (µs) = performance.now() (ms) * 1000 - base.
    let wallBase = null;

    const tell = (m) => postMessage({ id, ...m });
    const report = (extra = {}) => {
      tell({ stats, samples, ...extra });
      samples = {};
    };

    const audioClock = () => {
      if (!sound || !sound.running || !heard || Number.isNaN(heard.pts)) return null;
      return heard.pts + ((performance.now() - heard.at) / 1000 - sound.latency) * 1e6;
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
      const { canvas, ctx } = target;
      if (canvas.width !== frame.displayWidth || canvas.height !== frame.displayHeight) {
        canvas.width = frame.displayWidth;
        canvas.height = frame.displayHeight;
        tell({ size: { width: frame.displayWidth, height: frame.displayHeight } });
      }
      ctx.drawImage(frame, 0, 0);
      stats.width = frame.displayWidth; stats.height = frame.displayHeight;
      stats.drawn++;
      const now = performance.now();
      stats.lastDrawAt = wall();
      stats.recentDraws.push(stats.lastDrawAt);
      if (stats.recentDraws.length > 8) stats.recentDraws.shift();
      drawTimes.push(now);
      if (drawTimes.length > 61) drawTimes.shift();
      if (drawTimes.length > 1) stats.fps = ((drawTimes.length - 1) * 1000) / (now - drawTimes[0]);
      const capture = captures.get(frame.timestamp);
      captures.delete(frame.timestamp);
      const arrived = arrivals.get(frame.timestamp);
      arrivals.delete(frame.timestamp);
      const known = capture !== undefined && !Number.isNaN(capture);
      if (arrived !== undefined) {
        sample("arriveToDraw", now - arrived);
        if (known) sample("captureToArrive", performance.timeOrigin + arrived - capture);
      }
      if (known) sample("captureToDraw", performance.timeOrigin + now - capture);
      const a = audioClock();
      if (a !== null) sample("avSync", Math.abs(frame.timestamp - a) / 1000);
      frame.close();
      if (!firstShown) {
        firstShown = true;
        stats.firstDrawnAt = stats.lastDrawAt;
        report({ first: stats.firstDrawnAt - stats.startedAt });
      } else {
        report({ drawn: true });
      }
    };

    // Each display frame: the newest picture whose time has come is drawn,
    // older ones are dropped (the clock is the sound, or the stand-in).
    const tick = () => {
      if (!waiting.length) return;
      // The stand-in clock runs from when a picture arrived, not from when it
      // was decoded: anchored at decode time it stayed behind by the join's
      // backlog (a GOP decoded at once), ~100 ms on every picture after.
      if (wallBase === null) wallBase = (arrivals.get(waiting[0].timestamp) ?? performance.now()) * 1000 - waiting[0].timestamp;
      // Joining, the server sends the keyframe's GOP at once: anchored at
      // its first picture the stand-in clock would stay that burst behind
      // live for good (~150 ms measured). Behind the newest arrival by more
      // than a few pictures, it jumps to live (the pictures between drop).
      if (newest && audioClock() === null) {
        const live = newest.at * 1000 - newest.pts;
        if (wallBase - live > CATCH_UP_US) wallBase = live;
        // Then it follows how late the pictures arrive.
        if (lateTarget !== null) {
          if (wallBase < lateTarget) wallBase = lateTarget;
          else wallBase -= Math.min(wallBase - lateTarget, DRIFT_US);
        }
      }
      const now = clockNow();
      let due = -1;
      const lead = stats.clock === "audio" ? DISPLAY_LEAD_US : 4000;
      for (let i = 0; i < waiting.length && waiting[i].timestamp <= now + lead; i++) due = i;
      // A clock far behind the pictures (a new stream): start again from them.
      if (due < 0 && waiting[0].timestamp - now > 1e6 && audioClock() === null) wallBase = null;
      if (due < 0) return;
      for (let i = 0; i < due; i++) { captures.delete(waiting[i].timestamp); arrivals.delete(waiting[i].timestamp); waiting[i].close(); stats.dropped++; }
      show(waiting[due]);
      waiting = waiting.slice(due + 1);
    };

    const newVideo = () => new VideoDecoder({
      output: (frame) => {
        const arrived = arrivals.get(frame.timestamp);
        stats.firstDecodedAt ??= wall();
        if (arrived !== undefined) sample("arriveToDecoded", performance.now() - arrived);
        if (late.delete(frame.timestamp)) { stats.late++; captures.delete(frame.timestamp); arrivals.delete(frame.timestamp); frame.close(); return; }
        // The very first picture shows at once: nothing to wait for yet.
        if (!firstShown && audioClock() === null) {
          wallBase = (arrived ?? performance.now()) * 1000 - frame.timestamp;
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
      error: (e) => { stats.errors.push(`video: ${e.message}`); stats.errors.splice(0, stats.errors.length - 20); video = null; stats.videoCodec = null; },
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
      // The joined GOP's pictures (late) come at once: not a measure of lateness.
      if (firstShown && !(m.flags & FLAG_LATE)) {
        const at = performance.now();
        lives.push([at, at * 1000 - timestamp]);
        while (lives[0][0] < at - JITTER_MS) lives.shift();
        // Once per picture, not per display frame.
        if (lives.length >= 10) {
          const sorted = lives.map(([, l]) => l).sort((a, b) => a - b);
          lateTarget = sorted[Math.floor(0.9 * (sorted.length - 1))] + DECODE_US;
        }
      }
      video.decode(new EncodedVideoChunk({ type: key ? "key" : "delta", timestamp, data: m.data }));
    };

    const onAudio = (m) => {
      if (m.flags & FLAG_CONFIG) {
        if (audioDecoder && audioDecoder.state !== "closed") audioDecoder.close();
        const config = aacConfig(m.data);
        // The page starts the speaker at this rate with the first unmute: a
        // muted player never pays for an AudioContext.
        tell({ sampleRate: config.sampleRate });
        audioDecoder = new AudioDecoder({
          output: (data) => {
            stats.audioDecoded++;
            // Only while the speaker plays: a suspended context renders
            // nothing, and queued sound would pile up.
            if (sound && sound.running) {
              const channels = [];
              for (let ch = 0; ch < data.numberOfChannels; ch++) {
                const plane = new Float32Array(data.numberOfFrames);
                data.copyTo(plane, { planeIndex: ch, format: "f32-planar" });
                channels.push(plane);
              }
              sound.port.postMessage({ pts: data.timestamp, channels }, channels.map((c) => c.buffer));
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
      lives = [];
      lateTarget = null;
      for (const f of waiting) f.close();
      waiting = [];
      wallBase = null;
      heard = null;
      sound?.port.postMessage({ reset: true });
      ws = new WebSocket(url);
      ws.binaryType = "arraybuffer";
      ws.onopen = () => { stats.socketOpenAt ??= wall(); };
      ws.onmessage = (ev) => {
        stats.firstMessageAt ??= wall();
        stats.messages++;
        retryMs = 250;
        const m = parseMessage(ev.data);
        try {
          if (m.kind === KIND_VIDEO) onVideo(m);
          else if (m.kind === KIND_AUDIO) onAudio(m);
        } catch (e) {
          stats.errors.push(String(e));
          if (stats.errors.length > 20) stats.errors.shift();
          if (video && video.state !== "closed") video.close();
          video = null;
          stats.videoCodec = null;
        }
      };
      // Behind, or the stream restarted: join again at the live edge.
      ws.onclose = (ev) => {
        stats.closes.push(`${ev.code} ${ev.reason}`.trim());
        if (stats.closes.length > 50) stats.closes.shift();
        if (stopped) return;
        report({ lost: true });
        // Quickly after a stream that played; backing off to 5 s while the
        // server keeps refusing (a source that is down).
        setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 5000);
      };
    };
    connect();

    return {
      tick,
      /** Draws from now on into another canvas, starting with the picture on the old one. */
      retarget(canvasId) {
        const next = canvases.get(canvasId);
        if (!next || next === target) return;
        if (target.canvas.width && target.canvas.height) {
          next.canvas.width = target.canvas.width;
          next.canvas.height = target.canvas.height;
          next.ctx.drawImage(target.canvas, 0, 0);
        }
        target = next;
      },
      sound(port, latency) {
        sound = { port, running: false, latency };
        port.onmessage = (e) => {
          const h = e.data.heard;
          if (!h) return;
          if (!Number.isNaN(h.pts)) { heard = { ...h, at: performance.now() }; stats.audioPlayed = true; }
          stats.audioAhead = h.ahead;
        };
      },
      speaker(running, latency) {
        if (!sound) return;
        sound.running = running;
        sound.latency = latency;
        stats.audioLatency = latency;
      },
      stop() {
        stopped = true;
        ws?.close();
        for (const d of [video, audioDecoder]) if (d && d.state !== "closed") d.close();
        for (const f of waiting) f.close();
        waiting = [];
        sound?.port.close();
      },
    };
  }

  const frame = () => {
    for (const p of players.values()) p.tick();
    requestAnimationFrame(frame);
  };
  requestAnimationFrame(frame);

  onmessage = (e) => {
    const m = e.data;
    if (m.canvas) canvases.set(m.canvasId, { canvas: m.canvas, ctx: m.canvas.getContext("2d") });
    if (m.forget) canvases.delete(m.forget);
    if (m.open) players.set(m.id, player(m.id, m.open, m.canvasId));
    const p = players.get(m.id);
    if (!p) return;
    if (m.retarget) p.retarget(m.canvasId);
    if (m.soundPort) p.sound(m.soundPort, m.latency);
    if (m.speaker) p.speaker(m.speaker.running, m.speaker.latency);
    if (m.stop) { p.stop(); players.delete(m.id); }
  };
}
