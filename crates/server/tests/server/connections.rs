//! Connection hygiene (issue #16): sockets that say nothing, say it slowly
//! or hold their place forever cannot take the server from everyone else.
//! Each of these failed on `axum::serve` (no timeouts, no cap).

use crate::support::{TestServer, WAIT, problem};
use livecart_protocol::ErrorCode;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Reads until the server closes the connection (or `WAIT` runs out);
/// returns what it sent.
async fn until_closed(tcp: &mut TcpStream) -> Result<Vec<u8>, &'static str> {
    let mut got = Vec::new();
    tokio::time::timeout(WAIT, async {
        let mut buf = [0u8; 4096];
        loop {
            match tcp.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => got.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await
    .map_err(|_| "the server kept the connection open")?;
    Ok(got)
}

fn quick(c: &mut livecart_server::ServerConfig) {
    c.http.header_read_timeout_s = 1;
    c.http.body_timeout_s = 1;
}

#[tokio::test]
async fn a_connection_that_sends_nothing_is_closed() {
    let s = TestServer::start_with(quick).await;
    let mut tcp = TcpStream::connect(s.handle.addr).await.expect("connect");
    until_closed(&mut tcp).await.expect("closed");
}

#[tokio::test]
async fn headers_sent_a_byte_at_a_time_are_cut_off() {
    let s = TestServer::start_with(quick).await;
    let mut tcp = TcpStream::connect(s.handle.addr).await.expect("connect");
    // A slowloris: a valid head that never ends, one byte every 100 ms,
    // until the server hangs up.
    let head = b"GET /v1/feed HTTP/1.1\r\nhost: x\r\n"
        .iter()
        .chain(b"x-pad: ".iter());
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut sent = 0;
    let start = std::time::Instant::now();
    for &b in head.chain(std::iter::repeat(&b'a')) {
        tick.tick().await;
        if tcp.write_all(&[b]).await.is_err() {
            break;
        }
        sent += 1;
        assert!(
            start.elapsed() < WAIT,
            "still reading headers after {sent} bytes"
        );
        let mut probe = [0u8; 1];
        if let Ok(0) = tcp.try_read(&mut probe) {
            break;
        }
    }
    let got = until_closed(&mut tcp).await.expect("closed");
    assert!(
        got.is_empty() || got.starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&got)
    );
}

#[tokio::test]
async fn an_idle_kept_alive_connection_is_closed() {
    let s = TestServer::start_with(quick).await;
    let mut tcp = TcpStream::connect(s.handle.addr).await.expect("connect");
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .expect("send");
    let got = until_closed(&mut tcp)
        .await
        .expect("closed after the answer");
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
}

#[tokio::test]
async fn a_body_that_never_arrives_gets_a_timeout_problem() {
    let s = TestServer::start_with(quick).await;
    let mut tcp = TcpStream::connect(s.handle.addr).await.expect("connect");
    tcp.write_all(
        b"POST /v1/session HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"user",
    )
    .await
    .expect("send");
    let got = until_closed(&mut tcp).await.expect("closed");
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("application/problem+json"), "{text}");
    assert!(text.contains(r#""code":"timeout""#), "{text}");
    assert!(text.to_lowercase().contains("connection: close"), "{text}");
}

#[tokio::test]
async fn idle_sockets_beyond_the_cap_make_room_for_people() {
    const CAP: usize = 20;
    let s = TestServer::start_with(|c| c.http.max_connections = CAP).await;
    // Three times the cap in idle sockets (each sends nothing)...
    let mut idle = Vec::new();
    for _ in 0..CAP * 3 {
        idle.push(TcpStream::connect(s.handle.addr).await.expect("connect"));
    }
    // ...and a person still gets the feed.
    let res = s.http.get(s.url("/v1/feed")).send().await.expect("feed");
    assert_eq!(res.status(), 200);
    // The oldest were closed to make room; the server never held more than
    // the cap (the newest are still open).
    let mut closed = 0;
    for tcp in &mut idle[..CAP * 2] {
        until_closed(tcp)
            .await
            .expect("an old idle socket is closed");
        closed += 1;
    }
    assert_eq!(closed, CAP * 2);
    let newest = idle.last_mut().expect("newest");
    let mut probe = [0u8; 1];
    assert!(
        matches!(newest.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the newest idle socket is still open"
    );
}

#[tokio::test]
async fn a_full_server_refuses_fast_and_recovers() {
    let s = TestServer::start_with(|c| c.http.max_connections = 2).await;
    let room = s.room().await;
    // Two live viewers fill it: WebSockets are never closed to make room.
    let mut a = s.connect(room, None, None).await;
    a.joined().await;
    let mut b = s.connect(room, None, None).await;
    b.joined().await;
    let started = std::time::Instant::now();
    let res = reqwest::Client::new()
        .get(s.url("/v1/feed"))
        .send()
        .await
        .expect("an answer, not a hang");
    assert_eq!(res.status(), 503);
    assert!(started.elapsed() < WAIT);
    assert_eq!(res.headers()["retry-after"], "1");
    assert_eq!(res.headers()["connection"], "close");
    let p = problem(res).await;
    assert_eq!(p.code, ErrorCode::Unavailable);
    assert!(p.detail.contains("try again"), "{}", p.detail);
    // One viewer leaves: the next request is answered.
    drop(b);
    let deadline = std::time::Instant::now() + WAIT;
    loop {
        let res = reqwest::Client::new()
            .get(s.url("/v1/feed"))
            .send()
            .await
            .expect("feed");
        if res.status() == 200 {
            break;
        }
        assert_eq!(res.status(), 503);
        assert!(std::time::Instant::now() < deadline, "never recovered");
        tokio::task::yield_now().await;
    }
}
