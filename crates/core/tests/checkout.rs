//! Buying and tipping without a window or a network: the three-tap checkout,
//! every way a payment can fail (and that each says "nothing was charged"),
//! the PIN step, "top up and pay", retries with the same key, the outbox after
//! a restart, the gift bar's combos and the wallet screen.
//!
//! Size: tests, one story each, sharing the Buyer fixture.

#![allow(clippy::disallowed_methods)] // fixtures: fresh ids and clock times, made here as a server would

use jiff::{SignedDuration, Timestamp};
use livecart_core::AccountEvent;
use livecart_core::app::PendingPayment;
use livecart_core::effects::{HttpRequest, Method, StoreCommand};
use livecart_core::view::ProductDetail;
use livecart_core::{App, Effect, Event, HttpFailure};
use livecart_core::{GiftsEvent, ShopEvent, WalletEvent};
use livecart_protocol::commerce::{
    Address, AddressList, GiftReceipt, Order, OrderStatus, PlaceOrderRequest, SendGiftRequest,
    TopUp, TopUpRequest, TopUpStatus, Wallet, WalletHistory,
};
use livecart_protocol::rest::{
    FeedResponse, Gift, GiftCatalog, HostInfo, ImageRef, Pin, Product, Profile, Role, RoomSnapshot,
    RoomStatus, RoomSummary, SessionResponse, Sku, StreamProtocol, StreamUrl,
};
use livecart_protocol::{
    AddressId, Currency, Epoch, ErrorCode, GiftId, GiftSendId, ImageId, Money, OrderId, Problem,
    ProductId, RoomId, ServerFrame, SkuId, TopUpId, UserId,
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

fn problem(status: u16, code: ErrorCode, detail: &str) -> HttpFailure {
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

fn with_price(mut f: HttpFailure, price: Money) -> HttpFailure {
    if let HttpFailure::Status {
        problem: Some(p), ..
    } = &mut f
    {
        p.price = Some(price);
    }
    f
}

fn offline() -> HttpFailure {
    HttpFailure::Network("connection refused".into())
}

/// A signed-in buyer in a live room whose host presents a jumper with a sold
/// out size S and a size M at $29.00.
struct Buyer {
    app: App,
    room: RoomId,
    user: UserId,
    jumper: Product,
    address: Address,
    effects: Vec<Effect>,
    now: i64,
}

impl Buyer {
    #[allow(clippy::too_many_lines)] // the fixture's room, products and sign-in, written out
    fn new(balance: i64, pin_threshold: i64) -> Self {
        let mut app = App::default();
        let started = app.update(Event::Started, t0());
        let feed = find(&started, "/v1/feed").expect("feed requested");
        let catalog = find(&started, "/v1/gifts").expect("the gift catalog is loaded at start");
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
            viewer_count: 1_200,
            streams: vec![StreamUrl {
                protocol: StreamProtocol::HttpFlv,
                url: "http://x/live/1.flv".into(),
            }],
            status: RoomStatus::Live,
        };
        app.update(
            Event::HttpDone {
                id: feed.id,
                result: Ok(serde_json::to_value(FeedResponse {
                    rooms: vec![room.clone()],
                })
                .expect("json")),
            },
            t0(),
        );
        app.update(
            Event::HttpDone {
                id: catalog.id,
                result: Ok(serde_json::to_value(GiftCatalog {
                    gifts: vec![
                        Gift {
                            id: GiftId::new(),
                            name: "Rocket".into(),
                            coins: 5_000,
                            animation: "rocket".into(),
                        },
                        Gift {
                            id: GiftId::new(),
                            name: "Rose".into(),
                            coins: 100,
                            animation: "rose".into(),
                        },
                    ],
                })
                .expect("json")),
            },
            t0(),
        );
        let jumper = Product {
            id: ProductId::new(),
            name: "Cable jumper".into(),
            description: "Warm".into(),
            image: image(),
            skus: vec![
                Sku {
                    id: SkuId::new(),
                    name: "S".into(),
                    price: usd(2_900),
                    stock: 0,
                },
                Sku {
                    id: SkuId::new(),
                    name: "M".into(),
                    price: usd(2_900),
                    stock: 5,
                },
            ],
        };
        let epoch = Epoch::new();
        let snapshot = RoomSnapshot {
            room: room.clone(),
            pinned: Some(Pin {
                product_id: jumper.id,
                pinned_at: t0(),
                stream_time: t0(),
            }),
            products: vec![jumper.clone()],
            flash_sale: None,
            chat: Vec::new(),
            viewer_count: 1_200,
            like_count: 10,
            seq: 1,
            epoch,
            server_time: t0(),
        };
        for f in [
            ServerFrame::Welcome {
                protocol_version: 1,
                room_id: room.id,
                epoch,
                seq: 1,
                server_time: t0(),
                heartbeat_ms: 15_000,
                resumed: false,
                user: None,
            },
            ServerFrame::Snapshot {
                snapshot: Box::new(snapshot),
            },
        ] {
            app.update(
                Event::Socket {
                    room: room.id,
                    update: livecart_core::SocketUpdate::Frame(Box::new(f)),
                },
                t0(),
            );
        }
        let user = UserId::new();
        let address = Address {
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
        };
        let mut b = Self {
            app,
            room: room.id,
            user,
            jumper,
            address,
            effects: Vec::new(),
            now: 0,
        };
        b.sign_in(balance, pin_threshold);
        b
    }

    /// A silent sign-in from the keyring: the wallet, the addresses and the
    /// outbox are loaded.
    fn sign_in(&mut self, balance: i64, pin_threshold: i64) {
        let session = session_of(self.user);
        self.update(Event::Account(AccountEvent::VaultLoaded(Some(Box::new(
            session,
        )))));
        assert!(
            self.effects
                .contains(&Effect::Store(StoreCommand::LoadPayments(self.user))),
            "the outbox is read for this user"
        );
        let wallet = self.request("/v1/wallet").expect("the wallet is loaded");
        let addresses = self.request("/v1/me/addresses").expect("addresses loaded");
        self.answer(
            &addresses,
            Ok(json(&AddressList {
                addresses: vec![self.address.clone()],
            })),
        );
        self.answer(&wallet, Ok(json(&wallet_of(balance, pin_threshold))));
    }

    fn update(&mut self, event: Event) -> &[Effect] {
        self.effects = self.app.update(event, at(self.now));
        &self.effects
    }

    fn later(&mut self, ms: i64) {
        self.now += ms;
    }

    fn request(&self, path: &str) -> Option<HttpRequest> {
        find(&self.effects, path)
    }

    fn answer(&mut self, req: &HttpRequest, result: Result<serde_json::Value, HttpFailure>) {
        self.update(Event::HttpDone { id: req.id, result });
    }

    fn sheet(&self) -> Option<ProductDetail> {
        self.app.view(at(self.now)).room.and_then(|r| r.product)
    }

    fn saved(&self) -> Option<PendingPayment> {
        self.effects.iter().find_map(|e| match e {
            Effect::Store(StoreCommand::SavePayment(p)) => Some((**p).clone()),
            _ => None,
        })
    }

    fn resolved(&self) -> Option<String> {
        self.effects.iter().find_map(|e| match e {
            Effect::Store(StoreCommand::ResolvePayment(k)) => Some(k.clone()),
            _ => None,
        })
    }

    fn timer(&self) -> Option<(u64, u64)> {
        self.effects.iter().find_map(|e| match e {
            Effect::Timer { id, after_ms } => Some((*id, *after_ms)),
            _ => None,
        })
    }

    /// Tap the card, "Buy now", "Pay": returns the payment the outbox is
    /// asked to save (nothing is sent yet).
    fn three_taps(&mut self) -> PendingPayment {
        self.update(Event::Shop(ShopEvent::OpenProduct(self.jumper.id)));
        self.update(Event::Shop(ShopEvent::BuyNow));
        self.update(Event::Shop(ShopEvent::Pay { pin: None }));
        assert!(
            self.request("/v1/orders").is_none(),
            "nothing is sent before the outbox has it"
        );
        self.saved().expect("the payment goes to the outbox first")
    }

    /// The outbox confirms: the order request goes out.
    fn saved_and_sent(&mut self, key: &str) -> HttpRequest {
        self.update(Event::Shop(ShopEvent::PaymentSaved(key.to_owned())));
        self.request("/v1/orders")
            .expect("the order is sent once saved")
    }

    fn order_for(&self, req: &HttpRequest, balance_after: i64) -> serde_json::Value {
        let r: PlaceOrderRequest =
            serde_json::from_value(req.body.clone().expect("body")).expect("an order request");
        let total = r
            .expected_unit_price
            .checked_mul(r.quantity)
            .expect("total");
        json(&Order {
            id: OrderId::new(),
            status: OrderStatus::Paid,
            room_id: self.room,
            room_title: "Cosy knits".into(),
            product_id: r.product_id,
            sku_id: r.sku_id,
            product_name: self.jumper.name.clone(),
            sku_name: "M".into(),
            image: image(),
            quantity: r.quantity,
            unit_price: r.expected_unit_price,
            total,
            flash_sale_id: None,
            address: self.address.clone(),
            created_at: t0(),
            timeline: Vec::new(),
            refund_reason: None,
            balance_after: Some(usd(balance_after)),
        })
    }
}

/// Ava's session, valid for an hour.
fn session_of(user: UserId) -> SessionResponse {
    SessionResponse {
        access_token: "access".into(),
        access_expires_at: t0() + SignedDuration::from_hours(1),
        refresh_token: "refresh".into(),
        refresh_expires_at: t0() + SignedDuration::from_hours(24),
        user: Profile {
            id: user,
            username: "ava".into(),
            name: "Ava".into(),
            role: Role::Viewer,
        },
    }
}

fn json(v: &impl serde::Serialize) -> serde_json::Value {
    serde_json::to_value(v).expect("json")
}

fn wallet_of(balance: i64, pin_threshold: i64) -> Wallet {
    Wallet {
        balance: usd(balance),
        pending_top_ups: Vec::new(),
        pin_threshold: usd(pin_threshold),
    }
}

fn find(effects: &[Effect], path: &str) -> Option<HttpRequest> {
    effects.iter().rev().find_map(|e| match e {
        Effect::Http(r) if r.path == path => Some(r.clone()),
        _ => None,
    })
}

fn body<T: serde::de::DeserializeOwned>(r: &HttpRequest) -> T {
    serde_json::from_value(r.body.clone().expect("a body")).expect("the expected body")
}

#[test]
fn three_taps_pay_once_with_the_key_saved_before_it_is_sent() {
    let mut b = Buyer::new(20_000, 10_000);
    b.update(Event::Shop(ShopEvent::OpenProduct(b.jumper.id)));
    let sheet = b.sheet().expect("the sheet slides up");
    assert_eq!(sheet.step, "choose");
    assert!(
        !sheet.skus[0].selected && sheet.skus[1].selected,
        "S is sold out: M preselected"
    );
    assert_eq!(sheet.quantity, 1);
    assert_eq!(
        sheet.address.as_deref(),
        Some("Ava Tran · 1 Market St, San Francisco")
    );
    assert_eq!(sheet.balance.as_deref(), Some("$200.00"));
    assert_eq!(sheet.primary, "Buy now");

    b.update(Event::Shop(ShopEvent::BuyNow));
    let sheet = b.sheet().expect("sheet");
    assert_eq!(
        (sheet.step, sheet.total.as_deref()),
        ("confirm", Some("$29.00"))
    );
    assert_eq!(sheet.primary, "Pay $29.00");

    b.update(Event::Shop(ShopEvent::Pay { pin: None }));
    let saved = b.saved().expect("outbox first");
    assert_eq!(saved.user, b.user);
    assert_eq!(saved.request.pin, None);
    assert_eq!(b.sheet().expect("sheet").primary, "Paying…");
    // A second tap while paying does nothing.
    assert!(
        b.update(Event::Shop(ShopEvent::Pay { pin: None }))
            .is_empty()
    );

    let sent = b.saved_and_sent(&saved.key);
    assert_eq!(sent.method, Method::Post);
    assert_eq!(sent.idempotency_key.as_deref(), Some(saved.key.as_str()));
    let req: PlaceOrderRequest = body(&sent);
    assert_eq!(req.sku_id, b.jumper.skus[1].id);
    assert_eq!((req.quantity, req.expected_unit_price), (1, usd(2_900)));
    assert_eq!(req.address_id, b.address.id);

    let order = b.order_for(&sent, 17_100);
    b.answer(&sent, Ok(order));
    assert_eq!(
        b.resolved().as_deref(),
        Some(saved.key.as_str()),
        "the outbox forgets it"
    );
    let view = b.app.view(at(b.now));
    assert_eq!(
        view.message.as_deref(),
        Some("Paid $29.00 · Cable jumper is on its way")
    );
    assert!(
        view.room.expect("still in the room").product.is_none(),
        "the sheet closed"
    );

    // Next time, the size bought is preselected; a new payment has a new key.
    b.update(Event::Shop(ShopEvent::OpenProduct(b.jumper.id)));
    assert!(b.sheet().expect("sheet").skus[1].selected);
    b.update(Event::Shop(ShopEvent::BuyNow));
    assert_eq!(
        b.sheet().expect("sheet").balance.as_deref(),
        Some("$171.00")
    );
    b.update(Event::Shop(ShopEvent::Pay { pin: None }));
    assert_ne!(b.saved().expect("saved").key, saved.key);
}

#[test]
fn the_quantity_stays_within_stock_and_a_sold_out_size_cannot_be_bought() {
    let mut b = Buyer::new(20_000, 100_000);
    b.update(Event::Shop(ShopEvent::OpenProduct(b.jumper.id)));
    b.update(Event::Shop(ShopEvent::SetQuantity(9)));
    let sheet = b.sheet().expect("sheet");
    assert_eq!((sheet.quantity, sheet.can_add), (5, false), "5 in stock");
    b.update(Event::Shop(ShopEvent::SelectSku(b.jumper.skus[0].id)));
    b.update(Event::Shop(ShopEvent::BuyNow));
    let sheet = b.sheet().expect("sheet");
    assert_eq!(sheet.step, "choose");
    assert_eq!(
        sheet.notice.as_deref(),
        Some("Sold out — pick another option")
    );
}

#[test]
fn big_totals_ask_for_the_pin_which_never_reaches_the_outbox() {
    let mut b = Buyer::new(20_000, 5_000);
    b.update(Event::Shop(ShopEvent::OpenProduct(b.jumper.id)));
    b.update(Event::Shop(ShopEvent::SetQuantity(2)));
    b.update(Event::Shop(ShopEvent::BuyNow));
    assert!(
        b.update(Event::Shop(ShopEvent::Pay { pin: None }))
            .is_empty()
    );
    assert_eq!(
        b.sheet().expect("sheet").step,
        "pin",
        "$58 ≥ $50 asks for the PIN"
    );

    b.update(Event::Shop(ShopEvent::Pay {
        pin: Some("0000".into()),
    }));
    let saved = b.saved().expect("saved");
    assert_eq!(saved.request.pin, None, "the outbox never holds the PIN");
    let sent = b.saved_and_sent(&saved.key);
    assert_eq!(
        body::<PlaceOrderRequest>(&sent).pin.as_deref(),
        Some("0000")
    );
    let mut wrong = problem(
        403,
        ErrorCode::PinRequired,
        "that PIN is not right; 4 tries left",
    );
    if let HttpFailure::Status {
        problem: Some(p), ..
    } = &mut wrong
    {
        p.attempts_left = Some(4);
    }
    b.answer(&sent, Err(wrong));
    let sheet = b.sheet().expect("sheet");
    assert_eq!(sheet.step, "pin");
    assert_eq!(
        sheet.pin_error.as_deref(),
        Some("That PIN isn't right — 4 tries left")
    );
    assert!(
        b.resolved().is_some(),
        "nothing was charged: the outbox forgets it"
    );

    b.update(Event::Shop(ShopEvent::Pay {
        pin: Some("1234".into()),
    }));
    let again = b.saved().expect("saved");
    let sent = b.saved_and_sent(&again.key);
    assert_eq!(
        body::<PlaceOrderRequest>(&sent).pin.as_deref(),
        Some("1234")
    );
    let order = b.order_for(&sent, 14_200);
    b.answer(&sent, Ok(order));
    assert!(
        b.app
            .view(at(0))
            .message
            .unwrap_or_default()
            .starts_with("Paid $58.00")
    );
}

#[test]
fn not_enough_balance_tops_up_and_then_pays_by_itself_with_the_same_key() {
    let mut b = Buyer::new(1_000, 100_000);
    b.update(Event::Shop(ShopEvent::OpenProduct(b.jumper.id)));
    b.update(Event::Shop(ShopEvent::BuyNow));
    assert_eq!(b.sheet().expect("sheet").primary, "Top up and pay $29.00");
    b.update(Event::Shop(ShopEvent::Pay { pin: None }));
    let saved = b.saved().expect("saved");
    b.update(Event::Shop(ShopEvent::PaymentSaved(saved.key.clone())));
    assert!(b.request("/v1/orders").is_none(), "the top-up comes first");
    let top_up = b.request("/v1/wallet/top-ups").expect("a top-up");
    let t: TopUpRequest = body(&top_up);
    assert_eq!(t.amount, usd(1_900), "what is missing, in whole dollars");
    assert_ne!(top_up.idempotency_key.as_deref(), Some(saved.key.as_str()));
    assert_eq!(b.sheet().expect("sheet").primary, "Topping up…");
    let id = TopUpId::new();
    let pending = TopUp {
        id,
        amount: t.amount,
        status: TopUpStatus::Pending,
        created_at: t0(),
        decline_reason: None,
        card_last4: "4242".into(),
    };
    b.answer(&top_up, Ok(json(&pending)));
    let (timer, _) = b.timer().expect("the top-up is looked at again");
    b.update(Event::Timer(timer));
    let poll = b
        .request(&format!("/v1/wallet/top-ups/{id}"))
        .expect("poll");
    b.answer(
        &poll,
        Ok(json(&TopUp {
            status: TopUpStatus::Succeeded,
            ..pending
        })),
    );
    let sent = b.request("/v1/orders").expect("then the order, by itself");
    assert_eq!(sent.idempotency_key.as_deref(), Some(saved.key.as_str()));
    let order = b.order_for(&sent, 0);
    b.answer(&sent, Ok(order));
    assert_eq!(b.resolved().as_deref(), Some(saved.key.as_str()));
    assert!(b.sheet().is_none());
}

#[test]
fn a_declined_top_up_says_so_and_charges_nothing() {
    let mut b = Buyer::new(1_000, 100_000);
    let saved = b.three_taps();
    b.update(Event::Shop(ShopEvent::PaymentSaved(saved.key.clone())));
    let top_up = b.request("/v1/wallet/top-ups").expect("top-up");
    b.answer(
        &top_up,
        Ok(json(&TopUp {
            id: TopUpId::new(),
            amount: usd(1_900),
            status: TopUpStatus::Declined,
            created_at: t0(),
            decline_reason: Some("the card was declined".into()),
            card_last4: "0002".into(),
        })),
    );
    let sheet = b.sheet().expect("the sheet stays");
    assert_eq!(sheet.step, "confirm");
    assert_eq!(
        sheet.notice.as_deref(),
        Some("Top-up declined: the card was declined — nothing was charged")
    );
    assert_eq!(b.resolved().as_deref(), Some(saved.key.as_str()));
    assert!(b.request("/v1/orders").is_none());
}

#[test]
fn a_changed_price_an_ended_sale_and_no_stock_each_say_what_happened() {
    let mut b = Buyer::new(20_000, 100_000);
    let saved = b.three_taps();
    let sent = b.saved_and_sent(&saved.key);
    b.answer(
        &sent,
        Err(with_price(
            problem(409, ErrorCode::PriceChanged, "The price changed"),
            usd(3_100),
        )),
    );
    let sheet = b.sheet().expect("sheet");
    assert_eq!(
        sheet.notice.as_deref(),
        Some("The price is now $31.00 — check and pay again. Nothing was charged")
    );
    assert_eq!(
        (sheet.step, sheet.primary.as_str()),
        ("confirm", "Pay $31.00")
    );
    assert_eq!(b.resolved().as_deref(), Some(saved.key.as_str()));
    // Paying at the new price is a new payment.
    b.update(Event::Shop(ShopEvent::Pay { pin: None }));
    let second = b.saved().expect("saved");
    assert_ne!(second.key, saved.key);
    assert_eq!(second.request.expected_unit_price, usd(3_100));

    let sent = b.saved_and_sent(&second.key);
    b.answer(
        &sent,
        Err(with_price(
            problem(409, ErrorCode::SaleEnded, "The flash sale has ended"),
            usd(3_500),
        )),
    );
    assert_eq!(
        b.sheet().expect("sheet").notice.as_deref(),
        Some("The flash sale has ended — the price is now $35.00. Nothing was charged")
    );

    b.update(Event::Shop(ShopEvent::Pay { pin: None }));
    let third = b.saved().expect("saved");
    let sent = b.saved_and_sent(&third.key);
    b.answer(&sent, Err(problem(409, ErrorCode::OutOfStock, "Sold out")));
    let sheet = b.sheet().expect("sheet");
    assert_eq!(
        sheet.notice.as_deref(),
        Some("Sold out — nothing was charged")
    );
    assert_eq!(sheet.step, "choose");
}

#[test]
fn no_answer_retries_with_the_same_key_until_it_parks_and_try_again_reuses_it() {
    let mut b = Buyer::new(20_000, 100_000);
    let saved = b.three_taps();
    let mut sent = b.saved_and_sent(&saved.key);
    for (i, want) in [1_000, 2_000, 4_000, 8_000].into_iter().enumerate() {
        let failure = if i == 1 {
            // The first attempt is still running on the server.
            problem(409, ErrorCode::IdempotencyInFlight, "still running")
        } else {
            offline()
        };
        b.answer(&sent, Err(failure));
        assert!(b.resolved().is_none(), "no answer: the outbox keeps it");
        assert_eq!(
            b.sheet().expect("sheet").notice.as_deref(),
            Some("Connection lost — retrying your payment…")
        );
        let (timer, after) = b.timer().expect("a retry is armed");
        assert_eq!(after, want);
        b.update(Event::Timer(timer));
        sent = b.request("/v1/orders").expect("sent again");
        assert_eq!(sent.idempotency_key.as_deref(), Some(saved.key.as_str()));
    }
    b.answer(&sent, Err(offline()));
    let sheet = b.sheet().expect("sheet");
    assert_eq!(sheet.primary, "Try again");
    assert!(
        sheet
            .notice
            .unwrap_or_default()
            .contains("your payment is saved")
    );
    b.update(Event::Shop(ShopEvent::Pay { pin: None }));
    let again = b.request("/v1/orders").expect("sent again");
    assert_eq!(again.idempotency_key.as_deref(), Some(saved.key.as_str()));
    let order = b.order_for(&again, 17_100);
    b.answer(&again, Ok(order));
    assert_eq!(b.resolved().as_deref(), Some(saved.key.as_str()));
}

#[test]
fn after_a_restart_the_outbox_finishes_payments_with_their_keys() {
    let mut first = Buyer::new(20_000, 100_000);
    let saved = first.three_taps();
    first.saved_and_sent(&saved.key);
    // The app dies here. The next run signs in and reads the outbox.
    let mut b = Buyer::new(20_000, 100_000);
    let other_user = PendingPayment {
        user: UserId::new(),
        key: "someone-else".into(),
        ..saved.clone()
    };
    let refused = PendingPayment {
        key: "refused".into(),
        user: b.user,
        ..saved.clone()
    };
    let mine = PendingPayment {
        user: b.user,
        ..saved.clone()
    };
    b.update(Event::Shop(ShopEvent::PaymentsLoaded(vec![
        mine.clone(),
        other_user,
        refused,
    ])));
    let sent: Vec<HttpRequest> = b
        .effects
        .iter()
        .filter_map(|e| match e {
            Effect::Http(r) if r.path == "/v1/orders" => Some(r.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 2, "only this user's payments");
    assert_eq!(sent[0].idempotency_key.as_deref(), Some(saved.key.as_str()));
    assert_eq!(body::<PlaceOrderRequest>(&sent[0]), saved.request);
    let order = b.order_for(&sent[0], 17_100);
    b.answer(&sent[0], Ok(order));
    assert_eq!(b.resolved().as_deref(), Some(saved.key.as_str()));
    assert_eq!(
        b.app.view(at(0)).message.as_deref(),
        Some("Your payment for Cable jumper went through ($29.00)")
    );
    b.answer(
        &sent[1],
        Err(problem(409, ErrorCode::OutOfStock, "Sold out")),
    );
    assert_eq!(b.resolved().as_deref(), Some("refused"));
    assert!(
        b.app
            .view(at(0))
            .message
            .unwrap_or_default()
            .contains("did not go through (Sold out) — nothing was charged")
    );
}

#[test]
fn gift_taps_within_three_seconds_build_a_combo_of_paid_requests() {
    let mut b = Buyer::new(1_000, 100_000);
    b.update(Event::Gifts(GiftsEvent::ToggleBar));
    let bar = b
        .app
        .view(at(0))
        .room
        .and_then(|r| r.gift_bar)
        .expect("the bar");
    assert_eq!(bar.gifts[0].name, "Rose", "cheapest first");
    assert_eq!(bar.gifts[1].coins, "5,000");
    assert_eq!(bar.coins.as_deref(), Some("1,000 coins"));
    let rose: GiftId = bar.gifts[0].id.parse().expect("id");
    let path = format!("/v1/rooms/{}/gifts", b.room);

    b.update(Event::Gifts(GiftsEvent::Send(rose)));
    let one = b.request(&path).expect("a paid request per tap");
    b.later(1_500);
    b.update(Event::Gifts(GiftsEvent::Send(rose)));
    let two = b.request(&path).expect("second tap");
    let (r1, r2): (SendGiftRequest, SendGiftRequest) = (body(&one), body(&two));
    assert_eq!(r1.combo_id, r2.combo_id, "one combo");
    assert_eq!((r1.count, r2.count), (1, 1));
    assert_ne!(
        one.idempotency_key, two.idempotency_key,
        "each tap is its own payment"
    );
    let bar = b
        .app
        .view(at(b.now))
        .room
        .and_then(|r| r.gift_bar)
        .expect("bar");
    assert_eq!(bar.gifts[0].combo.as_deref(), Some("x2"));
    assert_eq!(bar.coins.as_deref(), Some("800 coins"), "spent at once");

    b.answer(
        &two,
        Ok(json(&GiftReceipt {
            id: GiftSendId::new(),
            cost: usd(100),
            balance_after: usd(800),
            combo_count: 2,
        })),
    );
    b.answer(
        &one,
        Ok(json(&GiftReceipt {
            id: GiftSendId::new(),
            cost: usd(100),
            balance_after: usd(900),
            combo_count: 1,
        })),
    );
    let bar = b
        .app
        .view(at(b.now))
        .room
        .and_then(|r| r.gift_bar)
        .expect("bar");
    assert_eq!(
        bar.coins.as_deref(),
        Some("800 coins"),
        "a late answer does not undo a later one"
    );

    b.later(3_500);
    b.update(Event::Gifts(GiftsEvent::Send(rose)));
    let three: SendGiftRequest = body(&b.request(&path).expect("third"));
    assert_ne!(three.combo_id, r1.combo_id, "over 3 s later: a new combo");

    // The rocket costs more than what is left: said, not sent.
    let rocket: GiftId = bar.gifts[1].id.parse().expect("id");
    b.update(Event::Gifts(GiftsEvent::Send(rocket)));
    assert!(b.request(&path).is_none());
    assert_eq!(
        b.app.view(at(b.now)).message.as_deref(),
        Some("Not enough coins for a Rocket — top up in your wallet")
    );
}

#[test]
fn a_gift_with_no_answer_is_sent_once_more_with_its_key_then_reported() {
    let mut b = Buyer::new(1_000, 100_000);
    let rose = b.app.gifts.catalog[0].id;
    let path = format!("/v1/rooms/{}/gifts", b.room);
    b.update(Event::Gifts(GiftsEvent::Send(rose)));
    let first = b.request(&path).expect("sent");
    b.answer(&first, Err(offline()));
    let again = b.request(&path).expect("once more");
    assert_eq!(again.idempotency_key, first.idempotency_key);
    b.answer(&again, Err(offline()));
    assert_eq!(
        b.app.view(at(0)).message.as_deref(),
        Some("The gift was not sent — no connection")
    );
    b.update(Event::Gifts(GiftsEvent::ToggleBar));
    let bar = b
        .app
        .view(at(0))
        .room
        .and_then(|r| r.gift_bar)
        .expect("bar");
    assert_eq!(
        bar.coins.as_deref(),
        Some("1,000 coins"),
        "nothing counted as spent"
    );
}

#[test]
fn the_wallet_shows_balance_history_and_a_top_up_from_pending_to_done() {
    let mut b = Buyer::new(20_000, 100_000);
    b.update(Event::Wallet(WalletEvent::Open));
    let history = b.request("/v1/wallet/entries").expect("history loaded");
    b.answer(
        &history,
        Ok(json(&WalletHistory {
            entries: vec![livecart_protocol::commerce::WalletEntry {
                txn_id: livecart_protocol::TxnId::new(),
                kind: livecart_protocol::commerce::MovementKind::Order,
                amount: usd(-2_900),
                balance_after: usd(17_100),
                description: "Order: Cable jumper × 1".into(),
                at: t0(),
            }],
            next_before: None,
        })),
    );
    let w = b.app.view(at(0)).wallet.expect("the wallet screen");
    assert_eq!(w.balance.as_deref(), Some("$200.00"));
    assert_eq!(w.history[0].amount, "−$29.00");
    assert_eq!(w.history[0].what, "Order: Cable jumper × 1");

    b.update(Event::Wallet(WalletEvent::TopUp {
        amount_minor: 5_000,
        card: "4242 4242 4242 4242".into(),
    }));
    let top_up = b.request("/v1/wallet/top-ups").expect("top-up");
    let key = top_up.idempotency_key.clone().expect("keyed");
    assert!(b.app.view(at(0)).wallet.expect("wallet").busy);
    // No answer: once more with the same key, then it waits for a tap,
    // which still uses the same key.
    b.answer(&top_up, Err(offline()));
    let again = b.request("/v1/wallet/top-ups").expect("again");
    assert_eq!(again.idempotency_key.as_deref(), Some(key.as_str()));
    b.answer(&again, Err(offline()));
    assert!(b.request("/v1/wallet/top-ups").is_none());
    b.update(Event::Wallet(WalletEvent::TopUp {
        amount_minor: 5_000,
        card: "4242 4242 4242 4242".into(),
    }));
    let tapped = b.request("/v1/wallet/top-ups").expect("tapped again");
    assert_eq!(tapped.idempotency_key.as_deref(), Some(key.as_str()));

    let id = TopUpId::new();
    b.answer(
        &tapped,
        Ok(json(&TopUp {
            id,
            amount: usd(5_000),
            status: TopUpStatus::Succeeded,
            created_at: t0(),
            decline_reason: None,
            card_last4: "4242".into(),
        })),
    );
    assert!(b.request("/v1/wallet").is_some(), "the balance is reloaded");
    assert!(b.request("/v1/wallet/entries").is_some(), "and the history");
    let w = b.app.view(at(0)).wallet.expect("wallet");
    assert_eq!(w.notice.as_deref(), Some("Added $50.00"));
    assert!(!w.busy);
}

#[test]
fn buying_signed_out_asks_to_sign_in_and_comes_back_to_the_total() {
    let mut b = Buyer::new(20_000, 100_000);
    b.update(Event::Account(AccountEvent::SignOut));
    b.update(Event::Shop(ShopEvent::OpenProduct(b.jumper.id)));
    assert!(!b.sheet().expect("anyone can look").signed_in);
    b.update(Event::Shop(ShopEvent::BuyNow));
    let view = b.app.view(at(0));
    assert_eq!(
        view.sign_in.expect("sign-in sheet").reason,
        "Sign in to buy"
    );
    b.update(Event::Account(AccountEvent::SignIn {
        username: "ava".into(),
        password: "livecart".into(),
    }));
    let sign_in = b.request("/v1/session").expect("signing in");
    b.answer(&sign_in, Ok(json(&session_of(b.user))));
    assert_eq!(b.sheet().expect("back to the sheet").step, "confirm");
    let wallet_calls = b
        .effects
        .iter()
        .filter(|e| matches!(e, Effect::Http(r) if r.path == "/v1/wallet"))
        .count();
    assert_eq!(wallet_calls, 1, "the wallet is asked for once");
    let wallet = b.request("/v1/wallet").expect("wallet");
    let addresses = b.request("/v1/me/addresses").expect("addresses");
    b.answer(&wallet, Ok(json(&wallet_of(20_000, 100_000))));
    b.answer(
        &addresses,
        Ok(json(&AddressList {
            addresses: vec![b.address.clone()],
        })),
    );
    assert_eq!(b.sheet().expect("sheet").primary, "Pay $29.00");
}

#[test]
fn card_numbers_are_checked_and_grouped_as_a_shop_form_does() {
    use livecart_core::app::card_number;
    assert_eq!(
        card_number("4242424242424242").as_deref(),
        Ok("4242 4242 4242 4242")
    );
    assert_eq!(
        card_number(" 4000-0000-0000-0002 ").as_deref(),
        Ok("4000 0000 0000 0002")
    );
    assert_eq!(card_number(""), Err("Enter your card number"));
    assert!(card_number("4242 4242").is_err_and(|e| e.contains("too short")));
    assert!(card_number("4242 4242 4242 4241").is_err_and(|e| e.contains("typo")));
    assert!(card_number("4242 42x2 4242 4242").is_err_and(|e| e.contains("only digits")));
    assert!(card_number(&"4".repeat(20)).is_err_and(|e| e.contains("too long")));
}

/// A 2xx answer whose body is not what the request expects: the answer's
/// type is fixed by the call, and a body that does not decode is said on
/// screen (or, where the server acted, treated as done and reloaded) —
/// never dropped without a word.
#[test]
#[allow(clippy::result_large_err)] // an answer as the shell hands it over
fn answers_that_do_not_decode_are_said_or_reloaded_never_dropped() {
    let garbled = || Ok(serde_json::json!({ "unexpected": true }));

    // A payment the server took but whose order cannot be read: paid, the
    // sheet closes, the wallet is read again, and the key stays in the
    // outbox (a later replay shows the order).
    let mut b = Buyer::new(20_000, 10_000);
    let saved = b.three_taps();
    let sent = b.saved_and_sent(&saved.key);
    b.answer(&sent, garbled());
    assert_eq!(
        b.app.view(at(b.now)).message.as_deref(),
        Some("Paid — the order will show in your orders")
    );
    assert!(
        b.request("/v1/wallet").is_some(),
        "the balance is read again"
    );
    assert_eq!(b.resolved(), None, "the outbox keeps the key");

    // The wallet on its own: before, a body that was not a wallet left the
    // old balance on screen without a word.
    b.update(Event::Wallet(WalletEvent::Open));
    let wallet = b.request("/v1/wallet").expect("the wallet is loaded");
    b.answer(&wallet, garbled());
    let said = b.app.view(at(b.now)).message.unwrap_or_default();
    assert!(
        said.starts_with("Your wallet could not be read"),
        "said: {said:?}"
    );

    // A gift the server sent whose receipt is unreadable: counted as sent,
    // the balance comes from the wallet.
    let rose = b.app.gifts.catalog[0].id;
    b.update(Event::Gifts(GiftsEvent::Send(rose)));
    let gift = b
        .request(&format!("/v1/rooms/{}/gifts", b.room))
        .expect("sent");
    b.answer(&gift, garbled());
    assert!(
        b.request("/v1/wallet").is_some(),
        "the balance is read again"
    );
    assert!(
        b.request(&format!("/v1/rooms/{}/gifts", b.room)).is_none(),
        "not sent twice"
    );

    // A top-up from the wallet screen whose answer cannot be read: the
    // screen says so (not "did not go through") and reads the wallet.
    b.update(Event::Wallet(WalletEvent::TopUp {
        amount_minor: 5_000,
        card: "4242 4242 4242 4242".into(),
    }));
    let top_up = b.request("/v1/wallet/top-ups").expect("top-up sent");
    b.answer(&top_up, garbled());
    let notice = b
        .app
        .view(at(b.now))
        .wallet
        .and_then(|w| w.notice)
        .unwrap_or_default();
    assert!(
        notice.starts_with("The top-up's answer could not be read"),
        "notice: {notice:?}"
    );
    assert!(
        b.request("/v1/wallet").is_some(),
        "the balance is read again"
    );
}
