//! HTTP-FLV fan-out with a GOP cache. A publisher pushes FLV bytes in; every
//! viewer gets the FLV header, the metadata and codec configuration tags, and
//! the current group of pictures (from its keyframe) at once — so a new viewer
//! can decode a picture immediately — then every new tag as it arrives.
//!
//! Invariant: `subscribe` snapshots the cache and subscribes under one lock
//! that `push` also holds, so a viewer never misses or repeats a tag.

use bytes::{Bytes, BytesMut};
use std::sync::Mutex;
use tokio::sync::broadcast;

const TAG_AUDIO: u8 = 8;
const TAG_VIDEO: u8 = 9;
const TAG_SCRIPT: u8 = 18;
/// FLV file header (9) + PreviousTagSize0 (4).
const HEADER_LEN: usize = 13;
/// The most a group of pictures may hold. A 10-second GOP at 8 Mbit/s is
/// 10 MB; a source that never sends another keyframe would otherwise grow
/// the cache without end. Past this the cache drops the group, and new
/// viewers wait for the next keyframe (current viewers see no change).
pub const GOP_MAX_BYTES: usize = 32 * 1024 * 1024;

/// A parsed FLV tag, with its trailing PreviousTagSize.
#[derive(Debug, Clone)]
pub struct Tag {
    pub kind: u8,
    pub timestamp_ms: u32,
    pub bytes: Bytes,
}

impl Tag {
    pub fn payload(&self) -> &[u8] {
        &self.bytes[11..self.bytes.len() - 4]
    }

    pub fn is_video(&self) -> bool {
        self.kind == TAG_VIDEO
    }

    pub fn is_video_keyframe(&self) -> bool {
        self.kind == TAG_VIDEO && self.payload().first().is_some_and(|b| b >> 4 == 1)
    }

    /// AVC or AAC sequence header (decoder configuration).
    pub fn is_sequence_header(&self) -> bool {
        match self.kind {
            TAG_VIDEO => self.payload().get(1) == Some(&0),
            TAG_AUDIO => {
                self.payload().first().is_some_and(|b| b >> 4 == 10)
                    && self.payload().get(1) == Some(&0)
            }
            _ => false,
        }
    }
}

/// Splits a byte stream into the FLV header and tags.
#[derive(Default)]
pub struct FlvReader {
    buf: BytesMut,
    header: Option<Bytes>,
}

/// The stream is not FLV.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an FLV stream: {0}")]
pub struct FlvError(&'static str);

impl FlvReader {
    /// Feeds bytes; returns the header (once) and the complete tags.
    pub fn push(&mut self, data: &[u8]) -> Result<(Option<Bytes>, Vec<Tag>), FlvError> {
        self.buf.extend_from_slice(data);
        let mut header = None;
        if self.header.is_none() {
            if self.buf.len() < HEADER_LEN {
                return Ok((None, Vec::new()));
            }
            if &self.buf[..3] != b"FLV" {
                return Err(FlvError("missing FLV signature"));
            }
            let h = self.buf.split_to(HEADER_LEN).freeze();
            self.header = Some(h.clone());
            header = Some(h);
        }
        let mut tags = Vec::new();
        while self.buf.len() >= 11 {
            let size = (usize::from(self.buf[1]) << 16)
                | (usize::from(self.buf[2]) << 8)
                | usize::from(self.buf[3]);
            let total = 11 + size + 4;
            if size > 16 * 1024 * 1024 {
                return Err(FlvError("tag larger than 16 MiB"));
            }
            if self.buf.len() < total {
                break;
            }
            let kind = self.buf[0] & 0x1f;
            let ts = (u32::from(self.buf[7]) << 24)
                | (u32::from(self.buf[4]) << 16)
                | (u32::from(self.buf[5]) << 8)
                | u32::from(self.buf[6]);
            tags.push(Tag {
                kind,
                timestamp_ms: ts,
                bytes: self.buf.split_to(total).freeze(),
            });
        }
        Ok((header, tags))
    }

    /// Bytes held of a tag not yet complete.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

#[derive(Default)]
struct Cache {
    header: Option<Bytes>,
    metadata: Option<Bytes>,
    video_config: Option<Bytes>,
    audio_config: Option<Bytes>,
    /// Tags since (and including) the latest video keyframe.
    gop: Vec<Bytes>,
    /// Their bytes, at most `GOP_MAX_BYTES`.
    gop_bytes: usize,
}

/// One live stream's fan-out point.
pub struct FlvHub {
    reader: Mutex<FlvReader>,
    cache: Mutex<Cache>,
    /// Replaced on `reset`, which ends every current viewer's stream.
    tx: Mutex<broadcast::Sender<Bytes>>,
    capacity: usize,
    /// Signalled when the stream becomes decodable (header + keyframe).
    ready: tokio::sync::Notify,
}

impl Default for FlvHub {
    fn default() -> Self {
        Self::new(512)
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl FlvHub {
    /// `capacity`: tags a viewer may fall behind before it is cut off.
    pub fn new(capacity: usize) -> Self {
        let capacity = capacity.max(16);
        Self {
            reader: Mutex::default(),
            cache: Mutex::default(),
            tx: Mutex::new(broadcast::channel(capacity).0),
            capacity,
            ready: tokio::sync::Notify::new(),
        }
    }

    /// Feeds publisher output (any chunking).
    pub fn push(&self, data: &[u8]) -> Result<(), FlvError> {
        let (header, tags) = lock(&self.reader).push(data)?;
        let mut cache = lock(&self.cache);
        let tx = lock(&self.tx).clone();
        let was_ready = cache.header.is_some() && !cache.gop.is_empty();
        if let Some(h) = header {
            *cache = Cache {
                header: Some(h),
                ..Cache::default()
            };
        }
        for tag in tags {
            if tag.kind == TAG_SCRIPT {
                cache.metadata = Some(tag.bytes.clone());
            } else if tag.is_sequence_header() {
                if tag.kind == TAG_VIDEO {
                    cache.video_config = Some(tag.bytes.clone());
                } else {
                    cache.audio_config = Some(tag.bytes.clone());
                }
            } else {
                if tag.is_video_keyframe() {
                    cache.gop.clear();
                    cache.gop_bytes = 0;
                }
                // Before the first keyframe nothing is decodable; keep nothing.
                if !cache.gop.is_empty() || tag.is_video_keyframe() {
                    cache.gop_bytes += tag.bytes.len();
                    cache.gop.push(tag.bytes.clone());
                    if cache.gop_bytes > GOP_MAX_BYTES {
                        cache.gop.clear();
                        cache.gop_bytes = 0;
                    }
                }
            }
            let _ = tx.send(tag.bytes);
        }
        if !was_ready && cache.header.is_some() && !cache.gop.is_empty() {
            self.ready.notify_waiters();
        }
        Ok(())
    }

    /// Starts a new stream (the publisher restarted): forget the old one.
    /// Current viewers' streams end, so their players reconnect to the new one.
    pub fn reset(&self) {
        *lock(&self.reader) = FlvReader::default();
        *lock(&self.cache) = Cache::default();
        *lock(&self.tx) = broadcast::channel(self.capacity).0;
    }

    /// Waits until a viewer could start decoding (`subscribe` is `Some`).
    pub async fn wait_ready(&self) {
        loop {
            let notified = self.ready.notified();
            if self.subscribe().is_some() {
                return;
            }
            notified.await;
        }
    }

    /// What a new viewer starts with, and the live tags after it. `None`
    /// until the stream has a header and a keyframe.
    pub fn subscribe(&self) -> Option<(Bytes, broadcast::Receiver<Bytes>)> {
        let cache = lock(&self.cache);
        let header = cache.header.as_ref()?;
        if cache.gop.is_empty() {
            return None;
        }
        let rx = lock(&self.tx).subscribe();
        let mut start = BytesMut::new();
        start.extend_from_slice(header);
        for b in [&cache.metadata, &cache.video_config, &cache.audio_config]
            .into_iter()
            .flatten()
        {
            start.extend_from_slice(b);
        }
        for b in &cache.gop {
            start.extend_from_slice(b);
        }
        Some((start.freeze(), rx))
    }

    pub fn viewers(&self) -> usize {
        lock(&self.tx).receiver_count()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// One FLV tag's bytes (with its trailing size), for tests.
    pub(crate) fn tag(kind: u8, ts: u32, payload: &[u8]) -> Vec<u8> {
        let size = payload.len();
        let mut t = vec![
            kind,
            (size >> 16) as u8,
            (size >> 8) as u8,
            size as u8,
            (ts >> 16) as u8,
            (ts >> 8) as u8,
            ts as u8,
            (ts >> 24) as u8,
            0,
            0,
            0,
        ];
        t.extend_from_slice(payload);
        t.extend(((11 + size) as u32).to_be_bytes());
        t
    }

    fn header() -> Vec<u8> {
        vec![b'F', b'L', b'V', 1, 5, 0, 0, 0, 9, 0, 0, 0, 0]
    }

    #[test]
    fn a_new_viewer_starts_at_the_latest_keyframe_with_codec_config() {
        let hub = FlvHub::new(64);
        let mut stream = header();
        stream.extend(tag(TAG_SCRIPT, 0, b"meta"));
        stream.extend(tag(TAG_VIDEO, 0, &[0x17, 0, 0, 0, 0, b'C']));
        stream.extend(tag(TAG_AUDIO, 0, &[0xaf, 0, b'A']));
        stream.extend(tag(TAG_VIDEO, 0, &[0x17, 1, 0, 0, 0, b'K', b'1']));
        stream.extend(tag(TAG_VIDEO, 33, &[0x27, 1, 0, 0, 0, b'P']));
        stream.extend(tag(TAG_VIDEO, 1000, &[0x17, 1, 0, 0, 0, b'K', b'2']));
        let second_keyframe = tag(TAG_VIDEO, 1000, &[0x17, 1, 0, 0, 0, b'K', b'2']);
        stream.extend(tag(TAG_AUDIO, 1010, &[0xaf, 1, b'a']));
        // Arbitrary chunking must not matter.
        for chunk in stream.chunks(7) {
            hub.push(chunk).expect("valid flv");
        }
        let (start, mut rx) = hub.subscribe().expect("decodable");
        let mut expected = header();
        expected.extend(tag(TAG_SCRIPT, 0, b"meta"));
        expected.extend(tag(TAG_VIDEO, 0, &[0x17, 0, 0, 0, 0, b'C']));
        expected.extend(tag(TAG_AUDIO, 0, &[0xaf, 0, b'A']));
        expected.extend(&second_keyframe);
        expected.extend(tag(TAG_AUDIO, 1010, &[0xaf, 1, b'a']));
        assert_eq!(&start[..], &expected[..]);
        // Then live tags, each exactly once.
        let next = tag(TAG_VIDEO, 1033, &[0x27, 1, 0, 0, 0, b'p']);
        hub.push(&next).expect("valid");
        assert_eq!(&rx.try_recv().expect("live tag")[..], &next[..]);
        assert!(rx.try_recv().is_err());
    }

    #[test]
    fn nothing_is_served_before_a_keyframe_and_garbage_is_refused() {
        let hub = FlvHub::new(16);
        hub.push(&header()).expect("header");
        hub.push(&tag(TAG_VIDEO, 0, &[0x27, 1, 0, 0, 0]))
            .expect("inter frame");
        assert!(hub.subscribe().is_none());
        let bad = FlvHub::new(16);
        assert!(bad.push(b"GIF89a-not-a-video").is_err());
    }

    #[test]
    fn a_source_that_never_sends_another_keyframe_cannot_grow_the_cache_without_end() {
        let hub = FlvHub::new(16);
        hub.push(&header()).expect("header");
        hub.push(&tag(TAG_VIDEO, 0, &[0x17, 1, 0, 0, 0, b'K']))
            .expect("keyframe");
        assert!(hub.subscribe().is_some());
        // 1 MiB inter frames, one past the cap.
        let inter = tag(TAG_VIDEO, 33, &vec![0x27; 1024 * 1024]);
        for _ in 0..=GOP_MAX_BYTES / inter.len() {
            hub.push(&inter).expect("inter frame");
        }
        let held = lock(&hub.cache).gop_bytes;
        assert!(held <= GOP_MAX_BYTES, "the cache holds {held} bytes");
        // New viewers wait for the next keyframe, which serves again.
        assert!(hub.subscribe().is_none());
        hub.push(&tag(TAG_VIDEO, 2000, &[0x17, 1, 0, 0, 0, b'K']))
            .expect("keyframe");
        assert!(hub.subscribe().is_some());
    }
}
