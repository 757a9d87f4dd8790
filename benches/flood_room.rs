//! The app in the demo world's flooding room (200 chat messages a second,
//! gifts, likes), release build in a real window (Xvfb):
//! `cargo bench -p livecart --bench flood_room` (`LIVECART_BENCH_FLOOD_MIN`
//! minutes in the room, default 10).
//!
//! Prints, sampled once a second: video frames drawn per second, the page's
//! own frame rate (requestAnimationFrame), chat lines on screen; and the RSS
//! of the app plus its WebKit processes after 1 minute and at the end.

#[path = "../tests/e2e/support.rs"]
mod support;

use serde_json::Value;
use std::time::{Duration, Instant};
use support::{AppUnderTest, Desktop, tree_rss_kib};

fn pct(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v.get(((v.len() as f64 * p) as usize).min(v.len().saturating_sub(1)))
        .copied()
        .unwrap_or(f64::NAN)
}

/// (name, RSS KiB) of `pid` and every descendant, for the breakdown.
fn per_process(pid: u32) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![pid];
    while let Some(p) = stack.pop() {
        let name = std::fs::read_to_string(format!("/proc/{p}/comm"))
            .map(|s| s.trim().to_owned())
            .unwrap_or_default();
        let rss = std::fs::read_to_string(format!("/proc/{p}/status"))
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("VmRSS:"))
                    .and_then(|v| v.split_whitespace().next()?.parse().ok())
            })
            .unwrap_or(0);
        out.push((name, rss));
        if let Ok(c) = std::fs::read_to_string(format!("/proc/{p}/task/{p}/children")) {
            stack.extend(c.split_whitespace().filter_map(|c| c.parse::<u32>().ok()));
        }
    }
    out
}

fn main() {
    let minutes: u64 = std::env::var("LIVECART_BENCH_FLOOD_MIN")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let desktop = Desktop::start();
    let app = AppUnderTest::start(&desktop, &[]);
    let pid = app.pid();
    app.wait_for("the feed", Duration::from_mins(1), |a| {
        (a.state()["view"]["pages"].as_u64() > Some(1)).then_some(())
    });
    app.tap("live-badge");
    // The flooding room is the second in the demo feed.
    app.key("Down");
    let room = app.wait_for("the flooding room playing", Duration::from_secs(30), |a| {
        let s = a.state();
        let id = s["view"]["rooms"][1].as_str()?.to_owned();
        (s["view"]["index"] == 1 && s["page"]["rooms"][&id]["drawn"].as_u64() > Some(30))
            .then_some(id)
    });

    let (mut video_fps, mut page_fps) = (Vec::new(), Vec::new());
    let mut last: Option<(Instant, u64)> = None;
    let mut rss_1min = 0;
    let mut breakdown_1min = Vec::new();
    let mut next_minute = Duration::from_mins(1);
    let started = Instant::now();
    let total = Duration::from_secs(minutes * 60);
    let mut next_sample = Instant::now();
    app.wait_for("the flood soak", total + Duration::from_mins(1), |a| {
        if Instant::now() < next_sample {
            return (started.elapsed() >= total).then_some(());
        }
        next_sample += Duration::from_secs(1);
        let s: Value = a.state();
        let drawn = s["page"]["rooms"][&room]["drawn"].as_u64().unwrap_or(0);
        if let Some((t, d)) = last {
            video_fps.push((drawn - d) as f64 / t.elapsed().as_secs_f64());
        }
        last = Some((Instant::now(), drawn));
        if let Some(f) = s["page"]["pageFps"].as_f64() {
            page_fps.push(f);
        }
        if rss_1min == 0 && started.elapsed() >= Duration::from_mins(1) {
            rss_1min = tree_rss_kib(pid);
            breakdown_1min = per_process(pid);
        }
        if started.elapsed() >= next_minute {
            next_minute += Duration::from_mins(1);
            let now: Vec<String> = per_process(pid)
                .iter()
                .map(|(n, k)| format!("{n} {} MiB", k / 1024))
                .collect();
            eprintln!("{} min: {}", next_minute.as_secs() / 60 - 1, now.join(", "));
        }
        (started.elapsed() >= total).then_some(())
    });
    let rss_end = tree_rss_kib(pid);
    let lines = app.text("chat").map_or(0, |t| t.len());
    println!(
        "\nlivecart app in the flooding room (200 msg/s), release, Xvfb 390x844, {minutes} min"
    );
    println!("| measure | p5 | p50 | min | samples |");
    println!("|---|---|---|---|---|");
    for (name, v) in [
        ("video frames drawn / s", &video_fps),
        ("page frames / s (rAF)", &page_fps),
    ] {
        println!(
            "| {name} | {:.1} | {:.1} | {:.1} | {} |",
            pct(v, 0.05),
            pct(v, 0.5),
            pct(v, 0.0),
            v.len()
        );
    }
    println!(
        "| RSS app + WebKit after 1 min → after {minutes} min | {} → {} MiB ({:+.1} %) | goal ≤ +10 % |",
        rss_1min / 1024,
        rss_end / 1024,
        (rss_end as f64 / rss_1min.max(1) as f64 - 1.0) * 100.0
    );
    println!("(chat text on screen at the end: {lines} characters)");
    println!("| process | RSS after 1 min | at the end |");
    println!("|---|---|---|");
    for ((name, end), (_, start)) in per_process(pid).iter().zip(&breakdown_1min) {
        println!("| {name} | {} MiB | {} MiB |", start / 1024, end / 1024);
    }
}
