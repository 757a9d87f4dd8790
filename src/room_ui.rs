//! What lies over the video of the room on screen: gift lanes, the chat (with
//! its "N new messages" pill and report action), the pinned product card, the
//! composer with the heart and the bag, floating hearts, the big-gift stage,
//! and the bag and product sheets. It renders `RoomView` and sends events;
//! the timing (when the card shows, which gift plays) is crates/core's.

use crate::window::{BagIcon, Ui, take_input};
use dioxus::prelude::*;
use livecart_core::Event;
use livecart_core::view::{
    BigGiftView, CardView, GiftBarView, LaneView, ProductDetail, ProductRow, RoomView, WalletView,
};

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
pub fn RoomOverlay(room: RoomView) -> Element {
    let ui = use_context::<Ui>();
    // The line whose report reasons are showing (its chip was tapped).
    let mut picking = use_signal(|| None::<String>);
    let mut at_bottom = use_signal(|| true);
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
                                    ui_scroll.send(Event::ChatScrolled { at_bottom: bottom });
                                }
                            },
                            for line in room.chat.iter().rev() {
                                div {
                                    class: if line.mine { "line mine" } else { "line" },
                                    key: "{line.id}",
                                    "data-testid": "chat-line",
                                    "data-id": "{line.id}",
                                    // Picking a line holds the chat still (core).
                                    onclick: {
                                        let id = line.id.clone();
                                        let again = selected.as_deref() == Some(line.id.as_str());
                                        let ui = ui_pick.clone();
                                        move |_| {
                                            picking.set(None);
                                            ui.send(Event::SelectChatLine(if again { None } else { id.parse().ok() }));
                                        }
                                    },
                                    span { class: "who", "{line.who}" }
                                    " {line.text}"
                                    if selected.as_deref() == Some(line.id.as_str()) {
                                        button {
                                            class: "report",
                                            "data-testid": "report",
                                            onclick: {
                                                let id = line.id.clone();
                                                move |e: MouseEvent| {
                                                    e.stop_propagation();
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
                                ui.send(Event::SendChat(take_input("chat-input", true, false).await));
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
                            ui.send(Event::SendChat(take_input("chat-input", true, true).await));
                            scroll_chat_to_newest();
                        });
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
                    class: "round gift",
                    "data-testid": "gift",
                    title: "Send a gift",
                    onclick: move |_| ui_gift.send(Event::ToggleGifts),
                    span { class: "glyph", "🎁" }
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
                        ui.send(Event::SelectChatLine(None));
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
                                    ui.send(Event::Report { message: m, reason: reason.to_owned() });
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
                            ui.send(Event::SelectChatLine(None));
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
                    ui.send(Event::OpenProduct(p));
                }
            },
            div { class: "card-pic",
                img { src: crate::window::img(&card.image_url), alt: "" }
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
                        img { src: crate::window::img(&row.image_url), alt: "" }
                        div { class: "row-text",
                            if row.presenting {
                                span { class: "presenting", "data-testid": "presenting", "Presenting now" }
                            }
                            div { class: "row-name", "{row.name}" }
                            div { class: "row-meta",
                                if row.from { "from " }
                                b { "{row.price}" }
                                if let Some(was) = &row.was { s { " {was}" } }
                                " · {row.stock}"
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The checkout sheet over the still-playing video: the product, its sizes
/// and quantity, where it goes and what is in the wallet; "Buy now" shows the
/// total, "Pay" pays (a PIN step above the wallet's threshold).
#[component]
fn Detail(detail: ProductDetail) -> Element {
    let ui = use_context::<Ui>();
    let ui_close = ui.clone();
    let step = detail.step;
    let q = detail.quantity;
    rsx! {
        div { class: "scrim top", onclick: move |_| ui_close.send(Event::CloseProduct) }
        div { class: "sheet detail-sheet checkout step-{step}", "data-testid": "product-sheet",
            div { class: "checkout-head",
                img { class: "checkout-pic", src: crate::window::img(&detail.image_url), alt: "" }
                div { class: "checkout-title",
                    if let Some(sale) = &detail.sale {
                        span { class: "card-sale inline", "{sale}" }
                    }
                    h2 { "{detail.name}" }
                    div { class: "card-price big", "data-testid": "unit-price",
                        b { "{detail.price}" }
                        if let Some(was) = &detail.was { s { "{was}" } }
                    }
                }
                button {
                    class: "sheet-close",
                    "data-testid": "product-close",
                    title: "Back to the live",
                    onclick: {
                        let ui = ui.clone();
                        move |_| ui.send(Event::CloseProduct)
                    },
                    "✕"
                }
            }
            if step == "choose" {
                p { class: "hint", "{detail.description}" }
                div { class: "skus", "data-testid": "skus",
                    for sku in detail.skus.iter() {
                        button {
                            key: "{sku.id}",
                            class: if sku.selected { "sku selected" } else if sku.sold_out { "sku sold-out" } else { "sku" },
                            "data-testid": "sku",
                            "data-sale": "{sku.on_sale}",
                            "aria-pressed": "{sku.selected}",
                            disabled: sku.sold_out,
                            onclick: {
                                let ui = ui.clone();
                                let id = sku.id.clone();
                                move |_| {
                                    if let Ok(k) = id.parse() {
                                        ui.send(Event::SelectSku(k));
                                    }
                                }
                            },
                            span { class: "sku-name", "{sku.name}" }
                            if sku.on_sale { span { class: "sku-sale", "Flash sale" } }
                            span { class: "sku-price",
                                b { "{sku.price}" }
                                if let Some(was) = &sku.was { s { "{was}" } }
                            }
                            span { class: "dim", "{sku.stock}" }
                        }
                    }
                }
                div { class: "qty-row",
                    span { "Quantity" }
                    div { class: "stepper",
                        button {
                            "data-testid": "qty-minus",
                            disabled: q <= 1,
                            onclick: {
                                let ui = ui.clone();
                                move |_| ui.send(Event::SetQuantity(q.saturating_sub(1)))
                            },
                            "−"
                        }
                        span { "data-testid": "qty", "{q}" }
                        button {
                            "data-testid": "qty-plus",
                            disabled: !detail.can_add,
                            onclick: {
                                let ui = ui.clone();
                                move |_| ui.send(Event::SetQuantity(q + 1))
                            },
                            "+"
                        }
                    }
                }
            }
            if detail.signed_in {
                div { class: "pay-lines",
                    div { class: "pay-line", "data-testid": "ship-to",
                        span { class: "dim", "Ship to" }
                        span { {detail.address.clone().unwrap_or_else(|| "Loading…".to_owned())} }
                    }
                    div { class: "pay-line", "data-testid": "balance",
                        span { class: "dim", "Wallet" }
                        span { {detail.balance.clone().unwrap_or_else(|| "Loading…".to_owned())} }
                    }
                    if step != "choose" {
                        // What is bought, beside what it costs.
                        if let Some(option) = detail.skus.iter().find(|k| k.selected) {
                            div { class: "pay-line", "data-testid": "chosen-option",
                                span { class: "dim", "Option" }
                                span { "{option.name}" }
                            }
                        }
                        div { class: "pay-line total", "data-testid": "total",
                            span { "Total · {detail.total_line.clone().unwrap_or_default()}" }
                            b { {detail.total.clone().unwrap_or_default()} }
                        }
                    }
                }
            }
            if let Some(notice) = &detail.notice {
                div { class: "error", "data-testid": "checkout-notice", "{notice}" }
            }
            if step == "pin" {
                div { class: "pin-step",
                    label { r#for: "pin", "Enter your payment PIN" }
                    input {
                        id: "pin",
                        "data-testid": "pin-input",
                        r#type: "password",
                        inputmode: "numeric",
                        maxlength: 6,
                        autocomplete: "off",
                        onkeydown: {
                            let ui = ui.clone();
                            move |e: KeyboardEvent| {
                                if e.key() == Key::Enter {
                                    let ui = ui.clone();
                                    spawn(async move {
                                        let pin = take_input("pin-input", true, false).await;
                                        ui.send(Event::Pay { pin: Some(pin) });
                                    });
                                }
                            }
                        },
                    }
                    if let Some(err) = &detail.pin_error {
                        div { class: "error", "data-testid": "pin-error", "{err}" }
                    }
                }
            }
            div { class: "checkout-actions",
                if step == "confirm" || step == "pin" {
                    button {
                        class: "secondary",
                        "data-testid": "checkout-back",
                        onclick: {
                            let ui = ui.clone();
                            move |_| ui.send(Event::BackToChoose)
                        },
                        "Back"
                    }
                }
                button {
                    class: if detail.busy { "primary busy" } else { "primary" },
                    "data-keep-focus": true,
                    "data-testid": match step {
                        "choose" => "buy-now",
                        "pin" => "pin-submit",
                        _ => "pay",
                    },
                    disabled: detail.busy,
                    onclick: {
                        let ui = ui.clone();
                        move |_| match step {
                            "choose" => ui.send(Event::BuyNow),
                            "pin" => {
                                let ui = ui.clone();
                                spawn(async move {
                                    let pin = take_input("pin-input", true, true).await;
                                    ui.send(Event::Pay { pin: Some(pin) });
                                });
                            }
                            _ => ui.send(Event::Pay { pin: None }),
                        }
                    },
                    if detail.busy { span { class: "spinner small" } }
                    "{detail.primary}"
                }
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
                    onclick: move |_| ui_close.send(Event::ToggleGifts),
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
                                    ui.send(Event::SendGift(gift));
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

/// The wallet: balance, top-up with a (test) card, and every movement.
#[component]
pub fn WalletSheet(wallet: WalletView) -> Element {
    let ui = use_context::<Ui>();
    let ui_close = ui.clone();
    rsx! {
        div { class: "scrim", onclick: move |_| ui_close.send(Event::CloseWallet) }
        div { class: "sheet wallet-sheet", "data-testid": "wallet-sheet",
            div { class: "sheet-head",
                h2 { "Wallet" }
                button {
                    class: "sheet-close",
                    "data-testid": "wallet-close",
                    onclick: {
                        let ui = ui.clone();
                        move |_| ui.send(Event::CloseWallet)
                    },
                    "✕"
                }
            }
            div { class: "wallet-balance", "data-testid": "wallet-balance",
                {wallet.balance.clone().unwrap_or_else(|| "…".to_owned())}
            }
            for line in wallet.pending.iter() {
                div { class: "dim", "data-testid": "pending-top-up", "{line}" }
            }
            label { class: "dim", r#for: "card", "Card (test cards: 4242… pays, …0002 is declined)" }
            // Uncontrolled, grouped in fours as it is typed (assets/inputs.js).
            input {
                id: "card",
                "data-testid": "card-input",
                "data-format": "card",
                initial_value: "{wallet.card}",
                inputmode: "numeric",
                autocomplete: "cc-number",
                maxlength: 23,
            }
            div { class: "top-up-row",
                for (label, minor) in wallet.amounts.iter().cloned() {
                    button {
                        key: "{minor}",
                        class: "secondary",
                        "data-testid": "top-up-{minor}",
                        "data-keep-focus": true,
                        disabled: wallet.busy,
                        onclick: {
                            let ui = ui.clone();
                            move |_| {
                                let ui = ui.clone();
                                spawn(async move {
                                    let card = take_input("card-input", false, true).await;
                                    ui.send(Event::TopUp { amount_minor: minor, card });
                                });
                            }
                        },
                        "+ {label}"
                    }
                }
            }
            if let Some(n) = &wallet.notice {
                div { class: "hint", "data-testid": "wallet-notice", "{n}" }
            }
            h3 { "History" }
            div { class: "rows history", "data-testid": "wallet-history",
                for h in wallet.history.iter() {
                    div { key: "{h.id}", class: "row history-row",
                        div { class: "row-text",
                            div { class: "row-name", "{h.what}" }
                            div { class: "row-meta", "{h.at}" }
                        }
                        b { class: if h.credit { "credit" } else { "debit" }, "{h.amount}" }
                    }
                }
            }
        }
    }
}
