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

mod output;
mod pipeline;

pub use output::{RelayOutput, RelayState};

use crate::runtime::MediaError;
use backon::BackoffBuilder;
use gstreamer as gst;
use gstreamer::prelude::*;
use output::OnOutput;
use pipeline::build;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

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

/// A running pull. Dropping it stops the pipeline and joins its thread.
pub struct Relay {
    stop: std_mpsc::Sender<()>,
    thread: Option<std::thread::JoinHandle<()>>,
    state: tokio::sync::watch::Sender<RelayState>,
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
        let last_sample = Arc::new(AtomicU64::new(0));
        let error = match build(uri, on_output, &flowing, &last_sample, state) {
            Ok(pipeline) => {
                let outcome = watch(&pipeline, stopped, &flowing, &last_sample);
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
        // What viewers had is gone: they are told, not shown a frozen picture.
        on_output(RelayOutput::Lost);
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

/// A source that sends nothing for this long has failed (it may keep its
/// connection open).
const STALL: Duration = Duration::from_secs(10);

/// Runs until the pipeline fails, ends or stalls (`Some(reason)`) or the
/// relay is dropped (`None`). `last_sample`: ms after the pipeline was
/// built when the last access unit came.
fn watch(
    pipeline: &gst::Pipeline,
    stopped: &std_mpsc::Receiver<()>,
    flowing: &AtomicBool,
    last_sample: &AtomicU64,
) -> Option<String> {
    let since = std::time::Instant::now();
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
            let quiet = if flowing.load(Ordering::Relaxed) {
                since
                    .elapsed()
                    .saturating_sub(Duration::from_millis(last_sample.load(Ordering::Relaxed)))
            } else {
                since.elapsed()
            };
            if quiet > STALL + Duration::from_secs(5) * u32::from(!flowing.load(Ordering::Relaxed))
            {
                return Some(format!("the source sent nothing for {} s", quiet.as_secs()));
            }
            continue;
        };
        return Some(match msg.view() {
            gst::MessageView::Error(e) => e.error().to_string(),
            _ => "the source ended the stream".into(),
        });
    }
}
