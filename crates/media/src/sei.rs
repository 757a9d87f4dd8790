//! H.264 SEI "user data unregistered" messages carrying a frame's capture
//! wall-clock time, so a player can measure glass-to-glass latency and time
//! overlays (product cards) to the picture it shows.
//!
//! Payload: our 16-byte UUID, then the capture time as big-endian u64
//! nanoseconds since the Unix epoch. Building applies emulation prevention;
//! parsing accepts Annex B (start codes) and AVC (length-prefixed) streams.

/// Identifies our SEI among any others in the stream ("livecart capture").
pub const CAPTURE_UUID: [u8; 16] = *b"livecart capture";

const NAL_SEI: u8 = 6;
const USER_DATA_UNREGISTERED: u8 = 5;

/// An Annex B SEI NAL unit (with its 4-byte start code) stating the capture time.
pub fn capture_sei(unix_ns: u64) -> Vec<u8> {
    let mut rbsp = Vec::with_capacity(32);
    rbsp.push(USER_DATA_UNREGISTERED);
    rbsp.push(24); // payload size: UUID + u64
    rbsp.extend_from_slice(&CAPTURE_UUID);
    rbsp.extend_from_slice(&unix_ns.to_be_bytes());
    rbsp.push(0x80); // rbsp_trailing_bits
    let mut nal = vec![0, 0, 0, 1, NAL_SEI];
    escape_into(&rbsp, &mut nal);
    nal
}

/// Inserts emulation-prevention bytes: no 00 00 0x (x ≤ 3) may appear.
fn escape_into(rbsp: &[u8], out: &mut Vec<u8>) {
    let mut zeros = 0;
    for &b in rbsp {
        if zeros >= 2 && b <= 3 {
            out.push(3);
            zeros = 0;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
}

fn unescape(ebsp: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ebsp.len());
    let mut zeros = 0;
    for &b in ebsp {
        if zeros >= 2 && b == 3 {
            zeros = 0;
            continue;
        }
        out.push(b);
        zeros = if b == 0 { zeros + 1 } else { 0 };
    }
    out
}

/// How NAL units are delimited in a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NalFormat {
    /// 00 00 01 / 00 00 00 01 start codes (byte-stream).
    AnnexB,
    /// Big-endian length prefixes of the given size (avc, from FLV/MP4).
    Avc { length_size: usize },
}

/// The NAL units of one access unit.
pub fn nal_units(data: &[u8], format: NalFormat) -> Vec<&[u8]> {
    match format {
        NalFormat::AnnexB => {
            let mut starts = Vec::new();
            let mut i = 0;
            while i + 3 <= data.len() {
                if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
                    starts.push(i + 3);
                    i += 3;
                } else {
                    i += 1;
                }
            }
            starts
                .iter()
                .enumerate()
                .map(|(k, &s)| {
                    let mut end = starts.get(k + 1).map_or(data.len(), |&n| n - 3);
                    // A 4-byte start code leaves a zero before the next 00 00 01.
                    while end > s && data[end - 1] == 0 && k + 1 < starts.len() {
                        end -= 1;
                    }
                    &data[s..end]
                })
                .collect()
        }
        NalFormat::Avc { length_size } => {
            let mut out = Vec::new();
            let mut i = 0;
            while i + length_size <= data.len() {
                let len = data[i..i + length_size]
                    .iter()
                    .fold(0usize, |a, &b| (a << 8) | usize::from(b));
                i += length_size;
                if i + len > data.len() {
                    break;
                }
                out.push(&data[i..i + len]);
                i += len;
            }
            out
        }
    }
}

/// The capture time (Unix ns) our SEI states, if the access unit carries one.
pub fn find_capture_time(data: &[u8], format: NalFormat) -> Option<u64> {
    nal_units(data, format)
        .into_iter()
        .filter(|n| n.first().is_some_and(|h| h & 0x1f == NAL_SEI))
        .find_map(|n| parse_sei(&unescape(&n[1..])))
}

fn parse_sei(rbsp: &[u8]) -> Option<u64> {
    let mut i = 0;
    // Several SEI messages may share one NAL; stop at the trailing bits.
    while i < rbsp.len() && rbsp[i] != 0x80 {
        let mut ty = 0usize;
        while *rbsp.get(i)? == 0xff {
            ty += 255;
            i += 1;
        }
        ty += usize::from(*rbsp.get(i)?);
        i += 1;
        let mut size = 0usize;
        while *rbsp.get(i)? == 0xff {
            size += 255;
            i += 1;
        }
        size += usize::from(*rbsp.get(i)?);
        i += 1;
        let payload = rbsp.get(i..i + size)?;
        if ty == usize::from(USER_DATA_UNREGISTERED) && size >= 24 && payload[..16] == CAPTURE_UUID
        {
            return Some(u64::from_be_bytes(payload[16..24].try_into().ok()?));
        }
        i += size;
    }
    None
}

/// Whether an access unit holds an IDR slice (a keyframe).
pub fn is_keyframe(data: &[u8], format: NalFormat) -> bool {
    nal_units(data, format)
        .iter()
        .any(|n| n.first().is_some_and(|h| h & 0x1f == 5))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_annex_b_with_other_nals_around() {
        for ns in [
            0u64,
            1,
            0x0000_0000_0300_0001,
            1_763_800_000_123_456_789,
            u64::MAX,
        ] {
            let mut au = vec![0, 0, 0, 1, 0x09, 0xf0]; // access unit delimiter
            au.extend(capture_sei(ns));
            au.extend([0, 0, 1, 0x65, 0x88, 0x84, 0x00, 0x00, 0x03, 0x01]); // IDR slice
            assert_eq!(
                find_capture_time(&au, NalFormat::AnnexB),
                Some(ns),
                "{ns:#x}"
            );
            assert!(is_keyframe(&au, NalFormat::AnnexB));
        }
    }

    #[test]
    fn zero_runs_in_the_time_are_escaped() {
        let nal = capture_sei(0);
        let body = &nal[4..];
        assert!(
            !body.windows(3).any(|w| w[0] == 0 && w[1] == 0 && w[2] <= 2),
            "{body:x?}"
        );
    }

    #[test]
    fn reads_length_prefixed_streams_and_ignores_foreign_sei() {
        let ours = &capture_sei(42)[4..];
        // A foreign user-data SEI with another UUID comes first.
        let mut foreign = vec![NAL_SEI, 5, 24];
        foreign.extend([0x11; 16]);
        foreign.extend(7u64.to_be_bytes());
        foreign.push(0x80);
        let mut au = Vec::new();
        for nal in [&foreign[..], ours, &[0x41, 0x9a, 0x01][..]] {
            au.extend((nal.len() as u32).to_be_bytes());
            au.extend_from_slice(nal);
        }
        assert_eq!(
            find_capture_time(&au, NalFormat::Avc { length_size: 4 }),
            Some(42)
        );
        assert!(!is_keyframe(&au, NalFormat::Avc { length_size: 4 }));
    }

    #[test]
    fn garbage_never_panics() {
        for len in 0..64 {
            let junk: Vec<u8> = (0..len).map(|i| (i * 37 % 7) as u8).collect();
            let _ = find_capture_time(&junk, NalFormat::AnnexB);
            let _ = find_capture_time(&junk, NalFormat::Avc { length_size: 4 });
        }
    }
}
