//! Idle-connection load (issue #16): another process holds 19,000 idle TCP
//! connections to the server — reconnecting each one as soon as the server
//! closes it, as an attacker would — while this process times what a person
//! does: a REST request (`GET /v1/feed` on a fresh connection) and a
//! WebSocket join (connect, upgrade, welcome and snapshot). Prints p50/p95/
//! p99/max with ratios against the same probes with no idle load, run first
//! in the same process.
//!
//! The idle sockets come from 127.0.1.1–127.0.1.76 (250 each) so no
//! address pair runs out of ports; the load generator targets only
//! 127.0.0.1 and ends itself after four minutes whatever happens.
//!
//! `cargo bench -p livecart-server --features demo --bench idle_load
//!  [-- --idle 19000 --secs 30]`

mod support;

use futures_util::StreamExt;
use livecart_protocol::PROTOCOL_VERSION;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::{Loadgen, arg};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const LOADGEN_DEADLINE: Duration = Duration::from_mins(4);
/// Probes a second (each kind); a person's pace, not a load of its own.
const PROBES_PER_S: u64 = 10;
const TARGET_P99_MS: f64 = 100.0;

fn main() -> anyhow::Result<()> {
    if std::env::args().any(|a| a == "--loadgen") {
        let _ = rlimit::increase_nofile_limit(20_000);
        return loadgen();
    }
    let idle: usize = arg("--idle").map_or(Ok(19_000), |s| s.parse())?;
    let secs: u64 = arg("--secs").map_or(Ok(30), |s| s.parse())?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run(idle, secs))
}

#[derive(Debug, Clone)]
struct Row {
    probe: &'static str,
    idle: usize,
    n: usize,
    failed: usize,
    p50: f64,
    p95: f64,
    p99: f64,
    max: f64,
}

fn row(probe: &'static str, idle: usize, mut ms: Vec<f64>, failed: usize) -> Row {
    ms.sort_by(f64::total_cmp);
    let q = |p: f64| {
        if ms.is_empty() {
            f64::NAN
        } else {
            ms[((ms.len() as f64 * p).ceil() as usize).clamp(1, ms.len()) - 1]
        }
    };
    Row {
        probe,
        idle,
        n: ms.len(),
        failed,
        p50: q(0.50),
        p95: q(0.95),
        p99: q(0.99),
        max: ms.last().copied().unwrap_or(f64::NAN),
    }
}

async fn run(idle: usize, secs: u64) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let mut config = livecart_server::ServerConfig::default();
    config.bind = "127.0.0.1:0".parse()?;
    config.data_dir = dir.path().to_path_buf();
    config.demo.enabled = true;
    config.demo.scripts = false;
    config.demo.streams = false;
    // Production connection rules: the cap from the file limit, 20 s heads.
    let server = livecart_server::serve(config).await?;
    let port = server.addr.port();
    let room = server.state.rooms.feed()[0].id;
    let feed = format!("http://127.0.0.1:{port}/v1/feed");
    let live = format!("ws://127.0.0.1:{port}/v1/rooms/{room}/live?v={PROTOCOL_VERSION}");

    eprintln!("baseline: no idle connections, {secs} s of probes");
    let base = probe(&feed, &live, secs, 0).await;

    eprintln!("opening {idle} idle connections from another process");
    let (mut load, ready) = Loadgen::spawn(&[
        "--loadgen",
        "--port",
        &port.to_string(),
        "--conns",
        &idle.to_string(),
    ])?
    .ready()
    .await?;
    eprintln!("  {ready}; {secs} s of probes");
    let loaded = probe(&feed, &live, secs, idle).await;
    writeln!(load.stdin, "done")?;
    let (report, mut load) = tokio::task::spawn_blocking(move || (load.lines.next(), load)).await?;
    let report = report.ok_or_else(|| anyhow::anyhow!("no report"))??;
    let _ = load.child.wait();
    server.shutdown().await?;

    let v: serde_json::Value = serde_json::from_str(&report)?;
    let rows = [base.0, loaded.0.clone(), base.1, loaded.1.clone()];
    println!();
    println!(
        "idle-connection load: {idle} idle sockets held by another process (reconnected when closed); probes at {PROBES_PER_S}/s each"
    );
    println!(
        "{:<22} {:>6} {:>5} {:>6} {:>8} {:>8} {:>8} {:>8} {:>9}",
        "probe", "idle", "n", "failed", "p50_ms", "p95_ms", "p99_ms", "max_ms", "p99×base"
    );
    for (i, r) in rows.iter().enumerate() {
        let b = &rows[i - i % 2];
        println!(
            "{:<22} {:>6} {:>5} {:>6} {:>8.2} {:>8.2} {:>8.2} {:>8.2} {:>9.2}",
            r.probe,
            r.idle,
            r.n,
            r.failed,
            r.p50,
            r.p95,
            r.p99,
            r.max,
            r.p99 / b.p99
        );
    }
    println!(
        "load generator: {} open when probing began, {} open at the end, {} closed by the server and reopened ({:.0}/s), {} connects failed",
        v["ready_open"],
        v["open"],
        v["reopened"],
        v["reopened_per_s"].as_f64().unwrap_or(0.0),
        v["connect_failed"]
    );
    let worst = loaded.0.p99.max(loaded.1.p99);
    let failed = loaded.0.failed + loaded.1.failed;
    println!(
        "idle_load idle={idle} rest_p99_ms={:.2} ws_join_p99_ms={:.2} failed={failed} target_p99_ms={TARGET_P99_MS} {}",
        loaded.0.p99,
        loaded.1.p99,
        if worst <= TARGET_P99_MS && failed == 0 {
            "met"
        } else {
            "MISSED"
        }
    );
    Ok(())
}

/// `secs` seconds of probes, both kinds interleaved at `PROBES_PER_S`.
async fn probe(feed: &str, live: &str, secs: u64, idle: usize) -> (Row, Row) {
    // A fresh connection per request, as a phone coming to the app.
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .expect("client");
    let (mut rest, mut ws) = (Vec::new(), Vec::new());
    let (mut rest_failed, mut ws_failed) = (0, 0);
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / PROBES_PER_S));
    for _ in 0..secs * PROBES_PER_S {
        tick.tick().await;
        let t = Instant::now();
        let ok = tokio::time::timeout(Duration::from_secs(5), async {
            let res = http.get(feed).send().await.ok()?;
            (res.status() == 200).then_some(())?;
            res.bytes().await.ok()
        })
        .await;
        match ok {
            Ok(Some(_)) => rest.push(t.elapsed().as_secs_f64() * 1e3),
            _ => rest_failed += 1,
        }
        let t = Instant::now();
        let ok = tokio::time::timeout(Duration::from_secs(5), async {
            let (mut socket, _) = tokio_tungstenite::connect_async(live).await.ok()?;
            // welcome, then the room's snapshot
            for _ in 0..2 {
                socket.next().await?.ok()?;
            }
            Some(socket)
        })
        .await;
        match ok {
            Ok(Some(socket)) => {
                ws.push(t.elapsed().as_secs_f64() * 1e3);
                drop(socket);
            }
            _ => ws_failed += 1,
        }
    }
    (
        row("REST GET /v1/feed", idle, rest, rest_failed),
        row("WebSocket join", idle, ws, ws_failed),
    )
}

// ---- load generator (child process) ----

fn loadgen() -> anyhow::Result<()> {
    let port: u16 = arg("--port")
        .ok_or_else(|| anyhow::anyhow!("--port"))?
        .parse()?;
    let n: usize = arg("--conns")
        .ok_or_else(|| anyhow::anyhow!("--conns"))?
        .parse()?;
    anyhow::ensure!(n <= 19_500, "at most 19,500 sockets per process");
    std::thread::spawn(|| {
        std::thread::sleep(LOADGEN_DEADLINE);
        std::process::exit(3);
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()?;
    rt.block_on(loadgen_async(port, n))
}

#[derive(Default)]
struct Counts {
    open: AtomicU64,
    reopened: AtomicU64,
    connect_failed: AtomicU64,
}

async fn loadgen_async(port: u16, n: usize) -> anyhow::Result<()> {
    let counts = Arc::new(Counts::default());
    let stop = tokio_util::sync::CancellationToken::new();
    let opened = Arc::new(tokio::sync::Semaphore::new(0));
    let gate = Arc::new(tokio::sync::Semaphore::new(256)); // connects in flight
    for i in 0..n {
        let (counts, stop, opened, gate) =
            (counts.clone(), stop.clone(), opened.clone(), gate.clone());
        let src = std::net::SocketAddr::from(([127, 0, 1, 1 + (i / 250) as u8], 0));
        tokio::spawn(async move {
            let mut first = true;
            while !stop.is_cancelled() {
                let stream = {
                    let _permit = gate.acquire().await;
                    let socket = tokio::net::TcpSocket::new_v4().and_then(|s| {
                        s.bind(src)?;
                        Ok(s)
                    });
                    match socket {
                        Ok(s) => s.connect(([127, 0, 0, 1], port).into()).await,
                        Err(e) => Err(e),
                    }
                };
                let Ok(mut stream) = stream else {
                    counts.connect_failed.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                };
                counts.open.fetch_add(1, Ordering::Relaxed);
                if first {
                    opened.add_permits(1);
                    first = false;
                }
                // Say nothing; wait for the server to hang up.
                let mut buf = [0u8; 64];
                let closed = tokio::select! {
                    () = stop.cancelled() => false,
                    _ = tokio::io::AsyncReadExt::read(&mut stream, &mut buf) => true,
                };
                counts.open.fetch_sub(1, Ordering::Relaxed);
                if closed {
                    counts.reopened.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
    }
    let all = opened.acquire_many(n as u32).await;
    anyhow::ensure!(all.is_ok(), "not every socket opened");
    let ready_open = counts.open.load(Ordering::Relaxed);
    let reopened_at_ready = counts.reopened.load(Ordering::Relaxed);
    println!("ready: {ready_open} idle sockets open");
    std::io::stdout().flush()?;
    let began = Instant::now();
    let _ = tokio::task::spawn_blocking(|| {
        let mut line = String::new();
        std::io::stdin().read_line(&mut line)
    })
    .await?;
    let reopened = counts.reopened.load(Ordering::Relaxed) - reopened_at_ready;
    let report = serde_json::json!({
        "ready_open": ready_open,
        "open": counts.open.load(Ordering::Relaxed),
        "reopened": reopened,
        "reopened_per_s": reopened as f64 / began.elapsed().as_secs_f64(),
        "connect_failed": counts.connect_failed.load(Ordering::Relaxed),
    });
    stop.cancel();
    println!("{report}");
    std::io::stdout().flush()?;
    Ok(())
}
