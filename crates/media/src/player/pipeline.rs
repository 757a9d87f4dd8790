//! One playback attempt's pipeline and the controller that runs attempts.
//!
//! ```text
//! {uridecodebin3 uri, stops at H.264} -+- video/x-h264 - {h264parse} - {byte-stream,au} --(probe: SEI, timing, stats)-->
//!                                      |     encoded: {queue} - {appsink sync}                      -> access units
//!                                      |     decoded: {avdec_h264 slice-threads} - {videoconvert} - {videoscale}
//!                                      |              - {WxH RGBA | jpegenc} - {queue} - {appsink sync, drops late} -> frames
//!                                      +- audio/x-raw - {audioconvert} - {audioresample} - {volume} - {audio sink}
//! ```
//!
//! Size: the player's one pipeline and the release timing its probes feed
//! (Timing) are one mechanism; the tests of Timing sit beside it.

use super::{
    AudioOutput, Command, FrameFormat, OutputKind, PlayerConfig, PlayerEvent, PlayerState,
    PlayerStats, VideoOutput, VideoSink,
};
use crate::sei::{self, NalFormat};
use crate::{MediaError, unix_ns_now};
use backon::BackoffBuilder;
use bytes::Bytes;
use gstreamer as gst;
use gstreamer::glib;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

const FRAME_NS: i64 = 33_333_333;

/// Capture times held for pictures between the parser and a decoded-output
/// sink: at 30 fps, about 34 seconds of pictures.
const CAPTURES_HELD: usize = 1_024;

/// How release times follow capture times (see the module docs of `player`).
#[derive(Default)]
struct Timing {
    /// capture ns − running-time ns, fixed at the anchor.
    base_map: Option<i64>,
    /// Capture → release budget currently applied.
    latency_ns: i64,
    /// Recent arrival delays (capture → reaching the player), each marked
    /// whether it came in a backlog (see `update`).
    window: VecDeque<(i64, bool)>,
    /// The last picture's capture and arrival (Unix ns).
    last: Option<(i64, i64)>,
    since_anchor: u32,
    late_streak: u32,
    has_sei: bool,
    /// Extra room for decoding, learnt from pictures the sink dropped as
    /// late (a loaded CPU decodes slower than the network delivers).
    decode_ns: i64,
}

/// Consecutive late drops at the sink, with no picture shown between them,
/// that widen the decode allowance.
const LATE_DROPS: u32 = 8;
/// The decode allowance never grows past this.
const MAX_DECODE_NS: i64 = 500_000_000;

impl Timing {
    /// Returns a new pad offset when the anchor moves.
    fn update(
        &mut self,
        running_ns: i64,
        capture_ns: Option<i64>,
        now_ns: i64,
        jitter_ns: i64,
    ) -> Option<i64> {
        let jitter_ns = jitter_ns + self.decode_ns;
        let Some(capture) = capture_ns else {
            // No SEI: anchor once on arrival and never chase.
            if self.base_map.is_none() {
                self.base_map = Some(now_ns - running_ns);
                self.latency_ns = jitter_ns;
                return Some(now_ns - running_ns + jitter_ns);
            }
            return None;
        };
        self.has_sei = true;
        let arrival = now_ns - capture;
        // A picture that came in at over twice real time after the one
        // before it is a backlog draining (the server's GOP cache when
        // joining, the rest of a burst after a stall): it tells where the
        // live edge is, not how much the network jitters.
        let backlog = self
            .last
            .replace((capture, now_ns))
            .is_some_and(|(c, n)| capture > c && now_ns - n < (capture - c) / 2);
        let Some(base) = self.base_map else {
            self.base_map = Some(capture - running_ns);
            self.latency_ns = arrival.max(0) + jitter_ns;
            self.window.clear();
            self.since_anchor = 0;
            return Some(capture - running_ns + self.latency_ns);
        };
        self.window.push_back((arrival, backlog));
        while self.window.len() > 30 {
            self.window.pop_front();
        }
        self.since_anchor += 1;
        let min = self.window.iter().map(|w| w.0).min().unwrap_or(arrival);
        // The margin follows the jitter actually seen (p90 − min of recent
        // arrivals, backlogs left out), never below the configured floor.
        let mut sorted: Vec<i64> = self.window.iter().filter(|w| !w.1).map(|w| w.0).collect();
        sorted.sort_unstable();
        let spread = sorted
            .get((sorted.len() * 9 / 10).min(sorted.len().saturating_sub(1)))
            .map_or(0, |p90| p90 - min);
        let jitter_ns = jitter_ns.max(spread + 5_000_000);
        // Later than we need to be (joined on an old keyframe, or the network
        // recovered): catch up to the live edge.
        if self.since_anchor >= 3 && self.latency_ns > min.max(0) + jitter_ns + 30_000_000 {
            self.latency_ns = min.max(0) + jitter_ns;
            self.since_anchor = 0;
            return Some(base + self.latency_ns);
        }
        // More than one live picture in ten arrives after its release time
        // (a network that holds pictures back now and then): make room for
        // the jitter seen, or those pictures are never shown.
        if self.since_anchor >= 3
            && sorted.len() >= 10
            && self.latency_ns + 10_000_000 < min.max(0) + jitter_ns
        {
            self.latency_ns = min.max(0) + jitter_ns;
            self.since_anchor = 0;
            return Some(base + self.latency_ns);
        }
        // Frames keep arriving after their release time: the network got
        // slower; give ourselves more room rather than drop everything.
        self.late_streak = if arrival > self.latency_ns + 15_000_000 {
            self.late_streak + 1
        } else {
            0
        };
        if self.late_streak >= 10 {
            self.latency_ns = arrival + jitter_ns;
            self.late_streak = 0;
            self.since_anchor = 0;
            return Some(base + self.latency_ns);
        }
        None
    }

    /// The sink dropped `drops` pictures in a row as late, the last by
    /// `late_ns`: decoding takes longer than the budget allows, so every
    /// picture would miss its time. Widens the budget by that much (bounded)
    /// and returns the new pad offset.
    fn late_at_sink(&mut self, drops: u32, late_ns: i64) -> Option<i64> {
        let base = self.base_map?;
        // Pictures that already arrived late (joining on an old keyframe,
        // a slow network) are the arrival rules' business, not decoding's.
        if drops < LATE_DROPS || self.late_streak > 0 || self.decode_ns >= MAX_DECODE_NS {
            return None;
        }
        let more = (late_ns.clamp(0, 100_000_000) + 10_000_000).min(MAX_DECODE_NS - self.decode_ns);
        self.decode_ns += more;
        self.latency_ns += more;
        self.since_anchor = 0;
        Some(base + self.latency_ns)
    }
}

/// State shared between the controller and the streaming threads.
struct Shared {
    config: PlayerConfig,
    video: VideoSink,
    events: mpsc::UnboundedSender<PlayerEvent>,
    timing: Mutex<Timing>,
    /// Sink pads whose offset follows the timing anchor.
    offset_pads: Mutex<Vec<gst::Pad>>,
    /// Capture time per PTS, from the probe to the decoded-frame sink.
    /// (PTS, capture, arrival at the parser), Unix ns, for the sinks.
    captures: Mutex<VecDeque<(u64, u64, u64)>>,
    held: AtomicBool,
    held_output: Mutex<Vec<VideoOutput>>,
    codec: Mutex<(String, u32, u32)>,
    frames_in: AtomicU64,
    frames_out: AtomicU64,
    bytes_in: AtomicU64,
    dropped: AtomicU64,
    last_latency_us: AtomicU64,
    /// Unix ns of the last picture reaching a sink (held or not); 0 = none.
    last_picture_ns: AtomicU64,
    first_shown: AtomicBool,
    /// A picture has reached a sink in this attempt (a reconnect that
    /// brings pictures back says `Playing` again).
    attempt_shown: AtomicBool,
    /// Access units released late in a row (encoded output, which has no
    /// sink QoS to say so).
    late_released: AtomicU32,
    ready_sent: AtomicBool,
    opened: Instant,
    unsupported: Mutex<Option<String>>,
    volume: Mutex<Option<gst::Element>>,
    muted: AtomicBool,
}

impl Shared {
    /// The capture time and arrival of the picture `pts`, as it reaches a
    /// sink. A sink that sees pictures in presentation order (decoded ones)
    /// passes `in_order`: entries of pictures before it go (they were shown
    /// or dropped), so the map holds only pictures still on their way. (A
    /// window of the last 128 lost the first pictures of a join when the
    /// sink, holding pictures to their release time on a busy machine, fell
    /// further behind the parser.) Access units come in decode order, where
    /// a later picture may precede an earlier one: they only look, from the
    /// newest end (an access unit leaves right after the parser saw it, so
    /// the full window of that path is not walked for every picture).
    fn capture_of(&self, pts: u64, in_order: bool) -> Option<(u64, u64)> {
        let mut caps = lock(&self.captures);
        let found = if in_order {
            while caps.front().is_some_and(|(p, _, _)| *p < pts) {
                caps.pop_front();
            }
            caps.iter().find(|(p, _, _)| *p == pts)
        } else {
            caps.iter().rev().find(|(p, _, _)| *p == pts)
        };
        found.map(|&(_, c, arrived)| (c, arrived))
    }
}

impl Shared {
    fn emit(&self, e: PlayerEvent) {
        let _ = self.events.send(e);
    }

    fn apply_mute(&self) {
        let mute = self.muted.load(Ordering::Relaxed) || self.held.load(Ordering::Relaxed);
        if let Some(v) = self
            .volume
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .as_ref()
        {
            v.set_property("mute", mute);
        }
    }

    fn output(&self, out: VideoOutput) {
        self.last_picture_ns.store(unix_ns_now(), Ordering::Relaxed);
        if !self.attempt_shown.swap(true, Ordering::Relaxed)
            && self.first_shown.load(Ordering::Relaxed)
        {
            // Back after a reconnect.
            self.emit(PlayerEvent::State(PlayerState::Playing));
        }
        if self.held.load(Ordering::Relaxed) {
            let mut kept = self
                .held_output
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            match &out {
                VideoOutput::AccessUnit { keyframe: true, .. } | VideoOutput::Frame { .. } => {
                    kept.clear();
                }
                VideoOutput::AccessUnit { .. } => {}
            }
            if kept.is_empty() && !self.ready_sent.swap(true, Ordering::Relaxed) {
                self.emit(PlayerEvent::Ready {
                    after: self.opened.elapsed(),
                });
            }
            kept.push(out);
            return;
        }
        self.frames_out.fetch_add(1, Ordering::Relaxed);
        if !self.first_shown.swap(true, Ordering::Relaxed) {
            self.emit(PlayerEvent::State(PlayerState::Playing));
            self.emit(PlayerEvent::FirstFrame {
                after: self.opened.elapsed(),
            });
        }
        (self.video)(out);
    }

    /// An access unit left the sink `behind_ns` after its release time. The
    /// page decodes late ones but does not show them, so a budget the sink
    /// keeps missing (a loaded machine: a cold first run, issue #15's room
    /// that drew one picture in 60 s) would show nothing: after a run of
    /// them the budget grows as the decoded path's sink QoS makes it grow.
    fn released_late(&self, behind_ns: i64) {
        let n = self.late_released.fetch_add(1, Ordering::Relaxed) + 1;
        if n < LATE_DROPS {
            return;
        }
        if let Some(offset) = lock(&self.timing).late_at_sink(n, behind_ns) {
            self.late_released.store(0, Ordering::Relaxed);
            tracing::debug!(
                late_ms = behind_ns / 1_000_000,
                "access units miss their time: more room"
            );
            for p in lock(&self.offset_pads).iter() {
                p.set_offset(offset);
            }
        }
    }

    /// Leaves preload: shows the current picture at once.
    fn unhold(&self, since: Instant) {
        if !self.held.swap(false, Ordering::Relaxed) {
            return;
        }
        self.apply_mute();
        let kept = std::mem::take(
            &mut *self
                .held_output
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner),
        );
        let n = kept.len();
        for (i, mut out) in kept.into_iter().enumerate() {
            if let VideoOutput::AccessUnit { late, .. } = &mut out {
                // Decode the whole GOP, show only the newest picture.
                *late = i + 1 < n;
            }
            self.frames_out.fetch_add(1, Ordering::Relaxed);
            (self.video)(out);
        }
        if n > 0 && !self.first_shown.swap(true, Ordering::Relaxed) {
            self.emit(PlayerEvent::State(PlayerState::Playing));
            self.emit(PlayerEvent::FirstFrame {
                after: since.elapsed(),
            });
        }
    }
}

fn soup_context() -> &'static Mutex<Option<gst::Context>> {
    static CTX: std::sync::OnceLock<Mutex<Option<gst::Context>>> = std::sync::OnceLock::new();
    CTX.get_or_init(Mutex::default)
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn make(name: &str) -> Result<gst::Element, MediaError> {
    gst::ElementFactory::make(name)
        .build()
        .map_err(|_| MediaError::MissingElement(name.to_owned()))
}

/// The wall-clock time (Unix ns) at which a sink would release `pts` if no
/// offset were applied: running time + the pipeline's base time, moved from
/// the pipeline clock (whichever element provides it) to the wall clock.
fn release_wall_ns(pad: &gst::Pad, pts: gst::ClockTime) -> Option<i64> {
    let ev = pad.sticky_event::<gst::event::Segment>(0)?;
    let seg = ev.segment().downcast_ref::<gst::ClockTime>()?;
    let running = seg.to_running_time(pts)?.nseconds() as i64;
    let element = pad.parent_element()?;
    let clock = element.clock()?;
    let base = element.base_time()?.nseconds() as i64;
    let wall_minus_clock = unix_ns_now() as i64 - clock.time().nseconds() as i64;
    Some(running + base + wall_minus_clock)
}

/// `avc1.PPCCLL` from the SPS in an Annex B access unit.
fn codec_string(au: &[u8]) -> Option<String> {
    let sps = sei::nal_units(au, NalFormat::AnnexB)
        .into_iter()
        .find(|n| n.first().is_some_and(|h| h & 0x1f == 7))?;
    Some(format!(
        "avc1.{:02x}{:02x}{:02x}",
        sps.get(1)?,
        sps.get(2)?,
        sps.get(3)?
    ))
}

fn build(uri: &str, shared: &Arc<Shared>) -> Result<gst::Pipeline, MediaError> {
    let pipeline = gst::Pipeline::new();

    // Every player shares one HTTP session (and its thread): souphttpsrc
    // otherwise starts a session thread per pipeline that outlives it.
    if let Some(ctx) = lock(soup_context()).as_ref() {
        pipeline.set_context(ctx);
    }

    let src = make("uridecodebin3")?;
    src.set_property("uri", uri);
    src.set_property("use-buffering", false);
    src.set_property(
        "caps",
        "video/x-h264; audio/x-raw"
            .parse::<gst::Caps>()
            .map_err(|e| MediaError::Pipeline(e.to_string()))?,
    );
    pipeline
        .add(&src)
        .map_err(|e| MediaError::Pipeline(e.to_string()))?;

    let weak = pipeline.downgrade();
    let shared_pads = shared.clone();
    src.connect_pad_added(move |_, pad| {
        let Some(pipeline) = weak.upgrade() else {
            return;
        };
        let caps = pad.current_caps().unwrap_or_else(|| pad.query_caps(None));
        let name = match caps.structure(0) {
            Some(s) => s.name().to_string(),
            // HLS (hlsdemux2): decodebin3 exposes the pad before its caps are
            // known and answers ANY; the GstStream it announced says what the
            // pad will carry. Audio is decided by type: the stream's caps are
            // the coded ones (e.g. AAC), the pad will carry raw audio.
            None => match pad.stream() {
                Some(st) if st.stream_type().contains(gst::StreamType::AUDIO) => {
                    "audio/x-raw".to_owned()
                }
                Some(st) => match st
                    .caps()
                    .and_then(|c| c.structure(0).map(|s| s.name().to_string()))
                {
                    Some(n) => n,
                    None => return,
                },
                None => return,
            },
        };
        let linked = match name.as_str() {
            "video/x-h264" => video_branch(&pipeline, pad, &shared_pads),
            "audio/x-raw" => audio_branch(&pipeline, pad, &shared_pads),
            other if other.starts_with("video/") => {
                *shared_pads
                    .unsupported
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(format!(
                    "this stream's video ({other}) is not H.264; livecart plays H.264 streams"
                ));
                Ok(())
            }
            _ => Ok(()),
        };
        if let Err(e) = linked {
            tracing::warn!(error = %e, "linking a player branch");
        }
    });
    Ok(pipeline)
}

fn link_pad(pad: &gst::Pad, first: &gst::Element) -> Result<(), MediaError> {
    let sink = first
        .static_pad("sink")
        .ok_or_else(|| MediaError::Pipeline("element without sink pad".into()))?;
    pad.link(&sink)
        .map(|_| ())
        .map_err(|e| MediaError::Pipeline(format!("link: {e:?}")))
}

fn add_chain(pipeline: &gst::Pipeline, chain: &[&gst::Element]) -> Result<(), MediaError> {
    pipeline
        .add_many(chain.iter().copied())
        .map_err(|e| MediaError::Pipeline(e.to_string()))?;
    gst::Element::link_many(chain.iter().copied())
        .map_err(|e| MediaError::Pipeline(e.to_string()))?;
    for e in chain {
        e.sync_state_with_parent()
            .map_err(|e| MediaError::Pipeline(e.to_string()))?;
    }
    Ok(())
}

#[allow(clippy::too_many_lines)] // the video branch's elements and probes, built in pipeline order
fn video_branch(
    pipeline: &gst::Pipeline,
    pad: &gst::Pad,
    shared: &Arc<Shared>,
) -> Result<(), MediaError> {
    let parse = make("h264parse")?;
    parse.set_property("config-interval", -1i32);
    let au = make("capsfilter")?;
    au.set_property(
        "caps",
        "video/x-h264,stream-format=byte-stream,alignment=au"
            .parse::<gst::Caps>()
            .map_err(|e| MediaError::Pipeline(e.to_string()))?,
    );
    let queue = make("queue")?;
    let sink = gst_app::AppSink::builder().name("vsink").sync(true).build();
    sink.set_property("enable-last-sample", false);
    let mut chain = vec![parse.clone(), au.clone()];
    let decoded = match shared.config.output {
        OutputKind::Encoded => {
            sink.set_property("max-lateness", -1i64);
            None
        }
        OutputKind::Decoded {
            width,
            height,
            format,
        } => {
            let dec = make("avdec_h264")?;
            // Frame threading holds a frame per thread: latency we do not want.
            dec.set_property_from_str("thread-type", "slice");
            let convert = make("videoconvert")?;
            let scale = make("videoscale")?;
            let filter = make("capsfilter")?;
            let raw = match format {
                FrameFormat::Rgba => format!(
                    "video/x-raw,format=RGBA,width={width},height={height},pixel-aspect-ratio=1/1"
                ),
                FrameFormat::Jpeg { .. } => format!(
                    "video/x-raw,format=I420,width={width},height={height},pixel-aspect-ratio=1/1"
                ),
            };
            filter.set_property(
                "caps",
                raw.parse::<gst::Caps>()
                    .map_err(|e| MediaError::Pipeline(e.to_string()))?,
            );
            chain.extend([dec, convert, scale, filter]);
            if let FrameFormat::Jpeg { quality } = format {
                let jpeg = make("jpegenc")?;
                jpeg.set_property("quality", i32::from(quality.min(100)));
                chain.push(jpeg);
            }
            sink.set_property("max-lateness", 2 * FRAME_NS);
            sink.set_property("qos", true);
            Some((width, height, format))
        }
    };
    chain.push(queue);
    chain.push(sink.clone().upcast());
    let refs: Vec<&gst::Element> = chain.iter().collect();
    add_chain(pipeline, &refs)?;

    // Timing, SEI and stats on the parsed access units.
    let probe_shared = shared.clone();
    let jitter = shared.config.jitter.as_nanos() as i64;
    // The probe sits on the parser's output; the offset it computes is set on
    // the next pad downstream (a *source* pad: only those re-send their
    // segment when the offset changes), so it applies from this very buffer.
    parse
        .static_pad("src")
        .ok_or_else(|| MediaError::Pipeline("capsfilter src".into()))?
        .add_probe(gst::PadProbeType::BUFFER, move |pad, info| {
            let Some(buffer) = info.buffer() else {
                return gst::PadProbeReturn::Ok;
            };
            let (Some(pts), Ok(map)) = (buffer.pts(), buffer.map_readable()) else {
                return gst::PadProbeReturn::Ok;
            };
            let data = map.as_slice();
            let s = &probe_shared;
            s.frames_in.fetch_add(1, Ordering::Relaxed);
            s.bytes_in.fetch_add(data.len() as u64, Ordering::Relaxed);
            let capture = sei::find_capture_time(data, NalFormat::AnnexB);
            if let Some(c) = capture {
                let mut caps = s
                    .captures
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                caps.push_back((pts.nseconds(), c, unix_ns_now()));
                // A decoded-picture sink takes entries as its pictures
                // reach it; this bounds the rest (~34 s of pictures).
                while caps.len() > CAPTURES_HELD {
                    caps.pop_front();
                }
            }
            if let Some(codec) = codec_string(data) {
                s.codec
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .0 = codec;
            }
            if let Some(r) = release_wall_ns(pad, pts) {
                let moved = s
                    .timing
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .update(r, capture.map(|c| c as i64), unix_ns_now() as i64, jitter);
                if let Some(offset) = moved {
                    for p in s
                        .offset_pads
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .iter()
                    {
                        p.set_offset(offset);
                    }
                }
            }
            gst::PadProbeReturn::Ok
        });
    if let Some(p) = au.static_pad("src") {
        shared
            .offset_pads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(p);
    }
    if let Some(p) = sink.static_pad("sink") {
        let caps_shared = shared.clone();
        p.add_probe(gst::PadProbeType::EVENT_DOWNSTREAM, move |_, info| {
            if let Some(gst::PadProbeData::Event(ev)) = &info.data
                && let gst::EventView::Caps(c) = ev.view()
                && let Some(st) = c.caps().structure(0)
            {
                let mut codec = caps_shared
                    .codec
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                codec.1 = st.get::<i32>("width").unwrap_or(0) as u32;
                codec.2 = st.get::<i32>("height").unwrap_or(0) as u32;
            }
            gst::PadProbeReturn::Ok
        });
    }

    let sink_shared = shared.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |appsink| {
                let sample = appsink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                let Some(buffer) = sample.buffer() else {
                    return Ok(gst::FlowSuccess::Ok);
                };
                let s = &sink_shared;
                let map = buffer.map_readable().map_err(|_| gst::FlowError::Error)?;
                let data = Bytes::copy_from_slice(map.as_slice());
                let now = unix_ns_now();
                let capture = match decoded {
                    None => sei::find_capture_time(&data, NalFormat::AnnexB),
                    Some(_) => buffer
                        .pts()
                        .and_then(|pts| s.capture_of(pts.nseconds(), true))
                        .map(|(c, _)| c),
                };
                if let Some(c) = capture {
                    s.last_latency_us
                        .store(now.saturating_sub(c) / 1000, Ordering::Relaxed);
                }
                let out = match decoded {
                    None => {
                        let keyframe = !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT);
                        let latency = s
                            .timing
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .latency_ns;
                        let behind = capture.map_or(0, |c| now as i64 - (c as i64 + latency));
                        let late = behind > FRAME_NS;
                        // Late leaving the sink though it came in time: the
                        // budget, not the network, is short (a join's burst
                        // came in late and is the arrival rules' business).
                        let came_in_time = buffer
                            .pts()
                            .and_then(|pts| s.capture_of(pts.nseconds(), false))
                            .is_some_and(|(c, arrived)| (arrived as i64 - c as i64) <= latency);
                        if late && came_in_time && !s.held.load(Ordering::Relaxed) {
                            s.released_late(behind);
                        } else {
                            s.late_released.store(0, Ordering::Relaxed);
                        }
                        let (codec, width, height) = s
                            .codec
                            .lock()
                            .unwrap_or_else(std::sync::PoisonError::into_inner)
                            .clone();
                        VideoOutput::AccessUnit {
                            data,
                            keyframe,
                            late,
                            capture_ns: capture,
                            codec,
                            width,
                            height,
                        }
                    }
                    Some((width, height, format)) => VideoOutput::Frame {
                        width,
                        height,
                        format,
                        data,
                        capture_ns: capture,
                    },
                };
                s.output(out);
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    link_pad(pad, &chain[0])
}

fn audio_branch(
    pipeline: &gst::Pipeline,
    pad: &gst::Pad,
    shared: &Arc<Shared>,
) -> Result<(), MediaError> {
    let convert = make("audioconvert")?;
    let resample = make("audioresample")?;
    let volume = make("volume")?;
    let sink = match shared.config.audio {
        AudioOutput::Device => make("autoaudiosink")?,
        AudioOutput::Silent => make("fakeaudiosink")?,
    };
    sink.set_property("sync", true);
    add_chain(pipeline, &[&convert, &resample, &volume, &sink])?;
    *shared
        .volume
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(volume.clone());
    shared.apply_mute();
    // Audio follows the video's anchor so the two stay in sync.
    if let Some(p) = volume.static_pad("src") {
        let timing = shared
            .timing
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(base) = timing.base_map {
            p.set_offset(base + timing.latency_ns);
        }
        drop(timing);
        shared
            .offset_pads
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(p);
    }
    link_pad(pad, &convert)
}

/// How one attempt ended.
enum Outcome {
    Stop,
    /// Why, and whether trying again can help (a refused connection, a
    /// server restarting, no picture yet) or not (a format or a URL scheme
    /// this player cannot handle).
    Failed {
        message: String,
        retry: bool,
    },
    Ended,
    Stalled,
}

fn failed(message: impl Into<String>, retry: bool) -> Outcome {
    Outcome::Failed {
        message: message.into(),
        retry,
    }
}

pub(super) struct Controller {
    uri: String,
    shared: Arc<Shared>,
    commands: std_mpsc::Receiver<Command>,
}

/// Words a viewer can act on, from a GStreamer error; and whether trying
/// again can help.
fn human(err: &glib::Error, debug: Option<&str>, uri: &str) -> (String, bool) {
    let d = format!("{} {}", err.message(), debug.unwrap_or("")).to_lowercase();
    if d.contains("404") || d.contains("not found") && d.contains("http") {
        (format!("the stream was not found: {uri}"), true)
    } else if d.contains("connection refused")
        || d.contains("could not connect")
        || d.contains("connect to")
    {
        (
            format!("cannot connect to the stream's server: {uri}"),
            true,
        )
    } else if d.contains("resolve") {
        (format!("unknown host in {uri}"), true)
    } else if err.matches(gst::StreamError::CodecNotFound)
        || err.matches(gst::StreamError::TypeNotFound)
        || d.contains("no suitable plugins")
    {
        ("this stream's format is not supported".to_owned(), false)
    } else if d.contains("no uri handler") || d.contains("invalid uri") {
        (format!("livecart cannot open {uri}"), false)
    } else {
        (err.message().to_owned(), true)
    }
}

impl Controller {
    pub(super) fn new(
        uri: String,
        config: PlayerConfig,
        video: VideoSink,
        events: mpsc::UnboundedSender<PlayerEvent>,
        commands: std_mpsc::Receiver<Command>,
    ) -> Self {
        let held = config.start_held;
        let muted = config.muted;
        let shared = Arc::new(Shared {
            config,
            video,
            events,
            timing: Mutex::default(),
            offset_pads: Mutex::default(),
            captures: Mutex::default(),
            held: AtomicBool::new(held),
            held_output: Mutex::default(),
            codec: Mutex::new((String::new(), 0, 0)),
            frames_in: AtomicU64::new(0),
            frames_out: AtomicU64::new(0),
            bytes_in: AtomicU64::new(0),
            dropped: AtomicU64::new(0),
            last_latency_us: AtomicU64::new(0),
            last_picture_ns: AtomicU64::new(0),
            first_shown: AtomicBool::new(false),
            attempt_shown: AtomicBool::new(false),
            late_released: AtomicU32::new(0),
            ready_sent: AtomicBool::new(false),
            opened: Instant::now(),
            unsupported: Mutex::default(),
            volume: Mutex::default(),
            muted: AtomicBool::new(muted),
        });
        Self {
            uri,
            shared,
            commands,
        }
    }

    pub(super) fn run(self) {
        let s = self.shared.clone();
        s.emit(PlayerEvent::State(PlayerState::Connecting));
        let mut played = false;
        let mut attempt = 0u32;
        // Quick, and capped at `max_retry_delay`: a stream back after an
        // outage plays again within about that (issue #15: a 4-s cap made
        // a restarted server's rooms wait 3.5 s).
        let mut backoff = backon::ExponentialBuilder::default()
            .with_min_delay(Duration::from_millis(200))
            .with_max_delay(s.config.max_retry_delay)
            .with_jitter()
            .without_max_times()
            .build();
        let mut down_since: Option<Instant> = None;
        // The failure last reported as an error (not repeated each attempt).
        let mut reported: Option<String> = None;
        loop {
            // A fresh anchor per attempt: a restarted stream has new timestamps.
            *s.timing
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = Timing::default();
            // Timestamps restart with a new connection: forget the old map.
            lock(&s.captures).clear();
            s.offset_pads
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .clear();
            *s.volume
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner) = None;
            s.last_picture_ns.store(0, Ordering::Relaxed);
            s.attempt_shown.store(false, Ordering::Relaxed);
            let outcome = match build(&self.uri, &s) {
                Ok(pipeline) => {
                    let o = self.watch(&pipeline);
                    let _ = pipeline.set_state(gst::State::Null);
                    o
                }
                Err(e) => failed(e.to_string(), false),
            };
            let shown = s.last_picture_ns.load(Ordering::Relaxed) > 0;
            played |= s.first_shown.load(Ordering::Relaxed) || shown;
            if shown {
                down_since = None;
                reported = None;
            }
            match outcome {
                Outcome::Stop => return,
                Outcome::Failed {
                    message,
                    retry: false,
                } => {
                    s.emit(PlayerEvent::State(PlayerState::Error { message }));
                    return;
                }
                other => {
                    let since = *down_since.get_or_insert_with(Instant::now);
                    if s.config.reconnect_for.is_some_and(|d| since.elapsed() > d) {
                        s.emit(PlayerEvent::State(PlayerState::Ended));
                        return;
                    }
                    match other {
                        // Never played: say why (the view shows it), and
                        // keep trying — the stream may not be up yet.
                        Outcome::Failed { message, .. } if !played => {
                            if reported.as_ref() != Some(&message) {
                                reported = Some(message.clone());
                                s.emit(PlayerEvent::State(PlayerState::Error { message }));
                            }
                        }
                        _ => {
                            attempt += 1;
                            s.emit(PlayerEvent::State(PlayerState::Reconnecting { attempt }));
                        }
                    }
                    let delay = backoff.next().unwrap_or(s.config.max_retry_delay);
                    if self.wait(delay) {
                        return;
                    }
                }
            }
        }
    }

    /// Waits, still obeying commands; true when told to stop.
    fn wait(&self, d: Duration) -> bool {
        let until = Instant::now() + d;
        while let Some(left) = until.checked_duration_since(Instant::now()) {
            match self
                .commands
                .recv_timeout(left.min(Duration::from_millis(50)))
            {
                Ok(Command::Stop) | Err(std_mpsc::RecvTimeoutError::Disconnected) => return true,
                Ok(cmd) => self.command(&cmd),
                Err(std_mpsc::RecvTimeoutError::Timeout) => {}
            }
        }
        false
    }

    fn command(&self, cmd: &Command) {
        match cmd {
            Command::Play => self.shared.unhold(Instant::now()),
            Command::SetMuted(m) => {
                self.shared.muted.store(*m, Ordering::Relaxed);
                self.shared.apply_mute();
            }
            Command::Stop => {}
        }
    }

    #[allow(clippy::too_many_lines)] // the bus loop: one match over the pipeline's messages
    fn watch(&self, pipeline: &gst::Pipeline) -> Outcome {
        let s = &self.shared;
        // A refusal here (e.g. no element handles the URI scheme) also posts
        // an error on the bus, with the reason; the loop below reports it.
        if let Err(e) = pipeline.set_state(gst::State::Playing) {
            tracing::debug!(error = %e, uri = %self.uri, "pipeline did not start");
        }
        let Some(bus) = pipeline.bus() else {
            return failed("pipeline without a bus", false);
        };
        let started = Instant::now();
        let mut tick = Instant::now();
        let (mut frames, mut bytes) = (
            s.frames_out.load(Ordering::Relaxed),
            s.bytes_in.load(Ordering::Relaxed),
        );
        // Late drops at the sink since the last picture it let through.
        let (mut late_drops, mut shown_at_drop) = (0u32, s.last_picture_ns.load(Ordering::Relaxed));
        loop {
            loop {
                match self.commands.try_recv() {
                    Ok(Command::Stop) | Err(std_mpsc::TryRecvError::Disconnected) => {
                        return Outcome::Stop;
                    }
                    Ok(cmd) => self.command(&cmd),
                    Err(std_mpsc::TryRecvError::Empty) => break,
                }
            }
            if let Some(msg) = bus.timed_pop(gst::ClockTime::from_mseconds(20)) {
                match msg.view() {
                    gst::MessageView::Error(e) => {
                        // One failure often posts several errors (the source's,
                        // then "internal data stream error" downstream): take
                        // the source's, which says what actually went wrong.
                        let mut errors = vec![(e.error(), e.debug())];
                        while let Some(m) = bus.timed_pop_filtered(
                            gst::ClockTime::from_mseconds(100),
                            &[gst::MessageType::Error],
                        ) {
                            if let gst::MessageView::Error(e) = m.view() {
                                errors.push((e.error(), e.debug()));
                            }
                        }
                        let (err, details) = errors
                            .iter()
                            .find(|(err, _)| err.kind::<gst::ResourceError>().is_some())
                            .unwrap_or(&errors[0]);
                        tracing::debug!(error = %err, ?details, "player pipeline error");
                        let (mut message, retry) = human(err, details.as_deref(), &self.uri);
                        if message == err.message() {
                            // Too vague to show: find out what actually happened.
                            if let Some(better) = super::diagnose::explain(&self.uri) {
                                message = better;
                            }
                        }
                        return failed(message, retry);
                    }
                    gst::MessageView::Eos(_) => return Outcome::Ended,
                    // Live inputs add sinks after PLAYING: their latency must
                    // be recomputed, or they render against a stale one.
                    gst::MessageView::Latency(_) => {
                        let _ = pipeline.recalculate_latency();
                    }
                    gst::MessageView::HaveContext(c)
                        if c.context().context_type() == "gst.soup.session" =>
                    {
                        lock(soup_context()).get_or_insert_with(|| c.context());
                    }
                    // Queues report 100 % all the time while playing: only
                    // a real shortfall is "buffering", and its end is "playing".
                    gst::MessageView::Buffering(b) => {
                        let percent = b.percent().clamp(0, 100) as u8;
                        if percent < 100 {
                            s.emit(PlayerEvent::State(PlayerState::Buffering { percent }));
                        } else if s.first_shown.load(Ordering::Relaxed) {
                            s.emit(PlayerEvent::State(PlayerState::Playing));
                        }
                    }
                    gst::MessageView::Qos(q) if msg.src().is_some_and(|o| o.name() == "vsink") => {
                        s.dropped.fetch_add(1, Ordering::Relaxed);
                        let shown = s.last_picture_ns.load(Ordering::Relaxed);
                        late_drops = if shown == shown_at_drop {
                            late_drops + 1
                        } else {
                            1
                        };
                        shown_at_drop = shown;
                        let (late_ns, _, _) = q.values();
                        if let Some(offset) = lock(&s.timing).late_at_sink(late_drops, late_ns) {
                            tracing::debug!(
                                late_ms = late_ns / 1_000_000,
                                "pictures miss their time: more room for decoding"
                            );
                            late_drops = 0;
                            for p in lock(&s.offset_pads).iter() {
                                p.set_offset(offset);
                            }
                        }
                    }
                    _ => {}
                }
            }
            if let Some(reason) = lock(&s.unsupported).take() {
                return failed(reason, false);
            }
            let last = s.last_picture_ns.load(Ordering::Relaxed);
            if last == 0 && started.elapsed() > s.config.open_timeout {
                return failed(
                    format!(
                        "no picture from {} within {} s",
                        self.uri,
                        s.config.open_timeout.as_secs()
                    ),
                    true,
                );
            }
            if last > 0
                && unix_ns_now().saturating_sub(last) > s.config.stall_timeout.as_nanos() as u64
            {
                s.emit(PlayerEvent::State(PlayerState::Stalled));
                return Outcome::Stalled;
            }
            if tick.elapsed() >= Duration::from_secs(1) {
                let secs = tick.elapsed().as_secs_f32();
                tick = Instant::now();
                let (f, b) = (
                    s.frames_out.load(Ordering::Relaxed),
                    s.bytes_in.load(Ordering::Relaxed),
                );
                let has_sei = s
                    .timing
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .has_sei;
                if last > 0 {
                    s.emit(PlayerEvent::Stats(PlayerStats {
                        fps: (f - frames) as f32 / secs,
                        dropped: s.dropped.load(Ordering::Relaxed),
                        bitrate_kbps: ((b - bytes) as f32 * 8.0 / 1000.0 / secs) as u32,
                        latency_ms: has_sei
                            .then(|| s.last_latency_us.load(Ordering::Relaxed) as f32 / 1000.0),
                    }));
                }
                (frames, bytes) = (f, b);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: i64 = 1_000_000;

    /// A stream whose pictures arrive 20 ms after capture, anchored.
    fn anchored() -> Timing {
        let mut t = Timing::default();
        t.update(0, Some(1_000 * MS), 1_020 * MS, 15 * MS);
        t
    }

    #[test]
    fn pictures_the_sink_keeps_dropping_as_late_widen_the_budget_once_per_streak() {
        let mut t = anchored();
        let before = t.latency_ns;
        assert_eq!(
            t.late_at_sink(LATE_DROPS - 1, 40 * MS),
            None,
            "a few drops are normal"
        );
        let offset = t
            .late_at_sink(LATE_DROPS, 40 * MS)
            .expect("a streak moves the anchor");
        assert_eq!(
            t.latency_ns,
            before + 50 * MS,
            "as late as the sink saw, plus 10 ms"
        );
        assert_eq!(offset, t.base_map.expect("anchored") + t.latency_ns);
        // Later arrivals keep the allowance: catching up to the live edge
        // does not undo it.
        for i in 1..=5 {
            t.update(
                i * 33 * MS,
                Some((1_000 + i * 33) * MS),
                (1_020 + i * 33) * MS,
                15 * MS,
            );
        }
        assert!(
            t.latency_ns >= before + 50 * MS,
            "kept: {}",
            t.latency_ns / MS
        );
    }

    /// Joining a room: the server's GOP cache sends the last second of
    /// pictures at once (the keyframe ~1 s old, the newest 20 ms), then the
    /// live ones follow, the nth `delay_ms(n)` after capture. Returns the
    /// budget after each picture.
    fn join_on_a_gop_cache(live: i64, delay_ms: impl Fn(i64) -> i64) -> Vec<i64> {
        let mut t = Timing::default();
        let (burst, at) = (30, 1_000 * MS);
        let capture = |i: i64| at - 20 * MS - (burst - 1 - i) * 33 * MS;
        let mut budgets = Vec::new();
        for i in 0..burst + live {
            let arrives = if i < burst {
                at + i * MS / 2
            } else {
                capture(i) + delay_ms(i) * MS
            };
            t.update(i * 33 * MS, Some(capture(i)), arrives, 15 * MS);
            budgets.push(t.latency_ns / MS);
        }
        budgets
    }

    #[test]
    fn a_join_on_the_servers_gop_cache_reaches_the_live_edge_by_the_end_of_the_burst() {
        let budgets = join_on_a_gop_cache(10, |_| 20);
        assert!(
            budgets[0] > 900,
            "anchored on the old keyframe: {budgets:?}"
        );
        // The burst is a backlog, not network jitter: by the first live
        // picture the budget is the live delay plus the jitter floor (a
        // viewer sees live pictures at once, not a second later).
        assert!(
            budgets[30..].iter().all(|&b| b <= 20 + 15 + 10),
            "{budgets:?}"
        );
    }

    #[test]
    fn catching_up_after_a_join_keeps_room_for_the_jitter_of_the_live_pictures() {
        // Every fourth live picture is held back 50 ms by the network (the
        // one behind it comes right after): the live edge is then 70 ms, not
        // 20 ms, or every fourth picture would be late.
        let budgets = join_on_a_gop_cache(60, |i| if i % 4 == 0 { 70 } else { 20 });
        let settled = &budgets[70..];
        assert!(
            settled.iter().all(|&b| (70..=100).contains(&b)),
            "{settled:?}"
        );
    }

    #[test]
    fn the_allowance_is_bounded_and_ignores_pictures_that_arrived_late() {
        let mut t = anchored();
        t.late_streak = 1;
        assert_eq!(
            t.late_at_sink(LATE_DROPS, 40 * MS),
            None,
            "late on arrival: not decoding"
        );
        t.late_streak = 0;
        while t.late_at_sink(LATE_DROPS, 10_000 * MS).is_some() {}
        assert_eq!(t.decode_ns, MAX_DECODE_NS);
    }
}
