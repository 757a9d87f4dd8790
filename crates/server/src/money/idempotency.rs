//! Idempotency keys for money-moving endpoints, with Stripe's semantics:
//! a replay answers the stored response (and moves nothing), the same key
//! while the first request is still running gets 409, the same key with
//! other parameters gets 422, and keys are kept for `idempotency_days`.
//!
//! A request [`claim`]s its key: a duplicate running in this process is
//! refused from memory (409), a finished key is replayed from the database.
//! The work then runs in one transaction on the single writer that ends with
//! [`complete`] — the response is stored in the same commit as the money
//! movement, so a crash leaves either both or neither (and a request that
//! died with its process left nothing behind to clean up). Work refused
//! without moving anything stores nothing: a retry after the situation
//! changed (a top-up, a new price) runs afresh. One process owns the SQLite
//! file; several processes sharing PostgreSQL would need the running set in
//! the database (a claimed row with a lease).

pub mod keys;

pub use keys::{InFlight, StoredKeys};

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
    /// The key is ours: do the work and `complete` in its transaction, or
    /// drop the lease after a refusal (nothing is stored then).
    Fresh(Lease),
    /// The key already finished: answer this.
    Replay(Response),
}

/// Our hold on a key while the work runs; dropping it lets the key be used
/// again (a replay, or a retry after a refusal).
#[derive(Debug)]
pub struct Lease {
    record: KeyRecord,
    running: InFlight,
}

/// What [`complete`] stores a response under: the key, whose it is, and
/// what it asked for.
#[derive(Debug, Clone)]
pub struct KeyRecord {
    user: UserId,
    key: String,
    endpoint: String,
    hash: String,
    stored: StoredKeys,
}

impl Lease {
    /// For work that runs elsewhere (the group-commit writer) while this
    /// lease, held by the request, keeps the key claimed.
    pub fn record(&self) -> KeyRecord {
        self.record.clone()
    }
}

impl std::ops::Deref for Lease {
    type Target = KeyRecord;
    fn deref(&self) -> &KeyRecord {
        &self.record
    }
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.running
            .lock()
            .remove(&(self.record.user, std::mem::take(&mut self.record.key)));
    }
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

/// One money-moving request under its key, start to answer: a replay gets
/// the stored response; a fresh request runs `work` with the key's lease —
/// `work` stores its answer with [`complete`] (or [`push_complete`]) in the
/// transaction that moves the money, and returns that answer's body — and
/// is answered `status` with it. A refusal frees the key (the lease drops
/// with `work`), so a retry after the situation changed runs afresh.
/// `params` is what makes two requests the same (hashed with `endpoint`).
/// Checkout splits this into [`hold`] and [`settle`] to read the stored
/// answer together with its order's other reads.
pub async fn run(
    state: &AppState,
    user: UserId,
    key: &Key,
    endpoint: &str,
    params: &impl serde::Serialize,
    status: StatusCode,
    work: impl AsyncFnOnce(Lease) -> ApiResult<String>,
) -> ApiResult<Response> {
    let hash = request_hash(endpoint, params);
    match claim(state, user, key, endpoint, &hash).await? {
        Claim::Replay(res) => Ok(res),
        Claim::Fresh(lease) => Ok(fresh_response(status, work(lease).await?)),
    }
}

/// Looks the key up: a running duplicate is refused at once (in memory), a
/// finished one is replayed (read from the database, without touching the
/// single writer), a fresh one is ours.
pub async fn claim(
    state: &AppState,
    user: UserId,
    key: &Key,
    endpoint: &str,
    hash: &str,
) -> ApiResult<Claim> {
    let lease = hold(state, user, key, endpoint, hash)?;
    settle(lease, stored(state, user, key).await?)
}

/// The key's stored row, if its request finished before; read only when
/// [`StoredKeys`] says there may be one (a fresh key, the usual case,
/// costs no read).
pub async fn stored(state: &AppState, user: UserId, key: &Key) -> ApiResult<Option<Stored>> {
    if !state.stored_keys.may_have(user, &key.0) {
        return Ok(None);
    }
    Ok(sqlx::query_as(
        "SELECT endpoint, request_hash, response_status, response_body \
         FROM idempotency_keys WHERE user_id = ? AND key = ?",
    )
    .bind(user.to_string())
    .bind(&key.0)
    .fetch_optional(&state.db)
    .await?)
}

/// A finished key's row: endpoint, request hash, response status and body.
pub type Stored = (String, String, i64, String);

/// The first half of [`claim`], for a handler that reads the key's row
/// together with its own reads (one round trip instead of two): refuses a
/// duplicate running in this process (409), else holds the key.
pub fn hold(
    state: &AppState,
    user: UserId,
    key: &Key,
    endpoint: &str,
    hash: &str,
) -> ApiResult<Lease> {
    if !state.in_flight.lock().insert((user, key.0.clone())) {
        return Err(ApiError::IdempotencyInFlight);
    }
    Ok(Lease {
        record: KeyRecord {
            user,
            key: key.0.clone(),
            endpoint: endpoint.to_owned(),
            hash: hash.to_owned(),
            stored: state.stored_keys.clone(),
        },
        running: state.in_flight.clone(),
    })
}

/// The second half of [`claim`]: what the held key's stored row (if any)
/// means — a replay, a mismatch (422), or fresh work.
pub fn settle(lease: Lease, stored: Option<Stored>) -> ApiResult<Claim> {
    match stored {
        None => Ok(Claim::Fresh(lease)),
        Some((ep, h, _, _)) if ep != lease.endpoint || h != lease.hash => {
            Err(ApiError::IdempotencyMismatch)
        }
        Some((_, _, status, body)) => Ok(Claim::Replay(stored_response(status, body))),
    }
}

/// Stores the response under the key, inside the work's transaction, so the
/// money moves if and only if the answer is kept. Fails (and the caller
/// must roll back) if the key was finished meanwhile (which the running set
/// rules out within one process).
pub async fn complete(
    conn: &mut SqliteConnection,
    lease: &KeyRecord,
    status: StatusCode,
    body: &str,
) -> ApiResult<()> {
    let done = sqlx::query(
        "INSERT INTO idempotency_keys (user_id, key, endpoint, request_hash, response_status, response_body, created_at) \
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (user_id, key) DO NOTHING",
    )
    .bind(lease.user.to_string())
    .bind(&lease.key)
    .bind(&lease.endpoint)
    .bind(&lease.hash)
    .bind(i64::from(status.as_u16()))
    .bind(body)
    .bind(Timestamp::now().to_string())
    .execute(&mut *conn)
    .await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::IdempotencyInFlight);
    }
    lease.stored.add(lease.user, &lease.key);
    Ok(())
}

/// [`complete`] for work that writes everything in one round trip: appends
/// the insert to `q`. A key stored meanwhile fails the statement (there is
/// no `ON CONFLICT` here), which fails the whole of `q`.
pub fn push_complete(
    q: &mut sqlx::QueryBuilder<'_, sqlx::Sqlite>,
    lease: &KeyRecord,
    status: StatusCode,
    body: String,
) {
    push_insert(q, lease, status, |q| {
        q.push_bind(body);
    });
    q.push(";\n");
}

/// [`push_complete`] for a response that carries the payer's balance after
/// the payment (`balance_after.amount_minor`): SQLite sets it in the stored
/// body from `wallet`'s balance when the statement runs (after the debit),
/// and the statement returns the stored body.
pub fn push_complete_with_balance(
    q: &mut sqlx::QueryBuilder<'_, sqlx::Sqlite>,
    lease: &KeyRecord,
    status: StatusCode,
    body: String,
    wallet: &str,
) {
    push_insert(q, lease, status, |q| {
        q.push("json_set(")
            .push_bind(body)
            .push(
                ", '$.balance_after.amount_minor', (SELECT balance_minor FROM accounts WHERE id = ",
            )
            .push_bind(wallet.to_owned())
            .push("))");
    });
    q.push(" RETURNING response_body;\n");
}

/// The key's insert, its response body pushed by `body`.
fn push_insert(
    q: &mut sqlx::QueryBuilder<'_, sqlx::Sqlite>,
    lease: &KeyRecord,
    status: StatusCode,
    body: impl FnOnce(&mut sqlx::QueryBuilder<'_, sqlx::Sqlite>),
) {
    lease.stored.add(lease.user, &lease.key);
    q.push("INSERT INTO idempotency_keys (user_id, key, endpoint, request_hash, response_status, response_body, created_at) VALUES (")
        .push_bind(lease.user.to_string())
        .push(", ")
        .push_bind(lease.key.clone())
        .push(", ")
        .push_bind(lease.endpoint.clone())
        .push(", ")
        .push_bind(lease.hash.clone())
        .push(", ")
        .push_bind(i64::from(status.as_u16()))
        .push(", ");
    body(q);
    q.push(", ")
        .push_bind(Timestamp::now().to_string())
        .push(")");
}

/// Forgets keys older than the retention.
pub async fn purge(state: &AppState) -> anyhow::Result<u64> {
    let cutoff = Timestamp::now()
        - SignedDuration::from_hours(24 * i64::from(state.config.money.idempotency_days));
    let purged = sqlx::query("DELETE FROM idempotency_keys WHERE created_at < ?")
        .bind(cutoff.to_string())
        .execute(&state.writer)
        .await?
        .rows_affected();
    if purged > 0 {
        state.stored_keys.rebuild(&state.db).await?;
    }
    Ok(purged)
}

fn stored_response(status: i64, body: String) -> Response {
    let status = u16::try_from(status)
        .ok()
        .and_then(|s| StatusCode::from_u16(s).ok())
        .unwrap_or(StatusCode::OK);
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// The first answer to a request (a replay answers the same body).
pub fn fresh_response(status: StatusCode, body: String) -> Response {
    let mut res = (status, body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
