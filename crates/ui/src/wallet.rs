//! The wallet sheet: the balance, top-ups with a card, the history.

use crate::{Ui, take_input};
use dioxus::prelude::*;
use livecart_core::Event;
use livecart_core::WalletEvent;
use livecart_core::view::WalletView;

/// The wallet: balance, top-up with a (test) card, and every movement.
#[component]
pub fn WalletSheet(wallet: WalletView) -> Element {
    let ui = use_context::<Ui>();
    let ui_close = ui.clone();
    rsx! {
        div { class: "scrim", onclick: move |_| ui_close.send(Event::Wallet(WalletEvent::Close)) }
        div { class: "sheet wallet-sheet", "data-testid": "wallet-sheet",
            div { class: "sheet-head",
                h2 { "Wallet" }
                button {
                    class: "sheet-close",
                    "data-testid": "wallet-close",
                    onclick: {
                        let ui = ui.clone();
                        move |_| ui.send(Event::Wallet(WalletEvent::Close))
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
                                    ui.send(Event::Wallet(WalletEvent::TopUp { amount_minor: minor, card }));
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
