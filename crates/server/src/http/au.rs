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
use livecart_media::flv::FlvReader;
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
    let room: RoomId = room.parse().map_err(|_| ApiError::NotFound("stream"))?;
    let (start, live) = super::flv::open_stream(&state, room).await?;
    let shutdown = state.shutdown.clone();
    Ok(ws
        .read_buffer_size(1024)
        .max_message_size(1024)
        .max_frame_size(1024)
        .on_upgrade(move |socket| async move {
            tokio::select! {
                () = shutdown.cancelled() => {}
                () = stream(socket, start, live) => {}
            }
        }))
}

/// The first messages a viewer gets: the GOP so far, all but the newest
/// picture late.
fn first_messages(reader: &mut FlvReader, framer: &mut AuFramer, start: &[u8]) -> Vec<Bytes> {
    let Ok((_, tags)) = reader.push(start) else {
        return Vec::new();
    };
    let newest = tags
        .iter()
        .rposition(|t| t.is_video() && !t.is_sequence_header());
    tags.iter()
        .enumerate()
        .filter_map(|(i, t)| framer.frame(t, Some(i) != newest))
        .collect()
}

/// Sends one message; `false` if the viewer is gone or stalled.
async fn send(tx: &mut SplitSink<WebSocket, Message>, m: Bytes) -> bool {
    matches!(
        tokio::time::timeout(SEND_TIMEOUT, tx.send(Message::Binary(m))).await,
        Ok(Ok(()))
    )
}

async fn stream(socket: WebSocket, start: Bytes, mut live: broadcast::Receiver<Bytes>) {
    let (mut tx, mut rx) = socket.split();
    let mut reader = FlvReader::default();
    let mut framer = AuFramer::default();
    for m in first_messages(&mut reader, &mut framer, &start) {
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
                    for t in tags {
                        let Some(m) = framer.frame(&t, false) else { continue };
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
