//! livecart-media: every GStreamer pipeline of livecart.
//!
//! Layout:
//! - [`publisher`]: the demo publisher — a synthetic portrait live stream per
//!   room (H.264 + AAC in FLV) whose frames carry their capture time as SEI.
//! - [`flv`]: HTTP-FLV fan-out with a GOP cache (the server serves it).
//! - [`au`]: the same stream as access units over WebSocket (browsers).
//! - [`player`]: the low-latency player the app drives.
//! - [`relay`]: the media origin's pull of a room's outside stream into FLV.
//! - [`sei`]: building and reading capture-time SEI messages.
//! - [`runtime`]: starting GStreamer, the error type, the capture clock.
//!
//! Invariant: every pipeline is set to `State::Null` when its owner drops, so
//! no thread or socket outlives the object that started it.

pub mod au;
pub mod flv;
pub mod fmp4;
#[cfg(feature = "test-support")]
pub mod outside;
#[cfg(feature = "gst")]
pub mod player;
#[cfg(feature = "gst")]
pub mod publisher;
#[cfg(feature = "gst")]
pub mod relay;
pub mod runtime;
pub mod sei;

pub use flv::FlvHub;
#[cfg(feature = "gst")]
pub use player::{Player, PlayerConfig, PlayerEvent, PlayerState, VideoOutput};
#[cfg(feature = "gst")]
pub use publisher::{EncodedLoop, Publisher, PublisherConfig};
#[cfg(feature = "gst")]
pub use relay::{Relay, RelayConfig, RelayOutput, RelayState};
#[cfg(feature = "gst")]
pub use runtime::init;
#[cfg(feature = "gst")]
pub(crate) use runtime::unix_ns_now;
pub use runtime::{MediaError, debian_package};
