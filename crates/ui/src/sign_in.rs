//! Signing in and out: the sign-in sheet, the account buttons (orders,
//! wallet, sign out) with the sheets they open, and the sign-out question.

use crate::{PeopleIcon, Ui, take_input};
use dioxus::prelude::*;
use livecart_core::AccountEvent;
use livecart_core::{Event, ViewModel};
use livecart_core::{OrdersEvent, WalletEvent};

#[component]
pub fn SignInSheet(reason: String, busy: bool, error: Option<String>) -> Element {
    let ui = use_context::<Ui>();
    let ui_submit = ui.clone();
    let ui_key = ui.clone();
    rsx! {
        div { class: "scrim", onclick: move |_| ui.send(Event::Account(AccountEvent::DismissSignIn)) }
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
pub fn Account(vm: ViewModel) -> Element {
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
                    move |_| ui_me.send(if signed_in { Event::Account(AccountEvent::AskSignOut) } else { Event::Account(AccountEvent::OpenSignIn) })
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
                        move |_| ui.send(Event::Wallet(WalletEvent::Open))
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
                        move |_| ui.send(Event::Orders(OrdersEvent::Open))
                    },
                    "Orders"
                }
            }
        }
        if let Some(wallet) = &vm.wallet {
            crate::wallet::WalletSheet { wallet: wallet.clone() }
        }
        if let Some(toast) = &vm.order_toast {
            crate::orders::OrderToast { toast: toast.clone() }
        }
        if let Some(orders) = &vm.orders {
            crate::orders::OrdersSheet { orders: orders.clone() }
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
pub fn ConfirmSignOut(name: String) -> Element {
    let ui = use_context::<Ui>();
    let (ui_cancel, ui_scrim) = (ui.clone(), ui.clone());
    rsx! {
        div { class: "scrim", onclick: move |_| ui_scrim.send(Event::Account(AccountEvent::CancelSignOut)) }
        div { class: "sheet confirm-sheet", "data-testid": "confirm-sign-out",
            h2 { "Signed in as {name}" }
            p { class: "hint", "Sign out of livecart on this device? Your orders stay in your account; a payment still on its way finishes the next time you sign in." }
            div { class: "checkout-actions",
                button {
                    class: "secondary",
                    "data-testid": "cancel-sign-out",
                    onclick: move |_| ui_cancel.send(Event::Account(AccountEvent::CancelSignOut)),
                    "Stay signed in"
                }
                button {
                    class: "primary",
                    "data-testid": "confirm-sign-out-button",
                    onclick: move |_| ui.send(Event::Account(AccountEvent::SignOut)),
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
        ui.send(Event::Account(AccountEvent::SignIn { username, password }));
    });
}
