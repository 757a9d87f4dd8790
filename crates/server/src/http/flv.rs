//! `GET /live/{room}.flv`: a room's video as HTTP-FLV from its hub in
//! `live::streams` (the server's own stream, or its relay of the host's).

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use livecart_protocol::RoomId;
use tokio::sync::broadcast::error::RecvError;

/// `GET /live/{room}.flv`: the GOP cache at once, then live tags, until the
/// viewer falls too far behind (it reconnects) or the server shuts down.
pub(super) async fn serve_flv(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> ApiResult<Response> {
    let room: RoomId = file
        .strip_suffix(".flv")
        .and_then(|id| id.parse().ok())
        .ok_or(ApiError::NotFound("stream"))?;
    let (start, rx) = open_stream(&state, room).await?;
    let shutdown = state.shutdown.clone();
    let live = futures_util::stream::unfold((rx, shutdown), |(mut rx, shutdown)| async move {
        let next = tokio::select! {
            () = shutdown.cancelled() => return None,
            r = rx.recv() => r,
        };
        match next {
            Ok(tag) => Some((Ok::<Bytes, std::io::Error>(tag), (rx, shutdown))),
            // Too slow or the stream ended: close; the player reconnects at the live edge.
            Err(RecvError::Lagged(_) | RecvError::Closed) => None,
        }
    });
    let body = futures_util::StreamExt::chain(futures_util::stream::iter([Ok(start)]), live);
    let mut res = Body::from_stream(body).into_response();
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("video/x-flv"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// Starts the room's publisher if needed (a relay is registered on the
/// first viewer: live/origin.rs) and joins its hub: what a viewer starts with
/// (from the latest keyframe) and the live tags after it.
pub(super) async fn open_stream(
    state: &AppState,
    room: RoomId,
) -> ApiResult<(Bytes, tokio::sync::broadcast::Receiver<Bytes>)> {
    crate::live::origin::adopt(state, room);
    state.streams.ensure_running(room).await;
    // It did not start (too many pulls, a name that points inside): say so
    // now, not after the wait below.
    if !state.streams.running(room)
        && let Some(why) = state.streams.trouble(room)
    {
        return Err(ApiError::Unavailable(why));
    }
    let hub = state
        .streams
        .get(room)
        .ok_or(ApiError::NotFound("stream"))?;
    // A stream that is starting (publisher warming up, a relay connecting)
    // is worth a short wait: the viewer gets its first keyframe the moment
    // it exists.
    if hub.subscribe().is_none() {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(3), hub.wait_ready()).await;
    }
    hub.subscribe().ok_or_else(|| {
        ApiError::Unavailable(
            state
                .streams
                .trouble(room)
                .unwrap_or_else(|| "the stream is starting; try again in a moment".into()),
        )
    })
}
