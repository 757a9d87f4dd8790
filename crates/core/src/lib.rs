//! livecart-core: the app's brain. `App::update(event, now)` folds an event
//! into the model and returns the effects to run; `App::view()` returns the
//! view model the screens render. No Dioxus, no I/O, no clock or random
//! source of its own (`clippy.toml` forbids them), so
//! every behaviour is tested in milliseconds.
//!
//! Layout:
//! - [`app`]: `Event` and the update function, which hands each part's
//!   events to its file: `app/account.rs` (saved session, sign-in and out),
//!   `app/rooms.rs` (swipes, the grid, players' reports), `app/live.rs`
//!   (chat, likes, follow, report), `app/shop.rs` (checkout, wallet, gifts),
//!   `app/orders.rs` (orders after the show: a sub-model that owns its
//!   state and answers with `app/cmd.rs`'s commands); `app/http.rs` the
//!   requests in flight and token refresh, `app/answer.rs` the typed answers.
//! - [`chat`]: the chat at a readable pace; held while the viewer reads back.
//! - [`effects`]: side effects as data (HTTP, sockets, players, keyring, timers).
//! - [`feed`]: the vertical feed, which player plays and which is preloaded.
//! - [`frames`]: render coalescing (at most one view a frame).
//! - [`ids`]: the ids the core makes, from the shell's seed and the event's
//!   time (no clock or random source of its own).
//! - [`price`]: what a line costs (option, quantity, sale, locked price):
//!   every price shown and every payment sent.
//! - [`room`]: the room on screen, folded from snapshot + numbered events.
//! - [`show`]: what plays over the video, in step with it: pin card, gifts,
//!   hearts, likes, the chat's unread pill, the sale's countdown.
//! - [`session`]: who the viewer is; tokens in memory only.
//! - [`view`]: view models, formatted for display.

pub mod app;
pub mod chat;
pub mod effects;
pub mod feed;
pub mod frames;
pub mod ids;
pub mod price;
pub mod room;
pub mod session;
pub mod show;
pub mod view;

pub use app::{
    AccountEvent, App, Event, FeedEvent, GiftsEvent, HttpFailure, LiveEvent, MeUpdate, OrdersEvent,
    PlayerUpdate, ShopEvent, SocketUpdate, WalletEvent,
};
pub use effects::Effect;
pub use livecart_protocol as protocol;
pub use view::ViewModel;
