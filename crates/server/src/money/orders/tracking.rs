//! Orders after payment: reading them with their timelines, cancelling
//! before shipping, asking for a refund after delivery, and the demo
//! fulfilment clock that moves orders along.
//!
//! - `GET /v1/orders`, `GET /v1/orders/{id}`: the caller's own only (anyone
//!   else's is 404), each with its timeline.
//! - `POST /v1/orders/{id}/cancel` (Idempotency-Key): while `paid` or
//!   `packed`; refunds the total to the wallet through the ledger (the
//!   seller's payable → the buyer's wallet) and puts the units back. Later:
//!   409 `already_shipped`.
//! - `POST /v1/orders/{id}/refund-request {reason}`: once `delivered` and
//!   within `refund_window_days`; 409 `not_delivered` /
//!   `refund_window_closed` otherwise. Asking again answers the order as it
//!   is. The demo merchant refunds after `refund_delay_ms`.
//!
//! Every change is one job of the group-commit writer, and the buyer's own
//! socket (`me_live`) is told from the writer right after the commit, so
//! the app sees the steps in the order they happened.
//!
//! Size: an order's life after payment (reads, cancel, refund, the status
//! words) as one state machine; the demo's clock lives in demo/.

use crate::auth::SignedIn;
use crate::error::{ApiError, ApiResult};
use crate::http::{Body, PathId};
use crate::money::idempotency::{self, Key};
use crate::money::ledger::{self, AccountKind, TxnKind};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use livecart_protocol::commerce::{
    Order, OrderList, OrderStatus, OrderStep, RefundReason, RefundRequest,
};
use livecart_protocol::me::MeEvent;
use livecart_protocol::{Currency, Money, OrderId, UserId};
use sqlx::{QueryBuilder, SqliteConnection};
use std::collections::HashMap;

#[derive(sqlx::FromRow)]
struct OrderRow {
    id: String,
    status: String,
    room_id: String,
    room_title: String,
    product_id: String,
    sku_id: String,
    product_name: String,
    sku_name: String,
    image_id: Option<String>,
    quantity: i64,
    unit_price_minor: i64,
    total_minor: i64,
    currency: String,
    flash_sale_id: Option<String>,
    address_json: String,
    refund_reason: Option<String>,
    created_at: String,
}

const ORDER_SELECT: &str = "SELECT id, status, room_id, room_title, product_id, sku_id, product_name, \
     sku_name, image_id, quantity, unit_price_minor, total_minor, currency, flash_sale_id, address_json, \
     refund_reason, created_at FROM orders";

fn order_from_row(base_url: &str, r: OrderRow, timeline: Vec<OrderStep>) -> anyhow::Result<Order> {
    let currency: Currency = crate::db::parse(&r.currency, "currency")?;
    Ok(Order {
        id: crate::db::parse(&r.id, "order id")?,
        status: OrderStatus::parse(&r.status),
        room_id: crate::db::parse(&r.room_id, "room id")?,
        room_title: r.room_title,
        product_id: crate::db::parse(&r.product_id, "product id")?,
        sku_id: crate::db::parse(&r.sku_id, "sku id")?,
        product_name: r.product_name,
        sku_name: r.sku_name,
        image: crate::db::image_or_placeholder(base_url, r.image_id.as_deref())?,
        quantity: u32::try_from(r.quantity).unwrap_or(0),
        unit_price: Money::new(r.unit_price_minor, currency),
        total: Money::new(r.total_minor, currency),
        flash_sale_id: r
            .flash_sale_id
            .as_deref()
            .map(|s| crate::db::parse(s, "sale id"))
            .transpose()?,
        address: serde_json::from_str(&r.address_json)?,
        created_at: crate::db::parse(&r.created_at, "time")?,
        timeline,
        refund_reason: r
            .refund_reason
            .as_deref()
            .map(|s| serde_json::from_value(serde_json::Value::String(s.to_owned())))
            .transpose()?,
        balance_after: None,
    })
}

/// A buyer's orders (newest first, at most `limit`), or the one `only`,
/// each with its timeline: two queries however many orders.
pub async fn load(
    conn: &mut SqliteConnection,
    base_url: &str,
    buyer: UserId,
    only: Option<OrderId>,
    limit: u32,
) -> anyhow::Result<Vec<Order>> {
    let rows: Vec<OrderRow> = match only {
        Some(id) => {
            sqlx::query_as(&format!("{ORDER_SELECT} WHERE id = ? AND buyer_id = ?"))
                .bind(id.to_string())
                .bind(buyer.to_string())
                .fetch_all(&mut *conn)
                .await?
        }
        None => {
            sqlx::query_as(&format!(
                "{ORDER_SELECT} WHERE buyer_id = ? ORDER BY created_at DESC, id DESC LIMIT ?"
            ))
            .bind(buyer.to_string())
            .bind(limit)
            .fetch_all(&mut *conn)
            .await?
        }
    };
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let mut q = QueryBuilder::new(
        "SELECT order_id, status, at, note FROM order_events WHERE order_id IN (",
    );
    let mut ids = q.separated(", ");
    for r in &rows {
        ids.push_bind(r.id.clone());
    }
    q.push(") ORDER BY order_id, seq");
    let steps: Vec<(String, String, String, String)> =
        q.build_query_as().fetch_all(&mut *conn).await?;
    let mut timelines: HashMap<String, Vec<OrderStep>> = HashMap::new();
    for (order, status, at, note) in steps {
        timelines.entry(order).or_default().push(OrderStep {
            status: OrderStatus::parse(&status),
            at: crate::db::parse(&at, "time")?,
            note,
        });
    }
    rows.into_iter()
        .map(|r| {
            let t = timelines.remove(&r.id).unwrap_or_default();
            order_from_row(base_url, r, t)
        })
        .collect()
}

/// One order of `buyer` as it is now (inside a writer job).
pub(crate) async fn load_one(
    conn: &mut SqliteConnection,
    state: &AppState,
    buyer: UserId,
    id: OrderId,
) -> ApiResult<Order> {
    load(conn, &state.base_url, buyer, Some(id), 1)
        .await?
        .pop()
        .ok_or(ApiError::NotFound("order"))
}

pub async fn list_orders(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
) -> ApiResult<Json<OrderList>> {
    let mut conn = state.db.acquire().await?;
    Ok(Json(OrderList {
        orders: load(&mut conn, &state.base_url, me.sub, None, 200).await?,
    }))
}

pub async fn get_order(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    PathId(id): PathId<OrderId>,
) -> ApiResult<Json<Order>> {
    // Someone else's order is "not found": its existence is not the
    // caller's business.
    let mut conn = state.db.acquire().await?;
    Ok(Json(load_one(&mut conn, &state, me.sub, id).await?))
}

/// Appends a step to an order's timeline (to `q`, run in the same round
/// trip as the change itself).
pub fn push_step(
    q: &mut QueryBuilder<'_, sqlx::Sqlite>,
    order: OrderId,
    status: OrderStatus,
    at: Timestamp,
    note: String,
) {
    q.push("INSERT INTO order_events (order_id, seq, status, at, note) SELECT ")
        .push_bind(order.to_string())
        .push(", COALESCE(MAX(seq), 0) + 1, ")
        .push_bind(status.as_str())
        .push(", ")
        .push_bind(at.to_string())
        .push(", ")
        .push_bind(note)
        .push(" FROM order_events WHERE order_id = ")
        .push_bind(order.to_string())
        .push(";\n");
}

/// Refunds an order's total from the seller's payable to the buyer's wallet,
/// records the step and the refund transaction; returns the balance after.
pub(crate) async fn refund(
    tx: &mut SqliteConnection,
    order: OrderId,
    buyer: UserId,
    seller: UserId,
    total: Money,
    status: OrderStatus,
    now: Timestamp,
) -> ApiResult<i64> {
    let wallet = ledger::account(tx, AccountKind::Wallet, Some(buyer), total.currency).await?;
    let payable = ledger::account(
        tx,
        AccountKind::MerchantPayable,
        Some(seller),
        total.currency,
    )
    .await?;
    // The wallet history names what was refunded.
    let (product, sku): (String, String) =
        sqlx::query_as("SELECT product_name, sku_name FROM orders WHERE id = ?")
            .bind(order.to_string())
            .fetch_one(&mut *tx)
            .await?;
    let mut q = QueryBuilder::new("");
    let txn = ledger::push_post(
        &mut q,
        TxnKind::Refund,
        Some(order.0),
        &format!("Refund: {product} · {sku}"),
        &[
            (&payable, -total.amount_minor),
            (&wallet, total.amount_minor),
        ],
    )?;
    q.push("UPDATE orders SET refund_txn_id = ")
        .push_bind(txn.to_string())
        .push(" WHERE id = ")
        .push_bind(order.to_string())
        .push(";\n");
    push_step(
        &mut q,
        order,
        status,
        now,
        format!("{total} back in your wallet"),
    );
    let after = q.build_query_scalar::<i64>().fetch_all(&mut *tx).await?;
    match after.as_slice() {
        [_, wallet_after] => Ok(*wallet_after),
        _ => Err(anyhow::anyhow!("the refund of {order} did not post: {after:?}").into()),
    }
}

/// An error after a job has written something must roll its batch back
/// (the writer's contract), whatever it says.
pub(crate) fn internal(e: ApiError) -> ApiError {
    match e {
        ApiError::Internal(_) => e,
        other => ApiError::Internal(anyhow::anyhow!("after writing: {other}")),
    }
}

/// What a change tells the buyer's socket after the commit.
pub struct Changed {
    pub buyer: UserId,
    pub order: Order,
    pub balance: Option<Money>,
    /// Units back on sale: the SKU's stock now, for the room.
    pub restocked: Option<u32>,
}

pub(crate) fn tell(state: &AppState, changes: &[Changed]) {
    for c in changes {
        if let Some(stock) = c.restocked
            && let Some(room) = state.rooms.get(c.order.room_id)
        {
            room.publish(livecart_protocol::RoomEvent::Stock {
                product_id: c.order.product_id,
                sku_id: c.order.sku_id,
                stock,
            });
        }
        state.me.publish(
            c.buyer,
            MeEvent::Order {
                order: Box::new(c.order.clone()),
            },
        );
        if let Some(balance) = c.balance {
            state.me.publish(c.buyer, MeEvent::Wallet { balance });
        }
    }
}

pub async fn cancel(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    key: Key,
    PathId(id): PathId<OrderId>,
) -> ApiResult<Response> {
    let endpoint = format!("POST /v1/orders/{id}/cancel");
    let work = async |lease: idempotency::Lease| {
        let record = lease.record();
        let st = state.clone();
        let told = state.clone();
        let (body, _, _) = state
        .payments
        .write(
            move |tx| {
                Box::pin(async move {
                    let now = Timestamp::now();
                    // The guard: only the buyer's own order, only before it ships.
                    let row: Option<(String, i64, String)> = sqlx::query_as(
                        "UPDATE orders SET status = 'cancelled', updated_at = ?1 \
                         WHERE id = ?2 AND buyer_id = ?3 AND status IN ('paid', 'packed') \
                         RETURNING seller_id, total_minor, currency",
                    )
                    .bind(now.to_string())
                    .bind(id.to_string())
                    .bind(me.sub.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
                    let Some((seller, total, cur)) = row else {
                        let order = load_one(tx, &st, me.sub, id).await?;
                        return Err(match order.status {
                            OrderStatus::Cancelled => {
                                ApiError::Conflict("this order is already cancelled".into())
                            }
                            OrderStatus::RefundRequested | OrderStatus::Refunded => {
                                ApiError::Conflict(
                                    "this order is being refunded or was refunded already".into(),
                                )
                            }
                            _ => ApiError::AlreadyShipped,
                        });
                    };
                    let total = Money::new(total, crate::db::parse(&cur, "currency")?);
                    let seller: UserId = crate::db::parse(&seller, "seller id")?;
                    let balance =
                        refund(tx, id, me.sub, seller, total, OrderStatus::Cancelled, now).await?;
                    // The units go back on sale. A flash-sale order's units
                    // came from the sale's own allocation, not the SKU's
                    // stock: they are not added to it (the sale is over or
                    // its counter moves on).
                    let restocked: Option<i64> = sqlx::query_scalar(
                        "UPDATE skus SET stock = stock + (SELECT quantity FROM orders WHERE id = ?1) \
                         WHERE id = (SELECT sku_id FROM orders WHERE id = ?1) \
                         AND (SELECT flash_sale_id FROM orders WHERE id = ?1) IS NULL \
                         RETURNING stock",
                    )
                    .bind(id.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
                    let order = load_one(tx, &st, me.sub, id).await.map_err(internal)?;
                    let body = serde_json::to_string(&order).map_err(anyhow::Error::from)?;
                    let mut q = QueryBuilder::new("");
                    idempotency::push_complete(&mut q, &record, StatusCode::OK, body.clone());
                    q.build().execute(&mut *tx).await?;
                    Ok((
                        body,
                        vec![Changed {
                            buyer: me.sub,
                            order,
                            balance: Some(Money::new(balance, total.currency)),
                            restocked: restocked.and_then(|s| u32::try_from(s).ok()),
                        }],
                        // Let go after the commit (see `orders::place_order`).
                        lease,
                    ))
                })
            },
            move |(_, changes, _): &(String, Vec<Changed>, idempotency::Lease)| {
                tell(&told, changes);
            },
        )
        .await?;
        Ok(body)
    };
    idempotency::run(&state, me.sub, &key, &endpoint, &(), StatusCode::OK, work).await
}

pub async fn request_refund(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    PathId(id): PathId<OrderId>,
    Body(req): Body<RefundRequest>,
) -> ApiResult<Json<Order>> {
    let days = state.config.money.refund_window_days;
    let window_start = Timestamp::now() - SignedDuration::from_hours(24 * i64::from(days));
    let reason = match serde_json::to_value(req.reason).map_err(anyhow::Error::from)? {
        serde_json::Value::String(s) => s,
        _ => "other".to_owned(),
    };
    let (st, told) = (state.clone(), state.clone());
    let (order, _) = state
        .payments
        .write(
            move |tx| {
                Box::pin(async move {
                    let now = Timestamp::now();
                    let done = sqlx::query(
                        "UPDATE orders SET status = 'refund_requested', refund_reason = ?1, updated_at = ?2 \
                         WHERE id = ?3 AND buyer_id = ?4 AND status = 'delivered' \
                         AND julianday(delivered_at) >= julianday(?5)",
                    )
                    .bind(&reason)
                    .bind(now.to_string())
                    .bind(id.to_string())
                    .bind(me.sub.to_string())
                    .bind(window_start.to_string())
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 0 {
                        let order = load_one(tx, &st, me.sub, id).await?;
                        return match order.status {
                            // Asked already (or done): the order as it is.
                            OrderStatus::RefundRequested | OrderStatus::Refunded => {
                                Ok((order, Vec::new()))
                            }
                            OrderStatus::Delivered => Err(ApiError::RefundWindowClosed { days }),
                            OrderStatus::Cancelled => {
                                Err(ApiError::Conflict("this order was cancelled and refunded".into()))
                            }
                            _ => Err(ApiError::NotDelivered),
                        };
                    }
                    let mut q = QueryBuilder::new("");
                    push_step(
                        &mut q,
                        id,
                        OrderStatus::RefundRequested,
                        now,
                        reason_words(req.reason).to_owned(),
                    );
                    q.build().execute(&mut *tx).await?;
                    let order = load_one(tx, &st, me.sub, id).await.map_err(internal)?;
                    let changed = vec![Changed {
                        buyer: me.sub,
                        order: order.clone(),
                        balance: None,
                        restocked: None,
                    }];
                    Ok((order, changed))
                })
            },
            move |(_, changes): &(Order, Vec<Changed>)| tell(&told, changes),
        )
        .await?;
    Ok(Json(order))
}

fn reason_words(r: RefundReason) -> &'static str {
    match r {
        RefundReason::Damaged => "Arrived damaged",
        RefundReason::NotAsDescribed => "Not as described",
        RefundReason::WrongItem => "Wrong item",
        RefundReason::ChangedMind => "Changed my mind",
        RefundReason::Other => "Other",
    }
}
