//! The window: renders livecart-core's view model and turns taps, keys and
//! scrolls into core events. No behaviour lives here — see crates/core.

use crate::bridge::use_shell;
use crate::control::EvalRequest;
use crate::shell::ShellHandle;
use crate::ui::Ui;
use crate::ui::feed::{Grid, Page};
use crate::ui::sign_in::Account;
use dioxus::desktop::{Config, LogicalSize, WindowBuilder};
use dioxus::prelude::*;
use livecart_core::Event;
use livecart_core::{FeedEvent, LiveEvent};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

const CSS: &str = include_str!("../assets/app.css");

const VIDEO_JS: &str = include_str!("../assets/video.js");
const EDITS_JS: &str = include_str!("../assets/edits.js");
const INPUTS_JS: &str = include_str!("../assets/inputs.js");
/// WebKitGTK resolves `system-ui` through fontconfig at the first paint, and
/// that paint took ~170 ms longer than with a named font (docs/video-path.md,
/// cold start): on Linux the app names its font.
#[cfg(target_os = "linux")]
const PLATFORM_CSS: &str = "html, body, #main, button, input, textarea { font-family: \"DejaVu Sans\", \"Noto Sans\", sans-serif; }";
#[cfg(not(target_os = "linux"))]
const PLATFORM_CSS: &str = "button, input, textarea { font-family: inherit; }";

pub fn launch(shell: ShellHandle, evals: Option<mpsc::UnboundedReceiver<EvalRequest>>) {
    let window = WindowBuilder::new()
        .with_title("livecart")
        .with_inner_size(LogicalSize::new(390.0, 844.0));
    // The video views start as the page's script loads (not after the first
    // render and an eval round trip): the port and secret are known already.
    let boot = serde_json::json!({
        "port": shell.video_port,
        "secret": shell.video_secret,
        "forceJpeg": shell.force_jpeg,
    });
    let head = format!(
        "<style>{CSS}{PLATFORM_CSS}</style><script>window.livecartBoot = {boot};</script><script>{EDITS_JS}</script><script>{INPUTS_JS}</script><script>{VIDEO_JS}</script>"
    );
    tracing::debug!("window launch");
    LaunchBuilder::desktop()
        .with_cfg(
            Config::new()
                .with_window(window)
                .with_menu(None)
                .with_background_color((12, 12, 16, 255))
                .with_custom_head(head),
        )
        .with_context(Ui {
            shell,
            evals: Arc::new(Mutex::new(evals)),
        })
        .launch(Root);
}

fn scroll_to(index: usize) {
    document::eval(&format!(
        "const f = document.querySelector('[data-testid=feed]'); if (f) f.scrollTo({{ top: {index} * f.clientHeight, behavior: 'instant' }});"
    ));
}

#[component]
fn Root() -> Element {
    let ui = use_context::<Ui>();
    let view = use_shell(&ui);

    let vm = view.read();
    let Some(vm) = vm.as_ref() else {
        return rsx! {
            div { class: "state", "data-testid": "loading", span { class: "spinner" } "Loading live rooms…" }
        };
    };
    if let Some(error) = &vm.error {
        return rsx! {
            div { class: "state", "data-testid": "feed-error", "{error}" }
        };
    }
    if vm.browsing {
        return rsx! {
            Grid { pages: vm.pages.clone() }
            Account { vm: vm.clone() }
        };
    }
    let index = vm.index;
    let reduced = vm.room.as_ref().is_some_and(|r| r.reduced_motion);
    let ui_key = ui.clone();
    let ui_scroll = ui.clone();
    rsx! {
        div {
            class: "feed",
            "data-testid": "feed",
            tabindex: 0,
            onmounted: move |e| async move {
                // Opened from the grid (or re-mounted): show the room the core is on.
                scroll_to(index);
                let _ = e.set_focus(true).await;
            },
            // Paging keys (↓/↑/PgDn/PgUp) scroll the feed in the page itself
            // (assets/video.js); the scroll event below tells the core.
            onkeydown: move |e| match e.key() {
                Key::Character(c) if c == "m" => ui_key.send(Event::ToggleMute),
                Key::Character(c) if c == "d" => ui_key.send(Event::ToggleDebug),
                Key::Character(c) if c == "l" => ui_key.send(Event::Live(LiveEvent::Like)),
                // The app's own reduced-motion switch.
                Key::Character(c) if c == "r" => ui_key.send(Event::ReducedMotion(!reduced)),
                _ => {}
            },
            onscroll: move |e| {
                let h = f64::from(e.data().client_height().max(1));
                let at = (e.data().scroll_top() / h).round() as usize;
                if at != index {
                    ui_scroll.send(Event::Feed(FeedEvent::SwipeTo(at)));
                }
            },
            for (i, page) in vm.pages.iter().enumerate() {
                Page { key: "{page.room_id}", page: page.clone(), current: i == index, muted: vm.muted }
            }
        }
        // The room on screen: gifts, chat, the product card, the composer.
        // Outside the feed (a wheel over the chat scrolls the chat, not the
        // feed), but moved with its room's page during a swipe (assets/video.js).
        if let Some(room) = &vm.room {
            crate::ui::room::RoomOverlay { room: room.clone() }
        }
        Account { vm: vm.clone() }
    }
}
