//! HTTP as the core sees it: the table of requests in flight, the
//! refresh-and-retry-once rule for signed-in calls, and typed answers.
//!
//! A request names where its answer goes when it is made: a [`Call`], or a
//! [`Then`] for a signed-in call. That continuation fixes the answer's type
//! (`Then::Wallet` answers a [`Wallet`], `Then::Paid` an [`Order`]):
//! [`Then::reply`] decodes the body once, here, into a [`Reply`] whose
//! variant carries the typed result. A 2xx body that does not decode is an
//! [`HttpFailure::Unreadable`], which each continuation's failure path shows
//! (or, where the server did act — a payment, a gift — treats as done and
//! reloads what it changed): never a silent drop.
//!
//! Signed-in calls: a token about to expire is refreshed first (requests
//! wait in `waiting`); a 401 is refreshed once and the request sent again,
//! once (`retried`); a refresh refused ends the session.

use super::{App, HttpFailure};
use crate::effects::{Effect, HttpRequest, Method, RequestId};
use jiff::Timestamp;
use livecart_protocol::commerce::{AddressList, GiftReceipt, Order, TopUp, Wallet, WalletHistory};
use livecart_protocol::rest::{FollowingResponse, RefreshRequest};
use livecart_protocol::{ErrorCode, OrderId, UserId};
use serde::de::DeserializeOwned;

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

/// What to do with an authenticated call's answer; each fixes the type
/// its answer decodes to (see [`Then::reply`]).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Then {
    Nothing,
    /// `GET /v1/me/following`: the hosts this user follows.
    Following,
    /// A follow or unfollow; undone on failure.
    Followed {
        host: UserId,
        following: bool,
    },
    Reported,
    /// `GET /v1/wallet`.
    Wallet,
    /// `GET /v1/me/addresses`.
    Addresses,
    /// `GET /v1/wallet/entries`.
    History,
    /// `POST /v1/orders` for the payment with this idempotency key.
    Paid {
        key: String,
    },
    /// `POST /v1/rooms/{id}/gifts` for the tap with this key.
    Gift {
        key: String,
    },
    /// `POST /v1/wallet/top-ups`: for a payment's "top up and pay", or the
    /// wallet screen's.
    TopUp {
        for_payment: bool,
    },
    /// `GET /v1/wallet/top-ups/{id}` while the provider confirms.
    TopUpStatus,
    /// A cancel or refund request for this order.
    OrderChanged {
        order: OrderId,
    },
}

/// A signed-in call's answer, decoded into the type its [`Then`] expects.
#[derive(Debug)]
pub(super) enum Reply {
    Nothing,
    Following(Result<FollowingResponse, HttpFailure>),
    Followed {
        host: UserId,
        following: bool,
        result: Result<(), HttpFailure>,
    },
    Reported(Result<(), HttpFailure>),
    Wallet(Result<Wallet, HttpFailure>),
    Addresses(Result<AddressList, HttpFailure>),
    History(Result<WalletHistory, HttpFailure>),
    Paid {
        key: String,
        result: Result<Order, HttpFailure>,
    },
    Gift {
        key: String,
        result: Result<GiftReceipt, HttpFailure>,
    },
    TopUp {
        for_payment: bool,
        result: Result<TopUp, HttpFailure>,
    },
    TopUpStatus(Result<TopUp, HttpFailure>),
    OrderChanged {
        order: OrderId,
        result: Result<Order, HttpFailure>,
    },
}

/// The body as a `T`; a body that is not one is `Unreadable`, naming `what`.
#[allow(clippy::result_large_err)] // the shell's HttpFailure, moved once per answer
pub(super) fn decode<T: DeserializeOwned>(
    result: Result<serde_json::Value, HttpFailure>,
    what: &str,
) -> Result<T, HttpFailure> {
    serde_json::from_value(result?).map_err(|e| HttpFailure::Unreadable(format!("{what}: {e}")))
}

impl Then {
    /// The answer to this call, typed: the one place an answer's body
    /// becomes a value.
    pub(super) fn reply(self, result: Result<serde_json::Value, HttpFailure>) -> Reply {
        match self {
            Then::Nothing => Reply::Nothing,
            Then::Following => Reply::Following(decode(result, "the hosts you follow")),
            Then::Followed { host, following } => Reply::Followed {
                host,
                following,
                result: result.map(drop),
            },
            Then::Reported => Reply::Reported(result.map(drop)),
            Then::Wallet => Reply::Wallet(decode(result, "the wallet")),
            Then::Addresses => Reply::Addresses(decode(result, "the addresses")),
            Then::History => Reply::History(decode(result, "the wallet history")),
            Then::Paid { key } => Reply::Paid {
                key,
                result: decode(result, "the order"),
            },
            Then::Gift { key } => Reply::Gift {
                key,
                result: decode(result, "the gift receipt"),
            },
            Then::TopUp { for_payment } => Reply::TopUp {
                for_payment,
                result: decode(result, "the top-up"),
            },
            Then::TopUpStatus => Reply::TopUpStatus(decode(result, "the top-up")),
            Then::OrderChanged { order } => Reply::OrderChanged {
                order,
                result: decode(result, "the order"),
            },
        }
    }
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
                self.catalog_loaded(decode(result, "the gifts"));
                Vec::new()
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
