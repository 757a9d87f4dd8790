//! What the server remembers of idempotency keys in memory: the ones whose
//! request is running now, and (as hashes) the ones with a stored answer.

use livecart_protocol::UserId;
use std::collections::HashSet;
use std::sync::{Arc, Mutex};

/// Keys whose request is running in this process right now.
#[derive(Debug, Default, Clone)]
pub struct InFlight(Arc<Mutex<HashSet<(UserId, String)>>>);

impl InFlight {
    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, HashSet<(UserId, String)>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// The keys that have a stored answer, as 64-bit hashes of (user, key):
/// a key whose hash is not here has none, so `stored` answers it without
/// a read (every fresh claim; the buyers a sold-out flash sale turns away). A hash that is here (or
/// collides with one) costs the read, never a wrong answer. Filled from the
/// table at start and by every completion (before its commit: a batch that
/// rolls back leaves a hash that only costs a read), rebuilt after each
/// purge; ~16 bytes per key kept. One process owns the SQLite file; servers
/// sharing PostgreSQL would each miss the others' keys, so this would go.
#[derive(Debug, Default, Clone)]
pub struct StoredKeys(Arc<Mutex<KeySet>>);

#[derive(Debug, Default)]
struct KeySet {
    hashes: HashSet<u64>,
    /// Added while a rebuild reads the table (so none is lost by it).
    during_rebuild: Option<Vec<u64>>,
}

fn key_hash(user: UserId, key: &str) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    user.hash(&mut h);
    key.hash(&mut h);
    h.finish()
}

impl StoredKeys {
    fn lock(&self) -> std::sync::MutexGuard<'_, KeySet> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Every key in the table now.
    pub async fn load(db: &sqlx::SqlitePool) -> anyhow::Result<Self> {
        let keys = Self::default();
        keys.rebuild(db).await?;
        Ok(keys)
    }

    /// Reads the table afresh (after a purge): forgotten keys leave the set.
    pub async fn rebuild(&self, db: &sqlx::SqlitePool) -> anyhow::Result<()> {
        self.lock().during_rebuild = Some(Vec::new());
        let read = async {
            let rows: Vec<(String, String)> =
                sqlx::query_as("SELECT user_id, key FROM idempotency_keys")
                    .fetch_all(db)
                    .await?;
            rows.into_iter()
                .map(|(user, key)| Ok(key_hash(crate::db::parse(&user, "user id")?, &key)))
                .collect::<anyhow::Result<HashSet<u64>>>()
        }
        .await;
        let mut set = self.lock();
        let added = set.during_rebuild.take().unwrap_or_default();
        let mut hashes = read?;
        hashes.extend(added);
        set.hashes = hashes;
        Ok(())
    }

    pub(super) fn add(&self, user: UserId, key: &str) {
        let h = key_hash(user, key);
        let mut set = self.lock();
        set.hashes.insert(h);
        if let Some(added) = &mut set.during_rebuild {
            added.push(h);
        }
    }

    /// False if the key certainly has no stored answer.
    pub fn may_have(&self, user: UserId, key: &str) -> bool {
        self.lock().hashes.contains(&key_hash(user, key))
    }
}
