//! The public room endpoints: the feed, a room's snapshot, the room's
//! WebSocket upgrade, the gift catalogue.

use super::extract::{ClientAddr, PathId};
use crate::auth::Viewer;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::Json;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Query, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use livecart_protocol::RoomId;
use livecart_protocol::live::LiveQuery;
use livecart_protocol::rest::{FeedResponse, Gift, GiftCatalog};

pub(super) async fn feed(State(state): State<AppState>) -> Json<FeedResponse> {
    Json(FeedResponse {
        rooms: state.rooms.feed(),
    })
}

pub(super) async fn room_snapshot(
    State(state): State<AppState>,
    PathId(id): PathId<RoomId>,
) -> ApiResult<Response> {
    let room = state.rooms.get(id).ok_or(ApiError::NotFound("room"))?;
    let mut res = Json(room.snapshot()).into_response();
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

pub(super) async fn room_live(
    State(state): State<AppState>,
    PathId(id): PathId<RoomId>,
    Viewer(user): Viewer,
    ClientAddr(address): ClientAddr,
    q: Result<Query<LiveQuery>, axum::extract::rejection::QueryRejection>,
    ws: WebSocketUpgrade,
) -> ApiResult<Response> {
    let Query(q) = q.map_err(|e| ApiError::BadRequest(e.body_text()))?;
    let room = state.rooms.get(id).ok_or(ApiError::NotFound("room"))?;
    crate::live::ws::upgrade(ws, state, room, user, address, q)
}

pub(super) async fn gifts(State(state): State<AppState>) -> ApiResult<Response> {
    let rows: Vec<(String, String, i64, String)> =
        sqlx::query_as("SELECT id, name, coins, animation FROM gifts ORDER BY position, coins")
            .fetch_all(&state.db)
            .await?;
    let gifts = rows
        .into_iter()
        .map(|(id, name, coins, animation)| {
            Ok(Gift {
                id: crate::db::parse(&id, "gift id")?,
                name,
                coins: u32::try_from(coins).unwrap_or(0),
                animation,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut res = Json(GiftCatalog { gifts }).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=300"),
    );
    Ok(res)
}
