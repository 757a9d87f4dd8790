//! What a request's answer becomes: [`HttpFailure`] when there is none
//! to use, the continuation a signed-in request names when it is made
//! ([`Then`], which fixes the answer's type) and the typed answer itself
//! ([`Reply`]). The one place a body becomes a value ([`Then::reply`]).
//! A leaf: the parts of the app (app/orders.rs …) name these without
//! naming the app.

use livecart_protocol::commerce::{AddressList, GiftReceipt, Order, TopUp, Wallet, WalletHistory};
use livecart_protocol::rest::FollowingResponse;
use livecart_protocol::{ErrorCode, OrderId, Problem, UserId};
use serde::de::DeserializeOwned;

#[derive(Debug, Clone, PartialEq)]
pub enum HttpFailure {
    /// The server answered with an error (a problem body when it sent one).
    Status {
        status: u16,
        problem: Option<Problem>,
    },
    /// No answer: offline, refused, timed out.
    Network(String),
    /// The server answered, but not with what the request expects (set by
    /// the core when a body does not decode; says what and why).
    Unreadable(String),
}

impl HttpFailure {
    /// An HTTP answer as the core takes it, whichever client fetched it: a
    /// success's JSON body (`null` for an empty one, e.g. 204), else the
    /// status with the server's problem when it sent one.
    #[allow(clippy::result_large_err)] // the shape `Event::HttpDone` carries
    pub fn answer(status: u16, body: &[u8]) -> Result<serde_json::Value, Self> {
        if (200..300).contains(&status) {
            if body.is_empty() {
                return Ok(serde_json::Value::Null);
            }
            serde_json::from_slice(body)
                .map_err(|e| Self::Network(format!("the server's answer was not JSON: {e}")))
        } else {
            Err(Self::Status {
                status,
                problem: serde_json::from_slice(body).ok(),
            })
        }
    }
}

/// The server's problem, if it sent one.
pub(crate) fn problem_of(failure: &HttpFailure) -> Option<&Problem> {
    match failure {
        HttpFailure::Status { problem, .. } => problem.as_ref(),
        HttpFailure::Network(_) | HttpFailure::Unreadable(_) => None,
    }
}

/// Whether the server gave a definite answer (a paid request will not
/// change by sending it again): any 4xx but a 409 "still running" and a 401.
pub(crate) fn definite(failure: &HttpFailure) -> bool {
    match failure {
        HttpFailure::Network(_) => false,
        // The server answered (and acted): sending again changes nothing.
        HttpFailure::Unreadable(_) => true,
        HttpFailure::Status { status, problem } => {
            (400..500).contains(status)
                && *status != 401
                && problem
                    .as_ref()
                    .is_none_or(|p| p.code != ErrorCode::IdempotencyInFlight)
        }
    }
}

/// What the shopper reads when an answer could not be read.
pub(crate) fn unreadable(what: &str) -> String {
    format!("{what} could not be read — the server answered in a form this app does not know")
}

/// What to do with an authenticated call's answer; each fixes the type
/// its answer decodes to (see [`Then::reply`]).
#[derive(Debug, Clone, PartialEq)]
pub enum Then {
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
pub enum Reply {
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
pub fn decode<T: DeserializeOwned>(
    result: Result<serde_json::Value, HttpFailure>,
    what: &str,
) -> Result<T, HttpFailure> {
    serde_json::from_value(result?).map_err(|e| HttpFailure::Unreadable(format!("{what}: {e}")))
}

impl Then {
    /// The answer to this call, typed: the one place an answer's body
    /// becomes a value.
    pub fn reply(self, result: Result<serde_json::Value, HttpFailure>) -> Reply {
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
