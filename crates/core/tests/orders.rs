//! Orders after the show, without a window or a network: the timeline moving
//! with the user's own socket, the toast over the live, the cached orders
//! offline and the refresh when the server is back, cancel and refunds with
//! every refusal.
//!
//! Size: tests, one story each, sharing their fixtures.

#![allow(clippy::disallowed_methods)] // fixtures: fresh ids and clock times, made here as a server would

use jiff::{SignedDuration, Timestamp};
use livecart_core::AccountEvent;
use livecart_core::effects::{HttpRequest, MeCommand, Method, StoreCommand};
use livecart_core::view::OrdersView;
use livecart_core::{App, Effect, Event, HttpFailure, MeUpdate, SocketUpdate};
use livecart_core::{OrdersEvent, WalletEvent};
use livecart_protocol::commerce::{
    Address, Order, OrderStatus, OrderStep, RefundReason, RefundRequest, Wallet,
};
use livecart_protocol::me::{MeEvent, MeFrame, MeSnapshot};
use livecart_protocol::rest::{
    FeedResponse, HostInfo, ImageRef, RoomSnapshot, RoomStatus, RoomSummary, SessionResponse,
    StreamProtocol, StreamUrl, UserRef,
};
use livecart_protocol::{
    AddressId, Currency, Epoch, ErrorCode, ImageId, Money, OrderId, Problem, ProductId, RoomId,
    ServerFrame, SkuId, UserId,
};

fn t0() -> Timestamp {
    "2026-11-22T10:00:00Z".parse().expect("time")
}

fn at(ms: i64) -> Timestamp {
    t0() + SignedDuration::from_millis(ms)
}

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::USD)
}

fn image() -> ImageRef {
    ImageRef {
        id: ImageId::new(),
        url: "http://x/i.jpg".into(),
        thumb_url: "http://x/t.jpg".into(),
    }
}

fn json(v: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(v).expect("json")
}

fn refusal(status: u16, code: ErrorCode, detail: &str) -> HttpFailure {
    HttpFailure::Status {
        status,
        problem: Some(Problem {
            kind: format!("/problems/{code:?}"),
            title: detail.into(),
            status,
            detail: detail.into(),
            code,
            retry_after_ms: None,
            min_protocol_version: None,
            price: None,
            stock: None,
            attempts_left: None,
        }),
    }
}

/// An order of a $29.00 jumper, bought at t0, that went through `steps`.
fn order(name: &str, steps: &[OrderStatus]) -> Order {
    Order {
        id: OrderId::new(),
        status: *steps.last().expect("a step"),
        room_id: RoomId::new(),
        room_title: "Cosy knits".into(),
        product_id: ProductId::new(),
        sku_id: SkuId::new(),
        product_name: name.into(),
        sku_name: "M".into(),
        image: image(),
        quantity: 1,
        unit_price: usd(2_900),
        total: usd(2_900),
        flash_sale_id: None,
        address: Address {
            id: AddressId::new(),
            name: "Ava Tran".into(),
            line1: "1 Market St".into(),
            line2: String::new(),
            city: "San Francisco".into(),
            region: "CA".into(),
            postal_code: "94105".into(),
            country: "US".into(),
            phone: "+1 415 555 0100".into(),
            is_default: true,
        },
        created_at: t0(),
        timeline: steps
            .iter()
            .enumerate()
            .map(|(i, s)| OrderStep {
                status: *s,
                at: at(i64::try_from(i).expect("i") * 20_000),
                note: String::new(),
            })
            .collect(),
        refund_reason: None,
        balance_after: None,
    }
}

fn moved(o: &Order, to: OrderStatus) -> Order {
    let mut o = o.clone();
    o.status = to;
    o.timeline.push(OrderStep {
        status: to,
        at: at(60_000),
        note: String::new(),
    });
    o
}

/// A signed-in viewer watching a live room, with the user's socket asked to
/// connect.
struct Viewer {
    app: App,
    user: UserId,
    effects: Vec<Effect>,
    now: i64,
    epoch: Epoch,
}

impl Viewer {
    fn new() -> Self {
        let mut app = App::default();
        let started = app.update(Event::Started, t0());
        let feed = find(&started, "/v1/feed").expect("feed");
        let room = RoomSummary {
            id: RoomId::new(),
            title: "knits".into(),
            category: "fashion".into(),
            host: HostInfo {
                id: UserId::new(),
                name: "Mia".into(),
                avatar: image(),
            },
            cover: image(),
            viewer_count: 10,
            streams: vec![StreamUrl {
                protocol: StreamProtocol::HttpFlv,
                url: "http://x/live/1.flv".into(),
            }],
            status: RoomStatus::Live,
        };
        app.update(
            Event::HttpDone {
                id: feed.id,
                result: Ok(json(&FeedResponse {
                    rooms: vec![room.clone()],
                })),
            },
            t0(),
        );
        let epoch = Epoch::new();
        app.update(
            Event::Socket {
                room: room.id,
                update: SocketUpdate::Frame(Box::new(ServerFrame::Snapshot {
                    snapshot: Box::new(RoomSnapshot {
                        room,
                        pinned: None,
                        products: Vec::new(),
                        flash_sale: None,
                        chat: Vec::new(),
                        viewer_count: 10,
                        like_count: 0,
                        seq: 1,
                        epoch,
                        server_time: t0(),
                    }),
                })),
            },
            t0(),
        );
        let user = UserId::new();
        let mut v = Self {
            app,
            user,
            effects: Vec::new(),
            now: 0,
            epoch: Epoch::new(),
        };
        v.update(Event::Account(AccountEvent::VaultLoaded(Some(Box::new(
            SessionResponse {
                access_token: "access".into(),
                access_expires_at: t0() + SignedDuration::from_hours(1),
                refresh_token: "refresh".into(),
                refresh_expires_at: t0() + SignedDuration::from_hours(24),
                user: livecart_protocol::rest::Profile {
                    id: user,
                    username: "ava".into(),
                    name: "Ava".into(),
                    role: livecart_protocol::rest::Role::Viewer,
                },
            },
        )))));
        assert!(
            v.effects
                .contains(&Effect::Store(StoreCommand::LoadOrders(user))),
            "the cached orders are read at sign-in"
        );
        assert_eq!(v.connects(), vec![None], "the user's socket opens");
        if let Some(w) = v.request("/v1/wallet") {
            v.answer(
                &w,
                Ok(json(&Wallet {
                    balance: usd(10_000),
                    pending_top_ups: Vec::new(),
                    pin_threshold: usd(10_000),
                })),
            );
        }
        v
    }

    fn update(&mut self, event: Event) -> &[Effect] {
        self.effects = self.app.update(event, at(self.now));
        &self.effects
    }

    fn request(&self, path: &str) -> Option<HttpRequest> {
        find(&self.effects, path)
    }

    fn answer(&mut self, req: &HttpRequest, result: Result<serde_json::Value, HttpFailure>) {
        self.update(Event::HttpDone { id: req.id, result });
    }

    fn connects(&self) -> Vec<Option<(u64, Epoch)>> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Me(MeCommand::Connect {
                    resume,
                    access_token,
                }) => {
                    assert_eq!(access_token, "access");
                    Some(*resume)
                }
                _ => None,
            })
            .collect()
    }

    fn saved(&self) -> Option<Vec<Order>> {
        self.effects.iter().find_map(|e| match e {
            Effect::Store(StoreCommand::SaveOrders { user, orders }) => {
                assert_eq!(*user, self.user);
                Some(orders.clone())
            }
            _ => None,
        })
    }

    fn timer(&self) -> Option<(u64, u64)> {
        self.effects.iter().find_map(|e| match e {
            Effect::Timer { id, after_ms } => Some((*id, *after_ms)),
            _ => None,
        })
    }

    fn frame(&mut self, f: MeFrame) {
        self.update(Event::Me(MeUpdate::Frame(Box::new(f))));
    }

    /// The socket says hello and sends the snapshot.
    fn live(&mut self, orders: Vec<Order>, balance: i64) {
        self.frame(MeFrame::Welcome {
            protocol_version: 1,
            user: UserRef {
                id: self.user,
                name: "Ava".into(),
            },
            epoch: self.epoch,
            seq: 0,
            server_time: t0(),
            heartbeat_ms: 15_000,
            resumed: false,
        });
        self.frame(MeFrame::Snapshot {
            snapshot: Box::new(MeSnapshot {
                orders,
                balance: usd(balance),
                seq: 0,
                epoch: self.epoch,
            }),
        });
    }

    fn event(&mut self, seq: u64, event: MeEvent) {
        self.frame(MeFrame::Event {
            seq,
            epoch: self.epoch,
            at: at(self.now),
            event,
        });
    }

    fn orders(&self) -> OrdersView {
        self.app
            .view(at(self.now))
            .orders
            .expect("the orders screen is open")
    }

    fn statuses(&self) -> Vec<String> {
        self.orders()
            .rows
            .iter()
            .map(|r| r.status.clone())
            .collect()
    }
}

fn find(effects: &[Effect], path: &str) -> Option<HttpRequest> {
    effects.iter().find_map(|e| match e {
        Effect::Http(r) if r.path == path => Some(r.clone()),
        _ => None,
    })
}

#[test]
#[allow(clippy::too_many_lines)] // one story, read top to bottom
fn the_timeline_moves_with_the_users_socket_and_a_step_toasts_over_the_live() {
    let mut v = Viewer::new();
    let jumper = order("Cable jumper", &[OrderStatus::Paid]);
    v.live(vec![jumper.clone()], 7_100);
    assert_eq!(v.saved(), Some(vec![jumper.clone()]), "kept for offline");

    // The seller packs it while Ava watches the live: a toast says so.
    v.now = 20_000;
    v.event(
        1,
        MeEvent::Order {
            order: Box::new(moved(&jumper, OrderStatus::Packed)),
        },
    );
    let toast = v
        .app
        .view(at(v.now))
        .order_toast
        .expect("a toast over the live");
    assert_eq!(toast.text, "Cable jumper is packed");
    assert_eq!(toast.order, jumper.id);
    assert!(
        v.app.view(at(v.now + 7_000)).order_toast.is_none(),
        "the toast goes after a few seconds"
    );
    // The balance follows on the same socket.
    v.event(
        2,
        MeEvent::Wallet {
            balance: usd(9_000),
        },
    );
    v.update(Event::Wallet(WalletEvent::Open));
    assert_eq!(
        v.app.view(at(v.now)).wallet.expect("wallet").balance,
        Some("$90.00".into())
    );
    v.update(Event::Wallet(WalletEvent::Close));

    // A tap on the toast opens the order: its timeline, steps to come.
    v.update(Event::Orders(OrdersEvent::OpenOrder(toast.order)));
    let detail = v.orders().detail.expect("the order's detail");
    let steps: Vec<_> = detail
        .steps
        .iter()
        .map(|s| (s.label.as_str(), s.done, s.current))
        .collect();
    assert_eq!(
        steps,
        [
            ("Paid", true, false),
            ("Packed", true, true),
            ("Shipped", false, false),
            ("Out for delivery", false, false),
            ("Delivered", false, false),
        ]
    );
    assert!(detail.bought_in.starts_with("Bought in Cosy knits"));
    assert!(detail.can_cancel);

    // On the orders screen a step updates the timeline without a toast.
    v.event(
        3,
        MeEvent::Order {
            order: Box::new(moved(
                &moved(&jumper, OrderStatus::Packed),
                OrderStatus::Shipped,
            )),
        },
    );
    assert!(v.app.view(at(v.now)).order_toast.is_none());
    let detail = v.orders().detail.expect("detail");
    assert_eq!(detail.row.status, "Shipped");
    assert!(!detail.can_cancel, "too late to cancel once shipped");

    // A drop between a welcome and its snapshot resumes from nothing: the
    // server sends a snapshot again (never "resumed" onto a stale list).
    v.update(Event::Me(MeUpdate::Closed));
    let (t, _) = v.timer().expect("reconnect");
    v.update(Event::Timer(t));
    assert_eq!(v.connects(), vec![Some((3, v.epoch))]);
    v.frame(MeFrame::Welcome {
        protocol_version: 1,
        user: UserRef {
            id: v.user,
            name: "Ava".into(),
        },
        epoch: v.epoch,
        seq: 3,
        server_time: t0(),
        heartbeat_ms: 15_000,
        resumed: false,
    });
    v.update(Event::Me(MeUpdate::Closed));
    let (t, _) = v.timer().expect("reconnect");
    v.update(Event::Timer(t));
    assert_eq!(v.connects(), vec![None], "no snapshot yet: ask for one");
    v.live(v.app.orders.list.clone(), 9_000);
    v.event(
        1,
        MeEvent::Wallet {
            balance: usd(9_000),
        },
    );
    // An old event is ignored; a gap reconnects from the last one applied.
    v.event(1, MeEvent::Wallet { balance: usd(1) });
    assert!(v.effects.is_empty(), "a duplicate changes nothing");
    v.event(3, MeEvent::Wallet { balance: usd(1) });
    assert!(v.effects.contains(&Effect::Me(MeCommand::Close)));
    let (timer, _) = v.timer().expect("a reconnect is armed");
    v.update(Event::Timer(timer));
    assert_eq!(
        v.connects(),
        vec![Some((1, v.epoch))],
        "resumes after seq 1"
    );
}

#[test]
fn offline_the_cached_orders_show_with_a_banner_and_refresh_when_the_server_is_back() {
    let mut v = Viewer::new();
    let jumper = order("Cable jumper", &[OrderStatus::Paid, OrderStatus::Packed]);
    v.update(Event::Orders(OrdersEvent::Cached(vec![jumper.clone()])));
    // The server does not answer.
    v.update(Event::Me(MeUpdate::Closed));
    let (first, delay) = v.timer().expect("it tries again by itself");
    assert_eq!(delay, 250);
    v.update(Event::Orders(OrdersEvent::Open));
    assert_eq!(
        v.orders().offline.as_deref(),
        Some("You're offline — showing your saved orders")
    );
    assert_eq!(v.statuses(), ["Packed"]);
    assert_eq!(v.connects(), vec![None], "opening the screen tries at once");
    v.update(Event::Me(MeUpdate::Closed));
    let (_, delay) = v.timer().expect("again");
    assert_eq!(delay, 500, "backing off");
    v.update(Event::Timer(first));
    assert!(v.connects().is_empty(), "a replaced timer does nothing");

    // Back: the snapshot replaces the cache, the banner goes.
    let (timer, _) = {
        v.update(Event::Me(MeUpdate::Closed));
        v.timer().expect("timer")
    };
    v.update(Event::Timer(timer));
    assert_eq!(v.connects(), vec![None]);
    let shipped = moved(&jumper, OrderStatus::Shipped);
    let socks = order("Wool socks", &[OrderStatus::Paid]);
    v.live(vec![socks.clone(), shipped.clone()], 5_000);
    assert_eq!(v.orders().offline, None);
    assert_eq!(v.statuses(), ["Paid", "Shipped"]);
    assert_eq!(v.saved(), Some(vec![socks, shipped]));
    // A cache answer arriving late does not overwrite the server's list.
    v.update(Event::Orders(OrdersEvent::Cached(vec![jumper])));
    assert_eq!(v.statuses(), ["Paid", "Shipped"]);
}

#[test]
fn cancel_before_shipping_refunds_and_retries_with_its_key_and_too_late_says_so() {
    let mut v = Viewer::new();
    let jumper = order("Cable jumper", &[OrderStatus::Paid]);
    let socks = order("Wool socks", &[OrderStatus::Paid, OrderStatus::Packed]);
    v.live(vec![jumper.clone(), socks.clone()], 5_000);
    v.update(Event::Orders(OrdersEvent::OpenOrder(jumper.id)));
    v.update(Event::Orders(OrdersEvent::Cancel(jumper.id)));
    let path = format!("/v1/orders/{}/cancel", jumper.id);
    let first = v.request(&path).expect("cancel sent");
    assert_eq!(first.method, Method::Post);
    let key = first
        .idempotency_key
        .clone()
        .expect("a key: cancelling moves money");
    assert!(v.orders().detail.expect("detail").busy);
    v.answer(&first, Err(HttpFailure::Network("refused".into())));
    assert_eq!(
        v.orders().detail.expect("detail").notice.as_deref(),
        Some("You're offline — nothing changed yet; try again")
    );
    v.update(Event::Orders(OrdersEvent::Cancel(jumper.id)));
    let again = v.request(&path).expect("sent again");
    assert_eq!(
        again.idempotency_key,
        Some(key),
        "the same key: refunded once"
    );
    let mut cancelled = moved(&jumper, OrderStatus::Cancelled);
    cancelled.timeline.last_mut().expect("step").note = "$29.00 back in your wallet".into();
    v.answer(&again, Ok(json(&cancelled)));
    let detail = v.orders().detail.expect("detail");
    assert_eq!(
        detail.notice.as_deref(),
        Some("Cancelled — $29.00 is back in your wallet")
    );
    assert_eq!(detail.row.status, "Cancelled");
    assert!(!detail.can_cancel);
    assert_eq!(
        detail.steps.last().expect("step").note,
        "$29.00 back in your wallet"
    );
    assert_eq!(v.saved().expect("kept").len(), 2);

    // The socks shipped before the app heard: the server says too late.
    v.update(Event::Orders(OrdersEvent::OpenOrder(socks.id)));
    v.update(Event::Orders(OrdersEvent::Cancel(socks.id)));
    let req = v
        .request(&format!("/v1/orders/{}/cancel", socks.id))
        .expect("sent");
    v.answer(
        &req,
        Err(refusal(
            409,
            ErrorCode::AlreadyShipped,
            "this order has already shipped; once it arrives you can ask for a refund",
        )),
    );
    assert_eq!(
        v.orders().detail.expect("detail").notice.as_deref(),
        Some("This order has already shipped; once it arrives you can ask for a refund")
    );
    // A shipped order offers no cancel at all.
    v.event(
        1,
        MeEvent::Order {
            order: Box::new(moved(&socks, OrderStatus::Shipped)),
        },
    );
    v.update(Event::Orders(OrdersEvent::Cancel(socks.id)));
    assert!(v.effects.is_empty());
}

#[test]
fn a_delivered_order_asks_for_a_refund_with_a_reason_and_a_closed_window_says_so() {
    let mut v = Viewer::new();
    let delivered = OrderStatus::DELIVERY.to_vec();
    let jumper = order("Cable jumper", &delivered);
    let old = order("Old scarf", &delivered);
    let early = order(
        "Beanie",
        &[OrderStatus::Paid, OrderStatus::Packed, OrderStatus::Shipped],
    );
    v.live(vec![jumper.clone(), old.clone(), early.clone()], 5_000);

    v.update(Event::Orders(OrdersEvent::OpenOrder(early.id)));
    assert!(
        !v.orders().detail.expect("detail").can_request_refund,
        "not delivered yet"
    );

    v.update(Event::Orders(OrdersEvent::OpenOrder(jumper.id)));
    let detail = v.orders().detail.expect("detail");
    assert!(detail.can_request_refund);
    assert!(detail.reasons.is_empty());
    v.update(Event::Orders(OrdersEvent::ToggleRefundReasons));
    let reasons = v.orders().detail.expect("detail").reasons;
    assert_eq!(reasons.len(), 4);
    v.update(Event::Orders(OrdersEvent::RequestRefund {
        order: jumper.id,
        reason: reasons[0].1,
    }));
    let req = v
        .request(&format!("/v1/orders/{}/refund-request", jumper.id))
        .expect("sent");
    let body: RefundRequest =
        serde_json::from_value(req.body.clone().expect("body")).expect("body");
    assert_eq!(body.reason, RefundReason::Damaged);
    let mut asked = moved(&jumper, OrderStatus::RefundRequested);
    asked.refund_reason = Some(RefundReason::Damaged);
    v.answer(&req, Ok(json(&asked)));
    let detail = v.orders().detail.expect("detail");
    assert_eq!(
        detail.notice.as_deref(),
        Some("Refund requested — the seller will answer soon")
    );
    assert_eq!(detail.row.status, "Refund requested");
    // The seller refunds: the timeline and the wallet show it.
    let mut refunded = moved(&asked, OrderStatus::Refunded);
    refunded.timeline.last_mut().expect("step").note = "$29.00 back in your wallet".into();
    v.event(
        1,
        MeEvent::Order {
            order: Box::new(refunded),
        },
    );
    v.event(
        2,
        MeEvent::Wallet {
            balance: usd(7_900),
        },
    );
    let detail = v.orders().detail.expect("detail");
    assert_eq!(detail.row.status, "Refunded");
    let labels: Vec<_> = detail.steps.iter().map(|s| s.label.as_str()).collect();
    assert_eq!(
        labels,
        [
            "Paid",
            "Packed",
            "Shipped",
            "Out for delivery",
            "Delivered",
            "Refund requested",
            "Refunded"
        ]
    );

    // Past the window: the server's words.
    v.update(Event::Orders(OrdersEvent::OpenOrder(old.id)));
    v.update(Event::Orders(OrdersEvent::RequestRefund {
        order: old.id,
        reason: RefundReason::ChangedMind,
    }));
    let req = v
        .request(&format!("/v1/orders/{}/refund-request", old.id))
        .expect("sent");
    v.answer(
        &req,
        Err(refusal(
            409,
            ErrorCode::RefundWindowClosed,
            "the 7-day refund window for this order has closed",
        )),
    );
    assert_eq!(
        v.orders().detail.expect("detail").notice.as_deref(),
        Some("The 7-day refund window for this order has closed")
    );
    assert_eq!(v.orders().detail.expect("detail").row.status, "Delivered");
}

#[test]
fn signing_out_closes_the_users_socket_and_forgets_their_orders() {
    let mut v = Viewer::new();
    v.live(vec![order("Cable jumper", &[OrderStatus::Paid])], 5_000);
    v.update(Event::Account(AccountEvent::SignOut));
    assert!(v.effects.contains(&Effect::Me(MeCommand::Close)));
    assert!(v.app.orders.list.is_empty());
    // Signed out, the orders screen asks to sign in.
    v.update(Event::Orders(OrdersEvent::Open));
    let view = v.app.view(at(v.now));
    assert!(view.orders.is_none());
    assert_eq!(
        view.sign_in.expect("sign-in sheet").reason,
        "Sign in to see your orders"
    );
}

/// After the server restarts with a new signing key, the socket's upgrade is
/// refused (401): the app refreshes the token once and connects with the
/// new one; refused again right after, it backs off instead of looping.
#[test]
fn a_refused_token_on_the_users_socket_is_refreshed_once_then_it_connects() {
    let mut v = Viewer::new();
    v.update(Event::Me(MeUpdate::Unauthorized));
    let refresh = v.request("/v1/session/refresh").expect("a refresh");
    let fresh = SessionResponse {
        access_token: "access2".into(),
        access_expires_at: at(3_600_000),
        refresh_token: "refresh2".into(),
        refresh_expires_at: at(86_400_000),
        user: livecart_protocol::rest::Profile {
            id: v.user,
            username: "ava".into(),
            name: "Ava".into(),
            role: livecart_protocol::rest::Role::Viewer,
        },
    };
    v.answer(&refresh, Ok(json(&fresh)));
    let tokens: Vec<_> = v
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::Me(MeCommand::Connect { access_token, .. }) => Some(access_token.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(tokens, ["access2"], "connects with the fresh token");
    v.update(Event::Me(MeUpdate::Unauthorized));
    assert!(
        v.request("/v1/session/refresh").is_none(),
        "no refresh loop"
    );
    assert!(v.timer().is_some(), "it backs off and tries later");
}

/// Offline past the token's life: the refresh gets no answer, and the
/// user's socket still tries again later instead of staying down.
#[test]
fn a_refresh_with_no_answer_leaves_the_users_socket_retrying() {
    let mut v = Viewer::new();
    v.update(Event::Me(MeUpdate::Unauthorized));
    let refresh = v.request("/v1/session/refresh").expect("a refresh");
    v.answer(&refresh, Err(HttpFailure::Network("offline".into())));
    let (timer, _) = v.timer().expect("a reconnect is armed");
    v.update(Event::Timer(timer));
    assert_eq!(v.connects(), vec![None], "it tries again");
}
