//! The orders screen (a list, one order's timeline with cancel and refund),
//! the offline banner, and the toast a step shows over the live. Renders
//! `OrdersView` / `OrderToastView` from crates/core and sends events.

use crate::{Ui, img};
use dioxus::prelude::*;
use livecart_core::Event;
use livecart_core::OrdersEvent;
use livecart_core::view::{OrderDetailView, OrderRowView, OrderToastView, OrdersView};

#[component]
pub fn OrdersSheet(orders: OrdersView) -> Element {
    let ui = use_context::<Ui>();
    let close = {
        let ui = ui.clone();
        move |_| ui.send(Event::Orders(OrdersEvent::Close))
    };
    rsx! {
        div { class: "orders-screen", "data-testid": "orders-screen",
            div { class: "orders-head",
                if orders.detail.is_some() {
                    button {
                        class: "sheet-close",
                        "data-testid": "order-back",
                        onclick: {
                            let ui = ui.clone();
                            move |_| ui.send(Event::Orders(OrdersEvent::CloseOrder))
                        },
                        "‹"
                    }
                }
                h2 { if orders.detail.is_some() { "Order" } else { "Your orders" } }
                button { class: "sheet-close", "data-testid": "orders-close", onclick: close, "✕" }
            }
            if let Some(text) = &orders.offline {
                div { class: "offline-banner", "data-testid": "offline-banner", "{text}" }
            }
            match &orders.detail {
                Some(detail) => rsx! { OrderDetail { detail: detail.clone() } },
                None => rsx! {
                    if orders.loading {
                        div { class: "dim orders-empty", "Loading your orders…" }
                    } else if orders.rows.is_empty() {
                        div { class: "dim orders-empty", "data-testid": "no-orders",
                            "No orders yet — tap a product in a live to buy it"
                        }
                    }
                    div { class: "rows orders-list", "data-testid": "orders-list",
                        for row in orders.rows.iter() {
                            OrderRow { key: "{row.id}", row: row.clone() }
                        }
                    }
                },
            }
        }
    }
}

#[component]
fn OrderRow(row: OrderRowView) -> Element {
    let ui = use_context::<Ui>();
    let id = row.id;
    rsx! {
        div {
            class: "row order-row",
            "data-testid": "order-row",
            "data-status": row.status_key,
            onclick: move |_| ui.send(Event::Orders(OrdersEvent::OpenOrder(id))),
            img { src: img(&row.thumb_url), alt: "" }
            div { class: "row-text",
                div { class: "row-name", "{row.product}" }
                div { class: "row-meta", "{row.sku} · {row.total} · {row.when}" }
            }
            span { class: "status-pill {row.status_key}", "data-testid": "order-status", "{row.status}" }
        }
    }
}

#[component]
fn OrderDetail(detail: OrderDetailView) -> Element {
    let ui = use_context::<Ui>();
    let id = detail.row.id;
    rsx! {
        div { class: "order-detail", "data-testid": "order-detail", "data-status": detail.row.status_key,
            div { class: "order-top",
                img { src: img(&detail.image_url), alt: "" }
                div { class: "row-text",
                    div { class: "row-name", "{detail.row.product}" }
                    div { class: "row-meta", "{detail.row.sku} · {detail.unit_price} each" }
                    div { class: "order-total", "Paid {detail.row.total}" }
                    span { class: "status-pill {detail.row.status_key}", "data-testid": "order-status", "{detail.row.status}" }
                }
            }
            ol { class: "timeline", "data-testid": "timeline",
                for (i, step) in detail.steps.iter().enumerate() {
                    li {
                        key: "{i}",
                        class: if step.current { "step done current" } else if step.done { "step done" } else { "step" },
                        "data-testid": if step.done { "step-done" } else { "step-todo" },
                        div { class: "step-label", "{step.label}" }
                        if !step.at.is_empty() {
                            div { class: "step-at", "{step.at}" }
                        }
                        if !step.note.is_empty() {
                            div { class: "step-note", "{step.note}" }
                        }
                    }
                }
            }
            div { class: "dim order-meta", "{detail.bought_in}" }
            div { class: "dim order-meta", "Ship to {detail.address}" }
            if let Some(n) = &detail.notice {
                div { class: "hint order-notice", "data-testid": "order-notice", "{n}" }
            }
            if detail.can_cancel {
                button {
                    class: "secondary",
                    "data-testid": "order-cancel",
                    disabled: detail.busy,
                    onclick: {
                        let ui = ui.clone();
                        move |_| ui.send(Event::Orders(OrdersEvent::Cancel(id)))
                    },
                    if detail.busy { "Cancelling…" } else { "Cancel order" }
                }
            }
            if detail.can_request_refund {
                button {
                    class: "secondary",
                    "data-testid": "order-refund",
                    disabled: detail.busy,
                    onclick: {
                        let ui = ui.clone();
                        move |_| ui.send(Event::Orders(OrdersEvent::ToggleRefundReasons))
                    },
                    "Request a refund"
                }
                if !detail.reasons.is_empty() {
                    div { class: "reasons", "data-testid": "refund-reasons",
                        for (i, (label, reason)) in detail.reasons.iter().cloned().enumerate() {
                            button {
                                key: "{i}",
                                class: "secondary",
                                "data-testid": "refund-reason-{i}",
                                onclick: {
                                    let ui = ui.clone();
                                    move |_| ui.send(Event::Orders(OrdersEvent::RequestRefund { order: id, reason }))
                                },
                                "{label}"
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A step of one of the user's orders, over the live: a tap opens it.
#[component]
pub fn OrderToast(toast: OrderToastView) -> Element {
    let ui = use_context::<Ui>();
    let id = toast.order;
    rsx! {
        div {
            key: "{toast.text}",
            class: "order-toast",
            "data-testid": "order-toast",
            onclick: move |_| ui.send(Event::Orders(OrdersEvent::OpenOrder(id))),
            span { class: "order-toast-icon", "📦" }
            span { "{toast.text}" }
            span { class: "dim", "View ›" }
        }
    }
}
