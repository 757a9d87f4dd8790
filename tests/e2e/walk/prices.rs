//! Walk items 1–3: the price a non-default option shows and charges, a
//! flash sale's option at its sale price, and the demo's sales leaving stock
//! for a shopper ("sold out" is not "ended").

use super::super::support::{self, Desktop};
use super::super::{ADMIN, app_in_first_room, sign_in_as};
use super::{Host, cents, dollars, orders_of, pay, snapshot, two_priced_options};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Choose a dearer option than the one the sheet opens on, and two of it:
/// the header, the total line and "Pay" follow the option, and the server
/// charges exactly that.
#[test]
fn a_non_default_option_shows_and_charges_its_own_price() {
    let desktop = Desktop::start();
    let server = super::super::driven_server();
    let (app, room) = app_in_first_room(&desktop, &server);
    sign_in_as(&app, "ava");
    let snap = snapshot(&server.url, &room);
    let (product, first, dear, i) = two_priced_options(&snap, 20_000);
    let name = product["name"].as_str().expect("name").to_owned();
    let (cheap, unit) = (cents(&first["price"]), cents(&dear["price"]));
    let host = Host {
        server: &server.url,
        room: &room,
    };
    assert_eq!(host.pin(&product), 200);
    app.wait_for("the card", Duration::from_secs(10), |a| {
        a.text("pinned").filter(|t| t.contains(&name))
    });
    app.tap("pinned");
    super::super::sheet_settled(&app);
    app.tap_nth("sku", i);
    app.tap("qty-plus");
    app.wait_for("two of the dearer option", Duration::from_secs(5), |a| {
        a.text("qty").filter(|q| q == "2")
    });
    let sheet = app.text("product-sheet").expect("sheet");
    desktop.screenshot("walk-1-option");
    app.tap("buy-now");
    let total = app.wait_for("the total", Duration::from_secs(10), |a| a.text("total"));
    let pay_label = app.text("pay").expect("pay");
    desktop.screenshot("walk-1-confirm");
    eprintln!(
        "{name}: options {} and {}; sheet said {sheet:?}; {total:?}; {pay_label:?}",
        dollars(cheap),
        dollars(unit)
    );
    assert_eq!(
        total,
        format!("Total · 2 × {}{}", dollars(unit), dollars(2 * unit)),
        "the total line's unit is the chosen option's"
    );
    assert_eq!(pay_label, format!("Pay {}", dollars(2 * unit)));
    let toast = pay(&app);
    assert!(
        toast.starts_with(&format!("Paid {}", dollars(2 * unit))),
        "{toast}"
    );
    let orders = orders_of(&server, "ava");
    assert_eq!(
        orders,
        vec![(
            name,
            dear["name"].as_str().expect("option").to_owned(),
            2,
            2 * unit
        )],
        "charged the option shown, at its price"
    );
}

/// A flash sale on one option: the sheet opens on that option at the sale
/// price (marked), "Pay" charges the sale price for that option; another
/// option shows and charges its own price.
#[test]
fn a_flash_sale_opens_on_its_option_and_charges_the_sale_price_for_it() {
    let desktop = Desktop::start();
    let server = super::super::driven_server();
    let (app, room) = app_in_first_room(&desktop, &server);
    sign_in_as(&app, "chloe");
    let snap = snapshot(&server.url, &room);
    let (product, first, sale_sku, _) = two_priced_options(&snap, 20_000);
    let name = product["name"].as_str().expect("name").to_owned();
    let regular = cents(&sale_sku["price"]);
    let sale_price = regular * 6 / 10 / 100 * 100 + 99;
    let host = Host {
        server: &server.url,
        room: &room,
    };
    assert_eq!(host.sale(&product, &sale_sku, sale_price, 20, 300), 201);
    host.pin(&product);
    let card = app.wait_for("the sale on the card", Duration::from_secs(10), |a| {
        a.text("pinned")
            .filter(|t| t.contains(&name) && t.contains("Flash sale"))
    });
    assert!(card.contains(&dollars(sale_price)), "{card}");
    app.tap("pinned");
    super::super::sheet_settled(&app);
    let sheet = app.text("product-sheet").expect("sheet");
    desktop.screenshot("walk-2-sale-sheet");
    // Straight to "Buy now": the option the sale is on.
    app.tap("buy-now");
    let total = app.wait_for("the total", Duration::from_secs(10), |a| a.text("total"));
    eprintln!("sale on {}: sheet {sheet:?}; {total:?}", sale_sku["name"]);
    assert_eq!(
        total,
        format!("Total · 1 × {}{}", dollars(sale_price), dollars(sale_price))
    );
    assert_eq!(
        app.text("pay").as_deref(),
        Some(format!("Pay {}", dollars(sale_price)).as_str())
    );
    pay(&app);
    assert_eq!(
        orders_of(&server, "chloe"),
        vec![(
            name.clone(),
            sale_sku["name"].as_str().expect("option").to_owned(),
            1,
            sale_price
        )],
        "the sale's option at the sale price"
    );
    // Another option: its own price, not the sale's.
    app.tap("pinned");
    super::super::sheet_settled(&app);
    let other = product["skus"]
        .as_array()
        .expect("skus")
        .iter()
        .position(|k| k["id"] == first["id"])
        .expect("the first option");
    app.tap_nth("sku", other);
    app.tap("buy-now");
    let pay_label = app.wait_for("the other option's total", Duration::from_secs(10), |a| {
        a.text("pay")
    });
    assert_eq!(
        pay_label,
        format!("Pay {}", dollars(cents(&first["price"])))
    );
    desktop.screenshot("walk-2-other-option");
}

/// The demo's bots buy in a flash sale but leave a share for people: a
/// shopper buys one at the sale price; when the rest sells out the card says
/// "sold out" (not "ended") while the sale's time still runs.
#[test]
fn the_demo_leaves_flash_sale_stock_for_people_and_sold_out_is_not_ended() {
    let desktop = Desktop::start();
    // The scripted demo: bots chat, gift and buy.
    let server = support::HeadlessServer::start(&[("LIVECART_ADMIN_TOKEN", ADMIN)]);
    let (app, room) = app_in_first_room(&desktop, &server);
    sign_in_as(&app, "dan");
    let snap = snapshot(&server.url, &room);
    // The room's cheapest option: another shopper buys what the bots leave.
    let (product, sku) = snap["products"]
        .as_array()
        .expect("products")
        .iter()
        .flat_map(|p| {
            p["skus"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |k| (p.clone(), k.clone()))
        })
        .min_by_key(|(_, k)| cents(&k["price"]))
        .expect("an option");
    let name = product["name"].as_str().expect("name").to_owned();
    let sale_price = cents(&sku["price"]) / 2 / 100 * 100 + 99;
    let host = Host {
        server: &server.url,
        room: &room,
    };
    let pin = || host.pin(&product);
    // 12 units for 30 s: the bots' 6 go one every ~3.3 s over the first 20 s.
    let start = || host.sale(&product, &sku, sale_price, 12, 30);
    // The scripted host may be running a sale of its own: wait it out.
    app.wait_for("our sale started", Duration::from_secs(90), |_| {
        (start() == 201).then_some(())
    });
    let started = Instant::now();
    let remaining = || snapshot(&server.url, &room)["flash_sale"]["remaining_stock"].as_u64();
    // The bots buy (the sale is real to them)…
    app.wait_for("the bots buying", Duration::from_secs(20), |_| {
        remaining().filter(|n| *n <= 10)
    });
    // …and a shopper still gets one.
    pin();
    app.wait_for("the sale on the card", Duration::from_secs(10), |a| {
        a.text("pinned")
            .filter(|t| t.contains(&name) && t.contains("Flash sale ·"))
    });
    app.tap("pinned");
    super::super::sheet_settled(&app);
    app.tap("buy-now");
    app.wait_for("the sale price", Duration::from_secs(10), |a| {
        a.text("pay")
            .filter(|p| *p == format!("Pay {}", dollars(sale_price)))
    });
    let toast = pay(&app);
    assert!(
        toast.starts_with(&format!("Paid {}", dollars(sale_price))),
        "{toast}"
    );
    eprintln!(
        "a shopper got one {:.1} s into the sale",
        started.elapsed().as_secs_f64()
    );
    // Someone else buys what is left: sold out, with time still on the clock.
    let left = remaining().expect("the sale still runs");
    assert!(left >= 1, "the bots left stock for people");
    buy_sale_over_rest(
        &server.url,
        &room,
        "ben",
        (&product, &sku),
        sale_price,
        left,
    );
    pin();
    let card = app.wait_for("sold out on the card", Duration::from_secs(10), |a| {
        a.text("pinned").filter(|t| t.contains("sold out"))
    });
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "checked before the deadline"
    );
    assert!(!card.contains("ended"), "sold out, not ended: {card}");
    desktop.screenshot("walk-3-sold-out");
}

/// `user` buys `qty` of the sale over REST (another shopper's phone).
fn buy_sale_over_rest(
    server: &str,
    room: &str,
    user: &str,
    (product, sku): (&Value, &Value),
    price: i64,
    qty: u64,
) {
    let http = reqwest::blocking::Client::new();
    let session: Value = http
        .post(format!("{server}/v1/session"))
        .json(&serde_json::json!({ "username": user, "password": "livecart" }))
        .send()
        .and_then(reqwest::blocking::Response::json)
        .expect("sign in");
    let token = session["access_token"].as_str().expect("token").to_owned();
    let address: Value = http
        .get(format!("{server}/v1/me/addresses"))
        .bearer_auth(&token)
        .send()
        .and_then(reqwest::blocking::Response::json)
        .expect("addresses");
    // The bots may take one meanwhile: buy what is left, whatever that is.
    let mut qty = qty;
    for attempt in 0..5 {
        let res = http
            .post(format!("{server}/v1/orders"))
            .bearer_auth(&token)
            .header(
                "Idempotency-Key",
                format!("walk-3-{}-{attempt}", std::process::id()),
            )
            .json(&serde_json::json!({
                "product_id": product["id"], "sku_id": sku["id"], "quantity": qty,
                "address_id": address["addresses"][0]["id"],
                "expected_unit_price": { "amount_minor": price, "currency": "USD" },
                "flash_sale_id": snapshot(server, room)["flash_sale"]["id"],
                "pin": "1234",
            }))
            .send()
            .expect("order");
        if res.status() == 201 {
            return;
        }
        let problem: Value = res.json().expect("a problem");
        assert_eq!(problem["code"], "out_of_stock", "{problem}");
        qty = problem["stock"].as_u64().expect("what is left");
        if qty == 0 {
            return;
        }
    }
    panic!("the rest of the sale could not be bought");
}
