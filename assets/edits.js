// Dioxus desktop 0.7 streams its DOM edits over a WebSocket whose messages
// arrive as Blobs, each read back with `arrayBuffer()`. WebKit keeps a Blob's
// bytes registered until the garbage collector finalises the small Blob
// object, which it does rarely: in a busy room (30 edit batches a second) the
// web process grew ~7 MiB a minute. Messages as ArrayBuffers are ordinary
// garbage. This hooks the interpreter as Dioxus creates it (`window.interpreter
// = new NativeInterpreter(...)`, a module script after this one) and asks its
// edits socket for ArrayBuffers; what it does with a message is unchanged:
// the server key first, then edits. See docs/video-path.md (memory).
(() => {
  let interpreter;
  const patch = (i) => {
    if (!i || typeof i.waitForRequest !== "function" || typeof i.rafEdits !== "function") return;
    const wait = i.waitForRequest.bind(i);
    i.waitForRequest = (path, key) => {
      wait(path, key);
      const ws = i.edits;
      if (!(ws instanceof WebSocket)) return;
      ws.binaryType = "arraybuffer";
      let authenticated = false;
      ws.onmessage = (ev) => {
        const data = ev.data;
        if (typeof data === "string") { if (data === key) authenticated = true; return; }
        if (authenticated && data instanceof ArrayBuffer) i.rafEdits(data);
      };
    };
  };
  Object.defineProperty(window, "interpreter", {
    configurable: true,
    get: () => interpreter,
    set: (i) => { interpreter = i; patch(i); },
  });
})();
