//! Shared server state, handed to every handler. Cheap to clone.

use crate::auth::TokenKeys;
use crate::config::ServerConfig;
use crate::live::bus::Bus;
use crate::live::chat::ChatRules;
use crate::live::rooms::Rooms;
use crate::live::streams::Streams;
use sqlx::SqlitePool;
use std::ops::Deref;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub config: ServerConfig,
    pub db: SqlitePool,
    /// One connection: every money-moving transaction (`db::open_writer`).
    pub writer: SqlitePool,
    /// Orders go through here: batched on the writer connection, one
    /// commit per batch (`writer::WriteQueue`).
    pub payments: crate::money::writer::WriteQueue,
    /// Who charges cards for top-ups.
    pub provider: Box<dyn crate::money::provider::PaymentProvider>,
    /// Pictures still to draw (the demo world's art).
    pub lazy_images: crate::http::lazy_images::LazyImages,
    /// Ledger account ids, once committed.
    pub accounts: crate::money::ledger::AccountIds,
    /// Each signed-in user's own live channel (orders, wallet).
    pub me: crate::live::me_hub::MeHub,
    pub tokens: TokenKeys,
    /// Sign-in limits and the password-hashing pool.
    pub guard: crate::guard::Guard,
    /// Refresh tokens just spent, for a retry within the grace.
    pub refresh_grace: crate::auth::RefreshGrace,
    pub rooms: Rooms,
    /// Video this server serves itself (HTTP-FLV).
    pub streams: Streams,
    pub bus: Arc<dyn Bus>,
    pub chat: ChatRules,
    /// Idempotency keys whose request is running now.
    pub in_flight: crate::money::idempotency::keys::InFlight,
    /// Idempotency keys that have a stored answer (hashes).
    pub stored_keys: crate::money::idempotency::keys::StoredKeys,
    /// Flash-sale units not yet promised to a buyer.
    pub flash_gate: crate::money::orders::FlashGate,
    /// Where clients reach us, without a trailing slash; prefixes every URL
    /// the API hands out (images, streams).
    pub base_url: String,
    /// WebSocket connections open (they count toward `http.max_connections`).
    pub websockets: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    /// Cancelled on shutdown: sockets close with "going away", tasks end.
    pub shutdown: CancellationToken,
}

impl AppState {
    pub fn new(inner: Inner) -> Self {
        Self(Arc::new(inner))
    }

    /// Counts a WebSocket connection while the guard lives.
    pub fn websocket(&self) -> SocketCount {
        self.websockets
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        SocketCount(self.websockets.clone())
    }
}

/// One open WebSocket, counted toward the connection cap until dropped.
pub struct SocketCount(std::sync::Arc<std::sync::atomic::AtomicUsize>);

impl Drop for SocketCount {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

impl Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}
