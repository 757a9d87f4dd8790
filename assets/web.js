// The web app's players (#18): the core says open / play / release / mute
// for a room (crates/web/src/page.rs); each player is assets/origin.js's
// WebCodecs player on that room's canvas. A held player (the next room,
// preloaded) plays muted off screen, so a swipe shows moving video at once.
// What players see goes back to the core through `listen`. The page's
// module sets `window.livecartPlayOrigin` (origin.js) before the app starts.

const players = new Map(); // room -> { player, held, muted, canvas, url }
let report = null;
const queued = [];
const say = (m) => (report === null ? queued.push(m) : report(m));

// The canvas for a room may render after the core asked for its player:
// wait for it (one look per frame) while the player is wanted.
function attach(room) {
  const p = players.get(room);
  if (!p || p.player) return;
  const canvas = document.querySelector(`canvas[data-room="${room}"]`);
  const playOrigin = window.livecartPlayOrigin;
  if (!canvas || !playOrigin) {
    requestAnimationFrame(() => attach(room));
    return;
  }
  p.canvas = canvas;
  let frames = 0, windowStart = performance.now(), lost = false;
  p.player = playOrigin(p.url, canvas, {
    onFirstFrame: (ms) => {
      p.firstFrameMs = ms;
      p.firstDrawAt = performance.now();
      say({ room, kind: "first", ms });
    },
    // The origin's socket closed (the source is down, or the viewer fell
    // behind): the core shows "reconnecting" until pictures come again.
    onLost: () => {
      if (!lost) say({ room, kind: "lost" });
      lost = true;
    },
    onDrawn: () => {
      if (lost) say({ room, kind: "playing" });
      lost = false;
      frames++;
      const now = performance.now();
      if (now - windowStart >= 1000) {
        const s = p.player.summary();
        say({ room, kind: "drawn", fps: (frames * 1000) / (now - windowStart), p95: s.captureToDrawP95, p50: null });
        frames = 0;
        windowStart = now;
      }
    },
  });
  p.player.setMuted(p.held || p.muted);
}

window.livecartWeb = {
  open(room, url, held) {
    this.release(room);
    players.set(room, { player: null, held, muted: true, url });
    attach(room);
  },
  play(room) {
    const p = players.get(room);
    if (!p) return;
    p.held = false;
    p.player?.setMuted(p.muted);
  },
  release(room) {
    const p = players.get(room);
    if (!p) return;
    players.delete(room);
    p.player?.stop();
  },
  setMuted(room, muted) {
    const p = players.get(room);
    if (!p) return;
    p.muted = muted;
    if (!p.held) p.player?.setMuted(muted);
  },
  listen(fn) {
    report = fn;
    for (const m of queued.splice(0)) fn(m);
  },
  // For tests and the bench: what each player has done.
  stats() {
    const out = {};
    for (const [room, p] of players) {
      if (!p.player) { out[room] = { held: p.held, attached: false }; continue; }
      const s = p.player.stats;
      out[room] = { held: p.held, attached: true, onPage: p.canvas?.isConnected ?? false, drawn: s.drawn, fps: s.fps, firstFrameMs: p.firstFrameMs ?? null, firstDrawAt: p.firstDrawAt ?? null,
                    muted: p.player.muted, clock: s.clock, audioAhead: s.audioAhead ?? null, audioLatency: s.audioLatency ?? null, messages: s.messages, late: s.late, dropped: s.dropped,
                    errors: s.errors.slice(-3), closes: s.closes.slice(-3), ...p.player.summary() };
    }
    return out;
  },
};

// The app's local store (crates/web/src/store.rs): IndexedDB, one object
// store of JSON values by key — the feed, each user's orders, the payment
// outbox, who is signed in (a profile: never a token).
(() => {
  const STORE = "kv";
  let opened = null;
  const db = () => (opened ??= new Promise((resolve, reject) => {
    const req = indexedDB.open("livecart", 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => { opened = null; reject(req.error); };
  }));
  const run = async (mode, fn) => {
    const d = await db();
    return new Promise((resolve, reject) => {
      const tx = d.transaction(STORE, mode);
      const req = fn(tx.objectStore(STORE));
      // Answered once the transaction is on disk, not before.
      tx.oncomplete = () => resolve(req && "result" in req ? req.result ?? null : null);
      tx.onerror = tx.onabort = () => reject(tx.error);
    });
  };
  const range = (prefix) => IDBKeyRange.bound(prefix, `${prefix}\uffff`);
  window.livecartStore = {
    get: (key) => run("readonly", (s) => s.get(key)),
    put: (key, value) => run("readwrite", (s) => s.put(value, key)),
    del: (key) => run("readwrite", (s) => s.delete(key)),
    delPrefix: (prefix) => run("readwrite", (s) => s.delete(range(prefix))),
    list: (prefix) => run("readonly", (s) => s.getAll(range(prefix))),
  };
})();

// The app shell works offline once a service worker holds it (/sw.js;
// browsers allow one on HTTPS and on localhost only).
if ("serviceWorker" in navigator && window.isSecureContext) {
  navigator.serviceWorker.register("/sw.js").catch((e) => console.warn("no offline shell:", e.message));
}

// Pull to refresh: a finger pulling the feed down at its first room, past
// PULL px, asks the core for the feed again (the hidden refresh button).
(() => {
  const PULL = 110;
  let startY = null, hint = null;
  const feed = () => document.querySelector("[data-testid=feed]");
  addEventListener("touchstart", (e) => {
    const f = feed();
    startY = f && f.contains(e.target) && f.scrollTop <= 0 && e.touches.length === 1 ? e.touches[0].clientY : null;
  }, { passive: true, capture: true });
  addEventListener("touchmove", (e) => {
    if (startY === null) return;
    const dy = e.touches[0].clientY - startY;
    if (dy <= 10) { hint?.remove(); hint = null; return; }
    if (!hint) {
      hint = document.createElement("div");
      hint.className = "pull-hint";
      hint.dataset.testid = "pull-hint";
      document.body.append(hint);
    }
    hint.textContent = dy > PULL ? "Release to refresh" : "Pull to refresh";
    hint.style.opacity = String(Math.min(1, dy / PULL));
  }, { passive: true, capture: true });
  addEventListener("touchend", (e) => {
    if (startY === null) return;
    const dy = (e.changedTouches[0]?.clientY ?? startY) - startY;
    startY = null;
    hint?.remove();
    hint = null;
    if (dy > PULL) document.querySelector("[data-testid=refresh-feed]")?.click();
  }, { passive: true, capture: true });
})();
