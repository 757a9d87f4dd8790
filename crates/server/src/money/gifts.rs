//! Paid gifts: `POST /v1/rooms/{id}/gifts` (Idempotency-Key)
//! `{gift_id, count, combo_id}` → 201 with a receipt.
//!
//! One transaction moves the coins (a coin is one minor unit of the wallet's
//! currency) from the sender's wallet to the host's earnings and the
//! platform's cut, records the send and stores the response; the gift event
//! is published once, after the commit. A replay answers the stored receipt
//! and publishes nothing.

use crate::auth::{Claims, SignedIn};
use crate::error::{ApiError, ApiResult};
use crate::http::{Body, PathId};
use crate::money::idempotency::{self, Key};
use crate::money::ledger::{self, AccountKind, TxnKind};
use crate::state::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use jiff::Timestamp;
use livecart_protocol::commerce::{GiftReceipt, SendGiftRequest};
use livecart_protocol::rest::{HostInfo, RoomStatus, UserRef};
use livecart_protocol::{GiftEvent, GiftSendId, Money, RoomEvent, RoomId};
use sqlx::SqliteConnection;

/// Most gifts one request may send.
pub const MAX_COUNT: u32 = 99;

pub async fn send(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    PathId(room_id): PathId<RoomId>,
    key: Key,
    Body(req): Body<SendGiftRequest>,
) -> ApiResult<Response> {
    let room = state.rooms.get(room_id).ok_or(ApiError::NotFound("room"))?;
    if !(1..=MAX_COUNT).contains(&req.count) {
        return Err(ApiError::BadRequest(format!("count is 1 to {MAX_COUNT}")));
    }
    let (host, status) = room.read(|st| (st.snap.room.host.clone(), st.snap.room.status));
    if status != RoomStatus::Live {
        return Err(ApiError::Conflict("this room is not live".into()));
    }
    if host.id == me.sub {
        return Err(ApiError::BadRequest("hosts cannot gift themselves".into()));
    }
    let endpoint = format!("POST /v1/rooms/{room_id}/gifts");
    let work = async |lease: idempotency::Lease| {
        let mut writer = state.writer.acquire().await?;
        let mut tx = sqlx::Connection::begin_with(&mut *writer, "BEGIN IMMEDIATE").await?;
        let sender = Sender {
            me: &me,
            room: room_id,
            host: &host,
            key: &key,
        };
        let (receipt, gift_name, coins) = charge(&mut tx, &state, &sender, &req).await?;
        let combo_count = receipt.combo_count;
        let body = serde_json::to_string(&receipt).map_err(anyhow::Error::from)?;
        idempotency::complete(&mut tx, &lease, StatusCode::CREATED, &body).await?;
        tx.commit().await?;
        state.me.publish(
            me.sub,
            livecart_protocol::me::MeEvent::Wallet {
                balance: receipt.balance_after,
            },
        );
        room.publish(RoomEvent::Gift(GiftEvent {
            gift_id: req.gift_id,
            gift_name,
            coins: u32::try_from(coins).unwrap_or(u32::MAX),
            sender: UserRef {
                id: me.sub,
                name: me.name.clone(),
            },
            count: req.count,
            combo_id: req.combo_id,
            combo_count,
        }));
        drop(writer);
        Ok(body)
    };
    idempotency::run(
        &state,
        me.sub,
        &key,
        &endpoint,
        &req,
        StatusCode::CREATED,
        work,
    )
    .await
}

/// Who sends a gift, where, under which key.
struct Sender<'a> {
    me: &'a Claims,
    room: RoomId,
    host: &'a HostInfo,
    key: &'a Key,
}

/// The gift's money: its price times the count (402 when the wallet cannot
/// cover it), the ledger's three-way split (buyer → host's earnings and
/// the platform), the `gift_sends` row. Returns the receipt, the gift's
/// name and its coins.
async fn charge(
    tx: &mut SqliteConnection,
    state: &AppState,
    sender: &Sender<'_>,
    req: &SendGiftRequest,
) -> ApiResult<(GiftReceipt, String, i64)> {
    let currency = state.config.money.currency();
    let gift: Option<(String, i64)> = sqlx::query_as("SELECT name, coins FROM gifts WHERE id = ?")
        .bind(req.gift_id.to_string())
        .fetch_optional(&mut *tx)
        .await?;
    let (gift_name, coins) = gift.ok_or(ApiError::NotFound("gift"))?;
    let cost = Money::new(coins, currency)
        .checked_mul(req.count)
        .map_err(|_| ApiError::BadRequest("amount out of range".into()))?;
    let balance = ledger::wallet_balance(&mut *tx, sender.me.sub, currency).await?;
    if balance < cost.amount_minor {
        return Err(ApiError::InsufficientFunds {
            needed: cost,
            balance: Money::new(balance, currency),
        });
    }
    let previous: i64 = sqlx::query_scalar(
        "SELECT COALESCE(SUM(count), 0) FROM gift_sends WHERE sender_id = ? AND combo_id = ?",
    )
    .bind(sender.me.sub.to_string())
    .bind(req.combo_id.to_string())
    .fetch_one(&mut *tx)
    .await?;
    let combo_count = u32::try_from(previous)
        .unwrap_or(u32::MAX)
        .saturating_add(req.count);
    let share = i64::from(state.config.money.gift_host_share_percent.min(100));
    let to_host = cost.amount_minor * share / 100;
    let wallet =
        ledger::account(&mut *tx, AccountKind::Wallet, Some(sender.me.sub), currency).await?;
    let earnings = ledger::account(
        &mut *tx,
        AccountKind::HostEarnings,
        Some(sender.host.id),
        currency,
    )
    .await?;
    let platform = ledger::account(&mut *tx, AccountKind::Platform, None, currency).await?;
    let id = GiftSendId::new();
    let (txn, after) = ledger::post(
        &mut *tx,
        TxnKind::Gift,
        Some(id.0),
        &format!("{gift_name} × {} to {}", req.count, sender.host.name),
        &[
            (&wallet, -cost.amount_minor),
            (&earnings, to_host),
            (&platform, cost.amount_minor - to_host),
        ],
    )
    .await?;
    sqlx::query(
        "INSERT INTO gift_sends (id, sender_id, room_id, host_id, gift_id, count, combo_id, cost_minor, currency, txn_id, idempotency_key, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(sender.me.sub.to_string())
    .bind(sender.room.to_string())
    .bind(sender.host.id.to_string())
    .bind(req.gift_id.to_string())
    .bind(i64::from(req.count))
    .bind(req.combo_id.to_string())
    .bind(cost.amount_minor)
    .bind(currency.as_str())
    .bind(txn.to_string())
    .bind(&sender.key.0)
    .bind(Timestamp::now().to_string())
    .execute(&mut *tx)
    .await?;
    let receipt = GiftReceipt {
        id,
        cost,
        balance_after: Money::new(after[0], currency),
        combo_count,
    };
    Ok((receipt, gift_name, coins))
}
