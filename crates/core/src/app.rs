//! The app's behaviour: `update(event, now) -> effects` and `view() -> ViewModel`.

use crate::effects::{Effect, HttpRequest, Method, RequestId, SocketCommand, VaultCommand};
use crate::feed::{Feed, PlayerStatus};
use crate::room::{Fold, Link, LiveRoom};
use crate::session::Session;
use crate::view::{self, ViewModel};
use jiff::Timestamp;
use livecart_protocol::rest::{FeedResponse, RefreshRequest, SessionResponse, SignInRequest};
use livecart_protocol::{ClientFrame, ErrorCode, Problem, RoomId, ServerFrame};
use std::collections::HashMap;

/// Something that happened: a tap, or an answer from an effect runner.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    Started,
    /// The keyring's saved session (silent sign-in), if any.
    VaultLoaded(Option<Box<SessionResponse>>),
    HttpDone {
        id: RequestId,
        result: Result<serde_json::Value, HttpFailure>,
    },
    SwipeTo(usize),
    SignIn {
        username: String,
        password: String,
    },
    SignOut,
    SendChat(String),
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
}

#[derive(Debug, Clone, PartialEq)]
pub enum PlayerUpdate {
    Status(PlayerStatus),
    FirstFrame,
    Ready,
}

#[derive(Debug, Clone, PartialEq)]
pub enum SocketUpdate {
    Frame(Box<ServerFrame>),
    Closed { code: Option<u16> },
}

/// What an HTTP request was for, to route its answer.
#[derive(Debug, Clone, PartialEq)]
enum Call {
    Feed,
    SignIn,
    Refresh,
    /// An authenticated call to retry once after a refresh.
    Authed {
        request: HttpRequest,
        retried: bool,
    },
}

#[derive(Debug, Default)]
pub struct App {
    pub feed: Feed,
    pub room: Option<LiveRoom>,
    pub session: Session,
    /// A message for the viewer (e.g. "your session ended").
    pub message: Option<String>,
    next_id: u64,
    calls: HashMap<RequestId, Call>,
    /// Authenticated requests waiting for a refresh to finish.
    waiting: Vec<HttpRequest>,
    refreshing: bool,
    /// Reconnect timers: timer id → room.
    timers: HashMap<u64, RoomId>,
}

/// Reconnect delays (ms): quick at first, then calmer.
const BACKOFF_MS: [u64; 6] = [250, 500, 1000, 2000, 4000, 8000];

impl App {
    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn request(
        &mut self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> HttpRequest {
        HttpRequest {
            id: self.id(),
            method,
            path: path.to_owned(),
            body,
            access_token: None,
        }
    }

    fn http(
        &mut self,
        call: Call,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        token: Option<String>,
    ) -> Effect {
        let request = HttpRequest {
            access_token: token,
            ..self.request(method, path, body)
        };
        self.calls.insert(request.id, call);
        Effect::Http(request)
    }

    /// Sends `request` as the signed-in user, remembering it for one retry.
    fn send_authed(&mut self, request: HttpRequest, token: String, retried: bool) -> Effect {
        let sent = HttpRequest {
            access_token: Some(token),
            ..request.clone()
        };
        self.calls
            .insert(request.id, Call::Authed { request, retried });
        Effect::Http(sent)
    }

    pub fn view(&self) -> ViewModel {
        view::build(self)
    }

    pub fn update(&mut self, event: Event, now: Timestamp) -> Vec<Effect> {
        match event {
            Event::Started => {
                self.feed.loading = true;
                let feed = self.http(Call::Feed, Method::Get, "/v1/feed", None, None);
                vec![Effect::Vault(VaultCommand::Load), feed]
            }
            Event::VaultLoaded(saved) => {
                if let Some(s) = saved {
                    self.session = Session::SignedIn(s);
                }
                Vec::new()
            }
            Event::HttpDone { id, result } => self.http_done(id, result, now),
            Event::SwipeTo(index) => {
                if !self.feed.go_to(index) {
                    return Vec::new();
                }
                let mut effects = self.feed.reconcile_players();
                effects.extend(self.enter_current_room(now));
                effects
            }
            Event::SignIn { username, password } => {
                let body = serde_json::to_value(SignInRequest { username, password }).ok();
                vec![self.http(Call::SignIn, Method::Post, "/v1/session", body, None)]
            }
            Event::SignOut => {
                self.session = Session::Anonymous;
                self.waiting.clear();
                vec![Effect::Vault(VaultCommand::Clear)]
            }
            Event::SendChat(text) => {
                if let (Some(room), Some(_)) = (&self.room, self.session.access_token(now)) {
                    vec![Effect::Socket(SocketCommand::Send {
                        room: room.id,
                        frame: ClientFrame::Chat {
                            text,
                            client_id: None,
                        },
                    })]
                } else {
                    self.message = Some("Sign in to chat".into());
                    Vec::new()
                }
            }
            Event::Player { room, update } => {
                if let Some(slot) = self.feed.players.get_mut(&room) {
                    match update {
                        PlayerUpdate::Status(s) => slot.status = s,
                        PlayerUpdate::FirstFrame => slot.first_frame = true,
                        PlayerUpdate::Ready => {}
                    }
                }
                Vec::new()
            }
            Event::Socket { room, update } => self.socket(room, update, now),
            Event::Timer(id) => match self.timers.remove(&id) {
                Some(room) if self.room.as_ref().is_some_and(|r| r.id == room) => self.connect(now),
                _ => Vec::new(),
            },
        }
    }

    fn enter_current_room(&mut self, now: Timestamp) -> Vec<Effect> {
        let mut effects = Vec::new();
        if let Some(old) = self.room.take() {
            effects.push(Effect::Socket(SocketCommand::Close { room: old.id }));
        }
        if let Some(current) = self.feed.current() {
            self.room = Some(LiveRoom::new(current.id));
            effects.extend(self.connect(now));
        }
        effects
    }

    fn connect(&mut self, now: Timestamp) -> Vec<Effect> {
        let token = self.session.access_token(now).map(str::to_owned);
        match &self.room {
            Some(room) => vec![Effect::Socket(SocketCommand::Connect {
                room: room.id,
                resume: room.resume_point(),
                access_token: token,
            })],
            None => Vec::new(),
        }
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
        self.timers.insert(id, room_id);
        let after_ms = BACKOFF_MS[(attempt as usize - 1).min(BACKOFF_MS.len() - 1)];
        vec![Effect::Timer { id, after_ms }]
    }

    fn socket(&mut self, room: RoomId, update: SocketUpdate, now: Timestamp) -> Vec<Effect> {
        if self.room.as_ref().is_none_or(|r| r.id != room) {
            return Vec::new(); // a late message from a room we left
        }
        match update {
            SocketUpdate::Closed { .. } => self.reconnect_later(),
            SocketUpdate::Frame(frame) => {
                let Some(live) = self.room.as_mut() else {
                    return Vec::new();
                };
                match live.fold(*frame) {
                    Fold::Gap => {
                        // Missed something: drop this connection, resume from what we have.
                        let mut effects = vec![Effect::Socket(SocketCommand::Close { room })];
                        effects.extend(self.connect(now));
                        effects
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
                            _ => message,
                        });
                        Vec::new()
                    }
                    Fold::Applied | Fold::Duplicate | Fold::Other(_) => Vec::new(),
                }
            }
        }
    }

    fn http_done(
        &mut self,
        id: RequestId,
        result: Result<serde_json::Value, HttpFailure>,
        now: Timestamp,
    ) -> Vec<Effect> {
        let Some(call) = self.calls.remove(&id) else {
            return Vec::new();
        };
        match (call, result) {
            (Call::Feed, Ok(body)) => {
                self.feed.loading = false;
                match serde_json::from_value::<FeedResponse>(body) {
                    Ok(feed) => {
                        self.feed.rooms = feed.rooms;
                        self.feed.error = None;
                        self.feed.go_to(self.feed.index);
                        let mut effects = self.feed.reconcile_players();
                        effects.extend(self.enter_current_room(now));
                        effects
                    }
                    Err(e) => {
                        self.feed.error = Some(format!("The feed could not be read ({e})"));
                        Vec::new()
                    }
                }
            }
            (Call::Feed, Err(failure)) => {
                self.feed.loading = false;
                self.feed.error = Some(match failure {
                    HttpFailure::Network(_) => "You're offline — pull to retry".into(),
                    HttpFailure::Status { problem, status } => {
                        problem.map_or_else(|| format!("The server said {status}"), |p| p.title)
                    }
                });
                Vec::new()
            }
            (Call::SignIn | Call::Refresh, Ok(body)) => match serde_json::from_value::<
                SessionResponse,
            >(body)
            {
                Ok(session) => self.signed_in(session),
                Err(_) => self.signed_out("Sign-in failed: the server's answer was not understood"),
            },
            (Call::SignIn, Err(failure)) => {
                self.message = Some(match failure {
                    HttpFailure::Status {
                        problem: Some(p), ..
                    } => p.detail,
                    HttpFailure::Status { status, .. } => format!("Sign-in failed ({status})"),
                    HttpFailure::Network(_) => "You're offline — try again when connected".into(),
                });
                Vec::new()
            }
            (Call::Refresh, Err(HttpFailure::Network(_))) => {
                // Keep the session; try again on the next authenticated call.
                self.refreshing = false;
                Vec::new()
            }
            (Call::Refresh, Err(_)) => self.signed_out("Your session ended — please sign in again"),
            (
                Call::Authed { request, retried },
                Err(HttpFailure::Status {
                    status: 401,
                    problem,
                }),
            ) if !retried
                && problem
                    .as_ref()
                    .is_none_or(|p| p.code == ErrorCode::TokenExpired) =>
            {
                // One refresh, then this request is sent again, once.
                self.waiting.push(request);
                self.start_refresh()
            }
            (Call::Authed { .. }, _) => Vec::new(),
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
        let request = self.request(method, path, body);
        if self.session.needs_refresh(now) {
            self.waiting.push(request);
            return self.start_refresh();
        }
        let Some(token) = self.session.access_token(now).map(str::to_owned) else {
            self.message = Some("Sign in to continue".into());
            return Vec::new();
        };
        vec![self.send_authed(request, token, false)]
    }

    fn start_refresh(&mut self) -> Vec<Effect> {
        if self.refreshing {
            return Vec::new();
        }
        let Some(token) = self.session.refresh_token().map(str::to_owned) else {
            return self.signed_out("Sign in to continue");
        };
        self.refreshing = true;
        let body = serde_json::to_value(RefreshRequest {
            refresh_token: token,
        })
        .ok();
        vec![self.http(
            Call::Refresh,
            Method::Post,
            "/v1/session/refresh",
            body,
            None,
        )]
    }

    fn signed_in(&mut self, session: SessionResponse) -> Vec<Effect> {
        self.refreshing = false;
        self.message = None;
        let token = session.access_token.clone();
        self.session = Session::SignedIn(Box::new(session.clone()));
        let mut effects = vec![Effect::Vault(VaultCommand::Store(Box::new(session)))];
        for request in std::mem::take(&mut self.waiting) {
            let effect = self.send_authed(request, token.clone(), true);
            effects.push(effect);
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
        effects
    }

    fn signed_out(&mut self, why: &str) -> Vec<Effect> {
        self.refreshing = false;
        self.session = Session::Anonymous;
        self.waiting.clear();
        self.message = Some(why.to_owned());
        vec![Effect::Vault(VaultCommand::Clear)]
    }
}
