//! Other processes' writes, as they commit: on PostgreSQL every replica listens on the channel
//! that the object tables' triggers notify (migration 0008), and moves its read epoch on each
//! notification, so that what it cached from the store is dropped as soon as any replica writes.
//!
//! While the listening connection is down the epoch cannot be trusted: [`Store::read_epoch`]
//! answers `None` (nothing is cached or served from a cache) until the connection is back, and the
//! epoch moves once more when it is, because writes may have committed unseen in between.

use std::sync::atomic::Ordering;
use std::time::Duration;

use sqlx::postgres::PgListener;

use crate::{Backend, Store};

/// The channel the triggers of migration 0008 notify.
const CHANNEL: &str = "fulcrum_writes";
/// The wait before listening again after the connection failed.
const RECONNECT_DELAY: Duration = Duration::from_millis(500);

impl Store {
    /// Follow every process's committed writes, for as long as the returned future runs (spawn
    /// it for the life of the process). On SQLite it returns at once: this process makes every
    /// write there and its commits move the epoch themselves.
    pub async fn follow_writes(&self) {
        if self.backend() != Backend::Postgres {
            return;
        }
        loop {
            match self.listen().await {
                Ok(mut listener) => {
                    self.resume_following();
                    loop {
                        match listener.try_recv().await {
                            Ok(Some(_)) => {
                                self.epoch.fetch_add(1, Ordering::Release);
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
