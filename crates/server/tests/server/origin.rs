//! The media origin (#18): a host's outside stream — ffmpeg publishing to
//! nginx's RTMP module, both started here — is pulled by the server while
//! someone watches and served as HTTP-FLV and as access units over
//! WebSocket; a source that cannot be reached is said in words.

use crate::support::{TestServer, WAIT, came_true, problem};
use futures_util::StreamExt;
use livecart_media::au::{AuMessage, KIND_AUDIO, KIND_VIDEO};
use livecart_media::outside::OutsideStream;
use livecart_protocol::rest::{CreateRoomRequest, RoomSummary, StreamProtocol};
use serde_json::json;
use std::sync::atomic::Ordering;
use tokio_tungstenite::tungstenite::Message;

/// A live room whose stream is `url`, made and started by the host "mia".
async fn outside_room(server: &TestServer, url: &str) -> RoomSummary {
    let mia = server.sign_in("mia").await;
    let req = CreateRoomRequest {
        title: "Seen from nginx".into(),
        category: None,
        stream_urls: vec![url.into()],
        host_id: None,
    };
    let res = server
        .http
        .post(server.url("/v1/host/rooms"))
        .bearer_auth(&mia.access_token)
        .json(&req)
        .send()
        .await
        .expect("create");
    assert_eq!(res.status(), 201);
    let room: RoomSummary = res.json().await.expect("json");
    let res = server
        .http
        .post(server.url(&format!("/v1/host/rooms/{}/start", room.id)))
        .bearer_auth(&mia.access_token)
        .json(&json!(null))
        .send()
        .await
        .expect("start");
    assert_eq!(res.status(), 200);
    room
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outside_rtmp_room_plays_through_the_origin_as_access_units_and_flv() {
    let outside = tokio::task::spawn_blocking(OutsideStream::start)
        .await
        .expect("nginx and ffmpeg");
    let server = TestServer::start().await;
    let room = outside_room(&server, &outside.url).await;

    // The feed offers the host's URL first (the desktop plays it directly),
    // then the origin's two.
    let listed = server
        .feed()
        .await
        .rooms
        .into_iter()
        .find(|r| r.id == room.id)
        .expect("live rooms are in the feed");
    let protocols: Vec<StreamProtocol> = listed.streams.iter().map(|s| s.protocol).collect();
    assert_eq!(
        protocols,
        [
            StreamProtocol::Rtmp,
            StreamProtocol::HttpFlv,
            StreamProtocol::AccessUnits
        ]
    );
    assert_eq!(listed.streams[0].url, outside.url);
    let au_url = &listed.streams[2].url;
    assert!(au_url.starts_with("ws://"), "{au_url}");

    // A browser's socket: pictures from a keyframe, AAC's configuration,
    // and the stream keeps coming live across GOPs.
    let (mut ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(au_url))
        .await
        .expect("in time")
        .expect("the access-unit socket opens");
    let mut first_video = None;
    let mut audio_config = None;
    let mut live_keyframes = 0;
    let mut audio_frames = 0;
    let got = tokio::time::timeout(std::time::Duration::from_secs(20), async {
        while live_keyframes < 2 || audio_frames < 20 {
            let Some(Ok(Message::Binary(bytes))) = ws.next().await else {
                panic!("the socket ended")
            };
            let m = AuMessage::parse(&bytes).expect("every message parses");
            match m.kind {
                KIND_VIDEO => {
                    first_video.get_or_insert((m.is_keyframe(), m.codec.to_owned()));
                    if m.is_keyframe() && !m.is_late() {
                        live_keyframes += 1;
                    }
                }
                KIND_AUDIO if m.is_config() => audio_config = Some(m.codec.to_owned()),
                KIND_AUDIO => audio_frames += 1,
                other => panic!("unknown kind {other}"),
            }
        }
    })
    .await;
    assert!(
        got.is_ok(),
        "{live_keyframes} live keyframes and {audio_frames} audio frames in 20 s"
    );
    let (key, codec) = first_video.expect("pictures");
    assert!(key, "a viewer starts at a keyframe");
    assert!(codec.starts_with("avc1."), "{codec}");
    assert_eq!(audio_config.as_deref(), Some("mp4a.40.2"));

    // The same pull serves HTTP-FLV: the header, then tags.
    let mut res = server
        .http
        .get(&listed.streams[1].url)
        .send()
        .await
        .expect("flv");
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "video/x-flv");
    let chunk = res.chunk().await.expect("body").expect("bytes");
    assert_eq!(&chunk[..3], b"FLV");

    // And fragmented MP4 for MediaSource (the web app without WebCodecs):
    // the type, the initialisation segment, then fragments.
    let fmp4 = au_url.replace("/au", "/fmp4");
    let (mut ws, _) = tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(&fmp4))
        .await
        .expect("in time")
        .expect("the fMP4 socket opens");
    let mut next = async || {
        tokio::time::timeout(WAIT, ws.next())
            .await
            .expect("in time")
            .expect("a message")
            .expect("not an error")
    };
    let Message::Text(mime) = next().await else {
        panic!("the MediaSource type first")
    };
    assert!(
        mime.starts_with("video/mp4; codecs=\"avc1.") && mime.ends_with(",mp4a.40.2\""),
        "{mime}"
    );
    let Message::Binary(init) = next().await else {
        panic!("the initialisation segment")
    };
    assert_eq!(&init[4..8], b"ftyp");
    let Message::Binary(fragment) = next().await else {
        panic!("a fragment")
    };
    assert_eq!(&fragment[4..8], b"moof");
    drop(outside);
}

/// The pull costs a connection to the host's server and a thread here: it
/// runs only while someone watches, and the next viewer starts it again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_relay_nobody_watches_stops_and_the_next_viewer_starts_it_again() {
    let outside = tokio::task::spawn_blocking(OutsideStream::start)
        .await
        .expect("nginx and ffmpeg");
    let server = TestServer::start_with(|c| c.demo.idle_stop_secs = 1).await;
    let room = outside_room(&server, &outside.url).await.id;
    let streams = &server.handle.state.streams;
    assert!(!streams.running(room), "nothing is pulled before a viewer");
    let flv = server.url(&format!("/live/{room}.flv"));
    let res = server.http.get(&flv).send().await.expect("stream");
    assert_eq!(res.status(), 200);
    assert_eq!(streams.source(room), Some("relay of the host's stream"));
    drop(res);
    let stopped = came_true(|| !streams.running(room)).await;
    assert!(stopped, "an unwatched pull stops");
    let mut res = server.http.get(&flv).send().await.expect("stream");
    assert_eq!(res.status(), 200);
    assert!(streams.running(room), "the next viewer started it again");
    let first = tokio::time::timeout(WAIT, res.chunk())
        .await
        .expect("video arrives")
        .expect("body")
        .expect("a chunk");
    assert!(
        first.starts_with(b"FLV"),
        "a decodable stream from its start"
    );
    drop(outside);
}

/// Pulls are capped (`max_relays`): one more is refused at once, in words,
/// and goes through once a pull ends.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulls_beyond_the_cap_are_refused_in_words_until_one_ends() {
    let outside = tokio::task::spawn_blocking(OutsideStream::start)
        .await
        .expect("nginx and ffmpeg");
    let server = TestServer::start_with(|c| {
        c.max_relays = 1;
        c.demo.idle_stop_secs = 1;
    })
    .await;
    let first = outside_room(&server, &outside.url).await.id;
    let second = outside_room(&server, &outside.url).await.id;
    let flv = |room| server.url(&format!("/live/{room}.flv"));
    let watching = server.http.get(flv(first)).send().await.expect("stream");
    assert_eq!(watching.status(), 200);
    let res = server.http.get(flv(second)).send().await.expect("answer");
    assert_eq!(res.status(), 503);
    let detail = problem(res).await.detail;
    assert!(detail.contains("at most 1"), "{detail}");
    drop(watching);
    let streams = &server.handle.state.streams;
    // Stopped, and its pipeline gone (that happens off the ticker's thread).
    let ended =
        came_true(|| !streams.running(first) && streams.relays.load(Ordering::Acquire) == 0).await;
    assert!(ended, "the unwatched pull ends");
    // A refused start is not tried again for 2 s, however many ask; a
    // player asks again, as the browser's does.
    let played = tokio::time::timeout(WAIT, async {
        loop {
            let res = server.http.get(flv(second)).send().await.expect("stream");
            if res.status() == 200 {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(250)).await;
        }
    })
    .await;
    assert!(played.is_ok(), "its slot is free again");
    drop(outside);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_source_that_cannot_be_reached_is_said_and_viewers_are_not_left_waiting() {
    let server = TestServer::start().await;
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("port");
    let room = outside_room(&server, &format!("rtmp://127.0.0.1:{port}/live/gone")).await;
    let started = std::time::Instant::now();
    let res = server
        .http
        .get(server.url(&format!("/live/{}.flv", room.id)))
        .send()
        .await
        .expect("answer");
    assert_eq!(res.status(), 503);
    let p = problem(res).await;
    let detail = p.detail;
    assert!(
        detail.contains("cannot be reached"),
        "the viewer is told why: {detail}"
    );
    assert!(
        started.elapsed() < WAIT,
        "answered in {:?}",
        started.elapsed()
    );
    // The socket says the same before it upgrades.
    let au = server
        .url(&format!("/live/{}/au", room.id))
        .replacen("http", "ws", 1);
    let refused = tokio_tungstenite::connect_async(&au).await;
    let Err(tokio_tungstenite::tungstenite::Error::Http(res)) = refused else {
        panic!("refused with an HTTP answer")
    };
    assert_eq!(res.status(), 503);
}

/// The browser's half: Debian's Chromium (headless, a 390×844 phone) opens
/// the room's share link, whose page plays the room through the origin with
/// livecart's browser player (assets/origin.js: WebCodecs into a canvas),
/// driven by Playwright (tests/web/origin.mjs; `./dev deps` installs
/// Chromium, Node and playwright-core).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn chromium_plays_an_outside_rtmp_room_through_the_origin() {
    let outside = tokio::task::spawn_blocking(OutsideStream::start)
        .await
        .expect("nginx and ffmpeg");
    let server = TestServer::start().await;
    let room = outside_room(&server, &outside.url).await;
    // The watch page: the room's video alone, as any phone's browser plays it.
    let link = server.url(&format!("/watch/{}", room.id));
    let script =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/web/origin.mjs");
    let ran = tokio::process::Command::new("node")
        .arg(&script)
        .arg(&link)
        .arg("90")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(std::time::Duration::from_mins(1), ran)
        .await
        .expect("the browser finished within a minute")
        .expect("node runs (./dev deps installs it)");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the browser run failed ({}); run ./dev deps if playwright-core or chromium is missing:\n{stderr}",
        out.status
    );
    let said: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    eprintln!("chromium through the origin: {said}\n{stderr}");
    assert_eq!(said["errors"], json!([]), "no decoder error");
    assert_eq!(
        said["inTime"], true,
        "90 pictures drawn within 20 s: {said}"
    );
    assert!(said["drawn"].as_u64() >= Some(90), "{said}");
    assert_eq!(
        (said["width"].as_u64(), said["height"].as_u64()),
        (Some(640), Some(360)),
        "drawn at the source's own size"
    );
    assert!(
        said["videoCodec"]
            .as_str()
            .is_some_and(|c| c.starts_with("avc1.")),
        "{said}"
    );
    assert_eq!(said["audioCodec"], "mp4a.40.2");
    assert_eq!(
        said["title"], "Seen from nginx · livecart",
        "the page names the room (read as text from its snapshot)"
    );
    assert!(
        said["audioDecoded"].as_u64() > Some(20),
        "the sound decodes too: {said}"
    );
    drop(outside);
}
