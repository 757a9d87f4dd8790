//! View models: exactly what the screens render, already formatted. Screens
//! hold no logic beyond laying these out. One file per screen: `room`
//! (the feed's pages and the room's overlays), `checkout`, `wallet`,
//! `orders`; `format` holds the formatting they share.

mod checkout;
pub mod format;
mod model;
mod orders;
mod room;
mod wallet;

pub use checkout::{ProductDetail, SkuChoice};
pub use format::{compact, countdown, gift_animation, price};
use orders::orders_view;
pub use orders::{OrderDetailView, OrderRowView, OrderToastView, OrdersView, StepView};
use room::room_view;
pub use room::{
    BigGiftView, CardView, ChatLine, GiftBarView, GiftChip, LaneView, PageView, ProductRow,
    RoomView,
};
use wallet::wallet_view;
pub use wallet::{HistoryLine, WalletView};

use crate::app::cmd::Pending;
use crate::app::orders::TOAST_MS;
use crate::feed::PlayerStatus;
use livecart_protocol::rest::RoomStatus;
pub(crate) use model::Model;

#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::struct_excessive_bools)] // independent states the screens read
pub struct ViewModel {
    pub pages: Vec<PageView>,
    pub index: usize,
    pub loading: bool,
    pub error: Option<String>,
    pub room: Option<RoomView>,
    /// The signed-in user's display name.
    pub user: Option<String>,
    pub message: Option<String>,
    pub sign_in: Option<SignInView>,
    pub muted: bool,
    /// The grid of live rooms is on screen (the viewer closed the room).
    pub browsing: bool,
    /// The wallet screen, when open.
    pub wallet: Option<WalletView>,
    /// The orders screen, when open.
    pub orders: Option<OrdersView>,
    /// A step of one of the user's orders, over the live they watch.
    pub order_toast: Option<OrderToastView>,
    /// "Sign out?" is asking.
    pub confirm_sign_out: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct SignInView {
    /// Why the sheet opened: "Sign in to chat", "Sign in to follow mia".
    pub reason: String,
    pub busy: bool,
    pub error: Option<String>,
}

/// The view model at `now` (ms; countdowns are relative to it).
pub(crate) fn build(app: &Model, now: i64) -> ViewModel {
    let pages = app
        .feed
        .rooms
        .iter()
        .map(|r| {
            let slot = app.feed.players.get(&r.id);
            let status = slot.map(|s| &s.status);
            // Only the server says a live has ended (the feed, or the room's
            // own status); a player that lost its stream is reconnecting.
            let ended = r.status == RoomStatus::Ended
                || app.room.as_ref().is_some_and(|l| {
                    l.id == r.id
                        && l.state
                            .as_ref()
                            .is_some_and(|s| s.room.status == RoomStatus::Ended)
                });
            let (badge, spinner, error) = match status {
                _ if ended => ("This live has ended".to_owned(), false, None),
                None | Some(PlayerStatus::Connecting) => ("Connecting…".to_owned(), true, None),
                Some(PlayerStatus::Playing {
                    behind_ms: Some(ms),
                }) => (
                    format!("LIVE · {:.1} s behind", f64::from(*ms) / 1000.0),
                    false,
                    None,
                ),
                Some(PlayerStatus::Playing { behind_ms: None }) => ("LIVE".to_owned(), false, None),
                Some(PlayerStatus::Stalled | PlayerStatus::Reconnecting | PlayerStatus::Ended) => {
                    ("Reconnecting…".to_owned(), true, None)
                }
                Some(PlayerStatus::Failed(m)) => {
                    ("Can't play this live".to_owned(), false, Some(m.clone()))
                }
            };
            PageView {
                room_id: r.id.to_string(),
                title: r.title.clone(),
                host: r.host.name.clone(),
                host_avatar_url: r.host.avatar.thumb_url.clone(),
                cover_url: r.cover.url.clone(),
                viewers: format!("{} watching", compact(r.viewer_count)),
                viewer_count: compact(r.viewer_count),
                badge,
                spinner,
                error,
                video: slot.is_some_and(|s| s.first_frame),
                has_player: slot.is_some(),
                following: app.viewer.following.contains(&r.host.id),
                debug: app.debug.then(|| match slot.and_then(|s| s.drawn) {
                    Some(d) => format!("{:.0} fps · {} ms capture→draw", d.fps, d.latency_p95_ms),
                    None => "no frames drawn".to_owned(),
                }),
            }
        })
        .collect();
    let room = app.room.as_ref().map(|live| room_view(app, live, now));
    ViewModel {
        pages,
        index: app.feed.index,
        loading: app.feed.loading,
        error: app.feed.error.clone(),
        room,
        user: app.session.user().map(|u| u.name.clone()),
        message: app.message.clone(),
        sign_in: app.sign_in.as_ref().map(|sheet| SignInView {
            reason: match &sheet.pending {
                Some(Pending::Chat(_)) => "Sign in to chat".to_owned(),
                Some(Pending::Report(..)) => "Sign in to report a message".to_owned(),
                Some(Pending::Like) => "Sign in to like this live".to_owned(),
                Some(Pending::BuyNow) => "Sign in to buy".to_owned(),
                Some(Pending::Wallet) => "Sign in to see your wallet".to_owned(),
                Some(Pending::Gift(_)) => "Sign in to send a gift".to_owned(),
                Some(Pending::Orders) => "Sign in to see your orders".to_owned(),
                Some(Pending::Follow) => match app.feed.current() {
                    Some(r) => format!("Sign in to follow {}", r.host.name),
                    None => "Sign in to follow".to_owned(),
                },
                None => "Sign in to livecart".to_owned(),
            },
            busy: sheet.busy,
            error: sheet.error.clone(),
        }),
        muted: app.muted,
        browsing: app.feed.browsing,
        wallet: app.funds.open.then(|| wallet_view(app)),
        orders: app.orders.screen.then(|| orders_view(app, now)),
        order_toast: app
            .orders
            .toast
            .as_ref()
            .filter(|t| now - t.at_ms < TOAST_MS)
            .map(|t| OrderToastView {
                order: t.order,
                text: t.text.clone(),
            }),
        confirm_sign_out: app.confirm_sign_out,
    }
}
