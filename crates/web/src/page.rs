//! The page's side of the browser shell: the players (assets/web.js, over
//! assets/origin.js) and what they report back as core events.

use dioxus::prelude::document;
use futures_channel::mpsc::UnboundedSender;
use livecart_core::effects::PlayerCommand;
use livecart_core::feed::{Drawn, PlayerStatus};
use livecart_core::protocol::RoomId;
use livecart_core::{Event, PlayerUpdate};
use serde_json::{Value, json};

/// A stream URL as this page reaches it: the origin's path on the page's own
/// server (the feed names the server by its configured public URL, which a
/// phone on the network may know by another address).
fn on_this_server(base: &str, url: &str) -> String {
    let ws = base.replacen("http", "ws", 1);
    match url
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| &rest[i..]))
    {
        Some(path) if path.starts_with("/live/") => format!("{ws}{path}"),
        _ => url.to_owned(),
    }
}

fn call(js: &str, args: &Value) {
    // Arguments as JSON: a room id or URL is never spliced into code.
    document::eval(&format!("window.livecartWeb.{js}(...{args});"));
}

pub fn player(base: &str, cmd: PlayerCommand) {
    match cmd {
        PlayerCommand::Open { room, url, held } => {
            call("open", &json!([room, on_this_server(base, &url), held]));
        }
        PlayerCommand::Play { room } => call("play", &json!([room])),
        PlayerCommand::Release { room } => call("release", &json!([room])),
        PlayerCommand::SetMuted { room, muted } => call("setMuted", &json!([room, muted])),
    }
}

/// What the players say, as core events, for as long as the page lives.
/// A Dioxus task: `eval` needs the renderer's runtime.
pub fn listen(events: UnboundedSender<Event>) {
    dioxus::prelude::spawn(async move {
        let mut reports = document::eval(
            "window.livecartWeb.listen((m) => dioxus.send(m)); await new Promise(() => {});",
        );
        while let Ok(m) = reports.recv::<Value>().await {
            let Some(room) = m["room"].as_str().and_then(|r| r.parse::<RoomId>().ok()) else {
                continue;
            };
            for update in translate(&m) {
                if events
                    .unbounded_send(Event::Player { room, update })
                    .is_err()
                {
                    return;
                }
            }
        }
    });
}

fn translate(m: &Value) -> Vec<PlayerUpdate> {
    let ms = |k: &str| m[k].as_f64().map(|v| v.round() as u32);
    match m["kind"].as_str() {
        Some("first") => vec![
            PlayerUpdate::Status(PlayerStatus::Playing { behind_ms: None }),
            PlayerUpdate::Ready,
            PlayerUpdate::FirstFrame,
        ],
        Some("drawn") => vec![PlayerUpdate::Drawn(Drawn {
            fps: m["fps"].as_f64().unwrap_or(0.0) as f32,
            latency_p95_ms: ms("p95").unwrap_or(0),
            latency_p50_ms: ms("p50"),
        })],
        Some("lost") => vec![PlayerUpdate::Status(PlayerStatus::Reconnecting)],
        Some("playing") => vec![PlayerUpdate::Status(PlayerStatus::Playing {
            behind_ms: None,
        })],
        _ => Vec::new(),
    }
}
