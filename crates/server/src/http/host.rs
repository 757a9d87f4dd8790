//! The host API (`/v1/host/...`): thin handlers over the room operations in
//! `live::host`, which the demo scripts call too.

use super::extract::{Body, PathId, parse_id};
use crate::auth::HostCaller;
use crate::error::{ApiError, ApiResult};
use crate::live::host;
use crate::state::AppState;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use livecart_protocol::rest::{
    AddProductRequest, CreateRoomRequest, FlashSaleState, HostRoomsResponse, MuteRequest,
    NoticeRequest, PinRequest, RoomStatus, StartFlashSaleRequest, UnpinRequest,
};
use livecart_protocol::{FlashSaleId, MessageId, RoomId};
pub(super) async fn list(
    State(state): State<AppState>,
    caller: HostCaller,
) -> Json<HostRoomsResponse> {
    Json(HostRoomsResponse {
        rooms: host::list(&state, &caller),
    })
}

pub(super) async fn create(
    State(state): State<AppState>,
    caller: HostCaller,
    Body(req): Body<CreateRoomRequest>,
) -> ApiResult<Response> {
    let room = host::create_room(&state, &caller, req).await?;
    Ok((StatusCode::CREATED, Json(room)).into_response())
}

pub(super) async fn start(
    State(state): State<AppState>,
    caller: HostCaller,
    PathId(room): PathId<RoomId>,
) -> ApiResult<Response> {
    Ok(Json(host::set_status(&state, &caller, room, RoomStatus::Live).await?).into_response())
}

pub(super) async fn end(
    State(state): State<AppState>,
    caller: HostCaller,
    PathId(room): PathId<RoomId>,
) -> ApiResult<Response> {
    Ok(Json(host::set_status(&state, &caller, room, RoomStatus::Ended).await?).into_response())
}

pub(super) async fn add_product(
    State(state): State<AppState>,
    caller: HostCaller,
    PathId(room): PathId<RoomId>,
    Body(req): Body<AddProductRequest>,
) -> ApiResult<Response> {
    let p = host::add_product(&state, &caller, room, req).await?;
    Ok((StatusCode::CREATED, Json(p)).into_response())
}

pub(super) async fn pin(
    State(state): State<AppState>,
    caller: HostCaller,
    PathId(room): PathId<RoomId>,
    Body(req): Body<PinRequest>,
) -> ApiResult<Response> {
    Ok(Json(host::pin(&state, &caller, room, req).await?).into_response())
}

pub(super) async fn unpin(
    State(state): State<AppState>,
    caller: HostCaller,
    PathId(room): PathId<RoomId>,
    body: axum::body::Bytes,
) -> ApiResult<StatusCode> {
    // The body is optional: an empty one unpins at the server's clock.
    let req: UnpinRequest = if body.is_empty() {
        UnpinRequest::default()
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?
    };
    host::unpin(&state, &caller, room, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn flash_sale(
    State(state): State<AppState>,
    caller: HostCaller,
    PathId(room): PathId<RoomId>,
    Body(req): Body<StartFlashSaleRequest>,
) -> ApiResult<Response> {
    let sale = host::start_flash_sale(&state, &caller, room, req).await?;
    Ok((StatusCode::CREATED, Json(sale)).into_response())
}

/// The host ends a flash sale before its deadline ("that's it, sale over").
pub(super) async fn end_flash_sale(
    State(state): State<AppState>,
    caller: HostCaller,
    Path((id, sale)): Path<(String, String)>,
) -> ApiResult<Response> {
    let room = host::authorize(&state, &caller, parse_id(&id, "room")?)?;
    let sale: FlashSaleId = parse_id(&sale, "flash sale")?;
    let ended = host::end_flash_sale(&state, &room, sale, FlashSaleState::Ended).await?;
    Ok(Json(ended).into_response())
}

pub(super) async fn mute(
    State(state): State<AppState>,
    caller: HostCaller,
    PathId(room): PathId<RoomId>,
    Body(req): Body<MuteRequest>,
) -> ApiResult<Response> {
    let until = host::mute(&state, &caller, room, req).await?;
    Ok(Json(serde_json::json!({ "until": until })).into_response())
}

pub(super) async fn notice(
    State(state): State<AppState>,
    caller: HostCaller,
    PathId(room): PathId<RoomId>,
    Body(req): Body<NoticeRequest>,
) -> ApiResult<StatusCode> {
    host::notice(&state, &caller, room, &req.text)?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(feature = "demo")]
pub(super) async fn demo_gift(
    State(state): State<AppState>,
    caller: HostCaller,
    PathId(room): PathId<RoomId>,
    Body(req): Body<livecart_protocol::rest::DemoGiftRequest>,
) -> ApiResult<StatusCode> {
    host::demo_gift(&state, &caller, room, req).await?;
    Ok(StatusCode::NO_CONTENT)
}

pub(super) async fn remove_message(
    State(state): State<AppState>,
    caller: HostCaller,
    Path((id, message)): Path<(String, String)>,
) -> ApiResult<StatusCode> {
    let room: RoomId = parse_id(&id, "room")?;
    let message: MessageId = parse_id(&message, "message")?;
    host::remove_message(&state, &caller, room, message)?;
    Ok(StatusCode::NO_CONTENT)
}
