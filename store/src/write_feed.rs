//! Other processes' writes, as they commit: on PostgreSQL every replica announces its commits on a
//! channel and listens on it, and moves its read epoch on each announcement of another, so that
//! what it cached from the store is dropped soon after any replica writes.
//!
//! Announcements are sent after the commit, outside the write transaction, at most one per
//! [`ANNOUNCE_INTERVAL`]: a `NOTIFY` inside a transaction makes PostgreSQL serialize the commits
//! of every such transaction of the database (it takes a database-wide lock until the commit is
//! flushed): in the API benchmark, concurrent creates ran 12–70% faster without it. Another
//! replica therefore sees a write
//! a few milliseconds after it commits; this process's own reads see it at once (its commits move
//! its epoch). A process announces once when it starts following, so that a write whose
//! announcement a crash cut short is announced by its restart.
//!
//! While the listening connection is down the epoch cannot be trusted: [`Store::read_epoch`]
//! answers `None` (nothing is cached or served from a cache) until the connection is back, and the
//! epoch moves once more when it is, because writes may have committed unseen in between.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::Notify;

use crate::Store;

/// The channel writes are announced on.
const CHANNEL: &str = "fulcrum_writes";
/// The wait before listening again after the connection failed.
const RECONNECT_DELAY: Duration = Duration::from_millis(500);
/// The least time between two announcements of one process: the commits in between are
/// announced together.
const ANNOUNCE_INTERVAL: Duration = Duration::from_millis(5);

impl Store {
    /// Follow every other process's committed writes and announce this one's, for as long as
    /// the returned future runs (spawn it for the life of the process). On SQLite it returns at
    /// once: this process makes every write there and its commits move the epoch themselves.
    pub async fn follow_writes(&self) {
        let Some(announce) = self.announce.clone() else {
            return;
        };
        tokio::join!(self.listen_for_writes(), self.announce_writes(announce));
    }

    /// Move the epoch on every announcement of another process.
    async fn listen_for_writes(&self) {
        loop {
            match self.listen().await {
                Ok(mut listener) => {
                    self.resume_following();
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(notification)) => {
                                if notification.payload() != &*self.origin {
                                    self.epoch.fetch_add(1, Ordering::Release);
                                }
                            }
                            Ok(None) => {
                                tracing::warn!(
                                    "lost the connection that follows writes; caching paused"
                                );
                                break;
                            }
                            Err(e) => {
                                tracing::warn!(error = %e, "following writes failed; caching paused");
                                break;
                            }
                        }
                    }
                    self.pause_following();
                }
                Err(e) => {
                    tracing::warn!(error = %e, "cannot follow writes; caching paused");
                }
            }
            tokio::time::sleep(RECONNECT_DELAY).await;
        }
    }

    /// Announce this process's commits, once at the start and then after each wake-up of
    /// `announce`, at most one announcement per [`ANNOUNCE_INTERVAL`]. An announcement that
    /// fails is tried again.
    async fn announce_writes(&self, announce: Arc<Notify>) {
        announce.notify_one();
        loop {
            announce.notified().await;
            let sent = sqlx::query("SELECT pg_notify($1, $2)")
                .bind(CHANNEL)
                .bind(&*self.origin)
                .execute(self.write_pool())
                .await;
            if let Err(e) = sent {
                tracing::debug!(error = %e, "announcing writes failed; trying again");
                announce.notify_one();
                tokio::time::sleep(RECONNECT_DELAY).await;
                continue;
            }
            tokio::time::sleep(ANNOUNCE_INTERVAL).await;
        }
    }

    async fn listen(&self) -> Result<PgListener, sqlx::Error> {
        let mut listener = PgListener::connect(&self.url).await?;
        listener.listen(CHANNEL).await?;
        Ok(listener)
    }

    /// Listening again: writes may have committed unseen, so the epoch moves before it is trusted.
    fn resume_following(&self) {
        self.epoch.fetch_add(1, Ordering::Release);
        self.epoch_follows_writes.store(true, Ordering::Release);
    }

    /// Not listening: no epoch is handed out, and entries read before are dropped.
    fn pause_following(&self) {
        self.epoch_follows_writes.store(false, Ordering::Release);
        self.epoch.fetch_add(1, Ordering::Release);
    }
}
