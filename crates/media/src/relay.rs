//! The media origin's pull: one pipeline per live room whose stream is
//! elsewhere (RTMP, SRT, RTSP, HLS, HTTP-FLV, a file). It remuxes — never
//! decodes — the source's H.264 and AAC into FLV for the room's [`FlvHub`],
//! so one pull serves every viewer, over HTTP-FLV and as access units.
//!
//! ```text
//! urisourcebin uri ! parsebin -+- video/x-h264 - h264parse - {avc, au} - appsink -+
//!                              +- audio/mpeg   - aacparse  - {raw}     - appsink -+- FLV tags → on_output
//!                              +- anything else - fakesink (said once in the log)
//! ```
//!
//! The FLV tags are written here, not by `flvmux`: the muxer waits for both
//! streams before it writes (an aggregator), which adds latency, and refuses a
//! stream that shows up after its header; a source's audio often does.
//!
//! A source that fails or ends is pulled again with backoff (200 ms doubling
//! to `max_retry_delay`) until the relay is dropped; [`Relay::state`] says
//! what is happening, in words a host can act on. Each new connection starts
//! a new FLV stream ([`RelayOutput::NewStream`]).
//!
//! [`FlvHub`]: crate::FlvHub

use crate::runtime::MediaError;
use backon::BackoffBuilder;
use bytes::{BufMut, BytesMut};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// What a relay hands its owner, in order.
pub enum RelayOutput<'a> {
    /// A new connection to the source: what follows is a new FLV stream
    /// (forget the previous one's GOP and codec configuration).
    NewStream,
    /// FLV bytes (the header, then whole tags).
    Flv(&'a [u8]),
}

/// How the pull is going.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RelayState {
    Connecting,
    /// Media is flowing.
    Live,
    /// The source failed or ended; the next attempt is on its way.
    Retrying {
        error: String,
        attempt: u32,
    },
}

#[derive(Debug, Clone)]
pub struct RelayConfig {
    pub max_retry_delay: Duration,
}

impl Default for RelayConfig {
    fn default() -> Self {
        Self {
            max_retry_delay: Duration::from_secs(5),
        }
    }
}

type OnOutput = Arc<dyn Fn(RelayOutput<'_>) + Send + Sync>;

/// A running pull. Dropping it stops the pipeline and joins its thread.
pub struct Relay {
    stop: std_mpsc::Sender<()>,
    thread: Option<std::thread::JoinHandle<()>>,
    state: tokio::sync::watch::Sender<RelayState>,
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Relay {
    /// Starts pulling `uri`. Returns at once; the first connection is made
    /// on the relay's thread.
    pub fn start(
        uri: &str,
        config: RelayConfig,
        on_output: impl Fn(RelayOutput<'_>) + Send + Sync + 'static,
    ) -> Result<Self, MediaError> {
        crate::init()?;
        let (stop, stopped) = std_mpsc::channel();
        let state = tokio::sync::watch::Sender::new(RelayState::Connecting);
        let uri = uri.to_owned();
        let shared = state.clone();
        let on_output: OnOutput = Arc::new(on_output);
        let thread = std::thread::Builder::new()
            .name("livecart-relay".into())
            .spawn(move || run(&uri, &config, &on_output, &shared, &stopped))
            .map_err(|e| MediaError::Pipeline(format!("cannot start the relay thread: {e}")))?;
        Ok(Self {
            stop,
            thread: Some(thread),
            state,
        })
    }

    pub fn state(&self) -> RelayState {
        self.state.borrow().clone()
    }

    /// The state as it changes.
    pub fn watch(&self) -> tokio::sync::watch::Receiver<RelayState> {
        self.state.subscribe()
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.stop.send(());
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(
    uri: &str,
    config: &RelayConfig,
    on_output: &OnOutput,
    state: &tokio::sync::watch::Sender<RelayState>,
    stopped: &std_mpsc::Receiver<()>,
) {
    let mut backoff = backon::ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(200))
        .with_max_delay(config.max_retry_delay)
        .with_jitter()
        .without_max_times()
        .build();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let flowing = Arc::new(AtomicBool::new(false));
        let error = match build(uri, on_output, &flowing, state) {
            Ok(pipeline) => {
                let outcome = watch(&pipeline, stopped);
                let _ = pipeline.set_state(gst::State::Null);
                match outcome {
                    None => return,
                    Some(e) => e,
                }
            }
            Err(e) => e.to_string(),
        };
        if flowing.load(Ordering::Relaxed) {
            // It played: the next failure starts the backoff over.
            backoff = backon::ExponentialBuilder::default()
                .with_min_delay(Duration::from_millis(200))
                .with_max_delay(config.max_retry_delay)
                .with_jitter()
                .without_max_times()
                .build();
            attempt = 1;
        }
        tracing::warn!(uri = %redact(uri), attempt, "relay source lost: {error}");
        state.send_replace(RelayState::Retrying { error, attempt });
        let wait = backoff.next().unwrap_or(config.max_retry_delay);
        match stopped.recv_timeout(wait) {
            Err(std_mpsc::RecvTimeoutError::Timeout) => {}
            _ => return,
        }
    }
}

/// A URL for the log: stream keys live in the path, so only scheme and host.
pub fn redact(uri: &str) -> String {
    match uri.split_once("://") {
        Some((scheme, rest)) => {
            let host = rest.split(['/', '?', '#']).next().unwrap_or("");
            let host = host.rsplit('@').next().unwrap_or(host);
            format!("{scheme}://{host}/…")
        }
        None => "(not a URL)".into(),
    }
}

/// Runs until the pipeline fails or ends (`Some(reason)`) or the relay is
/// dropped (`None`).
fn watch(pipeline: &gst::Pipeline, stopped: &std_mpsc::Receiver<()>) -> Option<String> {
    let Some(bus) = pipeline.bus() else {
        return Some("pipeline without a bus".into());
    };
    if let Err(e) = pipeline.set_state(gst::State::Playing) {
        return Some(format!("the source would not start: {e}"));
    }
    loop {
        match stopped.try_recv() {
            Err(std_mpsc::TryRecvError::Empty) => {}
            _ => return None,
        }
        let Some(msg) = bus.timed_pop_filtered(
            gst::ClockTime::from_mseconds(50),
            &[gst::MessageType::Error, gst::MessageType::Eos],
        ) else {
            continue;
        };
        return Some(match msg.view() {
            gst::MessageView::Error(e) => e.error().to_string(),
            _ => "the source ended the stream".into(),
        });
    }
}

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

    fn start(&mut self, out: &mut BytesMut) {
        if !self.started {
            self.started = true;
            (self.on_output)(RelayOutput::NewStream);
            out.put_slice(b"FLV\x01\x05\x00\x00\x00\x09\x00\x00\x00\x00");
        }
    }

    fn video(&mut self, caps: Option<&gst::CapsRef>, buffer: &gst::BufferRef) {
        let mut out = BytesMut::new();
        self.start(&mut out);
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
        (self.on_output)(RelayOutput::Flv(&out));
    }

    fn audio(&mut self, caps: Option<&gst::CapsRef>, buffer: &gst::BufferRef) {
        let mut out = BytesMut::new();
        self.start(&mut out);
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
        (self.on_output)(RelayOutput::Flv(&out));
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

fn build(
    uri: &str,
    on_output: &OnOutput,
    flowing: &Arc<AtomicBool>,
    state: &tokio::sync::watch::Sender<RelayState>,
) -> Result<gst::Pipeline, MediaError> {
    let pipeline = gst::Pipeline::new();
    let src = make("urisourcebin")?;
    src.set_property("uri", uri);
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
        Arc::new(move || {
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
                caps("audio/mpeg,mpegversion=4,stream-format=raw"),
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
