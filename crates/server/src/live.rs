//! A live room, from the host's operations to every viewer's socket: the
//! room's state and numbered event log, the registry and its ticker, the
//! fan-out bus, the room WebSocket and the user's own socket, chat rules and
//! the video streams (the server's own, and as media origin a relay of a
//! host's).

pub mod bus;
pub mod chat;
pub mod host;
pub mod lifecycle;
pub mod me_hub;
pub mod me_live;
pub mod origin;
pub mod room;
pub mod rooms;
pub mod streams;
pub mod ws;

/// Whether this build serves hosts' outside streams as their media origin
/// (it pulls them with GStreamer: the `gst` feature).
pub const ORIGIN: bool = cfg!(feature = "gst");
