//! The vertical feed: which room is on screen, and which players exist. The
//! room on screen plays; the next one is preloaded (held) so a swipe shows
//! moving video at once; every other room's player is released.

use crate::effects::{Effect, PlayerCommand};
use livecart_protocol::RoomId;
use livecart_protocol::rest::{RoomSummary, StreamProtocol};
use std::collections::BTreeMap;

/// What a shell's player opens, best first. The desktop's GStreamer player
/// opens a host's URL directly (the server's order puts it first);
/// a browser plays the media origin's access units with WebCodecs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Plays {
    #[default]
    Desktop,
    Browser,
}

impl Plays {
    fn opens(self, p: StreamProtocol) -> bool {
        use StreamProtocol as P;
        match self {
            Self::Desktop => matches!(p, P::HttpFlv | P::Rtmp | P::Rtsp | P::Srt | P::Hls),
            Self::Browser => p == P::AccessUnits,
        }
    }

    /// The stream of `room` this shell plays: the first it can open, in the
    /// order the server lists them.
    pub fn pick(self, room: &RoomSummary) -> Option<&str> {
        room.streams
            .iter()
            .find(|s| self.opens(s.protocol))
            .map(|s| s.url.as_str())
    }
}

/// What the player of one room is doing, as the view shows it.
#[derive(Debug, Clone, PartialEq)]
pub enum PlayerStatus {
    Connecting,
    Playing { behind_ms: Option<u32> },
    Stalled,
    Reconnecting,
    Ended,
    Failed(String),
}

/// What the page drew in the last second (reported by the video view).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Drawn {
    pub fps: f32,
    /// Capture (SEI time) → on screen, 95th percentile over the last second.
    pub latency_p95_ms: u32,
    /// Capture → on screen, median over the last second: how far behind its
    /// capture the picture is (`None`: the stream carries no capture time).
    pub latency_p50_ms: Option<u32>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Slot {
    pub held: bool,
    pub status: PlayerStatus,
    pub first_frame: bool,
    pub drawn: Option<Drawn>,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Feed {
    pub rooms: Vec<RoomSummary>,
    pub index: usize,
    pub loading: bool,
    pub error: Option<String>,
    pub players: BTreeMap<RoomId, Slot>,
    /// The viewer closed the room and looks at the grid of live rooms: no players.
    pub browsing: bool,
    /// Which of a room's streams this shell's player opens.
    pub plays: Plays,
    /// The room a shared link asked for (`/r/{room}`): shown as soon as the
    /// feed that lists it arrives.
    pub wanted: Option<RoomId>,
}

impl Feed {
    pub fn current(&self) -> Option<&RoomSummary> {
        self.rooms.get(self.index)
    }

    /// Moves to `index` (clamped); returns whether the room changed.
    pub fn go_to(&mut self, index: usize) -> bool {
        let clamped = index.min(self.rooms.len().saturating_sub(1));
        let changed = clamped != self.index;
        self.index = clamped;
        changed
    }

    /// Whether the room on screen has been drawn (or will not be: it ended
    /// or failed), so a preload no longer competes with its first picture.
    pub(crate) fn current_settled(&self) -> bool {
        self.current()
            .and_then(|r| self.players.get(&r.id))
            .is_some_and(|s| {
                s.drawn.is_some()
                    || matches!(s.status, PlayerStatus::Ended | PlayerStatus::Failed(_))
            })
    }

    /// Opens, plays, holds and releases players so that exactly the current
    /// room plays and the next one is preloaded. A new preload waits until
    /// the current room's first pictures are on screen (both rooms starting
    /// at once shared the cores between two streams, two sockets and two
    /// decoders at the moment the viewer waits for the first); a preloaded
    /// player that exists is kept.
    pub fn reconcile_players(&mut self) -> Vec<Effect> {
        let mut effects = Vec::new();
        let next_ready = self.current_settled()
            || self
                .rooms
                .get(self.index + 1)
                .is_some_and(|r| self.players.contains_key(&r.id));
        let on_screen: &[usize] = if self.browsing {
            &[]
        } else if next_ready {
            &[self.index, self.index + 1]
        } else {
            &[self.index]
        };
        let want: Vec<(RoomId, bool, String)> = on_screen
            .iter()
            .filter_map(|&i| self.rooms.get(i).map(|r| (i, r)))
            .filter_map(|(i, r)| {
                self.plays
                    .pick(r)
                    .map(|url| (r.id, i != self.index, url.to_owned()))
            })
            .collect();
        let keep: Vec<RoomId> = want.iter().map(|(id, _, _)| *id).collect();
        let gone: Vec<RoomId> = self
            .players
            .keys()
            .filter(|id| !keep.contains(id))
            .copied()
            .collect();
        for room in gone {
            self.players.remove(&room);
            effects.push(Effect::Player(PlayerCommand::Release { room }));
        }
        for (room, held, url) in want {
            match self.players.get_mut(&room) {
                None => {
                    self.players.insert(
                        room,
                        Slot {
                            held,
                            status: PlayerStatus::Connecting,
                            first_frame: false,
                            drawn: None,
                        },
                    );
                    effects.push(Effect::Player(PlayerCommand::Open { room, url, held }));
                }
                Some(slot) if slot.held && !held => {
                    slot.held = false;
                    effects.push(Effect::Player(PlayerCommand::Play { room }));
                }
                Some(_) => {}
            }
        }
        effects
    }
}
