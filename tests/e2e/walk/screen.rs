//! Walk items 7 and 9: every outcome shows where the shopper is and stale
//! notices go; at 390×844 targets fit a thumb, text is readable, and
//! nothing covers the controls.

use super::super::support::{self, AppUnderTest, Desktop, Rect};
use super::super::{ADMIN, STARTUP, app_in_first_room, host_post, sign_in_as};
use super::{Host, cents, pay, snapshot, two_priced_options};
use std::time::Duration;

/// Every tap says what happened, where the shopper is, and stale words go:
/// paying from the bag shows "Paid" above the bag; a wrong PIN says how many
/// tries are left; "refund requested" gives way once the order is refunded;
/// "you're offline" goes once the server is back; sign-out asks first.
#[test]
#[allow(clippy::too_many_lines)] // one story, read top to bottom
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
        super::super::sheet_settled(&app);
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
        super::super::sheet_settled(&app);
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
#[allow(clippy::too_many_lines)] // one story, read top to bottom
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
    super::super::sheet_settled(&app);
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
