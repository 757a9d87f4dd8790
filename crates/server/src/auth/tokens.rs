//! Access tokens (HMAC-signed claims, checked without a database read, with
//! the revoked session chains) and the refresh grace — what the server
//! state holds for sessions; the sign-in and refresh flows are `auth`.

use crate::error::{ApiError, ApiResult};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{Hmac, Mac};
use jiff::Timestamp;
use livecart_protocol::UserId;
use livecart_protocol::rest::{Role, SessionResponse, UserRef};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

type HmacSha256 = Hmac<Sha256>;

pub(crate) const ACCESS_PREFIX: &str = "lca1";

/// What an access token says about its bearer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: UserId,
    pub name: String,
    pub role: Role,
    /// Expiry, Unix seconds.
    pub exp: i64,
    /// The session chain (refresh-token family) it belongs to: when that
    /// chain is revoked (sign-out, a stolen refresh token) its access
    /// tokens stop working too, not at their expiry.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
}

impl Claims {
    pub fn user_ref(&self) -> UserRef {
        UserRef {
            id: self.sub,
            name: self.name.clone(),
        }
    }
}

/// Signs and checks access tokens.
pub struct TokenKeys {
    secret: Vec<u8>,
    /// Revoked session chains → when their last access token expires (Unix
    /// s). In memory: a restart with a random secret kills every access
    /// token anyway; with a configured secret, tokens of a chain revoked
    /// before the restart live to their expiry (≤ `access_token_ttl_s`).
    revoked: Mutex<HashMap<String, i64>>,
}

impl std::fmt::Debug for TokenKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenKeys(<redacted>)")
    }
}

impl TokenKeys {
    pub fn new(secret: Option<&str>) -> Self {
        let secret = if let Some(s) = secret {
            s.as_bytes().to_vec()
        } else {
            let mut b = vec![0u8; 32];
            rand::rng().fill_bytes(&mut b);
            b
        };
        Self {
            secret,
            revoked: Mutex::default(),
        }
    }

    /// Refuses the chain's access tokens until `until` (Unix s), when the
    /// last of them expires by itself.
    pub fn revoke(&self, sid: &str, until: i64) {
        let mut revoked = self
            .revoked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let now = Timestamp::now().as_second();
        revoked.retain(|_, exp| *exp > now);
        revoked.insert(sid.to_owned(), until);
    }

    fn is_revoked(&self, sid: &str) -> bool {
        self.revoked
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .contains_key(sid)
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length.
        HmacSha256::new_from_slice(&self.secret).expect("HMAC takes any key length")
    }

    pub fn mint(&self, claims: &Claims) -> String {
        let payload = B64.encode(serde_json::to_vec(claims).unwrap_or_default());
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        let sig = B64.encode(mac.finalize().into_bytes());
        format!("{ACCESS_PREFIX}.{payload}.{sig}")
    }

    pub fn verify(&self, token: &str, now: Timestamp) -> ApiResult<Claims> {
        const BAD: ApiError = ApiError::Unauthorized("the access token is not valid");
        let mut parts = token.splitn(3, '.');
        let (Some(ACCESS_PREFIX), Some(payload), Some(sig)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(BAD);
        };
        let sig = B64.decode(sig).map_err(|_| BAD)?;
        let mut mac = self.mac();
        mac.update(payload.as_bytes());
        mac.verify_slice(&sig).map_err(|_| BAD)?;
        let claims: Claims =
            serde_json::from_slice(&B64.decode(payload).map_err(|_| BAD)?).map_err(|_| BAD)?;
        if claims.exp <= now.as_second() {
            return Err(ApiError::TokenExpired);
        }
        if claims
            .sid
            .as_deref()
            .is_some_and(|sid| self.is_revoked(sid))
        {
            return Err(ApiError::Unauthorized(
                "this session was signed out; sign in again",
            ));
        }
        Ok(claims)
    }
}

/// A random secret (for tokens nobody is meant to guess).
pub fn random_secret() -> String {
    let mut b = [0u8; 32];
    rand::rng().fill_bytes(&mut b);
    B64.encode(b)
}

/// Refreshes in progress or just done, by the hash of the refresh token they
/// spent: the same token again within the grace (a phone retrying on a
/// flaky network) waits for, or gets, the same successor instead of
/// revoking the session. Memory only, for `auth.refresh_grace_s`.
#[derive(Default)]
pub struct RefreshGrace(pub(crate) Mutex<HashMap<String, GraceEntry>>);

pub(crate) type GraceEntry = (
    std::time::Instant,
    Arc<tokio::sync::OnceCell<SessionResponse>>,
);

impl std::fmt::Debug for RefreshGrace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshGrace(<redacted>)")
    }
}
