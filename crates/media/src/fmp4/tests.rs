//! The muxer's output read back: boxes where they belong, samples copied,
//! times on one clock.

use super::*;

// x264's SPS and PPS for 640×360 (coded 640×368, cropped), High profile.
const SPS: &str = "6764001eacd940a02ff970110000030001000003003c0f162d96";
const PPS: &str = "68ebe3cb22c0";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

fn tag(kind: u8, timestamp_ms: u32, payload: &[u8]) -> Tag {
    let mut bytes = vec![0; 11];
    bytes.extend_from_slice(payload);
    bytes.extend_from_slice(&[0; 4]);
    Tag {
        kind,
        timestamp_ms,
        bytes: Bytes::from(bytes),
    }
}

fn avc_config() -> Tag {
    let (sps, pps) = (hex(SPS), hex(PPS));
    let mut p = vec![0x17, 0, 0, 0, 0, 1, sps[1], sps[2], sps[3], 0xff, 0xe1];
    p.extend_from_slice(&(sps.len() as u16).to_be_bytes());
    p.extend_from_slice(&sps);
    p.push(1);
    p.extend_from_slice(&(pps.len() as u16).to_be_bytes());
    p.extend_from_slice(&pps);
    tag(TAG_VIDEO, 0, &p)
}

/// A picture: the FLV header bytes, then one length-prefixed NAL unit.
fn picture(ms: u32, key: bool, nal: &[u8]) -> (Tag, Vec<u8>) {
    let mut sample = (nal.len() as u32).to_be_bytes().to_vec();
    sample.extend_from_slice(nal);
    let mut p = vec![if key { 0x17 } else { 0x27 }, 1, 0, 0, 0];
    p.extend_from_slice(&sample);
    (tag(TAG_VIDEO, ms, &p), sample)
}

fn aac(ms: u32, config: bool, data: &[u8]) -> Tag {
    let mut p = vec![0xaf, u8::from(!config)];
    p.extend_from_slice(data);
    tag(TAG_AUDIO, ms, &p)
}

fn find(hay: &[u8], kind: [u8; 4]) -> usize {
    hay.windows(4)
        .position(|w| w == kind)
        .expect("the box is there")
}

fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_be_bytes(b[i..i + 4].try_into().expect("4 bytes"))
}

/// The fragment's sample as its `moof` places it, and its `tfdt` time.
fn sample_of(f: &[u8]) -> (&[u8], u64) {
    let moof = u32_at(f, 0) as usize;
    assert_eq!(&f[4..8], b"moof");
    assert_eq!(&f[moof + 4..moof + 8], b"mdat");
    assert_eq!(
        u32_at(f, moof) as usize,
        f.len() - moof,
        "mdat runs to the end"
    );
    let trun = find(f, *b"trun");
    let offset = u32_at(f, trun + 12) as usize;
    let size = u32_at(f, trun + 20) as usize;
    let tfdt = find(f, *b"tfdt");
    let time = u64::from_be_bytes(f[tfdt + 8..tfdt + 16].try_into().expect("8 bytes"));
    (&f[offset..offset + size], time)
}

#[test]
fn the_first_sample_brings_the_init_segment_then_each_sample_is_a_fragment() {
    let mut m = Fmp4Muxer::default();
    assert!(
        m.push(&avc_config()).is_empty(),
        "configuration adds nothing"
    );
    assert!(m.push(&aac(0, true, &[0x11, 0x90])).is_empty());
    let (key, key_sample) = picture(1000, true, &[0x65, 1, 2, 3]);
    let out = m.push(&key);
    let [Fmp4::Init { mime, segment }, Fmp4::Fragment(first)] = &out[..] else {
        panic!("init, then the picture: {out:?}");
    };
    assert_eq!(mime, "video/mp4; codecs=\"avc1.64001e,mp4a.40.2\"");
    assert_eq!(&segment[4..8], b"ftyp");
    let moov = u32_at(segment, 0) as usize;
    assert_eq!(&segment[moov + 4..moov + 8], b"moov");
    assert_eq!(u32_at(segment, moov) as usize, segment.len() - moov);
    // (the first "avc1" is ftyp's brand)
    let stsd = find(segment, *b"stsd");
    let avc1 = stsd + find(&segment[stsd..], *b"avc1");
    let size = |at: usize| u16::from_be_bytes([segment[at], segment[at + 1]]);
    assert_eq!(
        (size(avc1 + 28), size(avc1 + 30)),
        (640, 360),
        "the SPS's cropped size"
    );
    let esds = find(segment, *b"esds");
    assert!(
        segment[esds..].windows(2).any(|w| w == [0x11, 0x90]),
        "the AAC config"
    );
    assert_eq!(sample_of(first), (&key_sample[..], 0), "copied, at time 0");

    let (next, next_sample) = picture(1033, false, &[0x41, 9, 9]);
    let [Fmp4::Fragment(f)] = &m.push(&next)[..] else {
        panic!("one fragment");
    };
    assert_eq!(sample_of(f), (&next_sample[..], 33), "33 ms later");
    let [Fmp4::Fragment(a)] = &m.push(&aac(1040, false, &[7, 7, 7]))[..] else {
        panic!("one fragment");
    };
    assert_eq!(
        sample_of(a),
        (&[7, 7, 7][..], 40 * 48),
        "the sound, on the same clock, in samples at 48 kHz"
    );
    let [Fmp4::Fragment(a2)] = &m.push(&aac(1061, false, &[8]))[..] else {
        panic!("one fragment");
    };
    assert_eq!(
        sample_of(a2).1,
        40 * 48 + 1024,
        "end to end, not FLV's 21 ms"
    );
    let seq = |f: &[u8]| u32_at(f, find(f, *b"mfhd") + 8);
    assert_eq!((seq(first), seq(f), seq(a)), (1, 2, 3), "numbered in order");
}

#[test]
fn other_codecs_and_a_track_that_comes_late_are_left_out() {
    let mut m = Fmp4Muxer::default();
    assert!(m.push(&aac(0, false, &[1])).is_empty(), "no config yet");
    m.push(&avc_config());
    let (key, _) = picture(0, true, &[0x65, 1]);
    let out = m.push(&key);
    let Fmp4::Init { mime, .. } = &out[0] else {
        panic!("init first");
    };
    assert_eq!(mime, "video/mp4; codecs=\"avc1.64001e\"", "video only");
    m.push(&aac(10, true, &[0x11, 0x90]));
    assert!(
        m.push(&aac(20, false, &[1])).is_empty(),
        "a track the init segment did not declare"
    );
    // HEVC in FLV (codec id 12): not given here.
    assert!(
        m.push(&tag(TAG_VIDEO, 40, &[0x1c, 1, 0, 0, 0, 1]))
            .is_empty()
    );
}
