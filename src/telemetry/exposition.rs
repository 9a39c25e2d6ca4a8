//! [`Scrape`]: what `/metrics` serves: the events recorded so far, then the figures taken now
//! (the store's census, the process's own).

use fulcrum_api::metrics_endpoint::Exposition;
use fulcrum_store::Store;
use metrics_exporter_prometheus::PrometheusHandle;

use super::{census, process};

/// The metrics of this process over its store.
pub struct Scrape {
    recorder: PrometheusHandle,
    store: Store,
    holder_timeout_ms: i64,
}

impl Scrape {
    /// The metrics of `recorder`, with the census of `store` (whose work holders count as gone
    /// after `holder_timeout_ms` without a heartbeat).
    pub fn new(recorder: PrometheusHandle, store: Store, holder_timeout_ms: u64) -> Self {
        Scrape {
            recorder,
            store,
            holder_timeout_ms: i64::try_from(holder_timeout_ms).unwrap_or(i64::MAX),
        }
    }
}

#[async_trait::async_trait]
impl Exposition for Scrape {
    async fn render(&self) -> String {
        let mut out = self.recorder.render();
        census::render(&self.store, self.holder_timeout_ms, &mut out).await;
        process::render(&mut out);
        out
    }
}
