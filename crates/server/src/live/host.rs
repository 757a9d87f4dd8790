//! Host operations: create, start and end rooms, fill their product bags, pin
//! products, run flash sales, moderate chat. The REST host API and the demo
//! world's scripted hosts both go through these functions, so a scripted
//! show exercises exactly what a real host's tools do.
//!
//! Every change is written to the database first, then published to the room,
//! so a snapshot taken after a crash never shows what was not stored.
//!
//! Size: the host's whole tool set behind one set of rules (write first, then
//! publish); each operation is short.

use crate::auth::HostCaller;
use crate::db::{self, sale_state_str, status_str};
use crate::error::{ApiError, ApiResult};
use crate::live::room::Room;
use crate::live::rooms;
use crate::rules;
use crate::state::AppState;
use jiff::{SignedDuration, Timestamp};
use livecart_protocol::live::FlashSalePhase;
use livecart_protocol::rest::{
    AddProductRequest, CreateRoomRequest, FlashSale, FlashSaleState, MuteRequest, Pin, PinRequest,
    Product, Role, RoomStatus, RoomSummary, StartFlashSaleRequest, UnpinRequest,
};
use livecart_protocol::{FlashSaleId, MessageId, ProductId, RoomEvent, RoomId, SkuId, UserId};
use std::sync::Arc;

/// The room, if the caller may manage it. Someone else's room is "not found":
/// its existence is not the caller's business.
pub fn authorize(state: &AppState, caller: &HostCaller, room: RoomId) -> ApiResult<Arc<Room>> {
    let r = state.rooms.get(room).ok_or(ApiError::NotFound("room"))?;
    match caller {
        HostCaller::Admin => Ok(r),
        HostCaller::Host(c) if r.read(|st| st.snap.room.host.id) == c.sub => Ok(r),
        HostCaller::Host(_) => Err(ApiError::NotFound("room")),
    }
}

pub async fn create_room(
    state: &AppState,
    caller: &HostCaller,
    req: CreateRoomRequest,
) -> ApiResult<RoomSummary> {
    let host = match (caller, req.host_id) {
        (HostCaller::Host(c), None) => c.sub,
        (HostCaller::Host(c), Some(h)) if h == c.sub => c.sub,
        (HostCaller::Host(_), Some(_)) => {
            return Err(ApiError::Forbidden("hosts create rooms for themselves"));
        }
        (HostCaller::Admin, Some(h)) => h,
        (HostCaller::Admin, None) => {
            return Err(ApiError::BadRequest(
                "admins must name the room's host_id".into(),
            ));
        }
    };
    let title = rules::text("title", &req.title, rules::TITLE_CHARS, true)?;
    let category = rules::text(
        "category",
        req.category.as_deref().unwrap_or("other"),
        rules::CATEGORY_CHARS,
        true,
    )?;
    if req.stream_urls.len() > rules::STREAM_URLS {
        return Err(ApiError::BadRequest(format!(
            "a room has at most {} stream URLs",
            rules::STREAM_URLS
        )));
    }
    // Every viewer's player opens these: nothing pointing into our network.
    for url in &req.stream_urls {
        rules::stream_url(url, state.config.allow_private_stream_urls)?;
    }
    let open: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM rooms WHERE host_id = ? AND status != 'ended'")
            .bind(host.to_string())
            .fetch_one(&state.db)
            .await?;
    if open >= rules::ROOMS_PER_HOST {
        return Err(ApiError::Conflict(format!(
            "this host has {open} rooms that have not ended, the most allowed; end one first"
        )));
    }
    let role: Option<(String,)> = sqlx::query_as("SELECT role FROM users WHERE id = ?")
        .bind(host.to_string())
        .fetch_optional(&state.db)
        .await?;
    match role.as_ref().map(|r| r.0.as_str()) {
        Some("host" | "admin") => {}
        Some(_) => return Err(ApiError::BadRequest("that user is not a host".into())),
        None => return Err(ApiError::NotFound("host")),
    }
    let id = RoomId::new();
    let position: (i64,) = sqlx::query_as("SELECT COALESCE(MAX(position), 0) + 1 FROM rooms")
        .fetch_one(&state.db)
        .await?;
    sqlx::query(
        "INSERT INTO rooms (id, host_id, title, category, stream_urls, status, position, created_at) \
         VALUES (?, ?, ?, ?, ?, 'scheduled', ?, ?)",
    )
    .bind(id.to_string())
    .bind(host.to_string())
    .bind(&title)
    .bind(&category)
    .bind(serde_json::to_string(&req.stream_urls).map_err(anyhow::Error::from)?)
    .bind(position.0)
    .bind(Timestamp::now().to_string())
    .execute(&state.writer)
    .await?;
    let room = rooms::load_room(
        &state.db,
        &state.base_url,
        state.bus.clone(),
        id,
        state.config.history_len,
    )
    .await?;
    let summary = room.summary();
    state.rooms.insert(room);
    tracing::info!(room = %id, %host, "room created");
    Ok(summary)
}

pub async fn set_status(
    state: &AppState,
    caller: &HostCaller,
    room: RoomId,
    status: RoomStatus,
) -> ApiResult<RoomSummary> {
    let r = authorize(state, caller, room)?;
    let _serial = r.write_guard().await;
    let current = r.read(|st| st.snap.room.status);
    match (current, status) {
        (RoomStatus::Ended, _) => return Err(ApiError::Conflict("the room has ended".into())),
        (a, b) if a == b => return Ok(r.summary()),
        _ => {}
    }
    sqlx::query("UPDATE rooms SET status = ? WHERE id = ?")
        .bind(status_str(status))
        .bind(room.to_string())
        .execute(&state.writer)
        .await?;
    r.publish(RoomEvent::Status { status });
    Ok(r.summary())
}

pub async fn add_product(
    state: &AppState,
    caller: &HostCaller,
    room: RoomId,
    req: AddProductRequest,
) -> ApiResult<Product> {
    let r = authorize(state, caller, room)?;
    let _serial = r.write_guard().await;
    let name = rules::text("name", &req.name, rules::PRODUCT_NAME_CHARS, true)?;
    let description = rules::text(
        "description",
        &req.description,
        rules::DESCRIPTION_CHARS,
        false,
    )?;
    if req.skus.is_empty() || req.skus.len() > rules::SKUS_PER_PRODUCT {
        return Err(ApiError::BadRequest(format!(
            "a product has 1 to {} SKUs",
            rules::SKUS_PER_PRODUCT
        )));
    }
    let mut sku_names = Vec::with_capacity(req.skus.len());
    for sku in &req.skus {
        sku_names.push(rules::text(
            "SKU name",
            &sku.name,
            rules::SKU_NAME_CHARS,
            true,
        )?);
        rules::price("a SKU's price", &sku.price)?;
    }
    let id = ProductId::new();
    let mut tx = state.writer.begin_with("BEGIN IMMEDIATE").await?;
    let pos: (i64,) = sqlx::query_as("SELECT COUNT(*) FROM products WHERE room_id = ?")
        .bind(room.to_string())
        .fetch_one(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO products (id, room_id, name, description, position) VALUES (?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(room.to_string())
    .bind(&name)
    .bind(&description)
    .bind(pos.0)
    .execute(&mut *tx)
    .await?;
    for (i, (sku, sku_name)) in req.skus.iter().zip(&sku_names).enumerate() {
        sqlx::query("INSERT INTO skus (id, product_id, name, price_minor, currency, stock, position) VALUES (?, ?, ?, ?, ?, ?, ?)")
            .bind(SkuId::new().to_string())
            .bind(id.to_string())
            .bind(sku_name)
            .bind(sku.price.amount_minor)
            .bind(sku.price.currency.as_str())
            .bind(i64::from(sku.stock))
            .bind(i as i64)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    let products = db::load_products(&state.db, &state.base_url, room).await?;
    let product = products
        .iter()
        .find(|p| p.id == id)
        .cloned()
        .ok_or(ApiError::NotFound("product"))?;
    r.write(|st| st.snap.products = products);
    Ok(product)
}

pub async fn pin(
    state: &AppState,
    caller: &HostCaller,
    room: RoomId,
    req: PinRequest,
) -> ApiResult<Pin> {
    let r = authorize(state, caller, room)?;
    let _serial = r.write_guard().await;
    if !r.read(|st| st.snap.products.iter().any(|p| p.id == req.product_id)) {
        return Err(ApiError::NotFound("product"));
    }
    let now = Timestamp::now();
    let pin = Pin {
        product_id: req.product_id,
        pinned_at: now,
        stream_time: req.stream_time.unwrap_or(now),
    };
    sqlx::query("UPDATE rooms SET pinned_product_id = ?, pinned_at = ?, pinned_stream_time = ? WHERE id = ?")
        .bind(pin.product_id.to_string())
        .bind(pin.pinned_at.to_string())
        .bind(pin.stream_time.to_string())
        .bind(room.to_string())
        .execute(&state.writer)
        .await?;
    r.publish(RoomEvent::Pin { pin: pin.clone() });
    Ok(pin)
}

pub async fn unpin(
    state: &AppState,
    caller: &HostCaller,
    room: RoomId,
    req: UnpinRequest,
) -> ApiResult<()> {
    let r = authorize(state, caller, room)?;
    let _serial = r.write_guard().await;
    let Some(product_id) = r.read(|st| st.snap.pinned.as_ref().map(|p| p.product_id)) else {
        return Ok(());
    };
    let now = Timestamp::now();
    sqlx::query("UPDATE rooms SET pinned_product_id = NULL, pinned_at = NULL, pinned_stream_time = NULL WHERE id = ?")
        .bind(room.to_string())
        .execute(&state.writer)
        .await?;
    r.publish(RoomEvent::Unpin {
        product_id,
        unpinned_at: now,
        stream_time: req.stream_time.unwrap_or(now),
    });
    Ok(())
}

pub async fn start_flash_sale(
    state: &AppState,
    caller: &HostCaller,
    room: RoomId,
    req: StartFlashSaleRequest,
) -> ApiResult<FlashSale> {
    let r = authorize(state, caller, room)?;
    let _serial = r.write_guard().await;
    if r.read(|st| {
        st.snap
            .flash_sale
            .as_ref()
            .is_some_and(|s| s.state == FlashSaleState::Active)
    }) {
        return Err(ApiError::Conflict(
            "a flash sale is already running in this room".into(),
        ));
    }
    let original = r
        .read(|st| {
            st.snap
                .products
                .iter()
                .filter(|p| p.id == req.product_id)
                .flat_map(|p| &p.skus)
                .find(|s| s.id == req.sku_id)
                .map(|s| s.price)
        })
        .ok_or(ApiError::NotFound("sku"))?;
    if req.price.currency != original.currency || req.price.amount_minor <= 0 {
        return Err(ApiError::BadRequest(format!(
            "the sale price must be an amount above zero in {}",
            original.currency
        )));
    }
    if req.stock == 0 || !(5..=3600).contains(&req.duration_s) {
        return Err(ApiError::BadRequest(
            "a flash sale needs stock and lasts 5 to 3600 s".into(),
        ));
    }
    let now = Timestamp::now();
    let sale = FlashSale {
        id: FlashSaleId::new(),
        product_id: req.product_id,
        sku_id: req.sku_id,
        price: req.price,
        original_price: original,
        total_stock: req.stock,
        remaining_stock: req.stock,
        starts_at: now,
        deadline: now + SignedDuration::from_secs(i64::from(req.duration_s)),
        state: FlashSaleState::Active,
    };
    sqlx::query(
        "INSERT INTO flash_sales (id, room_id, product_id, sku_id, price_minor, currency, total_stock, remaining_stock, starts_at, deadline, state) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'active')",
    )
    .bind(sale.id.to_string())
    .bind(room.to_string())
    .bind(sale.product_id.to_string())
    .bind(sale.sku_id.to_string())
    .bind(sale.price.amount_minor)
    .bind(sale.price.currency.as_str())
    .bind(i64::from(sale.total_stock))
    .bind(i64::from(sale.remaining_stock))
    .bind(sale.starts_at.to_string())
    .bind(sale.deadline.to_string())
    .execute(&state.writer)
    .await?;
    r.publish(RoomEvent::FlashSale {
        phase: FlashSalePhase::Started,
        sale: sale.clone(),
    });
    Ok(sale)
}

/// Takes `qty` of a SKU's stock (a sale outside a flash sale). The guarded
/// `UPDATE` makes overselling impossible however many buyers race; the
/// schema's `CHECK (stock >= 0)` backs it up.
pub async fn take_stock(
    state: &AppState,
    room: &Room,
    product_id: ProductId,
    sku_id: SkuId,
    qty: u32,
) -> ApiResult<u32> {
    if qty == 0 {
        return Err(ApiError::BadRequest("quantity must be at least 1".into()));
    }
    let _serial = room.write_guard().await;
    let left: Option<(i64,)> = sqlx::query_as(
        "UPDATE skus SET stock = stock - ? WHERE id = ? AND product_id = ? AND stock >= ? RETURNING stock",
    )
    .bind(i64::from(qty))
    .bind(sku_id.to_string())
    .bind(product_id.to_string())
    .bind(i64::from(qty))
    .fetch_optional(&state.db)
    .await?;
    let Some((left,)) = left else {
        return Err(ApiError::Conflict("not enough stock left".into()));
    };
    let stock = u32::try_from(left).unwrap_or(0);
    room.publish(RoomEvent::Stock {
        product_id,
        sku_id,
        stock,
    });
    Ok(stock)
}

/// Takes `qty` from an active sale's stock, atomically in the database (it
/// refuses to go below zero); ends the sale as sold out at zero.
pub async fn take_flash_stock(
    state: &AppState,
    room: &Room,
    sale_id: FlashSaleId,
    qty: u32,
) -> ApiResult<FlashSale> {
    let _serial = room.write_guard().await;
    let now = Timestamp::now().to_string();
    let done = sqlx::query(
        "UPDATE flash_sales SET remaining_stock = remaining_stock - ? \
         WHERE id = ? AND state = 'active' AND remaining_stock >= ? AND deadline > ?",
    )
    .bind(i64::from(qty))
    .bind(sale_id.to_string())
    .bind(i64::from(qty))
    .bind(&now)
    .execute(&state.writer)
    .await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::Conflict(
            "the flash sale has ended or has too little stock left".into(),
        ));
    }
    let (remaining,): (i64,) =
        sqlx::query_as("SELECT remaining_stock FROM flash_sales WHERE id = ?")
            .bind(sale_id.to_string())
            .fetch_one(&state.db)
            .await?;
    let mut sale = room
        .read(|st| st.snap.flash_sale.clone())
        .filter(|s| s.id == sale_id)
        .ok_or(ApiError::NotFound("flash sale"))?;
    sale.remaining_stock = u32::try_from(remaining).unwrap_or(0);
    if sale.remaining_stock == 0 {
        return end_flash_sale_serial(state, room, sale_id, FlashSaleState::SoldOut).await;
    }
    room.publish(RoomEvent::FlashSale {
        phase: FlashSalePhase::Stock,
        sale: sale.clone(),
    });
    Ok(sale)
}

pub async fn end_flash_sale(
    state: &AppState,
    room: &Room,
    sale_id: FlashSaleId,
    end: FlashSaleState,
) -> ApiResult<FlashSale> {
    let _serial = room.write_guard().await;
    end_flash_sale_serial(state, room, sale_id, end).await
}

/// `end_flash_sale` for callers already holding the room's write guard.
async fn end_flash_sale_serial(
    state: &AppState,
    room: &Room,
    sale_id: FlashSaleId,
    end: FlashSaleState,
) -> ApiResult<FlashSale> {
    let done = sqlx::query("UPDATE flash_sales SET state = ? WHERE id = ? AND state = 'active'")
        .bind(sale_state_str(end))
        .bind(sale_id.to_string())
        .execute(&state.writer)
        .await?;
    let mut sale = room
        .read(|st| st.snap.flash_sale.clone())
        .filter(|s| s.id == sale_id)
        .ok_or(ApiError::NotFound("flash sale"))?;
    if done.rows_affected() == 0 {
        return Ok(sale);
    }
    if end == FlashSaleState::SoldOut {
        sale.remaining_stock = 0;
    }
    sale.state = end;
    room.publish(RoomEvent::FlashSale {
        phase: FlashSalePhase::Ended,
        sale: sale.clone(),
    });
    Ok(sale)
}

pub async fn mute(
    state: &AppState,
    caller: &HostCaller,
    room: RoomId,
    req: MuteRequest,
) -> ApiResult<Timestamp> {
    let r = authorize(state, caller, room)?;
    if req.duration_s == 0 || req.duration_s > 30 * 24 * 3600 {
        return Err(ApiError::BadRequest("mute for 1 s to 30 days".into()));
    }
    let until = Timestamp::now() + SignedDuration::from_secs(i64::from(req.duration_s));
    sqlx::query("INSERT INTO mutes (room_id, user_id, until) VALUES (?, ?, ?) ON CONFLICT(room_id, user_id) DO UPDATE SET until = excluded.until")
        .bind(room.to_string())
        .bind(req.user_id.to_string())
        .bind(until.to_string())
        .execute(&state.writer)
        .await?;
    r.write(|st| st.mutes.insert(req.user_id, until));
    Ok(until)
}

pub fn remove_message(
    state: &AppState,
    caller: &HostCaller,
    room: RoomId,
    message_id: MessageId,
) -> ApiResult<()> {
    let r = authorize(state, caller, room)?;
    r.publish(RoomEvent::ChatRemoved { message_id });
    Ok(())
}

pub fn notice(state: &AppState, caller: &HostCaller, room: RoomId, text: &str) -> ApiResult<()> {
    let r = authorize(state, caller, room)?;
    let text = crate::live::chat::sanitize(text);
    if text.is_empty() || text.chars().count() > 280 {
        return Err(ApiError::BadRequest(
            "a notice is 1 to 280 characters".into(),
        ));
    }
    r.publish(RoomEvent::Notice { text });
    Ok(())
}

/// A demo fan's gift (admin only): published like the bots' gifts.
#[cfg(feature = "demo")]
pub async fn demo_gift(
    state: &AppState,
    caller: &HostCaller,
    room: RoomId,
    req: livecart_protocol::rest::DemoGiftRequest,
) -> ApiResult<()> {
    if !matches!(caller, HostCaller::Admin) {
        return Err(ApiError::Forbidden("demo gifts are for the admin"));
    }
    let r = authorize(state, caller, room)?;
    let row: Option<(String, i64)> = sqlx::query_as("SELECT id, coins FROM gifts WHERE name = ?")
        .bind(&req.gift)
        .fetch_optional(&state.db)
        .await?;
    let (id, coins) = row.ok_or(ApiError::NotFound("gift"))?;
    let sender = crate::live::chat::sanitize(&req.sender);
    if sender.is_empty() || sender.chars().count() > 40 {
        return Err(ApiError::BadRequest(
            "a sender is 1 to 40 characters".into(),
        ));
    }
    r.publish(RoomEvent::Gift(livecart_protocol::GiftEvent {
        gift_id: db::parse(&id, "gift id")?,
        gift_name: req.gift,
        coins: u32::try_from(coins).unwrap_or(u32::MAX),
        sender: livecart_protocol::rest::UserRef {
            id: livecart_protocol::UserId::new(),
            name: sender,
        },
        count: 1,
        combo_id: livecart_protocol::ComboId::new(),
        combo_count: 1,
    }));
    Ok(())
}

/// The host's own rooms (all rooms for the admin).
pub fn list(state: &AppState, caller: &HostCaller) -> Vec<RoomSummary> {
    let mut rooms: Vec<RoomSummary> = state
        .rooms
        .all()
        .iter()
        .map(|r| r.summary())
        .filter(|s| match caller {
            HostCaller::Admin => true,
            HostCaller::Host(c) => s.host.id == c.sub,
        })
        .collect();
    rooms.sort_by_key(|s| s.id);
    rooms
}

/// A caller acting as a given host, for in-process scripts.
#[cfg_attr(not(feature = "demo"), allow(dead_code))] // the demo scripts' caller
pub fn as_host(id: UserId, name: &str) -> HostCaller {
    HostCaller::Host(crate::auth::Claims {
        sub: id,
        name: name.to_owned(),
        role: Role::Host,
        exp: i64::MAX,
        sid: None,
    })
}
