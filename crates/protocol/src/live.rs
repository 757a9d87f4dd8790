//! The room WebSocket, `/v1/rooms/{id}/live?v=<PROTOCOL_VERSION>[&since=<seq>&epoch=<epoch>]`.
//!
//! After the upgrade the server sends `welcome`, then either the missed events
//! (when `since`/`epoch` were given and the kept history covers the gap) or one
//! `snapshot`, then live `event`s. Within an epoch, event `seq`s are gap-free
//! and strictly increasing: a client that applies them in order, after the
//! snapshot whose `seq` they follow, holds the room's live state.

use crate::ErrorCode;
use crate::error::{DecodeError, decode_tagged};
use crate::ids::{ComboId, Epoch, GiftId, MessageId, ProductId, RoomId, SkuId};
use crate::rest::{ChatMessage, FlashSale, Pin, RoomSnapshot, RoomStatus, UserRef};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// A frame the app sends.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Post a chat message (signed-in users only).
    Chat {
        text: String,
        /// The app's own id for the line, echoed back in the broadcast.
        #[serde(default)]
        client_id: Option<uuid::Uuid>,
    },
    /// Likes tapped since the last frame (the app batches taps).
    Like { count: u32 },
    /// Application-level keep-alive; answered with `pong`.
    Ping {
        #[serde(default)]
        nonce: u64,
    },
    /// Attach (or refresh) credentials on an open connection, e.g. after
    /// signing in while watching or when the access token was refreshed.
    Auth { access_token: String },
}

/// A frame the server sends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// First frame on every connection.
    Welcome {
        protocol_version: u32,
        room_id: RoomId,
        epoch: Epoch,
        /// The room's latest `seq` at connection time.
        seq: u64,
        server_time: Timestamp,
        /// The server pings at this interval and closes connections silent for
        /// three intervals.
        heartbeat_ms: u64,
        /// Whether the missed events follow (true) or a snapshot does (false).
        resumed: bool,
        /// Who the server thinks you are; `None` for anonymous viewers.
        user: Option<UserRef>,
    },
    /// The whole room state; sent on a fresh join, and on a resume the kept
    /// history cannot cover or whose epoch is gone.
    Snapshot {
        snapshot: Box<RoomSnapshot>,
    },
    /// A room event, numbered.
    Event {
        seq: u64,
        epoch: Epoch,
        /// Server time the event happened.
        at: Timestamp,
        event: RoomEvent,
    },
    /// A refusal of one client frame; the connection stays open.
    Error {
        code: ErrorCode,
        message: String,
        /// For `rate_limited` and `muted`: when the user may try again.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        retry_after_ms: Option<u64>,
    },
    Pong {
        nonce: u64,
        server_time: Timestamp,
    },
    /// Confirms an `auth` frame.
    Authenticated {
        user: UserRef,
    },
}

/// Something that happened in a room, in `seq` order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RoomEvent {
    Chat {
        message: ChatMessage,
    },
    ChatRemoved {
        message_id: MessageId,
    },
    Gift(GiftEvent),
    /// Aggregated likes (at most four events a second).
    Likes {
        added: u64,
        total: u64,
    },
    /// At most one a second, only when the count changed.
    Viewers {
        count: u64,
    },
    Pin {
        pin: Pin,
    },
    Unpin {
        product_id: ProductId,
        unpinned_at: Timestamp,
        stream_time: Timestamp,
    },
    FlashSale {
        phase: FlashSalePhase,
        sale: FlashSale,
    },
    Stock {
        product_id: ProductId,
        sku_id: SkuId,
        stock: u32,
    },
    Notice {
        text: String,
    },
    Status {
        status: RoomStatus,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GiftEvent {
    pub gift_id: GiftId,
    pub gift_name: String,
    pub coins: u32,
    pub sender: UserRef,
    /// Gifts sent by this request.
    pub count: u32,
    pub combo_id: ComboId,
    /// Running total of the combo, for the "x12" badge.
    pub combo_count: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlashSalePhase {
    Started,
    Stock,
    Ended,
}

/// Close codes the server uses (4000–4999 is the application range).
pub mod close {
    /// The client could not keep up with the room and was dropped; reconnect
    /// with `since` to catch up.
    pub const SLOW_CONSUMER: u16 = 4008;
    /// Nothing was heard from the client for three heartbeat intervals.
    pub const IDLE_TIMEOUT: u16 = 4009;
    /// The room ended.
    pub const ROOM_ENDED: u16 = 4010;
    /// The server is shutting down; reconnect later.
    pub const GOING_AWAY: u16 = 1001;
    /// Refused by policy (e.g. too many sockets from one address).
    pub const POLICY_VIOLATION: u16 = 1008;
    /// A client frame over the hard size limit.
    pub const MESSAGE_TOO_BIG: u16 = 1009;
}

/// Query parameters of the live URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct LiveQuery {
    #[serde(default)]
    pub v: Option<u32>,
    #[serde(default)]
    pub since: Option<u64>,
    #[serde(default)]
    pub epoch: Option<Epoch>,
}

impl LiveQuery {
    /// The query a client connects with: this protocol's version and, to
    /// resume, the last event it has (`&since=…&epoch=…`).
    pub fn resuming(resume: Option<(u64, Epoch)>) -> String {
        let v = crate::PROTOCOL_VERSION;
        match resume {
            Some((since, epoch)) => format!("v={v}&since={since}&epoch={epoch}"),
            None => format!("v={v}"),
        }
    }
}

/// A room's socket, path and query.
pub fn room_socket_path(room: RoomId, resume: Option<(u64, Epoch)>) -> String {
    format!("/v1/rooms/{room}/live?{}", LiveQuery::resuming(resume))
}

/// The signed-in user's own socket, path and query.
pub fn me_socket_path(resume: Option<(u64, Epoch)>) -> String {
    format!("/v1/me/live?{}", LiveQuery::resuming(resume))
}

/// Frame types a client may send.
pub const CLIENT_FRAME_TYPES: &[&str] = &["chat", "like", "ping", "auth"];

/// Frame types a server may send.
pub const SERVER_FRAME_TYPES: &[&str] = &[
    "welcome",
    "snapshot",
    "event",
    "error",
    "pong",
    "authenticated",
];

/// Decodes a frame from a client, enforcing the size limit first.
pub fn decode_client_frame(text: &str, max_bytes: usize) -> Result<ClientFrame, DecodeError> {
    decode_tagged(text, max_bytes, CLIENT_FRAME_TYPES)
}

/// Decodes a frame from the server (no size limit beyond the socket's own).
pub fn decode_server_frame(text: &str) -> Result<ServerFrame, DecodeError> {
    decode_tagged(text, usize::MAX, SERVER_FRAME_TYPES)
}

impl RoomEvent {
    /// Folds this event into a room's snapshot: what a client does with each
    /// event after the snapshot's `seq` to hold the live state.
    pub fn apply_to(&self, snapshot: &mut RoomSnapshot) {
        use RoomEvent as E;
        match self {
            E::Chat { message } => {
                snapshot.chat.push(message.clone());
                let extra = snapshot
                    .chat
                    .len()
                    .saturating_sub(crate::SNAPSHOT_CHAT_LINES);
                snapshot.chat.drain(..extra);
            }
            E::ChatRemoved { message_id } => snapshot.chat.retain(|m| m.id != *message_id),
            E::Likes { total, .. } => snapshot.like_count = *total,
            E::Viewers { count } => {
                snapshot.viewer_count = *count;
                snapshot.room.viewer_count = *count;
            }
            E::Pin { pin } => snapshot.pinned = Some(pin.clone()),
            E::Unpin { product_id, .. } => {
                if snapshot
                    .pinned
                    .as_ref()
                    .is_some_and(|p| p.product_id == *product_id)
                {
                    snapshot.pinned = None;
                }
            }
            E::FlashSale { phase, sale } => {
                snapshot.flash_sale = (*phase != FlashSalePhase::Ended).then(|| sale.clone());
            }
            E::Stock {
                product_id,
                sku_id,
                stock,
            } => {
                if let Some(sku) = snapshot
                    .products
                    .iter_mut()
                    .filter(|p| p.id == *product_id)
                    .flat_map(|p| p.skus.iter_mut())
                    .find(|s| s.id == *sku_id)
                {
                    sku.stock = *stock;
                }
            }
            E::Status { status } => snapshot.room.status = *status,
            E::Gift(_) | E::Notice { .. } => {}
        }
    }
}
