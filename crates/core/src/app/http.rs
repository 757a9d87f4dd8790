//! HTTP as the core sees it: the table of requests in flight, the
//! refresh-and-retry-once rule for signed-in calls, and typed answers.
//!
//! A request names where its answer goes when it is made: a [`Call`], or a
//! [`Then`] for a signed-in call. That continuation fixes the answer's type
//! (`Then::Wallet` answers a `Wallet`, `Then::Paid` an `Order`):
//! [`Then::reply`] (app/answer.rs) decodes the body once into a `Reply`
//! whose variant carries the typed result. A 2xx body that does not decode is an
//! [`HttpFailure::Unreadable`], which each continuation's failure path shows
//! (or, where the server did act — a payment, a gift — treats as done and
//! reloads what it changed): never a silent drop.
//!
//! Signed-in calls: a token about to expire is refreshed first (requests
//! wait in `waiting`); a 401 is refreshed once and the request sent again,
//! once (`retried`); a refresh refused ends the session.

use super::App;
use super::answer::{HttpFailure, Then, decode};
use crate::effects::{Effect, HttpRequest, Method, RequestId};
use jiff::Timestamp;
use livecart_protocol::ErrorCode;
use livecart_protocol::rest::RefreshRequest;

/// What an HTTP request was for, to route its answer.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Call {
    Feed,
    /// `GET /v1/gifts` (public).
    Catalog,
    SignIn,
    Refresh,
    /// `DELETE /v1/session`: the server ends the chain (its answer changes
    /// nothing here: the app has forgotten the session already).
    SignOut,
    /// An authenticated call to retry once after a refresh.
    Authed {
        request: HttpRequest,
        retried: bool,
        then: Then,
    },
}

impl App {
    pub(super) fn request(
        &mut self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
    ) -> HttpRequest {
        HttpRequest {
            id: self.id(),
            method,
            path: path.to_owned(),
            body,
            access_token: None,
            idempotency_key: None,
        }
    }

    pub(super) fn http(
        &mut self,
        call: Call,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        token: Option<String>,
    ) -> Effect {
        let request = HttpRequest {
            access_token: token,
            ..self.request(method, path, body)
        };
        self.calls.insert(request.id, call);
        Effect::Http(request)
    }

    /// Sends `request` as the signed-in user, remembering it for one retry.
    pub(super) fn send_authed(
        &mut self,
        request: HttpRequest,
        token: String,
        retried: bool,
        then: Then,
    ) -> Effect {
        let sent = HttpRequest {
            access_token: Some(token),
            ..request.clone()
        };
        self.calls.insert(
            request.id,
            Call::Authed {
                request,
                retried,
                then,
            },
        );
        Effect::Http(sent)
    }

    /// Routes an answer: a 401 to a signed-in call refreshes and sends it
    /// again once; everything else is decoded for its continuation.
    pub(super) fn http_done(
        &mut self,
        id: RequestId,
        result: Result<serde_json::Value, HttpFailure>,
        now: Timestamp,
    ) -> Vec<Effect> {
        let Some(call) = self.calls.remove(&id) else {
            return Vec::new();
        };
        match call {
            Call::Feed => self.feed_answer(decode(result, "the feed"), now),
            Call::Catalog => {
                let cmds = self.shop.catalog_loaded(decode(result, "the gifts"));
                self.run(cmds, now)
            }
            Call::SignIn | Call::Refresh => {
                self.session_answer(call == Call::SignIn, decode(result, "the session"), now)
            }
            Call::SignOut => Vec::new(),
            Call::Authed {
                request,
                retried,
                then,
            } => {
                let refused = matches!(
                    &result,
                    Err(HttpFailure::Status { status: 401, problem })
                        if problem.as_ref().is_none_or(|p| p.code != ErrorCode::TokenReused)
                );
                if refused && !retried {
                    // Expired, or signed by a server that restarted with a
                    // new key: one refresh, then this request is sent again,
                    // once.
                    self.waiting.push((request, then));
                    return self.start_refresh();
                }
                self.answered(then.reply(result), now)
            }
        }
    }

    /// Sends an authenticated request, refreshing the token first if needed.
    pub fn authed(
        &mut self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        now: Timestamp,
    ) -> Vec<Effect> {
        self.authed_then(method, path, body, now, Then::Nothing)
    }

    pub(super) fn authed_then(
        &mut self,
        method: Method,
        path: &str,
        body: Option<serde_json::Value>,
        now: Timestamp,
        then: Then,
    ) -> Vec<Effect> {
        let request = self.request(method, path, body);
        self.send_as_user(request, now, then)
    }

    /// Sends `request` as the signed-in user: after a refresh if the token
    /// is about to expire.
    pub(super) fn send_as_user(
        &mut self,
        request: HttpRequest,
        now: Timestamp,
        then: Then,
    ) -> Vec<Effect> {
        if self.session.needs_refresh(now) {
            self.waiting.push((request, then));
            return self.start_refresh();
        }
        let Some(token) = self.session.access_token(now).map(str::to_owned) else {
            self.message = Some("Sign in to continue".into());
            return Vec::new();
        };
        vec![self.send_authed(request, token, false, then)]
    }

    pub(super) fn start_refresh(&mut self) -> Vec<Effect> {
        if self.refreshing {
            return Vec::new();
        }
        let Some(token) = self.session.refresh_token().map(str::to_owned) else {
            return self.signed_out("Sign in to continue");
        };
        self.refreshing = true;
        let body = serde_json::to_value(RefreshRequest {
            refresh_token: token,
        })
        .ok();
        vec![self.http(
            Call::Refresh,
            Method::Post,
            "/v1/session/refresh",
            body,
            None,
        )]
    }

    /// Whether a signed-in call with this continuation is in flight or
    /// waiting for a refresh.
    pub(super) fn asked(&self, then: &Then) -> bool {
        self.calls
            .values()
            .any(|c| matches!(c, Call::Authed { then: t, .. } if t == then))
            || self.waiting.iter().any(|(_, t)| t == then)
    }
}
