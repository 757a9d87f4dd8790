//! Player latency benchmark: glass-to-glass latency (SEI capture time → the
//! access unit or decoded frame released at the sink) for both outputs, time
//! to first frame cold and preloaded, the player's CPU and RSS, and the same
//! latency for a baseline player (`playbin3`, default settings) in the same
//! run, on the same stream.
//!
//! The publisher (x264 encoding) runs in a child process — this binary again
//! with `--publish` — so the CPU and memory measured here are the player's.
//!
//! `cargo bench -p livecart-media --bench latency [-- --secs 10 --opens 100]`

#[path = "../tests/media/support.rs"]
mod support;

use gstreamer as gst;
use gstreamer::prelude::*;
use gstreamer_app as gst_app;
use livecart_media::player::{AudioOutput, FrameFormat, OutputKind, VideoSink};
use livecart_media::sei::{self, NalFormat};
use livecart_media::{Player, PlayerConfig, PlayerEvent, VideoOutput};
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn arg(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

fn now_ns() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64)
}

fn main() -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    if std::env::args().any(|a| a == "--publish") {
        return rt.block_on(publish());
    }
    let secs: u64 = arg("--secs").map_or(Ok(10), |s| s.parse())?;
    let opens: usize = arg("--opens").map_or(Ok(100), |s| s.parse())?;
    livecart_media::init()?;

    let mut child = Command::new(std::env::current_exe()?)
        .arg("--publish")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let url = BufReader::new(
        child
            .stdout
            .take()
            .ok_or_else(|| anyhow::anyhow!("stdout"))?,
    )
    .lines()
    .next()
    .ok_or_else(|| anyhow::anyhow!("publisher died"))??;
    eprintln!("publisher at {url}");
    let result = rt.block_on(measure(&url, secs, opens));
    drop(child.stdin.take());
    let _ = child.kill();
    let _ = child.wait();
    result
}

async fn publish() -> anyhow::Result<()> {
    let mut stream = support::serve().await;
    stream.publish("ball").await;
    println!("{}", stream.url());
    std::io::stdout().flush()?;
    // Until the parent closes our stdin.
    tokio::task::spawn_blocking(|| {
        let mut s = String::new();
        while std::io::stdin().read_line(&mut s).is_ok_and(|n| n > 0) {}
    })
    .await?;
    Ok(())
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
}

fn cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    f.get(11).and_then(|u| u.parse::<u64>().ok()).unwrap_or(0)
        + f.get(12).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0)
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

struct Run {
    latencies_ms: Vec<f64>,
    cpu_pct: f64,
    rss_kib: u64,
    fps: f64,
}

/// Lets playback settle (skipping the catch-up from the GOP cache), then
/// collects `secs` of latency samples with this process's CPU and RSS growth.
async fn measure_window(samples: &Mutex<Vec<f64>>, secs: u64, rss_before: u64) -> Run {
    tokio::time::sleep(Duration::from_secs(2)).await;
    samples.lock().expect("lock").clear();
    let (t0, c0) = (Instant::now(), cpu_ticks());
    tokio::time::sleep(Duration::from_secs(secs)).await;
    let (elapsed, ticks) = (t0.elapsed().as_secs_f64(), cpu_ticks() - c0);
    let rss_kib = rss_kib().saturating_sub(rss_before);
    let latencies_ms = std::mem::take(&mut *samples.lock().expect("lock"));
    Run {
        fps: latencies_ms.len() as f64 / elapsed,
        latencies_ms,
        cpu_pct: ticks as f64 / 100.0 / elapsed * 100.0,
        rss_kib,
    }
}

/// Plays for `secs`, returning capture→release latencies of on-time pictures.
async fn play_for(url: &str, output: OutputKind, secs: u64) -> anyhow::Result<Run> {
    let samples: Arc<Mutex<Vec<f64>>> = Arc::default();
    let s = samples.clone();
    let sink: VideoSink = Arc::new(move |v| {
        let (capture, late) = match &v {
            VideoOutput::AccessUnit {
                capture_ns, late, ..
            } => (*capture_ns, *late),
            VideoOutput::Frame { capture_ns, .. } => (*capture_ns, false),
        };
        if let (Some(c), false) = (capture, late) {
            s.lock()
                .expect("lock")
                .push(now_ns().saturating_sub(c) as f64 / 1e6);
        }
    });
    let rss0 = rss_kib();
    let config = PlayerConfig {
        output,
        audio: AudioOutput::Silent,
        ..PlayerConfig::default()
    };
    let (player, _events) = Player::open(url, config, sink)?;
    let run = measure_window(&samples, secs, rss0).await;
    drop(player);
    Ok(run)
}

/// `playbin3` with default settings, decoded frames into an appsink; the
/// capture time comes from the SEI seen by its H.264 parser.
async fn baseline(url: &str, secs: u64) -> anyhow::Result<Run> {
    let playbin = gst::ElementFactory::make("playbin3")
        .property("uri", url)
        .build()?;
    let sink = gst_app::AppSink::builder().sync(true).build();
    playbin.set_property("video-sink", &sink);
    playbin.set_property(
        "audio-sink",
        gst::ElementFactory::make("fakeaudiosink").build()?,
    );
    let captures: Arc<Mutex<VecDeque<(u64, u64)>>> = Arc::default();
    let c = captures.clone();
    playbin.connect("element-setup", false, move |args| {
        let el = args[1].get::<gst::Element>().ok()?;
        if el.factory().is_some_and(|f| f.name() == "h264parse") {
            let c = c.clone();
            el.static_pad("src")?
                .add_probe(gst::PadProbeType::BUFFER, move |_, info| {
                    if let Some(b) = info.buffer()
                        && let (Some(pts), Ok(map)) = (b.pts(), b.map_readable())
                    {
                        let d = map.as_slice();
                        let cap = sei::find_capture_time(d, NalFormat::AnnexB).or_else(|| {
                            sei::find_capture_time(d, NalFormat::Avc { length_size: 4 })
                        });
                        if let Some(cap) = cap {
                            let mut q = c.lock().expect("lock");
                            q.push_back((pts.nseconds(), cap));
                            while q.len() > 256 {
                                q.pop_front();
                            }
                        }
                    }
                    gst::PadProbeReturn::Ok
                });
        }
        None
    });
    let samples: Arc<Mutex<Vec<f64>>> = Arc::default();
    let s = samples.clone();
    sink.set_callbacks(
        gst_app::AppSinkCallbacks::builder()
            .new_sample(move |appsink| {
                let sample = appsink.pull_sample().map_err(|_| gst::FlowError::Eos)?;
                if let Some(pts) = sample.buffer().and_then(gstreamer::BufferRef::pts) {
                    let cap = captures
                        .lock()
                        .expect("lock")
                        .iter()
                        .find(|(p, _)| *p == pts.nseconds())
                        .map(|(_, c)| *c);
                    if let Some(cap) = cap {
                        s.lock()
                            .expect("lock")
                            .push(now_ns().saturating_sub(cap) as f64 / 1e6);
                    }
                }
                Ok(gst::FlowSuccess::Ok)
            })
            .build(),
    );
    let rss0 = rss_kib();
    playbin.set_state(gst::State::Playing)?;
    let run = measure_window(&samples, secs, rss0).await;
    playbin.set_state(gst::State::Null)?;
    Ok(run)
}

/// Time to first frame: `open` → first picture (cold), and `play` → first
/// picture for a preloaded player.
async fn ttff(url: &str, opens: usize, preloaded: bool) -> anyhow::Result<Vec<f64>> {
    let mut out = Vec::with_capacity(opens);
    for _ in 0..opens {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Instant>();
        let sink: VideoSink = Arc::new(move |_| {
            let _ = tx.send(Instant::now());
        });
        let config = PlayerConfig {
            output: OutputKind::Encoded,
            audio: AudioOutput::Silent,
            start_held: preloaded,
            ..PlayerConfig::default()
        };
        let start = Instant::now();
        let (player, mut events) = Player::open(url, config, sink)?;
        let start = if preloaded {
            loop {
                match tokio::time::timeout(Duration::from_secs(10), events.recv()).await? {
                    Some(PlayerEvent::Ready { .. }) => break,
                    Some(_) => {}
                    None => anyhow::bail!("player stopped before it was ready"),
                }
            }
            let tap = Instant::now();
            player.play();
            tap
        } else {
            start
        };
        let shown = tokio::time::timeout(Duration::from_secs(10), rx.recv())
            .await?
            .ok_or_else(|| anyhow::anyhow!("no picture"))?;
        out.push(shown.duration_since(start).as_secs_f64() * 1000.0);
        drop(player);
    }
    Ok(out)
}

async fn measure(url: &str, secs: u64, opens: usize) -> anyhow::Result<()> {
    let mut encoded = play_for(url, OutputKind::Encoded, secs).await?;
    let mut decoded = play_for(
        url,
        OutputKind::Decoded {
            width: 540,
            height: 960,
            format: FrameFormat::Rgba,
        },
        secs,
    )
    .await?;
    let mut jpeg = play_for(
        url,
        OutputKind::Decoded {
            width: 540,
            height: 960,
            format: FrameFormat::Jpeg { quality: 80 },
        },
        secs,
    )
    .await?;
    let mut base = baseline(url, secs).await?;
    let mut cold = ttff(url, opens, false).await?;
    let mut warm = ttff(url, opens, true).await?;

    println!();
    println!(
        "glass-to-glass latency, capture → release at the sink ({secs} s each, loopback HTTP-FLV, 540x960@30)"
    );
    println!(
        "{:<28} {:>8} {:>8} {:>8} {:>8} {:>7} {:>7} {:>9}",
        "player / sink", "samples", "p50_ms", "p95_ms", "p99_ms", "fps", "cpu_%", "rss_KiB"
    );
    for (name, r) in [
        ("livecart encoded (default)", &mut encoded),
        ("livecart decoded RGBA", &mut decoded),
        ("livecart decoded JPEG", &mut jpeg),
        ("baseline playbin3", &mut base),
    ] {
        let n = r.latencies_ms.len();
        println!(
            "{:<28} {:>8} {:>8.1} {:>8.1} {:>8.1} {:>7.1} {:>7.1} {:>9}",
            name,
            n,
            pct(&mut r.latencies_ms, 0.50),
            pct(&mut r.latencies_ms, 0.95),
            pct(&mut r.latencies_ms, 0.99),
            r.fps,
            r.cpu_pct,
            r.rss_kib
        );
    }
    println!();
    println!("time to first frame ({opens} opens each)   p50_ms  p95_ms  p99_ms");
    println!(
        "cold (open → picture)               {:>7.1} {:>7.1} {:>7.1}",
        pct(&mut cold, 0.5),
        pct(&mut cold, 0.95),
        pct(&mut cold, 0.99)
    );
    println!(
        "preloaded (play → picture)          {:>7.1} {:>7.1} {:>7.1}",
        pct(&mut warm, 0.5),
        pct(&mut warm, 0.95),
        pct(&mut warm, 0.99)
    );
    let ours_p95 = pct(&mut encoded.latencies_ms, 0.95);
    let base_p95 = pct(&mut base.latencies_ms, 0.95);
    println!(
        "latency g2g_p50_ms={:.1} g2g_p95_ms={:.1} g2g_p99_ms={:.1} ttff_cold_ms={:.1} ttff_preloaded_ms={:.1} baseline_p95_ms={:.1} baseline_ratio={:.3}",
        pct(&mut encoded.latencies_ms, 0.5),
        ours_p95,
        pct(&mut encoded.latencies_ms, 0.99),
        pct(&mut cold, 0.5),
        pct(&mut warm, 0.5),
        base_p95,
        ours_p95 / base_p95
    );
    Ok(())
}
