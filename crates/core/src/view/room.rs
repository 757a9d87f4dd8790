//! The room on screen: its page in the feed, the overlays (chat, card,
//! gift lanes, hearts), the bag and the gift bar.

use super::checkout::{ProductDetail, checkout_view};
use super::format::{compact, countdown, gift_animation, price, stock_left, thousands};
use super::model::Model;
use crate::app::gifts::COMBO_WINDOW_MS;
use crate::price as pricing;
use crate::room::{Link, LiveRoom};
use crate::show::{BIG_GIFT_COINS, LANES};
use livecart_protocol::rest::{FlashSale, FlashSaleState, Product, RoomSnapshot};

#[derive(Debug, Clone, PartialEq)]
#[allow(clippy::struct_excessive_bools)] // flat flags are what the screen reads
pub struct PageView {
    /// The room's id: the video view asks the app for this room's pictures.
    pub room_id: String,
    pub title: String,
    pub host: String,
    pub host_avatar_url: String,
    pub cover_url: String,
    /// "1.2k watching".
    pub viewers: String,
    /// "1.2k", for the room's crowded top bar.
    pub viewer_count: String,
    /// "LIVE · 0.3 s behind", "Connecting…", "Reconnecting…", "This live has ended".
    pub badge: String,
    pub spinner: bool,
    pub error: Option<String>,
    /// Video is on screen (the cover can go).
    pub video: bool,
    /// A player exists (playing or preloaded): the page shows a video view.
    pub has_player: bool,
    pub following: bool,
    /// "30 fps · 31 ms capture→draw" when the debug overlay is on.
    pub debug: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RoomView {
    /// The room this is: the screen draws it over that room's page only, so
    /// a swipe never shows one room's chat or card over another's video.
    pub room_id: String,
    pub likes: String,
    pub viewers: String,
    /// "reconnecting…" while the live connection is down.
    pub banner: Option<String>,
    /// The product card, shown when the video reaches the pin.
    pub pinned: Option<CardView>,
    /// Newest last, at a readable pace (crates/core chat.rs); at most 50.
    pub chat: Vec<ChatLine>,
    /// The line whose Report chip shows (the chat holds still meanwhile).
    pub selected_line: Option<String>,
    /// "12 new messages" while the viewer reads older lines.
    pub new_messages: Option<String>,
    /// Products in the room's bag (the button's badge).
    pub bag_count: usize,
    /// The open bag sheet.
    pub bag: Option<Vec<ProductRow>>,
    /// The open checkout sheet (the product, its options and the payment).
    pub product: Option<ProductDetail>,
    /// The gift bar, when open.
    pub gift_bar: Option<GiftBarView>,
    /// Two side lanes (a lane may be empty).
    pub lanes: Vec<Option<LaneView>>,
    /// The big gift playing now.
    pub big_gift: Option<BigGiftView>,
    /// Floating hearts, by id (new ids start an animation).
    pub hearts: Vec<u64>,
    /// Those of them the viewer sent (drawn bigger, outlined: their own
    /// among the crowd's).
    pub my_hearts: Vec<u64>,
    pub reduced_motion: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLine {
    /// The message id: stable key, and what a report names.
    pub id: String,
    pub who: String,
    pub text: String,
    /// The viewer wrote it (shown marked).
    pub mine: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardView {
    pub product_id: String,
    pub name: String,
    pub image_url: String,
    /// The price to pay now (the sale price during a flash sale).
    pub price: String,
    /// Options cost different amounts: the price is the cheapest ("from").
    pub from: bool,
    /// Struck through during a sale.
    pub was: Option<String>,
    /// "Flash sale · 04:59", "Flash sale · sold out", "Flash sale ended".
    pub sale: Option<String>,
    /// "Only 7 left" (10 or fewer), "Sold out".
    pub stock: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductRow {
    pub id: String,
    pub name: String,
    pub image_url: String,
    pub price: String,
    /// Options cost different amounts: the price is the cheapest ("from").
    pub from: bool,
    /// Struck through while the product's flash sale is open.
    pub was: Option<String>,
    pub stock: String,
    /// The product the host is presenting now.
    pub presenting: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LaneView {
    /// Stable per combo, so the lane's element stays while its count bumps.
    pub key: String,
    pub sender: String,
    pub gift: String,
    pub animation: String,
    /// "x12" once a combo passes one.
    pub combo: Option<String>,
    pub bumps: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BigGiftView {
    pub key: String,
    pub sender: String,
    pub gift: String,
    pub animation: String,
    pub combo: Option<String>,
    /// Reduced motion: a compact banner instead of the full-screen animation.
    pub banner_only: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiftBarView {
    pub gifts: Vec<GiftChip>,
    /// The wallet in coins, "12,000 coins"; `None` while unknown.
    pub coins: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiftChip {
    pub id: String,
    pub name: String,
    pub coins: String,
    pub animation: String,
    /// "x3" while this gift's combo runs.
    pub combo: Option<String>,
}

/// The flash sale's line for a product: its countdown while open, then how
/// it ended (sold out, or out of time) for a moment. `kept` is a sale that
/// just ended, as the room's show keeps it.
pub(super) fn sale_label(
    p: &Product,
    sale: Option<&FlashSale>,
    kept: Option<&FlashSale>,
    server_now: i64,
) -> Option<String> {
    let f = sale.or(kept).filter(|f| f.product_id == p.id)?;
    let left = f.deadline.as_millisecond() - server_now;
    Some(match f.state {
        FlashSaleState::SoldOut => "Flash sale · sold out".to_owned(),
        FlashSaleState::Active if f.remaining_stock == 0 => "Flash sale · sold out".to_owned(),
        FlashSaleState::Ended => "Flash sale ended".to_owned(),
        FlashSaleState::Active if left <= 0 => "Flash sale ended".to_owned(),
        FlashSaleState::Active => format!("Flash sale · {}", countdown(left)),
    })
}

#[allow(clippy::too_many_lines)] // the room screen's view model, field by field
pub(super) fn room_view(app: &Model, live: &LiveRoom, now: i64) -> RoomView {
    let state = live.state.as_ref();
    let show = &live.show;
    let server_now = now + show.server_offset_ms;
    let sale = state.and_then(|s| s.flash_sale.as_ref());
    let ended = show.ended_sale.as_ref().map(|(f, _)| f);
    let product = |id| state.and_then(|s: &RoomSnapshot| s.products.iter().find(|p| p.id == id));
    let behind = app.behind_ms.unwrap_or(0);
    let headline = |p: &Product| pricing::headline(p, sale, server_now, behind);
    let pinned = show.pinned.and_then(product).map(|p| {
        let head = headline(p);
        let in_sale = sale.filter(|f| {
            f.product_id == p.id && pricing::open_sale(sale, f.sku_id, server_now, behind).is_some()
        });
        let stock = match in_sale {
            Some(f) => stock_left(f.remaining_stock),
            None => stock_left(p.skus.iter().map(|k| k.stock).sum()),
        };
        CardView {
            product_id: p.id.to_string(),
            name: p.name.clone(),
            image_url: p.image.thumb_url.clone(),
            price: head.map(|(l, _)| price(&l.unit)).unwrap_or_default(),
            from: head.is_some_and(|(_, from)| from),
            was: head.and_then(|(l, _)| l.was).map(|w| price(&w)),
            sale: sale_label(p, sale, ended, server_now),
            stock,
        }
    });
    let products = state.map_or(&[][..], |s| s.products.as_slice());
    let bag = app.shop.bag_open.then(|| {
        products
            .iter()
            .map(|p| {
                let head = headline(p);
                let total: u32 = p.skus.iter().map(|k| k.stock).sum();
                ProductRow {
                    id: p.id.to_string(),
                    name: p.name.clone(),
                    image_url: p.image.thumb_url.clone(),
                    price: head.map(|(l, _)| price(&l.unit)).unwrap_or_default(),
                    from: head.is_some_and(|(_, from)| from),
                    was: head.and_then(|(l, _)| l.was).map(|w| price(&w)),
                    stock: stock_left(total).unwrap_or_else(|| format!("{total} in stock")),
                    presenting: show.pinned == Some(p.id),
                }
            })
            .collect()
    });
    let detail = app
        .shop
        .product
        .and_then(product)
        .map(|p| checkout_view(app, p, sale_label(p, sale, ended, server_now), now));
    let combo = |n: u32| (n > 1).then(|| format!("x{n}"));
    RoomView {
        room_id: live.id.to_string(),
        likes: compact(show.likes_shown.max(state.map_or(0, |s| s.like_count))),
        viewers: compact(state.map_or(0, |s| s.viewer_count)),
        banner: matches!(live.link, Link::Reconnecting { .. }).then(|| "reconnecting…".to_owned()),
        pinned,
        chat: show
            .chat
            .shown
            .iter()
            .filter(|m| !app.viewer.reported.contains(&m.id))
            .map(|m| ChatLine {
                id: m.id.to_string(),
                who: m.user.name.clone(),
                text: m.text.clone(),
                mine: crate::chat::Chat::is_mine(m, show.me),
            })
            .collect(),
        selected_line: show.chat.selected.map(|id| id.to_string()),
        // No pill while a line is picked: it lies over the newest lines,
        // where the picked line's Report chip can be (a tap meant for the
        // chip went to the pill). The count shows again when it is let go.
        new_messages: match show.chat.unread {
            _ if show.chat.selected.is_some() => None,
            0 => None,
            1 => Some("1 new message".to_owned()),
            n => Some(format!("{n} new messages")),
        },
        bag_count: products.len(),
        bag,
        product: detail,
        lanes: (0..LANES)
            .map(|i| {
                show.lanes[i].as_ref().map(|l| LaneView {
                    key: l.gift.combo_id.to_string(),
                    sender: l.gift.sender.name.clone(),
                    gift: l.gift.gift_name.clone(),
                    animation: gift_animation(&l.gift.gift_name),
                    combo: combo(l.gift.combo_count),
                    bumps: l.bumps,
                })
            })
            .collect(),
        gift_bar: app.gifts.bar_open.then(|| gift_bar(app, now)),
        big_gift: show.big.as_ref().map(|b| BigGiftView {
            key: b.gift.combo_id.to_string(),
            sender: b.gift.sender.name.clone(),
            gift: b.gift.gift_name.clone(),
            animation: gift_animation(&b.gift.gift_name),
            combo: combo(b.gift.combo_count),
            banner_only: app.reduced_motion || b.gift.coins < BIG_GIFT_COINS,
        }),
        hearts: if app.reduced_motion {
            Vec::new()
        } else {
            show.hearts.iter().map(|(id, _, _)| *id).collect()
        },
        my_hearts: show
            .hearts
            .iter()
            .filter(|(_, _, mine)| *mine && !app.reduced_motion)
            .map(|(id, _, _)| *id)
            .collect(),
        reduced_motion: app.reduced_motion,
    }
}

pub(super) fn gift_bar(app: &Model, now: i64) -> GiftBarView {
    let combo = app
        .gifts
        .combo
        .as_ref()
        .filter(|c| now - c.last_tap_ms < COMBO_WINDOW_MS && c.taps > 1);
    GiftBarView {
        gifts: app
            .gifts
            .catalog
            .iter()
            .map(|g| GiftChip {
                id: g.id.to_string(),
                name: g.name.clone(),
                coins: thousands(i64::from(g.coins)),
                animation: gift_animation(&g.name),
                combo: combo
                    .filter(|c| c.gift == g.id)
                    .map(|c| format!("x{}", c.taps)),
            })
            .collect(),
        coins: app
            .funds
            .spendable()
            .map(|b| format!("{} coins", thousands(b.amount_minor))),
    }
}
