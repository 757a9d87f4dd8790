//! The wallet ([`Funds`]): the balance the server last sent, the coins held
//! for gifts not yet answered, the wallet screen with its history, and the
//! screen's top-ups. The checkout (app/shop.rs) and the gift bar
//! (app/gifts.rs) spend from it: they are handed it, and it names neither.
//!
//! A part of the app that owns its state: it answers each event with
//! [`Cmd`]s (app/cmd.rs) and reads the session and the ids through a [`Cx`];
//! it never names the app.

use super::answer::{HttpFailure, Reply, Then, definite, problem_of, unreadable};
use super::cmd::{Cmd, Cx, Pending, Wake};
use crate::effects::Method;
use crate::view::format::price;
use livecart_protocol::commerce::{TopUp, TopUpRequest, TopUpStatus, Wallet, WalletEntry};
use livecart_protocol::{Currency, ErrorCode, Money, TopUpId};

/// The demo provider's card that always succeeds (the app's saved card).
pub const DEMO_CARD: &str = "4242 4242 4242 4242";
/// How often a pending top-up is looked at.
const TOP_UP_POLL_MS: u64 = 500;

/// The wallet screen.
#[derive(Debug, Clone, PartialEq)]
pub enum WalletEvent {
    Open,
    Close,
    TopUp { amount_minor: i64, card: String },
}

/// The wallet screen's top-up.
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
pub struct Funds {
    /// The last wallet the server sent (balance, PIN threshold).
    pub wallet: Option<Wallet>,
    /// Coins of gifts sent and not yet answered (shown as spent).
    pub held_minor: i64,
    /// The wallet screen is showing.
    pub open: bool,
    pub history: Option<Vec<WalletEntry>>,
    pub top_up: Option<WalletTopUp>,
    /// What the wallet screen says about the last top-up.
    pub notice: Option<String>,
    /// The card the last top-up used ("top up and pay" uses it too).
    pub card: String,
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

/// Why the provider declined a top-up, in its words or ours.
pub(super) fn declined_why(top_up: &TopUp) -> String {
    top_up
        .decline_reason
        .clone()
        .unwrap_or_else(|| "the card was declined".into())
}

impl Funds {
    /// The wallet read a sheet needs.
    pub(super) fn read() -> Cmd {
        Cmd::authed(Method::Get, "/v1/wallet", None, Then::Wallet)
    }

    /// A wallet for a signed-out viewer: nothing of the user's is kept.
    pub(super) fn forget(&mut self) {
        *self = Funds {
            card: DEMO_CARD.to_owned(),
            ..Funds::default()
        };
    }

    /// The wallet screen's events.
    pub(super) fn on_wallet(&mut self, event: WalletEvent, cx: &mut Cx) -> Vec<Cmd> {
        match event {
            WalletEvent::Open => self.open_screen(cx),
            WalletEvent::Close => {
                self.open = false;
                Vec::new()
            }
            WalletEvent::TopUp { amount_minor, card } => self.top_up(amount_minor, &card, cx),
        }
    }

    /// What the buyer can spend now: the balance less gifts not yet answered.
    pub fn spendable(&self) -> Option<Money> {
        self.wallet.as_ref().map(|w| Money {
            amount_minor: w.balance.amount_minor - self.held_minor,
            currency: w.balance.currency,
        })
    }

    /// The balance as the server says it is now (a receipt, an order, the
    /// user's socket); nothing while the wallet is not loaded.
    pub(super) fn set_balance(&mut self, balance: Money) {
        if let Some(w) = self.wallet.as_mut() {
            w.balance = balance;
        }
    }

    /// A top-up for a payment went through: until the fresh wallet arrives,
    /// the credit is there.
    pub(super) fn credit(&mut self, amount: &Money) {
        if let Some(w) = self.wallet.as_mut() {
            w.balance.amount_minor += amount.amount_minor;
        }
    }

    /// The top-up the wallet screen is waiting for, once the provider gave
    /// it an id.
    pub(super) fn top_up_id(&self) -> Option<TopUpId> {
        self.top_up.as_ref().and_then(|t| t.id)
    }

    pub(super) fn open_screen(&mut self, cx: &Cx) -> Vec<Cmd> {
        if cx.session.user().is_none() {
            return vec![Cmd::NeedAccount(Pending::Wallet)];
        }
        self.open = true;
        self.notice = None;
        vec![
            Self::read(),
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
            .map_or(Currency::USD, |w| w.balance.currency);
        let card = match card_number(card) {
            Ok(card) => card,
            Err(why) => {
                self.notice = Some(why.to_owned());
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
        self.notice = Some("Waiting for your bank…".into());
        vec![Self::send_top_up(&request, &key, false)]
    }

    /// `POST /v1/wallet/top-ups` with its key (the same key on every retry:
    /// the card is charged once), for the screen or for a payment.
    pub(super) fn send_top_up(request: &TopUpRequest, key: &str, for_payment: bool) -> Cmd {
        Cmd::keyed(
            Method::Post,
            "/v1/wallet/top-ups",
            serde_json::to_value(request).ok(),
            key,
            Then::TopUp { for_payment },
        )
    }

    /// Looks at a pending top-up again shortly (the screen's or a payment's).
    pub(super) fn poll(id: TopUpId) -> Vec<Cmd> {
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

    /// A top-up's answer while no payment is topping up: the screen's.
    pub(super) fn top_up_answer(&mut self, top_up: &TopUp) -> Vec<Cmd> {
        let for_screen = self
            .top_up
            .as_ref()
            .is_some_and(|t| t.id.is_none_or(|id| id == top_up.id));
        match top_up.status {
            TopUpStatus::Pending => {
                if for_screen && let Some(t) = self.top_up.as_mut() {
                    t.id = Some(top_up.id);
                }
                Self::poll(top_up.id)
            }
            TopUpStatus::Succeeded => {
                let mut cmds = vec![Self::read()];
                if for_screen {
                    self.top_up = None;
                    self.notice = Some(format!("Added {}", price(&top_up.amount)));
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
                let why = declined_why(top_up);
                self.top_up = None;
                self.notice = Some(format!(
                    "Top-up declined: {why} — try another card. Nothing was charged"
                ));
                Vec::new()
            }
        }
    }

    /// The wallet's own answers: the wallet, its history, the screen's
    /// top-up when it failed.
    pub(super) fn answered(&mut self, reply: Reply) -> Vec<Cmd> {
        match reply {
            Reply::Wallet(Ok(w)) => self.wallet = Some(w),
            Reply::History(Ok(h)) => self.history = Some(h.entries),
            Reply::Wallet(Err(HttpFailure::Unreadable(_))) => {
                return vec![Cmd::Say(unreadable("Your wallet"))];
            }
            Reply::History(Err(HttpFailure::Unreadable(_))) => {
                self.notice = Some(unreadable("Your wallet's history"));
            }
            Reply::TopUp {
                result: Err(HttpFailure::Unreadable(_)),
                ..
            }
            | Reply::TopUpStatus(Err(HttpFailure::Unreadable(_))) => {
                return self.top_up_unreadable();
            }
            Reply::TopUp { result: Err(f), .. } => return self.top_up_failed(&f),
            // Background loads that failed keep what the screen shows; the
            // next open asks again.
            _ => {}
        }
        Vec::new()
    }

    /// A top-up the server took (2xx) whose answer could not be read: how it
    /// ended is in the wallet, which is loaded again.
    fn top_up_unreadable(&mut self) -> Vec<Cmd> {
        self.top_up = None;
        self.notice = Some(unreadable("The top-up's answer"));
        vec![Self::read()]
    }

    /// The wallet screen's top-up failed: a refusal is said; no answer is
    /// tried once more with the same key.
    fn top_up_failed(&mut self, f: &HttpFailure) -> Vec<Cmd> {
        if definite(f) {
            self.top_up = None;
            self.notice = Some(match problem_of(f) {
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
                self.notice = Some("No connection — tap top up to try again".into());
                return Vec::new();
            }
            t.retried = true;
            // Same key again: the provider is asked once.
            let again = Self::send_top_up(&t.request, &t.key, false);
            self.notice = Some("Connection lost — trying again…".into());
            vec![again]
        } else {
            Vec::new()
        }
    }
}
