//! What a relay says to its owner and about itself, shared by the relay's
//! loop and its pipeline.

use std::sync::{Arc, Mutex};

/// What a relay hands its owner, in order.
pub enum RelayOutput<'a> {
    /// A new connection to the source: what follows is a new FLV stream
    /// (forget the previous one's GOP and codec configuration).
    NewStream,
    /// FLV bytes (the header, then whole tags).
    Flv(&'a [u8]),
    /// The source failed or ended: what came before is not live any more
    /// (drop it; the next `NewStream` starts again).
    Lost,
}

/// How the pull is going.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayState {
    Connecting,
    /// Media is flowing.
    Live,
    /// The source failed or ended; the next attempt is on its way.
    Retrying {
        error: String,
        attempt: u32,
    },
}

pub(super) type OnOutput = Arc<dyn Fn(RelayOutput<'_>) + Send + Sync>;

pub(super) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
