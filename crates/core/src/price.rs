//! What a line costs — the one rule behind every price the app shows and
//! every payment it sends: the pinned card, the bag, the checkout sheet's
//! header, each option's chip, the "Total · 2 × $89.99" line, the "Pay"
//! button and `PlaceOrderRequest::expected_unit_price` all come from [`line`].
//!
//! A unit costs, in this order: the price the server said it charges now
//! (after a `price_changed` or `sale_ended` refusal: locked at that answer),
//! else the flash sale's price when the sale is on *this option* and still
//! open to this buyer ([`open_sale`]), else the option's own price. The
//! server applies the same rule (crates/server orders.rs), so what the
//! shopper sees is what the shopper pays.

use livecart_protocol::rest::{FlashSale, FlashSaleState, Product, Sku};
use livecart_protocol::{FlashSaleId, Money, SkuId};

/// One line of an order: an option, how many, and what they cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Line {
    pub unit: Money,
    /// The option's own price, struck through while a sale makes it cheaper.
    pub was: Option<Money>,
    pub quantity: u32,
    pub total: Money,
    /// The sale the unit price comes from (sent with the order).
    pub sale: Option<FlashSaleId>,
}

/// The flash sale if it is on `sku` and still open to a buyer whose video is
/// `behind_ms` behind live: active, stock left, and its deadline not yet
/// reached in the picture the buyer sees (the server honours that delay up
/// to its grace). `server_now_ms` is the server's clock as the app knows it.
pub fn open_sale(
    sale: Option<&FlashSale>,
    sku: SkuId,
    server_now_ms: i64,
    behind_ms: i64,
) -> Option<&FlashSale> {
    sale.filter(|f| {
        f.sku_id == sku
            && f.state == FlashSaleState::Active
            && f.remaining_stock > 0
            && f.deadline.as_millisecond() + behind_ms.max(0) > server_now_ms
    })
}

/// What `quantity` of `sku` cost: `sale` is the sale open to the buyer on
/// this option (see [`open_sale`]), `locked` the server's own price after it
/// refused a stale one. `None` on overflow.
pub fn line(
    sku: &Sku,
    quantity: u32,
    sale: Option<&FlashSale>,
    locked: Option<Money>,
) -> Option<Line> {
    let sale = sale.filter(|f| f.sku_id == sku.id);
    let (unit, was, sale_id) = match (locked, sale) {
        (Some(price), _) => (price, None, None),
        (None, Some(f)) => (f.price, Some(sku.price), Some(f.id)),
        (None, None) => (sku.price, None, None),
    };
    let was = was.filter(|w| w.amount_minor > unit.amount_minor);
    Some(Line {
        unit,
        was,
        quantity,
        total: unit.checked_mul(quantity).ok()?,
        sale: sale_id,
    })
}

/// The price a product is shown at where no option is chosen yet (the card,
/// the bag): the sale's option while a sale on this product is open, else
/// its cheapest option. The flag says whether options cost different
/// amounts (the screen then says "from").
pub fn headline(
    product: &Product,
    sale: Option<&FlashSale>,
    server_now_ms: i64,
    behind_ms: i64,
) -> Option<(Line, bool)> {
    let on_sale = sale
        .filter(|f| f.product_id == product.id)
        .and_then(|f| product.skus.iter().find(|k| k.id == f.sku_id))
        .and_then(|k| {
            open_sale(sale, k.id, server_now_ms, behind_ms).and_then(|f| line(k, 1, Some(f), None))
        });
    if let Some(l) = on_sale {
        return Some((l, false));
    }
    let cheapest = product.skus.iter().min_by_key(|k| k.price.amount_minor)?;
    let varies = product
        .skus
        .iter()
        .any(|k| k.price.amount_minor != cheapest.price.amount_minor);
    Some((line(cheapest, 1, None, None)?, varies))
}
