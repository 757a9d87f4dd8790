//! Live video the server itself serves, as HTTP-FLV at `/live/{room}.flv`.
//! Each stream is an [`FlvHub`] (GOP cache + fan-out) fed by a publisher — the
//! demo world's synthetic streams today, an ingest relay later. Rooms whose
//! stream URL points elsewhere (RTMP, SRT, …) have no hub here.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use livecart_media::FlvHub;
use livecart_protocol::RoomId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use tokio::sync::broadcast::error::RecvError;

/// Starts a room's publisher.
pub type Start = Arc<dyn Fn() -> anyhow::Result<Started> + Send + Sync>;

/// A publisher that was started: it runs until `publisher` is dropped.
pub struct Started {
    pub publisher: Box<dyn Send>,
    /// How it makes its pictures ("live encoder", "recorded loop", …).
    pub source: &'static str,
}

/// A publisher the server starts when someone watches and stops when nobody
/// has for `demo.idle_stop_secs` (the demo world's synthetic streams cost CPU).
struct OnDemand {
    start: Start,
    running: Option<Started>,
    /// A start is under way (off the async workers).
    starting: bool,
    idle_since: Option<std::time::Instant>,
}

#[derive(Default)]
pub struct Streams {
    hubs: RwLock<HashMap<RoomId, Arc<FlvHub>>>,
    /// Whatever keeps a publisher running (its pipeline); dropped on shutdown.
    owners: Mutex<Vec<Box<dyn Send>>>,
    on_demand: Mutex<HashMap<RoomId, OnDemand>>,
}

impl Streams {
    pub fn get(&self, room: RoomId) -> Option<Arc<FlvHub>> {
        self.hubs
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .get(&room)
            .cloned()
    }

    /// The room's hub, created if needed.
    pub fn hub(&self, room: RoomId) -> Arc<FlvHub> {
        self.hubs
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .entry(room)
            .or_insert_with(|| Arc::new(FlvHub::new(512)))
            .clone()
    }

    pub fn keep(&self, owner: Box<dyn Send>) {
        self.owners
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(owner);
    }

    fn demand(&self) -> std::sync::MutexGuard<'_, HashMap<RoomId, OnDemand>> {
        self.on_demand
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a publisher the first viewer starts (and the next one again
    /// after it was stopped for lack of viewers). Nothing runs, and nothing
    /// costs CPU or memory, until someone watches.
    pub fn on_demand(&self, room: RoomId, start: Start) {
        self.demand().insert(
            room,
            OnDemand {
                start,
                running: None,
                starting: false,
                idle_since: None,
            },
        );
    }

    /// Makes sure the room's on-demand publisher runs (a viewer is coming).
    /// Starting a pipeline blocks, so it happens on a blocking thread and
    /// never under the lock other viewers need.
    async fn ensure_running(&self, room: RoomId) {
        let start = {
            let mut all = self.demand();
            let Some(od) = all.get_mut(&room) else {
                return;
            };
            od.idle_since = None;
            if od.running.is_some() || od.starting {
                return;
            }
            od.starting = true;
            od.start.clone()
        };
        // A fresh start: the old GOP belongs to a stream that is gone.
        self.hub(room).reset();
        let started = tokio::task::spawn_blocking(move || start()).await;
        let mut all = self.demand();
        let Some(od) = all.get_mut(&room) else {
            return;
        };
        od.starting = false;
        match started {
            Ok(Ok(p)) => {
                tracing::info!(%room, source = p.source, "stream started for a viewer");
                od.running = Some(p);
            }
            Ok(Err(e)) => tracing::warn!(%room, "stream did not restart: {e:#}"),
            Err(e) => tracing::warn!(%room, "stream did not restart: {e}"),
        }
    }

    /// Stops on-demand publishers nobody has watched for `idle`.
    pub fn stop_idle(&self, now: std::time::Instant, idle: std::time::Duration) {
        let mut all = self.demand();
        for (room, od) in all.iter_mut() {
            if od.running.is_none() {
                continue;
            }
            if self.get(*room).is_some_and(|h| h.viewers() > 0) {
                od.idle_since = None;
                continue;
            }
            let since = *od.idle_since.get_or_insert(now);
            if now.duration_since(since) >= idle {
                tracing::info!(%room, "stream stopped: nobody watching");
                od.idle_since = None;
                if let Some(p) = od.running.take() {
                    // Stopping a pipeline blocks: not on the ticker's thread.
                    tokio::task::spawn_blocking(move || {
                        drop(p);
                        crate::mem::release_freed();
                    });
                }
            }
        }
    }

    pub fn running(&self, room: RoomId) -> bool {
        self.source(room).is_some()
    }

    /// How the room's running publisher makes its pictures, if one runs.
    pub fn source(&self, room: RoomId) -> Option<&'static str> {
        self.demand()
            .get(&room)
            .and_then(|od| od.running.as_ref().map(|p| p.source))
    }

    /// Stops every publisher this server owns.
    pub fn stop_all(&self) {
        self.owners
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clear();
        for od in self.demand().values_mut() {
            od.running = None;
        }
    }
}

/// `GET /live/{room}.flv`: the GOP cache at once, then live tags, until the
/// viewer falls too far behind (it reconnects) or the server shuts down.
pub async fn serve_flv(
    State(state): State<AppState>,
    Path(file): Path<String>,
) -> ApiResult<Response> {
    let room: RoomId = file
        .strip_suffix(".flv")
        .and_then(|id| id.parse().ok())
        .ok_or(ApiError::NotFound("stream"))?;
    state.streams.ensure_running(room).await;
    let hub = state
        .streams
        .get(room)
        .ok_or(ApiError::NotFound("stream"))?;
    // A stream that is starting (publisher warming up) is worth a short wait:
    // the viewer gets its first keyframe the moment it exists.
    if hub.subscribe().is_none() {
        let _ = tokio::time::timeout(std::time::Duration::from_secs(3), hub.wait_ready()).await;
    }
    let (start, rx) = hub.subscribe().ok_or_else(|| {
        ApiError::Unavailable("the stream is starting; try again in a moment".into())
    })?;
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
