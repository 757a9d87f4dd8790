//! The window: renders livecart-core's view model and turns taps, keys and
//! scrolls into core events. No behaviour lives here — see crates/core.

use crate::control::EvalRequest;
use crate::players::VideoPath;
use crate::shell::ShellHandle;
use dioxus::desktop::{Config, LogicalSize, WindowBuilder};
use dioxus::prelude::*;
use livecart_core::{Event, ViewModel};
use std::sync::{Arc, Mutex};
use tokio::sync::mpsc;

const CSS: &str = include_str!("../assets/app.css");

/// The server's base URL, once known: its image URLs are shown through the
/// image cache (`/img/<path>`).
static IMG_BASE: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// A picture's `src`: the server's images come from the image cache (they
/// show offline); anything else as given.
pub fn img(url: &str) -> String {
    match IMG_BASE.get().and_then(|b| url.strip_prefix(b.as_str())) {
        Some(path) if path.starts_with("/v1/images/") => format!("/img{path}"),
        _ => url.to_owned(),
    }
}
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

#[derive(Clone)]
pub struct Ui {
    shell: ShellHandle,
    /// Scripts to evaluate for the test harness (`--e2e-control` only).
    evals: Arc<Mutex<Option<mpsc::UnboundedReceiver<EvalRequest>>>>,
}

impl Ui {
    pub fn send(&self, e: Event) {
        let _ = self.shell.events.send(e);
    }
}

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
    let mut view = use_signal(|| None::<ViewModel>);

    use_hook(count_keys);
    // Pictures through the image cache.
    let images = ui.shell.images.clone();
    dioxus::desktop::use_asset_handler("img", move |req, responder| {
        let path = req.uri().path().trim_start_matches("/img").to_owned();
        let _ = images.send((path, responder));
    });
    if IMG_BASE.get().is_none()
        && let Some(base) = ui.shell.base_url.borrow().clone()
    {
        let _ = IMG_BASE.set(base);
    }
    // The view model, as the shell publishes it.
    let shell = ui.shell.clone();
    use_future(move || {
        let mut rx = shell.view.clone();
        async move {
            loop {
                let vm = rx.borrow_and_update().clone();
                view.set(vm);
                if rx.changed().await.is_err() {
                    return;
                }
            }
        }
    });
    // The video views: the page picks WebCodecs or JPEG and says which.
    let shell = ui.shell.clone();
    use_future(move || {
        let shell = shell.clone();
        async move {
            // The page started its views at load (`livecartBoot`); this asks
            // for the path it chose.
            let js = "return await window.livecart.started;";
            match document::eval(js).join::<String>().await {
                Ok(path) => {
                    tracing::info!(%path, "video path");
                    if path == "jpeg" {
                        let _ = shell.video_path.send(VideoPath::Jpeg);
                    }
                }
                Err(e) => tracing::error!("the video views did not start: {e}"),
            }
        }
    });
    // Reduced motion as the system asks (big gifts become a banner).
    let ui_motion = ui.clone();
    use_future(move || {
        let ui = ui_motion.clone();
        async move {
            let js = "return matchMedia('(prefers-reduced-motion: reduce)').matches;";
            if let Ok(true) = document::eval(js).join::<bool>().await {
                ui.send(Event::ReducedMotion(true));
            }
        }
    });
    // The test harness's questions (only with --e2e-control).
    let evals = ui.evals.clone();
    use_future(move || {
        let rx = evals.lock().ok().and_then(|mut g| g.take());
        async move {
            let Some(mut rx) = rx else { return };
            while let Some((js, reply)) = rx.recv().await {
                let answer = document::eval(&js)
                    .join::<serde_json::Value>()
                    .await
                    .map_err(|e| e.to_string());
                let _ = reply.send(answer);
            }
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
                Key::Character(c) if c == "l" => ui_key.send(Event::Like),
                // The app's own reduced-motion switch.
                Key::Character(c) if c == "r" => ui_key.send(Event::ReducedMotion(!reduced)),
                _ => {}
            },
            onscroll: move |e| {
                let h = f64::from(e.data().client_height().max(1));
                let at = (e.data().scroll_top() / h).round() as usize;
                if at != index {
                    ui_scroll.send(Event::SwipeTo(at));
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
            crate::room_ui::RoomOverlay { room: room.clone() }
        }
        Account { vm: vm.clone() }
    }
}

#[component]
fn Page(page: livecart_core::view::PageView, current: bool, muted: bool) -> Element {
    let ui = use_context::<Ui>();
    let ui_mute = ui.clone();
    let ui_close = ui.clone();
    let ui_like = ui.clone();
    rsx! {
        section {
            class: if current { "page current" } else { "page" },
            "data-testid": "room-page",
            "data-room": "{page.room_id}",
            // Double-tap the video: a like (hearts float from the heart button).
            ondoubleclick: move |_| ui_like.send(Event::Like),
            img { class: if page.video { "cover gone" } else { "cover" }, src: crate::window::img(&page.cover_url), alt: "" }
            if page.has_player {
                canvas { class: "video", "data-testid": "video", "data-room": "{page.room_id}", width: 540, height: 960 }
            }
            div { class: "shade-top" }
            div { class: "shade-bottom" }
            div { class: "top",
                div { class: "host-chip", "data-testid": "host-chip",
                    img { class: "avatar", src: crate::window::img(&page.host_avatar_url), alt: "" }
                    span { class: "host", "{page.host}" }
                    button {
                        class: if page.following { "follow on" } else { "follow" },
                        "data-testid": "follow",
                        onclick: move |_| ui.send(Event::Follow),
                        if page.following { "Following" } else { "Follow" }
                    }
                }
                span { class: "viewers", "data-testid": "viewers", title: "{page.viewers}", PeopleIcon {} "{page.viewer_count}" }
                button {
                    class: "close",
                    "data-testid": "close",
                    title: "Close",
                    onclick: move |_| ui_close.send(Event::CloseRoom),
                    CloseIcon {}
                }
                button {
                    class: "mute",
                    "data-testid": "mute",
                    title: if muted { "Unmute" } else { "Mute" },
                    onclick: move |_| ui_mute.send(Event::ToggleMute),
                    if muted { MutedIcon {} } else { SoundIcon {} }
                }
            }
            div { class: if page.spinner { "badge waiting" } else { "badge" }, "data-testid": "live-badge",
                if page.spinner { span { class: "spinner" } }
                "{page.badge}"
            }
            if let Some(err) = &page.error {
                div { class: "page-error", "data-testid": "player-error", "{err}" }
            }
            if let Some(debug) = &page.debug {
                div { class: "debug", "data-testid": "debug", "{debug}" }
            }
            div { class: "bottom",
                div { class: "title", "data-testid": "room-title", "{page.title}" }
            }
        }
    }
}

/// The live rooms as a grid, after the viewer closed a room.
#[component]
fn Grid(pages: Vec<livecart_core::view::PageView>) -> Element {
    let ui = use_context::<Ui>();
    rsx! {
        div { class: "grid-screen", "data-testid": "grid",
            h1 { "Live now" }
            div { class: "grid",
                for (i, page) in pages.into_iter().enumerate() {
                    button {
                        key: "{page.room_id}",
                        class: "tile",
                        "data-testid": "room-tile",
                        onclick: {
                            let ui = ui.clone();
                            move |_| ui.send(Event::OpenRoom(i))
                        },
                        img { src: crate::window::img(&page.cover_url), alt: "" }
                        span { class: "tile-live", "LIVE" }
                        span { class: "tile-viewers", "{page.viewers}" }
                        div { class: "tile-text",
                            div { class: "tile-title", "{page.title}" }
                            div { class: "tile-host", "{page.host}" }
                        }
                    }
                }
            }
        }
    }
}

#[component]
fn SignInSheet(reason: String, busy: bool, error: Option<String>) -> Element {
    let ui = use_context::<Ui>();
    let ui_submit = ui.clone();
    let ui_key = ui.clone();
    rsx! {
        div { class: "scrim", onclick: move |_| ui.send(Event::DismissSignIn) }
        div { class: "sheet", "data-testid": "sign-in-sheet",
            h2 { "{reason}" }
            input {
                "data-testid": "username",
                placeholder: "Username",
                autocomplete: "username",
            }
            input {
                "data-testid": "password",
                r#type: "password",
                placeholder: "Password",
                autocomplete: "current-password",
                onkeydown: move |e| {
                    if e.key() == Key::Enter {
                        submit(ui_key.clone());
                    }
                },
            }
            if let Some(err) = &error {
                div { class: "error", "data-testid": "sign-in-error", "{err}" }
            }
            button {
                class: "primary",
                "data-testid": "sign-in-submit",
                "data-keep-focus": true,
                disabled: busy,
                onclick: move |_| submit(ui_submit.clone()),
                if busy { "Signing in…" } else { "Sign in" }
            }
            p { class: "hint", "Demo accounts: ava, ben, chloe, dan — password “livecart”" }
        }
    }
}

/// What stays on top whatever is on screen, the feed or the grid of live
/// rooms: the account's buttons (sign in or out, wallet, orders), their
/// sheets, and messages.
#[component]
fn Account(vm: ViewModel) -> Element {
    let ui = use_context::<Ui>();
    let ui_me = ui.clone();
    let ui_msg = ui.clone();
    rsx! {
        div { class: "account",
            button {
                class: "me",
                "data-testid": if vm.user.is_some() { "sign-out" } else { "sign-in" },
                onclick: {
                    let signed_in = vm.user.is_some();
                    move |_| ui_me.send(if signed_in { Event::AskSignOut } else { Event::OpenSignIn })
                },
                match &vm.user {
                    // The name: a tap offers to sign out (and asks first).
                    Some(name) => rsx! { PeopleIcon {} span { "data-testid": "user", "{name}" } },
                    None => rsx! { "Sign in" },
                }
            }
            if vm.user.is_some() {
                button {
                    class: "me wallet-button",
                    "data-testid": "wallet",
                    onclick: {
                        let ui = ui.clone();
                        move |_| ui.send(Event::OpenWallet)
                    },
                    "Wallet"
                }
            }
            if vm.user.is_some() {
                button {
                    class: "me orders-button",
                    "data-testid": "orders",
                    onclick: {
                        let ui = ui.clone();
                        move |_| ui.send(Event::OpenOrders)
                    },
                    "Orders"
                }
            }
        }
        if let Some(wallet) = &vm.wallet {
            crate::room_ui::WalletSheet { wallet: wallet.clone() }
        }
        if let Some(toast) = &vm.order_toast {
            crate::orders_ui::OrderToast { toast: toast.clone() }
        }
        if let Some(orders) = &vm.orders {
            crate::orders_ui::OrdersSheet { orders: orders.clone() }
        }
        if let Some(message) = &vm.message {
            div {
                // Keyed by its text: a new message starts its own fade.
                key: "{message}",
                class: "toast",
                "data-testid": "message",
                onclick: move |_| ui_msg.send(Event::DismissMessage),
                "{message}"
            }
        }
        if vm.confirm_sign_out {
            ConfirmSignOut { name: vm.user.clone().unwrap_or_default() }
        }
        if let Some(sheet) = &vm.sign_in {
            SignInSheet {
                reason: sheet.reason.clone(),
                busy: sheet.busy,
                error: sheet.error.clone(),
            }
        }
    }
}

/// "Sign out?": one tap on the name must not sign anyone out.
#[component]
fn ConfirmSignOut(name: String) -> Element {
    let ui = use_context::<Ui>();
    let (ui_cancel, ui_scrim) = (ui.clone(), ui.clone());
    rsx! {
        div { class: "scrim", onclick: move |_| ui_scrim.send(Event::CancelSignOut) }
        div { class: "sheet confirm-sheet", "data-testid": "confirm-sign-out",
            h2 { "Signed in as {name}" }
            p { class: "hint", "Sign out of livecart on this device? Your orders stay in your account; a payment still on its way finishes the next time you sign in." }
            div { class: "checkout-actions",
                button {
                    class: "secondary",
                    "data-testid": "cancel-sign-out",
                    onclick: move |_| ui_cancel.send(Event::CancelSignOut),
                    "Stay signed in"
                }
                button {
                    class: "primary",
                    "data-testid": "confirm-sign-out-button",
                    onclick: move |_| ui.send(Event::SignOut),
                    "Sign out"
                }
            }
        }
    }
}

/// Signs in with what the fields hold when the tap or Enter arrives (the
/// password is cleared from its field in the same step).
fn submit(ui: Ui) {
    spawn(async move {
        let username = take_input("username", false, true).await;
        let password = take_input("password", true, true).await;
        tracing::debug!(chars = password.chars().count(), "sign-in submitted");
        ui.send(Event::SignIn { username, password });
    });
}

/// Key presses GTK has handed the webview so far (Linux). A tap can reach
/// the page before keys typed ahead of it (WebKit queues keys and clicks
/// apart); the page waits until it has seen this many keydowns before it
/// reads a field for the tap (assets/inputs.js).
#[cfg(target_os = "linux")]
static KEYS_HANDED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Key presses handed to the webview so far (for the test harness: it
/// taps once the keys it typed have reached the app, as a person's would).
pub fn keys_handed() -> u64 {
    #[cfg(target_os = "linux")]
    return KEYS_HANDED.load(std::sync::atomic::Ordering::SeqCst);
    #[cfg(not(target_os = "linux"))]
    0
}

/// Starts counting the key presses handed to the webview (once per window).
fn count_keys() {
    #[cfg(target_os = "linux")]
    {
        use dioxus::desktop::wry::WebViewExtUnix;
        use gtk::prelude::WidgetExt;
        dioxus::desktop::window()
            .webview
            .webview()
            .connect_key_press_event(|_, _| {
                KEYS_HANDED.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                gtk::glib::Propagation::Proceed
            });
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
    let keys = KEYS_HANDED
        .load(std::sync::atomic::Ordering::SeqCst)
        .to_string();
    #[cfg(not(target_os = "linux"))]
    let keys = "null";
    let js =
        format!("return await window.livecartInputs.take('{testid}', {clear}, {settle}, {keys});");
    document::eval(&js)
        .join::<String>()
        .await
        .unwrap_or_default()
}

#[component]
fn SoundIcon() -> Element {
    rsx! {
        svg { view_box: "0 0 24 24", fill: "none", stroke: "currentColor", stroke_width: "2", stroke_linecap: "round",
            path { d: "M4 9h4l5-4v14l-5-4H4z", fill: "currentColor" }
            path { d: "M16.5 8.5a5 5 0 0 1 0 7M19 6a8.5 8.5 0 0 1 0 12" }
        }
    }
}

#[component]
fn MutedIcon() -> Element {
    rsx! {
        svg { view_box: "0 0 24 24", fill: "none", stroke: "currentColor", stroke_width: "2", stroke_linecap: "round",
            path { d: "M4 9h4l5-4v14l-5-4H4z", fill: "currentColor" }
            path { d: "M16 9l6 6M22 9l-6 6" }
        }
    }
}

#[component]
fn PeopleIcon() -> Element {
    rsx! {
        svg { view_box: "0 0 24 24", fill: "currentColor",
            circle { cx: "12", cy: "8", r: "4" }
            path { d: "M4 21a8 8 0 0 1 16 0z" }
        }
    }
}

#[component]
fn CloseIcon() -> Element {
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
