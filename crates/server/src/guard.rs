//! What stands between a flood and everyone else: likes at a person's
//! pace, and, for sign-in, rate limits per
//! account and per client address (GCRA via `governor`), and a small pool
//! for the deliberately slow password and PIN hashing, so a flood of wrong
//! passwords waits its turn instead of taking every core from checkout. An
//! unknown username is checked against a stand-in hash, so it costs what a
//! wrong password costs (usernames cannot be told apart by timing).

use crate::config::AuthConfig;
use crate::error::{ApiError, ApiResult};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::Semaphore;

/// Likes a user may add a second, and at once.
pub const LIKES_PER_SECOND: u32 = 15;
pub const LIKES_BURST: u32 = 60;

pub struct Guard {
    /// Likes a user adds: a few a second, a short burst.
    likes: DefaultKeyedRateLimiter<livecart_protocol::UserId>,
    per_account: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
    /// Permits to hash: at most this many argon2 verifications at once.
    hashing: Arc<Semaphore>,
    /// How long a sign-in waits for a hashing permit before "busy".
    hash_wait: Duration,
}

/// `n` a minute, all of it usable as a burst.
fn per_minute(n: u32) -> Quota {
    let n = NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN);
    Quota::per_minute(n).allow_burst(n)
}

impl Guard {
    pub fn new(cfg: &AuthConfig) -> Self {
        let likes = Quota::per_second(NonZeroU32::new(LIKES_PER_SECOND).unwrap_or(NonZeroU32::MIN))
            .allow_burst(NonZeroU32::new(LIKES_BURST).unwrap_or(NonZeroU32::MIN));
        Self {
            likes: RateLimiter::keyed(likes),
            per_account: RateLimiter::keyed(per_minute(cfg.sign_in_per_account_per_min)),
            per_address: RateLimiter::keyed(per_minute(cfg.sign_in_per_address_per_min)),
            clock: DefaultClock::default(),
            hashing: Arc::new(Semaphore::new(cfg.hash_workers.max(1))),
            hash_wait: Duration::from_millis(cfg.hash_wait_ms),
        }
    }

    /// How many of `count` likes from `user` count: all while they tap at a
    /// person's pace, none beyond it (a client saying "3,000,000").
    pub fn likes(&self, user: livecart_protocol::UserId, count: u32) -> u32 {
        let n = count.min(LIKES_BURST);
        match NonZeroU32::new(n).map(|n| self.likes.check_key_n(&user, n)) {
            Some(Ok(Ok(()))) => n,
            _ => 0,
        }
    }

    /// A sign-in attempt for `username` from `address`: counted against
    /// both limits (case-insensitively for the name); refused with when to
    /// try again.
    pub fn sign_in_attempt(&self, username: &str, address: Option<IpAddr>) -> ApiResult<()> {
        let wait = |not_until: governor::NotUntil<_>| {
            let ms = not_until.wait_time_from(self.clock.now()).as_millis();
            ApiError::RateLimited {
                detail: "too many sign-in attempts; wait a moment and try again".into(),
                retry_after_ms: u64::try_from(ms).unwrap_or(u64::MAX).max(1),
            }
        };
        if let Some(ip) = address {
            self.per_address.check_key(&ip).map_err(wait)?;
        }
        self.per_account
            .check_key(&username.trim().to_lowercase())
            .map_err(wait)
    }

    /// Checks `secret` against an argon2 PHC string (`None`: an unknown
    /// user, checked against a stand-in so it takes as long), on the
    /// blocking pool, at most `hash_workers` at once.
    pub async fn verify(&self, secret: String, phc: Option<String>) -> ApiResult<bool> {
        let permit = tokio::time::timeout(self.hash_wait, self.hashing.clone().acquire_owned())
            .await
            .map_err(|_| ApiError::RateLimited {
                detail: "the server is busy checking sign-ins; try again in a moment".into(),
                retry_after_ms: 1_000,
            })?
            .map_err(|e| ApiError::Internal(e.into()))?;
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| stand_in().to_owned());
        let ok = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            crate::auth::verify_password(&secret, &phc)
        })
        .await
        .map_err(|e| ApiError::Internal(e.into()))?;
        Ok(ok && known)
    }
}

/// A hash of a random secret nobody knows, made once: what an unknown
/// username's password is checked against.
fn stand_in() -> &'static str {
    static PHC: OnceLock<String> = OnceLock::new();
    PHC.get_or_init(|| {
        let secret = crate::auth::random_secret();
        crate::auth::hash_password(&secret).unwrap_or_default()
    })
}
