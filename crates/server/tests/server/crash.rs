//! The server process is killed (SIGKILL) again and again while a buyer's
//! payments stream in. After every kill the ledger checks clean; after every
//! restart the app's retries (same idempotency key) settle each payment; in
//! the end every acknowledged payment exists exactly once.

use livecart_protocol::commerce::{
    AddressList, GiftReceipt, IDEMPOTENCY_HEADER, Order, PlaceOrderRequest, SendGiftRequest,
};
use livecart_protocol::rest::{FeedResponse, GiftCatalog, RoomSnapshot, SessionResponse};
use livecart_protocol::{ComboId, PROTOCOL_HEADER, PROTOCOL_VERSION};
use std::collections::HashMap;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

const SERVER: &str = env!("CARGO_BIN_EXE_livecart-server");
const ROUNDS: usize = 10;

/// Starts `livecart-server` on a free port; returns it and its base URL.
async fn start(dir: &Path) -> (Child, String) {
    let mut child = Command::new(SERVER)
        .args(["serve", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .current_dir(dir)
        .env("LIVECART_TOKEN_SECRET", "crash-test-secret")
        .env("LIVECART_DEMO__SCRIPTS", "false")
        .env("LIVECART_DEMO__STREAMS", "false")
        .env("RUST_LOG", "error")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("server starts");
    let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
    let url = tokio::time::timeout(crate::support::WAIT * 6, async {
        while let Some(line) = lines.next_line().await.expect("read") {
            if let Some(rest) = line.strip_prefix("livecart server on ") {
                return rest.split_whitespace().next().expect("url").to_owned();
            }
        }
        panic!("the server exited before listening");
    })
    .await
    .expect("the server listens");
    // Keep draining its stdout so it never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, url)
}

fn ledger_check(dir: &Path) -> String {
    let out = std::process::Command::new(SERVER)
        .args(["ledger", "--data-dir"])
        .arg(dir)
        .arg("check")
        .current_dir(dir)
        .output()
        .expect("ledger check runs");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "ledger check failed:\n{text}");
    text
}

#[derive(Clone)]
struct Payment {
    key: String,
    path: String,
    body: serde_json::Value,
    gift: bool,
}

#[derive(Default)]
struct Book {
    /// key → id of the order or gift the server acknowledged.
    acked: HashMap<String, String>,
    /// Refused outright (a 4xx other than "still processing").
    refused: Vec<String>,
    /// Sent but unanswered: the app retries these with the same key.
    pending: Vec<Payment>,
    /// Payments settled by a retry after a restart.
    retried: usize,
    /// Retries answered from a commit the killed server never acknowledged.
    replayed: usize,
}

enum Outcome {
    /// The id, and whether it was a replay of an earlier commit.
    Acked(String, bool),
    Refused,
    Unknown,
}

async fn send(http: &reqwest::Client, base: &str, token: &str, p: &Payment) -> Outcome {
    let res = http
        .post(format!("{base}{}", p.path))
        .bearer_auth(token)
        .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
        .header(IDEMPOTENCY_HEADER, &p.key)
        .json(&p.body)
        .send()
        .await;
    let Ok(res) = res else {
        return Outcome::Unknown;
    };
    match res.status().as_u16() {
        201 => {
            let replayed = res
                .headers()
                .contains_key(livecart_protocol::commerce::REPLAYED_HEADER);
            let Ok(bytes) = res.bytes().await else {
                return Outcome::Unknown;
            };
            let id = if p.gift {
                serde_json::from_slice::<GiftReceipt>(&bytes).map(|r| r.id.to_string())
            } else {
                serde_json::from_slice::<Order>(&bytes).map(|o| o.id.to_string())
            };
            id.map_or(Outcome::Unknown, |id| Outcome::Acked(id, replayed))
        }
        409 if res
            .text()
            .await
            .unwrap_or_default()
            .contains("idempotency_in_flight") =>
        {
            Outcome::Unknown
        }
        400..=499 => Outcome::Refused,
        _ => Outcome::Unknown,
    }
}

#[tokio::test]
#[allow(clippy::too_many_lines)] // one story, read top to bottom
async fn kill_9_during_payments_loses_nothing_and_charges_nothing_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (mut child, url) = start(dir.path()).await;
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(10))
        .build()
        .expect("client");
    let session: SessionResponse = http
        .post(format!("{url}/v1/session"))
        .json(&serde_json::json!({"username": "ava", "password": "livecart"}))
        .send()
        .await
        .expect("sign in")
        .json()
        .await
        .expect("session");
    let token = session.access_token;
    let get = |path: String| {
        let req = http.get(path).bearer_auth(&token);
        async move {
            req.send()
                .await
                .expect("get")
                .json::<serde_json::Value>()
                .await
                .expect("json")
        }
    };
    let feed: FeedResponse =
        serde_json::from_value(get(format!("{url}/v1/feed")).await).expect("feed");
    let room = feed.rooms[1].id;
    let snap: RoomSnapshot =
        serde_json::from_value(get(format!("{url}/v1/rooms/{room}")).await).expect("snapshot");
    let gifts: GiftCatalog =
        serde_json::from_value(get(format!("{url}/v1/gifts")).await).expect("gifts");
    let heart = gifts
        .gifts
        .iter()
        .find(|g| g.name == "Heart")
        .expect("heart");
    let addresses: AddressList =
        serde_json::from_value(get(format!("{url}/v1/me/addresses")).await).expect("addresses");
    let (product, sku) = snap
        .products
        .iter()
        .flat_map(|p| p.skus.iter().map(move |s| (p, s)))
        .min_by_key(|(_, s)| s.price.amount_minor)
        .expect("a sku");

    let book = Arc::new(Mutex::new(Book::default()));
    let acks = Arc::new(tokio::sync::Notify::new());
    let (base_tx, base_rx) = tokio::sync::watch::channel(Some(url.clone()));
    let mut workers = Vec::new();
    for w in 0..3u32 {
        let (http, token, book, acks, mut base_rx) = (
            http.clone(),
            token.clone(),
            book.clone(),
            acks.clone(),
            base_rx.clone(),
        );
        let combo = ComboId::new();
        let order = PlaceOrderRequest {
            product_id: product.id,
            sku_id: sku.id,
            quantity: 1,
            address_id: addresses.addresses[0].id,
            expected_unit_price: sku.price,
            flash_sale_id: None,
            video_delay_ms: 0,
            pin: None,
        };
        let gift = SendGiftRequest {
            gift_id: heart.id,
            count: 1,
            combo_id: combo,
        };
        workers.push(tokio::spawn(async move {
            for n in 0u32.. {
                let Some(base) = base_rx.borrow_and_update().clone() else {
                    return;
                };
                let p = if (n + w) % 4 == 0 {
                    Payment {
                        key: uuid::Uuid::now_v7().to_string(),
                        path: "/v1/orders".into(),
                        body: serde_json::to_value(&order).expect("json"),
                        gift: false,
                    }
                } else {
                    Payment {
                        key: uuid::Uuid::now_v7().to_string(),
                        path: format!("/v1/rooms/{room}/gifts"),
                        body: serde_json::to_value(&gift).expect("json"),
                        gift: true,
                    }
                };
                match send(&http, &base, &token, &p).await {
                    Outcome::Acked(id, _) => {
                        book.lock().expect("book").acked.insert(p.key, id);
                        acks.notify_one();
                    }
                    Outcome::Refused => book.lock().expect("book").refused.push(p.key),
                    Outcome::Unknown => {
                        book.lock().expect("book").pending.push(p);
                        // The server is gone: wait for it to come back.
                        if base_rx.changed().await.is_err() {
                            return;
                        }
                    }
                }
            }
        }));
    }

    let mut url = url;
    for round in 0..ROUNDS {
        // Kill after a varying number of acknowledged payments, while the
        // other workers' payments are in flight.
        let target = book.lock().expect("book").acked.len() + 3 + 2 * round;
        while book.lock().expect("book").acked.len() < target {
            tokio::time::timeout(crate::support::WAIT, acks.notified())
                .await
                .expect("payments keep being acknowledged");
        }
        // Fault injection, not synchronisation: a varying instant inside
        // the next payments (parsing, transaction, commit, response).
        let jitter = (round as u64 * 677) % 4_000;
        tokio::time::sleep(std::time::Duration::from_micros(jitter)).await;
        child.start_kill().expect("SIGKILL");
        child.wait().await.expect("killed");
        let report = ledger_check(dir.path());
        assert!(report.contains("ledger OK"), "{report}");

        let (c, u) = start(dir.path()).await;
        (child, url) = (c, u);
        settle(&http, &url, &token, &book).await;
        base_tx.send_replace(Some(url.clone()));
    }
    base_tx.send_replace(None);
    for w in workers {
        w.await.expect("worker");
    }
    settle(&http, &url, &token, &book).await;
    child.start_kill().expect("SIGKILL");
    child.wait().await.expect("killed");
    let report = ledger_check(dir.path());

    let book = std::mem::take(&mut *book.lock().expect("book"));
    assert!(book.pending.is_empty());
    let db = sqlx::SqlitePool::connect(&format!(
        "sqlite://{}",
        dir.path().join("livecart.sqlite3").display()
    ))
    .await
    .expect("open the database");
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT idempotency_key, id FROM gift_sends UNION ALL SELECT idempotency_key, id FROM orders",
    )
    .fetch_all(&db)
    .await
    .expect("payments");
    let mut stored: HashMap<String, String> = HashMap::new();
    for (key, id) in rows {
        assert!(
            stored.insert(key.clone(), id).is_none(),
            "payment {key} is stored twice"
        );
    }
    for (key, id) in &book.acked {
        assert_eq!(
            stored.get(key),
            Some(id),
            "acknowledged payment {key} is missing"
        );
    }
    assert_eq!(
        stored.len(),
        book.acked.len(),
        "every stored payment was acknowledged to the buyer"
    );
    for key in &book.refused {
        assert!(
            !stored.contains_key(key),
            "refused payment {key} was charged"
        );
    }
    let spent: i64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(cost_minor), 0) + (SELECT COALESCE(SUM(total_minor), 0) FROM orders) FROM gift_sends",
    )
    .fetch_one(&db)
    .await
    .expect("spent");
    let balance: i64 = sqlx::query_scalar(
        "SELECT a.balance_minor FROM accounts a JOIN users u ON u.id = a.owner_id \
         WHERE u.username = 'ava' AND a.kind = 'wallet'",
    )
    .fetch_one(&db)
    .await
    .expect("balance");
    assert_eq!(
        balance,
        20_000 - spent,
        "the wallet paid for exactly what was bought"
    );
    assert!(book.acked.len() >= 3 * ROUNDS, "{report}");
    assert!(
        book.retried >= ROUNDS,
        "each kill caught payments in flight ({} retried)",
        book.retried
    );
    eprintln!(
        "{} payments acknowledged ({} of them after a retry, {} of those committed before the kill), {} refused, across {ROUNDS} kills; {report}",
        book.acked.len(),
        book.retried,
        book.replayed,
        book.refused.len()
    );
}

/// What the app does after a restart: retry every unanswered payment with
/// its own key until the server gives a definitive answer.
async fn settle(http: &reqwest::Client, url: &str, token: &str, book: &Mutex<Book>) {
    let pending = std::mem::take(&mut book.lock().expect("book").pending);
    book.lock().expect("book").retried += pending.len();
    for p in pending {
        let deadline = tokio::time::Instant::now() + crate::support::WAIT;
        loop {
            match send(http, url, token, &p).await {
                Outcome::Acked(id, replayed) => {
                    let mut b = book.lock().expect("book");
                    b.acked.insert(p.key.clone(), id);
                    b.replayed += usize::from(replayed);
                    break;
                }
                Outcome::Refused => {
                    book.lock().expect("book").refused.push(p.key.clone());
                    break;
                }
                Outcome::Unknown => {
                    assert!(
                        tokio::time::Instant::now() < deadline,
                        "{} never settles",
                        p.key
                    );
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                }
            }
        }
    }
}
