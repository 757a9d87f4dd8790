//! The signed-in user's own socket, `/v1/me/live` (protocol: `me`): their
//! orders moving along and their wallet balance, while they do something
//! else (watch a live).
//!
//! [`MeHub`] keeps, per user, an epoch, a `seq` counter, the last
//! [`HISTORY`] events and a broadcast channel; idle channels (no socket,
//! quiet for 10 min) are let go once there are many. A new channel — after
//! a restart, or after one was let go — is a new epoch: the client gets a
//! snapshot. `publish` numbers, records and broadcasts
//! under the user's lock and `join` subscribes under it, so a joiner's
//! catch-up and live stream meet with no gap and no duplicate (as rooms).
//! The user comes from the access token only: there is no user id in the
//! URL to guess.

use crate::auth::Claims;
use crate::error::ApiResult;
use crate::state::AppState;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use futures_util::{SinkExt, StreamExt};
use jiff::Timestamp;
use livecart_protocol::live::{LiveQuery, close};
use livecart_protocol::me::{MeClientFrame, MeFrame, MeSnapshot, SNAPSHOT_ORDERS};
use livecart_protocol::rest::UserRef;
use livecart_protocol::{Epoch, ErrorCode, Money, PROTOCOL_VERSION, UserId};
use tokio::sync::broadcast;

pub async fn live(
    ws: WebSocketUpgrade,
    axum::extract::State(state): axum::extract::State<AppState>,
    crate::auth::SignedIn(me): crate::auth::SignedIn,
    axum::extract::Query(q): axum::extract::Query<LiveQuery>,
) -> ApiResult<axum::response::Response> {
    let (ws, resume) = crate::live::ws::accept(ws, &q, &state)?;
    // A browser's token came as the subprotocol pair `livecart.bearer,
    // <token>` (auth.rs): the answer names the protocol, never the token.
    let ws = ws.protocols([crate::auth::BEARER_PROTOCOL]);
    Ok(ws.on_upgrade(move |socket| serve(state, me, resume, socket)))
}

async fn snapshot(
    state: &AppState,
    user: UserId,
    seq: u64,
    epoch: Epoch,
) -> anyhow::Result<MeSnapshot> {
    let mut conn = state.db.acquire().await?;
    let currency = state.config.money.currency();
    let orders = crate::money::orders::tracking::load(
        &mut conn,
        &state.base_url,
        user,
        None,
        SNAPSHOT_ORDERS as u32,
    )
    .await?;
    let balance = crate::money::ledger::wallet_balance(&mut conn, user, currency).await?;
    Ok(MeSnapshot {
        orders,
        balance: Money::new(balance, currency),
        seq,
        epoch,
    })
}

async fn serve(state: AppState, me: Claims, resume: Option<(u64, Epoch)>, socket: WebSocket) {
    let _counted = state.websocket();
    let (mut tx, mut rx) = socket.split();
    let end = async {
        let mut join = state.me.join(me.sub, resume);
        let epoch = join.epoch;
        let welcome = MeFrame::Welcome {
            protocol_version: PROTOCOL_VERSION,
            user: UserRef {
                id: me.sub,
                name: me.name.clone(),
            },
            epoch,
            seq: join.seq,
            server_time: Timestamp::now(),
            heartbeat_ms: state.config.ws.heartbeat_ms,
            resumed: join.missed.is_some(),
        };
        send(&mut tx, &welcome).await?;
        if let Some(missed) = join.missed.take() {
            for text in missed {
                tx.send(Message::Text(Utf8Bytes::from(&*text))).await.ok()?;
            }
        } else {
            let snap = snapshot(&state, me.sub, join.seq, epoch).await.ok()?;
            send(&mut tx, &MeFrame::Snapshot { snapshot: Box::new(snap) }).await?;
        }
        let heartbeat = state.config.heartbeat();
        let mut ping = tokio::time::interval(heartbeat);
        ping.tick().await;
        let mut last_heard = tokio::time::Instant::now();
        loop {
            tokio::select! {
                () = state.shutdown.cancelled() => return Some((close::GOING_AWAY, "server shutting down")),
                frame = join.live.recv() => match frame {
                    Ok(text) => tx.send(Message::Text(Utf8Bytes::from(&*text))).await.ok()?,
                    // Too far behind to catch up live: the client resumes
                    // (history) or resyncs (snapshot) on reconnect.
                    Err(broadcast::error::RecvError::Lagged(_)) => {
                        return Some((close::SLOW_CONSUMER, "fell behind; reconnect to resume"));
                    }
                    Err(broadcast::error::RecvError::Closed) => return None,
                },
                msg = rx.next() => {
                    last_heard = tokio::time::Instant::now();
                    match msg {
                        Some(Ok(Message::Text(t))) => {
                            let reply = match serde_json::from_str::<MeClientFrame>(&t) {
                                Ok(MeClientFrame::Ping { nonce }) => MeFrame::Pong { nonce },
                                Err(e) => MeFrame::Error {
                                    code: ErrorCode::Malformed,
                                    message: format!("not a frame this socket takes: {e}"),
                                },
                            };
                            send(&mut tx, &reply).await?;
                        }
                        Some(Err(e)) if crate::live::ws::too_big(&e) => {
                            return Some((close::MESSAGE_TOO_BIG, "frame too large: a client frame is 64 KiB at most"));
                        }
                        Some(Ok(Message::Close(_)) | Err(_)) | None => return None,
                        Some(Ok(_)) => {}
                    }
                }
                _ = ping.tick() => {
                    if last_heard.elapsed() > heartbeat * 3 {
                        return Some((close::IDLE_TIMEOUT, "no heartbeat"));
                    }
                    tx.send(Message::Ping(Vec::new().into())).await.ok()?;
                }
            }
        }
    }
    .await;
    if let Some((code, reason)) = end {
        let _ = tokio::time::timeout(
            std::time::Duration::from_millis(200),
            tx.send(Message::Close(Some(CloseFrame {
                code,
                reason: Utf8Bytes::from_static(reason),
            }))),
        )
        .await;
        // Unread bytes at close would reset the connection before the
        // client reads why: read until it closes too (briefly).
        let _ = tokio::time::timeout(std::time::Duration::from_secs(1), async {
            while let Some(m) = rx.next().await {
                if matches!(m, Ok(Message::Close(_))) {
                    break;
                }
            }
        })
        .await;
    }
}

async fn send(
    tx: &mut futures_util::stream::SplitSink<WebSocket, Message>,
    frame: &MeFrame,
) -> Option<()> {
    let text = serde_json::to_string(frame).ok()?;
    tx.send(Message::Text(text.into())).await.ok()
}
