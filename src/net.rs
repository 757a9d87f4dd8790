//! Network effect runners: REST calls (reqwest) and the room sockets
//! (tokio-tungstenite). Both answer with core events; neither decides
//! anything — reconnect timing and resume points come from livecart-core.

use futures_util::{SinkExt, StreamExt};
use livecart_core::effects::{HttpRequest, Method};
use livecart_core::protocol::commerce::IDEMPOTENCY_HEADER;
use livecart_core::protocol::live::{me_socket_path, room_socket_path};
use livecart_core::protocol::{
    ClientFrame, Epoch, PROTOCOL_HEADER, PROTOCOL_VERSION, RoomId, decode_server_frame,
};
use livecart_core::{Event, HttpFailure, SocketUpdate};
use std::collections::HashMap;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

pub async fn http(
    client: &reqwest::Client,
    base: &str,
    req: &HttpRequest,
) -> Result<serde_json::Value, HttpFailure> {
    let url = format!("{base}{}", req.path);
    let mut r = match req.method {
        Method::Get => client.get(url),
        Method::Post => client.post(url),
        Method::Put => client.put(url),
        Method::Delete => client.delete(url),
    }
    .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string());
    if let Some(t) = &req.access_token {
        r = r.bearer_auth(t);
    }
    if let Some(key) = &req.idempotency_key {
        r = r.header(IDEMPOTENCY_HEADER, key);
    }
    if let Some(b) = &req.body {
        r = r.json(b);
    }
    // reqwest's errors name the URL, never headers: no token reaches a log.
    let res = r
        .send()
        .await
        .map_err(|e| HttpFailure::Network(e.without_url().to_string()))?;
    let status = res.status().as_u16();
    let body = res
        .bytes()
        .await
        .map_err(|e| HttpFailure::Network(e.without_url().to_string()))?;
    HttpFailure::answer(status, &body)
}

/// The open room sockets. Dropping a room's sender ends its task quietly.
#[derive(Default)]
pub struct Sockets {
    rooms: HashMap<RoomId, mpsc::UnboundedSender<ClientFrame>>,
}

impl Sockets {
    pub fn connect(
        &mut self,
        base: &str,
        room: RoomId,
        resume: Option<(u64, Epoch)>,
        access_token: Option<String>,
        events: mpsc::UnboundedSender<Event>,
    ) {
        let url = format!(
            "{}{}",
            base.replacen("http", "ws", 1),
            room_socket_path(room, resume)
        );
        let (tx, rx) = mpsc::unbounded_channel();
        // The token goes in the first frame, never in the URL (URLs get logged).
        if let Some(t) = access_token {
            let _ = tx.send(ClientFrame::Auth { access_token: t });
        }
        self.rooms.insert(room, tx);
        tokio::spawn(run(url, room, rx, events));
    }

    pub fn send(&self, room: RoomId, frame: ClientFrame) {
        if let Some(tx) = self.rooms.get(&room) {
            let _ = tx.send(frame);
        }
    }

    pub fn close(&mut self, room: RoomId) {
        self.rooms.remove(&room);
    }
}

async fn run(
    url: String,
    room: RoomId,
    mut outgoing: mpsc::UnboundedReceiver<ClientFrame>,
    events: mpsc::UnboundedSender<Event>,
) {
    let closed = |code: Option<u16>| Event::Socket {
        room,
        update: SocketUpdate::Closed { code },
    };
    let (mut ws, _) = match tokio_tungstenite::connect_async(&url).await {
        Ok(ok) => ok,
        Err(e) => {
            tracing::info!(%room, "room socket: cannot connect ({e})");
            if !outgoing.is_closed() {
                let _ = events.send(closed(None));
            }
            return;
        }
    };
    loop {
        tokio::select! {
            frame = outgoing.recv() => {
                // None: the app left the room.
                let Some(f) = frame else {
                    let _ = ws.close(None).await;
                    return;
                };
                let Ok(text) = serde_json::to_string(&f) else { continue };
                if ws.send(Message::text(text)).await.is_err() {
                    if !outgoing.is_closed() {
                        let _ = events.send(closed(None));
                    }
                    return;
                }
            }
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => match decode_server_frame(&t) {
                    Ok(frame) => {
                        let _ = events.send(Event::Socket { room, update: SocketUpdate::Frame(Box::new(frame)) });
                    }
                    Err(e) => tracing::warn!(%room, "room socket: ignoring a frame ({e})"),
                },
                Some(Ok(Message::Close(c))) => {
                    let code = c.map(|c| u16::from(c.code));
                    tracing::info!(%room, ?code, "room socket closed by the server");
                    if !outgoing.is_closed() {
                        let _ = events.send(closed(code));
                    }
                    return;
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => {
                    tracing::info!(%room, "room socket lost ({e})");
                    if !outgoing.is_closed() {
                        let _ = events.send(closed(None));
                    }
                    return;
                }
                None => {
                    if !outgoing.is_closed() {
                        let _ = events.send(closed(None));
                    }
                    return;
                }
            },
        }
    }
}

/// The signed-in user's own socket (`/v1/me/live`); one at a time. Dropping
/// the stop sender ends it quietly.
#[derive(Default)]
pub struct MeSocket {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

impl MeSocket {
    pub fn connect(
        &mut self,
        base: &str,
        resume: Option<(u64, Epoch)>,
        access_token: &str,
        events: mpsc::UnboundedSender<Event>,
    ) {
        let url = format!(
            "{}{}",
            base.replacen("http", "ws", 1),
            me_socket_path(resume)
        );
        let (stop, stopped) = tokio::sync::oneshot::channel();
        self.stop = Some(stop);
        tokio::spawn(run_me(url, access_token.to_owned(), stopped, events));
    }

    pub fn close(&mut self) {
        self.stop = None;
    }
}

async fn run_me(
    url: String,
    token: String,
    mut stopped: tokio::sync::oneshot::Receiver<()>,
    events: mpsc::UnboundedSender<Event>,
) {
    use livecart_core::MeUpdate;
    use livecart_core::protocol::me::MeFrame;
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let closed = || Event::Me(MeUpdate::Closed);
    // Once replaced or closed by the app, this task says nothing more (a
    // stale "closed" must not take down its successor; a previous user's
    // frames must not reach the next one).
    let gone = |stopped: &mut tokio::sync::oneshot::Receiver<()>| {
        !matches!(
            stopped.try_recv(),
            Err(tokio::sync::oneshot::error::TryRecvError::Empty)
        )
    };
    let request = url.as_str().into_client_request().map(|mut r| {
        // The token rides the upgrade's header, never the URL (URLs get logged).
        if let Ok(v) = format!("Bearer {token}").parse() {
            r.headers_mut().insert("authorization", v);
        }
        r
    });
    let connected = match request {
        Ok(r) => tokio::select! {
            c = tokio_tungstenite::connect_async(r) => c,
            _ = &mut stopped => return,
        },
        Err(e) => Err(e),
    };
    let mut ws = match connected {
        Ok((ws, _)) => ws,
        Err(tokio_tungstenite::tungstenite::Error::Http(res)) if res.status() == 401 => {
            tracing::info!("my socket: the server refused the access token");
            if !gone(&mut stopped) {
                let _ = events.send(Event::Me(MeUpdate::Unauthorized));
            }
            return;
        }
        Err(e) => {
            tracing::info!(
                "my socket: cannot connect ({})",
                e.to_string().replace(&token, "…")
            );
            if !gone(&mut stopped) {
                let _ = events.send(closed());
            }
            return;
        }
    };
    loop {
        tokio::select! {
            _ = &mut stopped => {
                let _ = ws.close(None).await;
                return;
            }
            msg = ws.next() => match msg {
                Some(Ok(Message::Text(t))) => match serde_json::from_str::<MeFrame>(&t) {
                    Ok(_) if gone(&mut stopped) => return,
                    Ok(frame) => {
                        let _ = events.send(Event::Me(MeUpdate::Frame(Box::new(frame))));
                    }
                    Err(e) => tracing::warn!("my socket: ignoring a frame ({e})"),
                },
                Some(Ok(Message::Close(c))) => {
                    tracing::info!(code = ?c.map(|c| u16::from(c.code)), "my socket closed by the server");
                    if !gone(&mut stopped) {
                        let _ = events.send(closed());
                    }
                    return;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => {
                    tracing::info!("my socket lost");
                    if !gone(&mut stopped) {
                        let _ = events.send(closed());
                    }
                    return;
                }
            },
        }
    }
}
