//! Live video the server itself serves, as HTTP-FLV at `/live/{room}.flv`.
//! Each stream is an [`FlvHub`] (GOP cache + fan-out) fed by a publisher — the
//! demo world's synthetic streams, or the media origin's relay of a host's
//! outside stream (origin.rs). Both start with the first viewer and stop
//! when nobody has watched for a while.

use livecart_media::FlvHub;
use livecart_protocol::RoomId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};

/// Starts a room's publisher.
pub type Start = Arc<dyn Fn() -> anyhow::Result<Started> + Send + Sync>;

/// A publisher that was started: it runs until `publisher` is dropped.
pub struct Started {
    pub publisher: Box<dyn Send>,
    /// How it makes its pictures ("live encoder", "recorded loop", …).
    pub source: &'static str,
    /// What is wrong with it now, in words for a viewer (a relay whose
    /// source cannot be reached says so here while it retries).
    pub trouble: Option<Trouble>,
}

pub type Trouble = Box<dyn Fn() -> Option<String> + Send>;

/// A start that failed is not tried again sooner than this, however many
/// viewers ask (each start may look a name up and open a connection).
const RETRY_START: std::time::Duration = std::time::Duration::from_secs(2);

/// A publisher the server starts when someone watches and stops when nobody
/// has for `demo.idle_stop_secs` (the demo world's synthetic streams cost CPU).
struct OnDemand {
    start: Start,
    running: Option<Started>,
    /// A start is under way (off the async workers).
    starting: bool,
    /// Why the last start failed, and when (said to viewers until one
    /// succeeds; no new start within `RETRY_START` of it).
    failed: Option<(String, std::time::Instant)>,
    idle_since: Option<std::time::Instant>,
}

#[derive(Default)]
pub struct Streams {
    hubs: RwLock<HashMap<RoomId, Arc<FlvHub>>>,
    /// Whatever keeps a publisher running (its pipeline); dropped on shutdown.
    owners: Mutex<Vec<Box<dyn Send>>>,
    on_demand: Mutex<HashMap<RoomId, OnDemand>>,
    /// Relays of hosts' streams running now (live/origin.rs caps them).
    pub relays: Arc<std::sync::atomic::AtomicUsize>,
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
                failed: None,
                idle_since: None,
            },
        );
    }

    /// Whether the room has a publisher registered (running or not).
    pub fn has_publisher(&self, room: RoomId) -> bool {
        self.demand().contains_key(&room)
    }

    /// What is wrong with the room's publisher, if anything is: why it did
    /// not start, or what the running one says (a relay retrying).
    pub fn trouble(&self, room: RoomId) -> Option<String> {
        let all = self.demand();
        let od = all.get(&room)?;
        match &od.running {
            Some(p) => p.trouble.as_ref().and_then(|t| t()),
            None => od.failed.as_ref().map(|(why, _)| why.clone()),
        }
    }

    /// Makes sure the room's on-demand publisher runs (a viewer is coming).
    /// Starting a pipeline blocks, so it happens on a blocking thread and
    /// never under the lock other viewers need.
    pub(crate) async fn ensure_running(&self, room: RoomId) {
        let start = {
            let mut all = self.demand();
            let Some(od) = all.get_mut(&room) else {
                return;
            };
            od.idle_since = None;
            if od.running.is_some()
                || od.starting
                || od
                    .failed
                    .as_ref()
                    .is_some_and(|(_, at)| at.elapsed() < RETRY_START)
            {
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
                od.failed = None;
            }
            Ok(Err(e)) => {
                tracing::warn!(%room, "stream did not start: {e:#}");
                od.failed = Some((format!("{e:#}"), std::time::Instant::now()));
            }
            Err(e) => {
                tracing::warn!(%room, "stream did not start: {e}");
                od.failed = Some(("the stream did not start".into(), std::time::Instant::now()));
            }
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
