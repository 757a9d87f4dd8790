//! Video into the webview (docs/video-path.md). The player (crates/media)
//! hands over pictures; this module frames them and serves them to the page
//! over a loopback WebSocket that only this app can open (a per-launch
//! secret). The page decodes H.264 access units with WebCodecs, or draws JPEG
//! frames where the webview has no `VideoDecoder`.
//!
//! Message (binary, little endian): `kind u8` (1 = H.264 access unit,
//! 2 = JPEG), `flags u8` (1 = keyframe, 2 = late: decode, do not show),
//! `width u16`, `height u16`, `codec_len u8`, `0u8`, `capture_ms f64` (Unix ms
//! from the SEI, NaN if none), the codec string, the payload. The page sends
//! back, once a second, a text message with what it drew.

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};
use livecart_core::feed::Drawn;
use livecart_core::protocol::RoomId;
use livecart_media::player::VideoOutput;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{broadcast, mpsc};

pub const KIND_AU: u8 = 1;
pub const KIND_JPEG: u8 = 2;
const FLAG_KEY: u8 = 1;
const FLAG_LATE: u8 = 2;
const HEADER: usize = 16;

/// Frames one picture for the page.
pub fn frame(out: &VideoOutput) -> Option<(Bytes, bool)> {
    let (kind, flags, width, height, codec, capture_ns, data) = match out {
        VideoOutput::AccessUnit {
            data,
            keyframe,
            late,
            capture_ns,
            codec,
            width,
            height,
        } => (
            KIND_AU,
            (u8::from(*keyframe) * FLAG_KEY) | (u8::from(*late) * FLAG_LATE),
            *width,
            *height,
            codec.as_str(),
            *capture_ns,
            data,
        ),
        VideoOutput::Frame {
            width,
            height,
            format: livecart_media::player::FrameFormat::Jpeg { .. },
            data,
            capture_ns,
        } => (KIND_JPEG, FLAG_KEY, *width, *height, "", *capture_ns, data),
        VideoOutput::Frame { .. } => return None,
    };
    let mut b = BytesMut::with_capacity(HEADER + codec.len() + data.len());
    b.put_u8(kind);
    b.put_u8(flags);
    b.put_u16_le(width as u16);
    b.put_u16_le(height as u16);
    b.put_u8(codec.len() as u8);
    b.put_u8(0);
    b.put_f64_le(capture_ns.map_or(f64::NAN, |ns| ns as f64 / 1e6));
    b.put_slice(codec.as_bytes());
    b.put_slice(data);
    Some((b.freeze(), flags & FLAG_KEY != 0))
}

/// Marks a framed access unit late (decode only), for replays to a new viewer.
fn as_late(msg: &Bytes) -> Bytes {
    let mut m = BytesMut::from(&msg[..]);
    m[1] |= FLAG_LATE;
    m.freeze()
}

/// One room's pictures: a live channel plus the pictures since the last
/// keyframe, so a page that connects late can start decoding at once.
pub struct RoomVideo {
    tx: broadcast::Sender<Bytes>,
    gop: Mutex<Vec<Bytes>>,
}

impl RoomVideo {
    fn new() -> Self {
        Self {
            tx: broadcast::channel(256).0,
            gop: Mutex::new(Vec::new()),
        }
    }

    pub fn push(&self, out: &VideoOutput) {
        let Some((msg, key)) = frame(out) else {
            return;
        };
        // Sent under the GOP lock: a page joining now gets each picture once,
        // from the catch-up or from the channel (see `join`).
        let mut gop = self
            .gop
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if key {
            gop.clear();
        }
        if gop.len() < 300 {
            gop.push(msg.clone());
        }
        let _ = self.tx.send(msg);
    }

    /// A page joining now: the GOP so far (all but the newest late) and the
    /// channel for what follows, taken together so nothing is missed or doubled.
    fn join(&self) -> (Vec<Bytes>, broadcast::Receiver<Bytes>) {
        let gop = self
            .gop
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let rx = self.tx.subscribe();
        let n = gop.len();
        let catch_up = gop
            .iter()
            .enumerate()
            .map(|(i, m)| {
                if i + 1 < n && m[0] == KIND_AU {
                    as_late(m)
                } else {
                    m.clone()
                }
            })
            .collect();
        (catch_up, rx)
    }
}

/// What the page reported about one room's video.
#[derive(Debug)]
pub struct DrawnReport {
    pub room: RoomId,
    pub drawn: Drawn,
}

#[derive(Clone)]
pub struct VideoHub {
    rooms: Arc<Mutex<HashMap<RoomId, Arc<RoomVideo>>>>,
    secret: Arc<str>,
    reports: mpsc::UnboundedSender<DrawnReport>,
}

#[derive(Deserialize)]
struct Auth {
    s: String,
}

#[derive(Deserialize)]
struct PageReport {
    fps: f32,
    p95: f32,
    /// Null when no drawn frame carried a capture time.
    #[serde(default)]
    p50: Option<f32>,
}

impl VideoHub {
    pub fn new(reports: mpsc::UnboundedSender<DrawnReport>) -> Self {
        let mut secret = [0u8; 32];
        getrandom::fill(&mut secret).expect("the OS random source works");
        Self {
            rooms: Arc::default(),
            secret: hex::encode(secret).into(),
            reports,
        }
    }

    pub fn secret(&self) -> &str {
        &self.secret
    }

    /// The room's channel, created on first use.
    pub fn room(&self, room: RoomId) -> Arc<RoomVideo> {
        self.rooms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(room)
            .or_insert_with(|| Arc::new(RoomVideo::new()))
            .clone()
    }

    /// Forgets a room: its page sockets end.
    pub fn remove(&self, room: RoomId) {
        self.rooms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&room);
    }

    /// Serves the page on a free loopback port; returns the port.
    pub async fn serve(&self) -> std::io::Result<u16> {
        let app = axum::Router::new()
            .route("/video/{room}", axum::routing::get(upgrade))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let port = listener.local_addr()?.port();
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(port)
    }
}

/// Constant-time comparison, so the secret cannot be guessed byte by byte.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

async fn upgrade(
    State(hub): State<VideoHub>,
    Path(room): Path<String>,
    Query(auth): Query<Auth>,
    ws: WebSocketUpgrade,
) -> Response {
    tracing::debug!(%room, "video socket upgrade");
    if !same(&auth.s, &hub.secret) {
        return (axum::http::StatusCode::FORBIDDEN, "not this app").into_response();
    }
    let Ok(room) = room.parse::<RoomId>() else {
        return (axum::http::StatusCode::NOT_FOUND, "no such room").into_response();
    };
    let video = hub.room(room);
    ws.on_upgrade(move |socket| pump(socket, hub, room, video))
}

async fn pump(mut socket: WebSocket, hub: VideoHub, room: RoomId, video: Arc<RoomVideo>) {
    let (catch_up, mut rx) = video.join();
    tracing::debug!(%room, pictures = catch_up.len(), "video socket open");
    for m in catch_up {
        if socket.send(Message::Binary(m)).await.is_err() {
            return;
        }
    }
    drop(video);
    loop {
        tokio::select! {
            msg = rx.recv() => match msg {
                Ok(m) => {
                    if socket.send(Message::Binary(m)).await.is_err() {
                        return;
                    }
                }
                // The page fell behind: start again from the newest keyframe.
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    let Some(video) = hub.rooms.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&room).cloned() else {
                        return;
                    };
                    let (catch_up, fresh) = video.join();
                    rx = fresh;
                    for m in catch_up {
                        if socket.send(Message::Binary(m)).await.is_err() {
                            return;
                        }
                    }
                }
                Err(broadcast::error::RecvError::Closed) => return,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(t))) => {
                    if let Ok(r) = serde_json::from_str::<PageReport>(&t) {
                        let _ = hub.reports.send(DrawnReport {
                            room,
                            drawn: Drawn {
                                fps: r.fps,
                                latency_p95_ms: r.p95.round() as u32,
                                latency_p50_ms: r.p50.map(|v| v.round() as u32),
                            },
                        });
                    }
                }
                Some(Ok(_)) => {}
                _ => return,
            },
        }
    }
}
