//! livecart-core: the app's brain. `App::update(event, now)` folds an event
//! into the model and returns the effects to run; `App::view()` returns the
//! view model the screens render. No Dioxus, no I/O, no clock or random
//! source of its own (`clippy.toml` forbids them), so
//! every behaviour is tested in milliseconds.
//!
//! Layout:
//! - [`app`]: `Event` and the dispatcher, with who the viewer is (session,
//!   sign-in and out, token refresh); each part owns its state in its file
//!   and answers with commands (`app/cmd.rs`): `app/rooms.rs` (the feed, the
//!   room socket, the show's timer), `app/live.rs` (chat, likes, follow,
//!   report), `app/shop.rs` (the bag, checkout, payments), `app/wallet.rs`
//!   (the balance, the wallet screen, top-ups), `app/gifts.rs` (the gift bar),
//!   `app/orders.rs` (orders after the show, the user's socket),
//!   `app/http.rs` (requests in flight, retry once after a refresh),
//!   `app/answer.rs` (typed answers).
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
