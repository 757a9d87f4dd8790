//! Accepting connections on the open internet (`axum::serve` sets no
//! timeouts and no cap: 20,000 idle sockets took every file the process may
//! open, and the server stopped answering anyone — issue #16).
//!
//! - **Header-read and idle timeout**: a connection has
//!   `http.header_read_timeout_s` to send a request's headers, and the same
//!   to send the next request on a kept-alive connection (hyper starts the
//!   timer whenever it waits for a request head). Bodies have
//!   `http.body_timeout_s` (tower-http, in the router).
//! - **A connection cap** below the file limit (raised to its hard limit
//!   at start). When full, the oldest idle connection (no request in
//!   flight, not a WebSocket, not a stream) is closed to make room, so a
//!   flood of idle sockets cannot lock people out; with none idle, the new
//!   connection gets a fast 503 problem and is closed.
//! - WebSockets keep their own deadlines (heartbeats, idle close).

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, Response, StatusCode};
use axum::middleware::Next;
use futures_util::StreamExt;
use http_body_util::BodyExt;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use livecart_protocol::{ErrorCode, Problem};
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;
use tower_http::timeout::{TimeoutBody, TimeoutError};

/// Connection rules (`http.*` in the config).
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
}

/// One open connection, as the cap sees it.
struct Entry {
    /// Requests whose answer is still going out (a stream counts until its
    /// body ends).
    busy: Arc<AtomicUsize>,
    /// A WebSocket now: never closed to make room.
    upgraded: Arc<AtomicBool>,
    close: Arc<Notify>,
}

#[derive(Default)]
struct Conns {
    /// By id, which grows with the time of opening: oldest first.
    open: Mutex<BTreeMap<u64, Entry>>,
    next: AtomicU64,
}

impl Conns {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, Entry>> {
        self.open
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Closes the oldest idle connection (it leaves the count at once);
    /// false if none is idle.
    fn evict_one(&self) -> bool {
        let mut open = self.lock();
        let oldest = open.iter().find(|(_, e)| e.is_idle()).map(|(id, _)| *id);
        match oldest.and_then(|id| open.remove(&id)) {
            Some(e) => {
                e.close.notify_one();
                true
            }
            None => false,
        }
    }
}

impl Entry {
    fn is_idle(&self) -> bool {
        self.busy.load(Ordering::Relaxed) == 0 && !self.upgraded.load(Ordering::Relaxed)
    }
}

/// Gives back a request's place when its answer is done (body and all).
struct Busy(Arc<AtomicUsize>);
impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Binds the listening socket with a deep accept queue (4,096, as deep as
/// the kernel allows): in a burst of connects a shallow queue drops SYNs,
/// and a dropped SYN costs the person behind it a second.
pub fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(4_096)
}

/// Serves `router` on `listener` until `shutdown`, then lets the open
/// connections finish (WebSockets are closed by their own handlers).
/// `websockets` counts the upgraded connections (they leave hyper's hands
/// at the upgrade; their handlers keep the count) toward the cap.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
    websockets: Arc<AtomicUsize>,
) -> std::io::Result<()> {
    let conns = Arc::new(Conns::default());
    let mut last_warning: Option<Instant> = None;
    loop {
        let (stream, addr) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of files (or a connection that died in the queue):
                    // say so once a second, wait a moment, go on.
                    if last_warning.is_none_or(|t| t.elapsed() > Duration::from_secs(1)) {
                        tracing::warn!(error = %e, open = conns.lock().len(), "accept failed");
                        last_warning = Some(Instant::now());
                    }
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let open = conns.lock().len() + websockets.load(Ordering::Relaxed);
        if open >= limits.max_connections && !conns.evict_one() {
            tokio::spawn(refuse(stream));
            continue;
        }
        let id = conns.next.fetch_add(1, Ordering::Relaxed);
        let entry = Entry {
            busy: Arc::default(),
            upgraded: Arc::default(),
            close: Arc::default(),
        };
        let (busy, upgraded, close) = (
            entry.busy.clone(),
            entry.upgraded.clone(),
            entry.close.clone(),
        );
        conns.lock().insert(id, entry);
        let conns = conns.clone();
        let router = router.clone();
        let shutdown = shutdown.clone();
        let read_timeout = limits.header_read_timeout;
        tokio::spawn(async move {
            serve_one(
                stream,
                addr,
                router,
                (busy, upgraded, close),
                read_timeout,
                shutdown,
            )
            .await;
            conns.lock().remove(&id);
        });
    }
    // Stop accepting; wait (bounded) for the open connections to finish.
    let deadline = Instant::now() + Duration::from_secs(5);
    while !conns.lock().is_empty() && Instant::now() < deadline {
        for e in conns.lock().values() {
            e.close.notify_one();
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Ok(())
}

async fn serve_one(
    stream: TcpStream,
    addr: SocketAddr,
    router: Router,
    (busy, upgraded, close): (Arc<AtomicUsize>, Arc<AtomicBool>, Arc<Notify>),
    header_read_timeout: Duration,
    shutdown: CancellationToken,
) {
    let svc = router
        .map_request({
            let busy = busy.clone();
            move |mut req: Request<Incoming>| {
                // In flight from here until its answer's body is done.
                busy.fetch_add(1, Ordering::Relaxed);
                req.extensions_mut().insert(ConnectInfo(addr));
                req
            }
        })
        .map_response({
            let busy = busy.clone();
            let upgraded = upgraded.clone();
            move |res: Response<Body>| {
                if res.status() == StatusCode::SWITCHING_PROTOCOLS {
                    upgraded.store(true, Ordering::Relaxed);
                }
                let guard = Busy(busy.clone());
                res.map(move |body| {
                    Body::from_stream(body.into_data_stream().inspect(move |_| {
                        let _ = &guard;
                    }))
                })
            }
        });
    // HTTP/1.1 only: clients reach us over plain HTTP/1.1 or through a
    // TLS proxy, and hyper's HTTP/1 reader times the very first request's
    // head too (the auto builder waits untimed for a version preface).
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_read_timeout)
        .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc))
        .with_upgrades();
    tokio::pin!(conn);
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                tracing::trace!(error = %e, "connection ended");
            }
            return;
        }
        () = close.notified() => {
            // Made room for a newcomer: an idle connection just goes.
            if busy.load(Ordering::Relaxed) == 0 && !upgraded.load(Ordering::Relaxed) {
                return;
            }
        }
        () = shutdown.cancelled() => {}
    }
    conn.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
}

/// The fast "full" answer: once the request's head is in (a second at
/// most), a 503 problem, then the connection is closed. Answering before
/// the request, or closing with it unread, would lose the answer.
async fn refuse(mut stream: TcpStream) {
    let body = r#"{"type":"/problems/unavailable","title":"Not available yet","status":503,"detail":"the server has as many connections as it takes; try again in a moment","code":"unavailable","retry_after_ms":1000}"#;
    let head = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/problem+json\r\nretry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n",
        body.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        let mut seen = Vec::with_capacity(1024);
        let mut buf = [0u8; 4096];
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") && seen.len() < 16 * 1024 {
            match stream.read(&mut buf).await? {
                0 => return Ok(()),
                n => seen.extend_from_slice(&buf[..n]),
            }
        }
        stream.write_all(head.as_bytes()).await?;
        stream.write_all(body.as_bytes()).await?;
        stream.shutdown().await?;
        while stream.read(&mut buf).await? > 0 {}
        std::io::Result::Ok(())
    })
    .await;
}

/// A request body that stops arriving for `limit` is cut off with a 408
/// problem (tower-http's timeout body; axum's extractors would call its
/// error a bad request).
pub async fn body_deadline(limit: Duration, req: Request<Body>, next: Next) -> Response<Body> {
    let fired = Arc::new(AtomicBool::new(false));
    let flag = fired.clone();
    let req = req.map(|body| {
        Body::new(TimeoutBody::new(limit, body).map_err(move |e| {
            if e.is::<TimeoutError>() {
                flag.store(true, Ordering::Relaxed);
            }
            e
        }))
    });
    let res = next.run(req).await;
    if fired.load(Ordering::Relaxed) {
        return crate::error::problem_response(&Problem::new(
            408,
            ErrorCode::Timeout,
            "Request timeout",
            format!(
                "the request's body did not arrive within {} s",
                limit.as_secs()
            ),
        ));
    }
    res
}
