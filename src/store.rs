//! The app's local database: a cache (the last feed, the user's cached data),
//! SQLite through sqlx with migrations. It never holds tokens. A database that
//! cannot be opened or fails its integrity check is moved aside and rebuilt,
//! with one clear log line — the app starts either way.

use livecart_core::app::PendingPayment;
use livecart_core::protocol::UserId;
use livecart_core::protocol::commerce::Order;
use livecart_core::protocol::rest::FeedResponse;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions};
use std::path::{Path, PathBuf};

static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Stands for the server's base URL inside cached bodies.
const SERVER: &str = "{server}";

#[derive(Debug, Clone)]
pub struct Store {
    pool: SqlitePool,
    path: PathBuf,
}

impl Store {
    /// Opens (or creates) the database at `path`; a corrupt one is moved
    /// aside to `<name>.corrupt-<unix time>` and a fresh one is created.
    pub async fn open(path: &Path) -> anyhow::Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        match Self::try_open(path).await {
            Ok(store) => Ok(store),
            Err(e) => {
                let aside = move_aside(path)?;
                tracing::warn!(
                    "the app database {} could not be used ({e:#}); moved it to {} and started a fresh one",
                    path.display(),
                    aside.display()
                );
                Self::try_open(path).await
            }
        }
    }

    async fn try_open(path: &Path) -> anyhow::Result<Self> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal);
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(options)
            .await?;
        let check: String = sqlx::query_scalar("PRAGMA quick_check")
            .fetch_one(&pool)
            .await?;
        anyhow::ensure!(check == "ok", "integrity check failed: {check}");
        MIGRATOR.run(&pool).await?;
        Ok(Self {
            pool,
            path: path.to_owned(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The feed saved for `server` last time, with its URLs pointing at `server`.
    pub async fn load_feed(&self, key: &str, server: &str) -> anyhow::Result<Option<FeedResponse>> {
        let body: Option<String> =
            sqlx::query_scalar("SELECT body FROM feed_cache WHERE server = ?")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        body.map(|b| Ok(serde_json::from_str(&b.replace(SERVER, server))?))
            .transpose()
    }

    pub async fn save_feed(
        &self,
        key: &str,
        server: &str,
        feed: &FeedResponse,
    ) -> anyhow::Result<()> {
        let body = serde_json::to_string(feed)?.replace(server, SERVER);
        self.upsert(
            "INSERT INTO feed_cache (server, body, saved_at) VALUES (?, ?, ?)
             ON CONFLICT (server) DO UPDATE SET body = excluded.body, saved_at = excluded.saved_at",
            key,
            &body,
        )
        .await
    }

    pub async fn put_user_data(&self, key: &str, body: &str) -> anyhow::Result<()> {
        self.upsert(
            "INSERT INTO user_cache (key, body, saved_at) VALUES (?, ?, ?)
             ON CONFLICT (key) DO UPDATE SET body = excluded.body, saved_at = excluded.saved_at",
            key,
            body,
        )
        .await
    }

    /// Both cache tables are (key, body, saved_at) rows replaced whole.
    async fn upsert(&self, sql: &'static str, key: &str, body: &str) -> anyhow::Result<()> {
        sqlx::query(sql)
            .bind(key)
            .bind(body)
            .bind(jiff::Timestamp::now().to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn user_data_count(&self) -> anyhow::Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM user_cache")
            .fetch_one(&self.pool)
            .await?)
    }

    /// Sign-out: everything cached for the user goes.
    pub async fn forget_user(&self) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM user_cache")
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM orders_cache")
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Keeps `user`'s orders (replacing what was kept) for offline.
    pub async fn save_orders(
        &self,
        user: UserId,
        server: &str,
        orders: &[Order],
    ) -> anyhow::Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM orders_cache WHERE user_id = ?")
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        for o in orders {
            sqlx::query(
                "INSERT INTO orders_cache (user_id, order_id, created_at, body) VALUES (?, ?, ?, ?)",
            )
            .bind(user.to_string())
            .bind(o.id.to_string())
            .bind(o.created_at.to_string())
            .bind(serde_json::to_string(o)?.replace(server, SERVER))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The orders kept for `user`, newest first, their URLs on `server`.
    pub async fn load_orders(&self, user: UserId, server: &str) -> anyhow::Result<Vec<Order>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT body FROM orders_cache WHERE user_id = ? ORDER BY created_at DESC, order_id DESC",
        )
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|b| {
                serde_json::from_str(&b.replace(SERVER, server))
                    .inspect_err(|e| tracing::warn!("a cached order does not read: {e}"))
                    .ok()
            })
            .collect())
    }

    /// Writes a payment to the outbox (before it is sent). Saving the same
    /// key again keeps the first row: a retry is the same payment.
    pub async fn save_payment(&self, payment: &PendingPayment) -> anyhow::Result<()> {
        sqlx::query(
            "INSERT INTO payment_outbox (key, user_id, body, created_at) VALUES (?, ?, ?, ?)
             ON CONFLICT (key) DO NOTHING",
        )
        .bind(&payment.key)
        .bind(payment.user.to_string())
        .bind(serde_json::to_string(payment)?)
        .bind(jiff::Timestamp::now().to_string())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The server answered for good: the payment leaves the outbox.
    pub async fn resolve_payment(&self, key: &str) -> anyhow::Result<()> {
        sqlx::query("DELETE FROM payment_outbox WHERE key = ?")
            .bind(key)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// `user`'s unresolved payments, oldest first. A row that no longer
    /// reads (an older app's format) is logged and left alone.
    pub async fn load_payments(&self, user: UserId) -> anyhow::Result<Vec<PendingPayment>> {
        let rows: Vec<(String, String)> = sqlx::query_as(
            "SELECT key, body FROM payment_outbox WHERE user_id = ? ORDER BY created_at, key",
        )
        .bind(user.to_string())
        .fetch_all(&self.pool)
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|(key, body)| {
                serde_json::from_str(&body)
                    .inspect_err(|e| tracing::warn!(%key, "an outbox payment does not read: {e}"))
                    .ok()
            })
            .collect())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// Renames the database and its WAL files out of the way; returns the new name.
fn move_aside(path: &Path) -> std::io::Result<PathBuf> {
    let stamp = jiff::Timestamp::now().as_second();
    let aside = path.with_extension(format!("sqlite3.corrupt-{stamp}"));
    if path.exists() {
        std::fs::rename(path, &aside)?;
    }
    for ext in ["-wal", "-shm"] {
        let mut side = path.as_os_str().to_owned();
        side.push(ext);
        let side = PathBuf::from(side);
        if side.exists() {
            let mut to = aside.as_os_str().to_owned();
            to.push(ext);
            std::fs::rename(&side, PathBuf::from(to))?;
        }
    }
    Ok(aside)
}
