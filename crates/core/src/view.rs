//! View models: exactly what the screens render, already formatted. Screens
//! hold no logic beyond laying these out.
//!
//! Size: the view models of every screen and their formatting; one file per
//! screen is #17's next step for the core.

use crate::app::{App, Pending, Stage, Step};
use crate::feed::PlayerStatus;
use crate::price;
use crate::room::{Link, LiveRoom};
use crate::show::{BIG_GIFT_COINS, LANES};
use livecart_protocol::commerce::{Order, OrderStatus, RefundReason};
use livecart_protocol::rest::{FlashSale, FlashSaleState, Product, RoomSnapshot, RoomStatus};
use livecart_protocol::{Money, OrderId};

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

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderToastView {
    pub order: OrderId,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrdersView {
    /// "You're offline — showing your saved orders".
    pub offline: Option<String>,
    pub rows: Vec<OrderRowView>,
    pub detail: Option<OrderDetailView>,
    /// True until the first list arrives (cache or server).
    pub loading: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderRowView {
    pub id: OrderId,
    pub product: String,
    /// "M · ×2".
    pub sku: String,
    pub total: String,
    pub status: String,
    /// `paid`, `shipped` … for styling.
    pub status_key: &'static str,
    pub thumb_url: String,
    /// "3 min ago", "Nov 22".
    pub when: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderDetailView {
    pub row: OrderRowView,
    pub image_url: String,
    /// "Bought in Cosy knits · Nov 22, 18:03".
    pub bought_in: String,
    /// "Ava Park, 1 Market St, San Francisco 94103".
    pub address: String,
    pub unit_price: String,
    pub steps: Vec<StepView>,
    pub can_cancel: bool,
    pub can_request_refund: bool,
    pub busy: bool,
    pub notice: Option<String>,
    /// The refund reasons, when the picker is open: (label, reason).
    pub reasons: Vec<(String, RefundReason)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StepView {
    pub label: String,
    /// "18:03", or empty for a step still to come.
    pub at: String,
    pub note: String,
    pub done: bool,
    /// The step the order is at now.
    pub current: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletView {
    /// "$200.00"; `None` while loading.
    pub balance: Option<String>,
    /// "Top-up of $50.00 · waiting for your bank".
    pub pending: Vec<String>,
    pub history: Vec<HistoryLine>,
    pub busy: bool,
    pub notice: Option<String>,
    /// The card the top-up form starts with.
    pub card: String,
    /// (label, amount in minor units) for the top-up buttons.
    pub amounts: Vec<(String, i64)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryLine {
    pub id: String,
    pub what: String,
    /// "+$50.00", "−$12.99".
    pub amount: String,
    pub credit: bool,
    /// "Nov 22, 10:04".
    pub at: String,
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
#[allow(clippy::struct_excessive_bools)] // flat flags are what the sheet reads
pub struct ProductDetail {
    pub id: String,
    pub name: String,
    pub description: String,
    pub image_url: String,
    /// The chosen option's unit price, as "Pay" charges it.
    pub price: String,
    /// The option's own price, struck through while its sale is open.
    pub was: Option<String>,
    /// The product's flash sale: "Flash sale · 00:57", "Flash sale · sold
    /// out", "Flash sale ended".
    pub sale: Option<String>,
    pub skus: Vec<SkuChoice>,
    pub quantity: u32,
    pub can_add: bool,
    /// "Ava Tran · 1 Market St, San Francisco"; `None` until loaded.
    pub address: Option<String>,
    /// "$200.00" in the wallet.
    pub balance: Option<String>,
    /// The total for the chosen SKU × quantity.
    pub total: Option<String>,
    /// "2 × $89.99": the quantity and the unit price the total comes from.
    pub total_line: Option<String>,
    /// "choose", "confirm", "pin" or "paying".
    pub step: &'static str,
    /// "Buy now", "Pay $29.00", "Top up $10.00 and pay", "Paying…", "Try again".
    pub primary: String,
    pub busy: bool,
    /// Why the last attempt did not pay (price changed, sold out, declined…).
    pub notice: Option<String>,
    pub pin_error: Option<String>,
    pub signed_in: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SkuChoice {
    pub id: String,
    pub name: String,
    /// What one of this option costs now (its sale price while its sale is open).
    pub price: String,
    /// Its own price, struck through while its sale is open.
    pub was: Option<String>,
    /// This option is the one on flash sale.
    pub on_sale: bool,
    /// "Only 2 left", "40 in stock", "Sold out".
    pub stock: String,
    pub selected: bool,
    pub sold_out: bool,
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

/// The flash sale's line for a product: its countdown while open, then how
/// it ended (sold out, or out of time) for a moment. `kept` is a sale that
/// just ended, as the room's show keeps it.
fn sale_label(
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
fn room_view(app: &App, live: &LiveRoom, now: i64) -> RoomView {
    let state = live.state.as_ref();
    let show = &live.show;
    let server_now = now + show.server_offset_ms;
    let sale = state.and_then(|s| s.flash_sale.as_ref());
    let ended = show.ended_sale.as_ref().map(|(f, _)| f);
    let product = |id| state.and_then(|s: &RoomSnapshot| s.products.iter().find(|p| p.id == id));
    let behind = app.behind_ms().unwrap_or(0);
    let headline = |p: &Product| price::headline(p, sale, server_now, behind);
    let pinned = show.pinned.and_then(product).map(|p| {
        let head = headline(p);
        let in_sale = sale.filter(|f| {
            f.product_id == p.id && price::open_sale(sale, f.sku_id, server_now, behind).is_some()
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
    let bag = app.bag_open.then(|| {
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
            .filter(|m| !app.reported.contains(&m.id))
            .map(|m| ChatLine {
                id: m.id.to_string(),
                who: m.user.name.clone(),
                text: m.text.clone(),
                mine: crate::chat::Chat::is_mine(m, show.me),
            })
            .collect(),
        selected_line: show.chat.selected.map(|id| id.to_string()),
        new_messages: match show.chat.unread {
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
        gift_bar: app.shop.gift_bar_open.then(|| gift_bar(app, now)),
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

fn checkout_view(app: &App, p: &Product, sale_line: Option<String>, now: i64) -> ProductDetail {
    let c = app.shop.checkout.as_ref();
    let selected = c.and_then(|c| c.sku);
    let stock = c.and_then(|c| app.available(c, now)).unwrap_or(0);
    let line = app.checkout_line(now);
    let total = line.map(|l| l.total);
    let short = match (total, app.spendable()) {
        (Some(t), Some(b)) if b.amount_minor < t.amount_minor => Some(Money {
            amount_minor: t.amount_minor - b.amount_minor,
            currency: t.currency,
        }),
        _ => None,
    };
    let step = c.map_or(Step::Choose, |c| c.step.clone());
    let stage = app.shop.payment.as_ref().map(|p| &p.stage);
    let primary = match (&step, stage) {
        (Step::Choose, _) => "Buy now".to_owned(),
        (Step::Paying, Some(Stage::Parked)) => "Try again".to_owned(),
        (Step::Paying, Some(Stage::ToppingUp(_))) => "Topping up…".to_owned(),
        (Step::Paying, _) => "Paying…".to_owned(),
        (Step::Pin, _) => "Confirm and pay".to_owned(),
        (Step::Confirm, _) => match (short, total) {
            (Some(_), Some(t)) => format!("Top up and pay {}", price(&t)),
            (None, Some(t)) => format!("Pay {}", price(&t)),
            _ => "Pay".to_owned(),
        },
    };
    ProductDetail {
        id: p.id.to_string(),
        name: p.name.clone(),
        description: p.description.clone(),
        image_url: p.image.url.clone(),
        price: line.map(|l| price(&l.unit)).unwrap_or_default(),
        was: line.and_then(|l| l.was).map(|w| price(&w)),
        sale: sale_line,
        skus: p
            .skus
            .iter()
            .map(|k| {
                let sale = app
                    .open_sale(k.id, now)
                    .filter(|_| c.is_none_or(|c| !c.sale_over));
                let one = price::line(k, 1, sale, None);
                let left = sale.map_or(k.stock, |f| f.remaining_stock);
                SkuChoice {
                    id: k.id.to_string(),
                    name: k.name.clone(),
                    price: one.map(|l| price(&l.unit)).unwrap_or_default(),
                    was: one.and_then(|l| l.was).map(|w| price(&w)),
                    on_sale: sale.is_some(),
                    stock: stock_left(left).unwrap_or_else(|| format!("{left} in stock")),
                    selected: Some(k.id) == selected,
                    sold_out: left == 0,
                }
            })
            .collect(),
        quantity: c.map_or(1, |c| c.quantity),
        can_add: c.is_some_and(|c| c.quantity < stock.min(99)),
        address: app
            .default_address()
            .map(|a| format!("{} · {}, {}", a.name, a.line1, a.city)),
        balance: app.spendable().map(|b| price(&b)),
        total: total.map(|t| price(&t)),
        total_line: line.map(|l| format!("{} × {}", l.quantity, price(&l.unit))),
        step: match step {
            Step::Choose => "choose",
            Step::Confirm => "confirm",
            Step::Pin => "pin",
            Step::Paying => "paying",
        },
        busy: step == Step::Paying && stage != Some(&Stage::Parked),
        primary,
        notice: c.and_then(|c| c.notice.clone()),
        pin_error: c.and_then(|c| c.pin_error.clone()),
        signed_in: app.session.user().is_some(),
    }
}

fn gift_bar(app: &App, now: i64) -> GiftBarView {
    let combo = app
        .shop
        .combo
        .as_ref()
        .filter(|c| now - c.last_tap_ms < crate::app::COMBO_WINDOW_MS && c.taps > 1);
    GiftBarView {
        gifts: app
            .shop
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
            .spendable()
            .map(|b| format!("{} coins", thousands(b.amount_minor))),
    }
}

/// 12000 → "12,000".
fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// "just now", "3 min ago", "2 h ago", else the date.
fn ago(at: jiff::Timestamp, now_ms: i64) -> String {
    let s = (now_ms - at.as_millisecond()) / 1_000;
    match s {
        ..60 => "just now".to_owned(),
        60..3_600 => format!("{} min ago", s / 60),
        3_600..86_400 => format!("{} h ago", s / 3_600),
        _ => at.strftime("%b %-d").to_string(),
    }
}

fn order_row(o: &Order, now_ms: i64) -> OrderRowView {
    OrderRowView {
        id: o.id,
        product: o.product_name.clone(),
        sku: if o.quantity > 1 {
            format!("{} · ×{}", o.sku_name, o.quantity)
        } else {
            o.sku_name.clone()
        },
        total: price(&o.total),
        status: crate::app::status_words(o.status).to_owned(),
        status_key: o.status.as_str(),
        thumb_url: o.image.thumb_url.clone(),
        when: ago(o.created_at, now_ms),
    }
}

/// The timeline: every step the order went through, then (on the delivery
/// path) the ones still to come.
fn steps(o: &Order) -> Vec<StepView> {
    let mut steps: Vec<StepView> = o
        .timeline
        .iter()
        .map(|s| StepView {
            label: crate::app::status_words(s.status).to_owned(),
            at: s.at.strftime("%b %-d, %H:%M:%S").to_string(),
            note: s.note.clone(),
            done: true,
            current: false,
        })
        .collect();
    if let Some(last) = steps.last_mut() {
        last.current = true;
    }
    if OrderStatus::DELIVERY.contains(&o.status) {
        let reached = o.timeline.iter().map(|s| s.status).collect::<Vec<_>>();
        for s in OrderStatus::DELIVERY {
            if !reached.contains(&s) {
                steps.push(StepView {
                    label: crate::app::status_words(s).to_owned(),
                    at: String::new(),
                    note: String::new(),
                    done: false,
                    current: false,
                });
            }
        }
    }
    steps
}

fn orders_view(app: &App, now_ms: i64) -> OrdersView {
    let orders = &app.orders;
    let detail = orders.detail.and_then(|id| orders.get(id)).map(|o| {
        let a = &o.address;
        OrderDetailView {
            row: order_row(o, now_ms),
            image_url: o.image.url.clone(),
            bought_in: format!(
                "Bought in {} · {}",
                if o.room_title.is_empty() {
                    "a live"
                } else {
                    &o.room_title
                },
                o.created_at.strftime("%b %-d, %H:%M")
            ),
            address: format!("{}, {}, {} {}", a.name, a.line1, a.city, a.postal_code),
            unit_price: price(&o.unit_price),
            steps: steps(o),
            can_cancel: o.status.cancellable(),
            can_request_refund: o.status == OrderStatus::Delivered,
            busy: orders.busy == Some(o.id),
            notice: orders.notice.clone(),
            reasons: if orders.picking_reason {
                [
                    ("Arrived damaged", RefundReason::Damaged),
                    ("Not as described", RefundReason::NotAsDescribed),
                    ("Wrong item", RefundReason::WrongItem),
                    ("Changed my mind", RefundReason::ChangedMind),
                ]
                .into_iter()
                .map(|(l, r)| (l.to_owned(), r))
                .collect()
            } else {
                Vec::new()
            },
        }
    });
    OrdersView {
        offline: orders.offline.then(|| {
            if orders.list.is_empty() {
                "You're offline — your orders will show when livecart reconnects".to_owned()
            } else {
                "You're offline — showing your saved orders".to_owned()
            }
        }),
        rows: orders.list.iter().map(|o| order_row(o, now_ms)).collect(),
        detail,
        loading: orders.list.is_empty()
            && orders.link != crate::app::MeLink::Live
            && !orders.offline,
    }
}

fn wallet_view(app: &App) -> WalletView {
    let shop = &app.shop;
    WalletView {
        balance: app.spendable().map(|b| price(&b)),
        pending: shop
            .wallet
            .as_ref()
            .map(|w| {
                w.pending_top_ups
                    .iter()
                    .map(|t| format!("Top-up of {} · waiting for your bank", price(&t.amount)))
                    .collect()
            })
            .unwrap_or_default(),
        history: shop
            .history
            .iter()
            .flatten()
            .map(|e| {
                let credit = e.amount.amount_minor > 0;
                let abs = Money {
                    amount_minor: e.amount.amount_minor.abs(),
                    currency: e.amount.currency,
                };
                HistoryLine {
                    id: e.txn_id.to_string(),
                    what: e.description.clone(),
                    amount: format!("{}{}", if credit { "+" } else { "−" }, price(&abs)),
                    credit,
                    at: e.at.strftime("%b %-d, %H:%M").to_string(),
                }
            })
            .collect(),
        busy: shop.top_up.as_ref().is_some_and(|t| !t.stalled),
        notice: shop.wallet_notice.clone(),
        card: if shop.card.is_empty() {
            crate::app::DEMO_CARD.to_owned()
        } else {
            shop.card.clone()
        },
        amounts: [1_000, 5_000, 10_000]
            .into_iter()
            .map(|m| (price(&Money::new(m, livecart_protocol::Currency::USD)), m))
            .collect(),
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
        wallet: app.shop.wallet_open.then(|| wallet_view(app)),
        orders: app.orders.screen.then(|| orders_view(app, now)),
        order_toast: app
            .orders
            .toast
            .as_ref()
            .filter(|t| now - t.at_ms < crate::app::TOAST_MS)
            .map(|t| OrderToastView {
                order: t.order,
                text: t.text.clone(),
            }),
        confirm_sign_out: app.confirm_sign_out,
    }
}
