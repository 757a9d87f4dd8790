//! What plays over the video of the room on screen: the pinned product card in
//! step with the picture, the flash sale's countdown, chat bounds and the
//! unread pill, gift lanes and the big-gift queue, hearts and batched likes,
//! resume without duplicates, render coalescing, follow and report.
//!
//! Size: tests, one story each, sharing their fixtures.

#![allow(clippy::disallowed_methods)] // fixtures: fresh ids and clock times, made here as a server would

use jiff::{SignedDuration, Timestamp};
use livecart_core::ShopEvent;
use livecart_core::effects::{HttpRequest, Method, SocketCommand};
use livecart_core::feed::Drawn;
use livecart_core::frames::{FRAME_MS, FrameClock, Render};
use livecart_core::view::RoomView;
use livecart_core::{AccountEvent, LiveEvent};
use livecart_core::{App, Effect, Event, HttpFailure, PlayerUpdate, SocketUpdate};
use livecart_protocol::rest::{
    ChatMessage, FeedResponse, FlashSale, FlashSaleState, HostInfo, ImageRef, Pin, Product,
    Profile, Role, RoomSnapshot, RoomStatus, RoomSummary, SessionResponse, Sku, StreamProtocol,
    StreamUrl, UserRef,
};
use livecart_protocol::{
    ClientFrame, ComboId, Currency, Epoch, FlashSaleId, FlashSalePhase, GiftEvent, GiftId, ImageId,
    MessageId, Money, ProductId, RoomEvent, RoomId, ServerFrame, SkuId, UserId,
};

fn t0() -> Timestamp {
    "2026-11-22T10:00:00Z".parse().expect("time")
}

fn at(ms: i64) -> Timestamp {
    t0() + SignedDuration::from_millis(ms)
}

fn image() -> ImageRef {
    ImageRef {
        id: ImageId::new(),
        url: "http://x/i.jpg".into(),
        thumb_url: "http://x/t.jpg".into(),
    }
}

fn usd(minor: i64) -> Money {
    Money::new(minor, Currency::USD)
}

fn product(name: &str, stock: u32) -> Product {
    Product {
        id: ProductId::new(),
        name: name.into(),
        description: format!("{name}, described"),
        image: image(),
        skus: vec![Sku {
            id: SkuId::new(),
            name: "One size".into(),
            price: usd(2_900),
            stock,
        }],
    }
}

fn summary() -> RoomSummary {
    let id = RoomId::new();
    RoomSummary {
        id,
        title: "knits".into(),
        category: "fashion".into(),
        host: HostInfo {
            id: UserId::new(),
            name: "Mia".into(),
            avatar: image(),
        },
        cover: image(),
        viewer_count: 1_200,
        streams: vec![StreamUrl {
            protocol: StreamProtocol::HttpFlv,
            url: format!("http://x/live/{id}.flv"),
        }],
        status: RoomStatus::Live,
    }
}

/// The room under test: its app, id, epoch and the products in its bag.
struct Room {
    app: App,
    id: RoomSummary,
    epoch: Epoch,
    products: Vec<Product>,
    seq: u64,
    effects: Vec<Effect>,
}

impl Room {
    /// The app on a one-room feed, joined with a snapshot (pin optional).
    fn joined(pinned: Option<usize>, sale: Option<FlashSale>) -> Self {
        let mut app = App::default();
        let started = app.update(Event::Started, t0());
        let feed = started
            .iter()
            .find_map(|e| match e {
                Effect::Http(r) if r.path == "/v1/feed" => Some(r.id),
                _ => None,
            })
            .expect("feed requested");
        let room = summary();
        app.update(
            Event::HttpDone {
                id: feed,
                result: Ok(serde_json::to_value(FeedResponse {
                    rooms: vec![room.clone()],
                })
                .expect("json")),
            },
            t0(),
        );
        let products = vec![product("Cable knit", 40), product("Beanie", 7)];
        let epoch = Epoch::new();
        let mut r = Self {
            app,
            id: room,
            epoch,
            products: products.clone(),
            seq: 10,
            effects: Vec::new(),
        };
        r.frame(
            0,
            ServerFrame::Welcome {
                protocol_version: 1,
                room_id: r.id.id,
                epoch,
                seq: 10,
                server_time: t0(),
                heartbeat_ms: 15_000,
                resumed: false,
                user: None,
            },
        );
        let snapshot = RoomSnapshot {
            room: r.id.clone(),
            pinned: pinned.map(|i| Pin {
                product_id: products[i].id,
                pinned_at: t0(),
                stream_time: t0(),
            }),
            products,
            flash_sale: sale,
            chat: Vec::new(),
            viewer_count: 1_200,
            like_count: 100,
            seq: 10,
            epoch,
            server_time: t0(),
        };
        r.frame(
            0,
            ServerFrame::Snapshot {
                snapshot: Box::new(snapshot),
            },
        );
        r
    }

    fn update(&mut self, event: Event, ms: i64) -> &[Effect] {
        self.effects = self.app.update(event, at(ms));
        &self.effects
    }

    fn frame(&mut self, ms: i64, f: ServerFrame) -> &[Effect] {
        self.update(
            Event::Socket {
                room: self.id.id,
                update: SocketUpdate::Frame(Box::new(f)),
            },
            ms,
        )
    }

    /// The next room event, numbered after the last.
    fn event(&mut self, ms: i64, event: RoomEvent) -> &[Effect] {
        self.seq += 1;
        let f = ServerFrame::Event {
            seq: self.seq,
            epoch: self.epoch,
            at: at(ms),
            event,
        };
        self.frame(ms, f)
    }

    /// The page reports drawing at 30 fps, `behind` ms after capture.
    fn drawn(&mut self, ms: i64, behind: Option<u32>) {
        let room = self.id.id;
        self.update(
            Event::Player {
                room,
                update: PlayerUpdate::Drawn(Drawn {
                    fps: 30.0,
                    latency_p95_ms: behind.unwrap_or(0),
                    latency_p50_ms: behind,
                }),
            },
            ms,
        );
    }

    fn view(&self, ms: i64) -> RoomView {
        self.app.view(at(ms)).room.expect("a room on screen")
    }

    /// The timers the last update armed: (id, after ms).
    fn timers(&self) -> Vec<(u64, u64)> {
        self.effects
            .iter()
            .filter_map(|e| match e {
                Effect::Timer { id, after_ms } => Some((*id, *after_ms)),
                _ => None,
            })
            .collect()
    }

    /// Signed in silently (the keyring's session); returns who.
    fn sign_in(&mut self) -> UserRef {
        let s = session();
        let me = UserRef {
            id: s.user.id,
            name: s.user.name.clone(),
        };
        self.update(
            Event::Account(AccountEvent::VaultLoaded(Some(Box::new(s)))),
            0,
        );
        me
    }

    fn gift(&mut self, ms: i64, name: &str, coins: u32, combo: ComboId, n: u32) {
        let g = GiftEvent {
            gift_id: GiftId::new(),
            gift_name: name.into(),
            coins,
            sender: UserRef {
                id: UserId::new(),
                name: format!("fan of {name}"),
            },
            count: 1,
            combo_id: combo,
            combo_count: n,
        };
        self.event(ms, RoomEvent::Gift(g));
    }

    fn chat(&mut self, ms: i64, text: &str) -> MessageId {
        let id = MessageId::new();
        self.event(
            ms,
            RoomEvent::Chat {
                message: ChatMessage {
                    id,
                    user: UserRef {
                        id: UserId::new(),
                        name: "ben".into(),
                    },
                    text: text.into(),
                    sent_at: at(ms),
                    client_id: None,
                },
            },
        );
        id
    }
}

fn pin(product: ProductId, stream_ms: i64) -> RoomEvent {
    RoomEvent::Pin {
        pin: Pin {
            product_id: product,
            pinned_at: at(stream_ms),
            stream_time: at(stream_ms),
        },
    }
}

#[test]
fn the_card_appears_when_the_video_the_viewer_sees_reaches_the_pin_not_when_it_arrives() {
    let mut r = Room::joined(None, None);
    // The picture on screen is 400 ms behind its capture.
    r.drawn(0, Some(400));
    let knit = r.products[0].id;
    // The host pins at stream time 1000; the event arrives 20 ms later.
    r.event(1_020, pin(knit, 1_000));
    assert_eq!(
        r.view(1_020).pinned,
        None,
        "not at arrival: the video is behind"
    );
    let (pin_timer, after) = r.timers().into_iter().min_by_key(|t| t.1).expect("a timer");
    assert_eq!(after, 380, "woken when the picture reaches the pin");
    // One frame early: still hidden (a chat line arrives and re-renders).
    r.chat(1_366, "is it wool?");
    assert_eq!(r.view(1_366).pinned, None);
    r.update(Event::Timer(pin_timer), 1_400);
    let card = r
        .view(1_400)
        .pinned
        .expect("shown at stream time + latency");
    assert_eq!(card.name, "Cable knit");
    assert_eq!(card.price, "$29.00");

    // Unpin hides it the same way: at stream time 3000 + 400.
    r.event(
        3_010,
        RoomEvent::Unpin {
            product_id: knit,
            unpinned_at: at(3_000),
            stream_time: at(3_000),
        },
    );
    assert!(r.view(3_010).pinned.is_some(), "the video still shows it");
    r.update(Event::ToggleDebug, 3_380);
    assert!(r.view(3_380).pinned.is_some());
    r.update(Event::ToggleDebug, 3_400);
    assert_eq!(
        r.view(3_400).pinned,
        None,
        "hidden when the video gets there"
    );
}

#[test]
fn a_late_joiner_sees_the_current_pin_at_once() {
    let r = Room::joined(Some(1), None);
    let card = r.view(0).pinned.expect("from the snapshot");
    assert_eq!(card.name, "Beanie");
    assert_eq!(card.stock.as_deref(), Some("Only 7 left"));
}

#[test]
fn a_stream_without_capture_times_shows_the_card_on_arrival() {
    let mut r = Room::joined(None, None);
    r.drawn(0, None);
    let beanie = r.products[1].id;
    r.event(500, pin(beanie, 480));
    assert_eq!(
        r.view(500).pinned.map(|c| c.name).as_deref(),
        Some("Beanie")
    );
}

fn sale(product: &Product, remaining: u32, deadline_ms: i64, state: FlashSaleState) -> FlashSale {
    FlashSale {
        id: FlashSaleId::new(),
        product_id: product.id,
        sku_id: product.skus[0].id,
        price: usd(1_900),
        original_price: usd(2_900),
        total_stock: 50,
        remaining_stock: remaining,
        starts_at: t0(),
        deadline: at(deadline_ms),
        state,
    }
}

#[test]
fn the_flash_sale_counts_down_on_the_server_clock_drains_sells_out_and_ends() {
    let mut r = Room::joined(Some(0), None);
    let knit = r.products[0].clone();
    // The server's clock is 5 s ahead of ours: its deadline 65 s after its
    // now is 60 s of sale left.
    let s = sale(&knit, 50, 65_000, FlashSaleState::Active);
    r.seq += 1;
    let f = ServerFrame::Event {
        seq: r.seq,
        epoch: r.epoch,
        at: at(5_000),
        event: RoomEvent::FlashSale {
            phase: FlashSalePhase::Started,
            sale: s.clone(),
        },
    };
    r.frame(0, f);
    let card = r.view(0).pinned.expect("card");
    assert_eq!(card.sale.as_deref(), Some("Flash sale · 01:00"));
    assert_eq!(card.price, "$19.00");
    assert_eq!(card.was.as_deref(), Some("$29.00"));
    assert_eq!(card.stock, None, "plenty left");
    assert!(
        r.timers().iter().any(|(_, after)| *after == 1_000),
        "the countdown ticks each second: {:?}",
        r.timers()
    );
    assert_eq!(
        r.view(1_500).pinned.and_then(|c| c.sale).as_deref(),
        Some("Flash sale · 00:59")
    );

    // Stock drains live.
    r.event(
        2_000,
        RoomEvent::FlashSale {
            phase: FlashSalePhase::Stock,
            sale: sale(&knit, 7, 65_000, FlashSaleState::Active),
        },
    );
    assert_eq!(
        r.view(2_000).pinned.and_then(|c| c.stock).as_deref(),
        Some("Only 7 left")
    );
    r.event(
        3_000,
        RoomEvent::FlashSale {
            phase: FlashSalePhase::Stock,
            sale: sale(&knit, 0, 65_000, FlashSaleState::SoldOut),
        },
    );
    let card = r.view(3_000).pinned.expect("card");
    assert_eq!(card.sale.as_deref(), Some("Flash sale · sold out"));
    // The sale's units are gone; the product itself is still on sale at
    // its own price (and stock).
    assert_eq!(card.price, "$29.00");
    assert_eq!(card.was, None);

    // The server ends it: "ended" stays a moment, then the normal price.
    r.event(
        4_000,
        RoomEvent::FlashSale {
            phase: FlashSalePhase::Ended,
            sale: sale(&knit, 0, 65_000, FlashSaleState::Ended),
        },
    );
    let card = r.view(4_000).pinned.expect("card");
    assert_eq!(card.sale.as_deref(), Some("Flash sale ended"));
    assert_eq!(card.price, "$29.00");
    r.update(Event::ToggleDebug, 9_000);
    assert_eq!(r.view(9_000).pinned.expect("card").sale, None);
}

#[test]
fn a_sale_past_its_deadline_shows_ended_before_the_server_says_so() {
    let mut r = Room::joined(Some(0), None);
    let s = sale(&r.products[0], 20, 2_000, FlashSaleState::Active);
    r.event(
        0,
        RoomEvent::FlashSale {
            phase: FlashSalePhase::Started,
            sale: s,
        },
    );
    assert_eq!(
        r.view(1_000).pinned.and_then(|c| c.sale).as_deref(),
        Some("Flash sale · 00:01")
    );
    assert_eq!(
        r.view(2_100).pinned.and_then(|c| c.sale).as_deref(),
        Some("Flash sale ended")
    );
}

#[test]
fn a_flood_of_chat_shows_at_a_readable_pace_newest_kept_and_bounded() {
    let mut r = Room::joined(None, None);
    // 200 lines a second for a second.
    for i in 0..200 {
        r.chat(i * 5, &format!("line {i}"));
    }
    let v = r.view(1_000);
    // A few at once, then four a second: 3 + 4, and the newest is at most
    // a second old (the lines in between were skipped).
    assert!(
        (5..=8).contains(&v.chat.len()),
        "a readable pace: {} lines in the first second",
        v.chat.len()
    );
    let newest: i64 = v
        .chat
        .last()
        .and_then(|l| l.text.strip_prefix("line "))
        .and_then(|n| n.parse().ok())
        .expect("a line");
    // (Line 140 came at 700 ms; the last line shown left the queue at 750.)
    assert!(newest >= 140, "the newest shown is recent: line {newest}");
    // Twenty more seconds of it: never more than the pace, never more than 50.
    let mut shown_before: Vec<String> = v.chat.iter().map(|l| l.id.clone()).collect();
    for second in 1..=20 {
        for i in 0..200 {
            r.chat(second * 1_000 + i * 5, "more");
        }
        let now: Vec<String> = r
            .view((second + 1) * 1_000)
            .chat
            .iter()
            .map(|l| l.id.clone())
            .collect();
        let new = now.iter().filter(|id| !shown_before.contains(id)).count();
        assert!(new <= 5, "second {second}: {new} new lines");
        assert!(now.len() <= 50, "bounded: {}", now.len());
        shown_before = now;
    }
    assert_eq!(shown_before.len(), 50, "full after a while");

    // A removed line goes.
    let last = r.view(21_000).chat.last().expect("a line").id.clone();
    r.event(
        21_000,
        RoomEvent::ChatRemoved {
            message_id: last.parse().expect("id"),
        },
    );
    assert!(r.view(21_000).chat.iter().all(|l| l.id != last), "removed");
}

#[test]
fn reading_older_lines_or_picking_one_holds_the_chat_still_and_counts_what_came() {
    let mut r = Room::joined(None, None);
    r.chat(0, "hello");
    r.update(
        Event::Live(LiveEvent::ChatScrolled { at_bottom: false }),
        100,
    );
    let held = r.view(100).chat;
    for i in 0..12 {
        r.chat(200 + i * 100, "more");
    }
    let v = r.view(2_000);
    assert_eq!(v.chat, held, "nothing moves under the reader");
    assert_eq!(v.new_messages.as_deref(), Some("12 new messages"));
    r.update(
        Event::Live(LiveEvent::ChatScrolled { at_bottom: true }),
        2_100,
    );
    assert_eq!(r.view(2_100).new_messages, None);
    assert!(r.view(3_100).chat.len() > held.len(), "moving again");

    // A line picked to report: the list holds still until it is let go.
    let pick = r.view(3_100).chat[0].id.clone();
    r.update(
        Event::Live(LiveEvent::SelectChatLine(Some(pick.parse().expect("id")))),
        3_200,
    );
    let v = r.view(3_200);
    assert_eq!(v.selected_line.as_deref(), Some(pick.as_str()));
    for i in 0..8 {
        r.chat(3_300 + i * 50, "flood");
    }
    assert_eq!(
        r.view(4_000).chat,
        v.chat,
        "the Report chip stays under the finger"
    );
    assert_eq!(
        r.view(4_000).new_messages,
        None,
        "no pill over the newest lines, where the chip can be"
    );
    r.update(Event::Live(LiveEvent::SelectChatLine(None)), 4_100);
    assert_eq!(r.view(4_100).selected_line, None);
    assert_eq!(
        r.view(4_100).new_messages,
        None,
        "let go at the newest lines: the list moves on, nothing to count"
    );

    // Picked while reading back: the pill waits for the pick to end.
    r.update(
        Event::Live(LiveEvent::ChatScrolled { at_bottom: false }),
        4_200,
    );
    let pick = r.view(4_200).chat[1].id.clone();
    r.update(
        Event::Live(LiveEvent::SelectChatLine(Some(pick.parse().expect("id")))),
        4_300,
    );
    for i in 0..3 {
        r.chat(4_400 + i * 50, "flood");
    }
    assert_eq!(r.view(4_600).new_messages, None, "hidden while picked");
    r.update(Event::Live(LiveEvent::SelectChatLine(None)), 4_700);
    assert_eq!(
        r.view(4_700).new_messages.as_deref(),
        Some("3 new messages"),
        "still reading back: the count shows again"
    );
}

#[test]
fn the_viewers_own_lines_always_show_in_a_flood() {
    let mut r = Room::joined(None, None);
    let me = r.sign_in();
    for i in 0..400 {
        r.chat(i * 5, "flood");
        if i == 200 {
            r.event(
                i * 5,
                RoomEvent::Chat {
                    message: ChatMessage {
                        id: MessageId::new(),
                        user: me.clone(),
                        text: "is the oil vegan?".into(),
                        sent_at: at(i * 5),
                        client_id: None,
                    },
                },
            );
        }
    }
    let v = r.view(2_000);
    let mine: Vec<_> = v.chat.iter().filter(|l| l.mine).collect();
    assert_eq!(mine.len(), 1, "shown at once, never skipped");
    assert_eq!(mine[0].text, "is the oil vegan?");
}

#[test]
fn a_flood_renders_at_most_thirty_times_a_second_and_shows_the_last_line_within_a_frame() {
    let mut clock = FrameClock::default();
    let (mut renders, mut due) = (0, None::<i64>);
    let mut last_change = 0;
    // 200 messages over one second, 5 ms apart; the shell renders when told.
    for i in 0..200 {
        let now = i * 5;
        if due.is_some_and(|d| d <= now) {
            clock.rendered(now);
            renders += 1;
            due = None;
        }
        last_change = now;
        match clock.changed(now) {
            Render::Now => {
                clock.rendered(now);
                renders += 1;
            }
            Render::At(t) => due = Some(due.map_or(t, |d| d.min(t))),
        }
    }
    let last_render = due.unwrap_or(last_change);
    assert!(renders <= 31, "{renders} renders for 200 messages in 1 s");
    assert!(renders >= 25, "but still ~30 a second: {renders}");
    assert!(
        last_render - last_change <= FRAME_MS,
        "the last line shows within a frame"
    );
}

#[test]
fn a_combo_bumps_its_lane_in_place_and_a_third_sender_waits_for_a_lane() {
    let mut r = Room::joined(None, None);
    let (a, b, c) = (ComboId::new(), ComboId::new(), ComboId::new());
    r.gift(0, "Rose", 5, a, 1);
    r.gift(100, "Rose", 5, a, 2);
    r.gift(200, "Rose", 5, a, 3);
    r.gift(300, "Crown", 299, b, 1);
    r.gift(400, "Ice cream", 20, c, 1);
    let v = r.view(400);
    let lanes: Vec<_> = v.lanes.iter().flatten().collect();
    assert_eq!(lanes.len(), 2, "two lanes");
    assert_eq!(lanes[0].gift, "Rose");
    assert_eq!(
        lanes[0].combo.as_deref(),
        Some("x3"),
        "one lane, bumped in place"
    );
    assert_eq!(lanes[0].bumps, 2);
    assert_eq!(lanes[1].gift, "Crown");
    // The rose lane clears 3 s after its last bump; the ice cream takes it.
    r.update(Event::ToggleDebug, 3_200);
    let v = r.view(3_200);
    let gifts: Vec<_> = v.lanes.iter().flatten().map(|l| l.gift.as_str()).collect();
    assert_eq!(gifts, ["Ice cream", "Crown"]);
}

#[test]
fn big_gifts_play_one_at_a_time_most_valuable_first() {
    let mut r = Room::joined(None, None);
    r.gift(0, "Sports car", 1_000, ComboId::new(), 1);
    r.gift(100, "Rocket", 2_000, ComboId::new(), 1);
    r.gift(200, "Castle", 5_000, ComboId::new(), 1);
    r.gift(300, "Rose", 5, ComboId::new(), 1);
    assert_eq!(
        r.view(300).big_gift.map(|b| b.gift).as_deref(),
        Some("Sports car")
    );
    r.update(Event::ToggleDebug, 3_000);
    let big = r.view(3_000).big_gift.expect("the next");
    assert_eq!(big.gift, "Castle", "the most valuable waiting plays next");
    assert_eq!(big.animation, "castle");
    assert!(!big.banner_only);
    r.update(Event::ReducedMotion(true), 6_000);
    let big = r.view(6_000).big_gift.expect("then the rocket");
    assert_eq!(big.gift, "Rocket");
    assert!(big.banner_only, "reduced motion: a compact banner");
    assert!(r.view(6_000).hearts.is_empty());
    r.update(Event::ToggleDebug, 9_000);
    assert_eq!(r.view(9_000).big_gift, None);
}

#[test]
fn likes_float_hearts_at_once_and_reach_the_server_in_one_batch() {
    let mut r = Room::joined(None, None);
    // Anonymous: the first like asks to sign in (the server counts only
    // signed-in viewers), then counts.
    r.update(Event::Live(LiveEvent::Like), 0);
    assert_eq!(
        r.app.view(at(0)).sign_in.map(|s| s.reason).as_deref(),
        Some("Sign in to like this live")
    );
    r.update(Event::Account(AccountEvent::DismissSignIn), 0);
    r.update(
        Event::Account(AccountEvent::VaultLoaded(Some(Box::new(session())))),
        0,
    );
    for i in 0..5 {
        r.update(Event::Live(LiveEvent::Like), i * 20);
        let sent: Vec<_> = r
            .effects
            .iter()
            .filter(|e| matches!(e, Effect::Socket(SocketCommand::Send { .. })))
            .collect();
        assert!(sent.is_empty(), "not one frame per tap: {sent:?}");
    }
    let v = r.view(100);
    assert_eq!(v.hearts.len(), 5);
    assert_eq!(v.my_hearts, v.hearts, "the viewer's own, told apart");
    assert_eq!(v.likes, "105", "counted at once");
    r.update(Event::ToggleDebug, 500);
    assert!(r.effects.contains(&Effect::Socket(SocketCommand::Send {
        room: r.id.id,
        frame: ClientFrame::Like { count: 5 },
    })));
    // The server's aggregate arrives a little later and never lowers the count.
    r.event(
        600,
        RoomEvent::Likes {
            added: 3,
            total: 103,
        },
    );
    assert_eq!(r.view(600).likes, "105");
    let v = r.view(600);
    assert_eq!(
        v.hearts.len() - v.my_hearts.len(),
        3,
        "the crowd's hearts are not the viewer's"
    );
    r.event(
        800,
        RoomEvent::Likes {
            added: 5,
            total: 108,
        },
    );
    assert_eq!(r.view(800).likes, "108");
    // Hearts fade.
    r.update(Event::ToggleDebug, 5_000);
    assert!(r.view(5_000).hearts.is_empty());
}

#[test]
fn a_resume_fills_the_gap_without_duplicating_chat_or_gifts_and_an_epoch_change_resyncs() {
    let mut r = Room::joined(None, None);
    r.chat(0, "one");
    r.chat(10, "two");
    // Event 14 arrives after 12: a gap → close and resume from 12.
    let (epoch, room) = (r.epoch, r.id.id);
    let f = ServerFrame::Event {
        seq: 14,
        epoch,
        at: at(20),
        event: RoomEvent::Notice { text: "x".into() },
    };
    let effects = r.frame(20, f).to_vec();
    assert!(effects.iter().any(|e| matches!(
        e,
        Effect::Socket(SocketCommand::Connect { resume: Some((12, ep)), .. }) if *ep == epoch
    )));
    // The resumed stream repeats 12 (ignored) and fills 13, 14.
    let combo = ComboId::new();
    let gift = |n: u32| {
        RoomEvent::Gift(GiftEvent {
            gift_id: GiftId::new(),
            gift_name: "Rose".into(),
            coins: 5,
            sender: UserRef {
                id: UserId::new(),
                name: "dan".into(),
            },
            count: 1,
            combo_id: combo,
            combo_count: n,
        })
    };
    let replay = |seq, event| ServerFrame::Event {
        seq,
        epoch,
        at: at(30),
        event,
    };
    let two = r
        .app
        .room
        .as_ref()
        .and_then(|l| l.state.as_ref())
        .map(|s| s.chat[1].clone());
    r.frame(
        30,
        replay(
            12,
            RoomEvent::Chat {
                message: two.expect("line two"),
            },
        ),
    );
    r.frame(30, replay(13, gift(1)));
    r.frame(30, replay(14, gift(2)));
    r.frame(30, replay(14, gift(2)));
    let v = r.view(30);
    let texts: Vec<_> = v.chat.iter().map(|l| l.text.as_str()).collect();
    assert_eq!(texts, ["one", "two"], "no duplicated line");
    let lanes: Vec<_> = v.lanes.iter().flatten().collect();
    assert_eq!(lanes.len(), 1);
    assert_eq!(lanes[0].combo.as_deref(), Some("x2"), "each gift once");

    // A new epoch (the server restarted): the snapshot replaces everything.
    let new_epoch = Epoch::new();
    r.frame(
        40,
        ServerFrame::Event {
            seq: 1,
            epoch: new_epoch,
            at: at(40),
            event: RoomEvent::Notice { text: "y".into() },
        },
    );
    let snap = RoomSnapshot {
        room: r.id.clone(),
        pinned: None,
        products: r.products.clone(),
        flash_sale: None,
        chat: Vec::new(),
        viewer_count: 3,
        like_count: 0,
        seq: 1,
        epoch: new_epoch,
        server_time: at(50),
    };
    r.frame(
        50,
        ServerFrame::Snapshot {
            snapshot: Box::new(snap),
        },
    );
    assert!(
        r.view(50).chat.is_empty(),
        "re-rendered from the new snapshot"
    );
    assert!(
        r.effects.iter().all(
            |e| !matches!(e, Effect::Socket(SocketCommand::Connect { room: c, .. }) if *c != room)
        ),
        "still the same room"
    );
}

fn session() -> SessionResponse {
    SessionResponse {
        access_token: "access-1".into(),
        access_expires_at: t0() + SignedDuration::from_hours(1),
        refresh_token: "refresh-1".into(),
        refresh_expires_at: t0() + SignedDuration::from_hours(24 * 30),
        user: Profile {
            id: UserId::new(),
            username: "ava".into(),
            name: "Ava".into(),
            role: Role::Viewer,
        },
    }
}

fn requests(effects: &[Effect]) -> Vec<HttpRequest> {
    effects
        .iter()
        .filter_map(|e| match e {
            Effect::Http(r) => Some(r.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn following_is_kept_by_the_server_and_undone_when_it_refuses() {
    let mut r = Room::joined(None, None);
    let host = r.id.host.id;
    let effects = r
        .update(
            Event::Account(AccountEvent::VaultLoaded(Some(Box::new(session())))),
            0,
        )
        .to_vec();
    let list = requests(&effects)
        .into_iter()
        .find(|q| q.path == "/v1/me/following")
        .expect("the follow list is loaded after a silent sign-in");
    r.update(
        Event::HttpDone {
            id: list.id,
            result: Ok(serde_json::json!({ "hosts": [host] })),
        },
        10,
    );
    assert!(r.app.view(at(10)).pages[0].following, "from the server");

    let effects = r.update(Event::Live(LiveEvent::Follow), 20).to_vec();
    let unfollow = requests(&effects).pop().expect("a request");
    assert_eq!(unfollow.method, Method::Delete);
    assert_eq!(unfollow.path, format!("/v1/me/following/{host}"));
    assert_eq!(unfollow.access_token.as_deref(), Some("access-1"));
    assert!(!r.app.view(at(20)).pages[0].following, "shown at once");
    r.update(
        Event::HttpDone {
            id: unfollow.id,
            result: Err(HttpFailure::Network("down".into())),
        },
        30,
    );
    let v = r.app.view(at(30));
    assert!(v.pages[0].following, "undone: the server did not hear it");
    assert_eq!(
        v.message.as_deref(),
        Some("You're offline — try again when connected")
    );
}

#[test]
fn a_reported_message_disappears_for_the_reporter_and_goes_to_the_moderators() {
    let mut r = Room::joined(None, None);
    let bad = r.chat(0, "buy followers at spam.example");
    r.chat(10, "nice knit");
    // Anonymous: reporting asks to sign in first, then reports.
    r.update(
        Event::Live(LiveEvent::Report {
            message: bad,
            reason: "Spam".into(),
        }),
        20,
    );
    assert!(r.app.view(at(20)).sign_in.is_some());
    assert_eq!(
        r.view(20).chat.len(),
        2,
        "nothing hidden before the report is made"
    );
    let effects = r
        .update(
            Event::Account(AccountEvent::SignIn {
                username: "ava".into(),
                password: "livecart".into(),
            }),
            30,
        )
        .to_vec();
    let sign_in = requests(&effects).pop().expect("sign-in");
    let effects = r
        .update(
            Event::HttpDone {
                id: sign_in.id,
                result: Ok(serde_json::to_value(session()).expect("json")),
            },
            40,
        )
        .to_vec();
    let report = requests(&effects)
        .into_iter()
        .find(|q| q.path.ends_with("/reports"))
        .expect("the report is sent after signing in");
    assert_eq!(report.method, Method::Post);
    assert_eq!(report.path, format!("/v1/rooms/{}/reports", r.id.id));
    assert_eq!(
        report.body.as_ref().map(|b| b["message_id"].clone()),
        Some(serde_json::json!(bad))
    );
    assert_eq!(
        report.body.as_ref().map(|b| b["reason"].clone()),
        Some(serde_json::json!("Spam")),
        "the reason picked goes to the moderators"
    );
    let texts: Vec<_> = r.view(40).chat.into_iter().map(|l| l.text).collect();
    assert_eq!(texts, ["nice knit"]);
    r.update(
        Event::HttpDone {
            id: report.id,
            result: Ok(serde_json::json!({})),
        },
        50,
    );
    assert_eq!(
        r.app.view(at(50)).message.as_deref(),
        Some("Reported — thanks, a moderator will look at it")
    );
}

#[test]
fn the_bag_lists_the_rooms_products_with_the_presented_one_marked_and_opens_a_detail() {
    let mut r = Room::joined(Some(1), None);
    assert_eq!(r.view(0).bag_count, 2);
    r.update(Event::Shop(ShopEvent::OpenBag), 0);
    let bag = r.view(0).bag.expect("open");
    assert_eq!(bag.len(), 2);
    assert!(!bag[0].presenting);
    assert!(bag[1].presenting, "the pinned one is marked");
    assert_eq!(bag[1].stock, "Only 7 left");
    assert_eq!(bag[0].stock, "40 in stock");
    let beanie = r.products[1].id;
    r.update(Event::Shop(ShopEvent::OpenProduct(beanie)), 10);
    let detail = r.view(10).product.expect("detail");
    assert_eq!(detail.name, "Beanie");
    assert_eq!(detail.skus.len(), 1);
    let one = &detail.skus[0];
    assert_eq!(
        (one.name.as_str(), one.price.as_str(), one.stock.as_str()),
        ("One size", "$29.00", "Only 7 left")
    );
    assert!(one.selected, "the only size in stock is preselected");
    // Stock moves live in the open sheet.
    let sku = r.products[1].skus[0].id;
    r.event(
        20,
        RoomEvent::Stock {
            product_id: beanie,
            sku_id: sku,
            stock: 2,
        },
    );
    assert_eq!(
        r.view(20).product.expect("detail").skus[0].stock,
        "Only 2 left"
    );
    r.update(Event::Shop(ShopEvent::CloseProduct), 30);
    r.update(Event::Shop(ShopEvent::CloseBag), 30);
    let v = r.view(30);
    assert_eq!((v.bag, v.product), (None, None));
}

#[test]
fn a_sale_sold_out_early_says_sold_out_until_its_deadline_never_ended() {
    let mut r = Room::joined(Some(0), None);
    let knit = r.products[0].clone();
    r.event(
        0,
        RoomEvent::FlashSale {
            phase: FlashSalePhase::Started,
            sale: sale(&knit, 5, 60_000, FlashSaleState::Active),
        },
    );
    // The last unit goes 19 s in: the server ends the sale as sold out.
    r.event(
        19_000,
        RoomEvent::FlashSale {
            phase: FlashSalePhase::Ended,
            sale: sale(&knit, 0, 60_000, FlashSaleState::SoldOut),
        },
    );
    for t in [19_000, 30_000, 59_000] {
        let card = r.view(t).pinned.expect("card");
        assert_eq!(
            card.sale.as_deref(),
            Some("Flash sale · sold out"),
            "at {t} ms, with {} s on the sale's clock",
            (60_000 - t) / 1000
        );
    }
    r.update(Event::ToggleDebug, 60_500);
    assert_eq!(r.view(60_500).pinned.expect("card").sale, None);
}
