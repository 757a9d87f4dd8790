//! A browser's session (#18): the refresh token only in an `HttpOnly;
//! SameSite=Strict` cookie scoped to `/v1/session` (`Secure` off loopback),
//! the access token only in the body; refresh from the cookie, a new cookie
//! each time; sign-out clears it. The keyring apps' form is unchanged.

use crate::support::{TestServer, problem};
use livecart_protocol::rest::{SessionResponse, SignInRequest};
use reqwest::header::{COOKIE, HOST, SET_COOKIE};

const MODE: (&str, &str) = ("x-livecart-session", "cookie");

/// The `livecart_refresh` cookie a response sets: its value and attributes.
fn set_cookie(res: &reqwest::Response) -> (String, String) {
    let all: Vec<&str> = res
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect();
    assert_eq!(all.len(), 1, "one cookie: {all:?}");
    let (pair, attrs) = all[0].split_once(';').unwrap_or((all[0], ""));
    let value = pair
        .strip_prefix("livecart_refresh=")
        .unwrap_or_else(|| panic!("the refresh cookie: {}", all[0]));
    (value.to_owned(), attrs.to_owned())
}

/// A page's refresh in the cookie form, sending `cookies` (if any).
async fn refresh(server: &TestServer, cookies: Option<String>) -> reqwest::Response {
    let mut req = server
        .http
        .post(server.url("/v1/session/refresh"))
        .header(MODE.0, MODE.1);
    if let Some(c) = cookies {
        req = req.header(COOKIE, c);
    }
    req.send().await.expect("refresh")
}

#[tokio::test]
async fn a_browser_keeps_its_refresh_token_only_in_an_http_only_cookie() {
    let server = TestServer::start().await;
    let http = &server.http;
    let sign_in = SignInRequest {
        username: "ava".into(),
        password: "livecart".into(),
    };
    let res = http
        .post(server.url("/v1/session"))
        .header(MODE.0, MODE.1)
        .json(&sign_in)
        .send()
        .await
        .expect("sign in");
    assert_eq!(res.status(), 200);
    let (token, attrs) = set_cookie(&res);
    assert!(!token.is_empty());
    for want in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/v1/session",
        "Max-Age=",
    ] {
        assert!(attrs.contains(want), "{want} in {attrs}");
    }
    assert!(!attrs.contains("Secure"), "loopback is exempt: {attrs}");
    let session: SessionResponse = res.json().await.expect("json");
    assert_eq!(
        session.refresh_token, "",
        "page script never sees the refresh token"
    );
    assert!(!session.access_token.is_empty());
    let me = http
        .get(server.url("/v1/me"))
        .bearer_auth(&session.access_token)
        .send()
        .await
        .expect("me");
    assert_eq!(me.status(), 200, "the access token works");

    // A reload: the page has nothing but the cookie, and signs in silently.
    let res = refresh(&server, Some(format!("livecart_refresh={token}"))).await;
    assert_eq!(res.status(), 200);
    let (next, _) = set_cookie(&res);
    assert_ne!(next, token, "each refresh sets the next token");
    let refreshed: SessionResponse = res.json().await.expect("json");
    assert_eq!(refreshed.refresh_token, "");
    assert_eq!(refreshed.user.username, "ava");
    let res = refresh(&server, Some(format!("other=1; livecart_refresh={next}"))).await;
    assert_eq!(res.status(), 200, "the new cookie works in turn");
    let (latest, _) = set_cookie(&res);
    let latest_session: SessionResponse = res.json().await.expect("json");

    // No cookie (a private window, a cleared site): told to sign in.
    let res = refresh(&server, None).await;
    assert_eq!(res.status(), 401);
    assert!(problem(res).await.detail.contains("sign in again"));

    // Sign-out clears the cookie and ends the chain.
    let res = http
        .delete(server.url("/v1/session"))
        .bearer_auth(&latest_session.access_token)
        .header(MODE.0, MODE.1)
        .send()
        .await
        .expect("sign out");
    assert_eq!(res.status(), 204);
    let (cleared, attrs) = set_cookie(&res);
    assert_eq!(cleared, "");
    assert!(attrs.contains("Max-Age=0"), "{attrs}");
    let res = refresh(&server, Some(format!("livecart_refresh={latest}"))).await;
    assert_eq!(res.status(), 401, "a signed-out chain's cookie is dead");
}

#[tokio::test]
async fn off_loopback_the_cookie_is_secure_and_apps_keep_the_body_form() {
    let server = TestServer::start().await;
    // The server reached by its public name (behind a TLS proxy).
    let res = server
        .http
        .post(server.url("/v1/session"))
        .header(MODE.0, MODE.1)
        .header(HOST, "shop.example")
        .json(&SignInRequest {
            username: "ben".into(),
            password: "livecart".into(),
        })
        .send()
        .await
        .expect("sign in");
    assert_eq!(res.status(), 200);
    let (_, attrs) = set_cookie(&res);
    assert!(attrs.contains("Secure"), "{attrs}");
    // The keyring apps: both tokens in the body, no cookie.
    let res = server
        .http
        .post(server.url("/v1/session"))
        .json(&SignInRequest {
            username: "ben".into(),
            password: "livecart".into(),
        })
        .send()
        .await
        .expect("sign in");
    assert!(res.headers().get(SET_COOKIE).is_none());
    let session: SessionResponse = res.json().await.expect("json");
    assert!(!session.refresh_token.is_empty());
}

/// A browser cannot set an upgrade's `Authorization`: its access token rides
/// the subprotocol pair `livecart.bearer, <token>`, and the server answers
/// with the protocol's name only. A forged token is refused at the upgrade.
#[tokio::test]
async fn the_users_socket_takes_the_token_as_a_subprotocol() {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let server = TestServer::start().await;
    let session = server.sign_in("ava").await;
    let url = server.handle.ws_url(&format!(
        "/v1/me/live?v={}",
        livecart_protocol::PROTOCOL_VERSION
    ));
    let offer = |token: &str| {
        let mut req = url.as_str().into_client_request().expect("request");
        req.headers_mut().insert(
            "sec-websocket-protocol",
            format!("livecart.bearer, {token}").parse().expect("header"),
        );
        req
    };
    let (_ws, res) = tokio_tungstenite::connect_async(offer(&session.access_token))
        .await
        .expect("the socket opens");
    assert_eq!(
        res.headers()
            .get("sec-websocket-protocol")
            .and_then(|v| v.to_str().ok()),
        Some("livecart.bearer"),
        "the answer names the protocol, never the token"
    );
    let refused = tokio_tungstenite::connect_async(offer("forged")).await;
    let Err(tokio_tungstenite::tungstenite::Error::Http(res)) = refused else {
        panic!("refused at the upgrade")
    };
    assert_eq!(res.status(), 401);
}
