//! The app's behaviour without a window or a network: send events, check the
//! effects it asks for and what the viewer would see.
//!
//! Size: tests, one story each, sharing their fixtures.

#![allow(clippy::disallowed_methods)] // fixtures: fresh ids and clock times, made here as a server would

use jiff::{SignedDuration, Timestamp};
use livecart_core::effects::{
    HttpRequest, Method, PlayerCommand, SocketCommand, StoreCommand, VaultCommand,
};
use livecart_core::feed::{Drawn, PlayerStatus};
use livecart_core::{AccountEvent, FeedEvent, LiveEvent};
use livecart_core::{App, Effect, Event, HttpFailure, PlayerUpdate, SocketUpdate};
use livecart_protocol::rest::{
    FeedResponse, HostInfo, ImageRef, Profile, Role, RoomSnapshot, RoomStatus, RoomSummary,
    SessionResponse, StreamProtocol, StreamUrl,
};
use livecart_protocol::{
    ClientFrame, Epoch, ErrorCode, ImageId, Problem, RoomEvent, RoomId, ServerFrame, UserId,
};

fn t0() -> Timestamp {
    "2026-11-22T10:00:00Z".parse().expect("time")
}

fn image() -> ImageRef {
    ImageRef {
        id: ImageId::new(),
        url: "http://x/i.jpg".into(),
        thumb_url: "http://x/t.jpg".into(),
    }
}

fn room(n: usize) -> RoomSummary {
    let id = RoomId::new();
    RoomSummary {
        id,
        title: format!("room {n}"),
        category: "snacks".into(),
        host: HostInfo {
            id: UserId::new(),
            name: format!("host {n}"),
            avatar: image(),
        },
        cover: image(),
        viewer_count: 18_600,
        streams: vec![StreamUrl {
            protocol: StreamProtocol::HttpFlv,
            url: format!("http://x/live/{id}.flv"),
        }],
        status: RoomStatus::Live,
    }
}

/// The effects of one kind, e.g. `pick(&effects, |e| match e { Effect::Http(r) => Some(r), _ => None })`.
fn pick<T: Clone>(effects: &[Effect], f: impl Fn(&Effect) -> Option<&T>) -> Vec<T> {
    effects.iter().filter_map(f).cloned().collect()
}

fn http(effects: &[Effect]) -> Vec<HttpRequest> {
    pick(effects, |e| {
        if let Effect::Http(r) = e {
            Some(r)
        } else {
            None
        }
    })
}

fn players(effects: &[Effect]) -> Vec<PlayerCommand> {
    pick(effects, |e| {
        if let Effect::Player(p) = e {
            Some(p)
        } else {
            None
        }
    })
}

fn sockets(effects: &[Effect]) -> Vec<SocketCommand> {
    pick(effects, |e| {
        if let Effect::Socket(s) = e {
            Some(s)
        } else {
            None
        }
    })
}

/// An app that has started and loaded a feed of `n` rooms, and drawn the first.
fn started(n: usize) -> (App, Vec<RoomSummary>, Vec<Effect>) {
    let (mut app, rooms, mut effects) = loaded(n);
    // The page draws the first room's pictures (then the next is preloaded).
    effects.extend(drawn(&mut app, rooms[0].id));
    (app, rooms, effects)
}

/// An app that has started and loaded a feed of `n` rooms.
fn loaded(n: usize) -> (App, Vec<RoomSummary>, Vec<Effect>) {
    let mut app = App::default();
    let effects = app.update(Event::Started, t0());
    assert!(
        effects.contains(&Effect::Vault(VaultCommand::Load)),
        "silent sign-in is attempted"
    );
    let feed_req = http(&effects)
        .into_iter()
        .find(|r| r.path == "/v1/feed")
        .expect("feed requested");
    assert!(app.view(t0()).loading);
    let rooms: Vec<RoomSummary> = (0..n).map(room).collect();
    let body = serde_json::to_value(FeedResponse {
        rooms: rooms.clone(),
    })
    .expect("json");
    let effects = app.update(
        Event::HttpDone {
            id: feed_req.id,
            result: Ok(body),
        },
        t0(),
    );
    (app, rooms, effects)
}

/// The page reports that it drew `room`'s pictures (its first report).
fn drawn(app: &mut App, room: RoomId) -> Vec<Effect> {
    app.update(
        Event::Player {
            room,
            update: PlayerUpdate::Drawn(Drawn {
                fps: 1.0,
                latency_p95_ms: 0,
                latency_p50_ms: None,
            }),
        },
        t0(),
    )
}

fn session(expires_in: i64) -> SessionResponse {
    SessionResponse {
        access_token: "access-1".into(),
        access_expires_at: t0() + SignedDuration::from_secs(expires_in),
        refresh_token: "refresh-1".into(),
        refresh_expires_at: t0() + SignedDuration::from_hours(24 * 30),
        user: Profile {
            id: UserId::new(),
            username: "ava".into(),
            name: "Ava".into(),
            role: Role::Viewer,
        },
    }
}

#[test]
fn the_feed_plays_the_first_room_and_preloads_the_second() {
    let (app, rooms, effects) = started(4);
    let p = players(&effects);
    assert_eq!(p.len(), 2, "{p:?}");
    assert!(p.contains(&PlayerCommand::Open {
        room: rooms[0].id,
        url: rooms[0].streams[0].url.clone(),
        held: false
    }));
    assert!(p.contains(&PlayerCommand::Open {
        room: rooms[1].id,
        url: rooms[1].streams[0].url.clone(),
        held: true
    }));
    let s = sockets(&effects);
    assert_eq!(
        s,
        vec![SocketCommand::Connect {
            room: rooms[0].id,
            resume: None,
            access_token: None
        }]
    );
    let view = app.view(t0());
    assert_eq!(view.pages.len(), 4);
    assert_eq!(view.pages[0].viewers, "18.6k watching");
    assert_eq!(view.pages[0].viewer_count, "18.6k");
    assert_eq!(view.pages[0].badge, "Connecting…");
    assert!(view.pages[0].spinner);
}

/// Both rooms starting at once shared the cores at the moment the viewer
/// waits for the first picture: the next room is preloaded once the first is
/// on screen.
#[test]
fn the_next_room_is_preloaded_once_the_first_is_drawn() {
    let (mut app, rooms, effects) = loaded(3);
    assert_eq!(
        players(&effects),
        vec![PlayerCommand::Open {
            room: rooms[0].id,
            url: rooms[0].streams[0].url.clone(),
            held: false
        }],
        "only the room on screen starts"
    );
    assert!(
        players(&app.update(
            Event::Player {
                room: rooms[0].id,
                update: PlayerUpdate::FirstFrame
            },
            t0()
        ))
        .is_empty(),
        "the player's first frame is not yet the page's"
    );
    assert_eq!(
        players(&drawn(&mut app, rooms[0].id)),
        vec![PlayerCommand::Open {
            room: rooms[1].id,
            url: rooms[1].streams[0].url.clone(),
            held: true
        }],
        "drawn: the next room is preloaded"
    );
    assert!(players(&drawn(&mut app, rooms[0].id)).is_empty(), "once");
    // A room that fails never draws: the next one is preloaded all the same.
    let (mut app, rooms, _) = loaded(3);
    let effects = app.update(
        Event::Player {
            room: rooms[0].id,
            update: PlayerUpdate::Status(PlayerStatus::Failed("no stream".into())),
        },
        t0(),
    );
    assert!(players(&effects).contains(&PlayerCommand::Open {
        room: rooms[1].id,
        url: rooms[1].streams[0].url.clone(),
        held: true
    }));
}

#[test]
fn swiping_plays_the_preloaded_room_preloads_the_next_and_releases_the_rest() {
    let (mut app, rooms, _) = started(4);
    // The preloaded room draws off screen, as the page does.
    drawn(&mut app, rooms[1].id);
    let effects = app.update(Event::Feed(FeedEvent::SwipeTo(1)), t0());
    let p = players(&effects);
    assert!(
        p.contains(&PlayerCommand::Release { room: rooms[0].id }),
        "off-screen players are released"
    );
    assert!(
        p.contains(&PlayerCommand::Play { room: rooms[1].id }),
        "the preloaded player is shown, not reopened"
    );
    assert!(p.contains(&PlayerCommand::Open {
        room: rooms[2].id,
        url: rooms[2].streams[0].url.clone(),
        held: true
    }));
    assert_eq!(p.len(), 3, "{p:?}");
    let s = sockets(&effects);
    assert_eq!(s[0], SocketCommand::Close { room: rooms[0].id });
    assert!(matches!(s[1], SocketCommand::Connect { room, .. } if room == rooms[1].id));
    // Past the end: nothing moves.
    app.update(Event::Feed(FeedEvent::SwipeTo(3)), t0());
    assert!(
        app.update(Event::Feed(FeedEvent::SwipeTo(9)), t0())
            .is_empty()
    );
    assert_eq!(app.view(t0()).index, 3);
    assert_eq!(
        app.feed.players.len(),
        1,
        "the last room has no next to preload"
    );
}

#[test]
fn player_states_become_what_the_viewer_sees() {
    let (mut app, rooms, _) = started(2);
    let r = rooms[0].id;
    let mut set = |s: PlayerStatus| {
        app.update(
            Event::Player {
                room: r,
                update: PlayerUpdate::Status(s),
            },
            t0(),
        );
        app.view(t0()).pages[0].clone()
    };
    let playing = set(PlayerStatus::Playing {
        behind_ms: Some(320),
    });
    assert_eq!(
        (playing.badge.as_str(), playing.spinner),
        ("LIVE · 0.3 s behind", false)
    );
    assert_eq!(set(PlayerStatus::Stalled).badge, "Reconnecting…");
    // A player that lost its stream does not say the live ended: only the
    // server does (#15: rooms said "ended" through a server restart).
    assert_eq!(set(PlayerStatus::Ended).badge, "Reconnecting…");
    let failed = set(PlayerStatus::Failed("the stream was not found".into()));
    assert_eq!(failed.error.as_deref(), Some("the stream was not found"));
    assert!(!app.view(t0()).pages[0].video);
    app.update(
        Event::Player {
            room: r,
            update: PlayerUpdate::FirstFrame,
        },
        t0(),
    );
    assert!(
        app.view(t0()).pages[0].video,
        "the cover gives way to video"
    );
}

#[test]
fn a_live_has_ended_only_when_the_server_says_so() {
    let (mut app, rooms, _) = started(2);
    let r = rooms[0].id;
    let snap = snapshot(r, 1, Epoch::new());
    app.update(
        Event::Socket {
            room: r,
            update: SocketUpdate::Frame(Box::new(ServerFrame::Snapshot {
                snapshot: Box::new(snap),
            })),
        },
        t0(),
    );
    app.update(
        Event::Player {
            room: r,
            update: PlayerUpdate::Status(PlayerStatus::Reconnecting),
        },
        t0(),
    );
    assert_eq!(app.view(t0()).pages[0].badge, "Reconnecting…");
    // The room's socket is closed by the server as the room ends.
    let effects = app.update(
        Event::Socket {
            room: r,
            update: SocketUpdate::Closed {
                code: Some(livecart_protocol::live::close::ROOM_ENDED),
            },
        },
        t0(),
    );
    assert!(
        effects.is_empty(),
        "no reconnecting to an ended room: {effects:?}"
    );
    let page = app.view(t0()).pages[0].clone();
    assert_eq!(
        (page.badge.as_str(), page.spinner),
        ("This live has ended", false)
    );
}

fn snapshot(room: RoomId, seq: u64, epoch: Epoch) -> RoomSnapshot {
    RoomSnapshot {
        room: self::room(0),
        pinned: None,
        products: Vec::new(),
        flash_sale: None,
        chat: Vec::new(),
        viewer_count: 10,
        like_count: 5,
        seq,
        epoch,
        server_time: t0(),
    }
    .with_room(room)
}

trait WithRoom {
    fn with_room(self, id: RoomId) -> Self;
}
impl WithRoom for RoomSnapshot {
    fn with_room(mut self, id: RoomId) -> Self {
        self.room.id = id;
        self
    }
}

fn frame(room: RoomId, f: ServerFrame) -> Event {
    Event::Socket {
        room,
        update: SocketUpdate::Frame(Box::new(f)),
    }
}

fn likes(seq: u64, epoch: Epoch, total: u64) -> ServerFrame {
    ServerFrame::Event {
        seq,
        epoch,
        at: t0(),
        event: RoomEvent::Likes { added: 1, total },
    }
}

#[test]
fn a_lost_connection_shows_reconnecting_and_resumes_from_the_last_event() {
    let (mut app, rooms, _) = started(2);
    let r = rooms[0].id;
    let epoch = Epoch::new();
    app.update(
        frame(
            r,
            ServerFrame::Snapshot {
                snapshot: Box::new(snapshot(r, 10, epoch)),
            },
        ),
        t0(),
    );
    app.update(frame(r, likes(11, epoch, 6)), t0());
    app.update(frame(r, likes(12, epoch, 7)), t0());
    assert_eq!(app.view(t0()).room.expect("room").likes, "7");

    let effects = app.update(
        Event::Socket {
            room: r,
            update: SocketUpdate::Closed { code: Some(4008) },
        },
        t0(),
    );
    assert_eq!(
        app.view(t0()).room.expect("room").banner.as_deref(),
        Some("reconnecting…")
    );
    let Some(Effect::Timer { id, after_ms }) = effects.first().cloned() else {
        panic!("a backoff timer: {effects:?}")
    };
    assert_eq!(after_ms, 250);
    let effects = app.update(Event::Timer(id), t0());
    assert_eq!(
        sockets(&effects),
        vec![SocketCommand::Connect {
            room: r,
            resume: Some((12, epoch)),
            access_token: None
        }]
    );
    // The resumed stream repeats an event we have: ignored; the next one applies.
    app.update(frame(r, likes(12, epoch, 999)), t0());
    app.update(frame(r, likes(13, epoch, 8)), t0());
    assert_eq!(
        app.view(t0()).room.expect("room").likes,
        "8",
        "no duplicate, no gap"
    );

    // A second failure backs off longer.
    let effects = app.update(
        Event::Socket {
            room: r,
            update: SocketUpdate::Closed { code: None },
        },
        t0(),
    );
    let _ = effects;
    let effects = app.update(
        Event::Socket {
            room: r,
            update: SocketUpdate::Closed { code: None },
        },
        t0(),
    );
    assert!(
        matches!(effects.first(), Some(Effect::Timer { after_ms: 1000, .. })),
        "{effects:?}"
    );
}

#[test]
fn a_gap_or_a_new_epoch_reconnects_from_what_we_have_and_a_snapshot_resets() {
    let (mut app, rooms, _) = started(1);
    let r = rooms[0].id;
    let epoch = Epoch::new();
    app.update(
        frame(
            r,
            ServerFrame::Snapshot {
                snapshot: Box::new(snapshot(r, 10, epoch)),
            },
        ),
        t0(),
    );
    // seq 12 without 11: a gap.
    let effects = app.update(frame(r, likes(12, epoch, 7)), t0());
    assert_eq!(
        sockets(&effects),
        vec![
            SocketCommand::Close { room: r },
            SocketCommand::Connect {
                room: r,
                resume: Some((10, epoch)),
                access_token: None
            }
        ]
    );
    assert_eq!(
        app.view(t0()).room.expect("room").likes,
        "5",
        "nothing applied out of order"
    );
    // Another epoch: same.
    let effects = app.update(frame(r, likes(11, Epoch::new(), 7)), t0());
    assert!(matches!(
        sockets(&effects).last(),
        Some(SocketCommand::Connect {
            resume: Some((10, _)),
            ..
        })
    ));
    // The server answers with a fresh snapshot: it replaces everything.
    let fresh = Epoch::new();
    app.update(
        frame(
            r,
            ServerFrame::Snapshot {
                snapshot: Box::new(snapshot(r, 500, fresh)),
            },
        ),
        t0(),
    );
    app.update(frame(r, likes(501, fresh, 42)), t0());
    assert_eq!(app.view(t0()).room.expect("room").likes, "42");
}

#[test]
fn an_expired_session_refreshes_once_and_retries_the_call() {
    let (mut app, _, _) = started(1);
    app.update(
        Event::Account(AccountEvent::VaultLoaded(Some(Box::new(session(600))))),
        t0(),
    );
    assert_eq!(
        app.view(t0()).user.as_deref(),
        Some("Ava"),
        "silent sign-in"
    );

    // A call while the token is good carries it.
    let effects = app.authed(Method::Get, "/v1/me", None, t0());
    let first = http(&effects).remove(0);
    assert_eq!(first.access_token.as_deref(), Some("access-1"));

    // The server says it expired (clock skew): one refresh…
    let refused = HttpFailure::Status {
        status: 401,
        problem: Some(Problem::new(
            401,
            ErrorCode::TokenExpired,
            "Session expired",
            "refresh it",
        )),
    };
    let effects = app.update(
        Event::HttpDone {
            id: first.id,
            result: Err(refused.clone()),
        },
        t0(),
    );
    let refresh = http(&effects).remove(0);
    assert_eq!(refresh.path, "/v1/session/refresh");
    assert_eq!(
        refresh
            .body
            .as_ref()
            .and_then(|b| b["refresh_token"].as_str()),
        Some("refresh-1")
    );

    // …then the same call again with the new token, and the new pair is kept.
    let mut renewed = session(900);
    renewed.access_token = "access-2".into();
    renewed.refresh_token = "refresh-2".into();
    let effects = app.update(
        Event::HttpDone {
            id: refresh.id,
            result: Ok(serde_json::to_value(&renewed).expect("json")),
        },
        t0(),
    );
    assert!(
        effects.contains(&Effect::Vault(VaultCommand::Store(Box::new(
            renewed.clone()
        )))),
        "stored in the keyring"
    );
    let retry = http(&effects).remove(0);
    assert_eq!(
        (retry.path.as_str(), retry.access_token.as_deref()),
        ("/v1/me", Some("access-2"))
    );

    // Refused again: not retried a second time (no loop).
    let effects = app.update(
        Event::HttpDone {
            id: retry.id,
            result: Err(refused),
        },
        t0(),
    );
    assert!(http(&effects).is_empty());

    // A token about to expire is refreshed *before* the call is sent.
    let later = t0() + SignedDuration::from_secs(890);
    let effects = app.authed(Method::Get, "/v1/me", None, later);
    let pre = http(&effects);
    assert_eq!(pre.len(), 1);
    assert_eq!(pre[0].path, "/v1/session/refresh");
}

#[test]
fn a_refused_refresh_signs_out_with_a_message_and_clears_the_keyring() {
    let (mut app, _, _) = started(1);
    let effects = app.update(
        Event::Account(AccountEvent::VaultLoaded(Some(Box::new(session(10))))),
        t0(),
    );
    let refresh = http(&effects).remove(0);
    assert_eq!(
        refresh.path, "/v1/session/refresh",
        "10 s left is too close: refresh before the room socket learns who we are"
    );
    assert!(
        app.authed(Method::Get, "/v1/me", None, t0()).is_empty(),
        "a call waits for the refresh"
    );
    let reused = HttpFailure::Status {
        status: 401,
        problem: Some(Problem::new(
            401,
            ErrorCode::TokenReused,
            "Session revoked",
            "sign in again",
        )),
    };
    let effects = app.update(
        Event::HttpDone {
            id: refresh.id,
            result: Err(reused),
        },
        t0(),
    );
    assert_eq!(
        effects,
        vec![
            Effect::Vault(VaultCommand::Clear),
            Effect::Store(StoreCommand::ForgetUser)
        ],
        "signed out: keyring entries and the user's cached data go"
    );
    let view = app.view(t0());
    assert_eq!(view.user, None);
    assert_eq!(
        view.message.as_deref(),
        Some("Your session ended — please sign in again")
    );
    // The waiting call was dropped, not sent without a token.
    assert!(app.authed(Method::Get, "/v1/me", None, t0()).is_empty());
}

#[test]
fn an_offline_start_says_so_and_the_feed_comes_by_itself_when_the_server_answers() {
    let mut app = App::default();
    let effects = app.update(Event::Started, t0());
    let mut feed = http(&effects).remove(0);
    for want_ms in [250, 500, 1000] {
        let effects = app.update(
            Event::HttpDone {
                id: feed.id,
                result: Err(HttpFailure::Network("connection refused".into())),
            },
            t0(),
        );
        let view = app.view(t0());
        assert!(!view.loading);
        assert_eq!(view.error.as_deref(), Some("You're offline — retrying…"));
        let (timer, after) = effects
            .iter()
            .find_map(|e| match e {
                Effect::Timer { id, after_ms } => Some((*id, *after_ms)),
                _ => None,
            })
            .expect("a retry is armed");
        assert_eq!(after, want_ms, "backing off");
        feed = http(&app.update(Event::Timer(timer), t0()))
            .into_iter()
            .find(|r| r.path == "/v1/feed")
            .expect("the feed is asked for again");
    }
    let rooms: Vec<RoomSummary> = (0..2).map(room).collect();
    app.update(
        Event::HttpDone {
            id: feed.id,
            result: Ok(serde_json::to_value(FeedResponse { rooms }).expect("json")),
        },
        t0(),
    );
    let view = app.view(t0());
    assert_eq!(
        (view.error, view.pages.len()),
        (None, 2),
        "the feed is there"
    );
}

#[test]
fn numbers_are_compact_for_a_phone_screen() {
    use livecart_core::view::compact;
    assert_eq!(compact(950), "950");
    assert_eq!(compact(1_000), "1k");
    assert_eq!(compact(1_240), "1.2k");
    assert_eq!(compact(2_300_000), "2.3M");
}

#[test]
fn chatting_signed_out_asks_to_sign_in_then_sends_the_message() {
    let (mut app, rooms, _) = started(2);
    assert!(
        app.update(
            Event::Live(LiveEvent::SendChat("is the M in stock?".into())),
            t0()
        )
        .is_empty()
    );
    let sheet = app.view(t0()).sign_in.expect("the sign-in sheet opens");
    assert_eq!(sheet.reason, "Sign in to chat");

    // A wrong password keeps the sheet open with the server's words.
    let effects = app.update(
        Event::Account(AccountEvent::SignIn {
            username: "ava".into(),
            password: "nope".into(),
        }),
        t0(),
    );
    let req = http(&effects).remove(0);
    assert_eq!(req.path, "/v1/session");
    assert!(app.view(t0()).sign_in.expect("sheet").busy);
    app.update(
        Event::HttpDone {
            id: req.id,
            result: Err(HttpFailure::Status {
                status: 401,
                problem: Some(Problem::new(
                    401,
                    ErrorCode::Unauthorized,
                    "Sign-in failed",
                    "wrong username or password",
                )),
            }),
        },
        t0(),
    );
    let sheet = app.view(t0()).sign_in.expect("still open");
    assert_eq!(sheet.error.as_deref(), Some("wrong username or password"));
    assert!(!sheet.busy);

    let effects = app.update(
        Event::Account(AccountEvent::SignIn {
            username: " ava ".into(),
            password: "livecart".into(),
        }),
        t0(),
    );
    let req = http(&effects).remove(0);
    assert_eq!(req.body.as_ref().expect("body")["username"], "ava");
    let s = session(900);
    let effects = app.update(
        Event::HttpDone {
            id: req.id,
            result: Ok(serde_json::to_value(&s).expect("json")),
        },
        t0(),
    );
    assert_eq!(app.view(t0()).sign_in, None, "the sheet closes");
    assert_eq!(app.view(t0()).user.as_deref(), Some(s.user.name.as_str()));
    assert!(effects.contains(&Effect::Vault(VaultCommand::Store(Box::new(s.clone())))));
    // The socket learns who we are first, then the message goes out.
    let sent: Vec<_> = sockets(&effects)
        .into_iter()
        .filter_map(|c| match c {
            SocketCommand::Send { room, frame } => Some((room, frame)),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[0].0, rooms[0].id);
    assert!(matches!(sent[0].1, ClientFrame::Auth { .. }));
    assert!(matches!(&sent[1].1, ClientFrame::Chat { text, .. } if text == "is the M in stock?"));
}

#[test]
fn following_needs_an_account_and_returns_to_the_room() {
    let (mut app, _, _) = started(2);
    app.update(Event::Live(LiveEvent::Follow), t0());
    assert_eq!(
        app.view(t0()).sign_in.expect("sheet").reason,
        "Sign in to follow host 0"
    );
    let effects = app.update(
        Event::Account(AccountEvent::SignIn {
            username: "ava".into(),
            password: "livecart".into(),
        }),
        t0(),
    );
    let req = http(&effects).remove(0);
    app.update(
        Event::HttpDone {
            id: req.id,
            result: Ok(serde_json::to_value(session(900)).expect("json")),
        },
        t0(),
    );
    let view = app.view(t0());
    assert!(
        view.pages[0].following,
        "the follow went through after sign-in"
    );
    assert!(!view.pages[1].following);
    app.update(Event::Account(AccountEvent::SignOut), t0());
    assert!(!app.view(t0()).pages[0].following);
    assert_eq!(app.view(t0()).message.as_deref(), Some("Signed out"));
}

#[test]
fn the_cached_feed_shows_at_once_and_the_fresh_one_replaces_it() {
    let mut app = App::default();
    let effects = app.update(Event::Started, t0());
    assert!(effects.contains(&Effect::Store(StoreCommand::LoadFeed)));
    let feed_req = http(&effects).remove(0);
    let cached: Vec<RoomSummary> = (0..3).map(room).collect();
    let effects = app.update(
        Event::Feed(FeedEvent::CacheLoaded(Some(Box::new(FeedResponse {
            rooms: cached.clone(),
        })))),
        t0(),
    );
    assert_eq!(
        app.view(t0()).pages.len(),
        3,
        "the last feed is on screen before the network answers"
    );
    assert_eq!(
        players(&effects).len(),
        1,
        "and its first room already plays"
    );
    assert_eq!(
        players(&drawn(&mut app, cached[0].id)).len(),
        1,
        "drawn: the next one is preloaded"
    );

    // The fresh feed no longer has cached room 0 (it ended): the first fresh room plays, and it
    // is the one that was preloaded.
    let fresh: Vec<RoomSummary> = vec![cached[1].clone(), room(7)];
    let effects = app.update(
        Event::HttpDone {
            id: feed_req.id,
            result: Ok(serde_json::to_value(FeedResponse {
                rooms: fresh.clone(),
            })
            .expect("json")),
        },
        t0(),
    );
    assert!(
        effects.contains(&Effect::Store(StoreCommand::SaveFeed(Box::new(
            FeedResponse {
                rooms: fresh.clone()
            }
        ))))
    );
    let cmds = players(&effects);
    assert!(cmds.contains(&PlayerCommand::Release { room: cached[0].id }));
    assert!(
        cmds.contains(&PlayerCommand::Play { room: cached[1].id }),
        "the preloaded room plays"
    );
    let view = app.view(t0());
    assert_eq!(view.pages.len(), 2);
    assert_eq!(view.pages[0].title, fresh[0].title);

    // A cache that arrives late never replaces the fresh feed.
    app.update(
        Event::Feed(FeedEvent::CacheLoaded(Some(Box::new(FeedResponse {
            rooms: cached,
        })))),
        t0(),
    );
    assert_eq!(app.view(t0()).pages.len(), 2);
}

#[test]
fn offline_with_a_cached_feed_keeps_it_and_says_so() {
    let mut app = App::default();
    let effects = app.update(Event::Started, t0());
    let feed_req = http(&effects).remove(0);
    app.update(
        Event::Feed(FeedEvent::CacheLoaded(Some(Box::new(FeedResponse {
            rooms: (0..2).map(room).collect(),
        })))),
        t0(),
    );
    app.update(
        Event::HttpDone {
            id: feed_req.id,
            result: Err(HttpFailure::Network("connection refused".into())),
        },
        t0(),
    );
    let view = app.view(t0());
    assert_eq!(view.pages.len(), 2);
    assert_eq!(view.error, None);
    assert_eq!(
        view.message.as_deref(),
        Some("You're offline — showing the last feed")
    );
}

#[test]
fn mute_follows_the_viewer_across_swipes_and_the_badge_shows_the_delay() {
    let (mut app, rooms, _) = started(3);
    let effects = app.update(Event::ToggleMute, t0());
    assert_eq!(
        players(&effects),
        vec![PlayerCommand::SetMuted {
            room: rooms[0].id,
            muted: true
        }]
    );
    assert!(app.view(t0()).muted);
    let effects = app.update(Event::Feed(FeedEvent::SwipeTo(1)), t0());
    assert!(players(&effects).contains(&PlayerCommand::SetMuted {
        room: rooms[1].id,
        muted: true
    }));
    app.update(
        Event::Player {
            room: rooms[1].id,
            update: PlayerUpdate::Status(PlayerStatus::Playing { behind_ms: None }),
        },
        t0(),
    );
    app.update(
        Event::Player {
            room: rooms[1].id,
            update: PlayerUpdate::Behind { ms: Some(340) },
        },
        t0(),
    );
    assert_eq!(app.view(t0()).pages[1].badge, "LIVE · 0.3 s behind");
    app.update(Event::ToggleDebug, t0());
    app.update(
        Event::Player {
            room: rooms[1].id,
            update: PlayerUpdate::Drawn(Drawn {
                fps: 30.0,
                latency_p95_ms: 31,
                latency_p50_ms: Some(24),
            }),
        },
        t0(),
    );
    assert_eq!(
        app.view(t0()).pages[1].debug.as_deref(),
        Some("30 fps · 31 ms capture→draw")
    );
}

#[test]
fn closing_the_room_releases_its_players_and_a_tile_opens_another() {
    let (mut app, rooms, _) = started(3);
    let effects = app.update(Event::Feed(FeedEvent::CloseRoom), t0());
    let released: Vec<_> = players(&effects);
    assert!(released.contains(&PlayerCommand::Release { room: rooms[0].id }));
    assert!(released.contains(&PlayerCommand::Release { room: rooms[1].id }));
    assert!(sockets(&effects).contains(&SocketCommand::Close { room: rooms[0].id }));
    let view = app.view(t0());
    assert!(view.browsing);
    assert!(view.room.is_none());
    assert_eq!(view.pages.len(), 3, "the grid shows every live room");
    assert!(
        app.update(Event::Feed(FeedEvent::SwipeTo(1)), t0())
            .is_empty(),
        "no swiping in the grid"
    );

    let effects = app.update(Event::Feed(FeedEvent::OpenRoom(2)), t0());
    assert_eq!(
        players(&effects),
        vec![PlayerCommand::Open {
            room: rooms[2].id,
            url: rooms[2].streams[0].url.clone(),
            held: false
        }],
        "the last room plays; there is no next one to preload"
    );
    assert!(
        matches!(sockets(&effects)[..], [SocketCommand::Connect { room, .. }] if room == rooms[2].id)
    );
    let view = app.view(t0());
    assert!(!view.browsing);
    assert_eq!(view.index, 2);
}

#[test]
fn a_saved_session_authenticates_the_open_socket_and_chat_refreshes_an_expiring_token() {
    let (mut app, rooms, _) = started(2);
    // The keyring answers after the room socket opened anonymously.
    let effects = app.update(
        Event::Account(AccountEvent::VaultLoaded(Some(Box::new(session(900))))),
        t0(),
    );
    assert!(matches!(
        &sockets(&effects)[..],
        [SocketCommand::Send { room, frame: ClientFrame::Auth { .. } }] if *room == rooms[0].id
    ));

    // 14 minutes later the token is about to expire: the message waits for one refresh.
    let later = t0() + SignedDuration::from_secs(880);
    let effects = app.update(
        Event::Live(LiveEvent::SendChat("still there?".into())),
        later,
    );
    let refresh = http(&effects).remove(0);
    assert_eq!(refresh.path, "/v1/session/refresh");
    assert!(
        sockets(&effects).is_empty(),
        "nothing sent with a dying token"
    );
    let mut renewed = session(1800);
    renewed.access_token = "lca1.renewed".into();
    let effects = app.update(
        Event::HttpDone {
            id: refresh.id,
            result: Ok(serde_json::to_value(&renewed).expect("json")),
        },
        later,
    );
    let sent: Vec<ClientFrame> = sockets(&effects)
        .into_iter()
        .filter_map(|c| match c {
            SocketCommand::Send { frame, .. } => Some(frame),
            _ => None,
        })
        .collect();
    assert!(matches!(&sent[..], [
        ClientFrame::Auth { access_token },
        ClientFrame::Chat { text, .. },
    ] if access_token == "lca1.renewed" && text == "still there?"));
}

#[test]
fn signing_out_reconnects_the_room_anonymously_and_a_muted_viewer_stays_muted_from_the_grid() {
    let (mut app, rooms, _) = started(3);
    app.update(
        Event::Account(AccountEvent::VaultLoaded(Some(Box::new(session(900))))),
        t0(),
    );
    app.update(Event::Account(AccountEvent::AskSignOut), t0());
    assert!(app.view(t0()).confirm_sign_out, "asks first");
    assert!(app.session.user().is_some());
    let effects = app.update(Event::Account(AccountEvent::SignOut), t0());
    // The server ends the session too, with the token it had.
    let end = http(&effects)
        .into_iter()
        .find(|r| r.path == "/v1/session")
        .expect("DELETE /v1/session");
    assert_eq!(end.method, Method::Delete);
    assert!(end.access_token.is_some());
    assert!(!app.view(t0()).confirm_sign_out);
    assert!(sockets(&effects).contains(&SocketCommand::Close { room: rooms[0].id }));
    assert!(sockets(&effects).contains(&SocketCommand::Connect {
        room: rooms[0].id,
        resume: None,
        access_token: None
    }));

    app.update(Event::ToggleMute, t0());
    app.update(Event::Feed(FeedEvent::CloseRoom), t0());
    let effects = app.update(Event::Feed(FeedEvent::OpenRoom(1)), t0());
    assert!(players(&effects).contains(&PlayerCommand::SetMuted {
        room: rooms[1].id,
        muted: true
    }));
}

#[test]
fn the_cache_still_helps_when_the_network_failed_first() {
    let mut app = App::default();
    let effects = app.update(Event::Started, t0());
    let feed_req = http(&effects).remove(0);
    app.update(
        Event::HttpDone {
            id: feed_req.id,
            result: Err(HttpFailure::Network("refused".into())),
        },
        t0(),
    );
    assert!(app.view(t0()).error.is_some());
    app.update(
        Event::Feed(FeedEvent::CacheLoaded(Some(Box::new(FeedResponse {
            rooms: (0..2).map(room).collect(),
        })))),
        t0(),
    );
    let view = app.view(t0());
    assert_eq!(view.error, None);
    assert_eq!(view.pages.len(), 2);
    assert_eq!(
        view.message.as_deref(),
        Some("You're offline — showing the last feed")
    );
}

/// `app` started, and answered `rooms` as its feed: the effects of that answer.
fn feed_answered(app: &mut App, rooms: Vec<RoomSummary>) -> Vec<Effect> {
    let effects = app.update(Event::Started, t0());
    let feed_req = http(&effects)
        .into_iter()
        .find(|r| r.path == "/v1/feed")
        .expect("feed requested");
    let body = serde_json::to_value(FeedResponse { rooms }).expect("json");
    app.update(
        Event::HttpDone {
            id: feed_req.id,
            result: Ok(body),
        },
        t0(),
    )
}

/// A host's RTMP URL, then the media origin's HTTP-FLV and access units:
/// the desktop's GStreamer player opens the host's URL directly, a browser
/// the origin's access units; a room with nothing a shell can open gets no
/// player there (and no error).
#[test]
fn each_shell_opens_the_first_stream_its_player_plays() {
    use livecart_core::feed::Plays;
    let stream = |protocol, url: &str| StreamUrl {
        protocol,
        url: url.into(),
    };
    let mut outside = room(0);
    outside.streams = vec![
        stream(StreamProtocol::Whep, "https://cdn/whep/r"),
        stream(StreamProtocol::Rtmp, "rtmp://host/live/key"),
        stream(StreamProtocol::HttpFlv, "http://origin/live/r.flv"),
        stream(StreamProtocol::AccessUnits, "ws://origin/live/r/au"),
    ];
    let mut whep_only = room(1);
    whep_only.streams = vec![stream(StreamProtocol::Whep, "https://cdn/whep/w")];
    for (plays, want) in [
        (Plays::Desktop, "rtmp://host/live/key"),
        (Plays::Browser, "ws://origin/live/r/au"),
    ] {
        let mut app = App::default();
        app.feed.plays = plays;
        let mut effects = feed_answered(&mut app, vec![outside.clone(), whep_only.clone()]);
        effects.extend(drawn(&mut app, outside.id));
        let opened: Vec<(RoomId, String)> = players(&effects)
            .into_iter()
            .filter_map(|p| match p {
                PlayerCommand::Open { room, url, .. } => Some((room, url)),
                _ => None,
            })
            .collect();
        assert_eq!(opened, [(outside.id, want.to_owned())], "{plays:?}");
        assert_eq!(app.view(t0()).error, None, "{plays:?}");
    }
}

/// A shared link (`/r/{room}`) opens its room once the feed lists it; a
/// link to a room that is not live now says so and shows the live ones.
#[test]
fn a_shared_links_room_opens_when_the_feed_lists_it() {
    let rooms: Vec<RoomSummary> = (0..4).map(room).collect();
    let gone = RoomId::new();
    for (wanted, index, said) in [(rooms[2].id, 2, false), (gone, 0, true)] {
        let mut app = App::default();
        app.feed.wanted = Some(wanted);
        let effects = feed_answered(&mut app, rooms.clone());
        let view = app.view(t0());
        assert_eq!(view.index, index, "{wanted}");
        let opened: Vec<RoomId> = players(&effects)
            .into_iter()
            .filter_map(|p| match p {
                PlayerCommand::Open { room, .. } => Some(room),
                _ => None,
            })
            .collect();
        assert_eq!(opened.first(), Some(&rooms[index].id), "its video starts");
        assert_eq!(
            view.message
                .as_deref()
                .is_some_and(|m| m.contains("isn't on now")),
            said,
            "{:?}",
            view.message
        );
        assert_eq!(app.feed.wanted, None, "asked once");
    }
}

#[test]
fn pulling_the_feed_down_asks_for_it_again_and_keeps_the_room_on_screen() {
    let (mut app, rooms, _) = started(3);
    app.update(Event::Feed(FeedEvent::SwipeTo(1)), t0());
    let effects = app.update(Event::Feed(FeedEvent::Refresh), t0());
    assert!(app.view(t0()).loading, "the feed says it is refreshing");
    let timer = effects
        .iter()
        .find_map(|e| match e {
            Effect::Timer { id, after_ms: 0 } => Some(*id),
            _ => None,
        })
        .expect("asked for at once");
    // A second pull while the first is on its way asks for nothing more.
    assert!(app.update(Event::Feed(FeedEvent::Refresh), t0()).is_empty());
    let feed = http(&app.update(Event::Timer(timer), t0()))
        .into_iter()
        .find(|r| r.path == "/v1/feed")
        .expect("the feed is asked for again");
    // The server's order changed: the viewer stays on the room they watch.
    let mut fresh = rooms.clone();
    fresh.reverse();
    app.update(
        Event::HttpDone {
            id: feed.id,
            result: Ok(serde_json::to_value(FeedResponse { rooms: fresh }).expect("json")),
        },
        t0(),
    );
    let view = app.view(t0());
    assert!(!view.loading);
    assert_eq!(view.pages[view.index].room_id, rooms[1].id.to_string());
}
