//! The demo publisher: a synthetic live stream per room, visibly distinct
//! (pattern, colours, caption, a running wall clock) with an audio tone.
//!
//! ```text
//! {videotestsrc live 180x320@30} - {videoscale 540x960} - {textoverlay} - {clockoverlay} - {x264enc zerolatency, 1 s GOP}
//!     --(probe: insert capture-time SEI)--> {h264parse} - {queue} --\
//! {audiotestsrc live sine} - {audioconvert} - {avenc_aac} - {aacparse} - {queue} - {flvmux streamable} - {appsink} -> bytes
//! ```
//! The capture time is taken when the live test source pushes the frame (it
//! waits for the clock, so that moment is the frame's "glass" time) and
//! carried to the encoder output in frame order.

use crate::{MediaError, sei, unix_ns_now};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone)]
pub struct PublisherConfig {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    /// A `videotestsrc` pattern: `ball`, `pinwheel`, `spokes`, `circular`, …
    pub pattern: String,
    /// Pixels per frame the pattern scrolls sideways (0 = still).
    pub motion: i32,
    /// ARGB colours for the pattern.
    pub foreground: u32,
    pub background: u32,
    /// Shown at the top of the picture (host and title).
    pub caption: String,
    pub tone_hz: f64,
    pub bitrate_kbps: u32,
    /// Frames between keyframes (30 at 30 fps = one a second).
    pub keyframe_interval: u32,
}

impl Default for PublisherConfig {
    fn default() -> Self {
        Self {
            width: 540,
            height: 960,
            fps: 30,
            pattern: "ball".into(),
            motion: 0,
            foreground: 0xffff_ffff,
            background: 0xff20_2020,
            caption: "livecart".into(),
            tone_hz: 440.0,
            bitrate_kbps: 1200,
            keyframe_interval: 30,
        }
    }
}

/// A running publisher. Dropping it stops the pipeline.
pub struct Publisher {
    pipeline: gst::Pipeline,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("pipeline", &self.pipeline.name())
            .finish()
    }
}

/// Safe inside a quoted launch-line property.
fn escape(s: &str) -> String {
    s.replace(['"', '\\'], "")
}

/// Safe inside Pango markup (textoverlay parses its text as markup).
fn markup(s: &str) -> String {
    escape(s)
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

impl Publisher {
    /// Starts publishing; `on_flv` receives the FLV byte stream in order.
    pub fn start(
        config: &PublisherConfig,
        on_flv: impl Fn(&[u8]) + Send + Sync + 'static,
    ) -> Result<Self, MediaError> {
        crate::init()?;
        let c = config;
        let desc = format!(
            "videotestsrc name=vsrc is-live=true pattern={pattern} horizontal-speed={motion} foreground-color={fg} background-color={bg} \
             ! video/x-raw,width={pw},height={ph},framerate={fps}/1,format=I420 \
             ! videoscale method=bilinear ! video/x-raw,width={w},height={h} \
             ! textoverlay text=\"{caption}\" valignment=position ypos=0.2 halignment=center font-desc=\"Sans Bold 20\" shaded-background=true \
             ! clockoverlay time-format=\"%H:%M:%S\" valignment=position ypos=0.3 halignment=center font-desc=\"Sans Bold 30\" shaded-background=true \
             ! x264enc name=enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} bitrate={kbps} bframes=0 \
             ! video/x-h264,stream-format=byte-stream,alignment=au \
             ! h264parse ! queue max-size-time=0 max-size-bytes=0 max-size-buffers=64 \
             ! flvmux name=mux streamable=true latency=0 ! appsink name=out sync=false \
             audiotestsrc is-live=true wave=sine freq={tone} volume=0.05 samplesperbuffer=1470 \
             ! audioconvert ! audioresample ! audio/x-raw,rate=44100,channels=2 ! avenc_aac bitrate=96000 ! aacparse \
             ! queue max-size-time=0 max-size-bytes=0 max-size-buffers=64 ! mux.",
            pattern = escape(&c.pattern),
            motion = c.motion,
            fg = c.foreground,
            bg = c.background,
            w = c.width,
            h = c.height,
            // The test pattern is drawn at a third of the size and scaled up:
            // at full size videotestsrc's pinwheel/spokes cost ~40 % of a core
            // per room, a third of that when scaled (measured with gst-launch).
            pw = (c.width / 3).max(2) & !1,
            ph = (c.height / 3).max(2) & !1,
            fps = c.fps,
            caption = markup(&c.caption),
            gop = c.keyframe_interval,
            kbps = c.bitrate_kbps,
            tone = c.tone_hz,
        );
        let pipeline = gst::parse::launch(&desc)
            .map_err(|e| match e.kind::<gst::ParseError>() {
                // "no element \"textoverlay\"": name the element alone.
                Some(gst::ParseError::NoSuchElement) => MediaError::MissingElement(
                    e.message().split('"').nth(1).unwrap_or(e.message()).to_owned(),
                ),
                _ => MediaError::Pipeline(e.to_string()),
            })?
            .downcast::<gst::Pipeline>()
            .map_err(|_| MediaError::Pipeline("not a pipeline".into()))?;
        let by_name = |n: &str| {
            pipeline
                .by_name(n)
                .ok_or_else(|| MediaError::Pipeline(format!("no element {n}")))
        };

        // Capture time per frame, keyed by timestamp, from source to encoder.
        let captured: Arc<Mutex<VecDeque<(gst::ClockTime, u64)>>> = Arc::default();
        let at_source = captured.clone();
        by_name("vsrc")?
            .static_pad("src")
            .ok_or_else(|| MediaError::Pipeline("videotestsrc has no src pad".into()))?
            .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                if let Some(pts) = info.buffer().and_then(|b| b.pts()) {
                    let mut q = at_source
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    q.push_back((pts, unix_ns_now()));
                    while q.len() > 256 {
                        q.pop_front();
                    }
                }
                gst::PadProbeReturn::Ok
            });
        by_name("enc")?
            .static_pad("src")
            .ok_or_else(|| MediaError::Pipeline("x264enc has no src pad".into()))?
            .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                let Some(buffer) = info.buffer() else {
                    return gst::PadProbeReturn::Ok;
                };
                // The encoder re-bases timestamps (a 1000 h offset, a frame
                // grid), but it never drops or reorders frames here
                // (zerolatency, no B-frames): match captures in order.
                let capture = captured
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .pop_front()
                    .map(|(_, ns)| ns);
                if let Some(ns) = capture
                    && let Some(with_sei) = insert_sei(buffer, ns)
                {
                    info.data = Some(gst::PadProbeData::Buffer(with_sei));
                }
                gst::PadProbeReturn::Ok
            });

        let sink = by_name("out")?
            .downcast::<gst_app::AppSink>()
            .map_err(|_| MediaError::Pipeline("out is not an appsink".into()))?;
        sink.set_callbacks(
            gst_app::AppSinkCallbacks::builder()
                .new_sample(move |s| {
                    let sample = s.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                    if let Some(map) = sample.buffer().and_then(|b| b.map_readable().ok()) {
                        on_flv(map.as_slice());
                    }
                    Ok(gst::FlowSuccess::Ok)
                })
                .build(),
        );
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| MediaError::Pipeline(format!("cannot start the publisher: {e}")))?;
        Ok(Self { pipeline })
    }

    /// The first error the pipeline reported, if any (non-blocking).
    pub fn error(&self) -> Option<String> {
        let bus = self.pipeline.bus()?;
        while let Some(msg) = bus.pop_filtered(&[gst::MessageType::Error]) {
            if let gst::MessageView::Error(e) = msg.view() {
                return Some(format!("{} ({:?})", e.error(), e.debug()));
            }
        }
        None
    }
}

impl Drop for Publisher {
    fn drop(&mut self) {
        let _ = self.pipeline.set_state(gst::State::Null);
    }
}

/// The access unit with our SEI placed just before its first slice.
fn insert_sei(buffer: &gst::BufferRef, capture_ns: u64) -> Option<gst::Buffer> {
    let map = buffer.map_readable().ok()?;
    let data = map.as_slice();
    // Find the start code of the first VCL NAL (slice types 1..=5).
    let mut i = 0;
    let mut at = None;
    while i + 4 <= data.len() {
        if data[i] == 0 && data[i + 1] == 0 && data[i + 2] == 1 {
            if (1..=5).contains(&(data[i + 3] & 0x1f)) {
                at = Some(if i > 0 && data[i - 1] == 0 { i - 1 } else { i });
                break;
            }
            i += 3;
        } else {
            i += 1;
        }
    }
    let at = at?;
    let sei = sei::capture_sei(capture_ns);
    let mut out = Vec::with_capacity(data.len() + sei.len());
    out.extend_from_slice(&data[..at]);
    out.extend_from_slice(&sei);
    out.extend_from_slice(&data[at..]);
    let mut new = gst::Buffer::from_mut_slice(out);
    {
        let new_ref = new.get_mut()?;
        new_ref.set_pts(buffer.pts());
        new_ref.set_dts(buffer.dts());
        new_ref.set_duration(buffer.duration());
        new_ref.set_flags(buffer.flags());
    }
    Some(new)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;

    #[test]
    fn every_access_unit_carries_its_capture_time() {
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        let tx = Mutex::new(tx);
        let p = Publisher::start(&PublisherConfig::default(), move |b| {
            let _ = tx.lock().expect("lock").send(b.to_vec());
        })
        .expect("starts");
        let mut flv = Vec::new();
        while flv.len() < 200_000 {
            flv.extend(
                rx.recv_timeout(std::time::Duration::from_secs(10))
                    .expect("output"),
            );
        }
        drop(p);
        let mut reader = crate::flv::FlvReader::default();
        let (_, tags) = reader.push(&flv).expect("FLV");
        let frames: Vec<_> = tags
            .iter()
            .filter(|t| t.kind == 9 && !t.is_sequence_header())
            .collect();
        assert!(frames.len() > 20);
        for t in &frames {
            let payload = &t.bytes[11 + 5..t.bytes.len() - 4];
            assert!(
                sei::find_capture_time(payload, sei::NalFormat::Avc { length_size: 4 }).is_some()
            );
        }
    }
}
