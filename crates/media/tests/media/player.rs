//! What a viewer notices: pictures appear, on time, carry their capture
//! time, come back after the stream restarts, bad URLs fail fast, and a
//! closed player leaves nothing running.
//!
//! Size: the player's tests, one story each, sharing one set of stream
//! helpers.

use crate::support;
use livecart_media::player::{AudioOutput, FrameFormat, OutputKind};
use livecart_media::{Player, PlayerConfig, PlayerEvent, PlayerState, VideoOutput};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(15);

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

/// Collects video output; `wait_for(n)` resolves once `n` items arrived.
#[derive(Clone, Default)]
struct Collector {
    items: Arc<Mutex<Vec<(u64, VideoOutput)>>>,
    notify: Arc<tokio::sync::Notify>,
}

impl Collector {
    fn sink(&self) -> livecart_media::player::VideoSink {
        let c = self.clone();
        Arc::new(move |v| {
            c.items.lock().expect("lock").push((now_ns(), v));
            c.notify.notify_waiters();
        })
    }

    fn len(&self) -> usize {
        self.items.lock().expect("lock").len()
    }

    /// Waits for `n` pictures; a timeout panics with what the player
    /// reported meanwhile (its states and stats), so a failure explains itself.
    async fn wait_for(&self, n: usize, events: &mut mpsc::UnboundedReceiver<PlayerEvent>) {
        let waited = tokio::time::timeout(WAIT, async {
            loop {
                let notified = self.notify.notified();
                if self.len() >= n {
                    return;
                }
                notified.await;
            }
        })
        .await;
        if waited.is_err() {
            let mut said = Vec::new();
            while let Ok(e) = events.try_recv() {
                said.push(format!("{e:?}"));
            }
            panic!(
                "only {} of {n} pictures within {WAIT:?}; the player reported: {said:#?}",
                self.len()
            );
        }
    }

    fn take(&self) -> Vec<(u64, VideoOutput)> {
        std::mem::take(&mut *self.items.lock().expect("lock"))
    }
}

fn config(output: OutputKind) -> PlayerConfig {
    PlayerConfig {
        output,
        audio: AudioOutput::Silent,
        ..PlayerConfig::default()
    }
}

async fn next_state(
    events: &mut mpsc::UnboundedReceiver<PlayerEvent>,
    want: impl Fn(&PlayerState) -> bool,
) -> PlayerState {
    tokio::time::timeout(WAIT, async {
        loop {
            match events.recv().await {
                Some(PlayerEvent::State(s)) if want(&s) => return s,
                Some(_) => {}
                None => panic!("player events ended"),
            }
        }
    })
    .await
    .expect("state within the wait")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn decoded_frames_arrive_scaled_with_capture_times_and_low_latency() {
    let mut stream = support::serve().await;
    stream.publish("ball").await;
    let frames = Collector::default();
    let opened = Instant::now();
    let format = FrameFormat::Rgba;
    let (player, mut events) = Player::open(
        &stream.url(),
        config(OutputKind::Decoded {
            width: 270,
            height: 480,
            format,
        }),
        frames.sink(),
    )
    .expect("opens");
    frames.wait_for(45, &mut events).await;
    assert!(opened.elapsed() < Duration::from_secs(5));
    let got = frames.take();
    let mut latencies = Vec::new();
    for (at, f) in &got {
        let VideoOutput::Frame {
            width,
            height,
            data,
            capture_ns,
            ..
        } = f
        else {
            panic!("frames expected")
        };
        assert_eq!((*width, *height), (270, 480));
        assert_eq!(data.len(), 270 * 480 * 4, "RGBA at the view's size");
        let capture = capture_ns.expect("every frame carries its capture time");
        latencies.push(at.saturating_sub(capture) / 1_000_000);
    }
    // The picture is not blank: pixels differ.
    let VideoOutput::Frame { data, .. } = &got[got.len() - 1].1 else {
        unreachable!()
    };
    let distinct: std::collections::HashSet<&[u8]> = data.chunks(4).collect();
    assert!(distinct.len() > 3, "a real picture, not a blank one");
    // After catching up from the GOP cache, frames are released close to live.
    latencies.sort_unstable();
    let tail = &latencies[latencies.len() / 2..];
    assert!(
        tail.iter().all(|ms| *ms < 400),
        "released near the live edge: {latencies:?}"
    );
    let first = loop {
        match events.recv().await {
            Some(PlayerEvent::FirstFrame { after }) => break after,
            Some(_) => {}
            None => panic!("no first-frame event"),
        }
    };
    assert!(
        first < Duration::from_secs(2),
        "first frame after {first:?}"
    );
    drop(player);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_units_carry_sei_capture_times_codec_and_keyframes() {
    let mut stream = support::serve().await;
    stream.publish("pinwheel").await;
    let aus = Collector::default();
    let (player, mut events) =
        Player::open(&stream.url(), config(OutputKind::Encoded), aus.sink()).expect("opens");
    aus.wait_for(60, &mut events).await;
    let got = aus.take();
    let VideoOutput::AccessUnit {
        keyframe,
        codec,
        data,
        width,
        height,
        ..
    } = &got[0].1
    else {
        panic!("access units expected")
    };
    assert!(*keyframe, "output starts at a keyframe (the GOP cache)");
    assert!(codec.starts_with("avc1."), "{codec}");
    assert_eq!((*width, *height), (540, 960));
    assert!(
        data.windows(4).any(|w| w == [0, 0, 0, 1]) || data.windows(3).any(|w| w == [0, 0, 1]),
        "Annex B"
    );
    let captures: Vec<u64> = got
        .iter()
        .map(|(_, v)| match v {
            VideoOutput::AccessUnit { capture_ns, .. } => {
                capture_ns.expect("SEI on every access unit")
            }
            VideoOutput::Frame { .. } => unreachable!(),
        })
        .collect();
    assert!(
        captures.windows(2).all(|w| w[1] > w[0]),
        "capture times increase"
    );
    // Live access units are not late; on-time ones are released about a
    // frame interval apart, not in one burst.
    let on_time: Vec<u64> = got
        .iter()
        .filter(|(_, v)| matches!(v, VideoOutput::AccessUnit { late: false, .. }))
        .map(|(at, _)| *at)
        .collect();
    assert!(
        on_time.len() >= 30,
        "{} on-time access units",
        on_time.len()
    );
    let span_ms = (on_time[on_time.len() - 1] - on_time[on_time.len() - 30]) / 1_000_000;
    assert!(
        (700..=1400).contains(&span_ms),
        "30 frames released over {span_ms} ms (paced at 30 fps)"
    );
    drop(player);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_player_reconnects_after_the_publisher_restarts() {
    let mut stream = support::serve().await;
    stream.publish("ball").await;
    let frames = Collector::default();
    let mut cfg = config(OutputKind::Decoded {
        width: 90,
        height: 160,
        format: FrameFormat::Rgba,
    });
    cfg.stall_timeout = Duration::from_secs(1);
    let (player, mut events) = Player::open(&stream.url(), cfg, frames.sink()).expect("opens");
    frames.wait_for(10, &mut events).await;
    stream.unpublish();
    let s = next_state(&mut events, |s| {
        matches!(s, PlayerState::Reconnecting { .. } | PlayerState::Stalled)
    })
    .await;
    assert!(
        matches!(s, PlayerState::Reconnecting { .. } | PlayerState::Stalled),
        "{s:?}"
    );
    let restarted = now_ns();
    stream.publish("spokes").await;
    frames.take();
    frames.wait_for(10, &mut events).await;
    let fresh = frames.take();
    assert!(
        fresh.iter().any(
            |(_, f)| matches!(f, VideoOutput::Frame { capture_ns: Some(c), .. } if *c > restarted)
        ),
        "pictures from the restarted stream"
    );
    drop(player);
}

#[tokio::test]
async fn bad_urls_end_in_a_clear_error_within_five_seconds() {
    let stream = support::serve().await;
    let cases = [
        (
            "http://127.0.0.1:1/live/nothing.flv".to_owned(),
            "cannot connect",
        ),
        (
            format!("http://{}/live/nothing.txt", stream.addr),
            "not found",
        ),
        ("nosuchscheme://whatever".to_owned(), "cannot open"),
    ];
    for (url, words) in cases {
        let started = Instant::now();
        let (player, mut events) =
            Player::open(&url, config(OutputKind::Encoded), Arc::new(|_| {})).expect("opens");
        let s = next_state(&mut events, |s| {
            matches!(s, PlayerState::Error { .. } | PlayerState::Playing)
        })
        .await;
        let PlayerState::Error { message } = s else {
            panic!("{url}: expected an error, got {s:?}")
        };
        assert!(message.contains(words), "{url}: {message}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{url}: took {:?}",
            started.elapsed()
        );
        drop(player);
    }
}

/// The names of this process's threads.
fn thread_names() -> Vec<String> {
    std::fs::read_dir("/proc/self/task")
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
                .map(|n| n.trim_end().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Threads and open files of this process. Sockets count when they are TCP
/// connections other than the test HTTP server's own side (that server lives
/// in this process and closes its side when it next writes).
fn threads_and_fds(server_port: u16) -> (usize, Vec<String>) {
    let threads = std::fs::read_dir("/proc/self/task").map_or(0, Iterator::count);
    let mut tcp: std::collections::HashMap<String, u16> = std::collections::HashMap::new();
    for table in ["/proc/self/net/tcp", "/proc/self/net/tcp6"] {
        for l in std::fs::read_to_string(table)
            .unwrap_or_default()
            .lines()
            .skip(1)
        {
            let cols: Vec<&str> = l.split_whitespace().collect();
            let port = cols
                .get(1)
                .and_then(|a| a.rsplit(':').next())
                .and_then(|p| u16::from_str_radix(p, 16).ok());
            if let (Some(port), Some(inode)) = (port, cols.get(9)) {
                tcp.insert((*inode).to_owned(), port);
            }
        }
    }
    let fds = std::fs::read_dir("/proc/self/fd")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| {
                    std::fs::read_link(e.path())
                        .map(|t| t.to_string_lossy().into_owned())
                        .unwrap_or_default()
                })
                .filter(|target| {
                    match target
                        .strip_prefix("socket:[")
                        .and_then(|t| t.strip_suffix(']'))
                    {
                        Some(inode) => tcp.get(inode).is_some_and(|port| *port != server_port),
                        None => true,
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    (threads, fds)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_player_releases_its_threads_and_sockets() {
    let mut stream = support::serve().await;
    stream.publish("circular").await;
    // Warm up GStreamer's process-wide pools once.
    let open_and_play = || async {
        let frames = Collector::default();
        let (player, mut events) = Player::open(
            &stream.url(),
            config(OutputKind::Decoded {
                width: 90,
                height: 160,
                format: FrameFormat::Jpeg { quality: 70 },
            }),
            frames.sink(),
        )
        .expect("opens");
        frames.wait_for(5, &mut events).await;
        let VideoOutput::Frame { data, .. } = &frames.take()[0].1 else {
            panic!("frame")
        };
        assert_eq!(&data[..2], &[0xff, 0xd8], "JPEG frames");
        player
    };
    // GStreamer keeps finished streaming threads in a pool for reuse, and
    // tokio's blocking pool (the test's server) keeps idle threads for a
    // while, so the first players grow the process and a busy machine may add
    // one more pooled thread later. A leak grows with the players: each one
    // runs a control thread and several streaming threads. So: eight players
    // come and go, and the process may not end with even one thread for every
    // four of them; no socket or pipe may be left at all.
    for _ in 0..2 {
        drop(open_and_play().await);
    }
    let before = threads_and_fds(stream.addr.port());
    let before_names = thread_names();
    let players = 8;
    for _ in 0..players {
        let p = open_and_play().await;
        assert!(stream.hub.viewers() > 0, "playing means connected");
        drop(p);
    }
    let after = threads_and_fds(stream.addr.port());
    let mut grown = thread_names();
    for name in &before_names {
        if let Some(i) = grown.iter().position(|n| n == name) {
            grown.swap_remove(i);
        }
    }
    assert!(
        !grown.iter().any(|n| n == "livecart-player"),
        "a player's control thread outlived it: {grown:?}"
    );
    assert!(
        after.0 < before.0 + players / 4,
        "threads grew from {} to {} over {players} players (new: {grown:?})",
        before.0,
        after.0
    );
    assert!(
        after.1.len() <= before.1.len(),
        "open files grew from {:?} to {:?}",
        before.1,
        after.1
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_preloaded_player_shows_the_live_picture_the_moment_it_plays() {
    let mut stream = support::serve().await;
    stream.publish("ball").await;
    let aus = Collector::default();
    let cfg = PlayerConfig {
        start_held: true,
        ..config(OutputKind::Encoded)
    };
    let (player, mut events) = Player::open(&stream.url(), cfg, aus.sink()).expect("opens");
    // Connected and decoding, but nothing shown while held: wait until the
    // player reports stats (it is receiving) and check nothing came out.
    tokio::time::timeout(WAIT, async {
        loop {
            if let Some(PlayerEvent::Stats(_)) = events.recv().await {
                return;
            }
        }
    })
    .await
    .expect("the held player is receiving");
    assert_eq!(aus.len(), 0, "a held player shows nothing");

    let tapped = Instant::now();
    player.play();
    aus.wait_for(1, &mut events).await;
    let shown_after = tapped.elapsed();
    assert!(
        shown_after < Duration::from_millis(150),
        "picture {shown_after:?} after play"
    );
    // The first-frame event follows the whole flushed GOP.
    let after = loop {
        match events.recv().await {
            Some(PlayerEvent::FirstFrame { after }) => break after,
            Some(_) => {}
            None => panic!("no first-frame event"),
        }
    };
    assert!(
        after < Duration::from_millis(150),
        "first frame {after:?} after play"
    );
    let got = aus.take();
    let VideoOutput::AccessUnit { keyframe, .. } = &got[0].1 else {
        panic!("access unit")
    };
    assert!(
        *keyframe,
        "the flushed GOP starts at a keyframe, so the webview can decode it"
    );
    assert!(
        got.iter()
            .any(|(_, v)| matches!(v, VideoOutput::AccessUnit { late: false, .. })),
        "the newest picture is shown"
    );
}
