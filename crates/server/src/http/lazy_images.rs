//! Pictures whose rows are not written yet, and how to draw each: what the
//! server state holds while the demo world's art is drawn in the
//! background (`images` serves and draws them).

use livecart_protocol::ImageId;

/// Renders a picture: (full, thumbnail) JPEGs.
pub type Render = std::sync::Arc<dyn Fn() -> anyhow::Result<(Vec<u8>, Vec<u8>)> + Send + Sync>;

/// Pictures whose rows are not written yet: the demo world starts serving
/// before its art is drawn (drawing it all cost ~0.8 s of the first start),
/// a background task draws it, and a request that comes first draws its
/// own picture at once.
#[derive(Default)]
pub struct LazyImages(
    std::sync::Mutex<std::collections::HashMap<ImageId, Render>>,
    tokio::sync::Notify,
);

impl LazyImages {
    fn lock(&self) -> std::sync::MutexGuard<'_, std::collections::HashMap<ImageId, Render>> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub fn add(&self, id: ImageId, render: Render) {
        self.lock().insert(id, render);
    }

    pub(crate) fn get(&self, id: ImageId) -> Option<Render> {
        self.lock().get(&id).cloned()
    }

    /// A picture is drawn and stored: no longer pending.
    pub(crate) fn drawn(&self, id: ImageId) {
        let mut pending = self.lock();
        pending.remove(&id);
        if pending.is_empty() {
            self.1.notify_waiters();
        }
    }

    /// Returns once no picture is left to draw.
    pub async fn all_drawn(&self) {
        loop {
            let done = self.1.notified();
            if self.lock().is_empty() {
                return;
            }
            done.await;
        }
    }

    pub fn pending(&self) -> Vec<ImageId> {
        let mut ids: Vec<_> = self.lock().keys().copied().collect();
        ids.sort_unstable_by_key(|i| i.0);
        ids
    }
}
