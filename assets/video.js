// livecart video view: draws each room's pictures into its <canvas data-room>.
// Pictures come from the app over a loopback WebSocket (per-launch secret):
// H.264 access units decoded with WebCodecs, or JPEG frames where this webview
// has no VideoDecoder. Once a second each view reports what it drew (fps,
// capture->draw latency from the SEI time) back to the app. See docs/video-path.md.
(() => {
  const KIND_AU = 1, KIND_JPEG = 2, FLAG_KEY = 1, FLAG_LATE = 2, KEEP_CLOSED_ROOMS = 6;
  const now = () => performance.timeOrigin + performance.now();
  const views = new Map(); // canvas -> view
  const totals = {}; // room -> {drawn, firstDrawAt, lastDrawAt, latencies[[at, ms]], trace}
  let port = 0, secret = "", path = "webcodecs";
  let viewOpened = () => {};
  const firstView = new Promise((r) => { viewOpened = r; });
  let lastInputAt = 0;
  // When the page reached each step of its start (Unix ms), for the cold-start breakdown.
  const marks = { pageOrigin: Math.round(performance.timeOrigin) };
  const mark = (k) => { if (!(k in marks)) marks[k] = Math.round(now()); };
  mark("script");
  document.addEventListener("DOMContentLoaded", () => mark("domReady"));
  // The page's own frame rate (requestAnimationFrame), measured only once a
  // harness asks for stats: it keeps the page producing frames.
  const rafTimes = [];
  let rafOn = false;
  const rafLoop = () => { rafTimes.push(now()); if (rafTimes.length > 240) rafTimes.shift(); requestAnimationFrame(rafLoop); };

  function onScreen(el) {
    const r = el.getBoundingClientRect();
    return r.height > 0 && r.top > -2 && r.bottom < innerHeight + 2;
  }

  function pct(sorted, p) {
    if (!sorted.length) return 0;
    return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
  }

  function openView(canvas) {
    mark("viewOpened");
    viewOpened();
    const room = canvas.dataset.room;
    const ctx = canvas.getContext("2d", { alpha: false, desynchronized: true });
    const t = totals[room] || (totals[room] = { drawn: 0, firstDrawAt: 0, lastDrawAt: 0, shownAfterInputAt: 0, latencies: [], trace: [] });
    // The view's recent events, [unix ms, what, x]: "au" (x: 1 key, 2 late,
    // + 4 × the decoder's queue), "out" (1 key, 2 late), "draw" (x: capture
    // → draw ms, -1 unknown), "open", "wsopen", "configure".
    const tr = (what, x) => { t.trace.push([Math.round(now()), what, x]); if (t.trace.length > 600) t.trace.shift(); };
    tr("open", 0);
    const v = { room, canvas, ctx, ws: null, decoder: null, codec: "", meta: new Map(), seq: 0, drew: false,
                second: [], lat: [], waitKey: true, closed: false, timer: 0, visible: false, io: null };
    // Whether the view is fully on screen (no forced layout per frame).
    v.io = new IntersectionObserver((entries) => {
      for (const e of entries) v.visible = e.intersectionRatio > 0.98;
    }, { threshold: [0, 0.5, 0.98, 1] });
    v.io.observe(canvas);
    // What the view drew in the last second, to the app (player stats).
    const report = () => {
      const cut = now() - 1000;
      v.second = v.second.filter((x) => x >= cut);
      const lat = v.lat.sort((a, b) => a - b); v.lat = [];
      if (v.ws && v.ws.readyState === 1 && v.second.length) {
        v.ws.send(JSON.stringify({ fps: v.second.length, p50: lat.length ? pct(lat, 0.5) : null, p95: pct(lat, 0.95) }));
      }
    };
    const draw = (img, w, h, captureMs) => {
      if (canvas.width !== w || canvas.height !== h) { canvas.width = w; canvas.height = h; }
      ctx.drawImage(img, 0, 0, w, h);
      tr("draw", Number.isNaN(captureMs) ? -1 : Math.round(now() - captureMs));
      const first = !v.drew;
      v.drew = true;
      mark("firstDraw");
      const at = now();
      v.second.push(at);
      if (!Number.isNaN(captureMs)) { v.lat.push(at - captureMs); t.latencies.push([at, at - captureMs]); if (t.latencies.length > 2000) t.latencies.shift(); }
      // The app waits for a room's first picture before it preloads the
      // next one: report now, not at the next once-a-second report.
      if (first) report();
      t.drawn++; t.lastDrawAt = at; if (!t.firstDrawAt) t.firstDrawAt = at;
      // Swipe timing: the first picture drawn while this view is on screen
      // after the viewer's last input. Right after an input the observer may
      // not have run yet, so ask the layout directly (only in that window).
      if (at > lastInputAt && t.shownAfterInputAt < lastInputAt) {
        if (v.visible || (at - lastInputAt < 2000 && onScreen(canvas))) t.shownAfterInputAt = at;
      }
    };
    const newDecoder = () => {
      if (v.decoder && v.decoder.state !== "closed") { try { v.decoder.close(); } catch (_) {} }
      v.decoder = new VideoDecoder({
        output: (frame) => {
          const m = v.meta.get(frame.timestamp); v.meta.delete(frame.timestamp);
          tr("out", m ? (m.late ? 2 : 0) + (m.key ? 1 : 0) : -1);
          mark("firstDecoded");
          // A view that has shown nothing yet shows the catch-up's keyframe at
          // once (up to a GOP old, left out of the latency figures) while the
          // rest of the catch-up decodes, then goes on live.
          if (m && !v.closed && (!m.late || (m.key && !v.drew))) draw(frame, frame.displayWidth, frame.displayHeight, m.late ? NaN : m.capture);
          frame.close();
        },
        error: (e) => { console.warn("livecart video: decoder error", e); v.codec = ""; v.waitKey = true; },
      });
      v.codec = "";
    };
    const onAU = (flags, w, h, codec, capture, data) => {
      // No WebCodecs here: the app is switching to JPEG frames.
      if (path === "jpeg" || typeof VideoDecoder === "undefined") return;
      const key = (flags & FLAG_KEY) !== 0;
      if (!v.decoder || v.decoder.state === "closed") newDecoder();
      if (key && codec !== v.codec) {
        tr("configure", 0);
        v.decoder.configure({ codec, codedWidth: w, codedHeight: h, optimizeForLatency: true });
        v.codec = codec;
        v.waitKey = false;
      }
      if (v.waitKey || !v.codec) { if (!key) return; v.waitKey = false; }
      const ts = ++v.seq * 1000;
      tr("au", ((flags & FLAG_LATE) ? 2 : 0) + (key ? 1 : 0) + 4 * v.decoder.decodeQueueSize);
      v.meta.set(ts, { late: (flags & FLAG_LATE) !== 0, key, capture });
      try {
        v.decoder.decode(new EncodedVideoChunk({ type: key ? "key" : "delta", timestamp: ts, data }));
      } catch (e) { console.warn("livecart video: decode failed", e); newDecoder(); v.waitKey = true; }
    };
    const onJpeg = (w, h, capture, data) => {
      createImageBitmap(new Blob([data], { type: "image/jpeg" })).then((bmp) => {
        if (!v.closed) draw(bmp, w, h, capture);
        bmp.close();
      }, () => {});
    };
    const connect = () => {
      if (v.closed) return;
      mark("connect");
      const ws = new WebSocket(`ws://127.0.0.1:${port}/video/${room}?s=${secret}`);
      ws.binaryType = "arraybuffer";
      ws.onopen = () => { mark("socketOpen"); tr("wsopen", 0); };
      ws.onmessage = (ev) => {
        mark("firstMessage");
        if (typeof ev.data === "string") return;
        const dv = new DataView(ev.data);
        const kind = dv.getUint8(0), flags = dv.getUint8(1);
        const w = dv.getUint16(2, true), h = dv.getUint16(4, true), clen = dv.getUint8(6);
        const capture = dv.getFloat64(8, true);
        const codec = new TextDecoder().decode(new Uint8Array(ev.data, 16, clen));
        const data = new Uint8Array(ev.data, 16 + clen);
        if (kind === KIND_AU) onAU(flags, w, h, codec, capture, data);
        else if (kind === KIND_JPEG) onJpeg(w, h, capture, data);
      };
      // The app ends a room's socket when it releases the player; a new one
      // may come for the same canvas (e.g. the page changed its video path).
      ws.onclose = () => { if (!v.closed) setTimeout(connect, 250); };
      v.ws = ws;
    };
    v.timer = setInterval(report, 1000);
    connect();
    views.set(canvas, v);
  }

  function closeView(v) {
    v.closed = true;
    clearInterval(v.timer);
    v.io.disconnect();
    if (v.ws) v.ws.close();
    if (v.decoder && v.decoder.state !== "closed") { try { v.decoder.close(); } catch (_) {} }
    // Give the picture's memory back now, not when the collector gets to the
    // removed element (a 540x960 canvas holds ~2 MiB, more while drawn).
    v.canvas.width = 0; v.canvas.height = 0;
    views.delete(v.canvas);
    // Each room seen keeps its figures (latencies, trace: ~100 kB): keep the
    // rooms of the last few swipes, not every room of a long session.
    const open = new Set([...views.values()].map((x) => x.room));
    const old = Object.keys(totals).filter((r) => !open.has(r)).sort((a, b) => totals[b].lastDrawAt - totals[a].lastDrawAt);
    for (const r of old.slice(KEEP_CLOSED_ROOMS)) delete totals[r];
  }

  function scan() {
    const present = new Set(document.querySelectorAll("canvas[data-room]"));
    for (const [c, v] of views) if (!present.has(c) || c.dataset.room !== v.room) closeView(v);
    for (const c of present) if (!views.has(c)) openView(c);
  }

  async function supportsWebCodecs() {
    if (typeof VideoDecoder === "undefined" || typeof EncodedVideoChunk === "undefined") return false;
    try {
      const r = await VideoDecoder.isConfigSupported({ codec: "avc1.42c01f", codedWidth: 540, codedHeight: 960 });
      return !!r.supported;
    } catch (_) { return false; }
  }

  for (const type of ["keydown", "wheel", "pointerdown", "touchstart"]) {
    addEventListener(type, () => { lastInputAt = now(); }, { capture: true, passive: true });
  }

  // What lies over a room's video (chat, card, composer, gifts; marked
  // `data-room-layer`) sits outside the feed but moves with its room's page:
  // a swipe carries it off screen with the old video at once, before the app
  // has even heard of the swipe, so one room's chat never shows over the
  // next room's picture (issue #15). Not inside the page: WebKitGTK then
  // gave a wheel over the chat to the feed (a swipe) instead of the chat.
  const syncLayers = () => {
    for (const el of document.querySelectorAll("[data-room-layer]")) {
      const page = document.querySelector(`section[data-room="${el.dataset.roomLayer}"]`);
      const top = page ? Math.round(page.getBoundingClientRect().top) : innerHeight;
      const shift = top ? `translateY(${top}px)` : "";
      if (el.style.transform !== shift) el.style.transform = shift;
    }
  };
  addEventListener("scroll", (e) => {
    if (e.target.matches && e.target.matches("[data-testid=feed]")) syncLayers();
  }, { capture: true, passive: true });
  new MutationObserver((records) => {
    if (records.some((r) => r.type === "attributes" || [...r.addedNodes].some((n) => n.nodeType === 1 && (n.matches("[data-room-layer]") || n.querySelector("[data-room-layer]"))))) syncLayers();
  }).observe(document.documentElement, { childList: true, subtree: true, attributes: true, attributeFilter: ["data-room-layer"] });

  // Paging keys scroll the feed here, in the page, so a swipe does not wait
  // for a round trip to the app; the app learns of it from the scroll event.
  const PAGE_KEYS = { ArrowDown: 1, PageDown: 1, ArrowUp: -1, PageUp: -1 };
  // A key with nothing focused (a closed sheet took the focus with it) goes
  // to the feed, as if it had kept the focus — unless a sheet is open.
  const MODAL = ".sheet, .orders-screen, .confirm-sheet";
  const unfocused = (e) => e.target === document.body || e.target === document.documentElement;
  addEventListener("keydown", (e) => {
    if (!unfocused(e) || e.defaultPrevented || document.querySelector(MODAL)) return;
    const feed = document.querySelector("[data-testid=feed]");
    if (!feed) return;
    feed.focus({ preventScroll: true });
    if (PAGE_KEYS[e.key]) return; // scrolled below
    e.stopImmediatePropagation();
    feed.dispatchEvent(new KeyboardEvent("keydown", { key: e.key, code: e.code, bubbles: true, cancelable: true }));
  }, { capture: true });
  addEventListener("keydown", (e) => {
    const dir = PAGE_KEYS[e.key];
    const feed = (e.target.closest && e.target.closest("[data-testid=feed]")) ||
      (unfocused(e) && !document.querySelector(MODAL) ? document.querySelector("[data-testid=feed]") : null);
    if (!dir || !feed || (e.target.matches && e.target.matches("input, textarea"))) return;
    e.preventDefault();
    const h = feed.clientHeight || 1;
    const at = Math.round(feed.scrollTop / h) + dir;
    const last = Math.round((feed.scrollHeight - h) / h);
    feed.scrollTo({ top: Math.max(0, Math.min(last, at)) * h, behavior: "instant" });
  });

  // Starts the video views; resolves to the path this webview uses.
  async function start(p, s, forceJpeg) {
    mark("start");
    port = p; secret = s;
    if (forceJpeg) path = "jpeg";
    // Views open, and their sockets connect, as soon as the first render
    // makes them. Only mutations that add, remove or re-point a video view
    // rescan: the chat alone changes the page ~30 times a second.
    const isVideo = (n) => n.nodeType === 1 && (n.matches("canvas[data-room]") || n.querySelector("canvas[data-room]"));
    new MutationObserver((records) => {
      if (records.some((r) => r.type === "attributes" || [...r.addedNodes].some(isVideo) || [...r.removedNodes].some(isVideo))) scan();
    }).observe(document.documentElement, { childList: true, subtree: true, attributes: true, attributeFilter: ["data-room"] });
    // The decoder check holds the page for ~150 ms (WebKit loads its
    // decoders): after the first view has asked for its pictures, so that
    // the handshake runs meanwhile instead of after it.
    await Promise.race([firstView, new Promise((r) => setTimeout(r, 1500))]);
    path = !forceJpeg && (await supportsWebCodecs()) ? "webcodecs" : "jpeg";
    mark("pathChosen");
    return path;
  }

  const boot = window.livecartBoot;
  window.livecart = {
    // The views' start (from `livecartBoot`, set by the app before this script).
    // The web app has no video views here (assets/web.js plays the origin's streams).
    started: boot ? start(boot.port, boot.secret, boot.forceJpeg) : Promise.resolve("none"),
    // For the test harness and the debug overlay.
    // Latency percentiles cover the frames drawn since `since` (page ms).
    stats(since) {
      const rooms = {};
      for (const [room, t] of Object.entries(totals)) {
        const lat = t.latencies.filter(([at]) => at >= (since || 0)).map(([, l]) => l).sort((a, b) => a - b);
        rooms[room] = { drawn: t.drawn, firstDrawAt: t.firstDrawAt, lastDrawAt: t.lastDrawAt, shownAfterInputAt: t.shownAfterInputAt,
                        latencyP50: pct(lat, 0.5), latencyP95: pct(lat, 0.95), latencyP99: pct(lat, 0.99) };
      }
      if (!rafOn) { rafOn = true; requestAnimationFrame(rafLoop); }
      const cut = now() - 1000;
      const pageFps = rafTimes.filter((t) => t >= cut).length;
      return { path, now: now(), lastInputAt, pageFps, rooms, marks, editsAs: window.interpreter && window.interpreter.edits ? window.interpreter.edits.binaryType : null };
    },
    // What each view did lately (for diagnosing stalls): [unix ms, what, x].
    trace() {
      const out = {};
      for (const [room, t] of Object.entries(totals)) out[room] = t.trace;
      return out;
    },
    // Every element with this testid on screen: text, data-id, box, classes.
    all(testid) {
      return [...document.querySelectorAll(`[data-testid="${testid}"]`)].map((el) => {
        const r = el.getBoundingClientRect();
        return { id: el.dataset.id || null, text: el.textContent, cls: el.getAttribute("class") || "", x: r.x, y: r.y, width: r.width, height: r.height };
      }).filter((e) => e.height > 0 && e.y + e.height > 0 && e.y < innerHeight);
    },
    // The nth element with this testid among those on screen (pages off
    // screen have their own copies of the top bar).
    rect(testid, nth) {
      const els = document.querySelectorAll(`[data-testid="${testid}"]`);
      const visible = [...els].filter((e) => {
        const r = e.getBoundingClientRect();
        return r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth;
      });
      const el = visible[nth || 0];
      if (!el) return null;
      const r = el.getBoundingClientRect();
      // How far its CSS animations have played (ms), e.g. a big gift's.
      const animMs = Math.max(0, ...el.getAnimations({ subtree: true }).map((a) => Number(a.currentTime) || 0));
      // Its first picture: where it comes from and whether it is shown.
      const img = el.tagName === "IMG" ? el : el.querySelector("img");
      const picture = img ? { src: img.getAttribute("src"), shown: img.complete && img.naturalWidth > 0 } : null;
      // What a tap at its centre lands on.
      const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
      return { x: r.x, y: r.y, width: r.width, height: r.height, text: el.textContent, count: els.length, animMs, picture,
               focused: document.activeElement === el, valueLength: typeof el.value === "string" ? el.value.length : null,
               value: typeof el.value === "string" && el.type !== "password" ? el.value : null,
               scrollTop: el.scrollTop, classes: el.className,
               // What a tap at its centre lands on: itself (or inside it), or what covers it.
               covered: !!hit && !el.contains(hit) && !hit.contains(el),
               // What lies there on top: its class and test id (for the failure).
               top: hit ? `${hit.tagName}.${hit.className} ${hit.closest("[data-testid]")?.dataset.testid || ""}` : null,
               fontSize: parseFloat(getComputedStyle(el).fontSize),
               dpr: window.devicePixelRatio, screenX: window.screenX, screenY: window.screenY };
    },
  };
})();
