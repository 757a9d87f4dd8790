//! The wallet screen's view model: balance, pending top-ups, history.

use super::format::price;
use super::model::Model;
use crate::app::wallet::DEMO_CARD;
use livecart_protocol::Money;

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

pub(super) fn wallet_view(app: &Model) -> WalletView {
    let funds = &app.funds;
    WalletView {
        balance: funds.spendable().map(|b| price(&b)),
        pending: funds
            .wallet
            .as_ref()
            .map(|w| {
                w.pending_top_ups
                    .iter()
                    .map(|t| format!("Top-up of {} · waiting for your bank", price(&t.amount)))
                    .collect()
            })
            .unwrap_or_default(),
        history: funds
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
        busy: funds.top_up.as_ref().is_some_and(|t| !t.stalled),
        notice: funds.notice.clone(),
        card: if funds.card.is_empty() {
            DEMO_CARD.to_owned()
        } else {
            funds.card.clone()
        },
        amounts: [1_000, 5_000, 10_000]
            .into_iter()
            .map(|m| (price(&Money::new(m, livecart_protocol::Currency::USD)), m))
            .collect(),
    }
}
