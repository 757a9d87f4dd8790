//! The publisher and the player on loopback: real GStreamer pipelines, real
//! HTTP-FLV over TCP.
// A test crate's root resolves modules beside itself; ours live in media/.

#[path = "media/support.rs"]
pub mod support;

#[path = "media/player.rs"]
mod player;

#[path = "media/rtmp.rs"]
mod rtmp;
