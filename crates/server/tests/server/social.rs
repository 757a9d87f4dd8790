//! Following hosts (kept server-side) and reporting chat messages.

use crate::support::{TestServer, WAIT, is_chat};
use livecart_protocol::rest::{ChatMessage, FollowingResponse};
use livecart_protocol::{ClientFrame, RoomEvent, UserId};

async fn following(server: &TestServer, token: &str) -> Vec<UserId> {
    let res = server
        .http
        .get(server.url("/v1/me/following"))
        .bearer_auth(token)
        .send()
        .await
        .expect("following");
    assert_eq!(res.status(), 200);
    res.json::<FollowingResponse>().await.expect("json").hosts
}

/// A viewer follows a host: it survives a new sign-in (kept by the server),
/// twice is once, unfollow removes it; nobody can follow a viewer, a made-up
/// id or themselves, and anonymous callers are told to sign in.
#[tokio::test]
async fn follows_are_kept_per_user_by_the_server() {
    let server = TestServer::start().await;
    let host = server.feed().await.rooms[0].host.id;
    let ava = server.sign_in("ava").await;
    let ben = server.sign_in("ben").await;
    let put = |token: String, who: String| {
        let req = server
            .http
            .put(server.url(&format!("/v1/me/following/{who}")))
            .bearer_auth(token);
        async move { req.send().await.expect("put").status() }
    };
    assert_eq!(put(ava.access_token.clone(), host.to_string()).await, 204);
    assert_eq!(
        put(ava.access_token.clone(), host.to_string()).await,
        204,
        "idempotent"
    );
    let again = server.sign_in("ava").await;
    assert_eq!(
        following(&server, &again.access_token).await,
        [host],
        "kept by the server"
    );
    assert!(
        following(&server, &ben.access_token).await.is_empty(),
        "per user"
    );

    // Not a host, not a user, not yourself, not anonymous.
    assert_eq!(
        put(ava.access_token.clone(), ben.user.id.to_string()).await,
        404
    );
    assert_eq!(
        put(ava.access_token.clone(), UserId::new().to_string()).await,
        404
    );
    let mia = server.sign_in("mia").await;
    assert_eq!(
        put(mia.access_token.clone(), mia.user.id.to_string()).await,
        400
    );
    let anon = server
        .http
        .put(server.url(&format!("/v1/me/following/{host}")))
        .send()
        .await
        .expect("anon");
    assert_eq!(anon.status(), 401);

    let res = server
        .http
        .delete(server.url(&format!("/v1/me/following/{host}")))
        .bearer_auth(&ava.access_token)
        .send()
        .await
        .expect("delete");
    assert_eq!(res.status(), 204);
    assert!(following(&server, &ava.access_token).await.is_empty());
}

/// A signed-in viewer reports a chat line: 202, stored once with what the
/// line said; a bad body or an unknown room gets a clear error.
#[tokio::test]
async fn a_reported_message_is_stored_once_for_the_moderators() {
    let server = TestServer::start().await;
    let room = server.room().await;
    let ben = server.sign_in("ben").await;
    let ava = server.sign_in("ava").await;
    let mut ws = server.connect(room, Some(&ben.access_token), None).await;
    ws.joined().await;
    ws.send(&ClientFrame::Chat {
        text: "cheap followers at spam.example".into(),
        client_id: None,
    })
    .await;
    let (_, event) = tokio::time::timeout(WAIT, ws.event(is_chat))
        .await
        .expect("chat");
    let RoomEvent::Chat {
        message: ChatMessage { id, .. },
    } = event
    else {
        panic!("a chat event");
    };
    let report = |body: serde_json::Value, room: String| {
        let req = server
            .http
            .post(server.url(&format!("/v1/rooms/{room}/reports")))
            .bearer_auth(&ava.access_token)
            .json(&body);
        async move { req.send().await.expect("report") }
    };
    let body = serde_json::json!({ "message_id": id, "reason": "spam" });
    assert_eq!(report(body.clone(), room.to_string()).await.status(), 202);
    assert_eq!(
        report(body.clone(), room.to_string()).await.status(),
        202,
        "again: still one"
    );
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT text, author_id FROM reports WHERE message_id = ?")
            .bind(id.to_string())
            .fetch_all(&server.handle.state.db)
            .await
            .expect("query");
    assert_eq!(rows.len(), 1, "one report per reporter and message");
    assert_eq!(rows[0].0, "cheap followers at spam.example");
    assert_eq!(rows[0].1, ben.user.id.to_string());

    let unknown = report(body, livecart_protocol::RoomId::new().to_string()).await;
    assert_eq!(unknown.status(), 404);
    let extra = report(
        serde_json::json!({ "message_id": id, "reason": "spam", "extra": 1 }),
        room.to_string(),
    )
    .await;
    assert_eq!(extra.status(), 400, "unknown fields are refused");
    let long = report(
        serde_json::json!({ "message_id": id, "reason": "x".repeat(201) }),
        room.to_string(),
    )
    .await;
    assert_eq!(long.status(), 400);
}

/// Reports: a hundred a day per user, then "the moderators are on it".
#[tokio::test]
async fn reports_are_capped_per_user_per_day() {
    let server = TestServer::start().await;
    let ava = server.sign_in("ava").await;
    let room = server.room().await;
    let user: String = sqlx::query_scalar("SELECT id FROM users WHERE username = 'ava'")
        .fetch_one(&server.handle.state.db)
        .await
        .expect("ava");
    for _ in 0..100 {
        sqlx::query(
            "INSERT INTO reports (id, reporter_id, room_id, message_id, reason, created_at) VALUES (?, ?, ?, ?, 'Spam', ?)",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(&user)
        .bind(room.to_string())
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(jiff::Timestamp::now().to_string())
        .execute(&server.handle.state.writer)
        .await
        .expect("report");
    }
    let res = server
        .http
        .post(server.url(&format!("/v1/rooms/{room}/reports")))
        .bearer_auth(&ava.access_token)
        .json(&serde_json::json!({ "message_id": uuid::Uuid::now_v7(), "reason": "Spam" }))
        .send()
        .await
        .expect("report");
    assert_eq!(res.status(), 429);
    let p: livecart_protocol::Problem = res.json().await.expect("problem");
    assert!(p.detail.contains("moderators"), "{}", p.detail);
}
