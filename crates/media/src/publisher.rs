//! The demo publisher: a synthetic live stream per room, visibly distinct
//! (pattern, colours, caption, optionally a running wall clock) with an
//! audio tone.
//!
//! ```text
//! {videotestsrc live 180x320@30} - {videoscale 540x960} - {textoverlay} - [{clockoverlay}] - {x264enc zerolatency, 1 s GOP}
//!     --(probe: insert capture-time SEI)--> {h264parse} - {queue} --\
//! {audiotestsrc live sine} - {audioconvert} - {avenc_aac} - {aacparse} - {queue} - {flvmux streamable} - {appsink} -> bytes
//! ```
//! The capture time is taken when the live test source pushes the frame (it
//! waits for the clock, so that moment is the frame's "glass" time) and
//! carried to the encoder output in frame order.
//!
//! Encoding live costs about a third of a core per room on the 2-core
//! machines we measure on, most of it the test pattern and x264. The
//! pattern only scrolls sideways, so its picture repeats after
//! [`loop_frames`] frames: a publisher started with
//! [`Publisher::start_recording`] hands over its first loop of encoded
//! pictures ([`EncodedLoop`], which can be kept on disk), and
//! [`Publisher::replay`] streams such a loop again and again with fresh
//! capture times — the same H.264 over the same FLV, paced live, for a few
//! percent of a core:
//!
//! ```text
//! {appsrc live: the loop's access units, each with a new capture-time SEI} - {h264parse} - {queue} --\
//! {audiotestsrc live sine} - … - {flvmux streamable} - {appsink} -> bytes
//! ```
//!
//! Size: the demo publisher's three pipelines (live, recording, replay) share
//! their elements and the capture-time SEI probe.

use crate::{MediaError, sei, unix_ns_now};
use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

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
    /// A running wall clock under the caption. A replayed loop has none
    /// (it would stand still and jump), so a recording publisher leaves it out.
    pub clock: bool,
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
            clock: true,
        }
    }
}

/// A running publisher. Dropping it stops the pipeline (and a replay's pacer).
pub struct Publisher {
    pipeline: gst::Pipeline,
    pacer: Option<(Arc<AtomicBool>, std::thread::JoinHandle<()>)>,
}

impl std::fmt::Debug for Publisher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Publisher")
            .field("pipeline", &self.pipeline.name())
            .field("replay", &self.pacer.is_some())
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

/// The live picture up to the encoder: test pattern, scaled, captioned,
/// optionally with the clock. `num_buffers` bounds it (for a loop encode).
fn video_source(c: &PublisherConfig) -> String {
    let clock = if c.clock {
        " ! clockoverlay time-format=\"%H:%M:%S\" valignment=position ypos=0.46 halignment=center font-desc=\"Sans Bold 30\" shaded-background=true"
    } else {
        ""
    };
    format!(
        "videotestsrc name=vsrc is-live=true pattern={pattern} horizontal-speed={motion} foreground-color={fg} background-color={bg} \
         ! video/x-raw,width={pw},height={ph},framerate={fps}/1,format=I420 \
         ! videoscale method=bilinear ! video/x-raw,width={w},height={h} \
         ! textoverlay text=\"{caption}\" valignment=position ypos=0.4 halignment=center font-desc=\"Sans Bold 14\" shaded-background=true{clock} \
         ! x264enc name=enc tune=zerolatency speed-preset=ultrafast key-int-max={gop} bitrate={kbps} bframes=0 option-string=scenecut=0 \
         ! video/x-h264,stream-format=byte-stream,alignment=au",
        pattern = escape(&c.pattern),
        motion = c.motion,
        fg = c.foreground,
        bg = c.background,
        w = c.width,
        h = c.height,
        // The test pattern is drawn at a third of the size and scaled up:
        // at full size videotestsrc's pinwheel/spokes cost ~40 % of a core
        // per room, a third of that when scaled (measured with gst-launch).
        pw = pattern_width(c),
        ph = (c.height / 3).max(2) & !1,
        fps = c.fps,
        caption = markup(&c.caption),
        gop = c.keyframe_interval,
        kbps = c.bitrate_kbps,
    )
}

/// The width the pattern is drawn at (a third of the picture's, even).
fn pattern_width(c: &PublisherConfig) -> u32 {
    (c.width / 3).max(2) & !1
}

/// The tone and the muxer, shared by the live and the replayed stream.
fn audio_and_mux(c: &PublisherConfig) -> String {
    format!(
        "h264parse ! queue max-size-time=0 max-size-bytes=0 max-size-buffers=64 \
         ! flvmux name=mux streamable=true latency=0 ! appsink name=out sync=false \
         audiotestsrc is-live=true wave=sine freq={tone} volume=0.05 samplesperbuffer=1470 \
         ! audioconvert ! audioresample ! audio/x-raw,rate=44100,channels=2 ! avenc_aac bitrate=96000 ! aacparse \
         ! queue max-size-time=0 max-size-bytes=0 max-size-buffers=64 ! mux.",
        tone = c.tone_hz,
    )
}

/// How many frames until the picture repeats: the pattern scrolls
/// `motion` pixels a frame across its width (the caption stands still),
/// rounded up to whole GOPs so a loop starts and ends on a keyframe. At
/// most 20 s of pictures.
#[must_use]
pub fn loop_frames(c: &PublisherConfig) -> u32 {
    fn gcd(a: u32, b: u32) -> u32 {
        if b == 0 { a } else { gcd(b, a % b) }
    }
    let gop = c.keyframe_interval.max(1);
    let period = match c.motion.unsigned_abs() {
        0 => 1,
        m => pattern_width(c) / gcd(pattern_width(c), m),
    };
    let frames = period / gcd(period, gop) * gop;
    frames.min((c.fps * 20).max(gop) / gop * gop)
}

fn launch(desc: &str) -> Result<gst::Pipeline, MediaError> {
    gst::parse::launch(desc)
        .map_err(|e| match e.kind::<gst::ParseError>() {
            // "no element \"textoverlay\"": name the element alone.
            Some(gst::ParseError::NoSuchElement) => MediaError::MissingElement(
                e.message()
                    .split('"')
                    .nth(1)
                    .unwrap_or(e.message())
                    .to_owned(),
            ),
            _ => MediaError::Pipeline(e.to_string()),
        })?
        .downcast::<gst::Pipeline>()
        .map_err(|_| MediaError::Pipeline("not a pipeline".into()))
}

fn element(pipeline: &gst::Pipeline, name: &str) -> Result<gst::Element, MediaError> {
    pipeline
        .by_name(name)
        .ok_or_else(|| MediaError::Pipeline(format!("no element {name}")))
}

/// Hands every FLV chunk the muxer makes to `on_flv`.
fn deliver_flv(
    pipeline: &gst::Pipeline,
    on_flv: impl Fn(&[u8]) + Send + Sync + 'static,
) -> Result<(), MediaError> {
    let sink = element(pipeline, "out")?
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
    Ok(())
}

type OnLoop = Box<dyn FnOnce(EncodedLoop) + Send>;

impl Publisher {
    /// Starts publishing; `on_flv` receives the FLV byte stream in order.
    pub fn start(
        config: &PublisherConfig,
        on_flv: impl Fn(&[u8]) + Send + Sync + 'static,
    ) -> Result<Self, MediaError> {
        Self::start_live(config, on_flv, None)
    }

    /// Starts publishing live like [`Publisher::start`] (without the clock),
    /// and hands the first [`loop_frames`] encoded pictures to `on_loop`
    /// once they are there: a loop [`Publisher::replay`] can stream for a
    /// fraction of the cost.
    pub fn start_recording(
        config: &PublisherConfig,
        on_flv: impl Fn(&[u8]) + Send + Sync + 'static,
        on_loop: impl FnOnce(EncodedLoop) + Send + 'static,
    ) -> Result<Self, MediaError> {
        let config = PublisherConfig {
            clock: false,
            ..config.clone()
        };
        Self::start_live(&config, on_flv, Some(Box::new(on_loop)))
    }

    fn start_live(
        config: &PublisherConfig,
        on_flv: impl Fn(&[u8]) + Send + Sync + 'static,
        on_loop: Option<OnLoop>,
    ) -> Result<Self, MediaError> {
        crate::init()?;
        let desc = format!("{} ! {}", video_source(config), audio_and_mux(config));
        let pipeline = launch(&desc)?;

        // Capture time per frame, keyed by timestamp, from source to encoder.
        let captured: Arc<Mutex<VecDeque<(gst::ClockTime, u64)>>> = Arc::default();
        let at_source = captured.clone();
        element(&pipeline, "vsrc")?
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
        // The loop being recorded: the encoder's first pictures, as encoded.
        let recording = Mutex::new(on_loop.map(|f| {
            let frames = loop_frames(config) as usize;
            (Vec::with_capacity(frames), frames, f)
        }));
        let (width, height, fps) = (config.width, config.height, config.fps);
        element(&pipeline, "enc")?
            .static_pad("src")
            .ok_or_else(|| MediaError::Pipeline("x264enc has no src pad".into()))?
            .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                let Some(buffer) = info.buffer() else {
                    return gst::PadProbeReturn::Ok;
                };
                let done = {
                    let mut recording = recording
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner);
                    if let Some((units, _, _)) = &mut *recording
                        && let Ok(map) = buffer.map_readable()
                    {
                        let key = !buffer.flags().contains(gst::BufferFlags::DELTA_UNIT);
                        units.push((key, map.to_vec()));
                    }
                    if recording
                        .as_ref()
                        .is_some_and(|(u, frames, _)| u.len() >= *frames)
                    {
                        recording.take()
                    } else {
                        None
                    }
                };
                if let Some((units, _, on_loop)) = done {
                    on_loop(EncodedLoop {
                        width,
                        height,
                        fps,
                        units,
                    });
                }
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

        deliver_flv(&pipeline, on_flv)?;
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| MediaError::Pipeline(format!("cannot start the publisher: {e}")))?;
        Ok(Self {
            pipeline,
            pacer: None,
        })
    }

    /// Streams `looped` live, over and over: each picture leaves at its
    /// time (the loop's frame rate, on a monotonic clock) with a new
    /// capture-time SEI, muxed with the room's live tone into FLV.
    pub fn replay(
        looped: Arc<EncodedLoop>,
        config: &PublisherConfig,
        on_flv: impl Fn(&[u8]) + Send + Sync + 'static,
    ) -> Result<Self, MediaError> {
        crate::init()?;
        if looped.units.first().is_none_or(|(key, _)| !key) {
            return Err(MediaError::Pipeline(
                "a loop must start with a keyframe".into(),
            ));
        }
        let desc = format!(
            "appsrc name=vin is-live=true do-timestamp=true format=time \
             caps=video/x-h264,stream-format=byte-stream,alignment=au,width={w},height={h},framerate={fps}/1 ! {rest}",
            w = looped.width,
            h = looped.height,
            fps = looped.fps,
            rest = audio_and_mux(config),
        );
        let pipeline = launch(&desc)?;
        let src = element(&pipeline, "vin")?
            .downcast::<gst_app::AppSrc>()
            .map_err(|_| MediaError::Pipeline("vin is not an appsrc".into()))?;
        deliver_flv(&pipeline, on_flv)?;
        pipeline
            .set_state(gst::State::Playing)
            .map_err(|e| MediaError::Pipeline(format!("cannot start the replay: {e}")))?;

        let stop = Arc::new(AtomicBool::new(false));
        let stopped = stop.clone();
        let frame = Duration::from_secs(1) / looped.fps.max(1);
        let pacer = std::thread::Builder::new()
            .name("livecart-replay".into())
            .spawn(move || {
                let start = Instant::now();
                for (i, (key, unit)) in looped.units.iter().cycle().enumerate() {
                    let due = start + frame * u32::try_from(i).unwrap_or(u32::MAX);
                    if let Some(wait) = due.checked_duration_since(Instant::now()) {
                        std::thread::sleep(wait);
                    }
                    if stopped.load(Ordering::Acquire) {
                        return;
                    }
                    let data = with_sei(unit, unix_ns_now()).unwrap_or_else(|| unit.clone());
                    let mut buffer = gst::Buffer::from_mut_slice(data);
                    if let Some(b) = buffer.get_mut() {
                        b.set_duration(frame.try_into().ok());
                        if !key {
                            b.set_flags(gst::BufferFlags::DELTA_UNIT);
                        }
                    }
                    // Flushing (stopping) or not linked: the publisher is going.
                    if src.push_buffer(buffer).is_err() {
                        return;
                    }
                }
            })
            .map_err(|e| MediaError::Pipeline(format!("cannot start the replay pacer: {e}")))?;
        Ok(Self {
            pipeline,
            pacer: Some((stop, pacer)),
        })
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
        // A replay's pacer stops at its next picture, or now: a push into
        // the stopped pipeline fails.
        if let Some((stop, _)) = &self.pacer {
            stop.store(true, Ordering::Release);
        }
        let _ = self.pipeline.set_state(gst::State::Null);
        if let Some((_, pacer)) = self.pacer.take() {
            let _ = pacer.join();
        }
    }
}

/// A room's picture as one seamless loop of encoded H.264 access units
/// (Annex B, the first a keyframe), made by [`Publisher::start_recording`]
/// and streamed by [`Publisher::replay`].
#[derive(Clone, PartialEq, Eq)]
pub struct EncodedLoop {
    pub width: u32,
    pub height: u32,
    pub fps: u32,
    units: Vec<(bool, Vec<u8>)>,
}

impl std::fmt::Debug for EncodedLoop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EncodedLoop")
            .field("size", &(self.width, self.height))
            .field("fps", &self.fps)
            .field("frames", &self.units.len())
            .field("bytes", &self.bytes())
            .finish()
    }
}

const LOOP_MAGIC: &[u8; 8] = b"LCLOOP01";

impl EncodedLoop {
    /// Pictures in the loop.
    #[must_use]
    pub fn frames(&self) -> usize {
        self.units.len()
    }

    /// Encoded size of the whole loop.
    #[must_use]
    pub fn bytes(&self) -> usize {
        self.units.iter().map(|(_, u)| u.len()).sum()
    }

    /// Whether each picture is a keyframe, in order.
    pub fn keyframes(&self) -> impl Iterator<Item = bool> + '_ {
        self.units.iter().map(|(key, _)| *key)
    }

    /// Where the loop for `config` is kept under `dir`: named by what the
    /// picture is made of, so a changed caption or pattern is a new file.
    #[must_use]
    pub fn path_in(dir: &Path, config: &PublisherConfig) -> PathBuf {
        let c = PublisherConfig {
            clock: false,
            ..config.clone()
        };
        // FNV-1a: stable across builds (unlike std's hasher).
        let hash = video_source(&c)
            .bytes()
            .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
        dir.join(format!("{hash:016x}.h264loop"))
    }

    /// Writes the loop to `path` (a temporary file renamed into place, so a
    /// reader never sees half a loop).
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut out = Vec::with_capacity(self.bytes() + 5 * self.units.len() + 24);
        out.extend_from_slice(LOOP_MAGIC);
        for n in [self.width, self.height, self.fps, self.units.len() as u32] {
            out.extend_from_slice(&n.to_le_bytes());
        }
        for (key, unit) in &self.units {
            out.push(u8::from(*key));
            out.extend_from_slice(&(unit.len() as u32).to_le_bytes());
            out.extend_from_slice(unit);
        }
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let tmp = path.with_extension("tmp");
        std::fs::write(&tmp, &out)?;
        std::fs::rename(&tmp, path)
    }

    /// Reads a loop [`EncodedLoop::save`] wrote; a missing file is `Ok(None)`,
    /// a damaged one an error saying what is wrong.
    pub fn load(path: &Path) -> std::io::Result<Option<Self>> {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(e),
        };
        let bad = |what: &str| {
            std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("{}: {what}", path.display()),
            )
        };
        let rest = bytes
            .strip_prefix(LOOP_MAGIC)
            .ok_or_else(|| bad("not a livecart picture loop"))?;
        let mut r = Reader(rest);
        let cut = || bad("cut short");
        let width = r.u32().ok_or_else(cut)?;
        let height = r.u32().ok_or_else(cut)?;
        let fps = r.u32().ok_or_else(cut)?;
        let count = r.u32().ok_or_else(cut)?;
        let mut units = Vec::with_capacity(count.min(10_000) as usize);
        for _ in 0..count {
            let key = r.take(1).ok_or_else(cut)?[0] == 1;
            let len = r.u32().ok_or_else(cut)? as usize;
            units.push((key, r.take(len).ok_or_else(cut)?.to_vec()));
        }
        if units.first().is_none_or(|(key, _)| !key) || fps == 0 {
            return Err(bad("does not start with a keyframe"));
        }
        Ok(Some(Self {
            width,
            height,
            fps,
            units,
        }))
    }
}

/// Reads a saved loop from the front.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, tail) = self.0.split_at_checked(n)?;
        self.0 = tail;
        Some(head)
    }

    fn u32(&mut self) -> Option<u32> {
        self.take(4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// The access unit with our SEI placed just before its first slice.
fn insert_sei(buffer: &gst::BufferRef, capture_ns: u64) -> Option<gst::Buffer> {
    let map = buffer.map_readable().ok()?;
    let out = with_sei(map.as_slice(), capture_ns)?;
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

/// `data` (an Annex B access unit) with our SEI just before its first slice.
fn with_sei(data: &[u8], capture_ns: u64) -> Option<Vec<u8>> {
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
    Some(out)
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

    /// The pictures (video tags but the sequence header) in an FLV byte stream.
    fn pictures(flv: &[u8]) -> Vec<crate::flv::Tag> {
        let mut reader = crate::flv::FlvReader::default();
        let (_, tags) = reader.push(flv).expect("FLV");
        tags.into_iter()
            .filter(|t| t.kind == 9 && !t.is_sequence_header())
            .collect()
    }

    /// Keyframe or not, and the capture time, of each picture.
    fn capture_times(flv: &[u8]) -> Vec<(bool, u64)> {
        pictures(flv)
            .iter()
            .map(|t| {
                let payload = &t.bytes[11 + 5..t.bytes.len() - 4];
                let key = t.bytes[11] >> 4 == 1;
                let at = sei::find_capture_time(payload, sei::NalFormat::Avc { length_size: 4 })
                    .expect("every picture carries its capture time");
                (key, at)
            })
            .collect()
    }

    #[test]
    fn the_loop_is_whole_gops_of_one_scroll_across_the_pattern() {
        let c = PublisherConfig::default();
        // 180 px pattern, 1 px a frame: 180 frames = six 1 s GOPs.
        assert_eq!(
            loop_frames(&PublisherConfig {
                motion: 1,
                ..c.clone()
            }),
            180
        );
        // 45 frames round, but a loop ends on a GOP: 90.
        assert_eq!(
            loop_frames(&PublisherConfig {
                motion: -4,
                ..c.clone()
            }),
            90
        );
        // A 178 px pattern takes 2,670 frames to repeat in whole GOPs: 20 s at most.
        assert_eq!(
            loop_frames(&PublisherConfig {
                motion: 1,
                width: 538,
                ..c.clone()
            }),
            600
        );
        assert_eq!(loop_frames(&PublisherConfig { motion: 0, ..c }), 30);
    }

    #[test]
    fn a_recorded_loop_replays_live_with_fresh_capture_times_across_its_seam() {
        // 6 px a frame over a 180 px pattern: a one-second loop.
        let config = PublisherConfig {
            motion: 6,
            pattern: "spokes".into(),
            ..PublisherConfig::default()
        };
        let (loop_tx, loop_rx) = mpsc::channel();
        let live = Publisher::start_recording(
            &config,
            |_| {},
            move |l| {
                let _ = loop_tx.send(l);
            },
        )
        .expect("starts");
        let looped = loop_rx
            .recv_timeout(std::time::Duration::from_secs(20))
            .expect("the first loop is handed over");
        drop(live);
        assert_eq!(looped.frames(), 30);
        let keys: Vec<bool> = looped.keyframes().collect();
        assert!(keys[0] && keys[1..].iter().all(|k| !k), "one GOP: {keys:?}");

        // Kept on disk and read back the same; damage is an error, not a panic.
        let dir = std::env::temp_dir().join(format!("livecart-loop-{}", std::process::id()));
        let path = EncodedLoop::path_in(&dir, &config);
        assert_eq!(
            path,
            EncodedLoop::path_in(
                &dir,
                &PublisherConfig {
                    clock: false,
                    ..config.clone()
                }
            )
        );
        assert_ne!(
            path,
            EncodedLoop::path_in(
                &dir,
                &PublisherConfig {
                    caption: "other".into(),
                    ..config.clone()
                }
            )
        );
        assert!(EncodedLoop::load(&path).expect("no file is fine").is_none());
        looped.save(&path).expect("saved");
        let back = EncodedLoop::load(&path).expect("read").expect("there");
        assert_eq!(back, looped);
        let bytes = std::fs::read(&path).expect("file");
        std::fs::write(&path, &bytes[..bytes.len() / 2]).expect("cut");
        let err = EncodedLoop::load(&path).expect_err("half a loop");
        assert!(err.to_string().contains("cut short"), "{err}");
        std::fs::write(&path, b"not a loop").expect("garbage");
        assert!(EncodedLoop::load(&path).is_err());
        let _ = std::fs::remove_dir_all(&dir);

        // Two and a half times round the loop, paced live.
        let (tx, rx) = mpsc::channel::<Vec<u8>>();
        let tx = Mutex::new(tx);
        let started = std::time::Instant::now();
        let replay = Publisher::replay(Arc::new(back), &config, move |b| {
            let _ = tx.lock().expect("lock").send(b.to_vec());
        })
        .expect("replays");
        let mut flv = Vec::new();
        while pictures(&flv).len() < 75 {
            flv.extend(
                rx.recv_timeout(std::time::Duration::from_secs(10))
                    .expect("output"),
            );
        }
        let elapsed = started.elapsed();
        drop(replay);
        let frames = capture_times(&flv);
        // Paced at 30 fps, not as fast as it can go.
        assert!(
            elapsed >= std::time::Duration::from_secs(2),
            "75 pictures in {elapsed:?}"
        );
        // A keyframe every 30 pictures (each time round the loop), and the
        // capture times move on with the clock, never back.
        for (i, (key, _)) in frames.iter().enumerate().take(75) {
            assert_eq!(*key, i % 30 == 0, "picture {i}");
        }
        for w in frames.windows(2) {
            assert!(w[1].1 > w[0].1, "capture times run forward: {w:?}");
        }
        let span_ms = (frames[74].1 - frames[0].1) / 1_000_000;
        assert!(
            (2300..=2700).contains(&span_ms),
            "74 frame intervals took {span_ms} ms"
        );
    }
}
