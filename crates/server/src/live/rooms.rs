//! The registry of rooms this node owns, loading them from the database, and
//! the per-room ticker that paces aggregated events: likes at most four times
//! a second, viewer counts at most once a second, flash sales ending on time.

use crate::db::{self, RoomRow, SaleRow};
use crate::live::bus::Bus;
use crate::live::room::{Room, RoomState};
use crate::state::AppState;
use livecart_protocol::rest::{FlashSaleState, Pin, RoomStatus, RoomSummary};
use livecart_protocol::{Money, RoomId};
use sqlx::SqlitePool;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

#[derive(Default)]
pub struct Rooms {
    map: RwLock<HashMap<RoomId, Arc<Room>>>,
}

impl Rooms {
    pub fn get(&self, id: RoomId) -> Option<Arc<Room>> {
        self.map
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&id)
            .cloned()
    }

    pub fn insert(&self, room: Arc<Room>) {
        self.map
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(room.id, room);
    }

    pub fn all(&self) -> Vec<Arc<Room>> {
        self.map
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .values()
            .cloned()
            .collect()
    }

    /// Live rooms in feed order.
    pub fn feed(&self) -> Vec<RoomSummary> {
        let mut rooms: Vec<(i64, RoomSummary)> = self
            .all()
            .iter()
            .map(|r| (r.read(|st| st.position), r.summary()))
            .filter(|(_, s)| s.status == RoomStatus::Live)
            .collect();
        rooms.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.id.cmp(&b.1.id)));
        rooms.into_iter().map(|(_, s)| s).collect()
    }
}

/// Reads one room and everything its snapshot needs from the database.
pub async fn load_room(
    db: &SqlitePool,
    base: &str,
    bus: Arc<dyn Bus>,
    id: RoomId,
    history_len: usize,
) -> anyhow::Result<Arc<Room>> {
    let row: RoomRow = sqlx::query_as(&format!("{} WHERE r.id = ?", db::ROOM_SELECT))
        .bind(id.to_string())
        .fetch_one(db)
        .await?;
    let products = db::load_products(db, base, id).await?;
    let mut st = RoomState::new(row.summary(base)?, products, history_len);
    st.position = row.position;
    st.snap.like_count = u64::try_from(row.like_count).unwrap_or(0);
    if let (Some(p), Some(at), Some(stream)) = (
        &row.pinned_product_id,
        &row.pinned_at,
        &row.pinned_stream_time,
    ) {
        st.snap.pinned = Some(Pin {
            product_id: db::parse(p, "product id")?,
            pinned_at: db::parse(at, "time")?,
            stream_time: db::parse(stream, "time")?,
        });
    }
    let sale: Option<SaleRow> = sqlx::query_as(
        "SELECT id, product_id, sku_id, price_minor, currency, total_stock, remaining_stock, starts_at, deadline, state \
         FROM flash_sales WHERE room_id = ? AND state = 'active' ORDER BY starts_at DESC LIMIT 1",
    )
    .bind(id.to_string())
    .fetch_optional(db)
    .await?;
    if let Some(sale) = sale {
        let original = original_price(&st, &sale)?;
        st.snap.flash_sale = Some(sale.to_wire(original)?);
    }
    let mutes: Vec<(String, String)> =
        sqlx::query_as("SELECT user_id, until FROM mutes WHERE room_id = ?")
            .bind(id.to_string())
            .fetch_all(db)
            .await?;
    for (user, until) in mutes {
        st.mutes
            .insert(db::parse(&user, "user id")?, db::parse(&until, "time")?);
    }
    Ok(Room::new(id, st, bus))
}

fn original_price(st: &RoomState, sale: &SaleRow) -> anyhow::Result<Money> {
    let sku: livecart_protocol::SkuId = db::parse(&sale.sku_id, "sku id")?;
    st.snap
        .products
        .iter()
        .flat_map(|p| &p.skus)
        .find(|s| s.id == sku)
        .map(|s| s.price)
        .ok_or_else(|| anyhow::anyhow!("flash sale {} names an unknown sku", sale.id))
}

/// Loads every room that has not ended.
pub async fn load_all(state: &AppState) -> anyhow::Result<()> {
    let ids: Vec<(String,)> = sqlx::query_as("SELECT id FROM rooms WHERE status != 'ended'")
        .fetch_all(&state.db)
        .await?;
    for (id,) in ids {
        let room = load_room(
            &state.db,
            &state.base_url,
            state.bus.clone(),
            db::parse(&id, "room id")?,
            state.config.history_len,
        )
        .await?;
        state.rooms.insert(room);
    }
    Ok(())
}

/// Paces aggregated events for every room until shutdown.
pub fn spawn_ticker(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut n: u64 = 0;
        loop {
            tokio::select! {
                () = state.shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            n += 1;
            // Hourly: forget idempotency keys past their retention.
            if n % (4 * 3600) == 1 {
                match crate::money::idempotency::purge(&state).await {
                    Ok(0) => {}
                    Ok(purged) => tracing::info!(purged, "old idempotency keys forgotten"),
                    Err(e) => tracing::warn!(error = %e, "purging idempotency keys"),
                }
            }
            if n.is_multiple_of(4)
                && let Err(e) = crate::db::checkpoint(&state.db).await
            {
                tracing::warn!(error = %e, "WAL checkpoint");
            }
            if n.is_multiple_of(4) {
                // Demo streams nobody watches stop (and restart for the next viewer).
                state.streams.stop_idle(
                    std::time::Instant::now(),
                    Duration::from_secs(state.config.demo.idle_stop_secs),
                );
            }
            for room in state.rooms.all() {
                room.flush_likes();
                if n.is_multiple_of(4) {
                    room.flush_viewers();
                    let likes = room.read(|st| st.snap.like_count);
                    if let Err(e) = sqlx::query(
                        "UPDATE rooms SET like_count = ? WHERE id = ? AND like_count != ?",
                    )
                    .bind(likes as i64)
                    .bind(room.id.to_string())
                    .bind(likes as i64)
                    .execute(&state.writer)
                    .await
                    {
                        tracing::warn!(error = %e, room = %room.id, "saving like count");
                    }
                }
                let due = room.read(|st| {
                    st.snap
                        .flash_sale
                        .as_ref()
                        .filter(|s| {
                            s.state == FlashSaleState::Active
                                && s.deadline <= jiff::Timestamp::now()
                        })
                        .map(|s| s.id)
                });
                if let Some(sale) = due
                    && let Err(e) = crate::live::host::end_flash_sale(
                        &state,
                        &room,
                        sale,
                        FlashSaleState::Ended,
                    )
                    .await
                {
                    tracing::warn!(error = %e, room = %room.id, "ending flash sale");
                }
            }
        }
    })
}
