//! Who charges a card for a top-up. The wallet asks the provider to take a
//! card, keeps what the provider will answer with the pending top-up (so a
//! restart re-arms it), and credits the wallet when the answer is due.
//! The demo world's provider (`demo::provider`) knows Stripe's test cards; a
//! server built without the demo has none and says so.

use crate::config::MoneyConfig;
use std::time::Duration;

/// What the provider will do with a card it took.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Charge {
    /// Kept with the top-up until it is confirmed, and part of the request's
    /// idempotency hash (the card number itself is never stored): a label
    /// whose answer is [`Charge::declines`].
    pub outcome: &'static str,
    /// How long until the provider answers.
    pub confirm_after: Duration,
}

impl Charge {
    /// Whether a kept outcome is a decline.
    pub fn declines(outcome: &str) -> bool {
        outcome == DECLINE
    }
}

/// The outcome label of a charge the provider will decline.
pub const DECLINE: &str = "decline";

pub trait PaymentProvider: Send + Sync + 'static {
    /// Takes a card for a charge, or declines it at once with the words the
    /// buyer sees.
    fn take(&self, card_number: &str, money: &MoneyConfig) -> Result<Charge, String>;
}

/// No provider configured (a server without the demo world): every top-up
/// is refused, saying why.
#[cfg_attr(feature = "demo", allow(dead_code))] // the production one; the demo world brings its own
pub struct NoProvider;

impl PaymentProvider for NoProvider {
    fn take(&self, _: &str, _: &MoneyConfig) -> Result<Charge, String> {
        Err("this server takes no card payments yet".into())
    }
}
