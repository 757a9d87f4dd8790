//! What every screen shares: the `Ui` handle that sends taps and keys to
//! the shell as core events, pictures through the image cache, the text a
//! shopper typed (read from the page), and the icons. The screens are the
//! files in `ui/`; each renders one of livecart-core's view models.

pub mod checkout;
pub mod feed;
pub mod orders;
pub mod room;
pub mod sign_in;
pub mod wallet;

use crate::control::EvalRequest;
use crate::shell::ShellHandle;
use dioxus::prelude::*;
use livecart_core::Event;
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

/// The server's base URL, once known: its image URLs are shown through the
/// image cache (`/img/<path>`).
pub(crate) static IMG_BASE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// A picture's `src`: the server's images come from the image cache (they
/// show offline); anything else as given.
pub fn img(url: &str) -> String {
    match IMG_BASE.get().and_then(|b| url.strip_prefix(b.as_str())) {
        Some(path) if path.starts_with("/v1/images/") => format!("/img{path}"),
        _ => url.to_owned(),
    }
}

#[derive(Clone)]
pub struct Ui {
    pub(crate) shell: ShellHandle,
    /// Scripts to evaluate for the test harness (`--e2e-control` only).
    pub(crate) evals: Arc<Mutex<Option<mpsc::UnboundedReceiver<EvalRequest>>>>,
}

impl Ui {
    pub fn send(&self, e: Event) {
        let _ = self.shell.events.send(e);
    }
}

/// What the shopper typed into the field `testid`, read in the page where
/// it is (assets/inputs.js); `clear` empties the field in the same step;
/// `settle` first lets every key typed before now reach the field (a tap
/// may have overtaken them). Fields are uncontrolled: a controlled `value`
/// loses keystrokes typed while a render is in flight.
pub async fn take_input(testid: &str, clear: bool, settle: bool) -> String {
    // Keys handed to the webview so far; elsewhere the page waits for a
    // quiet keyboard instead.
    #[cfg(target_os = "linux")]
    let keys = crate::keys::KEYS_HANDED
        .load(std::sync::atomic::Ordering::SeqCst)
        .to_string();
    #[cfg(not(target_os = "linux"))]
    let keys = "null";
    let js =
        format!("return await window.livecartInputs.take('{testid}', {clear}, {settle}, {keys});");
    let took = document::eval(&js)
        .join::<serde_json::Value>()
        .await
        .unwrap_or_default();
    // Counts only, never the text.
    tracing::debug!(
        field = testid,
        chars = took["text"].as_str().map_or(0, |t| t.chars().count()),
        handed = %took["handed"],
        seen_before = %took["seenBefore"],
        seen_after = %took["seenAfter"],
        waited_ms = %took["waitedMs"],
        quiet_ms = %took["quietMs"],
        "field read"
    );
    took["text"].as_str().unwrap_or_default().to_owned()
}

#[component]
pub fn SoundIcon() -> Element {
    rsx! {
        svg { view_box: "0 0 24 24", fill: "none", stroke: "currentColor", stroke_width: "2", stroke_linecap: "round",
            path { d: "M4 9h4l5-4v14l-5-4H4z", fill: "currentColor" }
            path { d: "M16.5 8.5a5 5 0 0 1 0 7M19 6a8.5 8.5 0 0 1 0 12" }
        }
    }
}

#[component]
pub fn MutedIcon() -> Element {
    rsx! {
        svg { view_box: "0 0 24 24", fill: "none", stroke: "currentColor", stroke_width: "2", stroke_linecap: "round",
            path { d: "M4 9h4l5-4v14l-5-4H4z", fill: "currentColor" }
            path { d: "M16 9l6 6M22 9l-6 6" }
        }
    }
}

#[component]
pub fn PeopleIcon() -> Element {
    rsx! {
        svg { view_box: "0 0 24 24", fill: "currentColor",
            circle { cx: "12", cy: "8", r: "4" }
            path { d: "M4 21a8 8 0 0 1 16 0z" }
        }
    }
}

#[component]
pub fn CloseIcon() -> Element {
    rsx! {
        svg { view_box: "0 0 24 24", fill: "none", stroke: "currentColor", stroke_width: "2.5", stroke_linecap: "round",
            path { d: "M6 6l12 12M18 6L6 18" }
        }
    }
}

#[component]
pub fn BagIcon() -> Element {
    rsx! {
        svg { view_box: "0 0 24 24", fill: "none", stroke: "currentColor", stroke_width: "2", stroke_linejoin: "round",
            path { d: "M5 8h14l-1 12H6z" }
            path { d: "M9 8a3 3 0 0 1 6 0" }
        }
    }
}
