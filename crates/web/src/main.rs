//! livecart in a phone's browser (#18): the same screens as the desktop
//! window (livecart-ui) over the same brain (livecart-core), rendered by
//! Dioxus's web renderer. What differs is only how effects are carried out
//! (shell.rs): `fetch` for REST, the browser's WebSockets for the room and
//! `/v1/me/live`, the media origin's access units into WebCodecs for video
//! (assets/web.js, assets/origin.js), and the session in an HttpOnly cookie
//! with the access token in memory. The server serves the build at `/`
//! (docs/web.md).
//!
//! On the host this is an empty program: the crate builds for
//! `wasm32-unknown-unknown` (`./dev` does).

#[cfg(target_arch = "wasm32")]
mod net;
#[cfg(target_arch = "wasm32")]
mod page;
#[cfg(target_arch = "wasm32")]
mod shell;
#[cfg(target_arch = "wasm32")]
mod store;

#[cfg(target_arch = "wasm32")]
fn main() {
    // A panic says what it was in the console (the build aborts on panic).
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("livecart: {info}").into());
    }));
    dioxus::LaunchBuilder::web().launch(root::Root);
}

#[cfg(not(target_arch = "wasm32"))]
fn main() {
    eprintln!("livecart-web runs in a browser: build it with ./dev (wasm32-unknown-unknown)");
    std::process::exit(2);
}

#[cfg(target_arch = "wasm32")]
mod root {
    use dioxus::prelude::*;
    use livecart_core::{Event, ViewModel};
    use livecart_ui::Ui;
    use livecart_ui::routes::{Route, View};

    /// The page: the shared screens under the shared routes, fed by the
    /// shell's view models.
    #[component]
    pub fn Root() -> Element {
        let view = use_signal(|| None::<ViewModel>);
        use_hook(|| {
            let (tx, rx) = futures_channel::mpsc::unbounded::<Event>();
            let send = tx.clone();
            provide_context(Ui::new(move |e| {
                let _ = send.unbounded_send(e);
            }));
            // Before the router first renders (it moves the address).
            let opened_at = crate::shell::address();
            spawn(crate::shell::run(opened_at, tx, rx, view));
        });
        use_context_provider(|| View(view));
        rsx! {
            Router::<Route> {}
        }
    }
}
