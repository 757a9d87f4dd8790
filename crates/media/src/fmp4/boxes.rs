//! The ISO BMFF boxes the muxer writes (ISO/IEC 14496-12; `esds` from
//! 14496-1): a box is its size, its type and its body, written in place and
//! sized after.

use bytes::{BufMut, Bytes, BytesMut};

/// A video track's configuration.
pub(super) struct Video {
    pub(super) codec: String,
    pub(super) avcc: Bytes,
    pub(super) width: u16,
    pub(super) height: u16,
}

/// A sound track's configuration.
pub(super) struct Audio {
    pub(super) codec: String,
    pub(super) config: Bytes,
    pub(super) rate: u32,
    pub(super) channels: u16,
}

/// A box: its size, its type, what `body` writes.
pub(super) fn boxed(b: &mut BytesMut, kind: [u8; 4], body: impl FnOnce(&mut BytesMut)) {
    let start = b.len();
    b.put_u32(0);
    b.put_slice(&kind);
    body(b);
    let size = u32::try_from(b.len() - start).unwrap_or(u32::MAX);
    b[start..start + 4].copy_from_slice(&size.to_be_bytes());
}

/// A full box: a box with a version and 24 bits of flags.
pub(super) fn full(
    b: &mut BytesMut,
    kind: [u8; 4],
    version: u8,
    flags: u32,
    body: impl FnOnce(&mut BytesMut),
) {
    boxed(b, kind, |b| {
        b.put_u32((u32::from(version) << 24) | (flags & 0x00ff_ffff));
        body(b);
    });
}

pub(super) fn matrix(b: &mut BytesMut) {
    for v in [0x0001_0000, 0, 0, 0, 0x0001_0000, 0, 0, 0, 0x4000_0000_u32] {
        b.put_u32(v);
    }
}

/// A track: header, media header, handler, and the sample description
/// `entry` writes (the sample tables are empty: the samples are in fragments).
pub(super) fn trak(
    b: &mut BytesMut,
    id: u32,
    timescale: u32,
    size: Option<(u16, u16)>,
    media_header: impl FnOnce(&mut BytesMut),
    entry: impl FnOnce(&mut BytesMut),
) {
    boxed(b, *b"trak", |b| {
        // enabled, in movie
        full(b, *b"tkhd", 0, 3, |b| {
            b.put_u32(0);
            b.put_u32(0);
            b.put_u32(id);
            b.put_u32(0);
            b.put_u32(0); // duration
            b.put_bytes(0, 8);
            b.put_u16(0); // layer
            b.put_u16(0); // alternate group
            b.put_u16(if size.is_some() { 0 } else { 0x0100 }); // volume
            b.put_u16(0);
            matrix(b);
            let (w, h) = size.unwrap_or((0, 0));
            b.put_u32(u32::from(w) << 16);
            b.put_u32(u32::from(h) << 16);
        });
        boxed(b, *b"mdia", |b| {
            full(b, *b"mdhd", 0, 0, |b| {
                b.put_u32(0);
                b.put_u32(0);
                b.put_u32(timescale);
                b.put_u32(0);
                b.put_u16(0x55c4); // language: und
                b.put_u16(0);
            });
            full(b, *b"hdlr", 0, 0, |b| {
                b.put_u32(0);
                b.put_slice(if size.is_some() { b"vide" } else { b"soun" });
                b.put_bytes(0, 12);
                b.put_slice(if size.is_some() {
                    b"video\0"
                } else {
                    b"sound\0"
                });
            });
            boxed(b, *b"minf", |b| {
                media_header(b);
                boxed(b, *b"dinf", |b| {
                    full(b, *b"dref", 0, 0, |b| {
                        b.put_u32(1);
                        full(b, *b"url ", 0, 1, |_| {}); // in this file
                    });
                });
                boxed(b, *b"stbl", |b| {
                    full(b, *b"stsd", 0, 0, |b| {
                        b.put_u32(1);
                        entry(b);
                    });
                    for kind in [*b"stts", *b"stsc", *b"stco"] {
                        full(b, kind, 0, 0, |b| b.put_u32(0));
                    }
                    full(b, *b"stsz", 0, 0, |b| {
                        b.put_u32(0);
                        b.put_u32(0);
                    });
                });
            });
        });
    });
}

pub(super) fn avc1(b: &mut BytesMut, v: &Video) {
    boxed(b, *b"avc1", |b| {
        b.put_bytes(0, 6);
        b.put_u16(1); // data reference index
        b.put_bytes(0, 16);
        b.put_u16(v.width);
        b.put_u16(v.height);
        b.put_u32(0x0048_0000); // 72 dpi
        b.put_u32(0x0048_0000);
        b.put_u32(0);
        b.put_u16(1); // frames per sample
        b.put_bytes(0, 32); // compressor name
        b.put_u16(0x18); // depth
        b.put_i16(-1);
        boxed(b, *b"avcC", |b| b.put_slice(&v.avcc));
    });
}

pub(super) fn mp4a(b: &mut BytesMut, a: &Audio) {
    boxed(b, *b"mp4a", |b| {
        b.put_bytes(0, 6);
        b.put_u16(1);
        b.put_bytes(0, 8);
        b.put_u16(a.channels);
        b.put_u16(16);
        b.put_u32(0);
        b.put_u32(a.rate.min(0xffff) << 16);
        full(b, *b"esds", 0, 0, |b| {
            let config = &a.config;
            let len = |n: usize| u8::try_from(n).unwrap_or(u8::MAX);
            // ES_Descriptor { id 1, DecoderConfigDescriptor { AAC (0x40),
            // audio stream (0x15), DecoderSpecificInfo: the config },
            // SLConfigDescriptor { 2 } }
            b.put_u8(0x03);
            b.put_u8(len(23 + config.len()));
            b.put_u16(1);
            b.put_u8(0);
            b.put_u8(0x04);
            b.put_u8(len(15 + config.len()));
            b.put_u8(0x40);
            b.put_u8(0x15);
            b.put_bytes(0, 3); // buffer size
            b.put_u32(0); // max bitrate
            b.put_u32(0); // average bitrate
            b.put_u8(0x05);
            b.put_u8(len(config.len()));
            b.put_slice(config);
            b.put_u8(0x06);
            b.put_u8(1);
            b.put_u8(2);
        });
    });
}
