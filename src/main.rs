//! livecart, the app. Until the app issue (#4) brings the Dioxus window, this
//! binary does the part of "one command" that exists: it starts the embedded
//! live-room server with the demo world on a free loopback port, with its
//! data in the platform's app-data directory, and keeps it running.

use anyhow::Context;
use clap::Parser;
use std::path::PathBuf;

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
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,sqlx=warn".into()),
        )
        .init();
    let args = Args::parse();
    if let Some(url) = args.server {
        anyhow::bail!(
            "remote servers ({url}) are used by the app window, which arrives with issue #4"
        );
    }
    let data_dir = match args.data_dir {
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
    let server = livecart_server::serve(config).await?;
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
