//! A new shopper's walk (issue #15), one test per thing that walk found
//! broken: the price of a non-default option, a flash sale's option, the
//! demo's sales leaving stock for people, typing at full speed, video after
//! a server restart, the flood room's chat, feedback where the shopper is,
//! overlays on a swipe, and a thumb's layout at 390×844.

use super::support::{self, AppUnderTest, Desktop};
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
    assert_eq!(card, "4000 0000 0000 0002", "every digit, in groups of four");
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
            let badge = app.state()["view"]["badge"].as_str().unwrap_or("").to_owned();
            assert!(!badge.contains("ended"), "during a {outage:?} outage: {badge}");
            std::thread::sleep(Duration::from_millis(250));
        }
        let s = app.state();
        let (d0, d1) = (drawn(&s, 0), drawn(&s, 1));
        let restarted = support::HeadlessServer::start_in(dir, port, &envs);
        assert_eq!(restarted.url, url);
        let back = Instant::now();
        let mut at = [None, None];
        app.wait_for(
            "both rooms moving again",
            Duration::from_secs(20),
            |a| {
                let s = a.state();
                for (i, base) in [d0, d1].into_iter().enumerate() {
                    if at[i].is_none() && drawn(&s, i) >= base + 5 {
                        at[i] = Some(back.elapsed());
                    }
                }
                at.iter().all(Option::is_some).then_some(())
            },
        );
        let [on_screen, preloaded] = at.map(|t| t.unwrap_or_default());
        eprintln!(
            "after a {outage:?} outage: the room on screen moved again {} ms after the server was back, the preloaded room {} ms",
            on_screen.as_millis(),
            preloaded.as_millis()
        );
        let badge = app.state()["view"]["badge"].as_str().unwrap_or("").to_owned();
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
