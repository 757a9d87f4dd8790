//! The demo's delivery: every paid order moves one step on (packed,
//! shipped, out for delivery, delivered) each `money.order_step_ms`, and a
//! refund request is granted after `money.refund_delay_ms`. A real server
//! hears these steps from its warehouse and carrier instead.

use crate::error::ApiResult;
use crate::money::orders::tracking::{Changed, internal, load_one, push_step, refund, tell};
use crate::state::AppState;
use jiff::{SignedDuration, Timestamp};
use livecart_protocol::commerce::OrderStatus;
use livecart_protocol::{Money, OrderId, UserId};
use sqlx::QueryBuilder;

/// The demo fulfilment: moves every order that has waited `order_step_ms`
/// one delivery step on, and refunds requests that waited
/// `refund_delay_ms`. Runs until shutdown.
pub fn spawn_fulfilment(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let money = &state.config.money;
        let step =
            SignedDuration::from_millis(i64::try_from(money.order_step_ms).unwrap_or(i64::MAX));
        let refund_after =
            SignedDuration::from_millis(i64::try_from(money.refund_delay_ms).unwrap_or(i64::MAX));
        let tick = std::time::Duration::from_millis((money.order_step_ms / 4).clamp(50, 1_000));
        let mut interval = tokio::time::interval(tick);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = state.shutdown.cancelled() => break,
                _ = interval.tick() => {}
            }
            if let Err(e) = fulfil(&state, step, refund_after).await {
                tracing::warn!(error = %e, "demo fulfilment");
            }
        }
    })
}

const DUE: &str = "FROM orders \
     WHERE (status IN ('paid', 'packed', 'shipped', 'out_for_delivery') AND julianday(updated_at) <= julianday(?1)) \
        OR (status = 'refund_requested' AND julianday(updated_at) <= julianday(?2))";

/// An order the clock moves on: its step, and what a refund returns.
#[derive(sqlx::FromRow)]
struct DueOrder {
    id: String,
    buyer_id: String,
    seller_id: String,
    status: String,
    total_minor: i64,
    currency: String,
}

async fn fulfil(
    state: &AppState,
    step: SignedDuration,
    refund_after: SignedDuration,
) -> ApiResult<()> {
    // A look on a read connection first: most ticks have nothing to do and
    // should not take the writer.
    let now = Timestamp::now();
    let any: bool = sqlx::query_scalar(&format!("SELECT EXISTS (SELECT 1 {DUE})"))
        .bind((now - step).to_string())
        .bind((now - refund_after).to_string())
        .fetch_one(&state.db)
        .await?;
    if !any {
        return Ok(());
    }
    let st = state.clone();
    let told = state.clone();
    state
        .payments
        .write(
            move |tx| {
                Box::pin(async move {
                    let now = Timestamp::now();
                    let due: Vec<DueOrder> = sqlx::query_as(
                        &format!(
                            "SELECT id, buyer_id, seller_id, status, total_minor, currency {DUE} \
                             ORDER BY created_at LIMIT 200"
                        ),
                    )
                    .bind((now - step).to_string())
                    .bind((now - refund_after).to_string())
                    .fetch_all(&mut *tx)
                    .await?;
                    let mut changes = Vec::with_capacity(due.len());
                    for DueOrder {
                        id,
                        buyer_id: buyer,
                        seller_id: seller,
                        status,
                        total_minor: total,
                        currency: cur,
                    } in due
                    {
                        let id: OrderId = crate::db::parse(&id, "order id")?;
                        let buyer: UserId = crate::db::parse(&buyer, "buyer id")?;
                        let status = OrderStatus::parse(&status);
                        let mut balance = None;
                        if status == OrderStatus::RefundRequested {
                            let total = Money::new(total, crate::db::parse(&cur, "currency")?);
                            let seller: UserId = crate::db::parse(&seller, "seller id")?;
                            sqlx::query("UPDATE orders SET status = 'refunded', updated_at = ? WHERE id = ?")
                                .bind(now.to_string())
                                .bind(id.to_string())
                                .execute(&mut *tx)
                                .await?;
                            let after =
                                refund(tx, id, buyer, seller, total, OrderStatus::Refunded, now).await?;
                            balance = Some(Money::new(after, total.currency));
                        } else if let Some(next) = status.next_delivery_step() {
                            let mut q = QueryBuilder::new("UPDATE orders SET status = ");
                            q.push_bind(next.as_str())
                                .push(", updated_at = ")
                                .push_bind(now.to_string());
                            if next == OrderStatus::Delivered {
                                q.push(", delivered_at = ").push_bind(now.to_string());
                            }
                            q.push(" WHERE id = ").push_bind(id.to_string()).push(";\n");
                            push_step(&mut q, id, next, now, String::new());
                            q.build().execute(&mut *tx).await?;
                        }
                        changes.push(Changed {
                            buyer,
                            order: load_one(tx, &st, buyer, id).await.map_err(internal)?,
                            balance,
                            restocked: None,
                        });
                    }
                    Ok(changes)
                })
            },
            move |changes: &Vec<Changed>| tell(&told, changes),
        )
        .await?;
    Ok(())
}
