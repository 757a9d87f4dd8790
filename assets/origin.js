// livecart's browser player for the media origin (#18): access units over a
// WebSocket (`/live/{room}/au`, framing in docs/video-path.md) decoded with
// WebCodecs — H.264 into a canvas, AAC into an AudioDecoder. No demuxing
// here: the server sends what the decoders take.
//
// Not yet: audio output through an AudioWorklet with audio as the master
// clock, and the MSE fallback (docs/web.md).

const KIND_VIDEO = 1;
const KIND_AUDIO = 3;
const FLAG_KEY = 1;
const FLAG_LATE = 2;
const FLAG_CONFIG = 4;
const AAC_RATES = [96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350];

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

/**
 * Plays `url` into `canvas` until `stop()`. `stats` counts what was decoded
 * and drawn; `onFirstFrame(ms)` is called once, with the time from the call
 * to the first picture on the canvas; `onDrawn(stats)` after every picture.
 */
export function playOrigin(url, canvas, { onFirstFrame, onDrawn } = {}) {
  const started = performance.now();
  const stats = {
    messages: 0, drawn: 0, late: 0, fps: 0, audioDecoded: 0, width: 0, height: 0,
    videoCodec: null, audioCodec: null, errors: [], closes: [], captureToDraw: [],
  };
  const ctx = canvas.getContext("2d");
  const late = new Set();
  const drawTimes = [];
  let video = null, audio = null, ws = null, stopped = false, firstShown = false;

  const newVideo = () => new VideoDecoder({
    output: (frame) => {
      const skip = late.delete(frame.timestamp);
      if (skip) { stats.late++; frame.close(); return; }
      if (canvas.width !== frame.displayWidth) canvas.width = frame.displayWidth;
      if (canvas.height !== frame.displayHeight) canvas.height = frame.displayHeight;
      ctx.drawImage(frame, 0, 0);
      stats.width = frame.displayWidth; stats.height = frame.displayHeight;
      stats.drawn++;
      const now = performance.now();
      drawTimes.push(now);
      if (drawTimes.length > 61) drawTimes.shift();
      // Pictures a second over the last 60 drawn.
      if (drawTimes.length > 1) stats.fps = ((drawTimes.length - 1) * 1000) / (now - drawTimes[0]);
      const meta = captures.get(frame.timestamp);
      captures.delete(frame.timestamp);
      if (meta && !Number.isNaN(meta)) stats.captureToDraw.push(performance.timeOrigin + performance.now() - meta);
      frame.close();
      if (!firstShown) { firstShown = true; onFirstFrame?.(performance.now() - started); }
      onDrawn?.(stats);
    },
    error: (e) => { stats.errors.push(`video: ${e.message}`); video = null; },
  });
  const captures = new Map();

  const onVideo = (m) => {
    const key = (m.flags & FLAG_KEY) !== 0;
    if (!video || video.state === "closed") {
      if (!key) return; // a decoder starts at a keyframe
      video = newVideo();
    }
    if (key && stats.videoCodec !== m.codec) {
      video.configure({ codec: m.codec, optimizeForLatency: true });
      stats.videoCodec = m.codec;
    }
    if (video.state !== "configured") return;
    const timestamp = Math.round(m.pts * 1000);
    if (m.flags & FLAG_LATE) late.add(timestamp);
    captures.set(timestamp, m.capture);
    video.decode(new EncodedVideoChunk({ type: key ? "key" : "delta", timestamp, data: m.data }));
  };

  const onAudio = (m) => {
    if (m.flags & FLAG_CONFIG) {
      if (audio && audio.state !== "closed") audio.close();
      audio = new AudioDecoder({
        output: (data) => { stats.audioDecoded++; data.close(); },
        error: (e) => { stats.errors.push(`audio: ${e.message}`); audio = null; },
      });
      audio.configure({ codec: m.codec, ...aacConfig(m.data), description: m.data });
      stats.audioCodec = m.codec;
      return;
    }
    if (!audio || audio.state !== "configured" || (m.flags & FLAG_LATE)) return;
    audio.decode(new EncodedAudioChunk({ type: "key", timestamp: Math.round(m.pts * 1000), data: m.data }));
  };

  const connect = () => {
    if (stopped) return;
    // A new connection is a new stream: new timestamps, a keyframe first.
    if (video && video.state !== "closed") video.close();
    video = null;
    stats.videoCodec = null;
    late.clear();
    captures.clear();
    ws = new WebSocket(url);
    ws.binaryType = "arraybuffer";
    ws.onmessage = (ev) => {
      stats.messages++;
      const m = parseMessage(ev.data);
      try {
        if (m.kind === KIND_VIDEO) onVideo(m);
        else if (m.kind === KIND_AUDIO) onAudio(m);
      } catch (e) {
        stats.errors.push(String(e));
        video = null;
      }
    };
    // Behind, or the stream restarted: join again at the live edge.
    ws.onclose = (ev) => {
      stats.closes.push(`${ev.code} ${ev.reason}`.trim());
      if (!stopped) setTimeout(connect, 250);
    };
  };
  connect();
  return {
    stats,
    stop() {
      stopped = true;
      ws?.close();
      for (const d of [video, audio]) if (d && d.state !== "closed") d.close();
    },
  };
}
