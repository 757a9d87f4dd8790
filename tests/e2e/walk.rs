//! A new shopper's walk (issue #15), one test per thing that walk found
//! broken, and the helpers they share. Each file holds the tests of one or
//! two of the walk's items: prices.rs (1–3), typing.rs (4), video.rs (5, 8),
//! chat.rs (6), screen.rs (7, 9).

#[path = "walk/chat.rs"]
mod chat;
#[path = "walk/prices.rs"]
mod prices;
#[path = "walk/screen.rs"]
mod screen;
#[path = "walk/typing.rs"]
mod typing;
#[path = "walk/video.rs"]
mod video;

use super::host_post;
use super::support::{self, AppUnderTest};
use serde_json::Value;
use std::time::Duration;

/// The room's snapshot over REST.
fn snapshot(server: &str, room: &str) -> Value {
    reqwest::blocking::get(format!("{server}/v1/rooms/{room}"))
        .and_then(reqwest::blocking::Response::json)
        .expect("snapshot")
}

fn cents(m: &Value) -> i64 {
    m["amount_minor"].as_i64().expect("an amount")
}

fn dollars(minor: i64) -> String {
    format!("${}.{:02}", minor / 100, minor % 100)
}

/// The room's host, driven over the host API with the admin token.
struct Host<'a> {
    server: &'a str,
    room: &'a str,
}

impl Host<'_> {
    /// Holds up `product`: its card shows. Returns the HTTP status.
    fn pin(&self, product: &Value) -> u16 {
        host_post(
            self.server,
            &format!("/v1/host/rooms/{}/pin", self.room),
            &serde_json::json!({ "product_id": product["id"] }),
        )
    }

    /// A flash sale on one option. Returns the HTTP status.
    fn sale(
        &self,
        product: &Value,
        sku: &Value,
        price_minor: i64,
        stock: u32,
        duration_s: u32,
    ) -> u16 {
        host_post(
            self.server,
            &format!("/v1/host/rooms/{}/flash-sales", self.room),
            &serde_json::json!({
                "product_id": product["id"], "sku_id": sku["id"],
                "price": { "amount_minor": price_minor, "currency": "USD" },
                "stock": stock, "duration_s": duration_s,
            }),
        )
    }
}

/// A product with two options in stock at different prices, all under
/// `max` cents: (product, the first option in stock, a dearer one and its
/// index among the product's options).
fn two_priced_options(snap: &Value, max: i64) -> (Value, Value, Value, usize) {
    snap["products"]
        .as_array()
        .expect("products")
        .iter()
        .find_map(|p| {
            let skus = p["skus"].as_array()?;
            let in_stock = |k: &&Value| k["stock"].as_u64() > Some(2);
            let first = skus.iter().find(in_stock)?;
            let (i, dear) = skus.iter().enumerate().find(|(_, k)| {
                in_stock(k)
                    && cents(&k["price"]) > cents(&first["price"])
                    && cents(&k["price"]) * 2 < max
            })?;
            Some((p.clone(), first.clone(), dear.clone(), i))
        })
        .expect("a product whose options cost different amounts")
}

/// "Pay" (and the PIN if the total asks for one); returns the paid toast.
fn pay(app: &AppUnderTest) -> String {
    let before = app.state()["view"]["message"].as_str().map(str::to_owned);
    app.tap("pay");
    app.wait_for("paid", Duration::from_secs(15), |a| {
        if a.rect("pin-input").is_some()
            && a.get("/rect/pin-input")
                .is_some_and(|v| v["valueLength"] == 0)
        {
            a.fill("pin-input", "1234");
            a.tap("pin-submit");
        }
        a.state()["view"]["message"]
            .as_str()
            .filter(|m| m.starts_with("Paid") && Some(*m) != before.as_deref())
            .map(str::to_owned)
    })
}

/// The server's record of `user`'s paid orders: (product, option, quantity, total).
fn orders_of(server: &support::HeadlessServer, user: &str) -> Vec<(String, String, i64, i64)> {
    let db = server.dir.path().join("server/livecart.sqlite3");
    super::read_sqlite(&db, async |pool| {
        sqlx::query_as(
            "SELECT o.product_name, o.sku_name, o.quantity, o.total_minor FROM orders o \
             JOIN users u ON u.id = o.buyer_id WHERE u.username = ? ORDER BY o.created_at",
        )
        .bind(user)
        .fetch_all(pool)
        .await
        .expect("orders")
    })
}

/// The chat lines on screen: (data-id, text, top y, classes).
fn chat_lines(app: &AppUnderTest) -> Vec<(String, String, f64, String)> {
    app.get("/all/chat-line")
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .into_iter()
        .map(|l| {
            (
                l["id"].as_str().unwrap_or_default().to_owned(),
                l["text"].as_str().unwrap_or_default().to_owned(),
                l["y"].as_f64().unwrap_or_default(),
                l["cls"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

/// Types as fast as xdotool can (no delay between keys).
fn type_fast(app: &AppUnderTest, text: &str) {
    app.desktop.xdotool(&["type", "--delay", "0", text]);
}
