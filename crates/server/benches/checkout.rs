//! Checkout benchmark, over real HTTP on loopback against a server with a
//! real SQLite file (the server on its own runtime threads, the buyers on
//! others):
//!
//! 1. baseline: 50 concurrent buyers read their wallet (`GET /v1/wallet`);
//! 2. checkout: 50 concurrent buyers each pay for orders back to back
//!    (`POST /v1/orders` with an idempotency key: one read for the key,
//!    the product and the address, then the price, stock and balance guard,
//!    ledger, order and stored response on the group-commit writer);
//! 3. flash sale: 2,000 buyers (connected, as viewers of a live room are)
//!    tap "Buy" at once for 100 units;
//!
//! then `ledger check`. Prints a table (p50/p95/p99, ratio to the baseline)
//! and one summary line.
//!
//! `cargo bench -p livecart-server --bench checkout [-- --orders 40]`

mod support;

use livecart_protocol::commerce::{IDEMPOTENCY_HEADER, PlaceOrderRequest};
use livecart_protocol::rest::{FlashSale, RoomSnapshot, StartFlashSaleRequest};
use livecart_protocol::{AddressId, Currency, Money, PROTOCOL_HEADER, PROTOCOL_VERSION, UserId};
use livecart_server::Claims;
use std::time::{Duration, Instant};
use support::arg;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CHECKOUT_BUYERS: usize = 50;
const FLASH_BUYERS: usize = 2_000;
const FLASH_STOCK: u32 = 100;
const ADMIN: &str = "bench-admin";

struct Buyer {
    token: String,
    address: AddressId,
}

#[derive(Default)]
struct Run {
    name: &'static str,
    latencies_ms: Vec<f64>,
    ok: usize,
    refused: usize,
    other: usize,
    wall: Duration,
}

impl Run {
    fn pct(&self, p: f64) -> f64 {
        let mut v = self.latencies_ms.clone();
        v.sort_by(f64::total_cmp);
        if v.is_empty() {
            return f64::NAN;
        }
        let i = ((v.len() as f64 - 1.0) * p).round() as usize;
        v[i]
    }
}

#[allow(clippy::too_many_lines)] // a benchmark's script, read top to bottom
fn main() -> anyhow::Result<()> {
    let _ = rlimit::increase_nofile_limit(20_000);
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let per_buyer: usize = arg("--orders").map_or(Ok(40), |s| s.parse())?;
    let dir = tempfile::tempdir()?;
    let mut config = livecart_server::ServerConfig::default();
    config.bind = "127.0.0.1:0".parse()?;
    config.data_dir = dir.path().to_path_buf();
    config.token_secret = Some("bench-secret".into());
    config.admin_token = Some(ADMIN.into());
    config.demo.enabled = true;
    config.demo.scripts = false;
    config.demo.streams = false;
    // Orders here stay under the PIN step (the bench measures payment).
    config.money.pin_threshold_minor = i64::MAX;

    let server_rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("server")
        .enable_all()
        .build()?;
    let server = server_rt.block_on(livecart_server::serve(config))?;
    let state = server.state.clone();
    let base = server.base_url.clone();

    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let (runs, ledger_ok, ledger) = rt.block_on(async move {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_mins(1))
            .build()?;
        let room = state
            .rooms
            .all()
            .into_iter()
            .next()
            .expect("a demo room")
            .id;
        let snap: RoomSnapshot = http
            .get(format!("{base}/v1/rooms/{room}"))
            .send()
            .await?
            .json()
            .await?;
        let product = &snap.products[0];
        let sku = &product.skus[0];
        sqlx::query("UPDATE skus SET stock = 1000000 WHERE id = ?")
            .bind(sku.id.to_string())
            .execute(&state.db)
            .await?;

        // Buyers, written straight to the database with minted tokens.
        let mut buyers = Vec::with_capacity(FLASH_BUYERS);
        let mut tx = state.writer.begin().await?;
        for i in 0..FLASH_BUYERS {
            let id: UserId =
                livecart_server::provision_buyer(&mut tx, &format!("bench{i}"), 1_000_000).await?;
            let address: String = sqlx::query_scalar("SELECT id FROM addresses WHERE user_id = ?")
                .bind(id.to_string())
                .fetch_one(&mut *tx)
                .await?;
            buyers.push(Buyer {
                token: state.tokens.mint(&Claims {
                    sub: id,
                    name: format!("bench{i}"),
                    role: livecart_protocol::rest::Role::Viewer,
                    exp: jiff::Timestamp::now().as_second() + 3600,
                    sid: None,
                }),
                address: address.parse()?,
            });
        }
        tx.commit().await?;
        eprintln!("{FLASH_BUYERS} buyers ready");

        let order = |b: &Buyer, price: Money, sale: Option<&FlashSale>| PlaceOrderRequest {
            product_id: product.id,
            sku_id: sku.id,
            quantity: 1,
            address_id: b.address,
            expected_unit_price: price,
            flash_sale_id: sale.map(|s| s.id),
            video_delay_ms: 0,
            pin: None,
        };
        let post = |b: &Buyer, body: &PlaceOrderRequest| {
            http.post(format!("{base}/v1/orders"))
                .bearer_auth(&b.token)
                .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
                .header(IDEMPOTENCY_HEADER, uuid::Uuid::now_v7().to_string())
                .json(body)
                .send()
        };

        // Warm up the connections and the statement caches.
        for b in &buyers[..CHECKOUT_BUYERS] {
            post(b, &order(b, sku.price, None))
                .await?
                .error_for_status()?;
        }

        // The demo world draws its pictures in the background after a
        // start: measure once it is done, not against it.
        let drawing = Instant::now();
        tokio::time::timeout(Duration::from_mins(1), state.lazy_images.all_drawn()).await?;
        eprintln!(
            "warmed up (pictures drawn {:.1} s before)",
            drawing.elapsed().as_secs_f64()
        );
        let mut runs = Vec::new();
        // 1. Baseline: an authenticated read.
        runs.push(
            back_to_back(
                "wallet read (baseline)",
                &buyers[..CHECKOUT_BUYERS],
                per_buyer,
                |b| {
                    http.get(format!("{base}/v1/wallet"))
                        .bearer_auth(&b.token)
                        .send()
                },
            )
            .await,
        );
        // 2. Checkout: 50 concurrent buyers paying back to back.
        runs.push(
            back_to_back(
                "checkout, 50 buyers",
                &buyers[..CHECKOUT_BUYERS],
                per_buyer,
                |b| post(b, &order(b, sku.price, None)),
            )
            .await,
        );

        eprintln!("checkout done");
        // 3. Flash sale: 2,000 taps at once for 100 units.
        let sale_price = Money::new(sku.price.amount_minor / 2, Currency::USD);
        let sale: FlashSale = http
            .post(format!("{base}/v1/host/rooms/{room}/flash-sales"))
            .bearer_auth(ADMIN)
            .json(&StartFlashSaleRequest {
                product_id: product.id,
                sku_id: sku.id,
                price: sale_price,
                stock: FLASH_STOCK,
                duration_s: 600,
            })
            .send()
            .await?
            .error_for_status()?
            .json()
            .await?;
        // Buyers in a live room already hold a connection to the server
        // (the app keeps one alive): open them before the sale starts, so
        // the run measures the sale, not 2,000 TCP handshakes.
        futures_util::future::join_all(buyers.iter().map(|b| {
            http.get(format!("{base}/v1/wallet"))
                .bearer_auth(&b.token)
                .send()
        }))
        .await;
        let started = Instant::now();
        let mut run = Run {
            name: "flash sale, 2000 buyers",
            ..Run::default()
        };
        let results = futures_util::future::join_all(buyers.iter().map(|b| {
            let body = order(b, sale_price, Some(&sale));
            let post = &post;
            async move {
                let t = Instant::now();
                let res = post(b, &body).await;
                (t.elapsed(), res.map_or(0, |r| r.status().as_u16()))
            }
        }))
        .await;
        run.wall = started.elapsed();
        tally(&mut run, results);
        runs.push(run);

        eprintln!("flash sale done");
        let report = livecart_server::check_ledger(&state.db).await?;
        anyhow::Ok((runs, report.ok(), report.to_string()))
    })?;
    server_rt.block_on(server.shutdown())?;

    let base = &runs[0];
    println!(
        "{:<26} {:>7} {:>9} {:>8} {:>8} {:>8} {:>8} {:>9}",
        "run", "n", "ok/refused", "p50_ms", "p95_ms", "p99_ms", "req/s", "p99×base"
    );
    for r in &runs {
        println!(
            "{:<26} {:>7} {:>5}/{:<4} {:>8.2} {:>8.2} {:>8.2} {:>8.0} {:>9.1}",
            r.name,
            r.latencies_ms.len(),
            r.ok,
            r.refused,
            r.pct(0.50),
            r.pct(0.95),
            r.pct(0.99),
            r.latencies_ms.len() as f64 / r.wall.as_secs_f64(),
            r.pct(0.99) / base.pct(0.99),
        );
        if r.other > 0 {
            println!(
                "  {} answers were neither paid nor a clear refusal",
                r.other
            );
        }
    }
    println!("{ledger}");
    let (checkout, flash) = (&runs[1], &runs[2]);
    println!(
        "checkout p50_ms={:.2} p99_ms={:.2} flash_stock={FLASH_STOCK} flash_orders={} flash_refused={} flash_p99_ms={:.1} ledger_ok={ledger_ok}",
        checkout.pct(0.50),
        checkout.pct(0.99),
        flash.ok,
        flash.refused,
        flash.pct(0.99),
    );
    Ok(())
}

/// Each buyer sends `n` requests back to back, all buyers at once.
async fn back_to_back<'a, F, Fut>(name: &'static str, buyers: &'a [Buyer], n: usize, send: F) -> Run
where
    F: Fn(&'a Buyer) -> Fut,
    Fut: std::future::Future<Output = reqwest::Result<reqwest::Response>>,
{
    let started = Instant::now();
    let results = futures_util::future::join_all(buyers.iter().map(|b| {
        let send = &send;
        async move {
            let mut out = Vec::with_capacity(n);
            for _ in 0..n {
                let t = Instant::now();
                let res = send(b).await;
                out.push((t.elapsed(), res.map_or(0, |r| r.status().as_u16())));
            }
            out
        }
    }))
    .await;
    let mut run = Run {
        name,
        wall: started.elapsed(),
        ..Run::default()
    };
    tally(&mut run, results.into_iter().flatten());
    run
}

/// Counts 2xx as paid, 409 as a clear refusal (sold out), anything else
/// (including transport errors, status 0) as a failure.
fn tally(run: &mut Run, results: impl IntoIterator<Item = (Duration, u16)>) {
    for (d, status) in results {
        run.latencies_ms.push(d.as_secs_f64() * 1e3);
        match status {
            200..=299 => run.ok += 1,
            409 => run.refused += 1,
            _ => run.other += 1,
        }
    }
}
