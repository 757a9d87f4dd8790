//! The low-latency player the app drives. One controller thread per player
//! owns the current pipeline: it starts it, watches its bus, reports state,
//! detects stalls, reconnects with backoff (backon) at the live edge, and sets
//! every pipeline to `Null` before it goes — so dropping a `Player` releases
//! its threads and sockets.
//!
//! Timing (see docs/media.md): each branch is offset so a frame is released
//! at *its capture time + the latency budget* on the wall clock, with the
//! capture time taken from the SEI in the stream (arrival time when there is
//! none). Audio shares the offset, so it stays in sync. When the
//! player finds itself later than needed (a GOP-cache join, a network hiccup)
//! it re-anchors: late decoded frames are dropped, late access units are
//! released at once marked `late` so the webview decodes but does not show them.

mod diagnose;
mod pipeline;

use crate::MediaError;
use bytes::Bytes;
use std::sync::Arc;
use std::sync::mpsc as std_mpsc;
use std::thread::JoinHandle;
use std::time::Duration;
use tokio::sync::mpsc;

/// What the player hands to the app's view.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputKind {
    /// Encoded H.264 access units (Annex B, SPS/PPS on keyframes), released on
    /// time: the webview decodes them with WebCodecs.
    Encoded,
    /// Decoded frames scaled to `width`×`height`.
    Decoded {
        width: u32,
        height: u32,
        format: FrameFormat,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameFormat {
    Rgba,
    Jpeg { quality: u8 },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AudioOutput {
    /// The system's default output.
    Device,
    /// Audio is decoded and clocked but not played (tests, benchmarks).
    Silent,
}

#[derive(Debug, Clone)]
pub struct PlayerConfig {
    pub output: OutputKind,
    pub audio: AudioOutput,
    /// Smallest jitter allowance added on top of the stream's own delay; the
    /// player widens it to the jitter it measures.
    pub jitter: Duration,
    /// No picture within this time of opening is an error.
    pub open_timeout: Duration,
    /// No picture for this long while playing counts as a stall.
    pub stall_timeout: Duration,
    /// Give up (`Ended`) after this long without a picture; `None` (the
    /// default) keeps trying until the player is stopped: whether a live has
    /// ended is for its server to say, not for a player that lost it.
    pub reconnect_for: Option<Duration>,
    /// The longest wait between two attempts to reach the stream.
    pub max_retry_delay: Duration,
    /// Start connected and decoding but withhold output and sound until
    /// [`Player::play`] (preloading the next room).
    pub start_held: bool,
    pub muted: bool,
}

impl Default for PlayerConfig {
    fn default() -> Self {
        Self {
            output: OutputKind::Encoded,
            audio: AudioOutput::Device,
            jitter: Duration::from_millis(15),
            open_timeout: Duration::from_secs(5),
            stall_timeout: Duration::from_secs(2),
            reconnect_for: None,
            max_retry_delay: Duration::from_secs(1),
            start_held: false,
            muted: false,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum PlayerState {
    Connecting,
    Buffering {
        percent: u8,
    },
    Playing,
    /// No picture for `stall_timeout`; a reconnect follows.
    Stalled,
    Reconnecting {
        attempt: u32,
    },
    /// The stream did not come back within `reconnect_for`.
    Ended,
    /// A clear, human reason. The player has stopped if nothing can be
    /// done (a format or URL it cannot handle); otherwise it keeps trying
    /// and reports `Playing` once the stream comes.
    Error {
        message: String,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct PlayerStats {
    pub fps: f32,
    pub dropped: u64,
    pub bitrate_kbps: u32,
    /// Capture → release, from the stream's SEI; `None` without SEI.
    pub latency_ms: Option<f32>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum PlayerEvent {
    State(PlayerState),
    /// The first picture was released, this long after `open` (or `play`).
    FirstFrame {
        after: Duration,
    },
    /// A preloaded (held) player has decoded its first picture and can show
    /// it the moment [`Player::play`] is called.
    Ready {
        after: Duration,
    },
    /// Once a second while playing.
    Stats(PlayerStats),
}

/// One picture's worth of output.
#[derive(Debug, Clone)]
pub enum VideoOutput {
    AccessUnit {
        data: Bytes,
        keyframe: bool,
        /// Already past its display time: decode, do not show.
        late: bool,
        /// Capture time (Unix ns) from the SEI.
        capture_ns: Option<u64>,
        /// WebCodecs codec string, e.g. `avc1.42c01f`.
        codec: String,
        width: u32,
        height: u32,
    },
    Frame {
        width: u32,
        height: u32,
        format: FrameFormat,
        data: Bytes,
        capture_ns: Option<u64>,
    },
}

pub(crate) enum Command {
    Play,
    SetMuted(bool),
    Stop,
}

/// A player. Dropping it stops the pipeline and joins its thread.
pub struct Player {
    commands: std_mpsc::Sender<Command>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Player {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Player")
    }
}

pub type VideoSink = Arc<dyn Fn(VideoOutput) + Send + Sync>;

impl Player {
    /// Opens `uri` (HTTP-FLV, RTMP, RTSP, SRT, HLS, file…). Events arrive on
    /// the returned channel; pictures go to `video`.
    pub fn open(
        uri: &str,
        config: PlayerConfig,
        video: VideoSink,
    ) -> Result<(Self, mpsc::UnboundedReceiver<PlayerEvent>), MediaError> {
        crate::init()?;
        let (events_tx, events_rx) = mpsc::unbounded_channel();
        let (cmd_tx, cmd_rx) = std_mpsc::channel();
        let uri = uri.to_owned();
        let thread = std::thread::Builder::new()
            .name("livecart-player".into())
            .spawn(move || pipeline::Controller::new(uri, config, video, events_tx, cmd_rx).run())
            .map_err(|e| MediaError::Pipeline(format!("cannot start the player thread: {e}")))?;
        Ok((
            Self {
                commands: cmd_tx,
                thread: Some(thread),
            },
            events_rx,
        ))
    }

    /// Shows a preloaded player's picture (at once) and unmutes it.
    pub fn play(&self) {
        let _ = self.commands.send(Command::Play);
    }

    pub fn set_muted(&self, muted: bool) {
        let _ = self.commands.send(Command::SetMuted(muted));
    }

    /// Stops and releases everything (also done on drop).
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let _ = self.commands.send(Command::Stop);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for Player {
    fn drop(&mut self) {
        self.shutdown();
    }
}
