//! Wire types shared by the livecart app and server: every REST body and every
//! WebSocket frame, as serde types. No I/O lives here.
//!
//! Layout:
//! - [`ids`]: UUID v7 identifiers, one newtype per kind so they cannot be mixed up.
//! - [`money`]: integer minor units plus an ISO-4217 code; never floats.
//! - [`rest`]: request and response bodies of the `/v1` REST API.
//! - [`commerce`]: wallet, top-ups, addresses, orders and paid gifts.
//! - [`live`]: the room WebSocket: client frames, server frames, room events.
//! - [`me`]: the signed-in user's own WebSocket (orders, wallet).
//! - [`error`]: error codes, the HTTP problem body, and typed decode errors.
//!
//! Invariants: every enum on the wire is internally tagged (`"type"`) in
//! `snake_case`; timestamps are UTC RFC 3339; decoding untrusted input goes
//! through the `decode_*` functions, which never panic and return [`DecodeError`].

pub mod commerce;
pub mod error;
pub mod ids;
pub mod live;
pub mod me;
pub mod money;
pub mod rest;

pub use error::{DecodeError, ErrorCode, Problem};
pub use ids::{
    AddressId, ComboId, Epoch, FlashSaleId, GiftId, GiftSendId, ImageId, MessageId, OrderId,
    ProductId, RoomId, SkuId, TopUpId, TxnId, UserId,
};
pub use jiff::Timestamp;
pub use live::{ClientFrame, FlashSalePhase, GiftEvent, RoomEvent, ServerFrame};
pub use live::{decode_client_frame, decode_server_frame};
pub use money::{Currency, Money};

/// The protocol version this build speaks. Clients send it in the
/// [`PROTOCOL_HEADER`] header on REST calls and as `v=` on WebSocket URLs.
pub const PROTOCOL_VERSION: u32 = 1;

/// The oldest client protocol version the server still accepts; older clients
/// get an `upgrade_required` error.
pub const MIN_PROTOCOL_VERSION: u32 = 1;

/// HTTP header carrying the client's protocol version.
pub const PROTOCOL_HEADER: &str = "livecart-protocol";

/// Largest WebSocket message the server accepts from a client, in bytes.
pub const MAX_CLIENT_FRAME_BYTES: usize = 16 * 1024;

/// Chat lines a room snapshot carries (the newest).
pub const SNAPSHOT_CHAT_LINES: usize = 50;

/// Longest chat message, in characters (Unicode scalar values).
pub const MAX_CHAT_CHARS: usize = 200;
