//! The REST API: feed, snapshots, images, sessions, bad input.
//!
//! Size: integration tests, one story each, sharing the test server.

use crate::support::{TestServer, WAIT, came_true, problem};
use livecart_protocol::rest::{
    FeedResponse, GiftCatalog, RefreshRequest, RoomStatus, SessionResponse, StreamProtocol,
};
use livecart_protocol::{ErrorCode, PROTOCOL_HEADER, RoomId};
use std::time::Duration;

#[tokio::test]
async fn the_feed_lists_four_live_demo_rooms_with_playable_streams() {
    let server = TestServer::start().await;
    let feed = server.feed().await;
    assert_eq!(feed.rooms.len(), 4);
    let categories: Vec<&str> = feed.rooms.iter().map(|r| r.category.as_str()).collect();
    assert_eq!(categories, ["fashion", "snacks", "gadgets", "beauty"]);
    for r in &feed.rooms {
        assert_eq!(r.status, RoomStatus::Live);
        assert!(r.viewer_count > 0, "the demo audience is counted");
        assert_eq!(r.streams[0].protocol, StreamProtocol::HttpFlv);
        assert_eq!(r.streams[0].url, server.url(&format!("/live/{}.flv", r.id)));
        assert!(r.cover.url.starts_with(&server.handle.base_url));
    }
    let hosts: std::collections::HashSet<_> = feed.rooms.iter().map(|r| r.host.id).collect();
    assert_eq!(hosts.len(), 4, "distinct hosts");
    let gifts: GiftCatalog = server
        .http
        .get(server.url("/v1/gifts"))
        .send()
        .await
        .expect("gifts")
        .json()
        .await
        .expect("json");
    assert!(gifts.gifts.len() >= 8);
    assert_eq!(gifts.gifts.iter().map(|g| g.coins).min(), Some(1));
    assert_eq!(gifts.gifts.iter().map(|g| g.coins).max(), Some(5000));
}

#[tokio::test]
async fn the_same_seed_builds_the_same_world_and_another_seed_another() {
    let a = TestServer::start().await;
    let b = TestServer::start().await;
    let c = TestServer::start_with(|c| c.demo.seed = 7).await;
    let ids = |f: &FeedResponse| f.rooms.iter().map(|r| r.id).collect::<Vec<_>>();
    let (fa, fb, fc) = (a.feed().await, b.feed().await, c.feed().await);
    assert_eq!(ids(&fa), ids(&fb));
    assert_ne!(ids(&fa), ids(&fc));
    let (sa, sb) = (
        a.snapshot(fa.rooms[1].id).await,
        b.snapshot(fb.rooms[1].id).await,
    );
    let bag = |s: &livecart_protocol::rest::RoomSnapshot| {
        s.products
            .iter()
            .map(|p| (p.id, p.name.clone(), p.image.id, p.skus.clone()))
            .collect::<Vec<_>>()
    };
    assert_eq!(bag(&sa), bag(&sb), "same products, SKUs, prices and stock");
    let img = |s: &TestServer, url: &str| {
        let http = s.http.clone();
        let url = url.to_owned();
        async move {
            http.get(url)
                .send()
                .await
                .expect("image")
                .bytes()
                .await
                .expect("bytes")
        }
    };
    assert_eq!(
        img(&a, &sa.products[0].image.url).await,
        img(&b, &sb.products[0].image.url).await,
        "same pictures"
    );
}

#[tokio::test]
async fn a_snapshot_has_everything_a_late_joiner_needs() {
    let server = TestServer::start().await;
    let snap = server.snapshot(server.room().await).await;
    assert!(snap.products.len() >= 4 && snap.products.len() <= 8);
    for p in &snap.products {
        assert!(!p.skus.is_empty());
        for s in &p.skus {
            assert_eq!(s.price.currency.as_str(), "USD");
            assert!(s.price.amount_minor > 0);
        }
    }
    assert!(snap.chat.len() <= 50);
    let res = server
        .http
        .get(server.url(&format!("/v1/rooms/{}", RoomId::new())))
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 404);
    assert_eq!(problem(res).await.code, ErrorCode::NotFound);
    let res = server
        .http
        .get(server.url("/v1/rooms/not-a-uuid"))
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 404, "a malformed id is simply not found");
}

#[tokio::test]
async fn images_are_served_with_thumbnails_and_long_lived_cache_headers() {
    let server = TestServer::start().await;
    let feed = server.feed().await;
    let cover = &feed.rooms[0].cover;
    let full = server.http.get(&cover.url).send().await.expect("cover");
    assert_eq!(full.status(), 200);
    assert_eq!(full.headers()["content-type"], "image/jpeg");
    assert_eq!(
        full.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = full.headers()["etag"].clone();
    let bytes = full.bytes().await.expect("bytes");
    assert_eq!(
        image::guess_format(&bytes).ok(),
        Some(image::ImageFormat::Jpeg)
    );
    let thumb = server
        .http
        .get(&cover.thumb_url)
        .send()
        .await
        .expect("thumb")
        .bytes()
        .await
        .expect("bytes");
    assert!(thumb.len() < bytes.len(), "the thumbnail is smaller");
    let again = server
        .http
        .get(&cover.url)
        .header("if-none-match", etag)
        .send()
        .await
        .expect("revalidate");
    assert_eq!(again.status(), 304);
    let missing = server
        .http
        .get(server.url(&format!("/v1/images/{}.jpg", RoomId::new())))
        .send()
        .await
        .expect("req");
    assert_eq!(missing.status(), 404);
}

#[tokio::test]
async fn sign_in_refresh_rotation_and_reuse_detection() {
    // No grace: a replayed refresh token is reuse at once.
    let server = TestServer::start_with(|c| c.auth.refresh_grace_s = 0).await;
    let wrong = server
        .http
        .post(server.url("/v1/session"))
        .json(&serde_json::json!({"username": "ava", "password": "nope"}))
        .send()
        .await
        .expect("req");
    assert_eq!(wrong.status(), 401);
    assert_eq!(problem(wrong).await.code, ErrorCode::Unauthorized);

    let first = server.sign_in("ava").await;
    assert!(first.access_expires_at < first.refresh_expires_at);
    assert!(
        !format!("{first:?}").contains(&first.access_token),
        "Debug redacts tokens"
    );
    let me = server
        .http
        .get(server.url("/v1/me"))
        .bearer_auth(&first.access_token)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), 200);

    let refresh = |token: String| {
        let http = server.http.clone();
        let url = server.url("/v1/session/refresh");
        async move {
            http.post(url)
                .json(&RefreshRequest {
                    refresh_token: token,
                })
                .send()
                .await
                .expect("refresh")
        }
    };
    let res = refresh(first.refresh_token.clone()).await;
    assert_eq!(res.status(), 200);
    let second: SessionResponse = res.json().await.expect("json");
    assert_ne!(
        second.refresh_token, first.refresh_token,
        "the refresh token rotates"
    );

    // The old refresh token replayed: refused, and the whole chain revoked.
    let replay = refresh(first.refresh_token.clone()).await;
    assert_eq!(replay.status(), 401);
    assert_eq!(problem(replay).await.code, ErrorCode::TokenReused);
    let after = refresh(second.refresh_token.clone()).await;
    assert_eq!(after.status(), 401, "the thief's rotated token is dead too");

    let garbage = refresh("lcr1.garbage".into()).await;
    assert_eq!(garbage.status(), 401);

    // The refresh token is not in the database, only its hash.
    let rows: Vec<(String,)> = sqlx::query_as("SELECT token_hash FROM refresh_tokens")
        .fetch_all(&server.handle.state.db)
        .await
        .expect("rows");
    assert!(!rows.is_empty());
    assert!(
        rows.iter()
            .all(|(h,)| h != &second.refresh_token && h != &first.refresh_token)
    );
}

#[tokio::test]
async fn expired_and_forged_access_tokens_are_refused_with_a_reason() {
    let server = TestServer::start().await;
    let ava = server.sign_in("ava").await;
    let claims = server
        .handle
        .state
        .tokens
        .verify(&ava.access_token, jiff::Timestamp::now())
        .expect("valid");
    let expired = server.handle.state.tokens.mint(&livecart_server::Claims {
        exp: jiff::Timestamp::now().as_second() - 1,
        ..claims
    });
    let res = server
        .http
        .get(server.url("/v1/me"))
        .bearer_auth(expired)
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 401);
    assert_eq!(problem(res).await.code, ErrorCode::TokenExpired);
    let res = server
        .http
        .get(server.url("/v1/me"))
        .bearer_auth("lca1.e30.AAAA")
        .send()
        .await
        .expect("req");
    assert_eq!(problem(res).await.code, ErrorCode::Unauthorized);
    let res = server
        .http
        .get(server.url("/v1/me"))
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 401, "anonymous has no profile");
}

#[tokio::test]
async fn bad_bodies_and_old_clients_get_problem_responses() {
    let server = TestServer::start().await;
    let post = |body: &'static str, ct: &'static str| {
        let http = server.http.clone();
        let url = server.url("/v1/session");
        async move {
            http.post(url)
                .header("content-type", ct)
                .body(body)
                .send()
                .await
                .expect("req")
        }
    };
    let res = post("{oops", "application/json").await;
    assert_eq!(res.status(), 400);
    assert_eq!(problem(res).await.code, ErrorCode::Malformed);
    let res = post(
        r#"{"username":"ava","password":"x","admin":true}"#,
        "application/json",
    )
    .await;
    assert_eq!(res.status(), 400);
    let p = problem(res).await;
    assert_eq!(p.code, ErrorCode::Invalid);
    assert!(
        p.detail.contains("admin"),
        "names the unknown field: {}",
        p.detail
    );
    let res = post("{}", "text/plain").await;
    assert_eq!(problem(res).await.code, ErrorCode::Malformed);

    let res = server
        .http
        .get(server.url("/v1/feed"))
        .header(PROTOCOL_HEADER, "0")
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 426);
    let p = problem(res).await;
    assert_eq!(p.code, ErrorCode::UpgradeRequired);
    assert_eq!(p.min_protocol_version, Some(1));
    let res = server
        .http
        .get(server.url("/v1/nope"))
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 404);
    let big = "x".repeat(200 * 1024);
    let res = server
        .http
        .post(server.url("/v1/session"))
        .header("content-type", "application/json")
        .body(big)
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 413);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_rooms_stream_real_video_at_their_feed_url() {
    use livecart_media::player::{AudioOutput, FrameFormat, OutputKind};
    use livecart_media::{Player, PlayerConfig, VideoOutput};
    let server = TestServer::start_with(|c| c.demo.streams = true).await;
    let feed = server.feed().await;
    let url = feed.rooms[2].streams[0].url.clone();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let config = PlayerConfig {
        output: OutputKind::Decoded {
            width: 54,
            height: 96,
            format: FrameFormat::Rgba,
        },
        audio: AudioOutput::Silent,
        // The publisher may still be starting: retry until it is up.
        open_timeout: std::time::Duration::from_secs(10),
        ..PlayerConfig::default()
    };
    let (player, _events) = Player::open(
        &url,
        config,
        std::sync::Arc::new(move |v| {
            let _ = tx.send(v);
        }),
    )
    .expect("opens");
    let mut with_capture = 0;
    for _ in 0..10 {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(15), rx.recv())
            .await
            .expect("a frame")
            .expect("open");
        let VideoOutput::Frame {
            width,
            height,
            capture_ns,
            ..
        } = frame
        else {
            panic!("frames")
        };
        assert_eq!((width, height), (54, 96));
        with_capture += usize::from(capture_ns.is_some());
    }
    // Every frame's capture time is checked in crates/media; here a starved
    // CI machine may make the player reconnect mid-way (frames in flight then
    // lose their time), so most frames is the bar.
    assert!(
        with_capture >= 8,
        "the demo stream carries capture times ({with_capture} of 10 frames)"
    );
    drop(player);
    // A room the server does not stream itself has no /live URL.
    let res = server
        .http
        .get(server.url(&format!("/live/{}.flv", RoomId::new())))
        .send()
        .await
        .expect("req");
    assert_eq!(res.status(), 404);
}

/// The demo world's synthetic streams cost CPU: the first viewer starts one,
/// one nobody watches stops, and the next viewer gets it back (with a fresh
/// keyframe) without noticing.
#[tokio::test]
async fn a_demo_stream_nobody_watches_stops_and_starts_again_for_the_next_viewer() {
    let server = TestServer::start_with(|c| {
        c.demo.streams = true;
        c.demo.idle_stop_secs = 1;
    })
    .await;
    let room = server.room().await;
    let streams = &server.handle.state.streams;
    assert!(!streams.running(room), "nothing runs before a viewer comes");
    let res = server
        .http
        .get(server.url(&format!("/live/{room}.flv")))
        .send()
        .await
        .expect("stream");
    assert_eq!(res.status(), 200);
    assert!(streams.running(room), "the first viewer started it");
    drop(res);
    let stopped = came_true(|| !streams.running(room)).await;
    assert!(stopped, "an unwatched stream stops");

    let mut res = server
        .http
        .get(server.url(&format!("/live/{room}.flv")))
        .send()
        .await
        .expect("stream");
    assert_eq!(res.status(), 200);
    assert!(streams.running(room), "the viewer started it again");
    let first = tokio::time::timeout(WAIT, res.chunk())
        .await
        .expect("video arrives")
        .expect("body")
        .expect("a chunk");
    assert!(
        first.starts_with(b"FLV"),
        "a decodable stream from its start"
    );
}

/// The capture times of the first `n` pictures of a `/live` response, and
/// whether each is a keyframe.
async fn live_pictures(res: &mut reqwest::Response, n: usize) -> Vec<(bool, u64)> {
    use livecart_media::sei::{NalFormat, find_capture_time};
    let mut reader = livecart_media::flv::FlvReader::default();
    let mut pictures = Vec::new();
    while pictures.len() < n {
        let chunk = tokio::time::timeout(WAIT, res.chunk())
            .await
            .expect("pictures keep coming")
            .expect("body")
            .expect("a chunk");
        let (_, tags) = reader.push(&chunk).expect("FLV");
        for t in tags
            .iter()
            .filter(|t| t.kind == 9 && !t.is_sequence_header())
        {
            let at = find_capture_time(
                &t.bytes[11 + 5..t.bytes.len() - 4],
                NalFormat::Avc { length_size: 4 },
            )
            .expect("every picture carries its capture time");
            pictures.push((t.bytes[11] >> 4 == 1, at));
        }
    }
    pictures
}

fn loops_in(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir.join("streams")).map_or_else(
        |_| Vec::new(),
        |d| {
            d.filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "h264loop"))
                .collect()
        },
    )
}

/// Encoding a room's picture live costs a third of a core; the picture
/// repeats, so the first stream records one loop of it and every later start
/// replays that loop (same H.264, fresh capture times). A damaged recording
/// is made again, and the stream plays meanwhile.
#[tokio::test]
async fn a_demo_rooms_picture_is_recorded_once_then_replayed_and_a_damaged_recording_is_made_again()
{
    let dir = tempfile::tempdir().expect("tempdir");
    let config = || {
        let mut c = crate::support::config(dir.path());
        c.demo.streams = true;
        c.demo.idle_stop_secs = 1;
        c
    };
    let handle = livecart_server::serve(config()).await.expect("server");
    let http = reqwest::Client::new();
    let room = crate::support::first_room(&http, &handle).await;
    let streams = &handle.state.streams;
    let live = handle.url(&format!("/live/{room}.flv"));

    let mut res = http.get(&live).send().await.expect("stream");
    assert_eq!(
        streams.source(room),
        Some("live encoder, recording its loop")
    );
    // One scroll across the pattern: 180 pictures, six seconds.
    live_pictures(&mut res, 190).await;
    let recorded = tokio::time::timeout(WAIT, async {
        loop {
            if let [one] = loops_in(dir.path()).as_slice() {
                return one.clone();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("the loop is kept on disk");
    drop(res);
    tokio::time::timeout(WAIT, async {
        while streams.running(room) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await
    .expect("an unwatched stream stops");

    let mut res = http.get(&live).send().await.expect("stream");
    assert_eq!(streams.source(room), Some("recorded loop"));
    let pictures = live_pictures(&mut res, 45).await;
    // The GOP cache first (a few pictures the replay already sent), then
    // live: a keyframe a second, capture times moving on with the clock.
    let keys = pictures.iter().filter(|(k, _)| *k).count();
    assert!(
        (1..=2).contains(&keys),
        "a keyframe a second: {keys} in 45 pictures"
    );
    assert!(
        pictures.windows(2).all(|w| w[1].1 > w[0].1),
        "capture times run forward"
    );
    drop(res);
    handle.shutdown().await.expect("stops");

    std::fs::write(&recorded, b"half a loop").expect("damage");
    let handle = livecart_server::serve(config())
        .await
        .expect("server again");
    let mut res = http
        .get(handle.url(&format!("/live/{room}.flv")))
        .send()
        .await
        .expect("stream");
    assert_eq!(
        handle.state.streams.source(room),
        Some("live encoder, recording its loop"),
        "a damaged recording is not replayed"
    );
    assert_eq!(
        live_pictures(&mut res, 10).await.len(),
        10,
        "the viewer still gets the picture"
    );
    drop(res);
    handle.shutdown().await.expect("stops");
}

/// The demo world serves before its pictures are drawn (they are drawn in
/// the background, or at once when asked for). A run stopped before it drew
/// them all leaves no broken picture: the next start draws the same ones.
#[tokio::test]
async fn pictures_not_drawn_by_a_stopped_run_are_drawn_the_same_after_a_restart() {
    let dir = tempfile::tempdir().expect("tempdir");
    let handle = livecart_server::serve(crate::support::config(dir.path()))
        .await
        .expect("server");
    let http = reqwest::Client::new();
    let feed: livecart_protocol::rest::FeedResponse =
        crate::support::get_json(&http, &handle.url("/v1/feed")).await;
    let room = feed.rooms[0].id;
    let snap: livecart_protocol::rest::RoomSnapshot =
        crate::support::get_json(&http, &handle.url(&format!("/v1/rooms/{room}"))).await;
    let picture = snap.products[0].image.clone();
    let get = |url: String| {
        let http = http.clone();
        async move {
            let res = http.get(url).send().await.expect("image");
            assert_eq!(res.status(), 200);
            res.bytes().await.expect("bytes").to_vec()
        }
    };
    let before = get(picture.thumb_url.clone()).await;
    assert!(before.starts_with(&[0xFF, 0xD8]), "a JPEG");
    // As if the run had stopped before drawing these two.
    sqlx::query("DELETE FROM images WHERE id IN (?, ?)")
        .bind(picture.id.to_string())
        .bind(feed.rooms[1].cover.id.to_string())
        .execute(&handle.state.writer)
        .await
        .expect("delete");
    handle.shutdown().await.expect("stops");

    let handle = livecart_server::serve(crate::support::config(dir.path()))
        .await
        .expect("restarts");
    let base = handle.base_url.clone();
    let after = get(picture
        .thumb_url
        .replace(&feed_base(&picture.thumb_url), &base))
    .await;
    assert_eq!(after, before, "the same picture, drawn again");
    let cover = &feed.rooms[1].cover;
    let cover = get(cover.url.replace(&feed_base(&cover.url), &base)).await;
    assert!(cover.starts_with(&[0xFF, 0xD8]));
    handle.shutdown().await.expect("stops");
}

/// `http://host:port` of an absolute URL.
fn feed_base(url: &str) -> String {
    let rest = url.trim_start_matches("http://");
    format!("http://{}", rest.split('/').next().unwrap_or_default())
}

async fn sign_in_raw(server: &TestServer, username: &str, password: &str) -> reqwest::Response {
    server
        .http
        .post(server.url("/v1/session"))
        .json(&serde_json::json!({ "username": username, "password": password }))
        .send()
        .await
        .expect("sign-in")
}

async fn refresh_raw(server: &TestServer, token: &str) -> reqwest::Response {
    server
        .http
        .post(server.url("/v1/session/refresh"))
        .json(&RefreshRequest {
            refresh_token: token.to_owned(),
        })
        .send()
        .await
        .expect("refresh")
}

async fn me_status(server: &TestServer, access: &str) -> u16 {
    server
        .http
        .get(server.url("/v1/me"))
        .bearer_auth(access)
        .send()
        .await
        .expect("me")
        .status()
        .as_u16()
}

/// A phone retrying a refresh on a flaky network (the same token twice at
/// once, then once more) keeps its session: every answer is the same new
/// pair. Reuse after the grace revokes the chain, and its access tokens
/// stop working at once, as they do after a sign-out.
#[tokio::test]
async fn a_retried_refresh_keeps_the_session_and_a_revoked_chain_loses_its_access_tokens() {
    let server = TestServer::start().await;
    let first = server.sign_in("ava").await;
    let (a, b) = tokio::join!(
        refresh_raw(&server, &first.refresh_token),
        refresh_raw(&server, &first.refresh_token)
    );
    assert_eq!(
        (a.status().as_u16(), b.status().as_u16()),
        (200, 200),
        "both retries answered"
    );
    let a: SessionResponse = a.json().await.expect("json");
    let b: SessionResponse = b.json().await.expect("json");
    assert_eq!(a.refresh_token, b.refresh_token, "one successor");
    assert_eq!(a.access_token, b.access_token);
    let again: SessionResponse = refresh_raw(&server, &first.refresh_token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(again.refresh_token, a.refresh_token, "within the grace");
    assert_eq!(me_status(&server, &a.access_token).await, 200);

    // Signing out ends the chain: its refresh and access tokens, at once.
    let out = server
        .http
        .delete(server.url("/v1/session"))
        .bearer_auth(&a.access_token)
        .send()
        .await
        .expect("sign out");
    assert_eq!(out.status(), 204);
    assert_eq!(me_status(&server, &a.access_token).await, 401);
    assert_eq!(
        me_status(&server, &first.access_token).await,
        401,
        "the whole chain"
    );
    assert_eq!(refresh_raw(&server, &a.refresh_token).await.status(), 401);

    // Without a grace, reuse (a stolen token) revokes the chain: its live
    // access token is refused too.
    let server = TestServer::start_with(|c| c.auth.refresh_grace_s = 0).await;
    let first = server.sign_in("ben").await;
    let second: SessionResponse = refresh_raw(&server, &first.refresh_token)
        .await
        .json()
        .await
        .expect("json");
    assert_eq!(me_status(&server, &second.access_token).await, 200);
    let reuse = refresh_raw(&server, &first.refresh_token).await;
    assert_eq!(problem(reuse).await.code, ErrorCode::TokenReused);
    assert_eq!(me_status(&server, &second.access_token).await, 401);
}

/// Sign-in is limited per account and per client address (429 with when
/// to try again), and an unknown username costs what a wrong password does.
#[tokio::test]
async fn sign_in_is_limited_per_account_and_address_and_unknown_users_cost_a_hash_too() {
    let server = TestServer::start_with(|c| {
        c.auth.sign_in_per_account_per_min = 5;
        c.auth.sign_in_per_address_per_min = 12;
    })
    .await;
    for _ in 0..5 {
        assert_eq!(sign_in_raw(&server, "ava", "wrong").await.status(), 401);
    }
    let limited = sign_in_raw(&server, "AVA", "livecart").await;
    assert_eq!(
        limited.status(),
        429,
        "the account's limit, whatever the case"
    );
    assert!(limited.headers().contains_key("retry-after"));
    let p = problem(limited).await;
    assert_eq!(p.code, ErrorCode::RateLimited);
    assert!(p.retry_after_ms.is_some_and(|ms| ms > 0), "{p:?}");
    // Other names from the same address: the address's limit (12, the
    // refused attempt above counted too: 5 + 1 + 6).
    for i in 0..6 {
        let res = sign_in_raw(&server, &format!("nobody{i}"), "x").await;
        assert_eq!(res.status(), 401, "attempt {i}");
    }
    assert_eq!(sign_in_raw(&server, "ben", "livecart").await.status(), 429);

    // Timing: an unknown name is checked against a stand-in hash.
    let server = TestServer::start().await;
    let mut unknown = Vec::new();
    let mut wrong = Vec::new();
    for i in 0..6 {
        let t = std::time::Instant::now();
        assert_eq!(
            sign_in_raw(&server, &format!("ghost{i}"), "x")
                .await
                .status(),
            401
        );
        unknown.push(t.elapsed());
        let t = std::time::Instant::now();
        assert_eq!(sign_in_raw(&server, "chloe", "x").await.status(), 401);
        wrong.push(t.elapsed());
    }
    unknown.sort();
    wrong.sort();
    let (u, w) = (unknown[3].as_secs_f64(), wrong[3].as_secs_f64());
    assert!(
        u > w * 0.4,
        "an unknown user answers in {:.1} ms, a wrong password in {:.1} ms",
        u * 1e3,
        w * 1e3
    );
}

/// Every error is problem+json with a stable code, the router's own and
/// the extractors' too; an error to a request that sent a body says
/// `Connection: close`.
#[tokio::test]
async fn every_error_is_problem_json_with_a_stable_code() {
    let server = TestServer::start().await;
    let ava = server.sign_in("ava").await;
    let room = server.room().await;
    let http = &server.http;
    let cases = [
        (
            http.delete(server.url("/v1/feed")),
            405,
            ErrorCode::MethodNotAllowed,
        ),
        (http.get(server.url("/nowhere")), 404, ErrorCode::NotFound),
        (
            http.get(server.url("/v1/nowhere")),
            404,
            ErrorCode::NotFound,
        ),
        (
            http.get(server.url(&format!("/v1/rooms/{room}/live"))),
            400,
            ErrorCode::Malformed,
        ),
        (
            http.get(server.url("/v1/wallet/entries?before=lots"))
                .bearer_auth(&ava.access_token),
            400,
            ErrorCode::Malformed,
        ),
        (
            http.post(server.url("/v1/session")).body("username=ava"),
            400,
            ErrorCode::Malformed,
        ),
    ];
    for (req, status, code) in cases {
        let res = req.send().await.expect("req");
        let url = res.url().clone();
        assert_eq!(res.status().as_u16(), status, "{url}");
        let allow = res.headers().get("allow").cloned();
        let closes = res.headers().get("connection").cloned();
        let p = problem(res).await;
        assert_eq!(p.code, code, "{url}: {p:?}");
        assert!(!p.detail.is_empty(), "{url}");
        if status == 405 {
            assert!(allow.is_some(), "a 405 says what is allowed");
        }
        if url.path() == "/v1/session" {
            assert_eq!(
                closes.as_ref().map(reqwest::header::HeaderValue::as_bytes),
                Some(&b"close"[..])
            );
        }
    }
}
