//! Extractors every handler shares: a JSON body whose refusals are problems,
//! ids from the path ("not found" when they do not parse), the client's address.

use crate::error::{ApiError, ApiResult};
use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::StatusCode;
use serde::de::DeserializeOwned;
use std::str::FromStr;

/// A JSON body whose rejections are problem responses, not plain text.
pub struct Body<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Body<T> {
    type Rejection = ApiError;
    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match Json::<T>::from_request(req, state).await {
            Ok(Json(v)) => Ok(Self(v)),
            Err(JsonRejection::JsonDataError(e)) => Err(ApiError::BadRequest(e.body_text())),
            Err(JsonRejection::MissingJsonContentType(_)) => Err(ApiError::Malformed(
                "send the body as application/json".into(),
            )),
            Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                Err(ApiError::TooLarge(e.body_text()))
            }
            Err(e) => Err(ApiError::Malformed(e.body_text())),
        }
    }
}

/// An id from a URL path; one that does not parse is simply "not found".
pub fn parse_id<T: FromStr>(s: &str, what: &'static str) -> ApiResult<T> {
    s.parse().map_err(|_| ApiError::NotFound(what))
}

/// What an id in a path names, for its "not found".
pub trait IdName: FromStr {
    const WHAT: &'static str;
}

macro_rules! id_names {
    ($($t:ty => $what:literal),* $(,)?) => {
        $(impl IdName for $t { const WHAT: &'static str = $what; })*
    };
}

id_names! {
    livecart_protocol::RoomId => "room",
    livecart_protocol::UserId => "user",
    livecart_protocol::ImageId => "image",
    livecart_protocol::OrderId => "order",
    livecart_protocol::AddressId => "address",
    livecart_protocol::TopUpId => "top-up",
}

/// The one id in a route's path (`/rooms/{id}`), parsed; one that does not
/// parse is "not found", as an unknown one is.
pub struct PathId<T>(pub T);

impl<T: IdName + Send, S: Send + Sync> FromRequestParts<S> for PathId<T> {
    type Rejection = ApiError;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &S,
    ) -> Result<Self, Self::Rejection> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::NotFound(T::WHAT))?;
        Ok(Self(parse_id(&raw, T::WHAT)?))
    }
}

/// The client's address, when the server was given it (`serve` is; a
/// router driven directly in a test is not).
pub struct ClientAddr(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;
    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
}
