//! Group commit for payments: one thread takes every payment waiting for the
//! database, runs them one after another inside one transaction, commits
//! once, then answers them in commit order.
//!
//! Why a thread of its own: a payment is a few statements, each a round trip
//! to sqlx's SQLite worker thread. Run from a handler, every round trip woke
//! the handler's task behind whatever else the server's runtime had queued
//! (50 buyers' HTTP parsing), and the single writer connection was held
//! through all those waits. Here the writer's task is alone on its runtime,
//! so a round trip costs two thread hand-offs, and a batch pays for
//! `BEGIN`/`COMMIT` (and the WAL pages they write) once. Measured in
//! `docs/money.md` (checkout benchmark).
//!
//! The contract for a job, which keeps this cheap (no savepoint per job):
//! - a refusal (any error but `Internal`: out of stock, a changed price) has
//!   written nothing — jobs refuse at a guarded statement that changes no
//!   row, before anything else is written (an order's batch of statements
//!   stops right after it: the `payment_guard` view, migration 0005);
//! - an `Internal` error may have written something, so it rolls back the
//!   whole batch: the jobs already run in it are answered with an error
//!   (nothing of theirs happened; a retry with the same idempotency key runs
//!   afresh), the ones not yet run go into the next batch; a refusal in it
//!   becomes "try again" (503), since it may rest on a write that was undone.
//! - The job's result (`T`) is dropped only after the commit, so a guard it
//!   carries (the idempotency lease) holds the key until the money moved.

use crate::error::{ApiError, ApiResult};
use futures_util::future::BoxFuture;
use sqlx::{Connection, SqliteConnection, SqlitePool};
use std::collections::VecDeque;
use tokio::sync::{mpsc, oneshot};

/// How a job ended (see the module's contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Done,
    Refused,
    Failed,
}

/// Called once the batch is over: `Ok` if it committed, else why not.
type Reply = Box<dyn FnOnce(Result<(), &str>) + Send>;
type Job =
    Box<dyn for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, (Outcome, Reply)> + Send>;

/// Most payments committed together (a bound on how long one waits for the
/// others in its batch).
const MAX_BATCH: usize = 64;

#[derive(Clone)]
pub struct WriteQueue(mpsc::UnboundedSender<Job>);

impl WriteQueue {
    /// Starts the writer thread on `pool` (the single writer connection).
    /// It stops when the last queue handle is dropped.
    pub fn start(pool: SqlitePool) -> anyhow::Result<Self> {
        let (tx, mut rx) = mpsc::unbounded_channel::<Job>();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        std::thread::Builder::new()
            .name("writer".into())
            .spawn(move || {
                rt.block_on(async move {
                    let mut batch = VecDeque::with_capacity(MAX_BATCH);
                    let mut incoming = Vec::with_capacity(MAX_BATCH);
                    loop {
                        if batch.is_empty() {
                            if rx.recv_many(&mut incoming, MAX_BATCH).await == 0 {
                                break;
                            }
                        } else {
                            // Jobs left over from an aborted batch go first.
                            while incoming.len() + batch.len() < MAX_BATCH
                                && let Ok(job) = rx.try_recv()
                            {
                                incoming.push(job);
                            }
                        }
                        batch.extend(incoming.drain(..));
                        run_batch(&pool, &mut batch).await;
                    }
                });
            })?;
        Ok(Self(tx))
    }

    /// Runs `work` in a transaction (batched with others); its result is
    /// returned once committed. `after_commit` runs on the writer thread
    /// right after the commit, in commit order (room events that announce
    /// what a write left, such as stock).
    pub async fn write<T, F>(
        &self,
        work: F,
        after_commit: impl FnOnce(&T) + Send + 'static,
    ) -> ApiResult<T>
    where
        T: Send + 'static,
        F: for<'c> FnOnce(&'c mut SqliteConnection) -> BoxFuture<'c, ApiResult<T>> + Send + 'static,
    {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move |conn| {
            Box::pin(async move {
                let result = work(conn).await;
                let outcome = match &result {
                    Ok(_) => Outcome::Done,
                    Err(ApiError::Internal(_)) => Outcome::Failed,
                    Err(_) => Outcome::Refused,
                };
                let reply: Reply = Box::new(move |committed| {
                    let answer = match (result, committed) {
                        (Ok(v), Ok(())) => {
                            after_commit(&v);
                            Ok(v)
                        }
                        (Ok(_), Err(why)) => Err(ApiError::Internal(anyhow::anyhow!(
                            "the payment batch did not commit: {why}"
                        ))),
                        // A refusal may rest on a write the abort undid
                        // (the unit another payment took): not a definite
                        // answer, so ask for a retry.
                        (Err(ApiError::Internal(e)), _) => Err(ApiError::Internal(e)),
                        (Err(_), Err(_)) => Err(ApiError::Unavailable(
                            "the payment could not be completed; nothing was charged — try again"
                                .into(),
                        )),
                        (Err(e), Ok(())) => Err(e),
                    };
                    let _ = tx.send(answer);
                });
                (outcome, reply)
            })
        });
        self.0
            .send(job)
            .map_err(|_| anyhow::anyhow!("the writer has stopped"))?;
        rx.await
            .map_err(|_| anyhow::anyhow!("the write was abandoned (the batch failed)"))?
    }
}

async fn run_batch(pool: &SqlitePool, jobs: &mut VecDeque<Job>) {
    let started = std::time::Instant::now();
    let mut replies: Vec<Reply> = Vec::with_capacity(jobs.len());
    // Held until every answer is out: what the answers announce (stock, a
    // wallet balance) is published before any other writer can commit, so
    // those events follow commit order.
    let mut conn = match pool.acquire().await {
        Ok(c) => c,
        Err(e) => {
            // The database is gone (shut down, or its disk failed):
            // dropping the waiting jobs tells their callers so.
            tracing::error!(error = %e, "the payment writer has no connection");
            jobs.clear();
            return;
        }
    };
    let outcome: Result<(), String> = async {
        let mut tx = match conn.begin_with("BEGIN IMMEDIATE").await {
            Ok(tx) => tx,
            Err(e) => {
                jobs.clear();
                return Err(e.to_string());
            }
        };
        while let Some(job) = jobs.pop_front() {
            let (outcome, reply) = job(&mut tx).await;
            replies.push(reply);
            if outcome == Outcome::Failed {
                let _ = tx.rollback().await;
                return Err("another payment in it failed; nothing was charged".to_owned());
            }
        }
        tx.commit().await.map_err(|e| e.to_string())
    }
    .await;
    tracing::debug!(
        payments = replies.len(),
        us = started.elapsed().as_micros(),
        "batch"
    );
    if let Err(why) = &outcome {
        tracing::error!(
            why,
            payments = replies.len(),
            "a payment batch did not commit"
        );
    }
    for reply in replies {
        reply(outcome.as_ref().copied().map_err(String::as_str));
    }
    drop(conn);
}
