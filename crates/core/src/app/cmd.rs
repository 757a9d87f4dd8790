//! What a part of the app asks of the whole (a leaf: the parts name it, not
//! the app). A part (app/orders.rs: `Orders`) owns its state and
//! answers an event with [`Cmd`]s; the app carries them out: effects pass
//! through; a signed-in request goes through the request table (refresh and
//! retry once, app/http.rs); a timer gets its id; the rest touch another
//! part (the sign-in sheet, the wallet's balance, the offline message).
//! What a part may read of the rest comes in a [`Cx`].

use super::answer::Then;
use crate::effects::{Effect, Method};
use crate::ids::Ids;
use crate::session::Session;
use jiff::Timestamp;
use livecart_protocol::{GiftId, MessageId, Money, RoomId, TopUpId};

/// One thing a part asks the app to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Cmd {
    /// Passes through to the shell.
    Do(Effect),
    /// A signed-in request; with `key`, its `Idempotency-Key`.
    Authed {
        method: Method,
        path: String,
        body: Option<serde_json::Value>,
        key: Option<String>,
        then: Then,
    },
    /// `Event::Timer` for `wake` after `after_ms`.
    Timer { wake: Wake, after_ms: u64 },
    /// Forget the timers armed for `wake` (their events are ignored).
    CancelTimers(Wake),
    /// Refresh the access token (what waits for it goes after).
    Refresh,
    /// Open the sign-in sheet; `Pending` runs after the sign-in.
    NeedAccount(Pending),
    /// A message for the viewer.
    Say(String),
    /// "You're offline …": a message that goes by itself once a
    /// connection works again.
    SayOffline(String),
    /// A connection worked: an "offline" message still up goes.
    BackOnline,
    /// The room on screen changed: the sheets that belong to a room close.
    LeftRoom,
    /// The wallet's balance, as the server says it is now.
    SetBalance(Money),
}

impl Cmd {
    /// A signed-in request whose answer goes to `then`.
    pub fn authed(
        method: Method,
        path: impl Into<String>,
        body: Option<serde_json::Value>,
        then: Then,
    ) -> Self {
        Self::Authed {
            method,
            path: path.into(),
            body,
            key: None,
            then,
        }
    }

    /// A signed-in money request carrying its `Idempotency-Key`.
    pub fn keyed(
        method: Method,
        path: impl Into<String>,
        body: Option<serde_json::Value>,
        key: &str,
        then: Then,
    ) -> Self {
        let mut cmd = Self::authed(method, path, body, then);
        if let Self::Authed { key: k, .. } = &mut cmd {
            *k = Some(key.to_owned());
        }
        cmd
    }
}

/// What a part may read of the rest of the app while it handles an event.
pub struct Cx<'a> {
    pub now: Timestamp,
    pub session: &'a Session,
    /// Where idempotency keys come from (seeded by the shell).
    pub ids: &'a mut Ids,
    /// A live room is on screen (not the feed's grid).
    pub watching: bool,
    /// When the last token refresh finished (ms).
    pub refreshed_at: Option<i64>,
}

/// An action that needs an account, done once the viewer has signed in.
#[derive(Debug, Clone, PartialEq)]
pub enum Pending {
    Chat(String),
    Follow,
    Report(MessageId, String),
    Like,
    BuyNow,
    Wallet,
    Gift(GiftId),
    Orders,
}

/// What a timer was armed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Wake {
    Reconnect(RoomId),
    /// The room's show has something due (a pin, a lane ending, likes to send).
    Show,
    /// Look at a pending top-up again.
    TopUp(TopUpId),
    /// Send the payment with this key again.
    PayRetry(String),
    /// Ask for the feed again (it could not be loaded).
    Feed,
    /// Reconnect the user's own socket.
    Me,
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct SignInSheet {
    pub pending: Option<Pending>,
    pub busy: bool,
    pub error: Option<String>,
}
