//! The room on screen, as the viewer takes part: chat, likes, follow,
//! report (what plays over the video: `crate::show`).

use super::{App, Pending};
use crate::effects::Effect;
use jiff::Timestamp;
use livecart_protocol::MessageId;

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

impl App {
    /// The live's events.
    pub(super) fn on_live(&mut self, event: LiveEvent, now: Timestamp) -> Vec<Effect> {
        match event {
            LiveEvent::Follow => {
                if self.session.user().is_none() {
                    return self.need_account(Pending::Follow);
                }
                self.toggle_follow(now)
            }
            LiveEvent::Like => {
                // The server counts only signed-in viewers' likes.
                if self.session.user().is_none() {
                    return self.need_account(Pending::Like);
                }
                if let Some(live) = self.room.as_mut() {
                    live.show.like(now.as_millisecond());
                }
                Vec::new()
            }
            LiveEvent::ChatScrolled { at_bottom } => {
                if let Some(live) = self.room.as_mut() {
                    live.show.chat_scrolled(at_bottom);
                }
                Vec::new()
            }
            LiveEvent::SelectChatLine(line) => {
                if let Some(live) = self.room.as_mut() {
                    live.show.chat.select(line);
                }
                Vec::new()
            }
            LiveEvent::Report { message, reason } => {
                if self.session.user().is_none() {
                    return self.need_account(Pending::Report(message, reason));
                }
                self.report(message, &reason, now)
            }
            LiveEvent::SendChat(text) => {
                if self.session.user().is_none() {
                    return self.need_account(Pending::Chat(text));
                }
                self.send_chat(&text, now)
            }
        }
    }
}
