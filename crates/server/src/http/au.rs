//! `GET /live/{room}/au` (WebSocket): a room's video and audio as access
//! units, for players that decode with WebCodecs (the web app). One binary
//! message per H.264 access unit or AAC frame, framed as
//! `livecart_media::au` says (docs/video-path.md). A viewer starts at the
//! hub's latest keyframe: the pictures before the newest are marked late
//! (decode, do not show), so the first picture shows at once and is live.
//!
//! The socket only sends. A client message is read and dropped (the read
//! buffer is small and a message over 1 KiB closes the socket); a viewer that
//! falls more than the hub's backlog behind, or takes more than
//! `SEND_TIMEOUT` to take one message, is closed and reconnects at the live
//! edge.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::response::Response;
use bytes::Bytes;
use futures_util::stream::SplitSink;
use futures_util::{SinkExt, StreamExt};
use livecart_media::au::AuFramer;
use livecart_media::flv::{FlvReader, Tag};
use livecart_media::fmp4::{Fmp4, Fmp4Muxer};
use livecart_protocol::RoomId;
use std::time::Duration;
use tokio::sync::broadcast::{self, error::RecvError};

/// The longest one message may take to leave (a stalled viewer is cut off).
const SEND_TIMEOUT: Duration = Duration::from_secs(10);
/// Close code: the viewer fell behind the live edge (reconnect to catch up).
const CLOSE_BEHIND: u16 = 4008;
/// Close code: the stream ended or restarted (reconnect for the new one).
const CLOSE_RESTARTED: u16 = 4009;

pub(super) async fn serve_au(
    State(state): State<AppState>,
    Path(room): Path<String>,
    ws: WebSocketUpgrade,
) -> ApiResult<Response> {
    let (start, live) = open(&state, &room).await?;
    let mut framer = AuFramer::default();
    Ok(upgrade(ws, &state, start, live, move |t, late| {
        framer
            .frame(t, late)
            .map(Message::Binary)
            .into_iter()
            .collect()
    }))
}

/// `GET /live/{room}/fmp4` (WebSocket): the same stream as fragmented MP4
/// for `MediaSource` (the web app's fallback without WebCodecs): first the
/// MediaSource type as a text message, then the initialisation segment, then
/// one fragment per access unit or AAC frame (`livecart_media::fmp4`). The
/// join's GOP is sent whole (the browser decodes from its keyframe; the
/// player jumps to the newest picture).
pub(super) async fn serve_fmp4(
    State(state): State<AppState>,
    Path(room): Path<String>,
    ws: WebSocketUpgrade,
) -> ApiResult<Response> {
    let (start, live) = open(&state, &room).await?;
    let mut muxer = Fmp4Muxer::default();
    Ok(upgrade(ws, &state, start, live, move |t, _| {
        muxer
            .push(t)
            .into_iter()
            .flat_map(|m| match m {
                Fmp4::Init { mime, segment } => {
                    vec![Message::Text(mime.into()), Message::Binary(segment)]
                }
                Fmp4::Fragment(f) => vec![Message::Binary(f)],
            })
            .collect()
    }))
}

/// The room's stream: what a joining viewer gets at once, then the live tags.
async fn open(state: &AppState, room: &str) -> ApiResult<(Bytes, broadcast::Receiver<Bytes>)> {
    let room: RoomId = room.parse().map_err(|_| ApiError::NotFound("stream"))?;
    super::flv::open_stream(state, room).await
}

/// The socket: the viewer's read side kept small, the stream sent until the
/// server shuts down. `frame` turns a tag into messages (`late`: part of the
/// GOP the viewer joins with, before its newest picture).
fn upgrade(
    ws: WebSocketUpgrade,
    state: &AppState,
    start: Bytes,
    live: broadcast::Receiver<Bytes>,
    frame: impl FnMut(&Tag, bool) -> Vec<Message> + Send + 'static,
) -> Response {
    let shutdown = state.shutdown.clone();
    ws.read_buffer_size(1024)
        .max_message_size(1024)
        .max_frame_size(1024)
        .on_upgrade(move |socket| async move {
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = stream(socket, start, live, frame) => {}
            }
        })
}

/// The first messages a viewer gets: the GOP so far, all but the newest
/// picture late.
fn first_messages(
    reader: &mut FlvReader,
    frame: &mut impl FnMut(&Tag, bool) -> Vec<Message>,
    start: &[u8],
) -> Vec<Message> {
    let Ok((_, tags)) = reader.push(start) else {
        return Vec::new();
    };
    let newest = tags
        .iter()
        .rposition(|t| t.is_video() && !t.is_sequence_header());
    tags.iter()
        .enumerate()
        .flat_map(|(i, t)| frame(t, Some(i) != newest))
        .collect()
}

/// Sends one message; `false` if the viewer is gone or stalled.
async fn send(tx: &mut SplitSink<WebSocket, Message>, m: Message) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, tx.send(m)).await,
        Ok(Ok(()))
    )
}

async fn stream(
    socket: WebSocket,
    start: Bytes,
    mut live: broadcast::Receiver<Bytes>,
    mut frame: impl FnMut(&Tag, bool) -> Vec<Message>,
) {
    let (mut tx, mut rx) = socket.split();
    let mut reader = FlvReader::default();
    for m in first_messages(&mut reader, &mut frame, &start) {
        if !send(&mut tx, m).await {
            return;
        }
    }
    let why = loop {
        tokio::select! {
            next = live.recv() => match next {
                Ok(bytes) => {
                    let Ok((_, tags)) = reader.push(&bytes) else {
                        break (CLOSE_RESTARTED, "the stream is not FLV");
                    };
                    for m in tags.iter().flat_map(|t| frame(t, false)) {
                        if !send(&mut tx, m).await {
                            return;
                        }
                    }
                }
                Err(RecvError::Lagged(_)) => break (CLOSE_BEHIND, "fell behind the live edge"),
                Err(RecvError::Closed) => break (CLOSE_RESTARTED, "the stream restarted"),
            },
            msg = rx.next() => match msg {
                Some(Ok(Message::Close(_)) | Err(_)) | None => return,
                Some(Ok(_)) => {}
            },
        }
    };
    let _ = tx
        .send(Message::Close(Some(CloseFrame {
            code: why.0,
            reason: why.1.into(),
        })))
        .await;
}
