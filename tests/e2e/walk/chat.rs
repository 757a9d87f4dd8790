//! Walk item 6: the 200-lines-a-second room's chat at a readable pace,
//! held while read back, the shopper's own line always shown, the Report
//! chip still under the finger.

use super::super::support::{self, AppUnderTest, Desktop};
use super::super::{ADMIN, app_in_first_room, sign_in_as};
use super::chat_lines;
use serde_json::Value;
use std::time::{Duration, Instant};

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
#[allow(clippy::too_many_lines)] // one story, read top to bottom
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
        // Under the finger means nothing lies over it (the "N new
        // messages" pill once did, and the tap went to the pill).
        let shown = app.get("/rect/report").expect("the chip");
        assert_eq!(
            shown["covered"], false,
            "nothing covers the chip at {now:?}: {}",
            shown["top"]
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    app.tap("report");
    app.wait_for("the reasons", Duration::from_secs(5), |a| {
        a.rect("report-reasons")
    });
    desktop.screenshot("walk-6-report");
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
