//! What lies over the video of the room on screen: gift lanes, the chat (with
//! its "N new messages" pill and report action), the pinned product card, the
//! composer with the heart and the bag, floating hearts, the big-gift stage,
//! and the bag and product sheets. It renders `RoomView` and sends events;
//! the timing (when the card shows, which gift plays) is crates/core's.
//!
//! Size: the room's overlays are one component tree (their order is the
//! stacking order), with the report sheet that belongs to the chat.

use crate::checkout::{Bag, Detail};
use crate::{BagIcon, Ui, img, take_input};
use dioxus::prelude::*;
use livecart_core::Event;
use livecart_core::LiveEvent;
use livecart_core::view::{BigGiftView, CardView, GiftBarView, LaneView, RoomView};
use livecart_core::{GiftsEvent, ShopEvent};

/// The gift pictures (assets/gifts), inlined: tiny SVGs, no file serving.
fn gift_svg(animation: &str) -> &'static str {
    match animation {
        "rose" => include_str!("../../../assets/gifts/rose.svg"),
        "ice-cream" => include_str!("../../../assets/gifts/ice-cream.svg"),
        "confetti" => include_str!("../../../assets/gifts/confetti.svg"),
        "crown" => include_str!("../../../assets/gifts/crown.svg"),
        "sports-car" => include_str!("../../../assets/gifts/sports-car.svg"),
        "rocket" => include_str!("../../../assets/gifts/rocket.svg"),
        "castle" => include_str!("../../../assets/gifts/castle.svg"),
        // "heart", and any gift this build has no picture for.
        _ => include_str!("../../../assets/gifts/heart.svg"),
    }
}

/// A tap on a chat line picks it (the chat holds still and shows its Report
/// chip); a tap on the picked line puts it back.
fn pick_line(ui: &Ui, picking: &mut Signal<Option<String>>, selected: Option<&str>, id: &str) {
    let again = selected == Some(id);
    tracing::debug!(again, "chat line picked");
    picking.set(None);
    ui.send(Event::Live(LiveEvent::SelectChatLine(if again {
        None
    } else {
        id.parse().ok()
    })));
}

#[component]
#[allow(clippy::too_many_lines)] // the room's layers in one rsx tree, in stacking order
pub fn RoomOverlay(room: RoomView) -> Element {
    let ui = use_context::<Ui>();
    // The line whose report reasons are showing (its chip was tapped).
    let mut picking = use_signal(|| None::<String>);
    let mut at_bottom = use_signal(|| true);
    // The line under the finger when it went down. In a flood the list can
    // move a line between press and release; the browser then gives the click
    // to the chat box (the nearest element under both), and the press says
    // which line was meant.
    let mut pressed = use_signal(|| None::<String>);
    let selected = room.selected_line.clone();
    let (ui_scroll, ui_pill, ui_report) = (ui.clone(), ui.clone(), ui.clone());
    let ui_pick = ui.clone();
    let (ui_send, ui_key, ui_like, ui_bag) = (ui.clone(), ui.clone(), ui.clone(), ui.clone());
    let ui_gift = ui.clone();
    let reduced = room.reduced_motion;
    rsx! {
        div { class: "room-overlay", "data-room-layer": "{room.room_id}",
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
                                    ui_scroll.send(Event::Live(LiveEvent::ChatScrolled { at_bottom: bottom }));
                                }
                            },
                            onpointerdown: move |_| pressed.set(None),
                            onclick: {
                                let selected = selected.clone();
                                let ui = ui_pick.clone();
                                move |_| {
                                    if let Some(id) = pressed.take() {
                                        tracing::debug!("chat line tapped as it moved");
                                        pick_line(&ui, &mut picking, selected.as_deref(), &id);
                                    }
                                }
                            },
                            for line in room.chat.iter().rev() {
                                div {
                                    class: if line.mine { "line mine" } else { "line" },
                                    key: "{line.id}",
                                    "data-testid": "chat-line",
                                    "data-id": "{line.id}",
                                    onpointerdown: {
                                        let id = line.id.clone();
                                        move |e: PointerEvent| {
                                            e.stop_propagation();
                                            pressed.set(Some(id.clone()));
                                        }
                                    },
                                    // Picking a line holds the chat still (core).
                                    onclick: {
                                        let id = line.id.clone();
                                        let selected = selected.clone();
                                        let ui = ui_pick.clone();
                                        move |e: MouseEvent| {
                                            e.stop_propagation();
                                            pressed.set(None);
                                            tracing::debug!("chat line tapped");
                                            pick_line(&ui, &mut picking, selected.as_deref(), &id);
                                        }
                                    },
                                    span { class: "who", "{line.who}" }
                                    " {line.text}"
                                    if selected.as_deref() == Some(line.id.as_str()) {
                                        button {
                                            class: "report",
                                            "data-testid": "report",
                                            // On a busy phone the list can move on between
                                            // the tap and the hold: the picked line may have
                                            // left the chat's box. Bring it back, no further.
                                            onmounted: |_| {
                                                document::eval(
                                                    "document.querySelector('[data-testid=report]')?.closest('.line')?.scrollIntoView({ block: 'nearest' });",
                                                );
                                            },
                                            onclick: {
                                                let id = line.id.clone();
                                                move |e: MouseEvent| {
                                                    e.stop_propagation();
                                                    tracing::debug!("report chip tapped");
                                                    picking.set(Some(id.clone()));
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
                                    scroll_chat_to_newest();
                                    at_bottom.set(true);
                                    ui_pill.send(Event::Live(LiveEvent::ChatScrolled { at_bottom: true }));
                                },
                                "{pill} ↓"
                            }
                        }
                    }
                }
                div { class: "right",
                    button {
                        class: "round share",
                        "data-testid": "share",
                        title: "Share this room",
                        onclick: {
                            let ui = ui.clone();
                            let room_id = room.room_id.clone();
                            move |_| {
                                let (ui, room_id) = (ui.clone(), room_id.clone());
                                spawn(async move {
                                    if let Some(said) = crate::share_room(&room_id).await {
                                        ui.send(Event::Notice(said));
                                    }
                                });
                            }
                        },
                        crate::ShareIcon {}
                    }
                    if let Some(card) = &room.pinned {
                        Card { card: card.clone() }
                    }
                }
            }
            div { class: "composer",
                // Uncontrolled: the text is read from the field when it is
                // sent (assets/inputs.js), so no keystroke is lost.
                input {
                    "data-testid": "chat-input",
                    placeholder: "Say something…",
                    maxlength: 200,
                    enterkeyhint: "send",
                    onkeydown: move |e| {
                        if e.key() == Key::Enter {
                            let ui = ui_key.clone();
                            at_bottom.set(true);
                            spawn(async move {
                                ui.send(Event::Live(LiveEvent::SendChat(take_input("chat-input", true, false).await)));
                                scroll_chat_to_newest();
                            });
                        }
                    },
                }
                button {
                    class: "send",
                    "data-testid": "chat-send",
                    "data-keep-focus": true,
                    onclick: move |_| {
                        let ui = ui_send.clone();
                        at_bottom.set(true);
                        spawn(async move {
                            ui.send(Event::Live(LiveEvent::SendChat(take_input("chat-input", true, true).await)));
                            scroll_chat_to_newest();
                        });
                    },
                    "Send"
                }
                button {
                    class: "round like",
                    "data-testid": "like",
                    title: "Like",
                    onclick: move |_| ui_like.send(Event::Live(LiveEvent::Like)),
                    span { class: "glyph", "♥" }
                    span { class: "count", "data-testid": "like-count", "{room.likes}" }
                }
                button {
                    class: "round gift",
                    "data-testid": "gift",
                    title: "Send a gift",
                    onclick: move |_| ui_gift.send(Event::Gifts(GiftsEvent::ToggleBar)),
                    span { class: "glyph", "🎁" }
                }
                button {
                    class: "round bag",
                    "data-testid": "bag",
                    title: "Products",
                    onclick: move |_| ui_bag.send(Event::Shop(ShopEvent::OpenBag)),
                    BagIcon {}
                    if room.bag_count > 0 {
                        span { class: "bag-count", "{room.bag_count}" }
                    }
                }
            }
        }
        if !reduced {
            div { class: "hearts", "aria-hidden": "true", "data-room-layer": "{room.room_id}",
                for id in room.hearts.iter().copied() {
                    // A vector heart, not the ♥ glyph: a glyph animated in
                    // scale is re-rasterised at every size and cached — the
                    // web process held ~23 MiB more with glyphs.
                    svg {
                        key: "{id}",
                        class: if room.my_hearts.contains(&id) { "heart mine" } else { "heart" },
                        "data-testid": "heart",
                        style: "--drift: {(id * 37) % 48} ; --hue: {(id * 53) % 40}",
                        view_box: "0 0 24 24",
                        path { d: "M12 21 3.5 12.5A5 5 0 0 1 12 6a5 5 0 0 1 8.5 6.5z" }
                    }
                }
            }
        }
        if let Some(big) = &room.big_gift {
            BigGift { key: "{big.key}", big: big.clone(), room_id: room.room_id.clone() }
        }
        if let Some(bar) = &room.gift_bar {
            GiftBar { bar: bar.clone(), reduced: room.reduced_motion }
        }
        if let Some(rows) = &room.bag {
            Bag { rows: rows.clone() }
        }
        if let Some(detail) = &room.product {
            Detail { detail: detail.clone() }
        }
        // Why, in a sheet of its own: reasons inside the chat line were
        // clipped by the chat's scroll box when the line grew (issue #15).
        if let Some(line) = picking.read().as_ref().and_then(|id| room.chat.iter().find(|l| &l.id == id)).cloned() {
            div {
                class: "scrim",
                onclick: {
                    let ui = ui_report.clone();
                    move |_| {
                        picking.set(None);
                        ui.send(Event::Live(LiveEvent::SelectChatLine(None)));
                    }
                },
            }
            div { class: "sheet report-sheet", "data-testid": "report-reasons",
                h2 { "Report this message" }
                p { class: "quoted", b { "{line.who}" } " {line.text}" }
                // What the moderators see first.
                for (i, reason) in ["Spam", "Harassment", "Scam", "Other"].into_iter().enumerate() {
                    button {
                        key: "{i}",
                        class: "secondary",
                        "data-testid": "report-reason-{i}",
                        onclick: {
                            let id = line.id.clone();
                            let ui = ui_report.clone();
                            move |_| {
                                if let Ok(m) = id.parse() {
                                    ui.send(Event::Live(LiveEvent::Report { message: m, reason: reason.to_owned() }));
                                }
                                picking.set(None);
                            }
                        },
                        "{reason}"
                    }
                }
                button {
                    class: "secondary",
                    "data-testid": "report-cancel",
                    onclick: {
                        let ui = ui_report.clone();
                        move |_| {
                            picking.set(None);
                            ui.send(Event::Live(LiveEvent::SelectChatLine(None)));
                        }
                    },
                    "Cancel"
                }
            }
        }
    }
}

/// The chat list back at its newest line (the list is column-reverse: its
/// top is 0).
fn scroll_chat_to_newest() {
    document::eval(
        "const c = document.querySelector('[data-testid=chat]'); if (c) c.scrollTo({ top: 0 });",
    );
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
fn BigGift(big: BigGiftView, room_id: String) -> Element {
    if big.banner_only {
        return rsx! {
            div { class: "gift-banner", "data-testid": "big-gift-banner", "data-room-layer": "{room_id}",
                span { class: "gift-pic", dangerous_inner_html: gift_svg(&big.animation) }
                "{big.sender} sent a {big.gift}"
                if let Some(c) = &big.combo { " {c}" }
            }
        };
    }
    rsx! {
        div { class: "big-gift {big.animation}", "data-testid": "big-gift", "aria-hidden": "true", "data-room-layer": "{room_id}",
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
                    ui.send(Event::Shop(ShopEvent::OpenProduct(p)));
                }
            },
            div { class: "card-pic",
                img { src: img(&card.image_url), alt: "" }
                if let Some(sale) = &card.sale {
                    span { class: "card-sale", "data-testid": "flash-sale", "{sale}" }
                }
            }
            div { class: "card-name", "{card.name}" }
            div { class: "card-price", "data-testid": "card-price",
                if card.from { span { class: "from", "from " } }
                b { "{card.price}" }
                if let Some(was) = &card.was { s { "{was}" } }
            }
            if let Some(stock) = &card.stock {
                div { class: "card-stock", "data-testid": "stock", "{stock}" }
            }
        }
    }
}

/// The gift bar: the catalog with prices in coins; each tap is one paid
/// gift, taps within 3 s build a combo.
#[component]
pub fn GiftBar(bar: GiftBarView, reduced: bool) -> Element {
    let ui = use_context::<Ui>();
    let ui_close = ui.clone();
    let ui_motion = ui.clone();
    rsx! {
        div { class: "gift-bar", "data-testid": "gift-bar",
            div { class: "gift-bar-head",
                span { class: "coins", "data-testid": "coins",
                    {bar.coins.clone().unwrap_or_else(|| "… coins".to_owned())}
                }
                // The app's own reduced-motion switch (the system's setting
                // turns it on by itself): big gifts become a banner.
                button {
                    class: if reduced { "motion-toggle on" } else { "motion-toggle" },
                    "data-testid": "reduced-motion",
                    "aria-pressed": "{reduced}",
                    onclick: move |_| ui_motion.send(Event::ReducedMotion(!reduced)),
                    if reduced { "Reduce motion: on" } else { "Reduce motion: off" }
                }
                button {
                    class: "sheet-close",
                    "data-testid": "gift-bar-close",
                    onclick: move |_| ui_close.send(Event::Gifts(GiftsEvent::ToggleBar)),
                    "✕"
                }
            }
            div { class: "gift-row",
                for g in bar.gifts {
                    button {
                        key: "{g.id}",
                        class: "gift-chip",
                        "data-testid": "gift-{g.animation}",
                        onclick: {
                            let ui = ui.clone();
                            let id = g.id.clone();
                            move |_| {
                                if let Ok(gift) = id.parse() {
                                    ui.send(Event::Gifts(GiftsEvent::Send(gift)));
                                }
                            }
                        },
                        span { class: "gift-pic", dangerous_inner_html: gift_svg(&g.animation) }
                        span { class: "gift-chip-name", "{g.name}" }
                        span { class: "dim", "{g.coins}" }
                        if let Some(c) = &g.combo {
                            span { key: "{c}", class: "combo", "data-testid": "gift-combo", "{c}" }
                        }
                    }
                }
            }
        }
    }
}
