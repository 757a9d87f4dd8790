//! The app's behaviour: `update(event, now) -> effects` and `view() -> ViewModel`.
//!
//! Size: App still holds the session's, the feed's and the room's state
//! and the code between them (sockets, reconnects, timers); each part's
//! events are dispatched in its own file (account, rooms, live, shop,
//! orders, http). Sub-models that own their state are #17's next step.

mod account;
mod answer;
mod cmd;
mod http;
mod live;
mod orders;
mod rooms;
mod shop;
pub use crate::effects::PendingPayment;
pub use account::AccountEvent;
pub use answer::HttpFailure;
use answer::decode;
use answer::{Reply, Then};
pub use cmd::Pending;
use cmd::{Cmd, Cx, Wake};
use http::{Answered, Call, Requests};
pub use live::{LiveEvent, Viewer};
pub use orders::{MeLink, MeUpdate, OrderToast, Orders, OrdersEvent, TOAST_MS, status_words};
pub use rooms::FeedEvent;
pub use shop::{
    COMBO_WINDOW_MS, Checkout, Combo, DEMO_CARD, GiftsEvent, Payment, Seen, Shop, ShopEvent, Stage,
    Step, WalletEvent, card_number,
};

use crate::effects::{
    Effect, HttpRequest, Method, PlayerCommand, RequestId, SocketCommand, StoreCommand,
    VaultCommand,
};
use crate::feed::{Drawn, Feed, PlayerStatus};
use crate::ids::Ids;
use crate::room::{Fold, Link, LiveRoom};
use crate::session::Session;
use jiff::Timestamp;
use livecart_protocol::rest::{FeedResponse, RefreshRequest, SessionResponse};
use livecart_protocol::{ClientFrame, ErrorCode, RoomId, ServerFrame, UserId};
use std::collections::HashMap;

/// Something that happened: a tap, or an answer from an effect runner.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Started,
    /// Who the viewer is: the saved session, sign-in and sign-out (app/account.rs).
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
    /// The wallet screen (app/shop.rs).
    Wallet(WalletEvent),
    /// The gift bar (app/shop.rs).
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

#[derive(Debug, Clone, PartialEq)]
pub enum PlayerUpdate {
    Status(PlayerStatus),
    FirstFrame,
    Ready,
    /// Once a second from the player: how far behind live the picture is.
    Behind {
        ms: Option<u32>,
    },
    /// Once a second from the page: what it drew.
    Drawn(Drawn),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SignInSheet {
    pub pending: Option<Pending>,
    pub busy: bool,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SocketUpdate {
    Frame(Box<ServerFrame>),
    Closed { code: Option<u16> },
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
    /// The show timer armed now: (id, due ms).
    show_timer: Option<(u64, i64)>,
    pub sign_in: Option<SignInSheet>,
    pub muted: bool,
    pub debug: bool,
    pub reduced_motion: bool,
    /// Whom the viewer follows, what they reported, chat waiting for a token.
    pub viewer: Viewer,
    /// Wallet, checkout, gifts.
    pub shop: Shop,
    /// Orders after the show, the user's own socket.
    pub orders: Orders,
    /// Feed requests that got no answer in a row (for the retry backoff).
    feed_failures: u32,
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

/// Reconnect delays (ms): quick at first, then calmer.
const BACKOFF_MS: [u64; 6] = [250, 500, 1000, 2000, 4000, 8000];

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
            Answered::Call(Call::Feed, result) => self.feed_answer(decode(result, "the feed"), now),
            Answered::Call(Call::Catalog, result) => {
                let cmds = self.shop.catalog_loaded(decode(result, "the gifts"));
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
        let mut cx = Cx {
            now,
            session: &self.session,
            ids: &mut self.ids,
            watching: self.room.is_some() && !self.feed.browsing,
            refreshed_at: self.refreshed_at,
        };
        let cmds = f(&mut self.orders, &mut cx);
        self.run(cmds, now)
    }

    /// What the shop reads of the room on screen.
    pub(crate) fn seen(&self) -> Seen<'_> {
        Seen {
            room: self.room.as_ref(),
            behind_ms: self.behind_ms(),
            wallet_asked: self.requests.asked(&Then::Wallet),
        }
    }

    /// Lets the shop handle something, then does what it asks.
    fn shop_do(
        &mut self,
        now: Timestamp,
        f: impl FnOnce(&mut Shop, &mut Cx, &Seen) -> Vec<Cmd>,
    ) -> Vec<Effect> {
        let behind_ms = self.behind_ms();
        let wallet_asked = self.requests.asked(&Then::Wallet);
        let seen = Seen {
            room: self.room.as_ref(),
            behind_ms,
            wallet_asked,
        };
        let mut cx = Cx {
            now,
            session: &self.session,
            ids: &mut self.ids,
            watching: self.room.is_some() && !self.feed.browsing,
            refreshed_at: self.refreshed_at,
        };
        let cmds = f(&mut self.shop, &mut cx, &seen);
        self.run(cmds, now)
    }

    /// Lets the viewer's part handle something with the room on screen.
    fn viewer_do(
        &mut self,
        now: Timestamp,
        f: impl FnOnce(&mut Viewer, Option<&mut LiveRoom>, Option<UserId>, &mut Cx) -> Vec<Cmd>,
    ) -> Vec<Effect> {
        let host = self.feed.current().map(|r| r.host.id);
        let mut cx = Cx {
            now,
            session: &self.session,
            ids: &mut self.ids,
            watching: self.room.is_some() && !self.feed.browsing,
            refreshed_at: self.refreshed_at,
        };
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
                Cmd::BackOnline => self.back_online(),
                Cmd::SetBalance(balance) => {
                    if let Some(w) = self.shop.wallet.as_mut() {
                        w.balance = balance;
                    }
                }
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
        let room = self.room.as_ref()?.id;
        let slot = self.feed.players.get(&room)?;
        slot.drawn
            .and_then(|d| d.latency_p50_ms)
            .or(match slot.status {
                PlayerStatus::Playing { behind_ms } => behind_ms,
                _ => None,
            })
            .map(i64::from)
    }

    /// Moves the room's show on to `now`: sends batched likes and arms one
    /// timer for the next thing due.
    fn run_show(&mut self, now: Timestamp) -> Vec<Effect> {
        let now_ms = now.as_millisecond();
        let behind = self.behind_ms();
        let Some(live) = self.room.as_mut() else {
            return Vec::new();
        };
        let room = live.id;
        live.show.advance(now_ms, behind);
        let mut effects = Vec::new();
        if let Some(count) = live.show.take_likes(now_ms) {
            effects.push(Effect::Socket(SocketCommand::Send {
                room,
                frame: ClientFrame::Like { count },
            }));
        }
        let sale = live
            .state
            .as_ref()
            .and_then(|s| s.flash_sale.as_ref())
            .map(|f| f.deadline.as_millisecond());
        let next = live.show.next_deadline(now_ms, behind, sale);
        if let Some(due) = next
            && self.show_timer.is_none_or(|(_, armed)| due < armed)
        {
            let id = self.id();
            if let Some((old, _)) = self.show_timer.replace((id, due)) {
                self.timers.remove(&old);
            }
            self.timers.insert(id, Wake::Show(room));
            effects.push(Effect::Timer {
                id,
                after_ms: u64::try_from(due - now_ms).unwrap_or(0),
            });
        }
        effects
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
            Event::Feed(e) => self.on_feed(e, now),
            Event::Live(e) => {
                self.viewer_do(now, |v, room, host, cx| v.on_event(e, room, host, cx))
            }
            Event::Player { room, update } => self.player_update(room, update, now),
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
            Event::Shop(e) => self.shop_do(now, |s, cx, seen| s.on_shop(e, cx, seen)),
            Event::Orders(e) => self.orders_do(now, |o, cx| o.on_event(e, cx)),
            Event::Me(update) => self.orders_do(now, |o, cx| o.on_me(update, cx)),
            Event::Wallet(e) => self.shop_do(now, |s, cx, _| s.on_wallet(e, cx)),
            Event::Gifts(e) => self.shop_do(now, |s, cx, seen| s.on_gifts(e, cx, seen)),
            Event::ReducedMotion(on) => {
                self.reduced_motion = on;
                Vec::new()
            }
            Event::HttpDone { id, result } => self.http_done(id, result, now),
            Event::Socket { room, update } => self.socket(room, update, now),
            Event::Timer(id) => match self.timers.remove(&id) {
                Some(Wake::Reconnect(room)) if self.room.as_ref().is_some_and(|r| r.id == room) => {
                    self.connect(now)
                }
                Some(Wake::Show(_)) => {
                    // The show moves on after every event (`run_show`).
                    self.show_timer = None;
                    Vec::new()
                }
                Some(Wake::TopUp(id)) => self.run(Shop::top_up_due(id), now),
                Some(Wake::Me) => self.orders_do(now, |o, cx| o.reconnect_due(cx)),
                Some(Wake::Feed) => {
                    vec![
                        self.requests
                            .http(Call::Feed, Method::Get, "/v1/feed", None, None),
                    ]
                }
                Some(Wake::PayRetry(key)) => {
                    self.shop_do(now, |s, cx, _| s.payment_retry_due(&key, cx))
                }
                _ => Vec::new(),
            },
        }
    }

    /// Says the app is offline (a message that goes by itself once a
    /// connection works again).
    fn say_offline(&mut self, text: &str) {
        self.message = Some(text.to_owned());
        self.offline_said = Some(text.to_owned());
    }

    /// A connection worked: an "offline" message still up is stale.
    pub(super) fn back_online(&mut self) {
        if let Some(said) = self.offline_said.take()
            && self.message.as_deref() == Some(said.as_str())
        {
            self.message = None;
        }
    }

    /// No answer, or the server failing: ask again after a growing delay
    /// (the feed comes back by itself when the server does).
    fn feed_retry(&mut self, failure: &HttpFailure) -> Vec<Effect> {
        if matches!(failure, HttpFailure::Status { status, .. } if *status < 500)
            || matches!(failure, HttpFailure::Unreadable(_))
        {
            return Vec::new();
        }
        self.feed_failures += 1;
        let id = self.id();
        self.timers.insert(id, Wake::Feed);
        let after_ms = BACKOFF_MS[(self.feed_failures as usize - 1).min(BACKOFF_MS.len() - 1)];
        vec![Effect::Timer { id, after_ms }]
    }

    /// Opens the sign-in sheet; `action` runs once the viewer has signed in.
    fn need_account(&mut self, action: Pending) -> Vec<Effect> {
        self.sign_in = Some(SignInSheet {
            pending: Some(action),
            ..SignInSheet::default()
        });
        Vec::new()
    }

    /// Reconciles players with the feed; a muted viewer's room stays muted.
    fn players(&mut self) -> Vec<Effect> {
        let mut effects = self.feed.reconcile_players();
        if self.muted
            && let Some(room) = self.feed.current().map(|r| r.id)
            && !self.feed.browsing
        {
            effects.push(Effect::Player(PlayerCommand::SetMuted {
                room,
                muted: true,
            }));
        }
        effects
    }

    /// Tells the room socket who we are (after a silent sign-in), refreshing
    /// the token first when it is about to expire.
    fn authenticate_socket(&mut self, now: Timestamp) -> Vec<Effect> {
        if self.session.needs_refresh(now) {
            return self.start_refresh();
        }
        match (&self.room, self.session.access_token(now)) {
            (Some(room), Some(token)) => vec![Effect::Socket(SocketCommand::Send {
                room: room.id,
                frame: ClientFrame::Auth {
                    access_token: token.to_owned(),
                },
            })],
            _ => Vec::new(),
        }
    }

    /// The socket still speaks for the user who left: start it over anonymously.
    fn reconnect_anonymously(&mut self, now: Timestamp) -> Vec<Effect> {
        let Some(room) = self.room.as_ref().map(|r| r.id) else {
            return Vec::new();
        };
        let mut effects = vec![Effect::Socket(SocketCommand::Close { room })];
        effects.extend(self.connect(now));
        effects
    }

    fn enter_current_room(&mut self, now: Timestamp) -> Vec<Effect> {
        let mut effects = Vec::new();
        // Sheets belong to the room they opened in.
        self.shop.close_checkout();
        self.shop.bag_open = false;
        self.shop.gift_bar_open = false;
        if let Some(old) = self.room.take() {
            effects.push(Effect::Socket(SocketCommand::Close { room: old.id }));
        }
        if self.feed.browsing {
            return effects;
        }
        if let Some(current) = self.feed.current() {
            self.room = Some(LiveRoom::new(current.id));
            effects.extend(self.connect(now));
        }
        effects
    }

    fn connect(&mut self, now: Timestamp) -> Vec<Effect> {
        let token = self.session.access_token(now).map(str::to_owned);
        let mut effects = match &self.room {
            Some(room) => vec![Effect::Socket(SocketCommand::Connect {
                room: room.id,
                resume: room.resume_point(),
                access_token: token,
            })],
            None => Vec::new(),
        };
        // Signed in with an expiring token: connect now, authenticate after the refresh.
        if self.room.is_some() && self.session.needs_refresh(now) {
            effects.extend(self.start_refresh());
        }
        effects
    }

    fn reconnect_later(&mut self) -> Vec<Effect> {
        let Some(room) = self.room.as_mut() else {
            return Vec::new();
        };
        let attempt = match room.link {
            Link::Reconnecting { attempt } => attempt + 1,
            _ => 1,
        };
        room.link = Link::Reconnecting { attempt };
        let room_id = room.id;
        let id = self.id();
        self.timers.insert(id, Wake::Reconnect(room_id));
        let after_ms = BACKOFF_MS[(attempt as usize - 1).min(BACKOFF_MS.len() - 1)];
        vec![Effect::Timer { id, after_ms }]
    }

    fn socket(&mut self, room: RoomId, update: SocketUpdate, now: Timestamp) -> Vec<Effect> {
        if self.room.as_ref().is_none_or(|r| r.id != room) {
            return Vec::new(); // a late message from a room we left
        }
        match update {
            // The server closed the room: it ended (no reconnecting).
            SocketUpdate::Closed {
                code: Some(livecart_protocol::live::close::ROOM_ENDED),
            } => {
                if let Some(state) = self.room.as_mut().and_then(|r| r.state.as_mut()) {
                    state.room.status = livecart_protocol::rest::RoomStatus::Ended;
                }
                Vec::new()
            }
            SocketUpdate::Closed { .. } => self.reconnect_later(),
            SocketUpdate::Frame(frame) => {
                let me = self.session.user().map(|u| u.id);
                let Some(live) = self.room.as_mut() else {
                    return Vec::new();
                };
                live.show.me = me;
                match live.fold(*frame, now.as_millisecond()) {
                    Fold::Gap => {
                        // Missed something: drop this connection, resume from what we have.
                        let mut effects = vec![Effect::Socket(SocketCommand::Close { room })];
                        effects.extend(self.connect(now));
                        effects
                    }
                    Fold::Other(ServerFrame::Error {
                        code: ErrorCode::Unauthorized | ErrorCode::TokenExpired,
                        ..
                    }) if self.session.user().is_some()
                        && self
                            .refreshed_at
                            .is_none_or(|t| now.as_millisecond() - t >= 10_000) =>
                    {
                        // The socket refused our token (it expired, or the
                        // server restarted with a new key): a fresh one is
                        // sent to it once the refresh is done.
                        self.start_refresh()
                    }
                    Fold::Other(ServerFrame::Error {
                        code,
                        message,
                        retry_after_ms,
                    }) => {
                        self.message = Some(match (code, retry_after_ms) {
                            (ErrorCode::RateLimited, Some(ms)) => {
                                format!("Slow down — you can chat again in {} s", ms.div_ceil(1000))
                            }
                            (ErrorCode::Muted, Some(ms)) => format!(
                                "The host muted you — you can chat again in {} min",
                                ms.div_ceil(60_000)
                            ),
                            (ErrorCode::Filtered, _) => {
                                "Not sent: your message has a word this room doesn't allow"
                                    .to_owned()
                            }
                            _ => message,
                        });
                        Vec::new()
                    }
                    Fold::Applied if live.link == Link::Live => {
                        self.back_online();
                        Vec::new()
                    }
                    Fold::Applied | Fold::Duplicate | Fold::Other(_) => Vec::new(),
                }
            }
        }
    }

    /// The feed's answer (a body that is not a feed is `Unreadable`).
    fn feed_answer(
        &mut self,
        result: Result<FeedResponse, HttpFailure>,
        now: Timestamp,
    ) -> Vec<Effect> {
        self.feed.loading = false;
        if !matches!(
            result,
            Err(HttpFailure::Network(_) | HttpFailure::Status { .. })
        ) {
            // The server answered.
            self.feed_failures = 0;
            self.back_online();
        }
        match result {
            Ok(feed) => {
                let on_screen = self.feed.current().map(|r| r.id);
                self.feed.rooms.clone_from(&feed.rooms);
                self.feed.error = None;
                // Stay on the room the viewer is watching if it is still live.
                let index = on_screen
                    .and_then(|id| self.feed.rooms.iter().position(|r| r.id == id))
                    .unwrap_or(self.feed.index);
                self.feed.go_to(index);
                let mut effects = vec![Effect::Store(StoreCommand::SaveFeed(Box::new(feed)))];
                effects.extend(self.players());
                if self.room.as_ref().map(|r| r.id) != self.feed.current().map(|r| r.id) {
                    effects.extend(self.enter_current_room(now));
                }
                effects
            }
            Err(HttpFailure::Unreadable(e)) => {
                let text = format!("The feed could not be read ({e})");
                if self.feed.rooms.is_empty() {
                    self.feed.error = Some(text);
                } else {
                    // The cached feed stays on screen.
                    self.message = Some(text);
                }
                Vec::new()
            }
            Err(failure) if !self.feed.rooms.is_empty() => {
                // The cached feed stays on screen.
                let retry = self.feed_retry(&failure);
                if self.feed_failures <= 1 {
                    match failure {
                        HttpFailure::Network(_) => {
                            self.say_offline("You're offline — showing the last feed");
                        }
                        HttpFailure::Status { status, .. } => {
                            self.message =
                                Some(format!("The feed could not be refreshed ({status})"));
                        }
                        HttpFailure::Unreadable(_) => {}
                    }
                }
                retry
            }
            Err(failure) => {
                let retry = self.feed_retry(&failure);
                self.feed.error = Some(match failure {
                    HttpFailure::Network(_) => "You're offline — retrying…".into(),
                    HttpFailure::Status { problem, status } => {
                        problem.map_or_else(|| format!("The server said {status}"), |p| p.title)
                    }
                    HttpFailure::Unreadable(e) => format!("The feed could not be read ({e})"),
                });
                retry
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
            reply => return self.shop_do(now, |s, cx, _| s.answered(reply, cx)),
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
            effects.extend(self.shop_do(now, |_, cx, _| Shop::load(cx)));
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
                effects.extend(self.shop_do(now, |s, cx, seen| s.buy_now(cx, seen)));
            }
            Some(Pending::Wallet) => {
                effects.extend(self.shop_do(now, |s, cx, _| s.open_wallet(cx)));
            }
            Some(Pending::Gift(gift)) => {
                effects.extend(self.shop_do(now, |s, cx, seen| s.send_gift(gift, cx, seen)));
            }
            Some(Pending::Orders) => effects.extend(self.orders_do(now, |o, cx| o.open(cx))),
            Some(Pending::Follow | Pending::Chat(_) | Pending::Report(..) | Pending::Like)
            | None => {}
        }
        effects
    }

    fn signed_out(&mut self, why: &str) -> Vec<Effect> {
        self.requests.refreshing = false;
        self.session = Session::Anonymous;
        self.requests.forget_waiting();
        self.viewer.signed_out();
        self.shop.forget();
        self.message = Some(why.to_owned());
        let mut effects = vec![
            Effect::Vault(VaultCommand::Clear),
            Effect::Store(StoreCommand::ForgetUser),
        ];
        effects.extend(self.forget_orders());
        effects
    }
}
