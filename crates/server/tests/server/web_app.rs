//! The web app's page (#18, http/app.rs): served at `/` and at a room's
//! share link, it names the room the app will show first, and starts that
//! room playing before the app has loaded (assets/web.js).

use super::support::TestServer;
use livecart_protocol::RoomId;

/// A server with a web app build: the two files wasm-bindgen makes (their
/// contents do not matter to the page).
async fn with_app() -> (TestServer, tempfile::TempDir) {
    let build = tempfile::tempdir().expect("tempdir");
    std::fs::write(
        build.path().join("livecart-web.js"),
        "export default () => {};",
    )
    .expect("glue");
    std::fs::write(
        build.path().join("livecart-web_bg.wasm"),
        b"\0asm\x01\0\0\0",
    )
    .expect("wasm");
    let dir = build.path().to_path_buf();
    let server = TestServer::start_with(move |c| c.web_dir = Some(dir)).await;
    (server, build)
}

/// The room the page at `path` starts playing, if any.
async fn boot_room(server: &TestServer, path: &str) -> Option<String> {
    let res = server
        .http
        .get(server.url(path))
        .send()
        .await
        .expect("page");
    assert_eq!(res.status(), 200, "{path}");
    let page = res.text().await.expect("page");
    let room = page
        .split(r#"<meta name="livecart-boot" content=""#)
        .nth(1)?
        .split('"')
        .next()?;
    Some(room.to_owned())
}

#[tokio::test]
async fn the_page_starts_the_room_the_app_shows_first() {
    let (server, _build) = with_app().await;
    let feed = server.feed().await;
    assert_eq!(
        boot_room(&server, "/").await,
        Some(feed.rooms[0].id.to_string()),
        "the feed's first room"
    );
    let second = feed.rooms[1].id;
    assert_eq!(
        boot_room(&server, &format!("/r/{second}")).await,
        Some(second.to_string()),
        "a share link's room"
    );
    assert_eq!(
        boot_room(&server, &format!("/r/{}", RoomId::new())).await,
        None,
        "a room that is not live starts nothing (the app says so)"
    );
    assert_eq!(
        boot_room(&server, "/orders").await,
        None,
        "a screen starts nothing"
    );
    assert_eq!(boot_room(&server, "/wallet").await, None);
}
