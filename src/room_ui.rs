//! What lies over the video of the room on screen: gift lanes, the chat (with
//! its "N new messages" pill and report action), the pinned product card, the
//! composer with the heart and the bag, floating hearts, the big-gift stage,
//! and the bag and product sheets. It renders `RoomView` and sends events;
//! the timing (when the card shows, which gift plays) is crates/core's.

use crate::window::{BagIcon, Ui, clear_input};
use dioxus::prelude::*;
use livecart_core::Event;
use livecart_core::view::{BigGiftView, CardView, LaneView, ProductDetail, ProductRow, RoomView};

/// The gift pictures (assets/gifts), inlined: tiny SVGs, no file serving.
fn gift_svg(animation: &str) -> &'static str {
    match animation {
        "rose" => include_str!("../assets/gifts/rose.svg"),
        "ice-cream" => include_str!("../assets/gifts/ice-cream.svg"),
        "confetti" => include_str!("../assets/gifts/confetti.svg"),
        "crown" => include_str!("../assets/gifts/crown.svg"),
        "sports-car" => include_str!("../assets/gifts/sports-car.svg"),
        "rocket" => include_str!("../assets/gifts/rocket.svg"),
        "castle" => include_str!("../assets/gifts/castle.svg"),
        // "heart", and any gift this build has no picture for.
        _ => include_str!("../assets/gifts/heart.svg"),
    }
}

#[component]
pub fn RoomOverlay(room: RoomView, chat: Signal<String>) -> Element {
    let ui = use_context::<Ui>();
    let mut selected = use_signal(|| None::<String>);
    let mut at_bottom = use_signal(|| true);
    let (ui_scroll, ui_pill, ui_report) = (ui.clone(), ui.clone(), ui.clone());
    let (ui_send, ui_key, ui_like, ui_bag) = (ui.clone(), ui.clone(), ui.clone(), ui.clone());
    let reduced = room.reduced_motion;
    rsx! {
        div { class: "room-overlay",
            if let Some(banner) = &room.banner {
                div { class: "banner", "data-testid": "reconnecting", "{banner}" }
            }
            div { class: "stage",
                div { class: "left",
                    div { class: "lanes", "data-testid": "gift-lanes",
                        for lane in room.lanes.iter().flatten() {
                            Lane { key: "{lane.key}", lane: lane.clone() }
                        }
                    }
                    div { class: "chat-wrap",
                        // Newest first in the markup with column-reverse: the
                        // list sticks to its newest line by itself.
                        div {
                            class: "chat",
                            "data-testid": "chat",
                            onscroll: move |e| {
                                let bottom = e.data().scroll_top().abs() < 8.0;
                                if bottom != *at_bottom.peek() {
                                    at_bottom.set(bottom);
                                    ui_scroll.send(Event::ChatScrolled { at_bottom: bottom });
                                }
                            },
                            for line in room.chat.iter().rev() {
                                div {
                                    class: "line",
                                    key: "{line.id}",
                                    "data-testid": "chat-line",
                                    onclick: {
                                        let id = line.id.clone();
                                        move |_| {
                                            let again = selected.peek().as_deref() == Some(id.as_str());
                                            selected.set(if again { None } else { Some(id.clone()) });
                                        }
                                    },
                                    span { class: "who", "{line.who}" }
                                    " {line.text}"
                                    if selected.read().as_deref() == Some(line.id.as_str()) {
                                        button {
                                            class: "report",
                                            "data-testid": "report",
                                            onclick: {
                                                let id = line.id.clone();
                                                let ui = ui_report.clone();
                                                move |e: MouseEvent| {
                                                    e.stop_propagation();
                                                    if let Ok(m) = id.parse() {
                                                        ui.send(Event::Report(m));
                                                    }
                                                    selected.set(None);
                                                }
                                            },
                                            "Report"
                                        }
                                    }
                                }
                            }
                        }
                        if let Some(pill) = &room.new_messages {
                            button {
                                class: "pill",
                                "data-testid": "new-messages",
                                onclick: move |_| {
                                    document::eval(
                                        "const c = document.querySelector('[data-testid=chat]'); if (c) c.scrollTo({ top: 0 });",
                                    );
                                    at_bottom.set(true);
                                    ui_pill.send(Event::ChatScrolled { at_bottom: true });
                                },
                                "{pill} ↓"
                            }
                        }
                    }
                }
                div { class: "right",
                    if let Some(card) = &room.pinned {
                        Card { card: card.clone() }
                    }
                }
            }
            div { class: "composer",
                input {
                    "data-testid": "chat-input",
                    placeholder: "Say something…",
                    maxlength: 200,
                    oninput: move |e| chat.set(e.value()),
                    onkeydown: move |e| {
                        if e.key() == Key::Enter {
                            ui_key.send(Event::SendChat(chat.take()));
                            clear_input("chat-input");
                        }
                    },
                }
                button {
                    class: "send",
                    "data-testid": "chat-send",
                    onclick: move |_| {
                        ui_send.send(Event::SendChat(chat.take()));
                        clear_input("chat-input");
                    },
                    "Send"
                }
                button {
                    class: "round like",
                    "data-testid": "like",
                    title: "Like",
                    onclick: move |_| ui_like.send(Event::Like),
                    span { class: "glyph", "♥" }
                    span { class: "count", "data-testid": "like-count", "{room.likes}" }
                }
                button {
                    class: "round bag",
                    "data-testid": "bag",
                    title: "Products",
                    onclick: move |_| ui_bag.send(Event::OpenBag),
                    BagIcon {}
                    if room.bag_count > 0 {
                        span { class: "bag-count", "{room.bag_count}" }
                    }
                }
            }
        }
        if !reduced {
            div { class: "hearts", "aria-hidden": "true",
                for id in room.hearts.iter().copied() {
                    // A vector heart, not the ♥ glyph: a glyph animated in
                    // scale is re-rasterised at every size and cached — the
                    // web process held ~23 MiB more with glyphs.
                    svg {
                        key: "{id}",
                        class: "heart",
                        style: "--drift: {(id * 37) % 48} ; --hue: {(id * 53) % 40}",
                        view_box: "0 0 24 24",
                        path { d: "M12 21 3.5 12.5A5 5 0 0 1 12 6a5 5 0 0 1 8.5 6.5z" }
                    }
                }
            }
        }
        if let Some(big) = &room.big_gift {
            BigGift { key: "{big.key}", big: big.clone() }
        }
        if let Some(rows) = &room.bag {
            Bag { rows: rows.clone() }
        }
        if let Some(detail) = &room.product {
            Detail { detail: detail.clone() }
        }
    }
}

#[component]
fn Lane(lane: LaneView) -> Element {
    rsx! {
        div { class: "lane", "data-testid": "gift-lane",
            span { class: "gift-pic", dangerous_inner_html: gift_svg(&lane.animation) }
            span { class: "lane-text",
                span { class: "sender", "{lane.sender}" }
                span { class: "gift-name", "sent {lane.gift}" }
            }
            if let Some(combo) = &lane.combo {
                // Keyed by the bump: the number pops each time it grows.
                span { key: "{lane.bumps}", class: "combo", "data-testid": "combo", "{combo}" }
            }
        }
    }
}

#[component]
fn BigGift(big: BigGiftView) -> Element {
    if big.banner_only {
        return rsx! {
            div { class: "gift-banner", "data-testid": "big-gift-banner",
                span { class: "gift-pic", dangerous_inner_html: gift_svg(&big.animation) }
                "{big.sender} sent a {big.gift}"
                if let Some(c) = &big.combo { " {c}" }
            }
        };
    }
    rsx! {
        div { class: "big-gift {big.animation}", "data-testid": "big-gift", "aria-hidden": "true",
            div { class: "burst" }
            div { class: "big-pic", dangerous_inner_html: gift_svg(&big.animation) }
            div { class: "big-text",
                b { "{big.sender}" }
                " sent a {big.gift}"
                if let Some(c) = &big.combo { " {c}" }
            }
        }
    }
}

#[component]
fn Card(card: CardView) -> Element {
    let ui = use_context::<Ui>();
    let id = card.product_id.clone();
    rsx! {
        div {
            class: "card",
            "data-testid": "pinned",
            onclick: move |_| {
                if let Ok(p) = id.parse() {
                    ui.send(Event::OpenProduct(p));
                }
            },
            div { class: "card-pic",
                img { src: "{card.image_url}", alt: "" }
                if let Some(sale) = &card.sale {
                    span { class: "card-sale", "data-testid": "flash-sale", "{sale}" }
                }
            }
            div { class: "card-name", "{card.name}" }
            div { class: "card-price",
                b { "{card.price}" }
                if let Some(was) = &card.was { s { "{was}" } }
            }
            if let Some(stock) = &card.stock {
                div { class: "card-stock", "data-testid": "stock", "{stock}" }
            }
        }
    }
}

#[component]
fn Bag(rows: Vec<ProductRow>) -> Element {
    let ui = use_context::<Ui>();
    let ui_close = ui.clone();
    let n = rows.len();
    rsx! {
        div { class: "scrim", onclick: move |_| ui_close.send(Event::CloseBag) }
        div { class: "sheet bag-sheet", "data-testid": "bag-sheet",
            div { class: "sheet-head",
                h2 { "Products ({n})" }
                button {
                    class: "sheet-close",
                    "data-testid": "bag-close",
                    title: "Close",
                    onclick: {
                        let ui = ui.clone();
                        move |_| ui.send(Event::CloseBag)
                    },
                    "✕"
                }
            }
            div { class: "rows",
                for row in rows {
                    div {
                        key: "{row.id}",
                        class: "row",
                        "data-testid": "bag-row",
                        onclick: {
                            let ui = ui.clone();
                            let id = row.id.clone();
                            move |_| {
                                if let Ok(p) = id.parse() {
                                    ui.send(Event::OpenProduct(p));
                                }
                            }
                        },
                        img { src: "{row.image_url}", alt: "" }
                        div { class: "row-text",
                            if row.presenting {
                                span { class: "presenting", "data-testid": "presenting", "Presenting now" }
                            }
                            div { class: "row-name", "{row.name}" }
                            div { class: "row-meta", b { "{row.price}" } " · {row.stock}" }
                        }
                    }
                }
            }
        }
    }
}

#[component]
fn Detail(detail: ProductDetail) -> Element {
    let ui = use_context::<Ui>();
    let ui_close = ui.clone();
    rsx! {
        div { class: "scrim top", onclick: move |_| ui_close.send(Event::CloseProduct) }
        div { class: "sheet detail-sheet", "data-testid": "product-sheet",
            img { class: "detail-pic", src: "{detail.image_url}", alt: "" }
            if let Some(sale) = &detail.sale {
                span { class: "card-sale inline", "{sale}" }
            }
            h2 { "{detail.name}" }
            div { class: "card-price big",
                b { "{detail.price}" }
                if let Some(was) = &detail.was { s { "{was}" } }
            }
            p { class: "hint", "{detail.description}" }
            div { class: "skus",
                for (name, price, stock) in detail.skus.iter() {
                    div { class: "sku", key: "{name}",
                        span { "{name}" }
                        span { "{price}" }
                        span { class: "dim", "{stock}" }
                    }
                }
            }
            button {
                class: "primary",
                "data-testid": "product-close",
                onclick: move |_| ui.send(Event::CloseProduct),
                "Back to the live"
            }
        }
    }
}
