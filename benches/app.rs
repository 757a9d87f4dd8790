//! The app's numbers in a real window (Xvfb), release build:
//! `cargo bench -p livecart --bench app` (add `-- --jpeg` for the fallback path;
//! `LIVECART_BENCH_SOAK_MIN=10` for the memory-growth soak, default 2 minutes).
//!
//! Prints cold start to first frame, swipe to first frame (preloaded and not),
//! frames drawn per second, capture→draw latency and the RSS of the app plus
//! its WebKit processes.

#[path = "../tests/e2e/support.rs"]
mod support;

use serde_json::Value;
use std::time::{Duration, Instant, SystemTime};
use support::{
    AppUnderTest, Desktop, pct, picture_loops, room_stats as room, tree_mem_kib, tree_rss_kib,
};

fn unix_ms() -> f64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

#[allow(clippy::too_many_lines)] // a benchmark's script, read top to bottom
fn main() {
    let jpeg = std::env::args().any(|a| a == "--jpeg");
    let soak_min: u64 = std::env::var("LIVECART_BENCH_SOAK_MIN")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2);
    let extra: &[&str] = if jpeg { &["--jpeg"] } else { &[] };
    let desktop = Desktop::start();

    // Cold start: the first launch on a fresh OS profile (WebKit sets up its
    // caches; fresh data directory), a fresh data directory on a used
    // profile (the demo world is seeded), then an existing data directory.
    let mut starts = Vec::new();
    let (mut marks, mut launched) = (Value::Null, 0.0);
    for (i, data) in ["livecart-data", "livecart-data-2", "livecart-data-2"]
        .into_iter()
        .enumerate()
    {
        let dir = desktop.home.path().join(data);
        let t0 = unix_ms();
        let app = AppUnderTest::start_in(&desktop, dir.clone(), extra);
        let first = app.wait_for("first frame", Duration::from_mins(1), |a| {
            let f = room(&a.state(), 0)["firstDrawAt"].as_f64().unwrap_or(0.0);
            (f > 0.0).then_some(f)
        });
        starts.push(first - t0);
        marks = app.state()["page"]["marks"].clone();
        launched = t0;
        if i < 2 {
            // A first session long enough for the embedded server to record
            // the playing rooms' picture loops (6 s each), as any first use is.
            app.wait_for(
                "the picture loops recorded",
                Duration::from_secs(40),
                |_| (picture_loops(&dir) >= 2).then_some(()),
            );
        }
        if i == 0 {
            // The measured run below uses this data directory. A room's first
            // stream encodes live while it records its loop (docs/media.md),
            // which on 2 cores made one or two of the measured swipes wait
            // ~0.5 s: look through the feed once first, as a first session
            // does, so the measured run is the usual one (every room seen).
            let pages = app.state()["view"]["pages"].as_u64().unwrap_or(0) as usize;
            app.tap("live-badge"); // the window takes the keys
            for to in 1..pages.saturating_sub(1) {
                app.key("Down");
                app.wait_for(
                    "the next room's picture loop recorded",
                    Duration::from_secs(40),
                    |_| (picture_loops(&dir) > to + 1).then_some(()),
                );
            }
        }
        drop(app);
    }
    let t = marks["pageOrigin"].as_f64().unwrap_or(f64::NAN);
    let step = |k: &str| {
        marks[k]
            .as_f64()
            .map_or("—".to_owned(), |v| format!("{:.0}", v - t))
    };
    let breakdown = format!(
        "page start {:.0} ms after launch, then: views {} · socket open {} · first picture decoded {} · drawn {} ms",
        t - launched,
        step("viewOpened"),
        step("socketOpen"),
        step("firstDecoded"),
        step("firstDraw"),
    );

    let app = AppUnderTest::start(&desktop, extra);
    let pid = app.pid();
    app.wait_for("first frame", Duration::from_mins(1), |a| {
        (room(&a.state(), 0)["drawn"].as_u64().unwrap_or(0) > 30).then_some(())
    });
    app.tap("live-badge");

    // Swipes: down through the feed (the next room is preloaded), then back up (not preloaded).
    let (mut preloaded, mut cold) = (Vec::new(), Vec::new());
    let pages = app.state()["view"]["pages"].as_u64().unwrap_or(0) as usize;
    for _cycle in 0..2 {
        for to in 1..pages {
            // Preloaded = its off-screen view drew within the last 200 ms.
            app.wait_for("the next room preloaded", Duration::from_secs(15), |a| {
                let s = a.state();
                let now = s["page"]["now"].as_f64().unwrap_or(0.0);
                (now - room(&s, to)["lastDrawAt"].as_f64().unwrap_or(0.0) < 200.0).then_some(())
            });
            app.key("Down");
            preloaded.push(swipe(&app, to));
        }
        for to in (0..pages - 1).rev() {
            app.key("Up");
            cold.push(swipe(&app, to));
        }
    }

    // Playing room 0 with room 1 preloaded: fps, latency, memory — once the
    // rooms swiped past have been released (the embedded server stops their
    // encoders after 10 s) and room 0's latency window holds only this.
    let calm = Instant::now();
    app.wait_for(
        "the swiped-past rooms to stop",
        Duration::from_secs(30),
        |_| (calm.elapsed() >= Duration::from_secs(15)).then_some(()),
    );
    let window = Duration::from_secs(10);
    let s0 = settled(&app);
    let page_t0 = s0["page"]["now"].as_f64().unwrap_or(0.0);
    let d0 = room(&s0, 0)["drawn"].as_u64().unwrap_or(0);
    let t0 = Instant::now();
    app.wait_for(
        "a measurement window",
        window + Duration::from_secs(5),
        |_| (t0.elapsed() >= window).then_some(()),
    );
    let s1 = settled_since(&app, page_t0);
    let fps =
        (room(&s1, 0)["drawn"].as_u64().unwrap_or(0) - d0) as f64 / t0.elapsed().as_secs_f64();
    let lat = room(&s1, 0);
    let (rss_start, pss_start) = tree_mem_kib(pid);

    // Soak: memory after `soak_min` minutes of playing.
    let soak = Duration::from_secs(soak_min * 60);
    let t0 = Instant::now();
    let mut peak = rss_start;
    app.wait_for("the soak", soak + Duration::from_secs(30), |_| {
        peak = peak.max(tree_rss_kib(pid));
        (t0.elapsed() >= soak).then_some(())
    });
    let rss_end = tree_rss_kib(pid);
    drop(app);

    // The app alone: the server runs in its own process and the app uses `--server`.
    let server = support::HeadlessServer::start(&[]);
    let url = server.url.clone();
    let remote = AppUnderTest::start(&desktop, &[&["--server", url.as_str()], extra].concat());
    remote.wait_for("remote first frames", Duration::from_mins(1), |a| {
        (room(&a.state(), 0)["drawn"].as_u64().unwrap_or(0) > 300).then_some(())
    });
    let (rss_app, pss_app) = tree_mem_kib(remote.pid());
    drop(remote);
    drop(server);

    let path = if jpeg {
        "JPEG over WebSocket"
    } else {
        "WebCodecs (H.264 over WebSocket)"
    };
    let swipes = preloaded
        .iter()
        .map(|v| format!("{v:.0}"))
        .collect::<Vec<_>>()
        .join(", ");
    println!("\nlivecart app, release, Xvfb 390x844, path: {path}");
    println!("| measure | value | goal |");
    println!("|---|---|---|");
    println!(
        "| cold start → first frame, first launch on a fresh OS profile (WebKit's first run) | {:.0} ms | — |",
        starts[0]
    );
    println!(
        "| cold start → first frame, fresh data dir (seeds demo world) | {:.0} ms | ≤ 1000 ms |",
        starts[1]
    );
    println!(
        "| cold start → first frame, existing data dir (picture loops recorded) | {:.0} ms | ≤ 1000 ms |",
        starts[2]
    );
    println!("| … of which (existing data dir) | {breakdown} | — |");
    println!(
        "| swipe → first frame, preloaded (n={}) p50 / p95 / max | {:.0} / {:.0} / {:.0} ms | ≤ 150 ms |",
        preloaded.len(),
        pct(&mut preloaded.clone(), 0.5),
        pct(&mut preloaded.clone(), 0.95),
        pct(&mut preloaded, 1.0)
    );
    println!("| … each preloaded swipe, in order | {swipes} ms | — |");
    println!(
        "| swipe → first frame, not preloaded (n={}) p50 / p95 | {:.0} / {:.0} ms | — |",
        cold.len(),
        pct(&mut cold.clone(), 0.5),
        pct(&mut cold, 0.95)
    );
    println!("| frames drawn per second (30 fps stream) | {fps:.1} | ≥ 29 |");
    println!(
        "| capture → draw p50 / p95 / p99 | {:.1} / {:.1} / {:.1} ms | p95 ≤ 200 ms |",
        lat["latencyP50"].as_f64().unwrap_or(f64::NAN),
        lat["latencyP95"].as_f64().unwrap_or(f64::NAN),
        lat["latencyP99"].as_f64().unwrap_or(f64::NAN)
    );
    println!(
        "| memory app + WebKit + embedded server, playing 1 + 1 preloaded: RSS sum / PSS sum | {} / {} MiB | ≤ 550 MiB |",
        rss_start / 1024,
        pss_start / 1024
    );
    println!(
        "| memory app + WebKit on a remote server (`--server`), same: RSS sum / PSS sum | {} / {} MiB | ≤ 550 MiB |",
        rss_app / 1024,
        pss_app / 1024
    );
    println!(
        "| RSS after {soak_min} min (peak) | {} MiB ({} MiB), growth {:+.1} % | ≤ +10 % over 10 min |",
        rss_end / 1024,
        peak / 1024,
        (rss_end as f64 / rss_start as f64 - 1.0) * 100.0
    );
}

fn swipe(app: &AppUnderTest, to: usize) -> f64 {
    app.wait_for("the swipe's first frame", Duration::from_secs(10), |a| {
        let s = a.state();
        let shown = room(&s, to)["shownAfterInputAt"].as_f64().unwrap_or(0.0);
        let input = s["page"]["lastInputAt"].as_f64().unwrap_or(0.0);
        (s["view"]["index"] == to && shown > input).then_some(shown - input)
    })
}

/// The app's state once the control endpoint answers with the page's stats.
fn settled(app: &AppUnderTest) -> Value {
    settled_since(app, 0.0)
}

/// Same, with latency percentiles over the frames drawn since `page_ms`.
fn settled_since(app: &AppUnderTest, page_ms: f64) -> Value {
    app.wait_for("the app's state", Duration::from_secs(10), |a| {
        let s = a.state_since(page_ms);
        s["page"]["rooms"].is_object().then_some(s)
    })
}
