//! The image cache: product pictures, covers and avatars are fetched once,
//! decoded and resized with `image` (thumbnails to 256 px, the rest to
//! 1080 px, re-encoded as JPEG) into a bounded disk cache evicted by least
//! recent use, and served to the webview from there — so the orders screen
//! shows its pictures offline.
//!
//! The webview asks for `/img/<server path>` (the window rewrites the
//! server's image URLs); files are named by a hash of the server path, so a
//! new port of the embedded server does not empty the cache.

use anyhow::Context;
use image::ImageReader;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Default budget of the cache on disk.
pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Longest side of a thumbnail (`…/thumb.jpg`) and of any other picture.
const THUMB_PX: u32 = 256;
const FULL_PX: u32 = 1080;
/// Largest picture accepted from the server.
const MAX_DOWNLOAD: usize = 16 * 1024 * 1024;

struct Entry {
    bytes: u64,
    /// Larger is more recent.
    used: u64,
}

#[derive(Default)]
struct Index {
    entries: HashMap<String, Entry>,
    total: u64,
    clock: u64,
}

pub struct ImageCache {
    dir: PathBuf,
    max_bytes: u64,
    http: reqwest::Client,
    index: Mutex<Index>,
    writes: std::sync::atomic::AtomicU64,
}

/// Whether the picture came from the disk or the network (for tests and logs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    Disk,
    Network,
}

impl ImageCache {
    /// Opens the cache in `dir`, taking in what earlier runs left (oldest
    /// file first for eviction).
    pub fn open(dir: &Path, max_bytes: u64) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the image cache {}", dir.display()))?;
        let mut files = Vec::new();
        for f in std::fs::read_dir(dir)?.flatten() {
            let path = f.path();
            let Some(key) = path
                .file_name()
                .and_then(|n| n.to_str())
                .and_then(|n| n.strip_suffix(".jpg"))
                .map(str::to_owned)
            else {
                // A partial write from a crash: not ours to keep.
                let _ = std::fs::remove_file(&path);
                continue;
            };
            let meta = f.metadata()?;
            files.push((meta.modified().ok(), key, meta.len()));
        }
        files.sort();
        let mut index = Index::default();
        for (_, key, bytes) in files {
            index.clock += 1;
            index.total += bytes;
            index.entries.insert(
                key,
                Entry {
                    bytes,
                    used: index.clock,
                },
            );
        }
        let cache = Self {
            dir: dir.to_owned(),
            max_bytes,
            http: reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(15))
                .build()
                .unwrap_or_default(),
            index: Mutex::new(index),
            writes: std::sync::atomic::AtomicU64::new(0),
        };
        cache.evict();
        Ok(cache)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn file(&self, key: &str) -> PathBuf {
        self.dir.join(format!("{key}.jpg"))
    }

    /// Bytes on disk now.
    pub fn total_bytes(&self) -> u64 {
        self.lock().total
    }

    /// The picture at `base` + `path` (a server path such as
    /// `/v1/images/<id>/thumb.jpg`), as a resized JPEG: from the disk when
    /// it is there, else fetched, resized and kept.
    pub async fn get(&self, base: &str, path: &str) -> anyhow::Result<(Vec<u8>, Source)> {
        anyhow::ensure!(
            path.starts_with("/v1/images/") && !path.contains(".."),
            "not an image path: {path}"
        );
        let key = format!("{:x}", Sha256::digest(path.as_bytes()))[..32].to_owned();
        let file = self.file(&key);
        let known = {
            let mut index = self.lock();
            index.clock += 1;
            let clock = index.clock;
            index
                .entries
                .get_mut(&key)
                .map(|e| e.used = clock)
                .is_some()
        };
        if known && let Ok(bytes) = tokio::fs::read(&file).await {
            return Ok((bytes, Source::Disk));
        }
        let res = self
            .http
            .get(format!("{base}{path}"))
            .send()
            .await?
            .error_for_status()?;
        anyhow::ensure!(
            res.content_length()
                .is_none_or(|n| n <= MAX_DOWNLOAD as u64),
            "the picture is too large"
        );
        let raw = res.bytes().await?;
        anyhow::ensure!(raw.len() <= MAX_DOWNLOAD, "the picture is too large");
        let side = if path.ends_with("/thumb.jpg") {
            THUMB_PX
        } else {
            FULL_PX
        };
        let jpeg = tokio::task::spawn_blocking(move || resize(&raw, side)).await??;
        // Write-then-rename: a crash never leaves half a picture under a
        // key, and two fetches of one picture (several orders of the same
        // product) each write their own file.
        let n = self
            .writes
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = self.dir.join(format!("{key}.{n}.part"));
        tokio::fs::write(&tmp, &jpeg).await?;
        tokio::fs::rename(&tmp, &file).await?;
        {
            let mut index = self.lock();
            index.clock += 1;
            let used = index.clock;
            let bytes = jpeg.len() as u64;
            if let Some(old) = index.entries.insert(key, Entry { bytes, used }) {
                index.total -= old.bytes;
            }
            index.total += bytes;
        }
        self.evict();
        Ok((jpeg, Source::Network))
    }

    /// Deletes the least recently used pictures until the cache fits.
    fn evict(&self) {
        let mut index = self.lock();
        while index.total > self.max_bytes {
            let Some(oldest) = index
                .entries
                .iter()
                .min_by_key(|(_, e)| e.used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(e) = index.entries.remove(&oldest) {
                index.total -= e.bytes;
            }
            let _ = std::fs::remove_file(self.file(&oldest));
        }
    }
}

/// Decodes any supported picture, fits it within `side` px (never
/// enlarging) and encodes it as a JPEG.
fn resize(raw: &[u8], side: u32) -> anyhow::Result<Vec<u8>> {
    let img = ImageReader::new(Cursor::new(raw))
        .with_guessed_format()?
        .decode()
        .context("the picture does not decode")?;
    let img = if img.width() > side || img.height() > side {
        img.resize(side, side, image::imageops::FilterType::Triangle)
    } else {
        img
    };
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82)
        .encode_image(&img.to_rgb8())?;
    Ok(out)
}

/// A server path and where the picture goes.
pub type ImageRequest = (String, dioxus::desktop::wry::RequestAsyncResponder);

/// Answers the webview's picture requests from the image cache (fetching
/// what it lacks); if the app's data directory refuses it, from a cache in
/// the temporary directory for this run.
pub fn serve(
    dir: &std::path::Path,
    base: String,
    mut rx: tokio::sync::mpsc::UnboundedReceiver<ImageRequest>,
) {
    use dioxus::desktop::wry::http::Response;
    let max = DEFAULT_MAX_BYTES;
    let cache = match ImageCache::open(dir, max) {
        Ok(c) => c,
        Err(e) => {
            let tmp = std::env::temp_dir().join(format!("livecart-images-{}", std::process::id()));
            tracing::error!(
                "no image cache in {} ({e:#}); using {} for this run",
                dir.display(),
                tmp.display()
            );
            match ImageCache::open(&tmp, max) {
                Ok(c) => c,
                Err(e) => {
                    tracing::error!("no image cache at all ({e:#}): pictures will not show");
                    return;
                }
            }
        }
    };
    let cache = std::sync::Arc::new(cache);
    tokio::spawn(async move {
        while let Some((path, responder)) = rx.recv().await {
            let (cache, base) = (cache.clone(), base.clone());
            tokio::spawn(async move {
                let res = match cache.get(&base, &path).await {
                    Ok((bytes, _)) => Response::builder()
                        .header("Content-Type", "image/jpeg")
                        .header("Cache-Control", "max-age=86400")
                        .body(bytes),
                    Err(e) => {
                        tracing::debug!(%path, "picture unavailable: {e:#}");
                        Response::builder().status(404).body(Vec::new())
                    }
                };
                if let Ok(res) = res {
                    responder.respond(res);
                }
            });
        }
    });
}
