//! The web app's numbers in Chromium on loopback (#18), with the desktop
//! app's same figures from the same run and the same server as the
//! baseline: `cargo bench -p livecart --bench web`
//! (`LIVECART_BENCH_WEB_RUNS`, default 5 page loads of 3 swipes each).
//!
//! Web: a fresh browser profile per load (nothing cached); first picture is
//! from navigation, with the browser open on a blank page for a second
//! before, as a phone's browser is (and, a row of its own, launched with the
//! page: its start-up shares the cores); a swipe is a finger's drag onto the preloaded next room,
//! timed from the lift to its next picture drawn with the room covering most
//! of the screen; transfer is what the app's files (page, wasm, JS, CSS)
//! cost on the wire, gzip-compressed. Desktop: first picture from the
//! launch of the process; a swipe from the key press to the next room's
//! first picture.
//!
//! Then an outside RTMP room: the first demo room's stream copied by ffmpeg
//! into nginx's RTMP module (capture-time SEI intact), made a room through
//! the host API. The desktop app plays the RTMP URL directly; the browser
//! plays it through the server's media origin. Both time the same pictures
//! from the same capture clock: the origin's cost is the difference.

// Both harnesses bring tests/e2e/headless.rs; this bench uses the browser
// one's server only.
#![allow(clippy::duplicate_mod)]

#[path = "../tests/web/harness.rs"]
mod harness;
#[path = "../tests/e2e/support.rs"]
mod support;

use livecart_media::outside::OutsideStream;
use serde_json::{Value, json};
use std::time::{Duration, Instant, SystemTime};
use support::{AppUnderTest, Desktop, pct, room_stats as room};

fn unix_ms() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

#[derive(Default)]
struct Figures {
    first_ms: Vec<f64>,
    /// Web: the browser launched with the page.
    first_cold_ms: Vec<f64>,
    swipe_ms: Vec<f64>,
    fps: Vec<f64>,
    capture_to_draw_p95: Vec<f64>,
    av_sync_p95: Vec<f64>,
    /// Times the speaker ran dry while the last room played (web).
    underruns: Vec<f64>,
    transfer_kib: Option<f64>,
}

fn at(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    pct(&mut v, p)
}

fn num(v: f64, digits: usize) -> String {
    if v.is_nan() {
        "—".to_owned()
    } else {
        format!("{v:.digits$}")
    }
}

impl Figures {
    /// The one line: medians, and the swipe's p95.
    fn line(&self, name: &str) -> String {
        format!(
            "{name} first_frame_ms={} swipe_p95_ms={} fps={} capture_to_draw_p95_ms={} av_sync_p95_ms={} transfer_kib={}",
            num(at(&self.first_ms, 0.5), 0),
            num(at(&self.swipe_ms, 0.95), 0),
            num(at(&self.fps, 0.5), 1),
            num(at(&self.capture_to_draw_p95, 0.5), 0),
            num(at(&self.av_sync_p95, 0.5), 1),
            self.transfer_kib
                .map_or("—".to_owned(), |k| format!("{k:.0}")),
        )
    }
}

fn row(measure: &str, w: &[f64], d: &[f64], goal: &str) {
    println!(
        "| {measure} | {} | {} | {} | {} | {} | {} | ×{} | {goal} |",
        num(at(w, 0.5), 1),
        num(at(w, 0.95), 1),
        num(at(w, 0.99), 1),
        num(at(d, 0.5), 1),
        num(at(d, 0.95), 1),
        num(at(d, 0.99), 1),
        num(at(w, 0.5) / at(d, 0.5), 2),
    );
}

/// A warm server, as in production: each demo room encodes live the first
/// time it streams and records a loop of its picture, then replays it
/// (docs/media.md) — but a room already streaming keeps its live encoder
/// until nobody watches. So a first server records the rooms the runs
/// visit, and the measured one starts on the same data, replaying them.
fn warm_server() -> harness::HeadlessServer {
    let recording = harness::server(&[]);
    harness::scenario(
        &recording.url,
        "feed",
        &json!({ "swipes": 3, "waitMs": 90_000 }),
    );
    let loops = recording.dir.path().join("server/streams");
    let recorded = || {
        std::fs::read_dir(&loops).map_or(0, |d| {
            d.filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "h264loop"))
                .count()
        })
    };
    // The first room and the three swiped to (the demo's four live rooms).
    let t = Instant::now();
    while recorded() < 4 {
        assert!(
            t.elapsed() < Duration::from_mins(1),
            "the rooms' loops were not recorded in a minute ({} of 4)",
            recorded()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    harness::HeadlessServer::start_in(recording.stop(), 0, &[])
}

fn web(base: &str, runs: usize) -> Figures {
    // A first load starts the rooms' streams (replaying their loops).
    harness::scenario(base, "feed", &json!({ "swipes": 3, "waitMs": 90_000 }));
    let mut f = Figures::default();
    // The browser launched with the page (its start-up on the same cores).
    for _ in 0..runs.min(3) {
        let r = harness::scenario(base, "feed", &json!({ "swipes": 1 }));
        f.first_cold_ms.extend(r["firstPictureMs"].as_f64());
    }
    for _ in 0..runs {
        // The browser open already, as a phone's is (a fresh profile).
        let r = harness::scenario(
            base,
            "feed",
            &json!({ "swipes": 3, "sound": true, "openMs": 1000 }),
        );
        let num = |v: &Value| v.as_f64();
        f.first_ms.extend(num(&r["firstPictureMs"]));
        f.fps.extend(num(&r["fps"]));
        f.capture_to_draw_p95.extend(num(&r["captureToDrawP95"]));
        f.av_sync_p95.extend(num(&r["avSyncP95"]));
        f.underruns.extend(num(&r["underruns"]));
        f.transfer_kib = num(&r["transferBytes"]).map(|b| b / 1024.0);
        for s in r["swipes"].as_array().into_iter().flatten() {
            f.swipe_ms.extend(num(&s["ms"]));
        }
    }
    f
}

fn desktop(desktop: &Desktop, base: &str, runs: usize) -> Figures {
    let mut f = Figures::default();
    for _ in 0..runs {
        let t0 = unix_ms();
        let app = AppUnderTest::start(desktop, &["--server", base]);
        let first = app.wait_for("first frame", Duration::from_mins(1), |a| {
            let s = a.state();
            let f = room(&s, 0)["firstDrawAt"].as_f64().unwrap_or(0.0);
            (f > 0.0).then_some(f)
        });
        f.first_ms.push(first - t0);
        app.tap("live-badge"); // the window takes the keys
        for to in 1..=3 {
            // As the browser's swipes: 1.5 s apart (a key pressed while the
            // last snap still scrolls was once lost).
            let since = Instant::now();
            app.wait_for("the last swipe settled", Duration::from_secs(5), |_| {
                (to == 1 || since.elapsed() >= Duration::from_millis(1500)).then_some(())
            });
            app.wait_for("the next room preloaded", Duration::from_secs(15), |a| {
                let s = a.state();
                let now = s["page"]["now"].as_f64().unwrap_or(0.0);
                (now - room(&s, to)["lastDrawAt"].as_f64().unwrap_or(0.0) < 200.0).then_some(())
            });
            app.key("Down");
            f.swipe_ms.push(app.wait_for(
                "the swipe's first frame",
                Duration::from_secs(10),
                |a| {
                    let s = a.state();
                    let shown = room(&s, to)["shownAfterInputAt"].as_f64().unwrap_or(0.0);
                    let input = s["page"]["lastInputAt"].as_f64().unwrap_or(0.0);
                    (s["view"]["index"] == to && shown > input).then_some(shown - input)
                },
            ));
        }
        // Two seconds on the last room: pictures drawn, capture → draw.
        let s0 = app.state();
        let page_t0 = s0["page"]["now"].as_f64().unwrap_or(0.0);
        let d0 = room(&s0, 3)["drawn"].as_u64().unwrap_or(0);
        let t = Instant::now();
        let window = Duration::from_secs(2);
        app.wait_for("a measurement window", window * 3, |_| {
            (t.elapsed() >= window).then_some(())
        });
        let s1 = app.state_since(page_t0);
        f.fps.push(
            (room(&s1, 3)["drawn"].as_u64().unwrap_or(0) - d0) as f64 / t.elapsed().as_secs_f64(),
        );
        f.capture_to_draw_p95
            .extend(room(&s1, 3)["latencyP95"].as_f64());
    }
    f
}

/// The first demo room copied into nginx-rtmp by ffmpeg, and a live room
/// of the host "mia" whose stream is that RTMP URL; with the room's id.
fn outside_room(base: &str) -> (OutsideStream, String) {
    let http = reqwest::blocking::Client::new();
    let get = |r: reqwest::blocking::RequestBuilder| -> Value {
        r.send()
            .and_then(reqwest::blocking::Response::error_for_status)
            .and_then(reqwest::blocking::Response::json)
            .expect("the server answers")
    };
    let feed = get(http.get(format!("{base}/v1/feed")));
    let demo = feed["rooms"][0]["id"].as_str().expect("a demo room");
    let stream = OutsideStream::relay(&format!("{base}/live/{demo}.flv"));
    let session = get(http
        .post(format!("{base}/v1/session"))
        .json(&json!({ "username": "mia", "password": "livecart" })));
    let token = session["access_token"].as_str().expect("a token");
    let made = get(http
        .post(format!("{base}/v1/host/rooms"))
        .bearer_auth(token)
        .json(&json!({ "title": "From nginx-rtmp", "stream_urls": [stream.url] })));
    let id = made["id"].as_str().expect("the room's id").to_owned();
    get(http
        .post(format!("{base}/v1/host/rooms/{id}/start"))
        .bearer_auth(token)
        .json(&Value::Null));
    (stream, id)
}

/// Capture → draw p95 of each run in the outside room: the browser through
/// the origin (sound on, and muted), the desktop app on the RTMP URL.
struct Outside {
    web_sound: Vec<f64>,
    web_muted: Vec<f64>,
    web_arrive: Vec<f64>,
    desktop: Vec<f64>,
}

fn outside(desktop: &Desktop, base: &str, room_id: &str, runs: usize) -> Outside {
    let mut o = Outside {
        web_sound: vec![],
        web_muted: vec![],
        web_arrive: vec![],
        desktop: vec![],
    };
    for sound in [true, false] {
        for _ in 0..runs {
            let r = harness::scenario(
                base,
                "room",
                &json!({ "room": room_id, "measure": true, "sound": sound }),
            );
            assert_eq!(r["room"], room_id, "the link's room played");
            let p95 = r["captureToDrawP95"].as_f64();
            if sound {
                o.web_sound.extend(p95);
                o.web_arrive.extend(r["captureToArriveP95"].as_f64());
            } else {
                o.web_muted.extend(p95);
            }
        }
    }
    let link = format!("{base}/r/{room_id}");
    for _ in 0..runs.min(3) {
        let app = AppUnderTest::start(desktop, &[&link]);
        let stats = |s: &Value| s["page"]["rooms"][room_id].clone();
        app.wait_for("the RTMP room's first frame", Duration::from_mins(1), |a| {
            (stats(&a.state())["drawn"].as_u64() > Some(10)).then_some(())
        });
        // As the browser's: 1.5 s to settle, then two seconds timed.
        let settle = Instant::now();
        app.wait_for("the room settled", Duration::from_secs(5), |_| {
            (settle.elapsed() >= Duration::from_millis(1500)).then_some(())
        });
        let page_t0 = app.state()["page"]["now"].as_f64().unwrap_or(0.0);
        let t = Instant::now();
        app.wait_for("a measurement window", Duration::from_secs(6), |_| {
            (t.elapsed() >= Duration::from_secs(2)).then_some(())
        });
        o.desktop
            .extend(stats(&app.state_since(page_t0))["latencyP95"].as_f64());
    }
    o
}

fn main() {
    let runs: usize = std::env::var("LIVECART_BENCH_WEB_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    // `LIVECART_BENCH_WEB_ONLY=outside`: the outside room's table alone;
    // `=web`: the browser's figures alone.
    let only = std::env::var("LIVECART_BENCH_WEB_ONLY").unwrap_or_default();
    let all = only != "outside";
    let server = warm_server();
    let screen = Desktop::start();
    if all {
        let w = web(&server.url, runs);
        let d = if only == "web" {
            Figures::default()
        } else {
            desktop(&screen, &server.url, runs.min(3))
        };
        println!(
            "\nlivecart web (Chromium, {runs} loads) vs desktop (WebKitGTK, {} launches), one release server on loopback, 390x844",
            runs.min(3)
        );
        println!(
            "| measure | web p50 | p95 | p99 | desktop p50 | p95 | p99 | web/desktop p50 | goal (web) |"
        );
        println!("|---|---|---|---|---|---|---|---|---|");
        row("first picture (ms)", &w.first_ms, &d.first_ms, "≤ 500");
        row(
            "first picture, browser launched with it (ms)",
            &w.first_cold_ms,
            &[],
            "",
        );
        row(
            "preloaded swipe → picture (ms)",
            &w.swipe_ms,
            &d.swipe_ms,
            "p95 ≤ 100",
        );
        row("frames drawn per second", &w.fps, &d.fps, "≥ 29");
        row(
            "capture → draw p95 (ms)",
            &w.capture_to_draw_p95,
            &d.capture_to_draw_p95,
            "≤ 100",
        );
        row("A/V sync p95 (ms)", &w.av_sync_p95, &d.av_sync_p95, "≤ 45");
        row("speaker underruns", &w.underruns, &d.underruns, "0");
        println!("{}", w.line("web"));
        println!("{}", d.line("desktop"));
    }
    if only == "web" {
        return;
    }
    let (stream, room_id) = outside_room(&server.url);
    let o = outside(&screen, &server.url, &room_id, runs);
    drop(stream);
    println!(
        "\nan outside RTMP room (a demo room copied by ffmpeg into nginx-rtmp): capture → draw p95 of each run (ms), {runs} browser loads, {} desktop launches",
        runs.min(3)
    );
    println!("| player | p50 | p95 | p99 | − desktop p50 | goal |");
    println!("|---|---|---|---|---|---|");
    let base = at(&o.desktop, 0.5);
    let line = |name: &str, v: &[f64], goal: &str| {
        println!(
            "| {name} | {} | {} | {} | {} | {goal} |",
            num(at(v, 0.5), 1),
            num(at(v, 0.95), 1),
            num(at(v, 0.99), 1),
            num(at(v, 0.5) - base, 1),
        );
    };
    line("desktop, RTMP directly (baseline)", &o.desktop, "");
    line("web via the origin, sound on", &o.web_sound, "≤ +30");
    line("web via the origin, muted", &o.web_muted, "≤ +30");
    line("web: capture → arrival at the page", &o.web_arrive, "");
    println!(
        "outside origin_minus_direct_p95_ms={} muted_minus_direct_p95_ms={}",
        num(at(&o.web_sound, 0.5) - base, 0),
        num(at(&o.web_muted, 0.5) - base, 0),
    );
}
