//! The app's behaviour: `update(event, now) -> effects` and `view() -> ViewModel`.
//!
//! Size: App still holds the session's, the feed's and the room's state
//! and the code between them (sockets, reconnects, timers); each part's
//! events are dispatched in its own file (account, rooms, live, shop,
//! orders, http). Sub-models that own their state are #17's next step.

mod account;
mod http;
mod live;
mod orders;
mod rooms;
mod shop;
pub use account::AccountEvent;
use http::{Call, Reply, Then};
pub use live::LiveEvent;
pub use orders::{MeLink, OrderToast, Orders, OrdersEvent, TOAST_MS, status_words};
pub use rooms::FeedEvent;
pub use shop::{
    COMBO_WINDOW_MS, Checkout, Combo, DEMO_CARD, GiftsEvent, Payment, PendingPayment, Shop,
    ShopEvent, Stage, Step, WalletEvent, card_number,
};

use crate::effects::{
    Effect, HttpRequest, Method, PlayerCommand, RequestId, SocketCommand, StoreCommand,
    VaultCommand,
};
use crate::feed::{Drawn, Feed, PlayerStatus};
use crate::ids::Ids;
use crate::room::{Fold, Link, LiveRoom};
use crate::session::Session;
use crate::view::{self, ViewModel};
use jiff::Timestamp;
use livecart_protocol::me::MeFrame;
use livecart_protocol::rest::ReportRequest;
use livecart_protocol::rest::{FeedResponse, SessionResponse};
use livecart_protocol::{
    ClientFrame, ErrorCode, GiftId, MessageId, Problem, ProductId, RoomId, ServerFrame, TopUpId,
    UserId,
};
use std::collections::{HashMap, HashSet};

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
pub enum HttpFailure {
    /// The server answered with an error (a problem body when it sent one).
    Status {
        status: u16,
        problem: Option<Problem>,
    },
    /// No answer: offline, refused, timed out.
    Network(String),
    /// The server answered, but not with what the request expects (set by
    /// the core when a body does not decode; says what and why).
    Unreadable(String),
}

/// What the shopper reads when an answer could not be read.
pub(crate) fn unreadable(what: &str) -> String {
    format!("{what} could not be read — the server answered in a form this app does not know")
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

/// An action that needs an account, done once the viewer has signed in.
#[derive(Debug, Clone, PartialEq)]
pub enum Pending {
    Chat(String),
    Follow,
    Report(MessageId, String),
    Like,
    BuyNow,
    Wallet,
    Gift(GiftId),
    Orders,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SignInSheet {
    pub pending: Option<Pending>,
    pub busy: bool,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MeUpdate {
    Frame(Box<MeFrame>),
    /// Closed, or could not connect.
    Closed,
    /// The server refused the access token at the upgrade (401).
    Unauthorized,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SocketUpdate {
    Frame(Box<ServerFrame>),
    Closed { code: Option<u16> },
}

/// What a timer was armed for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Wake {
    Reconnect(RoomId),
    /// The room's show has something due (a pin, a lane ending, likes to send).
    Show(RoomId),
    /// Look at a pending top-up again.
    TopUp(TopUpId),
    /// Send the payment with this key again.
    PayRetry(String),
    /// Ask for the feed again (it could not be loaded).
    Feed,
    /// Reconnect the user's own socket.
    Me,
}

#[derive(Debug, Default)]
#[allow(clippy::struct_excessive_bools)] // independent switches the screens read
pub struct App {
    pub feed: Feed,
    pub room: Option<LiveRoom>,
    pub session: Session,
    /// A message for the viewer (e.g. "your session ended").
    pub message: Option<String>,
    next_id: u64,
    calls: HashMap<RequestId, Call>,
    /// Authenticated requests waiting for a refresh to finish.
    waiting: Vec<(HttpRequest, Then)>,
    refreshing: bool,
    timers: HashMap<u64, Wake>,
    /// The show timer armed now: (id, due ms).
    show_timer: Option<(u64, i64)>,
    pub sign_in: Option<SignInSheet>,
    pub muted: bool,
    pub debug: bool,
    /// Hosts the signed-in user follows (kept by the server).
    pub following: HashSet<UserId>,
    pub bag_open: bool,
    /// The product whose detail is open.
    pub product: Option<ProductId>,
    pub reduced_motion: bool,
    /// Messages this user reported: hidden for them at once.
    pub reported: HashSet<MessageId>,
    /// Follow taps sent but not answered: host → following.
    follows_in_flight: HashMap<UserId, bool>,
    /// Chat typed while the token was being refreshed.
    queued_chat: Vec<String>,
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
        self.next_id += 1;
        self.next_id
    }

    /// The view model at `now` (countdowns are relative to it).
    pub fn view(&self, now: Timestamp) -> ViewModel {
        view::build(self, now.as_millisecond())
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
                let feed = self.http(Call::Feed, Method::Get, "/v1/feed", None, None);
                let catalog = self.load_catalog();
                vec![
                    Effect::Vault(VaultCommand::Load),
                    Effect::Store(StoreCommand::LoadFeed),
                    feed,
                    catalog,
                ]
            }
            Event::Account(e) => self.on_account(e, now),
            Event::Feed(e) => self.on_feed(e, now),
            Event::Live(e) => self.on_live(e, now),
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
            Event::Shop(e) => self.on_shop(e, now),
            Event::Orders(e) => self.on_orders(e, now),
            Event::Me(MeUpdate::Frame(frame)) => self.me_frame(*frame, now),
            Event::Me(MeUpdate::Closed) => self.me_dropped(now),
            Event::Me(MeUpdate::Unauthorized) => self.me_unauthorized(now),
            Event::Wallet(e) => self.on_wallet(e, now),
            Event::Gifts(e) => self.on_gifts(e, now),
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
                Some(Wake::TopUp(id)) => self.top_up_due(id, now),
                Some(Wake::Me) => self.me_reconnect_due(now),
                Some(Wake::Feed) => {
                    vec![self.http(Call::Feed, Method::Get, "/v1/feed", None, None)]
                }
                Some(Wake::PayRetry(key)) => self.payment_retry_due(&key, now),
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

    /// Follows or unfollows the host on screen: shown at once, kept by the
    /// server, undone with a message if the server refuses.
    fn toggle_follow(&mut self, now: Timestamp) -> Vec<Effect> {
        let Some(host) = self.feed.current().map(|r| r.host.id) else {
            return Vec::new();
        };
        let following = !self.following.remove(&host);
        if following {
            self.following.insert(host);
        }
        self.follows_in_flight.insert(host, following);
        let method = if following {
            Method::Put
        } else {
            Method::Delete
        };
        self.authed_then(
            method,
            &format!("/v1/me/following/{host}"),
            None,
            now,
            Then::Followed { host, following },
        )
    }

    fn report(&mut self, message: MessageId, reason: &str, now: Timestamp) -> Vec<Effect> {
        let Some(room) = self.room.as_mut() else {
            return Vec::new();
        };
        room.show.chat.select(None);
        let room = room.id;
        self.reported.insert(message);
        let body = serde_json::to_value(ReportRequest {
            message_id: message,
            reason: reason.chars().take(200).collect(),
        })
        .ok();
        self.authed_then(
            Method::Post,
            &format!("/v1/rooms/{room}/reports"),
            body,
            now,
            Then::Reported,
        )
    }

    fn send_chat(&mut self, text: &str, now: Timestamp) -> Vec<Effect> {
        let text = text.trim().to_owned();
        if text.is_empty() {
            return Vec::new();
        }
        // Back to the newest lines, where this one will show.
        if let Some(live) = self.room.as_mut() {
            live.show.chat.follow();
        }
        if self.session.needs_refresh(now) {
            // Sent once the refreshed token has reached the socket.
            self.queued_chat.push(text);
            return self.start_refresh();
        }
        match (&self.room, self.session.access_token(now)) {
            (Some(room), Some(_)) => vec![Effect::Socket(SocketCommand::Send {
                room: room.id,
                frame: ClientFrame::Chat {
                    text,
                    client_id: None,
                },
            })],
            _ => Vec::new(),
        }
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
        self.close_checkout();
        self.bag_open = false;
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
                self.refreshing = false;
                self.me_after_failed_refresh(now)
            }
            Err(_) => self.signed_out("Your session ended — please sign in again"),
        }
    }

    /// A signed-in call's typed answer, to the part of the app that asked.
    fn answered(&mut self, reply: Reply, now: Timestamp) -> Vec<Effect> {
        match reply {
            Reply::Following(Ok(list)) => {
                self.following = list.hosts.into_iter().collect();
                // Taps the server has not answered yet win over its list.
                for (host, following) in &self.follows_in_flight {
                    if *following {
                        self.following.insert(*host);
                    } else {
                        self.following.remove(host);
                    }
                }
            }
            Reply::Following(Err(HttpFailure::Unreadable(_))) => {
                self.message = Some(unreadable("Who you follow"));
            }
            // The Follow buttons keep what they showed; the next sign-in asks again.
            Reply::Following(Err(_)) | Reply::Nothing => {}
            Reply::Followed {
                host,
                result: Ok(()),
                ..
            } => {
                self.follows_in_flight.remove(&host);
            }
            Reply::Followed {
                host,
                following,
                result: Err(failure),
            } => {
                self.follows_in_flight.remove(&host);
                // Undo what the screen showed.
                if following {
                    self.following.remove(&host);
                } else {
                    self.following.insert(host);
                }
                self.message = Some(match failure {
                    HttpFailure::Network(_) => "You're offline — try again when connected".into(),
                    HttpFailure::Status { problem, status } => {
                        problem.map_or_else(|| format!("Could not follow ({status})"), |p| p.detail)
                    }
                    HttpFailure::Unreadable(_) => unreadable("The follow"),
                });
            }
            Reply::Reported(Ok(())) => {
                self.message = Some("Reported — thanks, a moderator will look at it".into());
            }
            Reply::Reported(Err(_)) => {
                self.message = Some("The report did not go through — try again".into());
            }
            Reply::OrderChanged { order, result } => return self.order_changed(order, result),
            reply => return self.shop_done(reply, now),
        }
        Vec::new()
    }

    fn signed_in(&mut self, session: SessionResponse, fresh: bool, now: Timestamp) -> Vec<Effect> {
        self.refreshing = false;
        self.message = None;
        let token = session.access_token.clone();
        self.session = Session::SignedIn(Box::new(session.clone()));
        let mut effects = vec![Effect::Vault(VaultCommand::Store(Box::new(session)))];
        for (request, then) in std::mem::take(&mut self.waiting) {
            let effect = self.send_authed(request, token.clone(), true, then);
            effects.push(effect);
        }
        // Which hosts this user follows (the Follow buttons); not on a mere refresh.
        if fresh {
            let request = self.request(Method::Get, "/v1/me/following", None);
            effects.push(self.send_authed(request, token.clone(), false, Then::Following));
            effects.extend(self.load_shop(now));
            effects.extend(self.start_orders(now));
        } else {
            self.refreshed_at = Some(now.as_millisecond());
            // A socket that waited for this fresh token.
            effects.extend(self.connect_me(now));
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
        for text in std::mem::take(&mut self.queued_chat) {
            effects.extend(self.send_chat(&text, now));
        }
        // Back to what the viewer was doing (after the socket knows who we are).
        match self.sign_in.take().and_then(|s| s.pending) {
            Some(Pending::Follow) => effects.extend(self.toggle_follow(now)),
            Some(Pending::Chat(text)) => effects.extend(self.send_chat(&text, now)),
            Some(Pending::Report(message, reason)) => {
                effects.extend(self.report(message, &reason, now));
            }
            Some(Pending::Like) => {
                if let Some(live) = self.room.as_mut() {
                    live.show.like(now.as_millisecond());
                }
            }
            Some(Pending::BuyNow) => effects.extend(self.buy_now(now)),
            Some(Pending::Wallet) => effects.extend(self.open_wallet(now)),
            Some(Pending::Gift(gift)) => effects.extend(self.send_gift(gift, now)),
            Some(Pending::Orders) => effects.extend(self.open_orders(now)),
            None => {}
        }
        effects
    }

    fn signed_out(&mut self, why: &str) -> Vec<Effect> {
        self.refreshing = false;
        self.session = Session::Anonymous;
        self.waiting.clear();
        self.queued_chat.clear();
        self.following.clear();
        self.forget_shop();
        self.message = Some(why.to_owned());
        let mut effects = vec![
            Effect::Vault(VaultCommand::Clear),
            Effect::Store(StoreCommand::ForgetUser),
        ];
        effects.extend(self.forget_orders());
        effects
    }
}
