//! A stream from software we did not write: ffmpeg publishing to nginx's RTMP
//! module (both Debian's packages, started here), played by the desktop
//! player from its `rtmp://` URL. This is the direct path the media origin
//! (#18, docs/web.md) is measured against.

use livecart_media::player::{AudioOutput, OutputKind, VideoSink};
use livecart_media::{Player, PlayerConfig, PlayerEvent, PlayerState, VideoOutput};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

const WAIT: Duration = Duration::from_secs(20);
const MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

/// nginx with the RTMP module on a loopback port, in a directory of its own,
/// and ffmpeg publishing a test picture and tone to it. Both die with it.
struct OutsideStream {
    nginx: Child,
    ffmpeg: Child,
    url: String,
    _dir: tempfile::TempDir,
}

impl Drop for OutsideStream {
    fn drop(&mut self) {
        for child in [&mut self.ffmpeg, &mut self.nginx] {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A port nobody listens on now (the kernel's pick; nginx binds it next).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free loopback port")
}

impl OutsideStream {
    fn start() -> Self {
        assert!(
            Path::new(MODULE).exists(),
            "nginx's RTMP module is missing ({MODULE}): run ./dev deps"
        );
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port();
        let conf = dir.path().join("nginx.conf");
        std::fs::write(
            &conf,
            format!(
                "load_module {MODULE};\n\
                 daemon off;\nmaster_process off;\n\
                 pid {dir}/nginx.pid;\nerror_log {dir}/error.log info;\n\
                 events {{ worker_connections 64; }}\n\
                 rtmp {{ server {{ listen 127.0.0.1:{port}; \
                 application live {{ live on; }} }} }}\n",
                dir = dir.path().display()
            ),
        )
        .expect("nginx.conf");
        let nginx = Command::new("nginx")
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nginx runs (./dev deps installs it)");
        // nginx listens once it has read its config; ffmpeg would give up
        // on a refused connection, so it starts after that.
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "nginx did not listen on {port} within 10 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let url = format!("rtmp://127.0.0.1:{port}/live/outside");
        // `-progress` says when ffmpeg is sending frames: then a player can join.
        let ffmpeg = Command::new("ffmpeg")
            .args(["-hide_banner", "-nostdin", "-loglevel", "error", "-re"])
            .args(["-f", "lavfi", "-i", "testsrc2=size=640x360:rate=30"])
            .args(["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000"])
            .args([
                "-c:v",
                "libx264",
                "-preset",
                "ultrafast",
                "-tune",
                "zerolatency",
            ])
            .args(["-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2"])
            .args(["-progress", "pipe:1", "-f", "flv", &url])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("ffmpeg runs (./dev deps installs it)");
        let mut stream = OutsideStream {
            nginx,
            ffmpeg,
            url,
            _dir: dir,
        };
        stream.wait_publishing();
        stream
    }

    /// Blocks until ffmpeg reports frames sent (or says why it stopped).
    fn wait_publishing(&mut self) {
        let out = self.ffmpeg.stdout.take().expect("ffmpeg's progress");
        let mut lines = BufReader::new(out).lines();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.starts_with("frame=") && line != "frame=0" => break,
                Some(Ok(_)) => {}
                Some(Err(e)) => panic!("ffmpeg's progress: {e}"),
                None => panic!(
                    "ffmpeg stopped before publishing: {:?}",
                    self.ffmpeg.try_wait()
                ),
            }
        }
        // Keep draining the progress so ffmpeg never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
    }
}

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
