// livecart text fields: what the shopper typed is read in the page, where it
// is, never rebuilt from input events on their way to the app.
//
// Why: WebKit hands key events to the page one at a time (each waits for the
// page to finish the last) while clicks travel on a queue of their own, so a
// tap on "Send" right after fast typing can reach the page before the last
// keys do. The tap moved the focus to the button, the late keys went to the
// button, and the app sent "H" of "Hello from…" (issue #15). So buttons
// marked `data-keep-focus` leave the focus in the field (late keys still
// land in it), and `take` waits until the keyboard has been quiet, then
// reads and clears the field in one step: every key is sent or stays shown.
(() => {
  const now = () => performance.now();
  let lastKeyAt = -Infinity;
  for (const type of ["keydown", "keyup", "input", "beforeinput"]) {
    addEventListener(type, () => { lastKeyAt = now(); }, { capture: true, passive: true });
  }
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
    // The field's text; `clear` empties it in the same step. `settle`: wait
    // (up to 1.5 s) until no key has arrived for 150 ms first, for taps that
    // may have overtaken the last keys.
    async take(testid, clear, settle) {
      if (settle) {
        const until = now() + 1500;
        while (now() - lastKeyAt < 150 && now() < until) await sleep(25);
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
