//! The shell around livecart-core: one task folds events through
//! `App::update`, runs the effects it returns (HTTP, room sockets, players,
//! keyring, local store, timers) and publishes the view model for the window.
//! Everything here runs on its own tokio runtime thread, so the window's
//! thread only renders.

use crate::net::{self, MeSocket, Sockets};
use crate::players::{Players, VideoPath};
use crate::store::Store;
use crate::vault::Vault;
use crate::video::{DrawnReport, VideoHub};
use livecart_core::FeedEvent;
use livecart_core::effects::{MeCommand, PlayerCommand, SocketCommand, StoreCommand, VaultCommand};
use livecart_core::frames::{FrameClock, Render};
use livecart_core::protocol::Timestamp;
use livecart_core::{App, Effect, Event, PlayerUpdate, ViewModel};
use livecart_core::{OrdersEvent, ShopEvent};
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::{mpsc, watch};

#[derive(Debug, Clone)]
pub enum ServerChoice {
    /// Start the embedded server with the demo world on a free loopback port.
    Embedded,
    Remote(String),
}

#[derive(Debug, Clone)]
pub struct ShellConfig {
    pub server: ServerChoice,
    /// The app's data: its cache database, the embedded server's data, logs.
    pub data_dir: PathBuf,
    /// Force the JPEG fallback even where the webview has WebCodecs.
    pub force_jpeg: bool,
    /// A shared link's room (`livecart https://host/r/{room}`): shown first.
    pub open_room: Option<livecart_core::protocol::RoomId>,
}

/// What the window holds to talk to the shell.
#[derive(Clone)]
pub struct ShellHandle {
    pub events: mpsc::UnboundedSender<Event>,
    pub view: watch::Receiver<Option<ViewModel>>,
    pub video_port: u16,
    pub video_secret: String,
    pub force_jpeg: bool,
    /// The page tells the shell which video path it can use.
    pub video_path: mpsc::UnboundedSender<VideoPath>,
    /// The server's base URL once known.
    pub base_url: watch::Receiver<Option<String>>,
    /// The webview's picture requests (`/img/<server path>`), answered from
    /// the image cache.
    pub images: mpsc::UnboundedSender<crate::images::ImageRequest>,
}

/// Starts the shell on its own runtime thread; returns as soon as the video
/// port is bound (the server starts in the background).
pub fn start(config: ShellConfig) -> anyhow::Result<ShellHandle> {
    let (ready_tx, ready_rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("livecart-shell".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .thread_name("livecart-io")
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    let _ = ready_tx.send(Err(anyhow::anyhow!("cannot start the runtime: {e}")));
                    return;
                }
            };
            rt.block_on(run(config, ready_tx));
        })?;
    ready_rx.recv()?
}

#[allow(clippy::too_many_lines)] // the shell's setup and its one select loop over every channel it serves
async fn run(config: ShellConfig, ready: std::sync::mpsc::Sender<anyhow::Result<ShellHandle>>) {
    let (events_tx, mut events_rx) = mpsc::unbounded_channel();
    let (reports_tx, mut reports_rx) = mpsc::unbounded_channel::<DrawnReport>();
    let (path_tx, mut path_rx) = mpsc::unbounded_channel();
    let (view_tx, view_rx) = watch::channel(None);
    let (base_tx, base_rx) = watch::channel(None);
    let (images_tx, images_rx) = mpsc::unbounded_channel();
    // The core's ids (idempotency keys) come from a seed drawn here: the
    // core itself reads no random source.
    let mut seed = [0u8; 32];
    if let Err(e) = getrandom::fill(&mut seed) {
        let _ = ready.send(Err(anyhow::anyhow!("no OS random source: {e}")));
        return;
    }
    let hub = VideoHub::new(reports_tx);
    let port = match hub.serve().await {
        Ok(p) => p,
        Err(e) => {
            let _ = ready.send(Err(anyhow::anyhow!("cannot open the video socket: {e}")));
            return;
        }
    };
    let _ = ready.send(Ok(ShellHandle {
        events: events_tx.clone(),
        view: view_rx,
        video_port: port,
        video_secret: hub.secret().to_owned(),
        force_jpeg: config.force_jpeg,
        video_path: path_tx,
        base_url: base_rx,
        images: images_tx,
    }));

    // The server: embedded (kept alive for the app's lifetime) or remote.
    let mut _embedded = None;
    let (base, account) = match &config.server {
        ServerChoice::Remote(url) => (url.trim_end_matches('/').to_owned(), url.clone()),
        ServerChoice::Embedded => {
            match crate::embedded::start(config.data_dir.join("server")).await {
                Ok(server) => {
                    tracing::info!("embedded server with the demo world at {}", server.base_url);
                    let base = server.base_url.clone();
                    _embedded = Some(server);
                    // One session per data directory (an app profile).
                    (base, format!("embedded@{}", config.data_dir.display()))
                }
                Err(e) => {
                    tracing::error!("the embedded server did not start: {e:#}");
                    view_tx.send_replace(Some(error_view(&format!(
                        "livecart could not start its server: {e}"
                    ))));
                    return;
                }
            }
        }
    };
    base_tx.send_replace(Some(base.clone()));
    crate::images::serve(&config.data_dir.join("images"), base.clone(), images_rx);

    let store = match Store::open(&config.data_dir.join("app.sqlite3")).await {
        Ok(s) => Some(s),
        Err(e) => {
            tracing::error!("running without a local cache: {e:#}");
            None
        }
    };
    let vault = {
        let account = account.clone();
        tokio::task::spawn_blocking(move || Vault::open(&account))
            .await
            .unwrap_or_else(|_| Vault::open_none())
    };
    tracing::info!(store = vault.kind, "keyring");
    if !vault.is_secure() {
        let _ = events_tx.send(Event::Notice(
            "No secure keyring here: you'll stay signed in only until you close livecart".into(),
        ));
    }

    let path = if config.force_jpeg {
        VideoPath::Jpeg
    } else {
        VideoPath::WebCodecs
    };
    let mut shell = Shell {
        base,
        account,
        http: reqwest::Client::builder()
            .timeout(Duration::from_secs(15))
            .build()
            .unwrap_or_default(),
        sockets: Sockets::default(),
        me: MeSocket::default(),
        players: Players::new(hub, events_tx.clone(), path),
        vault: crate::vault::worker(vault, events_tx.clone()),
        store,
        events: events_tx.clone(),
    };
    let mut app = App::seeded(seed);
    app.feed.wanted = config.open_room;
    let _ = events_tx.send(Event::Started);
    // At most one view a frame, however many events arrive (a chat flood).
    let mut frames = FrameClock::default();
    let mut render_at: Option<tokio::time::Instant> = None;
    loop {
        let due = async move {
            match render_at {
                Some(at) => tokio::time::sleep_until(at).await,
                None => std::future::pending().await,
            }
        };
        let changed = tokio::select! {
            Some(event) = events_rx.recv() => { shell.run(&mut app, event); true }
            Some(r) = reports_rx.recv() => { shell.run(&mut app, Event::Player { room: r.room, update: PlayerUpdate::Drawn(r.drawn) }); true }
            Some(p) = path_rx.recv() => { shell.players.switch_path(p); false }
            () = due => { render_at = None; true }
            else => break,
        };
        // Fold everything already waiting before rendering once.
        while let Ok(event) = events_rx.try_recv() {
            shell.run(&mut app, event);
        }
        if !changed {
            continue;
        }
        let now = Timestamp::now();
        match frames.changed(now.as_millisecond()) {
            Render::Now => {
                frames.rendered(now.as_millisecond());
                render_at = None;
                view_tx.send_replace(Some(app.view(now)));
            }
            Render::At(ms) => {
                let wait = u64::try_from(ms - now.as_millisecond()).unwrap_or(0);
                render_at.get_or_insert(tokio::time::Instant::now() + Duration::from_millis(wait));
            }
        }
        if view_tx.is_closed() {
            break;
        }
    }
    shell.players.release_all();
    if let Some(s) = &shell.store {
        s.close().await;
    }
}

fn error_view(message: &str) -> ViewModel {
    let mut vm = App::default().view(Timestamp::now());
    vm.error = Some(message.to_owned());
    vm
}

struct Shell {
    base: String,
    /// The keyring/cache key for this server.
    account: String,
    http: reqwest::Client,
    sockets: Sockets,
    me: MeSocket,
    players: Players,
    vault: std::sync::mpsc::Sender<VaultCommand>,
    store: Option<Store>,
    events: mpsc::UnboundedSender<Event>,
}

impl Shell {
    fn run(&mut self, app: &mut App, event: Event) {
        for effect in app.update(event, Timestamp::now()) {
            self.effect(effect);
        }
    }

    #[allow(clippy::too_many_lines)] // one short arm per kind of Effect: the table of what the shell does
    fn effect(&mut self, effect: Effect) {
        let events = self.events.clone();
        match effect {
            Effect::Http(req) => {
                let http = self.http.clone();
                let base = self.base.clone();
                tokio::spawn(async move {
                    let result = net::http(&http, &base, &req).await;
                    let _ = events.send(Event::HttpDone { id: req.id, result });
                });
            }
            Effect::Socket(SocketCommand::Connect {
                room,
                resume,
                access_token,
            }) => self
                .sockets
                .connect(&self.base, room, resume, access_token, events),
            Effect::Socket(SocketCommand::Send { room, frame }) => self.sockets.send(room, frame),
            Effect::Socket(SocketCommand::Close { room }) => self.sockets.close(room),
            Effect::Me(MeCommand::Connect {
                resume,
                access_token,
            }) => self.me.connect(&self.base, resume, &access_token, events),
            Effect::Me(MeCommand::Close) => self.me.close(),
            Effect::Player(PlayerCommand::Open { room, url, held }) => {
                self.players.open(room, &url, held);
            }
            Effect::Player(PlayerCommand::Play { room }) => self.players.play(room),
            Effect::Player(PlayerCommand::Release { room }) => self.players.release(room),
            Effect::Player(PlayerCommand::SetMuted { room, muted }) => {
                self.players.set_muted(room, muted);
            }
            // One worker, in order: a sign-out's Clear never overtakes the
            // sign-in's Store.
            Effect::Vault(cmd) => {
                let _ = self.vault.send(cmd);
            }
            Effect::Store(cmd) => {
                let Some(store) = self.store.clone() else {
                    match cmd {
                        StoreCommand::LoadFeed => {
                            let _ = events.send(Event::Feed(FeedEvent::CacheLoaded(None)));
                        }
                        StoreCommand::LoadOrders(_) => {
                            let _ = events.send(Event::Orders(OrdersEvent::Cached(Vec::new())));
                        }
                        StoreCommand::SavePayment(p) => {
                            // No database: the payment still goes, retried in
                            // this session only.
                            tracing::warn!(
                                "no payment outbox: this payment is not kept across restarts"
                            );
                            let _ = events.send(Event::Shop(ShopEvent::PaymentSaved(p.key)));
                        }
                        _ => {}
                    }
                    return;
                };
                let (key, base) = (self.account.clone(), self.base.clone());
                tokio::spawn(async move {
                    let done = match cmd {
                        StoreCommand::LoadFeed => {
                            let feed = store.load_feed(&key, &base).await;
                            let _ = events.send(Event::Feed(FeedEvent::CacheLoaded(
                                feed.as_ref().ok().cloned().flatten().map(Box::new),
                            )));
                            feed.map(|_| ())
                        }
                        StoreCommand::SaveFeed(feed) => store.save_feed(&key, &base, &feed).await,
                        StoreCommand::ForgetUser => store.forget_user().await,
                        StoreCommand::SavePayment(p) => {
                            let saved = store.save_payment(&p).await;
                            if let Err(e) = &saved {
                                // Paying matters more than the outbox: the
                                // payment goes, retried in this session only.
                                tracing::error!("the payment outbox refused a payment: {e:#}");
                            }
                            let _ = events.send(Event::Shop(ShopEvent::PaymentSaved(p.key)));
                            saved
                        }
                        StoreCommand::ResolvePayment(key) => store.resolve_payment(&key).await,
                        StoreCommand::SaveOrders { user, orders } => {
                            store.save_orders(user, &base, &orders).await
                        }
                        StoreCommand::LoadOrders(user) => {
                            let loaded = store.load_orders(user, &base).await;
                            let _ = events.send(Event::Orders(OrdersEvent::Cached(
                                loaded.as_ref().cloned().unwrap_or_default(),
                            )));
                            loaded.map(|_| ())
                        }
                        StoreCommand::LoadPayments(user) => {
                            let loaded = store.load_payments(user).await;
                            let _ = events.send(Event::Shop(ShopEvent::PaymentsLoaded(
                                loaded.as_ref().cloned().unwrap_or_default(),
                            )));
                            loaded.map(|_| ())
                        }
                    };
                    if let Err(e) = done {
                        tracing::warn!("local cache: {e:#}");
                    }
                });
            }
            Effect::Timer { id, after_ms } => {
                tokio::spawn(async move {
                    tokio::time::sleep(Duration::from_millis(after_ms)).await;
                    let _ = events.send(Event::Timer(id));
                });
            }
        }
    }
}
