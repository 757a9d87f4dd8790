//! The product sheet's view model: options, quantity, total, the pay
//! button's words, through every step of a payment.

use super::format::{price, stock_left};
use super::model::Model;
use crate::app::shop::{Stage, Step};
use crate::price as pricing;
use livecart_protocol::Money;
use livecart_protocol::rest::Product;

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

pub(super) fn checkout_view(
    app: &Model,
    p: &Product,
    sale_line: Option<String>,
    now: i64,
) -> ProductDetail {
    let seen = app.seen;
    let c = app.shop.checkout.as_ref();
    let selected = c.and_then(|c| c.sku);
    let stock = c
        .and_then(|c| app.shop.available(c, &seen, now))
        .unwrap_or(0);
    let line = app.shop.checkout_line(&seen, now);
    let total = line.map(|l| l.total);
    let short = match (total, app.funds.spendable()) {
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
                let sale = seen
                    .open_sale(k.id, now)
                    .filter(|_| c.is_none_or(|c| !c.sale_over));
                let one = pricing::line(k, 1, sale, None);
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
            .shop
            .default_address()
            .map(|a| format!("{} · {}, {}", a.name, a.line1, a.city)),
        balance: app.funds.spendable().map(|b| price(&b)),
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
