//! The app's addresses, one `Routable` enum for every shell (#18): the
//! feed, a room (`/r/{room}`, also its share link), the orders and the
//! wallet. The screens stay driven by the core's view model; the router
//! keeps the address and the view in step, both ways:
//!
//! - the address follows the app: the room on screen is `/r/{room}`
//!   (replaced as the viewer swipes), an open orders or wallet screen is
//!   pushed (`/orders`, `/wallet`);
//! - the app follows the address: going to `/orders` or `/wallet` opens
//!   that screen, and leaving it (the browser's back button) closes it. The
//!   address a page was opened at is the shell's to act on once the session
//!   is back (the web shell does).
//!
//! One layout (`Routed`) holds the screens for every route, so moving
//! between addresses never re-creates the feed or its video canvases.

use crate::{Screens, Ui};
use dioxus::prelude::*;
use livecart_core::{Event, OrdersEvent, ViewModel, WalletEvent};

#[derive(Clone, Debug, PartialEq, Routable)]
#[rustfmt::skip]
pub enum Route {
    #[layout(Routed)]
        #[route("/")]
        Feed {},
        #[route("/r/:room")]
        Room { room: String },
        #[route("/orders")]
        Orders {},
        #[route("/wallet")]
        Wallet {},
}

/// The shell's view models, handed to the routes by the shell's root.
#[derive(Clone, Copy)]
pub struct View(pub Signal<Option<ViewModel>>);

/// The address that shows this view.
pub fn route_of(vm: &ViewModel) -> Route {
    if vm.orders.is_some() {
        Route::Orders {}
    } else if vm.wallet.is_some() {
        Route::Wallet {}
    } else if vm.browsing || vm.error.is_some() {
        Route::Feed {}
    } else {
        vm.pages
            .get(vm.index)
            .map_or(Route::Feed {}, |p| Route::Room {
                room: p.room_id.clone(),
            })
    }
}

fn is_sheet(r: &Route) -> bool {
    matches!(r, Route::Orders {} | Route::Wallet {})
}

/// The events that bring the app to an address it is not at: only the
/// screens an address opens (a room is the core's to choose: a share link's
/// room is handed to the core by the shell when it starts).
pub fn events_for(address: &Route, app_at: &Route) -> Vec<Event> {
    if address == app_at {
        return Vec::new();
    }
    let mut events = Vec::new();
    match app_at {
        Route::Orders {} => events.push(Event::Orders(OrdersEvent::Close)),
        Route::Wallet {} => events.push(Event::Wallet(WalletEvent::Close)),
        _ => {}
    }
    match address {
        Route::Orders {} => events.push(Event::Orders(OrdersEvent::Open)),
        Route::Wallet {} => events.push(Event::Wallet(WalletEvent::Open)),
        _ => {}
    }
    events
}

#[component]
fn Routed() -> Element {
    let View(view) = use_context::<View>();
    let ui = use_context::<Ui>();
    let route = use_route::<Route>();
    // Where the address is, as this layout last saw or set it.
    let mut here = use_signal(|| None::<Route>);
    // The address as the router last reported it.
    let mut seen = use_signal(|| None::<Route>);
    let wants = use_memo(move || view.read().as_ref().map(route_of));
    // The address follows the app.
    use_effect(move || {
        let Some(want) = wants() else { return };
        if here.peek().as_ref() == Some(&want) {
            return;
        }
        // Known before the move, so the move is not taken for the viewer's.
        here.set(Some(want.clone()));
        let nav = navigator();
        if is_sheet(&want) {
            nav.push(want);
        } else {
            nav.replace(want);
        }
    });
    // The app follows the address (a link opened, the back button).
    use_effect(use_reactive!(|route| {
        // Only a move of the address counts (this also runs again when the
        // layout re-renders), and not the one the page was opened at: that
        // is the shell's to act on.
        if seen.peek().as_ref() == Some(&route) {
            return;
        }
        let first = seen.peek().is_none();
        seen.set(Some(route.clone()));
        if first {
            here.set(Some(route));
            return;
        }
        if here.peek().as_ref() == Some(&route) {
            return;
        }
        here.set(Some(route.clone()));
        // The address the app was opened at is the shell's to act on (it
        // knows when the session is back: see crates/web's shell).
        if let Some(at) = wants.peek().as_ref() {
            for e in events_for(&route, at) {
                ui.send(e);
            }
        }
    }));
    rsx! {
        Screens { view }
    }
}

// The routes' own components: the layout above draws everything.
#[component]
fn Feed() -> Element {
    rsx! {}
}

#[component]
fn Room(room: String) -> Element {
    let _ = room;
    rsx! {}
}

#[component]
fn Orders() -> Element {
    rsx! {}
}

#[component]
fn Wallet() -> Element {
    rsx! {}
}
