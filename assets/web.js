// The web app's players (#18): the core says open / play / release / mute
// for a room (crates/web/src/page.rs); each player is assets/origin.js's
// WebCodecs player on that room's canvas. A held player (the next room,
// preloaded) plays muted off screen, so a swipe shows moving video at once.
// What players see goes back to the core through `listen`. The page's
// head loads assets/origin.js (`window.livecartPlayOrigin`) before this.

const players = new Map(); // room -> { player, held, muted, canvas, url }
let report = null;
const queued = [];
const say = (m) => (report === null ? queued.push(m) : report(m));
// The room the page started playing before the app ran (the server names
// it: the feed's first room, or a share link's), on its own canvas over the
// page; the core's first `open` of that room takes the player over.
let boot = null; // { room, entry, timer }
// The app starts once the boot room shows its first picture (or after
// BOOT_FIRST_MS): on a phone's two or four cores, compiling and starting the
// app at the same time as the first GOP decodes made the picture wait.
let bootShown = null;
const shown = new Promise((resolve) => { bootShown = resolve; });
const BOOT_FIRST_MS = 1500;
/** How long a boot player waits for the app to take it over. */
const BOOT_WAIT_MS = 15000;

const samePath = (a, b) => {
  try { return new URL(a, location.href).pathname === new URL(b, location.href).pathname; } catch { return false; }
};

function dropBoot() {
  if (!boot) return;
  clearTimeout(boot.timer);
  boot.entry.player?.stop();
  boot = null;
  document.getElementById("boot-video")?.remove();
}

// A player for `room` drawing into `canvas`. What it sees is said to the
// core once the entry is that room's (a boot player's, once taken over).
function start(room, p, canvas) {
  const mine = () => players.get(room) === p;
  let frames = 0, windowStart = performance.now(), lost = false;
  const player = window.livecartPlayOrigin(p.url, canvas, {
    onFirstFrame: (ms) => {
      p.firstFrameMs = ms;
      // When the worker drew it (this page's clock), not when we heard.
      p.firstDrawAt = player.stats.firstDrawnAt ?? performance.now();
      p.onFirst?.();
      if (mine()) say({ room, kind: "first", ms });
    },
    // The origin's socket closed (the source is down, or the viewer fell
    // behind): the core shows "reconnecting" until pictures come again.
    onLost: () => {
      if (!lost && mine()) say({ room, kind: "lost" });
      lost = true;
    },
    onDrawn: () => {
      if (lost && mine()) say({ room, kind: "playing" });
      lost = false;
      frames++;
      const now = performance.now();
      if (now - windowStart >= 1000) {
        const s = player.summary();
        if (mine()) say({ room, kind: "drawn", fps: (frames * 1000) / (now - windowStart), p95: s.captureToDrawP95, p50: null });
        frames = 0;
        windowStart = now;
      }
    },
  });
  return player;
}

// The canvas for a room may render after the core asked for its player:
// wait for it (one look per frame) while the player is wanted. A boot
// player moves onto it, picture and all.
function attach(room) {
  const p = players.get(room);
  if (!p || (p.player && !p.boot)) return;
  const canvas = document.querySelector(`canvas[data-room="${room}"]`);
  if (!canvas || !window.livecartPlayOrigin) {
    requestAnimationFrame(() => attach(room));
    return;
  }
  p.canvas = canvas;
  if (p.player) {
    p.player.setCanvas(canvas);
    p.boot = false;
    document.getElementById("boot-video")?.remove();
    return;
  }
  p.player = start(room, p, canvas);
  p.player.setMuted(p.held || p.muted);
}

window.livecartWeb = {
  /** Before the app runs: plays `room` on the page's boot canvas. */
  boot(room) {
    performance.mark("livecart:boot");
    if (boot || !window.livecartPlayOrigin) return;
    // Over the page (the body may not be parsed yet): the app's canvas for
    // this room takes the picture over, and this one goes.
    const canvas = document.createElement("canvas");
    canvas.id = "boot-video";
    canvas.className = "video boot-video";
    canvas.dataset.room = room;
    document.documentElement.append(canvas);
    const url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/live/${room}/au`;
    const entry = { player: null, held: false, muted: true, url, boot: true, booted: true, canvas, onFirst: bootShown };
    setTimeout(bootShown, BOOT_FIRST_MS);
    entry.player = start(room, entry, canvas);
    entry.player.setMuted(true);
    boot = { room, entry, timer: setTimeout(dropBoot, BOOT_WAIT_MS) };
  },
  /** Resolves when the app may start: the boot room's first picture is on screen, or there is none. */
  ready() {
    if (!boot) bootShown();
    return shown;
  },
  open(room, url, held) {
    this.release(room);
    if (boot && boot.room === room && samePath(boot.entry.url, url)) {
      const p = boot.entry;
      clearTimeout(boot.timer);
      boot = null;
      p.held = held;
      players.set(room, p);
      p.player.setMuted(p.held || p.muted);
      if (p.firstDrawAt != null) say({ room, kind: "first", ms: p.firstFrameMs });
      attach(room);
      return;
    }
    // Sound as the core says: a room it plays has sound unless it says muted
    // (it does, right after, for a viewer who is).
    players.set(room, { player: null, held, muted: false, url });
    attach(room);
    // The app shows another room first: the boot player is not needed.
    if (!held) dropBoot();
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
  stats(since) {
    const out = {};
    for (const [room, p] of players) {
      if (!p.player) { out[room] = { held: p.held, attached: false }; continue; }
      const s = p.player.stats;
      out[room] = { kind: s.kind ?? "webcodecs", held: p.held, attached: true, onPage: p.canvas?.isConnected ?? false, drawn: s.drawn, fps: s.fps, firstFrameMs: p.firstFrameMs ?? null, firstDrawAt: p.firstDrawAt ?? null,
                    muted: p.player.muted, clock: s.clock, audioAhead: s.audioAhead ?? null, audioLatency: s.audioLatency ?? null, underruns: p.player.underruns ?? null, messages: s.messages, late: s.late, dropped: s.dropped,
                    element: s.element ?? null, errors: s.errors.slice(-3), closes: s.closes.slice(-3), lastDrawAt: s.lastDrawAt, recentDraws: s.recentDraws, ...p.player.summary(since),
                    // Where the first picture's time went (page ms; started on the boot canvas if `booted`).
                    booted: p.booted ?? false, startedAt: s.startedAt, socketOpenAt: s.socketOpenAt, firstMessageAt: s.firstMessageAt, firstDecodedAt: s.firstDecodedAt };
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

// The room the server named (its page's `livecart-boot` meta: the feed's
// first room, or a share link's) starts now, before the rest of the page.
{
  const room = document.querySelector('meta[name="livecart-boot"]')?.content;
  if (room) window.livecartWeb.boot(room);
}
