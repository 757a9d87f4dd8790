//! What a phone's browser opens (#18, docs/web.md): `/r/{room}`, a room's
//! share link — the web app on that room (http/app.rs), or where the server
//! has no web app build, `/watch/{room}`: a page that only plays the room's
//! video through the media origin's access units (WebCodecs) with
//! the browser player it runs (`/assets/origin.js`).

use super::app::WebApp;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::Extension;
use axum::extract::{Path, State};
use axum::response::Response;
use livecart_protocol::RoomId;
use std::sync::Arc;

/// The player, its worker's source and its MSE fallback in one file (the
/// web app loads them as three).
const ORIGIN_JS: &str = concat!(
    include_str!("../../../../assets/media-worker.js"),
    include_str!("../../../../assets/mse.js"),
    include_str!("../../../../assets/origin.js")
);

/// `GET /assets/origin.js`: the browser player.
pub(super) async fn origin_js() -> Response {
    // Not hashed here (the web app's copy is): revalidated, so a new
    // server's player is used at once.
    super::app::fresh(ORIGIN_JS, "text/javascript; charset=utf-8")
}

/// `GET /r/{room}`: a share link. The web app opens on the room (it reads
/// the room from its address); without a build, the watch page.
pub(super) async fn room_page(
    State(state): State<AppState>,
    Extension(app): Extension<Arc<WebApp>>,
    Path(room): Path<String>,
) -> ApiResult<Response> {
    let parsed: RoomId = room.parse().map_err(|_| ApiError::NotFound("room"))?;
    if app.is_built() {
        return Ok(super::app::page(
            &app,
            super::app::boot_room(&state, Some(parsed)),
        ));
    }
    Ok(watch(parsed))
}

/// `GET /watch/{room}`: the room's video alone, in any browser.
pub(super) async fn watch_page(Path(room): Path<String>) -> ApiResult<Response> {
    Ok(watch(room.parse().map_err(|_| ApiError::NotFound("room"))?))
}

/// The watch page. Only the parsed room id is written into it; the title
/// and everything else a host typed is read by the page as text (never
/// markup).
fn watch(room: RoomId) -> Response {
    let page = format!(
        r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover">
<meta name="theme-color" content="#0c0c10">
<link rel="icon" href="data:,">
<title>livecart</title>
<style>
  html, body {{ margin: 0; height: 100%; background: #0c0c10; color: #fff; font: 15px system-ui, sans-serif; }}
  canvas {{ position: fixed; inset: 0; width: 100%; height: 100%; object-fit: cover; background: #000; }}
  h1 {{ position: fixed; left: 12px; right: 12px; top: max(12px, env(safe-area-inset-top)); margin: 0;
        font-size: 16px; text-shadow: 0 1px 3px #000; }}
  #unmute {{ position: fixed; left: 12px; bottom: max(16px, env(safe-area-inset-bottom)); min-height: 44px;
        padding: 0 16px; border: 1px solid rgba(255,255,255,.3); border-radius: 22px; background: rgba(0,0,0,.55); color: #fff; font: inherit; }}
</style>
</head>
<body>
<canvas id="video" data-room="{room}"></canvas>
<h1 id="title"></h1>
<button id="unmute" type="button">🔇 Tap to unmute</button>
<script src="/assets/origin.js"></script>
<script>
  const playOrigin = window.livecartPlayOrigin;
  const room = "{room}";
  const socket = location.origin.replace(/^http/, "ws") + `/live/${{room}}/au`;
  const player = playOrigin(socket, document.getElementById("video"), {{
    onFirstFrame: (ms) => {{ window.livecartFirstFrameMs = ms; }},
  }});
  window.livecartPlayer = player;
  // Browsers start sound only from a tap: the video plays muted until then.
  const unmute = document.getElementById("unmute");
  unmute.addEventListener("click", () => {{
    player.setMuted(!player.muted);
    unmute.textContent = player.muted ? "🔇 Tap to unmute" : "🔊 Sound on";
  }});
  fetch(`/v1/rooms/${{room}}`).then((r) => r.ok ? r.json() : null).then((s) => {{
    if (s) {{ document.getElementById("title").textContent = s.room.title; document.title = `${{s.room.title}} · livecart`; }}
  }});
</script>
</body>
</html>
"##
    );
    super::app::fresh(page, "text/html; charset=utf-8")
}
