//! The signed-in user's own WebSocket,
//! `/v1/me/live?v=<PROTOCOL_VERSION>[&since=<seq>&epoch=<epoch>]`, opened with
//! the `Authorization: Bearer <access token>` header (no token, no socket).
//!
//! It carries what changes about the user while they do something else:
//! their orders moving along and their wallet balance. The rules are the
//! room socket's: `welcome`, then either the missed events (when
//! `since`/`epoch` were given and the kept history covers the gap) or one
//! `snapshot`, then live `event`s with gap-free, increasing `seq`s within an
//! epoch. A server restart is a new epoch (a snapshot follows).

use crate::ErrorCode;
use crate::commerce::Order;
use crate::ids::Epoch;
use crate::money::Money;
use crate::rest::UserRef;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Orders a snapshot carries at most (the newest).
pub const SNAPSHOT_ORDERS: usize = 100;

/// A frame the app sends on its own socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum MeClientFrame {
    /// Application-level keep-alive; answered with `pong`.
    Ping {
        #[serde(default)]
        nonce: u64,
    },
}

/// A frame the server sends on the user's socket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MeFrame {
    Welcome {
        protocol_version: u32,
        user: UserRef,
        epoch: Epoch,
        /// The latest `seq` at connection time.
        seq: u64,
        server_time: Timestamp,
        heartbeat_ms: u64,
        /// Whether the missed events follow (true) or a snapshot does.
        resumed: bool,
    },
    Snapshot {
        snapshot: Box<MeSnapshot>,
    },
    Event {
        seq: u64,
        epoch: Epoch,
        at: Timestamp,
        event: MeEvent,
    },
    Error {
        code: ErrorCode,
        message: String,
    },
    Pong {
        nonce: u64,
    },
}

/// Everything the socket keeps current, at `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MeSnapshot {
    /// Newest first, at most [`SNAPSHOT_ORDERS`], each with its timeline.
    pub orders: Vec<Order>,
    pub balance: Money,
    pub seq: u64,
    pub epoch: Epoch,
}

/// Something about the user changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MeEvent {
    /// An order as it is now (new, or a step further; its timeline included).
    Order { order: Box<Order> },
    /// The wallet balance now (after a payment, a refund, a top-up, a gift).
    Wallet { balance: Money },
    /// An event this client does not know; skip it (its `seq` still counts).
    #[serde(other)]
    Unknown,
}

impl MeSnapshot {
    /// Folds one event in, as a client holding this snapshot would.
    pub fn apply(&mut self, seq: u64, event: &MeEvent) {
        self.seq = seq;
        match event {
            MeEvent::Order { order } => {
                if let Some(o) = self.orders.iter_mut().find(|o| o.id == order.id) {
                    *o = (**order).clone();
                } else {
                    self.orders.insert(0, (**order).clone());
                    self.orders.truncate(SNAPSHOT_ORDERS);
                }
            }
            MeEvent::Wallet { balance } => self.balance = *balance,
            MeEvent::Unknown => {}
        }
    }
}
