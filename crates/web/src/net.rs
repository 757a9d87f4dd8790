//! The browser's network runners: REST through `fetch` (reqwest's wasm
//! client), the room sockets and the user's own socket through the
//! browser's WebSocket (gloo-net). Like the desktop's (src/net.rs) they only
//! carry out what the core decides and answer with core events.
//!
//! Every request asks for the cookie form of the session
//! (`X-Livecart-Session: cookie`): the refresh token stays in an HttpOnly
//! cookie this code never sees.

use futures_channel::mpsc::{self, UnboundedSender};
use futures_channel::oneshot;
use futures_util::future::{Either, select};
use futures_util::{SinkExt, StreamExt};
use gloo_net::websocket::futures::WebSocket;
use gloo_net::websocket::{Message, WebSocketError};
use livecart_core::effects::{HttpRequest, Method};
use livecart_core::protocol::commerce::IDEMPOTENCY_HEADER;
use livecart_core::protocol::live::{me_socket_path, room_socket_path};
use livecart_core::protocol::me::MeFrame;
use livecart_core::protocol::rest::SessionResponse;
use livecart_core::protocol::{
    ClientFrame, Epoch, PROTOCOL_HEADER, PROTOCOL_VERSION, RoomId, decode_server_frame,
};
use livecart_core::{Event, HttpFailure, MeUpdate, SocketUpdate};
use std::collections::HashMap;

/// The header that asks for the session in a cookie (crates/server's
/// http/session.rs).
const SESSION_MODE: (&str, &str) = ("x-livecart-session", "cookie");
/// The WebSocket subprotocol that carries the access token to `/v1/me/live`
/// (a browser cannot set an upgrade's `Authorization` header; the URL is no
/// place for a token).
pub const BEARER_PROTOCOL: &str = "livecart.bearer";

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
    .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
    .header(SESSION_MODE.0, SESSION_MODE.1);
    if let Some(t) = &req.access_token {
        r = r.bearer_auth(t);
    }
    if let Some(key) = &req.idempotency_key {
        r = r.header(IDEMPOTENCY_HEADER, key);
    }
    if let Some(b) = &req.body {
        r = r.json(b);
    }
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

/// A reload signs in silently: the cookie (if any) buys a fresh session.
/// `Ok(None)`: nobody is signed in here; `Err`: the server is out of reach.
pub async fn resume_session(
    client: &reqwest::Client,
    base: &str,
) -> Result<Option<SessionResponse>, ()> {
    let res = client
        .post(format!("{base}/v1/session/refresh"))
        .header(PROTOCOL_HEADER, PROTOCOL_VERSION.to_string())
        .header(SESSION_MODE.0, SESSION_MODE.1)
        .json(&serde_json::json!({ "refresh_token": "" }))
        .send()
        .await
        .map_err(|_| ())?;
    if res.status().is_server_error() {
        return Err(());
    }
    if !res.status().is_success() {
        return Ok(None);
    }
    Ok(res.json().await.ok())
}

fn ws_base(base: &str) -> String {
    base.replacen("http", "ws", 1)
}

/// The close code of a socket's end, if the server gave one.
fn close_code(e: &WebSocketError) -> Option<u16> {
    match e {
        WebSocketError::ConnectionClose(c) => Some(c.code),
        _ => None,
    }
}

/// The open room sockets. Dropping a room's sender ends its task quietly.
#[derive(Default)]
pub struct Sockets {
    rooms: HashMap<RoomId, UnboundedSender<ClientFrame>>,
}

impl Sockets {
    pub fn connect(
        &mut self,
        base: &str,
        room: RoomId,
        resume: Option<(u64, Epoch)>,
        access_token: Option<String>,
        events: UnboundedSender<Event>,
    ) {
        let url = format!("{}{}", ws_base(base), room_socket_path(room, resume));
        let (tx, rx) = mpsc::unbounded();
        // The token goes in the first frame, never in the URL.
        if let Some(t) = access_token {
            let _ = tx.unbounded_send(ClientFrame::Auth { access_token: t });
        }
        self.rooms.insert(room, tx);
        wasm_bindgen_futures::spawn_local(run_room(url, room, rx, events));
    }

    pub fn send(&self, room: RoomId, frame: ClientFrame) {
        if let Some(tx) = self.rooms.get(&room) {
            let _ = tx.unbounded_send(frame);
        }
    }

    pub fn close(&mut self, room: RoomId) {
        self.rooms.remove(&room);
    }
}

async fn run_room(
    url: String,
    room: RoomId,
    mut outgoing: mpsc::UnboundedReceiver<ClientFrame>,
    events: UnboundedSender<Event>,
) {
    let closed = |code: Option<u16>| Event::Socket {
        room,
        update: SocketUpdate::Closed { code },
    };
    let Ok(ws) = WebSocket::open(&url) else {
        let _ = events.unbounded_send(closed(None));
        return;
    };
    let (mut sink, mut stream) = ws.split();
    loop {
        match select(outgoing.next(), stream.next()).await {
            // None: the app left the room.
            Either::Left((None, _)) => {
                let _ = sink.close().await;
                return;
            }
            Either::Left((Some(f), _)) => {
                let Ok(text) = serde_json::to_string(&f) else {
                    continue;
                };
                if sink.send(Message::Text(text)).await.is_err() {
                    let _ = events.unbounded_send(closed(None));
                    return;
                }
            }
            Either::Right((Some(Ok(Message::Text(t))), _)) => match decode_server_frame(&t) {
                Ok(frame) => {
                    let _ = events.unbounded_send(Event::Socket {
                        room,
                        update: SocketUpdate::Frame(Box::new(frame)),
                    });
                }
                Err(e) => tracing::warn!(%room, "room socket: ignoring a frame ({e})"),
            },
            Either::Right((Some(Ok(Message::Bytes(_))), _)) => {}
            Either::Right((Some(Err(e)), _)) => {
                let _ = events.unbounded_send(closed(close_code(&e)));
                return;
            }
            Either::Right((None, _)) => {
                let _ = events.unbounded_send(closed(None));
                return;
            }
        }
    }
}

/// The signed-in user's own socket (`/v1/me/live`); one at a time. Dropping
/// the stop sender ends it quietly.
#[derive(Default)]
pub struct MeSocket {
    stop: Option<oneshot::Sender<()>>,
}

impl MeSocket {
    pub fn connect(
        &mut self,
        base: &str,
        resume: Option<(u64, Epoch)>,
        access_token: &str,
        events: UnboundedSender<Event>,
    ) {
        let url = format!("{}{}", ws_base(base), me_socket_path(resume));
        let (stop, stopped) = oneshot::channel();
        self.stop = Some(stop);
        wasm_bindgen_futures::spawn_local(run_me(url, access_token.to_owned(), stopped, events));
    }

    pub fn close(&mut self) {
        self.stop = None;
    }
}

async fn run_me(
    url: String,
    token: String,
    mut stopped: oneshot::Receiver<()>,
    events: UnboundedSender<Event>,
) {
    // Once replaced or closed by the app, this task says nothing more.
    let say = |stopped: &mut oneshot::Receiver<()>, e: Event| {
        if matches!(stopped.try_recv(), Ok(None)) {
            let _ = events.unbounded_send(e);
        }
    };
    let Ok(ws) = WebSocket::open_with_protocols(&url, &[BEARER_PROTOCOL, &token]) else {
        say(&mut stopped, Event::Me(MeUpdate::Closed));
        return;
    };
    let mut opened = false;
    let (_sink, mut stream) = ws.split();
    loop {
        match select(&mut stopped, stream.next()).await {
            Either::Left(_) => return,
            Either::Right((Some(Ok(Message::Text(t))), _)) => {
                opened = true;
                match serde_json::from_str::<MeFrame>(&t) {
                    Ok(frame) => say(&mut stopped, Event::Me(MeUpdate::Frame(Box::new(frame)))),
                    Err(e) => tracing::warn!("my socket: ignoring a frame ({e})"),
                }
            }
            Either::Right((Some(Ok(Message::Bytes(_))), _)) => opened = true,
            Either::Right((Some(Err(e)), _)) => {
                // A browser hides an upgrade's status: a refused token shows
                // as a socket that closed before it ever opened (1006).
                let update = if !opened && close_code(&e) == Some(1006) {
                    MeUpdate::Unauthorized
                } else {
                    MeUpdate::Closed
                };
                say(&mut stopped, Event::Me(update));
                return;
            }
            Either::Right((None, _)) => {
                say(&mut stopped, Event::Me(MeUpdate::Closed));
                return;
            }
        }
    }
}
