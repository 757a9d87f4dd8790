//! The demo world (feature `demo`): four live rooms with hosts, product bags,
//! pictures, a gift catalog, demo accounts, and scripted shows with bot
//! viewers. Seeded once into an empty database; deterministic under
//! `demo.seed`.

pub mod art;
pub mod script;
pub mod world;

use crate::state::AppState;
use tokio::task::JoinHandle;

/// Seeds the world unless the database already has rooms.
pub async fn seed_if_empty(state: &AppState) -> anyhow::Result<()> {
    let (rooms,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM rooms")
        .fetch_one(&state.db)
        .await?;
    if rooms == 0 {
        let started = std::time::Instant::now();
        world::seed(&state.db, state.config.demo.seed).await?;
        tracing::info!(
            seed = state.config.demo.seed,
            ms = started.elapsed().as_millis() as u64,
            "demo world seeded"
        );
    }
    Ok(())
}

/// Gives each demo room its audience and, if `demo.scripts`, starts its
/// scripted show.
pub async fn start(state: &AppState) -> anyhow::Result<Vec<JoinHandle<()>>> {
    let gifts = script::gift_catalog(state).await?;
    let mut tasks = Vec::new();
    for room in state.rooms.all() {
        let (category, host) =
            room.read(|st| (st.summary.category.clone(), st.summary.host.name.clone()));
        let demo_room = world::ROOMS
            .iter()
            .enumerate()
            .find(|(_, d)| d.category == category && d.host_name == host);
        let Some((i, def)) = demo_room else {
            continue;
        };
        room.write(|st| st.bot_viewers = def.base_viewers);
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
