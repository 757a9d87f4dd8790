//! Fan-out seam. A room's owner publishes each event once, already serialised;
//! every socket watching the room receives the same shared bytes. The
//! in-process bus is a tokio broadcast channel per room; a NATS bus (scale-out)
//! will subscribe once per room per node and feed the same local channel, so
//! sockets never know which one they are on.

use axum::extract::ws::Utf8Bytes;
use livecart_protocol::RoomId;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// One serialised server frame and the `seq` it carries.
#[derive(Debug, Clone)]
pub struct Frame {
    pub seq: u64,
    /// The JSON text, shared (reference-counted) by all receivers.
    pub text: Utf8Bytes,
}

pub trait Bus: Send + Sync + 'static {
    /// Sends a frame to every subscriber of the room. Never blocks: a
    /// subscriber that falls `capacity` frames behind is told it lagged.
    fn publish(&self, room: RoomId, frame: Frame);
    fn subscribe(&self, room: RoomId) -> broadcast::Receiver<Frame>;
    /// Subscribers currently attached to the room on this node.
    fn subscribers(&self, room: RoomId) -> usize;
}

/// A broadcast channel per room, in this process.
pub struct LocalBus {
    capacity: usize,
    rooms: Mutex<HashMap<RoomId, broadcast::Sender<Frame>>>,
}

impl LocalBus {
    pub fn new(capacity: usize) -> Arc<Self> {
        Arc::new(Self {
            capacity: capacity.max(16),
            rooms: Mutex::default(),
        })
    }

    fn sender(&self, room: RoomId) -> broadcast::Sender<Frame> {
        let mut rooms = self
            .rooms
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        rooms
            .entry(room)
            .or_insert_with(|| broadcast::channel(self.capacity).0)
            .clone()
    }
}

impl Bus for LocalBus {
    fn publish(&self, room: RoomId, frame: Frame) {
        // No receivers is fine: nobody is watching.
        let _ = self.sender(room).send(frame);
    }

    fn subscribe(&self, room: RoomId) -> broadcast::Receiver<Frame> {
        self.sender(room).subscribe()
    }

    fn subscribers(&self, room: RoomId) -> usize {
        self.sender(room).receiver_count()
    }
}
