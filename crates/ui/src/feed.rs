//! The feed: one full-screen page per live room (cover, then video, with
//! the host, the LIVE badge and the controls), and the grid of rooms shown
//! after closing one.

use crate::{CloseIcon, MutedIcon, PeopleIcon, SoundIcon, Ui, img};
use dioxus::prelude::*;
use livecart_core::Event;
use livecart_core::{FeedEvent, LiveEvent};

#[component]
pub fn Page(page: livecart_core::view::PageView, current: bool, muted: bool) -> Element {
    let ui = use_context::<Ui>();
    let ui_mute = ui.clone();
    let ui_close = ui.clone();
    let ui_like = ui.clone();
    let ui_hint = ui.clone();
    rsx! {
        section {
            class: if current { "page current" } else { "page" },
            "data-testid": "room-page",
            "data-room": "{page.room_id}",
            // Double-tap the video: a like (hearts float from the heart button).
            ondoubleclick: move |_| ui_like.send(Event::Live(LiveEvent::Like)),
            img { class: if page.video { "cover gone" } else { "cover" }, src: img(&page.cover_url), alt: "" }
            if page.has_player {
                canvas { class: "video", "data-testid": "video", "data-room": "{page.room_id}", width: 540, height: 960 }
            }
            div { class: "shade-top" }
            div { class: "shade-bottom" }
            div { class: "top",
                div { class: "host-chip", "data-testid": "host-chip",
                    img { class: "avatar", src: img(&page.host_avatar_url), alt: "" }
                    span { class: "host", "{page.host}" }
                    button {
                        class: if page.following { "follow on" } else { "follow" },
                        "data-testid": "follow",
                        onclick: move |_| ui.send(Event::Live(LiveEvent::Follow)),
                        if page.following { "Following" } else { "Follow" }
                    }
                }
                span { class: "viewers", "data-testid": "viewers", title: "{page.viewers}", PeopleIcon {} "{page.viewer_count}" }
                button {
                    class: "close",
                    "data-testid": "close",
                    title: "Close",
                    onclick: move |_| ui_close.send(Event::Feed(FeedEvent::CloseRoom)),
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
            if current && muted && crate::MUTED_BY_BROWSER.load(std::sync::atomic::Ordering::Relaxed) {
                // A browser starts sound only from a tap: say so, once.
                button {
                    class: "unmute-hint",
                    "data-testid": "unmute-hint",
                    onclick: {
                        let ui = ui_hint.clone();
                        move |_| {
                            crate::MUTED_BY_BROWSER.store(false, std::sync::atomic::Ordering::Relaxed);
                            ui.send(Event::ToggleMute);
                        }
                    },
                    MutedIcon {}
                    "Tap for sound"
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
pub fn Grid(pages: Vec<livecart_core::view::PageView>) -> Element {
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
                            move |_| ui.send(Event::Feed(FeedEvent::OpenRoom(i)))
                        },
                        img { src: img(&page.cover_url), alt: "" }
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
