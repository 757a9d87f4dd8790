//! Idempotency keys for money-moving endpoints, with Stripe's semantics:
//! a replay answers the stored response (and moves nothing), the same key
//! while the first request is still running gets 409, the same key with
//! other parameters gets 422, and keys are kept for `idempotency_days`.
//!
//! A request [`claim`]s its key (`in_flight`, with a lease) in a short
//! transaction of its own, then does its work in a second transaction that
//! ends with [`complete`] — the response is stored in the same commit as the
//! money movement, so a crash leaves either both or neither. Work that is
//! refused without moving anything [`release`]s the key, so a retry after
//! the situation changed (a top-up, a new price) runs afresh. A claim whose
//! server died mid-request is reclaimable when its lease runs out, or at once
//! when this server starts (an embedded SQLite file has one server).

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use jiff::{SignedDuration, Timestamp};
use livecart_protocol::UserId;
use livecart_protocol::commerce::{IDEMPOTENCY_HEADER, REPLAYED_HEADER};
use sha2::{Digest, Sha256};
use sqlx::SqliteConnection;

/// The `Idempotency-Key` header of a request; required where extracted.
#[derive(Debug, Clone)]
pub struct Key(pub String);

impl<S: Send + Sync> FromRequestParts<S> for Key {
    type Rejection = ApiError;
    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let v = parts.headers.get(IDEMPOTENCY_HEADER).ok_or_else(|| {
            ApiError::BadRequest(
                "money-moving requests need an Idempotency-Key header (a fresh UUID per attempt)"
                    .into(),
            )
        })?;
        let v = v
            .to_str()
            .ok()
            .filter(|k| !k.is_empty() && k.len() <= 255 && k.bytes().all(|b| b.is_ascii_graphic()))
            .ok_or_else(|| {
                ApiError::BadRequest(
                    "the Idempotency-Key must be 1 to 255 visible ASCII characters".into(),
                )
            })?;
        Ok(Self(v.to_owned()))
    }
}

/// What a claim found.
pub enum Claim {
    /// The key is ours: do the work, then `complete` or `release`.
    Fresh(Lease),
    /// The key already finished: answer this.
    Replay(Response),
}

/// Our hold on a key while the work runs.
#[derive(Debug, Clone)]
pub struct Lease {
    user: String,
    key: String,
    token: String,
}

/// Hash of what the request asks for: the endpoint and its canonical JSON
/// body (keys sorted), so whitespace or field order does not count as
/// "different parameters".
pub fn request_hash(endpoint: &str, body: &impl serde::Serialize) -> String {
    let canonical = serde_json::to_value(body)
        .and_then(|v| serde_json::to_vec(&v))
        .unwrap_or_default();
    let mut h = Sha256::new();
    h.update(endpoint.as_bytes());
    h.update([0]);
    h.update(&canonical);
    format!("{:x}", h.finalize())
}

pub async fn claim(
    state: &AppState,
    user: UserId,
    key: &Key,
    endpoint: &str,
    hash: &str,
) -> ApiResult<Claim> {
    let now = Timestamp::now();
    let lease = Lease {
        user: user.to_string(),
        key: key.0.clone(),
        token: uuid::Uuid::now_v7().to_string(),
    };
    let until =
        now + SignedDuration::from_secs(state.config.money.idempotency_lease_s.cast_signed());
    let mut tx = state.writer.begin_with("BEGIN IMMEDIATE").await?;
    let row: Option<(String, String, String, Option<String>, Option<i64>, Option<String>)> =
        sqlx::query_as(
            "SELECT endpoint, request_hash, state, locked_until, response_status, response_body \
             FROM idempotency_keys WHERE user_id = ? AND key = ?",
        )
        .bind(&lease.user)
        .bind(&lease.key)
        .fetch_optional(&mut *tx)
        .await?;
    match row {
        None => {
            sqlx::query(
                "INSERT INTO idempotency_keys (user_id, key, endpoint, request_hash, state, lock_token, locked_until, created_at) \
                 VALUES (?, ?, ?, ?, 'in_flight', ?, ?, ?)",
            )
            .bind(&lease.user)
            .bind(&lease.key)
            .bind(endpoint)
            .bind(hash)
            .bind(&lease.token)
            .bind(until.to_string())
            .bind(now.to_string())
            .execute(&mut *tx)
            .await?;
        }
        Some((ep, h, _, _, _, _)) if ep != endpoint || h != hash => {
            return Err(ApiError::IdempotencyMismatch);
        }
        Some((_, _, st, _, Some(status), Some(body))) if st == "done" => {
            return Ok(Claim::Replay(stored_response(status, body)));
        }
        Some((_, _, _, locked_until, _, _)) => {
            let expired = locked_until
                .and_then(|t| t.parse::<Timestamp>().ok())
                .is_none_or(|t| t <= now);
            if !expired {
                return Err(ApiError::IdempotencyInFlight);
            }
            // Its request died without finishing (and moved nothing: the work
            // commits together with `done`). Take it over.
            sqlx::query(
                "UPDATE idempotency_keys SET lock_token = ?, locked_until = ? WHERE user_id = ? AND key = ?",
            )
            .bind(&lease.token)
            .bind(until.to_string())
            .bind(&lease.user)
            .bind(&lease.key)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    Ok(Claim::Fresh(lease))
}

/// Stores the response under the key, inside the work's transaction. Fails
/// (and the caller must roll back) if the lease was taken over meanwhile.
pub async fn complete(
    conn: &mut SqliteConnection,
    lease: &Lease,
    status: StatusCode,
    body: &str,
) -> ApiResult<()> {
    let done = sqlx::query(
        "UPDATE idempotency_keys SET state = 'done', lock_token = NULL, locked_until = NULL, \
         response_status = ?, response_body = ? WHERE user_id = ? AND key = ? AND lock_token = ?",
    )
    .bind(i64::from(status.as_u16()))
    .bind(body)
    .bind(&lease.user)
    .bind(&lease.key)
    .bind(&lease.token)
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::IdempotencyInFlight);
    }
    Ok(())
}

/// Gives the key back after a refusal that moved nothing.
pub async fn release(state: &AppState, lease: &Lease) {
    let res = sqlx::query(
        "DELETE FROM idempotency_keys WHERE user_id = ? AND key = ? AND lock_token = ? AND state = 'in_flight'",
    )
    .bind(&lease.user)
    .bind(&lease.key)
    .bind(&lease.token)
    .execute(&state.writer)
    .await;
    if let Err(e) = res {
        // The lease expires on its own; the key is retryable then.
        tracing::warn!(error = %e, "releasing an idempotency key");
    }
}

/// Startup: this server is the SQLite file's only writer, so any claim left
/// `in_flight` belongs to a process that died; its work never committed.
pub async fn release_abandoned(state: &AppState) -> anyhow::Result<u64> {
    Ok(
        sqlx::query("DELETE FROM idempotency_keys WHERE state = 'in_flight'")
            .execute(&state.writer)
            .await?
            .rows_affected(),
    )
}

/// Forgets keys older than the retention.
pub async fn purge(state: &AppState) -> anyhow::Result<u64> {
    let cutoff = Timestamp::now()
        - SignedDuration::from_hours(24 * i64::from(state.config.money.idempotency_days));
    Ok(
        sqlx::query("DELETE FROM idempotency_keys WHERE created_at < ? AND state = 'done'")
            .bind(cutoff.to_string())
            .execute(&state.writer)
            .await?
            .rows_affected(),
    )
}

fn stored_response(status: i64, body: String) -> Response {
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The first answer to a request (a replay answers the same body).
pub fn fresh_response(status: StatusCode, body: String) -> Response {
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
