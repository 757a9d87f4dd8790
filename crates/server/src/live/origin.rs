//! The media origin: a room whose stream is elsewhere (a host's RTMP, SRT,
//! RTSP, HLS or HTTP-FLV URL) is pulled once by this server while anyone
//! watches it here, and served from the room's hub like the server's own
//! streams: as HTTP-FLV (`/live/{room}.flv`) and as access units over
//! WebSocket (`/live/{room}/au`). The pull is `livecart_media::Relay`; it is
//! started by the first viewer, stopped after `demo.idle_stop_secs` without
//! one (`streams.rs`), and reconnects with backoff on its own. Only with the
//! `gst` feature; without it, the feed lists only the host's URLs.

use crate::state::AppState;
use livecart_protocol::RoomId;

/// Registers the room's relay if it has an outside stream and none is
/// registered yet. The URL passed the host API's rules when the room was
/// made; the name is looked up again when the relay starts.
#[cfg(feature = "gst")]
pub fn adopt(state: &AppState, room: RoomId) {
    use livecart_media::{Relay, RelayConfig, RelayOutput, RelayState};
    use std::sync::Arc;
    if state.streams.has_publisher(room) {
        return;
    }
    let Some(r) = state.rooms.get(room) else {
        return;
    };
    let summary = r.summary();
    // Only a live room is pulled (a scheduled or ended one has no viewers).
    if summary.status != livecart_protocol::rest::RoomStatus::Live {
        return;
    }
    let Some(url) = outside_url(&state.base_url, &summary) else {
        return;
    };
    let hub = state.streams.hub(room);
    let allow_private = state.config.allow_private_stream_urls;
    let (pulls, max) = (state.streams.relays.clone(), state.config.max_relays);
    state.streams.on_demand(
        room,
        Arc::new(move || {
            // A name may point inside our network by now (the rules checked
            // it at creation): looked up again before every pull.
            crate::rules::resolves_outside(&url, allow_private)?;
            // A pull slot, held until the relay is dropped.
            let slot = Slot::take(&pulls, max)?;
            let hub = hub.clone();
            let relay = Relay::start(&url, RelayConfig::default(), move |out| match out {
                // A new stream, or the old one gone: viewers reconnect, and
                // while the source is down they are told why (503).
                RelayOutput::NewStream | RelayOutput::Lost => hub.reset(),
                RelayOutput::Flv(bytes) => {
                    if let Err(e) = hub.push(bytes) {
                        tracing::warn!(%room, "relay output is not FLV: {e}");
                    }
                }
            })?;
            let relay = Arc::new(relay);
            let watch = relay.clone();
            Ok(crate::live::streams::Started {
                publisher: Box::new((relay, slot)),
                source: "relay of the host's stream",
                // The pipeline's own words stay in the log: they could tell
                // a stranger what answers inside our network.
                trouble: Some(Box::new(move || match watch.state() {
                    RelayState::Retrying { attempt, .. } => Some(format!(
                        "the host's stream cannot be reached; trying again (attempt {attempt})"
                    )),
                    RelayState::Connecting | RelayState::Live => None,
                })),
            })
        }),
    );
}

/// One of the `max_relays` pulls, given back when dropped.
#[cfg(feature = "gst")]
struct Slot(std::sync::Arc<std::sync::atomic::AtomicUsize>);

#[cfg(feature = "gst")]
impl Slot {
    fn take(
        pulls: &std::sync::Arc<std::sync::atomic::AtomicUsize>,
        max: usize,
    ) -> anyhow::Result<Self> {
        use std::sync::atomic::Ordering;
        if pulls.fetch_add(1, Ordering::AcqRel) >= max {
            pulls.fetch_sub(1, Ordering::AcqRel);
            anyhow::bail!(
                "this server pulls at most {max} hosts' streams at once; try again when one ends"
            );
        }
        Ok(Self(pulls.clone()))
    }
}

#[cfg(feature = "gst")]
impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

#[cfg(not(feature = "gst"))]
pub fn adopt(_state: &AppState, _room: RoomId) {}

/// The first of the room's streams this server does not serve itself and
/// will pull: one connection to one host (RTMP, SRT, RTSP, HTTP-FLV). Not
/// HLS: a playlist names segment URLs on any host, each one a request from
/// inside our network.
#[cfg_attr(not(feature = "gst"), allow(dead_code))]
fn outside_url(base: &str, room: &livecart_protocol::rest::RoomSummary) -> Option<String> {
    use livecart_protocol::rest::StreamProtocol as P;
    let ws_base = base.replacen("http", "ws", 1);
    room.streams
        .iter()
        .filter(|s| !s.url.starts_with(base) && !s.url.starts_with(&ws_base))
        .find(|s| matches!(s.protocol, P::Rtmp | P::Srt | P::Rtsp | P::HttpFlv))
        .map(|s| s.url.clone())
}
