//! The demo payment provider: Stripe's well-known test card numbers, so a
//! demo can succeed, be declined, or confirm late. Any other card is
//! declined, as a real provider declines a card it cannot charge (the test
//! cards are in the README and next to the app's card field).

use crate::config::MoneyConfig;
use crate::money::provider::{Charge, DECLINE, PaymentProvider};
use std::time::Duration;

/// What the demo provider does with a card number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestCard {
    Succeed,
    Decline,
    Late,
}

impl TestCard {
    /// Stripe's well-known test numbers; anything else is refused up front.
    pub fn parse(number: &str) -> Option<Self> {
        let digits: String = number
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .collect();
        match digits.as_str() {
            "4242424242424242" => Some(Self::Succeed),
            "4000000000000002" => Some(Self::Decline),
            "4000000000003220" => Some(Self::Late),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Succeed => "succeed",
            Self::Decline => DECLINE,
            Self::Late => "late",
        }
    }
}

/// Confirms test cards after `money.provider_confirm_ms` (the late card after
/// `money.provider_late_ms`).
pub struct DemoProvider;

impl PaymentProvider for DemoProvider {
    fn take(&self, card_number: &str, money: &MoneyConfig) -> Result<Charge, String> {
        let card = TestCard::parse(card_number).ok_or("the card was declined")?;
        let ms = match card {
            TestCard::Late => money.provider_late_ms,
            _ => money.provider_confirm_ms,
        };
        Ok(Charge {
            outcome: card.as_str(),
            confirm_after: Duration::from_millis(ms),
        })
    }
}
