//! The registry of rooms this node owns, loading them from the database, and
//! the per-room ticker that paces aggregated events: likes at most four times
//! a second, viewer counts at most once a second, flash sales ending on time.

use crate::db::{self, RoomRow, SaleRow};
use crate::live::bus::Bus;
use crate::live::room::{Room, RoomState};
use livecart_protocol::rest::{Pin, RoomStatus, RoomSummary};
use livecart_protocol::{Money, RoomId};
use sqlx::SqlitePool;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};

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
