//! Errors on the wire: the codes both sides agree on, the HTTP problem body
//! (RFC 9457), and [`DecodeError`] for untrusted input. Decoding never panics;
//! every failure says what was wrong in words a developer can act on.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// Machine-readable reason, shared by HTTP problems and WebSocket error frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The client's protocol version is older than the server supports.
    UpgradeRequired,
    /// Not JSON, or not the JSON shape expected.
    Malformed,
    /// A frame or body `type` this server does not know.
    UnknownType,
    /// Well-formed but refused: a field out of range, an empty message.
    Invalid,
    /// Over the size limit.
    TooLarge,
    /// No credentials, or credentials that are not valid.
    Unauthorized,
    /// The access token expired: refresh it and retry.
    TokenExpired,
    /// A refresh token was used twice; the session chain is revoked.
    TokenReused,
    /// Signed in, but not allowed to do this.
    Forbidden,
    NotFound,
    /// Too many requests; see `retry_after_ms`.
    RateLimited,
    /// The host muted this user in this room; see `retry_after_ms`.
    Muted,
    /// The message contains a word the room does not allow.
    Filtered,
    /// The state changed under the request (e.g. room already ended).
    Conflict,
    /// Not ready yet (a stream still starting); retry shortly.
    Unavailable,
    /// The price the buyer saw is not the price now; see the problem's detail
    /// and the current price in `price`. Nothing was charged.
    PriceChanged,
    /// Not enough stock left for this quantity. Nothing was charged.
    OutOfStock,
    /// The flash sale ended before the tap (after the grace for video delay).
    SaleEnded,
    /// The wallet balance does not cover the amount. Nothing was charged.
    InsufficientFunds,
    /// The payment card was declined.
    PaymentDeclined,
    /// The amount needs the payment PIN (or the PIN given was wrong).
    PinRequired,
    /// A request with this idempotency key is still being processed.
    IdempotencyInFlight,
    /// This idempotency key was used with different parameters.
    IdempotencyMismatch,
    /// The order already left the warehouse: too late to cancel (ask for a
    /// refund once it arrives).
    AlreadyShipped,
    /// A refund can be asked for once the order is delivered.
    NotDelivered,
    /// The refund window after delivery has closed.
    RefundWindowClosed,
    /// The path exists, but not for this HTTP method (see `Allow`).
    MethodNotAllowed,
    /// The client took too long to send its request.
    Timeout,
    Internal,
    /// A code this build does not know (sent by a newer peer).
    #[serde(other)]
    Unknown,
}

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::UpgradeRequired => "upgrade_required",
            Self::Malformed => "malformed",
            Self::UnknownType => "unknown_type",
            Self::Invalid => "invalid",
            Self::TooLarge => "too_large",
            Self::Unauthorized => "unauthorized",
            Self::TokenExpired => "token_expired",
            Self::TokenReused => "token_reused",
            Self::Forbidden => "forbidden",
            Self::NotFound => "not_found",
            Self::RateLimited => "rate_limited",
            Self::Muted => "muted",
            Self::Filtered => "filtered",
            Self::Conflict => "conflict",
            Self::Unavailable => "unavailable",
            Self::PriceChanged => "price_changed",
            Self::OutOfStock => "out_of_stock",
            Self::SaleEnded => "sale_ended",
            Self::InsufficientFunds => "insufficient_funds",
            Self::PaymentDeclined => "payment_declined",
            Self::PinRequired => "pin_required",
            Self::IdempotencyInFlight => "idempotency_in_flight",
            Self::IdempotencyMismatch => "idempotency_mismatch",
            Self::AlreadyShipped => "already_shipped",
            Self::NotDelivered => "not_delivered",
            Self::RefundWindowClosed => "refund_window_closed",
            Self::MethodNotAllowed => "method_not_allowed",
            Self::Timeout => "timeout",
            Self::Internal => "internal",
            Self::Unknown => "unknown",
        }
    }
}

/// An HTTP error body, `application/problem+json` (RFC 9457).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Problem {
    /// `/problems/<code>`.
    #[serde(rename = "type")]
    pub kind: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    pub code: ErrorCode,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_after_ms: Option<u64>,
    /// For `upgrade_required`: the oldest protocol version accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_protocol_version: Option<u32>,
    /// For `price_changed` and `sale_ended`: the unit price the server
    /// charges now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub price: Option<crate::Money>,
    /// For `out_of_stock`: what is left.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stock: Option<u32>,
    /// For a wrong payment PIN: tries left before the PIN locks (0: locked).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts_left: Option<u32>,
}

impl Problem {
    pub fn new(status: u16, code: ErrorCode, title: &str, detail: impl Into<String>) -> Self {
        Self {
            kind: format!("/problems/{}", code.as_str()),
            title: title.to_owned(),
            status,
            detail: detail.into(),
            code,
            retry_after_ms: None,
            min_protocol_version: None,
            price: None,
            stock: None,
            attempts_left: None,
        }
    }
}

/// Why untrusted input could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("message is {size} bytes; the limit is {max}")]
    TooLarge { size: usize, max: usize },
    #[error("not valid JSON: {0}")]
    Malformed(String),
    #[error("missing \"type\" field")]
    MissingType,
    #[error("unknown message type {0:?}")]
    UnknownType(String),
    #[error("invalid {kind:?} message: {reason}")]
    Invalid { kind: String, reason: String },
}

impl DecodeError {
    /// The wire code to report this error with.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::TooLarge { .. } => ErrorCode::TooLarge,
            Self::Malformed(_) | Self::MissingType => ErrorCode::Malformed,
            Self::UnknownType(_) => ErrorCode::UnknownType,
            Self::Invalid { .. } => ErrorCode::Invalid,
        }
    }
}

/// Decodes a `"type"`-tagged JSON message. The happy path parses once; only a
/// failure pays for a second look to say precisely what was wrong.
pub(crate) fn decode_tagged<T: DeserializeOwned>(
    text: &str,
    max_bytes: usize,
    known: &[&str],
) -> Result<T, DecodeError> {
    if text.len() > max_bytes {
        return Err(DecodeError::TooLarge {
            size: text.len(),
            max: max_bytes,
        });
    }
    match serde_json::from_str::<T>(text) {
        Ok(v) => Ok(v),
        Err(err) => Err(diagnose(text, &err, known)),
    }
}

fn diagnose(text: &str, err: &serde_json::Error, known: &[&str]) -> DecodeError {
    let value: serde_json::Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(syntax) => return DecodeError::Malformed(syntax.to_string()),
    };
    match value.get("type").and_then(serde_json::Value::as_str) {
        None => DecodeError::MissingType,
        Some(t) if !known.contains(&t) => DecodeError::UnknownType(t.chars().take(64).collect()),
        Some(t) => DecodeError::Invalid {
            kind: t.to_owned(),
            reason: err.to_string(),
        },
    }
}
