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
    // let the keys a tap may have overtaken arrive (up to 3 s): until the
    // page has seen `handed` keydowns (the key presses the app's webview was
    // handed before the tap, where the shell counts them) and no key has
    // arrived for twice the longest recent gap between keys (150 ms to 1 s).
    async take(testid, clear, settle, handed) {
      if (settle) {
        const until = now() + 3000;
        const counted = typeof handed === "number";
        // Both rules, not one: the count alone once let a tap through with
        // the last four keys still on their way (a cold CI machine: the
        // page's count had run ahead of the app's, perhaps after an earlier
        // wait gave up and caught up below); quiet alone is too short when
        // a busy machine stalls the key queue longer than its recent gaps.
        while (now() < until && ((counted && keydowns < handed) || now() - lastKeyAt < quietMs())) {
          await sleep(10);
        }
        if (counted) keydowns = Math.max(keydowns, handed); // a key the page never saw: in step again
      }
      const el = field(testid);
      if (!el) return "";
      const text = el.value;
      if (clear) el.value = "";
      return text;
    },
    // Formats a card field's starting value (set from the app).
    formatCard(testid) { const el = field(testid); if (el) groupDigits(el); },
  };
})();
