//! The Dioxus window (issue #4, in progress, behind the `window` feature):
//! renders livecart-core's view models. Effect runners live here too; so far
//! only HTTP runs — sockets, players, the keyring and timers come next, so
//! pages show their cover with a "Connecting…" badge until video is wired.

use dioxus::desktop::{Config, LogicalSize, WindowBuilder};
use dioxus::prelude::*;
use livecart_core::effects::{HttpRequest, Method, VaultCommand};
use livecart_core::protocol::{PROTOCOL_HEADER, PROTOCOL_VERSION, Problem, Timestamp};
use livecart_core::{App, Effect, Event, HttpFailure, ViewModel};
use std::collections::VecDeque;

const CSS: &str = include_str!("../assets/app.css");

/// The server the window talks to.
#[derive(Clone)]
struct Server(String);

pub fn launch(base_url: String) {
    let window = WindowBuilder::new()
        .with_title("livecart")
        .with_inner_size(LogicalSize::new(390.0, 844.0));
    LaunchBuilder::desktop()
        .with_cfg(Config::new().with_window(window).with_menu(None))
        .with_context(Server(base_url))
        .launch(Root);
}

async fn run_http(
    http: &reqwest::Client,
    base: &str,
    req: &HttpRequest,
) -> Result<serde_json::Value, HttpFailure> {
    let url = format!("{base}{}", req.path);
    let mut r = match req.method {
        Method::Get => http.get(url),
        Method::Post => http.post(url),
    }
    .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string());
    if let Some(t) = &req.access_token {
        r = r.bearer_auth(t);
    }
    if let Some(b) = &req.body {
        r = r.json(b);
    }
    let res = r
        .send()
        .await
        .map_err(|e| HttpFailure::Network(e.to_string()))?;
    let status = res.status().as_u16();
    if res.status().is_success() {
        res.json()
            .await
            .map_err(|e| HttpFailure::Network(e.to_string()))
    } else {
        Err(HttpFailure::Status {
            status,
            problem: res.json::<Problem>().await.ok(),
        })
    }
}

#[component]
fn Root() -> Element {
    let server = use_context::<Server>();
    let mut view = use_signal(|| None::<ViewModel>);
    use_future(move || {
        let base = server.0.clone();
        async move {
            let mut app = App::default();
            let http = reqwest::Client::new();
            let mut queue = VecDeque::from([Event::Started]);
            while let Some(event) = queue.pop_front() {
                for effect in app.update(event, Timestamp::now()) {
                    match effect {
                        Effect::Http(req) => {
                            let result = run_http(&http, &base, &req).await;
                            queue.push_back(Event::HttpDone { id: req.id, result });
                        }
                        Effect::Vault(VaultCommand::Load) => {
                            queue.push_back(Event::VaultLoaded(None));
                        }
                        // Sockets, players, keyring writes, timers: next steps of #4.
                        _ => {}
                    }
                }
                view.set(Some(app.view()));
            }
        }
    });
    let vm = view.read();
    rsx! {
        style { {CSS} }
        match vm.as_ref() {
            None => rsx! { div { class: "state", "data-testid": "loading", "Loading live rooms…" } },
            Some(vm) if vm.error.is_some() => rsx! {
                div { class: "state", "data-testid": "feed-error", {vm.error.clone().unwrap_or_default()} }
            },
            Some(vm) => rsx! {
                div { class: "feed", "data-testid": "feed",
                    for (i, page) in vm.pages.iter().enumerate() {
                        section { class: "page", key: "{i}", "data-testid": "room-page",
                            img { class: "cover", src: "{page.cover_url}", alt: "" }
                            div { class: "shade-top" }
                            div { class: "shade-bottom" }
                            div { class: "top",
                                div { class: "host-chip",
                                    img { class: "avatar", src: "{page.host_avatar_url}", alt: "" }
                                    span { class: "host", "{page.host}" }
                                    button { class: "follow", "Follow" }
                                }
                                span { class: "viewers", "data-testid": "viewers", "{page.viewers}" }
                            }
                            div { class: if page.spinner { "badge waiting" } else { "badge" }, "data-testid": "live-badge",
                                if page.spinner { span { class: "spinner" } }
                                "{page.badge}"
                            }
                            div { class: "bottom",
                                div { class: "title", "{page.title}" }
                                div { class: "hint", "Swipe up for the next live" }
                            }
                        }
                    }
                }
            },
        }
    }
}
