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
}

impl Scrape {
    /// The metrics of `recorder`, with the census of `store`.
    pub fn new(recorder: PrometheusHandle, store: Store) -> Self {
        Scrape { recorder, store }
    }
}

#[async_trait::async_trait]
impl Exposition for Scrape {
    async fn render(&self) -> String {
        let mut out = self.recorder.render();
        census::render(&self.store, &mut out).await;
        process::render(&mut out);
        out
    }
}
