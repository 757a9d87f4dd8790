//! A live stream from software we did not write, for tests: nginx with its
//! RTMP module and ffmpeg publishing to it (both Debian's packages; `./dev
//! deps` installs them). Started by the test itself, on a free loopback port,
//! in a directory of its own; both die with the value.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const MODULE: &str = "/usr/lib/nginx/modules/ngx_rtmp_module.so";

/// nginx with the RTMP module on a loopback port, in a directory of its own,
/// and ffmpeg publishing a test picture and tone to it. Both die with it.
pub struct OutsideStream {
    nginx: Child,
    ffmpeg: Child,
    /// What ffmpeg publishes: its test picture, or another stream copied.
    input: Option<String>,
    pub url: String,
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
    /// Starts nginx and ffmpeg; returns once ffmpeg is sending frames.
    pub fn start() -> Self {
        Self::start_with(None)
    }

    /// nginx, and ffmpeg publishing `input` (an FLV URL) to it as it comes,
    /// unchanged (`-c copy`: a livecart room's capture-time SEI survives,
    /// so players of both can time the same pictures).
    pub fn relay(input: &str) -> Self {
        Self::start_with(Some(input.to_owned()))
    }

    fn start_with(input: Option<String>) -> Self {
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
                 application live {{ live on; idle_streams off; }} }} }}\n",
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
        let ffmpeg = publish(&url, input.as_deref());
        let mut stream = OutsideStream {
            nginx,
            ffmpeg,
            input,
            url,
            _dir: dir,
        };
        stream.wait_publishing();
        stream
    }

    /// The publisher leaves (nginx cuts its viewers off).
    pub fn stop_publishing(&mut self) {
        let _ = self.ffmpeg.kill();
        let _ = self.ffmpeg.wait();
    }

    /// A publisher comes back to the same URL.
    pub fn publish_again(&mut self) {
        self.stop_publishing();
        self.ffmpeg = publish(&self.url, self.input.as_deref());
        self.wait_publishing();
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

/// ffmpeg publishing to `url`: `input` copied as it comes, or else a
/// 640×360 test picture (30 fps, a keyframe a second, H.264) and a 440 Hz
/// tone (AAC, 48 kHz stereo).
fn publish(url: &str, input: Option<&str>) -> Child {
    let mut ffmpeg = Command::new("ffmpeg");
    ffmpeg.args(["-hide_banner", "-nostdin", "-loglevel", "error"]);
    match input {
        // A live input paces itself; `nobuffer` passes each tag on at once.
        Some(input) => ffmpeg
            .args(["-fflags", "nobuffer", "-i", input])
            .args(["-c", "copy"]),
        None => ffmpeg
            .arg("-re")
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
            .args(["-g", "30", "-pix_fmt", "yuv420p", "-c:a", "aac", "-ac", "2"]),
    };
    // `-progress` says when ffmpeg is sending frames: then a player can join.
    ffmpeg
        .args(["-progress", "pipe:1", "-f", "flv", url])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("ffmpeg runs (./dev deps installs it)")
}
