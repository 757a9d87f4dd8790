//! The wallet: balance, history, and top-ups through the payment provider
//! (`provider`; the demo world's knows the test cards).
//!
//! - `GET /v1/wallet` → balance, pending top-ups, the PIN threshold.
//! - `GET /v1/wallet/entries?before=<cursor>` → movements, newest first.
//! - `POST /v1/wallet/top-ups` (Idempotency-Key) `{amount, card_number}` →
//!   202 with the pending top-up. The provider confirms asynchronously: the
//!   wallet is credited in the same transaction that marks it `succeeded`.
//! - `GET /v1/wallet/top-ups/{id}` → one of the caller's top-ups (anyone
//!   else's is 404).
//!
//! Pending top-ups survive a restart: `resume_pending` re-arms them.

use crate::auth::SignedIn;
use crate::error::{ApiError, ApiResult};
use crate::http::{Body, PathId};
use crate::money::idempotency::{self, Key};
use crate::money::ledger::{self, AccountKind, TxnKind};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use jiff::{SignedDuration, Timestamp};
use livecart_protocol::commerce::{
    MovementKind, TopUp, TopUpRequest, TopUpStatus, Wallet, WalletEntry, WalletHistory,
};
use livecart_protocol::{Money, TopUpId, UserId};
use serde::Deserialize;

pub async fn wallet(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
) -> ApiResult<Json<Wallet>> {
    let currency = state.config.money.currency();
    // One pooled connection at a time: holding this one while `top_ups`
    // takes another deadlocked the pool under load (the checkout bench).
    let balance = {
        let mut conn = state.db.acquire().await?;
        ledger::wallet_balance(&mut conn, me.sub, currency).await?
    };
    let pending = top_ups(&state, me.sub, Some("pending")).await?;
    Ok(Json(Wallet {
        balance: Money::new(balance, currency),
        pending_top_ups: pending,
        pin_threshold: Money::new(state.config.money.pin_threshold_minor, currency),
    }))
}

#[derive(Debug, Deserialize)]
pub struct HistoryQuery {
    before: Option<i64>,
}

const PAGE: i64 = 50;

/// A wallet's ledger entry with its transaction.
#[derive(sqlx::FromRow)]
struct EntryRow {
    entry_id: i64,
    txn_id: String,
    kind: String,
    currency: String,
    amount_minor: i64,
    balance_after: i64,
    description: String,
    created_at: String,
}

pub async fn entries(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    Query(q): Query<HistoryQuery>,
) -> ApiResult<Json<WalletHistory>> {
    let rows: Vec<EntryRow> = sqlx::query_as(
        "SELECT e.id AS entry_id, t.id AS txn_id, t.kind, a.currency, e.amount_minor, e.balance_after, t.description, t.created_at \
         FROM ledger_entries e JOIN accounts a ON a.id = e.account_id JOIN ledger_txns t ON t.id = e.txn_id \
         WHERE a.kind = 'wallet' AND a.owner_id = ? AND e.id < ? ORDER BY e.id DESC LIMIT ?",
    )
    .bind(me.sub.to_string())
    .bind(q.before.unwrap_or(i64::MAX))
    .bind(PAGE)
    .fetch_all(&state.db)
    .await?;
    let next_before = (rows.len() as i64 == PAGE)
        .then(|| rows.last().map(|r| r.entry_id))
        .flatten();
    let entries = rows
        .into_iter()
        .map(|r| {
            let currency = crate::db::parse(&r.currency, "currency")?;
            Ok(WalletEntry {
                txn_id: crate::db::parse(&r.txn_id, "txn id")?,
                kind: match r.kind.as_str() {
                    "top_up" => MovementKind::TopUp,
                    "order" => MovementKind::Order,
                    "gift" => MovementKind::Gift,
                    "demo_credit" => MovementKind::DemoCredit,
                    "refund" => MovementKind::Refund,
                    _ => MovementKind::Other,
                },
                amount: Money::new(r.amount_minor, currency),
                balance_after: Money::new(r.balance_after, currency),
                description: r.description,
                at: crate::db::parse(&r.created_at, "time")?,
            })
        })
        .collect::<anyhow::Result<_>>()?;
    Ok(Json(WalletHistory {
        entries,
        next_before,
    }))
}

/// A `top_ups` row as [`TOP_UP_SELECT`] reads it.
#[derive(sqlx::FromRow)]
struct TopUpRow {
    id: String,
    amount_minor: i64,
    currency: String,
    card_last4: String,
    status: String,
    decline_reason: Option<String>,
    created_at: String,
}

fn top_up_from_row(row: TopUpRow) -> anyhow::Result<TopUp> {
    Ok(TopUp {
        id: crate::db::parse(&row.id, "top-up id")?,
        amount: Money::new(
            row.amount_minor,
            crate::db::parse(&row.currency, "currency")?,
        ),
        status: match row.status.as_str() {
            "succeeded" => TopUpStatus::Succeeded,
            "declined" => TopUpStatus::Declined,
            _ => TopUpStatus::Pending,
        },
        card_last4: row.card_last4,
        created_at: crate::db::parse(&row.created_at, "time")?,
        decline_reason: row.decline_reason,
    })
}

const TOP_UP_SELECT: &str = "SELECT id, amount_minor, currency, card_last4, status, decline_reason, created_at FROM top_ups";

async fn top_ups(state: &AppState, user: UserId, status: Option<&str>) -> ApiResult<Vec<TopUp>> {
    let rows: Vec<TopUpRow> = sqlx::query_as(&format!(
        "{TOP_UP_SELECT} WHERE user_id = ? AND (?2 IS NULL OR status = ?2) ORDER BY created_at"
    ))
    .bind(user.to_string())
    .bind(status)
    .fetch_all(&state.db)
    .await?;
    Ok(rows
        .into_iter()
        .map(top_up_from_row)
        .collect::<anyhow::Result<_>>()?)
}

pub async fn get_top_up(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    PathId(id): PathId<TopUpId>,
) -> ApiResult<Json<TopUp>> {
    let row: Option<TopUpRow> =
        sqlx::query_as(&format!("{TOP_UP_SELECT} WHERE id = ? AND user_id = ?"))
            .bind(id.to_string())
            .bind(me.sub.to_string())
            .fetch_optional(&state.db)
            .await?;
    Ok(Json(top_up_from_row(
        row.ok_or(ApiError::NotFound("top-up"))?,
    )?))
}

pub async fn create_top_up(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    key: Key,
    Body(req): Body<TopUpRequest>,
) -> ApiResult<Response> {
    let money = &state.config.money;
    let currency = money.currency();
    if req.amount.currency != currency {
        return Err(ApiError::BadRequest(format!(
            "wallets hold {currency}; top up in {currency}"
        )));
    }
    if req.amount.amount_minor <= 0 || req.amount.amount_minor > money.max_top_up_minor {
        return Err(ApiError::BadRequest(format!(
            "a top-up is between {} and {}",
            Money::new(1, currency),
            Money::new(money.max_top_up_minor, currency)
        )));
    }
    let card = state
        .provider
        .take(&req.card_number, money)
        .map_err(ApiError::PaymentDeclined)?;
    // The hash covers the card's outcome, not its number: nothing of the
    // number but the last four digits is stored anywhere.
    let params = (req.amount, card.outcome);
    let work = async |lease: idempotency::Lease| {
        let digits: String = req
            .card_number
            .chars()
            .filter(char::is_ascii_digit)
            .collect();
        let last4 = digits[digits.len().saturating_sub(4)..].to_owned();
        let now = Timestamp::now();
        let confirm_after =
            now + SignedDuration::try_from(card.confirm_after).map_err(anyhow::Error::from)?;
        let top_up = TopUp {
            id: TopUpId::new(),
            amount: req.amount,
            status: TopUpStatus::Pending,
            card_last4: last4,
            created_at: now,
            decline_reason: None,
        };
        let body = serde_json::to_string(&top_up).map_err(anyhow::Error::from)?;
        let mut tx = state.writer.begin_with("BEGIN IMMEDIATE").await?;
        sqlx::query(
            "INSERT INTO top_ups (id, user_id, amount_minor, currency, card_last4, outcome, confirm_after, status, created_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?)",
        )
        .bind(top_up.id.to_string())
        .bind(me.sub.to_string())
        .bind(top_up.amount.amount_minor)
        .bind(top_up.amount.currency.as_str())
        .bind(&top_up.card_last4)
        .bind(card.outcome)
        .bind(confirm_after.to_string())
        .bind(now.to_string())
        .execute(&mut *tx)
        .await?;
        idempotency::complete(&mut tx, &lease, StatusCode::ACCEPTED, &body).await?;
        tx.commit().await?;
        arm(&state, top_up.id, confirm_after);
        tracing::info!(top_up = %top_up.id, amount = %top_up.amount, "top-up pending");
        Ok(body)
    };
    idempotency::run(
        &state,
        me.sub,
        &key,
        "POST /v1/wallet/top-ups",
        &params,
        StatusCode::ACCEPTED,
        work,
    )
    .await
}

/// Schedules the provider's confirmation of a top-up.
fn arm(state: &AppState, id: TopUpId, at: Timestamp) {
    let state = state.clone();
    tokio::spawn(async move {
        let wait = at
            .duration_since(Timestamp::now())
            .max(SignedDuration::ZERO);
        let wait = std::time::Duration::try_from(wait).unwrap_or_default();
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        if let Err(e) = confirm(&state, id).await {
            tracing::error!(error = %e, top_up = %id, "confirming a top-up");
        }
    });
}

/// A `top_ups` row as `confirm` reads it.
#[derive(sqlx::FromRow)]
struct PendingTopUp {
    user_id: String,
    amount_minor: i64,
    currency: String,
    outcome: String,
    status: String,
    card_last4: String,
}

/// The provider's answer arrives: credit the wallet (or mark it declined),
/// once. A second confirmation of the same top-up changes nothing.
pub async fn confirm(state: &AppState, id: TopUpId) -> anyhow::Result<TopUpStatus> {
    // Held until the new balance is published: balance events follow commit
    // order (a payment's cannot slip in between).
    let mut writer = state.writer.acquire().await?;
    let mut tx = sqlx::Connection::begin_with(&mut *writer, "BEGIN IMMEDIATE").await?;
    let row: Option<PendingTopUp> = sqlx::query_as(
        "SELECT user_id, amount_minor, currency, outcome, status, card_last4 FROM top_ups WHERE id = ?",
    )
    .bind(id.to_string())
    .fetch_optional(&mut *tx)
    .await?;
    let Some(PendingTopUp {
        user_id: user,
        amount_minor: amount,
        currency: cur,
        outcome,
        status,
        card_last4: last4,
    }) = row
    else {
        anyhow::bail!("no top-up {id}");
    };
    if status != "pending" {
        return Ok(if status == "succeeded" {
            TopUpStatus::Succeeded
        } else {
            TopUpStatus::Declined
        });
    }
    let mut credited = None;
    let result = if crate::money::provider::Charge::declines(&outcome) {
        sqlx::query(
            "UPDATE top_ups SET status = 'declined', decline_reason = 'the card was declined' WHERE id = ?",
        )
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        TopUpStatus::Declined
    } else {
        let currency = crate::db::parse(&cur, "currency")?;
        let user: UserId = crate::db::parse(&user, "user id")?;
        let txn = credit(
            &mut tx,
            user,
            Money::new(amount, currency),
            TxnKind::TopUp,
            Some(id.0),
            &format!("Top-up ····{last4}"),
        )
        .await?;
        sqlx::query("UPDATE top_ups SET status = 'succeeded', txn_id = ? WHERE id = ?")
            .bind(txn.to_string())
            .bind(id.to_string())
            .execute(&mut *tx)
            .await?;
        let balance = crate::money::ledger::wallet_balance(&mut tx, user, currency).await?;
        credited = Some((user, Money::new(balance, currency)));
        TopUpStatus::Succeeded
    };
    tx.commit().await?;
    if let Some((user, balance)) = credited {
        state
            .me
            .publish(user, livecart_protocol::me::MeEvent::Wallet { balance });
    }
    drop(writer);
    tracing::info!(top_up = %id, ?result, "top-up confirmed by the provider");
    Ok(result)
}

/// Startup: re-arms every top-up still waiting for its confirmation.
pub async fn resume_pending(state: &AppState) -> anyhow::Result<usize> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, confirm_after FROM top_ups WHERE status = 'pending'")
            .fetch_all(&state.db)
            .await?;
    for (id, at) in &rows {
        arm(
            state,
            crate::db::parse(id, "top-up id")?,
            crate::db::parse(at, "time")?,
        );
    }
    Ok(rows.len())
}

/// Money arriving from outside (a confirmed top-up, the demo world's
/// starting balance): the clearing account pays the user's wallet.
pub async fn credit(
    conn: &mut sqlx::SqliteConnection,
    user: UserId,
    amount: Money,
    kind: TxnKind,
    reference: Option<uuid::Uuid>,
    description: &str,
) -> anyhow::Result<livecart_protocol::TxnId> {
    let clearing = ledger::account(conn, AccountKind::TopupClearing, None, amount.currency).await?;
    let wallet = ledger::account(conn, AccountKind::Wallet, Some(user), amount.currency).await?;
    let (txn, _) = ledger::post(
        conn,
        kind,
        reference,
        description,
        &[
            (&clearing, -amount.amount_minor),
            (&wallet, amount.amount_minor),
        ],
    )
    .await?;
    Ok(txn)
}
