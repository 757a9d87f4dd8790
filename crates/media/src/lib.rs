//! livecart-media: every GStreamer pipeline of livecart.
//!
//! Layout:
//! - [`publisher`]: the demo publisher — a synthetic portrait live stream per
//!   room (H.264 + AAC in FLV) whose frames carry their capture time as SEI.
//! - [`flv`]: HTTP-FLV fan-out with a GOP cache (the server serves it).
//! - [`player`]: the low-latency player the app drives.
//! - [`sei`]: building and reading capture-time SEI messages.
//!
//! Invariant: every pipeline is set to `State::Null` when its owner drops, so
//! no thread or socket outlives the object that started it.

pub mod flv;
#[cfg(feature = "gst")]
pub mod player;
#[cfg(feature = "gst")]
pub mod publisher;
pub mod sei;

pub use flv::FlvHub;
#[cfg(feature = "gst")]
pub use player::{Player, PlayerConfig, PlayerEvent, PlayerState, VideoOutput};
#[cfg(feature = "gst")]
pub use publisher::{Publisher, PublisherConfig};

/// Errors from building or running a pipeline, in words a user can act on.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MediaError {
    #[error("GStreamer could not start: {0}")]
    Init(String),
    #[error("a GStreamer element is missing ({0}); install the GStreamer plugin packages")]
    MissingElement(String),
    #[error("pipeline error: {0}")]
    Pipeline(String),
}

/// Initialises GStreamer once per process; cheap to call again.
#[cfg(feature = "gst")]
pub fn init() -> Result<(), MediaError> {
    gstreamer::init().map_err(|e| MediaError::Init(e.to_string()))
}

#[cfg(feature = "gst")]
pub(crate) fn unix_ns_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}
