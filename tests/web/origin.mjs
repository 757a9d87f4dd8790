// Opens a room's share link (`/r/{room}`, served by livecart-server) in
// Debian's Chromium — headless, a 390×844 phone at DPR 3 with touch — and
// prints what the page's player (assets/origin.js: the media origin's access
// units into WebCodecs) decoded and drew, as one JSON line.
//
//   node tests/web/origin.mjs http://127.0.0.1:PORT/r/ROOM 90
//
// It waits for `want` pictures (at most 20 s), then reports. The page's
// console goes to stderr.

import { launch } from "./phone.mjs";

const [pageUrl, wantArg] = process.argv.slice(2);
const want = Number(wantArg || 90);
const phone = await launch();
try {
  const page = phone.page;
  page.on("console", (m) => console.error(`page ${m.type()}: ${m.text()}`));
  const started = Date.now();
  await page.goto(pageUrl);
  // It starts muted (autoplay rules); a tap on the button turns sound on,
  // and the sound becomes the clock the pictures are drawn by.
  const firstPicture = await page
    .waitForFunction(() => (window.livecartPlayer?.stats.drawn ?? 0) > 0, null, { timeout: 20000 })
    .then(() => true, () => false);
  const mutedAtFirst = await page.evaluate(() => window.livecartPlayer?.muted);
  if (firstPicture) await page.tap("#unmute");
  const inTime = await page
    .waitForFunction((want) => (window.livecartPlayer?.stats.drawn ?? 0) >= want, want, { timeout: 20000 })
    .then(() => true, () => false);
  if (process.env.LIVECART_SCREENSHOT) await page.screenshot({ path: process.env.LIVECART_SCREENSHOT });
  const result = await page.evaluate(() => {
    const p = window.livecartPlayer;
    const s = p?.stats ?? {};
    return {
      ...s, ...p?.summary(), captureToDraw: s.counts?.captureToDraw ?? 0, avSync: s.counts?.avSync ?? 0,
      muted: p?.muted, button: document.getElementById("unmute")?.textContent,
      firstFrameMs: window.livecartFirstFrameMs ?? null, title: document.title,
    };
  });
  result.mutedAtFirst = mutedAtFirst;
  console.log(JSON.stringify({ inTime, navigationToReportMs: Date.now() - started, ...result }));
} finally {
  await phone.close();
}
