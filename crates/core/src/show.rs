//! What happens on top of the video of the room on screen, in step with the
//! picture the viewer sees: the pinned product card (shown when the video
//! reaches the pin's stream time, not when the event arrives), gifts in two
//! side lanes with combos bumping in place, big gifts one at a time by value,
//! floating hearts and batched likes, the chat at a readable pace (see
//! [`crate::chat`]), and the flash sale's countdown against the server clock.
//!
//! Everything here is driven by `now` (the app's wall clock, ms since the
//! epoch) and reports its next deadline, so the app arms one timer and the
//! screen changes exactly when it should.

use crate::chat::Chat;
use livecart_protocol::rest::{FlashSale, FlashSaleState, RoomSnapshot};
use livecart_protocol::{GiftEvent, ProductId, RoomEvent, UserId};
use std::collections::VecDeque;

/// Side lanes for gifts.
pub const LANES: usize = 2;
/// A lane clears this long after its gift last bumped.
pub const LANE_HOLD_MS: i64 = 3_000;
/// Gifts worth at least this many coins (one gift) play full screen.
pub const BIG_GIFT_COINS: u32 = 1_000;
/// How long a big gift's animation plays (assets/app.css keeps the same).
pub const BIG_GIFT_MS: i64 = 3_000;
/// How long a heart floats (assets/app.css keeps the same).
pub const HEART_MS: i64 = 1_600;
/// Hearts on screen at once; taps beyond that still count.
pub const MAX_HEARTS: usize = 24;
/// Likes are sent at most this often, as one frame with the count.
pub const LIKE_FLUSH_MS: i64 = 500;
/// Gifts waiting for a lane; the least valuable is dropped beyond this.
pub const LANE_QUEUE: usize = 16;
/// How long "Flash sale ended" stays on the card after the sale ends (a sale
/// sold out early says so until its deadline).
pub const SALE_ENDED_MS: i64 = 5_000;

/// A gift in a side lane: combos of the same `combo_id` bump its count.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lane {
    pub gift: GiftEvent,
    /// Bumps so far (the screen restarts its "pop" animation on each).
    pub bumps: u32,
    pub until: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BigGift {
    pub gift: GiftEvent,
    pub until: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PinChange {
    Show(ProductId),
    Hide(ProductId),
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Show {
    /// Pin changes waiting for the picture to reach their stream time
    /// (ms, on the stream's capture clock), in arrival order.
    staged: VecDeque<(i64, PinChange)>,
    /// The product whose card is on screen.
    pub pinned: Option<ProductId>,
    pub lanes: [Option<Lane>; LANES],
    lane_queue: Vec<GiftEvent>,
    /// Big gifts waiting their turn (the most valuable plays next).
    big_queue: Vec<(u64, GiftEvent)>,
    arrivals: u64,
    pub big: Option<BigGift>,
    /// Floating hearts: (id, until, the viewer's own).
    pub hearts: VecDeque<(u64, i64, bool)>,
    next_heart: u64,
    /// Likes tapped but not yet sent.
    pub unsent_likes: u32,
    /// When the unsent likes go out.
    pub like_flush_at: Option<i64>,
    /// The like count shown: never goes down while our taps are in flight.
    pub likes_shown: u64,
    /// The chat as the viewer reads it (paced, held while reading back).
    pub chat: Chat,
    /// The signed-in viewer (their own chat lines always show).
    pub me: Option<UserId>,
    /// Server clock minus ours (ms), from the last frame that carried it.
    pub server_offset_ms: i64,
    /// A sale that just ended, kept on the card for a moment.
    pub ended_sale: Option<(FlashSale, i64)>,
}

fn ms(t: jiff::Timestamp) -> i64 {
    t.as_millisecond()
}

fn value(g: &GiftEvent) -> u64 {
    u64::from(g.coins) * u64::from(g.combo_count.max(g.count).max(1))
}

impl Show {
    pub fn new() -> Self {
        Self {
            chat: Chat::new(),
            ..Self::default()
        }
    }

    /// A fresh snapshot (join, or a resume the server could not fill): a late
    /// joiner sees the current pin at once.
    pub fn on_snapshot(&mut self, snap: &RoomSnapshot, now: i64) {
        self.staged.clear();
        self.pinned = snap.pinned.as_ref().map(|p| p.product_id);
        self.likes_shown = snap.like_count + u64::from(self.unsent_likes);
        self.server_offset_ms = ms(snap.server_time) - now;
        self.chat.on_snapshot(&snap.chat, now);
    }

    /// The server's clock as carried by a frame (`welcome`, `event`, `pong`).
    pub fn on_server_time(&mut self, server: jiff::Timestamp, now: i64) {
        self.server_offset_ms = ms(server) - now;
    }

    /// A room event, applied to the room state already (never a duplicate).
    pub fn on_event(&mut self, event: &RoomEvent, snap: &RoomSnapshot, now: i64) {
        match event {
            RoomEvent::Pin { pin } => self
                .staged
                .push_back((ms(pin.stream_time), PinChange::Show(pin.product_id))),
            RoomEvent::Unpin {
                product_id,
                stream_time,
                ..
            } => self
                .staged
                .push_back((ms(*stream_time), PinChange::Hide(*product_id))),
            RoomEvent::Gift(g) => self.gift(g, now),
            RoomEvent::Likes { added, .. } => {
                self.likes_shown = self
                    .likes_shown
                    .max(snap.like_count + u64::from(self.unsent_likes));
                // Other viewers' hearts float up too (a few, not one per tap).
                for _ in 0..(*added).min(3) {
                    self.heart(now, false);
                }
            }
            RoomEvent::Chat { message } => {
                let mine = Chat::is_mine(message, self.me);
                self.chat.on_line(message.clone(), mine, now);
            }
            RoomEvent::ChatRemoved { message_id } => self.chat.remove(*message_id),
            RoomEvent::FlashSale { sale, .. } if snap.flash_sale.is_none() => {
                // Out of time: "ended" for a moment. Sold out early: "sold
                // out" until its deadline, so the card never says "ended"
                // while the countdown had time left.
                let deadline = ms(sale.deadline) - self.server_offset_ms;
                let until = match sale.state {
                    FlashSaleState::SoldOut => deadline.max(now + SALE_ENDED_MS),
                    _ => now + SALE_ENDED_MS,
                };
                self.ended_sale = Some((sale.clone(), until));
            }
            _ => {}
        }
    }

    /// The viewer liked (double-tap or the heart): a heart floats at once,
    /// the count goes up at once, the server hears about it in a batch.
    pub fn like(&mut self, now: i64) {
        self.unsent_likes += 1;
        self.likes_shown += 1;
        self.heart(now, true);
        self.like_flush_at.get_or_insert(now + LIKE_FLUSH_MS);
    }

    /// Likes due to be sent now, if any.
    pub fn take_likes(&mut self, now: i64) -> Option<u32> {
        if self.like_flush_at.is_some_and(|at| at <= now) {
            self.like_flush_at = None;
            return Some(std::mem::take(&mut self.unsent_likes)).filter(|n| *n > 0);
        }
        None
    }

    fn heart(&mut self, now: i64, mine: bool) {
        self.next_heart += 1;
        self.hearts
            .push_back((self.next_heart, now + HEART_MS, mine));
        while self.hearts.len() > MAX_HEARTS {
            self.hearts.pop_front();
        }
    }

    pub fn chat_scrolled(&mut self, at_bottom: bool) {
        self.chat.scrolled(at_bottom);
    }

    fn gift(&mut self, g: &GiftEvent, now: i64) {
        if g.coins >= BIG_GIFT_COINS {
            self.big_gift(g, now);
        }
        // A combo bumps its lane in place.
        if let Some(lane) = self
            .lanes
            .iter_mut()
            .flatten()
            .find(|l| l.gift.combo_id == g.combo_id)
        {
            lane.gift = g.clone();
            lane.bumps += 1;
            lane.until = now + LANE_HOLD_MS;
            return;
        }
        if let Some(queued) = self
            .lane_queue
            .iter_mut()
            .find(|q| q.combo_id == g.combo_id)
        {
            *queued = g.clone();
            return;
        }
        if let Some(free) = self.lanes.iter_mut().find(|l| l.is_none()) {
            *free = Some(Lane {
                gift: g.clone(),
                bumps: 0,
                until: now + LANE_HOLD_MS,
            });
            return;
        }
        self.lane_queue.push(g.clone());
        if self.lane_queue.len() > LANE_QUEUE
            && let Some(least) = self
                .lane_queue
                .iter()
                .enumerate()
                .min_by_key(|(_, q)| value(q))
                .map(|(i, _)| i)
        {
            self.lane_queue.remove(least);
        }
    }

    fn big_gift(&mut self, g: &GiftEvent, now: i64) {
        // More of a combo that is playing or waiting: count it there.
        if let Some(big) = self.big.as_mut().filter(|b| b.gift.combo_id == g.combo_id) {
            big.gift = g.clone();
            return;
        }
        if let Some((_, queued)) = self
            .big_queue
            .iter_mut()
            .find(|(_, q)| q.combo_id == g.combo_id)
        {
            *queued = g.clone();
            return;
        }
        self.arrivals += 1;
        self.big_queue.push((self.arrivals, g.clone()));
        if self.big.is_none() {
            self.next_big(now);
        }
    }

    /// The most valuable waiting big gift starts (the earliest among equals).
    fn next_big(&mut self, now: i64) {
        let best = self
            .big_queue
            .iter()
            .enumerate()
            .max_by(|(_, (a_n, a)), (_, (b_n, b))| value(a).cmp(&value(b)).then(b_n.cmp(a_n)))
            .map(|(i, _)| i);
        self.big = best.map(|i| BigGift {
            gift: self.big_queue.remove(i).1,
            until: now + BIG_GIFT_MS,
        });
    }

    /// Moves time on: pins the picture has reached, lanes and animations that
    /// are over. `behind_ms` is how far the picture on screen is behind its
    /// capture (measured per drawn frame); `None` when the stream carries no
    /// capture time, and then pins show as they arrive.
    pub fn advance(&mut self, now: i64, behind_ms: Option<i64>) {
        let video_time = behind_ms.map_or(i64::MAX, |b| now - b);
        while let Some((t, _)) = self.staged.front()
            && *t <= video_time
        {
            let Some((_, change)) = self.staged.pop_front() else {
                break;
            };
            match change {
                PinChange::Show(p) => self.pinned = Some(p),
                PinChange::Hide(p) => {
                    if self.pinned == Some(p) {
                        self.pinned = None;
                    }
                }
            }
        }
        for lane in &mut self.lanes {
            if lane.as_ref().is_some_and(|l| l.until <= now) {
                *lane = None;
            }
        }
        while let Some(free) = self.lanes.iter().position(Option::is_none)
            && let Some(best) = self
                .lane_queue
                .iter()
                .enumerate()
                .max_by_key(|(i, q)| (value(q), std::cmp::Reverse(*i)))
                .map(|(i, _)| i)
        {
            self.lanes[free] = Some(Lane {
                gift: self.lane_queue.remove(best),
                bumps: 0,
                until: now + LANE_HOLD_MS,
            });
        }
        if self.big.as_ref().is_some_and(|b| b.until <= now) {
            self.next_big(now);
        }
        while self
            .hearts
            .front()
            .is_some_and(|(_, until, _)| *until <= now)
        {
            self.hearts.pop_front();
        }
        if self
            .ended_sale
            .as_ref()
            .is_some_and(|(_, until)| *until <= now)
        {
            self.ended_sale = None;
        }
        self.chat.advance(now);
    }

    /// When something on screen changes next by itself (ms since the epoch):
    /// a staged pin coming due, a lane or animation ending, likes to send, the
    /// sale's countdown ticking (`sale_deadline`, server clock).
    pub fn next_deadline(
        &self,
        now: i64,
        behind_ms: Option<i64>,
        sale_deadline: Option<i64>,
    ) -> Option<i64> {
        let pin = self
            .staged
            .front()
            .map(|(t, _)| behind_ms.map_or(now, |b| t + b));
        let tick = sale_deadline.and_then(|d| {
            // The next whole second of the countdown, on our clock.
            let left = d - (now + self.server_offset_ms);
            (left > 0).then(|| now + (left - 1).rem_euclid(1000) + 1)
        });
        [
            pin,
            self.lanes.iter().flatten().map(|l| l.until).min(),
            self.big.as_ref().map(|b| b.until),
            self.hearts.front().map(|(_, until, _)| *until),
            self.like_flush_at,
            self.ended_sale.as_ref().map(|(_, until)| *until),
            tick,
            self.chat.next_deadline(),
        ]
        .into_iter()
        .flatten()
        .min()
    }
}
