//! Signing in and out, refreshing, and who you are.
//!
//! Two ways to hold a session. An app with a keyring (desktop, phone) gets
//! both tokens in the body and keeps the refresh token in the keyring. A
//! browser asks for the cookie form with `X-Livecart-Session: cookie`: the
//! refresh token then goes only into an `HttpOnly; SameSite=Strict` cookie
//! scoped to `/v1/session` (`Secure` unless the server is reached on
//! loopback and its public URL is not HTTPS), the body's `refresh_token` is empty, and the access token lives
//! in the page's memory. A refresh in that form reads the cookie and sets the
//! next one. A cross-site page cannot send the header (it is not a simple
//! request, and the server allows no cross-origin callers), so the cookie is
//! only ever used by livecart's own pages.

use super::extract::{Body, ClientAddr};
use crate::auth::{self, SignedIn};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::Json;
use axum::extract::{FromRequest, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use livecart_protocol::rest::{Profile, RefreshRequest, SessionResponse, SignInRequest};

/// The header a browser sends to hold its session in a cookie.
pub const SESSION_MODE: &str = "x-livecart-session";
/// The refresh token's cookie.
pub const REFRESH_COOKIE: &str = "livecart_refresh";
/// What the cookie is sent to: sign-in, refresh and sign-out, nothing else.
const COOKIE_PATH: &str = "/v1/session";

fn wants_cookie(headers: &HeaderMap) -> bool {
    headers
        .get(SESSION_MODE)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"cookie"))
}

/// Whether the request reached the server on loopback (`Secure` cookies
/// would not be sent back over plain HTTP there; local use is exempt).
fn on_loopback(headers: &HeaderMap) -> bool {
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let name = match host.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => host.split(':').next().unwrap_or_default(),
    };
    name.eq_ignore_ascii_case("localhost")
        || name
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The `Set-Cookie` for a refresh token (`None`: clear it).
fn refresh_cookie(
    state: &AppState,
    session: Option<&SessionResponse>,
    headers: &HeaderMap,
) -> HeaderValue {
    // Behind a TLS proxy on the same machine the request arrives for a
    // loopback host: the server's public URL says it is served over HTTPS.
    let secure = state.base_url.starts_with("https://") || !on_loopback(headers);
    let mut c = cookie::Cookie::build((
        REFRESH_COOKIE,
        session.map_or(String::new(), |s| s.refresh_token.clone()),
    ))
    .http_only(true)
    .same_site(cookie::SameSite::Strict)
    .path(COOKIE_PATH)
    .secure(secure);
    c = match session {
        Some(s) => {
            let left = s.refresh_expires_at.duration_since(jiff::Timestamp::now());
            c.max_age(cookie::time::Duration::seconds(left.as_secs().max(0)))
        }
        None => c.max_age(cookie::time::Duration::ZERO),
    };
    // A token is URL-safe base64 and the rest is fixed text: always a valid
    // header value.
    HeaderValue::from_str(&c.build().to_string()).unwrap_or(HeaderValue::from_static(""))
}

/// The answer to a sign-in or refresh: in the cookie form, the refresh
/// token leaves the body for the cookie.
fn session_answer(state: &AppState, mut session: SessionResponse, headers: &HeaderMap) -> Response {
    let cookie = wants_cookie(headers).then(|| refresh_cookie(state, Some(&session), headers));
    if cookie.is_some() {
        session.refresh_token = String::new();
    }
    let mut res = no_store(Json(session));
    if let Some(c) = cookie {
        res.headers_mut().insert(header::SET_COOKIE, c);
    }
    res
}

pub(super) async fn sign_in(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    headers: HeaderMap,
    Body(req): Body<SignInRequest>,
) -> ApiResult<Response> {
    state.guard.sign_in_attempt(&req.username, address)?;
    let session = auth::sign_in(&state, &req.username, &req.password).await?;
    tracing::info!(user = %session.user.id, cookie = wants_cookie(&headers), "signed in");
    Ok(session_answer(&state, session, &headers))
}

/// `DELETE /v1/session`: signs out everywhere this session chain reaches
/// (its refresh and access tokens stop working at once), and clears a
/// browser's cookie.
pub(super) async fn sign_out(
    State(state): State<AppState>,
    SignedIn(claims): SignedIn,
    headers: HeaderMap,
) -> ApiResult<Response> {
    auth::sign_out(&state, &claims).await?;
    let mut res = StatusCode::NO_CONTENT.into_response();
    res.headers_mut()
        .insert(header::SET_COOKIE, refresh_cookie(&state, None, &headers));
    Ok(res)
}

/// `POST /v1/session/refresh`: the refresh token from the body, or in the
/// cookie form from the cookie (any body is ignored).
pub(super) async fn refresh(State(state): State<AppState>, req: Request) -> ApiResult<Response> {
    let headers = req.headers().clone();
    let token = if wants_cookie(&headers) {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(cookie::Cookie::split_parse)
            .filter_map(Result::ok)
            .find(|c| c.name() == REFRESH_COOKIE && !c.value().is_empty())
            .map(|c| c.value().to_owned())
            .ok_or(ApiError::Unauthorized(
                "no session cookie here; sign in again",
            ))?
    } else {
        let Body(body) = Body::<RefreshRequest>::from_request(req, &()).await?;
        body.refresh_token
    };
    let session = auth::refresh(&state, &token).await?;
    Ok(session_answer(&state, session, &headers))
}

fn no_store(body: impl IntoResponse) -> Response {
    let mut res = body.into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

pub(super) async fn me(
    State(state): State<AppState>,
    SignedIn(claims): SignedIn,
) -> ApiResult<Json<Profile>> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT username, display_name FROM users WHERE id = ?")
            .bind(claims.sub.to_string())
            .fetch_optional(&state.db)
            .await?;
    let (username, name) = row.ok_or(ApiError::NotFound("user"))?;
    Ok(Json(Profile {
        id: claims.sub,
        username,
        name,
        role: claims.role,
    }))
}
