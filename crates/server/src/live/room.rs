//! A live room's in-memory state and its numbered event log.
//!
//! Invariants: `publish` holds the room lock while it assigns the next `seq`,
//! applies the event to the state, appends it to the kept history and hands
//! it to the bus — so history, state and the bus agree on order. `join`
//! subscribes under the same lock, so a joiner's catch-up (history or
//! snapshot) and its live stream meet exactly: no gap, no duplicate.

use crate::live::bus::{Bus, Frame};
use jiff::Timestamp;
use livecart_protocol::rest::{Product, RoomSnapshot, RoomSummary};
use livecart_protocol::{Epoch, RoomEvent, RoomId, ServerFrame, UserId};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::broadcast;

pub struct RoomState {
    pub epoch: Epoch,
    pub seq: u64,
    history: VecDeque<Frame>,
    history_len: usize,
    /// The room as a late joiner sees it, folded with the very
    /// `RoomSnapshot::apply` clients use, so the two cannot disagree. Its
    /// `seq`, `epoch`, `server_time` and viewer counts are filled in when a
    /// snapshot is taken; `viewer_count` holds the count last broadcast.
    pub snap: RoomSnapshot,
    /// Simulated audience of the demo world, added to real connections.
    pub bot_viewers: u64,
    pub mutes: HashMap<UserId, Timestamp>,
    /// Place in the feed, smallest first.
    pub position: i64,
}

impl RoomState {
    pub fn new(summary: RoomSummary, products: Vec<Product>, history_len: usize) -> Self {
        let epoch = Epoch::new();
        Self {
            epoch,
            seq: 0,
            history: VecDeque::with_capacity(history_len.min(8192)),
            history_len: history_len.max(1000),
            snap: RoomSnapshot {
                room: summary,
                pinned: None,
                products,
                flash_sale: None,
                chat: Vec::new(),
                viewer_count: 0,
                like_count: 0,
                seq: 0,
                epoch,
                server_time: Timestamp::now(),
            },
            bot_viewers: 0,
            mutes: HashMap::new(),
            position: 0,
        }
    }
}

/// What a joining socket starts from.
pub enum CatchUp {
    /// The missed events, in order (possibly none).
    Events(Vec<Frame>),
    Snapshot(Box<RoomSnapshot>),
}

pub struct Join {
    pub epoch: Epoch,
    pub seq: u64,
    pub catch_up: CatchUp,
    pub live: broadcast::Receiver<Frame>,
}

pub struct Room {
    pub id: RoomId,
    state: Mutex<RoomState>,
    bus: Arc<dyn Bus>,
    /// Who is watching on this node: the viewer count counts people, not
    /// sockets (see [`Viewers`]).
    pub viewers: Mutex<Viewers>,
    /// Likes received since the last `likes` event.
    pending_likes: AtomicU64,
    /// Held across "write to the database, then publish" so that events
    /// reach viewers in the order the database applied them (two racing
    /// buyers must not publish stock 5 after stock 4).
    writes: tokio::sync::Mutex<()>,
}

impl Room {
    pub fn new(id: RoomId, state: RoomState, bus: Arc<dyn Bus>) -> Arc<Self> {
        Arc::new(Self {
            id,
            state: Mutex::new(state),
            bus,
            viewers: Mutex::default(),
            pending_likes: AtomicU64::new(0),
            writes: tokio::sync::Mutex::new(()),
        })
    }

    pub fn viewers(&self) -> MutexGuard<'_, Viewers> {
        self.viewers
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn lock(&self) -> MutexGuard<'_, RoomState> {
        // A panic while holding the lock leaves a consistent state: every
        // mutation happens in `apply`, after serialisation succeeded.
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Serialises a database write and the event that announces it.
    pub async fn write_guard(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.writes.lock().await
    }

    pub fn read<R>(&self, f: impl FnOnce(&RoomState) -> R) -> R {
        f(&self.lock())
    }

    pub fn write<R>(&self, f: impl FnOnce(&mut RoomState) -> R) -> R {
        f(&mut self.lock())
    }

    /// Numbers, applies, records and broadcasts one event; returns its seq.
    pub fn publish(&self, event: RoomEvent) -> u64 {
        let mut st = self.lock();
        Self::publish_locked(&mut st, self.id, self.bus.as_ref(), event)
    }

    fn publish_locked(st: &mut RoomState, room: RoomId, bus: &dyn Bus, event: RoomEvent) -> u64 {
        let seq = st.seq + 1;
        let frame = ServerFrame::Event {
            seq,
            epoch: st.epoch,
            at: Timestamp::now(),
            event,
        };
        let text = match serde_json::to_string(&frame) {
            Ok(t) => t,
            Err(e) => {
                tracing::error!(error = %e, %room, "event did not serialise; dropped");
                return st.seq;
            }
        };
        let ServerFrame::Event { event, .. } = frame else {
            unreachable!()
        };
        event.apply_to(&mut st.snap);
        st.seq = seq;
        let frame = Frame {
            seq,
            text: text.into(),
        };
        if st.history.len() == st.history_len {
            st.history.pop_front();
        }
        st.history.push_back(frame.clone());
        bus.publish(room, frame);
        seq
    }

    pub fn viewer_count_locked(&self, st: &RoomState) -> u64 {
        st.bot_viewers + self.viewers().count()
    }

    pub fn summary(&self) -> RoomSummary {
        let st = self.lock();
        let mut s = st.snap.room.clone();
        s.viewer_count = self.viewer_count_locked(&st);
        s
    }

    fn snapshot_locked(&self, st: &RoomState) -> RoomSnapshot {
        let viewer_count = self.viewer_count_locked(st);
        let mut snap = st.snap.clone();
        snap.room.viewer_count = viewer_count;
        snap.viewer_count = viewer_count;
        snap.seq = st.seq;
        snap.epoch = st.epoch;
        snap.server_time = Timestamp::now();
        snap
    }

    pub fn snapshot(&self) -> RoomSnapshot {
        let st = self.lock();
        self.snapshot_locked(&st)
    }

    /// Subscribes a socket. `resume` is the `(since, epoch)` the client holds.
    pub fn join(&self, resume: Option<(u64, Epoch)>) -> Join {
        let st = self.lock();
        let live = self.bus.subscribe(self.id);
        let catch_up = match resume {
            Some((since, epoch)) if epoch == st.epoch => match missed(&st, since) {
                Some(frames) => CatchUp::Events(frames),
                None => CatchUp::Snapshot(Box::new(self.snapshot_locked(&st))),
            },
            _ => CatchUp::Snapshot(Box::new(self.snapshot_locked(&st))),
        };
        Join {
            epoch: st.epoch,
            seq: st.seq,
            catch_up,
            live,
        }
    }

    pub fn add_likes(&self, n: u64) {
        self.pending_likes.fetch_add(n, Ordering::Relaxed);
    }

    /// Sends the aggregated likes, if any. Called at most four times a second.
    pub fn flush_likes(&self) {
        let added = self.pending_likes.swap(0, Ordering::Relaxed);
        if added > 0 {
            let mut st = self.lock();
            let total = st.snap.like_count.saturating_add(added);
            Self::publish_locked(
                &mut st,
                self.id,
                self.bus.as_ref(),
                RoomEvent::Likes { added, total },
            );
        }
    }

    /// Sends the viewer count if it changed. Called at most once a second.
    pub fn flush_viewers(&self) {
        let mut st = self.lock();
        let count = self.viewer_count_locked(&st);
        if count != st.snap.viewer_count {
            Self::publish_locked(
                &mut st,
                self.id,
                self.bus.as_ref(),
                RoomEvent::Viewers { count },
            );
        }
    }

    /// Starts a new epoch: history is forgotten, so every resuming client
    /// gets a snapshot. Used when the room's continuity cannot be vouched for.
    pub fn new_epoch(&self) -> Epoch {
        let mut st = self.lock();
        st.epoch = Epoch::new();
        st.history.clear();
        st.epoch
    }
}

/// The frames after `since`, if the kept history still holds all of them.
fn missed(st: &RoomState, since: u64) -> Option<Vec<Frame>> {
    if since > st.seq {
        return None;
    }
    if since == st.seq {
        return Some(Vec::new());
    }
    let first = st.history.front()?.seq;
    if since + 1 < first {
        return None;
    }
    let skip = (since + 1 - first) as usize;
    Some(st.history.iter().skip(skip).cloned().collect())
}

/// Anonymous viewers one address adds to the viewer count at most.
pub const ANONYMOUS_VIEWERS_PER_ADDRESS: u32 = 4;

/// Who watches a room: signed-in viewers once each however many sockets
/// they open, anonymous ones by address (a few per address at most).
#[derive(Debug, Default)]
pub struct Viewers {
    users: HashMap<UserId, u32>,
    anonymous: HashMap<Option<IpAddr>, u32>,
}

/// One socket's place among the viewers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Watcher {
    User(UserId),
    Anonymous(Option<IpAddr>),
}

impl Viewers {
    /// A socket opens; false (and nothing counted) when its address has
    /// `per_address` anonymous sockets already (`ws.anonymous_per_address`).
    pub fn join(&mut self, w: Watcher, per_address: u32) -> bool {
        match w {
            Watcher::User(u) => *self.users.entry(u).or_default() += 1,
            Watcher::Anonymous(a) => {
                let n = self.anonymous.entry(a).or_default();
                if *n >= per_address && a.is_some() {
                    return false;
                }
                *n += 1;
            }
        }
        true
    }

    pub fn leave(&mut self, w: Watcher) {
        let left = match w {
            Watcher::User(u) => self.users.get_mut(&u).map(|n| {
                *n -= 1;
                *n == 0
            }),
            Watcher::Anonymous(a) => self.anonymous.get_mut(&a).map(|n| {
                *n -= 1;
                *n == 0
            }),
        };
        if left == Some(true) {
            match w {
                Watcher::User(u) => {
                    self.users.remove(&u);
                }
                Watcher::Anonymous(a) => {
                    self.anonymous.remove(&a);
                }
            }
        }
    }

    /// Sockets open (however many people).
    pub fn sockets(&self) -> u64 {
        let users: u32 = self.users.values().sum();
        let anonymous: u32 = self.anonymous.values().sum();
        u64::from(users) + u64::from(anonymous)
    }

    /// People watching: each signed-in user once, anonymous sockets up to a
    /// few per address (unknown addresses count each socket).
    pub fn count(&self) -> u64 {
        let anonymous: u64 = self
            .anonymous
            .iter()
            .map(|(a, n)| {
                if a.is_some() {
                    u64::from((*n).min(ANONYMOUS_VIEWERS_PER_ADDRESS))
                } else {
                    u64::from(*n)
                }
            })
            .sum();
        self.users.len() as u64 + anonymous
    }
}
