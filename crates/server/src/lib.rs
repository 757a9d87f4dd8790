//! livecart-server: the live-room server the app talks to, embeddable in the
//! app (`serve`) or run on its own (`livecart-server`).
//!
//! Layout (every module is private; the API is the `pub use` list below;
//! each folder's own file says more):
//! - `config`: settings from defaults, a TOML file and `LIVECART_*` env.
//! - `listen`: accepting connections (timeouts, the connection cap).
//! - `http`: the route table; `http/` the extractors (`Body`, `PathId`,
//!   `ClientAddr`), images, sessions, public room endpoints, the host API.
//! - `live`: `room` (one room's state and numbered event log), `rooms`
//!   (registry, loading, the ticker pacing likes/viewers), `bus` (the
//!   fan-out seam: in-process now, NATS when scaled out), `ws` (the room
//!   WebSocket), `me_live` (the user's own socket), `chat` (chat rules),
//!   `host` (room operations shared by the host API and the demo scripts),
//!   `streams` (video as HTTP-FLV).
//! - `money`: `ledger` (double-entry accounts) and its one `writer`,
//!   `idempotency` (keys for every money-moving request), `wallet`
//!   (top-ups), `gifts` (paid gifts), `orders` (addresses, checkout) and
//!   `orders::tracking` (after payment).
//! - `auth`: sign-in, access and refresh tokens; `guard`: sign-in
//!   limits and the hashing pool; `rules`: what is accepted from hosts
//!   and users; `social`: follows and reports.
//! - `state`: what every handler shares; `db`: SQLite (migrations, row
//!   mapping); `error`: problem+json; `mem`: giving freed heap back;
//!   `demo`: the seeded demo world (feature `demo`).

mod auth;
mod config;
mod db;
#[cfg(feature = "demo")]
mod demo;
mod error;
mod guard;
mod http;
mod listen;
mod live;
mod mem;
mod money;
mod rules;
mod social;
mod state;

// The server's face: what the binary, the app's embedded server, the tests
// and the benches use. Every module is private; this is the whole API.
pub use auth::{Claims, create_user};
pub use config::ServerConfig;
pub use db::open as open_database;
#[cfg(feature = "demo")]
pub use demo::world::{DEMO_PASSWORD, DEMO_PIN, provision_buyer};
pub use live::host::{take_flash_stock, take_stock};
pub use money::idempotency::{StoredKeys, purge as purge_idempotency_keys};
pub use money::ledger::{CheckReport, check as check_ledger};
pub use state::AppState;

use live::{bus, chat, rooms, streams};
use money::{idempotency, ledger, orders, wallet, writer};

use anyhow::Context;
use std::net::SocketAddr;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A running server. Dropping it does not stop it; call [`ServerHandle::shutdown`].
pub struct ServerHandle {
    pub addr: SocketAddr,
    /// e.g. `http://127.0.0.1:8787`.
    pub base_url: String,
    pub state: AppState,
    server: JoinHandle<std::io::Result<()>>,
    background: Vec<JoinHandle<()>>,
}

impl ServerHandle {
    /// Closes every socket with "going away", stops background tasks, waits
    /// for in-flight requests, and closes the database.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.state.shutdown.cancel();
        self.wait().await
    }

    /// Waits until the server stops (after `shutdown` or a fatal error).
    pub async fn wait(self) -> anyhow::Result<()> {
        let served = self.server.await.context("server task")?;
        self.state.streams.stop_all();
        for t in self.background {
            t.abort();
            let _ = t.await;
        }
        self.state.writer.close().await;
        self.state.db.close().await;
        served.context("serving")
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    pub fn ws_url(&self, path: &str) -> String {
        format!("ws://{}{path}", self.addr)
    }
}

/// Raises the open-files limit to its hard limit and leaves 512 of them
/// for everything that is not a connection (database, stream relays, logs).
fn files_for_connections() -> usize {
    let files = rlimit::increase_nofile_limit(u64::MAX).unwrap_or(1_024);
    usize::try_from(files.saturating_sub(512).max(64)).unwrap_or(64)
}

/// Opens the database, seeds the demo world if configured, loads the rooms,
/// binds the listener and starts serving.
pub async fn serve(config: ServerConfig) -> anyhow::Result<ServerHandle> {
    let listener = listen::bind(config.bind).with_context(|| format!("binding {}", config.bind))?;
    let addr = listener.local_addr()?;
    let base_url = config.public_url.clone().map_or_else(
        || format!("http://{addr}"),
        |u| u.trim_end_matches('/').to_owned(),
    );
    let db = db::open(&config).await?;
    let writer = db::open_writer(&config).await?;
    let bus = bus::LocalBus::new(config.ws.send_queue);
    let state = AppState::new(state::Inner {
        tokens: auth::TokenKeys::new(config.token_secret.as_deref()),
        guard: guard::Guard::new(&config.auth),
        refresh_grace: auth::RefreshGrace::default(),
        chat: chat::ChatRules::new(&config.chat),
        in_flight: idempotency::InFlight::default(),
        stored_keys: idempotency::StoredKeys::load(&db).await?,
        flash_gate: orders::FlashGate::default(),
        rooms: rooms::Rooms::default(),
        streams: streams::Streams::default(),
        bus,
        db,
        payments: writer::WriteQueue::start(writer.clone())?,
        #[cfg(feature = "demo")]
        provider: Box::new(demo::provider::DemoProvider),
        #[cfg(not(feature = "demo"))]
        provider: Box::new(money::provider::NoProvider),
        writer,
        accounts: ledger::AccountIds::default(),
        websockets: std::sync::Arc::default(),
        lazy_images: http::LazyImages::default(),
        me: live::me_hub::MeHub::default(),
        base_url: base_url.clone(),
        shutdown: CancellationToken::new(),
        config,
    });

    #[cfg(feature = "demo")]
    if state.config.demo.enabled {
        demo::seed_if_empty(&state)
            .await
            .context("seeding the demo world")?;
    }
    live::lifecycle::load_all(&state)
        .await
        .context("loading rooms")?;
    let pending = wallet::resume_pending(&state).await?;
    if pending > 0 {
        tracing::info!(pending, "top-ups from the last run wait for the provider");
    }

    #[cfg_attr(not(feature = "demo"), allow(unused_mut))]
    let mut background = vec![live::lifecycle::spawn_ticker(state.clone())];
    #[cfg(feature = "demo")]
    if state.config.money.order_step_ms > 0 {
        background.push(demo::fulfilment::spawn_fulfilment(state.clone()));
    }
    #[cfg(feature = "demo")]
    if state.config.demo.enabled {
        background.extend(demo::start(&state).await?);
    }

    let token = state.shutdown.clone();
    let router = http::app(state.clone());
    let limits = listen::Limits {
        max_connections: match state.config.http.max_connections {
            0 => files_for_connections(),
            n => n,
        },
        header_read_timeout: std::time::Duration::from_secs(
            state.config.http.header_read_timeout_s.max(1),
        ),
    };
    tracing::info!(
        max_connections = limits.max_connections,
        "connection limits"
    );
    let websockets = state.websockets.clone();
    let server = tokio::spawn(listen::serve(listener, router, limits, token, websockets));
    tracing::info!(%addr, %base_url, "livecart server listening");
    Ok(ServerHandle {
        addr,
        base_url,
        state,
        server,
        background,
    })
}
