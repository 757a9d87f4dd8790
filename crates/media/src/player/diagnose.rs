//! Turning a vague pipeline failure into words a viewer can act on. Some
//! sources (souphttpsrc in GStreamer 1.22) report a refused connection or an
//! HTTP 404 only as "internal data stream error"; when that happens we ask the
//! server ourselves, briefly and with timeouts.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(2);

struct Parts<'a> {
    scheme: &'a str,
    host: &'a str,
    port: u16,
    path: &'a str,
}

fn parse(uri: &str) -> Option<Parts<'_>> {
    let (scheme, rest) = uri.split_once("://")?;
    let (authority, path) = rest
        .find('/')
        .map_or((rest, "/"), |i| (&rest[..i], &rest[i..]));
    let default = match scheme {
        "http" => 80,
        "https" => 443,
        "rtmp" => 1935,
        "rtsp" => 554,
        _ => return None,
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (h, p.parse().ok()?),
        _ => (authority, default),
    };
    Some(Parts {
        scheme,
        host: host.trim_matches(['[', ']']),
        port,
        path,
    })
}

/// A better explanation of why `uri` failed, if one can be found.
pub fn explain(uri: &str) -> Option<String> {
    let p = parse(uri)?;
    let addr = (p.host, p.port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next());
    let Some(addr) = addr else {
        return Some(format!("unknown host {} in {uri}", p.host));
    };
    let mut tcp = match TcpStream::connect_timeout(&addr, TIMEOUT) {
        Ok(t) => t,
        Err(e) => {
            return Some(format!(
                "cannot connect to the stream's server ({}:{}): {e}",
                p.host, p.port
            ));
        }
    };
    if p.scheme != "http" {
        return None;
    }
    tcp.set_read_timeout(Some(TIMEOUT)).ok()?;
    tcp.set_write_timeout(Some(TIMEOUT)).ok()?;
    write!(
        tcp,
        "GET {} HTTP/1.0\r\nHost: {}\r\nUser-Agent: livecart\r\n\r\n",
        p.path, p.host
    )
    .ok()?;
    let mut head = [0u8; 64];
    let n = tcp.read(&mut head).ok()?;
    let line = String::from_utf8_lossy(&head[..n]);
    let status: u16 = line.split_whitespace().nth(1)?.parse().ok()?;
    match status {
        404 | 410 => Some(format!("the stream was not found (HTTP {status}): {uri}")),
        s if s >= 400 => Some(format!("the server refused the stream (HTTP {s}): {uri}")),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_ports_and_paths() {
        let p = parse("http://127.0.0.1:8080/live/a.flv?x=1").expect("parses");
        assert_eq!(
            (p.scheme, p.host, p.port, p.path),
            ("http", "127.0.0.1", 8080, "/live/a.flv?x=1")
        );
        let p = parse("rtmp://example.com/live/key").expect("parses");
        assert_eq!((p.host, p.port), ("example.com", 1935));
        assert!(parse("file:///tmp/x.flv").is_none());
    }

    #[test]
    fn a_closed_port_is_explained() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        drop(listener);
        let why = explain(&format!("http://127.0.0.1:{port}/x.flv")).expect("explained");
        assert!(why.contains("cannot connect"), "{why}");
    }
}
