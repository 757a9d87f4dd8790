// livecart's fallback player (#18): where a browser has no WebCodecs (an
// older Safari or Firefox, or any page outside a secure context — a phone
// on the LAN over plain HTTP), the origin's fragmented MP4
// (`/live/{room}/fmp4`, crates/media/src/fmp4.rs: the MediaSource type as
// text, the initialisation segment, then a fragment per access unit) goes
// into `MediaSource` and a <video> the page keeps out of sight; each new
// picture is drawn onto the room's canvas, so the screens are the same.
// The browser keeps the sound in sync; the player keeps the video near live
// (10 % fast while behind, a jump when far behind): ~0.3–0.6 s, against the
// WebCodecs player's ~0.1 s, as MSE wants media buffered ahead. Same
// interface as assets/origin.js's player. A classic script: it sets
// `window.livecartPlayMse`.

(() => {
  /** How far (s) behind the newest buffered picture playback may fall
   * before it jumps (a jump decodes from a keyframe: a stall). */
  const LIVE_BEHIND_S = 1.5;
  /** Where a jump to live lands, behind the newest picture (s): MSE plays
   * smoothly only with some media ahead of it. */
  const LIVE_AT_S = 0.3;
  /** Behind by more than this (s), it plays 10 % fast until it is not. */
  const CATCH_UP_S = 0.6;
  /** Media kept behind the playhead (s); older is removed. */
  const KEEP_S = 10;
  /** A hole in the buffered media up to this long (s) — a source that
   * dropped pictures — is stepped over: MSE would wait at its edge for good. */
  const GAP_S = 1;
  /** How near a hole's edge (s) the playhead steps over it. */
  const GAP_EDGE_S = 0.04;

  function playMse(url, canvas, { onFirstFrame, onDrawn, onLost } = {}) {
    const started = performance.now();
    const stats = {
      kind: "mse", messages: 0, drawn: 0, late: 0, dropped: 0, fps: 0, clock: "media", errors: [], closes: [],
      width: 0, height: 0, startedAt: started, socketOpenAt: null, firstMessageAt: null, firstDecodedAt: null,
      firstDrawnAt: null, lastDrawAt: null, recentDraws: [], counts: {},
    };
    // Why a picture may not move: how far behind the newest buffered media
    // it plays (s), jumps to live, holes stepped over, waits for data and
    // appends, counted as they happen; the element's state is read only
    // when asked (the tests print it), not every display frame.
    const counted = { behindS: null, jumps: 0, gapJumps: 0, waits: 0, appends: 0 };
    const video = document.createElement("video");
    video.muted = true;
    video.playsInline = true;
    video.disableRemotePlayback = true;
    // In the page and on screen — browsers stop decoding a video they take
    // for hidden (detached, transparent, a pixel wide) — but behind the app.
    video.style.cssText = "position:fixed;left:0;bottom:0;width:64px;height:64px;z-index:-1;pointer-events:none";
    document.documentElement.append(video);
    video.addEventListener("waiting", () => { counted.waits++; });
    Object.defineProperty(stats, "element", {
      enumerable: true,
      get() {
        const b = video.buffered;
        const ranges = [];
        for (let i = 0; i < b.length; i++) ranges.push([+b.start(i).toFixed(3), +b.end(i).toFixed(3)]);
        const q = video.getVideoPlaybackQuality?.();
        return { ...counted, readyState: video.readyState, paused: video.paused, at: +video.currentTime.toFixed(3), ranges,
                 frames: q?.totalVideoFrames ?? null, droppedFrames: q?.droppedVideoFrames ?? null };
      },
    });
    let ctx = canvas.getContext("2d");
    let muted = true, stopped = false, ws = null, source = null, buffer = null, queue = [], retryMs = 250;
    let firstShown = false, lastMark = -1, sourceUrl = null;
    const drawTimes = [];
    const Source = window.ManagedMediaSource || window.MediaSource;

    const concat = (parts) => {
      const out = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
      let at = 0;
      for (const p of parts) { out.set(new Uint8Array(p), at); at += p.byteLength; }
      return out;
    };
    const fail = (e) => { stats.errors.push(String(e?.message ?? e)); if (stats.errors.length > 20) stats.errors.shift(); };
    const pump = () => {
      if (!buffer || buffer.updating || source.readyState !== "open") return;
      const t = video.currentTime;
      if (buffer.buffered.length && t - buffer.buffered.start(0) > KEEP_S * 2) {
        buffer.remove(0, t - KEEP_S);
        return;
      }
      // What arrived while the last append ran goes in as one: an append is
      // a round trip to the media thread, and one per fragment (~80 a
      // second) falls behind on a busy phone, starving the playhead.
      if (queue.length) {
        const chunk = queue.length === 1 ? queue[0] : concat(queue);
        queue = [];
        counted.appends++;
        try { buffer.appendBuffer(chunk); } catch (e) { fail(e); ws?.close(); }
      }
    };

    const draw = () => {
      if (video.videoWidth && (canvas.width !== video.videoWidth || canvas.height !== video.videoHeight)) {
        canvas.width = video.videoWidth;
        canvas.height = video.videoHeight;
        canvas.style.objectFit = video.videoWidth > video.videoHeight ? "contain" : "cover";
      }
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      const now = performance.now();
      stats.width = video.videoWidth; stats.height = video.videoHeight;
      stats.drawn++;
      stats.lastDrawAt = now;
      stats.recentDraws.push(now);
      if (stats.recentDraws.length > 8) stats.recentDraws.shift();
      drawTimes.push(now);
      if (drawTimes.length > 61) drawTimes.shift();
      if (drawTimes.length > 1) stats.fps = ((drawTimes.length - 1) * 1000) / (now - drawTimes[0]);
      if (!firstShown) {
        firstShown = true;
        stats.firstDrawnAt = now;
        onFirstFrame?.(now - started);
      }
      onDrawn?.(stats);
    };

    // Each display frame: stay live, keep playing, draw a new picture.
    const tick = () => {
      if (stopped) return;
      requestAnimationFrame(tick);
      const b = video.buffered;
      if (b.length) {
        const end = b.end(b.length - 1);
        const behind = end - video.currentTime;
        if (behind > LIVE_BEHIND_S || video.currentTime < b.start(0)) {
          video.currentTime = Math.max(b.start(b.length - 1), end - LIVE_AT_S);
          counted.jumps++;
        }
        counted.behindS = behind;
        const t = video.currentTime;
        for (let i = 0; i + 1 < b.length; i++) {
          if (t >= b.end(i) - GAP_EDGE_S && t < b.start(i + 1) && b.start(i + 1) - t <= GAP_S) {
            video.currentTime = b.start(i + 1);
            counted.gapJumps++;
            break;
          }
        }
        const rate = behind > CATCH_UP_S ? 1.1 : 1;
        if (video.playbackRate !== rate) video.playbackRate = rate;
        if (video.paused) video.play().catch(() => {});
      }
      // Without frame callbacks: a moved frame count (else playhead) is a
      // new picture.
      if (frameCallbacks) return;
      const mark = video.getVideoPlaybackQuality?.().totalVideoFrames ?? video.currentTime;
      if (video.readyState >= 2 && mark !== lastMark) {
        lastMark = mark;
        stats.firstDecodedAt ??= performance.now();
        draw();
      }
    };
    requestAnimationFrame(tick);
    // Each picture the video presents, once (Chromium, Safari, Firefox 132+).
    const frameCallbacks = "requestVideoFrameCallback" in HTMLVideoElement.prototype;
    const onFrame = () => {
      if (stopped) return;
      stats.firstDecodedAt ??= performance.now();
      draw();
      video.requestVideoFrameCallback(onFrame);
    };
    if (frameCallbacks) video.requestVideoFrameCallback(onFrame);

    const connect = () => {
      if (stopped) return;
      queue = [];
      buffer = null;
      source = new Source();
      // A reconnect's new source replaces the old one, which is let go.
      if (sourceUrl) URL.revokeObjectURL(sourceUrl);
      sourceUrl = URL.createObjectURL(source);
      video.src = sourceUrl;
      ws = new WebSocket(url);
      ws.binaryType = "arraybuffer";
      ws.onopen = () => { stats.socketOpenAt ??= performance.now(); };
      ws.onmessage = (ev) => {
        stats.firstMessageAt ??= performance.now();
        stats.messages++;
        retryMs = 250;
        if (typeof ev.data === "string") {
          // The type comes first; the buffer opens once the source does.
          const open = () => {
            try {
              buffer = source.addSourceBuffer(ev.data);
              buffer.mode = "segments";
              buffer.onupdateend = pump;
              buffer.onerror = () => fail("the media source refused a segment");
              pump();
            } catch (e) { fail(e); }
          };
          if (source.readyState === "open") open(); else source.addEventListener("sourceopen", open, { once: true });
          return;
        }
        queue.push(ev.data);
        pump();
      };
      ws.onclose = (ev) => {
        stats.closes.push(`${ev.code} ${ev.reason}`.trim());
        if (stats.closes.length > 50) stats.closes.shift();
        if (stopped) return;
        onLost?.();
        setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 5000);
      };
    };
    connect();

    return {
      stats,
      setMuted(m) {
        muted = m;
        video.muted = m;
        if (!m && video.paused) video.play().catch(() => {});
      },
      get muted() { return muted; },
      /** No capture times reach this player: only what it drew. */
      summary() {
        return { captureToDrawP95: null, captureToArriveP95: null, arriveToDrawP95: null, arriveToDecodedP95: null, avSyncP95: null };
      },
      /** Draws from now on into `next`, starting with the picture on the old canvas. */
      setCanvas(next) {
        if (next === canvas) return;
        if (canvas.width && canvas.height) {
          next.width = canvas.width;
          next.height = canvas.height;
          next.style.objectFit = canvas.style.objectFit;
          next.getContext("2d").drawImage(canvas, 0, 0);
        }
        canvas = next;
        ctx = canvas.getContext("2d");
      },
      stop() {
        stopped = true;
        ws?.close();
        video.removeAttribute("src");
        video.load();
        video.remove();
        if (sourceUrl) URL.revokeObjectURL(sourceUrl);
      },
    };
  }

  window.livecartPlayMse = playMse;
})();
