//! Who the viewer is. Tokens live here only in memory (and in the keyring,
//! through `VaultCommand`s); an access token about to expire is refreshed
//! before use; a request refused with `token_expired` is retried once after
//! one refresh; a refused refresh signs the viewer out with a message.

use jiff::{SignedDuration, Timestamp};
use livecart_protocol::rest::{Profile, SessionResponse};

/// Refresh this long before the access token expires.
const EARLY: SignedDuration = SignedDuration::from_secs(30);

#[derive(Clone, Default, PartialEq)]
pub enum Session {
    #[default]
    Anonymous,
    SignedIn(Box<SessionResponse>),
}

impl std::fmt::Debug for Session {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Anonymous => f.write_str("Anonymous"),
            Self::SignedIn(s) => write!(f, "SignedIn({})", s.user.username),
        }
    }
}

impl Session {
    pub fn user(&self) -> Option<&Profile> {
        match self {
            Self::SignedIn(s) => Some(&s.user),
            Self::Anonymous => None,
        }
    }

    /// The access token if it is still good at `now`.
    pub fn access_token(&self, now: Timestamp) -> Option<&str> {
        match self {
            Self::SignedIn(s) if s.access_expires_at - EARLY > now => Some(&s.access_token),
            _ => None,
        }
    }

    /// Whether a refresh is needed before an authenticated call.
    pub fn needs_refresh(&self, now: Timestamp) -> bool {
        matches!(self, Self::SignedIn(s) if s.access_expires_at - EARLY <= now && s.refresh_expires_at > now)
    }

    pub fn refresh_token(&self) -> Option<&str> {
        match self {
            Self::SignedIn(s) => Some(&s.refresh_token),
            Self::Anonymous => None,
        }
    }
}
