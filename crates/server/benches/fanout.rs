//! Fan-out benchmark: N loopback WebSocket clients in one room while the room
//! publishes 100 chat messages a second. Prints delivered msg/s, delivery
//! latency p50/p95/p99 (server publish time → client receipt) and server RSS
//! per connection, for 1k / 5k / 10k clients, with ratios against the 1k run.
//!
//! The clients live in a separate load-generator process (this binary again,
//! with `--loadgen`), because one process may hold at most 20,000 files. They
//! connect from 127.0.0.2–127.0.0.51 so no source/destination pair runs out of
//! ports, target only 127.0.0.1, and every run is bounded in count and time.
//!
//! `cargo bench -p livecart-server --bench fanout [-- --clients 1000,5000 --secs 10]`
//!
//! Size: one benchmark — its load generator, the runs and the table — kept
//! together so one file shows what is measured and how.

mod support;

use futures_util::StreamExt;
use livecart_protocol::rest::{ChatMessage, UserRef};
use livecart_protocol::{MessageId, PROTOCOL_VERSION, RoomEvent, Timestamp, UserId};
use std::io::{BufRead, BufReader, Write};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use support::{Loadgen, arg};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const RATE: u64 = 100;
/// Hard cap on a load generator's life, whatever happens.
const LOADGEN_DEADLINE: Duration = Duration::from_mins(4);

fn main() -> anyhow::Result<()> {
    let _ = rlimit::increase_nofile_limit(20_000);
    if std::env::args().any(|a| a == "--loadgen") {
        return loadgen();
    }
    if let Some(dir) = arg("--seed-into") {
        // Seeding generates pictures; doing it in another process keeps its
        // freed memory from masking the server's per-connection RSS.
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        return rt.block_on(async {
            let server = livecart_server::serve(bench_config(std::path::Path::new(&dir))?).await?;
            server.shutdown().await
        });
    }
    let counts: Vec<usize> = arg("--clients")
        .unwrap_or_else(|| "1000,5000,10000".into())
        .split(',')
        .map(|s| s.trim().parse())
        .collect::<Result<_, _>>()?;
    let secs: u64 = arg("--secs").map_or(Ok(10), |s| s.parse())?;
    let dir = tempfile::tempdir()?;
    let status = Command::new(std::env::current_exe()?)
        .arg("--seed-into")
        .arg(dir.path())
        .status()?;
    anyhow::ensure!(status.success(), "seeding failed");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let mut results = Vec::new();
    for n in counts {
        let r = rt.block_on(run(dir.path(), n, secs))?;
        eprintln!("  {n} clients: done");
        results.push(r);
    }
    print_table(&results);
    Ok(())
}

#[derive(Debug, Clone, Copy)]
struct Row {
    clients: usize,
    delivered_per_s: f64,
    expected_per_s: f64,
    p50_ms: f64,
    p95_ms: f64,
    p99_ms: f64,
    max_ms: f64,
    rss_kib_per_conn: f64,
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn bench_config(dir: &std::path::Path) -> anyhow::Result<livecart_server::ServerConfig> {
    let mut config = livecart_server::ServerConfig::default();
    config.bind = "127.0.0.1:0".parse()?;
    // Thousands of anonymous clients from 50 addresses: no per-address cap.
    config.ws.anonymous_per_address = u32::MAX;
    config.data_dir = dir.to_path_buf();
    config.demo.enabled = true;
    config.demo.scripts = false;
    config.demo.streams = false;
    Ok(config)
}

async fn run(dir: &std::path::Path, n: usize, secs: u64) -> anyhow::Result<Row> {
    let server = livecart_server::serve(bench_config(dir)?).await?;
    let room_id = server.state.rooms.feed()[0].id;
    let room = server
        .state
        .rooms
        .get(room_id)
        .ok_or_else(|| anyhow::anyhow!("no room"))?;
    let url = format!(
        "ws://127.0.0.1:{}/v1/rooms/{room_id}/live?v={PROTOCOL_VERSION}",
        server.addr.port()
    );

    let rss_before = rss_kib();
    // Wait until every client has joined.
    let (mut load, _) = Loadgen::spawn(&[
        "--loadgen",
        "--url",
        &url,
        "--clients",
        &n.to_string(),
        "--secs",
        &secs.to_string(),
    ])?
    .ready()
    .await?;
    let connected = room.viewers().sockets();
    let rss_after = rss_kib();

    // Publish at RATE msg/s for `secs` seconds.
    writeln!(load.stdin, "go")?;
    let sender = UserRef {
        id: UserId::new(),
        name: "bench".into(),
    };
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / RATE));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let start = Instant::now();
    let total = RATE * secs;
    for i in 0..total {
        tick.tick().await;
        let message = ChatMessage {
            id: MessageId::new(),
            user: sender.clone(),
            text: format!("flash sale in {i}!"),
            sent_at: Timestamp::now(),
            client_id: None,
        };
        room.publish(RoomEvent::Chat { message });
    }
    let publish_secs = start.elapsed().as_secs_f64();
    writeln!(load.stdin, "done {total}")?;
    let (report, mut load) = tokio::task::spawn_blocking(move || (load.lines.next(), load)).await?;
    let report = report.ok_or_else(|| anyhow::anyhow!("no report"))??;
    let _ = load.child.wait();
    server.shutdown().await?;

    let v: serde_json::Value = serde_json::from_str(&report)?;
    let f = |k: &str| v[k].as_f64().unwrap_or(f64::NAN);
    anyhow::ensure!(
        connected as usize >= n,
        "only {connected} of {n} clients connected"
    );
    Ok(Row {
        clients: n,
        delivered_per_s: f("delivered") / publish_secs,
        expected_per_s: (n as u64 * total) as f64 / publish_secs,
        p50_ms: f("p50_ms"),
        p95_ms: f("p95_ms"),
        p99_ms: f("p99_ms"),
        max_ms: f("max_ms"),
        rss_kib_per_conn: rss_after.saturating_sub(rss_before) as f64 / n as f64,
    })
}

fn print_table(rows: &[Row]) {
    let base = rows[0];
    println!();
    println!(
        "fan-out, one room, {RATE} msg/s (ratios against the {}-client run)",
        base.clients
    );
    println!(
        "{:>8} {:>13} {:>13} {:>8} {:>8} {:>8} {:>8} {:>10} {:>9} {:>9}",
        "clients",
        "delivered/s",
        "expected/s",
        "p50_ms",
        "p95_ms",
        "p99_ms",
        "max_ms",
        "rss_KiB/c",
        "p99×base",
        "rss×base"
    );
    for r in rows {
        println!(
            "{:>8} {:>13.0} {:>13.0} {:>8.1} {:>8.1} {:>8.1} {:>8.1} {:>10.1} {:>9.2} {:>9.2}",
            r.clients,
            r.delivered_per_s,
            r.expected_per_s,
            r.p50_ms,
            r.p95_ms,
            r.p99_ms,
            r.max_ms,
            r.rss_kib_per_conn,
            r.p99_ms / base.p99_ms,
            r.rss_kib_per_conn / base.rss_kib_per_conn
        );
    }
    let last = rows[rows.len() - 1];
    println!(
        "fanout clients={} rate={RATE} delivered_per_s={:.0} p50_ms={:.1} p95_ms={:.1} p99_ms={:.1} rss_kib_per_conn={:.1}",
        last.clients,
        last.delivered_per_s,
        last.p50_ms,
        last.p95_ms,
        last.p99_ms,
        last.rss_kib_per_conn
    );
}

// ---- load generator (child process) ----

fn loadgen() -> anyhow::Result<()> {
    let url = arg("--url").ok_or_else(|| anyhow::anyhow!("--url"))?;
    let n: usize = arg("--clients")
        .ok_or_else(|| anyhow::anyhow!("--clients"))?
        .parse()?;
    anyhow::ensure!(
        url.starts_with("ws://127.0.0.1:"),
        "the load generator only targets 127.0.0.1"
    );
    anyhow::ensure!(n <= 15_000, "at most 15,000 clients per process");
    // Whatever happens, this process ends.
    std::thread::spawn(|| {
        std::thread::sleep(LOADGEN_DEADLINE);
        std::process::exit(3);
    });
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(loadgen_async(url, n))
}

struct Stats {
    delivered: AtomicU64,
    latencies_us: std::sync::Mutex<Vec<u32>>,
}

#[allow(clippy::too_many_lines)] // a benchmark's load generator, read top to bottom
async fn loadgen_async(url: String, n: usize) -> anyhow::Result<()> {
    let port: u16 = url["ws://127.0.0.1:".len()..]
        .split('/')
        .next()
        .unwrap_or("0")
        .parse()?;
    let stats = Arc::new(Stats {
        delivered: AtomicU64::new(0),
        latencies_us: std::sync::Mutex::new(Vec::new()),
    });
    let measuring = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop = tokio_util::sync::CancellationToken::new();
    let joined = Arc::new(tokio::sync::Semaphore::new(0));
    let gate = Arc::new(tokio::sync::Semaphore::new(256)); // connects in flight
    let mut tasks = Vec::with_capacity(n);
    for i in 0..n {
        let (url, stats, measuring, joined, gate, stop) = (
            url.clone(),
            stats.clone(),
            measuring.clone(),
            joined.clone(),
            gate.clone(),
            stop.clone(),
        );
        tasks.push(tokio::spawn(async move {
            let permit = gate.acquire_owned().await;
            let src = std::net::SocketAddr::from(([127, 0, 0, 2 + (i % 50) as u8], 0));
            let socket = tokio::net::TcpSocket::new_v4()?;
            socket.bind(src)?;
            let stream = socket.connect(([127, 0, 0, 1], port).into()).await?;
            stream.set_nodelay(true)?;
            // A small read buffer: tungstenite's 128 KiB default is zero-filled
            // on every refill, which made memset this process's top symbol.
            let ws_config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
                .read_buffer_size(4096);
            let (mut ws, _) =
                tokio_tungstenite::client_async_with_config(url.as_str(), stream, Some(ws_config))
                    .await?;
            // Every client counts deliveries; one in ten also measures latency,
            // so measuring does not eat the CPU the server is being timed on.
            let sampled = i % 10 == 0;
            let chat = memchr::memmem::Finder::new(br#""type":"chat""#);
            drop(permit);
            // welcome + snapshot
            for _ in 0..2 {
                ws.next()
                    .await
                    .ok_or_else(|| anyhow::anyhow!("closed while joining"))??;
            }
            joined.add_permits(1);
            let mut local = Vec::with_capacity(4096);
            let mut delivered = 0u64;
            loop {
                let msg = tokio::select! {
                    () = stop.cancelled() => break,
                    m = ws.next() => match m { Some(m) => m, None => break },
                };
                let Ok(tokio_tungstenite::tungstenite::Message::Text(t)) = msg else {
                    continue;
                };
                let t = t.as_str();
                if !measuring.load(Ordering::Relaxed) || chat.find(t.as_bytes()).is_none() {
                    continue;
                }
                delivered += 1;
                if !sampled {
                    continue;
                }
                if let Some(at) = t
                    .split_once(r#""at":""#)
                    .and_then(|(_, r)| r.split_once('"'))
                    .and_then(|(ts, _)| ts.parse::<Timestamp>().ok())
                {
                    let lat = Timestamp::now().duration_since(at).as_micros().max(0) as u32;
                    local.push(lat);
                }
                if local.len() == local.capacity() {
                    stats
                        .latencies_us
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .extend(local.drain(..));
                }
            }
            stats.delivered.fetch_add(delivered, Ordering::Relaxed);
            stats
                .latencies_us
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .extend(local);
            anyhow::Ok(())
        }));
    }
    let all = joined.acquire_many(n as u32).await;
    anyhow::ensure!(all.is_ok(), "not every client joined");
    println!("ready {n}");
    std::io::stdout().flush()?;

    let mut stdin = BufReader::new(std::io::stdin()).lines();
    let (go, mut stdin) = tokio::task::spawn_blocking(move || (stdin.next(), stdin)).await?;
    anyhow::ensure!(go.is_some(), "no go");
    measuring.store(true, Ordering::Relaxed);
    let _done = tokio::task::spawn_blocking(move || stdin.next()).await?;
    // Let in-flight messages land, then close everything.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let mut last = u64::MAX;
    loop {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let l = stats
            .latencies_us
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len() as u64;
        if l == last || tokio::time::Instant::now() > deadline {
            break;
        }
        last = l;
    }
    stop.cancel();
    for t in tasks {
        if let Ok(Err(e)) = t.await {
            eprintln!("client failed: {e}");
        }
    }
    let mut lat = std::mem::take(
        &mut *stats
            .latencies_us
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner),
    );
    lat.sort_unstable();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1)))
            .map_or(f64::NAN, |&us| f64::from(us) / 1000.0)
    };
    let report = serde_json::json!({
        "delivered": stats.delivered.load(Ordering::Relaxed),
        "p50_ms": pct(0.50), "p95_ms": pct(0.95), "p99_ms": pct(0.99), "max_ms": pct(1.0),
    });
    println!("{report}");
    std::io::stdout().flush()?;
    Ok(())
}
