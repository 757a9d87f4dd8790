//! The gift bar ([`Gifts`]): the catalogue, taps of one gift that build a
//! combo, and the paid requests in flight. Coins come from the wallet
//! (app/wallet.rs), which it is handed: a tap holds its cost until the
//! answer, and the receipt's balance is the wallet's new one.
//!
//! A part of the app that owns its state: it answers each event with
//! [`Cmd`]s (app/cmd.rs) and reads the session and the ids through a [`Cx`];
//! it never names the app.

use super::answer::{HttpFailure, Then, definite, problem_of, unreadable};
use super::cmd::{Cmd, Cx, Pending};
use super::wallet::Funds;
use crate::effects::Method;
use livecart_protocol::commerce::{GiftReceipt, SendGiftRequest};
use livecart_protocol::rest::{Gift, GiftCatalog};
use livecart_protocol::{ComboId, ErrorCode, GiftId, RoomId};
use std::collections::HashMap;

/// Taps of the same gift this close together build one combo.
pub const COMBO_WINDOW_MS: i64 = 3_000;

/// The gift bar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GiftsEvent {
    /// The gift bar opens or closes.
    ToggleBar,
    /// One tap on a gift.
    Send(GiftId),
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

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Gifts {
    /// The catalogue, cheapest first (public: it stays after a sign-out).
    pub catalog: Vec<Gift>,
    pub bar_open: bool,
    pub combo: Option<Combo>,
    in_flight: HashMap<String, GiftSend>,
    seq: u64,
    /// The latest tap whose answer set the balance.
    applied: u64,
}

impl Gifts {
    /// The gift bar for a signed-out viewer: the catalogue stays.
    pub(super) fn forget(&mut self) {
        *self = Gifts {
            catalog: std::mem::take(&mut self.catalog),
            ..Gifts::default()
        };
    }

    /// The gift bar's events, in the room on screen (if any).
    pub(super) fn on_gifts(
        &mut self,
        event: GiftsEvent,
        room: Option<RoomId>,
        funds: &mut Funds,
        cx: &mut Cx,
    ) -> Vec<Cmd> {
        match event {
            GiftsEvent::ToggleBar => {
                self.bar_open = !self.bar_open && room.is_some();
                Vec::new()
            }
            GiftsEvent::Send(gift) => self.send(gift, room, funds, cx),
        }
    }

    /// One tap on a gift: one paid request, in the running combo if the last
    /// tap of this gift was under 3 s ago.
    pub(super) fn send(
        &mut self,
        gift: GiftId,
        room: Option<RoomId>,
        funds: &mut Funds,
        cx: &mut Cx,
    ) -> Vec<Cmd> {
        if cx.session.user().is_none() {
            return vec![Cmd::NeedAccount(Pending::Gift(gift))];
        }
        let now_ms = cx.now.as_millisecond();
        let (Some(room), Some(g)) = (room, self.catalog.iter().find(|g| g.id == gift).cloned())
        else {
            return Vec::new();
        };
        let cost = i64::from(g.coins);
        // With the balance not known yet the tap still goes: the server
        // refuses what the wallet cannot pay.
        if funds.spendable().is_some_and(|b| b.amount_minor < cost) {
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
        funds.held_minor += cost;
        self.seq += 1;
        self.in_flight.insert(
            key.clone(),
            GiftSend {
                room,
                request: request.clone(),
                cost,
                retried: false,
                seq: self.seq,
            },
        );
        let mut cmds = Vec::new();
        if funds.wallet.is_none() {
            cmds.push(Funds::read());
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

    /// A gift's answer (by its key).
    pub(super) fn answer(
        &mut self,
        key: &str,
        result: Result<GiftReceipt, HttpFailure>,
        funds: &mut Funds,
    ) -> Vec<Cmd> {
        let Some(send) = self.in_flight.remove(key) else {
            return Vec::new();
        };
        match result {
            Ok(receipt) => {
                funds.held_minor -= send.cost;
                // Answers may cross: a later tap's balance is the newer.
                if funds.wallet.is_some() && send.seq > self.applied {
                    self.applied = send.seq;
                    funds.set_balance(receipt.balance_after);
                }
                Vec::new()
            }
            Err(HttpFailure::Unreadable(_)) => {
                // Sent (2xx), but its receipt is unreadable: the balance
                // comes from the wallet instead.
                funds.held_minor -= send.cost;
                vec![Funds::read()]
            }
            Err(f) if !definite(&f) && !send.retried => {
                // Once more, same key: charged once whatever happened.
                let body = serde_json::to_value(&send.request).ok();
                let room = send.room;
                self.in_flight.insert(
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
                funds.held_minor -= send.cost;
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
