//! Money-moving REST bodies: the wallet, top-ups, orders, addresses and paid
//! gifts. Every money-moving request carries an [`IDEMPOTENCY_HEADER`]; a
//! replay with the same key answers the stored response and moves nothing.
//!
//! Coins are not a second currency: a gift's price in coins is that many
//! minor units of the wallet's currency (1 coin = 1 ¢ in a USD wallet), so a
//! gift and an order are paid from one balance with one kind of arithmetic.

use crate::ids::{
    AddressId, ComboId, FlashSaleId, GiftId, GiftSendId, OrderId, ProductId, RoomId, SkuId,
    TopUpId, TxnId,
};
use crate::money::Money;
use crate::rest::ImageRef;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// HTTP header naming one attempt of a money-moving request (Stripe's
/// semantics): any string of 1 to 255 visible ASCII characters; a UUID v4/v7
/// is what the app sends.
pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// Response header set on an answer replayed from an earlier request.
pub const REPLAYED_HEADER: &str = "idempotent-replayed";

/// `GET /v1/wallet`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Wallet {
    pub balance: Money,
    /// Top-ups the provider has not confirmed yet, oldest first.
    pub pending_top_ups: Vec<TopUp>,
    /// Orders at or above this total ask for the payment PIN.
    pub pin_threshold: Money,
}

/// One movement of the wallet, as its owner sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletEntry {
    pub txn_id: TxnId,
    pub kind: MovementKind,
    /// Signed: a credit is positive, a payment negative.
    pub amount: Money,
    pub balance_after: Money,
    /// "Top-up ····4242", "Order: Linen shirt × 1", "Rose × 3 to Mia".
    pub description: String,
    pub at: Timestamp,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MovementKind {
    TopUp,
    Order,
    Gift,
    /// The demo world's starting balance.
    DemoCredit,
    Refund,
    #[serde(other)]
    Other,
}

/// `GET /v1/wallet/entries?before=<cursor>`: newest first, 50 a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WalletHistory {
    pub entries: Vec<WalletEntry>,
    /// Pass as `before` for the next (older) page; absent on the last page.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_before: Option<i64>,
}

/// `POST /v1/wallet/top-ups` (idempotent). The demo provider's test cards:
/// `4242 4242 4242 4242` succeeds within a second, `4000 0000 0000 0002` is
/// declined, `4000 0000 0000 3220` confirms late (after a few seconds). Only
/// the last four digits are stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopUpRequest {
    pub amount: Money,
    pub card_number: String,
}

/// A top-up: `pending` until the provider confirms, then `succeeded` (the
/// wallet is credited in the same transaction) or `declined`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopUp {
    pub id: TopUpId,
    pub amount: Money,
    pub status: TopUpStatus,
    pub card_last4: String,
    pub created_at: Timestamp,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decline_reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TopUpStatus {
    Pending,
    Succeeded,
    Declined,
}

/// A delivery address. `country` is ISO 3166-1 alpha-2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Address {
    pub id: AddressId,
    pub name: String,
    pub line1: String,
    #[serde(default)]
    pub line2: String,
    pub city: String,
    #[serde(default)]
    pub region: String,
    pub postal_code: String,
    pub country: String,
    pub phone: String,
    pub is_default: bool,
}

/// `POST /v1/me/addresses`; `PUT /v1/me/addresses/{id}` replaces one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewAddress {
    pub name: String,
    pub line1: String,
    #[serde(default)]
    pub line2: String,
    pub city: String,
    #[serde(default)]
    pub region: String,
    pub postal_code: String,
    pub country: String,
    pub phone: String,
    #[serde(default)]
    pub is_default: bool,
}

/// `GET /v1/me/addresses`: the default first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddressList {
    pub addresses: Vec<Address>,
}

/// `POST /v1/orders` (idempotent). The server decides the price: if it is not
/// `expected_unit_price`, the answer is 409 `price_changed` with the price
/// now, and nothing is charged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlaceOrderRequest {
    pub product_id: ProductId,
    pub sku_id: SkuId,
    pub quantity: u32,
    pub address_id: AddressId,
    /// The unit price the buyer saw (the sale price in a flash sale).
    pub expected_unit_price: Money,
    /// The flash sale the buyer tapped in, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flash_sale_id: Option<FlashSaleId>,
    /// How far behind live the buyer's video was at the tap, in ms. A sale
    /// tap made before the deadline as the buyer saw it on the delayed video
    /// is honoured, up to the server's grace (3 s).
    #[serde(default)]
    pub video_delay_ms: u32,
    /// The payment PIN, for totals at or above the wallet's `pin_threshold`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<String>,
}

/// Where an order is. The happy path is `paid → packed → shipped →
/// out_for_delivery → delivered`; `cancelled` (before shipping, refunded at
/// once) and `refund_requested → refunded` (after delivery) branch off it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Paid,
    Packed,
    Shipped,
    OutForDelivery,
    Delivered,
    Cancelled,
    RefundRequested,
    Refunded,
    #[serde(other)]
    Unknown,
}

impl OrderStatus {
    /// The delivery steps, in order (the timeline's skeleton).
    pub const DELIVERY: [Self; 5] = [
        Self::Paid,
        Self::Packed,
        Self::Shipped,
        Self::OutForDelivery,
        Self::Delivered,
    ];

    /// The next delivery step, if this one moves on by itself.
    pub fn next_delivery_step(self) -> Option<Self> {
        let i = Self::DELIVERY.iter().position(|s| *s == self)?;
        Self::DELIVERY.get(i + 1).copied()
    }

    /// The buyer may still cancel (nothing has left the warehouse).
    pub fn cancellable(self) -> bool {
        matches!(self, Self::Paid | Self::Packed)
    }

    /// No further change will come.
    pub fn is_final(self) -> bool {
        matches!(self, Self::Cancelled | Self::Refunded)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Paid => "paid",
            Self::Packed => "packed",
            Self::Shipped => "shipped",
            Self::OutForDelivery => "out_for_delivery",
            Self::Delivered => "delivered",
            Self::Cancelled => "cancelled",
            Self::RefundRequested => "refund_requested",
            Self::Refunded => "refunded",
            Self::Unknown => "unknown",
        }
    }

    /// From the stored name; unknown names are `Unknown`.
    pub fn parse(s: &str) -> Self {
        [
            Self::Paid,
            Self::Packed,
            Self::Shipped,
            Self::OutForDelivery,
            Self::Delivered,
            Self::Cancelled,
            Self::RefundRequested,
            Self::Refunded,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
        .unwrap_or(Self::Unknown)
    }
}

/// One step an order went through, for its timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderStep {
    pub status: OrderStatus,
    pub at: Timestamp,
    /// A word for the buyer ("Refund of $59.99 to your wallet").
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: OrderId,
    pub status: OrderStatus,
    pub room_id: RoomId,
    /// The live it was bought in, as titled then.
    #[serde(default)]
    pub room_title: String,
    pub product_id: ProductId,
    pub sku_id: SkuId,
    pub product_name: String,
    pub sku_name: String,
    pub image: ImageRef,
    pub quantity: u32,
    pub unit_price: Money,
    pub total: Money,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flash_sale_id: Option<FlashSaleId>,
    /// The address as it was when the order was placed.
    pub address: Address,
    pub created_at: Timestamp,
    /// Every step so far, oldest first (starts with `paid`).
    #[serde(default)]
    pub timeline: Vec<OrderStep>,
    /// Why the buyer asked for a refund, once they did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refund_reason: Option<RefundReason>,
    /// The wallet balance right after paying (only on the answer to
    /// `POST /v1/orders`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub balance_after: Option<Money>,
}

/// Why a delivered order goes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RefundReason {
    Damaged,
    NotAsDescribed,
    WrongItem,
    ChangedMind,
    #[serde(other)]
    Other,
}

/// `POST /v1/orders/{id}/refund-request`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefundRequest {
    pub reason: RefundReason,
}

/// `GET /v1/orders`: newest first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OrderList {
    pub orders: Vec<Order>,
}

/// `POST /v1/rooms/{id}/gifts` (idempotent): one tap of the gift bar. Taps of
/// the same gift within 3 s share a `combo_id`; each is its own paid request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendGiftRequest {
    pub gift_id: GiftId,
    pub count: u32,
    pub combo_id: ComboId,
}

/// The answer to a paid gift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GiftReceipt {
    pub id: GiftSendId,
    pub cost: Money,
    pub balance_after: Money,
    /// Running total of the combo after this request.
    pub combo_count: u32,
}
