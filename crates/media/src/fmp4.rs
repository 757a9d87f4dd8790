//! Fragmented MP4 for `MediaSource` (#18): the web app's fallback where a
//! browser has no WebCodecs (`/live/{room}/fmp4`, docs/web.md). One muxer
//! per viewer turns a room's FLV tags into an initialisation segment (the
//! tracks and their decoder configuration) and then one fragment
//! (`moof` + `mdat`) per access unit or AAC frame, so a picture leaves as soon
//! as it came. FLV already carries what MP4 wants — H.264 as length-prefixed
//! NAL units with its `AVCDecoderConfigurationRecord`, raw AAC frames with
//! their `AudioSpecificConfig` — so the samples are copied, not rewritten.
//!
//! Video times are FLV's milliseconds (timescale 1000), counted from the
//! first tag the viewer got. A picture's duration is not known until the
//! next one comes; the previous gap stands in (a fragment's start, `tfdt`,
//! is exact, so a guess never accumulates). Sound is timed in samples, each
//! AAC frame 1024 after the last.

mod boxes;

use crate::flv::Tag;
use boxes::{Audio, Video, avc1, boxed, full, matrix, mp4a, trak};
use bytes::{BufMut, Bytes, BytesMut};

const TAG_AUDIO: u8 = 8;
const TAG_VIDEO: u8 = 9;
const CODEC_AVC: u8 = 7;
const SOUND_AAC: u8 = 10;
const TIMESCALE: u32 = 1000;
/// Samples in an AAC frame (AAC-LC); the audio track's time is in samples.
const AAC_FRAME: u32 = 1024;
const VIDEO_TRACK: u32 = 1;
const AUDIO_TRACK: u32 = 2;
/// `sample_depends_on = 2`: a keyframe, or any AAC frame.
const SYNC_SAMPLE: u32 = 0x0200_0000;
/// `sample_depends_on = 1`, `sample_is_non_sync_sample`.
const DELTA_SAMPLE: u32 = 0x0101_0000;
const AAC_RATES: [u32; 13] = [
    96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350,
];

/// What the muxer hands a viewer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fmp4 {
    /// Before anything else: the `MediaSource` type
    /// (`video/mp4; codecs="avc1.64001f,mp4a.40.2"`) and the initialisation
    /// segment (`ftyp` + `moov`).
    Init { mime: String, segment: Bytes },
    /// One `moof` + `mdat`.
    Fragment(Bytes),
}

#[derive(Default)]
struct Track {
    /// The last sample's decode time and duration (ms since the first tag).
    last: Option<(u64, u32)>,
}

impl Track {
    /// The duration the previous sample turned out to have; this one's guess.
    fn time(&mut self, t: u64) -> u32 {
        let guess = match self.last {
            Some((prev, _)) if t > prev => u32::try_from(t - prev).unwrap_or(u32::MAX),
            Some((_, d)) => d,
            None => 33,
        };
        self.last = Some((t, guess));
        guess
    }
}

/// One viewer's muxer.
#[derive(Default)]
pub struct Fmp4Muxer {
    video: Option<Video>,
    audio: Option<Audio>,
    /// Which tracks the initialisation segment declared, once sent.
    started: Option<(bool, bool)>,
    first_ms: Option<u32>,
    sequence: u32,
    video_track: Track,
    /// Where the next AAC frame starts, in samples.
    next_audio: Option<u64>,
}

impl Fmp4Muxer {
    /// What `tag` adds to the stream: the initialisation segment before the
    /// first sample, then a fragment per sample. Configuration tags and
    /// codecs MP4 is not given here (not H.264 or AAC) add nothing; a track
    /// that appears after the stream started is left out (a new viewer gets
    /// it).
    pub fn push(&mut self, tag: &Tag) -> Vec<Fmp4> {
        let payload = tag.payload();
        let Some((&head, rest)) = payload.split_first() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        match tag.kind {
            TAG_VIDEO if head & 0x0f == CODEC_AVC && rest.len() >= 4 => {
                let data = &rest[4..];
                if rest[0] == 0 {
                    self.video = video_config(data);
                    return out;
                }
                if rest[0] != 1 || self.video.is_none() {
                    return out;
                }
                let cts = composition_offset(&rest[1..4]);
                let key = head >> 4 == 1;
                if let Some(init) = self.start() {
                    out.push(init);
                }
                if self.started.is_some_and(|(v, _)| v) {
                    let t = self.time(tag.timestamp_ms);
                    let duration = self.video_track.time(t);
                    let flags = if key { SYNC_SAMPLE } else { DELTA_SAMPLE };
                    out.push(self.fragment(VIDEO_TRACK, t, duration, flags, cts, data));
                }
            }
            TAG_AUDIO if head >> 4 == SOUND_AAC && !rest.is_empty() => {
                let data = &rest[1..];
                if rest[0] == 0 {
                    self.audio = audio_config(data);
                    return out;
                }
                if self.audio.is_none() {
                    return out;
                }
                if let Some(init) = self.start() {
                    out.push(init);
                }
                if self.started.is_some_and(|(_, a)| a) {
                    let t = self.time(tag.timestamp_ms);
                    let rate = self.audio.as_ref().map_or(48_000, |a| a.rate);
                    let at = self.audio_time(t, rate);
                    out.push(self.fragment(AUDIO_TRACK, at, AAC_FRAME, SYNC_SAMPLE, 0, data));
                }
            }
            _ => {}
        }
        out
    }

    /// An AAC frame's start in samples: the frames play end to end. FLV's
    /// timestamps are only roughly the sound's (in milliseconds, and muxers
    /// stamp a burst of frames alike: the demo's come on the pictures'
    /// 33 ms steps, two at a time); taken as they are, the overlaps and gaps
    /// stalled Chromium's player. A timestamp half a second off (a new
    /// stream, a lost stretch) starts the count anew.
    fn audio_time(&mut self, ms: u64, rate: u32) -> u64 {
        let from_ms = ms * u64::from(rate) / 1000;
        let at = match self.next_audio {
            Some(next) if next.abs_diff(from_ms) <= u64::from(rate / 2) => next,
            _ => from_ms,
        };
        self.next_audio = Some(at + u64::from(AAC_FRAME));
        at
    }

    fn time(&mut self, ms: u32) -> u64 {
        let first = *self.first_ms.get_or_insert(ms);
        u64::from(ms.wrapping_sub(first))
    }

    /// The initialisation segment, the first time a sample comes.
    fn start(&mut self) -> Option<Fmp4> {
        if self.started.is_some() {
            return None;
        }
        let (video, audio) = (self.video.as_ref(), self.audio.as_ref());
        self.started = Some((video.is_some(), audio.is_some()));
        let codecs: Vec<&str> = video
            .map(|v| v.codec.as_str())
            .into_iter()
            .chain(audio.map(|a| a.codec.as_str()))
            .collect();
        let mime = format!("video/mp4; codecs=\"{}\"", codecs.join(","));
        let mut b = BytesMut::new();
        boxed(&mut b, *b"ftyp", |b| {
            b.put_slice(b"isom");
            b.put_u32(0x200);
            for brand in [b"isom", b"iso6", b"avc1", b"mp41"] {
                b.put_slice(brand);
            }
        });
        boxed(&mut b, *b"moov", |b| {
            full(b, *b"mvhd", 0, 0, |b| {
                b.put_u32(0); // creation
                b.put_u32(0); // modification
                b.put_u32(TIMESCALE);
                b.put_u32(0); // duration: unknown (live)
                b.put_u32(0x0001_0000); // rate 1.0
                b.put_u16(0x0100); // volume 1.0
                b.put_bytes(0, 10);
                matrix(b);
                b.put_bytes(0, 24);
                b.put_u32(AUDIO_TRACK + 1); // next track id
            });
            if let Some(v) = video {
                trak(
                    b,
                    VIDEO_TRACK,
                    TIMESCALE,
                    Some((v.width, v.height)),
                    |b| {
                        full(b, *b"vmhd", 0, 1, |b| b.put_bytes(0, 8));
                    },
                    |b| avc1(b, v),
                );
            }
            if let Some(a) = audio {
                trak(
                    b,
                    AUDIO_TRACK,
                    a.rate,
                    None,
                    |b| {
                        full(b, *b"smhd", 0, 0, |b| b.put_u32(0));
                    },
                    |b| mp4a(b, a),
                );
            }
            boxed(b, *b"mvex", |b| {
                for (id, present) in [
                    (VIDEO_TRACK, video.is_some()),
                    (AUDIO_TRACK, audio.is_some()),
                ] {
                    if present {
                        full(b, *b"trex", 0, 0, |b| {
                            b.put_u32(id);
                            b.put_u32(1); // sample description index
                            b.put_u32(0); // duration
                            b.put_u32(0); // size
                            b.put_u32(0); // flags
                        });
                    }
                }
            });
        });
        Some(Fmp4::Init {
            mime,
            segment: b.freeze(),
        })
    }

    fn fragment(
        &mut self,
        track: u32,
        decode_ms: u64,
        duration: u32,
        flags: u32,
        cts: i32,
        data: &[u8],
    ) -> Fmp4 {
        self.sequence += 1;
        let mut b = BytesMut::with_capacity(data.len() + 120);
        let mut offset_at = 0;
        boxed(&mut b, *b"moof", |b| {
            full(b, *b"mfhd", 0, 0, |b| b.put_u32(self.sequence));
            boxed(b, *b"traf", |b| {
                // default-base-is-moof: offsets count from this moof.
                full(b, *b"tfhd", 0, 0x02_0000, |b| b.put_u32(track));
                full(b, *b"tfdt", 1, 0, |b| b.put_u64(decode_ms));
                // data offset, duration, size, flags, composition offset
                // (version 1: signed).
                full(b, *b"trun", 1, 0x0f01, |b| {
                    b.put_u32(1);
                    offset_at = b.len();
                    b.put_u32(0);
                    b.put_u32(duration);
                    b.put_u32(u32::try_from(data.len()).unwrap_or(u32::MAX));
                    b.put_u32(flags);
                    b.put_i32(cts);
                });
            });
        });
        // The sample starts after the moof and the mdat's header.
        let data_offset = u32::try_from(b.len() + 8).unwrap_or(u32::MAX);
        b[offset_at..offset_at + 4].copy_from_slice(&data_offset.to_be_bytes());
        boxed(&mut b, *b"mdat", |b| b.put_slice(data));
        Fmp4::Fragment(b.freeze())
    }
}

/// FLV's composition time offset: a signed 24-bit big-endian count of ms.
fn composition_offset(b: &[u8]) -> i32 {
    let raw = (i32::from(b[0]) << 16) | (i32::from(b[1]) << 8) | i32::from(b[2]);
    (raw << 8) >> 8
}

/// The `AVCDecoderConfigurationRecord`: kept whole for `avcC`, with the
/// codec string and the picture's size from its first SPS.
fn video_config(c: &[u8]) -> Option<Video> {
    if c.len() < 8 || c[0] != 1 || c[5].trailing_zeros() >= 5 {
        return None;
    }
    let len = usize::from(u16::from_be_bytes([c[6], c[7]]));
    let sps = c.get(8..8 + len)?;
    let (width, height) = sps_size(sps)?;
    Some(Video {
        codec: format!("avc1.{:02x}{:02x}{:02x}", c[1], c[2], c[3]),
        avcc: Bytes::copy_from_slice(c),
        width,
        height,
    })
}

/// The picture's size a sequence parameter set gives (with its cropping).
fn sps_size(nal: &[u8]) -> Option<(u16, u16)> {
    use h264_reader::nal::sps::SeqParameterSet;
    use h264_reader::rbsp::{BitReader, decode_nal};
    let rbsp = decode_nal(nal).ok()?;
    let sps = SeqParameterSet::from_bits(BitReader::new(&rbsp[..])).ok()?;
    let (w, h) = sps.pixel_dimensions().ok()?;
    Some((u16::try_from(w).ok()?, u16::try_from(h).ok()?))
}

/// The `AudioSpecificConfig`: kept whole for `esds`, with the codec string,
/// the sample rate and the channel count.
fn audio_config(c: &[u8]) -> Option<Audio> {
    if c.len() < 2 {
        return None;
    }
    let object_type = c[0] >> 3;
    let rate_index = usize::from(((c[0] & 0x07) << 1) | (c[1] >> 7));
    let channels = u16::from((c[1] >> 3) & 0x0f);
    Some(Audio {
        codec: format!("mp4a.40.{object_type}"),
        config: Bytes::copy_from_slice(c),
        rate: *AAC_RATES.get(rate_index)?,
        channels: if channels == 0 { 2 } else { channels },
    })
}

#[cfg(test)]
mod tests;
