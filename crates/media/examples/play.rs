//! Plays any URI with the livecart player for a few seconds and prints what a
//! viewer would notice: state changes, time to first frame, and the stats
//! (fps, bitrate, SEI latency). Used to check which protocols work on a
//! machine (docs/media.md).
//!
//! `cargo run -p livecart-media --example play -- <uri> [seconds]`

use livecart_media::player::{AudioOutput, FrameFormat, OutputKind};
use livecart_media::{Player, PlayerConfig};
use std::sync::Arc;
use std::time::Duration;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let uri = args
        .next()
        .ok_or_else(|| anyhow::anyhow!("usage: play <uri> [seconds]"))?;
    let secs: u64 = args.next().map_or(Ok(5), |s| s.parse())?;
    let config = PlayerConfig {
        // LIVECART_PLAY_ENCODED=1 checks the access-unit path instead.
        output: if std::env::var_os("LIVECART_PLAY_ENCODED").is_some() {
            OutputKind::Encoded
        } else {
            OutputKind::Decoded {
                width: 270,
                height: 480,
                format: FrameFormat::Rgba,
            }
        },
        audio: AudioOutput::Silent,
        ..PlayerConfig::default()
    };
    let frames = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counted = frames.clone();
    let (player, mut events) = Player::open(
        &uri,
        config,
        Arc::new(move |_| {
            counted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }),
    )?;
    let deadline = tokio::time::sleep(Duration::from_secs(secs));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            () = &mut deadline => break,
            e = events.recv() => match e {
                Some(e) => println!("{e:?}"),
                None => break,
            },
        }
    }
    drop(player);
    println!(
        "pictures: {}",
        frames.load(std::sync::atomic::Ordering::Relaxed)
    );
    Ok(())
}
