//! Buying: the bag of the room's products and one product's sheet — its
//! options, quantity, address, the confirm step and the payment PIN.

use crate::{Ui, img, take_input};
use dioxus::prelude::*;
use livecart_core::Event;
use livecart_core::ShopEvent;
use livecart_core::view::{ProductDetail, ProductRow};

#[component]
pub fn Bag(rows: Vec<ProductRow>) -> Element {
    let ui = use_context::<Ui>();
    let ui_close = ui.clone();
    let n = rows.len();
    rsx! {
        div { class: "scrim", onclick: move |_| ui_close.send(Event::Shop(ShopEvent::CloseBag)) }
        div { class: "sheet bag-sheet", "data-testid": "bag-sheet",
            div { class: "sheet-head",
                h2 { "Products ({n})" }
                button {
                    class: "sheet-close",
                    "data-testid": "bag-close",
                    title: "Close",
                    onclick: {
                        let ui = ui.clone();
                        move |_| ui.send(Event::Shop(ShopEvent::CloseBag))
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
                                    ui.send(Event::Shop(ShopEvent::OpenProduct(p)));
                                }
                            }
                        },
                        img { src: img(&row.image_url), alt: "" }
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
#[allow(clippy::too_many_lines)] // the product sheet's three steps in one rsx tree
pub fn Detail(detail: ProductDetail) -> Element {
    let ui = use_context::<Ui>();
    let ui_close = ui.clone();
    let step = detail.step;
    let q = detail.quantity;
    rsx! {
        div { class: "scrim top", onclick: move |_| ui_close.send(Event::Shop(ShopEvent::CloseProduct)) }
        div { class: "sheet detail-sheet checkout step-{step}", "data-testid": "product-sheet",
            div { class: "checkout-head",
                img { class: "checkout-pic", src: img(&detail.image_url), alt: "" }
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
                        move |_| ui.send(Event::Shop(ShopEvent::CloseProduct))
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
                                        ui.send(Event::Shop(ShopEvent::SelectSku(k)));
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
                                move |_| ui.send(Event::Shop(ShopEvent::SetQuantity(q.saturating_sub(1))))
                            },
                            "−"
                        }
                        span { "data-testid": "qty", "{q}" }
                        button {
                            "data-testid": "qty-plus",
                            disabled: !detail.can_add,
                            onclick: {
                                let ui = ui.clone();
                                move |_| ui.send(Event::Shop(ShopEvent::SetQuantity(q + 1)))
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
                                        ui.send(Event::Shop(ShopEvent::Pay { pin: Some(pin) }));
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
                            move |_| ui.send(Event::Shop(ShopEvent::BackToChoose))
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
                            "choose" => ui.send(Event::Shop(ShopEvent::BuyNow)),
                            "pin" => {
                                let ui = ui.clone();
                                spawn(async move {
                                    let pin = take_input("pin-input", true, true).await;
                                    ui.send(Event::Shop(ShopEvent::Pay { pin: Some(pin) }));
                                });
                            }
                            _ => ui.send(Event::Shop(ShopEvent::Pay { pin: None })),
                        }
                    },
                    if detail.busy { span { class: "spinner small" } }
                    "{detail.primary}"
                }
            }
        }
    }
}
