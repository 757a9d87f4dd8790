//! A new shopper's walk (issue #15), one test per thing that walk found
//! broken: the price of a non-default option, a flash sale's option, the
//! demo's sales leaving stock for people, typing at full speed, video after
//! a server restart, the flood room's chat, feedback where the shopper is,
//! overlays on a swipe, and a thumb's layout at 390×844.

use super::support::{self, AppUnderTest, Desktop, Rect};
use super::{ADMIN, STARTUP, app_in_first_room, drawn, host_post, sign_in_as};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Types as fast as xdotool can (no delay between keys).
fn type_fast(app: &AppUnderTest, text: &str) {
    app.desktop.xdotool(&["type", "--delay", "0", text]);
}

/// Typing as fast as the keyboard goes, then "Send" at once: the line sent
/// is exactly what was typed, and the box is empty after. The card field
/// formats the number as it is typed and keeps every digit; a declined or
/// incomplete card is refused in a shopper's words.
#[test]
fn text_typed_at_full_speed_is_sent_whole_and_card_numbers_keep_every_digit() {
    let desktop = Desktop::start();
    let server = super::driven_server();
    let (app, _room) = app_in_first_room(&desktop, &server);
    sign_in_as(&app, "ben");

    for (i, text) in [
        "Hello from the other side of the world, is this warm?",
        "second line typed fast then sent at once 12345",
    ]
    .into_iter()
    .enumerate()
    {
        app.focus("chat-input");
        type_fast(&app, text);
        // "Send" at once: no waiting for the field to catch up.
        let r = app.rect("chat-send").expect("send");
        let (x, y) = r.center();
        desktop.xdotool(&["mousemove", &x.to_string(), &y.to_string(), "click", "1"]);
        let chat = app.wait_for("the line in the chat", Duration::from_secs(15), |a| {
            a.text("chat").filter(|t| t.contains(text))
        });
        assert!(chat.contains(text), "line {i} whole: {chat}");
        app.wait_for("the box emptied", Duration::from_secs(5), |a| {
            a.get("/rect/chat-input")
                .filter(|v| v["valueLength"].as_u64() == Some(0))
        });
    }
    desktop.screenshot("walk-4-chat");

    // The wallet's card field: typed at full speed, formatted in groups.
    app.tap("wallet");
    app.wait_for("the wallet", Duration::from_secs(10), |a| {
        a.text("wallet-balance").filter(|b| b.starts_with('$'))
    });
    app.focus("card-input");
    app.key("ctrl+a");
    app.key("BackSpace");
    type_fast(&app, "4000000000000002");
    let card = app.wait_for("the card number", Duration::from_secs(5), |a| {
        a.get("/rect/card-input")
            .and_then(|v| v["value"].as_str().map(str::to_owned))
            .filter(|v| v.chars().filter(char::is_ascii_digit).count() >= 16)
    });
    assert_eq!(
        card, "4000 0000 0000 0002",
        "every digit, in groups of four"
    );
    app.tap("top-up-1000");
    let notice = app.wait_for("the decline", Duration::from_secs(10), |a| {
        a.text("wallet-notice").filter(|n| n.contains("declined"))
    });
    assert!(
        !notice.contains("demo provider") && !notice.contains("test card"),
        "a shopper's words: {notice}"
    );
    // An incomplete number is refused before anything is sent.
    app.focus("card-input");
    app.key("ctrl+a");
    app.key("BackSpace");
    type_fast(&app, "42424242");
    app.tap("top-up-1000");
    let notice = app.wait_for("the card refused", Duration::from_secs(5), |a| {
        a.text("wallet-notice")
            .filter(|n| n.contains("card number"))
    });
    assert!(!notice.contains("demo"), "{notice}");
    desktop.screenshot("walk-4-card");
}

/// The server the app watches is stopped and started again: every room on
/// screen and the preloaded one are back to moving pictures within 2 s of
/// the server being back, and no room says "ended" (only the server can).
#[test]
fn after_a_server_restart_every_room_moves_again_within_two_seconds() {
    let desktop = Desktop::start();
    let envs = [
        ("LIVECART_DEMO__SCRIPTS", "false"),
        ("LIVECART_ADMIN_TOKEN", ADMIN),
    ];
    let server = support::HeadlessServer::start(&envs);
    let (port, url) = (server.port(), server.url.clone());
    let (app, _room) = app_in_first_room(&desktop, &server);
    app.wait_for("the next room preloaded", Duration::from_secs(15), |a| {
        (drawn(&a.state(), 1) > 10).then_some(())
    });

    let mut server = Some(server);
    // A blip, and an outage longer than any player's patience used to be.
    for outage in [Duration::from_secs(3), Duration::from_secs(35)] {
        let dir = server.take().expect("the server runs").stop();
        app.wait_for("the outage noticed", Duration::from_secs(15), |a| {
            a.state()["view"]["badge"]
                .as_str()
                .filter(|b| b.starts_with("Reconnecting"))
                .map(str::to_owned)
        });
        // The outage lasts; no room may claim its live has ended.
        let until = Instant::now() + outage;
        while Instant::now() < until {
            let badge = app.state()["view"]["badge"]
                .as_str()
                .unwrap_or("")
                .to_owned();
            assert!(
                !badge.contains("ended"),
                "during a {outage:?} outage: {badge}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        let s = app.state();
        let (d0, d1) = (drawn(&s, 0), drawn(&s, 1));
        let restarted = support::HeadlessServer::start_in(dir, port, &envs);
        assert_eq!(restarted.url, url);
        let back = Instant::now();
        let mut at = [None, None];
        app.wait_for("both rooms moving again", Duration::from_secs(20), |a| {
            let s = a.state();
            for (i, base) in [d0, d1].into_iter().enumerate() {
                if at[i].is_none() && drawn(&s, i) >= base + 5 {
                    at[i] = Some(back.elapsed());
                }
            }
            at.iter().all(Option::is_some).then_some(())
        });
        let [on_screen, preloaded] = at.map(Option::unwrap_or_default);
        eprintln!(
            "after a {outage:?} outage: the room on screen moved again {} ms after the server was back, the preloaded room {} ms",
            on_screen.as_millis(),
            preloaded.as_millis()
        );
        let badge = app.state()["view"]["badge"]
            .as_str()
            .unwrap_or("")
            .to_owned();
        assert!(badge.starts_with("LIVE"), "{badge}");
        // The room's own connection (chat, cards) follows the pictures back.
        app.wait_for("the room reconnected", Duration::from_secs(3), |a| {
            a.rect("reconnecting").is_none().then_some(())
        });
        desktop.screenshot(&format!("walk-5-back-after-{}s", outage.as_secs()));
        assert!(
            on_screen <= Duration::from_secs(2) && preloaded <= Duration::from_secs(2),
            "after a {outage:?} outage: {on_screen:?} / {preloaded:?} to moving pictures"
        );
        server = Some(restarted);
    }
}

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

/// Choose a dearer option than the one the sheet opens on, and two of it:
/// the header, the total line and "Pay" follow the option, and the server
/// charges exactly that.
#[test]
fn a_non_default_option_shows_and_charges_its_own_price() {
    let desktop = Desktop::start();
    let server = super::driven_server();
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
    super::sheet_settled(&app);
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
    let server = super::driven_server();
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
    super::sheet_settled(&app);
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
    super::sheet_settled(&app);
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
    super::sheet_settled(&app);
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

/// Swipes (↓) to the room titled `title` in the feed; returns its index.
fn swipe_to(app: &AppUnderTest, server: &str, title: &str) -> usize {
    let feed: Value = reqwest::blocking::get(format!("{server}/v1/feed"))
        .and_then(reqwest::blocking::Response::json)
        .expect("feed");
    let index = feed["rooms"]
        .as_array()
        .expect("rooms")
        .iter()
        .position(|r| r["title"].as_str().is_some_and(|t| t.contains(title)))
        .expect("the room in the feed");
    app.tap("live-badge"); // the feed takes the keys
    for i in 1..=index {
        app.key("Down");
        app.wait_for("the next room", Duration::from_secs(10), |a| {
            (a.state()["view"]["index"].as_u64() == Some(i as u64)).then_some(())
        });
    }
    index
}

/// The 200-lines-a-second room: the chat moves at a pace a person can read,
/// holds still (counting new lines) while the shopper reads back, always
/// shows the shopper's own line, and a line's Report chip stays put.
#[test]
fn the_flood_rooms_chat_is_readable_holds_when_read_back_and_shows_your_own_line() {
    let desktop = Desktop::start();
    let server = support::HeadlessServer::start(&[("LIVECART_ADMIN_TOKEN", ADMIN)]);
    let (app, _) = app_in_first_room(&desktop, &server);
    sign_in_as(&app, "ava");
    swipe_to(&app, &server.url, "snack");
    app.wait_for("the flood", Duration::from_secs(10), |a| {
        (chat_lines(a).len() >= 4).then_some(())
    });

    // Pace: new lines appearing on screen, sampled for 3 s.
    let mut seen: std::collections::HashSet<String> =
        chat_lines(&app).into_iter().map(|l| l.0).collect();
    let start = Instant::now();
    let mut appeared = 0;
    while start.elapsed() < Duration::from_secs(3) {
        for (id, ..) in chat_lines(&app) {
            if seen.insert(id) {
                appeared += 1;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    eprintln!("flood room: {appeared} new lines on screen in 3 s");
    assert!(appeared <= 18, "readable: {appeared} new lines in 3 s");
    assert!(appeared >= 6, "the chat still moves: {appeared}");
    desktop.screenshot("walk-6-flood");

    // Reading back: the wheel over the chat scrolls to older lines; nothing
    // moves, and a pill counts what came.
    let chat = app.rect("chat").expect("chat");
    let (x, y) = chat.center();
    desktop.xdotool(&["mousemove", &x.to_string(), &y.to_string()]);
    for _ in 0..3 {
        desktop.xdotool(&["click", "4"]);
    }
    let pill = app.wait_for("the new-messages pill", Duration::from_secs(5), |a| {
        a.text("new-messages")
    });
    let held = chat_lines(&app);
    let first = held.first().map(|l| (l.0.clone(), l.2));
    app.wait_for("more lines counted", Duration::from_secs(5), |a| {
        a.text("new-messages").filter(|p| *p != pill)
    });
    let later = chat_lines(&app);
    assert_eq!(
        later.first().map(|l| (l.0.clone(), l.2)),
        first,
        "the line under the reader's eye stays where it is"
    );
    desktop.screenshot("walk-6-read-back");
    app.tap("new-messages");
    app.wait_for("back at the newest lines", Duration::from_secs(5), |a| {
        a.rect("new-messages").is_none().then_some(())
    });

    // The shopper's own line shows, marked, and stays to be read.
    app.fill("chat-input", "is the chili oil vegan?");
    app.key("Return");
    let mine = app.wait_for("my line", Duration::from_secs(5), |a| {
        chat_lines(a)
            .into_iter()
            .find(|l| l.1.contains("is the chili oil vegan?"))
    });
    assert!(mine.3.contains("mine"), "marked as mine: {}", mine.3);
    let shown_at = Instant::now();
    app.wait_for(
        "my line scrolls away in time",
        Duration::from_secs(20),
        |a| (!chat_lines(a).iter().any(|l| l.0 == mine.0)).then_some(()),
    );
    let stayed = shown_at.elapsed();
    eprintln!(
        "my line stayed on screen {} ms in the flood",
        stayed.as_millis()
    );
    assert!(
        stayed >= Duration::from_millis(1500),
        "readable: {stayed:?}"
    );

    // A line picked: its Report chip stays under the finger.
    // The second newest (first in the markup, which is newest first): inside
    // the chat's scroll box (older ones are clipped by it).
    let line = chat_lines(&app).into_iter().nth(1).expect("a line");
    let line_rect = app
        .get("/all/chat-line")
        .and_then(|v| v.as_array().cloned())
        .and_then(|v| v.into_iter().find(|l| l["id"] == line.0.as_str()))
        .expect("the line");
    let (lx, ly) = (
        line_rect["x"].as_f64().unwrap_or_default() + 20.0,
        line_rect["y"].as_f64().unwrap_or_default()
            + line_rect["height"].as_f64().unwrap_or_default() / 2.0,
    );
    desktop.xdotool(&[
        "mousemove",
        &(lx as i64).to_string(),
        &(ly as i64).to_string(),
        "click",
        "1",
    ]);
    let chip = app.wait_for("the Report chip", Duration::from_secs(5), |a| {
        a.rect("report")
    });
    // The line picked: the one holding the chip (the list may have moved a
    // line between looking and tapping).
    let line = chat_lines(&app)
        .into_iter()
        .find(|l| l.1.ends_with("Report"))
        .expect("the picked line");
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1500) {
        let now = app.rect("report").expect("the chip stays");
        assert!(
            (now.y - chip.y).abs() < 1.0 && (now.x - chip.x).abs() < 1.0,
            "the chip moved from {chip:?} to {now:?}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    app.tap("report");
    app.tap("report-reason-0");
    app.wait_for("reported", Duration::from_secs(10), |a| {
        a.state()["view"]["message"]
            .as_str()
            .filter(|m| m.starts_with("Reported"))
            .map(str::to_owned)
    });
    assert!(
        !chat_lines(&app).iter().any(|l| l.0 == line.0),
        "the reported line is gone"
    );
}

/// A swipe never shows one room's chat, card, bag count or likes over the
/// next room's video; and after closing a sheet the keys work at once.
#[test]
fn a_swipe_never_shows_the_old_rooms_overlays_and_keys_work_after_a_sheet() {
    let desktop = Desktop::start();
    let server = support::HeadlessServer::start(&[("LIVECART_ADMIN_TOKEN", ADMIN)]);
    let (app, _) = app_in_first_room(&desktop, &server);
    let old: std::collections::HashSet<String> = app
        .wait_for("the first room's chat", Duration::from_secs(15), |a| {
            let lines = chat_lines(a);
            (lines.len() >= 3).then_some(lines)
        })
        .into_iter()
        .map(|l| l.0)
        .collect();
    let old_card = app.wait_for("the first room's card", Duration::from_secs(30), |a| {
        a.text("pinned")
    });
    app.wait_for("the next room preloaded", Duration::from_secs(10), |a| {
        (drawn(&a.state(), 1) > 0).then_some(())
    });
    app.tap("live-badge");
    // Every line the first room shows from here on counts as its own.
    let mut old = old;
    old.extend(chat_lines(&app).into_iter().map(|l| l.0));
    app.key("Down");
    let start = Instant::now();
    let mut samples = 0;
    while start.elapsed() < Duration::from_millis(1500) {
        let lines = chat_lines(&app);
        let stale: Vec<_> = lines.iter().filter(|l| old.contains(&l.0)).collect();
        assert!(
            stale.is_empty(),
            "{} ms after the swipe the first room's chat shows over the second: {stale:?}",
            start.elapsed().as_millis()
        );
        if let Some(card) = app.text("pinned") {
            assert!(
                card != old_card || app.state()["view"]["index"] == 0,
                "the first room's card over the second room: {card}"
            );
        }
        samples += 1;
    }
    eprintln!("{samples} looks in the 1.5 s after the swipe: no line of the first room");
    assert_eq!(app.state()["view"]["index"], 1);
    desktop.screenshot("walk-8-after-swipe");

    // A sheet opened and closed: ↓ still swipes, no click on the video first.
    app.tap("bag");
    app.wait_for("the bag", Duration::from_secs(10), |a| a.rect("bag-sheet"));
    app.tap("bag-close");
    app.wait_for("the bag closed", Duration::from_secs(10), |a| {
        a.rect("bag-sheet").is_none().then_some(())
    });
    app.key("Down");
    app.wait_for("the third room after ↓", Duration::from_secs(5), |a| {
        (a.state()["view"]["index"] == 2).then_some(())
    });
    // And the other keys: m mutes.
    app.tap("bag");
    app.wait_for("the bag", Duration::from_secs(10), |a| a.rect("bag-sheet"));
    app.tap("bag-close");
    app.wait_for("the bag closed", Duration::from_secs(10), |a| {
        a.rect("bag-sheet").is_none().then_some(())
    });
    app.key("m");
    app.wait_for("muted with m", Duration::from_secs(5), |a| {
        a.get("/state").filter(|s| s["view"]["muted"] == true)
    });
}

/// Every tap says what happened, where the shopper is, and stale words go:
/// paying from the bag shows "Paid" above the bag; a wrong PIN says how many
/// tries are left; "refund requested" gives way once the order is refunded;
/// "you're offline" goes once the server is back; sign-out asks first.
#[test]
fn every_outcome_shows_where_the_shopper_is_and_stale_notices_go() {
    let desktop = Desktop::start();
    let envs = [
        ("LIVECART_DEMO__SCRIPTS", "false"),
        ("LIVECART_ADMIN_TOKEN", ADMIN),
        ("LIVECART_MONEY__ORDER_STEP_MS", "700"),
        ("LIVECART_MONEY__REFUND_DELAY_MS", "3000"),
    ];
    let server = support::HeadlessServer::start(&envs);
    let (port, url) = (server.port(), server.url.clone());
    {
        let (app, room) = app_in_first_room(&desktop, &server);
        sign_in_as(&app, "ava");
        let snap = snapshot(&server.url, &room);
        let products = snap["products"].as_array().expect("products");
        // The bag's cheapest product: paid from the bag, "Paid" shows over it.
        let (row, _) = products
            .iter()
            .enumerate()
            .min_by_key(|(_, p)| {
                p["skus"]
                    .as_array()
                    .map_or(i64::MAX, |k| cents(&k[0]["price"]))
            })
            .expect("a product");
        app.tap("bag");
        app.wait_for("the bag", Duration::from_secs(10), |a| a.rect("bag-sheet"));
        app.tap_nth("bag-row", row);
        super::sheet_settled(&app);
        app.tap("buy-now");
        let toast = pay(&app);
        let shown = app.wait_for("the paid message on screen", Duration::from_secs(5), |a| {
            a.get("/rect/message")
                .filter(|m| m["text"] == toast.as_str())
        });
        assert_eq!(shown["covered"], false, "nothing covers {toast:?}");
        desktop.screenshot("walk-7-paid-from-bag");
        if app.rect("bag-sheet").is_some() {
            app.tap("bag-close");
        }

        // A wrong PIN says how many tries are left.
        let (product, _, dear, i) = two_priced_options(&snap, 40_000);
        Host {
            server: &server.url,
            room: &room,
        }
        .pin(&product);
        app.wait_for("the card", Duration::from_secs(10), |a| a.rect("pinned"));
        app.tap("pinned");
        super::sheet_settled(&app);
        app.tap_nth("sku", i);
        if cents(&dear["price"]) < 10_000 {
            app.tap("qty-plus");
        }
        app.tap("buy-now");
        app.tap("pay");
        app.wait_for("the PIN step", Duration::from_secs(10), |a| {
            a.rect("pin-input")
        });
        app.fill("pin-input", "9999");
        app.tap("pin-submit");
        let wrong = app.wait_for("the PIN refused", Duration::from_secs(10), |a| {
            a.text("pin-error")
        });
        assert_eq!(wrong, "That PIN isn't right — 4 tries left");
        desktop.screenshot("walk-7-wrong-pin");
        app.tap("product-close");

        // The first order is delivered in a few seconds here; a refund is
        // asked for and the merchant refunds it: the "requested" words go.
        app.tap("orders");
        app.wait_for("delivered", Duration::from_secs(20), |a| {
            a.text("order-status").filter(|s| s == "Delivered")
        });
        app.tap("order-row");
        app.tap("order-refund");
        app.tap("refund-reason-3");
        let notice = app.wait_for("the refund requested", Duration::from_secs(10), |a| {
            a.text("order-notice")
        });
        assert!(notice.starts_with("Refund requested"), "{notice}");
        app.wait_for("refunded", Duration::from_secs(15), |a| {
            a.text("order-status").filter(|s| s == "Refunded")
        });
        let stale = app.text("order-notice");
        assert!(
            stale
                .as_deref()
                .is_none_or(|n| !n.starts_with("Refund requested")),
            "a stale notice under a refunded order: {stale:?}"
        );
        desktop.screenshot("walk-7-refunded");
        app.tap("orders-close");

        // Sign-out asks first.
        app.tap("sign-out");
        app.wait_for("sign out?", Duration::from_secs(5), |a| {
            a.rect("confirm-sign-out")
        });
        app.tap("cancel-sign-out");
        app.wait_for("still signed in", Duration::from_secs(5), |a| {
            a.rect("confirm-sign-out").is_none().then_some(())
        });
        assert_eq!(app.state()["view"]["user"], "Ava");
        desktop.screenshot("walk-7-signed-in");
    }

    // Offline at start (the server is down): the message goes by itself
    // once the server is back.
    let dir = server.stop();
    let app = AppUnderTest::start(&desktop, &["--server", &url]);
    app.wait_for("offline", STARTUP, |a| {
        a.state()["view"]["message"]
            .as_str()
            .filter(|m| m.starts_with("You're offline"))
            .map(str::to_owned)
    });
    let _server = support::HeadlessServer::start_in(dir, port, &envs);
    app.wait_for("the offline message gone", Duration::from_secs(20), |a| {
        a.state()["view"]["message"]
            .as_str()
            .is_none_or(|m| !m.starts_with("You're offline"))
            .then_some(())
    });
}

fn overlaps(a: Rect, b: Rect) -> bool {
    a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height
}

/// Asserts each element is a thumb's size (≥ 44 × 44 px).
fn thumb_sized(app: &AppUnderTest, ids: &[&str]) {
    for id in ids {
        let r = app.wait_for(&format!("{id} on screen"), Duration::from_secs(10), |a| {
            a.rect(id)
        });
        assert!(
            r.width >= 44.0 && r.height >= 44.0,
            "{id} is {:.0} × {:.0} px",
            r.width,
            r.height
        );
    }
}

/// Asserts `what` is clear of every element in `of` on screen.
fn clear_of(app: &AppUnderTest, what: &str, of: &[&str]) {
    let r = app.rect(what).unwrap_or_else(|| panic!("{what} on screen"));
    for id in of {
        if let Some(o) = app.rect(id) {
            assert!(!overlaps(r, o), "{what} {r:?} covers {id} {o:?}");
        }
    }
}

fn font_px(app: &AppUnderTest, id: &str) -> f64 {
    app.get(&format!("/rect/{id}"))
        .and_then(|v| v["fontSize"].as_f64())
        .unwrap_or_else(|| panic!("{id}'s font size"))
}

/// At 390 × 844: every tap target is at least 44 px, text at least 13 px
/// and labels 11 px, nothing of the account's or the debug overlay over
/// the top controls, banners and toasts clear of the controls, the grid
/// with the account's buttons, and the shopper's own hearts told apart.
#[test]
fn at_390_by_844_targets_fit_a_thumb_text_is_readable_and_nothing_covers_the_controls() {
    let desktop = Desktop::start();
    let server = support::HeadlessServer::start(&[
        ("LIVECART_DEMO__SCRIPTS", "false"),
        ("LIVECART_ADMIN_TOKEN", ADMIN),
        ("LIVECART_MONEY__ORDER_STEP_MS", "1500"),
    ]);
    let (app, room) = app_in_first_room(&desktop, &server);
    sign_in_as(&app, "ben");
    let snap = snapshot(&server.url, &room);
    let (product, first, _, _) = two_priced_options(&snap, 20_000);
    let host = Host {
        server: &server.url,
        room: &room,
    };
    host.sale(&product, &first, cents(&first["price"]) / 2, 5, 600);
    host.pin(&product);
    app.wait_for("the card with its sale", Duration::from_secs(10), |a| {
        a.rect("flash-sale")
    });
    app.fill("chat-input", "a line to read");
    app.key("Return");
    app.wait_for("the line", Duration::from_secs(10), |a| a.rect("chat-line"));

    thumb_sized(
        &app,
        &[
            "mute",
            "close",
            "follow",
            "like",
            "gift",
            "bag",
            "chat-send",
            "sign-out",
            "wallet",
            "orders",
            "pinned",
        ],
    );
    assert!(font_px(&app, "chat-line") >= 13.0, "chat text");
    for label in ["like-count", "flash-sale", "stock", "viewers", "live-badge"] {
        let px = font_px(&app, label);
        assert!(px >= 11.0, "{label} in {px} px");
    }
    desktop.screenshot("walk-9-room");

    // The debug overlay sits clear of the account's buttons and the badge.
    app.tap("live-badge");
    app.key("d");
    app.wait_for("the debug overlay", Duration::from_secs(5), |a| {
        a.rect("debug")
    });
    clear_of(
        &app,
        "debug",
        &[
            "sign-out",
            "wallet",
            "orders",
            "live-badge",
            "room-title",
            "mute",
            "close",
        ],
    );
    app.key("d");

    // The report chip of a picked line.
    app.tap("chat-line");
    thumb_sized(&app, &["report"]);
    app.tap("chat-line");

    // The gift bar; big gifts as a banner (reduced motion) clear of the top.
    app.tap("gift");
    thumb_sized(&app, &["gift-bar-close"]);
    let toggle = app.rect("reduced-motion").expect("the switch");
    assert!(
        toggle.height >= 44.0,
        "the motion switch is {:.0} px tall",
        toggle.height
    );
    app.tap("reduced-motion");
    host_post(
        &server.url,
        &format!("/v1/host/rooms/{room}/demo-gifts"),
        &serde_json::json!({ "gift": "Rocket", "sender": "rocket_fan" }),
    );
    app.wait_for("the banner", Duration::from_secs(10), |a| {
        a.rect("big-gift-banner")
    });
    clear_of(
        &app,
        "big-gift-banner",
        &[
            "room-title",
            "wallet",
            "orders",
            "sign-out",
            "host-chip",
            "live-badge",
        ],
    );
    desktop.screenshot("walk-9-banner");
    app.tap("reduced-motion");
    app.tap("gift-bar-close");

    // The checkout sheet's controls; the paid message and the order's
    // toast clear of the controls.
    app.tap("pinned");
    super::sheet_settled(&app);
    thumb_sized(
        &app,
        &["product-close", "qty-plus", "qty-minus", "sku", "buy-now"],
    );
    desktop.screenshot("walk-9-sheet");
    app.tap("buy-now");
    pay(&app);
    clear_of(
        &app,
        "message",
        &[
            "host-chip",
            "follow",
            "close",
            "mute",
            "sign-out",
            "wallet",
            "orders",
        ],
    );
    app.wait_for("the order's toast", Duration::from_secs(15), |a| {
        a.rect("order-toast")
    });
    clear_of(
        &app,
        "order-toast",
        &[
            "host-chip",
            "follow",
            "close",
            "mute",
            "sign-out",
            "wallet",
            "orders",
            "live-badge",
        ],
    );
    desktop.screenshot("walk-9-toasts");

    // The shopper's own like, told apart from the crowd's.
    app.tap("like");
    let mine = app.wait_for("my heart", Duration::from_secs(5), |a| {
        a.get("/all/heart")
            .and_then(|v| v.as_array().cloned())
            .and_then(|hs| {
                hs.into_iter()
                    .find(|h| h["cls"].as_str().is_some_and(|c| c.contains("mine")))
            })
    });
    assert_eq!(
        mine["cls"], "heart mine",
        "drawn as the shopper's own: {mine}"
    );

    // The grid of live rooms keeps the account's buttons.
    app.tap("close");
    app.wait_for("the grid", Duration::from_secs(10), |a| a.rect("room-tile"));
    thumb_sized(&app, &["sign-out", "wallet", "orders"]);
    desktop.screenshot("walk-9-grid");
}
