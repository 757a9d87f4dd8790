//! Render cost of a flooding room: `cargo bench -p livecart-core --bench flood`.
//!
//! Ten simulated seconds of a room with 200 chat messages a second, 20 gifts
//! a second (some combos, a big gift now and then), the server's like
//! aggregates four times a second and the viewer's own taps. Each 33 ms frame
//! folds that frame's events through `App::update` and builds the view model
//! once (what the shell does at 30 renders a second). A quiet room (1 message
//! a second) runs first in the same process as the baseline.
//!
//! Ends with `flood msgs_per_s=<x> frame_p50_ms=<x> frame_p99_ms=<x>`
//! (goal: p99 ≤ 4 ms on the 2-core dev machine).

#![allow(clippy::disallowed_methods)] // fixtures: fresh ids and clock times, made here as a server would

use jiff::{SignedDuration, Timestamp};
use livecart_core::LiveEvent;
use livecart_core::frames::FRAME_MS;
use livecart_core::{App, Effect, Event, SocketUpdate};
use livecart_protocol::rest::{
    ChatMessage, FeedResponse, HostInfo, ImageRef, Pin, Product, RoomSnapshot, RoomStatus,
    RoomSummary, Sku, StreamProtocol, StreamUrl, UserRef,
};
use livecart_protocol::{
    ComboId, Currency, Epoch, GiftEvent, GiftId, ImageId, MessageId, Money, ProductId, RoomEvent,
    RoomId, ServerFrame, SkuId, UserId,
};
use std::hint::black_box;
use std::time::Instant;

const SECONDS: i64 = 10;

fn image() -> ImageRef {
    ImageRef {
        id: ImageId::new(),
        url: "http://x/i.jpg".into(),
        thumb_url: "http://x/t.jpg".into(),
    }
}

struct Sim {
    app: App,
    room: RoomId,
    epoch: Epoch,
    seq: u64,
    t0: Timestamp,
    users: Vec<UserRef>,
    combos: Vec<ComboId>,
}

impl Sim {
    fn new() -> Self {
        let t0: Timestamp = "2026-11-22T10:00:00Z".parse().expect("time");
        let mut app = App::default();
        let feed = app
            .update(Event::Started, t0)
            .into_iter()
            .find_map(|e| match e {
                Effect::Http(r) if r.path == "/v1/feed" => Some(r.id),
                _ => None,
            })
            .expect("feed");
        let room = RoomId::new();
        let summary = RoomSummary {
            id: room,
            title: "Autumn knits drop — live try-on".into(),
            category: "fashion".into(),
            host: HostInfo {
                id: UserId::new(),
                name: "Mia Chen".into(),
                avatar: image(),
            },
            cover: image(),
            viewer_count: 18_600,
            streams: vec![StreamUrl {
                protocol: StreamProtocol::HttpFlv,
                url: format!("http://x/live/{room}.flv"),
            }],
            status: RoomStatus::Live,
        };
        let rooms = (0..4)
            .map(|i| RoomSummary {
                id: if i == 0 { room } else { RoomId::new() },
                ..summary.clone()
            })
            .collect();
        app.update(
            Event::HttpDone {
                id: feed,
                result: Ok(serde_json::to_value(FeedResponse { rooms }).expect("json")),
            },
            t0,
        );
        let usd = Currency::USD;
        let products: Vec<Product> = (0..12)
            .map(|i| Product {
                id: ProductId::new(),
                name: format!("Product {i}"),
                description: "soft, warm".into(),
                image: image(),
                skus: (0..3)
                    .map(|k| Sku {
                        id: SkuId::new(),
                        name: format!("size {k}"),
                        price: Money::new(2_900 + i64::from(k) * 100, usd),
                        stock: 40,
                    })
                    .collect(),
            })
            .collect();
        let epoch = Epoch::new();
        let snapshot = RoomSnapshot {
            room: summary,
            pinned: Some(Pin {
                product_id: products[0].id,
                pinned_at: t0,
                stream_time: t0,
            }),
            products,
            flash_sale: None,
            chat: Vec::new(),
            viewer_count: 18_600,
            like_count: 1_000,
            seq: 1,
            epoch,
            server_time: t0,
        };
        let socket = |f: ServerFrame| Event::Socket {
            room,
            update: SocketUpdate::Frame(Box::new(f)),
        };
        app.update(
            socket(ServerFrame::Snapshot {
                snapshot: Box::new(snapshot),
            }),
            t0,
        );
        let users = (0..500)
            .map(|i| UserRef {
                id: UserId::new(),
                name: format!("fan{i}"),
            })
            .collect();
        Self {
            app,
            room,
            epoch,
            seq: 1,
            t0,
            users,
            combos: (0..8).map(|_| ComboId::new()).collect(),
        }
    }

    fn at(&self, ms: i64) -> Timestamp {
        self.t0 + SignedDuration::from_millis(ms)
    }

    fn event(&mut self, ms: i64, event: RoomEvent) -> Event {
        self.seq += 1;
        Event::Socket {
            room: self.room,
            update: SocketUpdate::Frame(Box::new(ServerFrame::Event {
                seq: self.seq,
                epoch: self.epoch,
                at: self.at(ms),
                event,
            })),
        }
    }

    /// The events arriving in frame `f` for a room with `msgs` chat lines a
    /// second (gifts and likes scale with it).
    fn frame_events(&mut self, f: i64, msgs: i64) -> Vec<(i64, Event)> {
        let (start, end) = (f * FRAME_MS, (f + 1) * FRAME_MS);
        let mut out = Vec::new();
        let every = |rate: i64| (1000 / rate.max(1)).max(1);
        let mut t = start.div_euclid(every(msgs)) * every(msgs);
        while t < end {
            if t >= start {
                let n = usize::try_from(t).unwrap_or(0);
                let user = self.users[n % self.users.len()].clone();
                let e = self.event(
                    t,
                    RoomEvent::Chat {
                        message: ChatMessage {
                            id: MessageId::new(),
                            user,
                            text: format!("so cute!! want the beige one {n}"),
                            sent_at: self.at(t),
                            client_id: None,
                        },
                    },
                );
                out.push((t, e));
            }
            t += every(msgs);
        }
        let gifts = (msgs / 10).max(1);
        let mut t = start.div_euclid(every(gifts)) * every(gifts);
        while t < end {
            if t >= start {
                let n = usize::try_from(t / every(gifts)).unwrap_or(0);
                let big = n % 40 == 0;
                let g = GiftEvent {
                    gift_id: GiftId::new(),
                    gift_name: if big { "Rocket" } else { "Rose" }.into(),
                    coins: if big { 2_000 } else { 5 },
                    sender: self.users[n % 7].clone(),
                    count: 1,
                    combo_id: self.combos[n % self.combos.len()],
                    combo_count: u32::try_from(n / self.combos.len() + 1).unwrap_or(1),
                };
                let e = self.event(t, RoomEvent::Gift(g));
                out.push((t, e));
            }
            t += every(gifts);
        }
        if f % 8 == 0 {
            let total = 1_000 + u64::try_from(f).unwrap_or(0) * 10;
            let e = self.event(start, RoomEvent::Likes { added: 10, total });
            out.push((start, e));
        }
        if f % 3 == 0 {
            out.push((start, Event::Live(LiveEvent::Like)));
        }
        out
    }
}

fn pct(v: &[f64], p: f64) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
}

/// Frame costs (ms) for `msgs` chat lines a second; and events folded.
fn run(msgs: i64) -> (Vec<f64>, usize) {
    let mut sim = Sim::new();
    let frames = SECONDS * 1000 / FRAME_MS;
    let mut costs = Vec::new();
    let mut events = 0;
    for f in 0..frames {
        let batch = sim.frame_events(f, msgs);
        let now = sim.at((f + 1) * FRAME_MS);
        let started = Instant::now();
        for (t, e) in batch {
            black_box(sim.app.update(e, sim.at(t)));
            events += 1;
        }
        black_box(sim.app.view(now));
        costs.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    // The work was real: the room shows the flood.
    let view = sim.app.view(sim.at(SECONDS * 1000)).room.expect("room");
    if msgs >= 50 {
        // Paced to be readable (crates/core chat.rs): four a second after
        // the first few, bounded.
        let paced = usize::try_from(SECONDS * livecart_core::chat::CHAT_PER_SECOND).unwrap_or(0);
        assert!(
            (paced..=50).contains(&view.chat.len()),
            "a paced, bounded chat list: {}",
            view.chat.len()
        );
        assert!(
            view.lanes.iter().all(Option::is_some),
            "both gift lanes busy"
        );
        assert!(view.pinned.is_some(), "the card stays up");
    }
    (costs, events)
}

fn main() {
    // Warm up (allocator, caches), then the baseline and the flood.
    let _ = run(200);
    let (quiet, _) = run(1);
    let (flood, events) = run(200);
    let total: f64 = flood.iter().sum();
    println!("\nlivecart-core flood: {SECONDS} s simulated, one view model per 33 ms frame");
    println!("| room | frames | p50 ms | p95 ms | p99 ms | max ms |");
    println!("|---|---|---|---|---|---|");
    for (name, c) in [
        ("quiet (1 msg/s), baseline", &quiet),
        ("flood (200 msg/s + gifts + likes)", &flood),
    ] {
        println!(
            "| {name} | {} | {:.3} | {:.3} | {:.3} | {:.3} |",
            c.len(),
            pct(c, 0.5),
            pct(c, 0.95),
            pct(c, 0.99),
            pct(c, 1.0)
        );
    }
    println!(
        "flood/baseline p99 ratio: {:.1}x; {events} events folded in {total:.1} ms of CPU ({:.0} events/s capacity)",
        pct(&flood, 0.99) / pct(&quiet, 0.99).max(1e-6),
        events as f64 / (total / 1000.0)
    );
    println!(
        "flood msgs_per_s=200 frame_p50_ms={:.3} frame_p99_ms={:.3}",
        pct(&flood, 0.5),
        pct(&flood, 0.99)
    );
}
