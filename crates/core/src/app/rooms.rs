//! The feed of rooms as the viewer moves through it: swipes, the grid,
//! the feed cached by the last run, and what each room's player reports.

use super::{App, PlayerUpdate, Wake};
use crate::effects::{Effect, SocketCommand};
use crate::feed::PlayerStatus;
use crate::room::Link;
use jiff::Timestamp;
use livecart_protocol::RoomId;
use livecart_protocol::rest::FeedResponse;

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
}

impl App {
    /// The feed's events.
    pub(super) fn on_feed(&mut self, event: FeedEvent, now: Timestamp) -> Vec<Effect> {
        match event {
            FeedEvent::CacheLoaded(cached) => match cached {
                // Only while there is no fresh feed: the network always wins.
                Some(feed) if self.feed.rooms.is_empty() => {
                    if self.feed.error.take().is_some() {
                        self.say_offline("You're offline — showing the last feed");
                    }
                    self.feed.rooms = feed.rooms;
                    self.feed.go_to(self.feed.index);
                    let mut effects = self.players();
                    effects.extend(self.enter_current_room(now));
                    effects
                }
                _ => Vec::new(),
            },
            FeedEvent::CloseRoom => {
                self.feed.browsing = true;
                let mut effects = self.players();
                if let Some(old) = self.room.take() {
                    effects.push(Effect::Socket(SocketCommand::Close { room: old.id }));
                }
                effects
            }
            FeedEvent::OpenRoom(index) => {
                self.feed.browsing = false;
                self.feed.go_to(index);
                let mut effects = self.players();
                effects.extend(self.enter_current_room(now));
                effects
            }
            FeedEvent::SwipeTo(index) => {
                if self.feed.browsing || !self.feed.go_to(index) {
                    return Vec::new();
                }
                let mut effects = self.players();
                effects.extend(self.enter_current_room(now));
                effects
            }
        }
    }

    /// What a room's player reports: its state, its first picture, how far
    /// behind live it is, what the page drew.
    pub(super) fn player_update(
        &mut self,
        room: RoomId,
        update: PlayerUpdate,
        now: Timestamp,
    ) -> Vec<Effect> {
        let settled_before = self.feed.current_settled();
        // The room's pictures are back while its socket waits to
        // retry: its server is back too, so retry now.
        let retry_socket = update
            == PlayerUpdate::Status(PlayerStatus::Playing { behind_ms: None })
            && self
                .room
                .as_ref()
                .is_some_and(|r| r.id == room && matches!(r.link, Link::Reconnecting { .. }));
        if let Some(slot) = self.feed.players.get_mut(&room) {
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
        let mut effects = if !settled_before && self.feed.current_settled() {
            self.players()
        } else {
            Vec::new()
        };
        if retry_socket {
            self.timers
                .retain(|_, w| !matches!(w, Wake::Reconnect(r) if *r == room));
            effects.extend(self.connect(now));
        }
        effects
    }
}
