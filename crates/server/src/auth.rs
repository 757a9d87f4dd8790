//! Sessions. Access tokens are short-lived, self-contained and HMAC-signed
//! (any server node can check them without a database read); refresh tokens
//! are random, stored only as SHA-256 hashes, and rotate on every use — a
//! refresh token presented twice revokes its whole chain (theft detection).
//! Tokens are never logged: types holding them redact `Debug`.
//!
//! Size: sign-in, the refresh token's rotation and the extractors that
//! read the access token share one set of rules, with their tests.

mod tokens;

pub use tokens::{Claims, RefreshGrace, TokenKeys, random_secret};

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jiff::{SignedDuration, Timestamp};
use livecart_protocol::UserId;
use livecart_protocol::rest::{Profile, Role, SessionResponse};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::SqlitePool;
use std::sync::Arc;

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let mut raw = [0u8; 16];
    rand::rng().fill_bytes(&mut raw);
    let salt = SaltString::encode_b64(&raw).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing password: {e}"))
}

pub fn verify_password(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc).is_ok_and(|h| {
        Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

fn hash_token(token: &str) -> String {
    B64.encode(Sha256::digest(token.as_bytes()))
}

fn random_token() -> String {
    format!("lcr1.{}", random_secret())
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: String,
    username: String,
    display_name: String,
    role: String,
    password_hash: String,
}

fn parse_role(s: &str) -> Role {
    match s {
        "host" => Role::Host,
        "admin" => Role::Admin,
        _ => Role::Viewer,
    }
}

pub fn role_str(r: Role) -> &'static str {
    match r {
        Role::Viewer => "viewer",
        Role::Host => "host",
        Role::Admin => "admin",
    }
}

impl UserRow {
    fn profile(&self) -> ApiResult<Profile> {
        Ok(Profile {
            id: self
                .id
                .parse()
                .map_err(|e| ApiError::Internal(anyhow::anyhow!("bad user id: {e}")))?,
            username: self.username.clone(),
            name: self.display_name.clone(),
            role: parse_role(&self.role),
        })
    }
}

/// Checks a username and password and opens a new session chain.
pub async fn sign_in(
    state: &AppState,
    username: &str,
    password: &str,
) -> ApiResult<SessionResponse> {
    const BAD: ApiError = ApiError::Unauthorized("unknown username or wrong password");
    let row: Option<UserRow> = sqlx::query_as(
        "SELECT id, username, display_name, role, password_hash FROM users WHERE username = ?",
    )
    .bind(username)
    .fetch_optional(&state.db)
    .await?;
    // An unknown name is checked against a stand-in hash: it takes as long
    // as a wrong password (argon2, off the async workers, a few at once).
    let phc = row.as_ref().map(|r| r.password_hash.clone());
    if !state.guard.verify(password.to_owned(), phc).await? {
        return Err(BAD);
    }
    let row = row.ok_or(BAD)?;
    issue(state, row.profile()?, &UserId::new().to_string()).await
}

/// Signs out: the session chain is revoked, its refresh tokens and (at
/// once) its access tokens.
pub async fn sign_out(state: &AppState, claims: &Claims) -> ApiResult<()> {
    let Some(sid) = claims.sid.as_deref() else {
        return Ok(());
    };
    sqlx::query("UPDATE refresh_tokens SET revoked = 1 WHERE family_id = ?")
        .bind(sid)
        .execute(&state.writer)
        .await?;
    state.tokens.revoke(sid, claims.exp);
    Ok(())
}

/// Trades a refresh token for a new pair, rotating it. The same token
/// again within `auth.refresh_grace_s` gets the same new pair.
pub async fn refresh(state: &AppState, token: &str) -> ApiResult<SessionResponse> {
    let hash = hash_token(token);
    let grace = std::time::Duration::from_secs(state.config.auth.refresh_grace_s);
    let cell = {
        let mut map = state
            .refresh_grace
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        map.retain(|_, (at, _)| at.elapsed() < grace);
        map.entry(hash.clone())
            .or_insert_with(|| (std::time::Instant::now(), Arc::default()))
            .1
            .clone()
    };
    cell.get_or_try_init(|| rotate(state, &hash)).await.cloned()
}

/// A `refresh_tokens` row as `rotate` reads it.
#[derive(sqlx::FromRow)]
struct RefreshRow {
    family_id: String,
    user_id: String,
    expires_at: String,
    used_at: Option<String>,
    revoked: i64,
}

async fn rotate(state: &AppState, hash: &str) -> ApiResult<SessionResponse> {
    const BAD: ApiError = ApiError::Unauthorized("the refresh token is not valid; sign in again");
    let now = Timestamp::now();
    let mut tx = state.writer.begin_with("BEGIN IMMEDIATE").await?;
    let row: Option<RefreshRow> = sqlx::query_as(
        "SELECT family_id, user_id, expires_at, used_at, revoked FROM refresh_tokens WHERE token_hash = ?",
    )
    .bind(hash)
    .fetch_optional(&mut *tx)
    .await?;
    let RefreshRow {
        family_id: family,
        user_id,
        expires_at,
        used_at,
        revoked,
    } = row.ok_or(BAD)?;
    if revoked != 0 {
        return Err(BAD);
    }
    if used_at.is_some() {
        sqlx::query("UPDATE refresh_tokens SET revoked = 1 WHERE family_id = ?")
            .bind(&family)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        let ttl = i64::try_from(state.config.access_token_ttl_s).unwrap_or(i64::MAX);
        state
            .tokens
            .revoke(&family, now.as_second().saturating_add(ttl));
        tracing::warn!(%user_id, "refresh token reuse: session chain revoked");
        return Err(ApiError::TokenReused);
    }
    if expires_at.parse::<Timestamp>().map_or(true, |t| t <= now) {
        return Err(ApiError::Unauthorized("the session expired; sign in again"));
    }
    // Only the first of two concurrent refreshes wins the row.
    let claimed = sqlx::query(
        "UPDATE refresh_tokens SET used_at = ? WHERE token_hash = ? AND used_at IS NULL",
    )
    .bind(now.to_string())
    .bind(hash)
    .execute(&mut *tx)
    .await?;
    if claimed.rows_affected() != 1 {
        return Err(BAD);
    }
    let user: UserRow = sqlx::query_as(
        "SELECT id, username, display_name, role, password_hash FROM users WHERE id = ?",
    )
    .bind(&user_id)
    .fetch_one(&mut *tx)
    .await?;
    tx.commit().await?;
    issue(state, user.profile()?, &family).await
}

async fn issue(state: &AppState, user: Profile, family: &str) -> ApiResult<SessionResponse> {
    let now = Timestamp::now();
    let access_exp = now + SignedDuration::from_secs(state.config.access_token_ttl_s as i64);
    let refresh_exp = now + SignedDuration::from_secs(state.config.refresh_token_ttl_s as i64);
    let claims = Claims {
        sub: user.id,
        name: user.name.clone(),
        role: user.role,
        exp: access_exp.as_second(),
        sid: Some(family.to_owned()),
    };
    let refresh_token = random_token();
    sqlx::query("INSERT INTO refresh_tokens (token_hash, family_id, user_id, expires_at) VALUES (?, ?, ?, ?)")
        .bind(hash_token(&refresh_token))
        .bind(family)
        .bind(user.id.to_string())
        .bind(refresh_exp.to_string())
        .execute(&state.writer)
        .await?;
    Ok(SessionResponse {
        access_token: state.tokens.mint(&claims),
        access_expires_at: access_exp,
        refresh_token,
        refresh_expires_at: refresh_exp,
        user,
    })
}

/// Creates an account (demo seeding and the `user add` command).
pub async fn create_user(
    db: &SqlitePool,
    id: UserId,
    username: &str,
    name: &str,
    role: Role,
    password: &str,
) -> anyhow::Result<()> {
    let hash = hash_password(password)?;
    create_user_hashed(db, id, username, name, role, &hash).await
}

/// Inserts a user whose password hash (argon2id PHC string) is already made.
pub async fn create_user_hashed(
    db: impl sqlx::SqliteExecutor<'_>,
    id: UserId,
    username: &str,
    name: &str,
    role: Role,
    hash: &str,
) -> anyhow::Result<()> {
    sqlx::query(
        "INSERT INTO users (id, username, display_name, role, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
    )
    .bind(id.to_string())
    .bind(username)
    .bind(name)
    .bind(role_str(role))
    .bind(hash)
    .bind(Timestamp::now().to_string())
    .execute(db)
    .await?;
    Ok(())
}

/// The bearer of a request: `None` for anonymous viewers. A token that is
/// present but wrong is an error, never silently anonymous.
#[derive(Debug, Clone)]
pub struct Viewer(pub Option<Claims>);

/// A request that must come from a signed-in user.
#[derive(Debug, Clone)]
pub struct SignedIn(pub Claims);

/// Who may use the host API: the admin token, or a host's access token.
#[derive(Debug, Clone)]
pub enum HostCaller {
    Admin,
    Host(Claims),
}

/// The WebSocket subprotocol a browser names to carry its access token to a
/// socket that needs one (`/v1/me/live`): `Sec-WebSocket-Protocol:
/// livecart.bearer, <token>`. A browser cannot set an upgrade's
/// `Authorization` header, and a URL is no place for a token (URLs get
/// logged).
pub const BEARER_PROTOCOL: &str = "livecart.bearer";

fn bearer(parts: &Parts) -> Option<&str> {
    let headers = &parts.headers;
    if let Some(t) = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
    {
        return Some(t.trim());
    }
    // Only on a WebSocket upgrade.
    headers.get(axum::http::header::UPGRADE)?;
    let mut offered = headers
        .get(axum::http::header::SEC_WEBSOCKET_PROTOCOL)?
        .to_str()
        .ok()?
        .split(',')
        .map(str::trim);
    (offered.next()? == BEARER_PROTOCOL)
        .then(|| offered.next())
        .flatten()
        .filter(|t| !t.is_empty())
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match bearer(parts) {
            None => Ok(Self(None)),
            Some(t) => state
                .tokens
                .verify(t, Timestamp::now())
                .map(|c| Self(Some(c))),
        }
    }
}

impl FromRequestParts<AppState> for SignedIn {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        match Viewer::from_request_parts(parts, state).await? {
            Viewer(Some(c)) => Ok(Self(c)),
            Viewer(None) => Err(ApiError::Unauthorized("sign in to do this")),
        }
    }
}

impl FromRequestParts<AppState> for HostCaller {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let token =
            bearer(parts).ok_or(ApiError::Unauthorized("the host API needs a bearer token"))?;
        if let Some(admin) = state.config.admin_token.as_deref()
            && constant_time_eq(admin.as_bytes(), token.as_bytes())
        {
            return Ok(Self::Admin);
        }
        let claims = state.tokens.verify(token, Timestamp::now())?;
        match claims.role {
            Role::Host => Ok(Self::Host(claims)),
            Role::Admin => Ok(Self::Admin),
            Role::Viewer => Err(ApiError::Forbidden("only hosts may use the host API")),
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    // Length leaks, content does not.
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::tokens::ACCESS_PREFIX;
    use super::*;

    fn claims(exp: i64) -> Claims {
        Claims {
            sub: UserId::new(),
            name: "Ava".into(),
            role: Role::Viewer,
            exp,
            sid: Some("chain".into()),
        }
    }

    #[test]
    fn tokens_verify_and_expire() {
        let keys = TokenKeys::new(Some("k"));
        let now = Timestamp::now();
        let c = claims(now.as_second() + 60);
        let t = keys.mint(&c);
        assert_eq!(keys.verify(&t, now).expect("valid"), c);
        let later = now + SignedDuration::from_secs(61);
        assert!(matches!(
            keys.verify(&t, later),
            Err(ApiError::TokenExpired)
        ));
    }

    #[test]
    fn forged_or_foreign_tokens_are_refused() {
        let keys = TokenKeys::new(Some("k"));
        let other = TokenKeys::new(Some("other"));
        let now = Timestamp::now();
        let t = other.mint(&claims(now.as_second() + 60));
        assert!(matches!(
            keys.verify(&t, now),
            Err(ApiError::Unauthorized(_))
        ));
        // A tampered payload (role raised to admin) fails the signature.
        let mut admin = claims(now.as_second() + 60);
        admin.role = Role::Admin;
        let forged_payload = B64.encode(serde_json::to_vec(&admin).expect("json"));
        let real = keys.mint(&claims(now.as_second() + 60));
        let sig = real.rsplit('.').next().expect("sig");
        let forged = format!("{ACCESS_PREFIX}.{forged_payload}.{sig}");
        assert!(matches!(
            keys.verify(&forged, now),
            Err(ApiError::Unauthorized(_))
        ));
        assert!(matches!(
            keys.verify("garbage", now),
            Err(ApiError::Unauthorized(_))
        ));
    }
}
