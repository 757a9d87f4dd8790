//! Swipe timing in a real window (Xvfb), release build, many swipes:
//! `cargo bench -p livecart --bench swipes [-- --cycles 4 --slow-ms 150]`.
//!
//! Each cycle swipes down through the feed (the next room preloaded, as in
//! `--bench app`), then back up (the room above is not preloaded): every
//! other cycle a second after each room showed, else at once. Prints the
//! time from the key press to the first picture drawn on screen, p50/p95/max
//! per kind, and saves what the views did around every slow swipe (access
//! units arriving, decoder output, draws: `livecart.trace()`) under
//! `target/e2e/swipe-trace-<n>.json`, for finding where it waited.

#[path = "../tests/e2e/support.rs"]
mod support;

use serde_json::{Value, json};
use std::time::Duration;
use support::{AppUnderTest, Desktop, pct, picture_loops, room_stats as room};

/// A swipe slower than this (the goal for a preloaded one) has its trace saved.
const SLOW_MS: f64 = 150.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Down to the room below, once its off-screen view is drawing.
    Preloaded,
    /// Up to the room above (released), after a second on this one.
    UpCalm,
    /// Up again as soon as the last swipe showed its first picture.
    UpQuick,
}

struct Swipe {
    to: usize,
    kind: Kind,
    input_at: f64,
    ms: f64,
    trace: Option<Value>,
}

#[allow(clippy::too_many_lines)] // a benchmark's script, read top to bottom
fn main() {
    let args: Vec<String> = std::env::args().collect();
    let cycles: usize = args
        .iter()
        .position(|a| a == "--cycles")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let slow_ms: f64 = args
        .iter()
        .position(|a| a == "--slow-ms")
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(SLOW_MS);
    let desktop = Desktop::start();
    let data = desktop.home.path().join("livecart-data");
    let app = AppUnderTest::start_in(&desktop, data.clone(), &[]);
    app.wait_for("first frame", Duration::from_mins(1), |a| {
        (room(&a.state(), 0)["drawn"].as_u64().unwrap_or(0) > 30).then_some(())
    });
    app.tap("live-badge"); // the window takes the keys
    let pages = app.state()["view"]["pages"].as_u64().unwrap_or(0) as usize;
    assert!(pages >= 3, "the demo feed has {pages} rooms");
    // A first look through the feed records every room's picture loop (a
    // room's first stream encodes live: see `--bench app`).
    for to in 1..pages {
        app.key("Down");
        app.wait_for(
            "the room's picture loop recorded",
            Duration::from_secs(40),
            |_| (picture_loops(&data) > to).then_some(()),
        );
    }
    for _ in 1..pages {
        app.key("Up");
    }
    app.wait_for("back at the top", Duration::from_secs(10), |a| {
        let s = a.state();
        (s["view"]["index"] == 0 && room(&s, 1)["drawn"].as_u64().unwrap_or(0) > 0).then_some(())
    });

    let mut swipes = Vec::new();
    let mut go = |to: usize, kind: Kind| {
        if kind == Kind::Preloaded {
            // Preloaded = its off-screen view drew within the last 200 ms.
            app.wait_for("the next room preloaded", Duration::from_secs(15), |a| {
                let s = a.state();
                let now = s["page"]["now"].as_f64().unwrap_or(0.0);
                (now - room(&s, to)["lastDrawAt"].as_f64().unwrap_or(0.0) < 200.0).then_some(())
            });
        } else if kind == Kind::UpCalm {
            // The room above was released: wait until the one on screen has
            // played a second, as a viewer would before swiping back.
            let from = app.state()["page"]["now"].as_f64().unwrap_or(0.0);
            app.wait_for("a second of the room", Duration::from_secs(15), |a| {
                let s = a.state();
                (s["page"]["now"].as_f64().unwrap_or(0.0) - from > 1000.0).then_some(())
            });
        }
        app.key(if kind == Kind::Preloaded {
            "Down"
        } else {
            "Up"
        });
        let (input_at, ms) =
            app.wait_for("the swipe's first frame", Duration::from_secs(10), |a| {
                let s = a.state();
                let shown = room(&s, to)["shownAfterInputAt"].as_f64().unwrap_or(0.0);
                let input = s["page"]["lastInputAt"].as_f64().unwrap_or(0.0);
                (s["view"]["index"] == to && shown > input).then_some((input, shown - input))
            });
        // What the views did around a slow swipe: read it 1.5 s later,
        // while the page still holds it.
        let trace = (ms > slow_ms).then(|| {
            app.wait_for("1.5 s after the swipe", Duration::from_secs(10), |a| {
                let now = a.state()["page"]["now"].as_f64().unwrap_or(0.0);
                (now > input_at + 1500.0).then_some(())
            });
            app.get("/trace").unwrap_or(Value::Null)
        });
        swipes.push(Swipe {
            to,
            kind,
            input_at,
            ms,
            trace,
        });
    };
    for cycle in 0..cycles {
        for to in 1..pages {
            go(to, Kind::Preloaded);
        }
        let up = if cycle % 2 == 0 {
            Kind::UpCalm
        } else {
            Kind::UpQuick
        };
        for to in (0..pages - 1).rev() {
            go(to, up);
        }
    }

    // What the views did from 1 s before each slow swipe to 1.5 s after.
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("target/e2e");
    std::fs::create_dir_all(&dir).expect("target/e2e");
    let rooms = app.state()["view"]["rooms"].clone();
    for (n, s) in swipes.iter().enumerate() {
        let Some(trace) = &s.trace else { continue };
        let views: serde_json::Map<String, Value> = trace
            .as_object()
            .into_iter()
            .flatten()
            .map(|(room, events)| {
                let near = events
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|e| {
                        let at = e[0].as_f64().unwrap_or(0.0);
                        at > s.input_at - 1000.0 && at < s.input_at + 1500.0
                    })
                    .map(|e| json!([e[0].as_f64().unwrap_or(0.0) - s.input_at, e[1], e[2]]))
                    .collect();
                (room.clone(), Value::Array(near))
            })
            .collect();
        let out = json!({ "swipe": n, "to": s.to, "to_room": rooms[s.to], "kind": format!("{:?}", s.kind), "ms": s.ms, "views": views });
        let path = dir.join(format!("swipe-trace-{n}.json"));
        std::fs::write(&path, serde_json::to_vec_pretty(&out).expect("json")).expect("write trace");
    }
    drop(app);

    let list = |kind: Kind| -> Vec<f64> {
        swipes
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| s.ms)
            .collect()
    };
    let each = |kind: Kind| {
        swipes
            .iter()
            .filter(|s| s.kind == kind)
            .map(|s| format!("{:.0}", s.ms))
            .collect::<Vec<_>>()
            .join(", ")
    };
    println!("\nlivecart swipes, release, Xvfb 390x844, {pages} rooms, {cycles} cycles");
    println!("| swipe → first frame on screen | n | p50 | p95 | max | each, in order |");
    println!("|---|---|---|---|---|---|");
    for (name, kind) in [
        ("preloaded (down)", Kind::Preloaded),
        ("not preloaded (up), after a second", Kind::UpCalm),
        ("not preloaded (up), right after the last", Kind::UpQuick),
    ] {
        let mut v = list(kind);
        println!(
            "| {name} | {} | {:.0} ms | {:.0} ms | {:.0} ms | {} |",
            v.len(),
            pct(&mut v.clone(), 0.5),
            pct(&mut v.clone(), 0.95),
            pct(&mut v, 1.0),
            each(kind)
        );
    }
    let slow = swipes.iter().filter(|s| s.ms > slow_ms).count();
    println!("slow swipes (> {slow_ms} ms): {slow}, traces in target/e2e/swipe-trace-*.json");
}
