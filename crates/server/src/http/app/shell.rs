//! The web app's shell, as text: the page that loads it and the service
//! worker that keeps it for offline (http/app.rs fills in the names).

use livecart_protocol::RoomId;

/// The wasm-bindgen build's two files (its `snippets/`, the JS that Dioxus's
/// crates inline, are served too: named by hash, and the glue's imports
/// rewritten to those names).
pub(super) const GLUE: &str = "livecart-web.js";
pub(super) const WASM: &str = "livecart-web_bg.wasm";

/// The page: the app's files by their hashed names (`at`), with
/// `BOOT_MARK` where the boot room may be named.
pub(super) fn page_html(at: &dyn Fn(&str) -> String) -> String {
    format!(
        r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="theme-color" content="#0c0c10">
<meta name="mobile-web-app-capable" content="yes">
<link rel="manifest" href="/manifest.webmanifest">
<link rel="icon" href="{icon}" type="image/svg+xml">
<link rel="apple-touch-icon" href="{icon512}">
<title>livecart</title>
{BOOT_MARK}
<link rel="stylesheet" href="{css}">
<link rel="modulepreload" href="{glue}">
<link rel="preload" href="{wasm}" as="fetch" type="application/wasm" crossorigin>
<script src="{worker}"></script>
<script src="{mse}"></script>
<script src="{origin}"></script>
<script src="{web}"></script>
<script src="{inputs}"></script>
<script src="{video}"></script>
<script type="module">
  import init from "{glue}";
  // The app starts once the boot room's first picture is on screen.
  await window.livecartWeb.ready();
  init({{ module_or_path: "{wasm}" }});
</script>
</head>
<body><div id="main"></div></body>
</html>
"##,
        icon = at("icon.svg"),
        icon512 = at("icon-512.png"),
        css = at("app.css"),
        glue = at(GLUE),
        wasm = at(WASM),
        inputs = at("inputs.js"),
        video = at("video.js"),
        web = at("web.js"),
        origin = at("origin.js"),
        worker = at("media-worker.js"),
        mse = at("mse.js"),
        BOOT_MARK = BOOT_MARK,
    )
}

/// Where a page names its boot room (`boot_meta`), or nothing.
pub(super) const BOOT_MARK: &str = "<!--livecart-boot-->";

/// What names the room the page plays before the app runs (assets/web.js
/// starts it as soon as it loads, on a canvas of its own over the page).
/// Only a parsed room id is written into the page.
pub(super) fn boot_meta(room: RoomId) -> String {
    format!(r#"<meta name="livecart-boot" content="{room}">"#)
}

/// The service worker's logic; the server puts the cache's name and the
/// file list in front of it. The page: from the network, and from the cache
/// when the network fails (any path: `/`, `/r/{room}`). The hashed files:
/// from the cache first (they never change). Nothing else (the API, the
/// sockets, pictures) is touched.
pub(super) const WORKER: &str = r#"
self.addEventListener("install", (e) => {
  e.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});
self.addEventListener("activate", (e) => {
  e.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});
self.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  if (url.origin !== location.origin || e.request.method !== "GET") return;
  if (e.request.mode === "navigate") {
    e.respondWith(fetch(e.request).catch(() => caches.match("/", { cacheName: CACHE })));
  } else if (url.pathname.startsWith("/app/")) {
    e.respondWith(caches.match(e.request, { cacheName: CACHE }).then((hit) => hit || fetch(e.request)));
  }
});
"#;
