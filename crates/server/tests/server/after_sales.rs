//! After the show: orders moving along on the buyer's own socket, cancel
//! and refunds through the ledger, and nobody seeing anyone else's orders.
//!
//! Size: integration tests, one story each, sharing the test server.

use crate::support::{Client, TestServer, WAIT, problem};
use futures_util::{SinkExt, StreamExt};
use livecart_protocol::commerce::{
    AddressList, IDEMPOTENCY_HEADER, Order, OrderStatus, PlaceOrderRequest, REPLAYED_HEADER,
    RefundReason, RefundRequest, TopUpRequest, Wallet,
};
use livecart_protocol::me::{MeEvent, MeFrame};
use livecart_protocol::{Currency, Epoch, ErrorCode, Money, PROTOCOL_HEADER, PROTOCOL_VERSION};
use livecart_server::ServerConfig;
use tokio_tungstenite::tungstenite::Message;

const DEMO_BALANCE: i64 = 20_000;

struct User {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl User {
    async fn sign_in(server: &TestServer, name: &str) -> Self {
        Self {
            http: server.http.clone(),
            base: server.handle.base_url.clone(),
            token: server.sign_in(name).await.access_token,
        }
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
    }

    async fn get(&self, path: &str) -> reqwest::Response {
        self.req(reqwest::Method::GET, path)
            .send()
            .await
            .expect("get")
    }

    async fn balance(&self) -> i64 {
        let w: Wallet = self.get("/v1/wallet").await.json().await.expect("wallet");
        w.balance.amount_minor
    }

    async fn order(&self, id: livecart_protocol::OrderId) -> Order {
        let res = self.get(&format!("/v1/orders/{id}")).await;
        assert_eq!(res.status(), 200);
        res.json().await.expect("order")
    }

    async fn cancel(&self, id: livecart_protocol::OrderId, key: &str) -> reqwest::Response {
        self.req(reqwest::Method::POST, &format!("/v1/orders/{id}/cancel"))
            .header(IDEMPOTENCY_HEADER, key)
            .send()
            .await
            .expect("cancel")
    }

    async fn ask_refund(&self, id: livecart_protocol::OrderId) -> reqwest::Response {
        self.req(
            reqwest::Method::POST,
            &format!("/v1/orders/{id}/refund-request"),
        )
        .json(&RefundRequest {
            reason: RefundReason::Damaged,
        })
        .send()
        .await
        .expect("refund request")
    }

    /// Buys one of the first cheap SKU of the first room; returns the order.
    async fn buy(&self, server: &TestServer) -> Order {
        let snap = server.snapshot(server.room().await).await;
        let (p, sku) = snap
            .products
            .iter()
            .find_map(|p| {
                p.skus
                    .iter()
                    .find(|s| s.stock >= 2 && s.price.amount_minor < 5_000)
                    .map(|s| (p, s))
            })
            .expect("a cheap SKU");
        let addresses: AddressList = self
            .get("/v1/me/addresses")
            .await
            .json()
            .await
            .expect("addresses");
        let res = self
            .req(reqwest::Method::POST, "/v1/orders")
            .header(IDEMPOTENCY_HEADER, uuid::Uuid::now_v7().to_string())
            .json(&PlaceOrderRequest {
                product_id: p.id,
                sku_id: sku.id,
                quantity: 1,
                address_id: addresses.addresses[0].id,
                expected_unit_price: sku.price,
                flash_sale_id: None,
                video_delay_ms: 0,
                pin: None,
            })
            .send()
            .await
            .expect("order");
        assert_eq!(res.status(), 201);
        res.json().await.expect("order")
    }

    async fn socket(&self, server: &TestServer, resume: Option<(u64, Epoch)>) -> MeSocket {
        let resume = resume
            .map(|(s, e)| format!("&since={s}&epoch={e}"))
            .unwrap_or_default();
        let url = server
            .handle
            .ws_url(&format!("/v1/me/live?v={PROTOCOL_VERSION}{resume}"));
        MeSocket(
            Client::connect(&url, Some(&self.token))
                .await
                .expect("me socket"),
        )
    }
}

struct MeSocket(Client);

impl MeSocket {
    async fn next(&mut self) -> MeFrame {
        loop {
            let msg = tokio::time::timeout(WAIT, self.0.ws.next())
                .await
                .expect("a frame in time")
                .expect("open")
                .expect("frame");
            if let Message::Text(t) = msg {
                return serde_json::from_str(&t).expect("a me frame");
            }
        }
    }

    /// Events until `until` says stop; their seqs must run without a gap.
    async fn events_until(
        &mut self,
        mut seq: u64,
        until: impl Fn(&MeEvent) -> bool,
    ) -> (u64, Vec<MeEvent>) {
        let mut seen = Vec::new();
        loop {
            match self.next().await {
                MeFrame::Event { seq: s, event, .. } => {
                    assert_eq!(s, seq + 1, "gap-free seqs");
                    seq = s;
                    let stop = until(&event);
                    seen.push(event);
                    if stop {
                        return (seq, seen);
                    }
                }
                other => panic!("expected an event, got {other:?}"),
            }
        }
    }
}

fn order_status(e: &MeEvent) -> Option<OrderStatus> {
    match e {
        MeEvent::Order { order } => Some(order.status),
        _ => None,
    }
}

fn fast(step_ms: u64) -> impl FnOnce(&mut ServerConfig) {
    move |c| {
        c.money.order_step_ms = step_ms;
        c.money.refund_delay_ms = 100;
    }
}

/// The buyer watches their order go paid → packed → shipped → out for
/// delivery → delivered on their own socket (and on its timeline); a
/// reconnect picks up what it missed; another user's socket hears nothing
/// and their REST calls find nothing.
#[tokio::test]
async fn an_order_moves_to_delivered_on_the_buyers_own_socket_and_nobody_elses() {
    let server = TestServer::start_with(fast(150)).await;
    let ava = User::sign_in(&server, "ava").await;
    let ben = User::sign_in(&server, "ben").await;

    let mut mine = ava.socket(&server, None).await;
    let MeFrame::Welcome {
        seq,
        epoch,
        resumed,
        user,
        ..
    } = mine.next().await
    else {
        panic!("welcome first");
    };
    assert_eq!(user.name, "Ava");
    assert!(!resumed);
    let MeFrame::Snapshot { snapshot } = mine.next().await else {
        panic!("then a snapshot");
    };
    assert_eq!(snapshot.balance.amount_minor, DEMO_BALANCE);
    let mut theirs = ben.socket(&server, None).await;
    assert!(matches!(theirs.next().await, MeFrame::Welcome { .. }));
    assert!(matches!(theirs.next().await, MeFrame::Snapshot { .. }));

    let order = ava.buy(&server).await;
    let (after_paid, first) = mine
        .events_until(seq, |e| matches!(e, MeEvent::Wallet { .. }))
        .await;
    assert_eq!(order_status(&first[0]), Some(OrderStatus::Paid));
    assert!(
        matches!(first[1], MeEvent::Wallet { balance } if Some(balance) == order.balance_after),
        "the new balance follows the order: {first:?}"
    );
    let (last, steps) = mine
        .events_until(after_paid, |e| {
            order_status(e) == Some(OrderStatus::Delivered)
        })
        .await;
    let statuses: Vec<_> = steps.iter().filter_map(order_status).collect();
    assert_eq!(
        statuses,
        [
            OrderStatus::Packed,
            OrderStatus::Shipped,
            OrderStatus::OutForDelivery,
            OrderStatus::Delivered
        ]
    );
    let now = ava.order(order.id).await;
    let timeline: Vec<_> = now.timeline.iter().map(|s| s.status).collect();
    assert_eq!(
        timeline,
        OrderStatus::DELIVERY,
        "every step on the timeline"
    );
    assert!(now.timeline.windows(2).all(|w| w[0].at <= w[1].at));
    assert!(!now.room_title.is_empty(), "the live it was bought in");

    // A reconnect after the first two events gets the rest, not a snapshot.
    let mut again = ava.socket(&server, Some((after_paid, epoch))).await;
    let MeFrame::Welcome { resumed, seq, .. } = again.next().await else {
        panic!("welcome");
    };
    assert!(resumed);
    assert_eq!(seq, last);
    let (_, replayed) = again
        .events_until(after_paid, |e| {
            order_status(e) == Some(OrderStatus::Delivered)
        })
        .await;
    assert_eq!(replayed, steps);
    // An epoch from another server run gets a snapshot instead.
    let mut stale = ava.socket(&server, Some((after_paid, Epoch::new()))).await;
    assert!(matches!(
        stale.next().await,
        MeFrame::Welcome { resumed: false, .. }
    ));
    let MeFrame::Snapshot { snapshot } = stale.next().await else {
        panic!("a snapshot");
    };
    assert_eq!(snapshot.orders[0].status, OrderStatus::Delivered);

    // Ben heard nothing: the first frame after his ping is the pong.
    theirs
        .0
        .ws
        .send(Message::text(r#"{"type":"ping","nonce":7}"#))
        .await
        .expect("ping");
    assert_eq!(theirs.next().await, MeFrame::Pong { nonce: 7 });
    // And finds nothing of Ava's.
    let res = ben.get(&format!("/v1/orders/{}", order.id)).await;
    assert_eq!(res.status(), 404);
    assert_eq!(ben.cancel(order.id, "k1").await.status(), 404);
    assert_eq!(ben.ask_refund(order.id).await.status(), 404);
    // No token, no socket.
    let url = server
        .handle
        .ws_url(&format!("/v1/me/live?v={PROTOCOL_VERSION}"));
    assert!(Client::connect(&url, None).await.is_err());
    assert!(Client::connect(&url, Some("forged")).await.is_err());
}

async fn set_status(server: &TestServer, order: &Order, status: &str, delivered_days_ago: i64) {
    let delivered =
        jiff::Timestamp::now() - jiff::SignedDuration::from_hours(24 * delivered_days_ago);
    sqlx::query("UPDATE orders SET status = ?, delivered_at = ? WHERE id = ?")
        .bind(status)
        .bind(delivered.to_string())
        .bind(order.id.to_string())
        .execute(&server.handle.state.writer)
        .await
        .expect("status");
}

async fn ledger_ok(server: &TestServer) {
    let report = livecart_server::check_ledger(&server.handle.state.db)
        .await
        .expect("ledger check");
    assert!(report.ok(), "{report}");
}

/// Cancel before shipping: the money is back in the wallet through the
/// ledger, the units back on sale, a replay answers the same; after
/// shipping it is too late. A refund can be asked for once delivered and
/// within the window; the merchant refunds it and the wallet shows it.
#[tokio::test]
async fn cancel_before_shipping_and_refunds_after_delivery_go_through_the_ledger() {
    // Orders stay where the test puts them; refunds come after 100 ms.
    let server = TestServer::start_with(fast(3_600_000)).await;
    let ava = User::sign_in(&server, "ava").await;

    let first = ava.buy(&server).await;
    assert_eq!(ava.balance().await, DEMO_BALANCE - first.total.amount_minor);
    let res = ava.cancel(first.id, "cancel-1").await;
    assert_eq!(res.status(), 200);
    let cancelled: Order = res.json().await.expect("order");
    assert_eq!(cancelled.status, OrderStatus::Cancelled);
    let last = cancelled.timeline.last().expect("a step");
    assert_eq!(last.status, OrderStatus::Cancelled);
    assert!(
        last.note.contains(&first.total.to_string()),
        "{}",
        last.note
    );
    assert_eq!(ava.balance().await, DEMO_BALANCE, "all of it back");
    let history: livecart_protocol::commerce::WalletHistory = ava
        .get("/v1/wallet/entries")
        .await
        .json()
        .await
        .expect("history");
    let refund = &history.entries[0];
    assert_eq!(refund.amount, first.total, "the refund, newest first");
    assert_eq!(
        refund.description,
        format!("Refund: {} · {}", first.product_name, first.sku_name)
    );
    let replay = ava.cancel(first.id, "cancel-1").await;
    assert_eq!(replay.headers()[REPLAYED_HEADER], "true");
    assert_eq!(replay.json::<Order>().await.expect("order"), cancelled);
    assert_eq!(ava.balance().await, DEMO_BALANCE, "refunded once");
    let again = ava.cancel(first.id, "cancel-2").await;
    assert_eq!(again.status(), 409, "already cancelled");

    // Shipped: too late to cancel, too early for a refund.
    let second = ava.buy(&server).await;
    set_status(&server, &second, "shipped", 0).await;
    let res = ava.cancel(second.id, "cancel-3").await;
    assert_eq!(res.status(), 409);
    assert_eq!(problem(res).await.code, ErrorCode::AlreadyShipped);
    let res = ava.ask_refund(second.id).await;
    assert_eq!(res.status(), 409);
    assert_eq!(problem(res).await.code, ErrorCode::NotDelivered);
    let paid = DEMO_BALANCE - second.total.amount_minor;
    assert_eq!(ava.balance().await, paid, "nothing moved");

    // Delivered eight days ago: the seven-day window has closed.
    set_status(&server, &second, "delivered", 8).await;
    let res = ava.ask_refund(second.id).await;
    assert_eq!(res.status(), 409);
    let p = problem(res).await;
    assert_eq!(p.code, ErrorCode::RefundWindowClosed);
    assert!(p.detail.contains("7-day"), "{}", p.detail);

    // Delivered today: asked, then refunded by the merchant.
    set_status(&server, &second, "delivered", 0).await;
    let mut socket = ava.socket(&server, None).await;
    let MeFrame::Welcome { seq, .. } = socket.next().await else {
        panic!("welcome");
    };
    assert!(matches!(socket.next().await, MeFrame::Snapshot { .. }));
    let res = ava.ask_refund(second.id).await;
    assert_eq!(res.status(), 200);
    let asked: Order = res.json().await.expect("order");
    assert_eq!(asked.status, OrderStatus::RefundRequested);
    assert_eq!(asked.refund_reason, Some(RefundReason::Damaged));
    let (_, events) = socket
        .events_until(seq, |e| matches!(e, MeEvent::Wallet { .. }))
        .await;
    let statuses: Vec<_> = events.iter().filter_map(order_status).collect();
    assert_eq!(
        statuses,
        [OrderStatus::RefundRequested, OrderStatus::Refunded]
    );
    assert!(
        matches!(events.last(), Some(MeEvent::Wallet { balance }) if balance.amount_minor == DEMO_BALANCE)
    );
    assert_eq!(ava.balance().await, DEMO_BALANCE);
    let done = ava.order(second.id).await;
    assert_eq!(done.status, OrderStatus::Refunded);
    // A top-up confirmed by the provider shows on the socket too.
    let res = ava
        .req(reqwest::Method::POST, "/v1/wallet/top-ups")
        .header(IDEMPOTENCY_HEADER, uuid::Uuid::now_v7().to_string())
        .json(&TopUpRequest {
            amount: Money::new(500, Currency::USD),
            card_number: "4242 4242 4242 4242".into(),
        })
        .send()
        .await
        .expect("top-up");
    assert_eq!(res.status(), 202);
    match socket.next().await {
        MeFrame::Event {
            event: MeEvent::Wallet { balance },
            ..
        } => assert_eq!(balance.amount_minor, DEMO_BALANCE + 500),
        other => panic!("the top-up's balance, got {other:?}"),
    }
    // Asking again answers the order as it is.
    let res = ava.ask_refund(second.id).await;
    assert_eq!(res.status(), 200);
    assert_eq!(
        res.json::<Order>().await.expect("order").status,
        OrderStatus::Refunded
    );
    ledger_ok(&server).await;
}

/// A cancelled order's units go back on sale (viewers see the stock come
/// back); a flash-sale order's units came from the sale's own allocation,
/// so cancelling it adds nothing to the SKU's stock.
#[tokio::test]
async fn cancelling_puts_units_back_on_sale_but_a_flash_sale_order_adds_no_stock() {
    let server = TestServer::start_with(fast(3_600_000)).await;
    let ava = User::sign_in(&server, "ava").await;
    let room = server.room().await;
    let stock = |snap: &livecart_protocol::rest::RoomSnapshot, o: &Order| {
        snap.products
            .iter()
            .find(|p| p.id == o.product_id)
            .and_then(|p| p.skus.iter().find(|s| s.id == o.sku_id))
            .map(|s| s.stock)
            .expect("the sku")
    };
    let order = ava.buy(&server).await;
    let after_buying = stock(&server.snapshot(room).await, &order);
    assert_eq!(ava.cancel(order.id, "c-1").await.status(), 200);
    assert_eq!(
        stock(&server.snapshot(room).await, &order),
        after_buying + 1,
        "the unit is back, and the room shows it"
    );

    // A flash sale of 2 on the same SKU: bought at the sale price, cancelled.
    let sale_price = Money::new(order.unit_price.amount_minor / 2, Currency::USD);
    let sale = server
        .start_flash_sale(
            room,
            &livecart_protocol::rest::StartFlashSaleRequest {
                product_id: order.product_id,
                sku_id: order.sku_id,
                price: sale_price,
                stock: 2,
                duration_s: 60,
            },
        )
        .await;
    let res = ava
        .req(reqwest::Method::POST, "/v1/orders")
        .header(IDEMPOTENCY_HEADER, "flash-1")
        .json(&PlaceOrderRequest {
            product_id: order.product_id,
            sku_id: order.sku_id,
            quantity: 1,
            address_id: order.address.id,
            expected_unit_price: sale_price,
            flash_sale_id: Some(sale.id),
            video_delay_ms: 0,
            pin: None,
        })
        .send()
        .await
        .expect("order");
    assert_eq!(res.status(), 201);
    let flash: Order = res.json().await.expect("order");
    let before = stock(&server.snapshot(room).await, &order);
    assert_eq!(ava.cancel(flash.id, "c-2").await.status(), 200);
    assert_eq!(
        stock(&server.snapshot(room).await, &order),
        before,
        "no regular units appear from a flash-sale cancel"
    );
    assert_eq!(ava.balance().await, DEMO_BALANCE, "both refunded");
    ledger_ok(&server).await;
}
