//! livecart, the app. Opens a phone-sized window on the embedded live-room
//! server with the demo world (or on `--server URL`). `--headless` runs only
//! the embedded server.

use anyhow::Context;
use clap::Parser;
use livecart::shell::{ServerChoice, ShellConfig};
use std::path::PathBuf;
use std::sync::Mutex;
use tracing_subscriber::Layer;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Parser)]
#[command(
    name = "livecart",
    version,
    about = "Live shopping: swipe live rooms, buy what the host holds"
)]
struct Args {
    /// A room's share link (`https://host/r/<room>`): opens that room on
    /// that server.
    link: Option<String>,
    /// Use a remote livecart server instead of the embedded one.
    #[arg(long, env = "LIVECART_SERVER")]
    server: Option<String>,
    /// Where the app keeps its data (default: the platform's app-data directory).
    #[arg(long, env = "LIVECART_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Run only the embedded server (no window).
    #[arg(long)]
    headless: bool,
    /// With --headless: the port to listen on (0 picks a free one).
    #[arg(long, default_value_t = 0)]
    port: u16,
    /// With --headless: the address to listen on. The default is this
    /// machine only; `0.0.0.0` lets phones on the same network open the web
    /// app (anyone there can reach the demo accounts).
    #[arg(long, default_value = "127.0.0.1")]
    bind: std::net::IpAddr,
    /// Draw JPEG frames even where the webview has WebCodecs.
    #[arg(long, env = "LIVECART_VIDEO_JPEG")]
    jpeg: bool,
    /// Test-only: serve the E2E control endpoint and print its URL.
    #[arg(long, hide = true)]
    e2e_control: bool,
}

fn main() -> anyhow::Result<()> {
    limit_malloc_arenas();
    let args = Args::parse();
    let data_dir = match args.data_dir {
        Some(d) => d,
        None => dirs::data_dir()
            .context("this platform has no app-data directory; pass --data-dir")?
            .join("livecart"),
    };
    std::fs::create_dir_all(data_dir.join("logs"))
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let log = std::fs::File::create(data_dir.join("logs").join("livecart.log"))?;
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| "info,sqlx=warn,tao=warn,wry=warn,dioxus=warn".into())
    };
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_filter(filter()))
        .with(
            tracing_subscriber::fmt::layer()
                .with_ansi(false)
                .with_writer(Mutex::new(log))
                .with_filter(filter()),
        )
        .init();

    if args.headless {
        return tokio::runtime::Runtime::new()?
            .block_on(serve_until_ctrl_c(data_dir, args.bind, args.port));
    }
    #[cfg(target_os = "linux")]
    if std::env::var_os("DISPLAY").is_none() && std::env::var_os("WAYLAND_DISPLAY").is_none() {
        anyhow::bail!(
            "no display to open the window on: run livecart in a desktop session, \
             under `xvfb-run -a`, or with --headless for the server only"
        );
    }
    let link = args.link.as_deref().map(share_link).transpose()?;
    let server = link.as_ref().map(|l| l.0.clone()).or(args.server);
    let shell = livecart::shell::start(ShellConfig {
        server: server.map_or(ServerChoice::Embedded, ServerChoice::Remote),
        data_dir,
        force_jpeg: args.jpeg,
        open_room: link.map(|l| l.1),
    })?;
    let evals = if args.e2e_control {
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        let view = shell.view.clone();
        let port = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?;
            let port = rt.block_on(livecart::control::serve(tx, view))?;
            std::thread::spawn(move || rt.block_on(std::future::pending::<()>()));
            anyhow::Ok(port)
        })
        .join()
        .map_err(|_| anyhow::anyhow!("the control thread panicked"))??;
        println!("LIVECART_CONTROL=http://127.0.0.1:{port}");
        Some(rx)
    } else {
        None
    };
    livecart::window::launch(shell, evals);
    Ok(())
}

/// A room's share link: its server and the room.
fn share_link(link: &str) -> anyhow::Result<(String, livecart_core::protocol::RoomId)> {
    let bad = || anyhow::anyhow!("{link:?} is not a livecart room link (https://host/r/<room>)");
    let url = reqwest::Url::parse(link).map_err(|_| bad())?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad());
    }
    let mut path = url.path_segments().ok_or_else(bad)?;
    let room = match (path.next(), path.next(), path.next()) {
        (Some("r"), Some(id), None | Some("")) => id.parse().map_err(|_| bad())?,
        _ => return Err(bad()),
    };
    Ok((url.origin().ascii_serialization(), room))
}

async fn serve_until_ctrl_c(
    data_dir: PathBuf,
    bind: std::net::IpAddr,
    port: u16,
) -> anyhow::Result<()> {
    let mut config =
        livecart_server::ServerConfig::load(None).map_err(|e| anyhow::anyhow!("{e}"))?;
    config.bind = (bind, port).into();
    config.data_dir = data_dir.join("server");
    config.demo.enabled = true;
    // A local server on this machine: rooms may stream from it (nginx-rtmp
    // next door), as the E2E tests' rooms do.
    config.allow_private_stream_urls = true;
    let server = livecart_server::serve(config).await?;
    // One write, and a closed stdout (`livecart --headless | head -1`) is
    // not a reason to stop serving: `println!` would panic on it.
    let url = &server.base_url;
    let phones = if bind.is_unspecified() {
        format!(
            "  phones:   open http://<this machine's address>:{}/ on the same network\n",
            server.addr.port()
        )
    } else {
        String::new()
    };
    let banner = format!(
        "livecart: embedded server with the demo world at {url}\n  web app:  {url}/\n{phones}  feed:     {url}/v1/feed\n  \
         accounts: ava, ben, chloe, dan (viewers); mia, leo, kai, zoe (hosts) — password \"livecart\"\n  \
         Ctrl-C to stop.\n"
    );
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), banner.as_bytes());
    let token = server.state.shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        token.cancel();
    });
    server.wait().await
}

/// glibc gives each busy thread its own malloc arena (up to 8 per core); with
/// tokio, GStreamer and WebKit threads that left ~100 MiB of fragmented heap
/// in the app process. Two arenas cost nothing measurable in speed and
/// brought the app's RSS from ~387 to ~289 MiB (docs/video-path.md, memory).
#[allow(unsafe_code)]
fn limit_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: called first thing in main, before any other thread exists.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn share_links_name_their_server_and_room() {
        let room = "019b76da-a850-716c-bebe-c790f7cb764e";
        for (link, server) in [
            (
                format!("https://shop.example/r/{room}"),
                "https://shop.example",
            ),
            (
                format!("http://192.168.1.5:8787/r/{room}/?from=chat"),
                "http://192.168.1.5:8787",
            ),
        ] {
            let (s, r) = super::share_link(&link).expect(&link);
            assert_eq!((s.as_str(), r.to_string().as_str()), (server, room));
        }
        for bad in [
            "shop.example/r/x".to_owned(),
            format!("rtmp://shop.example/r/{room}"),
            format!("https://shop.example/room/{room}"),
            "https://shop.example/r/not-a-room".to_owned(),
            format!("https://shop.example/r/{room}/more"),
        ] {
            let e = super::share_link(&bad).expect_err(&bad);
            assert!(e.to_string().contains("not a livecart room link"), "{e}");
        }
    }
}
