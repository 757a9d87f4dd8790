//! The demo world (feature `demo`): four live rooms with hosts, product bags,
//! pictures, a gift catalog, demo accounts, and scripted shows with bot
//! viewers. Seeded once into an empty database; deterministic under
//! `demo.seed`.

pub mod art;
pub mod fulfilment;
pub mod provider;
pub mod script;
pub mod world;

use crate::state::AppState;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

/// Seeds the world unless the database already has rooms.
pub async fn seed_if_empty(state: &AppState) -> anyhow::Result<()> {
    let (rooms,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM rooms")
        .fetch_one(&state.db)
        .await?;
    let arts = if rooms == 0 {
        let started = std::time::Instant::now();
        let arts = world::seed(&state.db, state.config.demo.seed).await?;
        tracing::info!(
            seed = state.config.demo.seed,
            ms = started.elapsed().as_millis() as u64,
            pictures = arts.len(),
            "demo world seeded; drawing its pictures in the background"
        );
        arts
    } else {
        undrawn(state).await?
    };
    if !arts.is_empty() {
        for (id, art) in arts {
            let art = std::sync::Arc::new(art);
            state.lazy_images.add(
                id,
                std::sync::Arc::new(move || art.render().map(|p| (p.full, p.thumb))),
            );
        }
        // One picture at a time, on a thread that runs only when the CPU
        // has nothing else to do: a first start (the app's window, the first
        // streams) comes first. A request for a picture not drawn yet draws
        // it at once, at normal priority.
        let drawer = idle_drawer()?;
        let state = state.clone();
        tokio::spawn(async move {
            for id in state.lazy_images.pending() {
                if state.shutdown.is_cancelled() {
                    return;
                }
                let drawn = crate::http::draw_pending_on(&state, id, |render| {
                    let (reply, answer) = tokio::sync::oneshot::channel();
                    let sent = drawer.send((render, reply));
                    async move {
                        sent.map_err(|_| anyhow::anyhow!("the picture drawer stopped"))?;
                        answer.await?
                    }
                })
                .await;
                if let Err(e) = drawn {
                    tracing::warn!(error = %e, %id, "a demo picture was not drawn");
                }
            }
            // Drawing decodes and encodes every image: give that heap back.
            crate::mem::release_freed();
        });
    }
    Ok(())
}

type DrawJob = (
    crate::http::Render,
    tokio::sync::oneshot::Sender<anyhow::Result<(Vec<u8>, Vec<u8>)>>,
);

/// A thread that draws pictures at the idle scheduling class (Linux
/// `SCHED_IDLE`: it gets a core only when nothing else wants it); it ends
/// when its sender is dropped.
fn idle_drawer() -> anyhow::Result<std::sync::mpsc::Sender<DrawJob>> {
    let (tx, rx) = std::sync::mpsc::channel::<DrawJob>();
    std::thread::Builder::new()
        .name("demo-pictures".into())
        .spawn(move || {
            run_when_idle();
            for (render, reply) in rx {
                let _ = reply.send(render());
            }
        })?;
    Ok(tx)
}

/// Pictures a previous run seeded but stopped before drawing (it was
/// killed early): the same seed builds the same world, so it is built again
/// in a scratch database for its art, and the missing pictures are drawn.
async fn undrawn(state: &AppState) -> anyhow::Result<Vec<(livecart_protocol::ImageId, art::Art)>> {
    let missing: bool = sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM (SELECT image_id AS id FROM products UNION SELECT cover_id FROM rooms \
         UNION SELECT avatar_id FROM users) r WHERE r.id IS NOT NULL AND r.id NOT IN (SELECT id FROM images))",
    )
    .fetch_one(&state.db)
    .await?;
    if !missing {
        return Ok(Vec::new());
    }
    let scratch = sqlx::sqlite::SqlitePoolOptions::new()
        .max_connections(1)
        .connect("sqlite::memory:")
        .await?;
    crate::db::MIGRATOR.run(&scratch).await?;
    let arts = world::seed(&scratch, state.config.demo.seed).await?;
    scratch.close().await;
    let mut left = Vec::new();
    for (id, art) in arts {
        let drawn: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM images WHERE id = ?)")
            .bind(id.to_string())
            .fetch_one(&state.db)
            .await?;
        if !drawn {
            left.push((id, art));
        }
    }
    tracing::info!(
        pictures = left.len(),
        "demo pictures left undrawn by the last run"
    );
    Ok(left)
}

/// Gives each demo room its audience and, if `demo.scripts`, starts its
/// scripted show.
pub async fn start(state: &AppState) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let gifts = script::gift_catalog(state).await?;
    let mut tasks = Vec::new();
    for room in state.rooms.all() {
        let (category, host) = room.read(|st| {
            (
                st.snap.room.category.clone(),
                st.snap.room.host.name.clone(),
            )
        });
        let demo_room = world::ROOMS
            .iter()
            .enumerate()
            .find(|(_, d)| d.category == category && d.host_name == host);
        let Some((i, def)) = demo_room else {
            continue;
        };
        room.write(|st| st.bot_viewers = def.base_viewers);
        if state.config.demo.streams {
            register_stream(state, room.id, i, def);
        }
        if !state.config.demo.scripts {
            continue;
        }
        tasks.push(tokio::spawn(script::run(
            state.clone(),
            room,
            i,
            def,
            gifts.clone(),
        )));
    }
    Ok(tasks)
}

/// Publishes the room's synthetic video into its HTTP-FLV hub.
fn register_stream(
    state: &AppState,
    room: livecart_protocol::RoomId,
    index: usize,
    def: &world::RoomDef,
) {
    // Patterns that only scroll, so each picture loops seamlessly.
    const PATTERNS: [&str; 4] = ["pinwheel", "spokes", "circular", "bar"];
    const TONES: [f64; 4] = [330.0, 392.0, 440.0, 523.25];
    let (r, g, b) = art::rgb(def.hue, 0.6, 0.9);
    let config = livecart_media::PublisherConfig {
        pattern: PATTERNS[index % PATTERNS.len()].into(),
        motion: 1,
        foreground: 0xff00_0000 | (u32::from(r) << 16) | (u32::from(g) << 8) | u32::from(b),
        background: 0xff10_1014,
        caption: format!("{} · {}", def.host_name, def.title),
        tone_hz: TONES[index % TONES.len()],
        ..livecart_media::PublisherConfig::default()
    };
    // The picture repeats (the pattern only scrolls): the first start
    // encodes live and records one loop of it to the data directory; every
    // later start replays that loop with fresh capture times.
    let loop_path = state.config.demo.loops.then(|| {
        livecart_media::EncodedLoop::path_in(&state.config.data_dir.join("streams"), &config)
    });
    let looped: Arc<Mutex<Option<Arc<livecart_media::EncodedLoop>>>> = Arc::default();
    // Started by the first viewer, stopped when nobody has watched for a
    // while, started again by the next viewer (streams.rs).
    let hub = state.streams.hub(room);
    state.streams.on_demand(
        room,
        Arc::new(move || {
            let hub = hub.clone();
            let on_flv = move |bytes: &[u8]| {
                if let Err(e) = hub.push(bytes) {
                    tracing::warn!(error = %e, %room, "publisher output is not FLV");
                }
            };
            let started = |p: livecart_media::Publisher, source| crate::live::streams::Started {
                publisher: Box::new(p),
                source,
                trouble: None,
            };
            let Some(path) = &loop_path else {
                let p = livecart_media::Publisher::start(&config, on_flv)?;
                return Ok(started(p, "live encoder"));
            };
            let known = {
                let mut known = lock(&looped);
                if known.is_none() {
                    *known = match livecart_media::EncodedLoop::load(path) {
                        Ok(l) => l.map(Arc::new),
                        Err(e) => {
                            tracing::warn!(%room, "recording the room's picture again: {e}");
                            None
                        }
                    };
                }
                known.clone()
            };
            if let Some(l) = known {
                let p = livecart_media::Publisher::replay(l, &config, on_flv)?;
                return Ok(started(p, "recorded loop"));
            }
            let (keep, path) = (looped.clone(), path.clone());
            let publisher =
                livecart_media::Publisher::start_recording(&config, on_flv, move |l| {
                    // Written off the streaming thread.
                    std::thread::spawn(move || {
                        match l.save(&path) {
                            Ok(()) => {
                                tracing::info!(%room, loop = ?l, "recorded the room's picture loop");
                            }
                            Err(e) => tracing::warn!(%room, "could not keep the picture loop: {e}"),
                        }
                        *lock(&keep) = Some(Arc::new(l));
                    });
                })?;
            Ok(started(publisher, "live encoder, recording its loop"))
        }),
    );
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Puts the calling thread in Linux's idle scheduling class (`SCHED_IDLE`):
/// it runs only on a core nothing else wants. Elsewhere (or if refused) it
/// stays as it was, which is only slower to yield.
#[allow(unsafe_code)]
fn run_when_idle() {
    #[cfg(target_os = "linux")]
    {
        let param = libc::sched_param { sched_priority: 0 };
        // SAFETY: pid 0 is the calling thread; `param` outlives the call.
        let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &raw const param) };
        if rc != 0 {
            tracing::debug!(error = %std::io::Error::last_os_error(), "SCHED_IDLE refused");
        }
    }
}
