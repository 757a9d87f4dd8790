//! The room WebSocket, as viewers experience it.
//!
//! Size: integration tests, one story each, sharing the test server.

use crate::support::{Client, TestServer, is_chat, is_notice};
use futures_util::SinkExt;
use livecart_protocol::live::close;
use livecart_protocol::{
    ClientFrame, Epoch, ErrorCode, PROTOCOL_HEADER, PROTOCOL_VERSION, RoomEvent, ServerFrame,
};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// Events published in the slow-consumer test.
const N: usize = 3000;

fn notice(server: &TestServer, room: livecart_protocol::RoomId, text: String) -> u64 {
    server
        .handle
        .state
        .rooms
        .get(room)
        .expect("room")
        .publish(RoomEvent::Notice { text })
}

#[tokio::test]
async fn a_viewer_joining_gets_a_snapshot_they_can_trust() {
    let server = TestServer::start().await;
    let room = server.room().await;
    let mut c = server.connect(room, None, None).await;
    let welcome = c.next().await;
    let ServerFrame::Welcome {
        room_id,
        resumed,
        user,
        seq,
        epoch,
        ..
    } = welcome
    else {
        panic!("{welcome:?}")
    };
    assert_eq!(room_id, room);
    assert!(!resumed);
    assert_eq!(user, None, "anonymous viewer");
    let ServerFrame::Snapshot { snapshot } = c.next().await else {
        panic!("snapshot expected")
    };
    assert_eq!((snapshot.seq, snapshot.epoch), (seq, epoch));
    assert_eq!(snapshot.room.title, "Autumn knits drop — live try-on");
    assert!(snapshot.products.len() >= 4, "the product bag is there");
    assert!(snapshot.products.iter().all(|p| !p.skus.is_empty()));
    // The next live event continues exactly after the snapshot.
    let s = notice(&server, room, "welcome everyone".into());
    let (seq_seen, ev) = c.event(is_notice).await;
    assert_eq!(seq_seen, s);
    assert_eq!(
        ev,
        RoomEvent::Notice {
            text: "welcome everyone".into()
        }
    );
}

#[tokio::test]
async fn chat_goes_from_one_viewer_to_another() {
    let server = TestServer::start().await;
    let room = server.room().await;
    let ava = server.sign_in("ava").await;
    let mut sender = server.connect(room, Some(&ava.access_token), None).await;
    sender.joined().await;
    let mut watcher = server.connect(room, None, None).await;
    watcher.joined().await;

    let client_id = uuid::Uuid::now_v7();
    sender
        .send(&ClientFrame::Chat {
            text: "is the oat one in stock?".into(),
            client_id: Some(client_id),
        })
        .await;

    let (seq_w, RoomEvent::Chat { message }) = watcher.event(is_chat).await else {
        unreachable!()
    };
    assert_eq!(message.text, "is the oat one in stock?");
    assert_eq!(message.user.name, "Ava");
    let (seq_s, RoomEvent::Chat { message: echo }) = sender.event(is_chat).await else {
        unreachable!()
    };
    assert_eq!(seq_s, seq_w, "everyone sees the same numbered event");
    assert_eq!(
        echo.client_id,
        Some(client_id),
        "the sender can match its optimistic line"
    );
    // A late joiner sees it in the snapshot.
    let snap = server.snapshot(room).await;
    assert!(snap.chat.iter().any(|m| m.id == message.id));
}

#[tokio::test]
async fn anonymous_viewers_may_watch_but_not_chat_or_like_until_they_sign_in() {
    let server = TestServer::start().await;
    let room = server.room().await;
    let mut c = server.connect(room, None, None).await;
    c.joined().await;
    c.send(&ClientFrame::Chat {
        text: "hello".into(),
        client_id: None,
    })
    .await;
    let (code, message, _) = c.error().await;
    assert_eq!(code, ErrorCode::Unauthorized);
    assert!(message.contains("sign in"), "{message}");
    c.send(&ClientFrame::Like { count: 3 }).await;
    assert_eq!(c.error().await.0, ErrorCode::Unauthorized);
    assert!(
        server
            .snapshot(room)
            .await
            .chat
            .iter()
            .all(|m| m.text != "hello"),
        "nothing was posted"
    );

    // Signing in on the open connection lets them chat.
    let ben = server.sign_in("ben").await;
    c.send(&ClientFrame::Auth {
        access_token: ben.access_token.clone(),
    })
    .await;
    loop {
        if let ServerFrame::Authenticated { user } = c.next().await {
            assert_eq!(user.name, "Ben");
            break;
        }
    }
    c.send(&ClientFrame::Chat {
        text: "hello".into(),
        client_id: None,
    })
    .await;
    let (_, RoomEvent::Chat { message }) = c.event(is_chat).await else {
        unreachable!()
    };
    assert_eq!(message.user.name, "Ben");
    // A bad token in an auth frame is refused and changes nothing.
    c.send(&ClientFrame::Auth {
        access_token: "lca1.bogus.token".into(),
    })
    .await;
    assert_eq!(c.error().await.0, ErrorCode::Unauthorized);
    c.assert_open(1).await;
}

#[tokio::test]
async fn a_dropped_connection_resumes_with_no_gap_and_no_duplicate() {
    let server = TestServer::start().await;
    let room = server.room().await;
    let mut c = server.connect(room, None, None).await;
    let snap = c.joined().await;
    let mut last = snap.seq;
    for i in 0..5 {
        notice(&server, room, format!("before {i}"));
    }
    let mut seen = 0;
    while seen < 5 {
        if let ServerFrame::Event {
            seq, event, epoch, ..
        } = c.next().await
        {
            assert_eq!(epoch, snap.epoch);
            assert_eq!(seq, last + 1, "gap-free");
            last = seq;
            seen += usize::from(is_notice(&event));
        }
    }
    drop(c);

    for i in 0..7 {
        notice(&server, room, format!("missed {i}"));
    }
    let mut c = server.connect(room, None, Some((last, snap.epoch))).await;
    let ServerFrame::Welcome { resumed, .. } = c.next().await else {
        panic!("welcome first")
    };
    assert!(resumed, "the kept history covers the gap");
    let mut missed = Vec::new();
    while missed.len() < 7 {
        match c.next().await {
            ServerFrame::Event { seq, event, .. } => {
                assert_eq!(seq, last + 1, "no gap, no duplicate");
                last = seq;
                if let RoomEvent::Notice { text } = event {
                    missed.push(text);
                }
            }
            other => panic!("only events follow a resume, got {other:?}"),
        }
    }
    assert_eq!(
        missed,
        (0..7).map(|i| format!("missed {i}")).collect::<Vec<_>>()
    );
    // And the live stream carries on seamlessly.
    let s = notice(&server, room, "live again".into());
    loop {
        let ServerFrame::Event { seq, .. } = c.next().await else {
            continue;
        };
        assert_eq!(seq, last + 1);
        last = seq;
        if seq == s {
            break;
        }
    }
}

#[tokio::test]
async fn a_changed_epoch_or_a_gap_beyond_the_history_gets_one_fresh_snapshot() {
    let server = TestServer::start_with(|c| c.history_len = 1000).await;
    let room = server.room().await;
    let r = server.handle.state.rooms.get(room).expect("room");
    let old = server.snapshot(room).await;

    // Unknown epoch (e.g. the server restarted): snapshot.
    let mut c = server
        .connect(room, None, Some((old.seq, Epoch::new())))
        .await;
    let snap = c.joined().await;
    assert_eq!(snap.epoch, old.epoch);
    drop(c);

    // The room starts a new epoch: a client holding the old one gets a snapshot.
    let new_epoch = r.new_epoch();
    let mut c = server.connect(room, None, Some((old.seq, old.epoch))).await;
    let snap = c.joined().await;
    assert_eq!(snap.epoch, new_epoch);
    drop(c);

    // More events than the history keeps: snapshot, carrying the latest state.
    let since = snap.seq;
    for i in 0..1100 {
        notice(&server, room, format!("n{i}"));
    }
    let mut c = server.connect(room, None, Some((since, new_epoch))).await;
    let snap = c.joined().await;
    assert!(snap.seq >= since + 1100);
    // ...and one the history still covers resumes.
    drop(c);
    let mut c = server
        .connect(room, None, Some((snap.seq - 10, new_epoch)))
        .await;
    assert!(matches!(
        c.next().await,
        ServerFrame::Welcome { resumed: true, .. }
    ));
    let ServerFrame::Event { seq, .. } = c.next().await else {
        panic!("event expected")
    };
    assert_eq!(seq, snap.seq - 9);
}

#[tokio::test]
async fn a_chatty_user_is_rate_limited_and_told_when_to_retry() {
    let server = TestServer::start().await;
    let room = server.room().await;
    let ava = server.sign_in("ava").await;
    let mut c = server.connect(room, Some(&ava.access_token), None).await;
    c.joined().await;
    for i in 0..20 {
        c.send(&ClientFrame::Chat {
            text: format!("msg {i}"),
            client_id: None,
        })
        .await;
    }
    for i in 0..20 {
        let (_, RoomEvent::Chat { message }) = c.event(is_chat).await else {
            unreachable!()
        };
        assert_eq!(message.text, format!("msg {i}"));
    }
    c.send(&ClientFrame::Chat {
        text: "one more".into(),
        client_id: None,
    })
    .await;
    let (code, message, retry) = c.error().await;
    assert_eq!(code, ErrorCode::RateLimited);
    assert!(message.contains("again in"), "{message}");
    let retry = retry.expect("retry_after_ms");
    assert!(
        retry > 0 && retry <= 1500,
        "one message refills every 1.5 s: {retry}"
    );
    c.assert_open(7).await;
}

#[tokio::test]
async fn blocked_words_are_refused_with_the_reason() {
    let server = TestServer::start().await;
    let room = server.room().await;
    let ava = server.sign_in("ava").await;
    let mut c = server.connect(room, Some(&ava.access_token), None).await;
    c.joined().await;
    c.send(&ClientFrame::Chat {
        text: "total SCAM".into(),
        client_id: None,
    })
    .await;
    let (code, message, _) = c.error().await;
    assert_eq!(code, ErrorCode::Filtered);
    assert!(message.contains("scam"), "{message}");
}

#[tokio::test]
async fn malformed_unknown_and_oversize_frames_get_clear_errors_and_the_socket_stays_open() {
    let server = TestServer::start().await;
    let room = server.room().await;
    let ava = server.sign_in("ava").await;
    let mut c = server.connect(room, Some(&ava.access_token), None).await;
    c.joined().await;

    c.send_text("{not json").await;
    let (code, message, _) = c.error().await;
    assert_eq!(code, ErrorCode::Malformed);
    assert!(message.contains("JSON"), "{message}");

    c.send_text(r#"{"type":"teleport","to":"mars"}"#).await;
    let (code, message, _) = c.error().await;
    assert_eq!(code, ErrorCode::UnknownType);
    assert!(message.contains("teleport"), "{message}");

    c.send_text(r#"{"type":"like","count":"lots"}"#).await;
    assert_eq!(c.error().await.0, ErrorCode::Invalid);

    c.send_text(format!(
        r#"{{"type":"chat","text":"{}"}}"#,
        "x".repeat(20 * 1024)
    ))
    .await;
    let (code, message, _) = c.error().await;
    assert_eq!(code, ErrorCode::TooLarge);
    assert!(message.contains("16384"), "{message}");

    c.ws.send(tokio_tungstenite::tungstenite::Message::binary(vec![
        1, 2, 3,
    ]))
    .await
    .expect("send");
    assert_eq!(c.error().await.0, ErrorCode::Malformed);

    // After all that, the connection still works, chat included.
    c.assert_open(42).await;
    c.send(&ClientFrame::Chat {
        text: "still here".into(),
        client_id: None,
    })
    .await;
    let (_, RoomEvent::Chat { message }) = c.event(is_chat).await else {
        unreachable!()
    };
    assert_eq!(message.text, "still here");

    // A frame too big to read safely closes the socket with 1009 and a
    // reason (not a reset: the client learns why).
    c.send_text("y".repeat(100 * 1024)).await;
    let close = loop {
        match c.next_or_close().await {
            Err(Some(close)) => break close,
            Err(None) => panic!("the socket was reset: no close frame, no reason"),
            Ok(_) => {}
        }
    };
    assert_eq!(close.code, CloseCode::Size);
    assert!(close.reason.contains("64 KiB"), "{}", close.reason);

    // The user's own socket too.
    let ava = server.sign_in("ava").await;
    let mut me = Client::connect(
        &server
            .handle
            .ws_url(&format!("/v1/me/live?v={PROTOCOL_VERSION}")),
        Some(&ava.access_token),
    )
    .await
    .expect("me socket");
    me.send_text("z".repeat(100 * 1024)).await;
    let close = loop {
        match me.next_or_close_raw().await {
            Err(Some(close)) => break close,
            Err(None) => panic!("the user's socket was reset without a reason"),
            Ok(()) => {}
        }
    };
    assert_eq!(close.code, CloseCode::Size);
}

#[tokio::test]
async fn wrong_tokens_unknown_rooms_and_old_clients_are_refused_before_upgrade() {
    let server = TestServer::start().await;
    let room = server.room().await;
    let url = server
        .handle
        .ws_url(&format!("/v1/rooms/{room}/live?v={PROTOCOL_VERSION}"));
    let status = |e: tokio_tungstenite::tungstenite::Error| match e {
        tokio_tungstenite::tungstenite::Error::Http(res) => res.status().as_u16(),
        other => panic!("expected an HTTP refusal, got {other}"),
    };
    let err = Client::connect(&url, Some("lca1.not.valid"))
        .await
        .err()
        .expect("refused");
    assert_eq!(status(err), 401);
    let unknown = server.handle.ws_url(&format!(
        "/v1/rooms/{}/live",
        livecart_protocol::RoomId::new()
    ));
    assert_eq!(
        status(
            Client::connect(&unknown, None)
                .await
                .err()
                .expect("refused")
        ),
        404
    );
    let old = server.handle.ws_url(&format!("/v1/rooms/{room}/live?v=0"));
    let mut req = old.into_client_request().expect("req");
    req.headers_mut().remove(PROTOCOL_HEADER);
    let err = tokio_tungstenite::connect_async(req)
        .await
        .expect_err("refused");
    assert_eq!(status(err), 426, "too-old clients are told to upgrade");
    let mut req = url.clone().into_client_request().expect("req");
    req.headers_mut()
        .insert(PROTOCOL_HEADER, HeaderValue::from_static("0"));
    assert_eq!(
        status(
            tokio_tungstenite::connect_async(req)
                .await
                .expect_err("refused")
        ),
        426
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_is_dropped_and_never_delays_a_fast_one() {
    let server = TestServer::start_with(|c| {
        c.ws.send_queue = 256;
        c.ws.write_timeout_ms = 1000;
    })
    .await;
    let room = server.room().await;

    // The slow viewer has a tiny receive buffer and stops reading after joining.
    let url = server
        .handle
        .ws_url(&format!("/v1/rooms/{room}/live?v={PROTOCOL_VERSION}"));
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket.set_recv_buffer_size(4096).expect("rcvbuf");
    let stream = socket.connect(server.handle.addr).await.expect("connect");
    let (slow_ws, _) = tokio_tungstenite::client_async(
        url.into_client_request().expect("req"),
        tokio_tungstenite::MaybeTlsStream::Plain(stream),
    )
    .await
    .expect("slow connects");
    let mut slow = Client { ws: slow_ws };
    slow.joined().await;

    let mut fast = server.connect(room, None, None).await;
    fast.joined().await;

    let big = "z".repeat(1000);
    let publisher = {
        let r = server.handle.state.rooms.get(room).expect("room");
        let big = big.clone();
        tokio::spawn(async move {
            for i in 0..N {
                r.publish(RoomEvent::Notice {
                    text: format!("{i}:{big}"),
                });
                // A busy room, not a single burst: others get to run.
                tokio::task::yield_now().await;
            }
        })
    };
    let mut got = 0;
    while got < N {
        let (_, RoomEvent::Notice { text }) = fast.event(is_notice).await else {
            unreachable!()
        };
        assert!(text.starts_with(&format!("{got}:")), "in order");
        got += 1;
    }
    publisher.await.expect("publisher");

    // The slow one was cut off: it never sees all N, and is told why.
    let mut slow_got = 0;
    let ended = loop {
        match slow.next_or_close().await {
            Ok(ServerFrame::Event {
                event: RoomEvent::Notice { .. },
                ..
            }) => slow_got += 1,
            Ok(_) => {}
            Err(close) => break close,
        }
    };
    assert!(
        slow_got < N,
        "the slow consumer was dropped ({slow_got} of {N})"
    );
    if let Some(close) = ended {
        assert_eq!(u16::from(close.code), close::SLOW_CONSUMER, "{close:?}");
    }
}

#[tokio::test]
async fn likes_are_aggregated_at_most_four_times_a_second() {
    let server = TestServer::start().await;
    let room = server.room().await;
    let ava = server.sign_in("ava").await;
    let mut c = server.connect(room, Some(&ava.access_token), None).await;
    let before = c.joined().await.like_count;
    // Sixty likes at once: a fan's burst (more is not a person's pace).
    for _ in 0..30 {
        c.send(&ClientFrame::Like { count: 2 }).await;
    }
    let start = tokio::time::Instant::now();
    let mut events = 0;
    let mut total = before;
    while total < before + 60 {
        if let (_, RoomEvent::Likes { added, total: t }) =
            c.event(|e| matches!(e, RoomEvent::Likes { .. })).await
        {
            events += 1;
            assert_eq!(t, total + added, "totals add up");
            total = t;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    assert_eq!(total, before + 60, "every like counted once");
    assert!(
        f64::from(events) <= 4.0 * elapsed + 1.0,
        "{events} likes events in {elapsed:.2} s"
    );
    assert!(server.snapshot(room).await.like_count >= before + 60);

    // "Three million likes" from one client: a person's pace is counted.
    for _ in 0..3_000 {
        c.send(&ClientFrame::Like { count: 1000 }).await;
    }
    c.send(&ClientFrame::Ping { nonce: 7 }).await;
    while !matches!(
        c.next().await,
        livecart_protocol::ServerFrame::Pong { nonce: 7, .. }
    ) {}
    // What was counted reaches the room with the next aggregate (if any).
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(1),
        c.event(|e| matches!(e, RoomEvent::Likes { .. })),
    )
    .await;
    let counted = server.snapshot(room).await.like_count - (before + 60);
    let allowed = (start.elapsed().as_secs_f64() * 15.0) as u64 + 60;
    assert!(
        counted <= allowed,
        "{counted} likes counted, {allowed} at most"
    );
}

#[tokio::test]
async fn a_silent_client_is_closed_after_three_missed_heartbeats() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let server = TestServer::start_with(|c| c.ws.heartbeat_ms = 100).await;
    let room = server.room().await;
    // A client that completes the handshake and then never answers a ping:
    // a raw socket, so no library replies on its behalf.
    let mut tcp = tokio::net::TcpStream::connect(server.handle.addr)
        .await
        .expect("connect");
    let req = format!(
        "GET /v1/rooms/{room}/live?v={PROTOCOL_VERSION} HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        server.handle.addr
    );
    tcp.write_all(req.as_bytes()).await.expect("handshake");
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let close = tokio::time::timeout(crate::support::WAIT, async {
        loop {
            let n = tcp.read(&mut chunk).await.expect("read");
            if n == 0 {
                return None;
            }
            buf.extend_from_slice(&chunk[..n]);
            // Find a close frame (opcode 8) and return its status code.
            let start = buf
                .windows(4)
                .position(|w| w == b"\r\n\r\n")
                .map_or(usize::MAX, |p| p + 4);
            let mut i = start;
            while i + 2 <= buf.len() {
                let opcode = buf[i] & 0x0f;
                let (len, hdr) = match buf[i + 1] & 0x7f {
                    126 if i + 4 <= buf.len() => {
                        (usize::from(u16::from_be_bytes([buf[i + 2], buf[i + 3]])), 4)
                    }
                    127 if i + 10 <= buf.len() => (
                        usize::try_from(u64::from_be_bytes(
                            buf[i + 2..i + 10].try_into().expect("8 bytes"),
                        ))
                        .expect("len"),
                        10,
                    ),
                    126 | 127 => break,
                    l => (usize::from(l), 2),
                };
                if i + hdr + len > buf.len() {
                    break;
                }
                if opcode == 8 {
                    return Some(u16::from_be_bytes([buf[i + hdr], buf[i + hdr + 1]]));
                }
                i += hdr + len;
            }
        }
    })
    .await
    .expect("closed within the wait");
    assert_eq!(close, Some(close::IDLE_TIMEOUT));
}

#[tokio::test]
async fn shutting_down_tells_viewers_the_server_is_going_away() {
    let server = TestServer::start().await;
    let room = server.room().await;
    let mut c = server.connect(room, None, None).await;
    c.joined().await;
    let TestServer { handle, .. } = server;
    let stopping = tokio::spawn(handle.shutdown());
    let close = loop {
        match c.next_or_close().await {
            Ok(_) => {}
            Err(close) => break close,
        }
    };
    assert_eq!(close.map(|c| u16::from(c.code)), Some(close::GOING_AWAY));
    stopping.await.expect("join").expect("clean shutdown");
}

/// The viewer count counts people: a signed-in viewer once however many
/// sockets they open, anonymous sockets at most four per address.
#[tokio::test]
async fn the_viewer_count_counts_people_not_sockets() {
    let server = TestServer::start().await;
    let room = server.room().await;
    let base = server.snapshot(room).await.viewer_count;
    let ava = server.sign_in("ava").await;
    let mut sockets = Vec::new();
    for _ in 0..5 {
        let mut c = server.connect(room, Some(&ava.access_token), None).await;
        c.joined().await;
        sockets.push(c);
    }
    assert_eq!(
        server.snapshot(room).await.viewer_count,
        base + 1,
        "ava once"
    );
    for _ in 0..10 {
        let mut c = server.connect(room, None, None).await;
        c.joined().await;
        sockets.push(c);
    }
    assert_eq!(
        server.snapshot(room).await.viewer_count,
        base + 1 + 4,
        "ten anonymous sockets from one address count as four"
    );
    drop(sockets);
}
