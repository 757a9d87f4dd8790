// livecart text fields: what the shopper typed is read in the page, where it
// is, never rebuilt from input events on their way to the app.
//
// Why: WebKit hands key events to the page one at a time (each waits for the
// page to finish the last) while clicks travel on a queue of their own, so a
// tap on "Send" right after fast typing can reach the page before the last
// keys do. The tap moved the focus to the button, the late keys went to the
// button, and the app sent "H" of "Hello from…" (issue #15). So buttons
// marked `data-keep-focus` leave the focus in the field (late keys still
// land in it), and `take` waits until the keyboard has been quiet (longer
// than the keys' own recent gaps), then reads and clears the field in one
// step: every key is sent or stays shown.
(() => {
  const now = () => performance.now();
  let lastKeyAt = -Infinity;
  // Recent gaps between keys: on a loaded machine the queue delivers them
  // slower, so "quiet" must mean quiet for longer than a gap (measured, not
  // guessed: two CPU hogs stretched gaps past a fixed 150 ms).
  const gaps = [];
  let lastDownAt = -Infinity;
  let keydowns = 0; // every keydown the page has seen (trusted ones)
  addEventListener("keydown", (e) => { if (e.isTrusted) keydowns++; }, { capture: true, passive: true });
  addEventListener("keydown", () => {
    const gap = now() - lastDownAt;
    lastDownAt = now();
    if (gap < 1000) { gaps.push(gap); if (gaps.length > 8) gaps.shift(); }
  }, { capture: true, passive: true });
  for (const type of ["keydown", "keyup", "input", "beforeinput"]) {
    addEventListener(type, () => { lastKeyAt = now(); }, { capture: true, passive: true });
  }
  const quietMs = () => Math.min(1000, Math.max(150, 2 * Math.max(0, ...gaps)));
  addEventListener("mousedown", (e) => {
    if (e.target.closest && e.target.closest("[data-keep-focus]")) e.preventDefault();
  }, { capture: true });
  const field = (testid) => document.querySelector(`[data-testid="${testid}"]`);
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  // Card numbers as people write them: groups of four, caret kept in place.
  const groupDigits = (el) => {
    const caretDigits = el.value.slice(0, el.selectionStart ?? el.value.length).replace(/\D/g, "").length;
    const digits = el.value.replace(/\D/g, "").slice(0, 19);
    const shown = digits.replace(/(\d{4})(?=\d)/g, "$1 ");
    if (shown === el.value) return;
    el.value = shown;
    let pos = 0, seen = 0;
    while (pos < shown.length && seen < caretDigits) { if (/\d/.test(shown[pos])) seen++; pos++; }
    el.setSelectionRange(pos, pos);
  };
  addEventListener("input", (e) => {
    if (e.target.matches && e.target.matches("input[data-format=card]")) groupDigits(e.target);
  }, { capture: true });

  window.livecartInputs = {
    // The field's text; `clear` empties it in the same step. `settle`: first
    // let the keys a tap may have overtaken arrive: until the page has seen
    // `handed` keydowns (the key presses the app's webview was handed before
    // the tap, where the shell counts them; given up if the count stops
    // moving for 4 of its recent gaps, 0.4-2 s) and no key has arrived for
    // twice the longest recent gap (150 ms to 1 s). At most 30 s.
    async take(testid, clear, settle, handed) {
      const t0 = now();
      const seenBefore = keydowns;
      let quietFor = 0, seenAfter = keydowns;
      if (settle) {
        const counted = typeof handed === "number";
        // Keys still on their way are waited for as long as they keep
        // coming: on a loaded machine WebKit hands the page ~12 keys a
        // second (two CPU hogs beside the video), so a fixed 3 s let a tap
        // read 37 of 53 characters. Only a count that stops moving for a
        // while (a key the page will never see) ends the wait early.
        const stallMs = () => Math.min(2000, Math.max(400, 4 * Math.max(0, ...gaps)));
        let moved = now(), last = keydowns;
        while (now() - t0 < 30000) {
          if (keydowns !== last) { last = keydowns; moved = now(); }
          const keysOwed = counted && keydowns < handed && now() - moved < stallMs();
          // And quiet: a key the count has not heard of yet (no count on
          // this platform) may follow the last one.
          const typing = now() - lastKeyAt < quietMs();
          if (!keysOwed && !typing) break;
          await sleep(10);
        }
        quietFor = now() - lastKeyAt;
        seenAfter = keydowns;
        if (counted) keydowns = Math.max(keydowns, handed); // a key the page never saw: in step again
      }
      const el = field(testid);
      const text = el ? el.value : "";
      if (el && clear) el.value = "";
      // What the wait saw, for the app's log (a lost key is traced here).
      return {
        text, handed: typeof handed === "number" ? handed : null, seenBefore,
        seenAfter, waitedMs: Math.round(now() - t0), quietMs: Math.round(quietFor),
      };
    },
    // Formats a card field's starting value (set from the app).
    formatCard(testid) { const el = field(testid); if (el) groupDigits(el); },
  };
})();
