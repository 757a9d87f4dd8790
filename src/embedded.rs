//! The embedded server: livecart-server with the demo world on a free
//! loopback port, for `./dev run` and a phone with no server of its own.

use std::path::PathBuf;

pub async fn start(data_dir: PathBuf) -> anyhow::Result<livecart_server::ServerHandle> {
    let mut config =
        livecart_server::ServerConfig::load(None).map_err(|e| anyhow::anyhow!("{e}"))?;
    config.bind = ([127, 0, 0, 1], 0).into();
    config.data_dir = data_dir;
    config.demo.enabled = true;
    // Its only viewer is on this machine: local stream URLs are fine.
    config.allow_private_stream_urls = true;
    // The only viewer is this app: a room it swiped past stops encoding soon
    // (the phone's CPU and memory are the budget); coming back restarts it.
    config.demo.idle_stop_secs = 10;
    livecart_server::serve(config).await
}
