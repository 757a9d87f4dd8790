//! The room the viewer is in: its state folded from the snapshot and the
//! numbered events after it, and its connection. A gap in `seq` (or an event
//! of another epoch) means the connection missed something: the room asks to
//! reconnect from the last event it applied, and the server fills the gap or
//! sends a fresh snapshot.

use livecart_protocol::rest::RoomSnapshot;
use livecart_protocol::{Epoch, RoomEvent, RoomId, ServerFrame};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    Connecting,
    Live,
    /// Lost; the `attempt`-th reconnect is scheduled.
    Reconnecting {
        attempt: u32,
    },
}

/// What folding a frame did.
#[derive(Debug, Clone, PartialEq)]
pub enum Fold {
    Applied,
    /// Already applied (a resumed stream may overlap): ignored.
    Duplicate,
    /// Something is missing: reconnect from the last applied event.
    Gap,
    /// Not a room event (pong, error, …); the caller may handle it.
    Other(ServerFrame),
}

#[derive(Debug, Clone, PartialEq)]
pub struct LiveRoom {
    pub id: RoomId,
    pub state: Option<RoomSnapshot>,
    pub link: Link,
    /// Room events seen since joining, for the gift lanes and chat (later issues).
    pub recent: Vec<RoomEvent>,
}

impl LiveRoom {
    pub fn new(id: RoomId) -> Self {
        Self {
            id,
            state: None,
            link: Link::Connecting,
            recent: Vec::new(),
        }
    }

    /// Where to resume from: the last applied event of our epoch.
    pub fn resume_point(&self) -> Option<(u64, Epoch)> {
        self.state.as_ref().map(|s| (s.seq, s.epoch))
    }

    pub fn fold(&mut self, frame: ServerFrame) -> Fold {
        match frame {
            ServerFrame::Welcome { .. } => {
                self.link = Link::Live;
                Fold::Applied
            }
            ServerFrame::Snapshot { snapshot } => {
                self.state = Some(*snapshot);
                Fold::Applied
            }
            ServerFrame::Event {
                seq, epoch, event, ..
            } => {
                let Some(state) = self.state.as_mut() else {
                    return Fold::Gap;
                };
                if epoch != state.epoch {
                    return Fold::Gap;
                }
                if seq <= state.seq {
                    return Fold::Duplicate;
                }
                if seq != state.seq + 1 {
                    return Fold::Gap;
                }
                state.apply(&event);
                state.seq = seq;
                self.recent.push(event);
                let extra = self.recent.len().saturating_sub(200);
                self.recent.drain(..extra);
                Fold::Applied
            }
            other => Fold::Other(other),
        }
    }
}
