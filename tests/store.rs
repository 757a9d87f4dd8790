//! The app's local cache: what the viewer sees when the database is damaged,
//! and what the cache keeps across launches of the embedded server.

use livecart::store::Store;
use livecart_core::protocol::rest::FeedResponse;

fn feed(base: &str) -> FeedResponse {
    serde_json::from_value(serde_json::json!({ "rooms": [{
        "id": "019b76da-a80b-74b7-a74e-3be2db2d4d28",
        "title": "Autumn knits drop",
        "category": "fashion",
        "host": { "id": "019b76da-a801-715b-9d39-b5bf90ae8891", "name": "Mia Chen",
                  "avatar": { "id": "019b76da-a801-715b-9d39-b5bf90ae8892",
                              "url": format!("{base}/v1/images/a.jpg"), "thumb_url": format!("{base}/v1/images/a/thumb.jpg") } },
        "cover": { "id": "019b76da-a801-715b-9d39-b5bf90ae8893",
                   "url": format!("{base}/v1/images/c.jpg"), "thumb_url": format!("{base}/v1/images/c/thumb.jpg") },
        "viewer_count": 1240,
        "streams": [{ "protocol": "http_flv", "url": format!("{base}/live/019b76da-a80b-74b7-a74e-3be2db2d4d28.flv") }],
        "status": "live"
    }]}))
    .expect("a feed")
}

#[tokio::test]
async fn a_corrupt_database_is_moved_aside_and_the_app_starts_with_a_fresh_one() {
    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("app.sqlite3");
    std::fs::write(&path, b"this is not a SQLite database, it is a torn write").expect("garbage");

    let store = Store::open(&path).await.expect("the app still starts");
    store
        .save_feed(
            "embedded",
            "http://127.0.0.1:1",
            &feed("http://127.0.0.1:1"),
        )
        .await
        .expect("the fresh database works");
    let aside: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("app.sqlite3.corrupt-"))
        .collect();
    assert_eq!(
        aside.len(),
        1,
        "the damaged file is kept for inspection: {aside:?}"
    );
    let kept = std::fs::read(dir.path().join(&aside[0])).expect("aside");
    assert!(kept.starts_with(b"this is not a SQLite database"));
    store.close().await;

    // And the next launch opens it normally (no crash loop, nothing moved again).
    let again = Store::open(&path).await.expect("reopens");
    assert!(
        again
            .load_feed("embedded", "http://127.0.0.1:1")
            .await
            .expect("load")
            .is_some()
    );
    let count = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains("corrupt"))
        .count();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn the_cached_feed_follows_the_embedded_server_to_its_new_port() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Store::open(&dir.path().join("app.sqlite3"))
        .await
        .expect("open");
    let yesterday = "http://127.0.0.1:40001";
    store
        .save_feed("embedded", yesterday, &feed(yesterday))
        .await
        .expect("save");

    let today = "http://127.0.0.1:51234";
    let cached = store
        .load_feed("embedded", today)
        .await
        .expect("load")
        .expect("cached");
    assert_eq!(
        cached,
        feed(today),
        "covers and streams point at today's server"
    );
    assert_eq!(
        store
            .load_feed("https://live.example", today)
            .await
            .expect("load"),
        None
    );

    // Raw file check: the base URL is not baked into the cache.
    store.close().await;
    let bytes = std::fs::read(dir.path().join("app.sqlite3")).expect("db");
    let wal = std::fs::read(dir.path().join("app.sqlite3-wal")).unwrap_or_default();
    let has = |b: &[u8]| {
        b.windows(yesterday.len())
            .any(|w| w == yesterday.as_bytes())
    };
    assert!(!has(&bytes) && !has(&wal));
}

#[tokio::test]
async fn signing_out_forgets_the_users_cached_data_but_not_the_feed() {
    let dir = tempfile::tempdir().expect("tmp");
    let store = Store::open(&dir.path().join("app.sqlite3"))
        .await
        .expect("open");
    let base = "http://127.0.0.1:1";
    store
        .save_feed("embedded", base, &feed(base))
        .await
        .expect("save");
    store.put_user_data("orders", "[]").await.expect("put");
    store.put_user_data("wallet", "{}").await.expect("put");
    assert_eq!(store.user_data_count().await.expect("count"), 2);
    store.forget_user().await.expect("forget");
    assert_eq!(store.user_data_count().await.expect("count"), 0);
    assert!(
        store
            .load_feed("embedded", base)
            .await
            .expect("load")
            .is_some()
    );
}

/// The payment outbox: a payment written before it is sent is still there
/// after the app restarts (for its user only), and leaves once resolved.
#[tokio::test]
async fn the_payment_outbox_survives_a_restart_and_forgets_resolved_payments() {
    use livecart_core::app::PendingPayment;
    use livecart_core::protocol::commerce::PlaceOrderRequest;
    use livecart_core::protocol::{AddressId, Currency, Money, ProductId, RoomId, SkuId, UserId};

    let dir = tempfile::tempdir().expect("tmp");
    let path = dir.path().join("app.sqlite3");
    let (ava, ben) = (UserId::new(), UserId::new());
    let payment = |user, key: &str| PendingPayment {
        key: key.into(),
        user,
        room: RoomId::new(),
        request: PlaceOrderRequest {
            product_id: ProductId::new(),
            sku_id: SkuId::new(),
            quantity: 1,
            address_id: AddressId::new(),
            expected_unit_price: Money::new(2_900, Currency::USD),
            flash_sale_id: None,
            video_delay_ms: 400,
            pin: None,
        },
        product_name: "Cable jumper".into(),
    };
    let store = Store::open(&path).await.expect("opens");
    let first = payment(ava, "key-1");
    store.save_payment(&first).await.expect("saved");
    // Saving the same key again (a retry) keeps the one payment.
    store.save_payment(&first).await.expect("saved again");
    store
        .save_payment(&payment(ava, "key-2"))
        .await
        .expect("saved");
    store
        .save_payment(&payment(ben, "key-3"))
        .await
        .expect("saved");
    store.forget_user().await.expect("sign-out");
    store.close().await;

    let store = Store::open(&path).await.expect("reopens");
    let left = store.load_payments(ava).await.expect("loads");
    assert_eq!(
        left.iter().map(|p| p.key.as_str()).collect::<Vec<_>>(),
        ["key-1", "key-2"],
        "ava's payments, oldest first; sign-out did not drop them"
    );
    assert_eq!(left[0], first);
    store.resolve_payment("key-1").await.expect("resolved");
    assert_eq!(store.load_payments(ava).await.expect("loads").len(), 1);
    assert_eq!(store.load_payments(ben).await.expect("loads").len(), 1);
}
