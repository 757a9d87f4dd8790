//! The app's behaviour: `update(event, now) -> effects` and `view() -> ViewModel`.
//!
//! `App` is the dispatcher: each part of the app owns its state in its own
//! file and answers an event with commands (app/cmd.rs), which `App::run`
//! carries out — app/rooms.rs (the feed, the room socket, the show's
//! timer), app/live.rs (the viewer: chat, likes, follow, report),
//! app/shop.rs (the bag, checkout, payments, "top up and pay"),
//! app/wallet.rs (the balance, the wallet screen, its top-ups),
//! app/gifts.rs (the gift bar), app/orders.rs (orders, the user's own
//! socket); app/http.rs keeps the requests in flight. What is left here
//! is who the viewer is — the session, sign-in and sign-out, the token
//! refresh — because they reach every part.
//!
//! Size: the dispatcher, the commands' runner and the session's flow.

pub(crate) mod answer;
pub(crate) mod cmd;
pub(crate) mod gifts;
mod http;
pub(crate) mod live;
pub(crate) mod orders;
pub(crate) mod rooms;
pub(crate) mod shop;
pub(crate) mod wallet;
pub use crate::effects::PendingPayment;
pub use answer::HttpFailure;
use answer::decode;
use answer::{Reply, Then};
use cmd::{Cmd, Cx, Wake};
pub use cmd::{Pending, SignInSheet};
pub use gifts::{COMBO_WINDOW_MS, Combo, Gifts, GiftsEvent};
use http::{Answered, Call, Requests};
pub use live::{LiveEvent, Viewer};
pub use orders::{MeLink, MeUpdate, OrderToast, Orders, OrdersEvent, TOAST_MS, status_words};
use rooms::OnScreen;
pub use rooms::{FeedEvent, PlayerUpdate, Rooms, SocketUpdate};
pub use shop::{Checkout, Payment, Seen, Shop, ShopEvent, Stage, Step};
pub use wallet::{DEMO_CARD, Funds, WalletEvent, WalletTopUp, card_number};

use crate::effects::{
    Effect, HttpRequest, Method, PlayerCommand, RequestId, SocketCommand, StoreCommand,
    VaultCommand,
};
use crate::feed::Feed;
use crate::ids::Ids;
use crate::room::LiveRoom;
use crate::session::Session;
use crate::view::{Model, ViewModel};
use jiff::Timestamp;
use livecart_protocol::rest::{RefreshRequest, SessionResponse, SignInRequest};
use livecart_protocol::{ClientFrame, RoomId, UserId};
use std::collections::HashMap;

/// Something that happened: a tap, or an answer from an effect runner.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Started,
    /// Who the viewer is: the saved session, sign-in and sign-out (below, in this file).
    Account(AccountEvent),
    /// The feed of rooms: swipes, the grid, the cached feed (app/rooms.rs).
    Feed(FeedEvent),
    /// The room on screen: chat, likes, follow, report (app/live.rs).
    Live(LiveEvent),
    /// Something the viewer should know once (e.g. "no secure keyring").
    Notice(String),
    DismissMessage,
    HttpDone {
        id: RequestId,
        result: Result<serde_json::Value, HttpFailure>,
    },
    ToggleMute,
    /// Show or hide the video debug overlay (fps, capture→draw latency).
    ToggleDebug,
    /// The bag and the checkout sheet (app/shop.rs).
    Shop(ShopEvent),
    /// The orders screen and an order's toast (app/orders.rs).
    Orders(OrdersEvent),
    /// The user's own socket (`/v1/me/live`).
    Me(MeUpdate),
    /// The wallet screen (app/wallet.rs).
    Wallet(WalletEvent),
    /// The gift bar (app/gifts.rs).
    Gifts(GiftsEvent),
    /// The system's or the app's reduced-motion setting.
    ReducedMotion(bool),
    Player {
        room: RoomId,
        update: PlayerUpdate,
    },
    Socket {
        room: RoomId,
        update: SocketUpdate,
    },
    Timer(u64),
}

/// The account's events.
#[derive(Debug, Clone, PartialEq)]
pub enum AccountEvent {
    /// The keyring's saved session (silent sign-in), if any.
    VaultLoaded(Option<Box<SessionResponse>>),
    /// The sign-in sheet, opened by hand (actions that need an account open it too).
    OpenSignIn,
    DismissSignIn,
    SignIn {
        username: String,
        password: String,
    },
    /// "Sign out" tapped: asks first (`SignOut` confirms, `CancelSignOut`).
    AskSignOut,
    CancelSignOut,
    SignOut,
}

#[derive(Debug, Default)]
#[allow(clippy::struct_excessive_bools)] // independent switches the screens read
pub struct App {
    pub feed: Feed,
    pub room: Option<LiveRoom>,
    pub session: Session,
    /// A message for the viewer (e.g. "your session ended").
    pub message: Option<String>,
    /// The requests in flight (and those waiting for a fresh token).
    requests: Requests,
    timers: HashMap<u64, Wake>,
    pub sign_in: Option<SignInSheet>,
    pub muted: bool,
    pub debug: bool,
    pub reduced_motion: bool,
    /// Whom the viewer follows, what they reported, chat waiting for a token.
    pub viewer: Viewer,
    /// The bag, checkout and payments.
    pub shop: Shop,
    /// The wallet: the balance, the wallet screen, its top-ups.
    pub funds: Funds,
    /// The gift bar.
    pub gifts: Gifts,
    /// Orders after the show, the user's own socket.
    pub orders: Orders,
    /// The feed's retries, the room socket's and the show's timers.
    rooms: Rooms,
    /// When the last token refresh finished (ms): a token refused right
    /// after one is not refreshed again (no loop).
    refreshed_at: Option<i64>,
    /// The "you're offline" message on screen, if `message` is one: it goes
    /// when a connection works again.
    offline_said: Option<String>,
    /// "Sign out?" is asking.
    pub confirm_sign_out: bool,
    /// Where new keys and combo ids come from (seeded by the shell).
    ids: Ids,
}

/// What a part may read of the rest (app/cmd.rs), borrowed field by field so
/// that the part itself can be borrowed mutably beside it.
macro_rules! cx {
    ($app:ident, $now:expr) => {
        Cx {
            now: $now,
            session: &$app.session,
            ids: &mut $app.ids,
            watching: $app.room.is_some() && !$app.feed.browsing,
            refreshed_at: $app.refreshed_at,
        }
    };
}

impl App {
    /// An app whose keys and ids come from `seed` (the shell draws it from
    /// the OS once); `App::default()` uses a fixed seed.
    pub fn seeded(seed: [u8; 32]) -> Self {
        Self {
            ids: Ids::seeded(seed),
            ..Self::default()
        }
    }

    fn id(&mut self) -> u64 {
        self.requests.id()
    }

    /// Routes an answer (app/http.rs decides where it goes).
    fn http_done(
        &mut self,
        id: RequestId,
        result: Result<serde_json::Value, HttpFailure>,
        now: Timestamp,
    ) -> Vec<Effect> {
        match self.requests.answer(id, result) {
            Answered::Nothing | Answered::Call(Call::SignOut | Call::Authed { .. }, _) => {
                Vec::new()
            }
            Answered::Refresh => self.start_refresh(),
            Answered::Reply(reply) => self.answered(reply, now),
            Answered::Call(Call::Feed, result) => {
                let result = decode(result, "the feed");
                self.rooms_do(now, |r, st, cx| r.feed_answer(result, st, cx))
            }
            Answered::Call(Call::Catalog, result) => {
                let cmds = self.gifts.catalog_loaded(decode(result, "the gifts"));
                self.run(cmds, now)
            }
            Answered::Call(call @ (Call::SignIn | Call::Refresh), result) => {
                self.session_answer(call == Call::SignIn, decode(result, "the session"), now)
            }
        }
    }

    /// Sends an authenticated request, refreshing the token first if needed.
    pub fn authed(
        &mut self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        now: Timestamp,
    ) -> Vec<Effect> {
        let request = self.requests.request(method, path, body);
        self.send_as_user(request, now, Then::Nothing)
    }

    /// Sends `request` as the signed-in user: after a refresh if the token
    /// is about to expire.
    fn send_as_user(&mut self, request: HttpRequest, now: Timestamp, then: Then) -> Vec<Effect> {
        if self.session.needs_refresh(now) {
            self.requests.wait(request, then);
            return self.start_refresh();
        }
        let Some(token) = self.session.access_token(now).map(str::to_owned) else {
            self.message = Some("Sign in to continue".into());
            return Vec::new();
        };
        vec![self.requests.send_authed(request, token, false, then)]
    }

    /// Asks for a fresh access token (once at a time); without a refresh
    /// token the session is over.
    fn start_refresh(&mut self) -> Vec<Effect> {
        if self.requests.refreshing {
            return Vec::new();
        }
        let Some(token) = self.session.refresh_token().map(str::to_owned) else {
            return self.signed_out("Sign in to continue");
        };
        self.requests.refreshing = true;
        let body = serde_json::to_value(RefreshRequest {
            refresh_token: token,
        })
        .ok();
        vec![self.requests.http(
            Call::Refresh,
            Method::Post,
            "/v1/session/refresh",
            body,
            None,
        )]
    }

    /// Lets the orders part handle something, then does what it asks.
    fn orders_do(
        &mut self,
        now: Timestamp,
        f: impl FnOnce(&mut Orders, &mut Cx) -> Vec<Cmd>,
    ) -> Vec<Effect> {
        let mut cx = cx!(self, now);
        let cmds = f(&mut self.orders, &mut cx);
        self.run(cmds, now)
    }

    /// The view model at `now` (countdowns are relative to it).
    pub fn view(&self, now: Timestamp) -> ViewModel {
        let seen = self.seen();
        crate::view::build(
            &Model {
                feed: &self.feed,
                room: &self.room,
                session: &self.session,
                message: &self.message,
                sign_in: &self.sign_in,
                muted: self.muted,
                debug: self.debug,
                reduced_motion: self.reduced_motion,
                confirm_sign_out: self.confirm_sign_out,
                viewer: &self.viewer,
                shop: &self.shop,
                funds: &self.funds,
                gifts: &self.gifts,
                orders: &self.orders,
                behind_ms: seen.behind_ms,
                seen,
            },
            now.as_millisecond(),
        )
    }

    /// What the shop reads of the room on screen.
    pub(crate) fn seen(&self) -> Seen<'_> {
        Seen {
            room: self.room.as_ref(),
            behind_ms: self.behind_ms(),
            wallet_asked: self.requests.asked(&Then::Wallet),
        }
    }

    /// Lets the shop handle something (with the wallet it spends from),
    /// then does what it asks.
    fn shop_do(
        &mut self,
        now: Timestamp,
        f: impl FnOnce(&mut Shop, &mut Funds, &mut Cx, &Seen) -> Vec<Cmd>,
    ) -> Vec<Effect> {
        let behind_ms = self.behind_ms();
        let wallet_asked = self.requests.asked(&Then::Wallet);
        let seen = Seen {
            room: self.room.as_ref(),
            behind_ms,
            wallet_asked,
        };
        let mut cx = cx!(self, now);
        let cmds = f(&mut self.shop, &mut self.funds, &mut cx, &seen);
        self.run(cmds, now)
    }

    /// Lets the gift bar handle something in the room on screen.
    fn gifts_do(
        &mut self,
        now: Timestamp,
        f: impl FnOnce(&mut Gifts, Option<RoomId>, &mut Funds, &mut Cx) -> Vec<Cmd>,
    ) -> Vec<Effect> {
        let room = self.room.as_ref().map(|r| r.id);
        let mut cx = cx!(self, now);
        let cmds = f(&mut self.gifts, room, &mut self.funds, &mut cx);
        self.run(cmds, now)
    }

    /// Lets the wallet handle something.
    fn wallet_do(
        &mut self,
        now: Timestamp,
        f: impl FnOnce(&mut Funds, &mut Cx) -> Vec<Cmd>,
    ) -> Vec<Effect> {
        let mut cx = cx!(self, now);
        let cmds = f(&mut self.funds, &mut cx);
        self.run(cmds, now)
    }

    /// Lets the viewer's part handle something with the room on screen.
    fn viewer_do(
        &mut self,
        now: Timestamp,
        f: impl FnOnce(&mut Viewer, Option<&mut LiveRoom>, Option<UserId>, &mut Cx) -> Vec<Cmd>,
    ) -> Vec<Effect> {
        let host = self.feed.current().map(|r| r.host.id);
        let mut cx = cx!(self, now);
        let cmds = f(&mut self.viewer, self.room.as_mut(), host, &mut cx);
        self.run(cmds, now)
    }

    /// Signed out: the orders part forgets the user, its timers go.
    fn forget_orders(&mut self) -> Option<Effect> {
        self.timers.retain(|_, w| *w != Wake::Me);
        self.orders.forget()
    }

    /// Does what a part asked (app/cmd.rs), in order.
    fn run(&mut self, cmds: Vec<Cmd>, now: Timestamp) -> Vec<Effect> {
        let mut effects = Vec::new();
        for cmd in cmds {
            match cmd {
                Cmd::Do(effect) => effects.push(effect),
                Cmd::Authed {
                    method,
                    path,
                    body,
                    key,
                    then,
                } => {
                    let mut request = self.requests.request(method, &path, body);
                    request.idempotency_key = key;
                    effects.extend(self.send_as_user(request, now, then));
                }
                Cmd::Timer { wake, after_ms } => {
                    let id = self.id();
                    self.timers.insert(id, wake);
                    effects.push(Effect::Timer { id, after_ms });
                }
                Cmd::CancelTimers(wake) => self.timers.retain(|_, w| *w != wake),
                Cmd::Refresh => effects.extend(self.start_refresh()),
                Cmd::NeedAccount(action) => effects.extend(self.need_account(action)),
                Cmd::Say(text) => self.message = Some(text),
                Cmd::SayOffline(text) => {
                    self.message = Some(text.clone());
                    self.offline_said = Some(text);
                }
                Cmd::BackOnline => self.back_online(),
                Cmd::LeftRoom => {
                    self.shop.close_checkout();
                    self.shop.bag_open = false;
                    self.gifts.bar_open = false;
                }
                Cmd::SetBalance(balance) => self.funds.set_balance(balance),
            }
        }
        effects
    }

    pub fn update(&mut self, event: Event, now: Timestamp) -> Vec<Effect> {
        let mut effects = self.handle(event, now);
        effects.extend(self.run_show(now));
        effects
    }

    /// How far the picture on screen is behind its capture, for the room on
    /// screen: the page's measure of drawn frames, else the player's.
    pub(crate) fn behind_ms(&self) -> Option<i64> {
        rooms::behind_ms(&self.feed, self.room.as_ref())
    }

    /// Moves the room's show on to `now`: batched likes, one timer for the
    /// next thing due.
    fn run_show(&mut self, now: Timestamp) -> Vec<Effect> {
        self.rooms_do(now, |r, st, cx| r.run_show(st, cx))
    }

    /// Lets the rooms part handle something with the feed and the room on
    /// screen, then does what it asks.
    fn rooms_do(
        &mut self,
        now: Timestamp,
        f: impl FnOnce(&mut Rooms, &mut OnScreen, &mut Cx) -> Vec<Cmd>,
    ) -> Vec<Effect> {
        let mut cx = cx!(self, now);
        let mut stage = OnScreen {
            feed: &mut self.feed,
            room: &mut self.room,
            muted: self.muted,
        };
        let cmds = f(&mut self.rooms, &mut stage, &mut cx);
        self.run(cmds, now)
    }

    fn handle(&mut self, event: Event, now: Timestamp) -> Vec<Effect> {
        match event {
            Event::Started => {
                self.feed.loading = true;
                let feed = self
                    .requests
                    .http(Call::Feed, Method::Get, "/v1/feed", None, None);
                let catalog =
                    self.requests
                        .http(Call::Catalog, Method::Get, "/v1/gifts", None, None);
                vec![
                    Effect::Vault(VaultCommand::Load),
                    Effect::Store(StoreCommand::LoadFeed),
                    feed,
                    catalog,
                ]
            }
            Event::Account(e) => self.on_account(e, now),
            Event::Feed(e) => self.rooms_do(now, |_, st, cx| Rooms::on_feed(e, st, cx)),
            Event::Live(e) => {
                self.viewer_do(now, |v, room, host, cx| v.on_event(e, room, host, cx))
            }
            Event::Player { room, update } => {
                self.rooms_do(now, |_, st, cx| Rooms::player_update(room, update, st, cx))
            }
            Event::Notice(text) => {
                self.message = Some(text);
                Vec::new()
            }
            Event::DismissMessage => {
                self.message = None;
                Vec::new()
            }
            Event::ToggleMute => {
                self.muted = !self.muted;
                let muted = self.muted;
                self.feed
                    .current()
                    .map(|r| r.id)
                    .into_iter()
                    .map(|room| Effect::Player(PlayerCommand::SetMuted { room, muted }))
                    .collect()
            }
            Event::ToggleDebug => {
                self.debug = !self.debug;
                Vec::new()
            }
            Event::Shop(e) => self.shop_do(now, |s, funds, cx, seen| s.on_shop(e, funds, cx, seen)),
            Event::Orders(e) => self.orders_do(now, |o, cx| o.on_event(e, cx)),
            Event::Me(update) => self.orders_do(now, |o, cx| o.on_me(update, cx)),
            Event::Wallet(e) => self.wallet_do(now, |w, cx| w.on_wallet(e, cx)),
            Event::Gifts(e) => {
                self.gifts_do(now, |g, room, funds, cx| g.on_gifts(e, room, funds, cx))
            }
            Event::ReducedMotion(on) => {
                self.reduced_motion = on;
                Vec::new()
            }
            Event::HttpDone { id, result } => self.http_done(id, result, now),
            Event::Socket { room, update } => {
                self.rooms_do(now, |_, st, cx| Rooms::socket(room, update, st, cx))
            }
            Event::Timer(id) => match self.timers.remove(&id) {
                Some(Wake::Reconnect(room)) => {
                    self.rooms_do(now, |_, st, cx| Rooms::reconnect_due(room, st, cx))
                }
                Some(Wake::Show) => {
                    // The show moves on after every event (`run_show`).
                    self.rooms.show_rang();
                    Vec::new()
                }
                Some(Wake::TopUp(id)) => self.run(Funds::top_up_due(id), now),
                Some(Wake::Me) => self.orders_do(now, |o, cx| o.reconnect_due(cx)),
                Some(Wake::Feed) => {
                    vec![
                        self.requests
                            .http(Call::Feed, Method::Get, "/v1/feed", None, None),
                    ]
                }
                Some(Wake::PayRetry(key)) => {
                    self.shop_do(now, |s, funds, cx, _| s.payment_retry_due(&key, funds, cx))
                }
                None => Vec::new(),
            },
        }
    }

    /// A connection worked: an "offline" message still up is stale.
    pub(super) fn back_online(&mut self) {
        if let Some(said) = self.offline_said.take()
            && self.message.as_deref() == Some(said.as_str())
        {
            self.message = None;
        }
    }

    /// Opens the sign-in sheet; `action` runs once the viewer has signed in.
    fn need_account(&mut self, action: Pending) -> Vec<Effect> {
        self.sign_in = Some(SignInSheet {
            pending: Some(action),
            ..SignInSheet::default()
        });
        Vec::new()
    }

    /// The account's events.
    fn on_account(&mut self, event: AccountEvent, now: Timestamp) -> Vec<Effect> {
        match event {
            AccountEvent::VaultLoaded(saved) => match saved {
                // A sign-in that finished first wins over the saved session.
                Some(s) if self.session.user().is_none() => {
                    self.session = Session::SignedIn(s);
                    let mut effects =
                        self.rooms_do(now, |_, st, cx| Rooms::authenticate_socket(st, cx));
                    effects.extend(self.run(
                        vec![Cmd::authed(
                            Method::Get,
                            "/v1/me/following",
                            None,
                            Then::Following,
                        )],
                        now,
                    ));
                    effects.extend(self.shop_do(now, |_, _, cx, _| Shop::load(cx)));
                    effects.extend(self.orders_do(now, |o, cx| o.start(cx)));
                    effects
                }
                _ => Vec::new(),
            },
            AccountEvent::OpenSignIn => {
                self.sign_in = Some(SignInSheet::default());
                Vec::new()
            }
            AccountEvent::DismissSignIn => {
                self.sign_in = None;
                Vec::new()
            }
            AccountEvent::SignIn { username, password } => {
                let sheet = self.sign_in.get_or_insert_with(SignInSheet::default);
                if username.trim().is_empty() || password.is_empty() {
                    sheet.error = Some("Enter your username and password".into());
                    return Vec::new();
                }
                sheet.busy = true;
                sheet.error = None;
                let body = serde_json::to_value(SignInRequest {
                    username: username.trim().to_owned(),
                    password,
                })
                .ok();
                vec![
                    self.requests
                        .http(Call::SignIn, Method::Post, "/v1/session", body, None),
                ]
            }
            AccountEvent::AskSignOut => {
                self.confirm_sign_out = self.session.user().is_some();
                Vec::new()
            }
            AccountEvent::CancelSignOut => {
                self.confirm_sign_out = false;
                Vec::new()
            }
            AccountEvent::SignOut => {
                self.confirm_sign_out = false;
                // The server ends the session too (its tokens stop working
                // at once); the app forgets it either way.
                let token = self.session.access_token(now).map(str::to_owned);
                let end = token.map(|t| {
                    self.requests
                        .http(Call::SignOut, Method::Delete, "/v1/session", None, Some(t))
                });
                let mut effects = self.forget_user("Signed out");
                effects
                    .extend(self.rooms_do(now, |_, st, cx| Rooms::reconnect_anonymously(st, cx)));
                effects.extend(end);
                effects
            }
        }
    }

    /// A sign-in's or a refresh's answer.
    fn session_answer(
        &mut self,
        fresh: bool,
        result: Result<SessionResponse, HttpFailure>,
        now: Timestamp,
    ) -> Vec<Effect> {
        match result {
            Ok(session) => self.signed_in(session, fresh, now),
            Err(HttpFailure::Unreadable(_)) => {
                self.signed_out("Sign-in failed: the server's answer was not understood")
            }
            Err(failure) if fresh => {
                let sheet = self.sign_in.get_or_insert_with(SignInSheet::default);
                sheet.busy = false;
                sheet.error = Some(match failure {
                    HttpFailure::Status {
                        problem: Some(p), ..
                    } => p.detail,
                    HttpFailure::Status { status, .. } => format!("Sign-in failed ({status})"),
                    HttpFailure::Network(_) | HttpFailure::Unreadable(_) => {
                        "You're offline — try again when connected".into()
                    }
                });
                Vec::new()
            }
            Err(HttpFailure::Network(_)) => {
                // Keep the session; try again on the next authenticated call.
                self.requests.refreshing = false;
                self.orders_do(now, |o, cx| o.after_failed_refresh(cx))
            }
            Err(_) => self.signed_out("Your session ended — please sign in again"),
        }
    }

    /// A signed-in call's typed answer, to the part of the app that asked.
    fn answered(&mut self, reply: Reply, now: Timestamp) -> Vec<Effect> {
        match reply {
            Reply::Nothing => {}
            reply @ (Reply::Following(_) | Reply::Followed { .. } | Reply::Reported(_)) => {
                let cmds = self.viewer.answered(reply);
                return self.run(cmds, now);
            }
            Reply::OrderChanged { order, result } => {
                return self.orders_do(now, |o, cx| o.changed(order, result, cx));
            }
            Reply::Gift { key, result } => {
                return self.gifts_do(now, |g, _, funds, _| g.answer(&key, result, funds));
            }
            reply @ (Reply::Wallet(_) | Reply::History(_)) => {
                return self.wallet_do(now, |w, _| w.answered(reply));
            }
            reply => return self.shop_do(now, |s, funds, cx, _| s.answered(reply, funds, cx)),
        }
        Vec::new()
    }

    fn signed_in(&mut self, session: SessionResponse, fresh: bool, now: Timestamp) -> Vec<Effect> {
        self.requests.refreshing = false;
        self.message = None;
        let token = session.access_token.clone();
        self.session = Session::SignedIn(Box::new(session.clone()));
        let mut effects = vec![Effect::Vault(VaultCommand::Store(Box::new(session)))];
        for (request, then) in self.requests.take_waiting() {
            let effect = self
                .requests
                .send_authed(request, token.clone(), true, then);
            effects.push(effect);
        }
        // Which hosts this user follows (the Follow buttons); not on a mere refresh.
        if fresh {
            let request = self.requests.request(Method::Get, "/v1/me/following", None);
            effects.push(
                self.requests
                    .send_authed(request, token.clone(), false, Then::Following),
            );
            effects.extend(self.shop_do(now, |_, _, cx, _| Shop::load(cx)));
            effects.extend(self.orders_do(now, |o, cx| o.start(cx)));
        } else {
            self.refreshed_at = Some(now.as_millisecond());
            // A socket that waited for this fresh token.
            effects.extend(self.orders_do(now, |o, cx| o.connect(cx)));
        }
        // The room socket learns who we are without reconnecting.
        if let Some(room) = &self.room {
            effects.push(Effect::Socket(SocketCommand::Send {
                room: room.id,
                frame: ClientFrame::Auth {
                    access_token: token,
                },
            }));
        }
        // Back to what the viewer was doing (after the socket knows who we are).
        let pending = self.sign_in.take().and_then(|s| s.pending);
        effects.extend(self.viewer_do(now, |v, room, host, cx| {
            v.signed_in(pending.clone(), room, host, cx)
        }));
        match pending {
            Some(Pending::BuyNow) => {
                effects.extend(self.shop_do(now, |s, funds, cx, seen| s.buy_now(funds, cx, seen)));
            }
            Some(Pending::Wallet) => {
                effects.extend(self.wallet_do(now, |w, cx| w.open_screen(cx)));
            }
            Some(Pending::Gift(gift)) => {
                effects
                    .extend(self.gifts_do(now, |g, room, funds, cx| g.send(gift, room, funds, cx)));
            }
            Some(Pending::Orders) => effects.extend(self.orders_do(now, |o, cx| o.open(cx))),
            Some(Pending::Follow | Pending::Chat(_) | Pending::Report(..) | Pending::Like)
            | None => {}
        }
        effects
    }

    fn signed_out(&mut self, why: &str) -> Vec<Effect> {
        self.requests.refreshing = false;
        self.forget_user(why)
    }

    /// Who the viewer was is gone (signed out, or the session ended): every
    /// part forgets the user, the keyring and the app's store too.
    fn forget_user(&mut self, why: &str) -> Vec<Effect> {
        self.session = Session::Anonymous;
        self.requests.forget_waiting();
        self.viewer.signed_out();
        self.shop.forget();
        self.funds.forget();
        self.gifts.forget();
        self.message = Some(why.to_owned());
        let mut effects = vec![
            Effect::Vault(VaultCommand::Clear),
            Effect::Store(StoreCommand::ForgetUser),
        ];
        effects.extend(self.forget_orders());
        effects
    }
}
