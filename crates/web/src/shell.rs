//! The browser's shell around livecart-core: one task folds events through
//! `App::update`, carries out the effects it returns and sets the view model
//! the screens render. The same loop as the desktop's (src/shell.rs), with
//! the browser's runners: fetch, WebSockets, the page's players and store
//! (page.rs), and the session in a cookie (no keyring in a browser).

use crate::net::{self, MeSocket, Sockets};
use crate::page;
use crate::store;
use dioxus::prelude::*;
use futures_channel::mpsc::{UnboundedReceiver, UnboundedSender};
use futures_util::StreamExt;
use futures_util::future::{Either, select};
use jiff::Timestamp;
use livecart_core::effects::{MeCommand, SocketCommand, VaultCommand};
use livecart_core::feed::Plays;
use livecart_core::frames::{FrameClock, Render};
use livecart_core::protocol::RoomId;
use livecart_core::{AccountEvent, App, Effect, Event, ViewModel};
use livecart_ui::routes::{self, Route};

/// The page's own origin: the server that served it is the server it uses
/// (REST, sockets, pictures and video all come from there).
fn origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}

/// The address the page is at.
pub fn address() -> Route {
    web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .and_then(|p| p.parse().ok())
        .unwrap_or(Route::Feed {})
}

/// The core's id seed, from the browser's CSPRNG.
fn seed() -> [u8; 32] {
    let mut seed = [0u8; 32];
    if let Some(c) = web_sys::window().and_then(|w| w.crypto().ok()) {
        let _ = c.get_random_values_with_u8_array(&mut seed);
    }
    seed
}

/// `opened_at`: the address the page was opened at, read before the router
/// (which moves the address with the app) first rendered.
pub async fn run(
    opened_at: Route,
    events: UnboundedSender<Event>,
    mut rx: UnboundedReceiver<Event>,
    mut view: Signal<Option<ViewModel>>,
) {
    livecart_ui::SAME_ORIGIN_IMAGES.store(true, std::sync::atomic::Ordering::SeqCst);
    let mut shell = Shell {
        base: origin(),
        opened_at: opened_at.clone(),
        http: reqwest::Client::new(),
        sockets: Sockets::default(),
        me: MeSocket::default(),
        events: events.clone(),
    };
    page::listen(events.clone());
    let mut app = App::seeded(seed());
    app.feed.plays = Plays::Browser;
    // A share link's room (`/r/{room}`): the app opens on it.
    app.feed.wanted = match &opened_at {
        Route::Room { room } => room.parse::<RoomId>().ok(),
        _ => None,
    };
    let _ = events.unbounded_send(Event::Started);
    // Browsers start sound only from a tap: the app starts muted and says so.
    livecart_ui::MUTED_BY_BROWSER.store(true, std::sync::atomic::Ordering::Relaxed);
    let _ = events.unbounded_send(Event::ToggleMute);
    // At most one view a frame, however many events arrive (a chat flood).
    let mut frames = FrameClock::default();
    let mut render_at: Option<i64> = None;
    loop {
        let changed = match render_at {
            Some(at) => {
                let wait = (at - Timestamp::now().as_millisecond()).clamp(0, 1000) as u32;
                match select(rx.next(), gloo_timers::future::TimeoutFuture::new(wait)).await {
                    Either::Left((Some(e), _)) => {
                        shell.run(&mut app, e);
                        true
                    }
                    Either::Left((None, _)) => return,
                    Either::Right(((), _)) => {
                        render_at = None;
                        true
                    }
                }
            }
            None => match rx.next().await {
                Some(e) => {
                    shell.run(&mut app, e);
                    true
                }
                None => return,
            },
        };
        // Fold everything already waiting before rendering once.
        while let Ok(e) = rx.try_recv() {
            shell.run(&mut app, e);
        }
        if !changed {
            continue;
        }
        let now = Timestamp::now();
        match frames.changed(now.as_millisecond()) {
            Render::Now => {
                frames.rendered(now.as_millisecond());
                render_at = None;
                view.set(Some(app.view(now)));
            }
            Render::At(ms) => {
                render_at.get_or_insert(ms);
            }
        }
    }
}

struct Shell {
    base: String,
    /// The address the page was opened at (the router changes it soon).
    opened_at: Route,
    http: reqwest::Client,
    sockets: Sockets,
    me: MeSocket,
    events: UnboundedSender<Event>,
}

impl Shell {
    fn run(&mut self, app: &mut App, event: Event) {
        for effect in app.update(event, Timestamp::now()) {
            self.effect(effect);
        }
    }

    fn effect(&mut self, effect: Effect) {
        let events = self.events.clone();
        let send = move |e: Event| {
            let _ = events.unbounded_send(e);
        };
        match effect {
            Effect::Http(req) => {
                let (http, base) = (self.http.clone(), self.base.clone());
                wasm_bindgen_futures::spawn_local(async move {
                    let result = net::http(&http, &base, &req).await;
                    send(Event::HttpDone { id: req.id, result });
                });
            }
            Effect::Socket(SocketCommand::Connect {
                room,
                resume,
                access_token,
            }) => self
                .sockets
                .connect(&self.base, room, resume, access_token, self.events.clone()),
            Effect::Socket(SocketCommand::Send { room, frame }) => self.sockets.send(room, frame),
            Effect::Socket(SocketCommand::Close { room }) => self.sockets.close(room),
            Effect::Me(MeCommand::Connect {
                resume,
                access_token,
            }) => self
                .me
                .connect(&self.base, resume, &access_token, self.events.clone()),
            Effect::Me(MeCommand::Close) => self.me.close(),
            Effect::Player(cmd) => page::player(&self.base, cmd),
            // No keyring in a browser: the refresh token lives in an HttpOnly
            // cookie the page cannot read, the access token in this memory,
            // and who is signed in (no token) in IndexedDB for offline.
            Effect::Vault(VaultCommand::Load) => {
                let (http, base) = (self.http.clone(), self.base.clone());
                let opened_at = self.opened_at.clone();
                spawn(async move {
                    let saved = match net::resume_session(&http, &base).await {
                        Ok(Some(s)) => {
                            store::remember(&s).await;
                            Some(s)
                        }
                        Ok(None) => {
                            store::forget().await;
                            None
                        }
                        // Out of reach: who was signed in, to show what is
                        // cached until the server answers again.
                        Err(()) => store::recall().await,
                    };
                    let signed_in = saved.is_some();
                    send(Event::Account(AccountEvent::VaultLoaded(
                        saved.map(Box::new),
                    )));
                    // Opened at a screen's address (a bookmark, a reload):
                    // that screen, now that the session is back.
                    if signed_in {
                        for e in routes::events_for(&opened_at, &Route::Feed {}) {
                            send(e);
                        }
                    }
                });
            }
            // Signing in set the cookie; signing out (DELETE /v1/session)
            // cleared it.
            Effect::Vault(VaultCommand::Store(session)) => {
                spawn(async move { store::remember(&session).await });
            }
            Effect::Vault(VaultCommand::Clear) => {
                spawn(store::forget());
            }
            Effect::Store(cmd) => store::run(cmd, self.events.clone()),
            Effect::Timer { id, after_ms } => {
                wasm_bindgen_futures::spawn_local(async move {
                    gloo_timers::future::TimeoutFuture::new(
                        after_ms.min(u64::from(u32::MAX)) as u32
                    )
                    .await;
                    send(Event::Timer(id));
                });
            }
        }
    }
}
