//! The SQLite store: opening it (WAL, foreign keys, migrations) and reading
//! rows into wire types. Rows hold ids and times as text; a row that does not
//! parse is a bug, reported as an internal error rather than a panic.

use crate::config::ServerConfig;
use anyhow::Context;
use livecart_protocol::rest::{
    FlashSale, FlashSaleState, HostInfo, ImageRef, Product, RoomStatus, RoomSummary, Sku,
    StreamProtocol, StreamUrl,
};
use livecart_protocol::{Currency, ImageId, Money, RoomId};
use sqlx::SqlitePool;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use std::str::FromStr;
use std::time::Duration;

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

pub async fn open(config: &ServerConfig) -> anyhow::Result<SqlitePool> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let pool = SqlitePoolOptions::new()
        .max_connections(8)
        .connect_with(options(config))
        .await
        .with_context(|| format!("opening {}", config.database_path().display()))?;
    MIGRATOR.run(&pool).await.context("running migrations")?;
    Ok(pool)
}

/// The single connection money moves through. SQLite has one writer at a
/// time anyway; queueing writers here (first come, first served) instead of
/// in SQLite's busy handler (which sleeps 1, 2, 5 … 100 ms between polls)
/// keeps checkout latency flat under contention, and it orders the events a
/// write announces (stock left) the same way as the writes themselves.
pub async fn open_writer(config: &ServerConfig) -> anyhow::Result<SqlitePool> {
    SqlitePoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(10))
        // Checkpoints run on a background connection (`checkpoint`), not in
        // the commit of whichever payment crossed 1,000 WAL pages.
        .connect_with(options(config).pragma("wal_autocheckpoint", "0"))
        .await
        .with_context(|| format!("opening {}", config.database_path().display()))
}

/// Copies the WAL back into the database without blocking the writer
/// (PASSIVE), so the WAL stays small; run every second by the ticker.
pub async fn checkpoint(db: &SqlitePool) -> anyhow::Result<()> {
    sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
        .execute(db)
        .await?;
    Ok(())
}

fn options(config: &ServerConfig) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(config.database_path())
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Normal)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(5))
}

pub fn parse<T: FromStr>(s: &str, what: &str) -> anyhow::Result<T>
where
    T::Err: std::fmt::Display,
{
    s.parse()
        .map_err(|e| anyhow::anyhow!("bad {what} {s:?} in database: {e}"))
}

pub fn image_ref(base: &str, id: ImageId) -> ImageRef {
    ImageRef {
        id,
        url: format!("{base}/v1/images/{id}.jpg"),
        thumb_url: format!("{base}/v1/images/{id}/thumb.jpg"),
    }
}

/// The image with this id, or the placeholder for none.
pub fn image_or_placeholder(base: &str, id: Option<&str>) -> anyhow::Result<ImageRef> {
    Ok(match id {
        Some(id) => image_ref(base, parse(id, "image id")?),
        None => image_ref(base, ImageId(uuid::Uuid::nil())),
    })
}

pub fn status_str(s: RoomStatus) -> &'static str {
    match s {
        RoomStatus::Scheduled => "scheduled",
        RoomStatus::Live => "live",
        RoomStatus::Ended => "ended",
    }
}

fn parse_status(s: &str) -> RoomStatus {
    match s {
        "live" => RoomStatus::Live,
        "ended" => RoomStatus::Ended,
        _ => RoomStatus::Scheduled,
    }
}

pub fn sale_state_str(s: FlashSaleState) -> &'static str {
    match s {
        FlashSaleState::Active => "active",
        FlashSaleState::SoldOut => "sold_out",
        FlashSaleState::Ended => "ended",
    }
}

#[derive(sqlx::FromRow)]
pub struct RoomRow {
    pub id: String,
    pub host_id: String,
    pub host_name: String,
    pub host_avatar: Option<String>,
    pub title: String,
    pub category: String,
    pub cover_id: Option<String>,
    pub stream_urls: String,
    pub status: String,
    pub position: i64,
    pub pinned_product_id: Option<String>,
    pub pinned_at: Option<String>,
    pub pinned_stream_time: Option<String>,
    pub like_count: i64,
}

pub const ROOM_SELECT: &str = "SELECT r.id, r.host_id, u.display_name AS host_name, u.avatar_id AS host_avatar, \
     r.title, r.category, r.cover_id, r.stream_urls, r.status, r.position, r.pinned_product_id, \
     r.pinned_at, r.pinned_stream_time, r.like_count FROM rooms r JOIN users u ON u.id = r.host_id";

impl RoomRow {
    pub fn summary(&self, base: &str) -> anyhow::Result<RoomSummary> {
        let id: RoomId = parse(&self.id, "room id")?;
        let urls: Vec<String> = serde_json::from_str(&self.stream_urls).context("stream_urls")?;
        // The host's own URLs first (the desktop player opens them directly),
        // then what this server serves: its own stream, or as the media
        // origin a relay of the host's (live/origin.rs).
        let served = urls.is_empty() || crate::live::ORIGIN;
        let mut streams: Vec<StreamUrl> = urls
            .into_iter()
            .map(|url| StreamUrl {
                protocol: StreamProtocol::detect(&url),
                url,
            })
            .collect();
        if served {
            let ws_base = base.replacen("http", "ws", 1);
            streams.extend([
                StreamUrl {
                    protocol: StreamProtocol::HttpFlv,
                    url: format!("{base}/live/{id}.flv"),
                },
                StreamUrl {
                    protocol: StreamProtocol::AccessUnits,
                    url: format!("{ws_base}/live/{id}/au"),
                },
            ]);
        }
        Ok(RoomSummary {
            id,
            title: self.title.clone(),
            category: self.category.clone(),
            host: HostInfo {
                id: parse(&self.host_id, "host id")?,
                name: self.host_name.clone(),
                avatar: image_or_placeholder(base, self.host_avatar.as_deref())?,
            },
            cover: image_or_placeholder(base, self.cover_id.as_deref())?,
            viewer_count: 0,
            streams,
            status: parse_status(&self.status),
        })
    }
}

pub async fn load_products(
    db: &SqlitePool,
    base: &str,
    room: RoomId,
) -> anyhow::Result<Vec<Product>> {
    let rows: Vec<(String, String, String, Option<String>)> = sqlx::query_as(
        "SELECT id, name, description, image_id FROM products WHERE room_id = ? ORDER BY position, id",
    )
    .bind(room.to_string())
    .fetch_all(db)
    .await?;
    let mut products = Vec::with_capacity(rows.len());
    for (id, name, description, image_id) in rows {
        let skus: Vec<(String, String, i64, String, i64)> = sqlx::query_as(
            "SELECT id, name, price_minor, currency, stock FROM skus WHERE product_id = ? ORDER BY position, id",
        )
        .bind(&id)
        .fetch_all(db)
        .await?;
        let skus = skus
            .into_iter()
            .map(|(id, name, price, cur, stock)| {
                Ok(Sku {
                    id: parse(&id, "sku id")?,
                    name,
                    price: Money::new(price, parse::<Currency>(&cur, "currency")?),
                    stock: u32::try_from(stock).unwrap_or(0),
                })
            })
            .collect::<anyhow::Result<_>>()?;
        products.push(Product {
            id: parse(&id, "product id")?,
            name,
            description,
            image: image_or_placeholder(base, image_id.as_deref())?,
            skus,
        });
    }
    Ok(products)
}

#[derive(sqlx::FromRow)]
pub struct SaleRow {
    pub id: String,
    pub product_id: String,
    pub sku_id: String,
    pub price_minor: i64,
    pub currency: String,
    pub total_stock: i64,
    pub remaining_stock: i64,
    pub starts_at: String,
    pub deadline: String,
    pub state: String,
}

impl SaleRow {
    pub fn to_wire(&self, original_price: Money) -> anyhow::Result<FlashSale> {
        Ok(FlashSale {
            id: parse(&self.id, "sale id")?,
            product_id: parse(&self.product_id, "product id")?,
            sku_id: parse(&self.sku_id, "sku id")?,
            price: Money::new(self.price_minor, parse(&self.currency, "currency")?),
            original_price,
            total_stock: u32::try_from(self.total_stock).unwrap_or(0),
            remaining_stock: u32::try_from(self.remaining_stock).unwrap_or(0),
            starts_at: parse(&self.starts_at, "time")?,
            deadline: parse(&self.deadline, "time")?,
            state: match self.state.as_str() {
                "sold_out" => FlashSaleState::SoldOut,
                "ended" => FlashSaleState::Ended,
                _ => FlashSaleState::Active,
            },
        })
    }
}
