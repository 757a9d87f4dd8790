//! The room WebSocket. One task per connection: it forwards the room's shared
//! frames (batched into one flush when several are waiting), answers client
//! frames, pings, and closes idle, slow or shut-down connections with a
//! reason. A client frame that is refused gets an `error` frame and the
//! connection stays open; only frames too large to read safely close it.
//!
//! Size: one connection's state machine (auth, frames in and out, limits,
//! heartbeats, closes) in one place; split, its rules would be read across
//! files.

use crate::auth::Claims;
use crate::error::{ApiError, ApiResult};
use crate::live::bus::Frame;
use crate::live::room::{CatchUp, Room, Watcher};
use crate::state::AppState;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use jiff::Timestamp;
use livecart_protocol::MessageId;
use livecart_protocol::decode_client_frame;
use livecart_protocol::live::{LiveQuery, close};
use livecart_protocol::rest::ChatMessage;
use livecart_protocol::{ClientFrame, ErrorCode, PROTOCOL_VERSION, RoomEvent, ServerFrame};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::broadcast::error::{RecvError, TryRecvError};
use tokio::time::{Instant, timeout};

/// Frames forwarded per flush at most, so one busy room cannot starve the
/// connection's other duties (reading, heartbeats).
const MAX_BATCH: usize = 256;

/// What both live sockets (a room's and the user's own) check and set at
/// the upgrade: the resume point (`since` and `epoch` together or not at
/// all) and the frame limits.
pub(crate) fn accept(
    ws: WebSocketUpgrade,
    q: &LiveQuery,
    state: &AppState,
) -> ApiResult<(WebSocketUpgrade, Option<(u64, livecart_protocol::Epoch)>)> {
    let resume = match (q.since, q.epoch) {
        (Some(s), Some(e)) => Some((s, e)),
        (None, None) => None,
        _ => {
            return Err(ApiError::BadRequest(
                "give both since and epoch, or neither".into(),
            ));
        }
    };
    let hard_max = state.config.ws.hard_max_frame_bytes;
    let ws = ws
        // Client frames are small; tungstenite's 128 KiB default read buffer
        // would dominate a connection's memory.
        .read_buffer_size(4 * 1024)
        .max_message_size(hard_max)
        .max_frame_size(hard_max);
    Ok((ws, resume))
}

pub fn upgrade(
    ws: WebSocketUpgrade,
    state: AppState,
    room: Arc<Room>,
    user: Option<Claims>,
    address: Option<IpAddr>,
    q: LiveQuery,
) -> ApiResult<axum::response::Response> {
    let (ws, resume) = accept(ws, &q, &state)?;
    Ok(ws.on_upgrade(move |socket| async move {
        Connection::new(state, room, user, address)
            .run(socket, resume)
            .await;
    }))
}

struct Connection {
    state: AppState,
    room: Arc<Room>,
    user: Option<Claims>,
    address: Option<IpAddr>,
    /// Where this socket counts among the room's viewers (set while open).
    watching: Option<Watching>,
    write_timeout: Duration,
}

type Tx = SplitSink<WebSocket, Message>;
type Rx = SplitStream<WebSocket>;

/// Why the loop ended, and what to tell the client.
enum End {
    Close(u16, &'static str),
    Gone,
}

/// A socket's place among the room's viewers, given back however the task
/// ends.
struct Watching {
    room: Arc<Room>,
    watcher: Watcher,
}

impl Watching {
    fn join(room: &Arc<Room>, watcher: Watcher, per_address: u32) -> Option<Self> {
        room.viewers().join(watcher, per_address).then(|| Self {
            room: room.clone(),
            watcher,
        })
    }

    /// Signed in on this socket: counted as that user from now on.
    fn become_user(&mut self, user: livecart_protocol::UserId) {
        let mut v = self.room.viewers();
        v.leave(self.watcher);
        self.watcher = Watcher::User(user);
        v.join(self.watcher, u32::MAX);
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        self.room.viewers().leave(self.watcher);
    }
}

impl Connection {
    fn new(
        state: AppState,
        room: Arc<Room>,
        user: Option<Claims>,
        address: Option<IpAddr>,
    ) -> Self {
        let write_timeout = Duration::from_millis(state.config.ws.write_timeout_ms);
        Self {
            state,
            room,
            user,
            address,
            watching: None,
            write_timeout,
        }
    }

    async fn run(mut self, socket: WebSocket, resume: Option<(u64, livecart_protocol::Epoch)>) {
        let _counted = self.state.websocket();
        let (mut tx, mut rx) = socket.split();
        let watcher = match &self.user {
            Some(u) => Watcher::User(u.sub),
            None => Watcher::Anonymous(self.address),
        };
        self.watching = Watching::join(
            &self.room,
            watcher,
            self.state.config.ws.anonymous_per_address,
        );
        let end = if self.watching.is_some() {
            self.serve(&mut tx, &mut rx, resume).await
        } else {
            End::Close(
                close::POLICY_VIOLATION,
                "too many connections to this room from your address",
            )
        };
        if let End::Close(code, reason) = end {
            let close = Message::Close(Some(CloseFrame {
                code,
                reason: Utf8Bytes::from_static(reason),
            }));
            let _ = timeout(Duration::from_millis(200), tx.send(close)).await;
            // Read what the client still sends until it closes too (briefly):
            // closing with unread bytes would reset the connection, and the
            // client would never see why.
            let _ = timeout(Duration::from_secs(1), async {
                while let Some(m) = rx.next().await {
                    if matches!(m, Ok(Message::Close(_))) {
                        break;
                    }
                }
            })
            .await;
        }
    }

    async fn serve(
        &mut self,
        tx: &mut Tx,
        rx: &mut Rx,
        resume: Option<(u64, livecart_protocol::Epoch)>,
    ) -> End {
        let join = self.room.join(resume);
        let welcome = ServerFrame::Welcome {
            protocol_version: PROTOCOL_VERSION,
            room_id: self.room.id,
            epoch: join.epoch,
            seq: join.seq,
            server_time: Timestamp::now(),
            heartbeat_ms: self.state.config.ws.heartbeat_ms,
            resumed: matches!(join.catch_up, CatchUp::Events(_)),
            user: self.user.as_ref().map(Claims::user_ref),
        };
        if self.feed_json(tx, &welcome).await.is_err() {
            return End::Gone;
        }
        match join.catch_up {
            CatchUp::Events(frames) => {
                for f in frames {
                    if self.feed(tx, f.text).await.is_err() {
                        return End::Gone;
                    }
                }
            }
            CatchUp::Snapshot(snapshot) => {
                if self
                    .feed_json(tx, &ServerFrame::Snapshot { snapshot })
                    .await
                    .is_err()
                {
                    return End::Gone;
                }
            }
        }
        if self.flush(tx).await.is_err() {
            return End::Gone;
        }

        let mut last_seq = join.seq;
        let mut live = join.live;
        let hb = self.state.config.heartbeat();
        let mut ticker = tokio::time::interval_at(Instant::now() + hb, hb);
        let mut last_heard = Instant::now();
        let shutdown = self.state.shutdown.clone();
        loop {
            tokio::select! {
                () = shutdown.cancelled() => return End::Close(close::GOING_AWAY, "server shutting down"),
                r = live.recv() => match r {
                    Ok(f) => match self.forward(tx, &mut live, f, &mut last_seq).await {
                        Ok(()) => {}
                        Err(end) => return end,
                    },
                    Err(RecvError::Lagged(_)) => return slow(),
                    Err(RecvError::Closed) => return End::Close(close::ROOM_ENDED, "room closed"),
                },
                m = rx.next() => match m {
                    // A frame over the hard limit is not read: say why (1009).
                    Some(Err(e)) if too_big(&e) => return End::Close(
                        close::MESSAGE_TOO_BIG,
                        "frame too large: a client frame is 64 KiB at most",
                    ),
                    None | Some(Err(_) | Ok(Message::Close(_))) => return End::Gone,
                    Some(Ok(msg)) => {
                        last_heard = Instant::now();
                        if let Some(reply) = self.on_message(msg)
                            && (self.feed_json(tx, &reply).await.is_err() || self.flush(tx).await.is_err()) {
                                return End::Gone;
                            }
                    }
                },
                _ = ticker.tick() => {
                    if last_heard.elapsed() > hb * 3 {
                        return End::Close(close::IDLE_TIMEOUT, "no heartbeat from client");
                    }
                    if tx.send(Message::Ping(bytes::Bytes::new())).await.is_err() {
                        return End::Gone;
                    }
                }
            }
        }
    }

    /// Sends `first` and whatever else is already waiting, in one flush,
    /// under one write deadline (a timer per frame cost more than the frame).
    async fn forward(
        &self,
        tx: &mut Tx,
        live: &mut tokio::sync::broadcast::Receiver<Frame>,
        first: Frame,
        last_seq: &mut u64,
    ) -> Result<(), End> {
        let batch = async {
            let mut next = Some(first);
            let mut n = 0;
            while let Some(f) = next.take() {
                // Frames already delivered by the catch-up are skipped.
                if f.seq > *last_seq {
                    *last_seq = f.seq;
                    tx.feed(Message::Text(f.text))
                        .await
                        .map_err(|_| End::Gone)?;
                    n += 1;
                }
                if n < MAX_BATCH {
                    next = match live.try_recv() {
                        Ok(f) => Some(f),
                        Err(TryRecvError::Empty | TryRecvError::Closed) => None,
                        Err(TryRecvError::Lagged(_)) => return Err(slow()),
                    };
                }
            }
            tx.flush().await.map_err(|_| End::Gone)
        };
        timeout(self.write_timeout, batch)
            .await
            .unwrap_or_else(|_| Err(slow()))
    }

    async fn feed(&self, tx: &mut Tx, text: Utf8Bytes) -> Result<(), ()> {
        match timeout(self.write_timeout, tx.feed(Message::Text(text))).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(()),
        }
    }

    async fn feed_json(&self, tx: &mut Tx, frame: &ServerFrame) -> Result<(), ()> {
        let text = serde_json::to_string(frame).map_err(|_| ())?;
        self.feed(tx, text.into()).await
    }

    async fn flush(&self, tx: &mut Tx) -> Result<(), ()> {
        match timeout(self.write_timeout, tx.flush()).await {
            Ok(Ok(())) => Ok(()),
            _ => Err(()),
        }
    }

    /// Handles one client message; returns the reply, if any.
    fn on_message(&mut self, msg: Message) -> Option<ServerFrame> {
        let text = match msg {
            Message::Text(t) => t,
            Message::Binary(_) => {
                return Some(error(
                    ErrorCode::Malformed,
                    "binary frames are not supported; send JSON text",
                ));
            }
            Message::Ping(_) | Message::Pong(_) | Message::Close(_) => return None,
        };
        let frame = match decode_client_frame(text.as_str(), self.state.config.ws.max_frame_bytes) {
            Ok(f) => f,
            Err(e) => return Some(error(e.code(), &e.to_string())),
        };
        match frame {
            ClientFrame::Ping { nonce } => Some(ServerFrame::Pong {
                nonce,
                server_time: Timestamp::now(),
            }),
            ClientFrame::Auth { access_token } => {
                match self.state.tokens.verify(&access_token, Timestamp::now()) {
                    Ok(claims) => {
                        let user = claims.user_ref();
                        if let Some(w) = self.watching.as_mut() {
                            w.become_user(claims.sub);
                        }
                        self.user = Some(claims);
                        Some(ServerFrame::Authenticated { user })
                    }
                    Err(e) => Some(error(e.problem().code, &e.to_string())),
                }
            }
            ClientFrame::Like { count } => {
                if let Err((code, message)) = self.signed_in("sign in to like") {
                    return Some(error(code, message));
                }
                if count == 0 || count > 1000 {
                    return Some(error(ErrorCode::Invalid, "like count must be 1 to 1000"));
                }
                // A person taps a few times a second: more is not counted.
                let user = self.user.as_ref().map(|u| u.sub);
                let counted = user.map_or(0, |u| self.state.guard.likes(u, count));
                if counted > 0 {
                    self.room.add_likes(u64::from(counted));
                }
                None
            }
            ClientFrame::Chat { text, client_id } => self.chat(&text, client_id),
        }
    }

    /// The signed-in user, or the error frame's code and message.
    fn signed_in(&self, what: &'static str) -> Result<&Claims, (ErrorCode, &'static str)> {
        let Some(user) = self.user.as_ref() else {
            return Err((ErrorCode::Unauthorized, what));
        };
        if user.exp <= Timestamp::now().as_second() {
            return Err((
                ErrorCode::TokenExpired,
                "your session expired: refresh and send auth",
            ));
        }
        Ok(user)
    }

    fn chat(&self, text: &str, client_id: Option<uuid::Uuid>) -> Option<ServerFrame> {
        let user = match self.signed_in("sign in to chat") {
            Ok(u) => u,
            Err((code, message)) => return Some(error(code, message)),
        };
        let muted_until = self.room.read(|st| st.mutes.get(&user.sub).copied());
        match self.state.chat.check(user, text, muted_until) {
            Ok(text) => {
                let message = ChatMessage {
                    id: MessageId::new(),
                    user: user.user_ref(),
                    text,
                    sent_at: Timestamp::now(),
                    client_id,
                };
                self.room.publish(RoomEvent::Chat { message });
                None
            }
            Err(r) => Some(ServerFrame::Error {
                code: r.code,
                message: r.message,
                retry_after_ms: r.retry_after_ms,
            }),
        }
    }
}

/// A read refused for its size (tungstenite's capacity error).
pub fn too_big(e: &axum::Error) -> bool {
    let s = e.to_string();
    s.contains("Space limit exceeded") || s.contains("too long") || s.contains("too big")
}

fn slow() -> End {
    End::Close(
        close::SLOW_CONSUMER,
        "too slow: reconnect with since to catch up",
    )
}

fn error(code: ErrorCode, message: &str) -> ServerFrame {
    ServerFrame::Error {
        code,
        message: message.to_owned(),
        retry_after_ms: None,
    }
}
