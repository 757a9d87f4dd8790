//! What the shopper sees is what the shopper pays, for every option of every
//! demo product, with and without a flash sale: livecart-core (the app's
//! brain, no window) drives a checkout against a real livecart server, and
//! the price its sheet shows (the header, the option's chip, "Total · n ×
//! unit", the "Pay" button) must be the price the server charges.
//!
//! A small effect runner stands in for the app's shell: HTTP with reqwest,
//! the room's state from its REST snapshot (what the socket's first frame
//! carries), the outbox answering at once.

#[path = "e2e/support.rs"]
mod support;

use jiff::Timestamp;
use livecart_core::effects::{Method, SocketCommand, StoreCommand, VaultCommand};
use livecart_core::protocol::commerce::Order;
use livecart_core::protocol::rest::{RoomSnapshot, StartFlashSaleRequest};
use livecart_core::protocol::{Money, Problem, ProductId, RoomId, ServerFrame, SkuId};
use livecart_core::view::ProductDetail;
use livecart_core::{AccountEvent, FeedEvent};
use livecart_core::{App, Effect, Event, HttpFailure, SocketUpdate};
use livecart_core::{ShopEvent, WalletEvent};
use serde_json::Value;
use std::collections::VecDeque;

const ADMIN: &str = "prices-admin-token";

struct Shell {
    app: App,
    base: String,
    http: reqwest::blocking::Client,
    /// Answers to `POST /v1/orders`, in order.
    orders: Vec<Order>,
}

impl Shell {
    fn send(&mut self, event: Event) {
        let mut queue: VecDeque<Effect> = self.app.update(event, Timestamp::now()).into();
        while let Some(effect) = queue.pop_front() {
            let next = match effect {
                Effect::Http(req) => {
                    let url = format!("{}{}", self.base, req.path);
                    let mut r = match req.method {
                        Method::Get => self.http.get(url),
                        Method::Post => self.http.post(url),
                        Method::Put => self.http.put(url),
                        Method::Delete => self.http.delete(url),
                    };
                    if let Some(t) = &req.access_token {
                        r = r.bearer_auth(t);
                    }
                    if let Some(k) = &req.idempotency_key {
                        r = r.header("Idempotency-Key", k);
                    }
                    if let Some(b) = &req.body {
                        r = r.json(b);
                    }
                    let res = r.send().expect("the server answers");
                    let status = res.status().as_u16();
                    let body: Value = res.json().unwrap_or(Value::Null);
                    let result = if status < 300 {
                        if req.path == "/v1/orders" {
                            self.orders
                                .push(serde_json::from_value(body.clone()).expect("an order"));
                        }
                        Ok(body)
                    } else {
                        Err(HttpFailure::Status {
                            status,
                            problem: serde_json::from_value::<Problem>(body).ok(),
                        })
                    };
                    Some(Event::HttpDone { id: req.id, result })
                }
                Effect::Socket(SocketCommand::Connect { room, .. }) => Some(self.snapshot(room)),
                Effect::Store(StoreCommand::SavePayment(p)) => {
                    Some(Event::Shop(ShopEvent::PaymentSaved(p.key)))
                }
                Effect::Store(StoreCommand::LoadPayments(_)) => {
                    Some(Event::Shop(ShopEvent::PaymentsLoaded(Vec::new())))
                }
                Effect::Vault(VaultCommand::Load) => {
                    Some(Event::Account(AccountEvent::VaultLoaded(None)))
                }
                _ => None,
            };
            if let Some(e) = next {
                queue.extend(self.app.update(e, Timestamp::now()));
            }
        }
    }

    /// The room's state as a fresh snapshot frame (a join, or a resume the
    /// server answers with a snapshot).
    fn snapshot(&self, room: RoomId) -> Event {
        let snap: RoomSnapshot = self
            .http
            .get(format!("{}/v1/rooms/{room}", self.base))
            .send()
            .and_then(reqwest::blocking::Response::json)
            .expect("snapshot");
        Event::Socket {
            room,
            update: SocketUpdate::Frame(Box::new(ServerFrame::Snapshot {
                snapshot: Box::new(snap),
            })),
        }
    }

    fn refresh_room(&mut self) {
        let room = self.app.room.as_ref().expect("in a room").id;
        let e = self.snapshot(room);
        self.send(e);
    }

    fn sheet(&self) -> ProductDetail {
        self.app
            .view(Timestamp::now())
            .room
            .and_then(|r| r.product)
            .expect("the checkout sheet is open")
    }

    /// Buys `qty` of `sku` from the open sheet (the PIN when asked); returns
    /// what the sheet showed at the "Pay" step and the order the server made.
    fn buy(&mut self, sku: SkuId, qty: u32) -> (ProductDetail, Order) {
        self.send(Event::Shop(ShopEvent::SelectSku(sku)));
        self.send(Event::Shop(ShopEvent::SetQuantity(qty)));
        let chosen = self.sheet();
        self.send(Event::Shop(ShopEvent::BuyNow));
        let confirm = self.sheet();
        assert_eq!(confirm.step, "confirm", "{confirm:?}");
        // What the choose step showed is what the confirm step totals.
        assert_eq!(chosen.price, confirm.price);
        assert_eq!(chosen.total, confirm.total);
        let before = self.orders.len();
        self.send(Event::Shop(ShopEvent::Pay { pin: None }));
        if self.sheet_step() == Some("pin") {
            self.send(Event::Shop(ShopEvent::Pay {
                pin: Some("1234".into()),
            }));
        }
        assert_eq!(
            self.orders.len(),
            before + 1,
            "one order for {} ({:?}): {:?}",
            confirm.name,
            confirm.total,
            self.app.message
        );
        let order = self.orders.last().expect("the order").clone();
        // Back to the balance it had and the stock it had.
        let key = livecart_core::protocol::ComboId::new().to_string();
        let status = self
            .http
            .post(format!("{}/v1/orders/{}/cancel", self.base, order.id))
            .bearer_auth(self.token())
            .header("Idempotency-Key", key)
            .send()
            .expect("cancel")
            .status();
        assert!(status.is_success(), "cancelled: {status}");
        // The app hears of the refund on its own socket; here, from the wallet.
        self.send(Event::Wallet(WalletEvent::Open));
        self.send(Event::Wallet(WalletEvent::Close));
        (confirm, order)
    }

    fn sheet_step(&self) -> Option<&'static str> {
        self.app
            .view(Timestamp::now())
            .room
            .and_then(|r| r.product)
            .map(|p| p.step)
    }

    fn token(&self) -> String {
        self.app
            .session
            .access_token(Timestamp::now())
            .expect("signed in")
            .to_owned()
    }
}

fn dollars(m: &Money) -> String {
    livecart_core::view::price(m)
}

fn admin_post(shell: &Shell, path: &str, body: &Value) -> Value {
    let res = shell
        .http
        .post(format!("{}{path}", shell.base))
        .bearer_auth(ADMIN)
        .json(body)
        .send()
        .expect("host api");
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.json().unwrap_or(Value::Null)
}

/// Checks one option bought at `qty`: the sheet's header, its chip, the
/// total line and "Pay" all show what the server then charged.
fn check(shell: &mut Shell, product: ProductId, sku: SkuId, qty: u32, expect_unit: Money) {
    shell.send(Event::Shop(ShopEvent::OpenProduct(product)));
    let (sheet, order) = shell.buy(sku, qty);
    let what = format!("{} · {} × {qty}", sheet.name, order.sku_name);
    assert_eq!(
        order.sku_id, sku,
        "{what}: the option shown is the option bought"
    );
    assert_eq!(order.unit_price, expect_unit, "{what}: charged per unit");
    assert_eq!(sheet.price, dollars(&order.unit_price), "{what}: header");
    let chip = sheet
        .skus
        .iter()
        .find(|k| k.id == sku.to_string())
        .expect("the option's chip");
    assert!(chip.selected, "{what}: the chip is the chosen one");
    assert_eq!(chip.price, dollars(&order.unit_price), "{what}: chip");
    assert_eq!(
        sheet.total_line.as_deref(),
        Some(format!("{qty} × {}", dollars(&order.unit_price)).as_str()),
        "{what}: total line"
    );
    assert_eq!(sheet.total, Some(dollars(&order.total)), "{what}: total");
    assert!(
        sheet.primary.ends_with(&dollars(&order.total)),
        "{what}: {} vs {}",
        sheet.primary,
        dollars(&order.total)
    );
    shell.send(Event::Shop(ShopEvent::CloseProduct));
}

#[test]
fn every_option_of_every_demo_product_costs_what_the_sheet_shows_with_and_without_a_sale() {
    let server = support::HeadlessServer::start(&[
        ("LIVECART_DEMO__SCRIPTS", "false"),
        ("LIVECART_DEMO__STREAMS", "false"),
        ("LIVECART_ADMIN_TOKEN", ADMIN),
        // Cancelled orders give their money back at once; no fulfilment clock.
        ("LIVECART_MONEY__ORDER_STEP_MS", "0"),
    ]);
    let mut shell = Shell {
        app: App::default(),
        base: server.url.clone(),
        http: reqwest::blocking::Client::new(),
        orders: Vec::new(),
    };
    shell.send(Event::Started);
    shell.send(Event::Account(AccountEvent::SignIn {
        username: "ava".into(),
        password: "livecart".into(),
    }));
    assert!(shell.app.session.user().is_some(), "signed in");
    let rooms = shell.app.feed.rooms.len();
    assert!(rooms >= 4, "the demo world's rooms");
    let (mut options, mut on_sale, mut beside_sale) = (0, 0, 0);
    for index in 0..rooms {
        shell.send(Event::Feed(FeedEvent::OpenRoom(index)));
        let snap = shell
            .app
            .room
            .as_ref()
            .and_then(|r| r.state.clone())
            .expect("the room's state");
        let room = snap.room.id;
        for p in &snap.products {
            for k in &p.skus {
                // Without a sale: the option's own price, one and two of it.
                check(&mut shell, p.id, k.id, 1, k.price);
                if k.price.amount_minor * 2 <= 20_000 {
                    check(&mut shell, p.id, k.id, 2, k.price);
                }
                options += 1;
                // A flash sale on this option: it opens preselected at the
                // sale price; the product's other options keep their own.
                let sale_price = Money::new(k.price.amount_minor * 7 / 10, k.price.currency);
                let sale = admin_post(
                    &shell,
                    &format!("/v1/host/rooms/{room}/flash-sales"),
                    &serde_json::to_value(StartFlashSaleRequest {
                        product_id: p.id,
                        sku_id: k.id,
                        price: sale_price,
                        stock: 20,
                        duration_s: 600,
                    })
                    .expect("json"),
                );
                shell.refresh_room();
                shell.send(Event::Shop(ShopEvent::OpenProduct(p.id)));
                let opened = shell.sheet();
                let pre = opened.skus.iter().find(|c| c.selected).expect("a choice");
                assert_eq!(
                    pre.id,
                    k.id.to_string(),
                    "{}: the sale's option first",
                    p.name
                );
                assert!(pre.on_sale, "{}: the sale's option is marked", p.name);
                assert_eq!(opened.was, Some(dollars(&k.price)), "{}: struck", p.name);
                for other in opened.skus.iter().filter(|c| c.id != k.id.to_string()) {
                    let own = p.skus.iter().find(|s| s.id.to_string() == other.id);
                    assert_eq!(Some(other.price.clone()), own.map(|s| dollars(&s.price)));
                    assert!(!other.on_sale && other.was.is_none(), "{other:?}");
                }
                shell.send(Event::Shop(ShopEvent::CloseProduct));
                check(&mut shell, p.id, k.id, 1, sale_price);
                on_sale += 1;
                for other in p.skus.iter().filter(|s| s.id != k.id) {
                    check(&mut shell, p.id, other.id, 1, other.price);
                    beside_sale += 1;
                }
                admin_post(
                    &shell,
                    &format!(
                        "/v1/host/rooms/{room}/flash-sales/{}/end",
                        sale["id"].as_str().expect("id")
                    ),
                    &Value::Null,
                );
                shell.refresh_room();
            }
        }
    }
    eprintln!(
        "{options} options at their own price (×1 and ×2), {on_sale} on sale, {beside_sale} beside a sale: all charged as shown ({} orders)",
        shell.orders.len()
    );
    assert!(
        options >= 40,
        "every option of every demo product: {options}"
    );
}
