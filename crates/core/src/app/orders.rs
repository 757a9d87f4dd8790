//! After the show: the buyer's orders (a list, and one order's timeline),
//! their own live socket (`/v1/me/live`: order steps and the wallet balance,
//! while they watch something else), the offline cache, and after-sales
//! (cancel before shipping, a refund after delivery).
//!
//! Rules the app keeps:
//! - The orders come from the socket's snapshot and events; the cache (the
//!   app's SQLite) shows them until the socket answers, and with the server
//!   down the screen says it is offline and shows the cached ones.
//! - The socket reconnects by itself (backoff) and resumes from the last
//!   `seq` it applied, so a drop loses nothing.
//! - A step that moves an order while the user watches a live shows a small
//!   toast that opens the order.
//! - Cancelling moves money: one `Idempotency-Key` per cancel, reused when
//!   the first attempt got no answer.
//!
//! Size: the orders screen and the user's own socket that feeds it, together.

use super::{App, HttpFailure, Pending, Then, Wake};
use crate::effects::{Effect, MeCommand, Method, StoreCommand};
use jiff::Timestamp;
use livecart_protocol::commerce::{Order, OrderStatus, RefundReason, RefundRequest};
use livecart_protocol::me::{MeEvent, MeFrame};
use livecart_protocol::{Epoch, ErrorCode, OrderId};
use std::collections::HashMap;

/// Reconnect delays (ms) of the user's socket.
const BACKOFF_MS: [u64; 6] = [250, 500, 1_000, 2_000, 4_000, 8_000];
/// How long an order toast stays.
pub const TOAST_MS: i64 = 6_000;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MeLink {
    #[default]
    Down,
    Connecting,
    Live,
}

/// A step of one of the user's orders, shown over whatever they watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderToast {
    pub order: OrderId,
    pub text: String,
    pub at_ms: i64,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Orders {
    /// Newest first.
    pub list: Vec<Order>,
    /// The orders screen is open.
    pub screen: bool,
    /// The order whose detail (timeline) is open.
    pub detail: Option<OrderId>,
    pub link: MeLink,
    /// The socket could not be reached (or dropped): the list is the cached
    /// one, the screen says so.
    pub offline: bool,
    /// Where the socket resumes from: the last event applied.
    pub resume: Option<(u64, Epoch)>,
    pub toast: Option<OrderToast>,
    /// A cancel or refund request waiting for its answer.
    pub busy: Option<OrderId>,
    /// The answer to the last cancel or refund request, on the detail.
    pub notice: Option<String>,
    /// The refund reason picker is open (on the detail).
    pub picking_reason: bool,
    /// One key per cancel, kept until the server answers for good.
    cancel_keys: HashMap<OrderId, String>,
    failures: u32,
    /// Timer armed for the next reconnect.
    reconnect_timer: Option<u64>,
}

/// The orders screen's events and an order toast's.
#[derive(Debug, Clone, PartialEq)]
pub enum OrdersEvent {
    /// The orders screen opens or closes.
    Open,
    Close,
    /// One order's detail (its timeline); also a tap on an order toast.
    OpenOrder(OrderId),
    CloseOrder,
    Cancel(OrderId),
    /// "Request refund": the reasons to pick from show (or hide).
    ToggleRefundReasons,
    RequestRefund {
        order: OrderId,
        reason: RefundReason,
    },
    DismissToast,
    /// The orders cached last time for the signed-in user.
    Cached(Vec<Order>),
}

/// What the buyer reads for a status.
pub fn status_words(s: OrderStatus) -> &'static str {
    match s {
        OrderStatus::Paid => "Paid",
        OrderStatus::Packed => "Packed",
        OrderStatus::Shipped => "Shipped",
        OrderStatus::OutForDelivery => "Out for delivery",
        OrderStatus::Delivered => "Delivered",
        OrderStatus::Cancelled => "Cancelled",
        OrderStatus::RefundRequested => "Refund requested",
        OrderStatus::Refunded => "Refunded",
        OrderStatus::Unknown => "Updated",
    }
}

fn toast_words(o: &Order) -> String {
    let what = &o.product_name;
    match o.status {
        OrderStatus::Packed => format!("{what} is packed"),
        OrderStatus::Shipped => format!("{what} has shipped"),
        OrderStatus::OutForDelivery => format!("{what} is out for delivery"),
        OrderStatus::Delivered => format!("{what} was delivered"),
        OrderStatus::Refunded => format!(
            "Refund for {what}: {} is back in your wallet",
            crate::view::price(&o.total)
        ),
        OrderStatus::Cancelled => format!("{what} was cancelled"),
        OrderStatus::RefundRequested => format!("Refund requested for {what}"),
        OrderStatus::Paid | OrderStatus::Unknown => format!("{what}: {}", status_words(o.status)),
    }
}

impl Orders {
    pub fn get(&self, id: OrderId) -> Option<&Order> {
        self.list.iter().find(|o| o.id == id)
    }

    /// Puts an order in (newest first); returns its previous status.
    fn upsert(&mut self, order: Order) -> Option<OrderStatus> {
        if let Some(o) = self.list.iter_mut().find(|o| o.id == order.id) {
            let before = o.status;
            *o = order;
            return Some(before);
        }
        self.list.push(order);
        self.list
            .sort_by(|a, b| b.created_at.cmp(&a.created_at).then(b.id.0.cmp(&a.id.0)));
        None
    }
}

impl App {
    /// The orders screen's events.
    pub(super) fn on_orders(&mut self, event: OrdersEvent, now: Timestamp) -> Vec<Effect> {
        match event {
            OrdersEvent::Open => return self.open_orders(now),
            OrdersEvent::Close => {
                self.orders.screen = false;
                self.close_order();
            }
            OrdersEvent::OpenOrder(id) => return self.open_order(id, now),
            OrdersEvent::CloseOrder => self.close_order(),
            OrdersEvent::Cancel(id) => return self.cancel_order(id, now),
            OrdersEvent::ToggleRefundReasons => {
                self.orders.picking_reason = !self.orders.picking_reason;
            }
            OrdersEvent::RequestRefund { order, reason } => {
                return self.request_refund(order, reason, now);
            }
            OrdersEvent::DismissToast => self.orders.toast = None,
            OrdersEvent::Cached(list) => self.orders_cached(list),
        }
        Vec::new()
    }

    /// After a sign-in (or a saved session): the cached orders at once, and
    /// the user's own socket.
    pub(super) fn start_orders(&mut self, now: Timestamp) -> Vec<Effect> {
        let Some(user) = self.session.user().map(|u| u.id) else {
            return Vec::new();
        };
        let mut effects = vec![Effect::Store(StoreCommand::LoadOrders(user))];
        effects.extend(self.connect_me(now));
        effects
    }

    pub(super) fn forget_orders(&mut self) -> Vec<Effect> {
        let was = self.orders.link != MeLink::Down;
        if let Some(t) = self.orders.reconnect_timer.take() {
            self.timers.remove(&t);
        }
        self.orders = Orders::default();
        if was {
            vec![Effect::Me(MeCommand::Close)]
        } else {
            Vec::new()
        }
    }

    /// Opens the user's socket (after a refresh if the token is stale).
    pub(super) fn connect_me(&mut self, now: Timestamp) -> Vec<Effect> {
        if self.orders.link != MeLink::Down || self.session.user().is_none() {
            return Vec::new();
        }
        if self.session.needs_refresh(now) {
            // `signed_in` connects once the fresh token is here.
            return self.start_refresh();
        }
        let Some(token) = self.session.access_token(now).map(str::to_owned) else {
            return Vec::new();
        };
        self.orders.link = MeLink::Connecting;
        vec![Effect::Me(MeCommand::Connect {
            resume: self.orders.resume,
            access_token: token,
        })]
    }

    pub(super) fn me_frame(&mut self, frame: MeFrame, now: Timestamp) -> Vec<Effect> {
        match frame {
            MeFrame::Welcome { resumed, .. } => {
                self.back_online();
                self.orders.link = MeLink::Live;
                self.orders.offline = false;
                self.orders.failures = 0;
                if !resumed {
                    // A snapshot follows; until it is here there is nothing
                    // to resume from (a drop now asks for a snapshot again).
                    self.orders.resume = None;
                }
                Vec::new()
            }
            MeFrame::Snapshot { snapshot } => {
                self.orders.resume = Some((snapshot.seq, snapshot.epoch));
                self.orders.list = snapshot.orders;
                self.set_balance(snapshot.balance);
                self.save_orders()
            }
            MeFrame::Event {
                seq, epoch, event, ..
            } => {
                let Some((last, mine)) = self.orders.resume else {
                    return Vec::new();
                };
                if epoch != mine || seq <= last {
                    return Vec::new();
                }
                if seq != last + 1 {
                    // A gap: start over from what we have (the server
                    // replays or sends a snapshot).
                    return self.me_dropped(now);
                }
                self.orders.resume = Some((seq, epoch));
                self.me_event(event, now)
            }
            MeFrame::Pong { .. } | MeFrame::Error { .. } => Vec::new(),
        }
    }

    fn me_event(&mut self, event: MeEvent, now: Timestamp) -> Vec<Effect> {
        match event {
            MeEvent::Order { order } => {
                let toast = OrderToast {
                    order: order.id,
                    text: toast_words(&order),
                    at_ms: now.as_millisecond(),
                };
                let status = order.status;
                let id = order.id;
                let before = self.orders.upsert(*order);
                // What the detail said about the last tap ("Refund requested
                // — the seller will answer soon") is stale once it moves on.
                if self.orders.detail == Some(id) && before.is_some_and(|b| b != status) {
                    self.orders.notice = None;
                }
                // While the user watches a live (not the orders themselves),
                // a step shows as a toast that opens the order.
                let watching = self.room.is_some() && !self.orders.screen && !self.feed.browsing;
                if watching && before.is_some_and(|b| b != status) {
                    self.orders.toast = Some(toast);
                }
                self.save_orders()
            }
            MeEvent::Wallet { balance } => {
                self.set_balance(balance);
                Vec::new()
            }
            MeEvent::Unknown => Vec::new(),
        }
    }

    fn save_orders(&self) -> Vec<Effect> {
        self.session
            .user()
            .map(|u| {
                Effect::Store(StoreCommand::SaveOrders {
                    user: u.id,
                    orders: self.orders.list.clone(),
                })
            })
            .into_iter()
            .collect()
    }

    /// The socket closed or could not open: say so, and try again soon.
    pub(super) fn me_dropped(&mut self, _now: Timestamp) -> Vec<Effect> {
        let mut effects = Vec::new();
        if self.orders.link != MeLink::Down {
            effects.push(Effect::Me(MeCommand::Close));
        }
        self.orders.link = MeLink::Down;
        if self.session.user().is_none() {
            return effects;
        }
        self.orders.offline = true;
        let delay = BACKOFF_MS[(self.orders.failures as usize).min(BACKOFF_MS.len() - 1)];
        self.orders.failures = self.orders.failures.saturating_add(1);
        let id = self.id();
        if let Some(old) = self.orders.reconnect_timer.replace(id) {
            self.timers.remove(&old);
        }
        self.timers.insert(id, Wake::Me);
        effects.push(Effect::Timer {
            id,
            after_ms: delay,
        });
        effects
    }

    /// The access token was refused (expired, or the server restarted with
    /// a new signing key): refresh it, then connect. Refused again right
    /// after a refresh: back off like any other failure.
    pub(super) fn me_unauthorized(&mut self, now: Timestamp) -> Vec<Effect> {
        let just_refreshed = self
            .refreshed_at
            .is_some_and(|t| now.as_millisecond() - t < 10_000);
        if just_refreshed || self.session.user().is_none() {
            return self.me_dropped(now);
        }
        self.orders.link = MeLink::Down;
        self.orders.offline = true;
        self.start_refresh()
    }

    /// A refresh got no answer: a user socket that waited for it tries
    /// again later (with its backoff) instead of staying down.
    pub(super) fn me_after_failed_refresh(&mut self, now: Timestamp) -> Vec<Effect> {
        if self.orders.link == MeLink::Down
            && self.orders.reconnect_timer.is_none()
            && self.session.user().is_some()
        {
            return self.me_dropped(now);
        }
        Vec::new()
    }

    pub(super) fn me_reconnect_due(&mut self, now: Timestamp) -> Vec<Effect> {
        self.orders.reconnect_timer = None;
        self.connect_me(now)
    }

    /// The cached orders (the store's answer to `LoadOrders`): shown until
    /// the socket's snapshot replaces them.
    pub(super) fn orders_cached(&mut self, list: Vec<Order>) {
        if self.orders.list.is_empty() && self.orders.link != MeLink::Live {
            self.orders.list = list;
        }
    }

    pub(super) fn open_orders(&mut self, now: Timestamp) -> Vec<Effect> {
        if self.session.user().is_none() {
            return self.need_account(Pending::Orders);
        }
        self.orders.screen = true;
        self.orders.toast = None;
        // Opening the screen is also "try now" when offline.
        if self.orders.link == MeLink::Down {
            if let Some(t) = self.orders.reconnect_timer.take() {
                self.timers.remove(&t);
            }
            return self.connect_me(now);
        }
        Vec::new()
    }

    pub(super) fn open_order(&mut self, id: OrderId, now: Timestamp) -> Vec<Effect> {
        let mut effects = Vec::new();
        if !self.orders.screen {
            effects = self.open_orders(now);
        }
        if self.orders.get(id).is_some() {
            self.orders.detail = Some(id);
            self.orders.notice = None;
            self.orders.picking_reason = false;
        }
        self.orders.toast = None;
        effects
    }

    pub(super) fn close_order(&mut self) {
        self.orders.detail = None;
        self.orders.notice = None;
        self.orders.picking_reason = false;
    }

    pub(super) fn cancel_order(&mut self, id: OrderId, now: Timestamp) -> Vec<Effect> {
        let Some(o) = self.orders.get(id) else {
            return Vec::new();
        };
        if !o.status.cancellable() || self.orders.busy.is_some() {
            return Vec::new();
        }
        self.orders.busy = Some(id);
        self.orders.notice = None;
        let fresh = self.ids.key(now);
        let key = self.orders.cancel_keys.entry(id).or_insert(fresh).clone();
        self.keyed(
            Method::Post,
            &format!("/v1/orders/{id}/cancel"),
            None,
            &key,
            now,
            Then::OrderChanged { order: id },
        )
    }

    pub(super) fn request_refund(
        &mut self,
        id: OrderId,
        reason: RefundReason,
        now: Timestamp,
    ) -> Vec<Effect> {
        if self.orders.get(id).is_none() || self.orders.busy.is_some() {
            return Vec::new();
        }
        self.orders.busy = Some(id);
        self.orders.picking_reason = false;
        self.orders.notice = None;
        let body = serde_json::to_value(RefundRequest { reason }).ok();
        self.authed_then(
            Method::Post,
            &format!("/v1/orders/{id}/refund-request"),
            body,
            now,
            Then::OrderChanged { order: id },
        )
    }

    /// The answer to a cancel or refund request.
    pub(super) fn order_changed(
        &mut self,
        id: OrderId,
        result: Result<Order, HttpFailure>,
    ) -> Vec<Effect> {
        self.orders.busy = None;
        match result {
            Err(HttpFailure::Unreadable(_)) => {
                // Done (2xx); the order's new state comes on the user's socket.
                self.orders.cancel_keys.remove(&id);
                self.orders.notice = Some(super::unreadable("The order's new state"));
                Vec::new()
            }
            Ok(order) => {
                self.orders.cancel_keys.remove(&id);
                self.orders.notice = Some(match order.status {
                    OrderStatus::Cancelled => format!(
                        "Cancelled — {} is back in your wallet",
                        crate::view::price(&order.total)
                    ),
                    OrderStatus::RefundRequested => {
                        "Refund requested — the seller will answer soon".to_owned()
                    }
                    OrderStatus::Refunded => "Refunded".to_owned(),
                    s => status_words(s).to_owned(),
                });
                self.orders.upsert(order);
                self.save_orders()
            }
            Err(HttpFailure::Status { problem, status })
                if status >= 500
                    || problem
                        .as_ref()
                        .is_some_and(|p| p.code == ErrorCode::IdempotencyInFlight) =>
            {
                // Not a definite answer: the same key goes again on the next tap.
                self.orders.notice =
                    Some("That did not go through yet — nothing changed; try again".into());
                Vec::new()
            }
            Err(HttpFailure::Status { problem, status }) => {
                // A refusal moved nothing: the next tap is a new request.
                self.orders.cancel_keys.remove(&id);
                self.orders.notice = Some(problem.map_or_else(
                    || format!("That did not work ({status}) — nothing changed"),
                    |p| capitalise(&p.detail),
                ));
                Vec::new()
            }
            Err(HttpFailure::Network(_)) => {
                // The same key goes again on the next tap.
                self.orders.notice = Some("You're offline — nothing changed yet; try again".into());
                Vec::new()
            }
        }
    }

    fn set_balance(&mut self, balance: livecart_protocol::Money) {
        if let Some(w) = self.shop.wallet.as_mut() {
            w.balance = balance;
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
