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
//! A part of the app that owns its state ([`Orders`]): it answers each
//! event with [`Cmd`]s (app/cmd.rs) and reads the rest of the app only
//! through a [`Cx`]; it never names the app.
//!
//! Size: the orders screen and the user's own socket that feeds it, together.

use super::answer::{HttpFailure, Then, unreadable};
use super::cmd::{Cmd, Cx, Pending, Wake};
use crate::effects::{Effect, MeCommand, Method, StoreCommand};
use crate::view::format::price;
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
#[allow(clippy::struct_excessive_bools)] // independent: the screen, the link, a picker, a timer
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
    /// A reconnect timer is armed.
    reconnect_armed: bool,
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

#[derive(Debug, Clone, PartialEq)]
pub enum MeUpdate {
    Frame(Box<MeFrame>),
    /// Closed, or could not connect.
    Closed,
    /// The server refused the access token at the upgrade (401).
    Unauthorized,
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
            price(&o.total)
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

impl Orders {
    /// The orders screen's events.
    pub(super) fn on_event(&mut self, event: OrdersEvent, cx: &mut Cx) -> Vec<Cmd> {
        match event {
            OrdersEvent::Open => return self.open(cx),
            OrdersEvent::Close => {
                self.screen = false;
                self.close_order();
            }
            OrdersEvent::OpenOrder(id) => return self.open_order(id, cx),
            OrdersEvent::CloseOrder => self.close_order(),
            OrdersEvent::Cancel(id) => return self.cancel(id, cx),
            OrdersEvent::ToggleRefundReasons => {
                self.picking_reason = !self.picking_reason;
            }
            OrdersEvent::RequestRefund { order, reason } => {
                return self.request_refund(order, reason);
            }
            OrdersEvent::DismissToast => self.toast = None,
            OrdersEvent::Cached(list) => self.cached(list),
        }
        Vec::new()
    }

    /// After a sign-in (or a saved session): the cached orders at once, and
    /// the user's own socket.
    pub(super) fn start(&mut self, cx: &Cx) -> Vec<Cmd> {
        let Some(user) = cx.session.user().map(|u| u.id) else {
            return Vec::new();
        };
        let mut cmds = vec![Cmd::Do(Effect::Store(StoreCommand::LoadOrders(user)))];
        cmds.extend(self.connect(cx));
        cmds
    }

    /// Signed out: nothing of this user's stays; the socket's close if it
    /// was open (the app forgets its `Wake::Me` timers).
    pub(super) fn forget(&mut self) -> Option<Effect> {
        let was = self.link != MeLink::Down;
        *self = Self::default();
        was.then_some(Effect::Me(MeCommand::Close))
    }

    /// Opens the user's socket (after a refresh if the token is stale).
    pub(super) fn connect(&mut self, cx: &Cx) -> Vec<Cmd> {
        if self.link != MeLink::Down || cx.session.user().is_none() {
            return Vec::new();
        }
        if cx.session.needs_refresh(cx.now) {
            // The app connects once the fresh token is here.
            return vec![Cmd::Refresh];
        }
        let Some(token) = cx.session.access_token(cx.now).map(str::to_owned) else {
            return Vec::new();
        };
        self.link = MeLink::Connecting;
        vec![Cmd::Do(Effect::Me(MeCommand::Connect {
            resume: self.resume,
            access_token: token,
        }))]
    }

    /// The user's socket: a frame, a close, a refusal.
    pub(super) fn on_me(&mut self, update: MeUpdate, cx: &Cx) -> Vec<Cmd> {
        match update {
            MeUpdate::Frame(frame) => self.frame(*frame, cx),
            MeUpdate::Closed => self.dropped(cx),
            MeUpdate::Unauthorized => self.unauthorized(cx),
        }
    }

    fn frame(&mut self, frame: MeFrame, cx: &Cx) -> Vec<Cmd> {
        match frame {
            MeFrame::Welcome { resumed, .. } => {
                self.link = MeLink::Live;
                self.offline = false;
                self.failures = 0;
                if !resumed {
                    // A snapshot follows; until it is here there is nothing
                    // to resume from (a drop now asks for a snapshot again).
                    self.resume = None;
                }
                vec![Cmd::BackOnline]
            }
            MeFrame::Snapshot { snapshot } => {
                self.resume = Some((snapshot.seq, snapshot.epoch));
                self.list = snapshot.orders;
                let mut cmds = vec![Cmd::SetBalance(snapshot.balance)];
                cmds.extend(self.save(cx));
                cmds
            }
            MeFrame::Event {
                seq, epoch, event, ..
            } => {
                let Some((last, mine)) = self.resume else {
                    return Vec::new();
                };
                if epoch != mine || seq <= last {
                    return Vec::new();
                }
                if seq != last + 1 {
                    // A gap: start over from what we have (the server
                    // replays or sends a snapshot).
                    return self.dropped(cx);
                }
                self.resume = Some((seq, epoch));
                self.me_event(event, cx)
            }
            MeFrame::Pong { .. } | MeFrame::Error { .. } => Vec::new(),
        }
    }

    fn me_event(&mut self, event: MeEvent, cx: &Cx) -> Vec<Cmd> {
        match event {
            MeEvent::Order { order } => {
                let toast = OrderToast {
                    order: order.id,
                    text: toast_words(&order),
                    at_ms: cx.now.as_millisecond(),
                };
                let status = order.status;
                let id = order.id;
                let before = self.upsert(*order);
                // What the detail said about the last tap ("Refund requested
                // — the seller will answer soon") is stale once it moves on.
                if self.detail == Some(id) && before.is_some_and(|b| b != status) {
                    self.notice = None;
                }
                // While the user watches a live (not the orders themselves),
                // a step shows as a toast that opens the order.
                if cx.watching && !self.screen && before.is_some_and(|b| b != status) {
                    self.toast = Some(toast);
                }
                self.save(cx)
            }
            MeEvent::Wallet { balance } => vec![Cmd::SetBalance(balance)],
            MeEvent::Unknown => Vec::new(),
        }
    }

    fn save(&self, cx: &Cx) -> Vec<Cmd> {
        cx.session
            .user()
            .map(|u| {
                Cmd::Do(Effect::Store(StoreCommand::SaveOrders {
                    user: u.id,
                    orders: self.list.clone(),
                }))
            })
            .into_iter()
            .collect()
    }

    /// The socket closed or could not open: say so, and try again soon.
    fn dropped(&mut self, cx: &Cx) -> Vec<Cmd> {
        let mut cmds = Vec::new();
        if self.link != MeLink::Down {
            cmds.push(Cmd::Do(Effect::Me(MeCommand::Close)));
        }
        self.link = MeLink::Down;
        if cx.session.user().is_none() {
            return cmds;
        }
        self.offline = true;
        let delay = BACKOFF_MS[(self.failures as usize).min(BACKOFF_MS.len() - 1)];
        self.failures = self.failures.saturating_add(1);
        self.reconnect_armed = true;
        cmds.push(Cmd::CancelTimers(Wake::Me));
        cmds.push(Cmd::Timer {
            wake: Wake::Me,
            after_ms: delay,
        });
        cmds
    }

    /// The access token was refused (expired, or the server restarted with
    /// a new signing key): refresh it, then connect. Refused again right
    /// after a refresh: back off like any other failure.
    fn unauthorized(&mut self, cx: &Cx) -> Vec<Cmd> {
        let just_refreshed = cx
            .refreshed_at
            .is_some_and(|t| cx.now.as_millisecond() - t < 10_000);
        if just_refreshed || cx.session.user().is_none() {
            return self.dropped(cx);
        }
        self.link = MeLink::Down;
        self.offline = true;
        vec![Cmd::Refresh]
    }

    /// A refresh got no answer: a user socket that waited for it tries
    /// again later (with its backoff) instead of staying down.
    pub(super) fn after_failed_refresh(&mut self, cx: &Cx) -> Vec<Cmd> {
        if self.link == MeLink::Down && !self.reconnect_armed && cx.session.user().is_some() {
            return self.dropped(cx);
        }
        Vec::new()
    }

    /// Its reconnect timer rang.
    pub(super) fn reconnect_due(&mut self, cx: &Cx) -> Vec<Cmd> {
        self.reconnect_armed = false;
        self.connect(cx)
    }

    /// The cached orders (the store's answer to `LoadOrders`): shown until
    /// the socket's snapshot replaces them.
    fn cached(&mut self, list: Vec<Order>) {
        if self.list.is_empty() && self.link != MeLink::Live {
            self.list = list;
        }
    }

    pub(super) fn open(&mut self, cx: &Cx) -> Vec<Cmd> {
        if cx.session.user().is_none() {
            return vec![Cmd::NeedAccount(Pending::Orders)];
        }
        self.screen = true;
        self.toast = None;
        // Opening the screen is also "try now" when offline.
        if self.link == MeLink::Down {
            let mut cmds = Vec::new();
            if std::mem::take(&mut self.reconnect_armed) {
                cmds.push(Cmd::CancelTimers(Wake::Me));
            }
            cmds.extend(self.connect(cx));
            return cmds;
        }
        Vec::new()
    }

    fn open_order(&mut self, id: OrderId, cx: &Cx) -> Vec<Cmd> {
        let mut cmds = Vec::new();
        if !self.screen {
            cmds = self.open(cx);
        }
        if self.get(id).is_some() {
            self.detail = Some(id);
            self.notice = None;
            self.picking_reason = false;
        }
        self.toast = None;
        cmds
    }

    fn close_order(&mut self) {
        self.detail = None;
        self.notice = None;
        self.picking_reason = false;
    }

    fn cancel(&mut self, id: OrderId, cx: &mut Cx) -> Vec<Cmd> {
        let Some(o) = self.get(id) else {
            return Vec::new();
        };
        if !o.status.cancellable() || self.busy.is_some() {
            return Vec::new();
        }
        self.busy = Some(id);
        self.notice = None;
        let fresh = cx.ids.key(cx.now);
        let key = self.cancel_keys.entry(id).or_insert(fresh).clone();
        vec![Cmd::Authed {
            method: Method::Post,
            path: format!("/v1/orders/{id}/cancel"),
            body: None,
            key: Some(key),
            then: Then::OrderChanged { order: id },
        }]
    }

    fn request_refund(&mut self, id: OrderId, reason: RefundReason) -> Vec<Cmd> {
        if self.get(id).is_none() || self.busy.is_some() {
            return Vec::new();
        }
        self.busy = Some(id);
        self.picking_reason = false;
        self.notice = None;
        vec![Cmd::Authed {
            method: Method::Post,
            path: format!("/v1/orders/{id}/refund-request"),
            body: serde_json::to_value(RefundRequest { reason }).ok(),
            key: None,
            then: Then::OrderChanged { order: id },
        }]
    }

    /// The answer to a cancel or refund request.
    pub(super) fn changed(
        &mut self,
        id: OrderId,
        result: Result<Order, HttpFailure>,
        cx: &Cx,
    ) -> Vec<Cmd> {
        self.busy = None;
        match result {
            Err(HttpFailure::Unreadable(_)) => {
                // Done (2xx); the order's new state comes on the user's socket.
                self.cancel_keys.remove(&id);
                self.notice = Some(unreadable("The order's new state"));
                Vec::new()
            }
            Ok(order) => {
                self.cancel_keys.remove(&id);
                self.notice = Some(match order.status {
                    OrderStatus::Cancelled => {
                        format!("Cancelled — {} is back in your wallet", price(&order.total))
                    }
                    OrderStatus::RefundRequested => {
                        "Refund requested — the seller will answer soon".to_owned()
                    }
                    OrderStatus::Refunded => "Refunded".to_owned(),
                    s => status_words(s).to_owned(),
                });
                self.upsert(order);
                self.save(cx)
            }
            Err(HttpFailure::Status { problem, status })
                if status >= 500
                    || problem
                        .as_ref()
                        .is_some_and(|p| p.code == ErrorCode::IdempotencyInFlight) =>
            {
                // Not a definite answer: the same key goes again on the next tap.
                self.notice =
                    Some("That did not go through yet — nothing changed; try again".into());
                Vec::new()
            }
            Err(HttpFailure::Status { problem, status }) => {
                // A refusal moved nothing: the next tap is a new request.
                self.cancel_keys.remove(&id);
                self.notice = Some(problem.map_or_else(
                    || format!("That did not work ({status}) — nothing changed"),
                    |p| capitalise(&p.detail),
                ));
                Vec::new()
            }
            Err(HttpFailure::Network(_)) => {
                // The same key goes again on the next tap.
                self.notice = Some("You're offline — nothing changed yet; try again".into());
                Vec::new()
            }
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}
