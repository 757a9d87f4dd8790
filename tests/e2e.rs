//! End to end: the real app in a real window (Xvfb), tapped with real pointer
//! and keyboard events, against its embedded server with the demo world.
//! Screenshots land in target/e2e/.
//!
//! Size: the real-window stories, one test each, on one harness; the walk's
//! items are in tests/e2e/walk/.

#[path = "e2e/support.rs"]
mod support;
#[path = "e2e/walk.rs"]
mod walk;

use serde_json::Value;
use std::time::Duration;
use support::{AppUnderTest, Desktop, room_stats};

const STARTUP: Duration = Duration::from_mins(1);

fn drawn(state: &Value, index: usize) -> u64 {
    room_stats(state, index)["drawn"].as_u64().unwrap_or(0)
}

/// Share of pixels that changed between two screenshots inside `area`.
fn changed_share(a: &std::path::Path, b: &std::path::Path, area: support::Rect) -> f64 {
    let a = image::open(a).expect("png").to_rgb8();
    let b = image::open(b).expect("png").to_rgb8();
    let (mut changed, mut total) = (0u64, 0u64);
    for y in area.y as u32..(area.y + area.height) as u32 {
        for x in area.x as u32..(area.x + area.width) as u32 {
            if x >= a.width() || y >= a.height() {
                continue;
            }
            total += 1;
            let (p, q) = (a.get_pixel(x, y), b.get_pixel(x, y));
            if p.0.iter().zip(q.0).any(|(m, n)| m.abs_diff(n) > 12) {
                changed += 1;
            }
        }
    }
    changed as f64 / total.max(1) as f64
}

#[test]
fn the_feed_plays_moving_video_and_a_swipe_shows_the_next_room_at_once() {
    let desktop = Desktop::start();
    let app = AppUnderTest::start(&desktop, &[]);

    // The viewer sees the first room's live video (not its cover) with a LIVE badge.
    let state = app.wait_for("the first room's video on screen", STARTUP, |a| {
        let s = a.state();
        (drawn(&s, 0) >= 15 && s["view"]["video"] == true).then_some(s)
    });
    assert_eq!(
        state["page"]["path"], "webcodecs",
        "this webview has WebCodecs"
    );
    // The Dioxus edits socket hands over ArrayBuffers, not Blobs that pile up
    // in WebKit (assets/edits.js): a Dioxus upgrade that changes its
    // interpreter shows here, not as a slow leak.
    assert_eq!(
        state["page"]["editsAs"], "arraybuffer",
        "the page's edits hook is in place"
    );
    // The badge is read from the page (a render may land between the two
    // reads), so wait for it briefly rather than sample it once.
    let badge = app.wait_for("the badge to say LIVE", Duration::from_secs(5), |a| {
        a.text("live-badge").filter(|b| b.starts_with("LIVE"))
    });
    eprintln!("badge: {badge}");

    // Two screenshots a second of frames apart differ in the video area.
    let before = drawn(&state, 0);
    let first = desktop.screenshot("feed-1");
    app.wait_for("30 more frames drawn", Duration::from_secs(10), |a| {
        (drawn(&a.state(), 0) >= before + 30).then_some(())
    });
    let second = desktop.screenshot("feed-2");
    // The middle of the picture, clear of the top bar and the chat overlay.
    let area = support::Rect {
        x: 0.0,
        y: 140.0,
        width: 390.0,
        height: 360.0,
    };
    let share = changed_share(&first, &second, area);
    assert!(
        share > 0.002,
        "the video area did not move between screenshots ({:.3} % changed)",
        share * 100.0
    );
    let stats = room_stats(&app.state(), 0).clone();
    eprintln!(
        "first room: {} frames drawn, capture->draw p50 {:.1} ms, p95 {:.1} ms; {:.2} % of the video area changed",
        stats["drawn"],
        stats["latencyP50"].as_f64().unwrap_or(0.0),
        stats["latencyP95"].as_f64().unwrap_or(0.0),
        share * 100.0
    );

    // The second room is preloaded: its view is already decoding off screen.
    app.wait_for("the next room preloaded", Duration::from_secs(10), |a| {
        (drawn(&a.state(), 1) > 0).then_some(())
    });
    app.tap("live-badge"); // focus the feed with a real click (the badge has no action)
    app.key("Down");
    let (input_at, first_draw) = app.wait_for(
        "the second room's video after the swipe",
        Duration::from_secs(5),
        |a| {
            let s = a.state();
            let shown = room_stats(&s, 1)["shownAfterInputAt"]
                .as_f64()
                .unwrap_or(0.0);
            let input = s["page"]["lastInputAt"].as_f64().unwrap_or(0.0);
            (s["view"]["index"] == 1 && shown > input).then_some((input, shown))
        },
    );
    let swipe_ms = first_draw - input_at;
    eprintln!("swipe -> first frame of the next room: {swipe_ms:.0} ms");
    assert!(
        swipe_ms <= 300.0,
        "the next room took {swipe_ms:.0} ms to show video after the swipe"
    );
    app.wait_for(
        "the second room keeps playing",
        Duration::from_secs(5),
        |a| (drawn(&a.state(), 1) >= 10).then_some(()),
    );
    desktop.screenshot("room-2");

    // Closing the room shows the grid of live rooms; a tile opens that room.
    app.tap("close");
    app.wait_for("the grid of live rooms", Duration::from_secs(5), |a| {
        a.rect("room-tile")
    });
    assert!(
        app.rect("video").is_none(),
        "no video plays behind the grid"
    );
    desktop.screenshot("grid");
    app.tap("room-tile");
    app.wait_for(
        "the first room again, playing",
        Duration::from_secs(10),
        |a| {
            let s = a.state();
            (s["view"]["index"] == 0 && s["view"]["video"] == true).then_some(())
        },
    );
}

#[test]
fn without_webcodecs_the_jpeg_fallback_plays() {
    let desktop = Desktop::start();
    let app = AppUnderTest::start(&desktop, &["--jpeg"]);
    let state = app.wait_for("JPEG frames drawn", STARTUP, |a| {
        let s = a.state();
        (drawn(&s, 0) >= 30).then_some(s)
    });
    assert_eq!(state["page"]["path"], "jpeg");
    assert!(
        app.text("live-badge")
            .unwrap_or_default()
            .starts_with("LIVE")
    );
    desktop.screenshot("feed-jpeg");
}

/// What a child process in the desktop's D-Bus session finds (see
/// `keyring_reader`): whether the app's keyring entry exists and, if so, which
/// of the app's files or its output contain either token. The tokens
/// themselves never leave that child, so they never reach the test log.
#[derive(Debug, PartialEq)]
enum Keyring {
    Absent,
    Present { leaks: Vec<String> },
}

fn inspect_keyring(desktop: &Desktop, app: &AppUnderTest) -> Keyring {
    let output_file = desktop.home.path().join("app-output.txt");
    std::fs::write(&output_file, app.output()).expect("app output saved for the scan");
    let out = desktop
        .command(std::env::current_exe().expect("test binary"))
        .args([
            "--exact",
            "keyring_reader",
            "--ignored",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(
            "LIVECART_E2E_ACCOUNT",
            format!("embedded@{}", app.data_dir.display()),
        )
        .env("LIVECART_E2E_SCAN", &app.data_dir)
        .env("LIVECART_E2E_SCAN_FILE", &output_file)
        .output()
        .expect("the reader runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let Some(found) = stdout
        .lines()
        .find_map(|l| l.split_once("KEYRING=").map(|(_, v)| v.to_owned()))
    else {
        panic!(
            "the keyring reader said: {stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    match found.as_str() {
        "absent" => Keyring::Absent,
        present => Keyring::Present {
            leaks: serde_json::from_str(present.trim_start_matches("present ")).expect("leak list"),
        },
    }
}

/// Not a test on its own: run by `inspect_keyring` inside the app's D-Bus session.
#[test]
#[ignore = "helper run by the E2E sign-in test"]
fn keyring_reader() {
    let account = std::env::var("LIVECART_E2E_ACCOUNT").expect("run by inspect_keyring");
    let vault = livecart::vault::Vault::open(&account);
    assert!(vault.is_secure(), "no keyring in this session");
    let Some(session) = vault.load().expect("keyring readable") else {
        println!("KEYRING=absent");
        return;
    };
    assert!(session.access_token.len() > 20 && session.refresh_token.len() > 20);
    let dir = std::path::PathBuf::from(std::env::var("LIVECART_E2E_SCAN").expect("scan dir"));
    let output =
        std::path::PathBuf::from(std::env::var("LIVECART_E2E_SCAN_FILE").expect("scan file"));
    let mut leaks = Vec::new();
    for token in [&session.access_token, &session.refresh_token] {
        let mut files = files_containing(&dir, token.as_bytes());
        if std::fs::read(&output)
            .is_ok_and(|b| b.windows(token.len()).any(|w| w == token.as_bytes()))
        {
            files.push(output.clone());
        }
        leaks.extend(files.into_iter().map(|p| p.display().to_string()));
    }
    println!(
        "KEYRING=present {}",
        serde_json::to_string(&leaks).expect("json")
    );
}

/// Every file under `dir` that contains `needle`.
fn files_containing(dir: &std::path::Path, needle: &[u8]) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_owned()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = entry.path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p)
                .is_ok_and(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
            {
                found.push(p);
            }
        }
    }
    found
}

#[test]
fn signing_in_from_chat_keeps_tokens_only_in_the_keyring_and_signing_out_removes_them() {
    let desktop = Desktop::start();
    let app = AppUnderTest::start(&desktop, &[]);
    app.wait_for("the feed", STARTUP, |a| {
        (a.state()["view"]["pages"].as_u64() > Some(0)).then_some(())
    });

    // Chatting needs an account: the sheet opens, and the message goes out after sign-in.
    app.fill("chat-input", "hello from ava");
    app.key("Return");
    app.wait_for("the sign-in sheet", Duration::from_secs(5), |a| {
        a.rect("sign-in-sheet")
    });
    assert_eq!(
        app.text("sign-in-sheet")
            .map(|t| t.contains("Sign in to chat")),
        Some(true)
    );

    app.fill("username", "ava");
    app.fill("password", "not-the-password");
    app.key("Return");
    let error = app.wait_for("a wrong-password message", Duration::from_secs(10), |a| {
        a.text("sign-in-error")
    });
    assert!(!error.is_empty());
    desktop.screenshot("sign-in-error");

    app.fill("password", "livecart");
    app.tap("sign-in-submit");
    let user = app.wait_for("signed in", Duration::from_secs(10), |a| {
        a.state()["view"]["user"].as_str().map(str::to_owned)
    });
    assert!(app.rect("sign-in-sheet").is_none(), "the sheet closed");
    let chat = app.wait_for(
        "ava's message in the room's chat",
        Duration::from_secs(10),
        |a| a.text("chat").filter(|t| t.contains("hello from ava")),
    );
    assert!(chat.contains(&user) || chat.contains("hello from ava"));
    desktop.screenshot("signed-in");

    // The tokens are in the keyring — and nowhere else the app writes: not in
    // its database, the embedded server's files, the log file or its output.
    assert!(
        app.data_dir.join("app.sqlite3").exists(),
        "the scan covers the app database"
    );
    assert!(
        app.data_dir.join("logs/livecart.log").exists(),
        "the scan covers the log"
    );
    assert_eq!(
        inspect_keyring(&desktop, &app),
        Keyring::Present { leaks: vec![] },
        "the session is in the keyring and no token was written anywhere else"
    );

    // Signing out (it asks first) deletes the keyring entry.
    app.tap("sign-out");
    app.tap("confirm-sign-out-button");
    app.wait_for("signed out", Duration::from_secs(10), |a| {
        let s = a.state();
        (s["view"]["user"].is_null() && s["view"]["message"] == "Signed out").then_some(())
    });
    assert_eq!(
        inspect_keyring(&desktop, &app),
        Keyring::Absent,
        "sign-out removed the keyring entry"
    );
    desktop.screenshot("signed-out");
}

const ADMIN: &str = "e2e-admin-token";

/// A second viewer on the room's WebSocket, reading in the background.
fn second_viewer(server: &str, room: &str) -> std::sync::mpsc::Receiver<Value> {
    let url = format!(
        "{}/v1/rooms/{room}/live?v={}",
        server.replacen("http", "ws", 1),
        livecart_core::protocol::PROTOCOL_VERSION
    );
    let (mut ws, _) = tokio_tungstenite::tungstenite::connect(url).expect("second viewer connects");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        while let Ok(msg) = ws.read() {
            if let Ok(text) = msg.into_text()
                && let Ok(v) = serde_json::from_str::<Value>(&text)
                && tx.send(v).is_err()
            {
                return;
            }
        }
    });
    rx
}

fn host_post(server: &str, path: &str, body: &Value) -> u16 {
    reqwest::blocking::Client::new()
        .post(format!("{server}{path}"))
        .bearer_auth(ADMIN)
        .json(body)
        .send()
        .expect("host api")
        .status()
        .as_u16()
}

/// A server whose room is driven from outside (host API with the admin
/// token), scripted shows off.
fn driven_server() -> support::HeadlessServer {
    support::HeadlessServer::start(&[
        ("LIVECART_DEMO__SCRIPTS", "false"),
        ("LIVECART_ADMIN_TOKEN", ADMIN),
    ])
}

/// The app on `server`, once its first room plays; with that room's id.
fn app_in_first_room<'d>(
    desktop: &'d Desktop,
    server: &support::HeadlessServer,
) -> (AppUnderTest<'d>, String) {
    let app = AppUnderTest::start(desktop, &["--server", &server.url]);
    let room = app.wait_for("the feed", STARTUP, |a| {
        let s = a.state();
        (drawn(&s, 0) > 10).then(|| s["view"]["rooms"][0].as_str().map(str::to_owned))?
    });
    (app, room)
}

/// The live room over the video: the host pins a product and the card shows;
/// the bag lists the room's products with the presented one marked and opens
/// a product; a signed-in viewer's chat line shows in the app and reaches a
/// second viewer; a big gift plays full screen (screenshot).
#[test]
fn a_pinned_card_the_bag_chat_seen_by_another_viewer_and_a_big_gift() {
    let desktop = Desktop::start();
    let server = driven_server();
    let (app, room) = app_in_first_room(&desktop, &server);
    let snapshot: Value = reqwest::blocking::get(format!("{}/v1/rooms/{room}", server.url))
        .and_then(reqwest::blocking::Response::json)
        .expect("snapshot");
    let products = snapshot["products"].as_array().expect("products").clone();
    assert!(products.len() >= 2, "the demo room sells things");
    let name = products[1]["name"].as_str().expect("name").to_owned();

    // The host holds up the second product: its card appears over the video.
    let status = host_post(
        &server.url,
        &format!("/v1/host/rooms/{room}/pin"),
        &serde_json::json!({ "product_id": products[1]["id"] }),
    );
    assert_eq!(status, 200, "pinned");
    let card = app.wait_for("the pinned card", Duration::from_secs(10), |a| {
        a.text("pinned")
    });
    assert!(card.contains(&name), "the card names {name}: {card}");
    desktop.screenshot("room-pinned-card");

    // The bag: every product, the presented one marked; a tap opens it.
    app.tap("bag");
    let bag = app.wait_for("the bag", Duration::from_secs(10), |a| a.text("bag-sheet"));
    assert!(
        bag.contains(&format!("Products ({})", products.len())),
        "{bag}"
    );
    assert!(bag.contains("Presenting now"));
    desktop.screenshot("room-bag");
    app.tap("presenting");
    let detail = app.wait_for("the product", Duration::from_secs(10), |a| {
        a.text("product-sheet")
    });
    assert!(detail.contains(&name), "{detail}");
    sheet_settled(&app);
    app.tap("product-close");
    app.tap("bag-close");
    app.wait_for("the bag closed", Duration::from_secs(10), |a| {
        a.rect("bag-sheet").is_none().then_some(())
    });

    // Chat: sign in from the chat box; the line shows here and reaches
    // another viewer of the room.
    let other = second_viewer(&server.url, &room);
    app.fill("chat-input", "is the beanie warm?");
    app.key("Return");
    app.wait_for("the sign-in sheet", Duration::from_secs(10), |a| {
        a.rect("sign-in-sheet")
    });
    app.fill("username", "ben");
    app.fill("password", "livecart");
    app.key("Return");
    app.wait_for("ben's line in the app", Duration::from_secs(15), |a| {
        a.text("chat").filter(|t| t.contains("is the beanie warm?"))
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let seen = loop {
        let left = deadline.saturating_duration_since(std::time::Instant::now());
        let frame = other
            .recv_timeout(left)
            .expect("the second viewer hears the room");
        if frame["type"] == "event" && frame["event"]["type"] == "chat" {
            break frame["event"]["message"].clone();
        }
    };
    assert_eq!(seen["text"], "is the beanie warm?");
    assert_eq!(seen["user"]["name"], app.state()["view"]["user"]);

    // A big gift plays full screen over the still-playing video.
    let status = host_post(
        &server.url,
        &format!("/v1/host/rooms/{room}/demo-gifts"),
        &serde_json::json!({ "gift": "Rocket", "sender": "rocket_fan" }),
    );
    assert_eq!(status, 204);
    let big = app.wait_for("the big gift", Duration::from_secs(10), |a| {
        a.text("big-gift")
    });
    assert!(big.contains("rocket_fan sent a Rocket"), "{big}");
    // The picture when the gift has flown in (a third of its 3 s).
    app.wait_for(
        "the gift in the middle of the screen",
        Duration::from_secs(10),
        |a| {
            a.get("/rect/big-gift")
                .filter(|v| v["animMs"].as_f64().is_some_and(|ms| ms >= 1_000.0))
        },
    );
    let before = drawn(&app.state(), 0);
    desktop.screenshot("room-big-gift");
    app.wait_for("the video still playing", Duration::from_secs(10), |a| {
        (drawn(&a.state(), 0) > before + 15).then_some(())
    });
    app.wait_for("the animation over", Duration::from_secs(10), |a| {
        a.rect("big-gift").is_none().then_some(())
    });
}

/// What `read` finds in a SQLite file another process has open (read-only).
fn read_sqlite<T>(db: &std::path::Path, read: impl AsyncFnOnce(&sqlx::SqlitePool) -> T) -> T {
    tokio::runtime::Runtime::new()
        .expect("runtime")
        .block_on(async {
            let options = sqlx::sqlite::SqliteConnectOptions::new()
                .filename(db)
                .read_only(true);
            let pool = sqlx::SqlitePool::connect_with(options)
                .await
                .expect("the database opens");
            let found = read(&pool).await;
            pool.close().await;
            found
        })
}

/// The server's own record of `username`'s paid orders: (product, total).
fn paid_orders(server: &support::HeadlessServer, username: &str) -> Vec<(String, i64)> {
    let db = server.dir.path().join("server/livecart.sqlite3");
    read_sqlite(&db, async |pool| {
        sqlx::query_as(
            "SELECT o.product_name, o.total_minor FROM orders o JOIN users u ON u.id = o.buyer_id \
             WHERE u.username = ? AND o.status NOT IN ('cancelled', 'refunded')",
        )
        .bind(username)
        .fetch_all(pool)
        .await
        .expect("orders")
    })
}

/// Waits until the checkout sheet has slid up: "Buy now" fully on screen.
fn sheet_settled(app: &AppUnderTest) {
    app.wait_for("Buy now on screen", Duration::from_secs(5), |a| {
        a.rect("buy-now")
            .filter(|r| r.y + r.height <= 844.0 && r.y > 300.0)
    });
}

/// Three real taps — the pinned card, "Buy now", "Pay" — pay for one order
/// while the live keeps playing: the sheet slides up over the video with the
/// size, quantity, address and balance; "Pay" shows the paid toast and
/// closes the sheet; the server's database has exactly one paid order.
#[test]
#[allow(clippy::too_many_lines)] // one story, read top to bottom
fn three_taps_on_the_pinned_card_pay_for_one_order_while_the_video_plays() {
    let desktop = Desktop::start();
    let server = driven_server();
    let (app, room) = app_in_first_room(&desktop, &server);
    // A returning buyer: signed in, with the demo wallet and address.
    app.tap("sign-in");
    app.fill("username", "ava");
    app.fill("password", "livecart");
    app.key("Return");
    app.wait_for("signed in", Duration::from_secs(15), |a| {
        a.state()["view"]["user"].as_str().map(str::to_owned)
    });
    // A product under the PIN threshold ($100): three taps, no PIN.
    let name = pin_cheap_product(&app, &server, &room);
    assert!(paid_orders(&server, "ava").is_empty(), "no order yet");

    let mut taps = 0;
    let mut tap = |id: &str| {
        taps += 1;
        app.tap(id);
    };
    let playing_at_start = drawn(&app.state(), 0);

    tap("pinned");
    let sheet = app.wait_for(
        "the checkout sheet with the wallet",
        Duration::from_secs(10),
        |a| a.text("product-sheet").filter(|t| t.contains("$200.00")),
    );
    assert!(
        sheet.contains(&name) && sheet.contains("Buy now"),
        "{sheet}"
    );
    assert!(sheet.contains("Ship to"), "the default address: {sheet}");
    // Slid up: "Buy now" on screen, the video above the sheet.
    sheet_settled(&app);
    let sheet_top = app.rect("product-sheet").expect("sheet").y;
    assert!(
        sheet_top > 250.0,
        "the sheet leaves the live in view (top at {sheet_top})"
    );
    desktop.screenshot("checkout-1-sheet");

    tap("buy-now");
    let pay = app.wait_for("the confirm step", Duration::from_secs(10), |a| {
        a.text("pay")
    });
    assert!(pay.starts_with("Pay $"), "{pay}");
    let total = pay.trim_start_matches("Pay ").to_owned();
    desktop.screenshot("checkout-2-confirm");

    tap("pay");
    let toast = app.wait_for("the paid toast", Duration::from_secs(15), |a| {
        a.text("message").filter(|t| t.starts_with("Paid"))
    });
    assert_eq!(toast, format!("Paid {total} · {name} is on its way"));
    assert!(app.rect("product-sheet").is_none(), "the sheet closed");
    assert_eq!(taps, 3, "three taps from the card to a paid order");

    // The video never stopped: frames kept being drawn through the checkout
    // and after it.
    let after_pay = drawn(&app.state(), 0);
    assert!(
        after_pay > playing_at_start + 15,
        "frames drawn during the checkout: {playing_at_start} → {after_pay}"
    );
    app.wait_for("the video still playing", Duration::from_secs(10), |a| {
        (drawn(&a.state(), 0) > after_pay + 15).then_some(())
    });
    desktop.screenshot("checkout-3-paid");

    let orders = paid_orders(&server, "ava");
    let cents: i64 = total
        .trim_start_matches('$')
        .replace('.', "")
        .parse()
        .expect("a dollar amount");
    assert_eq!(
        orders,
        vec![(name.clone(), cents)],
        "exactly one paid order, at the price shown"
    );

    // The wallet shows the payment.
    app.tap("wallet");
    let left = format!("${}.{:02}", (20_000 - cents) / 100, (20_000 - cents) % 100);
    app.wait_for("the wallet after paying", Duration::from_secs(10), |a| {
        a.text("wallet-balance").filter(|t| *t == left)
    });
    let history = app.wait_for("the order in the history", Duration::from_secs(10), |a| {
        a.text("wallet-history").filter(|t| t.contains(&name))
    });
    assert!(history.contains(&format!("−{total}")), "{history}");
    desktop.screenshot("wallet");
    app.tap("wallet-close");

    // Gifts: two taps of a rose within 3 s are one combo of two paid gifts;
    // the coins go down as they are sent.
    app.tap("gift");
    let coins = |a: &AppUnderTest| a.text("coins");
    let before = app.wait_for("the gift bar", Duration::from_secs(10), coins);
    app.tap("gift-rose");
    app.tap("gift-rose");
    app.wait_for("a x2 combo", Duration::from_secs(3), |a| {
        a.text("gift-combo").filter(|t| t == "x2")
    });
    let after = app.wait_for("coins spent", Duration::from_secs(10), |a| {
        coins(a).filter(|c| *c != before)
    });
    desktop.screenshot("gift-bar");
    let n = |c: &str| -> i64 {
        c.trim_end_matches(" coins")
            .replace(',', "")
            .parse()
            .expect("coins")
    };
    let rose: i64 = reqwest::blocking::get(format!("{}/v1/gifts", server.url))
        .and_then(reqwest::blocking::Response::json::<Value>)
        .expect("catalog")["gifts"]
        .as_array()
        .expect("gifts")
        .iter()
        .find(|g| g["name"] == "Rose")
        .and_then(|g| g["coins"].as_i64())
        .expect("a rose");
    app.wait_for("both roses paid", Duration::from_secs(10), |a| {
        coins(a).filter(|c| n(c) == n(&before) - 2 * rose)
    });
    assert!(n(&after) < n(&before));
    // The on-screen reduced-motion switch (big gifts become a banner).
    app.tap("reduced-motion");
    app.wait_for("reduced motion on", Duration::from_secs(5), |a| {
        a.text("reduced-motion")
            .filter(|t| t == "Reduce motion: on")
    });
    app.tap("reduced-motion");
    app.wait_for("reduced motion off", Duration::from_secs(5), |a| {
        a.text("reduced-motion")
            .filter(|t| t == "Reduce motion: off")
    });
    app.tap("gift-bar-close");

    // Two of them cost over $100: the PIN step asks for the payment PIN
    // (demo PIN 1234), then it pays.
    app.tap("pinned");
    sheet_settled(&app);
    app.tap("qty-plus");
    app.wait_for("two pieces", Duration::from_secs(5), |a| {
        a.text("qty").filter(|q| q == "2")
    });
    app.tap("buy-now");
    app.tap("pay");
    app.wait_for("the PIN step", Duration::from_secs(10), |a| {
        a.rect("pin-input")
    });
    app.fill("pin-input", "1234");
    desktop.screenshot("checkout-pin");
    app.tap("pin-submit");
    let toast = app.wait_for("paid with the PIN", Duration::from_secs(15), |a| {
        a.text("message")
            .filter(|t| t.starts_with("Paid") && t != &toast)
    });
    assert_eq!(
        toast,
        format!(
            "Paid ${}.{:02} · {name} is on its way",
            2 * cents / 100,
            2 * cents % 100
        )
    );
    assert_eq!(paid_orders(&server, "ava").len(), 2);
}

/// Signs in through the sheet.
fn sign_in_as(app: &AppUnderTest, user: &str) {
    app.tap("sign-in");
    app.fill("username", user);
    app.fill("password", "livecart");
    app.key("Return");
    app.wait_for("signed in", Duration::from_secs(15), |a| {
        a.state()["view"]["user"].as_str().map(str::to_owned)
    });
}

/// The host pins a product under $100 in `room` and the card shows; returns
/// the product's name.
fn pin_cheap_product(app: &AppUnderTest, server: &support::HeadlessServer, room: &str) -> String {
    let snapshot: Value = reqwest::blocking::get(format!("{}/v1/rooms/{room}", server.url))
        .and_then(reqwest::blocking::Response::json)
        .expect("snapshot");
    let product = snapshot["products"]
        .as_array()
        .expect("products")
        .iter()
        .find(|p| {
            p["skus"]
                .as_array()
                .and_then(|s| s.iter().find(|k| k["stock"].as_u64() > Some(0)))
                .and_then(|k| k["price"]["amount_minor"].as_i64())
                .is_some_and(|m| m < 10_000)
        })
        .expect("a product under $100")
        .clone();
    let name = product["name"].as_str().expect("name").to_owned();
    let pinned = host_post(
        &server.url,
        &format!("/v1/host/rooms/{room}/pin"),
        &serde_json::json!({ "product_id": product["id"] }),
    );
    assert_eq!(pinned, 200);
    app.wait_for("the pinned card", Duration::from_secs(10), |a| {
        a.text("pinned").filter(|t| t.contains(&name))
    });
    name
}

/// The first two taps: the pinned card, then "Buy now"; returns the total
/// the "Pay" button shows (e.g. "$59.99").
fn to_the_pay_button(app: &AppUnderTest) -> String {
    app.tap("pinned");
    sheet_settled(app);
    app.tap("buy-now");
    let pay = app.wait_for("the confirm step", Duration::from_secs(10), |a| {
        a.text("pay")
    });
    pay.trim_start_matches("Pay ").to_owned()
}

/// The host pins a product under $100 and the viewer buys one in three
/// taps; returns the product's name.
fn buy_pinned(app: &AppUnderTest, server: &support::HeadlessServer, room: &str) -> String {
    let name = pin_cheap_product(app, server, room);
    to_the_pay_button(app);
    app.tap("pay");
    app.wait_for("the paid toast", Duration::from_secs(15), |a| {
        a.text("message").filter(|t| t.starts_with("Paid"))
    });
    name
}

/// Payments the app's outbox still holds (written before a payment is sent,
/// removed once it is answered).
fn outbox_keys(app_data: &std::path::Path) -> Vec<String> {
    read_sqlite(&app_data.join("app.sqlite3"), async |pool| {
        sqlx::query_scalar("SELECT key FROM payment_outbox")
            .fetch_all(pool)
            .await
            .expect("outbox")
    })
}

/// The worst moment to lose the app: the server has charged the payment
/// but its answer never reached the app (stopped, then killed). Started
/// again, the app sends the payment from its outbox with the same key, the
/// server answers with the order it already made, and the buyer sees
/// "Your payment … went through": one order, charged once, on the orders
/// screen and in the wallet.
#[test]
fn an_app_killed_after_the_server_charged_shows_the_order_once_after_a_restart() {
    let desktop = Desktop::start();
    let server = driven_server();
    let data = desktop.home.path().join("livecart-data");
    let (app, room) = app_in_first_room(&desktop, &server);
    sign_in_as(&app, "ava");
    let name = pin_cheap_product(&app, &server, &room);
    let total = to_the_pay_button(&app);
    let cents: i64 = total
        .trim_start_matches('$')
        .replace('.', "")
        .parse()
        .expect("a dollar amount");

    // The server stops reading; "Pay": the payment goes into the outbox,
    // then onto the wire, where it waits in the server's socket.
    support::signal(server.pid(), "STOP");
    app.tap("pay");
    // A request with its token and body (a room socket's frames are a few
    // bytes).
    app.wait_for(
        "the payment sent to the stopped server",
        Duration::from_secs(10),
        |_| {
            support::unread_on_port(server.port())
                .into_iter()
                .any(|n| n >= 400)
                .then_some(())
        },
    );
    let pending = outbox_keys(&data);
    assert_eq!(pending.len(), 1, "kept before it was sent: {pending:?}");
    // The app freezes; the server goes on and charges the order; its answer
    // lands in a socket nobody reads, and the app is killed.
    support::signal(app.pid(), "STOP");
    support::signal(server.pid(), "CONT");
    app.wait_for("the server charged it", Duration::from_secs(15), |_| {
        (!paid_orders(&server, "ava").is_empty()).then_some(())
    });
    support::signal(app.pid(), "KILL");
    drop(app);
    assert_eq!(
        outbox_keys(&data),
        pending,
        "the killed app never saw the answer"
    );

    let app = AppUnderTest::start(&desktop, &["--server", &server.url]);
    let message = app.wait_for("the recovered payment", STARTUP, |a| {
        a.text("message").filter(|t| t.starts_with("Your payment"))
    });
    assert_eq!(
        message,
        format!("Your payment for {name} went through ({total})")
    );
    app.wait_for("the outbox emptied", Duration::from_secs(10), |_| {
        outbox_keys(&data).is_empty().then_some(())
    });
    assert_eq!(
        paid_orders(&server, "ava"),
        vec![(name.clone(), cents)],
        "one order, charged once"
    );
    app.wait_for("the room playing again", STARTUP, |a| {
        (drawn(&a.state(), 0) > 10).then_some(())
    });
    desktop.screenshot("recovered-1-message");
    app.tap("orders");
    let list = app.wait_for(
        "the order on the orders screen",
        Duration::from_secs(15),
        |a| a.text("orders-list").filter(|l| l.contains(&name)),
    );
    assert_eq!(list.matches(&name).count(), 1, "listed once: {list}");
    screen_settled(&app);
    desktop.screenshot("recovered-2-orders");
    app.tap("orders-close");
    app.tap("wallet");
    let left = format!("${}.{:02}", (20_000 - cents) / 100, (20_000 - cents) % 100);
    app.wait_for("the wallet charged once", Duration::from_secs(10), |a| {
        a.text("wallet-balance").filter(|t| *t == left)
    });
}

/// After the show: a step of a fresh order shows as a toast over the live
/// and opens the order; its timeline moves on the orders screen. With the
/// server gone, a restarted app shows the cached orders under an offline
/// banner; when the server is back, the screen refreshes by itself.
#[test]
fn orders_move_on_screen_stay_readable_offline_and_refresh_when_the_server_is_back() {
    let desktop = Desktop::start();
    // The demo fulfilment moves orders a step every 2.5 s here (20 s live).
    let envs = [
        ("LIVECART_DEMO__SCRIPTS", "false"),
        ("LIVECART_ADMIN_TOKEN", ADMIN),
        ("LIVECART_MONEY__ORDER_STEP_MS", "2500"),
    ];
    let server = support::HeadlessServer::start(&envs);
    let port = server.port();
    let url = server.url.clone();
    let name = {
        let (app, room) = app_in_first_room(&desktop, &server);
        sign_in_as(&app, "ava");
        let name = buy_pinned(&app, &server, &room);

        // Still in the live: the packing shows as a toast; a tap opens it.
        let toast = app.wait_for("the order toast", Duration::from_secs(15), |a| {
            a.text("order-toast")
        });
        assert!(toast.contains(&format!("{name} is packed")), "{toast}");
        app.wait_for("the toast slid in", Duration::from_secs(5), |a| {
            a.rect("order-toast").filter(|r| r.y >= 0.0)
        });
        desktop.screenshot("orders-1-toast");
        app.tap("order-toast");
        app.wait_for("the order's timeline", Duration::from_secs(10), |a| {
            a.text("timeline").filter(|t| t.contains("Packed"))
        });
        // The timeline moves on by itself: a third step done (shipped).
        app.wait_for("shipped on the timeline", Duration::from_secs(15), |a| {
            a.get("/rect/step-done?nth=2")
        });
        let timeline = app.text("timeline").expect("timeline");
        assert!(timeline.contains("Shipped"), "{timeline}");
        desktop.screenshot("orders-2-timeline");
        app.wait_for("delivered", Duration::from_secs(20), |a| {
            a.text("order-status").filter(|s| s == "Delivered")
        });
        app.tap("order-back");
        let list = app.wait_for("the orders list", Duration::from_secs(5), |a| {
            a.text("orders-list")
        });
        assert!(list.contains(&name) && list.contains("Delivered"), "{list}");
        name
    };

    // The server goes away; the app starts again (signed in from the
    // keyring) and shows what it kept.
    let dir = server.stop();
    let app = AppUnderTest::start(&desktop, &["--server", &url]);
    app.wait_for("signed in from the keyring", STARTUP, |a| {
        a.state()["view"]["user"].as_str().map(str::to_owned)
    });
    app.tap("orders");
    let banner = app.wait_for("the offline banner", Duration::from_secs(15), |a| {
        a.text("offline-banner")
    });
    assert_eq!(banner, "You're offline — showing your saved orders");
    let list = app.text("orders-list").expect("the cached orders");
    assert!(list.contains(&name) && list.contains("Delivered"), "{list}");
    // Its picture too, from the app's image cache (the server is down).
    let picture = app.wait_for("the cached picture", Duration::from_secs(10), |a| {
        a.get("/rect/order-row")
            .map(|r| r["picture"].clone())
            .filter(|p| p["shown"] == true)
    });
    assert!(
        picture["src"]
            .as_str()
            .is_some_and(|s| s.starts_with("/img/v1/images/")),
        "{picture}"
    );
    screen_settled(&app);
    desktop.screenshot("orders-3-offline");

    // Back on the same address: the banner goes by itself and the list is
    // the server's (a second order, bought meanwhile on the web, shows).
    let server = support::HeadlessServer::start_in(dir, port, &envs);
    assert_eq!(server.url, url);
    app.wait_for("back online", Duration::from_secs(30), |a| {
        a.rect("offline-banner").is_none().then_some(())
    });
    // Live again: an order placed elsewhere (the web shop) shows by itself.
    let other = order_over_rest(&server.url, "ava");
    assert_ne!(other, name, "another product, from another room");
    let list = app.wait_for("the new order", Duration::from_secs(15), |a| {
        a.text("orders-list").filter(|l| l.contains(&other))
    });
    assert!(list.contains(&name), "{list}");
    desktop.screenshot("orders-4-back");
}

/// The orders screen has finished sliding in.
fn screen_settled(app: &AppUnderTest) {
    app.wait_for("the orders screen in place", Duration::from_secs(5), |a| {
        a.rect("orders-screen").filter(|r| r.y.abs() < 1.0)
    });
}

/// `user` buys the cheapest SKU in stock of the first room over REST (as
/// from another device); returns the product's name.
fn order_over_rest(server: &str, user: &str) -> String {
    let http = reqwest::blocking::Client::new();
    let session: Value = http
        .post(format!("{server}/v1/session"))
        .json(&serde_json::json!({ "username": user, "password": "livecart" }))
        .send()
        .and_then(reqwest::blocking::Response::json)
        .expect("sign in");
    let token = session["access_token"].as_str().expect("token").to_owned();
    let get = |path: &str| -> Value {
        http.get(format!("{server}{path}"))
            .bearer_auth(&token)
            .send()
            .and_then(reqwest::blocking::Response::json)
            .expect("json")
    };
    let room = get("/v1/feed")["rooms"][1]["id"]
        .as_str()
        .expect("room")
        .to_owned();
    let snapshot = get(&format!("/v1/rooms/{room}"));
    let (product, sku) = snapshot["products"]
        .as_array()
        .expect("products")
        .iter()
        .find_map(|p| {
            let sku = p["skus"].as_array()?.iter().find(|k| {
                k["stock"].as_u64() > Some(0) && k["price"]["amount_minor"].as_i64() < Some(10_000)
            })?;
            Some((p.clone(), sku.clone()))
        })
        .expect("something under $100");
    let address = get("/v1/me/addresses")["addresses"][0]["id"].clone();
    let res = http
        .post(format!("{server}/v1/orders"))
        .bearer_auth(&token)
        .header("Idempotency-Key", format!("e2e-{}", std::process::id()))
        .json(&serde_json::json!({
            "product_id": product["id"],
            "sku_id": sku["id"],
            "quantity": 1,
            "address_id": address,
            "expected_unit_price": sku["price"],
        }))
        .send()
        .expect("order");
    assert_eq!(res.status(), 201, "{:?}", res.text());
    product["name"].as_str().expect("name").to_owned()
}
