//! A stream from software we did not write: ffmpeg publishing to nginx's RTMP
//! module (both Debian's packages, started here), played by the desktop
//! player from its `rtmp://` URL. This is the direct path the media origin
//! (#18, docs/web.md) is measured against — and the origin's relay pulling
//! the same stream into a hub, as a browser's access units.

use livecart_media::au::{AuFramer, AuMessage, KIND_AUDIO, KIND_VIDEO};
use livecart_media::flv::FlvReader;
use livecart_media::outside::OutsideStream;
use livecart_media::player::{AudioOutput, OutputKind, VideoSink};
use livecart_media::{FlvHub, Relay, RelayConfig, RelayOutput, RelayState};
use livecart_media::{Player, PlayerConfig, PlayerEvent, PlayerState, VideoOutput};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(20);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_outside_rtmp_stream_from_nginx_plays_from_a_keyframe_at_its_own_size() {
    let stream = OutsideStream::start();
    let got: Arc<Mutex<Vec<VideoOutput>>> = Arc::default();
    let notify = Arc::new(tokio::sync::Notify::new());
    let sink: VideoSink = {
        let (got, notify) = (got.clone(), notify.clone());
        Arc::new(move |v: VideoOutput| {
            got.lock().expect("lock").push(v);
            notify.notify_waiters();
        })
    };
    let config = PlayerConfig {
        output: OutputKind::Encoded,
        audio: AudioOutput::Silent,
        ..PlayerConfig::default()
    };
    let (player, mut events) = Player::open(&stream.url, config, sink).expect("opens");
    let said = wait_pictures(&got, &notify, &mut events, 60).await;
    assert!(
        said.iter().any(|s| matches!(s, PlayerState::Playing)),
        "the player says it is playing: {said:?}"
    );
    let pictures = std::mem::take(&mut *got.lock().expect("lock"));
    let VideoOutput::AccessUnit {
        keyframe,
        codec,
        width,
        height,
        ..
    } = &pictures[0]
    else {
        panic!("access units expected")
    };
    assert!(*keyframe, "a viewer starts at a keyframe, never on grey");
    assert!(codec.starts_with("avc1."), "{codec}");
    assert_eq!((*width, *height), (640, 360), "the source's own size");
    let keyframes = pictures
        .iter()
        .filter(|v| matches!(v, VideoOutput::AccessUnit { keyframe: true, .. }))
        .count();
    assert!(
        keyframes >= 2,
        "pictures keep coming across GOPs (a keyframe each second): {keyframes} in {}",
        pictures.len()
    );
    drop(player);
}

/// Waits for `n` pictures; on a timeout, panics with what the player said.
async fn wait_pictures(
    got: &Mutex<Vec<VideoOutput>>,
    notify: &tokio::sync::Notify,
    events: &mut mpsc::UnboundedReceiver<PlayerEvent>,
    n: usize,
) -> Vec<PlayerState> {
    let mut said = Vec::new();
    let waited = tokio::time::timeout(WAIT, async {
        loop {
            let notified = notify.notified();
            if got.lock().expect("lock").len() >= n {
                return;
            }
            notified.await;
        }
    })
    .await;
    while let Ok(e) = events.try_recv() {
        if let PlayerEvent::State(s) = e {
            said.push(s);
        }
    }
    assert!(
        waited.is_ok(),
        "only {} of {n} pictures within {WAIT:?}; the player said {said:?}",
        got.lock().expect("lock").len()
    );
    said
}

/// The relay's output into a hub, as the server wires it.
fn relay_into(hub: &Arc<FlvHub>, url: &str) -> (Relay, Arc<std::sync::atomic::AtomicUsize>) {
    let streams = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (h, n) = (hub.clone(), streams.clone());
    let relay = Relay::start(
        url,
        RelayConfig {
            max_retry_delay: Duration::from_millis(500),
        },
        move |out| match out {
            RelayOutput::NewStream => {
                n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                h.reset();
            }
            RelayOutput::Lost => h.reset(),
            RelayOutput::Flv(bytes) => h.push(bytes).expect("the relay writes FLV"),
        },
    )
    .expect("the relay starts");
    (relay, streams)
}

/// What a browser joining now would be sent first: the access units of the
/// hub's start (header, configuration, the current GOP).
struct Joined {
    first: Vec<Vec<u8>>,
    live: tokio::sync::broadcast::Receiver<bytes::Bytes>,
    reader: FlvReader,
    framer: AuFramer,
}

fn join(hub: &FlvHub) -> Joined {
    let (start, live) = hub.subscribe().expect("decodable");
    let mut reader = FlvReader::default();
    let mut framer = AuFramer::default();
    let (_, tags) = reader.push(&start).expect("FLV");
    let first = tags
        .iter()
        .filter_map(|t| framer.frame(t, false))
        .map(|b| b.to_vec())
        .collect();
    Joined {
        first,
        live,
        reader,
        framer,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_origin_relays_an_outside_rtmp_stream_as_access_units_and_pulls_again_when_it_returns()
{
    let mut stream = OutsideStream::start();
    let hub = Arc::new(FlvHub::new(512));
    let (relay, streams) = relay_into(&hub, &stream.url);
    tokio::time::timeout(WAIT, hub.wait_ready())
        .await
        .unwrap_or_else(|_| panic!("no keyframe relayed within {WAIT:?}: {:?}", relay.state()));
    assert_eq!(relay.state(), RelayState::Live);

    // A browser joining now starts at a keyframe, with both decoders'
    // configuration, and the stream keeps coming across GOPs.
    let Joined {
        first,
        live: mut rx,
        mut reader,
        mut framer,
    } = join(&hub);
    let parsed: Vec<AuMessage> = first.iter().filter_map(|m| AuMessage::parse(m)).collect();
    assert_eq!(parsed.len(), first.len(), "every message parses");
    let video: Vec<&AuMessage> = parsed.iter().filter(|m| m.kind == KIND_VIDEO).collect();
    assert!(video[0].is_keyframe(), "the first picture is a keyframe");
    let key = video[0].payload;
    assert!(
        key.starts_with(&[0, 0, 0, 1]) && key[4] & 0x1f == 7,
        "Annex B with the SPS first"
    );
    assert_eq!(
        video[0].codec,
        format!("avc1.{:02x}{:02x}{:02x}", key[5], key[6], key[7]),
        "the codec string is the SPS's profile, constraints and level"
    );
    assert!(
        parsed
            .iter()
            .any(|m| m.kind == KIND_AUDIO && m.is_config() && m.codec == "mp4a.40.2"),
        "AAC-LC's configuration comes with the start"
    );
    let mut keyframes = 0;
    let mut audio = 0;
    let mut last_pts = f64::MIN;
    let more = tokio::time::timeout(WAIT, async {
        while keyframes < 2 || audio < 20 {
            let Ok(tag) = rx.recv().await else { break };
            for t in reader.push(&tag).expect("FLV").1 {
                let Some(bytes) = framer.frame(&t, false) else {
                    continue;
                };
                let m = AuMessage::parse(&bytes).expect("parses");
                if m.kind == KIND_VIDEO {
                    keyframes += usize::from(m.is_keyframe());
                    assert!(m.pts_ms > last_pts - 1000.0, "time runs forward");
                    last_pts = m.pts_ms;
                } else {
                    audio += 1;
                }
            }
        }
    })
    .await;
    assert!(
        more.is_ok(),
        "{keyframes} keyframes and {audio} audio frames within {WAIT:?}"
    );

    // The publisher leaves: the relay says so, and keeps trying.
    stream.stop_publishing();
    let said = wait_state(&relay, |s| matches!(s, RelayState::Retrying { .. })).await;
    let RelayState::Retrying { error, .. } = said else {
        unreachable!()
    };
    assert!(!error.is_empty(), "the reason is said");
    assert!(
        hub.subscribe().is_none(),
        "a viewer joining now is not given the lost stream's frozen picture"
    );
    // It comes back: a new stream, decodable from a keyframe again.
    stream.publish_again();
    wait_state(&relay, |s| *s == RelayState::Live).await;
    tokio::time::timeout(WAIT, hub.wait_ready())
        .await
        .expect("decodable again");
    assert!(
        streams.load(std::sync::atomic::Ordering::Relaxed) >= 2,
        "each connection starts a new FLV stream"
    );
    let again = join(&hub).first;
    let first_video = again
        .iter()
        .filter_map(|m| AuMessage::parse(m))
        .find(|m| m.kind == KIND_VIDEO)
        .expect("a picture");
    assert!(first_video.is_keyframe());
    drop(relay);
}

/// Waits for the relay to say `want`.
async fn wait_state(relay: &Relay, want: impl Fn(&RelayState) -> bool) -> RelayState {
    let mut states = relay.watch();
    let said = tokio::time::timeout(WAIT, states.wait_for(|s| want(s))).await;
    match said {
        Ok(Ok(s)) => s.clone(),
        _ => panic!("the relay still says {:?} after {WAIT:?}", relay.state()),
    }
}

/// The origin checked the host it was given, not wherever that host sends
/// it: a redirect (to a stream that plays, here) is not followed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_relay_does_not_follow_a_redirect() {
    let mut stream = crate::support::serve().await;
    stream.publish("circular").await;
    let target = stream.url();
    let redirector = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = redirector.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        use std::io::{Read, Write};
        for conn in redirector.incoming().flatten().take(8) {
            let mut conn = conn;
            let mut head = [0u8; 2048];
            let _ = conn.read(&mut head);
            let _ = write!(
                conn,
                "HTTP/1.1 302 Found\r\nLocation: {target}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
    });
    let hub = Arc::new(FlvHub::new(64));
    let (relay, _) = relay_into(&hub, &format!("http://127.0.0.1:{port}/live.flv"));
    let said = wait_state(&relay, |s| !matches!(s, RelayState::Connecting)).await;
    assert!(
        matches!(said, RelayState::Retrying { .. }),
        "the redirect is refused, not followed: {said:?}"
    );
    assert!(
        hub.subscribe().is_none(),
        "nothing from the redirect's target"
    );
    drop(relay);
}
