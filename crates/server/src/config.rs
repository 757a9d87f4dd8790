//! Server configuration: built-in defaults, then a TOML file, then
//! `LIVECART_*` environment variables (nested keys with `__`, e.g.
//! `LIVECART_CHAT__RATE_COUNT=5`). Later sources win.

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ServerConfig {
    /// Address to listen on; port 0 picks a free one.
    pub bind: SocketAddr,
    /// Where the SQLite database lives.
    pub data_dir: PathBuf,
    /// The URL clients reach this server at; derived from `bind` when unset.
    pub public_url: Option<String>,
    /// Secret that signs access tokens. Unset: a random one per process, so
    /// access tokens die with the process (refresh tokens survive).
    pub token_secret: Option<String>,
    /// Bearer token for the host/admin API with full rights; unset disables it
    /// (hosts can still manage their own rooms with their access tokens).
    pub admin_token: Option<String>,
    pub access_token_ttl_s: u64,
    pub refresh_token_ttl_s: u64,
    /// Events kept per room for resuming clients (at least 1,000).
    pub history_len: usize,
    /// Rooms may stream from loopback, link-local and private addresses
    /// (an nginx-rtmp on the same machine). Off by default: every viewer's
    /// player opens a room's stream URL. The app's own servers turn it on.
    pub allow_private_stream_urls: bool,
    /// Hosts' outside streams the media origin pulls at once, at most (each
    /// is a connection out and a pipeline thread; live/origin.rs).
    pub max_relays: usize,
    /// The web app's build (wasm-bindgen's `livecart-web.js`,
    /// `livecart-web_bg.wasm`, `snippets/`, made by `./dev`), served at `/`. Unset: the
    /// workspace's `target/webapp` when it exists (a development server);
    /// without a build, `/` says how to make one.
    pub web_dir: Option<PathBuf>,
    pub chat: ChatConfig,
    pub http: HttpConfig,
    pub auth: AuthConfig,
    pub ws: WsConfig,
    pub demo: DemoConfig,
    pub money: MoneyConfig,
}

/// Wallet, checkout and gift rules (docs/money.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct MoneyConfig {
    /// The wallets' currency; a gift coin is one minor unit of it.
    pub currency: String,
    /// Orders whose total is at least this (minor units) need the payment PIN.
    pub pin_threshold_minor: i64,
    /// Wrong PINs in a row before the PIN locks for `pin_lock_s`.
    pub pin_max_failures: u32,
    pub pin_lock_s: u64,
    /// The host's share of a gift, in percent; the platform keeps the rest.
    pub gift_host_share_percent: u8,
    /// How late (ms) a flash-sale tap may reach the server after the deadline
    /// and still be honoured, covering the buyer's video delay. At most 3000.
    pub flash_grace_ms: u32,
    /// Largest single top-up (minor units).
    pub max_top_up_minor: i64,
    /// How long idempotency keys and their responses are kept.
    pub idempotency_days: u32,
    /// How long the demo payment provider takes to confirm a top-up, and a
    /// "late" test card's longer delay.
    pub provider_confirm_ms: u64,
    pub provider_late_ms: u64,
    /// The demo fulfilment: each paid order moves one delivery step on
    /// after this long (paid → packed → shipped → out for delivery →
    /// delivered). 0 keeps orders where they are.
    pub order_step_ms: u64,
    /// How long after a refund request the demo merchant refunds it.
    pub refund_delay_ms: u64,
    /// Days after delivery a refund can still be asked for.
    pub refund_window_days: u32,
}

/// Connection rules (docs/security.md, `listen.rs`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpConfig {
    /// Connections open at once (WebSockets included); 0: the process's
    /// file limit less a reserve of 512 for the database, stream relays and logs.
    pub max_connections: usize,
    /// Seconds a connection has to send a request's headers, and to send
    /// the next request on a kept-alive connection.
    pub header_read_timeout_s: u64,
    /// Seconds a request has to send its body.
    pub body_timeout_s: u64,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self {
            max_connections: 0,
            header_read_timeout_s: 20,
            body_timeout_s: 20,
        }
    }
}

/// Sign-in and session rules (docs/security.md).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthConfig {
    /// Sign-in attempts a minute for one username (a burst of as many).
    pub sign_in_per_account_per_min: u32,
    /// Sign-in attempts a minute from one client address.
    pub sign_in_per_address_per_min: u32,
    /// Password and PIN checks (argon2) running at once; the rest wait.
    pub hash_workers: usize,
    /// How long a check waits for its turn before "busy, try again".
    pub hash_wait_ms: u64,
    /// A refresh token sent again within this many seconds of its use gets
    /// the same successor (a phone retrying on a flaky network), not a
    /// revoked session.
    pub refresh_grace_s: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct ChatConfig {
    pub max_chars: usize,
    /// Messages allowed per user per window.
    pub rate_count: u32,
    pub rate_window_s: u64,
    /// Case-insensitive words a message may not contain.
    pub blocked_words: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct WsConfig {
    /// Client frames above this many bytes get a `too_large` error frame.
    pub max_frame_bytes: usize,
    /// Frames above this are not read at all: the socket closes with 1009.
    pub hard_max_frame_bytes: usize,
    pub heartbeat_ms: u64,
    /// Frames a connection may fall behind the room before it is dropped.
    pub send_queue: usize,
    /// How long one write may block before the client is deemed stuck.
    pub write_timeout_ms: u64,
    /// Anonymous sockets one client address may open on one room (a home
    /// or an office shares an address); more are closed with 1008.
    pub anonymous_per_address: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
#[allow(clippy::struct_excessive_bools)] // independent switches, each a setting
pub struct DemoConfig {
    /// Seed the demo world on an empty database and run its host scripts.
    pub enabled: bool,
    pub seed: u64,
    /// Run the scripted hosts and bot viewers (pins, sales, chat, gifts).
    pub scripts: bool,
    /// Publish each demo room's synthetic video (GStreamer) at
    /// `/live/{room}.flv`.
    pub streams: bool,
    /// Replay each room's picture from a loop recorded the first time it
    /// streams (kept in `<data_dir>/streams`): a few percent of a core per
    /// room instead of a third for encoding live. `false` encodes live all
    /// the time, with a running clock in the picture.
    pub loops: bool,
    /// A demo stream nobody has watched for this long stops; the next viewer
    /// starts it again.
    pub idle_stop_secs: u64,
    /// The share (percent) of a flash sale's stock the bot audience may buy,
    /// spread over the sale's first two thirds: the rest is left for people,
    /// so a shopper can win one in a demo. 0: bots never buy in sales.
    pub bot_sale_share_percent: u8,
}

impl Default for ServerConfig {
    fn default() -> Self {
        Self {
            bind: SocketAddr::from(([127, 0, 0, 1], 8787)),
            data_dir: PathBuf::from("livecart-data"),
            public_url: None,
            token_secret: None,
            admin_token: None,
            access_token_ttl_s: 15 * 60,
            refresh_token_ttl_s: 30 * 24 * 3600,
            history_len: 4096,
            allow_private_stream_urls: false,
            max_relays: 32,
            web_dir: None,
            chat: ChatConfig::default(),
            http: HttpConfig::default(),
            auth: AuthConfig::default(),
            ws: WsConfig::default(),
            demo: DemoConfig::default(),
            money: MoneyConfig::default(),
        }
    }
}

impl Default for ChatConfig {
    fn default() -> Self {
        Self {
            max_chars: livecart_protocol::MAX_CHAT_CHARS,
            rate_count: 20,
            rate_window_s: 30,
            blocked_words: vec!["scam".into(), "fake".into()],
        }
    }
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            sign_in_per_account_per_min: 10,
            sign_in_per_address_per_min: 60,
            // Half the cores: a sign-in flood leaves the rest to everyone else.
            hash_workers: std::thread::available_parallelism().map_or(1, |n| (n.get() / 2).max(1)),
            hash_wait_ms: 3_000,
            refresh_grace_s: 15,
        }
    }
}

impl Default for WsConfig {
    fn default() -> Self {
        Self {
            max_frame_bytes: livecart_protocol::MAX_CLIENT_FRAME_BYTES,
            hard_max_frame_bytes: 64 * 1024,
            heartbeat_ms: 15_000,
            send_queue: 1024,
            write_timeout_ms: 5_000,
            anonymous_per_address: 64,
        }
    }
}

impl Default for MoneyConfig {
    fn default() -> Self {
        Self {
            currency: "USD".into(),
            pin_threshold_minor: 10_000,
            pin_max_failures: 5,
            pin_lock_s: 15 * 60,
            gift_host_share_percent: 70,
            flash_grace_ms: 3_000,
            max_top_up_minor: 100_000,
            idempotency_days: 7,
            provider_confirm_ms: 600,
            provider_late_ms: 5_000,
            order_step_ms: 20_000,
            refund_delay_ms: 20_000,
            refund_window_days: 7,
        }
    }
}

impl MoneyConfig {
    /// The configured currency (an invalid code falls back to USD, logged
    /// once at start).
    pub fn currency(&self) -> livecart_protocol::Currency {
        self.currency
            .parse()
            .unwrap_or(livecart_protocol::Currency::USD)
    }

    pub fn grace(&self) -> jiff::SignedDuration {
        jiff::SignedDuration::from_millis(i64::from(self.flash_grace_ms.min(3_000)))
    }
}

impl Default for DemoConfig {
    fn default() -> Self {
        Self {
            enabled: cfg!(feature = "demo"),
            seed: 42,
            scripts: true,
            streams: true,
            loops: true,
            idle_stop_secs: 60,
            bot_sale_share_percent: 50,
        }
    }
}

impl ServerConfig {
    /// Defaults, then `file` (if given and present), then `LIVECART_*`.
    pub fn load(file: Option<&Path>) -> Result<Self, Box<figment::Error>> {
        let mut fig = Figment::from(Serialized::defaults(Self::default()));
        if let Some(file) = file {
            fig = fig.merge(Toml::file(file));
        }
        fig.merge(Env::prefixed("LIVECART_").split("__"))
            .extract()
            .map_err(Box::new)
    }

    pub fn heartbeat(&self) -> Duration {
        Duration::from_millis(self.ws.heartbeat_ms)
    }

    pub fn database_path(&self) -> PathBuf {
        self.data_dir.join("livecart.sqlite3")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own error
    fn env_overrides_the_file_which_overrides_defaults() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "server.toml",
                "bind = \"0.0.0.0:9000\"\n[chat]\nrate_count = 5\nblocked_words = [\"spam\"]\n",
            )?;
            jail.set_env("LIVECART_CHAT__RATE_COUNT", "7");
            jail.set_env("LIVECART_DEMO__ENABLED", "false");
            let c =
                ServerConfig::load(Some(Path::new("server.toml"))).map_err(|e| e.to_string())?;
            assert_eq!(c.bind.port(), 9000, "from the file");
            assert_eq!(c.chat.rate_count, 7, "env wins over the file");
            assert_eq!(c.chat.blocked_words, ["spam"]);
            assert!(!c.demo.enabled);
            assert_eq!(c.chat.rate_window_s, 30, "untouched defaults stay");
            Ok(())
        });
    }
}
