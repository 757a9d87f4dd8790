//! Addresses and orders.
//!
//! - `GET /v1/me/addresses`, `POST` a new one, `PUT`/`DELETE
//!   /v1/me/addresses/{id}`: the caller's own only; anyone else's is 404.
//! - `POST /v1/orders` (Idempotency-Key) → 201 with the paid order. In one
//!   transaction: the server's price (409 `price_changed` if the buyer saw
//!   another), the stock (a guarded decrement: 409 `out_of_stock`, never
//!   oversold), the wallet (402 `insufficient_funds`), the ledger (buyer's
//!   wallet → the seller's payable), the order row and the stored response.
//! - Flash sales: a tap made before the deadline as the buyer saw it — the
//!   request says how far behind live the buyer's video was — is honoured up
//!   to `flash_grace_ms` (≤ 3 s) after the deadline; later, 409 `sale_ended`.
//! - `GET /v1/orders`, `GET /v1/orders/{id}`: the caller's own only.

pub mod tracking;

use crate::auth::SignedIn;
use crate::error::{ApiError, ApiResult};
use crate::http::{Body, PathId};
use crate::money::idempotency::{self, Claim, Key, KeyRecord};
use crate::money::ledger::{self, AccountKind, TxnKind};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use livecart_protocol::commerce::{
    Address, AddressList, NewAddress, Order, OrderStatus, OrderStep, PlaceOrderRequest,
};
use livecart_protocol::live::FlashSalePhase;
use livecart_protocol::rest::FlashSaleState;
use livecart_protocol::{
    AddressId, Currency, FlashSaleId, Money, OrderId, RoomEvent, RoomId, UserId,
};
use sqlx::{QueryBuilder, Row, SqliteConnection};
use std::collections::HashMap;
use std::sync::Mutex;

// ---- addresses ----

type AddressRow = (
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    String,
    bool,
);

const ADDRESS_SELECT: &str = "SELECT id, name, line1, line2, city, region, postal_code, country, phone, is_default FROM addresses";

fn address_from_row(r: AddressRow) -> anyhow::Result<Address> {
    Ok(Address {
        id: crate::db::parse(&r.0, "address id")?,
        name: r.1,
        line1: r.2,
        line2: r.3,
        city: r.4,
        region: r.5,
        postal_code: r.6,
        country: r.7,
        phone: r.8,
        is_default: r.9,
    })
}

/// The address as it will be kept: every field trimmed and checked (no
/// control characters, at most 200 characters), the country a real ISO
/// 3166-1 code.
fn validate(a: &NewAddress) -> ApiResult<NewAddress> {
    use crate::rules::{ADDRESS_FIELD_CHARS as MAX, text};
    Ok(NewAddress {
        name: text("name", &a.name, MAX, true)?,
        line1: text("line1", &a.line1, MAX, true)?,
        line2: text("line2", &a.line2, MAX, false)?,
        city: text("city", &a.city, MAX, true)?,
        region: text("region", &a.region, MAX, false)?,
        postal_code: text("postal_code", &a.postal_code, MAX, true)?,
        country: crate::rules::country(&a.country)?,
        phone: text("phone", &a.phone, MAX, true)?,
        ..a.clone()
    })
}

pub async fn list_addresses(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
) -> ApiResult<Json<AddressList>> {
    let rows: Vec<AddressRow> = sqlx::query_as(&format!(
        "{ADDRESS_SELECT} WHERE user_id = ? AND deleted = 0 ORDER BY is_default DESC, created_at DESC"
    ))
    .bind(me.sub.to_string())
    .fetch_all(&state.db)
    .await?;
    Ok(Json(AddressList {
        addresses: rows
            .into_iter()
            .map(address_from_row)
            .collect::<anyhow::Result<_>>()?,
    }))
}

/// Writes an address for `user` (new, or replacing `id`), keeping exactly
/// one default: a new default unseats the old one, and a user's first
/// address is the default.
pub async fn save_address(
    conn: &mut SqliteConnection,
    user: UserId,
    id: AddressId,
    a: &NewAddress,
    replace: bool,
) -> ApiResult<Address> {
    let has_default: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM addresses WHERE user_id = ? AND is_default = 1 AND deleted = 0 AND id != ?)",
    )
    .bind(user.to_string())
    .bind(id.to_string())
    .fetch_one(&mut *conn)
    .await?;
    let is_default = a.is_default || !has_default;
    if is_default {
        sqlx::query("UPDATE addresses SET is_default = 0 WHERE user_id = ? AND is_default = 1")
            .bind(user.to_string())
            .execute(&mut *conn)
            .await?;
    }
    if replace {
        let done = sqlx::query(
            "UPDATE addresses SET name = ?, line1 = ?, line2 = ?, city = ?, region = ?, postal_code = ?, \
             country = ?, phone = ?, is_default = ? WHERE id = ? AND user_id = ? AND deleted = 0",
        )
        .bind(&a.name)
        .bind(&a.line1)
        .bind(&a.line2)
        .bind(&a.city)
        .bind(&a.region)
        .bind(&a.postal_code)
        .bind(&a.country)
        .bind(&a.phone)
        .bind(is_default)
        .bind(id.to_string())
        .bind(user.to_string())
        .execute(&mut *conn)
        .await?;
        if done.rows_affected() == 0 {
            return Err(ApiError::NotFound("address"));
        }
    } else {
        sqlx::query(
            "INSERT INTO addresses (id, user_id, name, line1, line2, city, region, postal_code, country, phone, is_default, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(user.to_string())
        .bind(&a.name)
        .bind(&a.line1)
        .bind(&a.line2)
        .bind(&a.city)
        .bind(&a.region)
        .bind(&a.postal_code)
        .bind(&a.country)
        .bind(&a.phone)
        .bind(is_default)
        .bind(Timestamp::now().to_string())
        .execute(&mut *conn)
        .await?;
    }
    Ok(Address {
        id,
        name: a.name.clone(),
        line1: a.line1.clone(),
        line2: a.line2.clone(),
        city: a.city.clone(),
        region: a.region.clone(),
        postal_code: a.postal_code.clone(),
        country: a.country.clone(),
        phone: a.phone.clone(),
        is_default,
    })
}

pub async fn create_address(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    Body(req): Body<NewAddress>,
) -> ApiResult<(StatusCode, Json<Address>)> {
    let req = validate(&req)?;
    let mut tx = state.writer.begin_with("BEGIN IMMEDIATE").await?;
    let kept: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM addresses WHERE user_id = ? AND deleted = 0")
            .bind(me.sub.to_string())
            .fetch_one(&mut *tx)
            .await?;
    if kept >= crate::rules::ADDRESSES_PER_USER {
        return Err(ApiError::Conflict(format!(
            "you have {kept} addresses, the most an account keeps; remove one first"
        )));
    }
    let a = save_address(&mut tx, me.sub, AddressId::new(), &req, false).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(a)))
}

pub async fn update_address(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    PathId(id): PathId<AddressId>,
    Body(req): Body<NewAddress>,
) -> ApiResult<Json<Address>> {
    let req = validate(&req)?;
    let mut tx = state.writer.begin_with("BEGIN IMMEDIATE").await?;
    let a = save_address(&mut tx, me.sub, id, &req, true).await?;
    tx.commit().await?;
    Ok(Json(a))
}

pub async fn delete_address(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    PathId(id): PathId<AddressId>,
) -> ApiResult<StatusCode> {
    let mut tx = state.writer.begin_with("BEGIN IMMEDIATE").await?;
    // Soft delete: paid orders keep their own copy anyway.
    let was_default: Option<bool> = sqlx::query_scalar(
        "UPDATE addresses SET deleted = 1, is_default = 0 WHERE id = ? AND user_id = ? AND deleted = 0 \
         RETURNING (SELECT is_default FROM addresses WHERE id = ?1)",
    )
    .bind(id.to_string())
    .bind(me.sub.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(was_default) = was_default else {
        return Err(ApiError::NotFound("address"));
    };
    if was_default {
        sqlx::query(
            "UPDATE addresses SET is_default = 1 WHERE id = (SELECT id FROM addresses WHERE user_id = ? AND deleted = 0 ORDER BY created_at DESC LIMIT 1)",
        )
        .bind(me.sub.to_string())
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- orders ----

/// The payment PIN: argon2id-hashed like passwords; wrong PINs in a row lock
/// it for a while (MASVS AUTH-3 step-up for large payments).
async fn verify_pin(state: &AppState, user: UserId, pin: Option<&str>) -> ApiResult<()> {
    let money = &state.config.money;
    let max = i64::from(money.pin_max_failures.max(1));
    let now = pin_time(Timestamp::now());
    let row: Option<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT payment_pin_hash, pin_locked_until FROM users WHERE id = ?")
            .bind(user.to_string())
            .fetch_optional(&state.db)
            .await?;
    let (hash, locked) = row.ok_or(ApiError::NotFound("user"))?;
    if let Some(until) = locked.filter(|t| *t > now) {
        return Err(pin_locked(&until));
    }
    let Some(hash) = hash else {
        return Err(ApiError::pin("set a payment PIN to pay this much"));
    };
    let Some(pin) = pin.map(str::to_owned) else {
        return Err(ApiError::pin("enter your payment PIN to pay this much"));
    };
    // The try is counted before the PIN is checked, in one statement: however
    // many arrive at once, at most `pin_max_failures` are ever checked before
    // the lock (a lock that ran out starts the count again).
    let claimed: Option<(i64,)> = sqlx::query_as(
        "UPDATE users SET \
           pin_failures = CASE WHEN pin_locked_until IS NOT NULL THEN 1 ELSE pin_failures + 1 END, \
           pin_locked_until = NULL \
         WHERE id = ?1 AND (pin_locked_until IS NULL OR pin_locked_until <= ?2) \
           AND (pin_failures < ?3 OR pin_locked_until IS NOT NULL) \
         RETURNING pin_failures",
    )
    .bind(user.to_string())
    .bind(&now)
    .bind(max)
    .fetch_optional(&state.writer)
    .await?;
    let Some((attempt,)) = claimed else {
        // Locked meanwhile, or every try is already being checked.
        let until: Option<String> =
            sqlx::query_scalar("SELECT pin_locked_until FROM users WHERE id = ?")
                .bind(user.to_string())
                .fetch_one(&state.writer)
                .await?;
        return Err(until.map_or_else(
            || ApiError::PinRequired {
                detail: "too many PIN tries at once; wait a moment and try again".into(),
                attempts_left: Some(0),
            },
            |u| pin_locked(&u),
        ));
    };
    if state.guard.verify(pin, Some(hash)).await? {
        sqlx::query("UPDATE users SET pin_failures = 0 WHERE id = ? AND pin_locked_until IS NULL")
            .bind(user.to_string())
            .execute(&state.writer)
            .await?;
        return Ok(());
    }
    if attempt >= max {
        // The last try: lock. A lock already set (by another try) stays as it is.
        let until =
            pin_time(Timestamp::now() + SignedDuration::from_secs(money.pin_lock_s.cast_signed()));
        let until: String = sqlx::query_scalar(
            "UPDATE users SET pin_locked_until = COALESCE(pin_locked_until, ?2) WHERE id = ?1 \
             RETURNING pin_locked_until",
        )
        .bind(user.to_string())
        .bind(&until)
        .fetch_one(&state.writer)
        .await?;
        let ApiError::PinRequired { detail, .. } = pin_locked(&until) else {
            unreachable!("pin_locked makes a PIN refusal")
        };
        return Err(ApiError::PinRequired {
            detail: format!("that PIN is not right; {detail}"),
            attempts_left: Some(0),
        });
    }
    let left = max - attempt;
    let tries = if left == 1 { "try" } else { "tries" };
    Err(ApiError::PinRequired {
        detail: format!("that PIN is not right; {left} {tries} left"),
        attempts_left: u32::try_from(left).ok(),
    })
}

/// A time as the PIN columns hold it: fixed width, so that text order is
/// time order in the guard's comparisons.
fn pin_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The refusal while the PIN is locked until `until`.
fn pin_locked(until: &str) -> ApiError {
    let until = until
        .parse::<Timestamp>()
        .unwrap_or_else(|_| Timestamp::now());
    ApiError::PinRequired {
        detail: locked_words(until),
        attempts_left: Some(0),
    }
}

/// "…locked for 15 more minutes" (rounded up).
fn locked_words(until: Timestamp) -> String {
    let secs = (until - Timestamp::now()).get_seconds().max(0);
    let minutes = (secs + 59) / 60;
    format!(
        "too many wrong PINs: payments that need the PIN are locked for {minutes} more minute{}",
        if minutes == 1 { "" } else { "s" }
    )
}

/// Flash-sale units not yet promised, counted in memory: when 2,000 buyers
/// tap at once for 100 units, the 1,900 who cannot get one are told so at
/// once instead of queueing for the database's single writer. The database's
/// guarded decrement stays the authority (the counter only ever errs high:
/// bots and grace-period orders that bypass it make it optimistic, and a
/// failed order gives its units back), so it can never cause an oversell.
/// One process owns the SQLite file; scaled out this becomes a shared counter.
#[derive(Debug, Default)]
pub struct FlashGate(Mutex<HashMap<FlashSaleId, i64>>);

/// Units taken from the gate; given back on drop unless `keep` is called.
pub struct Reservation<'a> {
    gate: &'a FlashGate,
    sale: FlashSaleId,
    qty: i64,
    kept: bool,
}

impl FlashGate {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<FlashSaleId, i64>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Takes `qty` units, or refuses with the units left.
    pub async fn reserve<'a>(
        &'a self,
        db: &sqlx::SqlitePool,
        sale: FlashSaleId,
        qty: u32,
    ) -> ApiResult<Option<Reservation<'a>>> {
        let known = self.lock().contains_key(&sale);
        if !known {
            let left: Option<(i64, String)> =
                sqlx::query_as("SELECT remaining_stock, state FROM flash_sales WHERE id = ?")
                    .bind(sale.to_string())
                    .fetch_optional(db)
                    .await?;
            // An unknown sale is the transaction's to refuse (404).
            let Some((left, state)) = left else {
                return Ok(None);
            };
            let left = if state == "sold_out" { 0 } else { left };
            self.lock().entry(sale).or_insert(left);
        }
        let qty = i64::from(qty);
        let mut map = self.lock();
        let left = map.entry(sale).or_insert(0);
        if *left < qty {
            return Err(ApiError::OutOfStock {
                stock: u32::try_from((*left).max(0)).unwrap_or(0),
            });
        }
        *left -= qty;
        Ok(Some(Reservation {
            gate: self,
            sale,
            qty,
            kept: false,
        }))
    }
}

impl Reservation<'_> {
    pub fn keep(mut self) {
        self.kept = true;
    }
}

impl Drop for Reservation<'_> {
    fn drop(&mut self) {
        if !self.kept {
            *self.gate.lock().entry(self.sale).or_insert(0) += self.qty;
        }
    }
}

/// What the room is told after the commit.
struct Priced {
    room: RoomId,
    stock_left: StockLeft,
}

enum StockLeft {
    Sku(u32),
    Sale { remaining: u32, sold_out: bool },
}

pub async fn place_order(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    key: Key,
    Body(req): Body<PlaceOrderRequest>,
) -> ApiResult<Response> {
    if !(1..=99).contains(&req.quantity) {
        return Err(ApiError::BadRequest("quantity is 1 to 99".into()));
    }
    // The PIN authenticates the buyer; it is not a parameter of the payment:
    // a retry after an app restart (which never stores the PIN) is the same
    // request.
    let hash = idempotency::request_hash(
        "POST /v1/orders",
        &PlaceOrderRequest {
            pin: None,
            ..req.clone()
        },
    );
    let lease = idempotency::hold(&state, me.sub, &key, "POST /v1/orders", &hash)?;
    // A flash sale's gate first: when a sale sells out, the buyers it
    // refuses cost no reads (a retry of an order that went through still
    // gets that order: its key has a stored answer).
    let reservation = match req.flash_sale_id {
        Some(sale) => match state
            .flash_gate
            .reserve(&state.db, sale, req.quantity)
            .await
        {
            Ok(r) => r,
            Err(refusal) => {
                let stored = idempotency::stored(&state, me.sub, &key).await?;
                return match idempotency::settle(lease, stored)? {
                    Claim::Replay(res) => Ok(res),
                    Claim::Fresh(_) => Err(refusal),
                };
            }
        },
        None => None,
    };
    let mut reads = OrderReads::fetch(&state, me.sub, &key, &req).await?;
    let lease = match idempotency::settle(lease, reads.stored())? {
        Claim::Replay(res) => return Ok(res),
        Claim::Fresh(lease) => lease,
    };
    let result = async {
        // The step-up is decided on what the buyer saw; the transaction
        // below refuses if that is not the price.
        let seen_total = req
            .expected_unit_price
            .checked_mul(req.quantity)
            .map_err(|_| ApiError::BadRequest("amount out of range".into()))?;
        if seen_total.amount_minor >= state.config.money.pin_threshold_minor {
            verify_pin(&state, me.sub, req.pin.as_deref()).await?;
        }
        let prepared = prepare(&state, me.sub, &req, reads).await?;
        let record = lease.record();
        // Stock events go out in commit order, from the writer.
        let announced = {
            let (state, req) = (state.clone(), req.clone());
            move |(order, _, priced, _): &(Order, String, Priced, idempotency::Lease)| {
                announce(&state, &req, priced);
                state.me.publish(
                    me.sub,
                    livecart_protocol::me::MeEvent::Order {
                        order: Box::new(order.clone()),
                    },
                );
                if let Some(balance) = order.balance_after {
                    state
                        .me
                        .publish(me.sub, livecart_protocol::me::MeEvent::Wallet { balance });
                }
            }
        };
        let (st, key, rq) = (state.clone(), key.clone(), req.clone());
        // The lease rides with the payment and is let go only after the
        // commit: a retry while it waits for the writer is "still running"
        // (409), even if this request's client has gone.
        let (order, body, _, _lease) = state
            .payments
            .write(
                move |tx| {
                    Box::pin(async move {
                        let (order, body, priced) =
                            pay(&st, tx, me.sub, &key, &rq, prepared, &record).await?;
                        Ok((order, body, priced, lease))
                    })
                },
                announced,
            )
            .await?;
        if let Some(r) = reservation {
            r.keep();
        }
        ApiResult::Ok((order, body))
    }
    .await;
    let (order, body) = result?;
    tracing::info!(order = %order.id, total = %order.total, "order paid");
    Ok(idempotency::fresh_response(StatusCode::CREATED, body))
}

/// What an order needs that its payment does not have to lock, read before
/// it queues for the writer (the writer's time per order is then only the
/// guarded writes). The price and stock read here only refuse early; the
/// payment's guarded update is what decides.
struct Prepared {
    sku_name: String,
    product_name: String,
    image_id: Option<String>,
    room: RoomId,
    room_title: String,
    seller: UserId,
    regular: Money,
    address: Address,
    wallet: String,
    payable: String,
}

/// Everything an order reads before it queues for the writer, in one
/// statement (each statement is a round trip to sqlx's SQLite thread, and on
/// two busy cores the hops cost more than SQLite's work): the idempotency
/// key's stored answer, the SKU with its product and room, and the buyer's
/// address. Each part is NULL when absent — another product's SKU, another
/// user's or a deleted address read as none.
#[derive(sqlx::FromRow)]
struct OrderReads {
    key_endpoint: Option<String>,
    key_hash: Option<String>,
    key_status: Option<i64>,
    key_body: Option<String>,
    sku_name: Option<String>,
    price_minor: Option<i64>,
    currency: Option<String>,
    stock: Option<i64>,
    product_name: Option<String>,
    image_id: Option<String>,
    room_id: Option<String>,
    host_id: Option<String>,
    room_title: Option<String>,
    address_id: Option<String>,
    address_name: Option<String>,
    line1: Option<String>,
    line2: Option<String>,
    city: Option<String>,
    region: Option<String>,
    postal_code: Option<String>,
    country: Option<String>,
    phone: Option<String>,
    is_default: Option<bool>,
}

impl OrderReads {
    async fn fetch(
        state: &AppState,
        buyer: UserId,
        key: &Key,
        req: &PlaceOrderRequest,
    ) -> ApiResult<Self> {
        Ok(sqlx::query_as(
            "SELECT k.endpoint AS key_endpoint, k.request_hash AS key_hash, \
             k.response_status AS key_status, k.response_body AS key_body, \
             s.name AS sku_name, s.price_minor AS price_minor, s.currency AS currency, s.stock AS stock, \
             p.name AS product_name, p.image_id AS image_id, p.room_id AS room_id, \
             r.host_id AS host_id, r.title AS room_title, \
             a.id AS address_id, a.name AS address_name, a.line1 AS line1, a.line2 AS line2, \
             a.city AS city, a.region AS region, a.postal_code AS postal_code, \
             a.country AS country, a.phone AS phone, a.is_default AS is_default \
             FROM (SELECT 1) \
             LEFT JOIN idempotency_keys k ON k.user_id = ?1 AND k.key = ?2 \
             LEFT JOIN skus s ON s.id = ?3 \
             LEFT JOIN products p ON p.id = s.product_id AND p.id = ?4 \
             LEFT JOIN rooms r ON r.id = p.room_id \
             LEFT JOIN addresses a ON a.id = ?5 AND a.user_id = ?1 AND a.deleted = 0",
        )
        .bind(buyer.to_string())
        .bind(&key.0)
        .bind(req.sku_id.to_string())
        .bind(req.product_id.to_string())
        .bind(req.address_id.to_string())
        .fetch_one(&state.db)
        .await?)
    }

    /// The key's stored answer, if it finished before.
    fn stored(&mut self) -> Option<idempotency::Stored> {
        Some((
            self.key_endpoint.take()?,
            self.key_hash.take()?,
            self.key_status.take()?,
            self.key_body.take()?,
        ))
    }

    fn address(&mut self) -> anyhow::Result<Option<Address>> {
        let Some(id) = self.address_id.take() else {
            return Ok(None);
        };
        let field = |f: &mut Option<String>| f.take().unwrap_or_default();
        Ok(Some(address_from_row((
            id,
            field(&mut self.address_name),
            field(&mut self.line1),
            field(&mut self.line2),
            field(&mut self.city),
            field(&mut self.region),
            field(&mut self.postal_code),
            field(&mut self.country),
            field(&mut self.phone),
            self.is_default.unwrap_or(false),
        ))?))
    }
}

/// Refuses early on what [`OrderReads`] found (no product, a price that is
/// not the buyer's, too little stock, no such address of theirs); the
/// payment's guarded update is what decides.
async fn prepare(
    state: &AppState,
    buyer: UserId,
    req: &PlaceOrderRequest,
    mut r: OrderReads,
) -> ApiResult<Prepared> {
    let address = r.address()?;
    let (
        Some(sku_name),
        Some(price),
        Some(cur),
        Some(stock),
        Some(product_name),
        Some(room),
        Some(seller),
        Some(room_title),
    ) = (
        r.sku_name,
        r.price_minor,
        r.currency,
        r.stock,
        r.product_name,
        r.room_id,
        r.host_id,
        r.room_title,
    )
    else {
        return Err(ApiError::NotFound("product"));
    };
    let currency: Currency = crate::db::parse(&cur, "currency")?;
    let regular = Money::new(price, currency);
    // Bought in a live: not before it starts, not after it ends.
    let room_id: RoomId = crate::db::parse(&room, "room id")?;
    match state
        .rooms
        .get(room_id)
        .map(|r| r.read(|st| st.snap.room.status))
    {
        Some(livecart_protocol::rest::RoomStatus::Live) => {}
        Some(livecart_protocol::rest::RoomStatus::Ended) | None => {
            return Err(ApiError::Conflict(
                "this live has ended: its products can't be bought here now".into(),
            ));
        }
        Some(livecart_protocol::rest::RoomStatus::Scheduled) => {
            return Err(ApiError::Conflict(
                "this live hasn't started yet: its products can be bought once it does".into(),
            ));
        }
    }
    if req.quantity == 0 || req.expected_unit_price.amount_minor <= 0 {
        return Err(ApiError::BadRequest(
            "an order is for at least one piece at a price above zero".into(),
        ));
    }
    if req.flash_sale_id.is_none() {
        if regular != req.expected_unit_price {
            return Err(ApiError::PriceChanged { price: regular });
        }
        if stock < i64::from(req.quantity) {
            return Err(ApiError::OutOfStock {
                stock: u32::try_from(stock).unwrap_or(0),
            });
        }
    }
    let address = address.ok_or(ApiError::NotFound("address"))?;
    let seller: UserId = crate::db::parse(&seller, "host id")?;
    let account = |kind, owner| {
        state
            .accounts
            .get(&state.db, &state.writer, kind, Some(owner), currency)
    };
    Ok(Prepared {
        wallet: account(AccountKind::Wallet, buyer).await?,
        payable: account(AccountKind::MerchantPayable, seller).await?,
        room: room_id,
        room_title,
        seller,
        sku_name,
        product_name,
        image_id: r.image_id,
        regular,
        address,
    })
}

/// What the payment guard's trigger says when the guarded update changed
/// nothing (migration 0005).
const GUARD_REFUSED: &str = "livecart: the guarded update changed nothing";

/// The order's transaction, a job of the group-commit writer (see its
/// contract in `writer`), as one batch of statements — one round trip to
/// SQLite's thread: a guarded update that changes nothing unless stock,
/// price and the buyer's balance all allow the order; the payment guard,
/// which stops the batch there if it changed nothing (a refusal writes
/// nothing); then the ledger, the order and the stored response (whose
/// `balance_after` SQLite fills in from the wallet after the debit). A
/// flash sale reads its row first (one more round trip). Returns the order,
/// its stored response, and what to tell the room.
async fn pay(
    state: &AppState,
    tx: &mut SqliteConnection,
    buyer: UserId,
    key: &Key,
    req: &PlaceOrderRequest,
    p: Prepared,
    record: &KeyRecord,
) -> ApiResult<(Order, String, Priced)> {
    let now = Timestamp::now();
    let Prepared {
        sku_name,
        product_name,
        image_id,
        room,
        room_title,
        seller,
        regular,
        address,
        wallet,
        payable,
    } = p;
    let currency = regular.currency;
    let qty = i64::from(req.quantity);
    let unit = req.expected_unit_price;
    let total = unit
        .checked_mul(req.quantity)
        .map_err(|_| ApiError::BadRequest("amount out of range".into()))?;

    // The guarded update, returning (units left, the buyer's balance
    // before paying).
    let mut q = QueryBuilder::new("");
    if let Some(sale_id) = req.flash_sale_id {
        let sale: Option<(i64, String, i64, String, String)> = sqlx::query_as(
            "SELECT price_minor, currency, remaining_stock, deadline, state FROM flash_sales WHERE id = ? AND sku_id = ?",
        )
        .bind(sale_id.to_string())
        .bind(req.sku_id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let (sale_price, sale_cur, remaining, deadline, sale_state) =
            sale.ok_or(ApiError::NotFound("flash sale"))?;
        let deadline: Timestamp = crate::db::parse(&deadline, "time")?;
        // When the buyer tapped, as they saw it: now minus their video's
        // delay, bounded by the grace.
        let delay = SignedDuration::from_millis(i64::from(req.video_delay_ms))
            .min(state.config.money.grace());
        if sale_state == "sold_out" || remaining < qty {
            return Err(ApiError::OutOfStock {
                stock: u32::try_from(remaining).unwrap_or(0),
            });
        }
        if now - delay >= deadline {
            return Err(ApiError::SaleEnded { price: regular });
        }
        let sale_price = Money::new(sale_price, crate::db::parse(&sale_cur, "currency")?);
        if sale_price != unit {
            return Err(ApiError::PriceChanged { price: sale_price });
        }
        // The units were there a statement ago on this same connection, so
        // only the balance can refuse here.
        q.push("UPDATE flash_sales SET remaining_stock = remaining_stock - ")
            .push_bind(qty)
            .push(", state = CASE WHEN remaining_stock - ")
            .push_bind(qty)
            .push(" = 0 THEN 'sold_out' ELSE state END WHERE id = ")
            .push_bind(sale_id.to_string())
            .push(" AND remaining_stock >= ")
            .push_bind(qty);
    } else {
        // However many buyers race, stock never goes below zero (the
        // schema's CHECK would refuse it anyway), a price changed since the
        // buyer looked is never charged, and a balance that does not cover
        // the total changes nothing.
        q.push("UPDATE skus SET stock = stock - ")
            .push_bind(qty)
            .push(" WHERE id = ")
            .push_bind(req.sku_id.to_string())
            .push(" AND stock >= ")
            .push_bind(qty)
            .push(" AND price_minor = ")
            .push_bind(unit.amount_minor)
            .push(" AND currency = ")
            .push_bind(unit.currency.as_str());
    }
    q.push(" AND (SELECT balance_minor FROM accounts WHERE id = ")
        .push_bind(wallet.clone())
        .push(") >= ")
        .push_bind(total.amount_minor)
        .push(" RETURNING ")
        .push(if req.flash_sale_id.is_some() {
            "remaining_stock"
        } else {
            "stock"
        })
        .push(", (SELECT balance_minor FROM accounts WHERE id = ")
        .push_bind(wallet.clone())
        .push(");\nINSERT INTO payment_guard (changed) VALUES (changes());\n");

    // The rest of the batch runs only if the update changed the row.
    let id = OrderId::new();
    let mut order = Order {
        id,
        status: OrderStatus::Paid,
        room_id: room,
        room_title,
        product_id: req.product_id,
        sku_id: req.sku_id,
        product_name,
        sku_name,
        image: crate::db::image_or_placeholder(&state.base_url, image_id.as_deref())?,
        quantity: req.quantity,
        unit_price: unit,
        total,
        flash_sale_id: req.flash_sale_id,
        address,
        created_at: now,
        timeline: vec![OrderStep {
            status: OrderStatus::Paid,
            at: now,
            note: String::new(),
        }],
        refund_reason: None,
        // Filled in by SQLite from the wallet after the debit (below).
        balance_after: Some(Money::new(0, currency)),
    };
    let body = serde_json::to_string(&order).map_err(anyhow::Error::from)?;
    let address_json = serde_json::to_string(&order.address).map_err(anyhow::Error::from)?;
    let txn = ledger::push_post(
        &mut q,
        TxnKind::Order,
        Some(id.0),
        &format!(
            "Order: {} · {} × {}",
            order.product_name, order.sku_name, req.quantity
        ),
        &[
            (&wallet, -total.amount_minor),
            (&payable, total.amount_minor),
        ],
    )?;
    q.push(
        "INSERT INTO orders (id, buyer_id, seller_id, room_id, room_title, product_id, sku_id, product_name, sku_name, image_id, \
         quantity, unit_price_minor, total_minor, currency, flash_sale_id, address_json, status, txn_id, \
         idempotency_key, created_at, updated_at) VALUES (",
    );
    let mut values = q.separated(", ");
    values
        .push_bind(id.to_string())
        .push_bind(buyer.to_string())
        .push_bind(seller.to_string())
        .push_bind(room.to_string())
        .push_bind(order.room_title.clone())
        .push_bind(req.product_id.to_string())
        .push_bind(req.sku_id.to_string())
        .push_bind(order.product_name.clone())
        .push_bind(order.sku_name.clone())
        .push_bind(image_id)
        .push_bind(qty)
        .push_bind(unit.amount_minor)
        .push_bind(total.amount_minor)
        .push_bind(currency.as_str())
        .push_bind(req.flash_sale_id.map(|s| s.to_string()))
        .push_bind(address_json)
        .push("'paid'")
        .push_bind(txn.to_string())
        .push_bind(key.0.clone())
        .push_bind(now.to_string())
        .push_bind(now.to_string());
    q.push(");\n");
    crate::money::orders::tracking::push_step(&mut q, id, OrderStatus::Paid, now, String::new());
    idempotency::push_complete_with_balance(&mut q, record, StatusCode::CREATED, body, &wallet);

    let rows = match q.build().fetch_all(&mut *tx).await {
        Ok(rows) => rows,
        Err(sqlx::Error::Database(e)) if e.message().contains(GUARD_REFUSED) => {
            return Err(refused(tx, req, total, &wallet).await?);
        }
        Err(e) => return Err(e.into()),
    };
    // (units left, balance before), the two entries' balances after, the
    // stored response.
    let (Some(guarded), Some(debited), Some(stored)) = (rows.first(), rows.get(1), rows.get(3))
    else {
        return Err(anyhow::anyhow!("the order's batch returned {} rows", rows.len()).into());
    };
    let (left, balance): (i64, i64) = (guarded.try_get(0)?, guarded.try_get(1)?);
    let after: i64 = debited.try_get(0)?;
    let body: String = stored.try_get(0)?;
    if rows.len() != 4 || after != balance - total.amount_minor {
        return Err(anyhow::anyhow!(
            "the ledger disagrees with the guarded balance: {balance} - {} -> {after} ({} rows)",
            total.amount_minor,
            rows.len()
        )
        .into());
    }
    order.balance_after = Some(Money::new(after, currency));
    let stock_left = if req.flash_sale_id.is_some() {
        StockLeft::Sale {
            remaining: u32::try_from(left).unwrap_or(0),
            sold_out: left == 0,
        }
    } else {
        StockLeft::Sku(u32::try_from(left).unwrap_or(0))
    };
    Ok((order, body, Priced { room, stock_left }))
}

/// Why the guarded update changed nothing, read on the same connection:
/// the price first, then the stock, then the balance.
async fn refused(
    tx: &mut SqliteConnection,
    req: &PlaceOrderRequest,
    total: Money,
    wallet: &str,
) -> ApiResult<ApiError> {
    let (price, cur, stock, balance): (i64, String, i64, Option<i64>) = sqlx::query_as(
        "SELECT price_minor, currency, stock, (SELECT balance_minor FROM accounts WHERE id = ?2) FROM skus WHERE id = ?1",
    )
    .bind(req.sku_id.to_string())
    .bind(wallet)
    .fetch_one(&mut *tx)
    .await?;
    let price = Money::new(price, crate::db::parse(&cur, "currency")?);
    Ok(
        if req.flash_sale_id.is_none() && price != req.expected_unit_price {
            ApiError::PriceChanged { price }
        } else if req.flash_sale_id.is_none() && stock < i64::from(req.quantity) {
            ApiError::OutOfStock {
                stock: u32::try_from(stock).unwrap_or(0),
            }
        } else {
            ApiError::InsufficientFunds {
                needed: total,
                balance: Money::new(balance.unwrap_or(0), total.currency),
            }
        },
    )
}

/// Tells the room what is left.
fn announce(state: &AppState, req: &PlaceOrderRequest, priced: &Priced) {
    let Some(room) = state.rooms.get(priced.room) else {
        return;
    };
    match priced.stock_left {
        StockLeft::Sku(stock) => {
            room.publish(RoomEvent::Stock {
                product_id: req.product_id,
                sku_id: req.sku_id,
                stock,
            });
        }
        StockLeft::Sale {
            remaining,
            sold_out,
        } => {
            // Only a sale the room still shows: a grace-period order after
            // the deadline must not bring an ended sale back on screen.
            let Some(mut sale) = room
                .read(|st| st.snap.flash_sale.clone())
                .filter(|s| Some(s.id) == req.flash_sale_id && s.state == FlashSaleState::Active)
            else {
                return;
            };
            sale.remaining_stock = remaining;
            let phase = if sold_out {
                sale.state = FlashSaleState::SoldOut;
                FlashSalePhase::Ended
            } else {
                FlashSalePhase::Stock
            };
            room.publish(RoomEvent::FlashSale { phase, sale });
        }
    }
}
