//! Rooms over time: loading every room at start, and the per-room ticker
//! that paces aggregated events — likes at most four times a second, viewer
//! counts at most once a second, flash sales ending on time.

use crate::db;
use crate::live::rooms::load_room;
use crate::state::AppState;
use livecart_protocol::rest::FlashSaleState;
use std::time::Duration;

/// Loads every room that has not ended.
pub async fn load_all(state: &AppState) -> anyhow::Result<()> {
    let ids: Vec<(String,)> = sqlx::query_as("SELECT id FROM rooms WHERE status != 'ended'")
        .fetch_all(&state.db)
        .await?;
    for (id,) in ids {
        let room = load_room(
            &state.db,
            &state.base_url,
            state.bus.clone(),
            db::parse(&id, "room id")?,
            state.config.history_len,
        )
        .await?;
        state.rooms.insert(room);
    }
    Ok(())
}

/// Paces aggregated events for every room until shutdown.
pub fn spawn_ticker(state: AppState) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_millis(250));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        let mut n: u64 = 0;
        loop {
            tokio::select! {
                () = state.shutdown.cancelled() => break,
                _ = tick.tick() => {}
            }
            n += 1;
            // Hourly: forget idempotency keys past their retention.
            if n % (4 * 3600) == 1 {
                match crate::money::idempotency::purge(&state).await {
                    Ok(0) => {}
                    Ok(purged) => tracing::info!(purged, "old idempotency keys forgotten"),
                    Err(e) => tracing::warn!(error = %e, "purging idempotency keys"),
                }
            }
            if n.is_multiple_of(4)
                && let Err(e) = crate::db::checkpoint(&state.db).await
            {
                tracing::warn!(error = %e, "WAL checkpoint");
            }
            if n.is_multiple_of(4) {
                // Demo streams nobody watches stop (and restart for the next viewer).
                state.streams.stop_idle(
                    std::time::Instant::now(),
                    Duration::from_secs(state.config.demo.idle_stop_secs),
                );
            }
            for room in state.rooms.all() {
                room.flush_likes();
                if n.is_multiple_of(4) {
                    room.flush_viewers();
                    let likes = room.read(|st| st.snap.like_count);
                    if let Err(e) = sqlx::query(
                        "UPDATE rooms SET like_count = ? WHERE id = ? AND like_count != ?",
                    )
                    .bind(likes as i64)
                    .bind(room.id.to_string())
                    .bind(likes as i64)
                    .execute(&state.writer)
                    .await
                    {
                        tracing::warn!(error = %e, room = %room.id, "saving like count");
                    }
                }
                let due = room.read(|st| {
                    st.snap
                        .flash_sale
                        .as_ref()
                        .filter(|s| {
                            s.state == FlashSaleState::Active
                                && s.deadline <= jiff::Timestamp::now()
                        })
                        .map(|s| s.id)
                });
                if let Some(sale) = due
                    && let Err(e) = crate::live::host::end_flash_sale(
                        &state,
                        &room,
                        sale,
                        FlashSaleState::Ended,
                    )
                    .await
                {
                    tracing::warn!(error = %e, room = %room.id, "ending flash sale");
                }
            }
        }
    })
}
