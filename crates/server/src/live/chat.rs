//! Chat rules, applied to every message before it reaches a room: control
//! and invisible format characters stripped (bidi overrides, zero-width
//! spaces), length capped, blocked words refused — looked for in the text's
//! NFKC form reduced to confusable skeletons (UTS #39), so "ѕсаm", "s​cam"
//! and "ｓｃａｍ" are "scam" — muted users refused, and a per-user rate
//! limit (GCRA via `governor`: a burst of `rate_count`, refilling over
//! `rate_window_s`).

use crate::auth::Claims;
use crate::config::ChatConfig;
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};
use jiff::Timestamp;
use livecart_protocol::{ErrorCode, UserId};
use std::num::NonZeroU32;
use std::time::Duration;

pub struct ChatRules {
    max_chars: usize,
    /// Blocked words: (as configured, the form they are looked for in).
    blocked: Vec<(String, String)>,
    limiter: DefaultKeyedRateLimiter<UserId>,
    clock: DefaultClock,
}

/// Why a message was not posted, as the sender will be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: ErrorCode,
    pub message: String,
    pub retry_after_ms: Option<u64>,
}

impl Refusal {
    fn new(code: ErrorCode, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
            retry_after_ms: None,
        }
    }
}

impl ChatRules {
    pub fn new(cfg: &ChatConfig) -> Self {
        let count = NonZeroU32::new(cfg.rate_count.max(1)).unwrap_or(NonZeroU32::MIN);
        let period =
            Duration::from_millis(cfg.rate_window_s.max(1) * 1000 / u64::from(count.get()));
        let quota = Quota::with_period(period.max(Duration::from_millis(1)))
            .unwrap_or_else(|| Quota::per_second(count))
            .allow_burst(count);
        Self {
            max_chars: cfg.max_chars,
            blocked: cfg
                .blocked_words
                .iter()
                .map(|w| (w.to_lowercase(), matching_form(w)))
                .filter(|(_, form)| !form.is_empty())
                .collect(),
            limiter: RateLimiter::keyed(quota),
            clock: DefaultClock::default(),
        }
    }

    /// Returns the text to post, or why not. `muted_until` is the user's mute
    /// in this room, if any.
    pub fn check(
        &self,
        user: &Claims,
        text: &str,
        muted_until: Option<Timestamp>,
    ) -> Result<String, Refusal> {
        let text = sanitize(text);
        if text.is_empty() {
            return Err(Refusal::new(ErrorCode::Invalid, "the message is empty"));
        }
        let chars = text.chars().count();
        if chars > self.max_chars {
            return Err(Refusal::new(
                ErrorCode::Invalid,
                format!(
                    "the message has {chars} characters; the limit is {}",
                    self.max_chars
                ),
            ));
        }
        let seen = matching_form(&text);
        if let Some((word, _)) = self
            .blocked
            .iter()
            .find(|(_, form)| seen.contains(form.as_str()))
        {
            return Err(Refusal::new(
                ErrorCode::Filtered,
                format!("\"{word}\" is not allowed in this room"),
            ));
        }
        if let Some(until) = muted_until {
            let left = until.duration_since(Timestamp::now());
            if left.is_positive() {
                let ms = left.as_millis().max(1) as u64;
                return Err(Refusal {
                    code: ErrorCode::Muted,
                    message: format!(
                        "the host muted you; you can chat again in {} s",
                        ms.div_ceil(1000)
                    ),
                    retry_after_ms: Some(ms),
                });
            }
        }
        if let Err(not_until) = self.limiter.check_key(&user.sub) {
            let wait = not_until.wait_time_from(self.clock.now());
            let ms = (wait.as_millis() as u64).max(1);
            return Err(Refusal {
                code: ErrorCode::RateLimited,
                message: format!("slow down: you can send again in {} s", ms.div_ceil(1000)),
                retry_after_ms: Some(ms),
            });
        }
        Ok(text)
    }
}

/// Removes control characters (newlines included: chat is one line) and
/// invisible format characters that reorder or hide text (bidi overrides
/// and isolates, zero-width spaces, soft hyphens, BOM), and trims. The
/// zero-width joiner stays: emoji sequences (👩‍🍳) need it.
pub fn sanitize(text: &str) -> String {
    text.chars()
        .filter(|c| !c.is_control() && !invisible(*c))
        .collect::<String>()
        .trim()
        .to_owned()
}

fn invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'
            | '\u{200C}'
            | '\u{200E}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// The form blocked words are looked for in: NFKC (full-width and styled
/// letters to plain ones), lower case, without joiners, variation
/// selectors or spaces between letters, then each character replaced by
/// its confusable skeleton (Cyrillic "ѕ" is "s").
fn matching_form(text: &str) -> String {
    use unicode_normalization::UnicodeNormalization;
    let plain: String = text
        .nfkc()
        .flat_map(char::to_lowercase)
        .filter(|c| !matches!(c, '\u{200D}' | '\u{FE00}'..='\u{FE0F}') && !invisible(*c))
        .collect();
    unicode_security::skeleton(&plain)
        .collect::<String>()
        .nfkc()
        .flat_map(char::to_lowercase)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use livecart_protocol::rest::Role;

    fn user() -> Claims {
        Claims {
            sub: UserId::new(),
            name: "Ava".into(),
            role: Role::Viewer,
            exp: i64::MAX,
            sid: None,
        }
    }

    fn rules(count: u32) -> ChatRules {
        ChatRules::new(&ChatConfig {
            rate_count: count,
            ..ChatConfig::default()
        })
    }

    #[test]
    fn strips_control_characters_and_refuses_empty() {
        let r = rules(20);
        assert_eq!(
            r.check(&user(), "  hi\u{0007}\nthere\u{001b} ", None),
            Ok("hithere".into())
        );
        assert_eq!(
            r.check(&user(), "\u{0000}\t ", None).map_err(|e| e.code),
            Err(ErrorCode::Invalid)
        );
    }

    #[test]
    fn caps_length_in_characters_not_bytes() {
        let r = rules(20);
        assert!(r.check(&user(), &"é".repeat(200), None).is_ok());
        let err = r
            .check(&user(), &"é".repeat(201), None)
            .expect_err("too long");
        assert_eq!(err.code, ErrorCode::Invalid);
        assert!(err.message.contains("201"), "{}", err.message);
    }

    #[test]
    fn refuses_blocked_words_case_insensitively() {
        let err = rules(20)
            .check(&user(), "this is a SCAM!", None)
            .expect_err("filtered");
        assert_eq!(err.code, ErrorCode::Filtered);
    }

    #[test]
    fn blocked_words_are_found_behind_look_alikes_invisible_and_styled_letters() {
        let r = rules(200);
        for sneaky in [
            "ѕсаm alert",                   // Cyrillic ѕ, с, а
            "s\u{200B}c\u{200B}a\u{200B}m", // zero-width spaces
            "\u{202E}mac\u{202C}s scam",    // a bidi override around it
            "ｓｃａｍ",                     // full-width letters
            "𝐬𝐜𝐚𝐦",                         // mathematical bold
            "FAKE",
        ] {
            let err = r.check(&user(), sneaky, None).expect_err(sneaky);
            assert_eq!(err.code, ErrorCode::Filtered, "{sneaky:?}");
        }
        // What is shown loses what reorders or hides text, keeps emoji joins.
        let shown = r
            .check(&user(), "\u{202E}hello\u{202C} 👩\u{200D}🍳 chef", None)
            .expect("ok");
        assert_eq!(shown, "hello 👩\u{200D}🍳 chef");
        assert!(r.check(&user(), "scallops are great", None).is_ok());
    }

    #[test]
    fn muted_users_are_told_when_they_can_talk() {
        let until = Timestamp::now() + jiff::SignedDuration::from_secs(30);
        let err = rules(20)
            .check(&user(), "hello", Some(until))
            .expect_err("muted");
        assert_eq!(err.code, ErrorCode::Muted);
        assert!(
            err.retry_after_ms
                .is_some_and(|ms| ms > 28_000 && ms <= 30_000)
        );
        let past = Timestamp::now() - jiff::SignedDuration::from_secs(1);
        assert!(rules(20).check(&user(), "hello", Some(past)).is_ok());
    }

    #[test]
    fn rate_limit_allows_the_burst_then_says_when_to_retry() {
        let r = rules(20);
        let u = user();
        for i in 0..20 {
            assert!(r.check(&u, "hi", None).is_ok(), "message {i} refused");
        }
        let err = r.check(&u, "hi", None).expect_err("21st refused");
        assert_eq!(err.code, ErrorCode::RateLimited);
        // 20 per 30 s refills one message every 1.5 s.
        assert!(
            err.retry_after_ms.is_some_and(|ms| ms > 1000 && ms <= 1500),
            "{err:?}"
        );
        // Another user is not affected.
        assert!(r.check(&user(), "hi", None).is_ok());
    }
}
