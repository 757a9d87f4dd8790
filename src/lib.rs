//! livecart, the app: the Dioxus window plus the effect runners that carry
//! out what livecart-core asks for. See docs/ARCHITECTURE.md.
//!
//! - [`shell`]: the event loop around `livecart_core::App` and the effects.
//! - [`net`]: REST (reqwest) and room sockets (tokio-tungstenite).
//! - [`players`]: one livecart-media player per room the feed wants.
//! - [`video`]: pictures to the page over a loopback WebSocket.
//! - [`vault`]: the OS keyring (the only place tokens live).
//! - [`store`]: the local SQLite cache.
//! - [`images`]: the bounded disk cache of resized pictures (`/img/…`).
//! - [`embedded`]: the embedded server with the demo world.
//! - [`window`]: the Dioxus window and its root component (layout only);
//!   [`bridge`]: the one hook that connects it to the shell. The screens
//!   themselves are `livecart_ui` (crates/ui), shared with the web app.
//! - [`control`]: the test-only control endpoint for the E2E harness.
//! - [`keys`]: counting the key presses handed to the webview.

pub mod bridge;
pub mod control;
pub mod embedded;
pub mod images;
pub mod keys;
pub mod net;
pub mod players;
pub mod shell;
pub mod store;
pub mod vault;
pub mod video;
pub mod window;
