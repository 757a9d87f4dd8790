//! Buying and tipping: the checkout sheet (three taps from the pinned card to
//! a paid order), the payment outbox, "top up and pay", the wallet screen and
//! the gift bar.
//!
//! Money rules the app keeps:
//! - One payment, one `Idempotency-Key`: every retry of it (network failure,
//!   a 409 while the first is still running, a top-up in between, an app
//!   restart) sends the same key, so the server charges it once. A new tap
//!   on "Pay" after a definite answer is a new payment with a new key.
//! - The payment is written to the app's SQLite outbox (`SavePayment`) and
//!   only sent once the store says it is saved (`ShopEvent::PaymentSaved`); it
//!   is resolved when the server gives a definite answer. Payments left in
//!   the outbox are sent again (same key) after the next sign-in or start.
//! - The PIN is kept in memory for the payment in flight, never in the outbox.
//! - Nothing is shown as paid until the server says so.
//!
//! A part of the app that owns its state ([`Shop`]): it answers each event
//! with [`Cmd`]s (app/cmd.rs), reads the session and the ids through a
//! [`Cx`] and the room on screen through a [`Seen`]; it never names the app.
//!
//! Size: checkout, the payment outbox, top-ups, gifts and the wallet screen
//! share the wallet and the payment state (a top-up can be for a payment, a
//! gift spends from the balance a payment checks).

use super::answer::{HttpFailure, Reply, Then, unreadable};
use super::cmd::{Cmd, Cx, Pending, Wake};
use crate::effects::{Effect, Method, PendingPayment, StoreCommand};
use crate::price;
use crate::room::LiveRoom;
use livecart_protocol::commerce::{
    Address, GiftReceipt, Order, PlaceOrderRequest, SendGiftRequest, TopUp, TopUpRequest,
    TopUpStatus, Wallet, WalletEntry,
};
use livecart_protocol::rest::{FlashSale, Gift, GiftCatalog, Product};
use livecart_protocol::{
    ComboId, ErrorCode, GiftId, Money, Problem, ProductId, RoomId, SkuId, TopUpId,
};
use std::collections::HashMap;

/// Taps of the same gift this close together build one combo.
pub const COMBO_WINDOW_MS: i64 = 3_000;
/// The demo provider's card that always succeeds (the app's saved card).
pub const DEMO_CARD: &str = "4242 4242 4242 4242";
/// Retries of a payment that got no answer, and their delays.
const PAY_RETRY_MS: [u64; 4] = [1_000, 2_000, 4_000, 8_000];
/// How often a pending top-up is looked at.
const TOP_UP_POLL_MS: u64 = 500;

/// Taps and answers of the bag and the checkout sheet.
#[derive(Debug, Clone, PartialEq)]
pub enum ShopEvent {
    /// The product bag (the room's products) opens or closes.
    OpenBag,
    CloseBag,
    /// The checkout sheet for a product (from the card or the bag).
    OpenProduct(ProductId),
    CloseProduct,
    SelectSku(SkuId),
    SetQuantity(u32),
    /// "Buy now": the confirm step with the total.
    BuyNow,
    /// From the confirm or PIN step back to the choices.
    BackToChoose,
    /// "Pay" / "Top up and pay" / "Try again"; with the PIN on the PIN step.
    Pay {
        pin: Option<String>,
    },
    /// The outbox has written this payment (by key): it may be sent.
    PaymentSaved(String),
    /// Payments the outbox still holds for the signed-in user.
    PaymentsLoaded(Vec<PendingPayment>),
}

/// The wallet screen.
#[derive(Debug, Clone, PartialEq)]
pub enum WalletEvent {
    Open,
    Close,
    TopUp { amount_minor: i64, card: String },
}

/// The gift bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiftsEvent {
    /// The gift bar opens or closes.
    ToggleBar,
    /// One tap on a gift.
    Send(GiftId),
}

/// Where the checkout sheet is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// SKU, quantity, address, balance: "Buy now".
    Choose,
    /// The total: "Pay" (or "Top up and pay").
    Confirm,
    /// The payment PIN, for totals at or above the wallet's threshold.
    Pin,
    /// The payment is on its way (saving, sending, topping up, retrying).
    Paying,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkout {
    pub room: RoomId,
    pub product: ProductId,
    pub sku: Option<SkuId>,
    pub quantity: u32,
    pub step: Step,
    /// What the sheet says about the last attempt (price changed, declined…).
    pub notice: Option<String>,
    pub pin_error: Option<String>,
    /// The price the server said it charges now (after `price_changed` or
    /// `sale_ended`), used for the next "Pay".
    pub price_now: Option<Money>,
    /// The flash sale ended for this buyer (the server said `sale_ended`).
    pub sale_over: bool,
}

/// What the payment in flight is doing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stage {
    /// Waiting for the outbox to confirm it is written.
    Saving,
    /// `POST /v1/orders` sent.
    Sending,
    /// No answer: sending again after a delay.
    Retrying,
    /// Topping the wallet up first (`None` until the provider gave an id).
    ToppingUp(Option<TopUpId>),
    /// Retries used up: kept in the outbox, finished later.
    Parked,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payment {
    pub pending: PendingPayment,
    /// In memory only, for this payment.
    pin: Option<String>,
    pub stage: Stage,
    attempts: u32,
    /// The top-up's own key (reused if its request is retried).
    top_up_key: Option<String>,
    topped_up: bool,
}

/// A run of taps of one gift.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Combo {
    pub gift: GiftId,
    pub id: ComboId,
    /// Taps sent in this combo.
    pub taps: u32,
    pub last_tap_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct GiftSend {
    room: RoomId,
    request: SendGiftRequest,
    cost: i64,
    retried: bool,
    /// Tap order: a later tap's balance wins over an earlier tap's.
    seq: u64,
}

/// The wallet screen's top-up (and "top up and pay"'s).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WalletTopUp {
    pub key: String,
    pub request: TopUpRequest,
    pub id: Option<TopUpId>,
    /// Sent again once after no answer; then it waits for another tap,
    /// which reuses the key.
    pub retried: bool,
    pub stalled: bool,
}

#[derive(Debug, Clone, Default, PartialEq)]
#[allow(clippy::struct_excessive_bools)] // independent: which sheet or bar is open
pub struct Shop {
    /// The room's products (the bag) are showing.
    pub bag_open: bool,
    /// The product whose detail (the checkout sheet) is open.
    pub product: Option<ProductId>,
    pub checkout: Option<Checkout>,
    pub payment: Option<Payment>,
    /// The last wallet the server sent (balance, PIN threshold).
    pub wallet: Option<Wallet>,
    pub addresses: Option<Vec<Address>>,
    pub wallet_open: bool,
    pub history: Option<Vec<WalletEntry>>,
    pub top_up: Option<WalletTopUp>,
    pub wallet_notice: Option<String>,
    pub catalog: Vec<Gift>,
    pub gift_bar_open: bool,
    pub combo: Option<Combo>,
    gifts_in_flight: HashMap<String, GiftSend>,
    /// Coins of gifts sent and not yet answered (shown as spent).
    pub gift_pending_minor: i64,
    gift_seq: u64,
    /// The latest tap whose answer set the balance.
    gift_applied: u64,
    /// The SKU last bought, per product (preselected next time).
    pub last_sku: HashMap<ProductId, SkuId>,
    /// Payments from the outbox being finished after a restart.
    recovering: HashMap<String, PendingPayment>,
    /// The card "top up and pay" uses (the demo provider's).
    pub card: String,
}

/// What a PIN refusal says on the PIN step: how many tries are left after
/// a wrong one, or the server's words (missing, locked) as a sentence.
fn pin_words(p: &Problem) -> String {
    if let Some(n @ 1..) = p.attempts_left {
        let tries = if n == 1 { "try" } else { "tries" };
        return format!("That PIN isn't right — {n} {tries} left");
    }
    let mut c = p.detail.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

/// A card number as typed, checked the way a shop's form does (13 to 19
/// digits, the Luhn check digit) and written in groups of four; or why not,
/// in a shopper's words.
pub fn card_number(typed: &str) -> Result<String, &'static str> {
    if typed
        .chars()
        .any(|c| !c.is_ascii_digit() && c != ' ' && c != '-')
    {
        return Err("A card number has only digits — check it and try again");
    }
    let digits: Vec<u32> = typed.chars().filter_map(|c| c.to_digit(10)).collect();
    match digits.len() {
        0 => return Err("Enter your card number"),
        1..=12 => return Err("That card number is too short — check it and try again"),
        13..=19 => {}
        _ => return Err("That card number is too long — check it and try again"),
    }
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| match (i % 2, d * 2) {
            (0, _) => d,
            (_, twice) if twice > 9 => twice - 9,
            (_, twice) => twice,
        })
        .sum();
    if !sum.is_multiple_of(10) {
        return Err("That card number has a typo — check the digits and try again");
    }
    let grouped = digits
        .chunks(4)
        .map(|g| g.iter().map(u32::to_string).collect::<String>())
        .collect::<Vec<_>>()
        .join(" ");
    Ok(grouped)
}

fn format(m: &Money) -> String {
    crate::view::format::price(m)
}

fn problem_of(failure: &HttpFailure) -> Option<&Problem> {
    match failure {
        HttpFailure::Status { problem, .. } => problem.as_ref(),
        HttpFailure::Network(_) | HttpFailure::Unreadable(_) => None,
    }
}

/// Whether the server gave a definite answer (the payment will not change
/// by sending it again): any 4xx but a 409 "still running" and a 401.
fn definite(failure: &HttpFailure) -> bool {
    match failure {
        HttpFailure::Network(_) => false,
        // The server answered (and acted): sending again changes nothing.
        HttpFailure::Unreadable(_) => true,
        HttpFailure::Status { status, problem } => {
            (400..500).contains(status)
                && *status != 401
                && problem
                    .as_ref()
                    .is_none_or(|p| p.code != ErrorCode::IdempotencyInFlight)
        }
    }
}

/// What the shop reads of the rest of the app: the room on screen (its
/// products, its sale, the server's clock) and how far behind live its
/// picture is (a sale is open for what the buyer sees).
#[derive(Debug, Clone, Copy)]
pub struct Seen<'a> {
    pub room: Option<&'a LiveRoom>,
    pub behind_ms: Option<i64>,
    /// A wallet read is in flight or waiting for a fresh token.
    pub wallet_asked: bool,
}

impl Seen<'_> {
    fn room_product(&self, id: ProductId) -> Option<&Product> {
        self.room?
            .state
            .as_ref()?
            .products
            .iter()
            .find(|p| p.id == id)
    }

    /// The flash sale open to this buyer on `sku` now (see
    /// [`price::open_sale`]).
    pub fn open_sale(&self, sku: SkuId, now_ms: i64) -> Option<&FlashSale> {
        let live = self.room?;
        price::open_sale(
            live.state.as_ref()?.flash_sale.as_ref(),
            sku,
            now_ms + live.show.server_offset_ms,
            self.behind_ms.unwrap_or(0),
        )
    }
}

/// The wallet read a sheet needs.
fn read_wallet() -> Cmd {
    Cmd::authed(Method::Get, "/v1/wallet", None, Then::Wallet)
}

impl Shop {
    /// A shop for a signed-out viewer: what was the user's goes; the gift
    /// catalogue stays, and so do the open bag and product (they belong to
    /// the room, not the user).
    pub(super) fn forget(&mut self) {
        *self = Shop {
            catalog: std::mem::take(&mut self.catalog),
            bag_open: self.bag_open,
            product: self.product,
            card: DEMO_CARD.to_owned(),
            ..Shop::default()
        };
    }

    /// The bag's and the checkout sheet's events.
    pub(super) fn on_shop(&mut self, event: ShopEvent, cx: &mut Cx, seen: &Seen) -> Vec<Cmd> {
        let now_ms = cx.now.as_millisecond();
        match event {
            ShopEvent::OpenBag => self.bag_open = seen.room.is_some(),
            ShopEvent::CloseBag => self.bag_open = false,
            ShopEvent::OpenProduct(id) => self.open_checkout(id, now_ms, seen),
            ShopEvent::CloseProduct => self.close_checkout(),
            ShopEvent::SelectSku(sku) => self.select_sku(sku),
            ShopEvent::SetQuantity(n) => self.set_quantity(n, now_ms, seen),
            ShopEvent::BuyNow => return self.buy_now(cx, seen),
            ShopEvent::BackToChoose => self.back_to_choose(),
            ShopEvent::Pay { pin } => return self.pay(pin, cx, seen),
            ShopEvent::PaymentSaved(key) => return self.payment_saved(&key, cx),
            ShopEvent::PaymentsLoaded(list) => return self.payments_loaded(list, cx),
        }
        Vec::new()
    }

    /// The wallet screen's events.
    pub(super) fn on_wallet(&mut self, event: WalletEvent, cx: &mut Cx) -> Vec<Cmd> {
        match event {
            WalletEvent::Open => self.open_wallet(cx),
            WalletEvent::Close => {
                self.wallet_open = false;
                Vec::new()
            }
            WalletEvent::TopUp { amount_minor, card } => self.top_up(amount_minor, &card, cx),
        }
    }

    /// The gift bar's events.
    pub(super) fn on_gifts(&mut self, event: GiftsEvent, cx: &mut Cx, seen: &Seen) -> Vec<Cmd> {
        match event {
            GiftsEvent::ToggleBar => {
                self.gift_bar_open = !self.gift_bar_open && seen.room.is_some();
                Vec::new()
            }
            GiftsEvent::Send(gift) => self.send_gift(gift, cx, seen),
        }
    }

    /// The checkout's line (option, quantity, sale, locked price) as the
    /// buyer sees it now: what the sheet shows and what "Pay" sends.
    pub fn checkout_line(&self, seen: &Seen, now_ms: i64) -> Option<price::Line> {
        let c = self.checkout.as_ref()?;
        let p = seen.room_product(c.product)?;
        let sku = p.skus.iter().find(|k| Some(k.id) == c.sku)?;
        let sale = if c.sale_over {
            None
        } else {
            seen.open_sale(sku.id, now_ms)
        };
        price::line(sku, c.quantity, sale, c.price_now)
    }

    /// What the buyer can spend now: the balance less gifts not yet answered.
    pub fn spendable(&self) -> Option<Money> {
        self.wallet.as_ref().map(|w| Money {
            amount_minor: w.balance.amount_minor - self.gift_pending_minor,
            currency: w.balance.currency,
        })
    }

    pub fn default_address(&self) -> Option<&Address> {
        let list = self.addresses.as_ref()?;
        list.iter().find(|a| a.is_default).or_else(|| list.first())
    }

    /// The wallet, addresses and the outbox's payments the sheets need
    /// (after sign-in).
    pub(super) fn load(cx: &Cx) -> Vec<Cmd> {
        let mut cmds = vec![
            read_wallet(),
            Cmd::authed(Method::Get, "/v1/me/addresses", None, Then::Addresses),
        ];
        if let Some(user) = cx.session.user() {
            cmds.push(Cmd::Do(Effect::Store(StoreCommand::LoadPayments(user.id))));
        }
        cmds
    }

    /// Opens the checkout sheet for a product of the room on screen: the
    /// option on flash sale while one is open to this buyer, else the one
    /// bought last time if it is in stock, else the first in stock; one piece.
    fn open_checkout(&mut self, product: ProductId, now_ms: i64, seen: &Seen) {
        let Some(room) = seen.room.map(|r| r.id) else {
            return;
        };
        let Some(p) = seen.room_product(product) else {
            return;
        };
        let last = self.last_sku.get(&product).copied();
        // A sale on this product: its option is the one the shopper came for.
        let on_sale = p
            .skus
            .iter()
            .find(|k| seen.open_sale(k.id, now_ms).is_some());
        let sku = on_sale
            .or_else(|| p.skus.iter().find(|k| Some(k.id) == last && k.stock > 0))
            .or_else(|| p.skus.iter().find(|k| k.stock > 0))
            .or_else(|| p.skus.first())
            .map(|k| k.id);
        self.product = Some(product);
        self.checkout = Some(Checkout {
            room,
            product,
            sku,
            quantity: 1,
            step: Step::Choose,
            notice: None,
            pin_error: None,
            price_now: None,
            sale_over: false,
        });
    }

    pub(super) fn close_checkout(&mut self) {
        self.product = None;
        // A payment in flight goes on; its answer shows as a message.
        self.checkout = None;
    }

    fn select_sku(&mut self, sku: SkuId) {
        if let Some(c) = self.checkout.as_mut()
            && c.step != Step::Paying
        {
            c.sku = Some(sku);
            c.price_now = None;
            c.notice = None;
            c.step = Step::Choose;
        }
    }

    /// Units of the checkout's option the buyer can get now: the sale's
    /// stock while the sale on it is open (sale orders take from it), else
    /// the option's own.
    pub fn available(&self, c: &Checkout, seen: &Seen, now_ms: i64) -> Option<u32> {
        let p = seen.room_product(c.product)?;
        let k = p.skus.iter().find(|k| Some(k.id) == c.sku)?;
        Some(match seen.open_sale(k.id, now_ms) {
            Some(f) if !c.sale_over && c.price_now.is_none() => f.remaining_stock,
            _ => k.stock,
        })
    }

    fn set_quantity(&mut self, quantity: u32, now_ms: i64, seen: &Seen) {
        let stock = self
            .checkout
            .as_ref()
            .and_then(|c| self.available(c, seen, now_ms));
        if let Some(c) = self.checkout.as_mut()
            && c.step != Step::Paying
        {
            c.quantity = quantity.clamp(1, stock.unwrap_or(1).clamp(1, 99));
            c.notice = None;
            c.step = Step::Choose;
        }
    }

    /// "Buy now": the confirm step with the total (needs an account).
    pub(super) fn buy_now(&mut self, cx: &Cx, seen: &Seen) -> Vec<Cmd> {
        if cx.session.user().is_none() {
            return vec![Cmd::NeedAccount(Pending::BuyNow)];
        }
        let mut cmds = Vec::new();
        // Signing in from the sheet already asked for them: not twice.
        if (self.wallet.is_none() || self.addresses.is_none()) && !seen.wallet_asked {
            cmds.extend(Self::load(cx));
        }
        let sold_out = self
            .checkout
            .as_ref()
            .and_then(|c| self.available(c, seen, cx.now.as_millisecond()))
            .map(|n| n == 0);
        if let Some(c) = self.checkout.as_mut()
            && c.step == Step::Choose
        {
            if sold_out == Some(false) {
                c.notice = None;
                c.step = Step::Confirm;
            } else {
                c.notice = Some("Sold out — pick another option".into());
            }
        }
        cmds
    }

    fn back_to_choose(&mut self) {
        if let Some(c) = self.checkout.as_mut()
            && matches!(c.step, Step::Confirm | Step::Pin)
        {
            c.step = Step::Choose;
            c.pin_error = None;
        }
    }

    /// "Pay" (or "Top up and pay", or the PIN's "Confirm").
    fn pay(&mut self, pin: Option<String>, cx: &mut Cx, seen: &Seen) -> Vec<Cmd> {
        let now_ms = cx.now.as_millisecond();
        let Some(c) = self.checkout.clone() else {
            return Vec::new();
        };
        let Some(user) = cx.session.user().map(|u| u.id) else {
            return vec![Cmd::NeedAccount(Pending::BuyNow)];
        };
        if self
            .payment
            .as_ref()
            .is_some_and(|p| p.stage == Stage::Parked)
        {
            // "Try again" on a payment that got no answer: the same key.
            return self.send_payment();
        }
        if !matches!(c.step, Step::Confirm | Step::Pin) {
            return Vec::new(); // a second tap while paying does nothing
        }
        let (Some(wallet), Some(address)) = (self.wallet.clone(), self.default_address().cloned())
        else {
            self.sheet_notice(if self.addresses.as_ref().is_some_and(Vec::is_empty) {
                "Add a delivery address first"
            } else {
                "Still loading your wallet — try again in a moment"
            });
            return Self::load(cx);
        };
        let (Some(line), Some(p), Some(sku)) = (
            self.checkout_line(seen, now_ms),
            seen.room_product(c.product).cloned(),
            c.sku,
        ) else {
            return Vec::new();
        };
        let total = line.total;
        let pin = pin.filter(|p| !p.trim().is_empty());
        if total.amount_minor >= wallet.pin_threshold.amount_minor && pin.is_none() {
            if let Some(c) = self.checkout.as_mut() {
                c.step = Step::Pin;
            }
            return Vec::new();
        }
        let request = PlaceOrderRequest {
            product_id: c.product,
            sku_id: sku,
            quantity: c.quantity,
            address_id: address.id,
            expected_unit_price: line.unit,
            flash_sale_id: line.sale,
            video_delay_ms: u32::try_from(seen.behind_ms.unwrap_or(0).max(0)).unwrap_or(0),
            pin: None,
        };
        // A payment that got no definite answer is the same payment: same key.
        let key = match &self.payment {
            Some(p) if p.pending.request == request => p.pending.key.clone(),
            _ => cx.ids.key(cx.now),
        };
        let short = self
            .spendable()
            .is_some_and(|b| b.amount_minor < total.amount_minor);
        let pending = PendingPayment {
            key: key.clone(),
            user,
            room: c.room,
            request,
            product_name: p.name.clone(),
        };
        self.payment = Some(Payment {
            pending: pending.clone(),
            pin,
            // Noted for after the save: top up first.
            stage: if short {
                Stage::ToppingUp(None)
            } else {
                Stage::Saving
            },
            attempts: 0,
            top_up_key: None,
            topped_up: false,
        });
        if let Some(c) = self.checkout.as_mut() {
            c.step = Step::Paying;
            c.notice = None;
            c.pin_error = None;
        }
        vec![Cmd::Do(Effect::Store(StoreCommand::SavePayment(Box::new(
            pending,
        ))))]
    }

    fn sheet_notice(&mut self, text: &str) {
        if let Some(c) = self.checkout.as_mut() {
            c.notice = Some(text.to_owned());
        }
    }

    /// The outbox has the payment: now it may go.
    fn payment_saved(&mut self, key: &str, cx: &mut Cx) -> Vec<Cmd> {
        let Some(p) = self.payment.as_mut().filter(|p| p.pending.key == key) else {
            return Vec::new();
        };
        if p.stage == Stage::ToppingUp(None) {
            return self.start_top_up_for_payment(cx);
        }
        if p.stage == Stage::Saving {
            return self.send_payment();
        }
        Vec::new()
    }

    fn send_payment(&mut self) -> Vec<Cmd> {
        let Some(p) = self.payment.as_mut() else {
            return Vec::new();
        };
        p.stage = Stage::Sending;
        p.attempts += 1;
        let key = p.pending.key.clone();
        let body = serde_json::to_value(PlaceOrderRequest {
            pin: p.pin.clone(),
            ..p.pending.request.clone()
        })
        .ok();
        vec![Cmd::keyed(
            Method::Post,
            "/v1/orders",
            body,
            &key,
            Then::Paid { key: key.clone() },
        )]
    }

    /// Tops up what the payment lacks (whole units of the currency, at
    /// least 5), with the saved card.
    fn start_top_up_for_payment(&mut self, cx: &mut Cx) -> Vec<Cmd> {
        let Some(p) = self.payment.as_ref() else {
            return Vec::new();
        };
        let Ok(total) = p
            .pending
            .request
            .expected_unit_price
            .checked_mul(p.pending.request.quantity)
        else {
            return Vec::new();
        };
        let have = self.spendable().map_or(0, |b| b.amount_minor);
        let unit = 10_i64.pow(total.currency.minor_digits());
        let short = (total.amount_minor - have).max(1);
        let amount = ((short + unit - 1) / unit * unit).max(5 * unit);
        let request = TopUpRequest {
            amount: Money {
                amount_minor: amount,
                currency: total.currency,
            },
            card_number: if self.card.is_empty() {
                DEMO_CARD.to_owned()
            } else {
                self.card.clone()
            },
        };
        let fresh = cx.ids.key(cx.now);
        let Some(p) = self.payment.as_mut() else {
            return Vec::new();
        };
        let key = p.top_up_key.get_or_insert(fresh).clone();
        p.stage = Stage::ToppingUp(None);
        let body = serde_json::to_value(&request).ok();
        vec![Cmd::keyed(
            Method::Post,
            "/v1/wallet/top-ups",
            body,
            &key,
            Then::TopUp { for_payment: true },
        )]
    }

    fn poll_top_up(id: TopUpId) -> Vec<Cmd> {
        vec![Cmd::Timer {
            wake: Wake::TopUp(id),
            after_ms: TOP_UP_POLL_MS,
        }]
    }

    /// A pending top-up's timer rang: look at it again.
    pub(super) fn top_up_due(id: TopUpId) -> Vec<Cmd> {
        vec![Cmd::authed(
            Method::Get,
            format!("/v1/wallet/top-ups/{id}"),
            None,
            Then::TopUpStatus,
        )]
    }

    /// A payment's retry timer rang: send it again (or its top-up).
    pub(super) fn payment_retry_due(&mut self, key: &str, cx: &mut Cx) -> Vec<Cmd> {
        match &self.payment {
            Some(p) if p.pending.key == key && p.stage == Stage::Retrying => {
                if p.topped_up || p.top_up_key.is_none() {
                    self.send_payment()
                } else {
                    self.start_top_up_for_payment(cx)
                }
            }
            _ => Vec::new(),
        }
    }

    /// A top-up's answer: for "top up and pay" or for the wallet screen.
    fn top_up_answer(&mut self, top_up: &TopUp) -> Vec<Cmd> {
        let for_payment = self
            .payment
            .as_ref()
            .is_some_and(|p| matches!(p.stage, Stage::ToppingUp(_)));
        let for_wallet = self
            .top_up
            .as_ref()
            .is_some_and(|t| t.id.is_none_or(|id| id == top_up.id));
        match top_up.status {
            TopUpStatus::Pending => {
                if for_payment && let Some(p) = self.payment.as_mut() {
                    p.stage = Stage::ToppingUp(Some(top_up.id));
                } else if for_wallet && let Some(t) = self.top_up.as_mut() {
                    t.id = Some(top_up.id);
                }
                Self::poll_top_up(top_up.id)
            }
            TopUpStatus::Succeeded => {
                let mut cmds = vec![read_wallet()];
                if for_payment {
                    if let Some(w) = self.wallet.as_mut() {
                        // Until the fresh wallet arrives: the credit is there.
                        w.balance.amount_minor += top_up.amount.amount_minor;
                    }
                    if let Some(p) = self.payment.as_mut() {
                        p.topped_up = true;
                    }
                    cmds.extend(self.send_payment());
                } else if for_wallet {
                    self.top_up = None;
                    self.wallet_notice = Some(format!("Added {}", format(&top_up.amount)));
                    cmds.push(Cmd::authed(
                        Method::Get,
                        "/v1/wallet/entries",
                        None,
                        Then::History,
                    ));
                }
                cmds
            }
            TopUpStatus::Declined => {
                let why = top_up
                    .decline_reason
                    .clone()
                    .unwrap_or_else(|| "the card was declined".into());
                let text = format!("Top-up declined: {why} — nothing was charged");
                if for_payment {
                    return self.payment_refused(&text, Step::Confirm);
                }
                self.top_up = None;
                self.wallet_notice = Some(format!(
                    "Top-up declined: {why} — try another card. Nothing was charged"
                ));
                Vec::new()
            }
        }
    }

    /// The payment ended without an order: the sheet says why and goes back
    /// to `step`; the outbox forgets it (nothing was charged).
    fn payment_refused(&mut self, text: &str, step: Step) -> Vec<Cmd> {
        let Some(p) = self.payment.take() else {
            return Vec::new();
        };
        let mut cmds = vec![Cmd::Do(Effect::Store(StoreCommand::ResolvePayment(
            p.pending.key,
        )))];
        match self.checkout.as_mut() {
            Some(c) => {
                c.step = step;
                c.notice = Some(text.to_owned());
            }
            None => cmds.push(Cmd::Say(text.to_owned())),
        }
        cmds
    }

    fn paid(&mut self, order: &Order) -> Vec<Cmd> {
        if let (Some(w), Some(after)) = (self.wallet.as_mut(), order.balance_after) {
            w.balance = after;
        }
        self.last_sku.insert(order.product_id, order.sku_id);
        if self
            .checkout
            .as_ref()
            .is_some_and(|c| c.product == order.product_id)
        {
            self.close_checkout();
        }
        let key = self
            .payment
            .take()
            .map(|p| p.pending.key)
            .unwrap_or_default();
        vec![
            Cmd::Say(format!(
                "Paid {} · {} is on its way",
                format(&order.total),
                order.product_name
            )),
            Cmd::Do(Effect::Store(StoreCommand::ResolvePayment(key))),
        ]
    }

    /// The answer to `POST /v1/orders` for the payment in flight.
    fn payment_answer(
        &mut self,
        key: &str,
        result: Result<Order, HttpFailure>,
        cx: &mut Cx,
    ) -> Vec<Cmd> {
        if self.recovering.contains_key(key) {
            return self.recovered(key, result);
        }
        if self.payment.as_ref().is_none_or(|p| p.pending.key != key) {
            return Vec::new();
        }
        let failure = match result {
            Ok(order) => return self.paid(&order),
            Err(HttpFailure::Unreadable(_)) => {
                // Paid (2xx) but unreadable: the order exists; keep the
                // outbox row so a later replay shows it.
                self.payment = None;
                self.close_checkout();
                return vec![
                    Cmd::Say("Paid — the order will show in your orders".into()),
                    read_wallet(),
                ];
            }
            Err(f) => f,
        };
        let problem = problem_of(&failure).cloned();
        let code = problem.as_ref().map(|p| p.code);
        match code {
            Some(ErrorCode::InsufficientFunds) => {
                let topped = self.payment.as_ref().is_some_and(|p| p.topped_up);
                if topped {
                    return self.payment_refused(
                        "Still not enough in your wallet — nothing was charged",
                        Step::Confirm,
                    );
                }
                if let Some(w) = self.wallet.as_mut()
                    && let Some(p) = &problem
                    && let Some(have) = p.price
                {
                    w.balance = have;
                }
                // "Top up and pay": the same payment, after a top-up.
                self.start_top_up_for_payment(cx)
            }
            Some(ErrorCode::PinRequired) => {
                let Some(p) = self.payment.take() else {
                    return Vec::new();
                };
                let mut cmds = vec![Cmd::Do(Effect::Store(StoreCommand::ResolvePayment(
                    p.pending.key,
                )))];
                if let Some(c) = self.checkout.as_mut() {
                    c.step = Step::Pin;
                    c.pin_error = problem.as_ref().map(pin_words);
                } else {
                    cmds.push(Cmd::Say("Confirm the payment with your PIN".into()));
                }
                cmds
            }
            Some(code @ (ErrorCode::PriceChanged | ErrorCode::SaleEnded)) => {
                // The server's price now: the total shows it, "Pay" uses it.
                let price = problem.as_ref().and_then(|p| p.price);
                let ended = code == ErrorCode::SaleEnded;
                if let Some(c) = self.checkout.as_mut() {
                    c.price_now = price;
                    c.sale_over |= ended;
                }
                let text = match (ended, price) {
                    (false, Some(m)) => format!(
                        "The price is now {} — check and pay again. Nothing was charged",
                        format(&m)
                    ),
                    (false, None) => {
                        "The price changed — check and pay again. Nothing was charged".to_owned()
                    }
                    (true, Some(m)) => format!(
                        "The flash sale has ended — the price is now {}. Nothing was charged",
                        format(&m)
                    ),
                    (true, None) => "The flash sale has ended — nothing was charged".to_owned(),
                };
                self.payment_refused(&text, Step::Confirm)
            }
            Some(ErrorCode::OutOfStock) => {
                let left = problem.as_ref().and_then(|p| p.stock).unwrap_or(0);
                let text = if left == 0 {
                    "Sold out — nothing was charged".to_owned()
                } else {
                    format!("Only {left} left — lower the quantity. Nothing was charged")
                };
                self.payment_refused(&text, Step::Choose)
            }
            Some(ErrorCode::PaymentDeclined) => {
                self.payment_refused("Payment declined — nothing was charged", Step::Confirm)
            }
            _ if definite(&failure) => {
                let text = problem.map_or_else(
                    || "The payment did not go through — nothing was charged".to_owned(),
                    |p| format!("{} — nothing was charged", p.detail),
                );
                self.payment_refused(&text, Step::Confirm)
            }
            // No answer, a 5xx, or "still running": the same payment again.
            _ => self.retry_payment(),
        }
    }

    fn retry_payment(&mut self) -> Vec<Cmd> {
        let Some(p) = self.payment.as_mut() else {
            return Vec::new();
        };
        let n = p.attempts as usize;
        if n > PAY_RETRY_MS.len() {
            p.stage = Stage::Parked;
            let text =
                "No connection — your payment is saved and will finish when you're back online";
            // Parked: "Try again", or the next start, sends it (same key).
            return match self.checkout.as_mut() {
                Some(c) => {
                    c.notice = Some(text.into());
                    Vec::new()
                }
                None => vec![Cmd::Say(text.into())],
            };
        }
        p.stage = Stage::Retrying;
        let key = p.pending.key.clone();
        if let Some(c) = self.checkout.as_mut() {
            c.notice = Some("Connection lost — retrying your payment…".into());
        }
        vec![Cmd::Timer {
            wake: Wake::PayRetry(key),
            after_ms: PAY_RETRY_MS[n.saturating_sub(1).min(PAY_RETRY_MS.len() - 1)],
        }]
    }

    /// Payments the outbox still had (the app stopped before an answer):
    /// sent again with their keys; the server replays what it already did.
    fn payments_loaded(&mut self, payments: Vec<PendingPayment>, cx: &Cx) -> Vec<Cmd> {
        let me = cx.session.user().map(|u| u.id);
        let mut cmds = Vec::new();
        for p in payments {
            if Some(p.user) != me
                || self.recovering.contains_key(&p.key)
                || self
                    .payment
                    .as_ref()
                    .is_some_and(|q| q.pending.key == p.key)
            {
                continue;
            }
            let key = p.key.clone();
            let body = serde_json::to_value(&p.request).ok();
            self.recovering.insert(key.clone(), p);
            cmds.push(Cmd::keyed(
                Method::Post,
                "/v1/orders",
                body,
                &key,
                Then::Paid { key: key.clone() },
            ));
        }
        cmds
    }

    fn recovered(&mut self, key: &str, result: Result<Order, HttpFailure>) -> Vec<Cmd> {
        let Some(p) = self.recovering.remove(key) else {
            return Vec::new();
        };
        let said = match result {
            Ok(order) => {
                if let (Some(w), Some(after)) = (self.wallet.as_mut(), order.balance_after) {
                    w.balance = after;
                }
                format!(
                    "Your payment for {} went through ({})",
                    order.product_name,
                    format(&order.total)
                )
            }
            // The server took it (2xx): the order shows in the orders.
            Err(HttpFailure::Unreadable(_)) => format!(
                "Your payment for {} went through — it is in your orders",
                p.product_name
            ),
            Err(f) if definite(&f) => {
                let why = problem_of(&f).map_or_else(String::new, |pr| format!(" ({})", pr.detail));
                format!(
                    "Your earlier payment for {} did not go through{why} — nothing was charged",
                    p.product_name
                )
            }
            // Still no answer: it stays in the outbox for the next start.
            Err(_) => return Vec::new(),
        };
        vec![
            Cmd::Say(said),
            Cmd::Do(Effect::Store(StoreCommand::ResolvePayment(p.key))),
        ]
    }

    // ----- the wallet screen -----

    pub(super) fn open_wallet(&mut self, cx: &Cx) -> Vec<Cmd> {
        if cx.session.user().is_none() {
            return vec![Cmd::NeedAccount(Pending::Wallet)];
        }
        self.wallet_open = true;
        self.wallet_notice = None;
        vec![
            read_wallet(),
            Cmd::authed(Method::Get, "/v1/wallet/entries", None, Then::History),
        ]
    }

    fn top_up(&mut self, amount_minor: i64, card: &str, cx: &mut Cx) -> Vec<Cmd> {
        if self.top_up.as_ref().is_some_and(|t| !t.stalled) {
            return Vec::new(); // one at a time
        }
        let currency = self
            .wallet
            .as_ref()
            .map_or(livecart_protocol::Currency::USD, |w| w.balance.currency);
        let card = match card_number(card) {
            Ok(card) => card,
            Err(why) => {
                self.wallet_notice = Some(why.to_owned());
                return Vec::new();
            }
        };
        self.card.clone_from(&card);
        let request = TopUpRequest {
            amount: Money {
                amount_minor,
                currency,
            },
            card_number: card,
        };
        // The same top-up after no answer keeps its key: asked once.
        let key = match self.top_up.take() {
            Some(t) if t.request == request => t.key,
            _ => cx.ids.key(cx.now),
        };
        self.top_up = Some(WalletTopUp {
            key: key.clone(),
            request: request.clone(),
            id: None,
            retried: false,
            stalled: false,
        });
        self.wallet_notice = Some("Waiting for your bank…".into());
        let body = serde_json::to_value(&request).ok();
        vec![Cmd::keyed(
            Method::Post,
            "/v1/wallet/top-ups",
            body,
            &key,
            Then::TopUp { for_payment: false },
        )]
    }

    // ----- the gift bar -----

    /// One tap on a gift: one paid request, in the running combo if the last
    /// tap of this gift was under 3 s ago.
    pub(super) fn send_gift(&mut self, gift: GiftId, cx: &mut Cx, seen: &Seen) -> Vec<Cmd> {
        if cx.session.user().is_none() {
            return vec![Cmd::NeedAccount(Pending::Gift(gift))];
        }
        let now_ms = cx.now.as_millisecond();
        let (Some(room), Some(g)) = (
            seen.room.map(|r| r.id),
            self.catalog.iter().find(|g| g.id == gift).cloned(),
        ) else {
            return Vec::new();
        };
        let cost = i64::from(g.coins);
        // With the balance not known yet the tap still goes: the server
        // refuses what the wallet cannot pay.
        if self.spendable().is_some_and(|b| b.amount_minor < cost) {
            return vec![Cmd::Say(format!(
                "Not enough coins for a {} — top up in your wallet",
                g.name
            ))];
        }
        let combo = match self.combo.as_mut() {
            Some(c) if c.gift == gift && now_ms - c.last_tap_ms < COMBO_WINDOW_MS => {
                c.taps += 1;
                c.last_tap_ms = now_ms;
                c.clone()
            }
            _ => {
                let c = Combo {
                    gift,
                    id: cx.ids.v7(cx.now),
                    taps: 1,
                    last_tap_ms: now_ms,
                };
                self.combo = Some(c.clone());
                c
            }
        };
        let request = SendGiftRequest {
            gift_id: gift,
            count: 1,
            combo_id: combo.id,
        };
        let key = cx.ids.key(cx.now);
        self.gift_pending_minor += cost;
        self.gift_seq += 1;
        self.gifts_in_flight.insert(
            key.clone(),
            GiftSend {
                room,
                request: request.clone(),
                cost,
                retried: false,
                seq: self.gift_seq,
            },
        );
        let mut cmds = Vec::new();
        if self.wallet.is_none() {
            cmds.push(read_wallet());
        }
        let body = serde_json::to_value(&request).ok();
        cmds.push(Cmd::keyed(
            Method::Post,
            format!("/v1/rooms/{room}/gifts"),
            body,
            &key,
            Then::Gift { key: key.clone() },
        ));
        cmds
    }

    fn gift_answer(&mut self, key: &str, result: Result<GiftReceipt, HttpFailure>) -> Vec<Cmd> {
        let Some(send) = self.gifts_in_flight.remove(key) else {
            return Vec::new();
        };
        match result {
            Ok(receipt) => {
                self.gift_pending_minor -= send.cost;
                if let Some(w) = self.wallet.as_mut() {
                    // Answers may cross: a later tap's balance is the newer.
                    if send.seq > self.gift_applied {
                        self.gift_applied = send.seq;
                        w.balance = receipt.balance_after;
                    }
                }
                Vec::new()
            }
            Err(HttpFailure::Unreadable(_)) => {
                // Sent (2xx), but its receipt is unreadable: the balance
                // comes from the wallet instead.
                self.gift_pending_minor -= send.cost;
                vec![read_wallet()]
            }
            Err(f) if !definite(&f) && !send.retried => {
                // Once more, same key: charged once whatever happened.
                let body = serde_json::to_value(&send.request).ok();
                let room = send.room;
                self.gifts_in_flight.insert(
                    key.to_owned(),
                    GiftSend {
                        retried: true,
                        ..send
                    },
                );
                vec![Cmd::keyed(
                    Method::Post,
                    format!("/v1/rooms/{room}/gifts"),
                    body,
                    key,
                    Then::Gift {
                        key: key.to_owned(),
                    },
                )]
            }
            Err(f) => {
                self.gift_pending_minor -= send.cost;
                vec![Cmd::Say(match problem_of(&f) {
                    Some(p) if p.code == ErrorCode::InsufficientFunds => {
                        "Not enough coins — top up in your wallet".to_owned()
                    }
                    Some(p) => format!("The gift was not sent: {}", p.detail),
                    None => "The gift was not sent — no connection".to_owned(),
                })]
            }
        }
    }

    /// Answers of the shop's authenticated calls.
    pub(super) fn answered(&mut self, reply: Reply, cx: &mut Cx) -> Vec<Cmd> {
        match reply {
            Reply::Wallet(Ok(w)) => self.wallet = Some(w),
            Reply::Addresses(Ok(list)) => self.addresses = Some(list.addresses),
            Reply::History(Ok(h)) => self.history = Some(h.entries),
            Reply::Wallet(Err(HttpFailure::Unreadable(_))) => {
                return vec![Cmd::Say(unreadable("Your wallet"))];
            }
            Reply::Addresses(Err(HttpFailure::Unreadable(_))) => {
                return vec![Cmd::Say(unreadable("Your addresses"))];
            }
            Reply::History(Err(HttpFailure::Unreadable(_))) => {
                self.wallet_notice = Some(unreadable("Your wallet's history"));
            }
            Reply::Paid { key, result } => return self.payment_answer(&key, result, cx),
            Reply::Gift { key, result } => return self.gift_answer(&key, result),
            Reply::TopUp { result: Ok(t), .. } | Reply::TopUpStatus(Ok(t)) => {
                return self.top_up_answer(&t);
            }
            Reply::TopUp {
                for_payment,
                result: Err(HttpFailure::Unreadable(_)),
            } => return self.top_up_unreadable(for_payment),
            Reply::TopUpStatus(Err(HttpFailure::Unreadable(_))) => {
                let for_payment = self
                    .payment
                    .as_ref()
                    .is_some_and(|p| matches!(p.stage, Stage::ToppingUp(_)));
                return self.top_up_unreadable(for_payment);
            }
            Reply::TopUpStatus(Err(_)) => {
                // Look again shortly: the top-up goes on server-side.
                let id = match (&self.payment, &self.top_up) {
                    (
                        Some(Payment {
                            stage: Stage::ToppingUp(Some(id)),
                            ..
                        }),
                        _,
                    )
                    | (_, Some(WalletTopUp { id: Some(id), .. })) => Some(*id),
                    _ => None,
                };
                return id.map_or_else(Vec::new, Self::poll_top_up);
            }
            Reply::TopUp {
                for_payment: true,
                result: Err(f),
            } => {
                return if definite(&f) {
                    let text = problem_of(&f).map_or_else(
                        || "The top-up did not go through — nothing was charged".to_owned(),
                        |p| format!("Top-up refused: {} — nothing was charged", p.detail),
                    );
                    self.payment_refused(&text, Step::Confirm)
                } else {
                    self.retry_payment()
                };
            }
            Reply::TopUp {
                for_payment: false,
                result: Err(f),
            } => return self.wallet_top_up_failed(&f),
            // Background loads that failed keep what the screens show; the
            // next sheet or sign-in asks again.
            Reply::Wallet(Err(_))
            | Reply::Addresses(Err(_))
            | Reply::History(Err(_))
            | Reply::Nothing
            | Reply::Following(_)
            | Reply::Followed { .. }
            | Reply::Reported(_)
            | Reply::OrderChanged { .. } => {}
        }
        Vec::new()
    }

    /// A top-up the server took (2xx) whose answer could not be read: how it
    /// ended is in the wallet, which is loaded again.
    fn top_up_unreadable(&mut self, for_payment: bool) -> Vec<Cmd> {
        let text = unreadable("The top-up's answer");
        let mut cmds = if for_payment {
            self.payment_refused(&format!("{text} — check your wallet"), Step::Confirm)
        } else {
            self.top_up = None;
            self.wallet_notice = Some(text);
            Vec::new()
        };
        cmds.push(read_wallet());
        cmds
    }

    /// The wallet screen's top-up failed: a refusal is said; no answer is
    /// tried once more with the same key.
    fn wallet_top_up_failed(&mut self, f: &HttpFailure) -> Vec<Cmd> {
        if definite(f) {
            self.top_up = None;
            self.wallet_notice = Some(match problem_of(f) {
                Some(p) if p.code == ErrorCode::PaymentDeclined => format!(
                    "Top-up declined: {} — try another card. Nothing was charged",
                    p.detail
                ),
                Some(p) => format!("The top-up did not go through: {}", p.detail),
                None => "The top-up did not go through".to_owned(),
            });
            Vec::new()
        } else if let Some(t) = self.top_up.as_mut() {
            if t.retried {
                t.stalled = true;
                self.wallet_notice = Some("No connection — tap top up to try again".into());
                return Vec::new();
            }
            t.retried = true;
            let t = t.clone();
            // Same key again: the provider is asked once.
            self.wallet_notice = Some("Connection lost — trying again…".into());
            let body = serde_json::to_value(&t.request).ok();
            vec![Cmd::keyed(
                Method::Post,
                "/v1/wallet/top-ups",
                body,
                &t.key,
                Then::TopUp { for_payment: false },
            )]
        } else {
            Vec::new()
        }
    }

    /// The gift catalogue (public); without it the gift bar stays empty.
    pub(super) fn catalog_loaded(&mut self, result: Result<GiftCatalog, HttpFailure>) -> Vec<Cmd> {
        match result {
            Ok(c) => {
                let mut gifts = c.gifts;
                gifts.sort_by_key(|g| g.coins);
                self.catalog = gifts;
                Vec::new()
            }
            Err(HttpFailure::Unreadable(_)) => vec![Cmd::Say(unreadable("The gifts"))],
            Err(_) => Vec::new(),
        }
    }
}
