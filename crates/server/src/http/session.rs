//! Signing in and out, refreshing, and who you are.

use super::extract::{Body, ClientAddr};
use crate::auth::{self, SignedIn};
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use livecart_protocol::rest::{Profile, RefreshRequest, SignInRequest};

pub(super) async fn sign_in(
    State(state): State<AppState>,
    ClientAddr(address): ClientAddr,
    Body(req): Body<SignInRequest>,
) -> ApiResult<Response> {
    state.guard.sign_in_attempt(&req.username, address)?;
    let session = auth::sign_in(&state, &req.username, &req.password).await?;
    tracing::info!(user = %session.user.id, "signed in");
    Ok(no_store(Json(session)))
}

/// `DELETE /v1/session`: signs out everywhere this session chain reaches
/// (its refresh and access tokens stop working at once).
pub(super) async fn sign_out(
    State(state): State<AppState>,
    SignedIn(claims): SignedIn,
) -> ApiResult<StatusCode> {
    auth::sign_out(&state, &claims).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn refresh(
    State(state): State<AppState>,
    Body(req): Body<RefreshRequest>,
) -> ApiResult<Response> {
    Ok(no_store(Json(
        auth::refresh(&state, &req.refresh_token).await?,
    )))
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
