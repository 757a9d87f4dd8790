//! View models: exactly what the screens render, already formatted. Screens
//! hold no logic beyond laying these out.

use crate::app::{App, Pending};
use crate::feed::PlayerStatus;
use crate::room::{Link, LiveRoom};
use crate::show::{BIG_GIFT_COINS, LANES};
use livecart_protocol::Money;
use livecart_protocol::rest::{FlashSale, FlashSaleState, Product, RoomSnapshot};

#[derive(Debug, Clone, PartialEq)]
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
}

#[derive(Debug, Clone, PartialEq)]
pub struct SignInView {
    /// Why the sheet opened: "Sign in to chat", "Sign in to follow mia".
    pub reason: String,
    pub busy: bool,
    pub error: Option<String>,
}

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
    pub likes: String,
    pub viewers: String,
    /// "reconnecting…" while the live connection is down.
    pub banner: Option<String>,
    /// The product card, shown when the video reaches the pin.
    pub pinned: Option<CardView>,
    /// Newest last; at most the snapshot's 50 lines.
    pub chat: Vec<ChatLine>,
    /// "12 new messages" while the viewer reads older lines.
    pub new_messages: Option<String>,
    /// Products in the room's bag (the button's badge).
    pub bag_count: usize,
    /// The open bag sheet.
    pub bag: Option<Vec<ProductRow>>,
    /// The open product detail.
    pub product: Option<ProductDetail>,
    /// Two side lanes (a lane may be empty).
    pub lanes: Vec<Option<LaneView>>,
    /// The big gift playing now.
    pub big_gift: Option<BigGiftView>,
    /// Floating hearts, by id (new ids start an animation).
    pub hearts: Vec<u64>,
    pub reduced_motion: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChatLine {
    /// The message id: stable key, and what a report names.
    pub id: String,
    pub who: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CardView {
    pub product_id: String,
    pub name: String,
    pub image_url: String,
    /// The price to pay now (the sale price during a flash sale).
    pub price: String,
    /// Struck through during a sale.
    pub was: Option<String>,
    /// "Flash sale · 04:59", "Sold out", "Flash sale ended".
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
    pub stock: String,
    /// The product the host is presenting now.
    pub presenting: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProductDetail {
    pub id: String,
    pub name: String,
    pub description: String,
    pub image_url: String,
    pub price: String,
    pub was: Option<String>,
    pub sale: Option<String>,
    /// (variant, price, stock) per SKU.
    pub skus: Vec<(String, String, String)>,
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

/// `1299 USD` minor → "$12.99"; other currencies as "12.99 EUR".
pub fn price(m: &Money) -> String {
    let shown = m.to_string();
    match shown.strip_suffix(" USD") {
        Some(amount) => format!("${amount}"),
        None => shown,
    }
}

/// "04:59" / "1:02:03" for a countdown of `ms`.
pub fn countdown(ms: i64) -> String {
    let s = (ms.max(0) + 999) / 1000;
    if s >= 3600 {
        format!("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
    } else {
        format!("{:02}:{:02}", s / 60, s % 60)
    }
}

fn stock_left(n: u32) -> Option<String> {
    match n {
        0 => Some("Sold out".to_owned()),
        1..=10 => Some(format!("Only {n} left")),
        _ => None,
    }
}

/// Price now, the price before, and the sale's line, for one product.
fn pricing(
    p: &Product,
    sale: Option<&FlashSale>,
    ended: Option<&FlashSale>,
    server_now: i64,
) -> (String, Option<String>, Option<String>) {
    let base = p
        .skus
        .iter()
        .map(|k| &k.price)
        .min_by_key(|m| m.amount_minor);
    let base = base.map(price).unwrap_or_default();
    if let Some(sale) = sale.filter(|f| f.product_id == p.id) {
        let left = sale.deadline.as_millisecond() - server_now;
        let line = match sale.state {
            FlashSaleState::SoldOut => "Flash sale · sold out".to_owned(),
            FlashSaleState::Ended => "Flash sale ended".to_owned(),
            FlashSaleState::Active if sale.remaining_stock == 0 => {
                "Flash sale · sold out".to_owned()
            }
            FlashSaleState::Active if left <= 0 => "Flash sale ended".to_owned(),
            FlashSaleState::Active => format!("Flash sale · {}", countdown(left)),
        };
        return (
            price(&sale.price),
            Some(price(&sale.original_price)),
            Some(line),
        );
    }
    if ended.is_some_and(|f| f.product_id == p.id) {
        return (base, None, Some("Flash sale ended".to_owned()));
    }
    (base, None, None)
}

fn room_view(app: &App, live: &LiveRoom, now: i64) -> RoomView {
    let state = live.state.as_ref();
    let show = &live.show;
    let server_now = now + show.server_offset_ms;
    let sale = state.and_then(|s| s.flash_sale.as_ref());
    let ended = show.ended_sale.as_ref().map(|(f, _)| f);
    let product = |id| state.and_then(|s: &RoomSnapshot| s.products.iter().find(|p| p.id == id));
    let pinned = show.pinned.and_then(product).map(|p| {
        let (price_now, was, sale_line) = pricing(p, sale, ended, server_now);
        let in_sale = sale.filter(|f| f.product_id == p.id);
        let stock = match in_sale {
            Some(f) => stock_left(f.remaining_stock),
            None => stock_left(p.skus.iter().map(|k| k.stock).sum()),
        };
        CardView {
            product_id: p.id.to_string(),
            name: p.name.clone(),
            image_url: p.image.thumb_url.clone(),
            price: price_now,
            was,
            sale: sale_line,
            stock,
        }
    });
    let products = state.map_or(&[][..], |s| s.products.as_slice());
    let bag = app.bag_open.then(|| {
        products
            .iter()
            .map(|p| {
                let (price_now, _, _) = pricing(p, sale, ended, server_now);
                let total: u32 = p.skus.iter().map(|k| k.stock).sum();
                ProductRow {
                    id: p.id.to_string(),
                    name: p.name.clone(),
                    image_url: p.image.thumb_url.clone(),
                    price: price_now,
                    stock: stock_left(total).unwrap_or_else(|| format!("{total} in stock")),
                    presenting: show.pinned == Some(p.id),
                }
            })
            .collect()
    });
    let detail = app.product.and_then(product).map(|p| {
        let (price_now, was, sale_line) = pricing(p, sale, ended, server_now);
        ProductDetail {
            id: p.id.to_string(),
            name: p.name.clone(),
            description: p.description.clone(),
            image_url: p.image.url.clone(),
            price: price_now,
            was,
            sale: sale_line,
            skus: p
                .skus
                .iter()
                .map(|k| {
                    (
                        k.name.clone(),
                        price(&k.price),
                        stock_left(k.stock).unwrap_or_else(|| format!("{} in stock", k.stock)),
                    )
                })
                .collect(),
        }
    });
    let combo = |n: u32| (n > 1).then(|| format!("x{n}"));
    RoomView {
        likes: compact(show.likes_shown.max(state.map_or(0, |s| s.like_count))),
        viewers: compact(state.map_or(0, |s| s.viewer_count)),
        banner: matches!(live.link, Link::Reconnecting { .. }).then(|| "reconnecting…".to_owned()),
        pinned,
        chat: state
            .map(|s| {
                s.chat
                    .iter()
                    .filter(|m| !app.reported.contains(&m.id))
                    .map(|m| ChatLine {
                        id: m.id.to_string(),
                        who: m.user.name.clone(),
                        text: m.text.clone(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        new_messages: match show.unread {
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
            show.hearts.iter().map(|(id, _)| *id).collect()
        },
        reduced_motion: app.reduced_motion,
    }
}

/// The animation (assets/gifts/<name>.svg and its CSS) for a gift name.
pub fn gift_animation(name: &str) -> String {
    name.to_lowercase()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect()
}

/// 950 → "950", 1_240 → "1.2k", 18_600 → "18.6k", 2_300_000 → "2.3M".
pub fn compact(n: u64) -> String {
    match n {
        0..1_000 => n.to_string(),
        1_000..1_000_000 => format!("{:.1}k", n as f64 / 1e3).replace(".0k", "k"),
        _ => format!("{:.1}M", n as f64 / 1e6).replace(".0M", "M"),
    }
}

pub(crate) fn build(app: &App, now: i64) -> ViewModel {
    let pages = app
        .feed
        .rooms
        .iter()
        .map(|r| {
            let slot = app.feed.players.get(&r.id);
            let status = slot.map(|s| &s.status);
            let (badge, spinner, error) = match status {
                None | Some(PlayerStatus::Connecting) => ("Connecting…".to_owned(), true, None),
                Some(PlayerStatus::Playing {
                    behind_ms: Some(ms),
                }) => (
                    format!("LIVE · {:.1} s behind", f64::from(*ms) / 1000.0),
                    false,
                    None,
                ),
                Some(PlayerStatus::Playing { behind_ms: None }) => ("LIVE".to_owned(), false, None),
                Some(PlayerStatus::Stalled | PlayerStatus::Reconnecting) => {
                    ("Reconnecting…".to_owned(), true, None)
                }
                Some(PlayerStatus::Ended) => ("This live has ended".to_owned(), false, None),
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
                following: app.following.contains(&r.host.id),
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
                Some(Pending::Report(_)) => "Sign in to report a message".to_owned(),
                Some(Pending::Like) => "Sign in to like this live".to_owned(),
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
    }
}
