//! What the screens are drawn from: the app's parts, borrowed. A leaf the
//! screens' files name (not the view's root, which names them).

use crate::app::cmd::SignInSheet;
use crate::app::gifts::Gifts;
use crate::app::live::Viewer;
use crate::app::orders::Orders;
use crate::app::shop::{Seen, Shop};
use crate::app::wallet::Funds;
use crate::feed::Feed;
use crate::room::LiveRoom;
use crate::session::Session;

/// What the screens are drawn from: the app's parts, borrowed. The view
/// reads the app; the app does not know how it is drawn (`App::view` makes
/// one of these and calls `view::build`).
#[allow(clippy::struct_excessive_bools)] // the app's switches, as they are
pub(crate) struct Model<'a> {
    pub feed: &'a Feed,
    pub room: &'a Option<LiveRoom>,
    pub session: &'a Session,
    pub message: &'a Option<String>,
    pub sign_in: &'a Option<SignInSheet>,
    pub muted: bool,
    pub debug: bool,
    pub reduced_motion: bool,
    pub confirm_sign_out: bool,
    pub viewer: &'a Viewer,
    pub shop: &'a Shop,
    pub funds: &'a Funds,
    pub gifts: &'a Gifts,
    pub orders: &'a Orders,
    /// How far the picture on screen is behind its capture.
    pub behind_ms: Option<i64>,
    /// What the shop's lines read of the room on screen.
    pub seen: Seen<'a>,
}
