//! The player effect runner: one livecart-media `Player` per room the feed
//! wants (the one on screen and the preloaded next one); pictures go to the
//! video hub, player events become core events.

use crate::video::VideoHub;
use livecart_core::feed::PlayerStatus;
use livecart_core::protocol::RoomId;
use livecart_core::{Event, PlayerUpdate};
use livecart_media::player::{AudioOutput, FrameFormat, OutputKind, PlayerConfig};
use livecart_media::{Player, PlayerEvent, PlayerState};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;

/// How pictures reach the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VideoPath {
    /// H.264 access units, decoded by the page's WebCodecs `VideoDecoder`.
    WebCodecs,
    /// JPEG frames scaled to the view, for webviews without WebCodecs.
    Jpeg,
}

struct Open {
    player: Player,
    /// Forwards this player's events; aborted on release so a late event of
    /// an old player never lands on a new one for the same room.
    forwarder: tokio::task::JoinHandle<()>,
    url: String,
    held: bool,
    /// The viewer muted this room.
    muted: bool,
}

pub struct Players {
    open: HashMap<RoomId, Open>,
    hub: VideoHub,
    events: mpsc::UnboundedSender<Event>,
    pub path: VideoPath,
    audio: AudioOutput,
}

impl Players {
    pub fn new(hub: VideoHub, events: mpsc::UnboundedSender<Event>, path: VideoPath) -> Self {
        let audio = if std::env::var("LIVECART_AUDIO").is_ok_and(|v| v == "off") {
            AudioOutput::Silent
        } else {
            AudioOutput::Device
        };
        Self {
            open: HashMap::new(),
            hub,
            events,
            path,
            audio,
        }
    }

    pub fn open(&mut self, room: RoomId, url: &str, held: bool) {
        self.release(room);
        let config = PlayerConfig {
            output: match self.path {
                VideoPath::WebCodecs => OutputKind::Encoded,
                VideoPath::Jpeg => OutputKind::Decoded {
                    width: 540,
                    height: 960,
                    format: FrameFormat::Jpeg { quality: 80 },
                },
            },
            audio: self.audio,
            // A preloaded room plays muted into its off-screen view: the page
            // has decoded it already when the viewer swipes (docs/video-path.md).
            start_held: false,
            muted: held,
            ..PlayerConfig::default()
        };
        let video = self.hub.room(room);
        let sink = Arc::new(move |out| video.push(&out));
        match Player::open(url, config, sink) {
            Ok((player, mut rx)) => {
                let events = self.events.clone();
                let forwarder = tokio::spawn(async move {
                    while let Some(e) = rx.recv().await {
                        let update = translate(e);
                        if events.send(Event::Player { room, update }).is_err() {
                            return;
                        }
                    }
                });
                self.open.insert(
                    room,
                    Open {
                        player,
                        forwarder,
                        url: url.to_owned(),
                        held,
                        muted: false,
                    },
                );
            }
            Err(e) => {
                let _ = self.events.send(Event::Player {
                    room,
                    update: PlayerUpdate::Status(PlayerStatus::Failed(e.to_string())),
                });
            }
        }
    }

    /// The preloaded room comes on screen: its sound comes on (unless muted).
    pub fn play(&mut self, room: RoomId) {
        if let Some(p) = self.open.get_mut(&room) {
            p.held = false;
            p.player.set_muted(p.muted);
        }
    }

    pub fn set_muted(&mut self, room: RoomId, muted: bool) {
        if let Some(p) = self.open.get_mut(&room) {
            p.muted = muted;
            if !p.held {
                p.player.set_muted(muted);
            }
        }
    }

    /// Stops a room's player; the pipeline is torn down off the async threads.
    pub fn release(&mut self, room: RoomId) {
        if let Some(p) = self.open.remove(&room) {
            p.forwarder.abort();
            self.hub.remove(room);
            tokio::task::spawn_blocking(move || p.player.stop());
        }
    }

    /// The page has no WebCodecs: reopen every player with JPEG output.
    pub fn switch_path(&mut self, path: VideoPath) {
        if path == self.path {
            return;
        }
        tracing::info!(?path, "video path changed by the page's capabilities");
        self.path = path;
        let open: Vec<(RoomId, String, bool, bool)> = self
            .open
            .iter()
            .map(|(r, p)| (*r, p.url.clone(), p.held, p.muted))
            .collect();
        for (room, url, held, muted) in open {
            self.open(room, &url, held);
            if let Some(p) = self.open.get_mut(&room) {
                p.muted = muted;
                if !held {
                    p.player.set_muted(muted);
                }
            }
        }
    }

    pub fn release_all(&mut self) {
        let rooms: Vec<RoomId> = self.open.keys().copied().collect();
        for r in rooms {
            self.release(r);
        }
    }
}

fn translate(e: PlayerEvent) -> PlayerUpdate {
    match e {
        PlayerEvent::State(s) => PlayerUpdate::Status(match s {
            PlayerState::Connecting | PlayerState::Buffering { .. } => PlayerStatus::Connecting,
            PlayerState::Playing => PlayerStatus::Playing { behind_ms: None },
            PlayerState::Stalled => PlayerStatus::Stalled,
            PlayerState::Reconnecting { .. } => PlayerStatus::Reconnecting,
            PlayerState::Ended => PlayerStatus::Ended,
            PlayerState::Error { message } => PlayerStatus::Failed(message),
        }),
        PlayerEvent::FirstFrame { after } => {
            tracing::info!(ms = after.as_millis() as u64, "first frame");
            PlayerUpdate::FirstFrame
        }
        PlayerEvent::Ready { .. } => PlayerUpdate::Ready,
        PlayerEvent::Stats(s) => PlayerUpdate::Behind {
            ms: s.latency_ms.map(|l| l.round() as u32),
        },
    }
}
