//! The room the viewer is in: its state folded from the snapshot and the
//! numbered events after it, and its connection. A gap in `seq` (or an event
//! of another epoch) means the connection missed something: the room asks to
//! reconnect from the last event it applied, and the server fills the gap or
//! sends a fresh snapshot.

use crate::show::Show;
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
    /// Room events seen since joining (the last 200).
    pub recent: Vec<RoomEvent>,
    /// What plays on top of the video: pin card timing, gifts, hearts.
    pub show: Show,
}

impl LiveRoom {
    pub fn new(id: RoomId) -> Self {
        Self {
            id,
            state: None,
            link: Link::Connecting,
            recent: Vec::new(),
            show: Show::new(),
        }
    }

    /// Where to resume from: the last applied event of our epoch.
    pub fn resume_point(&self) -> Option<(u64, Epoch)> {
        self.state.as_ref().map(|s| (s.seq, s.epoch))
    }

    /// Folds one frame in; `now` is our clock (ms since the epoch).
    pub fn fold(&mut self, frame: ServerFrame, now: i64) -> Fold {
        if let ServerFrame::Pong { server_time, .. } = &frame {
            self.show.on_server_time(*server_time, now);
        }
        match frame {
            ServerFrame::Welcome { server_time, .. } => {
                self.link = Link::Live;
                self.show.on_server_time(server_time, now);
                Fold::Applied
            }
            ServerFrame::Snapshot { snapshot } => {
                self.show.on_snapshot(&snapshot, now);
                self.state = Some(*snapshot);
                Fold::Applied
            }
            ServerFrame::Event {
                seq,
                epoch,
                event,
                at,
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
                event.apply_to(state);
                state.seq = seq;
                self.show.on_server_time(at, now);
                self.show.on_event(&event, state, now);
                self.recent.push(event);
                let extra = self.recent.len().saturating_sub(200);
                self.recent.drain(..extra);
                Fold::Applied
            }
            other => Fold::Other(other),
        }
    }
}
