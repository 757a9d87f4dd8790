// The web app in Debian's Chromium (#18): headless, a 390×844 phone at DPR
// 3 with touch, against a real livecart server. Each scenario does what a
// shopper does and prints what they would see as one JSON line on stdout;
// tests/web.rs asserts on it, and the web bench (benches/web.rs) reads its
// numbers. The page's console goes to stderr.
//
//   node tests/web/app.mjs BASE_URL SCENARIO [options as JSON]
//
// Scenarios: feed (first picture, the preloaded next room, swipes),
// checkout (card → Buy now → Pay), chat (a message and a gift seen by a
// second browser), session (sign-in survives a reload; no token in
// JavaScript storage), offline (orders from the cache with the server
// stopped), outbox (a payment whose answer was lost goes through once after
// a reload), room (a share link opens its room and plays).

import { join } from "node:path";
import { launch } from "./phone.mjs";

const [base, scenario, optsArg] = process.argv.slice(2);
const opts = optsArg ? JSON.parse(optsArg) : {};
// Each wait, at most (a cold server records its rooms first: the bench
// gives its first load longer).
const WAIT = opts.waitMs || 20000;
const launchedPhones = [];
const contexts = [];

async function phone(name = "a") {
  const launched = await launch({ width: opts.width, height: opts.height, desktop: opts.desktop, name });
  launchedPhones.push(launched);
  const { context: ctx, page } = launched;
  contexts.push(ctx);
  // A browser without WebCodecs (the MSE fallback's case).
  if (opts.noWebCodecs) await page.addInitScript(() => { delete window.VideoDecoder; delete window.AudioDecoder; });
  // The speaker's buffer asked for (assets/origin.js), for the bench's comparison.
  if (opts.latencyHint !== undefined) await page.addInitScript((hint) => { window.livecartSpeakerLatencyHint = hint; }, opts.latencyHint);
  page.on("console", (m) => console.error(`[${name}] ${m.type()}: ${m.text()}`));
  page.on("pageerror", (e) => console.error(`[${name}] page error: ${e}`));
  if (process.env.LIVECART_WEB_TRACE) {
    const t0 = Date.now();
    const api = (r) => new URL(r.url()).pathname.startsWith("/v1/") && !r.url().includes("/images/");
    page.on("response", (r) => { if (api(r)) console.error(`[${name}] +${Date.now() - t0} ${r.status()} ${r.request().method()} ${new URL(r.url()).pathname}`); });
    page.on("requestfailed", (r) => { if (api(r)) console.error(`[${name}] +${Date.now() - t0} failed ${r.method()} ${new URL(r.url()).pathname}`); });
  }
  return { ctx, page };
}

/** The element with this test id that is on screen (off-screen pages have their own copies). */
async function rect(page, testid, text) {
  return page.evaluate(([id, text]) => {
    for (const el of document.querySelectorAll(`[data-testid="${id}"]`)) {
      const r = el.getBoundingClientRect();
      if (r.height === 0 || r.bottom <= 0 || r.top >= innerHeight || r.right <= 0 || r.left >= innerWidth) continue;
      if (text && !el.textContent.includes(text)) continue;
      return { x: r.x, y: r.y, width: r.width, height: r.height, text: el.textContent };
    }
    return null;
  }, [testid, text ?? null]);
}

async function waitFor(page, what, fn, arg, timeout = WAIT) {
  try {
    return await (await page.waitForFunction(fn, arg, { timeout, polling: "raf" })).jsonValue();
  } catch (e) {
    const dbg = await page.evaluate(() => window.__dbg ?? null).catch(() => null);
    throw new Error(`timed out after ${timeout} ms waiting for: ${what}${dbg ? ` (${JSON.stringify(dbg)})` : ""}`);
  }
}

/** The element, once it is on screen and has stopped moving (a sheet slides in). */
async function waitForId(page, testid, text) {
  const started = Date.now();
  let last = null;
  for (;;) {
    const r = await rect(page, testid, text);
    if (r && last && r.x === last.x && r.y === last.y && r.width === last.width && r.height === last.height) return r;
    last = r;
    if (Date.now() - started > WAIT) throw new Error(`timed out waiting for [${testid}]${text ? ` with "${text}"` : ""}`);
    await page.waitForTimeout(50);
  }
}

/** A finger's tap on the element's centre. */
async function tap(page, testid, text) {
  const r = await waitForId(page, testid, text);
  await page.touchscreen.tap(r.x + r.width / 2, r.y + r.height / 2);
  return r;
}

async function type(page, testid, text) {
  await tap(page, testid);
  await page.keyboard.type(text);
}

async function signIn(page, user) {
  await tap(page, "sign-in");
  await type(page, "username", user);
  await type(page, "password", "livecart");
  await tap(page, "sign-in-submit");
  await waitForId(page, "sign-out");
}

/** The room on screen and what the players have drawn. */
const players = (page, since) => page.evaluate((since) => {
  const cur = document.querySelector("section.page.current");
  return { current: cur?.dataset.room ?? null, now: performance.now(), stats: window.livecartWeb?.stats(since ?? undefined) ?? {} };
}, since ?? null);

async function firstPicture(page) {
  return waitFor(page, "the room on screen drawing its video", () => {
    const cur = document.querySelector("section.page.current");
    const s = cur && window.livecartWeb?.stats()[cur.dataset.room];
    return s && s.drawn >= 2 ? { room: cur.dataset.room, at: s.firstDrawAt } : null;
  });
}

/** A finger over the video (below the top bar, above the chat), dragged up
 * by more than half a page in ~100 ms: the feed snaps to the next room. */
async function drag(page, cdp) {
  const x = 330, from = 470, to = 6, steps = 6;
  await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: [{ x, y: from }] });
  for (let i = 1; i <= steps; i++) {
    await page.waitForTimeout(16);
    await cdp.send("Input.dispatchTouchEvent", { type: "touchMove", touchPoints: [{ x, y: from + ((to - from) * i) / steps }] });
  }
  await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
}

/** One swipe up with a finger (CDP touch events), timed from the finger's lift to a new picture of the next room fully on screen. */
async function swipe(page, cdp) {
  // Onto a preloaded room: the next one is held and has drawn (the MSE
  // fallback takes longer to start one than WebCodecs does).
  await waitFor(page, "the next room preloaded and drawing", () => {
    const feed = document.querySelector("[data-testid=feed]");
    const next = feed?.querySelectorAll("section.page")[Math.round(feed.scrollTop / feed.clientHeight) + 1];
    const s = next && window.livecartWeb.stats()[next.dataset.room];
    return s && s.held && s.drawn > 0 ? true : null;
  });
  const before = await players(page);
  await page.evaluate(() => {
    window.__lift = null;
    window.__shown = null;
    addEventListener("touchend", (e) => { window.__lift ??= e.timeStamp; }, { once: true, capture: true });
    const feed = document.querySelector("[data-testid=feed]");
    const h = feed.clientHeight;
    const start = Math.round(feed.scrollTop / h);
    const next = feed.querySelectorAll("section.page")[start + 1];
    const room = next?.dataset.room;
    let shownMs = null;
    // Shown: the next room covers most of the screen and its player drew a
    // new picture after the finger lifted (the player's worker says when it
    // drew; this page may hear of it later). Settled: the snap has put it in place.
    const watch = () => {
      const s = room && window.livecartWeb.stats()[room];
      const top = next ? next.getBoundingClientRect().top : innerHeight;
      window.__dbg = { room, lift: window.__lift, drawn: s?.drawn, top, shownMs };
      if (window.__lift !== null && s) {
        const drew = (s.recentDraws ?? []).find((t) => t > window.__lift);
        if (shownMs === null && top < h / 2 && drew !== undefined) shownMs = drew - window.__lift;
        if (shownMs !== null && Math.abs(top) < 1) { window.__shown = { room, ms: shownMs, settledMs: performance.now() - window.__lift }; return; }
      }
      requestAnimationFrame(watch);
    };
    requestAnimationFrame(watch);
  });
  await drag(page, cdp);
  const shown = await waitFor(page, "the next room's picture after the swipe", () => window.__shown);
  const held = before.stats[shown.room] ?? null;
  return { from: before.current, to: shown.room, ms: shown.ms, settledMs: shown.settledMs, wasHeld: held?.held ?? false, heldDrawnBefore: held?.drawn ?? 0 };
}

const scenarios = {
  async feed() {
    const { page } = await phone();
    // `openMs`: the browser has been open that long on a blank page before
    // the link is opened, as a phone's browser is (the profile is still
    // fresh: nothing cached). Launched together with the page, its own
    // start-up shares the two cores with the page's first picture.
    if (opts.openMs) {
      await page.goto("about:blank");
      await page.waitForTimeout(opts.openMs);
    }
    const navStart = Date.now();
    await page.goto(`${base}/`);
    const first = await firstPicture(page);
    // Sound on, as a shopper who taps "Tap for sound" (the bench's A/V sync).
    if (opts.sound) {
      await tap(page, "unmute-hint");
      await waitFor(page, "the sound playing as the clock", (room) => window.livecartWeb.stats()[room]?.clock === "audio" || null, first.room);
    }
    // The next room is preloaded: playing, muted, off screen.
    await waitFor(page, "the next room preloaded and drawing", () => Object.values(window.livecartWeb.stats()).some((s) => s.held && s.drawn > 0));
    const preloaded = await players(page);
    const cdp = await page.context().newCDPSession(page);
    const swipes = [];
    for (let i = 0; i < (opts.swipes || 3); i++) {
      swipes.push(await swipe(page, cdp));
      await page.waitForTimeout(opts.settleMs || 1500);
    }
    // Two seconds' steady playback: pictures drawn, capture → draw and A/V
    // sync over those two seconds.
    const a = await players(page);
    await page.waitForTimeout(2000);
    const b = await players(page, a.now);
    const cur = b.current;
    const transfer = await page.evaluate(() => performance.getEntriesByType("resource").concat(performance.getEntriesByType("navigation"))
      .filter((e) => /\/app\/.*\.(wasm|js|css)$/.test(e.name) || e.entryType === "navigation")
      .reduce((sum, e) => sum + (e.transferSize || e.encodedBodySize || 0), 0));
    return {
      firstPictureMs: first.at, wallMs: Date.now() - navStart, firstRoom: first.room, preloaded, swipes,
      fps: ((b.stats[cur]?.drawn ?? 0) - (a.stats[cur]?.drawn ?? 0)) / 2,
      captureToDrawP95: b.stats[cur]?.captureToDrawP95 ?? null,
      avSyncP95: b.stats[cur]?.avSyncP95 ?? null, clock: b.stats[cur]?.clock ?? null,
      audioLatency: b.stats[cur]?.audioLatency ?? null, underruns: b.stats[cur]?.underruns ?? null,
      arriveToDrawP95: b.stats[cur]?.arriveToDrawP95 ?? null, captureToArriveP95: b.stats[cur]?.captureToArriveP95 ?? null,
      // What each player had done by the end (printed when a test fails).
      transferBytes: transfer, end: b,
    };
  },

  async checkout() {
    const { page } = await phone();
    await page.goto(`${base}/`);
    await firstPicture(page);
    await signIn(page, opts.user || "ava");
    const card = await waitForId(page, "pinned");
    const before = await players(page);
    const t0 = Date.now();
    const taps = [];
    await tap(page, "pinned"); taps.push("pinned");
    await tap(page, "buy-now"); taps.push("buy-now");
    const payLabel = (await waitForId(page, "pay")).text;
    await tap(page, "pay"); taps.push("pay");
    let pin = false;
    const paid = await (async () => {
      const started = Date.now();
      for (;;) {
        const m = await rect(page, "message", "Paid");
        if (m) return m.text;
        if (!pin && (await rect(page, "pin-input"))) {
          pin = true;
          await type(page, "pin-input", "1234");
          await tap(page, "pin-submit");
        }
        if (Date.now() - started > WAIT) throw new Error("timed out waiting for the paid message");
        await page.waitForTimeout(50);
      }
    })();
    const after = await players(page);
    const room = before.current;
    return { card: card.text, payLabel, taps, pin, paid, room, ms: Date.now() - t0,
             drawnBefore: before.stats[room]?.drawn ?? 0, drawnAfter: after.stats[room]?.drawn ?? 0 };
  },

  async chat() {
    const a = await phone("ava");
    const b = await phone("ben");
    await a.page.goto(`${base}/`);
    await b.page.goto(`${base}/`);
    const roomA = (await firstPicture(a.page)).room;
    const roomB = (await firstPicture(b.page)).room;
    await signIn(a.page, "ava");
    const text = `hello from the web ${Date.now() % 100000}`;
    // The second phone notes the line the moment it appears, and whether it
    // was on screen then (a busy chat moves on within seconds).
    await b.page.evaluate((text) => {
      const look = () => {
        for (const el of document.querySelectorAll('[data-testid="chat-line"]')) {
          if (!el.textContent.includes(text)) continue;
          const r = el.getBoundingClientRect();
          window.__line = { text: el.textContent, onScreen: r.height > 0 && r.top >= 0 && r.bottom <= innerHeight };
          return true;
        }
        return false;
      };
      new MutationObserver((_, obs) => { if (look()) obs.disconnect(); })
        .observe(document.body, { childList: true, subtree: true, characterData: true });
    }, text);
    await type(a.page, "chat-input", text);
    const typed = await a.page.evaluate(() => document.querySelector('[data-testid="chat-input"]').value);
    if (typed !== text) throw new Error(`the chat field holds ${JSON.stringify(typed)} after typing`);
    await tap(a.page, "chat-send");
    await waitForId(a.page, "chat-line", text).catch(async (e) => {
      const m = await rect(a.page, "message");
      throw new Error(`${e.message}; the sender's own chat lacks it (message: ${m?.text ?? "none"})`);
    });
    const seen = await waitFor(b.page, "the line in the second phone's chat", () => window.__line);
    await tap(a.page, "gift");
    await waitForId(a.page, "gift-bar");
    const gift = await a.page.evaluate(() => {
      const el = [...document.querySelectorAll('[data-testid="gift-bar"] button[data-testid^="gift-"]')]
        .find((e) => e.dataset.testid !== "gift-bar-close" && !e.disabled);
      if (!el) return null;
      const r = el.getBoundingClientRect();
      return { x: r.x + r.width / 2, y: r.y + r.height / 2, id: el.dataset.testid };
    });
    if (!gift) throw new Error("no gift to send in the gift bar");
    await a.page.touchscreen.tap(gift.x, gift.y);
    const lane = await waitForId(b.page, "gift-lane", "Ava");
    return { roomA, roomB, text, seen: seen.text, seenOnScreen: seen.onScreen, gift: gift.id, lane: lane.text };
  },

  async session() {
    const { page } = await phone();
    let accessToken = null;
    page.on("response", async (r) => {
      if (/\/v1\/session(\/refresh)?$/.test(new URL(r.url()).pathname) && r.ok()) {
        try { accessToken = (await r.json()).access_token ?? accessToken; } catch (_) {}
      }
    });
    await page.goto(`${base}/`);
    await firstPicture(page);
    await signIn(page, "ava");
    const storage = () => page.evaluate(async () => {
      const dump = (s) => Object.fromEntries(Object.keys(s).map((k) => [k, s.getItem(k)]));
      const dbs = indexedDB.databases ? await indexedDB.databases() : [];
      const idb = {};
      for (const { name } of dbs) {
        idb[name] = await new Promise((resolve) => {
          const req = indexedDB.open(name);
          req.onsuccess = () => {
            const db = req.result, out = {};
            const stores = [...db.objectStoreNames];
            if (!stores.length) { db.close(); resolve(out); return; }
            const tx = db.transaction(stores, "readonly");
            for (const st of stores) {
              const all = tx.objectStore(st).getAll();
              all.onsuccess = () => { out[st] = all.result; };
            }
            tx.oncomplete = () => { db.close(); resolve(out); };
          };
          req.onerror = () => resolve(null);
        });
      }
      return { cookie: document.cookie, local: dump(localStorage), session: dump(sessionStorage), idb };
    });
    const signedIn = await storage();
    const user1 = (await rect(page, "sign-out"))?.text;
    await page.reload();
    await firstPicture(page);
    const again = await waitForId(page, "sign-out");
    const reloaded = await storage();
    const text = JSON.stringify([signedIn, reloaded]);
    return { user: user1, afterReload: again.text, storage: signedIn,
             tokenSeen: !!accessToken, tokenInStorage: !!accessToken && text.includes(accessToken),
             refreshCookieReadable: text.includes("livecart_refresh") };
  },

  async offline() {
    const { page } = await phone();
    await page.goto(`${base}/`);
    await firstPicture(page);
    await signIn(page, "chloe");
    // Something to follow: an order (card → Buy now → Pay).
    await tap(page, "pinned");
    await tap(page, "buy-now");
    await tap(page, "pay");
    const paid = (await waitForId(page, "message", "Paid")).text;
    const rows = async () => page.evaluate(() => [...document.querySelectorAll('[data-testid="order-row"]')].map((e) => e.textContent));
    await tap(page, "orders");
    await waitForId(page, "order-row");
    const online = await rows();
    await tap(page, "orders-close");
    // Closed, and the address is back on the room (a reload at /orders
    // would open the orders by itself).
    await waitFor(page, "the orders closed", () => (!document.querySelector(".orders-screen") && location.pathname !== "/orders") || null);
    // The app shell is kept by the service worker before the server goes.
    const worker = await page.evaluate(async () => {
      const reg = await navigator.serviceWorker.ready;
      if (!navigator.serviceWorker.controller) {
        await new Promise((r) => navigator.serviceWorker.addEventListener("controllerchange", r, { once: true }));
      }
      return reg.active?.scriptURL ?? null;
    });
    process.kill(opts.serverPid, "SIGKILL");
    await page.reload();
    await tap(page, "orders");
    const banner = await waitForId(page, "offline-banner");
    await waitForId(page, "order-row");
    const offline = await rows();
    const storage = await page.evaluate(() => ({ local: Object.keys(localStorage).length, session: Object.keys(sessionStorage).length }));
    return { paid, online, offline, banner: banner.text, worker, storage };
  },

  // The worst moment to lose the page: the server has charged the payment
  // but its answer never reached the page (the request went out through
  // Playwright; the answer is kept from the page), and the page is
  // reloaded. The app sends the payment again from its outbox (IndexedDB)
  // with the same key, the server answers with the order it already made,
  // and the buyer is told it went through.
  async outbox() {
    const { page } = await phone();
    await page.goto(`${base}/`);
    await firstPicture(page);
    await signIn(page, opts.user || "dan");
    const card = (await waitForId(page, "pinned")).text;
    await tap(page, "pinned");
    await tap(page, "buy-now");
    const payLabel = (await waitForId(page, "pay")).text;
    const isOrder = (r) => r.method() === "POST" && new URL(r.url()).pathname === "/v1/orders";
    let heard;
    const chargedNow = new Promise((resolve) => { heard = resolve; });
    const keys = [];
    // The first payment reaches the server, its answer never the page; the
    // route stays (taking it away would send the held request on), and
    // later payments pass.
    await page.route("**/v1/orders", async (route) => {
      if (!isOrder(route.request())) return route.continue();
      keys.push(route.request().headers()["idempotency-key"] ?? null);
      if (keys.length > 1) return route.continue();
      const res = await route.fetch();
      heard({ status: res.status(), order: await res.json() });
    });
    await tap(page, "pay");
    const charged = await Promise.race([
      chargedNow,
      new Promise((_, fail) => setTimeout(() => fail(new Error("the payment never reached the server")), WAIT)),
    ]);
    const outboxBefore = await page.evaluate(() => window.livecartStore.list("outbox:"));
    await page.reload();
    const message = (await waitForId(page, "message", "Your payment")).text;
    const outboxAfter = await waitFor(page, "the outbox emptied", async () => {
      const left = await window.livecartStore.list("outbox:");
      return left.length === 0 ? left : null;
    });
    await tap(page, "orders");
    await waitForId(page, "order-row");
    const rows = await page.evaluate(() => [...document.querySelectorAll('[data-testid="order-row"]')].map((e) => e.textContent));
    return { card, payLabel, charged, keys, outboxBefore: outboxBefore.length, outboxAfter: outboxAfter.length, message, rows };
  },

  // Touch and layout at any size: the controls fit a thumb and nothing
  // covers them; the share button gives the room's link; a double-tap likes;
  // pulling the first room down refreshes the feed.
  async touch() {
    const { page } = await phone();
    let feeds = 0;
    page.on("request", (r) => { if (new URL(r.url()).pathname === "/v1/feed") feeds++; });
    await page.goto(`${base}/`);
    const first = await firstPicture(page);
    // The room's own controls come with its snapshot (the picture is
    // usually there first): the pinned product is the last of them.
    await waitForId(page, "pinned");
    const layout = await page.evaluate((ids) => ids.map((id) => {
      const el = [...document.querySelectorAll(`[data-testid="${id}"]`)].find((e) => {
        const r = e.getBoundingClientRect();
        return r.height > 0 && r.bottom > 0 && r.top < innerHeight && r.right > 0 && r.left < innerWidth;
      });
      if (!el) return { id, shown: false };
      const r = el.getBoundingClientRect();
      const hit = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
      return { id, shown: true, width: r.width, height: r.height,
               inside: r.left >= 0 && r.top >= 0 && r.right <= innerWidth && r.bottom <= innerHeight,
               covered: !!hit && !el.contains(hit) && !hit.contains(el) };
    }), ["mute", "close", "follow", "like", "gift", "bag", "share", "chat-send", "pinned", "sign-in", "unmute-hint"]);
    // "Tap for sound": the player's sound comes on and the hint goes.
    await tap(page, "unmute-hint");
    const unmuted = await waitFor(page, "the sound on after the tap", (room) => {
      const s = window.livecartWeb.stats()[room];
      // Heard: the speaker plays the room's sound and the pictures follow it.
      return s && s.muted === false && s.clock === "audio" && !document.querySelector('[data-testid="unmute-hint"]') ? true : null;
    }, first.room);
    await tap(page, "share");
    const shared = (await waitForId(page, "message", "/r/")).text;
    // Pull the first room down.
    const feedsBefore = feeds;
    const cdp = await page.context().newCDPSession(page);
    await cdp.send("Input.dispatchTouchEvent", { type: "touchStart", touchPoints: [{ x: opts.tapX || 195, y: 160 }] });
    for (let i = 1; i <= 8; i++) {
      await page.waitForTimeout(16);
      await cdp.send("Input.dispatchTouchEvent", { type: "touchMove", touchPoints: [{ x: opts.tapX || 195, y: 160 + i * 30 }] });
    }
    await cdp.send("Input.dispatchTouchEvent", { type: "touchEnd", touchPoints: [] });
    const started = Date.now();
    while (feeds === feedsBefore && Date.now() - started < WAIT) await page.waitForTimeout(50);
    // Double-tap the video: a like, which asks a signed-out viewer to sign in.
    await page.touchscreen.tap(opts.tapX || 195, 300);
    await page.waitForTimeout(80);
    await page.touchscreen.tap(opts.tapX || 195, 300);
    const liked = (await waitForId(page, "sign-in-sheet")).text;
    const after = await players(page);
    return { room: first.room, layout, unmuted, liked, shared, refreshed: feeds > feedsBefore, roomAfterRefresh: after.current,
             viewport: page.viewportSize() };
  },

  // The address follows the app and the app the address (crates/ui's routes).
  async routes() {
    const { page } = await phone();
    const path = () => new URL(page.url()).pathname;
    const waitPath = async (want) => {
      const started = Date.now();
      while (path() !== want) {
        if (Date.now() - started > WAIT) throw new Error(`the address stayed ${path()}, not ${want}`);
        await page.waitForTimeout(50);
      }
    };
    await page.goto(`${base}/`);
    const first = await firstPicture(page);
    await waitPath(`/r/${first.room}`);
    const atFirst = path();
    const cdp = await page.context().newCDPSession(page);
    await drag(page, cdp);
    const swiped = { to: await waitFor(page, "the next room on screen", (first) => {
      const cur = document.querySelector("section.page.current")?.dataset.room;
      return cur && cur !== first ? cur : null;
    }, first.room) };
    await waitPath(`/r/${swiped.to}`);
    const afterSwipe = path();
    await signIn(page, "dan");
    await tap(page, "orders");
    await waitForId(page, "orders-screen");
    await waitPath("/orders");
    await page.goBack();
    await waitPath(`/r/${swiped.to}`);
    const ordersGone = await page.waitForFunction(() => !document.querySelector('[data-testid="orders-screen"]'), null, { timeout: WAIT })
      .then(() => true, () => false);
    // Opened at /wallet (a bookmark): the wallet opens, signed in from the cookie.
    await page.goto(`${base}/wallet`);
    const wallet = (await waitForId(page, "wallet-sheet")).text.slice(0, 40);
    return { first: first.room, atFirst, swipedTo: swiped.to, afterSwipe, ordersGone, wallet, walletPath: path() };
  },

  async room() {
    const { page } = await phone();
    await page.goto(`${base}/r/${opts.room}`);
    const first = await firstPicture(page);
    const title = (await rect(page, "room-title"))?.text ?? null;
    // For the bench: sound on if asked, then two seconds' playback timed.
    if (opts.sound) {
      await tap(page, "unmute-hint");
      await waitFor(page, "the sound playing as the clock", (room) => window.livecartWeb.stats()[room]?.clock === "audio" || null, first.room);
    }
    let measured = {};
    if (opts.measure) {
      await page.waitForTimeout(opts.settleMs || 1500);
      const a = await players(page);
      await page.waitForTimeout(2000);
      const s = (await players(page, a.now)).stats[first.room] ?? {};
      measured = {
        fps: ((s.drawn ?? 0) - (a.stats[first.room]?.drawn ?? 0)) / 2, clock: s.clock ?? null,
        captureToDrawP95: s.captureToDrawP95 ?? null, captureToArriveP95: s.captureToArriveP95 ?? null,
        arriveToDrawP95: s.arriveToDrawP95 ?? null, avSyncP95: s.avSyncP95 ?? null, underruns: s.underruns ?? null,
      };
    }
    return { room: first.room, firstPictureMs: first.at, title, ...measured };
  },
};

let code = 0;
try {
  const run = scenarios[scenario];
  if (!run) throw new Error(`no scenario ${scenario}: ${Object.keys(scenarios).join(", ")}`);
  console.log(JSON.stringify(await run()));
  // What the phone showed at the end (for the docs and for looking).
  if (process.env.LIVECART_SCREENSHOT) await contexts[0]?.pages()[0]?.screenshot({ path: process.env.LIVECART_SCREENSHOT });
} catch (e) {
  console.error(String(e.stack || e));
  code = 1;
  // What the phone showed when it failed.
  const dir = process.env.LIVECART_FAILURE_DIR;
  if (dir) {
    for (const [i, c] of contexts.entries()) {
      const path = join(dir, `web-${scenario}-${i}.png`);
      await c.pages()[0]?.screenshot({ path }).then(() => console.error(`screenshot: ${path}`), () => {});
    }
  }
} finally {
  for (const p of launchedPhones) await p.close();
  process.exit(code);
}
