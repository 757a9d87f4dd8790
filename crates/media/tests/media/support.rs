//! A minimal HTTP-FLV server on 127.0.0.1 over an [`FlvHub`], and a publisher
//! feeding it — what the livecart server does, without the server.

use livecart_media::{FlvHub, Publisher, PublisherConfig};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

pub struct Stream {
    pub hub: Arc<FlvHub>,
    pub addr: SocketAddr,
    pub publisher: Option<Publisher>,
}

impl Stream {
    pub fn url(&self) -> String {
        format!("http://{}/live/test.flv", self.addr)
    }

    /// Starts (or restarts) the publisher and waits until the stream is decodable.
    pub async fn publish(&mut self, pattern: &str) {
        self.publisher = None;
        self.hub.reset();
        let hub = self.hub.clone();
        let config = PublisherConfig {
            pattern: pattern.into(),
            caption: format!("test · {pattern}"),
            ..PublisherConfig::default()
        };
        self.publisher = Some(
            Publisher::start(&config, move |b| hub.push(b).expect("publisher writes FLV"))
                .expect("publisher starts"),
        );
        tokio::time::timeout(std::time::Duration::from_secs(10), self.hub.wait_ready())
            .await
            .expect("stream ready within 10 s");
    }

    /// Stops publishing: viewers' connections end.
    #[allow(dead_code)] // the benchmark shares this module and never stops
    pub fn unpublish(&mut self) {
        self.publisher = None;
        self.hub.reset();
    }
}

/// Serves the hub at any path ending in `.flv`; 404 otherwise.
pub async fn serve() -> Stream {
    let hub = Arc::new(FlvHub::new(512));
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let served = hub.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut tcp, _)) = listener.accept().await else {
                return;
            };
            let hub = served.clone();
            tokio::spawn(async move {
                let mut req = Vec::new();
                let mut buf = [0u8; 1024];
                while !req.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tcp.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => req.extend_from_slice(&buf[..n]),
                    }
                }
                let line = String::from_utf8_lossy(&req);
                let path = line.split_whitespace().nth(1).unwrap_or("");
                let sub = if path.to_ascii_lowercase().ends_with(".flv") {
                    hub.subscribe()
                } else {
                    None
                };
                let Some((start, mut rx)) = sub else {
                    let _ = tcp.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").await;
                    return;
                };
                let head = b"HTTP/1.1 200 OK\r\nContent-Type: video/x-flv\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n";
                if tcp.write_all(head).await.is_err() || tcp.write_all(&start).await.is_err() {
                    return;
                }
                while let Ok(tag) = rx.recv().await {
                    if tcp.write_all(&tag).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Stream {
        hub,
        addr,
        publisher: None,
    }
}
