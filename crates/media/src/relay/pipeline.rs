//! The relay's pipeline: the source, parsebin's streams through their
//! parsers to appsinks, and the FLV tags written from what they hand over.

use super::output::{OnOutput, RelayOutput, RelayState, lock};
use crate::runtime::MediaError;
use bytes::{BufMut, BytesMut};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// The FLV stream being written: one per connection.
struct Writer {
    on_output: OnOutput,
    started: bool,
    /// The first timestamp seen (either stream), FLV time zero.
    base: Option<gst::ClockTime>,
    video_config: Option<gst::Buffer>,
    audio_config: Option<gst::Buffer>,
}

const TAG_AUDIO: u8 = 8;
const TAG_VIDEO: u8 = 9;

impl Writer {
    fn ms(&mut self, t: Option<gst::ClockTime>) -> u32 {
        let Some(t) = t else { return 0 };
        let base = *self.base.get_or_insert(t);
        (t.saturating_sub(base).mseconds() & 0xffff_ffff) as u32
    }

    fn tag(out: &mut BytesMut, kind: u8, ts: u32, data: &[&[u8]]) {
        let size: usize = data.iter().map(|d| d.len()).sum();
        out.put_u8(kind);
        out.put_uint(size as u64, 3);
        out.put_uint(u64::from(ts & 0x00ff_ffff), 3);
        out.put_u8((ts >> 24) as u8);
        out.put_uint(0, 3);
        for d in data {
            out.put_slice(d);
        }
        out.put_u32((11 + size) as u32);
    }

    /// Hands `tags` over, behind the FLV header if they are the stream's
    /// first (so the header never goes out without a tag, nor is lost).
    fn emit(&mut self, tags: &[u8]) {
        if self.started {
            (self.on_output)(RelayOutput::Flv(tags));
            return;
        }
        self.started = true;
        (self.on_output)(RelayOutput::NewStream);
        let mut out = BytesMut::with_capacity(13 + tags.len());
        out.put_slice(b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00");
        out.put_slice(tags);
        (self.on_output)(RelayOutput::Flv(&out));
    }

    fn video(&mut self, caps: Option<&gst::CapsRef>, buffer: &gst::BufferRef) {
        let mut out = BytesMut::new();
        let dts = buffer.dts().or(buffer.pts());
        let ts = self.ms(dts);
        if let Some(config) = codec_data(caps)
            && self.video_config.as_ref() != Some(&config)
        {
            if let Ok(map) = config.map_readable() {
                Self::tag(
                    &mut out,
                    TAG_VIDEO,
                    ts,
                    &[&[0x17, 0, 0, 0, 0], map.as_slice()],
                );
            }
            self.video_config = Some(config);
        }
        if self.video_config.is_none() {
            return;
        }
        let key = !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT);
        let cts = match (buffer.pts(), dts) {
            (Some(p), Some(d)) => (p.mseconds() as i64 - d.mseconds() as i64) as i32,
            _ => 0,
        };
        let Ok(map) = buffer.map_readable() else {
            return;
        };
        let head = [
            if key { 0x17 } else { 0x27 },
            1,
            (cts >> 16) as u8,
            (cts >> 8) as u8,
            cts as u8,
        ];
        Self::tag(&mut out, TAG_VIDEO, ts, &[&head, map.as_slice()]);
        self.emit(&out);
    }

    fn audio(&mut self, caps: Option<&gst::CapsRef>, buffer: &gst::BufferRef) {
        let mut out = BytesMut::new();
        let ts = self.ms(buffer.pts().or(buffer.dts()));
        if let Some(config) = codec_data(caps)
            && self.audio_config.as_ref() != Some(&config)
        {
            if let Ok(map) = config.map_readable() {
                Self::tag(&mut out, TAG_AUDIO, ts, &[&[0xaf, 0], map.as_slice()]);
            }
            self.audio_config = Some(config);
        }
        if self.audio_config.is_none() {
            return;
        }
        let Ok(map) = buffer.map_readable() else {
            return;
        };
        Self::tag(&mut out, TAG_AUDIO, ts, &[&[0xaf, 1], map.as_slice()]);
        self.emit(&out);
    }
}

fn codec_data(caps: Option<&gst::CapsRef>) -> Option<gst::Buffer> {
    caps?.structure(0)?.get::<gst::Buffer>("codec_data").ok()
}

fn make(name: &str) -> Result<gst::Element, MediaError> {
    gst::ElementFactory::make(name)
        .build()
        .map_err(|_| MediaError::MissingElement(name.to_owned()))
}

fn caps(s: &str) -> gst::Caps {
    s.parse().unwrap_or_else(|_| gst::Caps::new_any())
}

pub(super) fn build(
    uri: &str,
    on_output: &OnOutput,
    flowing: &Arc<AtomicBool>,
    last_sample: &Arc<AtomicU64>,
    state: &tokio::sync::watch::Sender<RelayState>,
) -> Result<gst::Pipeline, MediaError> {
    let pipeline = gst::Pipeline::new();
    let src = make("urisourcebin")?;
    src.set_property("uri", uri);
    // No redirects: the server checked the host it was given, not wherever
    // that host would send it (an address inside our network).
    src.connect("source-setup", false, |values| {
        if let Some(source) = values.get(1).and_then(|v| v.get::<gst::Element>().ok())
            && source.has_property("automatic-redirect")
        {
            source.set_property("automatic-redirect", false);
        }
        None
    });
    let parse = make("parsebin")?;
    pipeline
        .add_many([&src, &parse])
        .map_err(|e| MediaError::Pipeline(e.to_string()))?;
    let parse_weak = parse.downgrade();
    src.connect_pad_added(move |_, pad| {
        let Some(parse) = parse_weak.upgrade() else {
            return;
        };
        if let Some(sink) = parse.static_pad("sink")
            && !sink.is_linked()
            && let Err(e) = pad.link(&sink)
        {
            tracing::warn!("relay: the source's output did not link: {e:?}");
        }
    });
    let writer = Arc::new(Mutex::new(Writer {
        on_output: on_output.clone(),
        started: false,
        base: None,
        video_config: None,
        audio_config: None,
    }));
    let weak = pipeline.downgrade();
    // Live from the first access unit of this connection.
    let report: Arc<dyn Fn() + Send + Sync> = {
        let (flowing, state) = (flowing.clone(), state.clone());
        let (last, since) = (last_sample.clone(), std::time::Instant::now());
        Arc::new(move || {
            last.store(since.elapsed().as_millis() as u64, Ordering::Relaxed);
            if !flowing.swap(true, Ordering::Relaxed) {
                state.send_replace(RelayState::Live);
            }
        })
    };
    parse.connect_pad_added(move |_, pad| {
        let Some(pipeline) = weak.upgrade() else {
            return;
        };
        link_stream(&pipeline, pad, &writer, &report);
    });
    Ok(pipeline)
}

/// Links one of parsebin's streams: H.264 and AAC through their parser to an
/// appsink that writes FLV tags; anything else to a fakesink.
fn link_stream(
    pipeline: &gst::Pipeline,
    pad: &gst::Pad,
    writer: &Arc<Mutex<Writer>>,
    report: &Arc<dyn Fn() + Send + Sync>,
) {
    let caps_now = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
    let name = caps_now
        .structure(0)
        .map(|s| s.name().to_string())
        .unwrap_or_default();
    let chain: Result<(), MediaError> = (|| {
        let (parser, out_caps, video) = match name.as_str() {
            "video/x-h264" => (
                make("h264parse")?,
                caps("video/x-h264,stream-format=avc,alignment=au"),
                true,
            ),
            "audio/mpeg" => (
                make("aacparse")?,
                caps("audio/mpeg,mpegversion=(int){2,4},stream-format=raw"),
                false,
            ),
            other => {
                tracing::warn!(
                    caps = other,
                    "relay: this stream is not relayed (H.264 video and AAC audio are)"
                );
                let sink = make("fakesink")?;
                pipeline
                    .add(&sink)
                    .map_err(|e| MediaError::Pipeline(e.to_string()))?;
                let _ = sink.sync_state_with_parent();
                if let Some(p) = sink.static_pad("sink") {
                    let _ = pad.link(&p);
                }
                return Ok(());
            }
        };
        let writer = writer.clone();
        let report = report.clone();
        let sink = gst_app::AppSink::builder()
            .caps(&out_caps)
            .sync(false)
            .max_buffers(64)
            .build();
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |s| {
                    let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    if let Some(buffer) = sample.buffer() {
                        {
                            let mut w = lock(&writer);
                            if video {
                                w.video(sample.caps(), buffer);
                            } else {
                                w.audio(sample.caps(), buffer);
                            }
                        }
                        // Live once the new stream's first tag is out.
                        report();
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        let sink = sink.upcast::<gst::Element>();
        pipeline
            .add_many([&parser, &sink])
            .map_err(|e| MediaError::Pipeline(e.to_string()))?;
        parser
            .link(&sink)
            .map_err(|e| MediaError::Pipeline(e.to_string()))?;
        for e in [&sink, &parser] {
            let _ = e.sync_state_with_parent();
        }
        let sinkpad = parser
            .static_pad("sink")
            .ok_or_else(|| MediaError::Pipeline("parser without a sink pad".into()))?;
        pad.link(&sinkpad)
            .map_err(|e| MediaError::Pipeline(format!("{e:?}")))?;
        Ok(())
    })();
    if let Err(e) = chain {
        tracing::warn!(caps = %name, "relay: {e}");
    }
}
