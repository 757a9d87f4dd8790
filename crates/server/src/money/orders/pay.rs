//! The order's payment, one batch on the group-commit writer: the guarded
//! update, the payment guard, the ledger, the order and its stored answer.

use crate::error::{ApiError, ApiResult};
use crate::money::idempotency::{self, Key, KeyRecord};
use crate::money::ledger::{self, TxnKind};
use crate::state::AppState;
use axum::http::StatusCode;
use jiff::{SignedDuration, Timestamp};
use livecart_protocol::commerce::{Address, Order, OrderStatus, OrderStep, PlaceOrderRequest};
use livecart_protocol::{Money, OrderId, RoomId, UserId};
use sqlx::{QueryBuilder, Row, SqliteConnection};

/// What an order needs that its payment does not have to lock, read before
/// it queues for the writer (the writer's time per order is then only the
/// guarded writes). The price and stock read here only refuse early; the
/// payment's guarded update is what decides.
pub(super) struct Prepared {
    pub(super) sku_name: String,
    pub(super) product_name: String,
    pub(super) image_id: Option<String>,
    pub(super) room: RoomId,
    pub(super) room_title: String,
    pub(super) seller: UserId,
    pub(super) regular: Money,
    pub(super) address: Address,
    pub(super) wallet: String,
    pub(super) payable: String,
}

/// What the room is told after the commit.
pub(super) struct Priced {
    pub(super) room: RoomId,
    pub(super) stock_left: StockLeft,
}

pub(super) enum StockLeft {
    Sku(u32),
    Sale { remaining: u32, sold_out: bool },
}

/// What the payment guard's trigger says when the guarded update changed
/// nothing (migration 0005).
const GUARD_REFUSED: &str = "livecart: the guarded update changed nothing";

/// The order's transaction, a job of the group-commit writer (see its
/// contract in `writer`), as one batch of statements — one round trip to
/// SQLite's thread: [`push_guard`], a guarded update that changes nothing
/// unless stock, price and the buyer's balance all allow the order, and the
/// payment guard, which stops the batch there if it changed nothing (a
/// refusal writes nothing); then [`push_insert`]: the ledger, the order and
/// the stored response (whose `balance_after` SQLite fills in from the
/// wallet after the debit). A flash sale reads its row first (one more round
/// trip). Returns the order, its stored response, and what to tell the room.
pub(super) async fn pay(
    state: &AppState,
    tx: &mut SqliteConnection,
    buyer: UserId,
    key: &Key,
    req: &PlaceOrderRequest,
    p: Prepared,
    record: &KeyRecord,
) -> ApiResult<(Order, String, Priced)> {
    let now = Timestamp::now();
    let currency = p.regular.currency;
    let total = req
        .expected_unit_price
        .checked_mul(req.quantity)
        .map_err(|_| ApiError::BadRequest("amount out of range".into()))?;
    let wallet = p.wallet.clone();
    let room = p.room;
    let mut q = push_guard(state, tx, req, total, &p.wallet, p.regular, now).await?;
    let mut order = push_insert(&mut q, state, buyer, key, req, p, record, total, now)?;
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

/// A `flash_sales` row as the payment's guard reads it.
#[derive(sqlx::FromRow)]
struct SaleRow {
    price_minor: i64,
    currency: String,
    remaining_stock: i64,
    deadline: String,
    state: String,
}

/// The guarded update — stock (or the sale's units), price and the buyer's
/// balance, returning (units left, the balance before paying) — and the
/// payment guard that stops the batch when it changed nothing. A flash sale
/// is read first, so a sale sold out, ended or repriced is refused by name.
async fn push_guard(
    state: &AppState,
    tx: &mut SqliteConnection,
    req: &PlaceOrderRequest,
    total: Money,
    wallet: &str,
    regular: Money,
    now: Timestamp,
) -> ApiResult<QueryBuilder<'static, sqlx::Sqlite>> {
    let qty = i64::from(req.quantity);
    let unit = req.expected_unit_price;
    let mut q = QueryBuilder::new("");
    if let Some(sale_id) = req.flash_sale_id {
        let sale: Option<SaleRow> = sqlx::query_as(
            "SELECT price_minor, currency, remaining_stock, deadline, state FROM flash_sales WHERE id = ? AND sku_id = ?",
        )
        .bind(sale_id.to_string())
        .bind(req.sku_id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let SaleRow {
            price_minor: sale_price,
            currency: sale_cur,
            remaining_stock: remaining,
            deadline,
            state: sale_state,
        } = sale.ok_or(ApiError::NotFound("flash sale"))?;
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
            .push_bind(unit.currency.as_str().to_owned());
    }
    q.push(" AND (SELECT balance_minor FROM accounts WHERE id = ")
        .push_bind(wallet.to_owned())
        .push(") >= ")
        .push_bind(total.amount_minor)
        .push(" RETURNING ")
        .push(if req.flash_sale_id.is_some() {
            "remaining_stock"
        } else {
            "stock"
        })
        .push(", (SELECT balance_minor FROM accounts WHERE id = ")
        .push_bind(wallet.to_owned())
        .push(");\nINSERT INTO payment_guard (changed) VALUES (changes());\n");

    Ok(q)
}

/// The rest of the batch, run only if the guarded update changed its row:
/// the ledger's debit of the buyer's wallet, the order row and its first
/// timeline step, and the stored response. Returns the order as answered.
#[allow(clippy::too_many_arguments)] // one payment's facts, named at the one call site
fn push_insert(
    q: &mut QueryBuilder<'static, sqlx::Sqlite>,
    state: &AppState,
    buyer: UserId,
    key: &Key,
    req: &PlaceOrderRequest,
    p: Prepared,
    record: &KeyRecord,
    total: Money,
    now: Timestamp,
) -> ApiResult<Order> {
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
    let id = OrderId::new();
    let order = Order {
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
        q,
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
        .push_bind(currency.as_str().to_owned())
        .push_bind(req.flash_sale_id.map(|s| s.to_string()))
        .push_bind(address_json)
        .push("'paid'")
        .push_bind(txn.to_string())
        .push_bind(key.0.clone())
        .push_bind(now.to_string())
        .push_bind(now.to_string());
    q.push(");\n");
    crate::money::orders::tracking::push_step(q, id, OrderStatus::Paid, now, String::new());
    idempotency::push_complete_with_balance(q, record, StatusCode::CREATED, body, &wallet);

    Ok(order)
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
