//! The window: renders livecart-core's view model and turns taps, keys and
//! scrolls into core events. No behaviour lives here — see crates/core.

use crate::bridge::{DesktopCx, use_shell};
use crate::control::EvalRequest;
use crate::shell::ShellHandle;
use dioxus::desktop::{Config, LogicalSize, WindowBuilder};
use dioxus::prelude::*;
use livecart_ui::Ui;
use livecart_ui::routes::{Route, View};
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
        .with_context({
            let events = shell.events.clone();
            Ui::new(move |e| {
                let _ = events.send(e);
            })
        })
        .with_context(DesktopCx {
            shell,
            evals: Arc::new(Mutex::new(evals)),
        })
        .launch(Root);
}

#[component]
fn Root() -> Element {
    let ui = use_context::<Ui>();
    let desktop = use_context::<DesktopCx>();
    let view = use_shell(&ui, &desktop);
    use_context_provider(|| View(view));
    rsx! {
        Router::<Route> {}
    }
}
