//! Test harness: start a server in a temp dir, talk to it as a user would.

use futures_util::{SinkExt, StreamExt};
use livecart_protocol::decode_server_frame;
use livecart_protocol::rest::{FeedResponse, RoomSnapshot, SessionResponse, SignInRequest};
use livecart_protocol::{
    ClientFrame, Epoch, PROTOCOL_HEADER, PROTOCOL_VERSION, RoomEvent, RoomId, ServerFrame,
};
use livecart_server::{ServerConfig, ServerHandle};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

pub const ADMIN: &str = "test-admin-token";

/// An error answer's problem body (and that it is problem+json).
pub async fn problem(res: reqwest::Response) -> livecart_protocol::Problem {
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    res.json().await.expect("problem json")
}
/// Long enough for a loaded CI machine; a hang fails instead of stalling.
pub const WAIT: Duration = Duration::from_secs(10);

/// Whether `done` came true within `WAIT`, looking every 50 ms (for state
/// that changes on the server's own clock, e.g. an idle stream's stop).
pub async fn came_true(done: impl Fn() -> bool) -> bool {
    tokio::time::timeout(WAIT, async {
        while !done() {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .is_ok()
}

pub struct TestServer {
    pub handle: ServerHandle,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

pub fn config(dir: &std::path::Path) -> ServerConfig {
    let mut c = ServerConfig::default();
    c.bind = "127.0.0.1:0".parse().expect("addr");
    c.data_dir = dir.to_path_buf();
    c.token_secret = Some("test-secret".into());
    c.admin_token = Some(ADMIN.into());
    c.demo.enabled = true;
    // Tests stream from loopback (a test's own nginx or publisher).
    c.allow_private_stream_urls = true;
    c.demo.scripts = false;
    c.demo.streams = false;
    c
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    pub async fn start_with(tweak: impl FnOnce(&mut ServerConfig)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut c = config(dir.path());
        tweak(&mut c);
        let handle = livecart_server::serve(c).await.expect("server starts");
        Self {
            handle,
            http: reqwest::Client::new(),
            _dir: dir,
        }
    }

    pub fn url(&self, path: &str) -> String {
        self.handle.url(path)
    }

    pub async fn feed(&self) -> FeedResponse {
        get_json(&self.http, &self.url("/v1/feed")).await
    }

    /// The first demo room (fashion).
    pub async fn room(&self) -> RoomId {
        self.feed().await.rooms[0].id
    }

    pub async fn snapshot(&self, room: RoomId) -> RoomSnapshot {
        get_json(&self.http, &self.url(&format!("/v1/rooms/{room}"))).await
    }

    /// The host (the admin token) starts a flash sale in `room`.
    pub async fn start_flash_sale(
        &self,
        room: RoomId,
        sale: &livecart_protocol::rest::StartFlashSaleRequest,
    ) -> livecart_protocol::rest::FlashSale {
        let res = self
            .http
            .post(self.url(&format!("/v1/host/rooms/{room}/flash-sales")))
            .bearer_auth(ADMIN)
            .json(sale)
            .send()
            .await
            .expect("sale");
        assert_eq!(res.status(), 201, "the sale starts");
        res.json().await.expect("sale json")
    }

    pub async fn sign_in(&self, username: &str) -> SessionResponse {
        let res = self
            .http
            .post(self.url("/v1/session"))
            .json(&SignInRequest {
                username: username.into(),
                password: "livecart".into(),
            })
            .send()
            .await
            .expect("sign in");
        assert_eq!(res.status(), 200, "sign-in as {username}");
        res.json().await.expect("session json")
    }

    pub async fn connect(
        &self,
        room: RoomId,
        token: Option<&str>,
        resume: Option<(u64, Epoch)>,
    ) -> Client {
        let resume = resume
            .map(|(since, epoch)| format!("&since={since}&epoch={epoch}"))
            .unwrap_or_default();
        let path = format!("/v1/rooms/{room}/live?v={PROTOCOL_VERSION}{resume}");
        Client::connect(&self.handle.ws_url(&path), token)
            .await
            .expect("ws connects")
    }
}

pub struct Client {
    pub ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Client {
    pub async fn connect(
        url: &str,
        token: Option<&str>,
    ) -> Result<Self, tokio_tungstenite::tungstenite::Error> {
        let mut req = url.into_client_request()?;
        req.headers_mut()
            .insert(PROTOCOL_HEADER, HeaderValue::from(PROTOCOL_VERSION));
        if let Some(t) = token {
            req.headers_mut().insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {t}")).expect("header"),
            );
        }
        let (ws, _) = tokio_tungstenite::connect_async(req).await?;
        Ok(Self { ws })
    }

    pub async fn send(&mut self, frame: &ClientFrame) {
        self.send_text(serde_json::to_string(frame).expect("json"))
            .await;
    }

    pub async fn send_text(&mut self, text: impl Into<String>) {
        self.ws
            .send(Message::text(text.into()))
            .await
            .expect("send");
    }

    /// The next server frame (skipping pings); panics on close or timeout.
    pub async fn next(&mut self) -> ServerFrame {
        match self.next_or_close().await {
            Ok(f) => f,
            Err(close) => panic!("connection closed: {close:?}"),
        }
    }

    /// The next frame, or the close frame that ended the connection.
    pub async fn next_or_close(&mut self) -> Result<ServerFrame, Option<CloseFrame>> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("a frame within the wait");
            match msg {
                Some(Ok(Message::Text(t))) => {
                    return Ok(decode_server_frame(t.as_str()).expect("server frames decode"));
                }
                Some(Ok(Message::Close(c))) => return Err(c),
                Some(Ok(_)) => {}
                None | Some(Err(_)) => return Err(None),
            }
        }
    }

    /// For sockets whose frames are not room frames (`/v1/me/live`): Ok
    /// for any text frame, else the close frame that ended the connection.
    pub async fn next_or_close_raw(&mut self) -> Result<(), Option<CloseFrame>> {
        let msg = tokio::time::timeout(WAIT, self.ws.next())
            .await
            .expect("a frame within the wait");
        match msg {
            Some(Ok(Message::Close(c))) => Err(c),
            Some(Ok(_)) => Ok(()),
            None | Some(Err(_)) => Err(None),
        }
    }

    /// Reads welcome + snapshot; returns the snapshot.
    pub async fn joined(&mut self) -> RoomSnapshot {
        assert!(matches!(
            self.next().await,
            ServerFrame::Welcome { resumed: false, .. }
        ));
        match self.next().await {
            ServerFrame::Snapshot { snapshot } => *snapshot,
            other => panic!("expected a snapshot, got {other:?}"),
        }
    }

    /// The next room event (skipping others such as viewers/likes unless asked).
    pub async fn event(&mut self, want: impl Fn(&RoomEvent) -> bool) -> (u64, RoomEvent) {
        loop {
            if let ServerFrame::Event { seq, event, .. } = self.next().await
                && want(&event)
            {
                return (seq, event);
            }
        }
    }

    /// The next `error` frame's code and message.
    pub async fn error(&mut self) -> (livecart_protocol::ErrorCode, String, Option<u64>) {
        loop {
            if let ServerFrame::Error {
                code,
                message,
                retry_after_ms,
            } = self.next().await
            {
                return (code, message, retry_after_ms);
            }
        }
    }

    /// Proves the connection is still open and in order: ping → pong.
    pub async fn assert_open(&mut self, nonce: u64) {
        self.send(&ClientFrame::Ping { nonce }).await;
        loop {
            if let ServerFrame::Pong { nonce: n, .. } = self.next().await {
                assert_eq!(n, nonce);
                return;
            }
        }
    }
}

/// A GET whose answer is JSON; panics saying which request failed.
pub async fn get_json<T: serde::de::DeserializeOwned>(http: &reqwest::Client, url: &str) -> T {
    http.get(url)
        .send()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: {e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("GET {url}: not the JSON expected: {e}"))
}

/// The first demo room of a server started on its own (fashion).
pub async fn first_room(http: &reqwest::Client, handle: &ServerHandle) -> RoomId {
    let feed: FeedResponse = get_json(http, &handle.url("/v1/feed")).await;
    feed.rooms[0].id
}

pub fn is_chat(e: &RoomEvent) -> bool {
    matches!(e, RoomEvent::Chat { .. })
}

pub fn is_notice(e: &RoomEvent) -> bool {
    matches!(e, RoomEvent::Notice { .. })
}
