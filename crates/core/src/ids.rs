//! The ids the core makes — idempotency keys and gift combos — from what
//! the shell hands it: the time of the event being handled and a seed the
//! shell draws once from the OS. The core reads no clock and no random
//! source of its own, so a test (or a replay of events) gets the same ids
//! every time.

use jiff::Timestamp;
use livecart_protocol::ComboId;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

/// UUID v7s: the event's time in the first 48 bits, the rest from a
/// ChaCha12 stream seeded by the shell.
#[derive(Debug, Clone)]
pub struct Ids(StdRng);

impl Ids {
    /// Seeded by the shell (`getrandom` on desktop; the browser's crypto on
    /// the web).
    pub fn seeded(seed: [u8; 32]) -> Self {
        Self(StdRng::from_seed(seed))
    }

    /// A fresh UUID v7 stamped `now`.
    pub fn v7(&mut self, now: Timestamp) -> ComboId {
        let mut random = [0u8; 10];
        self.0.fill_bytes(&mut random);
        let unix_ms = u64::try_from(now.as_millisecond()).unwrap_or(0);
        ComboId::from_parts(unix_ms, random)
    }

    /// A fresh idempotency key.
    pub fn key(&mut self, now: Timestamp) -> String {
        self.v7(now).to_string()
    }
}

impl Default for Ids {
    /// A fixed seed: what tests and benches use (the shell seeds its own).
    fn default() -> Self {
        Self::seeded([0; 32])
    }
}

#[cfg(test)]
mod tests {
    use super::Ids;
    use jiff::Timestamp;

    #[test]
    fn keys_are_v7_at_the_events_time_distinct_and_follow_the_seed() {
        let now = Timestamp::from_millisecond(1_764_900_000_123).expect("time");
        let mut a = Ids::seeded([7; 32]);
        let first = a.v7(now).0;
        assert_eq!(first.get_version_num(), 7);
        let (secs, nanos) = first.get_timestamp().expect("v7 has a time").to_unix();
        assert_eq!(
            secs * 1_000 + u64::from(nanos) / 1_000_000,
            1_764_900_000_123
        );
        let keys: std::collections::HashSet<String> = (0..1_000).map(|_| a.key(now)).collect();
        assert_eq!(
            keys.len(),
            1_000,
            "no key twice, even within one millisecond"
        );
        // The same seed gives the same ids (a replayed test); another seed,
        // other ids (two phones).
        assert_eq!(Ids::seeded([7; 32]).v7(now), Ids::seeded([7; 32]).v7(now));
        assert_ne!(Ids::seeded([7; 32]).v7(now), Ids::seeded([8; 32]).v7(now));
    }
}
