//! One error type for every handler. It maps to an RFC 9457 problem response
//! with a stable [`ErrorCode`]; internal details are logged, never sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use livecart_protocol::{ErrorCode, MIN_PROTOCOL_VERSION, Money, Problem};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Malformed(String),
    #[error("{0}")]
    TooLarge(String),
    #[error("client protocol {0} is too old; the server needs at least {MIN_PROTOCOL_VERSION}")]
    UpgradeRequired(u32),
    #[error("{0}")]
    Unauthorized(&'static str),
    #[error("the access token expired; refresh it")]
    TokenExpired,
    #[error("this refresh token was already used; sign in again")]
    TokenReused,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Unavailable(String),
    /// Too many tries; `retry_after_ms` says when the next is welcome.
    #[error("{detail}")]
    RateLimited { detail: String, retry_after_ms: u64 },
    #[error("the price is now {price}; nothing was charged")]
    PriceChanged { price: Money },
    #[error("only {stock} left; nothing was charged")]
    OutOfStock { stock: u32 },
    #[error("the flash sale has ended; the price is {price} again and nothing was charged")]
    SaleEnded { price: Money },
    #[error("your balance of {balance} does not cover {needed}; nothing was charged")]
    InsufficientFunds { needed: Money, balance: Money },
    #[error("{0}")]
    PaymentDeclined(String),
    /// The payment PIN is missing, wrong (with the tries left) or locked.
    #[error("{detail}")]
    PinRequired {
        detail: String,
        attempts_left: Option<u32>,
    },
    #[error("a request with this Idempotency-Key is still being processed; retry shortly")]
    IdempotencyInFlight,
    #[error("this Idempotency-Key was already used with different parameters")]
    IdempotencyMismatch,
    #[error("this order has already shipped; once it arrives you can ask for a refund")]
    AlreadyShipped,
    #[error("a refund can be asked for once the order is delivered")]
    NotDelivered,
    #[error("the {days}-day refund window for this order has closed")]
    RefundWindowClosed { days: u32 },
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ApiError {
    /// A PIN refusal that is not about a wrong PIN (missing, not set, locked).
    pub fn pin(detail: impl Into<String>) -> Self {
        Self::PinRequired {
            detail: detail.into(),
            attempts_left: None,
        }
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

impl ApiError {
    pub fn problem(&self) -> Problem {
        let (status, code, title) = match self {
            Self::BadRequest(_) => (400, ErrorCode::Invalid, "Invalid request"),
            Self::Malformed(_) => (400, ErrorCode::Malformed, "Malformed request"),
            Self::TooLarge(_) => (413, ErrorCode::TooLarge, "Request too large"),
            Self::UpgradeRequired(_) => (426, ErrorCode::UpgradeRequired, "Please update the app"),
            Self::Unauthorized(_) => (401, ErrorCode::Unauthorized, "Sign in required"),
            Self::TokenExpired => (401, ErrorCode::TokenExpired, "Session expired"),
            Self::TokenReused => (401, ErrorCode::TokenReused, "Session revoked"),
            Self::Forbidden(_) => (403, ErrorCode::Forbidden, "Not allowed"),
            Self::NotFound(_) => (404, ErrorCode::NotFound, "Not found"),
            Self::Conflict(_) => (409, ErrorCode::Conflict, "Conflict"),
            Self::Unavailable(_) => (503, ErrorCode::Unavailable, "Not available yet"),
            Self::RateLimited { .. } => (429, ErrorCode::RateLimited, "Too many requests"),
            Self::PriceChanged { .. } => (409, ErrorCode::PriceChanged, "The price changed"),
            Self::OutOfStock { .. } => (409, ErrorCode::OutOfStock, "Sold out"),
            Self::SaleEnded { .. } => (409, ErrorCode::SaleEnded, "The flash sale ended"),
            Self::InsufficientFunds { .. } => {
                (402, ErrorCode::InsufficientFunds, "Not enough balance")
            }
            Self::PaymentDeclined(_) => (402, ErrorCode::PaymentDeclined, "Card declined"),
            Self::PinRequired { .. } => (403, ErrorCode::PinRequired, "Payment PIN needed"),
            Self::IdempotencyInFlight => (409, ErrorCode::IdempotencyInFlight, "Still processing"),
            Self::IdempotencyMismatch => (
                422,
                ErrorCode::IdempotencyMismatch,
                "Idempotency key reused",
            ),
            Self::AlreadyShipped => (409, ErrorCode::AlreadyShipped, "Already shipped"),
            Self::NotDelivered => (409, ErrorCode::NotDelivered, "Not delivered yet"),
            Self::RefundWindowClosed { .. } => {
                (409, ErrorCode::RefundWindowClosed, "Refund window closed")
            }
            Self::Internal(_) => (500, ErrorCode::Internal, "Something went wrong"),
        };
        let mut p = Problem::new(status, code, title, self.to_string());
        if let Self::UpgradeRequired(_) = self {
            p.min_protocol_version = Some(MIN_PROTOCOL_VERSION);
        }
        match self {
            Self::PriceChanged { price } | Self::SaleEnded { price } => p.price = Some(*price),
            Self::OutOfStock { stock } => p.stock = Some(*stock),
            Self::PinRequired { attempts_left, .. } => p.attempts_left = *attempts_left,
            Self::RateLimited { retry_after_ms, .. } => p.retry_after_ms = Some(*retry_after_ms),
            _ => {}
        }
        p
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let Self::Internal(e) = &self {
            tracing::error!(error = %e, "request failed");
        }
        problem_response(&self.problem())
    }
}

pub fn problem_response(p: &Problem) -> Response {
    let status = StatusCode::from_u16(p.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = serde_json::to_vec(p).unwrap_or_default();
    let mut res = (status, body).into_response();
    res.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/problem+json"),
    );
    if let Some(ms) = p.retry_after_ms
        && let Ok(v) = HeaderValue::from_str(&ms.div_ceil(1000).to_string())
    {
        res.headers_mut().insert(header::RETRY_AFTER, v);
    }
    res
}

pub type ApiResult<T> = Result<T, ApiError>;

/// Every error answer is problem+json with a stable code: refusals made
/// before our handlers run (the router's 404 and 405, extractor rejections
/// such as a bad query string or a plain GET on a WebSocket route, body
/// limits, timeouts) are rewritten here, their text kept as the detail.
/// An error answered to a request that sent a body says `Connection:
/// close`: the body may be unread, and hyper closes such a connection.
pub async fn problems(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let sent_body = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .is_some_and(|n| n > 0)
        || req.headers().contains_key(header::TRANSFER_ENCODING);
    let res = next.run(req).await;
    let status = res.status();
    if status.is_success() || status.is_redirection() || status.is_informational() {
        return res;
    }
    let is_problem = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/problem+json"));
    let mut res = if is_problem {
        res
    } else {
        let (parts, body) = res.into_parts();
        let text = axum::body::to_bytes(body, 4 * 1024)
            .await
            .map(|b| String::from_utf8_lossy(&b).trim().to_owned())
            .unwrap_or_default();
        let (code, title) = match status.as_u16() {
            401 => (ErrorCode::Unauthorized, "Sign in first"),
            403 => (ErrorCode::Forbidden, "Not allowed"),
            404 => (ErrorCode::NotFound, "Not found"),
            405 => (ErrorCode::MethodNotAllowed, "Method not allowed"),
            408 => (ErrorCode::Timeout, "Request timeout"),
            411 | 413 | 431 => (ErrorCode::TooLarge, "Too large"),
            429 => (ErrorCode::RateLimited, "Too many requests"),
            503 => (ErrorCode::Unavailable, "Not available yet"),
            500..=599 => (ErrorCode::Internal, "Something went wrong"),
            _ => (ErrorCode::Malformed, "Bad request"),
        };
        let detail = if text.is_empty() || status.is_server_error() {
            match status.as_u16() {
                404 => "no such route".to_owned(),
                405 => "this route does not take that method".to_owned(),
                s => {
                    status.canonical_reason().unwrap_or("error").to_lowercase() + &format!(" ({s})")
                }
            }
        } else {
            text
        };
        let mut converted = problem_response(&Problem::new(status.as_u16(), code, title, detail));
        // Keep what tells the client more (e.g. `Allow` on a 405).
        for name in [header::ALLOW, header::RETRY_AFTER] {
            if let Some(v) = parts.headers.get(&name) {
                converted.headers_mut().insert(name, v.clone());
            }
        }
        converted
    };
    if sent_body {
        res.headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    res
}
