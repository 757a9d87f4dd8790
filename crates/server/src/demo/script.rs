//! The scripted shows. A host plan — pin products in turn every 20–40 s, a
//! flash sale every few minutes — is a pure, seeded iterator, so it is the
//! same on every run and testable without a clock. The runner plays it
//! through the host operations a real host uses, alongside bot viewers who
//! chat, like, gift and snap up flash-sale stock.
//!
//! Size: one show's timeline — the host plan and the bots that play along —
//! read top to bottom.

use super::world::{GIFTS, RoomDef};
use crate::live::host;
use crate::live::room::Room;
use crate::state::AppState;
use jiff::Timestamp;
use livecart_protocol::live::GiftEvent;
use livecart_protocol::rest::{
    ChatMessage, FlashSaleState, PinRequest, StartFlashSaleRequest, UserRef,
};
use livecart_protocol::{ComboId, FlashSaleId, GiftId, MessageId, Money, RoomEvent, UserId};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use std::sync::Arc;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HostAction {
    Pin {
        product: usize,
    },
    FlashSale {
        product: usize,
        sku: usize,
        discount_pct: u32,
        stock: u32,
        duration_s: u32,
    },
}

/// One scripted step: wait `after` (since the previous step), then act.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub after: Duration,
    pub action: HostAction,
}

/// The host's plan for a show: an endless, seeded sequence of steps.
pub struct HostPlan {
    rng: ChaCha8Rng,
    products: Vec<usize>,
    now_ms: u64,
    next_pin_ms: u64,
    next_sale_ms: u64,
    pinned: usize,
    pins: usize,
}

impl HostPlan {
    /// `products[i]` is the number of SKUs of product `i`.
    pub fn new(seed: u64, room_index: usize, products: Vec<usize>) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed ^ (0x9E37_79B9 * (room_index as u64 + 1)));
        // The first sale comes soon, so a visitor sees one within a minute.
        let next_sale_ms = rng.random_range(30_000..60_000);
        Self {
            rng,
            products,
            now_ms: 0,
            next_pin_ms: 0,
            next_sale_ms,
            pinned: 0,
            pins: 0,
        }
    }
}

impl Iterator for HostPlan {
    type Item = Step;
    fn next(&mut self) -> Option<Step> {
        if self.products.is_empty() {
            return None;
        }
        let at = self.next_pin_ms.min(self.next_sale_ms);
        let after = Duration::from_millis(at - self.now_ms);
        self.now_ms = at;
        let action = if self.next_pin_ms <= self.next_sale_ms {
            self.pinned = self.pins % self.products.len();
            self.pins += 1;
            self.next_pin_ms = at + self.rng.random_range(20_000..=40_000);
            HostAction::Pin {
                product: self.pinned,
            }
        } else {
            self.next_sale_ms = at + self.rng.random_range(150_000..=240_000);
            // A sale runs 60 s; keep the product on screen for all of it.
            self.next_pin_ms = self.next_pin_ms.max(at + 61_000);
            HostAction::FlashSale {
                product: self.pinned,
                sku: self.rng.random_range(0..self.products[self.pinned].max(1)),
                discount_pct: self.rng.random_range(20..=50),
                stock: self.rng.random_range(20..=80),
                duration_s: 60,
            }
        };
        Some(Step { after, action })
    }
}

/// Deterministic bot names such as `spicy_otter_42`.
pub fn bot_name(rng: &mut ChaCha8Rng) -> String {
    const A: [&str; 10] = [
        "spicy", "sleepy", "lucky", "cosy", "tiny", "golden", "midnight", "happy", "fuzzy", "brave",
    ];
    const N: [&str; 10] = [
        "otter", "panda", "noodle", "mochi", "fox", "dumpling", "koala", "peach", "tiger", "bean",
    ];
    format!(
        "{}_{}_{}",
        A[rng.random_range(0..A.len())],
        N[rng.random_range(0..N.len())],
        rng.random_range(1..100)
    )
}

struct Bots {
    rng: ChaCha8Rng,
    pool: Vec<UserRef>,
    gifts: Vec<(GiftId, &'static str, u32)>,
    chat_acc: f64,
    combo: Option<(UserRef, usize, ComboId, u32, u32)>,
    /// Units the bots took from the running flash sale (by its id).
    sale_taken: Option<(FlashSaleId, u32)>,
}

impl Bots {
    fn new(seed: u64, room_index: usize, gifts: Vec<(GiftId, &'static str, u32)>) -> Self {
        let mut rng =
            ChaCha8Rng::seed_from_u64(seed.wrapping_mul(31).wrapping_add(room_index as u64));
        let mut ids = super::world::Ids::new(ChaCha8Rng::seed_from_u64(seed ^ 0xB07));
        let pool = (0..200)
            .map(|_| UserRef {
                id: ids.next_id::<UserId>(),
                name: bot_name(&mut rng),
            })
            .collect();
        Self {
            rng,
            pool,
            gifts,
            chat_acc: 0.0,
            combo: None,
            sale_taken: None,
        }
    }

    fn someone(&mut self) -> UserRef {
        self.pool[self.rng.random_range(0..self.pool.len())].clone()
    }

    /// One 50 ms tick of audience activity.
    fn tick(&mut self, room: &Room, def: &RoomDef) {
        self.chat_acc += def.chat_rate * 0.05;
        while self.chat_acc >= 1.0 {
            self.chat_acc -= 1.0;
            let text = if self.rng.random_bool(0.2) {
                let p = def.products[self.rng.random_range(0..def.products.len())].0;
                format!("{p} 😍")
            } else {
                def.chatter[self.rng.random_range(0..def.chatter.len())].to_owned()
            };
            let message = ChatMessage {
                id: MessageId::new(),
                user: self.someone(),
                text,
                sent_at: Timestamp::now(),
                client_id: None,
            };
            room.publish(RoomEvent::Chat { message });
        }
        room.add_likes(self.rng.random_range(0..=(def.chat_rate as u64 / 4 + 2)));
        self.gift(room, def);
    }

    fn gift(&mut self, room: &Room, def: &RoomDef) {
        if self.gifts.is_empty() {
            return;
        }
        if let Some((sender, g, combo_id, count, left)) = self.combo.take() {
            let (gift_id, gift_name, coins) = self.gifts[g];
            room.publish(RoomEvent::Gift(GiftEvent {
                gift_id,
                gift_name: gift_name.into(),
                coins,
                sender: sender.clone(),
                count: 1,
                combo_id,
                combo_count: count + 1,
            }));
            if left > 1 {
                self.combo = Some((sender, g, combo_id, count + 1, left - 1));
            }
            return;
        }
        // Busier rooms gift more; big gifts are rare.
        let p = (def.chat_rate / 400.0).clamp(0.01, 0.25);
        if !self.rng.random_bool(p) {
            return;
        }
        let g = if self.rng.random_bool(0.03) {
            self.rng.random_range(5..self.gifts.len())
        } else {
            self.rng.random_range(0..5.min(self.gifts.len()))
        };
        let combo = if g < 3 {
            self.rng.random_range(1..=15)
        } else {
            1
        };
        let sender = self.someone();
        self.combo = Some((sender, g, ComboId::new(), 0, combo));
    }
}

/// Plays one room's show until shutdown.
pub async fn run(
    state: AppState,
    room: Arc<Room>,
    room_index: usize,
    def: &'static RoomDef,
    gifts: Vec<(GiftId, &'static str, u32)>,
) {
    let seed = state.config.demo.seed;
    let (host_id, host_name) =
        room.read(|st| (st.snap.room.host.id, st.snap.room.host.name.clone()));
    let caller = host::as_host(host_id, &host_name);
    let skus = room.read(|st| {
        st.snap
            .products
            .iter()
            .map(|p| p.skus.len())
            .collect::<Vec<_>>()
    });
    let mut plan = HostPlan::new(seed, room_index, skus);
    let mut bots = Bots::new(seed, room_index, gifts);
    let mut viewers = def.base_viewers;
    room.write(|st| st.bot_viewers = viewers);

    let mut tick = tokio::time::interval(Duration::from_millis(50));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let mut n: u64 = 0;
    let mut next = plan.next();
    let mut due =
        tokio::time::Instant::now() + next.as_ref().map_or(Duration::MAX / 2, |s| s.after);
    loop {
        tokio::select! {
            () = state.shutdown.cancelled() => return,
            () = tokio::time::sleep_until(due) => {
                if let Some(step) = next.take()
                    && let Err(e) = act(&state, &caller, &room, step.action).await {
                        tracing::debug!(error = %e, room = %room.id, "demo host step refused");
                    }
                next = plan.next();
                due += next.as_ref().map_or(Duration::MAX / 2, |s| s.after);
            }
            _ = tick.tick() => {
                n += 1;
                bots.tick(&room, def);
                if n.is_multiple_of(20) {
                    // The audience drifts by a few per cent.
                    let drift = (def.base_viewers / 50).max(3);
                    viewers = viewers.saturating_add(bots.rng.random_range(0..=drift * 2)).saturating_sub(drift).max(def.base_viewers / 2);
                    room.write(|st| st.bot_viewers = viewers);
                }
                // Now and then a bot buys the product on screen.
                if bots.rng.random_bool(def.chat_rate.min(40.0) / 2000.0) {
                    let pick = room.read(|st| {
                        let pinned = st.snap.pinned.as_ref()?.product_id;
                        let p = st.snap.products.iter().find(|p| p.id == pinned)?;
                        let in_stock: Vec<_> = p.skus.iter().filter(|s| s.stock > 0).map(|s| s.id).collect();
                        Some((pinned, in_stock))
                    });
                    if let Some((product, skus)) = pick.filter(|(_, s)| !s.is_empty()) {
                        let sku = skus[bots.rng.random_range(0..skus.len())];
                        let _ = host::take_stock(&state, &room, product, sku, 1).await;
                    }
                }
                // Bots snap up their share of flash-sale stock, at a pace
                // that spreads it over the sale's first two thirds.
                let sale = room.read(|st| st.snap.flash_sale.as_ref().filter(|s| s.state == FlashSaleState::Active).cloned());
                if let Some(sale) = sale {
                    let share = u32::from(state.config.demo.bot_sale_share_percent.min(100));
                    let taken = match bots.sale_taken {
                        Some((id, n)) if id == sale.id => n,
                        _ => 0,
                    };
                    // An even pace over the sale's first two thirds (on
                    // the clock, so a busy machine's skipped ticks catch up).
                    let cap = i64::from(sale.total_stock * share / 100);
                    let window = (sale.deadline.as_millisecond() - sale.starts_at.as_millisecond()).max(3) * 2 / 3;
                    let elapsed = Timestamp::now().as_millisecond() - sale.starts_at.as_millisecond();
                    let due = u32::try_from((cap * elapsed / window).clamp(0, cap)).unwrap_or(0);
                    let qty = due.saturating_sub(taken).min(3).min(sale.remaining_stock);
                    if qty > 0 && host::take_flash_stock(&state, &room, sale.id, qty).await.is_ok() {
                        bots.sale_taken = Some((sale.id, taken + qty));
                    }
                }
            }
        }
    }
}

async fn act(
    state: &AppState,
    caller: &crate::auth::HostCaller,
    room: &Room,
    action: HostAction,
) -> crate::error::ApiResult<()> {
    let products = room.read(|st| st.snap.products.clone());
    match action {
        HostAction::Pin { product } => {
            let Some(p) = products.get(product) else {
                return Ok(());
            };
            host::pin(
                state,
                caller,
                room.id,
                PinRequest {
                    product_id: p.id,
                    stream_time: None,
                },
            )
            .await?;
        }
        HostAction::FlashSale {
            product,
            sku,
            discount_pct,
            stock,
            duration_s,
        } => {
            let Some(p) = products.get(product) else {
                return Ok(());
            };
            let Some(s) = p.skus.get(sku) else {
                return Ok(());
            };
            let cut = s.price.amount_minor * i64::from(100 - discount_pct) / 100;
            let price = Money::new(cut / 100 * 100 + 99, s.price.currency);
            host::start_flash_sale(
                state,
                caller,
                room.id,
                StartFlashSaleRequest {
                    product_id: p.id,
                    sku_id: s.id,
                    price,
                    stock,
                    duration_s,
                },
            )
            .await?;
        }
    }
    Ok(())
}

/// The gift catalog, as the bots use it.
pub async fn gift_catalog(state: &AppState) -> anyhow::Result<Vec<(GiftId, &'static str, u32)>> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT id, name FROM gifts ORDER BY position")
            .fetch_all(&state.db)
            .await?;
    let mut out = Vec::new();
    for (id, name) in rows {
        if let Some((n, coins, _)) = GIFTS.iter().find(|g| g.0 == name) {
            out.push((crate::db::parse(&id, "gift id")?, *n, *coins));
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_is_deterministic_under_a_seed_and_differs_across_seeds() {
        let a: Vec<Step> = HostPlan::new(7, 0, vec![2, 3, 1, 4]).take(40).collect();
        let b: Vec<Step> = HostPlan::new(7, 0, vec![2, 3, 1, 4]).take(40).collect();
        let c: Vec<Step> = HostPlan::new(8, 0, vec![2, 3, 1, 4]).take(40).collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn plan_pins_in_turn_every_20_to_40_s_with_sales_every_few_minutes() {
        let steps: Vec<Step> = HostPlan::new(42, 1, vec![2, 2, 2, 2, 2])
            .take(200)
            .collect();
        assert_eq!(
            steps[0],
            Step {
                after: Duration::ZERO,
                action: HostAction::Pin { product: 0 }
            }
        );
        let mut t = Duration::ZERO;
        let mut last_pin = None;
        let mut sales = Vec::new();
        let mut pinned = Vec::new();
        for s in &steps {
            t += s.after;
            match s.action {
                HostAction::Pin { product } => {
                    if let Some(prev) = last_pin {
                        let gap: Duration = t.checked_sub(prev).expect("time moves forward");
                        assert!(gap >= Duration::from_secs(20), "pins {gap:?} apart");
                    }
                    last_pin = Some(t);
                    pinned.push(product);
                }
                HostAction::FlashSale {
                    product,
                    duration_s,
                    stock,
                    ..
                } => {
                    assert_eq!(
                        Some(&product),
                        pinned.last(),
                        "the sale is for the product on screen"
                    );
                    assert_eq!(duration_s, 60);
                    assert!((20..=80).contains(&stock));
                    sales.push(t);
                }
            }
        }
        assert_eq!(&pinned[..6], &[0, 1, 2, 3, 4, 0], "products in turn");
        assert!(
            sales[0] < Duration::from_mins(1),
            "first sale within a minute: {:?}",
            sales[0]
        );
        for w in sales.windows(2) {
            let gap = w[1].checked_sub(w[0]).expect("sales in order");
            assert!(
                gap >= Duration::from_secs(150) && gap <= Duration::from_mins(4),
                "sales {gap:?} apart"
            );
        }
    }
}
