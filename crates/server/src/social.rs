//! Following hosts and reporting chat messages.
//!
//! - `GET /v1/me/following` → the hosts the caller follows.
//! - `PUT /v1/me/following/{host}` / `DELETE …` → 204, idempotent; an unknown
//!   user or one who is not a host is 404, following yourself is 400.
//! - `POST /v1/rooms/{id}/reports` `{message_id, reason}` → 202; the same
//!   reporter reporting the same message again is still one report.

use crate::auth::SignedIn;
use crate::error::{ApiError, ApiResult};
use crate::http::{Body, PathId, parse_id};
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use jiff::Timestamp;
use livecart_protocol::rest::{FollowingResponse, ReportRequest};
use livecart_protocol::{RoomId, UserId};
use uuid::Uuid;

pub async fn following(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
) -> ApiResult<Json<FollowingResponse>> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT host_id FROM follows WHERE user_id = ? ORDER BY created_at")
            .bind(me.sub.to_string())
            .fetch_all(&state.db)
            .await?;
    let hosts = rows
        .into_iter()
        .filter_map(|(id,)| id.parse::<UserId>().ok())
        .collect();
    Ok(Json(FollowingResponse { hosts }))
}

async fn host_exists(state: &AppState, host: UserId) -> ApiResult<()> {
    let found: Option<(String,)> =
        sqlx::query_as("SELECT id FROM users WHERE id = ? AND role = 'host'")
            .bind(host.to_string())
            .fetch_optional(&state.db)
            .await?;
    found.map(|_| ()).ok_or(ApiError::NotFound("host"))
}

pub async fn follow(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    Path(host): Path<String>,
) -> ApiResult<StatusCode> {
    let host: UserId = parse_id(&host, "host")?;
    if host == me.sub {
        return Err(ApiError::BadRequest("you cannot follow yourself".into()));
    }
    host_exists(&state, host).await?;
    sqlx::query(
        "INSERT INTO follows (user_id, host_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
    )
    .bind(me.sub.to_string())
    .bind(host.to_string())
    .bind(Timestamp::now().to_string())
    .execute(&state.writer)
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn unfollow(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    Path(host): Path<String>,
) -> ApiResult<StatusCode> {
    let host: UserId = parse_id(&host, "host")?;
    host_exists(&state, host).await?;
    sqlx::query("DELETE FROM follows WHERE user_id = ? AND host_id = ?")
        .bind(me.sub.to_string())
        .bind(host.to_string())
        .execute(&state.writer)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

pub async fn report(
    State(state): State<AppState>,
    SignedIn(me): SignedIn,
    PathId(room_id): PathId<RoomId>,
    Body(req): Body<ReportRequest>,
) -> ApiResult<StatusCode> {
    let room = state.rooms.get(room_id).ok_or(ApiError::NotFound("room"))?;
    let reason = crate::rules::text("reason", &req.reason, 200, false)?;
    let day_ago = (Timestamp::now() - jiff::SignedDuration::from_hours(24)).to_string();
    let today: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM reports WHERE reporter_id = ? AND created_at > ?")
            .bind(me.sub.to_string())
            .bind(day_ago)
            .fetch_one(&state.db)
            .await?;
    if today >= crate::rules::REPORTS_PER_USER_PER_DAY {
        return Err(ApiError::RateLimited {
            detail: "you have reported a lot today; the moderators are on it".into(),
            retry_after_ms: 3_600_000,
        });
    }
    // The message as the room still has it (chat lives in memory): who wrote
    // it and what it said, kept with the report for the moderators.
    let seen = room.read(|st| {
        st.snap
            .chat
            .iter()
            .find(|m| m.id == req.message_id)
            .map(|m| (m.user.id.to_string(), m.text.clone()))
    });
    sqlx::query(
        "INSERT INTO reports (id, reporter_id, room_id, message_id, author_id, text, reason, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (reporter_id, message_id) DO NOTHING",
    )
    .bind(Uuid::now_v7().to_string())
    .bind(me.sub.to_string())
    .bind(room_id.to_string())
    .bind(req.message_id.to_string())
    .bind(seen.as_ref().map(|s| s.0.clone()))
    .bind(seen.map(|s| s.1))
    .bind(reason)
    .bind(Timestamp::now().to_string())
    .execute(&state.writer)
    .await?;
    tracing::info!(room = %room_id, message = %req.message_id, "chat message reported");
    Ok(StatusCode::ACCEPTED)
}
