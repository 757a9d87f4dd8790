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
//!
//! [`Requests`] is the table and those rules as data: it answers with what
//! to do ([`Answered`]); the app does it (app.rs: `http_done`,
//! `send_as_user`, `start_refresh`, which know the session). A leaf: it
//! never names the app.

use super::answer::{HttpFailure, Reply, Then};
use crate::effects::{Effect, HttpRequest, Method, RequestId};
use livecart_protocol::ErrorCode;
use std::collections::HashMap;

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

/// What an answer comes to, once the table has looked at it.
#[derive(Debug)]
#[allow(clippy::large_enum_variant)] // made and matched once per answer, never stored
pub(super) enum Answered {
    /// Not a request in flight (an answer after a sign-out).
    Nothing,
    /// A public call's answer, for its [`Call`].
    Call(Call, Result<serde_json::Value, HttpFailure>),
    /// A signed-in call's answer, typed for its continuation.
    Reply(Reply),
    /// A signed-in call was refused (401): it waits for a refresh and goes
    /// again, once.
    Refresh,
}

/// The requests in flight, and the signed-in ones waiting for a token.
#[derive(Debug, Default)]
pub(super) struct Requests {
    /// Request and timer ids, one counter.
    next_id: u64,
    calls: HashMap<RequestId, Call>,
    /// Signed-in requests waiting for a refresh to finish.
    waiting: Vec<(HttpRequest, Then)>,
    /// A refresh is in flight.
    pub refreshing: bool,
}

impl Requests {
    /// A fresh id (requests and timers).
    pub fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    pub fn request(
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

    /// A request whose answer goes to `call`.
    pub fn http(
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
    pub fn send_authed(
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

    /// Keeps a signed-in request until a fresh token is here.
    pub fn wait(&mut self, request: HttpRequest, then: Then) {
        self.waiting.push((request, then));
    }

    /// The requests that waited for the token (a refresh answered).
    pub fn take_waiting(&mut self) -> Vec<(HttpRequest, Then)> {
        std::mem::take(&mut self.waiting)
    }

    /// Signed out: nothing waits for a token any more.
    pub fn forget_waiting(&mut self) {
        self.waiting.clear();
    }

    /// Routes an answer: a 401 to a signed-in call waits for a refresh and
    /// goes again once; everything else is decoded for its continuation.
    pub fn answer(
        &mut self,
        id: RequestId,
        result: Result<serde_json::Value, HttpFailure>,
    ) -> Answered {
        let Some(call) = self.calls.remove(&id) else {
            return Answered::Nothing;
        };
        let Call::Authed {
            request,
            retried,
            then,
        } = call
        else {
            return Answered::Call(call, result);
        };
        let refused = matches!(
            &result,
            Err(HttpFailure::Status { status: 401, problem })
                if problem.as_ref().is_none_or(|p| p.code != ErrorCode::TokenReused)
        );
        if refused && !retried {
            // Expired, or signed by a server that restarted with a new key:
            // one refresh, then this request is sent again, once.
            self.waiting.push((request, then));
            return Answered::Refresh;
        }
        Answered::Reply(then.reply(result))
    }

    /// Whether a signed-in call with this continuation is in flight or
    /// waiting for a refresh.
    pub fn asked(&self, then: &Then) -> bool {
        self.calls
            .values()
            .any(|c| matches!(c, Call::Authed { then: t, .. } if t == then))
            || self.waiting.iter().any(|(_, t)| t == then)
    }
}
