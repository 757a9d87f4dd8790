//! Buying: the bag, the checkout sheet (three taps from the pinned card to a
//! paid order), the payment outbox and "top up and pay". It spends from the
//! wallet (app/wallet.rs), which it is handed.
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
//! Size: one payment's life — the sheet's steps, the outbox, its retries,
//! its top-up, the server's refusals each in the buyer's words, and the
//! payments a restart finishes — read top to bottom in one place.

use super::answer::{HttpFailure, Reply, Then, definite, problem_of, unreadable};
use super::cmd::{Cmd, Cx, Pending, Wake};
use super::wallet::{DEMO_CARD, Funds, declined_why};
use crate::effects::{Effect, Method, PendingPayment, StoreCommand};
use crate::price;
use crate::room::LiveRoom;
use livecart_protocol::commerce::{
    Address, Order, PlaceOrderRequest, TopUp, TopUpRequest, TopUpStatus,
};
use livecart_protocol::rest::{FlashSale, Product};
use livecart_protocol::{ErrorCode, Money, Problem, ProductId, RoomId, SkuId, TopUpId};
use std::collections::HashMap;

/// Retries of a payment that got no answer, and their delays.
const PAY_RETRY_MS: [u64; 4] = [1_000, 2_000, 4_000, 8_000];

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

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Shop {
    /// The room's products (the bag) are showing.
    pub bag_open: bool,
    /// The product whose detail (the checkout sheet) is open.
    pub product: Option<ProductId>,
    pub checkout: Option<Checkout>,
    pub payment: Option<Payment>,
    pub addresses: Option<Vec<Address>>,
    /// The SKU last bought, per product (preselected next time).
    pub last_sku: HashMap<ProductId, SkuId>,
    /// Payments from the outbox being finished after a restart.
    recovering: HashMap<String, PendingPayment>,
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

fn format(m: &Money) -> String {
    crate::view::format::price(m)
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

impl Shop {
    /// A shop for a signed-out viewer: what was the user's goes; the open
    /// bag and product stay (they belong to the room, not the user).
    pub(super) fn forget(&mut self) {
        *self = Shop {
            bag_open: self.bag_open,
            product: self.product,
            ..Shop::default()
        };
    }

    /// The bag's and the checkout sheet's events.
    pub(super) fn on_shop(
        &mut self,
        event: ShopEvent,
        funds: &mut Funds,
        cx: &mut Cx,
        seen: &Seen,
    ) -> Vec<Cmd> {
        let now_ms = cx.now.as_millisecond();
        match event {
            ShopEvent::OpenBag => self.bag_open = seen.room.is_some(),
            ShopEvent::CloseBag => self.bag_open = false,
            ShopEvent::OpenProduct(id) => self.open_checkout(id, now_ms, seen),
            ShopEvent::CloseProduct => self.close_checkout(),
            ShopEvent::SelectSku(sku) => self.select_sku(sku),
            ShopEvent::SetQuantity(n) => self.set_quantity(n, now_ms, seen),
            ShopEvent::BuyNow => return self.buy_now(funds, cx, seen),
            ShopEvent::BackToChoose => self.back_to_choose(),
            ShopEvent::Pay { pin } => return self.pay(pin, funds, cx, seen),
            ShopEvent::PaymentSaved(key) => return self.payment_saved(&key, funds, cx),
            ShopEvent::PaymentsLoaded(list) => return self.payments_loaded(list, cx),
        }
        Vec::new()
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

    pub fn default_address(&self) -> Option<&Address> {
        let list = self.addresses.as_ref()?;
        list.iter().find(|a| a.is_default).or_else(|| list.first())
    }

    /// The wallet, addresses and the outbox's payments the sheets need
    /// (after sign-in).
    pub(super) fn load(cx: &Cx) -> Vec<Cmd> {
        let mut cmds = vec![
            Funds::read(),
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
    pub(super) fn buy_now(&mut self, funds: &Funds, cx: &Cx, seen: &Seen) -> Vec<Cmd> {
        if cx.session.user().is_none() {
            return vec![Cmd::NeedAccount(Pending::BuyNow)];
        }
        let mut cmds = Vec::new();
        // Signing in from the sheet already asked for them: not twice.
        if (funds.wallet.is_none() || self.addresses.is_none()) && !seen.wallet_asked {
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
    fn pay(
        &mut self,
        pin: Option<String>,
        funds: &mut Funds,
        cx: &mut Cx,
        seen: &Seen,
    ) -> Vec<Cmd> {
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
        let (Some(wallet), Some(address)) = (funds.wallet.clone(), self.default_address().cloned())
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
        let short = funds
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
    fn payment_saved(&mut self, key: &str, funds: &Funds, cx: &mut Cx) -> Vec<Cmd> {
        let Some(p) = self.payment.as_mut().filter(|p| p.pending.key == key) else {
            return Vec::new();
        };
        if p.stage == Stage::ToppingUp(None) {
            return self.start_top_up_for_payment(funds, cx);
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
    fn start_top_up_for_payment(&mut self, funds: &Funds, cx: &mut Cx) -> Vec<Cmd> {
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
        let have = funds.spendable().map_or(0, |b| b.amount_minor);
        let unit = 10_i64.pow(total.currency.minor_digits());
        let short = (total.amount_minor - have).max(1);
        let amount = ((short + unit - 1) / unit * unit).max(5 * unit);
        let request = TopUpRequest {
            amount: Money {
                amount_minor: amount,
                currency: total.currency,
            },
            card_number: if funds.card.is_empty() {
                DEMO_CARD.to_owned()
            } else {
                funds.card.clone()
            },
        };
        let fresh = cx.ids.key(cx.now);
        let Some(p) = self.payment.as_mut() else {
            return Vec::new();
        };
        let key = p.top_up_key.get_or_insert(fresh).clone();
        p.stage = Stage::ToppingUp(None);
        vec![Funds::send_top_up(&request, &key, true)]
    }

    /// A payment's retry timer rang: send it again (or its top-up).
    pub(super) fn payment_retry_due(&mut self, key: &str, funds: &Funds, cx: &mut Cx) -> Vec<Cmd> {
        match &self.payment {
            Some(p) if p.pending.key == key && p.stage == Stage::Retrying => {
                if p.topped_up || p.top_up_key.is_none() {
                    self.send_payment()
                } else {
                    self.start_top_up_for_payment(funds, cx)
                }
            }
            _ => Vec::new(),
        }
    }

    /// A payment's top-up is on its way (its answers are the shop's).
    pub(super) fn topping_up(&self) -> bool {
        self.payment
            .as_ref()
            .is_some_and(|p| matches!(p.stage, Stage::ToppingUp(_)))
    }

    /// A top-up's answer for "top up and pay".
    fn top_up_answer(&mut self, top_up: &TopUp, funds: &mut Funds) -> Vec<Cmd> {
        match top_up.status {
            TopUpStatus::Pending => {
                if let Some(p) = self.payment.as_mut() {
                    p.stage = Stage::ToppingUp(Some(top_up.id));
                }
                Funds::poll(top_up.id)
            }
            TopUpStatus::Succeeded => {
                let mut cmds = vec![Funds::read()];
                funds.credit(&top_up.amount);
                if let Some(p) = self.payment.as_mut() {
                    p.topped_up = true;
                }
                cmds.extend(self.send_payment());
                cmds
            }
            TopUpStatus::Declined => {
                let why = declined_why(top_up);
                let text = format!("Top-up declined: {why} — nothing was charged");
                self.payment_refused(&text, Step::Confirm)
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

    fn paid(&mut self, order: &Order, funds: &mut Funds) -> Vec<Cmd> {
        if let Some(after) = order.balance_after {
            funds.set_balance(after);
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
        funds: &mut Funds,
        cx: &mut Cx,
    ) -> Vec<Cmd> {
        if self.recovering.contains_key(key) {
            return self.recovered(key, result, funds);
        }
        if self.payment.as_ref().is_none_or(|p| p.pending.key != key) {
            return Vec::new();
        }
        let failure = match result {
            Ok(order) => return self.paid(&order, funds),
            Err(HttpFailure::Unreadable(_)) => {
                // Paid (2xx) but unreadable: the order exists; keep the
                // outbox row so a later replay shows it.
                self.payment = None;
                self.close_checkout();
                return vec![
                    Cmd::Say("Paid — the order will show in your orders".into()),
                    Funds::read(),
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
                if let Some(have) = problem.as_ref().and_then(|p| p.price) {
                    funds.set_balance(have);
                }
                // "Top up and pay": the same payment, after a top-up.
                self.start_top_up_for_payment(funds, cx)
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

    fn recovered(
        &mut self,
        key: &str,
        result: Result<Order, HttpFailure>,
        funds: &mut Funds,
    ) -> Vec<Cmd> {
        let Some(p) = self.recovering.remove(key) else {
            return Vec::new();
        };
        let said = match result {
            Ok(order) => {
                if let Some(after) = order.balance_after {
                    funds.set_balance(after);
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

    /// Answers of the shop's authenticated calls, and the top-ups': a
    /// payment's are the shop's, the others go to the wallet screen.
    pub(super) fn answered(&mut self, reply: Reply, funds: &mut Funds, cx: &mut Cx) -> Vec<Cmd> {
        match reply {
            Reply::Addresses(Ok(list)) => self.addresses = Some(list.addresses),
            Reply::Addresses(Err(HttpFailure::Unreadable(_))) => {
                return vec![Cmd::Say(unreadable("Your addresses"))];
            }
            Reply::Paid { key, result } => return self.payment_answer(&key, result, funds, cx),
            Reply::TopUp { result: Ok(t), .. } | Reply::TopUpStatus(Ok(t)) => {
                return if self.topping_up() {
                    self.top_up_answer(&t, funds)
                } else {
                    funds.top_up_answer(&t)
                };
            }
            Reply::TopUp {
                for_payment: true,
                result: Err(HttpFailure::Unreadable(_)),
            } => return self.top_up_unreadable(),
            Reply::TopUpStatus(Err(HttpFailure::Unreadable(_))) if self.topping_up() => {
                return self.top_up_unreadable();
            }
            Reply::TopUpStatus(Err(HttpFailure::Status { .. } | HttpFailure::Network(_))) => {
                // Look again shortly: the top-up goes on server-side.
                let id = match &self.payment {
                    Some(Payment {
                        stage: Stage::ToppingUp(Some(id)),
                        ..
                    }) => Some(*id),
                    _ => funds.top_up_id(),
                };
                return id.map_or_else(Vec::new, Funds::poll);
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
            // The wallet screen's top-up.
            reply @ (Reply::TopUp { .. } | Reply::TopUpStatus(_)) => return funds.answered(reply),
            // A background load that failed keeps what the sheet shows; the
            // next sheet or sign-in asks again.
            Reply::Addresses(Err(_))
            | Reply::Nothing
            // The app hands these to the wallet and the gift bar.
            | Reply::Wallet(_)
            | Reply::History(_)
            | Reply::Gift { .. }
            | Reply::Following(_)
            | Reply::Followed { .. }
            | Reply::Reported(_)
            | Reply::OrderChanged { .. } => {}
        }
        Vec::new()
    }

    /// A payment's top-up the server took (2xx) whose answer could not be
    /// read: how it ended is in the wallet, which is loaded again.
    fn top_up_unreadable(&mut self) -> Vec<Cmd> {
        let text = unreadable("The top-up's answer");
        let mut cmds = self.payment_refused(&format!("{text} — check your wallet"), Step::Confirm);
        cmds.push(Funds::read());
        cmds
    }
}
