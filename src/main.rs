//! livecart, the app. By default this binary starts the embedded live-room
//! server with the demo world on a free loopback port, with its data in the
//! platform's app-data directory, and keeps it running. Built with
//! `--features window` and run with `--window`, it also opens the Dioxus
//! window (issue #4, in progress).

use anyhow::Context;
use clap::Parser;
use std::path::PathBuf;

#[cfg(feature = "window")]
mod window;

#[derive(Parser)]
#[command(
    name = "livecart",
    version,
    about = "Live shopping: swipe live rooms, buy what the host holds"
)]
struct Args {
    /// Use a remote livecart server instead of the embedded one.
    #[arg(long, env = "LIVECART_SERVER")]
    server: Option<String>,
    /// Where the embedded server keeps its data.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// Open the window (needs a build with `--features window`).
    #[arg(long)]
    window: bool,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let args = Args::parse();
    if let Some(url) = &args.server {
        anyhow::bail!(
            "remote servers ({url}) are used by the app window, which is still in progress (issue #4)"
        );
    }
    if args.window {
        return open_window(args.data_dir);
    }
    tokio::runtime::Runtime::new()?.block_on(serve_until_ctrl_c(args.data_dir))
}

async fn start_server(data_dir: Option<PathBuf>) -> anyhow::Result<livecart_server::ServerHandle> {
    let data_dir = match data_dir {
        Some(d) => d,
        None => dirs::data_dir()
            .context("this platform has no app-data directory; pass --data-dir")?
            .join("livecart"),
    };
    let mut config =
        livecart_server::ServerConfig::load(None).map_err(|e| anyhow::anyhow!("{e}"))?;
    config.bind = ([127, 0, 0, 1], 0).into();
    config.data_dir = data_dir;
    config.demo.enabled = true;
    livecart_server::serve(config).await
}

async fn serve_until_ctrl_c(data_dir: Option<PathBuf>) -> anyhow::Result<()> {
    let server = start_server(data_dir).await?;
    println!(
        "livecart: embedded server with the demo world at {}",
        server.base_url
    );
    println!("  feed:     {}/v1/feed", server.base_url);
    println!(
        "  accounts: ava, ben, chloe, dan (viewers); mia, leo, kai, zoe (hosts) — password \"livecart\""
    );
    println!("  Ctrl-C to stop.");
    let token = server.state.shutdown.clone();
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        token.cancel();
    });
    server.wait().await
}

#[cfg(feature = "window")]
fn open_window(data_dir: Option<PathBuf>) -> anyhow::Result<()> {
    // The server runs on its own runtime; the window owns the main thread.
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Runtime::new() else {
            return;
        };
        rt.block_on(async move {
            match start_server(data_dir).await {
                Ok(server) => {
                    let _ = tx.send(Ok(server.base_url.clone()));
                    let _ = server.wait().await;
                }
                Err(e) => {
                    let _ = tx.send(Err(e));
                }
            }
        });
    });
    let base = rx.recv().context("the server thread ended")??;
    window::launch(base);
    Ok(())
}

#[cfg(not(feature = "window"))]
fn open_window(_: Option<PathBuf>) -> anyhow::Result<()> {
    anyhow::bail!("this build has no window: build with `--features window` (issue #4 in progress)")
}
