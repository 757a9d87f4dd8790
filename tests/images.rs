//! The image cache against a real HTTP server on loopback: a picture is
//! fetched once and then served from the disk (also after a restart, with
//! the server gone), resized to fit, and the cache stays within its budget
//! by dropping the least recently used pictures.

use livecart::images::{ImageCache, Source};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A 1600×1200 PNG (what a phone camera upload might be).
fn big_png(seed: u8) -> Vec<u8> {
    let img = image::RgbImage::from_fn(1600, 1200, |x, y| {
        image::Rgb([(x % 251) as u8 ^ seed, (y % 241) as u8, seed])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(img)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .expect("png");
    out
}

/// Serves `/v1/images/{file}` and `/v1/images/{id}/thumb.jpg`, counting hits.
async fn server(hits: Arc<AtomicUsize>) -> (String, tokio::task::JoinHandle<()>) {
    use axum::routing::get;
    let pic = |hits: Arc<AtomicUsize>| {
        // The same picture for every id: every thumbnail is the same size.
        move |axum::extract::Path(_): axum::extract::Path<String>| {
            let hits = hits.clone();
            async move {
                hits.fetch_add(1, Ordering::SeqCst);
                ([("content-type", "image/png")], big_png(7))
            }
        }
    };
    let app = axum::Router::new()
        .route("/v1/images/{file}", get(pic(hits.clone())))
        .route("/v1/images/{id}/thumb.jpg", get(pic(hits)));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let task = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, task)
}

fn dimensions(jpeg: &[u8]) -> (u32, u32) {
    let img = image::load_from_memory(jpeg).expect("a JPEG the webview can show");
    (img.width(), img.height())
}

#[tokio::test]
async fn a_picture_is_fetched_once_resized_and_served_from_disk_even_offline() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hits = Arc::new(AtomicUsize::new(0));
    let (base, task) = server(hits.clone()).await;
    let cache = ImageCache::open(dir.path(), 10 * 1024 * 1024).expect("cache");

    let (thumb, from) = cache
        .get(&base, "/v1/images/a1/thumb.jpg")
        .await
        .expect("thumb");
    assert_eq!(from, Source::Network);
    assert_eq!(dimensions(&thumb), (256, 192), "a thumbnail fits 256 px");
    let (full, _) = cache.get(&base, "/v1/images/a1.jpg").await.expect("full");
    assert_eq!(dimensions(&full), (1080, 810), "a picture fits 1080 px");
    assert_eq!(hits.load(Ordering::SeqCst), 2);

    let (again, from) = cache
        .get(&base, "/v1/images/a1/thumb.jpg")
        .await
        .expect("thumb");
    assert_eq!((from, again), (Source::Disk, thumb.clone()));
    assert_eq!(hits.load(Ordering::SeqCst), 2, "not fetched twice");

    // The server goes away and the app starts again: still there.
    task.abort();
    let _ = task.await;
    drop(cache);
    let cache = ImageCache::open(dir.path(), 10 * 1024 * 1024).expect("cache");
    let (offline, from) = cache
        .get(&base, "/v1/images/a1/thumb.jpg")
        .await
        .expect("from the disk, offline");
    assert_eq!((from, offline), (Source::Disk, thumb));
    assert!(
        cache.get(&base, "/v1/images/b2/thumb.jpg").await.is_err(),
        "a picture never fetched is not there offline"
    );
    assert!(
        cache.get(&base, "/v1/feed").await.is_err(),
        "only image paths go through the cache"
    );
}

#[tokio::test]
async fn the_cache_stays_within_its_budget_dropping_the_least_recently_used() {
    let dir = tempfile::tempdir().expect("tempdir");
    let hits = Arc::new(AtomicUsize::new(0));
    let (base, _task) = server(hits.clone()).await;
    // Room for about three thumbnails.
    let probe = ImageCache::open(dir.path(), u64::MAX).expect("cache");
    let (one, _) = probe
        .get(&base, "/v1/images/p0/thumb.jpg")
        .await
        .expect("thumb");
    drop(probe);
    let budget = one.len() as u64 * 7 / 2;
    let cache = ImageCache::open(dir.path(), budget).expect("cache");
    for id in ["a", "b", "c"] {
        cache
            .get(&base, &format!("/v1/images/{id}/thumb.jpg"))
            .await
            .expect("thumb");
    }
    assert!(cache.total_bytes() <= budget);
    // "a" is used again, so "b" is now the least recently used.
    let (_, from) = cache.get(&base, "/v1/images/a/thumb.jpg").await.expect("a");
    assert_eq!(from, Source::Disk);
    cache.get(&base, "/v1/images/d/thumb.jpg").await.expect("d");
    assert!(cache.total_bytes() <= budget, "within budget");
    let before = hits.load(Ordering::SeqCst);
    let (_, a) = cache.get(&base, "/v1/images/a/thumb.jpg").await.expect("a");
    let (_, b) = cache.get(&base, "/v1/images/b/thumb.jpg").await.expect("b");
    assert_eq!(a, Source::Disk, "the recently used one stayed");
    assert_eq!(b, Source::Network, "the least recently used one went");
    assert_eq!(hits.load(Ordering::SeqCst), before + 1);
    let files = std::fs::read_dir(dir.path()).expect("dir").count();
    assert!(files <= 3, "{files} pictures on disk");
}
