//! Access units over WebSocket: the media origin's stream for players that
//! decode with WebCodecs (the web app). Each FLV tag from a room's hub becomes
//! one binary message a browser can hand to `VideoDecoder` or `AudioDecoder`
//! as it is, with no demuxing in JavaScript.
//!
//! Message (little endian), the desktop page's framing (src/video.rs) with a
//! longer header:
//!
//! | bytes | field |
//! |---|---|
//! | 0 | kind: 1 = H.264 access unit (Annex B), 3 = AAC |
//! | 1 | flags: 1 = keyframe, 2 = late (decode, do not show or play), 4 = decoder configuration |
//! | 2–5 | width, height (u16 each; 0: read it from the stream) |
//! | 6 | length of the codec string |
//! | 7 | header length: 24 (the desktop's 16-byte header has 0 here) |
//! | 8–15 | capture time, Unix ms as f64, from the frame's SEI; NaN if none |
//! | 16–23 | presentation time in ms as f64, on the source's clock |
//! | 24– | the codec string (`avc1.64001f`, `mp4a.40.2`), then the payload |
//!
//! Video keyframes carry SPS and PPS in front (Annex B), so a decoder
//! configured with the codec string alone can start at any keyframe. AAC
//! frames are raw; the `AudioSpecificConfig` comes first as its own message
//! with the configuration flag, for `AudioDecoder`'s `description`.

use crate::flv::Tag;
use crate::sei::{NalFormat, find_capture_time};
use bytes::{BufMut, Bytes, BytesMut};

pub const KIND_VIDEO: u8 = 1;
pub const KIND_AUDIO: u8 = 3;
pub const FLAG_KEY: u8 = 1;
pub const FLAG_LATE: u8 = 2;
pub const FLAG_CONFIG: u8 = 4;
pub const HEADER_LEN: usize = 24;

const TAG_AUDIO: u8 = 8;
const TAG_VIDEO: u8 = 9;
const CODEC_AVC: u8 = 7;
const SOUND_AAC: u8 = 10;
const START_CODE: [u8; 4] = [0, 0, 0, 1];

struct Video {
    codec: String,
    length_size: usize,
    /// SPS and PPS, each behind a start code.
    parameter_sets: Vec<u8>,
}

/// Turns a stream's FLV tags into access-unit messages. One per viewer: it
/// remembers the codec configuration the stream sent first.
#[derive(Default)]
pub struct AuFramer {
    video: Option<Video>,
    audio_codec: Option<String>,
}

impl AuFramer {
    /// The message for one tag, if it is one a player needs (metadata, codec
    /// configuration already folded into keyframes, and codecs a browser's
    /// decoders are not sent in FLV are skipped). `late`: part of the group of
    /// pictures a viewer joins with, to decode but not show.
    pub fn frame(&mut self, tag: &Tag, late: bool) -> Option<Bytes> {
        let payload = tag.payload();
        match tag.kind {
            TAG_VIDEO => self.video(tag, payload, late),
            TAG_AUDIO => self.audio(tag, payload, late),
            _ => None,
        }
    }

    fn video(&mut self, tag: &Tag, payload: &[u8], late: bool) -> Option<Bytes> {
        let (&head, rest) = payload.split_first()?;
        if head & 0x0f != CODEC_AVC || rest.len() < 4 {
            return None;
        }
        let packet_type = rest[0];
        let cts = composition_offset(&rest[1..4]);
        let data = &rest[4..];
        match packet_type {
            0 => {
                self.video = parse_avcc(data);
                None
            }
            1 => {
                let video = self.video.as_ref()?;
                let format = NalFormat::Avc {
                    length_size: video.length_size,
                };
                let key = head >> 4 == 1;
                let capture_ms = find_capture_time(data, format).map(|ns| ns as f64 / 1e6);
                let mut body = Vec::with_capacity(data.len() + video.parameter_sets.len() + 16);
                if key {
                    body.extend_from_slice(&video.parameter_sets);
                }
                for nal in crate::sei::nal_units(data, format) {
                    body.extend_from_slice(&START_CODE);
                    body.extend_from_slice(nal);
                }
                let flags = (u8::from(key) * FLAG_KEY) | (u8::from(late) * FLAG_LATE);
                let pts = f64::from(tag.timestamp_ms) + f64::from(cts);
                Some(message(
                    KIND_VIDEO,
                    flags,
                    capture_ms,
                    pts,
                    &video.codec,
                    &body,
                ))
            }
            _ => None,
        }
    }

    fn audio(&mut self, tag: &Tag, payload: &[u8], late: bool) -> Option<Bytes> {
        let (&head, rest) = payload.split_first()?;
        if head >> 4 != SOUND_AAC {
            return None;
        }
        let (&packet_type, data) = rest.split_first()?;
        let pts = f64::from(tag.timestamp_ms);
        if packet_type == 0 {
            // AudioSpecificConfig: the object type is its first five bits.
            let object_type = data.first()? >> 3;
            let codec = format!("mp4a.40.{object_type}");
            let msg = message(KIND_AUDIO, FLAG_CONFIG, None, pts, &codec, data);
            self.audio_codec = Some(codec);
            return Some(msg);
        }
        let codec = self.audio_codec.as_deref()?;
        let flags = u8::from(late) * FLAG_LATE;
        Some(message(KIND_AUDIO, flags, None, pts, codec, data))
    }
}

/// FLV's composition time offset: a signed 24-bit big-endian count of ms.
fn composition_offset(b: &[u8]) -> i32 {
    let raw = (i32::from(b[0]) << 16) | (i32::from(b[1]) << 8) | i32::from(b[2]);
    (raw << 8) >> 8
}

/// The `AVCDecoderConfigurationRecord`: the codec string, the NAL length
/// size and the parameter sets.
fn parse_avcc(c: &[u8]) -> Option<Video> {
    if c.len() < 7 || c[0] != 1 {
        return None;
    }
    let codec = format!("avc1.{:02x}{:02x}{:02x}", c[1], c[2], c[3]);
    let length_size = usize::from(c[4] & 3) + 1;
    let mut parameter_sets = Vec::new();
    let mut i = 5;
    for mask in [0x1f, 0xff] {
        let count = c.get(i)? & mask;
        i += 1;
        for _ in 0..count {
            let len = usize::from(u16::from_be_bytes([*c.get(i)?, *c.get(i + 1)?]));
            i += 2;
            parameter_sets.extend_from_slice(&START_CODE);
            parameter_sets.extend_from_slice(c.get(i..i + len)?);
            i += len;
        }
    }
    Some(Video {
        codec,
        length_size,
        parameter_sets,
    })
}

fn message(
    kind: u8,
    flags: u8,
    capture_ms: Option<f64>,
    pts_ms: f64,
    codec: &str,
    payload: &[u8],
) -> Bytes {
    let codec = &codec.as_bytes()[..codec.len().min(255)];
    let mut b = BytesMut::with_capacity(HEADER_LEN + codec.len() + payload.len());
    b.put_u8(kind);
    b.put_u8(flags);
    b.put_u16_le(0);
    b.put_u16_le(0);
    b.put_u8(codec.len() as u8);
    b.put_u8(HEADER_LEN as u8);
    b.put_f64_le(capture_ms.unwrap_or(f64::NAN));
    b.put_f64_le(pts_ms);
    b.put_slice(codec);
    b.put_slice(payload);
    b.freeze()
}

/// A message read back (tests, and any Rust client of the origin).
#[derive(Debug, Clone, PartialEq)]
pub struct AuMessage<'a> {
    pub kind: u8,
    pub flags: u8,
    pub capture_ms: Option<f64>,
    pub pts_ms: f64,
    pub codec: &'a str,
    pub payload: &'a [u8],
}

impl<'a> AuMessage<'a> {
    pub fn parse(b: &'a [u8]) -> Option<Self> {
        let header = usize::from(*b.get(7)?);
        if header < HEADER_LEN || b.len() < header {
            return None;
        }
        let f64_at = |i: usize| f64::from_le_bytes(b[i..i + 8].try_into().unwrap_or_default());
        let codec_len = usize::from(b[6]);
        let codec = std::str::from_utf8(b.get(header..header + codec_len)?).ok()?;
        let capture = f64_at(8);
        Some(Self {
            kind: b[0],
            flags: b[1],
            capture_ms: (!capture.is_nan()).then_some(capture),
            pts_ms: f64_at(16),
            codec,
            payload: &b[header + codec_len..],
        })
    }

    pub fn is_keyframe(&self) -> bool {
        self.flags & FLAG_KEY != 0
    }

    pub fn is_config(&self) -> bool {
        self.flags & FLAG_CONFIG != 0
    }

    pub fn is_late(&self) -> bool {
        self.flags & FLAG_LATE != 0
    }
}

#[cfg(test)]
#[allow(clippy::float_cmp)] // whole milliseconds: exact in f64
mod tests {
    use super::*;
    use crate::flv::FlvReader;
    use crate::flv::tests::tag;

    fn tags(stream: &[u8]) -> Vec<Tag> {
        let mut r = FlvReader::default();
        let mut all = vec![b'F', b'L', b'V', 1, 5, 0, 0, 0, 9, 0, 0, 0, 0];
        all.extend_from_slice(stream);
        r.push(&all).expect("flv").1
    }

    const SPS: &[u8] = &[0x67, 0x64, 0x00, 0x1f, 0xac];
    const PPS: &[u8] = &[0x68, 0xee, 0x3c, 0x80];

    fn avcc() -> Vec<u8> {
        let mut c = vec![0x17, 0, 0, 0, 0, 1, 0x64, 0x00, 0x1f, 0xff, 0xe1];
        c.extend((SPS.len() as u16).to_be_bytes());
        c.extend_from_slice(SPS);
        c.push(1);
        c.extend((PPS.len() as u16).to_be_bytes());
        c.extend_from_slice(PPS);
        c
    }

    fn nalu(key: bool, cts: u32, nals: &[&[u8]]) -> Vec<u8> {
        let mut p = vec![if key { 0x17 } else { 0x27 }, 1];
        p.extend_from_slice(&cts.to_be_bytes()[1..]);
        for n in nals {
            p.extend((n.len() as u32).to_be_bytes());
            p.extend_from_slice(n);
        }
        p
    }

    #[test]
    fn keyframes_become_annex_b_with_parameter_sets_and_keep_their_capture_time() {
        let sei = crate::sei::capture_sei(1_700_000_000_123_000_000);
        let idr: &[u8] = &[0x65, 0x88, 0x84];
        let mut stream = tag(TAG_VIDEO, 0, &avcc());
        stream.extend(tag(TAG_VIDEO, 40, &nalu(true, 80, &[&sei[4..], idr])));
        stream.extend(tag(
            TAG_VIDEO,
            73,
            &nalu(false, 0xff_ffdf, &[&[0x41, 0x9a]]),
        ));
        let mut framer = AuFramer::default();
        let out: Vec<Bytes> = tags(&stream)
            .iter()
            .filter_map(|t| framer.frame(t, false))
            .collect();
        assert_eq!(out.len(), 2, "the configuration is folded into keyframes");
        let key = AuMessage::parse(&out[0]).expect("parses");
        assert_eq!(key.kind, KIND_VIDEO);
        assert!(key.is_keyframe() && !key.is_late());
        assert_eq!(key.codec, "avc1.64001f");
        assert_eq!(key.pts_ms, 120.0);
        assert_eq!(key.capture_ms, Some(1_700_000_000_123.0));
        let mut want = vec![0, 0, 0, 1];
        want.extend_from_slice(SPS);
        want.extend([0, 0, 0, 1]);
        want.extend_from_slice(PPS);
        want.extend_from_slice(&sei);
        want.extend([0, 0, 0, 1]);
        want.extend_from_slice(idr);
        assert_eq!(key.payload, &want[..]);
        let inter = AuMessage::parse(&out[1]).expect("parses");
        assert!(!inter.is_keyframe());
        assert_eq!(inter.capture_ms, None);
        assert_eq!(inter.pts_ms, 40.0, "a negative composition offset");
        assert_eq!(inter.payload, &[0, 0, 0, 1, 0x41, 0x9a]);
    }

    #[test]
    fn aac_sends_its_configuration_first_then_raw_frames() {
        let mut stream = tag(TAG_AUDIO, 0, &[0xaf, 0, 0x11, 0x90]);
        stream.extend(tag(TAG_AUDIO, 21, &[0xaf, 1, 0xde, 0xad]));
        let mut framer = AuFramer::default();
        let out: Vec<Bytes> = tags(&stream)
            .iter()
            .filter_map(|t| framer.frame(t, true))
            .collect();
        let config = AuMessage::parse(&out[0]).expect("parses");
        assert_eq!((config.kind, config.codec), (KIND_AUDIO, "mp4a.40.2"));
        assert!(config.is_config());
        assert_eq!(config.payload, &[0x11, 0x90]);
        let frame = AuMessage::parse(&out[1]).expect("parses");
        assert!(frame.is_late() && !frame.is_config());
        assert_eq!((frame.pts_ms, frame.payload), (21.0, &[0xde, 0xad][..]));
    }

    #[test]
    fn frames_before_their_configuration_and_other_codecs_are_skipped_never_panic() {
        let mut framer = AuFramer::default();
        let mut stream = tag(TAG_VIDEO, 0, &nalu(true, 0, &[&[0x65]]));
        stream.extend(tag(TAG_AUDIO, 0, &[0xaf, 1, 1]));
        // HEVC (codec id 12), MP3 (sound format 2), metadata, truncated tags.
        stream.extend(tag(TAG_VIDEO, 0, &[0x1c, 1, 0, 0, 0, 1]));
        stream.extend(tag(TAG_AUDIO, 0, &[0x2f, 1]));
        stream.extend(tag(18, 0, b"meta"));
        stream.extend(tag(TAG_VIDEO, 0, &[0x17]));
        stream.extend(tag(TAG_VIDEO, 0, &[0x17, 0, 0, 0, 0, 1, 2]));
        stream.extend(tag(TAG_AUDIO, 0, &[0xaf]));
        stream.extend(tag(TAG_AUDIO, 0, &[0xaf, 0]));
        for t in tags(&stream) {
            assert!(framer.frame(&t, false).is_none());
        }
        // Lengths that run past the tag end the access unit, not the viewer.
        framer.frame(&tags(&tag(TAG_VIDEO, 0, &avcc()))[0], false);
        let bad = nalu(true, 0, &[&[0x65; 3]]);
        let mut cut = bad.clone();
        cut[5] = 0x7f;
        assert!(
            framer
                .frame(&tags(&tag(TAG_VIDEO, 0, &cut))[0], false)
                .is_some()
        );
        assert!(AuMessage::parse(&[1, 0, 0]).is_none());
    }
}
