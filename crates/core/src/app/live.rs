//! The room on screen, as the viewer takes part: chat, likes, follow,
//! report (what plays over the video: `crate::show`).
//!
//! A part of the app that owns its state ([`Viewer`]: whom the viewer
//! follows, what they reported, chat typed while the token was being
//! refreshed). It answers with [`Cmd`]s (app/cmd.rs) and is handed the room
//! on screen; it never names the app.

use super::answer::{HttpFailure, Reply, Then, unreadable};
use super::cmd::{Cmd, Cx, Pending};
use crate::effects::{Effect, Method, SocketCommand};
use crate::room::LiveRoom;
use livecart_protocol::rest::ReportRequest;
use livecart_protocol::{ClientFrame, MessageId, UserId};
use std::collections::{HashMap, HashSet};

/// The room's events.
#[derive(Debug, Clone, PartialEq)]
pub enum LiveEvent {
    SendChat(String),
    /// Follow (or unfollow) the host of the room on screen.
    Follow,
    /// A double-tap on the video or a tap on the heart.
    Like,
    /// The chat list was scrolled: to its newest line or away from it.
    ChatScrolled {
        at_bottom: bool,
    },
    /// A chat line tapped (its Report chip shows; the chat holds still), or
    /// let go of (`None`).
    SelectChatLine(Option<MessageId>),
    /// Report a chat message to the moderators (it disappears for us), with
    /// the reason picked.
    Report {
        message: MessageId,
        reason: String,
    },
}

/// The viewer's part in the rooms, kept across rooms.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Viewer {
    /// Hosts the signed-in user follows (kept by the server).
    pub following: HashSet<UserId>,
    /// Messages this user reported: hidden for them at once.
    pub reported: HashSet<MessageId>,
    /// Follow taps sent but not answered: host → following.
    follows_in_flight: HashMap<UserId, bool>,
    /// Chat typed while the token was being refreshed.
    queued_chat: Vec<String>,
}

impl Viewer {
    /// The live's events; `room` is the room on screen, `host` its host.
    pub(super) fn on_event(
        &mut self,
        event: LiveEvent,
        room: Option<&mut LiveRoom>,
        host: Option<UserId>,
        cx: &Cx,
    ) -> Vec<Cmd> {
        let signed_in = cx.session.user().is_some();
        let now_ms = cx.now.as_millisecond();
        match event {
            LiveEvent::Follow if !signed_in => vec![Cmd::NeedAccount(Pending::Follow)],
            LiveEvent::Follow => self.toggle_follow(host),
            // The server counts only signed-in viewers' likes.
            LiveEvent::Like if !signed_in => vec![Cmd::NeedAccount(Pending::Like)],
            LiveEvent::Like => {
                if let Some(live) = room {
                    live.show.like(now_ms);
                }
                Vec::new()
            }
            LiveEvent::ChatScrolled { at_bottom } => {
                if let Some(live) = room {
                    live.show.chat_scrolled(at_bottom);
                }
                Vec::new()
            }
            LiveEvent::SelectChatLine(line) => {
                if let Some(live) = room {
                    live.show.chat.select(line);
                }
                Vec::new()
            }
            LiveEvent::Report { message, reason } if !signed_in => {
                vec![Cmd::NeedAccount(Pending::Report(message, reason))]
            }
            LiveEvent::Report { message, reason } => self.report(message, &reason, room),
            LiveEvent::SendChat(text) if !signed_in => {
                vec![Cmd::NeedAccount(Pending::Chat(text))]
            }
            LiveEvent::SendChat(text) => self.send_chat(&text, room, cx),
        }
    }

    /// Follows or unfollows `host`: shown at once, kept by the server,
    /// undone with a message if the server refuses.
    fn toggle_follow(&mut self, host: Option<UserId>) -> Vec<Cmd> {
        let Some(host) = host else {
            return Vec::new();
        };
        let following = !self.following.remove(&host);
        if following {
            self.following.insert(host);
        }
        self.follows_in_flight.insert(host, following);
        vec![Cmd::Authed {
            method: if following {
                Method::Put
            } else {
                Method::Delete
            },
            path: format!("/v1/me/following/{host}"),
            body: None,
            key: None,
            then: Then::Followed { host, following },
        }]
    }

    fn report(
        &mut self,
        message: MessageId,
        reason: &str,
        room: Option<&mut LiveRoom>,
    ) -> Vec<Cmd> {
        let Some(room) = room else {
            return Vec::new();
        };
        room.show.chat.select(None);
        self.reported.insert(message);
        vec![Cmd::Authed {
            method: Method::Post,
            path: format!("/v1/rooms/{}/reports", room.id),
            body: serde_json::to_value(ReportRequest {
                message_id: message,
                reason: reason.chars().take(200).collect(),
            })
            .ok(),
            key: None,
            then: Then::Reported,
        }]
    }

    fn send_chat(&mut self, text: &str, mut room: Option<&mut LiveRoom>, cx: &Cx) -> Vec<Cmd> {
        let text = text.trim().to_owned();
        if text.is_empty() {
            return Vec::new();
        }
        // Back to the newest lines, where this one will show.
        if let Some(live) = room.as_deref_mut() {
            live.show.chat.follow();
        }
        if cx.session.needs_refresh(cx.now) {
            // Sent once the refreshed token has reached the socket.
            self.queued_chat.push(text);
            return vec![Cmd::Refresh];
        }
        match (room, cx.session.access_token(cx.now)) {
            (Some(room), Some(_)) => vec![Cmd::Do(Effect::Socket(SocketCommand::Send {
                room: room.id,
                frame: ClientFrame::Chat {
                    text,
                    client_id: None,
                },
            }))],
            _ => Vec::new(),
        }
    }

    /// Signed in (or the token refreshed): the chat that waited for it,
    /// then what the viewer did before the sign-in sheet (the socket knows
    /// who we are by now).
    pub(super) fn signed_in(
        &mut self,
        pending: Option<Pending>,
        mut room: Option<&mut LiveRoom>,
        host: Option<UserId>,
        cx: &Cx,
    ) -> Vec<Cmd> {
        let mut cmds = Vec::new();
        for text in std::mem::take(&mut self.queued_chat) {
            cmds.extend(self.send_chat(&text, room.as_deref_mut(), cx));
        }
        let event = match pending {
            Some(Pending::Follow) => LiveEvent::Follow,
            Some(Pending::Chat(text)) => LiveEvent::SendChat(text),
            Some(Pending::Report(message, reason)) => LiveEvent::Report { message, reason },
            Some(Pending::Like) => LiveEvent::Like,
            _ => return cmds,
        };
        cmds.extend(self.on_event(event, room, host, cx));
        cmds
    }

    /// Signed out: whom they followed and what they typed go.
    pub(super) fn signed_out(&mut self) {
        self.queued_chat.clear();
        self.following.clear();
    }

    /// The server's answer to a follow, the follow list or a report.
    pub(super) fn answered(&mut self, reply: Reply) -> Vec<Cmd> {
        let said = match reply {
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
                return Vec::new();
            }
            Reply::Following(Err(HttpFailure::Unreadable(_))) => unreadable("Who you follow"),
            Reply::Followed {
                host,
                result: Ok(()),
                ..
            } => {
                self.follows_in_flight.remove(&host);
                return Vec::new();
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
                match failure {
                    HttpFailure::Network(_) => "You're offline — try again when connected".into(),
                    HttpFailure::Status { problem, status } => {
                        problem.map_or_else(|| format!("Could not follow ({status})"), |p| p.detail)
                    }
                    HttpFailure::Unreadable(_) => unreadable("The follow"),
                }
            }
            Reply::Reported(Ok(())) => "Reported — thanks, a moderator will look at it".into(),
            Reply::Reported(Err(_)) => "The report did not go through — try again".into(),
            // The Follow buttons keep what they showed; the next sign-in asks again.
            _ => return Vec::new(),
        };
        vec![Cmd::Say(said)]
    }
}
