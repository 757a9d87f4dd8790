//! Each signed-in user's own channel of order and wallet events: numbered,
//! with a short history for resuming and an epoch per channel. The socket
//! that serves it is `me_live`.

use jiff::Timestamp;
use livecart_protocol::me::{MeEvent, MeFrame};
use livecart_protocol::{Epoch, UserId};
use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// Events kept per user for a resuming client.
pub const HISTORY: usize = 128;

/// Channels kept before idle ones (no socket, quiet for [`IDLE`]) are let go.
const SWEEP_ABOVE: usize = 1_024;

const IDLE: std::time::Duration = std::time::Duration::from_mins(10);

struct Channel {
    /// Its own: a channel let go and made again starts a new epoch, so a
    /// client resuming from the old one gets a snapshot.
    epoch: Epoch,
    seq: u64,
    history: VecDeque<(u64, Arc<str>)>,
    tx: broadcast::Sender<Arc<str>>,
    used: std::time::Instant,
}

#[derive(Default)]
pub struct MeHub {
    users: Mutex<HashMap<UserId, Channel>>,
}

/// What a joining socket starts from.
pub(crate) struct Join {
    pub(crate) epoch: Epoch,
    pub(crate) seq: u64,
    /// The missed frames, or `None`: send a snapshot.
    pub(crate) missed: Option<Vec<Arc<str>>>,
    pub(crate) live: broadcast::Receiver<Arc<str>>,
}

impl MeHub {
    fn with<R>(&self, user: UserId, f: impl FnOnce(&mut Channel) -> R) -> R {
        let mut users = self
            .users
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if users.len() > SWEEP_ABOVE {
            users.retain(|_, ch| ch.tx.receiver_count() > 0 || ch.used.elapsed() < IDLE);
        }
        let ch = users.entry(user).or_insert_with(|| Channel {
            epoch: Epoch::new(),
            seq: 0,
            history: VecDeque::with_capacity(8),
            tx: broadcast::channel(HISTORY).0,
            used: std::time::Instant::now(),
        });
        ch.used = std::time::Instant::now();
        f(ch)
    }

    /// Numbers, records and sends one event to the user's sockets.
    pub fn publish(&self, user: UserId, event: MeEvent) {
        self.with(user, |ch| {
            let seq = ch.seq + 1;
            let frame = MeFrame::Event {
                seq,
                epoch: ch.epoch,
                at: Timestamp::now(),
                event,
            };
            let Ok(text) = serde_json::to_string(&frame) else {
                tracing::error!(%user, "a user event did not serialise; dropped");
                return;
            };
            let text: Arc<str> = text.into();
            ch.seq = seq;
            if ch.history.len() == HISTORY {
                ch.history.pop_front();
            }
            ch.history.push_back((seq, text.clone()));
            let _ = ch.tx.send(text);
        });
    }

    pub(crate) fn join(&self, user: UserId, resume: Option<(u64, Epoch)>) -> Join {
        self.with(user, |ch| {
            let epoch = ch.epoch;
            let missed = resume.and_then(|(since, e)| {
                let oldest = ch.history.front().map_or(ch.seq + 1, |(s, _)| *s);
                (e == epoch && since <= ch.seq && since + 1 >= oldest).then(|| {
                    ch.history
                        .iter()
                        .filter(|(s, _)| *s > since)
                        .map(|(_, t)| t.clone())
                        .collect()
                })
            });
            Join {
                epoch,
                seq: ch.seq,
                missed,
                live: ch.tx.subscribe(),
            }
        })
    }
}
