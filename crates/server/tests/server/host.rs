//! The host API: going live with an external stream, pins, flash sales,
//! moderation — and who may do what.
//!
//! Size: integration tests, one story each, sharing the test server.

use crate::support::{ADMIN, TestServer, is_chat};
use livecart_protocol::live::FlashSalePhase;
use livecart_protocol::rest::{
    AddProductRequest, CreateRoomRequest, FlashSale, FlashSaleState, NewSku, Pin, RoomStatus,
    RoomSummary, StreamProtocol,
};
use livecart_protocol::{ClientFrame, Currency, ErrorCode, Money, RoomEvent};
use serde_json::json;

#[tokio::test]
#[allow(clippy::too_many_lines)] // one story, read top to bottom
async fn a_host_goes_live_with_an_obs_stream_and_sells() {
    let server = TestServer::start().await;
    let mia = server.sign_in("mia").await;
    let post = |path: String, body: serde_json::Value| {
        let http = server.http.clone();
        let url = server.url(&path);
        let token = mia.access_token.clone();
        async move {
            http.post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("req")
        }
    };
    let req = CreateRoomRequest {
        title: "Studio sample sale".into(),
        category: Some("fashion".into()),
        stream_urls: vec![
            "rtmp://127.0.0.1/live/mia".into(),
            "http://127.0.0.1:8080/live/mia.flv".into(),
        ],
        host_id: None,
    };
    let res = post(
        "/v1/host/rooms".into(),
        serde_json::to_value(&req).expect("json"),
    )
    .await;
    assert_eq!(res.status(), 201);
    let room: RoomSummary = res.json().await.expect("json");
    assert_eq!(room.status, RoomStatus::Scheduled);
    assert_eq!(room.streams[0].protocol, StreamProtocol::Rtmp);
    assert_eq!(room.streams[1].protocol, StreamProtocol::HttpFlv);
    assert!(
        server.feed().await.rooms.iter().all(|r| r.id != room.id),
        "not in the feed until live"
    );

    let res = post(format!("/v1/host/rooms/{}/start", room.id), json!(null)).await;
    assert_eq!(res.status(), 200);
    assert!(
        server.feed().await.rooms.iter().any(|r| r.id == room.id),
        "live rooms are in the feed"
    );

    let product = AddProductRequest {
        name: "Sample dress".into(),
        description: "One of a kind".into(),
        skus: vec![NewSku {
            name: "M".into(),
            price: Money::new(4999, Currency::USD),
            stock: 3,
        }],
    };
    let res = post(
        format!("/v1/host/rooms/{}/products", room.id),
        serde_json::to_value(&product).expect("json"),
    )
    .await;
    assert_eq!(res.status(), 201);
    let product: livecart_protocol::rest::Product = res.json().await.expect("json");

    let mut viewer = server.connect(room.id, None, None).await;
    viewer.joined().await;
    let res = post(
        format!("/v1/host/rooms/{}/pin", room.id),
        json!({"product_id": product.id}),
    )
    .await;
    assert_eq!(res.status(), 200);
    let pin: Pin = res.json().await.expect("json");
    let (_, ev) = viewer.event(|e| matches!(e, RoomEvent::Pin { .. })).await;
    assert_eq!(ev, RoomEvent::Pin { pin: pin.clone() });
    assert_eq!(
        server.snapshot(room.id).await.pinned,
        Some(pin),
        "late joiners see the pin"
    );

    let sale = json!({"product_id": product.id, "sku_id": product.skus[0].id, "price": {"amount_minor": 2999, "currency": "USD"}, "stock": 2, "duration_s": 60});
    let res = post(
        format!("/v1/host/rooms/{}/flash-sales", room.id),
        sale.clone(),
    )
    .await;
    assert_eq!(res.status(), 201);
    let started: FlashSale = res.json().await.expect("json");
    assert_eq!(started.original_price, Money::new(4999, Currency::USD));
    let (_, ev) = viewer
        .event(|e| matches!(e, RoomEvent::FlashSale { .. }))
        .await;
    assert!(matches!(
        ev,
        RoomEvent::FlashSale {
            phase: FlashSalePhase::Started,
            ..
        }
    ));
    let res = post(format!("/v1/host/rooms/{}/flash-sales", room.id), sale).await;
    assert_eq!(res.status(), 409, "one sale at a time");

    // Stock drains, then the sale sells out — and the database never goes below zero.
    let r = server.handle.state.rooms.get(room.id).expect("room");
    livecart_server::take_flash_stock(&server.handle.state, &r, started.id, 1)
        .await
        .expect("one sold");
    assert!(
        livecart_server::take_flash_stock(&server.handle.state, &r, started.id, 5)
            .await
            .is_err(),
        "cannot oversell"
    );
    let last = livecart_server::take_flash_stock(&server.handle.state, &r, started.id, 1)
        .await
        .expect("last one");
    assert_eq!(last.state, FlashSaleState::SoldOut);
    let (_, ev) = viewer
        .event(|e| {
            matches!(
                e,
                RoomEvent::FlashSale {
                    phase: FlashSalePhase::Ended,
                    ..
                }
            )
        })
        .await;
    let RoomEvent::FlashSale { sale, .. } = ev else {
        unreachable!()
    };
    assert_eq!(
        (sale.remaining_stock, sale.state),
        (0, FlashSaleState::SoldOut)
    );
    assert_eq!(server.snapshot(room.id).await.flash_sale, None);

    let res = post(format!("/v1/host/rooms/{}/end", room.id), json!(null)).await;
    assert_eq!(res.status(), 200);
    let (_, ev) = viewer
        .event(|e| matches!(e, RoomEvent::Status { .. }))
        .await;
    assert_eq!(
        ev,
        RoomEvent::Status {
            status: RoomStatus::Ended
        }
    );
}

#[tokio::test]
async fn hosts_manage_only_their_own_rooms_and_viewers_none() {
    let server = TestServer::start().await;
    let feed = server.feed().await;
    let leo_room = feed.rooms[1].id; // snacks, hosted by Leo
    let mia = server.sign_in("mia").await;
    let ava = server.sign_in("ava").await;
    let pin = |token: String| {
        let http = server.http.clone();
        let url = server.url(&format!("/v1/host/rooms/{leo_room}/notices"));
        async move {
            http.post(url)
                .bearer_auth(token)
                .json(&json!({"text": "hi"}))
                .send()
                .await
                .expect("req")
        }
    };
    assert_eq!(
        pin(mia.access_token.clone()).await.status(),
        404,
        "another host's room does not exist for Mia"
    );
    assert_eq!(
        pin(ava.access_token.clone()).await.status(),
        403,
        "viewers cannot use the host API"
    );
    assert_eq!(pin("wrong".into()).await.status(), 401);
    assert_eq!(pin(ADMIN.into()).await.status(), 204, "the admin token can");
    let leo = server.sign_in("leo").await;
    assert_eq!(
        pin(leo.access_token).await.status(),
        204,
        "and so can the room's host"
    );
    let none = server
        .http
        .post(server.url(&format!("/v1/host/rooms/{leo_room}/notices")))
        .json(&json!({"text": "hi"}))
        .send()
        .await
        .expect("req");
    assert_eq!(none.status(), 401);
}

#[tokio::test]
async fn the_host_mutes_a_user_and_removes_a_message() {
    let server = TestServer::start().await;
    let room = server.feed().await.rooms[0].id;
    let ava = server.sign_in("ava").await;
    let mia = server.sign_in("mia").await;
    let mut ava_ws = server.connect(room, Some(&ava.access_token), None).await;
    ava_ws.joined().await;
    let mut watcher = server.connect(room, None, None).await;
    watcher.joined().await;

    ava_ws
        .send(&ClientFrame::Chat {
            text: "buy from my shop instead".into(),
            client_id: None,
        })
        .await;
    let (_, RoomEvent::Chat { message }) = watcher.event(is_chat).await else {
        unreachable!()
    };

    let res = server
        .http
        .delete(server.url(&format!("/v1/host/rooms/{room}/chat/{}", message.id)))
        .bearer_auth(&mia.access_token)
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 204);
    let (_, ev) = watcher
        .event(|e| matches!(e, RoomEvent::ChatRemoved { .. }))
        .await;
    assert_eq!(
        ev,
        RoomEvent::ChatRemoved {
            message_id: message.id
        }
    );
    assert!(
        server
            .snapshot(room)
            .await
            .chat
            .iter()
            .all(|m| m.id != message.id),
        "gone for late joiners too"
    );

    let res = server
        .http
        .post(server.url(&format!("/v1/host/rooms/{room}/mutes")))
        .bearer_auth(&mia.access_token)
        .json(&json!({"user_id": message.user.id, "duration_s": 600}))
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 200);
    ava_ws
        .send(&ClientFrame::Chat {
            text: "hello?".into(),
            client_id: None,
        })
        .await;
    let (code, msg, retry) = ava_ws.error().await;
    assert_eq!(code, ErrorCode::Muted);
    assert!(msg.contains("muted"), "{msg}");
    assert!(retry.is_some_and(|ms| ms > 590_000));
    // Others still chat.
    let ben = server.sign_in("ben").await;
    let mut ben_ws = server.connect(room, Some(&ben.access_token), None).await;
    ben_ws.joined().await;
    ben_ws
        .send(&ClientFrame::Chat {
            text: "hi".into(),
            client_id: None,
        })
        .await;
    let (_, RoomEvent::Chat { message }) = watcher.event(is_chat).await else {
        unreachable!()
    };
    assert_eq!(message.user.name, "Ben");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_buyers_never_oversell_and_viewers_see_stock_drain() {
    let server = TestServer::start().await;
    let room = server.room().await;
    let r = server.handle.state.rooms.get(room).expect("room");
    let snap = server.snapshot(room).await;
    let (product, sku) = (snap.products[0].id, snap.products[0].skus[0].id);
    let stock = snap.products[0].skus[0].stock;
    let mut viewer = server.connect(room, None, None).await;
    viewer.joined().await;

    // Twice as many single-unit buys as there is stock, all at once.
    let buys: Vec<_> = (0..stock * 2)
        .map(|_| {
            let (state, r) = (server.handle.state.clone(), r.clone());
            tokio::spawn(
                async move { livecart_server::take_stock(&state, &r, product, sku, 1).await },
            )
        })
        .collect();
    let mut sold = 0;
    for b in buys {
        match b.await.expect("task") {
            Ok(_) => sold += 1,
            Err(e) => assert!(e.to_string().contains("not enough stock"), "{e}"),
        }
    }
    assert_eq!(sold, stock, "exactly the stock was sold");
    let (db_stock,): (i64,) = sqlx::query_as("SELECT stock FROM skus WHERE id = ?")
        .bind(sku.to_string())
        .fetch_one(&server.handle.state.db)
        .await
        .expect("row");
    assert_eq!(db_stock, 0);
    // The viewer's last stock event says zero, and so does a late joiner's snapshot.
    let mut last = None;
    for _ in 0..stock {
        let (_, ev) = viewer.event(|e| matches!(e, RoomEvent::Stock { .. })).await;
        last = Some(ev);
    }
    assert!(matches!(last, Some(RoomEvent::Stock { stock: 0, .. })));
    assert_eq!(server.snapshot(room).await.products[0].skus[0].stock, 0);
}

/// The admin's demo gift reaches every viewer as a gift event with the
/// catalog's price; a host may not, and an unknown gift is a clear 404.
#[tokio::test]
async fn a_demo_gift_from_the_admin_reaches_viewers() {
    let server = TestServer::start().await;
    let room = server.room().await;
    let mut ws = server.connect(room, None, None).await;
    ws.joined().await;
    let send = |token: String, body: serde_json::Value| {
        let req = server
            .http
            .post(server.url(&format!("/v1/host/rooms/{room}/demo-gifts")))
            .bearer_auth(token)
            .json(&body);
        async move { req.send().await.expect("demo gift").status() }
    };
    let rocket = json!({ "gift": "Rocket", "sender": "demo fan" });
    assert_eq!(send(ADMIN.into(), rocket.clone()).await, 204);
    let (_, event) = tokio::time::timeout(
        crate::support::WAIT,
        ws.event(|e| matches!(e, RoomEvent::Gift(_))),
    )
    .await
    .expect("the gift arrives");
    let RoomEvent::Gift(g) = event else {
        panic!("a gift")
    };
    assert_eq!(
        (g.gift_name.as_str(), g.coins, g.sender.name.as_str()),
        ("Rocket", 2_000, "demo fan")
    );

    let mia = server.sign_in("mia").await;
    assert_eq!(
        send(mia.access_token, rocket).await,
        403,
        "hosts cannot fake gifts"
    );
    let unknown = json!({ "gift": "Yacht", "sender": "demo fan" });
    assert_eq!(send(ADMIN.into(), unknown).await, 404);
}

/// The demo's bots buy in a flash sale as a crowd would, but only their
/// share (`demo.bot_sale_share_percent`), spread over the sale: the rest is
/// left for people. The host can end a sale early.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_demo_bots_buy_only_their_share_of_a_flash_sale_and_a_host_can_end_one() {
    for share in [50u8, 0] {
        let server = TestServer::start_with(|c| {
            c.demo.scripts = true;
            c.demo.bot_sale_share_percent = share;
        })
        .await;
        let room = server.room().await;
        let p = server.snapshot(room).await.products[0].clone();
        let request = livecart_protocol::rest::StartFlashSaleRequest {
            product_id: p.id,
            sku_id: p.skus[0].id,
            price: Money::new(p.skus[0].price.amount_minor / 2, Currency::USD),
            stock: 20,
            duration_s: 6,
        };
        // The scripted host may have a sale of its own running: wait it out.
        let sale = loop {
            let res = server
                .http
                .post(server.url(&format!("/v1/host/rooms/{room}/flash-sales")))
                .bearer_auth(ADMIN)
                .json(&request)
                .send()
                .await
                .expect("sale");
            if res.status() == 201 {
                break res.json::<FlashSale>().await.expect("sale");
            }
            tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        };
        // Watch it to its end.
        let mut last = sale.remaining_stock;
        while let Some(s) = server
            .snapshot(room)
            .await
            .flash_sale
            .filter(|s| s.id == sale.id)
        {
            last = s.remaining_stock;
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        let bought = sale.total_stock - last;
        if share == 0 {
            assert_eq!(bought, 0, "no share, no bot purchases");
        } else {
            assert!(
                (1..=10).contains(&bought),
                "the bots bought {bought} of 20 with a 50 % share"
            );
        }
    }

    // The host ends a sale before its deadline: viewers see it end.
    let server = TestServer::start().await;
    let room = server.room().await;
    let p = server.snapshot(room).await.products[0].clone();
    let sale = server
        .start_flash_sale(
            room,
            &livecart_protocol::rest::StartFlashSaleRequest {
                product_id: p.id,
                sku_id: p.skus[0].id,
                price: Money::new(p.skus[0].price.amount_minor / 2, Currency::USD),
                stock: 5,
                duration_s: 600,
            },
        )
        .await;
    let res = server
        .http
        .post(server.url(&format!(
            "/v1/host/rooms/{room}/flash-sales/{}/end",
            sale.id
        )))
        .bearer_auth(ADMIN)
        .send()
        .await
        .expect("end");
    assert_eq!(res.status(), 200);
    let ended: FlashSale = res.json().await.expect("sale");
    assert_eq!(ended.state, FlashSaleState::Ended);
    assert!(server.snapshot(room).await.flash_sale.is_none());
    // Not for a viewer.
    let viewer = server.sign_in("ava").await;
    let res = server
        .http
        .post(server.url(&format!(
            "/v1/host/rooms/{room}/flash-sales/{}/end",
            sale.id
        )))
        .bearer_auth(&viewer.access_token)
        .send()
        .await
        .expect("end");
    assert!(res.status().is_client_error(), "{}", res.status());
}

/// What a host sends is checked: prices above zero, texts with caps and no
/// control characters, stream URLs that are streams and do not point into
/// the server's own network, and at most 20 rooms that have not ended.
#[tokio::test]
#[allow(clippy::too_many_lines)] // one story, read top to bottom
async fn what_hosts_send_is_checked_prices_texts_stream_urls_and_room_counts() {
    let server = TestServer::start_with(|c| c.allow_private_stream_urls = false).await;
    let mia = server.sign_in("mia").await;
    let post = |path: String, body: serde_json::Value| {
        let http = server.http.clone();
        let url = server.url(&path);
        let token = mia.access_token.clone();
        async move {
            let res = http
                .post(url)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .expect("req");
            let status = res.status().as_u16();
            let text = res.text().await.unwrap_or_default();
            (status, text)
        }
    };
    let room = |title: &str, category: &str, url: &str| json!({ "title": title, "category": category, "stream_urls": [url] });
    let huge = "x".repeat(60_000);
    for (body, why) in [
        (room("Studio", "fashion", "file:///etc/passwd"), "scheme"),
        (room("Studio", "fashion", "javascript:alert(1)"), "URL"),
        (
            room("Studio", "fashion", "http://169.254.169.254/latest"),
            "network",
        ),
        (
            room("Studio", "fashion", "rtmp://127.0.0.1/live/x"),
            "network",
        ),
        (
            room(&huge, "fashion", "rtmp://live.example.com/a"),
            "limit is 80",
        ),
        (
            room("Studio", &huge, "rtmp://live.example.com/a"),
            "limit is 32",
        ),
        (
            room("Studio\u{0000}", "fashion", "rtmp://live.example.com/a"),
            "control",
        ),
    ] {
        let (status, text) = post("/v1/host/rooms".into(), body).await;
        assert_eq!(status, 400, "{text}");
        assert!(text.contains(why), "{why}: {text}");
    }
    let (status, text) = post(
        "/v1/host/rooms".into(),
        room("Studio sale", "fashion", "rtmp://live.example.com/app/mia"),
    )
    .await;
    assert_eq!(status, 201, "{text}");
    let created: RoomSummary = serde_json::from_str(&text).expect("room");

    let product = |price: i64, description: &str, sku: &str| {
        json!({
            "name": "Scarf", "description": description,
            "skus": [{ "name": sku, "price": { "amount_minor": price, "currency": "USD" }, "stock": 5 }],
        })
    };
    let path = format!("/v1/host/rooms/{}/products", created.id);
    for (body, why) in [
        (product(0, "warm", "One size"), "above zero"),
        (product(-5, "warm", "One size"), "above zero"),
        (product(900, &huge, "One size"), "limit is 1000"),
        (product(900, "warm", "a\nb"), "control"),
    ] {
        let (status, text) = post(path.clone(), body).await;
        assert_eq!(status, 400, "{text}");
        assert!(text.contains(why), "{why}: {text}");
    }
    let (status, text) = post(path, product(900, "warm", "One size")).await;
    assert_eq!(status, 201, "{text}");
    let scarf: livecart_protocol::rest::Product = serde_json::from_str(&text).expect("product");
    let (status, text) = post(
        format!("/v1/host/rooms/{}/flash-sales", created.id),
        json!({
            "product_id": scarf.id, "sku_id": scarf.skus[0].id,
            "price": { "amount_minor": 0, "currency": "USD" }, "stock": 3, "duration_s": 60,
        }),
    )
    .await;
    assert_eq!(status, 400, "a free flash sale: {text}");

    // Rooms that have not ended: 20 at most (mia has her demo room and this one).
    let mut made = 2;
    loop {
        let (status, text) = post(
            "/v1/host/rooms".into(),
            room("Another", "fashion", "rtmp://live.example.com/app/mia"),
        )
        .await;
        if status != 201 {
            assert_eq!(status, 409, "{text}");
            assert!(text.contains("end one first"), "{text}");
            break;
        }
        made += 1;
        assert!(made <= 20, "more than 20 rooms");
    }
    assert_eq!(made, 20);
}
