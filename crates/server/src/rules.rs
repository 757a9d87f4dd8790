//! What the server accepts from hosts and users, each rule with a clear
//! refusal (docs/security.md lists them all): text fields are trimmed, have
//! no control characters and a length cap; prices are above zero; stream
//! URLs use a streaming scheme and do not point into the server's own
//! network unless configured to; countries are real ISO 3166-1 codes.

use crate::error::{ApiError, ApiResult};
use livecart_protocol::Money;
use std::net::IpAddr;

/// Text caps, in characters.
pub const TITLE_CHARS: usize = 80;
pub const CATEGORY_CHARS: usize = 32;
pub const PRODUCT_NAME_CHARS: usize = 80;
pub const DESCRIPTION_CHARS: usize = 1_000;
pub const SKU_NAME_CHARS: usize = 40;
pub const ADDRESS_FIELD_CHARS: usize = 200;
/// Stream URLs per room, and one URL's length.
pub const STREAM_URLS: usize = 4;
pub const STREAM_URL_BYTES: usize = 2_048;
/// Per-user caps.
pub const ROOMS_PER_HOST: i64 = 20;
pub const ADDRESSES_PER_USER: i64 = 20;
pub const REPORTS_PER_USER_PER_DAY: i64 = 100;
/// SKUs a product may have.
pub const SKUS_PER_PRODUCT: usize = 20;

/// `value` trimmed, checked: not empty (when `required`), no control
/// characters, at most `max` characters.
pub fn text(field: &str, value: &str, max: usize, required: bool) -> ApiResult<String> {
    let v = value.trim();
    if required && v.is_empty() {
        return Err(ApiError::BadRequest(format!("{field} is required")));
    }
    if v.chars().any(char::is_control) {
        return Err(ApiError::BadRequest(format!(
            "{field} may not contain control characters"
        )));
    }
    let n = v.chars().count();
    if n > max {
        return Err(ApiError::BadRequest(format!(
            "{field} has {n} characters; the limit is {max}"
        )));
    }
    Ok(v.to_owned())
}

/// A price a buyer can pay: above zero.
pub fn price(field: &str, m: &Money) -> ApiResult<()> {
    if m.amount_minor <= 0 {
        return Err(ApiError::BadRequest(format!("{field} must be above zero")));
    }
    Ok(())
}

/// A two-letter ISO 3166-1 code that names a country, upper-cased.
pub fn country(code: &str) -> ApiResult<String> {
    let code = code.trim().to_ascii_uppercase();
    isocountry::CountryCode::for_alpha2(&code).map_err(|_| {
        ApiError::BadRequest(format!(
            "{code:?} is not an ISO 3166-1 country code (e.g. US, DE, CN)"
        ))
    })?;
    Ok(code)
}

/// A stream URL every viewer's player may open: http(s), rtmp(s), srt or
/// rtsp, to a host that is not this server's own network (loopback,
/// link-local, private, unspecified) unless `allow_private`. A host name is
/// taken as given (`localhost` excepted): resolving it here would not stop
/// a name that resolves elsewhere later.
pub fn stream_url(url: &str, allow_private: bool) -> ApiResult<()> {
    let bad = |why: &str| Err(ApiError::BadRequest(format!("stream URL {url:?}: {why}")));
    if url.len() > STREAM_URL_BYTES || url.chars().any(char::is_control) {
        return bad("too long, or has control characters");
    }
    let Some((scheme, rest)) = url.split_once("://") else {
        return bad("not a URL");
    };
    if !matches!(
        scheme.to_ascii_lowercase().as_str(),
        "http" | "https" | "rtmp" | "rtmps" | "srt" | "rtsp"
    ) {
        return bad("the scheme must be http(s), rtmp(s), srt or rtsp");
    }
    let host = host_of(rest);
    if host.is_empty() {
        return bad("no host");
    }
    if allow_private {
        return Ok(());
    }
    let local_name =
        host.eq_ignore_ascii_case("localhost") || host.to_ascii_lowercase().ends_with(".localhost");
    let in_network = host.parse::<IpAddr>().is_ok_and(inside);
    if local_name || in_network {
        return bad("it points into the server's own network");
    }
    Ok(())
}

/// The host of a URL's part after `scheme://` (no user, port or brackets).
fn host_of(rest: &str) -> &str {
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host_port = authority.rsplit('@').next().unwrap_or_default();
    if let Some(v6) = host_port.strip_prefix('[') {
        v6.split(']').next().unwrap_or_default()
    } else {
        host_port.split(':').next().unwrap_or_default()
    }
}

/// Whether an address is in the server's own network (loopback, private,
/// link-local, CGNAT, unspecified).
fn inside(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(ip) => {
            ip.is_loopback()
                || ip.is_private()
                || ip.is_link_local()
                || ip.is_unspecified()
                || ip.is_broadcast()
                || ip.octets()[0] == 100 && (ip.octets()[1] & 0xC0) == 64 // CGNAT 100.64/10
        }
        IpAddr::V6(ip) => {
            let s = ip.segments();
            // An IPv4 address carried inside an IPv6 one: IPv4-mapped
            // (::ffff:a.b.c.d), NAT64 (64:ff9b::a.b.c.d) and 6to4
            // (2002:aabb:ccdd::) all reach that IPv4 address.
            let carried = ip.to_ipv4_mapped().or_else(|| match s {
                [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] | [0x2002, hi, lo, ..] => Some(v4(hi, lo)),
                _ => None,
            });
            ip.is_loopback()
                || ip.is_unspecified()
                || (s[0] & 0xFE00) == 0xFC00 // unique local
                || (s[0] & 0xFFC0) == 0xFE80 // link-local
                || carried.is_some_and(|v4| inside(IpAddr::V4(v4)))
        }
    }
}

/// The IPv4 address in two 16-bit halves.
fn v4(hi: u16, lo: u16) -> std::net::Ipv4Addr {
    let [a, b] = hi.to_be_bytes();
    let [c, d] = lo.to_be_bytes();
    std::net::Ipv4Addr::new(a, b, c, d)
}

/// Before the media origin pulls a host's stream URL: the name it gives
/// must not resolve into the server's own network now (it may have been
/// pointed there after the room was made). Blocks on the lookup.
#[cfg_attr(not(feature = "gst"), allow(dead_code))]
pub fn resolves_outside(url: &str, allow_private: bool) -> anyhow::Result<()> {
    use std::net::ToSocketAddrs;
    if allow_private {
        return Ok(());
    }
    let rest = url.split_once("://").map_or(url, |(_, r)| r);
    let host = host_of(rest);
    // The port only matters to the lookup's form.
    let found = (host, 0u16).to_socket_addrs()?;
    for addr in found {
        if inside(addr.ip()) {
            anyhow::bail!("the stream's host {host} resolves into the server's own network");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use livecart_protocol::Currency;

    #[test]
    fn ipv4_inside_ipv6_is_inside_too() {
        for ip in [
            "::ffff:10.0.0.5",
            "::ffff:100.64.0.1",
            "64:ff9b::a9fe:a9fe", // NAT64 of 169.254.169.254
            "64:ff9b::7f00:1",    // NAT64 of 127.0.0.1
            "2002:c0a8:0101::1",  // 6to4 of 192.168.1.1
        ] {
            assert!(inside(ip.parse().expect(ip)), "{ip}");
        }
        for ip in ["64:ff9b::808:808", "2002:0808:0808::1", "2606:4700::1111"] {
            assert!(!inside(ip.parse().expect(ip)), "{ip}");
        }
    }

    #[test]
    fn the_origin_will_not_pull_a_name_that_resolves_inside() {
        for url in [
            "rtmp://localhost/live/key",
            "rtmp://127.0.0.1:1935/live/key",
            "srt://[::1]:9000",
        ] {
            let e = resolves_outside(url, false).expect_err(url);
            assert!(e.to_string().contains("own network"), "{url}: {e}");
            resolves_outside(url, true).expect("allowed when configured");
        }
    }

    #[test]
    fn stream_urls_use_streaming_schemes_and_stay_outside_unless_allowed() {
        for ok in [
            "rtmp://live.example.com/app/key",
            "https://cdn.example.com/live/1.flv",
            "srt://203.0.113.7:9000",
            "rtsp://[2001:db8::1]:554/cam",
        ] {
            assert!(stream_url(ok, false).is_ok(), "{ok}");
        }
        for bad in [
            "file:///etc/passwd",
            "javascript:alert(1)",
            "http://127.0.0.1:8787/live/x.flv",
            "http://localhost/x",
            "rtmp://10.0.0.5/live",
            "http://192.168.1.1/",
            "http://169.254.169.254/latest/meta-data",
            "http://[::1]/x",
            "http://[fe80::1]/x",
            "http://user@100.64.0.1/x",
            "http://0.0.0.0/",
            "rtmp://",
            "not a url",
        ] {
            assert!(stream_url(bad, false).is_err(), "{bad}");
        }
        assert!(stream_url("rtmp://127.0.0.1/live/studio", true).is_ok());
        assert!(
            stream_url("file:///x", true).is_err(),
            "the scheme still counts"
        );
    }

    #[test]
    fn text_prices_and_countries() {
        assert_eq!(text("title", "  Knits  ", 80, true).expect("ok"), "Knits");
        assert!(text("title", "", 80, true).is_err());
        assert!(text("title", "a\u{0007}b", 80, true).is_err());
        assert!(text("title", &"x".repeat(81), 80, true).is_err());
        assert!(text("line2", "", 80, false).is_ok());
        assert!(price("price", &Money::new(0, Currency::USD)).is_err());
        assert!(price("price", &Money::new(1, Currency::USD)).is_ok());
        assert_eq!(country("de").expect("DE"), "DE");
        assert!(country("XX").is_err());
        assert!(country("USA").is_err());
    }
}
