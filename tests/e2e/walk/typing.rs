//! Walk item 4: text typed at full speed is sent whole; card numbers keep
//! every digit and are refused in a shopper's words.

use super::super::support::{AppUnderTest, Desktop};
use super::super::{app_in_first_room, sign_in_as};
use super::type_fast;
use std::time::Duration;

/// Key presses xdotool makes to type `text` on a US keyboard (a shifted
/// character presses Shift too).
fn presses(text: &str) -> u64 {
    text.chars()
        .map(|c| {
            if c.is_ascii_uppercase() || "~!@#$%^&*()_+{}|:\"<>?".contains(c) {
                2
            } else {
                1
            }
        })
        .sum()
}

/// Typing as fast as the keyboard goes, then "Send" at once: the line sent
/// is exactly what was typed, and the box is empty after. The card field
/// formats the number as it is typed and keeps every digit; a declined or
/// incomplete card is refused in a shopper's words.
#[test]
fn text_typed_at_full_speed_is_sent_whole_and_card_numbers_keep_every_digit() {
    let desktop = Desktop::start();
    let server = super::super::driven_server();
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
        let (x, y) = app.rect("chat-send").expect("send").center();
        let handed = |a: &AppUnderTest| a.state()["view"]["keys_handed"].as_u64().unwrap_or(0);
        let before = handed(&app);
        type_fast(&app, text);
        // "Send" as soon as the app has been handed the keys (a second
        // xdotool run may otherwise reach the X server before the first's
        // last keys), not when the page has them: that race is the bug.
        app.wait_for("the keys handed to the app", Duration::from_secs(10), |a| {
            (handed(a) >= before + presses(text)).then_some(())
        });
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
    app.wait_for("the field emptied", Duration::from_secs(5), |a| {
        a.get("/rect/card-input")
            .filter(|v| v["valueLength"].as_u64() == Some(0))
    });
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
    app.wait_for("the field emptied", Duration::from_secs(5), |a| {
        a.get("/rect/card-input")
            .filter(|v| v["valueLength"].as_u64() == Some(0))
    });
    type_fast(&app, "42424242");
    app.tap("top-up-1000");
    let notice = app.wait_for("the card refused", Duration::from_secs(5), |a| {
        a.text("wallet-notice")
            .filter(|n| n.contains("card number"))
    });
    assert!(!notice.contains("demo"), "{notice}");
    desktop.screenshot("walk-4-card");
}
