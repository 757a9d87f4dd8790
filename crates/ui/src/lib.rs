//! livecart's screens, shared by every shell (#17, #18): the desktop window
//! (Dioxus desktop, WebKitGTK) and the web app (Dioxus web, wasm32) render
//! the same components. Each renders one of livecart-core's view models and
//! sends taps and keys as core events through [`Ui`]; nothing here does I/O
//! or knows which shell it runs in. What every screen shares is in this
//! file: the `Ui` handle, pictures (`img`), the text a shopper typed
//! (`take_input`, read from the page), the icons, and [`Screens`], the root
//! of the tree a shell renders from its view model.

pub mod checkout;
pub mod feed;
pub mod orders;
pub mod room;
pub mod routes;
pub mod sign_in;
pub mod wallet;

use dioxus::prelude::*;
use livecart_core::{Event, FeedEvent, LiveEvent, ViewModel};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// The server's base URL, when the shell shows its pictures through an image
/// cache (`/img/<path>`): the desktop's, which shows them offline.
pub static IMG_BASE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// Set by a shell served by the server itself (the web app): the server's
/// pictures load from the page's own origin, whatever host name the feed
/// gives the server (a phone may reach it by another address).
pub static SAME_ORIGIN_IMAGES: AtomicBool = AtomicBool::new(false);

/// A picture's `src`: the server's images come from the image cache (they
/// show offline) or, in the web app, from the page's own origin; anything
/// else as given.
pub fn img(url: &str) -> String {
    if SAME_ORIGIN_IMAGES.load(Ordering::Relaxed)
        && let Some((_, rest)) = url.split_once("://")
        && let Some(path) = rest.find('/').map(|i| &rest[i..])
        && path.starts_with("/v1/images/")
    {
        return path.to_owned();
    }
    match IMG_BASE.get().and_then(|b| url.strip_prefix(b.as_str())) {
        Some(path) if path.starts_with("/v1/images/") => format!("/img{path}"),
        _ => url.to_owned(),
    }
}

/// The web shell starts muted because the browser does (its autoplay
/// rules): the room on screen offers a "Tap for sound" until the viewer
/// chooses.
pub static MUTED_BY_BROWSER: AtomicBool = AtomicBool::new(false);

/// Key presses the shell has handed to the page so far, where it counts them
/// (the desktop on Linux: src/keys.rs). A field read waits until the page has
/// seen as many; elsewhere it waits for a quiet keyboard.
pub static KEYS_HANDED: AtomicU64 = AtomicU64::new(0);
/// Whether the shell counts them.
pub static COUNTS_KEYS: AtomicBool = AtomicBool::new(false);

/// How the screens reach the shell: every tap and key becomes a core event.
#[derive(Clone)]
pub struct Ui {
    send: Arc<dyn Fn(Event) + Send + Sync>,
}

impl Ui {
    pub fn new(send: impl Fn(Event) + Send + Sync + 'static) -> Self {
        Self {
            send: Arc::new(send),
        }
    }

    pub fn send(&self, e: Event) {
        (self.send)(e);
    }
}

fn scroll_to(index: usize) {
    document::eval(&format!(
        "const f = document.querySelector('[data-testid=feed]'); if (f) f.scrollTo({{ top: {index} * f.clientHeight, behavior: 'instant' }});"
    ));
}

/// Everything on screen, from the shell's view model (`None` until its
/// first): the feed of live rooms (or the grid), the room on screen, the
/// account sheets.
#[component]
pub fn Screens(view: Signal<Option<ViewModel>>) -> Element {
    let ui = use_context::<Ui>();
    // The room the core put on screen without a swipe (a share link's room
    // once the feed lists it, a room opened from the grid): the feed scrolls
    // there. A swipe's own index is already where the feed is: scrolling
    // then would cut the finger's gesture short.
    let mut swiped_to = use_signal(|| None::<usize>);
    let shown = use_memo(move || view.read().as_ref().map(|v| v.index));
    use_effect(move || {
        if let Some(i) = shown()
            && *swiped_to.peek() != Some(i)
        {
            scroll_to(i);
        }
    });
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
            feed::Grid { pages: vm.pages.clone() }
            sign_in::Account { vm: vm.clone() }
        };
    }
    let index = vm.index;
    let reduced = vm.room.as_ref().is_some_and(|r| r.reduced_motion);
    let ui_key = ui.clone();
    let ui_scroll = ui.clone();
    let ui_refresh = ui.clone();
    rsx! {
        // Pull to refresh: the page's touch script (assets/web.js) presses
        // this when the feed is pulled down at its top.
        button {
            class: "pull-refresh",
            "data-testid": "refresh-feed",
            "aria-label": "Refresh the live rooms",
            tabindex: -1,
            onclick: move |_| ui_refresh.send(Event::Feed(FeedEvent::Refresh)),
        }
        if vm.loading && !vm.pages.is_empty() {
            div { class: "refreshing", "data-testid": "refreshing", span { class: "spinner" } "Refreshing…" }
        }
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
                    swiped_to.set(Some(at));
                    ui_scroll.send(Event::Feed(FeedEvent::SwipeTo(at)));
                }
            },
            for (i, page) in vm.pages.iter().enumerate() {
                feed::Page { key: "{page.room_id}", page: page.clone(), current: i == index, muted: vm.muted }
            }
        }
        // The room on screen: gifts, chat, the product card, the composer.
        // Outside the feed (a wheel over the chat scrolls the chat, not the
        // feed), but moved with its room's page during a swipe (assets/video.js).
        if let Some(room) = &vm.room {
            room::RoomOverlay { room: room.clone() }
        }
        sign_in::Account { vm: vm.clone() }
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
    let keys = if COUNTS_KEYS.load(Ordering::SeqCst) {
        KEYS_HANDED.load(Ordering::SeqCst).to_string()
    } else {
        "null".to_owned()
    };
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

/// Shares a room's link (`/r/{room}` on the server in use): the phone's
/// share sheet where the browser has one, else the clipboard. What to tell
/// the viewer, if anything (the share sheet speaks for itself).
pub async fn share_room(room: &str) -> Option<String> {
    // The desktop knows its server; a page served by the server is on it.
    let base = serde_json::to_string(&IMG_BASE.get()).unwrap_or_else(|_| "null".into());
    let room = serde_json::to_string(room).unwrap_or_default();
    let js = format!(
        r#"const url = `${{{base} ?? location.origin}}/r/${{{room}}}`;
        if (navigator.share) {{
          try {{ await navigator.share({{ title: document.title, url }}); return ""; }}
          catch (e) {{ if (e.name === "AbortError") return ""; }}
        }}
        try {{ await navigator.clipboard.writeText(url); return `Link copied: ${{url}}`; }}
        catch (_) {{ return `Share this link: ${{url}}`; }}"#
    );
    let said = document::eval(&js).join::<String>().await.ok()?;
    (!said.is_empty()).then_some(said)
}

#[component]
pub fn ShareIcon() -> Element {
    rsx! {
        svg { view_box: "0 0 24 24", fill: "none", stroke: "currentColor", stroke_width: "2", stroke_linecap: "round", stroke_linejoin: "round",
            path { d: "M12 15V3M7 8l5-5 5 5" }
            path { d: "M5 12v7a2 2 0 0 0 2 2h10a2 2 0 0 0 2-2v-7" }
        }
    }
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
