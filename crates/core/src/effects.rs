//! Side effects as data: everything the core asks the outside world to do.
//! Effect runners in the app carry them out and answer with events. Each
//! variant says why it exists.

use livecart_protocol::commerce::{Order, PlaceOrderRequest};

use livecart_protocol::rest::{FeedResponse, SessionResponse};
use livecart_protocol::{ClientFrame, Epoch, RoomId, UserId};
use serde::{Deserialize, Serialize};

/// Identifies an HTTP request so its answer can find its way back (and be
/// retried once after a token refresh).
pub type RequestId = u64;

#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// REST calls to the livecart server.
    Http(HttpRequest),
    /// The room WebSocket: one per room the viewer is in.
    Socket(SocketCommand),
    /// The video player for a room (crates/media).
    Player(PlayerCommand),
    /// The OS keyring: the only place tokens are kept.
    Vault(VaultCommand),
    /// The app's local database (a cache; never tokens).
    Store(StoreCommand),
    /// The signed-in user's own socket (`/v1/me/live`).
    Me(MeCommand),
    /// Ask for `Event::Timer(id)` after `after_ms` (reconnect backoff).
    Timer { id: u64, after_ms: u64 },
}

/// A payment written to the outbox before it is sent: enough to send it
/// again, with the same key, after a restart. Never holds the PIN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingPayment {
    pub key: String,
    pub user: UserId,
    pub room: RoomId,
    pub request: PlaceOrderRequest,
    pub product_name: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum StoreCommand {
    /// Answer with `FeedEvent::CacheLoaded` (the feed saved last time, if any).
    LoadFeed,
    SaveFeed(Box<FeedResponse>),
    /// Sign-out: delete everything cached for the signed-in user.
    ForgetUser,
    /// Write a payment to the outbox; answer `ShopEvent::PaymentSaved(key)` once
    /// it is on disk (the payment is sent only then).
    SavePayment(Box<PendingPayment>),
    /// The server answered the payment for good: delete it from the outbox.
    ResolvePayment(String),
    /// Answer `ShopEvent::PaymentsLoaded` with this user's unresolved payments.
    LoadPayments(UserId),
    /// Keep the user's orders for offline (replaces what was kept).
    SaveOrders {
        user: UserId,
        orders: Vec<Order>,
    },
    /// Answer `OrdersEvent::Cached` with the orders kept for this user.
    LoadOrders(UserId),
}

#[derive(Debug, Clone, PartialEq)]
pub enum MeCommand {
    /// Connect; with `resume`, the server sends only what was missed.
    Connect {
        resume: Option<(u64, Epoch)>,
        access_token: String,
    },
    Close,
}

#[derive(Debug, Clone, PartialEq)]
pub struct HttpRequest {
    pub id: RequestId,
    pub method: Method,
    /// Path under the server's base URL, e.g. `/v1/feed`.
    pub path: String,
    pub body: Option<serde_json::Value>,
    /// Bearer token to send, if the call is made as the signed-in user.
    pub access_token: Option<String>,
    /// `Idempotency-Key` of a money-moving request: the same for every
    /// retry of one payment.
    pub idempotency_key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Delete,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SocketCommand {
    /// Connect (or reconnect); with `resume`, the server sends only what was missed.
    Connect {
        room: RoomId,
        resume: Option<(u64, Epoch)>,
        access_token: Option<String>,
    },
    Send {
        room: RoomId,
        frame: ClientFrame,
    },
    Close {
        room: RoomId,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum PlayerCommand {
    /// Start a player; `held` preloads it (connected, decoding, not shown).
    Open {
        room: RoomId,
        url: String,
        held: bool,
    },
    /// Show a held player at once.
    Play {
        room: RoomId,
    },
    /// Stop and free the player.
    Release {
        room: RoomId,
    },
    SetMuted {
        room: RoomId,
        muted: bool,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub enum VaultCommand {
    Load,
    Store(Box<SessionResponse>),
    Clear,
}
