//! Money: orders, gifts, top-ups, idempotency, ownership and the ledger,
//! over real HTTP against a real SQLite file.
//!
//! Size: integration tests, one story each, sharing the test server.

use crate::support::{TestServer, WAIT, problem};
use livecart_protocol::commerce::{
    AddressList, GiftReceipt, IDEMPOTENCY_HEADER, NewAddress, Order, OrderList, PlaceOrderRequest,
    REPLAYED_HEADER, SendGiftRequest, TopUp, TopUpRequest, TopUpStatus, Wallet, WalletHistory,
};
use livecart_protocol::rest::{GiftCatalog, Product, Role, StartFlashSaleRequest};
use livecart_protocol::{
    ComboId, Currency, ErrorCode, Money, PROTOCOL_HEADER, PROTOCOL_VERSION, RoomEvent, RoomId,
};
use livecart_server::Claims;
use serde::Serialize;
use serde::de::DeserializeOwned;

const DEMO_BALANCE: i64 = 20_000;

/// A signed-in user talking to the server.
#[derive(Clone)]
struct Buyer {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Buyer {
    async fn sign_in(server: &TestServer, username: &str) -> Self {
        let s = server.sign_in(username).await;
        Self {
            http: server.http.clone(),
            base: server.handle.base_url.clone(),
            token: s.access_token,
        }
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(&self.token)
            .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> T {
        let res = self
            .req(reqwest::Method::GET, path)
            .send()
            .await
            .expect("get");
        assert_eq!(res.status(), 200, "GET {path}");
        res.json().await.expect("json")
    }

    async fn post(&self, path: &str, key: &str, body: &impl Serialize) -> reqwest::Response {
        self.req(reqwest::Method::POST, path)
            .header(IDEMPOTENCY_HEADER, key)
            .json(body)
            .send()
            .await
            .expect("post")
    }

    async fn balance(&self) -> i64 {
        self.get::<Wallet>("/v1/wallet").await.balance.amount_minor
    }

    async fn default_address(&self) -> livecart_protocol::AddressId {
        let list: AddressList = self.get("/v1/me/addresses").await;
        assert!(list.addresses[0].is_default, "the default comes first");
        list.addresses[0].id
    }
}

fn key() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The first product of the first room that has a SKU priced under $100
/// with stock (no PIN step).
async fn cheap_sku(server: &TestServer) -> (RoomId, Product, usize) {
    let room = server.room().await;
    let snap = server.snapshot(room).await;
    for p in snap.products {
        if let Some(i) = p
            .skus
            .iter()
            .position(|s| s.stock >= 2 && s.price.amount_minor < 5_000)
        {
            return (room, p, i);
        }
    }
    panic!("the demo room sells something under $50");
}

fn order(p: &Product, sku: usize, address: livecart_protocol::AddressId) -> PlaceOrderRequest {
    PlaceOrderRequest {
        product_id: p.id,
        sku_id: p.skus[sku].id,
        quantity: 1,
        address_id: address,
        expected_unit_price: p.skus[sku].price,
        flash_sale_id: None,
        video_delay_ms: 0,
        pin: None,
    }
}

async fn ledger_ok(server: &TestServer) {
    let report = livecart_server::check_ledger(&server.handle.state.db)
        .await
        .expect("ledger check runs");
    assert!(report.ok(), "{report}");
}

async fn stock_of(server: &TestServer, room: RoomId, p: &Product, sku: usize) -> u32 {
    let snap = server.snapshot(room).await;
    snap.products
        .iter()
        .find(|x| x.id == p.id)
        .expect("product")
        .skus[sku]
        .stock
}

#[tokio::test]
async fn a_paid_order_charges_once_and_a_replay_returns_the_same_order() {
    let server = TestServer::start().await;
    let ava = Buyer::sign_in(&server, "ava").await;
    assert_eq!(
        ava.balance().await,
        DEMO_BALANCE,
        "demo viewers start with $200"
    );
    let (room, p, sku) = cheap_sku(&server).await;
    let stock = stock_of(&server, room, &p, sku).await;
    let price = p.skus[sku].price.amount_minor;
    let body = order(&p, sku, ava.default_address().await);
    let k = key();

    let res = ava.post("/v1/orders", &k, &body).await;
    assert_eq!(res.status(), 201);
    assert!(res.headers().get(REPLAYED_HEADER).is_none());
    let first: Order = res.json().await.expect("order");
    assert_eq!(first.total, Money::new(price, Currency::USD));
    assert_eq!(
        first.balance_after,
        Some(Money::new(DEMO_BALANCE - price, Currency::USD))
    );
    assert_eq!(first.address.city, "New York", "the default address");

    // The app lost the answer and retries with the same key: same order,
    // charged once, stock taken once.
    let res = ava.post("/v1/orders", &k, &body).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()[REPLAYED_HEADER], "true");
    let replay: Order = res.json().await.expect("order");
    assert_eq!(replay, first);
    assert_eq!(ava.balance().await, DEMO_BALANCE - price);
    assert_eq!(stock_of(&server, room, &p, sku).await, stock - 1);

    let orders: OrderList = ava.get("/v1/orders").await;
    assert_eq!(orders.orders.len(), 1);
    assert_eq!(orders.orders[0].id, first.id);
    let one: Order = ava.get(&format!("/v1/orders/{}", first.id)).await;
    assert_eq!(one.total, first.total);

    let history: WalletHistory = ava.get("/v1/wallet/entries").await;
    assert_eq!(history.entries.len(), 2, "the welcome credit and the order");
    assert_eq!(history.entries[0].amount.amount_minor, -price);
    assert!(history.entries[0].description.contains(&p.name));
    ledger_ok(&server).await;
}

#[tokio::test]
async fn a_reused_key_with_other_parameters_is_422_and_one_still_running_is_409() {
    let server = TestServer::start().await;
    let ava = Buyer::sign_in(&server, "ava").await;
    let (_, p, sku) = cheap_sku(&server).await;
    let address = ava.default_address().await;
    let k = key();
    assert_eq!(
        ava.post("/v1/orders", &k, &order(&p, sku, address))
            .await
            .status(),
        201
    );
    let mut two = order(&p, sku, address);
    two.quantity = 2;
    let res = ava.post("/v1/orders", &k, &two).await;
    assert_eq!(res.status(), 422);
    assert_eq!(problem(res).await.code, ErrorCode::IdempotencyMismatch);

    // The same payment sent twice while the first is still running: the
    // database's writer is held here, so neither can finish; the second to
    // arrive is told "still processing" at once, the first pays once the
    // writer is free, and retrying the second replays the first's order.
    let running = key();
    let body = order(&p, sku, address);
    let before = ava.balance().await;
    let writer = server.handle.state.writer.acquire().await.expect("writer");
    let first = tokio::spawn({
        let (ava, running, body) = (ava.clone(), running.clone(), body.clone());
        async move { ava.post("/v1/orders", &running, &body).await }
    });
    let second = tokio::spawn({
        let (ava, running, body) = (ava.clone(), running.clone(), body.clone());
        async move { ava.post("/v1/orders", &running, &body).await }
    });
    let (refused, waiting) = match futures_util::future::select(first, second).await {
        futures_util::future::Either::Left((r, other))
        | futures_util::future::Either::Right((r, other)) => (r.expect("answer"), other),
    };
    assert_eq!(refused.status(), 409);
    assert_eq!(problem(refused).await.code, ErrorCode::IdempotencyInFlight);
    assert_eq!(ava.balance().await, before, "nothing charged while it runs");
    drop(writer);
    let paid = waiting.await.expect("the other");
    assert_eq!(paid.status(), 201);
    let paid: Order = paid.json().await.expect("order");
    let retry = ava.post("/v1/orders", &running, &body).await;
    assert_eq!(retry.headers()[REPLAYED_HEADER], "true");
    assert_eq!(retry.json::<Order>().await.expect("order").id, paid.id);
    assert_eq!(ava.balance().await, before - paid.total.amount_minor);

    // A burst of the same request (a double tap, a retrying network stack):
    // one order; every answer is that order or "still processing".
    let burst = key();
    let body = order(&p, sku, address);
    let answers =
        futures_util::future::join_all((0..12).map(|_| ava.post("/v1/orders", &burst, &body)))
            .await;
    let mut ids = std::collections::HashSet::new();
    for res in answers {
        match res.status().as_u16() {
            201 => {
                ids.insert(res.json::<Order>().await.expect("order").id);
            }
            409 => assert_eq!(problem(res).await.code, ErrorCode::IdempotencyInFlight),
            s => panic!("unexpected status {s}"),
        }
    }
    assert_eq!(ids.len(), 1, "one order for one key");
    let rows: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE idempotency_key = ?")
        .bind(&burst)
        .fetch_one(&server.handle.state.db)
        .await
        .expect("count");
    assert_eq!(rows, 1);
    let res = ava
        .req(reqwest::Method::POST, "/v1/orders")
        .json(&body)
        .send()
        .await
        .expect("post");
    assert_eq!(res.status(), 400, "no key, no payment");
    assert!(problem(res).await.detail.contains("Idempotency-Key"));
    ledger_ok(&server).await;
}

#[tokio::test]
async fn a_changed_price_too_little_stock_or_balance_charges_nothing_and_says_why() {
    let server = TestServer::start().await;
    let ava = Buyer::sign_in(&server, "ava").await;
    let (room, p, sku) = cheap_sku(&server).await;
    let address = ava.default_address().await;
    let stock = stock_of(&server, room, &p, sku).await;

    let mut stale = order(&p, sku, address);
    stale.expected_unit_price.amount_minor -= 100;
    let res = ava.post("/v1/orders", &key(), &stale).await;
    assert_eq!(res.status(), 409);
    let pr = problem(res).await;
    assert_eq!(pr.code, ErrorCode::PriceChanged);
    assert_eq!(
        pr.price,
        Some(p.skus[sku].price),
        "the price now, to show the buyer"
    );

    let mut greedy = order(&p, sku, address);
    greedy.quantity = 99;
    greedy.pin = Some("1234".into());
    let res = ava.post("/v1/orders", &key(), &greedy).await;
    assert_eq!(res.status(), 409, "more than the {stock} left");
    let pr = problem(res).await;
    assert_eq!(pr.code, ErrorCode::OutOfStock);
    assert_eq!(pr.stock, Some(stock));

    // A new buyer with an empty wallet: refused, then a top-up, then the same
    // key goes through (a refusal moved nothing, so it did not use the key).
    let zed = new_buyer(&server, "zed", 0).await;
    let k = key();
    let body = order(&p, sku, zed.default_address().await);
    let res = zed.post("/v1/orders", &k, &body).await;
    assert_eq!(res.status(), 402);
    let pr = problem(res).await;
    assert_eq!(pr.code, ErrorCode::InsufficientFunds);
    assert!(pr.detail.contains("nothing was charged"), "{}", pr.detail);
    assert_eq!(
        stock_of(&server, room, &p, sku).await,
        stock,
        "no stock taken"
    );
    assert_eq!(ava.balance().await, DEMO_BALANCE);

    let top_up = top_up(&zed, "4242 4242 4242 4242", 5_000).await;
    assert_eq!(top_up.status, TopUpStatus::Succeeded);
    assert_eq!(zed.balance().await, 5_000);
    assert_eq!(zed.post("/v1/orders", &k, &body).await.status(), 201);
    assert_eq!(zed.balance().await, 5_000 - p.skus[sku].price.amount_minor);
    ledger_ok(&server).await;
}

/// Tops up and waits (polling the top-up, as the app does) for the
/// provider's answer.
async fn top_up(buyer: &Buyer, card: &str, amount: i64) -> TopUp {
    let res = buyer
        .post(
            "/v1/wallet/top-ups",
            &key(),
            &TopUpRequest {
                amount: Money::new(amount, Currency::USD),
                card_number: card.into(),
            },
        )
        .await;
    assert_eq!(res.status(), 202);
    let pending: TopUp = res.json().await.expect("top-up");
    assert_eq!(pending.status, TopUpStatus::Pending);
    let wallet: Wallet = buyer.get("/v1/wallet").await;
    assert!(wallet.pending_top_ups.iter().any(|t| t.id == pending.id));
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let t: TopUp = buyer
            .get(&format!("/v1/wallet/top-ups/{}", pending.id))
            .await;
        if t.status != TopUpStatus::Pending {
            return t;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the provider answers"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
}

/// A user made straight in the database, with a token minted by the server's
/// own keys, an address and `balance` (skips argon2 for each of hundreds).
async fn new_buyer(server: &TestServer, username: &str, balance: i64) -> Buyer {
    let state = &server.handle.state;
    let mut tx = state.writer.begin().await.expect("tx");
    let id = livecart_server::provision_buyer(&mut tx, username, balance)
        .await
        .expect("buyer");
    tx.commit().await.expect("commit");
    let token = state.tokens.mint(&Claims {
        sub: id,
        name: username.into(),
        role: Role::Viewer,
        exp: jiff::Timestamp::now().as_second() + 600,
        sid: None,
    });
    Buyer {
        http: server.http.clone(),
        base: server.handle.base_url.clone(),
        token,
    }
}

#[tokio::test]
async fn top_ups_confirm_asynchronously_and_declined_cards_credit_nothing() {
    let server = TestServer::start().await;
    let ben = Buyer::sign_in(&server, "ben").await;
    let t = top_up(&ben, "4000000000000002", 1_000).await;
    assert_eq!(t.status, TopUpStatus::Declined);
    assert!(t.decline_reason.expect("a reason").contains("declined"));
    assert_eq!(ben.balance().await, DEMO_BALANCE);

    let res = ben
        .post(
            "/v1/wallet/top-ups",
            &key(),
            &TopUpRequest {
                amount: Money::new(1_000, Currency::USD),
                card_number: "5555 5555 5555 4444".into(),
            },
        )
        .await;
    assert_eq!(res.status(), 402);
    assert_eq!(problem(res).await.code, ErrorCode::PaymentDeclined);

    let t = top_up(&ben, "4242424242424242", 2_500).await;
    assert_eq!(
        (t.status, t.card_last4.as_str()),
        (TopUpStatus::Succeeded, "4242")
    );
    assert_eq!(ben.balance().await, DEMO_BALANCE + 2_500);
    // Only the last four digits are kept: the full number is in no file.
    for entry in std::fs::read_dir(&server.handle.state.config.data_dir).expect("data dir") {
        let bytes = std::fs::read(entry.expect("entry").path()).expect("read");
        assert!(
            !bytes.windows(16).any(|w| w == b"4242424242424242"),
            "a card number was stored"
        );
    }
    ledger_ok(&server).await;
}

#[tokio::test]
async fn nobody_sees_or_uses_another_users_orders_wallet_or_addresses() {
    let server = TestServer::start().await;
    let ava = Buyer::sign_in(&server, "ava").await;
    let ben = Buyer::sign_in(&server, "ben").await;
    let (_, p, sku) = cheap_sku(&server).await;
    let ava_address = ava.default_address().await;
    let res = ava
        .post("/v1/orders", &key(), &order(&p, sku, ava_address))
        .await;
    let ava_order: Order = res.json().await.expect("order");
    let res = ava
        .post(
            "/v1/wallet/top-ups",
            &key(),
            &TopUpRequest {
                amount: Money::new(100, Currency::USD),
                card_number: "4000000000003220".into(),
            },
        )
        .await;
    let ava_top_up: TopUp = res.json().await.expect("top-up");

    for path in [
        format!("/v1/orders/{}", ava_order.id),
        format!("/v1/wallet/top-ups/{}", ava_top_up.id),
    ] {
        let res = ben
            .req(reqwest::Method::GET, &path)
            .send()
            .await
            .expect("get");
        assert_eq!(res.status(), 404, "{path}");
    }
    let res = ben
        .post("/v1/orders", &key(), &order(&p, sku, ava_address))
        .await;
    assert_eq!(res.status(), 404, "ben cannot ship to ava's address");
    let pr = problem(res).await;
    assert_eq!(pr.detail, "address not found");
    let res = ben
        .req(
            reqwest::Method::DELETE,
            &format!("/v1/me/addresses/{ava_address}"),
        )
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), 404);
    let res = ben
        .req(
            reqwest::Method::PUT,
            &format!("/v1/me/addresses/{ava_address}"),
        )
        .json(&NewAddress {
            name: "Ben".into(),
            line1: "Elsewhere".into(),
            line2: String::new(),
            city: "X".into(),
            region: String::new(),
            postal_code: "1".into(),
            country: "US".into(),
            phone: "1".into(),
            is_default: true,
        })
        .send()
        .await
        .expect("put");
    assert_eq!(res.status(), 404);
    // Many wallet reads at once (more than the server's read connections).
    let reads =
        futures_util::future::join_all((0..32).map(|_| ben.get::<Wallet>("/v1/wallet"))).await;
    assert!(reads.iter().all(|w| w.balance.amount_minor == DEMO_BALANCE));
    let ben_orders: OrderList = ben.get("/v1/orders").await;
    assert!(ben_orders.orders.is_empty());
    let ben_wallet: Wallet = ben.get("/v1/wallet").await;
    assert_eq!(ben_wallet.balance.amount_minor, DEMO_BALANCE);
    assert!(
        ben_wallet.pending_top_ups.is_empty(),
        "ava's pending top-up is hers"
    );
    assert_eq!(
        ava.default_address().await,
        ava_address,
        "ava's address untouched"
    );
}

#[tokio::test]
async fn two_hundred_buyers_race_for_ten_units_and_exactly_ten_get_one() {
    let server = TestServer::start().await;
    let (room, p, sku) = cheap_sku(&server).await;
    sqlx::query("UPDATE skus SET stock = 10 WHERE id = ?")
        .bind(p.skus[sku].id.to_string())
        .execute(&server.handle.state.db)
        .await
        .expect("stock");
    let mut buyers = Vec::new();
    for i in 0..200 {
        buyers.push(new_buyer(&server, &format!("racer{i}"), 10_000).await);
    }
    let mut addresses = Vec::new();
    for b in &buyers {
        addresses.push(b.default_address().await);
    }
    let answers = futures_util::future::join_all(buyers.iter().zip(&addresses).map(|(b, a)| {
        let body = order(&p, sku, *a);
        async move { b.post("/v1/orders", &key(), &body).await }
    }))
    .await;
    let (mut paid, mut refused) = (0, 0);
    for res in answers {
        match res.status().as_u16() {
            201 => paid += 1,
            409 => {
                assert_eq!(problem(res).await.code, ErrorCode::OutOfStock);
                refused += 1;
            }
            s => panic!("unexpected status {s}"),
        }
    }
    assert_eq!((paid, refused), (10, 190));
    let orders: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE sku_id = ?")
        .bind(p.skus[sku].id.to_string())
        .fetch_one(&server.handle.state.db)
        .await
        .expect("count");
    assert_eq!(orders, 10);
    assert_eq!(
        stock_of(&server, room, &p, sku).await,
        0,
        "viewers see it sold out"
    );
    ledger_ok(&server).await;
}

/// Payments are committed in batches (group commit). Buyers who can pay and
/// buyers who cannot tap at once: each is answered on their own — the ones
/// with enough balance are charged exactly once, the broke ones are told
/// their balance, a stale price gets the new one — and a refusal in the
/// middle of a batch undoes nobody else's payment.
#[tokio::test]
async fn buyers_refused_in_the_same_burst_do_not_undo_the_others_payments() {
    let server = TestServer::start().await;
    let (room, p, sku) = cheap_sku(&server).await;
    let price = p.skus[sku].price.amount_minor;
    sqlx::query("UPDATE skus SET stock = 1000 WHERE id = ?")
        .bind(p.skus[sku].id.to_string())
        .execute(&server.handle.state.writer)
        .await
        .expect("stock");
    // Every third buyer has a cent too little; every seventh saw an old price.
    let mut buyers = Vec::new();
    for i in 0..60 {
        let balance = if i % 3 == 0 { price - 1 } else { price * 2 };
        let b = new_buyer(&server, &format!("burst{i}"), balance).await;
        let mut body = order(&p, sku, b.default_address().await);
        if i % 7 == 0 {
            body.expected_unit_price.amount_minor += 1;
        }
        buyers.push((i, b, body, balance));
    }
    let answers = futures_util::future::join_all(
        buyers
            .iter()
            .map(|(_, b, body, _)| async move { b.post("/v1/orders", &key(), body).await }),
    )
    .await;
    let mut paid = 0;
    for ((i, b, _, balance), res) in buyers.iter().zip(answers) {
        let status = res.status().as_u16();
        if i % 7 == 0 {
            assert_eq!(status, 409, "buyer {i} saw an old price");
            assert_eq!(problem(res).await.code, ErrorCode::PriceChanged);
            assert_eq!(b.balance().await, *balance, "buyer {i}: nothing charged");
        } else if i % 3 == 0 {
            assert_eq!(status, 402, "buyer {i} is a cent short");
            let pr = problem(res).await;
            assert_eq!(pr.code, ErrorCode::InsufficientFunds);
            assert!(
                pr.detail
                    .contains(&format!("{}", Money::new(price - 1, Currency::USD))),
                "{}",
                pr.detail
            );
            assert_eq!(b.balance().await, *balance, "buyer {i}: nothing charged");
        } else {
            assert_eq!(status, 201, "buyer {i} can pay");
            let o: Order = res.json().await.expect("order");
            assert_eq!(
                o.balance_after,
                Some(Money::new(balance - price, Currency::USD))
            );
            assert_eq!(
                b.balance().await,
                balance - price,
                "buyer {i}: charged once"
            );
            paid += 1;
        }
    }
    assert_eq!(paid, (0..60).filter(|i| i % 7 != 0 && i % 3 != 0).count());
    assert_eq!(
        stock_of(&server, room, &p, sku).await,
        1000 - u32::try_from(paid).expect("count"),
        "one unit per paid order"
    );
    ledger_ok(&server).await;
}

/// A minute's flash sale of `stock` units of the SKU at half its price.
async fn half_price_sale(
    server: &TestServer,
    room: RoomId,
    p: &Product,
    sku: usize,
    stock: u32,
) -> (livecart_protocol::rest::FlashSale, Money) {
    let price = Money::new(p.skus[sku].price.amount_minor / 2, Currency::USD);
    let sale = server
        .start_flash_sale(
            room,
            &StartFlashSaleRequest {
                product_id: p.id,
                sku_id: p.skus[sku].id,
                price,
                stock,
                duration_s: 60,
            },
        )
        .await;
    (sale, price)
}

/// Time passes for a sale: its deadline is now `ms` in the past.
async fn ended_ago(server: &TestServer, sale: livecart_protocol::FlashSaleId, ms: i64) {
    let past = jiff::Timestamp::now() - jiff::SignedDuration::from_millis(ms);
    sqlx::query("UPDATE flash_sales SET deadline = ? WHERE id = ?")
        .bind(past.to_string())
        .bind(sale.to_string())
        .execute(&server.handle.state.db)
        .await
        .expect("deadline");
}

#[tokio::test]
async fn a_flash_sale_tap_seen_before_the_deadline_is_honoured_within_the_grace() {
    let server = TestServer::start().await;
    let ava = Buyer::sign_in(&server, "ava").await;
    let (room, p, sku) = cheap_sku(&server).await;
    let address = ava.default_address().await;
    let (sale, sale_price) = half_price_sale(&server, room, &p, sku, 5).await;
    let buy = |delay_ms: u32| PlaceOrderRequest {
        expected_unit_price: sale_price,
        flash_sale_id: Some(sale.id),
        video_delay_ms: delay_ms,
        ..order(&p, sku, address)
    };
    let res = ava.post("/v1/orders", &key(), &buy(0)).await;
    assert_eq!(res.status(), 201, "during the sale");
    let paid: Order = res.json().await.expect("order");
    assert_eq!(paid.unit_price, sale_price);

    // The deadline passed 1.5 s ago on the server's clock.
    ended_ago(&server, sale.id, 1_500).await;
    // The buyer's video ran 2 s behind: they tapped before the end they saw.
    let res = ava.post("/v1/orders", &key(), &buy(2_000)).await;
    assert_eq!(res.status(), 201, "honoured: seen before the deadline");
    // 0.5 s behind: they saw the sale end and tapped after it.
    let res = ava.post("/v1/orders", &key(), &buy(500)).await;
    assert_eq!(res.status(), 409);
    let pr = problem(res).await;
    assert_eq!(pr.code, ErrorCode::SaleEnded);
    assert_eq!(pr.price, Some(p.skus[sku].price), "the regular price again");
    // A claimed 10 s delay buys no more than the 3 s grace.
    ended_ago(&server, sale.id, 3_500).await;
    let res = ava.post("/v1/orders", &key(), &buy(10_000)).await;
    assert_eq!(problem(res).await.code, ErrorCode::SaleEnded);
    let remaining: i64 = sqlx::query_scalar("SELECT remaining_stock FROM flash_sales WHERE id = ?")
        .bind(sale.id.to_string())
        .fetch_one(&server.handle.state.db)
        .await
        .expect("remaining");
    assert_eq!(remaining, 3, "two sale orders took two units");
    assert_eq!(
        ava.balance().await,
        DEMO_BALANCE - 2 * sale_price.amount_minor
    );
    ledger_ok(&server).await;
}

#[tokio::test]
async fn a_retry_of_the_order_that_sold_out_a_flash_sale_gets_that_order_not_sold_out() {
    let server = TestServer::start().await;
    let ava = Buyer::sign_in(&server, "ava").await;
    let ben = Buyer::sign_in(&server, "ben").await;
    let (room, p, sku) = cheap_sku(&server).await;
    let (sale, sale_price) = half_price_sale(&server, room, &p, sku, 1).await;
    let buy = |address| PlaceOrderRequest {
        expected_unit_price: sale_price,
        flash_sale_id: Some(sale.id),
        ..order(&p, sku, address)
    };
    let ava_buys = buy(ava.default_address().await);
    let k = key();
    let res = ava.post("/v1/orders", &k, &ava_buys).await;
    assert_eq!(res.status(), 201, "the one unit");
    let paid: Order = res.json().await.expect("order");

    // Ben is too late: sold out.
    let res = ben
        .post("/v1/orders", &key(), &buy(ben.default_address().await))
        .await;
    assert_eq!(res.status(), 409);
    assert_eq!(problem(res).await.code, ErrorCode::OutOfStock);
    // Ava's app lost the answer and retries: her order, not "sold out".
    let res = ava.post("/v1/orders", &k, &ava_buys).await;
    assert_eq!(res.status(), 201);
    assert_eq!(res.headers()[REPLAYED_HEADER], "true");
    assert_eq!(res.json::<Order>().await.expect("order"), paid);
    // The same key for two units is another request: 422, not "sold out".
    let two = PlaceOrderRequest {
        quantity: 2,
        ..ava_buys.clone()
    };
    let res = ava.post("/v1/orders", &k, &two).await;
    assert_eq!(res.status(), 422);
    // A new tap of hers is refused like Ben's.
    let res = ava.post("/v1/orders", &key(), &ava_buys).await;
    assert_eq!(problem(res).await.code, ErrorCode::OutOfStock);
    assert_eq!(ava.balance().await, DEMO_BALANCE - sale_price.amount_minor);
    // A server started on this database knows which keys have an answer
    // (refusals skip the read only for the others).
    let known = livecart_server::StoredKeys::load(&server.handle.state.db)
        .await
        .expect("keys");
    let ava_id = server.sign_in("ava").await.user.id;
    assert!(known.may_have(ava_id, &k));
    assert!(!known.may_have(ava_id, &key()));
    assert_eq!(ben.balance().await, DEMO_BALANCE);
    ledger_ok(&server).await;
}

#[tokio::test]
async fn keys_past_the_retention_are_forgotten_and_younger_ones_still_replay() {
    let server = TestServer::start().await;
    let ava = Buyer::sign_in(&server, "ava").await;
    let ava_id = server.sign_in("ava").await.user.id;
    let (_, p, sku) = cheap_sku(&server).await;
    let body = order(&p, sku, ava.default_address().await);
    let (old, young) = (key(), key());
    for k in [&old, &young] {
        assert_eq!(ava.post("/v1/orders", k, &body).await.status(), 201);
    }
    // The first key was used eight days ago (kept: seven).
    let eight_days_ago = jiff::Timestamp::now() - jiff::SignedDuration::from_hours(8 * 24);
    sqlx::query("UPDATE idempotency_keys SET created_at = ? WHERE key = ?")
        .bind(eight_days_ago.to_string())
        .bind(&old)
        .execute(&server.handle.state.writer)
        .await
        .expect("backdate");
    let state = &server.handle.state;
    let purged = livecart_server::purge_idempotency_keys(state)
        .await
        .expect("purge");
    assert_eq!(purged, 1);
    let known = |k: &str| state.stored_keys.may_have(ava_id, k);
    assert!(!known(&old), "forgotten with its row");
    assert!(known(&young));
    let res = ava.post("/v1/orders", &young, &body).await;
    assert_eq!(res.headers()[REPLAYED_HEADER], "true", "still replayed");
}

#[tokio::test]
async fn a_paid_gift_reaches_the_room_once_and_pays_the_host() {
    let server = TestServer::start().await;
    let room = server.room().await;
    let ava = Buyer::sign_in(&server, "ava").await;
    let catalog: GiftCatalog = ava.get("/v1/gifts").await;
    let rose = catalog
        .gifts
        .iter()
        .find(|g| g.name == "Rose")
        .expect("rose");
    let mut watcher = server.connect(room, None, None).await;
    watcher.joined().await;

    let combo = ComboId::new();
    let send = SendGiftRequest {
        gift_id: rose.id,
        count: 1,
        combo_id: combo,
    };
    let path = format!("/v1/rooms/{room}/gifts");
    let k = key();
    let res = ava.post(&path, &k, &send).await;
    assert_eq!(res.status(), 201);
    let receipt: GiftReceipt = res.json().await.expect("receipt");
    assert_eq!(receipt.combo_count, 1);
    assert_eq!(receipt.cost, Money::new(5, Currency::USD), "5 coins = 5 ¢");
    let res = ava.post(&path, &k, &send).await;
    assert_eq!(res.headers()[REPLAYED_HEADER], "true");
    let second = ava.post(&path, &key(), &send).await;
    let second: GiftReceipt = second.json().await.expect("receipt");
    assert_eq!(second.combo_count, 2, "the next tap of the combo");
    assert_eq!(second.balance_after.amount_minor, DEMO_BALANCE - 10);

    // The room sees tap one, then tap two: the replay broadcast nothing.
    let mut seen = Vec::new();
    while seen.len() < 2 {
        let (_, e) = watcher
            .event(|e| matches!(e, RoomEvent::Gift(g) if g.combo_id == combo))
            .await;
        if let RoomEvent::Gift(g) = e {
            assert_eq!(g.sender.name, "Ava");
            seen.push(g.combo_count);
        }
    }
    assert_eq!(seen, [1, 2]);

    let earnings: i64 = sqlx::query_scalar(
        "SELECT a.balance_minor FROM accounts a JOIN rooms r ON r.host_id = a.owner_id \
         WHERE a.kind = 'host_earnings' AND r.id = ?",
    )
    .bind(room.to_string())
    .fetch_one(&server.handle.state.db)
    .await
    .expect("earnings");
    assert_eq!(
        earnings, 6,
        "70 % of 10 coins, rounded down per gift (3 + 3)"
    );

    let broke = new_buyer(&server, "broke", 3).await;
    let res = broke.post(&path, &key(), &send).await;
    assert_eq!(res.status(), 402);
    assert_eq!(problem(res).await.code, ErrorCode::InsufficientFunds);
    ledger_ok(&server).await;
}

#[tokio::test]
async fn big_orders_ask_for_the_pin_and_wrong_pins_lock_it() {
    let server = TestServer::start_with(|c| {
        c.money.pin_threshold_minor = 100;
        c.money.pin_max_failures = 3;
    })
    .await;
    let ava = Buyer::sign_in(&server, "ava").await;
    let (_, p, sku) = cheap_sku(&server).await;
    let address = ava.default_address().await;
    let res = ava
        .post("/v1/orders", &key(), &order(&p, sku, address))
        .await;
    assert_eq!(res.status(), 403);
    assert_eq!(problem(res).await.code, ErrorCode::PinRequired);
    let with = |pin: &str| PlaceOrderRequest {
        pin: Some(pin.into()),
        ..order(&p, sku, address)
    };
    let paid_key = key();
    let first = ava.post("/v1/orders", &paid_key, &with("1234")).await;
    assert_eq!(first.status(), 201);
    let first: Order = first.json().await.expect("order");
    // The app never stores the PIN: its retry after a restart sends the same
    // payment without it and gets the same order back, charged once.
    let replay = ava
        .post("/v1/orders", &paid_key, &order(&p, sku, address))
        .await;
    assert_eq!(
        replay.status(),
        201,
        "a replay, not a PIN refusal or a mismatch"
    );
    assert_eq!(replay.json::<Order>().await.expect("order").id, first.id);
    // Each wrong PIN says how many tries are left; the last one locks.
    for left in [2, 1, 0] {
        let res = ava.post("/v1/orders", &key(), &with("0000")).await;
        let pr = problem(res).await;
        assert!(pr.detail.contains("not right"), "{}", pr.detail);
        assert_eq!(pr.attempts_left, Some(left), "{}", pr.detail);
    }
    let res = ava.post("/v1/orders", &key(), &with("1234")).await;
    let pr = problem(res).await;
    assert!(pr.detail.contains("locked"), "{}", pr.detail);
    assert_eq!(
        ava.balance().await,
        DEMO_BALANCE - p.skus[sku].price.amount_minor
    );
}

#[tokio::test]
async fn the_database_refuses_an_overdraft_and_edits_to_the_ledger() {
    let server = TestServer::start().await;
    let db = &server.handle.state.db;
    let (wallet, txn): (String, String) = sqlx::query_as(
        "SELECT e.account_id, e.txn_id FROM ledger_entries e JOIN accounts a ON a.id = e.account_id \
         WHERE a.kind = 'wallet' LIMIT 1",
    )
    .fetch_one(db)
    .await
    .expect("a demo wallet");
    let overdraft = sqlx::query(
        "INSERT INTO ledger_entries (txn_id, account_id, amount_minor, balance_after) VALUES (?, ?, ?, -1)",
    )
    .bind(&txn)
    .bind(&wallet)
    .bind(-(DEMO_BALANCE + 1))
    .execute(db)
    .await;
    assert!(
        overdraft
            .expect_err("refused")
            .to_string()
            .contains("CHECK constraint failed"),
        "the schema, not only the code, keeps wallets at zero or above"
    );
    let edit = sqlx::query("UPDATE ledger_entries SET amount_minor = amount_minor + 1")
        .execute(db)
        .await;
    assert!(
        edit.expect_err("refused")
            .to_string()
            .contains("append-only")
    );
    ledger_ok(&server).await;
}

/// A hundred wrong PINs at once: at most `pin_max_failures` are checked, the
/// rest are refused unchecked, and the lock then holds — the right PIN is
/// refused too, and later tries do not shorten or lift it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hundred_wrong_pins_at_once_get_at_most_five_checks_and_the_lock_holds() {
    let server = TestServer::start_with(|c| c.money.pin_threshold_minor = 100).await;
    let ava = Buyer::sign_in(&server, "ava").await;
    let (_, p, sku) = cheap_sku(&server).await;
    let address = ava.default_address().await;
    let tries = (0..100).map(|i| {
        let ava = ava.clone();
        let body = PlaceOrderRequest {
            pin: Some(format!("{:04}", 5000 + i)),
            ..order(&p, sku, address)
        };
        async move { problem(ava.post("/v1/orders", &key(), &body).await).await }
    });
    let answers = futures_util::future::join_all(tries).await;
    let checked = answers
        .iter()
        .filter(|p| p.detail.contains("not right"))
        .count();
    assert!(answers.iter().all(|p| p.code == ErrorCode::PinRequired));
    assert!(
        (1..=5).contains(&checked),
        "{checked} of 100 wrong PINs were checked"
    );
    let locked_until = || async {
        sqlx::query_scalar::<_, Option<String>>(
            "SELECT pin_locked_until FROM users WHERE username = 'ava'",
        )
        .fetch_one(&server.handle.state.db)
        .await
        .expect("user")
    };
    let lock = locked_until().await.expect("locked");
    let right = PlaceOrderRequest {
        pin: Some("1234".into()),
        ..order(&p, sku, address)
    };
    let res = problem(ava.post("/v1/orders", &key(), &right).await).await;
    assert!(res.detail.contains("locked"), "{}", res.detail);
    assert_eq!(res.attempts_left, Some(0));
    let wrong = PlaceOrderRequest {
        pin: Some("0000".into()),
        ..order(&p, sku, address)
    };
    let _ = ava.post("/v1/orders", &key(), &wrong).await;
    assert_eq!(
        locked_until().await,
        Some(lock),
        "a later try leaves the lock as it was"
    );
    assert_eq!(ava.balance().await, DEMO_BALANCE, "nothing was charged");
}

fn address(line1: &str, country: &str) -> NewAddress {
    NewAddress {
        name: "Ava".into(),
        line1: line1.into(),
        line2: String::new(),
        city: "Berlin".into(),
        region: String::new(),
        postal_code: "10115".into(),
        country: country.into(),
        phone: "+49 30 1234".into(),
        is_default: false,
    }
}

/// Addresses without control characters and with a real country, twenty at
/// most; no order from a live that has ended, and none at a zero price.
#[tokio::test]
async fn addresses_are_checked_and_capped_and_ended_lives_sell_nothing() {
    let server = TestServer::start().await;
    let ava = Buyer::sign_in(&server, "ava").await;
    let add = |a: NewAddress| {
        let ava = ava.clone();
        async move {
            ava.req(reqwest::Method::POST, "/v1/me/addresses")
                .json(&a)
                .send()
                .await
                .expect("post")
        }
    };
    let res = add(address("Unter den Linden 1\u{0008}\u{202E}", "DE")).await;
    assert_eq!(res.status(), 400);
    assert!(problem(res).await.detail.contains("control"));
    let res = add(address("Unter den Linden 1", "XX")).await;
    assert_eq!(res.status(), 400);
    assert!(problem(res).await.detail.contains("ISO 3166"));
    let res = add(address("  Unter den Linden 1 ", "de")).await;
    assert_eq!(res.status(), 201);
    let kept: livecart_protocol::commerce::Address = res.json().await.expect("address");
    assert_eq!(
        (kept.line1.as_str(), kept.country.as_str()),
        ("Unter den Linden 1", "DE")
    );
    // The demo account has one, this is two: eighteen more, then no more.
    for i in 0..18 {
        assert_eq!(
            add(address(&format!("Street {i}"), "DE")).await.status(),
            201
        );
    }
    let res = add(address("One too many", "DE")).await;
    assert_eq!(res.status(), 409);
    assert!(problem(res).await.detail.contains("remove one"));

    // A live that has ended sells nothing; a zero price is never an order.
    let (room, p, sku) = cheap_sku(&server).await;
    let address_id = ava.default_address().await;
    let free = PlaceOrderRequest {
        expected_unit_price: Money::new(0, Currency::USD),
        ..order(&p, sku, address_id)
    };
    let res = ava.post("/v1/orders", &key(), &free).await;
    assert_eq!(res.status(), 400, "{:?}", res.text().await);
    let ended = server
        .http
        .post(server.url(&format!("/v1/host/rooms/{room}/end")))
        .bearer_auth(crate::support::ADMIN)
        .send()
        .await
        .expect("end");
    assert_eq!(ended.status(), 200);
    let res = ava
        .post("/v1/orders", &key(), &order(&p, sku, address_id))
        .await;
    assert_eq!(res.status(), 409);
    assert!(problem(res).await.detail.contains("this live has ended"));
    assert_eq!(ava.balance().await, DEMO_BALANCE);
    ledger_ok(&server).await;
}
