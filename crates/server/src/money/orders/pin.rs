//! The payment PIN asked for large orders: tries counted before they are
//! checked, and a lock no later failure moves.

use crate::error::{ApiError, ApiResult};
use crate::state::AppState;
use jiff::{SignedDuration, Timestamp};
use livecart_protocol::UserId;

/// The payment PIN: argon2id-hashed like passwords; wrong PINs in a row lock
/// it for a while (MASVS AUTH-3 step-up for large payments).
pub(super) async fn verify_pin(state: &AppState, user: UserId, pin: Option<&str>) -> ApiResult<()> {
    let money = &state.config.money;
    let max = i64::from(money.pin_max_failures.max(1));
    let now = pin_time(Timestamp::now());
    let row: Option<(Option<String>, Option<String>)> =
        sqlx::query_as("SELECT payment_pin_hash, pin_locked_until FROM users WHERE id = ?")
            .bind(user.to_string())
            .fetch_optional(&state.db)
            .await?;
    let (hash, locked) = row.ok_or(ApiError::NotFound("user"))?;
    if let Some(until) = locked.filter(|t| *t > now) {
        return Err(pin_locked(&until));
    }
    let Some(hash) = hash else {
        return Err(ApiError::pin("set a payment PIN to pay this much"));
    };
    let Some(pin) = pin.map(str::to_owned) else {
        return Err(ApiError::pin("enter your payment PIN to pay this much"));
    };
    // The try is counted before the PIN is checked, in one statement: however
    // many arrive at once, at most `pin_max_failures` are ever checked before
    // the lock (a lock that ran out starts the count again).
    let claimed: Option<(i64,)> = sqlx::query_as(
        "UPDATE users SET \
           pin_failures = CASE WHEN pin_locked_until IS NOT NULL THEN 1 ELSE pin_failures + 1 END, \
           pin_locked_until = NULL \
         WHERE id = ?1 AND (pin_locked_until IS NULL OR pin_locked_until <= ?2) \
           AND (pin_failures < ?3 OR pin_locked_until IS NOT NULL) \
         RETURNING pin_failures",
    )
    .bind(user.to_string())
    .bind(&now)
    .bind(max)
    .fetch_optional(&state.writer)
    .await?;
    let Some((attempt,)) = claimed else {
        // Locked meanwhile, or every try is already being checked.
        let until: Option<String> =
            sqlx::query_scalar("SELECT pin_locked_until FROM users WHERE id = ?")
                .bind(user.to_string())
                .fetch_one(&state.writer)
                .await?;
        return Err(until.map_or_else(
            || ApiError::PinRequired {
                detail: "too many PIN tries at once; wait a moment and try again".into(),
                attempts_left: Some(0),
            },
            |u| pin_locked(&u),
        ));
    };
    if state.guard.verify(pin, Some(hash)).await? {
        sqlx::query("UPDATE users SET pin_failures = 0 WHERE id = ? AND pin_locked_until IS NULL")
            .bind(user.to_string())
            .execute(&state.writer)
            .await?;
        return Ok(());
    }
    if attempt >= max {
        // The last try: lock. A lock already set (by another try) stays as it is.
        let until =
            pin_time(Timestamp::now() + SignedDuration::from_secs(money.pin_lock_s.cast_signed()));
        let until: String = sqlx::query_scalar(
            "UPDATE users SET pin_locked_until = COALESCE(pin_locked_until, ?2) WHERE id = ?1 \
             RETURNING pin_locked_until",
        )
        .bind(user.to_string())
        .bind(&until)
        .fetch_one(&state.writer)
        .await?;
        let ApiError::PinRequired { detail, .. } = pin_locked(&until) else {
            unreachable!("pin_locked makes a PIN refusal")
        };
        return Err(ApiError::PinRequired {
            detail: format!("that PIN is not right; {detail}"),
            attempts_left: Some(0),
        });
    }
    let left = max - attempt;
    let tries = if left == 1 { "try" } else { "tries" };
    Err(ApiError::PinRequired {
        detail: format!("that PIN is not right; {left} {tries} left"),
        attempts_left: u32::try_from(left).ok(),
    })
}

/// A time as the PIN columns hold it: fixed width, so that text order is
/// time order in the guard's comparisons.
fn pin_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// The refusal while the PIN is locked until `until`.
fn pin_locked(until: &str) -> ApiError {
    let until = until
        .parse::<Timestamp>()
        .unwrap_or_else(|_| Timestamp::now());
    ApiError::PinRequired {
        detail: locked_words(until),
        attempts_left: Some(0),
    }
}

/// "…locked for 15 more minutes" (rounded up).
fn locked_words(until: Timestamp) -> String {
    let secs = (until - Timestamp::now()).get_seconds().max(0);
    let minutes = (secs + 59) / 60;
    format!(
        "too many wrong PINs: payments that need the PIN are locked for {minutes} more minute{}",
        if minutes == 1 { "" } else { "s" }
    )
}
