//! The feed of rooms as the viewer moves through it (swipes, the grid, the
//! feed cached by the last run, what each room's player reports) and the
//! room on screen's socket (connect, resume after a gap, back off, the
//! show's timer).
//!
//! A part of the app ([`Rooms`]): it owns its retry and timer state, is
//! handed the feed and the room on screen (an [`OnScreen`]: the app keeps them,
//! every screen reads them), answers with [`Cmd`]s (app/cmd.rs) and never
//! names the app.
//!
//! Size: the feed and the room socket move together (a swipe closes one
//! socket and opens the next; a player's pictures coming back retry the
//! socket at once).

use super::answer::HttpFailure;
use super::cmd::{Cmd, Cx, Wake};
use crate::effects::{Effect, PlayerCommand, SocketCommand, StoreCommand};
use crate::feed::{Drawn, Feed, PlayerStatus};
use crate::room::{Fold, Link, LiveRoom};
use livecart_protocol::rest::FeedResponse;
use livecart_protocol::{ClientFrame, ErrorCode, RoomId, ServerFrame};

/// Reconnect delays (ms): quick at first, then calmer.
const BACKOFF_MS: [u64; 6] = [250, 500, 1000, 2000, 4000, 8000];

/// The feed's events.
#[derive(Debug, Clone, PartialEq)]
pub enum FeedEvent {
    /// The feed cached by the last run, shown until the fresh one arrives.
    CacheLoaded(Option<Box<FeedResponse>>),
    SwipeTo(usize),
    /// Close the room: back to the grid of live rooms.
    CloseRoom,
    /// Open the room at this feed index (from the grid).
    OpenRoom(usize),
    /// Pulled down at the top of the feed: ask for it again (the room on
    /// screen stays if it is still live).
    Refresh,
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

#[derive(Debug, Clone, PartialEq)]
pub enum SocketUpdate {
    Frame(Box<ServerFrame>),
    Closed { code: Option<u16> },
}

/// The feed and the room on screen, handed to the rooms part for one event.
pub(super) struct OnScreen<'a> {
    pub feed: &'a mut Feed,
    pub room: &'a mut Option<LiveRoom>,
    /// The viewer muted the sound.
    pub muted: bool,
}

/// The rooms part's own state.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rooms {
    /// Feed requests that got no answer in a row (for the retry backoff).
    feed_failures: u32,
    /// When the show's armed timer is due (ms).
    show_due: Option<i64>,
}

/// How far the picture on screen is behind its capture, for the room on
/// screen: the page's measure of drawn frames, else the player's.
pub(super) fn behind_ms(feed: &Feed, room: Option<&LiveRoom>) -> Option<i64> {
    let slot = feed.players.get(&room?.id)?;
    slot.drawn
        .and_then(|d| d.latency_p50_ms)
        .or(match slot.status {
            PlayerStatus::Playing { behind_ms } => behind_ms,
            _ => None,
        })
        .map(i64::from)
}

impl OnScreen<'_> {
    /// Reconciles players with the feed; a muted viewer's room stays muted.
    fn players(&mut self) -> Vec<Cmd> {
        let mut cmds: Vec<Cmd> = self
            .feed
            .reconcile_players()
            .into_iter()
            .map(Cmd::Do)
            .collect();
        if self.muted
            && let Some(room) = self.feed.current().map(|r| r.id)
            && !self.feed.browsing
        {
            cmds.push(Cmd::Do(Effect::Player(PlayerCommand::SetMuted {
                room,
                muted: true,
            })));
        }
        cmds
    }
}

impl Rooms {
    /// The feed's events.
    pub(super) fn on_feed(event: FeedEvent, st: &mut OnScreen, cx: &Cx) -> Vec<Cmd> {
        match event {
            FeedEvent::CacheLoaded(cached) => match cached {
                // Only while there is no fresh feed: the network always wins.
                Some(feed) if st.feed.rooms.is_empty() => {
                    let mut cmds = Vec::new();
                    if st.feed.error.take().is_some() {
                        cmds.push(Cmd::SayOffline(
                            "You're offline — showing the last feed".into(),
                        ));
                    }
                    st.feed.rooms = feed.rooms;
                    st.feed.go_to(st.feed.index);
                    cmds.extend(st.players());
                    cmds.extend(Self::enter_current_room(st, cx));
                    cmds
                }
                _ => Vec::new(),
            },
            FeedEvent::CloseRoom => {
                st.feed.browsing = true;
                let mut cmds = st.players();
                if let Some(old) = st.room.take() {
                    cmds.push(Cmd::Do(Effect::Socket(SocketCommand::Close {
                        room: old.id,
                    })));
                }
                cmds
            }
            FeedEvent::OpenRoom(index) => {
                st.feed.browsing = false;
                st.feed.go_to(index);
                let mut cmds = st.players();
                cmds.extend(Self::enter_current_room(st, cx));
                cmds
            }
            FeedEvent::Refresh => {
                if st.feed.loading {
                    return Vec::new();
                }
                st.feed.loading = true;
                vec![
                    Cmd::CancelTimers(Wake::Feed),
                    Cmd::Timer {
                        wake: Wake::Feed,
                        after_ms: 0,
                    },
                ]
            }
            FeedEvent::SwipeTo(index) => {
                if st.feed.browsing || !st.feed.go_to(index) {
                    return Vec::new();
                }
                let mut cmds = st.players();
                cmds.extend(Self::enter_current_room(st, cx));
                cmds
            }
        }
    }

    /// What a room's player reports: its state, its first picture, how far
    /// behind live it is, what the page drew.
    pub(super) fn player_update(
        room: RoomId,
        update: PlayerUpdate,
        st: &mut OnScreen,
        cx: &Cx,
    ) -> Vec<Cmd> {
        let settled_before = st.feed.current_settled();
        // The room's pictures are back while its socket waits to
        // retry: its server is back too, so retry now.
        let retry_socket = update
            == PlayerUpdate::Status(PlayerStatus::Playing { behind_ms: None })
            && st
                .room
                .as_ref()
                .is_some_and(|r| r.id == room && matches!(r.link, Link::Reconnecting { .. }));
        if let Some(slot) = st.feed.players.get_mut(&room) {
            match update {
                PlayerUpdate::Status(s) => slot.status = s,
                PlayerUpdate::FirstFrame => slot.first_frame = true,
                PlayerUpdate::Ready => {}
                PlayerUpdate::Behind { ms } => {
                    if let PlayerStatus::Playing { behind_ms } = &mut slot.status {
                        *behind_ms = ms;
                    }
                }
                PlayerUpdate::Drawn(d) => slot.drawn = Some(d),
            }
        }
        // The room on screen is now drawn (or done): time to preload the next.
        let mut cmds = if !settled_before && st.feed.current_settled() {
            st.players()
        } else {
            Vec::new()
        };
        if retry_socket {
            cmds.push(Cmd::CancelTimers(Wake::Reconnect(room)));
            cmds.extend(Self::connect(st, cx));
        }
        cmds
    }

    /// Moves the room's show on to `now`: sends batched likes and arms one
    /// timer for the next thing due.
    pub(super) fn run_show(&mut self, st: &mut OnScreen, cx: &Cx) -> Vec<Cmd> {
        let now_ms = cx.now.as_millisecond();
        let behind = behind_ms(st.feed, st.room.as_ref());
        let Some(live) = st.room.as_mut() else {
            return Vec::new();
        };
        let room = live.id;
        live.show.advance(now_ms, behind);
        let mut cmds = Vec::new();
        if let Some(count) = live.show.take_likes(now_ms) {
            cmds.push(Cmd::Do(Effect::Socket(SocketCommand::Send {
                room,
                frame: ClientFrame::Like { count },
            })));
        }
        let sale = live
            .state
            .as_ref()
            .and_then(|s| s.flash_sale.as_ref())
            .map(|f| f.deadline.as_millisecond());
        let next = live.show.next_deadline(now_ms, behind, sale);
        if let Some(due) = next
            && self.show_due.is_none_or(|armed| due < armed)
        {
            // One show timer: the earlier one replaces what was armed.
            self.show_due = Some(due);
            cmds.push(Cmd::CancelTimers(Wake::Show));
            cmds.push(Cmd::Timer {
                wake: Wake::Show,
                after_ms: u64::try_from(due - now_ms).unwrap_or(0),
            });
        }
        cmds
    }

    /// The show's timer rang (the show moves on after every event).
    pub(super) fn show_rang(&mut self) {
        self.show_due = None;
    }

    /// Tells the room socket who we are (after a silent sign-in), refreshing
    /// the token first when it is about to expire.
    pub(super) fn authenticate_socket(st: &OnScreen, cx: &Cx) -> Vec<Cmd> {
        if cx.session.needs_refresh(cx.now) {
            return vec![Cmd::Refresh];
        }
        match (st.room.as_ref(), cx.session.access_token(cx.now)) {
            (Some(room), Some(token)) => vec![Cmd::Do(Effect::Socket(SocketCommand::Send {
                room: room.id,
                frame: ClientFrame::Auth {
                    access_token: token.to_owned(),
                },
            }))],
            _ => Vec::new(),
        }
    }

    /// The socket still speaks for the user who left: start it over anonymously.
    pub(super) fn reconnect_anonymously(st: &OnScreen, cx: &Cx) -> Vec<Cmd> {
        let Some(room) = st.room.as_ref().map(|r| r.id) else {
            return Vec::new();
        };
        let mut cmds = vec![Cmd::Do(Effect::Socket(SocketCommand::Close { room }))];
        cmds.extend(Self::connect(st, cx));
        cmds
    }

    fn enter_current_room(st: &mut OnScreen, cx: &Cx) -> Vec<Cmd> {
        // Sheets belong to the room they opened in.
        let mut cmds = vec![Cmd::LeftRoom];
        if let Some(old) = st.room.take() {
            cmds.push(Cmd::Do(Effect::Socket(SocketCommand::Close {
                room: old.id,
            })));
        }
        if st.feed.browsing {
            return cmds;
        }
        if let Some(current) = st.feed.current() {
            *st.room = Some(LiveRoom::new(current.id));
            cmds.extend(Self::connect(st, cx));
        }
        cmds
    }

    /// Opens the room's socket (as the user when signed in).
    pub(super) fn connect(st: &OnScreen, cx: &Cx) -> Vec<Cmd> {
        let Some(room) = st.room.as_ref() else {
            return Vec::new();
        };
        let mut cmds = vec![Cmd::Do(Effect::Socket(SocketCommand::Connect {
            room: room.id,
            resume: room.resume_point(),
            access_token: cx.session.access_token(cx.now).map(str::to_owned),
        }))];
        // Signed in with an expiring token: connect now, authenticate after the refresh.
        if cx.session.needs_refresh(cx.now) {
            cmds.push(Cmd::Refresh);
        }
        cmds
    }

    /// A reconnect timer rang for `room`: connect if it is still on screen.
    pub(super) fn reconnect_due(room: RoomId, st: &OnScreen, cx: &Cx) -> Vec<Cmd> {
        if st.room.as_ref().is_some_and(|r| r.id == room) {
            return Self::connect(st, cx);
        }
        Vec::new()
    }

    fn reconnect_later(st: &mut OnScreen) -> Vec<Cmd> {
        let Some(room) = st.room.as_mut() else {
            return Vec::new();
        };
        let attempt = match room.link {
            Link::Reconnecting { attempt } => attempt + 1,
            _ => 1,
        };
        room.link = Link::Reconnecting { attempt };
        vec![Cmd::Timer {
            wake: Wake::Reconnect(room.id),
            after_ms: BACKOFF_MS[(attempt as usize - 1).min(BACKOFF_MS.len() - 1)],
        }]
    }

    /// The room socket: a frame folded into the room, or its close.
    pub(super) fn socket(
        room: RoomId,
        update: SocketUpdate,
        st: &mut OnScreen,
        cx: &Cx,
    ) -> Vec<Cmd> {
        if st.room.as_ref().is_none_or(|r| r.id != room) {
            return Vec::new(); // a late message from a room we left
        }
        match update {
            // The server closed the room: it ended (no reconnecting).
            SocketUpdate::Closed {
                code: Some(livecart_protocol::live::close::ROOM_ENDED),
            } => {
                if let Some(state) = st.room.as_mut().and_then(|r| r.state.as_mut()) {
                    state.room.status = livecart_protocol::rest::RoomStatus::Ended;
                }
                Vec::new()
            }
            SocketUpdate::Closed { .. } => Self::reconnect_later(st),
            SocketUpdate::Frame(frame) => {
                let me = cx.session.user().map(|u| u.id);
                let Some(live) = st.room.as_mut() else {
                    return Vec::new();
                };
                live.show.me = me;
                match live.fold(*frame, cx.now.as_millisecond()) {
                    Fold::Gap => {
                        // Missed something: drop this connection, resume from what we have.
                        let mut cmds = vec![Cmd::Do(Effect::Socket(SocketCommand::Close { room }))];
                        cmds.extend(Self::connect(st, cx));
                        cmds
                    }
                    Fold::Other(ServerFrame::Error {
                        code: ErrorCode::Unauthorized | ErrorCode::TokenExpired,
                        ..
                    }) if cx.session.user().is_some()
                        && cx
                            .refreshed_at
                            .is_none_or(|t| cx.now.as_millisecond() - t >= 10_000) =>
                    {
                        // The socket refused our token (it expired, or the
                        // server restarted with a new key): a fresh one is
                        // sent to it once the refresh is done.
                        vec![Cmd::Refresh]
                    }
                    Fold::Other(ServerFrame::Error {
                        code,
                        message,
                        retry_after_ms,
                    }) => vec![Cmd::Say(match (code, retry_after_ms) {
                        (ErrorCode::RateLimited, Some(ms)) => {
                            format!("Slow down — you can chat again in {} s", ms.div_ceil(1000))
                        }
                        (ErrorCode::Muted, Some(ms)) => format!(
                            "The host muted you — you can chat again in {} min",
                            ms.div_ceil(60_000)
                        ),
                        (ErrorCode::Filtered, _) => {
                            "Not sent: your message has a word this room doesn't allow".to_owned()
                        }
                        _ => message,
                    })],
                    Fold::Applied if live.link == Link::Live => vec![Cmd::BackOnline],
                    Fold::Applied | Fold::Duplicate | Fold::Other(_) => Vec::new(),
                }
            }
        }
    }

    /// The feed's answer (a body that is not a feed is `Unreadable`).
    pub(super) fn feed_answer(
        &mut self,
        result: Result<FeedResponse, HttpFailure>,
        st: &mut OnScreen,
        cx: &Cx,
    ) -> Vec<Cmd> {
        st.feed.loading = false;
        let mut cmds = Vec::new();
        if !matches!(
            result,
            Err(HttpFailure::Network(_) | HttpFailure::Status { .. })
        ) {
            // The server answered.
            self.feed_failures = 0;
            cmds.push(Cmd::BackOnline);
        }
        match result {
            Ok(feed) => {
                let on_screen = st.feed.current().map(|r| r.id);
                st.feed.rooms.clone_from(&feed.rooms);
                st.feed.error = None;
                let find = |id: RoomId| st.feed.rooms.iter().position(|r| r.id == id);
                // A shared link's room first; else stay on the room the
                // viewer is watching if it is still live.
                let wanted = st.feed.wanted.take();
                let index = wanted
                    .and_then(find)
                    .or_else(|| on_screen.and_then(find))
                    .unwrap_or(st.feed.index);
                if wanted.is_some_and(|id| find(id).is_none()) {
                    cmds.push(Cmd::Say(
                        "That live isn't on now — here are the rooms that are".into(),
                    ));
                }
                st.feed.go_to(index);
                cmds.push(Cmd::Do(Effect::Store(StoreCommand::SaveFeed(Box::new(
                    feed,
                )))));
                cmds.extend(st.players());
                if st.room.as_ref().map(|r| r.id) != st.feed.current().map(|r| r.id) {
                    cmds.extend(Self::enter_current_room(st, cx));
                }
            }
            Err(HttpFailure::Unreadable(e)) => {
                let text = format!("The feed could not be read ({e})");
                if st.feed.rooms.is_empty() {
                    st.feed.error = Some(text);
                } else {
                    // The cached feed stays on screen.
                    cmds.push(Cmd::Say(text));
                }
            }
            Err(failure) if !st.feed.rooms.is_empty() => {
                // The cached feed stays on screen.
                let retry = self.feed_retry(&failure);
                if self.feed_failures <= 1 {
                    match failure {
                        HttpFailure::Network(_) => cmds.push(Cmd::SayOffline(
                            "You're offline — showing the last feed".into(),
                        )),
                        HttpFailure::Status { status, .. } => cmds.push(Cmd::Say(format!(
                            "The feed could not be refreshed ({status})"
                        ))),
                        HttpFailure::Unreadable(_) => {}
                    }
                }
                cmds.extend(retry);
            }
            Err(failure) => {
                cmds.extend(self.feed_retry(&failure));
                st.feed.error = Some(match failure {
                    HttpFailure::Network(_) => "You're offline — retrying…".into(),
                    HttpFailure::Status { problem, status } => {
                        problem.map_or_else(|| format!("The server said {status}"), |p| p.title)
                    }
                    HttpFailure::Unreadable(e) => format!("The feed could not be read ({e})"),
                });
            }
        }
        cmds
    }

    /// No answer, or the server failing: ask again after a growing delay
    /// (the feed comes back by itself when the server does).
    fn feed_retry(&mut self, failure: &HttpFailure) -> Vec<Cmd> {
        if matches!(failure, HttpFailure::Status { status, .. } if *status < 500)
            || matches!(failure, HttpFailure::Unreadable(_))
        {
            return Vec::new();
        }
        self.feed_failures += 1;
        vec![Cmd::Timer {
            wake: Wake::Feed,
            after_ms: BACKOFF_MS[(self.feed_failures as usize - 1).min(BACKOFF_MS.len() - 1)],
        }]
    }
}
